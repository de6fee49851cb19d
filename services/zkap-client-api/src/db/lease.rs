//! Finished lease-maintenance runs.

use diesel::prelude::*;
use service_kit::db::DbConnection;

use super::schema::lease_maintenance_runs as runs;
use crate::domain::time::Micros;
use crate::error::ApiError;

/// One finished run: when it ended and how many passes renewing everything seen needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable)]
pub struct Spending {
    pub when: Micros,
    pub count: i64,
}

pub fn record(conn: &mut DbConnection, spending: Spending) -> Result<(), ApiError> {
    diesel::insert_into(runs::table)
        .values((
            runs::finished.eq(spending.when),
            runs::pass_count.eq(spending.count),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn latest(conn: &mut DbConnection) -> Result<Option<Spending>, ApiError> {
    Ok(runs::table
        .order((runs::finished.desc(), runs::id.desc()))
        .select((runs::finished, runs::pass_count))
        .first::<Spending>(conn)
        .optional()?)
}
