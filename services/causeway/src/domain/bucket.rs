use serde::Serialize;

use super::time::format_timestamp;

/// The size of a new bucket, from the settings.
#[derive(Debug, Clone, Copy)]
pub struct BucketTerms {
    pub bytes: i64,
    pub transfer_bytes: i64,
    pub term_days: i64,
}

/// A bucket as stored.
#[derive(Debug, Clone, PartialEq, Eq, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = crate::db::schema::buckets)]
pub struct Bucket {
    pub id: i64,
    pub owner: String,
    pub free: bool,
    pub created_at: i64,
    pub expires_at: i64,
    pub bytes_total: i64,
    pub bytes_used: i64,
    pub transfer_total: i64,
    pub transfer_used: i64,
    pub price_sats: i64,
}

/// A bucket as python-rein reads it (`id`, `created`, `bytes_free` as a string), plus what
/// the original did not report.
#[derive(Debug, Clone, Serialize)]
pub struct BucketView {
    pub id: i64,
    pub created: String,
    pub bytes_free: String,
    pub expires: String,
    pub transfer_free: String,
    pub free: bool,
    pub expired: bool,
}

impl Bucket {
    pub fn view(&self, now: i64) -> BucketView {
        BucketView {
            id: self.id,
            created: format_timestamp(self.created_at),
            bytes_free: (self.bytes_total - self.bytes_used).max(0).to_string(),
            expires: format_timestamp(self.expires_at),
            transfer_free: (self.transfer_total - self.transfer_used)
                .max(0)
                .to_string(),
            free: self.free,
            expired: self.expires_at <= now,
        }
    }
}
