//! The client side of the VOPRF (challenge-bypass-ristretto, non-RFC functions, SHA-512):
//! random tokens, blinding, checking the issuer's batch DLEQ proof and unblinding. Everything
//! here is CPU-bound; callers run it on the blocking pool. Large batches are split over the
//! cores where the work is per-token.

use std::thread;

use challenge_bypass_ristretto::voprf::{
    BatchDLEQProof, BlindedToken, PublicKey, SignedToken, Token, UnblindedToken,
};
use rand::rngs::OsRng;
use sha2::Sha512;

/// Why an issuer's signatures were not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("the issuer returned {got} signatures for {expected} tokens")]
    CountMismatch { expected: usize, got: usize },
    #[error("the issuer's {0} is not valid base64 of a ristretto point")]
    Encoding(&'static str),
    #[error("the issuer's batch DLEQ proof does not verify")]
    Invalid,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored random tokens are corrupt")]
pub struct CorruptTokens;

/// One redemption group's random tokens (preimage and blinding scalar each), as persisted
/// before the issuer is asked: blinding is deterministic given these, so a retry reproduces the
/// same request.
pub struct RandomTokens(Vec<Token>);

impl RandomTokens {
    pub fn generate(count: usize) -> Self {
        Self(par_map_count(count, || {
            Token::random::<Sha512, _>(&mut OsRng)
        }))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// One base64 token (128 characters) per line.
    pub fn encode(&self) -> String {
        par_map(&self.0, Token::encode_base64).join("\n")
    }

    pub fn decode(text: &str) -> Result<Self, CorruptTokens> {
        let lines: Vec<&str> = text.split('\n').filter(|l| !l.is_empty()).collect();
        let tokens = par_map(&lines, |line| Token::decode_base64(line).ok());
        tokens
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .map(Self)
            .ok_or(CorruptTokens)
    }

    pub fn blind(&self) -> Vec<BlindedToken> {
        par_map(&self.0, Token::blind)
    }

    /// Checks the proof over all signatures, then unblinds; returns the unblinded tokens in
    /// base64 (128 characters each).
    pub fn verify_and_unblind(
        &self,
        blinded: &[BlindedToken],
        public_key: &str,
        signatures: &[String],
        proof: &str,
    ) -> Result<Vec<String>, ProofError> {
        if signatures.len() != self.0.len() || blinded.len() != self.0.len() {
            return Err(ProofError::CountMismatch {
                expected: self.0.len(),
                got: signatures.len(),
            });
        }
        let public_key =
            PublicKey::decode_base64(public_key).map_err(|_| ProofError::Encoding("public key"))?;
        let proof =
            BatchDLEQProof::decode_base64(proof).map_err(|_| ProofError::Encoding("proof"))?;
        let signed = par_map(signatures, |s| SignedToken::decode_base64(s).ok())
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or(ProofError::Encoding("signature"))?;
        let unblinded = proof
            .verify_and_unblind::<Sha512, _>(&self.0, blinded, &signed, &public_key)
            .map_err(|_| ProofError::Invalid)?;
        Ok(par_map(&unblinded, UnblindedToken::encode_base64))
    }
}

pub fn encode_blinded(blinded: &[BlindedToken]) -> Vec<String> {
    par_map(blinded, BlindedToken::encode_base64)
}

/// Below this many items a batch is not worth splitting across threads.
const PARALLEL_THRESHOLD: usize = 256;

fn workers(items: usize) -> usize {
    let cores = thread::available_parallelism().map_or(1, usize::from);
    if items < PARALLEL_THRESHOLD { 1 } else { cores }
}

/// `items.iter().map(f)` in order, over the cores.
fn par_map<T: Sync, U: Send>(items: &[T], f: impl Fn(&T) -> U + Sync) -> Vec<U> {
    let workers = workers(items.len());
    if workers <= 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(workers);
    let f = &f;
    thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<U>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for handle in handles {
            match handle.join() {
                Ok(part) => out.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    })
}

fn par_map_count<U: Send>(count: usize, f: impl Fn() -> U + Sync) -> Vec<U> {
    let slots = vec![(); count];
    par_map(&slots, |()| f())
}

#[cfg(test)]
#[path = "tokens_vectors.rs"]
mod vectors;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::vectors::issue;
    use super::*;
    use challenge_bypass_ristretto::voprf::SigningKey;

    #[test]
    fn round_trip_through_storage_and_an_issuer() {
        let tokens = RandomTokens::generate(300);
        let stored = tokens.encode();
        let restored = RandomTokens::decode(&stored).unwrap();
        assert_eq!(restored.len(), 300);
        let blinded = encode_blinded(&tokens.blind());
        assert_eq!(blinded, encode_blinded(&restored.blind()), "deterministic");
        assert!(blinded.iter().all(|b| b.len() == 44));

        let key = SigningKey::random(&mut OsRng);
        let (signatures, proof) = issue(&key, &restored.blind());
        let pk = key.public_key.encode_base64();
        let unblinded = restored
            .verify_and_unblind(&restored.blind(), &pk, &signatures, &proof)
            .unwrap();
        assert_eq!(unblinded.len(), 300);
        assert!(unblinded.iter().all(|u| u.len() == 128));

        let other = SigningKey::random(&mut OsRng).public_key.encode_base64();
        assert_eq!(
            restored.verify_and_unblind(&restored.blind(), &other, &signatures, &proof),
            Err(ProofError::Invalid)
        );
        assert_eq!(
            restored.verify_and_unblind(&restored.blind(), &pk, &signatures[1..], &proof),
            Err(ProofError::CountMismatch {
                expected: 300,
                got: 299
            })
        );
        assert_eq!(
            restored.verify_and_unblind(&restored.blind(), "junk", &signatures, &proof),
            Err(ProofError::Encoding("public key"))
        );
        assert!(RandomTokens::decode("not a token").is_err());
    }
}
