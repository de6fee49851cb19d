//! The real server over HTTP, on SQLite always and on PostgreSQL / MariaDB when
//! TEST_POSTGRES_URL / TEST_MYSQL_URL are set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod answer;
mod caching;
mod challenge;
mod chunk;
mod disk_full;
mod endless_body;
mod farmer_cycle;
mod geoip;
mod limits;
mod maintenance;
mod new;
mod openapi;
mod outage;
mod proxies;
mod schema;
mod status;
mod whitelist;
