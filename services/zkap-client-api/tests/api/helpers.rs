use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use challenge_bypass_ristretto::voprf::{SigningKey, TokenPreimage, VerificationSignature};
use hmac::Hmac;
use ledger_sim::zkap::{ZkapSim, ZkapSimConfig};
use rand::RngCore;
use rand::rngs::OsRng;
use serde_json::{Value, json};
use service_kit::db::Backend;
use service_kit::startup::Service as _;
use service_kit::testing::{TestDatabase, TestServer};
use sha2::Sha512;
use zkap_client_api::Application;
use zkap_client_api::ops::redemption::Redeemer;
use zkap_client_api::settings::Settings;

pub const BASE: &str = "/storage-plugins/privatestorageio-zkapauthz-v2";
/// Small vouchers keep the suite fast: 4 groups of 5 tokens.
pub const GROUPS: u32 = 4;
pub const TOKENS: u64 = 20;

pub struct TestApp {
    pub root: String,
    pub client: reqwest::Client,
    pub token: String,
    pub token_file: PathBuf,
    pub settings: Settings,
    pub sim: ZkapSim,
    pub signing_key: SigningKey,
    server: TestServer,
    redeemer: Redeemer,
    _db: Option<TestDatabase>,
    _dir: tempfile::TempDir,
}

/// How a test wants its app; `Default` is the common case.
#[derive(Default)]
pub struct Options {
    pub database_url: Option<String>,
    /// Talk to this issuer instead of the simulator (a proxy, or nothing at all).
    pub issuer_url: Option<String>,
    pub allowed_keys: Option<Vec<String>>,
    pub max_concurrent: Option<usize>,
    /// `Some(false)`: start with `--no-migrate`.
    pub migrate: Option<bool>,
}

pub async fn spawn_app() -> TestApp {
    spawn_with(Options::default()).await
}

pub async fn spawn_app_on(database_url: String) -> TestApp {
    spawn_with(Options {
        database_url: Some(database_url),
        ..Options::default()
    })
    .await
}

pub async fn spawn_with(options: Options) -> TestApp {
    let signing_key = SigningKey::random(&mut OsRng);
    let sim = ZkapSim::start(
        "127.0.0.1:0",
        ZkapSimConfig {
            tokens_per_voucher: TOKENS,
            groups: GROUPS,
            signing_key: Some(signing_key.to_bytes()),
        },
    )
    .unwrap();
    // The backend tests own their database; the others get a fresh SQLite file.
    let (db, database_url) = match options.database_url {
        Some(url) => (None, url),
        None => {
            let db = TestDatabase::create(Backend::Sqlite).unwrap().unwrap();
            let url = db.url().to_owned();
            (Some(db), url)
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let token = "s3cret-api-token".to_owned();
    let token_file = dir.path().join("api_auth_token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let mut settings = Settings {
        api_auth_token_file: Some(token_file.clone()),
        ristretto_issuer_root_url: Some(options.issuer_url.unwrap_or_else(|| sim.url())),
        allowed_public_keys: options
            .allowed_keys
            .unwrap_or_else(|| vec![sim.public_key()]),
        default_token_count: TOKENS,
        num_redemption_groups: GROUPS,
        retry_initial_delay_ms: 20,
        retry_max_delay_ms: 200,
        issuer_timeout_seconds: 30,
        max_concurrent_redemptions: options.max_concurrent.unwrap_or(4),
        ..Settings::default()
    };
    settings.server.port = 0;
    settings.database.database_url = database_url;
    settings.database.migrate = options.migrate.unwrap_or(true);
    let (server, redeemer) = start(&settings).await;
    TestApp {
        root: server.base.clone(),
        client: reqwest::Client::new(),
        token,
        token_file,
        settings,
        sim,
        signing_key,
        server,
        redeemer,
        _db: db,
        _dir: dir,
    }
}

async fn start(settings: &Settings) -> (TestServer, Redeemer) {
    let app = Application::build(settings.clone()).await.unwrap();
    let redeemer = app.redeemer();
    (TestServer::run(app), redeemer)
}

pub fn random_voucher() -> String {
    let mut bytes = [0u8; 33];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{BASE}/{path}", self.root)
    }

    pub fn auth(&self) -> String {
        format!("tahoe-lafs {}", self.token)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .get(self.url(path))
            .header("authorization", self.auth())
            .header("content-type", "application/json")
    }

    pub fn post(&self, path: &str, body: &Value) -> reqwest::RequestBuilder {
        self.client
            .post(self.url(path))
            .header("authorization", self.auth())
            .json(body)
    }

    pub async fn put_voucher(&self, voucher: &str) -> reqwest::Response {
        self.client
            .put(self.url("voucher"))
            .header("authorization", self.auth())
            .json(&json!({ "voucher": voucher }))
            .send()
            .await
            .unwrap()
    }

    pub async fn voucher(&self, voucher: &str) -> Value {
        let response = self
            .get(&format!("voucher/{voucher}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Polls until the voucher reaches `state` (bounded; panics with the last status).
    pub async fn wait_for_state(&self, voucher: &str, state: &str) -> Value {
        let mut last = Value::Null;
        for _ in 0..1500 {
            last = self.voucher(voucher).await;
            if last["state"]["name"] == state {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("voucher never reached {state}: {last}");
    }

    /// Pays for and redeems a fresh voucher; returns it.
    pub async fn redeemed_voucher(&self) -> String {
        let voucher = random_voucher();
        self.sim.mark_paid(&voucher);
        assert_eq!(self.put_voucher(&voucher).await.status(), 200);
        self.wait_for_state(&voucher, "redeemed").await;
        voucher
    }

    pub async fn spendable(&self) -> u64 {
        let body: Value = self
            .get("lease-maintenance")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["total"].as_u64().unwrap()
    }

    /// Stops the server and abandons redemption mid-flight, as a crash would.
    pub async fn crash(&self) {
        self.redeemer.stop();
        self.server.handle().stop(false).await;
    }

    /// A new process on the same database and issuer.
    pub async fn restart(&mut self) {
        self.crash().await;
        let (server, redeemer) = start(&self.settings).await;
        self.root = server.base.clone();
        self.server = server;
        self.redeemer = redeemer;
    }

    /// A storage server's check of a pass, with only the issuer's signing key.
    pub fn server_accepts(&self, pass: &str, message: &str) -> bool {
        let Some((preimage, signature)) = pass.split_once(' ') else {
            return false;
        };
        let preimage = TokenPreimage::decode_base64(preimage).unwrap();
        let signature = VerificationSignature::decode_base64(signature).unwrap();
        self.signing_key
            .rederive_unblinded_token(&preimage)
            .derive_verification_key::<Sha512>()
            .verify::<Hmac<Sha512>>(&signature, message.as_bytes())
    }
}
