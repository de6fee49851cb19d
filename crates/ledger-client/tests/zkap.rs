//! The ZKAP issuer client against the simulator, with the real client-side cryptography: blind,
//! redeem, verify and unblind, make a pass and check it as a storage server would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use challenge_bypass_ristretto::voprf::{
    BatchDLEQProof, BlindedToken, PublicKey, SignedToken, SigningKey, Token, TokenPreimage,
    UnblindedToken, VerificationSignature,
};
use hmac::Hmac;
use ledger_client::zkap::{
    RedeemFailure, RedeemOutcome, RedeemRequest, ZkapIssuer, token_count_for_group,
};
use ledger_client::{LedgerError, Timeouts, http_client};
use ledger_sim::zkap::{Mode, ZkapSim, ZkapSimConfig};
use rand::rngs::OsRng;
use sha2::Sha512;

type HmacSha512 = Hmac<Sha512>;

const GROUPS: u32 = 5;
/// 6, 6, 5, 5, 5 tokens per group.
const TOTAL: u64 = 27;

struct Fixture {
    sim: ZkapSim,
    issuer: ZkapIssuer,
    key: SigningKey,
}

fn start() -> Fixture {
    let key = SigningKey::random(&mut OsRng);
    let config = ZkapSimConfig {
        tokens_per_voucher: TOTAL,
        groups: GROUPS,
        signing_key: Some(key.to_bytes()),
    };
    let sim = ZkapSim::start("127.0.0.1:0", config).unwrap();
    let issuer = ZkapIssuer::new(http_client(Timeouts::default()).unwrap(), &sim.url()).unwrap();
    Fixture { sim, issuer, key }
}

/// A client's random tokens for one group, as ZKAPAuthorizer persists them.
struct Group {
    tokens: Vec<Token>,
    blinded: Vec<BlindedToken>,
}

impl Group {
    fn random(count: u64) -> Self {
        let tokens: Vec<Token> = (0..count)
            .map(|_| Token::random::<Sha512, _>(&mut OsRng))
            .collect();
        let blinded = tokens.iter().map(Token::blind).collect();
        Self { tokens, blinded }
    }

    fn for_counter(counter: u32) -> Self {
        Self::random(token_count_for_group(GROUPS, TOTAL, counter))
    }

    fn request(&self, voucher: &str, counter: u32) -> RedeemRequest {
        RedeemRequest {
            voucher: voucher.to_owned(),
            counter,
            tokens: self
                .blinded
                .iter()
                .map(BlindedToken::encode_base64)
                .collect(),
        }
    }
}

struct Signed {
    public_key: PublicKey,
    signatures: Vec<SignedToken>,
    proof: BatchDLEQProof,
}

fn decode(outcome: RedeemOutcome) -> Signed {
    let RedeemOutcome::Signed {
        public_key,
        signatures,
        proof,
    } = outcome
    else {
        panic!("expected signatures, got {outcome:?}");
    };
    assert_eq!(public_key.len(), 44);
    assert_eq!(proof.len(), 88);
    assert!(signatures.iter().all(|s| s.len() == 44));
    Signed {
        public_key: PublicKey::decode_base64(&public_key).unwrap(),
        signatures: signatures
            .iter()
            .map(|s| SignedToken::decode_base64(s).unwrap())
            .collect(),
        proof: BatchDLEQProof::decode_base64(&proof).unwrap(),
    }
}

fn refused(outcome: RedeemOutcome) -> RedeemFailure {
    match outcome {
        RedeemOutcome::Refused(failure) => failure,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A pass (`preimage signature`) for `message`, as ZKAPAuthorizer's `Pass` makes it.
fn make_pass(token: &UnblindedToken, message: &[u8]) -> String {
    let signature = token
        .derive_verification_key::<Sha512>()
        .sign::<HmacSha512>(message);
    format!("{} {}", token.t.encode_base64(), signature.encode_base64())
}

/// The storage server's check: only the issuer's signing key is needed.
fn server_accepts(key: &SigningKey, pass: &str, message: &[u8]) -> bool {
    let (preimage, signature) = pass.split_once(' ').unwrap();
    let preimage = TokenPreimage::decode_base64(preimage).unwrap();
    let signature = VerificationSignature::decode_base64(signature).unwrap();
    key.rederive_unblinded_token(&preimage)
        .derive_verification_key::<Sha512>()
        .verify::<HmacSha512>(&signature, message)
}

#[tokio::test]
async fn redeemed_tokens_make_passes_a_storage_server_accepts() {
    let f = start();
    f.sim.mark_paid("voucher-1");
    let message = b"allocate_buckets aGVsbG8gd29ybGQ=";
    for counter in 0..GROUPS {
        let group = Group::for_counter(counter);
        let outcome = f
            .issuer
            .redeem(&group.request("voucher-1", counter))
            .await
            .unwrap();
        let signed = decode(outcome);
        assert_eq!(signed.public_key.encode_base64(), f.sim.public_key());
        assert_eq!(signed.public_key.to_bytes(), f.key.public_key.to_bytes());
        assert_eq!(signed.signatures.len(), group.tokens.len());
        let unblinded = signed
            .proof
            .verify_and_unblind::<Sha512, _>(
                &group.tokens,
                &group.blinded,
                &signed.signatures,
                &signed.public_key,
            )
            .unwrap();
        for token in &unblinded {
            assert_eq!(token.encode_base64().len(), 128);
            let pass = make_pass(token, message);
            assert_eq!(pass.len(), 177);
            assert!(server_accepts(&f.key, &pass, message));
        }
        let pass = make_pass(&unblinded[0], message);
        assert!(!server_accepts(
            &f.key,
            &pass,
            b"add_lease aGVsbG8gd29ybGQ="
        ));
        let stranger = SigningKey::random(&mut OsRng);
        assert!(!server_accepts(&stranger, &pass, message));
    }
    f.sim.stop().await;
}

#[tokio::test]
async fn unpaid_vouchers_are_refused() {
    let f = start();
    let group = Group::for_counter(0);
    let outcome = f
        .issuer
        .redeem(&group.request("never-paid", 0))
        .await
        .unwrap();
    assert_eq!(refused(outcome), RedeemFailure::Unpaid);

    f.sim.mark_paid("paid");
    f.sim.set_mode(Mode::Unpaid);
    let outcome = f.issuer.redeem(&group.request("paid", 0)).await.unwrap();
    assert_eq!(refused(outcome), RedeemFailure::Unpaid);

    f.sim.set_mode(Mode::Normal);
    decode(f.issuer.redeem(&group.request("paid", 0)).await.unwrap());
    f.sim.stop().await;
}

#[tokio::test]
async fn a_retry_with_the_same_tokens_is_signed_again() {
    let f = start();
    f.sim.mark_paid("v");
    let group = Group::for_counter(1);
    let request = group.request("v", 1);
    let first = decode(f.issuer.redeem(&request).await.unwrap());
    let again = decode(f.issuer.redeem(&request).await.unwrap());
    let encoded = |s: &Signed| -> Vec<String> {
        s.signatures
            .iter()
            .map(SignedToken::encode_base64)
            .collect()
    };
    assert_eq!(encoded(&first), encoded(&again));
    for signed in [first, again] {
        let tokens = &group.tokens;
        signed
            .proof
            .verify_and_unblind::<Sha512, _>(
                tokens,
                &group.blinded,
                &signed.signatures,
                &signed.public_key,
            )
            .unwrap();
    }
    f.sim.stop().await;
}

#[tokio::test]
async fn other_tokens_for_a_redeemed_group_are_a_double_spend() {
    let f = start();
    f.sim.mark_paid("v");
    decode(
        f.issuer
            .redeem(&Group::for_counter(0).request("v", 0))
            .await
            .unwrap(),
    );
    let other = Group::for_counter(0).request("v", 0);
    assert_eq!(
        refused(f.issuer.redeem(&other).await.unwrap()),
        RedeemFailure::DoubleSpend
    );

    f.sim.set_mode(Mode::DoubleSpend);
    let fresh = Group::for_counter(2).request("v", 2);
    assert_eq!(
        refused(f.issuer.redeem(&fresh).await.unwrap()),
        RedeemFailure::DoubleSpend
    );
    f.sim.stop().await;
}

#[tokio::test]
async fn tokens_cannot_be_reused_for_another_voucher_or_group() {
    let f = start();
    f.sim.mark_paid("a");
    f.sim.mark_paid("b");
    // Groups 0 and 1 both hold 6 tokens, so the same tokens fit either.
    let group = Group::for_counter(0);
    decode(f.issuer.redeem(&group.request("a", 0)).await.unwrap());
    for (voucher, counter) in [("b", 0), ("a", 1)] {
        let outcome = f
            .issuer
            .redeem(&group.request(voucher, counter))
            .await
            .unwrap();
        assert_eq!(refused(outcome), RedeemFailure::FingerprintAlreadyUsed);
    }
    f.sim.stop().await;
}

#[tokio::test]
async fn counters_outside_the_groups_are_refused() {
    let f = start();
    f.sim.mark_paid("v");
    let outcome = f
        .issuer
        .redeem(&Group::random(5).request("v", GROUPS))
        .await
        .unwrap();
    let expected = RedeemFailure::CounterOutOfBounds {
        min: 0,
        max: i64::from(GROUPS),
        received: i64::from(GROUPS),
    };
    assert_eq!(refused(outcome), expected);
    f.sim.stop().await;
}

#[tokio::test]
async fn a_group_needs_exactly_its_token_count() {
    let f = start();
    f.sim.mark_paid("v");
    for count in [0, 5, 7] {
        let outcome = f
            .issuer
            .redeem(&Group::random(count).request("v", 0))
            .await
            .unwrap();
        assert_eq!(refused(outcome), RedeemFailure::WrongNumberOfTokens);
    }
    f.sim.stop().await;
}

#[tokio::test]
async fn tokens_that_are_not_points_are_an_unrecognized_failure() {
    let f = start();
    f.sim.mark_paid("v");
    let request = RedeemRequest {
        voucher: "v".into(),
        counter: 4,
        tokens: vec!["not base64!".into(); 5],
    };
    match refused(f.issuer.redeem(&request).await.unwrap()) {
        RedeemFailure::Unrecognized { reason, body } => {
            assert!(reason.is_some_and(|r| r.contains("invalid blinded token")));
            assert!(body.contains("\"success\":false"), "{body}");
        }
        other => panic!("expected an unrecognized failure, got {other:?}"),
    }
    f.sim.stop().await;
}

#[tokio::test]
async fn a_short_signature_list_is_caught_by_counting() {
    let f = start();
    f.sim.mark_paid("v");
    f.sim.set_mode(Mode::WrongCount);
    let group = Group::for_counter(0);
    let signed = decode(f.issuer.redeem(&group.request("v", 0)).await.unwrap());
    assert_eq!(signed.signatures.len(), group.tokens.len() - 1);
    let all = signed.proof.verify_and_unblind::<Sha512, _>(
        &group.tokens,
        &group.blinded,
        &signed.signatures,
        &signed.public_key,
    );
    assert!(all.is_err());
    // The proof itself is sound over what was signed: only the count gives it away.
    let signed_part = &group.blinded[..signed.signatures.len()];
    signed
        .proof
        .verify::<Sha512>(signed_part, &signed.signatures, &signed.public_key)
        .unwrap();
    f.sim.stop().await;
}

#[tokio::test]
async fn a_proof_by_another_key_fails_verification() {
    let f = start();
    f.sim.mark_paid("v");
    f.sim.set_mode(Mode::BadProof);
    let group = Group::for_counter(3);
    let signed = decode(f.issuer.redeem(&group.request("v", 3)).await.unwrap());
    assert_eq!(signed.signatures.len(), group.tokens.len());
    let verified = signed.proof.verify_and_unblind::<Sha512, _>(
        &group.tokens,
        &group.blinded,
        &signed.signatures,
        &signed.public_key,
    );
    assert!(verified.is_err());
    // The signatures are the real key's: a proof by that key over them holds.
    let honest =
        BatchDLEQProof::new::<Sha512, _>(&mut OsRng, &group.blinded, &signed.signatures, &f.key)
            .unwrap();
    honest
        .verify_and_unblind::<Sha512, _>(
            &group.tokens,
            &group.blinded,
            &signed.signatures,
            &signed.public_key,
        )
        .unwrap();
    f.sim.stop().await;
}

#[tokio::test]
async fn a_slow_issuer_times_out() {
    let f = start();
    let short = Timeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_millis(300),
    };
    let impatient = ZkapIssuer::new(http_client(short).unwrap(), &f.sim.url()).unwrap();
    f.sim.mark_paid("v");
    f.sim.set_delay(Duration::from_millis(50));
    decode(
        f.issuer
            .redeem(&Group::for_counter(0).request("v", 0))
            .await
            .unwrap(),
    );

    f.sim.set_mode(Mode::Slow(Duration::from_secs(5)));
    let result = impatient
        .redeem(&Group::for_counter(1).request("v", 1))
        .await;
    assert!(matches!(result, Err(LedgerError::TimedOut)), "{result:?}");
    f.sim.stop().await;
}

#[tokio::test]
async fn a_stopped_issuer_is_unreachable() {
    let f = start();
    f.sim.stop().await;
    let result = f
        .issuer
        .redeem(&Group::for_counter(0).request("v", 0))
        .await;
    assert!(
        matches!(result, Err(LedgerError::Unreachable(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_non_json_answer_is_a_protocol_error() {
    let f = start();
    f.sim.set_mode(Mode::Garbage);
    let result = f
        .issuer
        .redeem(&Group::for_counter(0).request("v", 0))
        .await;
    match result {
        Err(LedgerError::Protocol(text)) => {
            assert!(text.contains("500"), "{text}");
            assert!(text.contains("Internal Server Error"), "{text}");
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
    f.sim.stop().await;
}

#[tokio::test]
async fn admin_routes_drive_the_simulator() {
    let f = start();
    let http = reqwest::Client::new();
    let url = f.sim.url();
    let key: serde_json::Value = http
        .get(format!("{url}/admin/public-key"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(key["public-key"], f.sim.public_key());

    let paid = http
        .post(format!("{url}/admin/vouchers/v%201/paid"))
        .send()
        .await
        .unwrap();
    assert!(paid.status().is_success());
    decode(
        f.issuer
            .redeem(&Group::for_counter(0).request("v 1", 0))
            .await
            .unwrap(),
    );

    let set_mode =
        |body: serde_json::Value| http.put(format!("{url}/admin/mode")).json(&body).send();
    assert!(
        set_mode(serde_json::json!({"mode": "unpaid"}))
            .await
            .unwrap()
            .status()
            .is_success()
    );
    let outcome = f
        .issuer
        .redeem(&Group::for_counter(1).request("v 1", 1))
        .await
        .unwrap();
    assert_eq!(refused(outcome), RedeemFailure::Unpaid);
    let slow = set_mode(serde_json::json!({"mode": "slow", "seconds": 0.1}))
        .await
        .unwrap();
    assert!(slow.status().is_success());
    let bad = set_mode(serde_json::json!({"mode": "slow"})).await.unwrap();
    assert_eq!(bad.status(), reqwest::StatusCode::BAD_REQUEST);
    let unknown = set_mode(serde_json::json!({"mode": "sideways"}))
        .await
        .unwrap();
    assert_eq!(unknown.status(), reqwest::StatusCode::BAD_REQUEST);
    decode(
        f.issuer
            .redeem(&Group::for_counter(1).request("v 1", 1))
            .await
            .unwrap(),
    );
    f.sim.stop().await;
}

#[test]
fn token_counts_match_zkapauthorizer() {
    assert_eq!(token_count_for_group(16, 32768, 0), 2048);
    assert_eq!(token_count_for_group(16, 32768, 15), 2048);
    assert_eq!(token_count_for_group(16, 50000, 7), 3125);
    assert_eq!(token_count_for_group(16, 150000, 15), 9375);
}

#[test]
fn the_remainder_goes_to_the_first_groups() {
    let counts: Vec<u64> = (0..GROUPS)
        .map(|g| token_count_for_group(GROUPS, TOTAL, g))
        .collect();
    assert_eq!(counts, [6, 6, 5, 5, 5]);
    for (groups, total) in [(16, 32768), (16, 50001), (16, 15), (7, 100), (1, 9), (3, 0)] {
        let sum: u64 = (0..groups)
            .map(|g| token_count_for_group(groups, total, g))
            .sum();
        assert_eq!(sum, total, "{groups} groups of {total}");
    }
    assert_eq!(token_count_for_group(16, 32768, 16), 0);
    assert_eq!(token_count_for_group(0, 32768, 0), 0);
}
