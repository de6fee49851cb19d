//! `/request` (free buckets) and `/buy` (paid ones). Each registers the owner if it is new,
//! then grants or sells a bucket under the owner's lock.

use service_kit::db::DbConnection;
use service_kit::db::column;

use crate::AppState;
use crate::db::{buckets, owners};
use crate::domain::bucket::{Bucket, BucketTerms, BucketView};
use crate::domain::{Registration, Sats};
use crate::error::Error;
use crate::payments;
use crate::read_cache::Stale;

/// What `/request` did.
pub struct Request {
    pub granted: bool,
    /// All the owner's buckets.
    pub buckets: Vec<BucketView>,
}

/// A free bucket unless the owner already has `free_buckets` of them.
pub async fn request(state: &AppState, registration: Registration) -> Result<Request, Error> {
    let owner = register(state, registration).await?;
    let (limit, terms, now) = (state.settings.free_buckets, state.terms, state.clock().now);
    let stale = Stale::Owner(owner.clone());
    let (granted, buckets) = state
        .write_for_get(
            move |conn| request_free(conn, &owner, limit, terms, now),
            |_| stale,
        )
        .await?;
    Ok(Request {
        granted,
        buckets: views(&buckets, now),
    })
}

/// What `/buy` did.
pub struct Purchase {
    /// The deposit address to pay to (`None` when buckets are free).
    pub address: Option<String>,
    pub price: Sats,
    pub bought: bool,
    /// Received minus spent, after the purchase.
    pub balance: i64,
    /// What is left to pay when not bought.
    pub due: Option<Sats>,
    pub buckets: Vec<BucketView>,
}

/// Turns what the owner paid to its deposit addresses, minus what it already spent, into a
/// bucket when it covers the price.
pub async fn buy(state: &AppState, registration: Registration) -> Result<Purchase, Error> {
    let owner = register(state, registration).await?;
    let price = state.price();
    let (received, address) = if price.0 == 0 {
        (0, None)
    } else {
        let address = payments::deposit_address(state, &owner).await?;
        (payments::received(state, &owner).await?.0, Some(address))
    };
    let (terms, now) = (state.terms, state.clock().now);
    let stale = Stale::Owner(owner.clone());
    let (bought, balance, buckets) = state
        .write_for_get(
            move |conn| sell(conn, &owner, price, received, terms, now),
            |_| stale,
        )
        .await?;
    // Not bought: the balance is below the price, so something is due.
    let due = (!bought).then(|| Sats(price.0.saturating_add_signed(balance.saturating_neg())));
    Ok(Purchase {
        address,
        price,
        bought,
        balance,
        due,
        buckets: views(&buckets, now),
    })
}

/// Registers the owner unless it exists; its address.
async fn register(state: &AppState, registration: Registration) -> Result<String, Error> {
    let Registration {
        owner,
        delegate,
        contact,
    } = registration;
    let (owner, delegate) = (owner.to_string(), delegate.to_string());
    let now = state.clock().now;
    let registered = owner.clone();
    state
        .db
        .write(move |conn| Ok::<_, Error>(owners::ensure(conn, &owner, &delegate, &contact, now)?))
        .await?;
    Ok(registered)
}

fn views(buckets: &[Bucket], now: i64) -> Vec<BucketView> {
    buckets.iter().map(|b| b.view(now)).collect()
}

fn request_free(
    conn: &mut DbConnection,
    owner: &str,
    limit: u32,
    terms: BucketTerms,
    now: i64,
) -> Result<(bool, Vec<Bucket>), Error> {
    owners::lock(conn, owner)?.ok_or(Error::UserNotFound)?;
    let granted = buckets::count_free(conn, owner)? < i64::from(limit);
    if granted {
        buckets::insert(conn, owner, true, 0, terms, now)?;
        buckets::relocate_expired(conn, owner, now)?;
    }
    Ok((granted, buckets::list(conn, owner)?))
}

/// Under the owner's lock, so concurrent purchases cannot spend the same satoshis twice.
fn sell(
    conn: &mut DbConnection,
    owner: &str,
    price: Sats,
    received: i64,
    terms: BucketTerms,
    now: i64,
) -> Result<(bool, i64, Vec<Bucket>), Error> {
    let price: i64 = column::write("buckets.price_sats", price.0).map_err(diesel_error)?;
    owners::lock(conn, owner)?.ok_or(Error::UserNotFound)?;
    let mut balance = received - buckets::spent(conn, owner)?;
    let bought = balance >= price;
    if bought {
        buckets::insert(conn, owner, false, price, terms, now)?;
        buckets::relocate_expired(conn, owner, now)?;
        balance -= price;
    }
    Ok((bought, balance, buckets::list(conn, owner)?))
}

fn diesel_error(err: column::TooLarge) -> Error {
    Error::Query(err.into())
}
