#![allow(clippy::unwrap_used, clippy::expect_used)]

mod acapy;
mod cluster;
mod concurrency;
mod disk_full;
mod download;
mod endless_body;
mod hash;
mod health;
mod helpers;
mod ledger;
mod limits;
mod logging;
mod openapi;
mod processes;
mod traversal;
mod upload;
