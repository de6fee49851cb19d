//! Hand-written SQL that diesel prepares once per connection and reuses. `sql_query`,
//! diesel's `UPDATE` and, through the multi-backend connection, any query with `.limit(n)`
//! are never cached, so PostgreSQL parses and plans them on every call and SQLite parses
//! them: for the statements of a hot path (causeway's `/get` and `/put`, downstream-node's
//! answers) that costs more than running them.

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Array, BigInt, Binary, Bool, HasSqlType, Text};
use diesel::{QueryResult, RunQueryDsl};

/// One bind parameter.
#[derive(Debug, Clone, Copy)]
pub enum Bind<'a> {
    Int(i64),
    Text(&'a str),
    Bool(bool),
    Bytes(&'a [u8]),
}

/// A bind parameter only PostgreSQL takes: one of [`Bind`], or an array. Arrays travel in
/// PostgreSQL's binary format, so many rows fit one parameter that the server does not parse
/// (as JSON, PostgreSQL 15 parses an 8 KiB value character by character).
#[derive(Debug, Clone, Copy)]
pub enum PgBind<'a> {
    One(Bind<'a>),
    Texts(&'a [&'a str]),
    Ints(&'a [i64]),
    Bools(&'a [bool]),
    Blobs(&'a [&'a [u8]]),
}

/// `sql` with a `?` for each bind, in order (written `?` for every backend; diesel puts
/// `$n` for PostgreSQL). Rows have the SQL types `ST`. With [`PgBind`]s (`B`) it runs on a
/// `PgConnection` only.
#[derive(Debug, Clone, Copy)]
pub struct Statement<'a, ST = (), B = Bind<'a>> {
    sql: &'a str,
    binds: &'a [B],
    rows: PhantomData<ST>,
}

impl<'a, ST, B> Statement<'a, ST, B> {
    pub fn new(sql: &'a str, binds: &'a [B]) -> Self {
        Self {
            sql,
            binds,
            rows: PhantomData,
        }
    }

    /// The SQL between the binds, each bind pushed by `push`.
    fn walk<'b, DB: Backend>(
        &'b self,
        out: &mut AstPass<'_, 'b, DB>,
        mut push: impl FnMut(&mut AstPass<'_, 'b, DB>, &'b B) -> QueryResult<()>,
    ) -> QueryResult<()> {
        let mut pieces = self.sql.split('?');
        if let Some(first) = pieces.next() {
            out.push_sql(first);
        }
        let mut binds = self.binds.iter();
        for piece in pieces {
            let bind = binds.next().ok_or_else(|| {
                diesel::result::Error::QueryBuilderError("fewer binds than placeholders".into())
            })?;
            push(out, bind)?;
            out.push_sql(piece);
        }
        Ok(())
    }
}

impl<ST, B> QueryId for Statement<'_, ST, B> {
    type QueryId = ();
    // Cached by its SQL text, which is the same on every call.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST: 'static, B> Query for Statement<'_, ST, B> {
    type SqlType = ST;
}

impl<ST, DB> QueryFragment<DB> for Statement<'_, ST>
where
    DB: Backend + HasSqlType<BigInt> + HasSqlType<Text> + HasSqlType<Bool> + HasSqlType<Binary>,
    i64: ToSql<BigInt, DB>,
    str: ToSql<Text, DB>,
    bool: ToSql<Bool, DB>,
    [u8]: ToSql<Binary, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.walk(&mut out, push_bind)
    }
}

impl<ST> QueryFragment<Pg> for Statement<'_, ST, PgBind<'_>> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.walk(&mut out, |out, bind| match bind {
            PgBind::One(bind) => push_bind(out, bind),
            PgBind::Texts(values) => out.push_bind_param::<Array<Text>, [&str]>(values),
            PgBind::Ints(values) => out.push_bind_param::<Array<BigInt>, [i64]>(values),
            PgBind::Bools(values) => out.push_bind_param::<Array<Bool>, [bool]>(values),
            PgBind::Blobs(values) => out.push_bind_param::<Array<Binary>, [&[u8]]>(values),
        })
    }
}

fn push_bind<'b, DB>(out: &mut AstPass<'_, 'b, DB>, bind: &'b Bind<'_>) -> QueryResult<()>
where
    DB: Backend + HasSqlType<BigInt> + HasSqlType<Text> + HasSqlType<Bool> + HasSqlType<Binary>,
    i64: ToSql<BigInt, DB>,
    str: ToSql<Text, DB>,
    bool: ToSql<Bool, DB>,
    [u8]: ToSql<Binary, DB>,
{
    match bind {
        Bind::Int(value) => out.push_bind_param::<BigInt, i64>(value),
        Bind::Text(value) => out.push_bind_param::<Text, str>(value),
        Bind::Bool(value) => out.push_bind_param::<Bool, bool>(value),
        Bind::Bytes(value) => out.push_bind_param::<Binary, [u8]>(value),
    }
}

impl<ST, B, Conn> RunQueryDsl<Conn> for Statement<'_, ST, B> {}

/// `rows` with the last repeated up to the next power of two. A statement whose text grows
/// with its rows (`IN (?, …)`, `VALUES (…), (…)`) then takes at most seven shapes up to 64
/// rows, and diesel prepares each shape once per connection instead of one per row count.
/// Only for rows that a repeat changes nothing for (a key looked up twice, a row locked
/// twice).
pub fn padded<T: Clone>(rows: &[T]) -> Vec<T> {
    let mut padded = rows.to_vec();
    if let Some(last) = rows.last() {
        padded.resize(rows.len().next_power_of_two(), last.clone());
    }
    padded
}

#[cfg(test)]
mod tests {
    use super::padded;

    #[test]
    fn padding_repeats_the_last_row_up_to_a_power_of_two() {
        assert!(padded::<u8>(&[]).is_empty());
        assert_eq!(padded(&[1]), [1]);
        assert_eq!(padded(&[1, 2, 3]), [1, 2, 3, 3]);
        assert_eq!(padded(&[1, 2, 3, 4, 5]), [1, 2, 3, 4, 5, 5, 5, 5]);
        assert_eq!(padded(&[0; 64]).len(), 64);
    }
}
