//! `make bench` for tails-server: uploads and downloads of ACA-Py's largest tails file
//! (maxCredNum 32768, 8,388,738 bytes) against the release binary, each beside the floor
//! measured in the same run. Prints `service_kit::testing::bench_row` lines.
//!
//! The client shares the cores with the server: each upload sends the same shared `Bytes`
//! (no copy per request) and downloads only count bytes, so its own overhead is its TCP work.
//! The server must fsync before publishing; the "with fsync" ratio is the like-for-like one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use actix_web::web::Bytes;
use ledger_sim::indy::{IndySim, rev_reg_def_json};
use service_kit::testing::{bench_row, median_time};
use sha2::{Digest, Sha256};

#[path = "../tests/api/server_process.rs"]
mod server_process;

use server_process::ServerProcess;

const SERVICE: &str = "tails-server";
const MAX_CRED_NUM: u64 = 32_768;
const DID: &str = "4QxzWk3ajdnEA37NdNU5Kt";
const BOUNDARY: &str = "9a1d3e0c4b5f4e2a8c7d6b5a4f3e2d1c";
const SEQUENTIAL_UPLOADS: usize = 40;
const UPLOAD_CLIENTS: usize = 16;
const CONCURRENT_UPLOADS: usize = 64;
const DOWNLOAD_CLIENTS: usize = 64;
const DOWNLOADS_PER_CLIENT: usize = 6;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let tails = tails_file(MAX_CRED_NUM);
    assert_eq!(tails.len(), 8_388_738);
    let hash = bs58::encode(Sha256::digest(&tails)).into_string();

    let floor = median_time(15, || {
        write_and_hash(&tails, &dir.path().join("floor"), false)
    });
    let floor_synced = median_time(15, || {
        write_and_hash(&tails, &dir.path().join("floor"), true)
    });
    let floor_ms = floor.as_secs_f64() * 1e3;
    bench_row(
        SERVICE,
        "floor: SHA-256 + write 8.4 MB file",
        floor_ms,
        "ms",
        "one process, sha2 with SHA extensions when the CPU has them",
    );
    bench_row(
        SERVICE,
        "floor: SHA-256 + write + fsync 8.4 MB file",
        floor_synced.as_secs_f64() * 1e3,
        "ms",
        "what the server really does (durable publish)",
    );

    let genesis = genesis();
    let sim = IndySim::start("127.0.0.1:0", genesis.clone()).unwrap();
    let storage = dir.path().join("tails");
    let mut server = spawn_server(&storage, &sim.url()).await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(DOWNLOAD_CLIENTS)
        .build()
        .unwrap();
    let body = Bytes::from(multipart_body(&genesis, &tails));
    let mut next_id = 0usize;
    let mut register = || {
        next_id += 1;
        let id = format!("{DID}:4:{DID}:3:CL:12148:default:CL_ACCUM:bench{next_id}");
        let def = rev_reg_def_json(
            &id,
            &format!("{DID}:3:CL:12148:default"),
            MAX_CRED_NUM,
            &hash,
            "x",
        );
        sim.publish(def).unwrap();
        id
    };

    // Single uploads, one after another.
    server.reset_peak_rss();
    let mut latencies = Vec::new();
    for _ in 0..SEQUENTIAL_UPLOADS {
        let id = register();
        let started = Instant::now();
        upload(&client, &server.url, &id, body.clone()).await;
        latencies.push(started.elapsed());
    }
    latencies.sort();
    let median = latencies[latencies.len() / 2].as_secs_f64() * 1e3;
    let p99 = latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)].as_secs_f64() * 1e3;
    bench_row(
        SERVICE,
        "upload latency median (1 client)",
        median,
        "ms",
        &format!(
            "{:.2}x floor (target <= 1.5x), {:.2}x floor with fsync",
            median / floor_ms,
            median / (floor_synced.as_secs_f64() * 1e3)
        ),
    );
    bench_row(SERVICE, "upload latency p99 (1 client)", p99, "ms", "");
    bench_row(
        SERVICE,
        "peak RSS during single uploads",
        server.peak_rss_mib(),
        "MiB",
        "target <= 64 MiB",
    );

    // 16 clients uploading distinct registries at once.
    server.reset_peak_rss();
    let ids: Vec<String> = (0..CONCURRENT_UPLOADS).map(|_| register()).collect();
    let ids = Arc::new(tokio::sync::Mutex::new(ids));
    let cpu_before = server.cpu_seconds();
    let started = Instant::now();
    let workers: Vec<_> = (0..UPLOAD_CLIENTS)
        .map(|_| {
            let ids = Arc::clone(&ids);
            let client = client.clone();
            let url = server.url.clone();
            let body = body.clone();
            tokio::spawn(async move {
                loop {
                    let Some(id) = ids.lock().await.pop() else {
                        break;
                    };
                    upload(&client, &url, &id, body.clone()).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let rate = CONCURRENT_UPLOADS as f64 / started.elapsed().as_secs_f64();
    let cpu_ms = (server.cpu_seconds() - cpu_before) * 1e3 / CONCURRENT_UPLOADS as f64;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as f64;
    let allowed = cores / floor.as_secs_f64();
    let allowed_synced = cores / floor_synced.as_secs_f64();
    bench_row(
        SERVICE,
        "uploads/s (16 clients)",
        rate,
        "uploads/s",
        &format!(
            "{:.0}% of the {allowed:.0}/s the floor allows on {cores} cores (target >= 60%), \
             {:.0}% of the {allowed_synced:.0}/s with fsync",
            100.0 * rate / allowed,
            100.0 * rate / allowed_synced
        ),
    );
    bench_row(
        SERVICE,
        "server CPU per upload (16 clients)",
        cpu_ms,
        "ms",
        &format!(
            "user + system time of the server process, {:.2}x floor",
            cpu_ms / floor_ms
        ),
    );
    bench_row(
        SERVICE,
        "peak RSS during 16-client uploads",
        server.peak_rss_mib(),
        "MiB",
        "target <= 64 MiB",
    );

    // 64 clients downloading the same file.
    server.reset_peak_rss();
    let url = format!("{}/hash/{hash}", server.url);
    let hash_upload = client
        .put(&url)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(tails_only_body(&tails))
        .send()
        .await
        .unwrap();
    assert!(hash_upload.status().is_success());
    let started = Instant::now();
    let downloads: Vec<_> = (0..DOWNLOAD_CLIENTS)
        .map(|_| {
            let client = client.clone();
            let url = url.clone();
            tokio::spawn(async move {
                let mut bytes = 0u64;
                for _ in 0..DOWNLOADS_PER_CLIENT {
                    let mut response = client.get(&url).send().await.unwrap();
                    assert_eq!(response.status(), 200);
                    while let Some(chunk) = response.chunk().await.unwrap() {
                        bytes += chunk.len() as u64;
                    }
                }
                bytes
            })
        })
        .collect();
    let mut total = 0u64;
    for download in downloads {
        total += download.await.unwrap();
    }
    let throughput = total as f64 / started.elapsed().as_secs_f64() / 1e6;
    bench_row(
        SERVICE,
        "download throughput (64 clients)",
        throughput,
        "MB/s",
        "loopback, client in the same machine (target >= 1800 MB/s)",
    );
    bench_row(
        SERVICE,
        "peak RSS during 64-client downloads",
        server.peak_rss_mib(),
        "MiB",
        "target <= 64 MiB",
    );

    server.child.kill().await.unwrap();
    sim.stop().await;
}

fn write_and_hash(data: &[u8], path: &Path, sync: bool) {
    let mut hasher = Sha256::new();
    let mut file = File::create(path).unwrap();
    for chunk in data.chunks(64 * 1024) {
        hasher.update(chunk);
        file.write_all(chunk).unwrap();
    }
    if sync {
        file.sync_all().unwrap();
    }
    std::hint::black_box(hasher.finalize());
    drop(file);
    std::fs::remove_file(path).unwrap();
}

async fn upload(client: &reqwest::Client, base: &str, id: &str, body: Bytes) {
    let response = client
        .put(format!("{base}/{id}"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
}

/// What the benchmark reads of the server process.
trait Measured {
    fn pid(&self) -> u32;
    fn reset_peak_rss(&self);
    fn cpu_seconds(&self) -> f64;
    fn peak_rss_mib(&self) -> f64;
}

impl Measured for ServerProcess {
    fn pid(&self) -> u32 {
        self.child.id().unwrap()
    }

    /// Linux: writing 5 to clear_refs resets the peak resident set size (VmHWM).
    fn reset_peak_rss(&self) {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5").unwrap();
    }

    /// User plus system time of the server so far, exited threads included (Linux
    /// `/proc/<pid>/stat`, in `USER_HZ` = 100 ticks per second).
    fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap();
        let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = after_comm.split_whitespace().collect();
        // Fields 14 and 15 of stat(5); `after_comm` starts at field 3.
        let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
        ticks / 100.0
    }

    fn peak_rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let kib: f64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        kib / 1024.0
    }
}

async fn spawn_server(storage: &Path, ledger_url: &str) -> ServerProcess {
    // `TAILS_BENCH_SERVER` runs another build of the server (for before/after comparisons).
    let binary = std::env::var_os("TAILS_BENCH_SERVER")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_tails-server").into());
    // service-kit's start-up line names the port.
    let log_level = "warn,tails_server=info,service_kit::startup=info";
    let mut command = server_process::command(binary, storage, log_level);
    command.args(["--indy-vdr-proxy-url", ledger_url]);
    server_process::start(command).await
}

fn tails_file(max_cred_num: u64) -> Vec<u8> {
    let size = (2 + 128 * (2 * max_cred_num + 1)) as usize;
    let mut file = Vec::with_capacity(size);
    file.extend_from_slice(&[0, 2]);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    while file.len() < size {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        file.extend_from_slice(&state.to_le_bytes());
    }
    file.truncate(size);
    file
}

fn genesis() -> String {
    r#"{"reqSignature":{},"txn":{"data":{"data":{"alias":"Node1","client_ip":"127.0.0.1","client_port":9702,"node_ip":"127.0.0.1","node_port":9701,"services":["VALIDATOR"]},"dest":"Gw6pDLhcBcoQesN72qfotTgFa7cbuqZpkX3Xo6pLhPhv"},"metadata":{"from":"Th7MpTaRZVRYnPiabds81Y"},"type":"0"},"txnMetadata":{"seqNo":1,"txnId":"fea82e10e894419fe2bea7d96296a6d46f50f93f9eeda954ec461b2ed2950b62"},"ver":"1"}"#.to_owned()
}

fn multipart_body(genesis: &str, tails: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "--{BOUNDARY}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: form-data; name=\"genesis\"\r\n\r\n{genesis}\r\n\
         --{BOUNDARY}\r\nContent-Type: application/octet-stream\r\nContent-Disposition: form-data; name=\"tails\"; filename=\"tails\"\r\n\r\n"
    )
    .into_bytes();
    out.extend_from_slice(tails);
    out.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    out
}

fn tails_only_body(tails: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "--{BOUNDARY}\r\nContent-Type: application/octet-stream\r\nContent-Disposition: form-data; name=\"tails\"; filename=\"tails\"\r\n\r\n"
    )
    .into_bytes();
    out.extend_from_slice(tails);
    out.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    out
}
