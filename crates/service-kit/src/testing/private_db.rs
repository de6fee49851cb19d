//! A PostgreSQL or MariaDB server of a test's own, in a temporary directory on a port of its
//! own, which the test may stop and start again (the shared servers are never touched).
//! Run as root, PostgreSQL runs as the `postgres` user (it refuses root) and MariaDB as root.

use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;

use crate::db::{Backend, DatabaseUrl};

const START_TIMEOUT: Duration = Duration::from_secs(60);

pub struct PrivateServer {
    backend: Backend,
    dir: tempfile::TempDir,
    port: u16,
    /// mariadbd, while it runs (PostgreSQL is driven by `pg_ctl`).
    mariadbd: Option<Child>,
    running: bool,
}

impl PrivateServer {
    /// Creates the data directory and starts the server, with an empty database `test`.
    pub fn start(backend: Backend) -> io::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut server = Self {
            backend,
            dir,
            port: free_port()?,
            mariadbd: None,
            running: false,
        };
        match backend {
            Backend::Postgres => server.init_postgres()?,
            Backend::Mysql => server.init_mariadb()?,
            Backend::Sqlite => return Err(io::Error::other("SQLite has no server")),
        }
        server.resume()?;
        if backend == Backend::Mysql {
            let admin = format!("mysql://root@127.0.0.1:{}/mysql", server.port);
            connect(&admin)?
                .batch_execute("CREATE DATABASE test")
                .map_err(io::Error::other)?;
        }
        Ok(server)
    }

    /// The URL of its `test` database.
    pub fn url(&self) -> String {
        match self.backend {
            Backend::Postgres => format!(
                "postgres://postgres@127.0.0.1:{}/postgres?sslmode=disable",
                self.port
            ),
            _ => format!("mysql://root@127.0.0.1:{}/test", self.port),
        }
    }

    /// Stops the server as an operator's restart would (PostgreSQL `-m fast`: sessions are
    /// terminated, committed work is kept).
    pub fn stop(&mut self) -> io::Result<()> {
        if !self.running {
            return Ok(());
        }
        match self.backend {
            Backend::Postgres => {
                let data = self.data_dir();
                run(self
                    .as_postgres(&pg_bin("pg_ctl")?)
                    .args(["-D", &data, "-m", "fast", "-w", "stop"]))?;
            }
            _ => {
                if let Some(mut child) = self.mariadbd.take() {
                    run(Command::new("kill").args(["-TERM", &child.id().to_string()]))?;
                    child.wait()?;
                }
            }
        }
        self.running = false;
        Ok(())
    }

    /// Starts the stopped server again on the same port and data, and waits until it answers.
    pub fn resume(&mut self) -> io::Result<()> {
        if self.running {
            return Ok(());
        }
        let dir = self.dir_str();
        match self.backend {
            Backend::Postgres => {
                let options = format!(
                    "-p {} -k {dir} -c listen_addresses=127.0.0.1 -c max_connections=200",
                    self.port
                );
                let data = self.data_dir();
                let log = format!("{dir}/postgres.log");
                run(self
                    .as_postgres(&pg_bin("pg_ctl")?)
                    .args(["-D", &data, "-o", &options, "-l", &log, "-w", "start"]))?;
            }
            _ => {
                let log = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(self.dir.path().join("mariadbd.log"))?;
                let mut command = Command::new(mariadb_bin("mariadbd")?);
                command
                    .arg("--no-defaults")
                    .arg(format!("--datadir={}", self.data_dir()))
                    .arg(format!("--port={}", self.port))
                    .arg("--bind-address=127.0.0.1")
                    .arg(format!("--socket={dir}/mariadbd.sock"))
                    .arg(format!("--pid-file={dir}/mariadbd.pid"))
                    .arg("--skip-log-bin")
                    .arg("--innodb-buffer-pool-size=32M")
                    .arg("--max-connections=200")
                    .stdout(Stdio::null())
                    .stderr(log);
                if is_root() {
                    command.arg("--user=root");
                }
                self.mariadbd = Some(command.spawn()?);
                self.wait_until_answering()?;
            }
        }
        self.running = true;
        Ok(())
    }

    fn init_postgres(&self) -> io::Result<()> {
        if is_root() {
            run(Command::new("chown").args(["postgres", &self.dir_str()]))?;
        }
        let data = self.data_dir();
        run(self.as_postgres(&pg_bin("initdb")?).args([
            "-D",
            &data,
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ]))
    }

    fn init_mariadb(&self) -> io::Result<()> {
        let mut command = Command::new(mariadb_bin("mariadb-install-db")?);
        command
            .arg("--no-defaults")
            .arg(format!("--datadir={}", self.data_dir()))
            .arg("--auth-root-authentication-method=normal")
            .arg("--skip-test-db");
        if is_root() {
            command.arg("--user=root");
        }
        run(&mut command)
    }

    fn wait_until_answering(&mut self) -> io::Result<()> {
        let admin = format!("mysql://root@127.0.0.1:{}/mysql", self.port);
        let started = Instant::now();
        loop {
            if connect(&admin).is_ok() {
                return Ok(());
            }
            if let Some(child) = &mut self.mariadbd
                && let Some(status) = child.try_wait()?
            {
                return Err(io::Error::other(format!(
                    "mariadbd exited with {status}; see {}/mariadbd.log",
                    self.dir_str()
                )));
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(io::Error::other("mariadbd did not answer within a minute"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `program` run as the `postgres` user when we are root.
    fn as_postgres(&self, program: &Path) -> Command {
        if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    fn data_dir(&self) -> String {
        format!("{}/data", self.dir_str())
    }

    fn dir_str(&self) -> String {
        self.dir.path().display().to_string()
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        if let Err(err) = self.stop() {
            eprintln!("could not stop the private {} server: {err}", self.backend);
        }
    }
}

fn connect(url: &str) -> io::Result<crate::db::DbConnection> {
    DatabaseUrl::parse(url)
        .and_then(|url| url.connect())
        .map_err(io::Error::other)
}

fn run(command: &mut Command) -> io::Result<()> {
    let output = command.stdin(Stdio::null()).output()?;
    if output.status.success() {
        return Ok(());
    }
    Err(io::Error::other(format!(
        "{command:?} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )))
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn is_root() -> bool {
    std::env::var("USER").is_ok_and(|user| user == "root")
        || Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

/// PostgreSQL's server programs: `$PG_BINDIR`, else the newest `/usr/lib/postgresql/*/bin`.
fn pg_bin(name: &str) -> io::Result<PathBuf> {
    if let Ok(dir) = std::env::var("PG_BINDIR") {
        return Ok(Path::new(&dir).join(name));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| io::Error::other(format!("PostgreSQL server not installed: {e}")))?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin").join(name)))
        .filter(|path| path.exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .ok_or_else(|| io::Error::other(format!("no {name} under /usr/lib/postgresql")))
}

fn mariadb_bin(name: &str) -> io::Result<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/usr/local/bin"]
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|path| path.exists())
        .ok_or_else(|| io::Error::other(format!("{name} not installed (Debian: mariadb-server)")))
}
