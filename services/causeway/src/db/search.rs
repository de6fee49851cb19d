//! `LIKE` searches over stored documents for `/query`.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use service_kit::db::{Backend, DbConnection};

use super::schema::documents;

diesel::define_sql_function!(fn lower(x: Text) -> Text);

/// A `LIKE` pattern whose user-supplied parts went through [`escape`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// Case-sensitive.
    Like(String),
    /// Case-insensitive (the original's `ILIKE`), as `lower(value) LIKE lower(pattern)`,
    /// which every backend understands.
    ILike(String),
}

/// Makes user input match literally: `%` and `_` are wildcards, `\` the escape character.
pub fn escape(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Documents matching every pattern (and `testnet`, when given), ordered by key.
pub fn find(
    conn: &mut DbConnection,
    patterns: &[Pattern],
    testnet: Option<bool>,
    limit: i64,
) -> QueryResult<Vec<(String, String)>> {
    if conn.backend() == Backend::Sqlite {
        // SQLite's LIKE ignores ASCII case unless told otherwise; the pragma is per connection.
        conn.batch_execute("PRAGMA case_sensitive_like = ON")?;
    }
    let mut query = documents::table
        .select((documents::doc_key, documents::value))
        .into_boxed();
    for pattern in patterns {
        query = match pattern {
            Pattern::Like(p) => query.filter(documents::value.like(p.clone()).escape('\\')),
            Pattern::ILike(p) => {
                query.filter(lower(documents::value).like(p.to_lowercase()).escape('\\'))
            }
        };
    }
    if let Some(testnet) = testnet {
        query = query.filter(documents::testnet.eq(testnet));
    }
    query
        .order(documents::doc_key.asc())
        .limit(limit)
        .load(conn)
}

#[cfg(test)]
mod tests {
    #[test]
    fn wildcards_are_escaped() {
        assert_eq!(super::escape(r"50%_a\b"), r"50\%\_a\\b");
    }
}
