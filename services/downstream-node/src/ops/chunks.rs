//! `/chunk/<token>[/<size>]`: contracts generated on demand from fresh seeds.

use std::net::IpAddr;

use rand::RngCore;
use serde::Serialize;

use service_kit::db::column;

use super::{check_new_ip, ip_text, seconds_until, token_row};
use crate::app::AppState;
use crate::db::contracts::{self, NewContract};
use crate::db::{addresses, stats, tokens};
use crate::domain::{FarmerToken, Schedule, now_millis};
use crate::error::Error;
use crate::heartbeat::{self, Challenge, HeartbeatKey, RandomFile, Tag};

/// One chunk as the farmer reads it.
#[derive(Debug, Clone, Serialize)]
pub struct ChunkOffer {
    pub file_hash: i64,
    pub seed: String,
    pub size: u64,
    pub challenge: Challenge,
    pub tag: Tag,
    pub due: f64,
}

#[derive(Debug, Serialize)]
pub struct Chunks {
    pub chunks: Vec<ChunkOffer>,
}

/// A contract computed but not yet stored.
struct Generated {
    seed: String,
    size: u64,
    s0: [u8; 32],
    root: [u8; 32],
    tag: Tag,
}

/// Sizes to hand out: the request capped by what the address may still hold, split into at
/// most `max_chunks` pieces of at most `max_chunk` bytes, never more than requested.
pub fn plan(requested: u64, remaining: u64, max_chunks: u32, max_chunk: u64) -> Vec<u64> {
    let mut left = requested.min(remaining);
    let mut sizes = Vec::new();
    while left > 0 && sizes.len() < max_chunks as usize && max_chunk > 0 {
        let size = left.min(max_chunk);
        sizes.push(size);
        left -= size;
    }
    sizes
}

fn generate(key: &HeartbeatKey, size: u64, challenges: u32, check_fraction: f64) -> Generated {
    let mut rng = rand::thread_rng();
    let mut raw = [0u8; 16];
    rng.fill_bytes(&mut raw);
    let seed = hex::encode(raw);
    let mut s0 = [0u8; 32];
    rng.fill_bytes(&mut s0);
    let file = RandomFile::new(&seed, size);
    let encoded = heartbeat::encode(key, &file, size, challenges, s0, check_fraction);
    Generated {
        seed,
        size,
        s0,
        root: encoded.root,
        tag: encoded.tag,
    }
}

/// Hands `token`'s farmer new contracts of `requested` bytes in all (the default size when
/// `None`), as far as its address has room.
pub async fn allocate(
    state: &AppState,
    token: Option<FarmerToken>,
    ip: IpAddr,
    requested: Option<u64>,
) -> Result<Chunks, Error> {
    let settings = state.settings.clone();
    let requested = requested.unwrap_or(settings.default_chunk_size);
    let ip_string = ip_text(ip);
    let location = state.location_json(ip);
    let cap = settings.max_size_per_address;

    // Expired contracts stop counting against the cap now, not at the next sweep. In a
    // transaction of its own: it locks contracts, tokens, then the address, the order every
    // writer follows, and the next one locks a token after reading the address.
    state
        .db
        .write(move |conn| {
            let row = token_row(conn, token)?;
            stats::expire_contracts_of_address(conn, row.address_id, now_millis())?;
            Ok::<_, Error>(())
        })
        .await?;
    let limits = settings.clone();
    let (row, sizes) = state
        .db
        .write(move |conn| {
            let row = token_row(conn, token)?;
            if check_new_ip(conn, &row, &ip_string, limits.max_tokens_per_ip)? {
                tokens::set_ip(conn, row.id, &ip_string, location.as_deref())?;
            }
            let address = addresses::find_by_id(conn, row.address_id)?;
            let held = address.allocated()?;
            let sizes = plan(
                requested,
                cap.saturating_sub(held),
                limits.max_chunks_per_request,
                limits.max_chunk_size,
            );
            Ok::<_, Error>((row, sizes))
        })
        .await?;
    if sizes.is_empty() {
        return Ok(Chunks { chunks: Vec::new() });
    }

    let key = state.key.clone();
    let (challenges, check_fraction) = (settings.challenges, settings.check_fraction);
    let generated = tokio::task::spawn_blocking(move || {
        sizes
            .into_iter()
            .map(|size| generate(&key, size, challenges, check_fraction))
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|err| Error::Internal(format!("contract generation failed: {err}")))?;

    let key = state.key.clone();
    let interval = state.interval_millis();
    let interval_secs: i64 = column::write("contracts.interval_secs", settings.interval)?;
    let stored_challenges: i32 = column::write("contracts.challenges", challenges)?;
    // Saturating on purpose: a cap beyond what the column can count is no cap.
    let cap = i64::try_from(cap).unwrap_or(i64::MAX);
    state
        .db
        .write(move |conn| {
            // Locked before it is read: its counters are written back below.
            let mut row = tokens::find_locked(conn, row.id)?.ok_or(Error::UnknownToken)?;
            let now = now_millis();
            let mut uptime = row.uptime_state();
            let mut offers = Vec::with_capacity(generated.len());
            for contract in generated {
                let size: i64 = column::write("contracts.size", contract.size)?;
                // Another request of the same address may have taken the room meanwhile.
                if !addresses::reserve(conn, row.address_id, size, cap)? {
                    break;
                }
                let schedule = Schedule::first(&key, &contract.s0, challenges, now, interval);
                let id = contracts::insert(
                    conn,
                    &NewContract {
                        token_id: row.id,
                        seed: contract.seed.clone(),
                        size,
                        chunksz: column::write("contracts.chunksz", contract.tag.chunksz)?,
                        challenges: stored_challenges,
                        issued: 1,
                        chain_seed: schedule.chain_seed.to_vec(),
                        root: contract.root.to_vec(),
                        tree_order: column::write("contracts.tree_order", contract.tag.tree.order)?,
                        interval_secs,
                        start_at: now,
                        due_at: schedule.due,
                        expiration: schedule.expiration(),
                        answered: false,
                        counted_online: true,
                    },
                )?;
                uptime.contract_started(now, schedule.expiration());
                row.online_contracts += 1;
                row.online_size += size;
                row.online = true;
                row.last_due = Some(row.last_due.map_or(schedule.due, |d| d.max(schedule.due)));
                let Some(challenge) = schedule.current() else {
                    continue;
                };
                offers.push(ChunkOffer {
                    file_hash: id,
                    seed: contract.seed,
                    size: contract.size,
                    challenge,
                    tag: contract.tag,
                    due: seconds_until(schedule.due, now_millis()),
                });
            }
            row.set_uptime_state(uptime, now);
            tokens::save_stats(conn, &row)?;
            Ok(Chunks { chunks: offers })
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::plan;

    #[test]
    fn plans_never_exceed_the_request_or_the_cap() {
        assert_eq!(plan(32768, 1 << 30, 10, 32 << 20), vec![32768]);
        assert_eq!(plan(100, 1 << 30, 10, 40), vec![40, 40, 20]);
        assert_eq!(plan(1000, 30, 10, 40), vec![30]);
        assert_eq!(plan(1000, 1000, 2, 100), vec![100, 100]);
        assert!(plan(1000, 0, 10, 100).is_empty());
        assert!(plan(0, 1000, 10, 100).is_empty());
    }
}
