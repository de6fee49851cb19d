//! Size limits answer 413 and leave nothing behind.

use crate::helpers::*;

#[actix_web::test]
async fn tails_over_the_limit_is_413_and_leaves_nothing() {
    let app = spawn_app_with(|s| s.max_tails_size = 2 + 128 * 11).await;
    let tails = tails_file(50);
    let id = app.register("big", 50, &tails);
    let (status, body) = answer(app.upload(&id, &tails).await).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("limit"), "{body}");

    let hash = tails_hash(&tails);
    let response = put_multipart(
        &app.client,
        &format!("{}/hash/{hash}", app.url),
        &[tails_part(&tails)],
    )
    .await;
    assert_eq!(response.status(), 413);

    assert!(app.stored_files().is_empty());
    eventually("temp files removed", || app.temp_files() == 0).await;

    // At the limit is fine.
    let fits = tails_file(5);
    let id = app.register("fits", 5, &fits);
    assert_eq!(answer(app.upload(&id, &fits).await).await.0, 200);
}

#[actix_web::test]
async fn genesis_over_its_limit_is_413() {
    let app = spawn_app_with(|s| s.max_genesis_size = 1024).await;
    let tails = tails_file(5);
    let id = app.register("g", 5, &tails);
    let (status, body) = answer(app.upload(&id, &tails).await).await;
    assert_eq!(status, 413, "{body}");
    assert!(app.stored_files().is_empty());
}

#[actix_web::test]
async fn default_limit_admits_acapys_largest_file() {
    let app = spawn_app().await;
    let tails = tails_file(32_768);
    assert_eq!(tails.len(), 8_388_738);
    let id = app.register("max", 32_768, &tails);
    assert_eq!(
        answer(app.upload(&id, &tails).await).await,
        (200, tails_hash(&tails))
    );
}
