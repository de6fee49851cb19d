//! spawn_app(): a ledger simulator and the real server on port 0 over a fresh storage
//! directory; builders for the multipart bodies clients really send.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ledger_sim::indy::{IndySim, rev_reg_def_json};
use reqwest::header::CONTENT_TYPE;
use service_kit::testing::TestServer;
use tails_server::{Application, Settings};
use tempfile::TempDir;

pub const DID: &str = "4QxzWk3ajdnEA37NdNU5Kt";

pub struct TestApp {
    pub url: String,
    pub client: reqwest::Client,
    pub sim: IndySim,
    pub genesis: String,
    pub storage: PathBuf,
    _server: TestServer,
    _dir: Option<TempDir>,
}

impl TestApp {
    /// Publishes a registry for `tails` on the simulated ledger; returns its id.
    pub fn register(&self, tag: &str, max_cred_num: u64, tails: &[u8]) -> String {
        let id = rev_reg_id(tag);
        self.sim
            .publish(rev_reg_def_json(
                &id,
                &cred_def_id(),
                max_cred_num,
                &tails_hash(tails),
                &format!("{}/{}", self.url, id),
            ))
            .unwrap();
        id
    }

    pub fn id_url(&self, id: &str) -> String {
        format!("{}/{}", self.url, quote(id))
    }

    /// PUT /{id} with `genesis` then `tails`, as ACA-Py does.
    pub async fn upload(&self, id: &str, tails: &[u8]) -> reqwest::Response {
        put_multipart(
            &self.client,
            &self.id_url(id),
            &[genesis_part(&self.genesis), tails_part(tails)],
        )
        .await
    }

    /// `GET /match/{substring}`: the names listed.
    pub async fn matching(&self, substring: &str) -> Vec<String> {
        let url = format!("{}/match/{substring}", self.url);
        let response = self.client.get(url).send().await.unwrap();
        response.json().await.unwrap()
    }

    /// `GET /{id}` of the bytes `range` (`Range: bytes=RANGE`).
    pub async fn get_range(&self, id: &str, range: &str) -> reqwest::Response {
        let request = self.client.get(self.id_url(id));
        let request = request.header(reqwest::header::RANGE, format!("bytes={range}"));
        request.send().await.unwrap()
    }

    /// Files under the final names (the server's hidden directories excluded).
    pub fn stored_files(&self) -> Vec<String> {
        stored_files(&self.storage)
    }

    pub fn temp_files(&self) -> usize {
        temp_files(&self.storage)
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let sim = IndySim::start("127.0.0.1:0", genesis("Node")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("tails");
    let (url, server) = start_server(&storage, &sim.url(), adjust).await;
    TestApp {
        url,
        client: client(),
        sim,
        genesis: genesis("Node"),
        storage,
        _server: server,
        _dir: Some(dir),
    }
}

/// Another server over the same storage directory and ledger; it stops when the returned
/// server is dropped.
pub async fn start_server(
    storage: &Path,
    ledger_url: &str,
    adjust: impl FnOnce(&mut Settings),
) -> (String, TestServer) {
    let mut settings = Settings {
        storage_path: storage.to_owned(),
        indy_vdr_proxy_url: Some(ledger_url.to_owned()),
        ..Settings::default()
    };
    settings.server.port = 0;
    settings.server.workers = Some(2);
    settings.server.shutdown_timeout_secs = 1;
    adjust(&mut settings);
    let server = TestServer::start::<Application>(settings).await.unwrap();
    (server.base.clone(), server)
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

pub fn cred_def_id() -> String {
    format!("{DID}:3:CL:12148:default")
}

pub fn rev_reg_id(tag: &str) -> String {
    format!(
        "{}:CL_ACCUM:{tag}",
        format_args!("{DID}:4:{}", cred_def_id())
    )
}

/// ACA-Py's `quote(id, safe=":")`.
pub fn quote(id: &str) -> String {
    id.replace('%', "%25").replace(' ', "%20")
}

/// A genesis of four nodes whose aliases start with `prefix` (different prefixes: different
/// ledgers).
pub fn genesis(prefix: &str) -> String {
    (1..=4)
        .map(|n| {
            format!(
                r#"{{"reqSignature":{{}},"txn":{{"data":{{"data":{{"alias":"{prefix}{n}","blskey":"4N8aUNHSgjQVgkpm8nhNEfDf6txHznoYREg9kirmJrkivgL4oSEimFF6nsQ6M41QvhM2Z33nves5vfSn9n1UwNFJBYtWVnHYMATn76vLuL3zU88KyeAYcHfsih3He6UHcXDxcaecHVz6jhCYz1P2UZn2bDVruL5wXpehgBfBaLKm3Ba","client_ip":"127.0.0.1","client_port":{cp},"node_ip":"127.0.0.1","node_port":{np},"services":["VALIDATOR"]}},"dest":"Gw6pDLhcBcoQesN72qfotTgFa7cbuqZpkX3Xo6pLhPhv"}},"metadata":{{"from":"Th7MpTaRZVRYnPiabds81Y"}},"type":"0"}},"txnMetadata":{{"seqNo":{n},"txnId":"fea82e10e894419fe2bea7d96296a6d46f50f93f9eeda954ec461b2ed2950b6{n}"}},"ver":"1"}}"#,
                cp = 9700 + 2 * n,
                np = 9699 + 2 * n,
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

static SEED: AtomicU64 = AtomicU64::new(1);

/// A well-formed tails file (version tag, 2·maxCredNum+1 points of 128 bytes), each call's
/// content different.
pub fn tails_file(max_cred_num: u64) -> Vec<u8> {
    let size = 2 + 128 * (2 * max_cred_num + 1);
    let mut state = SEED
        .fetch_add(1, Ordering::Relaxed)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut file = Vec::with_capacity(size as usize);
    file.extend_from_slice(&[0, 2]);
    while file.len() < size as usize {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        file.extend_from_slice(&state.to_le_bytes());
    }
    file.truncate(size as usize);
    file
}

pub fn tails_hash(bytes: &[u8]) -> String {
    tails_server::domain::TailsHash::of(bytes).to_string()
}

/// One part of a multipart body: its header lines and content.
pub struct Part {
    pub headers: Vec<String>,
    pub body: Vec<u8>,
}

/// aiohttp's `FormData` string field.
pub fn genesis_part(genesis: &str) -> Part {
    Part {
        headers: vec![
            "Content-Type: text/plain; charset=utf-8".to_owned(),
            "Content-Disposition: form-data; name=\"genesis\"".to_owned(),
        ],
        body: genesis.as_bytes().to_vec(),
    }
}

/// aiohttp's `FormData` file field.
pub fn tails_part(tails: &[u8]) -> Part {
    named_part("tails", tails)
}

pub fn named_part(name: &str, body: &[u8]) -> Part {
    Part {
        headers: vec![
            "Content-Type: application/octet-stream".to_owned(),
            format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{name}-file\""),
        ],
        body: body.to_vec(),
    }
}

pub const BOUNDARY: &str = "9a1d3e0c4b5f4e2a8c7d6b5a4f3e2d1c";

pub fn multipart_body(parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        for header in &part.headers {
            out.extend_from_slice(header.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&part.body);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

pub fn form_data_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

pub async fn put_multipart(
    client: &reqwest::Client,
    url: &str,
    parts: &[Part],
) -> reqwest::Response {
    put_form(client, url, multipart_body(parts)).await
}

/// PUT of a ready multipart/form-data `body`.
pub async fn put_form(
    client: &reqwest::Client,
    url: impl reqwest::IntoUrl,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    client
        .put(url)
        .header(CONTENT_TYPE, form_data_type())
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Status and body text.
pub async fn answer(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

pub fn stored_files(storage: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(storage)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| !name.starts_with('.'))
        .collect();
    names.sort();
    names
}

pub fn temp_files(storage: &Path) -> usize {
    std::fs::read_dir(storage.join(".tmp")).map_or(0, |dir| dir.count())
}

/// Polls `condition` until it holds (at most 20 s); for state another task or process
/// changes, never as a fixed sleep.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A request body fed by the test, chunk by chunk, to stage slow and broken uploads.
pub struct BodyFeed {
    sender: tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>,
}

impl BodyFeed {
    pub fn new() -> (Self, reqwest::Body) {
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|item| (item, receiver))
        });
        (Self { sender }, reqwest::Body::wrap_stream(stream))
    }

    pub async fn send(&self, bytes: &[u8]) {
        self.sender.send(Ok(bytes.to_vec())).await.unwrap();
    }

    /// Aborts the request mid-body, as a killed client would.
    pub async fn break_off(self) {
        let _ = self
            .sender
            .send(Err(std::io::Error::other("client killed")))
            .await;
    }
}

pub type UploadTask = tokio::task::JoinHandle<Result<(u16, String), reqwest::Error>>;

/// Sends a streamed multipart upload in the background; the body is fed through the
/// returned [`BodyFeed`] (chunked transfer encoding, as the upstream race tests).
pub fn start_streamed_upload(client: &reqwest::Client, url: &str) -> (BodyFeed, UploadTask) {
    let (feed, body) = BodyFeed::new();
    let request = client
        .put(url)
        .header(CONTENT_TYPE, form_data_type())
        .body(body);
    let task = tokio::spawn(async move {
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.text().await?))
    });
    (feed, task)
}
