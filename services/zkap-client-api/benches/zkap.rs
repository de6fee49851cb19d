//! `make bench`: on SQLite, then PostgreSQL and MariaDB when configured, one 32,768-token
//! voucher redeemed end to end against a local issuer running
//! in a child process (so client and issuer CPU are measured apart), the crate's own cost for
//! the same tokens as the floor, `calculate-price` with 10,000 sizes, and 1,000 passes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use challenge_bypass_ristretto::voprf::{
    BatchDLEQProof, BlindedToken, SignedToken, SigningKey, Token,
};
use ledger_client::zkap::token_count_for_group;
use ledger_sim::zkap::{ZkapSim, ZkapSimConfig};
use rand::RngCore;
use rand::rngs::OsRng;
use serde_json::{Value, json};
use service_kit::db::Backend;
use service_kit::startup::Service as _;
use service_kit::testing::{TestDatabase, bench_row, median_time};
use sha2::Sha512;
use zkap_client_api::Application;
use zkap_client_api::domain::pricing::Pricing;
use zkap_client_api::settings::Settings;

const SERVICE: &str = "zkap-client-api";
const TOKENS: u64 = 32_768;
const GROUPS: u32 = 16;
const ISSUER_ROLE: &str = "ZKAP_BENCH_ISSUER";
/// Linux's USER_HZ, the unit of /proc/<pid>/stat CPU times.
const TICKS_PER_SECOND: f64 = 100.0;

fn main() {
    if std::env::var_os(ISSUER_ROLE).is_some() {
        run_issuer();
        return;
    }
    let floor = crate_floor();
    actix_web::rt::System::new().block_on(async {
        let mut sqlite_wall = None;
        for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
            let Some(db) = TestDatabase::create(backend).unwrap() else {
                eprintln!("{backend} not configured; its rows are left out");
                continue;
            };
            let wall = bench_service(floor, backend, db.url(), sqlite_wall).await;
            sqlite_wall.get_or_insert(wall);
        }
    });
}

/// Child process: the issuer simulator until stdin closes.
fn run_issuer() {
    actix_web::rt::System::new().block_on(async {
        let sim = ZkapSim::start(
            "127.0.0.1:0",
            ZkapSimConfig {
                tokens_per_voucher: TOKENS,
                groups: GROUPS,
                signing_key: None,
            },
        )
        .unwrap();
        println!("{} {}", sim.url(), sim.public_key());
        tokio::task::spawn_blocking(|| {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
        })
        .await
        .unwrap();
        sim.stop().await;
    });
}

fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / TICKS_PER_SECOND
}

/// What the crate itself costs the client for one voucher, single-threaded: generate, blind,
/// encode, decode the answer, verify and unblind, encode. The issuer's signing in between is
/// not counted. Measured as this thread's CPU time (nanoseconds from schedstat), so other load
/// on the machine does not inflate it.
fn crate_floor() -> f64 {
    let key = SigningKey::random(&mut OsRng);
    let mut client = 0.0;
    for g in 0..GROUPS {
        let n = token_count_for_group(GROUPS, TOKENS, g);
        let t0 = thread_cpu();
        let tokens: Vec<Token> = (0..n)
            .map(|_| Token::random::<Sha512, _>(&mut OsRng))
            .collect();
        let blinded: Vec<BlindedToken> = tokens.iter().map(Token::blind).collect();
        let request: Vec<String> = blinded.iter().map(BlindedToken::encode_base64).collect();
        client += thread_cpu() - t0;

        let signed: Vec<SignedToken> = blinded.iter().map(|b| key.sign(b).unwrap()).collect();
        let proof = BatchDLEQProof::new::<Sha512, _>(&mut OsRng, &blinded, &signed, &key).unwrap();
        let answer: Vec<String> = signed.iter().map(SignedToken::encode_base64).collect();
        let (proof, public_key) = (proof.encode_base64(), key.public_key.encode_base64());

        let t0 = thread_cpu();
        let signed: Vec<SignedToken> = answer
            .iter()
            .map(|s| SignedToken::decode_base64(s).unwrap())
            .collect();
        let proof = BatchDLEQProof::decode_base64(&proof).unwrap();
        let public_key =
            challenge_bypass_ristretto::voprf::PublicKey::decode_base64(&public_key).unwrap();
        let unblinded = proof
            .verify_and_unblind::<Sha512, _>(&tokens, &blinded, &signed, &public_key)
            .unwrap();
        let stored: Vec<String> = unblinded.iter().map(|u| u.encode_base64()).collect();
        client += thread_cpu() - t0;
        std::hint::black_box((request, stored));
    }
    client
}

/// CPU seconds of the calling thread.
fn thread_cpu() -> f64 {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    let nanos: f64 = text.split_whitespace().next().unwrap().parse().unwrap();
    nanos / 1e9
}

/// Every figure on `backend`'s fresh database at `database_url`; returns the redemption's
/// wall time, for the ratio of the other backends against SQLite's.
async fn bench_service(
    floor: f64,
    backend: Backend,
    database_url: &str,
    sqlite_wall: Option<f64>,
) -> f64 {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(ISSUER_ROLE, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let issuer_pid = child.id().to_string();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let (issuer_url, public_key) = line.trim().split_once(' ').unwrap();

    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "bench-token").unwrap();
    let mut settings = Settings {
        api_auth_token_file: Some(token_file),
        ristretto_issuer_root_url: Some(issuer_url.to_owned()),
        allowed_public_keys: vec![public_key.to_owned()],
        ..Settings::default()
    };
    settings.server.port = 0;
    settings.database.database_url = database_url.to_owned();
    settings.log.log_level = "warn".into();
    let app = Application::build(settings).await.unwrap();
    let api = format!(
        "http://127.0.0.1:{}/storage-plugins/privatestorageio-zkapauthz-v2",
        app.port()
    );
    tokio::spawn(app.run());
    let http = reqwest::Client::new();
    let auth = "tahoe-lafs bench-token";

    let mut bytes = [0u8; 33];
    OsRng.fill_bytes(&mut bytes);
    let voucher = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    http.post(format!("{issuer_url}/admin/vouchers/{voucher}/paid"))
        .send()
        .await
        .unwrap();

    let (client_cpu, issuer_cpu) = (cpu_seconds("self"), cpu_seconds(&issuer_pid));
    let started = Instant::now();
    http.put(format!("{api}/voucher"))
        .header("authorization", auth)
        .json(&json!({ "voucher": voucher }))
        .send()
        .await
        .unwrap();
    loop {
        let status: Value = http
            .get(format!("{api}/voucher/{voucher}"))
            .header("authorization", auth)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        match status["state"]["name"].as_str() {
            Some("redeemed") => break,
            Some("redeeming" | "pending") => {}
            other => panic!("redemption ended {other:?}: {status}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let wall = started.elapsed().as_secs_f64();
    let client_cpu = cpu_seconds("self") - client_cpu;
    let issuer_cpu = cpu_seconds(&issuer_pid) - issuer_cpu;
    let row = |name: &str, value: f64, unit: &str, note: &str| {
        bench_row(SERVICE, &format!("{name} ({backend})"), value, unit, note)
    };
    row(
        "redeem 32768-token voucher: wall",
        wall,
        "s",
        "16 groups, issuer in a child process",
    );
    row(
        "redeem 32768-token voucher: client CPU",
        client_cpu,
        "s",
        "service process",
    );
    row(
        "redeem 32768-token voucher: issuer CPU",
        issuer_cpu,
        "s",
        "ledger-sim process",
    );
    row(
        "crate floor for 32768 tokens: CPU",
        floor,
        "s",
        "generate+blind+verify+unblind+base64",
    );
    row(
        "client CPU / crate floor",
        client_cpu / floor,
        "x",
        "target <= 1.2",
    );
    if let Some(sqlite_wall) = sqlite_wall {
        row(
            "redeem 32768-token voucher: wall / SQLite's",
            wall / sqlite_wall,
            "x",
            "same run; lower is faster",
        );
    }

    let sizes: Vec<u64> = (0..10_000u64).map(|i| i * 7919 + 1).collect();
    let pricing = Pricing {
        shares_needed: 3,
        shares_total: 10,
        pass_value: 1_048_576,
        lease_min_time_remaining: 0,
    };
    let pure = median_time(50, || {
        std::hint::black_box(pricing.price(&sizes).unwrap());
    });
    row(
        "calculate-price 10000 sizes: formula",
        pure.as_secs_f64() * 1e3,
        "ms",
        "in process",
    );
    let body = serde_json::to_vec(&json!({"version": 1, "sizes": sizes})).unwrap();
    let median = median_http(21, || {
        http.post(format!("{api}/calculate-price"))
            .header("authorization", auth)
            .header("content-type", "application/json")
            .body(body.clone())
    })
    .await;
    row(
        "calculate-price 10000 sizes: HTTP",
        median,
        "ms",
        "median of 21, target <= 5",
    );

    let median = median_http(9, || {
        http.post(format!("{api}/passes"))
            .header("authorization", auth)
            .json(&json!({"message": "add_lease aGVsbG8gd29ybGQ=", "count": 1000}))
    })
    .await;
    row("1000 passes: HTTP", median, "ms", "median of 9");

    drop(child.stdin.take());
    let _ = child.wait();
    wall
}

/// The median milliseconds of `runs` requests, each answered 200 and read to the end.
async fn median_http(runs: usize, request: impl Fn() -> reqwest::RequestBuilder) -> f64 {
    let mut samples = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let response = request().send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap();
        samples.push(started.elapsed());
    }
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1e3
}
