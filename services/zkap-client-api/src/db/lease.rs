//! Finished lease-maintenance runs.

use diesel::prelude::*;
use service_kit::db::DbConnection;
use service_kit::db::column::{read, write};

use super::schema::lease_maintenance_runs as runs;
use crate::domain::lease::Spending;

#[derive(Insertable)]
#[diesel(table_name = runs)]
struct NewRun {
    finished: i64,
    pass_count: i64,
}

pub fn record(conn: &mut DbConnection, spending: Spending) -> QueryResult<()> {
    diesel::insert_into(runs::table)
        .values(&NewRun {
            finished: spending.when,
            pass_count: write("lease_maintenance_runs.pass_count", spending.count)?,
        })
        .execute(conn)?;
    Ok(())
}

pub fn latest(conn: &mut DbConnection) -> QueryResult<Option<Spending>> {
    runs::table
        .order((runs::finished.desc(), runs::id.desc()))
        .select((runs::finished, runs::pass_count))
        .first::<(i64, i64)>(conn)
        .optional()?
        .map(|(when, count)| {
            Ok(Spending {
                when,
                count: read("lease_maintenance_runs.pass_count", count)?,
            })
        })
        .transpose()
}
