//! Delegates bound by the owner's signed enrollment: a squatter who registers someone else's
//! master address first loses it when the real owner's enrollment arrives; forged
//! enrollments bind nothing.

use serde_json::json;

use crate::helpers::*;

/// Someone who knows `victim`'s master address but not its key: their own delegate (and a
/// master key that is not the victim's).
fn squatter_of(victim: &User) -> User {
    let own = User::on(victim.master.network());
    User {
        master: victim.master,
        ..own
    }
}

/// The user's buckets (`/request` may grant one more) and their free bytes in all.
async fn free_space(app: &TestApp, user: &User) -> (i64, i64) {
    let buckets = app.buckets(user).await;
    let free = buckets
        .iter()
        .map(|b| b["bytes_free"].as_str().unwrap().parse::<i64>().unwrap())
        .sum();
    (buckets.len() as i64, free)
}

async fn squatter_loses_to_signed_enrollment(url: String) {
    let app = spawn_app(url).await;
    let victim = User::new();
    let squatter = squatter_of(&victim);

    // The squatter registers the victim's master address with its own delegate first.
    assert_eq!(app.request_bucket(&squatter).await.0, 200);
    let nonce = app.nonce(&squatter).await;
    let squatted = random_key();
    assert_eq!(
        app.put(&squatter, &squatted, "squatter's", &nonce).await.0,
        201
    );

    // The real client, unchanged: request (the owner exists, its delegate stays), nonce, puts.
    let (status, body) = app.request_bucket(&victim).await;
    assert_eq!(status, 200, "{body}");
    let nonce = app.nonce(&victim).await;
    let job = random_key();
    let early = app.put(&victim, &job, "Rein Job", &nonce).await;
    assert_error(
        &early,
        403,
        "Signer is neither the owner nor the owner's delegate",
    );
    let enrollment = random_key();
    let (status, body) = app
        .put(&victim, &enrollment, &victim.enrollment(), &nonce)
        .await;
    assert_eq!(status, 201, "{body}");
    // The squatter's documents went with its delegate, and their space came back.
    assert_eq!(app.get_key(&squatted).await.0, 404);
    assert_eq!(app.put(&victim, &job, "Rein Job", &nonce).await.0, 201);
    let (buckets, free) = free_space(&app, &victim).await;
    let stored =
        (enrollment.len() + victim.enrollment().len() + job.len() + "Rein Job".len()) as i64;
    assert_eq!(free, buckets * 1_048_576 - stored);

    // The squatter is locked out, and registering again changes nothing.
    let later = app.put(&squatter, &random_key(), "again", &nonce).await;
    assert_error(
        &later,
        403,
        "Signer is neither the owner nor the owner's delegate",
    );
    let delete = app
        .post_json("/delete", &squatter.delete_body(&job, &nonce))
        .await;
    assert_error(
        &delete,
        403,
        "Signer is neither the owner nor the owner's delegate",
    );
    assert_eq!(app.request_bucket(&squatter).await.0, 200);
    let later = app.put(&squatter, &random_key(), "again", &nonce).await;
    assert_eq!(later.0, 403, "{}", later.1);
    let (status, body) = app.get_key(&job).await;
    assert_eq!(
        (status, &body["value"]),
        (200, &json!("Rein Job")),
        "{body}"
    );

    // The bound delegate survives the squatter's registration and keeps writing.
    assert_eq!(app.put(&victim, &job, "Rein Job 2", &nonce).await.0, 201);
}

service_kit::backend_tests!(squatter_takeover, squatter_loses_to_signed_enrollment);

async fn forged_enrollments_bind_nothing(url: String) {
    let app = spawn_app(url).await;
    let victim = User::new();
    let squatter = squatter_of(&victim);
    assert_eq!(app.request_bucket(&squatter).await.0, 200);
    let nonce = app.nonce(&squatter).await;

    // Wrong signature: the victim's master named as signer, the squatter's key signing. The
    // squatter is the provisional delegate, so it is stored, as an ordinary document.
    let text = enrollment_text(&victim.master, &squatter.delegate);
    let forged = armour(&text, &victim.master, &squatter.sign_delegate(&text));
    let forged_key = random_key();
    assert_eq!(
        app.put(&squatter, &forged_key, &forged, &nonce).await.0,
        201
    );

    // Wrong master: an outsider's own valid enrollment, sent for the victim's owner.
    let outsider = User::new();
    let mut body = outsider.put_body(&random_key(), &outsider.enrollment(), &nonce);
    body["owner"] = json!(victim.master.to_string());
    assert_eq!(app.post_json("/put", &body).await.0, 403);

    // The victim's real enrollment is public once stored; another key cannot upload it.
    let mut body = outsider.put_body(&random_key(), &victim.enrollment(), &nonce);
    body["owner"] = json!(victim.master.to_string());
    assert_eq!(app.post_json("/put", &body).await.0, 403);

    // The forged one bound nothing: the real enrollment still takes over.
    let (status, body) = app
        .put(&victim, &random_key(), &victim.enrollment(), &nonce)
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(app.get_key(&forged_key).await.0, 404);
    assert_eq!(app.put(&squatter, &random_key(), "x", &nonce).await.0, 403);
}

service_kit::backend_tests!(forged_enrollments, forged_enrollments_bind_nothing);

#[actix_web::test]
async fn the_master_key_can_sign_its_own_enrollment() {
    let app = spawn_sqlite().await;
    let victim = User::new();
    let squatter = squatter_of(&victim);
    assert_eq!(app.request_bucket(&squatter).await.0, 200);
    let nonce = app.nonce(&victim).await;
    let body = victim.put_body_by_master(&random_key(), &victim.enrollment(), &nonce);
    let (status, body) = app.post_json("/put", &body).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(app.put(&victim, &random_key(), "mine", &nonce).await.0, 201);
    assert_eq!(app.put(&squatter, &random_key(), "x", &nonce).await.0, 403);
    // The master key itself always signs.
    let body = victim.put_body_by_master(&random_key(), "by master", &nonce);
    assert_eq!(app.post_json("/put", &body).await.0, 201);
}

#[actix_web::test]
async fn a_new_enrollment_rotates_a_bound_delegate_and_keeps_the_documents() {
    let app = spawn_sqlite().await;
    let user = User::new();
    assert_eq!(app.request_bucket(&user).await.0, 200);
    let nonce = app.nonce(&user).await;
    let key = random_key();
    assert_eq!(
        app.put(&user, &key, &user.enrollment(), &nonce).await.0,
        201
    );
    let doc = random_key();
    assert_eq!(app.put(&user, &doc, "Rein Job", &nonce).await.0, 201);

    // Same master, a new delegate named by a new enrollment the master signed.
    let rotated = User {
        master: user.master,
        master_key: user.master_key,
        ..User::new()
    };
    let (status, body) = app.put(&rotated, &key, &rotated.enrollment(), &nonce).await;
    assert_eq!(status, 201, "{body}");
    // The previous delegate was bound, not a squatter: its documents stay.
    assert_eq!(app.get_key(&doc).await.0, 200);
    assert_eq!(app.put(&rotated, &doc, "Rein Job 2", &nonce).await.0, 201);
    assert_eq!(app.put(&user, &doc, "old key", &nonce).await.0, 403);
}

#[actix_web::test]
async fn testnet_enrollments_bind_on_testnet() {
    let app = spawn_sqlite().await;
    let user = User::on(service_kit::bitcoin::Network::Testnet);
    let squatter = squatter_of(&user);
    assert_eq!(app.request_bucket(&squatter).await.0, 200);
    let nonce = app.nonce(&user).await;
    let (status, body) = app
        .put(&user, &random_key(), &user.enrollment(), &nonce)
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(app.put(&squatter, &random_key(), "x", &nonce).await.0, 403);
    assert_eq!(app.put(&user, &random_key(), "y", &nonce).await.0, 201);
}
