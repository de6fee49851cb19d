//! Farmer tokens with their maintained statistics.

use diesel::prelude::*;
use service_kit::db::{Backend, DbConnection};

use super::schema::tokens;
use crate::domain::{ListQuery, Millis, SortKey, Uptime};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tokens)]
pub struct TokenRow {
    pub id: i64,
    pub token: String,
    pub farmer_id: String,
    pub address_id: i64,
    pub address: String,
    pub ip_address: String,
    pub location: Option<String>,
    pub hbcount: i64,
    pub online_contracts: i64,
    pub online_size: i64,
    pub online: bool,
    pub uptime: f64,
    pub first_start: Option<i64>,
    pub upsum_closed: i64,
    pub seg_start: Option<i64>,
    pub seg_end: Option<i64>,
    pub last_due: Option<i64>,
}

impl TokenRow {
    pub fn uptime_state(&self) -> Uptime {
        Uptime {
            first_start: self.first_start,
            closed: self.upsum_closed,
            seg_start: self.seg_start,
            seg_end: self.seg_end,
        }
    }

    pub fn set_uptime_state(&mut self, state: Uptime, now: Millis) {
        self.first_start = state.first_start;
        self.upsum_closed = state.closed;
        self.seg_start = state.seg_start;
        self.seg_end = state.seg_end;
        self.uptime = state.percent(now);
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = tokens)]
pub struct NewToken<'a> {
    pub token: &'a str,
    pub farmer_id: &'a str,
    pub address_id: i64,
    pub address: &'a str,
    pub ip_address: &'a str,
    pub location: Option<&'a str>,
    pub message: &'a str,
    pub signature: &'a str,
    pub created_at: i64,
    pub hbcount: i64,
    pub online_contracts: i64,
    pub online_size: i64,
    pub online: bool,
    pub uptime: f64,
    pub upsum_closed: i64,
}

pub fn insert(conn: &mut DbConnection, new: &NewToken<'_>) -> QueryResult<()> {
    diesel::insert_into(tokens::table)
        .values(new)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, token: &str) -> QueryResult<Option<TokenRow>> {
    tokens::table
        .filter(tokens::token.eq(token))
        .select(TokenRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_farmer_id(
    conn: &mut DbConnection,
    farmer_id: &str,
) -> QueryResult<Option<TokenRow>> {
    tokens::table
        .filter(tokens::farmer_id.eq(farmer_id))
        .select(TokenRow::as_select())
        .first(conn)
        .optional()
}

/// The token's row, locked until the transaction ends, so that reading its statistics and
/// writing them back is not interleaved with another writer of the same token. SQLite needs
/// no row lock: the file's one writer runs the whole write.
pub fn find_locked(conn: &mut DbConnection, id: i64) -> QueryResult<Option<TokenRow>> {
    // One query per backend: diesel has no `FOR UPDATE` for the multi-backend connection.
    let row = tokens::table.find(id);
    match conn {
        DbConnection::Sqlite(conn) => row.select(TokenRow::as_select()).first(conn),
        DbConnection::Postgresql(conn) => {
            let locked = row.select(TokenRow::as_select()).for_update();
            locked.first(conn)
        }
        DbConnection::Mysql(conn) => {
            let locked = row.select(TokenRow::as_select()).for_update();
            locked.first(conn)
        }
    }
    .optional()
}

pub fn count_by_ip(conn: &mut DbConnection, ip: &str) -> QueryResult<i64> {
    tokens::table
        .filter(tokens::ip_address.eq(ip))
        .count()
        .get_result(conn)
}

pub fn set_ip(
    conn: &mut DbConnection,
    id: i64,
    ip: &str,
    location: Option<&str>,
) -> QueryResult<()> {
    diesel::update(tokens::table.find(id))
        .set((tokens::ip_address.eq(ip), tokens::location.eq(location)))
        .execute(conn)?;
    Ok(())
}

/// Writes back the statistics of `row`.
pub fn save_stats(conn: &mut DbConnection, row: &TokenRow) -> QueryResult<()> {
    diesel::update(tokens::table.find(row.id))
        .set((
            tokens::hbcount.eq(row.hbcount),
            tokens::online_contracts.eq(row.online_contracts),
            tokens::online_size.eq(row.online_size),
            tokens::online.eq(row.online),
            tokens::uptime.eq(row.uptime),
            tokens::first_start.eq(row.first_start),
            tokens::upsum_closed.eq(row.upsum_closed),
            tokens::seg_start.eq(row.seg_start),
            tokens::seg_end.eq(row.seg_end),
            tokens::last_due.eq(row.last_due),
        ))
        .execute(conn)?;
    Ok(())
}

/// One indexed read: the online filter before paging, ties broken by farmer id in the
/// direction of the sort (so one index serves both directions).
pub fn list(conn: &mut DbConnection, query: &ListQuery) -> QueryResult<Vec<TokenRow>> {
    let mut select = tokens::table.select(TokenRow::as_select()).into_boxed();
    if query.online_only {
        select = select.filter(tokens::online.eq(true));
    }
    macro_rules! by {
        ($column:expr) => {
            if query.descending {
                select.order(($column.desc(), tokens::farmer_id.desc()))
            } else {
                select.order(($column.asc(), tokens::farmer_id.asc()))
            }
        };
    }
    select = match query.sort {
        SortKey::Id => {
            if query.descending {
                select.order(tokens::farmer_id.desc())
            } else {
                select.order(tokens::farmer_id.asc())
            }
        }
        SortKey::Address => by!(tokens::address),
        SortKey::Uptime => by!(tokens::uptime),
        SortKey::Heartbeats => by!(tokens::hbcount),
        SortKey::Contracts => by!(tokens::online_contracts),
        SortKey::Size => by!(tokens::online_size),
        SortKey::Online => by!(tokens::online),
    };
    if let Some(limit) = query.limit {
        select = select.limit(limit).offset(query.offset());
    } else {
        select = select.limit(crate::domain::listing::MAX_LIMIT);
    }
    select.load(conn)
}

/// How many farmers a list query pages over (its online filter, no paging): what the
/// `total` of a list reports. Served by the `tokens_by_online` index when filtered.
pub fn count(conn: &mut DbConnection, online_only: bool) -> QueryResult<i64> {
    let mut select = tokens::table.count().into_boxed();
    if online_only {
        select = select.filter(tokens::online.eq(true));
    }
    select.get_result(conn)
}

/// Totals over every farmer, from the maintained counters (no join with contracts).
#[derive(Debug, Clone, Copy, PartialEq, QueryableByName)]
pub struct Totals {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub farmers: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub online_farmers: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub contracts: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub size: i64,
    #[diesel(sql_type = diesel::sql_types::Double)]
    pub uptime: f64,
}

/// One aggregate query over `tokens`. `SUM` of a BIGINT is NUMERIC on PostgreSQL and
/// DECIMAL on MySQL, so the sums are cast back to the backend's 64-bit integer.
pub fn totals(conn: &mut DbConnection) -> QueryResult<Totals> {
    let integer = match conn.backend() {
        Backend::Sqlite => "INTEGER",
        Backend::Postgres => "BIGINT",
        Backend::Mysql => "SIGNED",
    };
    let sql = format!(
        "SELECT COUNT(*) AS farmers, \
         COUNT(CASE WHEN online THEN 1 END) AS online_farmers, \
         CAST(COALESCE(SUM(online_contracts), 0) AS {integer}) AS contracts, \
         CAST(COALESCE(SUM(online_size), 0) AS {integer}) AS size, \
         COALESCE(AVG(uptime), 0.0) AS uptime \
         FROM tokens"
    );
    diesel::sql_query(sql).get_result(conn)
}
