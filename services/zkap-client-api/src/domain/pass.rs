//! Passes, as ZKAPAuthorizer's `Pass`: `<preimage base64> <signature base64>`, the signature
//! being HMAC-SHA512 over the message with the key derived from the unblinded token.

use challenge_bypass_ristretto::voprf::UnblindedToken;
use hmac::Hmac;
use sha2::Sha512;

use super::tokens::CorruptTokens;

/// A request for `count` passes over `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassRequest {
    pub message: String,
    pub count: u64,
}

/// 88 + 1 + 88 bytes.
pub const PASS_LENGTH: usize = 177;

pub fn make_pass(unblinded: &str, message: &[u8]) -> Result<String, CorruptTokens> {
    let token = UnblindedToken::decode_base64(unblinded).map_err(|_| CorruptTokens)?;
    let signature = token
        .derive_verification_key::<Sha512>()
        .sign::<Hmac<Sha512>>(message);
    Ok(format!(
        "{} {}",
        token.t.encode_base64(),
        signature.encode_base64()
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::domain::tokens::RandomTokens;
    use challenge_bypass_ristretto::voprf::{
        BatchDLEQProof, SignedToken, SigningKey, TokenPreimage, VerificationSignature,
    };
    use rand::rngs::OsRng;

    #[test]
    fn a_storage_server_accepts_the_pass() {
        let key = SigningKey::random(&mut OsRng);
        let tokens = RandomTokens::generate(1);
        let blinded = tokens.blind();
        let signed: Vec<SignedToken> = blinded.iter().map(|b| key.sign(b).unwrap()).collect();
        let proof = BatchDLEQProof::new::<Sha512, _>(&mut OsRng, &blinded, &signed, &key).unwrap();
        let signatures: Vec<String> = signed.iter().map(SignedToken::encode_base64).collect();
        let unblinded = tokens
            .verify_and_unblind(
                &blinded,
                &key.public_key.encode_base64(),
                &signatures,
                &proof.encode_base64(),
            )
            .unwrap();
        let message = b"add_lease aGVsbG8=";
        let pass = make_pass(&unblinded[0], message).unwrap();
        assert_eq!(pass.len(), PASS_LENGTH);
        let (preimage, signature) = pass.split_once(' ').unwrap();
        let preimage = TokenPreimage::decode_base64(preimage).unwrap();
        let signature = VerificationSignature::decode_base64(signature).unwrap();
        let vk = key
            .rederive_unblinded_token(&preimage)
            .derive_verification_key::<Sha512>();
        assert!(vk.verify::<Hmac<Sha512>>(&signature, message));
        assert!(!vk.verify::<Hmac<Sha512>>(&signature, b"other"));
        assert!(make_pass("junk", message).is_err());
    }
}
