//! Causeway over HTTP: the real server on port 0, a fresh database per test, ledger-sim's
//! Bitcoin Core. Tests that count (quotas, payments, the python-rein flow) run on SQLite,
//! PostgreSQL and MariaDB (TEST_POSTGRES_URL / TEST_MYSQL_URL).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod batches;
mod bitcoin;
mod buckets;
mod cluster;
mod disk_full;
mod endless_body;
mod enrollment;
mod flow;
mod helpers;
mod info;
mod kv;
mod nonce;
mod openapi;
mod outage;
mod payments;
mod query;
mod quota;
mod read_cache;
mod schema;
mod signatures;
mod transfer;
