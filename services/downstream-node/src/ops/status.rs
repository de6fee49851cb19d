//! Farmer statistics: a list, one farmer, the totals; one shape, one meaning, for all.

use chrono::{DateTime, SecondsFormat};
use serde::Serialize;

use crate::app::AppState;
use crate::db::tokens::{self, TokenRow};
use crate::domain::uptime::round2;
use crate::domain::{FarmerId, ListQuery};
use crate::error::Error;
use crate::geoip::Location;

#[derive(Debug, Clone, Serialize)]
pub struct FarmerStatus {
    pub id: String,
    pub address: String,
    pub location: Option<Location>,
    pub heartbeats: i64,
    /// Online contracts and their bytes (the original's list meaning, now also in show).
    pub contracts: i64,
    pub size: i64,
    pub online: bool,
    /// Percent of the time since the first contract, two decimals, as of the last refresh.
    pub uptime: f64,
    /// RFC 3339, or null before the first contract.
    pub last_due: Option<String>,
}

impl From<TokenRow> for FarmerStatus {
    fn from(row: TokenRow) -> Self {
        Self {
            location: row
                .location
                .as_deref()
                .and_then(|text| serde_json::from_str(text).ok()),
            last_due: row
                .last_due
                .and_then(DateTime::from_timestamp_millis)
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
            id: row.farmer_id,
            address: row.address,
            heartbeats: row.hbcount,
            contracts: row.online_contracts,
            size: row.online_size,
            online: row.online,
            uptime: round2(row.uptime),
        }
    }
}

/// `{"farmers": [...], "total": n}`: `farmers` is the original's shape; `total` (added) is
/// how many farmers the query pages over (after the online filter, before paging).
#[derive(Debug, Serialize)]
pub struct FarmerList {
    pub farmers: Vec<FarmerStatus>,
    pub total: i64,
}

pub async fn list(state: &AppState, query: ListQuery) -> Result<FarmerList, Error> {
    let (rows, total) = state
        .db
        .run(move |conn| {
            let rows = tokens::list(conn, &query)?;
            let total = tokens::count(conn, query.online_only)?;
            Ok::<_, Error>((rows, total))
        })
        .await?;
    Ok(FarmerList {
        farmers: rows.into_iter().map(FarmerStatus::from).collect(),
        total,
    })
}

/// `/status/summary`: totals over every farmer. `contracts`/`size` are online contracts and
/// their bytes (the list's meaning); `uptime` is the mean percentage over all farmers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub farmers: i64,
    pub online_farmers: i64,
    pub contracts: i64,
    pub size: i64,
    pub uptime: f64,
}

pub async fn summary(state: &AppState) -> Result<Summary, Error> {
    let totals = state
        .db
        .run(|conn| Ok::<_, Error>(tokens::totals(conn)?))
        .await?;
    Ok(Summary {
        farmers: totals.farmers,
        online_farmers: totals.online_farmers,
        contracts: totals.contracts,
        size: totals.size,
        uptime: round2(totals.uptime),
    })
}

pub async fn show(state: &AppState, farmer_id: &str) -> Result<FarmerStatus, Error> {
    let id = FarmerId::parse(farmer_id).ok_or(Error::FarmerNotFound)?;
    let row = state
        .db
        .run(move |conn| Ok::<_, Error>(tokens::find_by_farmer_id(conn, id.as_str())?))
        .await?;
    row.map(FarmerStatus::from).ok_or(Error::FarmerNotFound)
}
