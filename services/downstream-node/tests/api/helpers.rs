//! spawn_app(): a fresh database, the real server on port 0, and a farmer that speaks the
//! downstream-farmer protocol (signed registration, RandomIO files, real Merkle proofs).

use std::net::IpAddr;

use diesel::prelude::*;
use downstream_node::app::connect;
use downstream_node::db::{self, addresses, schema};
use downstream_node::geoip::GeoIp;
use downstream_node::heartbeat::{self, Challenge, HeartbeatKey, Proof, RandomIo, Tag};
use downstream_node::ops::{maintenance, register};
use downstream_node::{AppState, Application, Settings};
use secp256k1::{Secp256k1, SecretKey};
use serde_json::{Value, json};
use service_kit::bitcoin::{BitcoinAddress, Network, sign_message};
use service_kit::db::Database;
use service_kit::testing::TestServer;

pub const GEOIP_DB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/GeoLite2-City-Test.mmdb"
);
pub const BROKEN_GEOIP_DB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/GeoIP2-City-Test-Broken-Double-Format.mmdb"
);
pub const MESSAGE: &str = "downstream-node test farmer";

pub struct TestApp {
    /// `http://host:port` (no prefix).
    pub root: String,
    /// The farmer's prefix: `<root>/api/downstream/v1`.
    pub api: String,
    pub state: AppState,
    pub client: reqwest::Client,
    /// Stops the server when the test is done with it.
    _server: TestServer,
}

pub async fn spawn_app(database_url: String) -> TestApp {
    spawn_app_with(database_url, |_| {}).await
}

pub async fn spawn_app_with(database_url: String, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = Settings {
        geoip_db: Some(GEOIP_DB.into()),
        ..Settings::default()
    };
    settings.server.port = 0;
    settings.server.workers = Some(2);
    settings.database.database_url = database_url;
    settings.database.pool_size = 4;
    tweak(&mut settings);
    let db = connect(&settings).unwrap();
    db.migrate(&db::MIGRATIONS).unwrap();
    let geo = GeoIp::open(settings.geoip_db.as_deref());
    let host = settings.server.host.clone();
    let state = AppState::new(db, HeartbeatKey::generate(), geo, settings);
    let server = TestServer::run(Application::with_state(state.clone()).unwrap());
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    let root = format!("http://{host}:{}", server.port);
    TestApp {
        api: format!("{root}/api/downstream/v1"),
        root,
        state,
        client: reqwest::Client::new(),
        _server: server,
    }
}

/// A farmer identity: a secp256k1 key and its compressed mainnet address.
pub struct Identity {
    pub secret: SecretKey,
    pub address: String,
}

impl Identity {
    pub fn new(seed: u8) -> Self {
        let secret = SecretKey::from_slice(&[seed; 32]).unwrap();
        let public = secret.public_key(&Secp256k1::new());
        let address = BitcoinAddress::from_public_key(&public, true, Network::Mainnet).to_string();
        Self { secret, address }
    }

    pub fn signature(&self, message: &str) -> String {
        sign_message(&self.secret, true, message)
    }

    pub fn signed_body(&self) -> Value {
        json!({"message": MESSAGE, "signature": self.signature(MESSAGE)})
    }
}

impl TestApp {
    pub fn db(&self) -> &Database {
        &self.state.db
    }

    pub async fn whitelist(&self, address: &str, balance: i64) {
        let entries = vec![(address.to_owned(), balance)];
        self.db()
            .run(move |conn| {
                addresses::import(conn, &entries, true).map_err(service_kit::db::DbError::from)
            })
            .await
            .unwrap();
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.api))
            .send()
            .await
            .unwrap();
        decode(response).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.api))
            .json(body)
            .send()
            .await
            .unwrap();
        decode(response).await
    }

    pub async fn post_raw(&self, path: &str, body: Vec<u8>, gzip_header: bool) -> (u16, Value) {
        let mut request = self
            .client
            .post(format!("{}{path}", self.api))
            .header("Content-Type", "application/json")
            .body(body);
        if gzip_header {
            request = request.header("Content-Encoding", "gzip");
        }
        decode(request.send().await.unwrap()).await
    }

    /// Registers `identity` (whitelisted first) and returns its token.
    pub async fn register(&self, identity: &Identity) -> String {
        self.whitelist(&identity.address, 10_000).await;
        let (status, body) = self
            .post(
                &format!("/new/{}", identity.address),
                &identity.signed_body(),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// Moves every contract and statistic `millis` into the past, as if that much time
    /// had gone by.
    pub async fn travel(&self, millis: i64) {
        use schema::{contracts as c, tokens as t};
        self.db()
            .run(move |conn| {
                diesel::update(c::table)
                    .set((
                        c::start_at.eq(c::start_at - millis),
                        c::due_at.eq(c::due_at - millis),
                        c::expiration.eq(c::expiration - millis),
                    ))
                    .execute(conn)?;
                diesel::update(t::table)
                    .set((
                        t::first_start.eq(t::first_start - millis),
                        t::seg_start.eq(t::seg_start - millis),
                        t::seg_end.eq(t::seg_end - millis),
                        t::last_due.eq(t::last_due - millis),
                    ))
                    .execute(conn)
                    .map_err(service_kit::db::DbError::from)
            })
            .await
            .unwrap();
    }

    pub async fn sweep(&self) {
        maintenance::sweep(self.db()).await.unwrap();
    }

    /// Registers a token from another client address, straight through the node.
    pub async fn register_from(&self, identity: &Identity, ip: IpAddr) -> String {
        self.whitelist(&identity.address, 10_000).await;
        let signed = register::Signed {
            message: MESSAGE.into(),
            signature: identity.signature(MESSAGE),
        };
        register::create_token(&self.state, &identity.address, ip, Some(signed))
            .await
            .unwrap()
            .token
    }
}

pub async fn decode(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// The sizes of the contracts a `/chunk` answer hands out.
pub fn chunk_sizes(body: &Value) -> Vec<u64> {
    body["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["size"].as_u64().unwrap())
        .collect()
}

/// What the farmer keeps of one contract.
pub struct Held {
    pub file_hash: Value,
    pub file: Vec<u8>,
    pub tag: Tag,
    pub challenge: Challenge,
}

impl Held {
    /// As downstream-farmer does on receipt: check the keys, write RandomIO(seed) of `size`.
    pub fn from_chunk(chunk: &Value) -> Self {
        for key in ["file_hash", "seed", "size", "challenge", "tag", "due"] {
            assert!(chunk.get(key).is_some(), "chunk lacks {key}: {chunk}");
        }
        assert!(chunk["file_hash"].is_i64());
        assert!(chunk["size"].is_u64());
        assert!(chunk["due"].is_f64());
        let seed = chunk["seed"].as_str().unwrap();
        assert_eq!(seed.len(), 32);
        let size = chunk["size"].as_u64().unwrap() as usize;
        Self {
            file_hash: chunk["file_hash"].clone(),
            file: RandomIo::new(seed).generate(size),
            tag: serde_json::from_value(chunk["tag"].clone()).unwrap(),
            challenge: serde_json::from_value(chunk["challenge"].clone()).unwrap(),
        }
    }

    pub fn prove(&self) -> Proof {
        heartbeat::prove(self.file.as_slice(), &self.challenge, &self.tag).unwrap()
    }

    pub fn proof_item(&self) -> Value {
        json!({"file_hash": self.file_hash, "proof": self.prove()})
    }
}

/// A real gzip member (stored deflate blocks) around `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut chunks = data.chunks(0xffff).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        let last = u8::from(chunks.peek().is_none());
        let len = chunk.len() as u16;
        out.push(last);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
