//! Hand-written SQL that diesel prepares once per connection and reuses. `sql_query`,
//! diesel's `UPDATE` and, through the multi-backend connection, any query with `.limit(n)`
//! are never cached, so PostgreSQL parses and plans them on every call and SQLite parses
//! them: for the statements of a hot path (causeway's `/get` and `/put`, downstream-node's
//! answers) that costs more than running them.

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Binary, Bool, HasSqlType, Text};
use diesel::{QueryResult, RunQueryDsl};

/// One bind parameter.
#[derive(Debug, Clone, Copy)]
pub enum Bind<'a> {
    Int(i64),
    Text(&'a str),
    Bool(bool),
    Bytes(&'a [u8]),
}

/// `sql` with a `?` for each bind, in order (written `?` for every backend; diesel puts
/// `$n` for PostgreSQL). Rows have the SQL types `ST`.
#[derive(Debug, Clone, Copy)]
pub struct Statement<'a, ST = ()> {
    sql: &'a str,
    binds: &'a [Bind<'a>],
    rows: PhantomData<ST>,
}

impl<'a, ST> Statement<'a, ST> {
    pub fn new(sql: &'a str, binds: &'a [Bind<'a>]) -> Self {
        Self {
            sql,
            binds,
            rows: PhantomData,
        }
    }
}

impl<ST> QueryId for Statement<'_, ST> {
    type QueryId = ();
    // Cached by its SQL text, which is the same on every call.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST: 'static> Query for Statement<'_, ST> {
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
        let mut pieces = self.sql.split('?');
        if let Some(first) = pieces.next() {
            out.push_sql(first);
        }
        let mut binds = self.binds.iter();
        for piece in pieces {
            match binds.next() {
                Some(Bind::Int(value)) => out.push_bind_param::<BigInt, i64>(value)?,
                Some(Bind::Text(value)) => out.push_bind_param::<Text, str>(value)?,
                Some(Bind::Bool(value)) => out.push_bind_param::<Bool, bool>(value)?,
                Some(Bind::Bytes(value)) => out.push_bind_param::<Binary, [u8]>(value)?,
                None => {
                    return Err(diesel::result::Error::QueryBuilderError(
                        "fewer binds than placeholders".into(),
                    ));
                }
            }
            out.push_sql(piece);
        }
        Ok(())
    }
}

impl<ST, Conn> RunQueryDsl<Conn> for Statement<'_, ST> {}
