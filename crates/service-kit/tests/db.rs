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
