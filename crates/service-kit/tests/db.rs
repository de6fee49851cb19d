//! The database layer on every configured backend: migrations, pool, blocking runner,
//! transactions, and the errors a service sees.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use diesel::prelude::*;
use diesel_migrations::embed_migrations;
use service_kit::db::{Database, DbConnection, DbError, Migrations, PoolOptions};

diesel::table! {
    notes (id) {
        id -> BigInt,
        owner -> Text,
        body -> Text,
    }
}

const MIGRATIONS: Migrations = Migrations {
    service: "service-kit-test",
    sqlite: embed_migrations!("tests/migrations/sqlite"),
    postgres: embed_migrations!("tests/migrations/postgres"),
    mysql: embed_migrations!("tests/migrations/mysql"),
};

#[derive(Debug, thiserror::Error)]
enum AppError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error("refused")]
    Refused,
}

fn count(conn: &mut DbConnection) -> Result<i64, AppError> {
    Ok(notes::table.count().get_result(conn)?)
}

fn insert(conn: &mut DbConnection, owner: &str, body: &str) -> Result<usize, AppError> {
    Ok(diesel::insert_into(notes::table)
        .values((notes::owner.eq(owner), notes::body.eq(body)))
        .execute(conn)?)
}

async fn migrations_pool_and_transactions(url: String) {
    let db = Database::connect(&url, PoolOptions::default()).unwrap();
    let applied = db.migrate(&MIGRATIONS).unwrap();
    assert_eq!(applied.len(), 1);
    assert!(db.migrate(&MIGRATIONS).unwrap().is_empty(), "idempotent");

    db.ping().await.unwrap();
    db.run(|conn| insert(conn, "alice", "hello")).await.unwrap();
    assert_eq!(db.run(count).await.unwrap(), 1);

    // A failed transaction leaves nothing behind.
    let failed = db
        .transaction(|conn| {
            insert(conn, "bob", "half")?;
            Err::<(), _>(AppError::Refused)
        })
        .await;
    assert!(matches!(failed, Err(AppError::Refused)));
    assert_eq!(db.run(count).await.unwrap(), 1);

    // The unique constraint is a typed error, not a panic.
    let duplicate = db.run(|conn| insert(conn, "alice", "again")).await;
    assert!(matches!(
        duplicate,
        Err(AppError::Query(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _
        )))
    ));

    // Many concurrent writers through the pool, none lost.
    let writers = (0..16).map(|i| {
        let db = db.clone();
        async move {
            db.transaction(move |conn| insert(conn, &format!("owner-{i}"), "x"))
                .await
        }
    });
    for result in futures_util::future::join_all(writers).await {
        result.unwrap();
    }
    assert_eq!(db.run(count).await.unwrap(), 17);
}

service_kit::backend_tests!(database, migrations_pool_and_transactions);

#[test]
fn unsupported_scheme_is_refused_before_connecting() {
    let err = Database::connect("redis://127.0.0.1/0", PoolOptions::default()).unwrap_err();
    assert!(matches!(err, DbError::UnsupportedScheme(s) if s == "redis"));
}

#[test]
fn unreachable_mysql_reports_the_backend_error() {
    let err =
        Database::connect("mysql://root@127.0.0.1:1/none", PoolOptions::default()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot connect to MySQL at mysql://root@127.0.0.1:1/none"),
        "{err}"
    );
}

/// A restarted database server: while it is away every call fails fast as unavailable (503 in
/// a service, never a 500); once it is back, the pool drops its dead connections and serves
/// again within seconds, and what was committed before is still there.
async fn pool_survives_a_restart(backend: service_kit::db::Backend) {
    use service_kit::db::Unavailable;
    use service_kit::testing::private_db::PrivateServer;
    use std::time::{Duration, Instant};

    let mut server = PrivateServer::start(backend).unwrap();
    let db = Database::connect(&server.url(), PoolOptions::default()).unwrap();
    db.migrate(&MIGRATIONS).unwrap();
    // Fill the pool with connections that the restart will kill.
    let busy = (0..8).map(|i| {
        let db = db.clone();
        async move {
            db.transaction(move |conn| insert(conn, &format!("before-{i}"), "x"))
                .await
        }
    });
    for result in futures_util::future::join_all(busy).await {
        result.unwrap();
    }

    server.stop().unwrap();
    // First the dead pooled connections fail their query, then the pool finds no database.
    for _ in 0..12 {
        let started = Instant::now();
        let err = db.run(count).await.unwrap_err();
        let unavailable = match &err {
            AppError::Db(err) => err.unavailable(),
            AppError::Query(err) => Unavailable::of_query(err),
            AppError::Refused => None,
        };
        assert_eq!(unavailable, Some(Unavailable::Away), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }
    server.resume().unwrap();
    recovered(&db).await;

    async fn recovered(db: &Database) {
        let resumed = Instant::now();
        loop {
            match db.run(count).await {
                Ok(n) => {
                    assert_eq!(n, 8, "committed rows survive the restart");
                    break;
                }
                Err(err) => assert!(
                    resumed.elapsed() < Duration::from_secs(10),
                    "still failing {:?} after the restart: {err}",
                    resumed.elapsed()
                ),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        eprintln!(
            "pool serving again {:?} after the restart",
            resumed.elapsed()
        );
        // Every pooled connection works again, not just one.
        let all = (0..16).map(|_| db.run(count));
        for result in futures_util::future::join_all(all).await {
            assert_eq!(result.unwrap(), 8);
        }
    }
}

mod restart {
    use super::*;

    service_kit::server_tests!(pool_survives_a_restart);
}
