//! The `/status/list...` path grammar:
//! `list/[<limit>[/<page>]]`, `list[/online][/by[/d]/<sortby>][/<limit>[/<page>]]`.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Id,
    Address,
    Uptime,
    Heartbeats,
    Contracts,
    Size,
    Online,
}

impl SortKey {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "id" => SortKey::Id,
            "address" => SortKey::Address,
            "uptime" => SortKey::Uptime,
            "heartbeats" => SortKey::Heartbeats,
            "contracts" => SortKey::Contracts,
            "size" => SortKey::Size,
            "online" => SortKey::Online,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListQuery {
    pub online_only: bool,
    pub sort: SortKey,
    pub descending: bool,
    pub limit: Option<i64>,
    pub page: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListQueryError {
    InvalidSort,
    /// The path does not match any list route.
    NoRoute,
}

/// Largest page size; a dashboard asking for everything gets this many.
pub const MAX_LIMIT: i64 = 10_000;

impl ListQuery {
    /// Parses the segments after `status/list` (empty segments from trailing slashes ignored).
    pub fn parse(tail: &str) -> Result<Self, ListQueryError> {
        let mut segments = tail.split('/').filter(|s| !s.is_empty()).peekable();
        let mut query = ListQuery {
            online_only: false,
            sort: SortKey::Id,
            descending: false,
            limit: None,
            page: 0,
        };
        if segments.peek() == Some(&"online") {
            query.online_only = true;
            segments.next();
        }
        if segments.peek() == Some(&"by") {
            segments.next();
            if segments.peek() == Some(&"d") {
                query.descending = true;
                segments.next();
            }
            let sort = segments.next().ok_or(ListQueryError::NoRoute)?;
            query.sort = SortKey::parse(sort).ok_or(ListQueryError::InvalidSort)?;
        }
        if let Some(limit) = segments.next() {
            let limit: i64 = limit.parse().map_err(|_| ListQueryError::NoRoute)?;
            query.limit = Some(limit.clamp(0, MAX_LIMIT));
        }
        if let Some(page) = segments.next() {
            query.page = page
                .parse::<i64>()
                .map_err(|_| ListQueryError::NoRoute)?
                .max(0);
        }
        if segments.next().is_some() {
            return Err(ListQueryError::NoRoute);
        }
        Ok(query)
    }

    /// Saturating on purpose: a page beyond any table is an empty page.
    pub fn offset(&self) -> i64 {
        self.limit.unwrap_or(0).saturating_mul(self.page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        let q = ListQuery::parse("/").unwrap();
        assert_eq!(
            (q.sort, q.descending, q.limit, q.online_only),
            (SortKey::Id, false, None, false)
        );
        let q = ListQuery::parse("/online/by/d/uptime/25/2").unwrap();
        assert!(q.online_only && q.descending);
        assert_eq!(
            (q.sort, q.limit, q.page, q.offset()),
            (SortKey::Uptime, Some(25), 2, 50)
        );
        let q = ListQuery::parse("/10").unwrap();
        assert_eq!((q.limit, q.offset()), (Some(10), 0));
        let q = ListQuery::parse("/by/size/").unwrap();
        assert_eq!((q.sort, q.descending), (SortKey::Size, false));
        assert_eq!(
            ListQuery::parse("/by/d/bogus"),
            Err(ListQueryError::InvalidSort)
        );
        assert_eq!(ListQuery::parse("/by"), Err(ListQueryError::NoRoute));
        assert_eq!(ListQuery::parse("/ten"), Err(ListQueryError::NoRoute));
        assert_eq!(ListQuery::parse("/1/2/3"), Err(ListQueryError::NoRoute));
    }
}
