//! One group of a voucher: its random tokens persisted and blinded, sent to the issuer, its
//! answer verified, unblinded and stored.

use challenge_bypass_ristretto::voprf::BlindedToken;
use ledger_client::zkap::{RedeemFailure, RedeemOutcome, RedeemRequest};

use super::{Inner, Setback};
use crate::db::tokens::{self, RedeemedGroup};
use crate::db::vouchers;
use crate::domain::time;
use crate::domain::tokens::{RandomTokens, encode_blinded};
use crate::domain::voucher::Voucher;
use crate::error::Error;
use crate::ops::{self, Queries as _};

/// Longest `details` kept for an error state: issuer bodies can be large.
const MAX_DETAILS: usize = 500;

/// A group whose random tokens are persisted, blinded and encoded for the issuer.
pub(super) struct Prepared {
    counter: u32,
    random: RandomTokens,
    blinded: Vec<BlindedToken>,
    encoded: Vec<String>,
}

/// The issuer's signatures for a group, still base64 and unchecked.
pub(super) struct Answer {
    public_key: String,
    signatures: Vec<String>,
    proof: String,
}

/// A group the issuer signed, waiting to be verified and stored.
pub(super) struct Signed {
    pub(super) group: Prepared,
    pub(super) answer: Answer,
}

impl Inner {
    /// A group ready to send: its random tokens are persisted.
    pub(super) async fn prepare(
        &self,
        voucher: &Voucher,
        counter: u32,
        count: u64,
    ) -> Result<Prepared, Error> {
        let random = self.random_tokens(voucher, counter, count).await?;
        blocking(move || {
            let blinded = random.blind();
            let encoded = encode_blinded(&blinded);
            Prepared {
                counter,
                random,
                blinded,
                encoded,
            }
        })
        .await
    }

    /// Asks the issuer to sign one group; `Ok(Err(_))` is its verdict against it.
    pub(super) async fn send(
        &self,
        voucher: &Voucher,
        group: &Prepared,
    ) -> Result<Result<Answer, Setback>, Error> {
        let request = RedeemRequest {
            voucher: voucher.as_str().to_owned(),
            counter: group.counter,
            tokens: group.encoded.clone(),
        };
        log::info!(
            "redeeming {voucher} group {} ({} tokens)",
            group.counter,
            group.random.len()
        );
        Ok(match self.issuer.redeem(&request).await {
            Ok(RedeemOutcome::Signed {
                public_key,
                signatures,
                proof,
            }) => Ok(Answer {
                public_key,
                signatures,
                proof,
            }),
            Ok(RedeemOutcome::Refused(RedeemFailure::Unpaid)) => Err(Setback::Unpaid),
            Ok(RedeemOutcome::Refused(RedeemFailure::DoubleSpend)) => Err(Setback::DoubleSpend),
            Ok(RedeemOutcome::Refused(failure)) => Err(error_setback(&refusal_details(
                &failure,
                group.counter,
                self.config.groups,
                group.random.len(),
            ))),
            Err(err) => Err(error_setback(&err.to_string())),
        })
    }

    /// Verifies and unblinds a signed group and stores it, advancing the counter; `continuing`
    /// says the next group is already at the issuer (the voucher then stays `redeeming`).
    /// `Ok(Some(_))` is the proof's verdict against the group.
    pub(super) async fn finish(
        &self,
        voucher: &Voucher,
        signed: Signed,
        continuing: bool,
    ) -> Result<Option<Setback>, Error> {
        let Signed { group, answer } = signed;
        let counter = group.counter;
        let Answer {
            public_key,
            signatures,
            proof,
        } = answer;
        let checked = blocking({
            let public_key = public_key.clone();
            move || {
                group
                    .random
                    .verify_and_unblind(&group.blinded, &public_key, &signatures, &proof)
            }
        })
        .await?;
        let unblinded = match checked {
            Ok(unblinded) => unblinded,
            Err(err) => return Ok(Some(error_setback(&err.to_string()))),
        };
        let spendable = self.config.allowed_public_keys.contains(&public_key);
        if !spendable {
            log::warn!(
                "{voucher} group {counter} signed by {public_key}, which is not an allowed key: \
                 its tokens are sequestered"
            );
        }
        let tokens_in_group = unblinded.len() as u64;
        let groups = self.config.groups;
        let voucher_owned = voucher.clone();
        let stored = ops::write(&self.db, move |conn| {
            let n = tokens_in_group;
            let counts = if spendable { (n, 0) } else { (0, n) };
            let finished = time::now();
            if !vouchers::complete_group(
                conn,
                &voucher_owned,
                vouchers::Completed {
                    counter,
                    groups,
                    tokens: counts,
                    continuing,
                },
                finished,
            )? {
                return Ok(false);
            }
            tokens::store_group(
                conn,
                &RedeemedGroup {
                    voucher: &voucher_owned,
                    counter,
                    public_key: &public_key,
                    spendable,
                    unblinded: &unblinded,
                    finished,
                },
            )?;
            Ok(true)
        })
        .await?;
        if stored {
            self.metrics.groups_redeemed.inc();
            self.metrics.tokens_redeemed.add(tokens_in_group);
        } else {
            log::warn!("{voucher} group {counter} was recorded by another redemption");
        }
        Ok(None)
    }

    /// The group's persisted random tokens, generating and persisting them first if needed.
    async fn random_tokens(
        &self,
        voucher: &Voucher,
        counter: u32,
        count: u64,
    ) -> Result<RandomTokens, Error> {
        let stored = self
            .db
            .query({
                let voucher = voucher.clone();
                move |conn| tokens::random_tokens(conn, &voucher, counter)
            })
            .await?;
        if let Some(text) = stored {
            return decode_random(text).await;
        }
        let count =
            usize::try_from(count).map_err(|_| Error::Internal("token count too large".into()))?;
        let (fresh, text) = blocking(move || {
            let fresh = RandomTokens::generate(count);
            let text = fresh.encode();
            (fresh, text)
        })
        .await?;
        let (owner, generated) = (voucher.clone(), text.clone());
        let stored = ops::write(&self.db, move |conn| {
            if let Some(stored) = tokens::random_tokens(conn, &owner, counter)? {
                return Ok(stored);
            }
            tokens::store_random_tokens(conn, &owner, counter, &generated)?;
            Ok(generated.clone())
        })
        .await?;
        // Another redemption of the same voucher may have stored its tokens first.
        if stored == text {
            Ok(fresh)
        } else {
            decode_random(stored).await
        }
    }
}

async fn decode_random(text: String) -> Result<RandomTokens, Error> {
    blocking(move || RandomTokens::decode(&text))
        .await?
        .map_err(|e| Error::Internal(e.to_string()))
}

/// The `details` of an issuer's refusal: its reason, plus what the likely fix is where the
/// reason points at a configuration mismatch.
fn refusal_details(failure: &RedeemFailure, counter: u32, groups: u32, tokens: usize) -> String {
    let hint = match failure {
        RedeemFailure::WrongNumberOfTokens => format!(
            " (sent {tokens} tokens for group {counter} of {groups}: default-token-count and \
             num-redemption-groups must equal the issuer's tokens-per-voucher and \
             num-redemption-groups)"
        ),
        RedeemFailure::CounterOutOfBounds { .. } => {
            format!(" (num-redemption-groups is {groups}: it must equal the issuer's)")
        }
        _ => String::new(),
    };
    format!("issuer refused: {failure}{hint}")
}

fn error_setback(details: &str) -> Setback {
    let details = match details.char_indices().nth(MAX_DETAILS) {
        Some((end, _)) => format!("{}…", details.get(..end).unwrap_or_default()),
        None => details.to_owned(),
    };
    Setback::Error(details)
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Internal(format!("cryptography task failed: {e}")))
}
