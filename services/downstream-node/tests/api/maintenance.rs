//! Upkeep without an operator: expired contracts stop counting against
//! `--max-size-per-address` at once, `cleandb` runs inside the service on a timer, and of
//! several replicas on one database one cleans at a time (and a race stays correct).

use std::time::{Duration, Instant};

use diesel::prelude::*;
use downstream_node::db::lock::{self, Upkeep};
use downstream_node::db::schema::{addresses, contracts};
use downstream_node::db::stats::CACHE_GRACE;
use downstream_node::ops::maintenance;
use service_kit::db::{Backend, Database, DbError, PoolOptions};

use crate::helpers::*;

/// The interval the tests run with: a contract not answered expires this long after issue.
const INTERVAL_MILLIS: i64 = 300_000;

async fn contract_count(app: &TestApp) -> i64 {
    app.db()
        .run(|conn| {
            contracts::table
                .count()
                .get_result::<i64>(conn)
                .map_err(DbError::from)
        })
        .await
        .unwrap()
}

async fn allocations(app: &TestApp) -> Vec<i64> {
    app.db()
        .run(|conn| {
            addresses::table
                .order(addresses::id)
                .select(addresses::allocated_bytes)
                .load::<i64>(conn)
                .map_err(DbError::from)
        })
        .await
        .unwrap()
}

async fn sizes(app: &TestApp, token: &str, size: u64) -> Vec<u64> {
    let (status, body) = app.get(&format!("/chunk/{token}/{size}")).await;
    assert_eq!(status, 200, "{body}");
    chunk_sizes(&body)
}

async fn expired_contracts_free_the_cap(url: String) {
    // No scheduled cleandb, and no statistics sweep after the one at start.
    let app = spawn_app_with(url, |s| {
        s.max_size_per_address = 100_000;
        s.max_chunk_size = 50_000;
        s.cleandb_interval = 0;
        s.stats_interval = 3600;
    })
    .await;
    let token = app.register(&Identity::new(81)).await;
    assert_eq!(sizes(&app, &token, 100_000).await, vec![50_000, 50_000]);
    assert!(sizes(&app, &token, 100_000).await.is_empty(), "at the cap");

    // Just before expiry the contracts still count; once expired they do not, although
    // nobody ran cleandb and the rows are still there.
    app.travel(INTERVAL_MILLIS - 5_000).await;
    assert!(sizes(&app, &token, 100_000).await.is_empty());
    app.travel(5_001).await;
    assert_eq!(sizes(&app, &token, 100_000).await, vec![50_000, 50_000]);
    assert_eq!(contract_count(&app).await, 4);
    assert_eq!(allocations(&app).await, vec![100_000]);
    assert!(
        sizes(&app, &token, 1).await.is_empty(),
        "the new ones count"
    );

    // Another token of the same address sees the same room; the sweep (not /chunk) giving
    // the bytes back leaves the same allocation.
    let second = app.register(&Identity::new(81)).await;
    assert!(sizes(&app, &second, 1).await.is_empty());
    app.travel(INTERVAL_MILLIS).await;
    app.sweep().await;
    assert_eq!(allocations(&app).await, vec![0]);
    assert_eq!(sizes(&app, &second, 100_000).await, vec![50_000, 50_000]);
    assert_eq!(allocations(&app).await, vec![100_000]);
}

service_kit::backend_tests!(cap_after_expiry, expired_contracts_free_the_cap);

async fn cleandb_runs_on_its_own(url: String) {
    let app = spawn_app_with(url, |s| s.cleandb_interval = 1).await;
    let token = app.register(&Identity::new(82)).await;
    assert_eq!(sizes(&app, &token, 3_000).await, vec![3_000]);
    app.travel(INTERVAL_MILLIS + CACHE_GRACE + 1_000).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while contract_count(&app).await > 0 {
        assert!(
            Instant::now() < deadline,
            "the scheduled cleandb did not delete the expired contract"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(allocations(&app).await, vec![0]);
}

service_kit::backend_tests!(scheduled_cleandb, cleandb_runs_on_its_own);

/// Two replicas on one database: while one holds the cleandb lock the other skips; run
/// together, they delete every expired contract once and release every byte once.
async fn replicas_clean_one_at_a_time(url: String) {
    let backend = if url.starts_with("postgres") {
        Backend::Postgres
    } else if url.starts_with("mysql") {
        Backend::Mysql
    } else {
        Backend::Sqlite
    };
    let quiet = |s: &mut downstream_node::settings::Settings| {
        s.cleandb_interval = 0;
        s.stats_interval = 3600;
        s.max_tokens_per_ip = 100;
    };
    let first = spawn_app_with(url.clone(), quiet).await;
    let second = spawn_app_with(url.clone(), quiet).await;
    let mut tokens = Vec::new();
    for seed in 0..6u8 {
        let app = if seed % 2 == 0 { &first } else { &second };
        let token = app.register(&Identity::new(90 + seed)).await;
        assert_eq!(sizes(app, &token, 4_000).await, vec![4_000]);
        tokens.push(token);
    }
    assert_eq!(allocations(&first).await, vec![4_000; 6]);
    first.travel(INTERVAL_MILLIS + CACHE_GRACE + 1_000).await;

    // Another session holds the lock: a replica's scheduled run does nothing.
    let holder = Database::connect(
        &url,
        PoolOptions {
            max_size: 1,
            ..PoolOptions::default()
        },
    )
    .unwrap();
    let taken = holder
        .run(|conn| lock::try_lock(conn, Upkeep::Cleandb).map_err(DbError::from))
        .await
        .unwrap();
    assert!(taken);
    let outcome = maintenance::cleandb_exclusive(first.db()).await.unwrap();
    if backend == Backend::Sqlite {
        // One writer per file: no lock needed, and the run is safe beside any other.
        assert_eq!(outcome, Some(6));
        return;
    }
    assert_eq!(outcome, None, "ran while another replica held the lock");
    assert_eq!(contract_count(&first).await, 6);
    assert_eq!(allocations(&first).await, vec![4_000; 6]);
    holder
        .run(|conn| lock::unlock(conn, Upkeep::Cleandb).map_err(DbError::from))
        .await
        .unwrap();

    // Both at once, plus both statistics sweeps: every contract deleted once, every byte
    // released once (no address below zero), and the lock free again afterwards.
    let (a, b, _, _) = tokio::join!(
        maintenance::cleandb_exclusive(first.db()),
        maintenance::cleandb_exclusive(second.db()),
        maintenance::sweep(first.db()),
        maintenance::sweep(second.db()),
    );
    let deleted = a.unwrap().unwrap_or(0) + b.unwrap().unwrap_or(0);
    assert_eq!(deleted, 6);
    assert_eq!(contract_count(&first).await, 0);
    assert_eq!(allocations(&first).await, vec![0; 6]);
    assert_eq!(
        maintenance::cleandb_exclusive(second.db()).await.unwrap(),
        Some(0)
    );
    // The farmers farm on.
    assert_eq!(sizes(&second, &tokens[0], 4_000).await, vec![4_000]);
}

service_kit::backend_tests!(replicas_cleandb, replicas_clean_one_at_a_time);

/// Sweeps racing on two replicas and `/chunk` of the same address take each expired contract
/// offline once: the allocation ends at exactly what is online.
async fn racing_expiry_counts_once(url: String) {
    let quiet = |s: &mut downstream_node::settings::Settings| {
        s.cleandb_interval = 0;
        s.stats_interval = 3600;
        s.max_size_per_address = 40_000;
        s.max_chunk_size = 1_000;
        s.max_chunks_per_request = 40;
    };
    let first = spawn_app_with(url.clone(), quiet).await;
    let second = spawn_app_with(url, quiet).await;
    let farmer = Identity::new(99);
    let token = first.register(&farmer).await;
    assert_eq!(sizes(&first, &token, 40_000).await.len(), 40);
    first.travel(INTERVAL_MILLIS).await;
    let path = format!("/chunk/{token}/10000");
    let (_, _, one, two) = tokio::join!(
        maintenance::sweep(first.db()),
        maintenance::sweep(second.db()),
        first.get(&path),
        second.get(&path),
    );
    let handed: u64 = [one, two]
        .iter()
        .flat_map(|(_, body)| body["chunks"].as_array().unwrap().clone())
        .map(|c| c["size"].as_u64().unwrap())
        .sum();
    assert_eq!(handed, 20_000);
    assert_eq!(allocations(&first).await, vec![20_000]);
    let online = first
        .db()
        .run(|conn| downstream_node::db::tokens::totals(conn).map_err(DbError::from))
        .await
        .unwrap();
    assert_eq!((online.contracts, online.size), (20, 20_000));
}

service_kit::backend_tests!(racing_expiry, racing_expiry_counts_once);
