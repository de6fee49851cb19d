//! `/get`'s in-process cache, on SQLite only. There the server is the only writer of its
//! database, so every change passes through an operation that tells the cache what it made
//! stale; a read served from memory skips the blocking-pool hop and the query, and its
//! value's JSON encoding is done once. PostgreSQL and MySQL are shared by replicas that
//! cannot see each other's writes: they have no cache.
//!
//! It holds documents by key and owners' transfer left, each owner's figure valid until the
//! first of its live buckets expires. A miss reads the database without holding the lock and
//! then fills the cache only if nothing was forgotten since the read began (a generation
//! counter), so a fill cannot bring back what a concurrent write just made stale. Writers
//! forget after their commit and before they answer.
//!
//! Its size is bounded (`read_cache_bytes`); when full, arbitrary entries make room.
//!
//! Another process writing the same SQLite file (a second server, a script) is noticed within
//! [`FOREIGN_CHECK`] ([`watch_foreign_writes`]) and empties the cache; until then this server
//! may serve what that process changed as it was. Run such set-ups with the cache off.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use service_kit::metrics::{Counter, Metrics};
use tokio::sync::watch;

use crate::AppState;
use crate::domain::EncodedValue;
use crate::error::Error;

/// How often the server looks for commits made by another process.
pub const FOREIGN_CHECK: Duration = Duration::from_millis(100);

/// What a cached document costs besides its key and value (map slots, the entry, the owner).
const ENTRY_OVERHEAD: usize = 160;

/// A document as `/get` serves it.
#[derive(Debug)]
pub struct Document {
    pub value: EncodedValue,
    pub owner: Arc<str>,
    pub bucket_id: i64,
}

/// An owner's transfer left in its live buckets, and until when that figure holds (the first
/// expiry among them; `i64::MAX` without any).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Room {
    pub left: i64,
    pub until: i64,
}

/// Proof of when a miss began: [`ReadCache::fill`] refuses it once anything was forgotten.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

/// What a write made stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    /// The document under this key.
    Key(String),
    /// This owner's buckets, or where its documents are.
    Owner(String),
}

impl Stale {
    pub fn forget(self, cache: &ReadCache) {
        match self {
            Stale::Key(key) => cache.forget_key(&key),
            Stale::Owner(owner) => cache.forget_owner(&owner),
        }
    }
}

pub enum Lookup {
    Hit(Arc<Document>, i64),
    Miss(Ticket),
}

pub struct ReadCache {
    inner: RwLock<Inner>,
    capacity: usize,
    hits: Counter,
    misses: Counter,
}

#[derive(Default)]
struct Inner {
    generation: u64,
    docs: HashMap<String, Arc<Document>>,
    rooms: HashMap<Arc<str>, Room>,
    bytes: usize,
}

impl Inner {
    fn forgotten(&mut self) {
        self.generation += 1;
    }

    fn remove_doc(&mut self, key: &str) {
        if let Some(doc) = self.docs.remove(key) {
            self.bytes -= cost(key, &doc);
        }
    }
}

fn cost(key: &str, doc: &Document) -> usize {
    key.len() + doc.value.json().len() + doc.owner.len() + ENTRY_OVERHEAD
}

impl ReadCache {
    pub fn new(capacity_bytes: usize) -> Self {
        Self {
            inner: RwLock::default(),
            capacity: capacity_bytes,
            hits: Counter::default(),
            misses: Counter::default(),
        }
    }

    /// The cache, its hits, misses and size in `metrics`.
    pub fn registered(capacity_bytes: usize, metrics: &Metrics) -> Arc<Self> {
        let cache = Arc::new(Self {
            hits: metrics.counter(
                "causeway_read_cache_hits_total",
                "/get reads answered from the cache",
            ),
            misses: metrics.counter(
                "causeway_read_cache_misses_total",
                "/get reads that went to the database",
            ),
            ..Self::new(capacity_bytes)
        });
        let held = Arc::clone(&cache);
        metrics.gauge(
            "causeway_read_cache_bytes",
            "Bytes held by /get's cache",
            move || held.bytes() as f64,
        );
        cache
    }

    // Nothing panics while holding the lock; a poisoned one still holds consistent entries.
    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The document under `key` and its owner's transfer left at `now`, when both are known.
    pub fn lookup(&self, key: &str, now: i64) -> Lookup {
        let inner = self.read();
        let found = inner.docs.get(key).and_then(|doc| {
            let room = inner.rooms.get(&doc.owner)?;
            (now < room.until).then(|| (Arc::clone(doc), room.left))
        });
        match found {
            Some((doc, left)) => {
                self.hits.inc();
                Lookup::Hit(doc, left)
            }
            None => {
                self.misses.inc();
                Lookup::Miss(Ticket(inner.generation))
            }
        }
    }

    /// Keeps what a miss read, unless something was forgotten since its ticket was taken.
    pub fn fill(&self, ticket: Ticket, key: &str, doc: &Arc<Document>, room: Room) {
        let size = cost(key, doc);
        if size > self.capacity {
            return;
        }
        let mut inner = self.write();
        if inner.generation != ticket.0 {
            return;
        }
        inner.remove_doc(key);
        if inner.bytes + size > self.capacity {
            make_room(&mut inner, self.capacity / 8 + size);
        }
        inner.bytes += size;
        inner.docs.insert(key.to_owned(), Arc::clone(doc));
        inner.rooms.insert(Arc::clone(&doc.owner), room);
    }

    /// After a write of `key`.
    pub fn forget_key(&self, key: &str) {
        let mut inner = self.write();
        inner.forgotten();
        inner.remove_doc(key);
    }

    /// After a change to an owner's buckets or to where its documents are.
    pub fn forget_owner(&self, owner: &str) {
        let mut inner = self.write();
        inner.forgotten();
        inner.rooms.remove(owner);
        let keys: Vec<String> = inner
            .docs
            .iter()
            .filter(|(_, doc)| &*doc.owner == owner)
            .map(|(key, _)| key.clone())
            .collect();
        for key in keys {
            inner.remove_doc(&key);
        }
    }

    /// After transfer of these owners was written.
    pub fn forget_rooms<'a>(&self, owners: impl IntoIterator<Item = &'a str>) {
        let mut inner = self.write();
        inner.forgotten();
        for owner in owners {
            inner.rooms.remove(owner);
        }
    }

    /// After a change this server cannot name.
    pub fn forget_all(&self) {
        let mut inner = self.write();
        inner.forgotten();
        inner.docs.clear();
        inner.rooms.clear();
        inner.bytes = 0;
    }

    /// Bytes held, as counted against the capacity.
    pub fn bytes(&self) -> usize {
        self.read().bytes
    }
}

/// Empties the cache whenever another process has committed to the database. Looked for on
/// the group-commit writer's connection, through which every write of this server goes: its
/// `PRAGMA data_version` moves only for commits made on other connections.
pub async fn watch_foreign_writes(state: AppState, mut stop: watch::Receiver<bool>) {
    let Some(cache) = state.cache.clone() else {
        return;
    };
    let mut seen = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(FOREIGN_CHECK) => {}
            _ = stop.changed() => return,
        }
        let version = state
            .db
            .write(|conn| Ok::<_, Error>(crate::db::data_version(conn)?))
            .await;
        match version {
            Ok(version) if seen == Some(version) => {}
            // The first figure too: what was cached before it cannot be vouched for.
            Ok(version) => {
                if seen.is_some() {
                    log::debug!("another process wrote the database: /get's cache emptied");
                }
                cache.forget_all();
                seen = Some(version);
            }
            // The next check tries again; the cache is emptied if anything changed meanwhile.
            Err(err) => log::debug!("foreign write check failed: {err}"),
        }
    }
}

/// Drops arbitrary documents until `wanted` bytes are free (rooms go with the documents'
/// owners: they are small, and a room without documents is never looked up).
fn make_room(inner: &mut Inner, wanted: usize) {
    let mut freed = 0;
    let victims: Vec<String> = inner
        .docs
        .iter()
        .take_while(|(key, doc)| {
            let more = freed < wanted;
            freed += cost(key, doc);
            more
        })
        .map(|(key, _)| key.clone())
        .collect();
    for key in victims {
        inner.remove_doc(&key);
    }
    if inner.docs.is_empty() {
        inner.rooms.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(owner: &str, value: &str) -> Arc<Document> {
        Arc::new(Document {
            value: EncodedValue::encode(value),
            owner: Arc::from(owner),
            bucket_id: 1,
        })
    }

    const ROOM: Room = Room {
        left: 500,
        until: 100,
    };

    fn hit(cache: &ReadCache, key: &str, now: i64) -> Option<(String, i64)> {
        match cache.lookup(key, now) {
            Lookup::Hit(doc, left) => {
                Some((String::from_utf8_lossy(doc.value.json()).into(), left))
            }
            Lookup::Miss(_) => None,
        }
    }

    fn miss(cache: &ReadCache, key: &str) -> Ticket {
        match cache.lookup(key, 0) {
            Lookup::Miss(ticket) => ticket,
            Lookup::Hit(..) => panic!("{key} is cached"),
        }
    }

    #[test]
    fn a_fill_is_served_until_its_room_expires() {
        let cache = ReadCache::new(1 << 20);
        let ticket = miss(&cache, "k");
        cache.fill(ticket, "k", &doc("o", "v"), ROOM);
        assert_eq!(hit(&cache, "k", 99), Some(("\"v\"".to_owned(), 500)));
        assert_eq!(hit(&cache, "k", 100), None);
    }

    #[test]
    fn a_fill_that_began_before_a_write_is_refused() {
        let cache = ReadCache::new(1 << 20);
        let before = miss(&cache, "k");
        cache.forget_key("other");
        cache.fill(before, "k", &doc("o", "old"), ROOM);
        assert_eq!(hit(&cache, "k", 0), None);
        let after = miss(&cache, "k");
        cache.fill(after, "k", &doc("o", "new"), ROOM);
        assert_eq!(hit(&cache, "k", 0), Some(("\"new\"".to_owned(), 500)));
    }

    #[test]
    fn writes_forget_what_they_change() {
        let cache = ReadCache::new(1 << 20);
        for (key, owner) in [("a", "o"), ("b", "o"), ("c", "p")] {
            let ticket = miss(&cache, key);
            cache.fill(ticket, key, &doc(owner, key), ROOM);
        }
        cache.forget_key("a");
        assert_eq!(hit(&cache, "a", 0), None);
        assert!(hit(&cache, "b", 0).is_some());
        cache.forget_rooms(["o"]);
        assert_eq!(hit(&cache, "b", 0), None, "no room figure for o");
        assert!(hit(&cache, "c", 0).is_some());
        cache.forget_owner("p");
        assert_eq!(hit(&cache, "c", 0), None);
        assert_eq!(cache.bytes(), cost("b", &doc("o", "b")));
    }

    #[test]
    fn the_capacity_holds() {
        let one = cost("k000", &doc("o", &"x".repeat(1000)));
        let cache = ReadCache::new(10 * one);
        for i in 0..100 {
            let key = format!("k{i:03}");
            let ticket = miss(&cache, &key);
            cache.fill(ticket, &key, &doc("o", &"x".repeat(1000)), ROOM);
            assert!(cache.bytes() <= 10 * one);
            assert!(hit(&cache, &key, 0).is_some(), "the newest entry is kept");
        }
        let too_big = ReadCache::new(10);
        let ticket = miss(&too_big, "k");
        too_big.fill(ticket, "k", &doc("o", "v"), ROOM);
        assert_eq!(too_big.bytes(), 0);
    }
}
