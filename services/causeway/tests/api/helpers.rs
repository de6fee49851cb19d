//! spawn_app(): a fresh database, a Bitcoin Core simulator and the real server on port 0.

use std::time::Duration;

use causeway::db::{MIGRATIONS, nonces};
use causeway::{Application, Error, Settings};
use ledger_sim::bitcoin_rpc::{BitcoinSim, BitcoinSimConfig};
use rand::Rng;
use secp256k1::SecretKey;
use serde_json::{Value, json};
use service_kit::bitcoin::{BitcoinAddress, Network, sign_message};
use service_kit::db::{Backend, Database, PoolOptions};
use service_kit::testing::{TestDatabase, TestServer};

pub const SIM_USER: &str = "ledger-sim";
pub const SIM_PASSWORD: &str = "sim-password";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub sim: BitcoinSim,
    /// The server's database, for setting up what HTTP cannot (fixed nonces, old buckets).
    pub db: Database,
    _server: TestServer,
    _dir: tempfile::TempDir,
    _sqlite: Option<TestDatabase>,
}

/// A server with the default settings (free buckets, price 100000 sat, mainnet).
pub async fn spawn_app(database_url: String) -> TestApp {
    spawn_with(database_url, |_| {}).await
}

/// A server on a fresh SQLite database.
pub async fn spawn_sqlite() -> TestApp {
    spawn_sqlite_with(|_| {}).await
}

pub async fn spawn_sqlite_with(tune: impl FnOnce(&mut Settings)) -> TestApp {
    let db = TestDatabase::create(Backend::Sqlite).unwrap().unwrap();
    let mut app = spawn_with(db.url().to_owned(), tune).await;
    app._sqlite = Some(db);
    app
}

pub async fn spawn_with(database_url: String, tune: impl FnOnce(&mut Settings)) -> TestApp {
    let sim = BitcoinSim::start(
        "127.0.0.1:0",
        BitcoinSimConfig {
            user: SIM_USER.to_owned(),
            password: SIM_PASSWORD.to_owned(),
            testnet: false,
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("bitcoind-password");
    std::fs::write(&password_file, format!("{SIM_PASSWORD}\n")).unwrap();
    let mut settings = Settings {
        bitcoind_url: Some(sim.url()),
        bitcoind_user: SIM_USER.to_owned(),
        bitcoind_password_file: Some(password_file),
        ..Settings::default()
    };
    settings.server.port = 0;
    settings.server.workers = Some(2);
    settings.database.database_url = database_url.clone();
    settings.database.pool_size = 8;
    tune(&mut settings);
    let server = TestServer::start::<Application>(settings).await.unwrap();
    let db = Database::connect(&database_url, PoolOptions::default()).unwrap();
    db.migrate(&MIGRATIONS).unwrap();
    TestApp {
        base: server.base.clone(),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap(),
        sim,
        db,
        _server: server,
        _dir: dir,
        _sqlite: None,
    }
}

/// A Rein user: a master key (the owner) and a delegate key (signs the puts).
#[derive(Clone)]
pub struct User {
    pub master_key: SecretKey,
    pub master: BitcoinAddress,
    pub delegate_key: SecretKey,
    pub delegate: BitcoinAddress,
}

fn keypair(network: Network) -> (SecretKey, BitcoinAddress) {
    let secp = secp256k1::Secp256k1::new();
    let secret = SecretKey::from_byte_array(&rand::thread_rng().r#gen::<[u8; 32]>()).unwrap();
    let public = secret.public_key(&secp);
    (
        secret,
        BitcoinAddress::from_public_key(&public, true, network),
    )
}

impl User {
    pub fn new() -> Self {
        Self::on(Network::Mainnet)
    }

    pub fn on(network: Network) -> Self {
        let (master_key, master) = keypair(network);
        let (delegate_key, delegate) = keypair(network);
        Self {
            master_key,
            master,
            delegate_key,
            delegate,
        }
    }

    pub fn sign_delegate(&self, message: &str) -> String {
        sign_message(&self.delegate_key, true, message)
    }

    pub fn sign_master(&self, message: &str) -> String {
        sign_message(&self.master_key, true, message)
    }

    /// python-rein's upload body, signed by the delegate.
    pub fn put_body(&self, key: &str, value: &str, nonce: &str) -> Value {
        let message = format!("{key}{value}{}{nonce}", self.delegate);
        json!({
            "key": key,
            "value": value,
            "nonce": nonce,
            "signature": self.sign_delegate(&message),
            "signature_address": self.delegate.to_string(),
            "owner": self.master.to_string(),
            "testnet": self.master.network() == Network::Testnet,
        })
    }

    /// The same body signed by the master key (`signature_address` = owner).
    pub fn put_body_by_master(&self, key: &str, value: &str, nonce: &str) -> Value {
        let message = format!("{key}{value}{}{nonce}", self.master);
        let mut body = self.put_body(key, value, nonce);
        body["signature"] = json!(self.sign_master(&message));
        body["signature_address"] = json!(self.master.to_string());
        body
    }

    /// python-rein's enrollment (`rein/lib/ui.py`): signed by the master key, naming the
    /// user's delegate.
    pub fn enrollment(&self) -> String {
        let text = enrollment_text(&self.master, &self.delegate);
        armour(&text, &self.master, &self.sign_master(&text))
    }

    pub fn delete_body(&self, key: &str, nonce: &str) -> Value {
        let message = format!("{key}{}{nonce}", self.delegate);
        json!({
            "key": key,
            "address": self.delegate.to_string(),
            "nonce": nonce,
            "signature": self.sign_delegate(&message),
        })
    }
}

/// The text python-rein's `build_enrollment_from_dict` signs.
pub fn enrollment_text(master: &BitcoinAddress, delegate: &BitcoinAddress) -> String {
    let mut text = format!(
        "Rein User Enrollment\nUser: Alice\nContact: alice@example.com\nMaster signing address: {master}\nSecure Identity Number: 4DYQ6OTC\nDelegate signing address: {delegate}\nWilling to mediate: False"
    );
    if master.network() == Network::Testnet {
        text.push_str("\nTestnet: True");
    }
    text
}

/// python-rein's ASCII armour around a signed text.
pub fn armour(text: &str, signer: &BitcoinAddress, signature: &str) -> String {
    format!(
        "-----BEGIN BITCOIN SIGNED MESSAGE-----\n{text}\n-----BEGIN SIGNATURE-----\n{signer}\n{signature}\n-----END BITCOIN SIGNED MESSAGE-----\n"
    )
}

/// A python-rein placement key: 32 characters of `A-Z0-9`.
pub fn random_key() -> String {
    const CHARSET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::thread_rng();
    (0..32)
        .map(|_| CHARSET[rng.gen_range(0..CHARSET.len())] as char)
        .collect()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
        let response = self
            .client
            .get(self.url(path))
            .query(query)
            .send()
            .await
            .unwrap();
        read(response).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap();
        read(response).await
    }

    /// `rein request`: a free bucket for the user.
    pub async fn request_bucket(&self, user: &User) -> (u16, Value) {
        self.get(
            "/request",
            &[
                ("owner", &user.master.to_string()),
                ("delegate", &user.delegate.to_string()),
                ("contact", "user@example.com"),
            ],
        )
        .await
    }

    pub async fn nonce(&self, user: &User) -> String {
        let (status, body) = self
            .get("/nonce", &[("address", &user.master.to_string())])
            .await;
        assert_eq!(status, 200, "{body}");
        body["nonce"].as_str().unwrap().to_owned()
    }

    pub async fn put(&self, user: &User, key: &str, value: &str, nonce: &str) -> (u16, Value) {
        self.post_json("/put", &user.put_body(key, value, nonce))
            .await
    }

    pub async fn get_key(&self, key: &str) -> (u16, Value) {
        self.get("/get", &[("key", key)]).await
    }

    /// The user's buckets as `/request` lists them (asks for none when at the limit).
    pub async fn buckets(&self, user: &User) -> Vec<Value> {
        let (_, body) = self.request_bucket(user).await;
        body["buckets"].as_array().unwrap().clone()
    }

    /// Sets the owner's nonce to a fixed value (for the published test vector).
    pub async fn force_nonce(&self, owner: &str, nonce: &str) {
        let (owner, nonce) = (owner.to_owned(), nonce.to_owned());
        let now = causeway::domain::time::now();
        self.db
            .run(move |conn| nonces::replace(conn, &owner, &nonce, now).map_err(Error::from))
            .await
            .map_err(|e| e.to_string())
            .unwrap();
    }

    /// Runs SQL on the server's database (moving bucket expiry into the past, etc.).
    pub async fn execute(&self, sql: String) {
        use diesel::connection::SimpleConnection;
        self.db
            .run(move |conn| conn.batch_execute(&sql).map_err(Error::from))
            .await
            .map_err(|e| e.to_string())
            .unwrap();
    }
}

/// Sends `request`; its status and JSON body (or the text when it is not JSON).
pub async fn call(request: reqwest::RequestBuilder) -> (u16, Value) {
    read(request.send().await.unwrap()).await
}

async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// Asserts an error answer in causeway's format.
pub fn assert_error(got: &(u16, Value), status: u16, message: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error"], message, "{}", got.1);
    assert_eq!(got.1["status"], format!("error: {message}"), "{}", got.1);
}

/// A counter of `/metrics`.
pub async fn counter(app: &TestApp, name: &str) -> u64 {
    let text = app.client.get(app.url("/metrics")).send().await.unwrap();
    let text = text.text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

/// A server whose owners get one free bucket of `bucket_bytes`, and a new owner holding it
/// with its nonce.
pub async fn one_bucket_owner(url: String, bucket_bytes: u64) -> (TestApp, User, String) {
    let app = spawn_with(url, |s| {
        s.bucket_bytes = bucket_bytes;
        s.free_buckets = 1;
    })
    .await;
    let user = User::new();
    assert_eq!(app.request_bucket(&user).await.0, 200);
    let nonce = app.nonce(&user).await;
    (app, user, nonce)
}
