//! The database outage drill every database-backed service runs: writers keep a real server
//! busy over HTTP while its private database is stopped and started again. It checks what
//! clients and load balancers see: writes answered 503 with `Retry-After` (never 500) while
//! the database is away, `/health/ready` 503 and then 200 again without a restart. The test
//! then reads back every write the drill reports acknowledged.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::private_db::PrivateServer;

/// How one write was answered.
#[derive(Debug)]
pub enum Write {
    /// A success status: the service says it is stored.
    Acknowledged,
    /// 503 with `Retry-After`: not stored, or (said so in the body) outcome unknown.
    Unavailable,
    /// Anything else: the drill fails with this description.
    Wrong(String),
}

impl Write {
    /// Classifies an answer: 2xx acknowledged, 503 with `Retry-After` unavailable.
    pub async fn of(response: reqwest::Response) -> Self {
        let status = response.status();
        let retry_after = response.headers().contains_key("retry-after");
        if status.is_success() {
            return Write::Acknowledged;
        }
        let body = response.text().await.unwrap_or_default();
        if status == reqwest::StatusCode::SERVICE_UNAVAILABLE && retry_after {
            Write::Unavailable
        } else {
            Write::Wrong(format!("{status}: {body}"))
        }
    }
}

/// What the drill saw.
#[derive(Debug)]
pub struct Drill {
    /// The numbers of the writes answered with success, before, during and after.
    pub acknowledged: Vec<u64>,
    /// Writes answered 503 while the database was away.
    pub unavailable: u64,
    /// From the database answering again to `/health/ready` answering 200.
    pub recovered_in: Duration,
}

const PHASE_TIMEOUT: Duration = Duration::from_secs(60);
const WRITES_PER_PHASE: usize = 20;

/// Runs `writers` concurrent loops of `write(n)` (n = 0, 1, 2... across all loops) against the
/// service whose readiness URL is `ready_url`, and meanwhile stops `server`, waits for
/// readiness 503 and for writes answered 503, starts it again and waits for readiness 200 and
/// for fresh acknowledged writes. Panics on any answer other than success or 503 +
/// `Retry-After`, or when a phase does not finish within a minute.
pub async fn outage_drill<F, Fut>(
    server: PrivateServer,
    ready_url: &str,
    writers: usize,
    write: F,
) -> (Drill, PrivateServer)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Write> + Send,
{
    // A failing drill shows the service's own account of each 500 and 503.
    crate::server::init_logging("warn");
    let write = Arc::new(write);
    let next = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let unavailable = Arc::new(AtomicU64::new(0));
    let wrong = Arc::new(Mutex::new(Vec::new()));
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let (write, next, stop) = (write.clone(), next.clone(), stop.clone());
            let (acknowledged, unavailable, wrong) =
                (acknowledged.clone(), unavailable.clone(), wrong.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Acquire) {
                    let n = next.fetch_add(1, Ordering::AcqRel);
                    match write(n).await {
                        Write::Acknowledged => lock(&acknowledged).push(n),
                        Write::Unavailable => {
                            unavailable.fetch_add(1, Ordering::AcqRel);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        Write::Wrong(what) => lock(&wrong).push(format!("write {n}: {what}")),
                    }
                }
            })
        })
        .collect();
    let acked = || lock(&acknowledged).len();
    let client = reqwest::Client::new();
    let ready = |expected: u16| {
        let client = client.clone();
        let url = ready_url.to_owned();
        async move {
            let status = client
                .get(&url)
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .map(|r| r.status().as_u16());
            status.is_ok_and(|s| s == expected)
        }
    };

    wait_for("writes acknowledged before the outage", || async {
        acked() >= WRITES_PER_PHASE
    })
    .await;
    let mut server = blocking(server, |s| s.stop()).await;
    wait_for("/health/ready 503 while the database is away", || {
        ready(503)
    })
    .await;
    let before = unavailable.load(Ordering::Acquire);
    wait_for("writes answered 503 while the database is away", || async {
        unavailable.load(Ordering::Acquire) >= before + 5
    })
    .await;

    server = blocking(server, |s| s.resume()).await;
    let resumed = Instant::now();
    wait_for("/health/ready 200 after the database returned", || {
        ready(200)
    })
    .await;
    let recovered_in = resumed.elapsed();
    let after = acked();
    wait_for("writes acknowledged after the outage", || async {
        acked() >= after + WRITES_PER_PHASE
    })
    .await;

    stop.store(true, Ordering::Release);
    for task in tasks {
        let _ = task.await;
    }
    let wrong = lock(&wrong).clone();
    assert!(
        wrong.is_empty(),
        "{} answers neither success nor 503 + Retry-After, e.g. {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
    let acknowledged = lock(&acknowledged).clone();
    let drill = Drill {
        acknowledged,
        unavailable: unavailable.load(Ordering::Acquire),
        recovered_in,
    };
    eprintln!(
        "outage drill: {} writes acknowledged, {} answered 503, ready again {:?} after the database",
        drill.acknowledged.len(),
        drill.unavailable,
        drill.recovered_in
    );
    (drill, server)
}

async fn blocking(
    mut server: PrivateServer,
    step: impl FnOnce(&mut PrivateServer) -> std::io::Result<()> + Send + 'static,
) -> PrivateServer {
    tokio::task::spawn_blocking(move || {
        if let Err(err) = step(&mut server) {
            panic!("private database server: {err}");
        }
        server
    })
    .await
    .unwrap_or_else(|err| panic!("private database server step panicked: {err}"))
}

async fn wait_for<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !done().await {
        assert!(
            started.elapsed() < PHASE_TIMEOUT,
            "outage drill: no {what} within {PHASE_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
