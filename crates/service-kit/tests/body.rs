//! The body policy over a real socket: a body refused early (here: too large) is answered,
//! then the connection is closed after at most a short linger, however much the client still
//! sends; a body read to its end keeps the connection alive.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;

use actix_web::{HttpResponse, web};
use service_kit::body::{BodyError, DRAIN_TIMEOUT, read};
use service_kit::metrics::Metrics;
use service_kit::server::{Application, Readiness, ServerOptions};
use service_kit::testing::assert_endless_body_is_cut;

async fn bounded(payload: web::Payload) -> HttpResponse {
    match read(payload, 1024).await {
        Ok(body) => HttpResponse::Ok().body(body),
        Err(BodyError::TooLarge(_)) => HttpResponse::PayloadTooLarge().body("too large"),
        Err(err) => HttpResponse::BadRequest().body(err.to_string()),
    }
}

async fn refused() -> HttpResponse {
    HttpResponse::Conflict().body("already stored")
}

fn spawn() -> u16 {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let mut options = ServerOptions::new("127.0.0.1", 0);
            options.workers = Some(1);
            let app = Application::build(&options, Metrics::new("demo"), Readiness::new(), |cfg| {
                cfg.route("/bounded", web::post().to(bounded))
                    .route("/refused", web::post().to(refused));
            })
            .unwrap();
            tx.send(app.port()).unwrap();
            app.run().await.unwrap();
        });
    });
    rx.recv().unwrap()
}

#[test]
fn an_early_answer_closes_the_connection_after_a_short_linger() {
    let port = spawn();
    for path in ["/bounded", "/refused"] {
        let head = format!("POST {path} HTTP/1.1\r\nHost: x\r\n");
        let status = assert_endless_body_is_cut(&format!("127.0.0.1:{port}"), &head);
        assert!(
            status.starts_with("HTTP/1.1 413") || status.starts_with("HTTP/1.1 409"),
            "{path}: {status}"
        );
    }
}

/// The answer comes before the body has been sent, and says the connection will close
/// (actix-web decides that when the head goes out with the body unread). A body that then
/// ends within the drain limit is read to its end: the client finishes sending it without a
/// reset, and the connection then closes in order, without waiting for the drain timeout.
#[test]
fn an_early_answer_lets_a_short_body_finish_then_closes() {
    let port = spawn();
    let mut socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
    socket
        .write_all(b"POST /refused HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n")
        .unwrap();
    socket.write_all(&[b'x'; 1000]).unwrap();
    let mut buf = [0u8; 512];
    let n = socket.read(&mut buf).unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 409"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    socket.write_all(&[b'x'; 199_000]).unwrap();
    socket.set_read_timeout(Some(DRAIN_TIMEOUT / 2)).unwrap();
    let started = std::time::Instant::now();
    let n = socket.read(&mut buf).unwrap();
    assert_eq!(n, 0, "{}", String::from_utf8_lossy(&buf[..n]));
    assert!(started.elapsed() < DRAIN_TIMEOUT / 2);
}

#[test]
fn a_body_read_to_its_end_keeps_the_connection() {
    let port = spawn();
    let mut socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
    for _ in 0..3 {
        socket
            .write_all(b"POST /bounded HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
            .unwrap();
        let mut buf = [0u8; 512];
        let n = socket.read(&mut buf).unwrap();
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("hello"), "{answer}");
    }
}
