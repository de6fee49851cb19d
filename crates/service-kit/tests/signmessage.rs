//! Bitcoin `signmessage` against the shared vectors, plus round trips and hostile input.

// Test helpers outside #[test] functions fail loudly on bad fixtures, which is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::{Rng, SeedableRng};
use secp256k1::{PublicKey, Secp256k1, SecretKey};
use serde::Deserialize;
use service_kit::bitcoin::{
    AddressError, BitcoinAddress, Network, SignatureError, WifError, message_digest, parse_wif,
    sign_message, verify_message, verify_message_lenient,
};

#[derive(Deserialize)]
struct VectorFile {
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    id: String,
    address: String,
    network: String,
    message: String,
    signature: String,
    expected_valid: bool,
    expected_valid_siggy: Option<bool>,
    header: u8,
    recid: u8,
    compressed: bool,
    digest_hex: String,
    wif: Option<String>,
    #[serde(default)]
    deterministic_rfc6979: bool,
}

fn vectors() -> Vec<Vector> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/bitcoin-signmessage.json"
    );
    let text = std::fs::read_to_string(path).expect("read vectors");
    let file: VectorFile = serde_json::from_str(&text).expect("parse vectors");
    assert!(!file.vectors.is_empty(), "no vectors loaded");
    file.vectors
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn addr(s: &str) -> BitcoinAddress {
    BitcoinAddress::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Any valid signature from the vectors, with its address and message.
const ADDRESS: &str = "1CptxARjqcfkVwGFSjR82zmPT8YtRMubub";
const MESSAGE: &str = "bob@example.com,1CptxARjqcfkVwGFSjR82zmPT8YtRMubub";
const SIGNATURE: &str =
    "H9OXAeXSbEr4t5XCX5m8lkxWdZ37IqdMEY2CG3jytlTWMqAA8JSORdephK3OSZ9/jbPxa5ZzMAzBMoOtvAKpntQ=";

fn sig_bytes(b64: &str) -> [u8; 65] {
    STANDARD.decode(b64).unwrap().try_into().unwrap()
}

fn sig_b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

#[test]
fn vectors_strict() {
    let vectors = vectors();
    let mut checked = 0;
    for v in &vectors {
        let address = addr(&v.address);
        assert_eq!(address.to_string(), v.address, "{}", v.id);
        assert_eq!(address.network().to_string(), v.network, "{}", v.id);
        let result = verify_message(&address, &v.signature, &v.message);
        assert_eq!(result.is_ok(), v.expected_valid, "{}: {result:?}", v.id);
        if !v.expected_valid {
            // Every invalid vector is a well-formed signature by some key, just not this one.
            assert_eq!(result, Err(SignatureError::AddressMismatch), "{}", v.id);
        }
        checked += 1;
    }
    assert_eq!(checked, vectors.len());
}

#[test]
fn vectors_lenient() {
    let vectors = vectors();
    let mut checked = 0;
    let mut expected_checked = 0;
    for v in &vectors {
        let Some(expected) = v.expected_valid_siggy else {
            continue;
        };
        expected_checked += 1;
        let address = addr(&v.address);
        let result = verify_message_lenient(&address, &v.signature, &v.message);
        assert_eq!(result.is_ok(), expected, "{}: {result:?}", v.id);
        checked += 1;
    }
    assert_eq!(checked, expected_checked);
    assert!(checked > 0, "no vector has a siggy expectation");
    assert_eq!(
        checked,
        vectors
            .iter()
            .filter(|v| v.expected_valid_siggy.is_some())
            .count()
    );
}

/// Where siggy cannot evaluate (testnet addresses), the lenient rule still accepts what the
/// strict rule accepts, because it compares the same HASH160 under a looser header rule.
#[test]
fn lenient_accepts_whatever_strict_accepts() {
    for v in &vectors() {
        let address = addr(&v.address);
        if verify_message(&address, &v.signature, &v.message).is_ok() {
            assert_eq!(
                verify_message_lenient(&address, &v.signature, &v.message),
                Ok(()),
                "{}",
                v.id
            );
        }
    }
}

#[test]
fn vectors_digest_and_header_fields() {
    let vectors = vectors();
    for v in &vectors {
        assert_eq!(hex(&message_digest(&v.message)), v.digest_hex, "{}", v.id);
        let sig = sig_bytes(&v.signature);
        assert_eq!(sig[0], v.header, "{}", v.id);
        assert_eq!((v.header - 27) & 3, v.recid, "{}", v.id);
        assert_eq!((v.header - 27) & 4 != 0, v.compressed, "{}", v.id);
    }
}

#[test]
fn vectors_resign_deterministic() {
    let vectors = vectors();
    let mut resigned = 0;
    for v in vectors.iter().filter(|v| v.deterministic_rfc6979) {
        let wif = v.wif.as_deref().expect("deterministic vector without wif");
        let (secret, compressed, network) = parse_wif(wif).unwrap();
        let public = PublicKey::from_secret_key(&Secp256k1::new(), &secret);
        let address = addr(&v.address);
        assert_eq!(compressed, v.compressed, "{}", v.id);
        assert_eq!(network, address.network(), "{}", v.id);
        assert_eq!(
            BitcoinAddress::from_public_key(&public, compressed, network),
            address,
            "{}",
            v.id
        );
        assert_eq!(
            sign_message(&secret, compressed, &v.message),
            v.signature,
            "{}",
            v.id
        );
        resigned += 1;
    }
    assert!(resigned >= 3, "only {resigned} deterministic vectors");
}

#[test]
fn round_trip_random_keys() {
    let secp = Secp256k1::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    for network in [Network::Mainnet, Network::Testnet] {
        for compressed in [true, false] {
            for i in 0..8 {
                let secret = SecretKey::new(&mut rng);
                let public = PublicKey::from_secret_key(&secp, &secret);
                let address = BitcoinAddress::from_public_key(&public, compressed, network);
                let other_encoding = BitcoinAddress::from_public_key(&public, !compressed, network);
                let reparsed = addr(&address.to_string());
                assert_eq!(reparsed, address);
                assert_eq!(reparsed.network(), network);

                let message = format!("round trip {i} on {network}, ünïcödé ✓");
                let sig = sign_message(&secret, compressed, &message);
                assert_eq!(sig.len(), 88);
                let header = sig_bytes(&sig)[0];
                assert!((27..=34).contains(&header));
                assert_eq!((header - 27) & 4 != 0, compressed);

                assert_eq!(verify_message(&address, &sig, &message), Ok(()));
                assert_eq!(verify_message_lenient(&address, &sig, &message), Ok(()));
                // Deterministic: signing twice gives the same bytes.
                assert_eq!(sign_message(&secret, compressed, &message), sig);

                // The header fixes the key encoding for the strict rule only.
                assert_eq!(
                    verify_message(&other_encoding, &sig, &message),
                    Err(SignatureError::AddressMismatch)
                );
                assert_eq!(
                    verify_message_lenient(&other_encoding, &sig, &message),
                    Ok(())
                );

                // Tampered message.
                let tampered = format!("{message}.");
                assert_eq!(
                    verify_message(&address, &sig, &tampered),
                    Err(SignatureError::AddressMismatch)
                );
                assert_eq!(
                    verify_message_lenient(&address, &sig, &tampered),
                    Err(SignatureError::AddressMismatch)
                );

                // Wrong recovery id in the header: strict rejects, lenient ignores it.
                let mut flipped = sig_bytes(&sig);
                flipped[0] ^= 1;
                let flipped = sig_b64(&flipped);
                assert!(verify_message(&address, &flipped, &message).is_err());
                assert_eq!(verify_message_lenient(&address, &flipped, &message), Ok(()));
            }
        }
    }
}

#[test]
fn empty_and_long_messages_round_trip() {
    let secret = SecretKey::from_byte_array(&[7u8; 32]).unwrap();
    let public = PublicKey::from_secret_key(&Secp256k1::new(), &secret);
    let address = BitcoinAddress::from_public_key(&public, true, Network::Mainnet);
    for len in [0usize, 1, 0xfc, 0xfd, 0xffff, 0x1_0000, 100_000] {
        let message = "m".repeat(len);
        let sig = sign_message(&secret, true, &message);
        assert_eq!(verify_message(&address, &sig, &message), Ok(()), "{len}");
    }
}

#[test]
fn rejects_malformed_signatures() {
    let address = addr(ADDRESS);
    let check = |sig: &str, expected: fn(&SignatureError) -> bool| {
        for result in [
            verify_message(&address, sig, MESSAGE),
            verify_message_lenient(&address, sig, MESSAGE),
        ] {
            match result {
                Err(ref e) if expected(e) => {}
                other => panic!("{sig:?}: unexpected {other:?}"),
            }
        }
    };
    assert_eq!(verify_message(&address, SIGNATURE, MESSAGE), Ok(()));

    // Empty decodes to zero bytes.
    check("", |e| matches!(e, SignatureError::WrongLength { len: 0 }));
    // Truncated by a whole base64 quad: valid base64, 63 bytes.
    check(&SIGNATURE[..84], |e| {
        matches!(e, SignatureError::WrongLength { len: 63 })
    });
    // Truncated mid-quad / padding removed: not canonical base64.
    check(&SIGNATURE[..87], |e| {
        matches!(e, SignatureError::InvalidBase64(_))
    });
    check(SIGNATURE.trim_end_matches('='), |e| {
        matches!(e, SignatureError::InvalidBase64(_))
    });
    // Extra byte.
    let mut long = sig_bytes(SIGNATURE).to_vec();
    long.push(0);
    check(&sig_b64(&long), |e| {
        matches!(e, SignatureError::WrongLength { len: 66 })
    });
    // Garbage and non-base64 characters.
    check("not a signature", |e| {
        matches!(e, SignatureError::InvalidBase64(_))
    });
    check("!!!!", |e| matches!(e, SignatureError::InvalidBase64(_)));
    // The URL-safe alphabet is not the standard one.
    check(&SIGNATURE.replace('/', "_"), |e| {
        matches!(e, SignatureError::InvalidBase64(_))
    });
    check(&format!(" {SIGNATURE}"), |e| {
        matches!(e, SignatureError::InvalidBase64(_))
    });
    check(&format!("{SIGNATURE}\n"), |e| {
        matches!(e, SignatureError::InvalidBase64(_))
    });
    check("ÿÿÿÿ", |e| {
        matches!(e, SignatureError::InvalidBase64(_))
    });
    // 200-character strings: valid base64 of 150 bytes, and junk.
    check(&"A".repeat(200), |e| {
        matches!(e, SignatureError::WrongLength { len: 150 })
    });
    check(&"*".repeat(200), |e| {
        matches!(e, SignatureError::InvalidBase64(_))
    });
    // Huge input is rejected, not choked on.
    check(&"A".repeat(1 << 20), |e| {
        matches!(e, SignatureError::WrongLength { .. })
    });

    // 65 bytes whose r or s is not a valid scalar: nothing to recover.
    let good = sig_bytes(SIGNATURE);
    for (r, s) in [
        ([0u8; 32], [1u8; 32]),
        ([1u8; 32], [0u8; 32]),
        ([0xffu8; 32], [1u8; 32]),
        ([1u8; 32], [0xffu8; 32]),
    ] {
        let mut bad = [0u8; 65];
        bad[0] = good[0];
        bad[1..33].copy_from_slice(&r);
        bad[33..].copy_from_slice(&s);
        check(&sig_b64(&bad), |e| {
            matches!(e, SignatureError::Unrecoverable)
        });
    }
    // All-zero 65 bytes: the strict rule stops at the header.
    assert_eq!(
        verify_message(&address, &sig_b64(&[0u8; 65]), MESSAGE),
        Err(SignatureError::InvalidHeader(0))
    );
}

#[test]
fn header_byte_rules() {
    let address = addr(ADDRESS);
    let good = sig_bytes(SIGNATURE);
    for header in [0u8, 1, 26, 35, 42, 0x80, 0xff] {
        let mut sig = good;
        sig[0] = header;
        let sig = sig_b64(&sig);
        assert_eq!(
            verify_message(&address, &sig, MESSAGE),
            Err(SignatureError::InvalidHeader(header))
        );
        // siggy ignores the header byte entirely.
        assert_eq!(verify_message_lenient(&address, &sig, MESSAGE), Ok(()));
    }
    // Every in-range header is parsed; only the right one (31: recid 0, compressed) verifies.
    for header in 27u8..=34 {
        let mut sig = good;
        sig[0] = header;
        let result = verify_message(&address, &sig_b64(&sig), MESSAGE);
        if header == 31 {
            assert_eq!(result, Ok(()));
        } else {
            assert!(
                matches!(
                    result,
                    Err(SignatureError::AddressMismatch | SignatureError::Unrecoverable)
                ),
                "{header}: {result:?}"
            );
        }
    }
}

#[test]
fn wrong_address_rejected() {
    let other = addr("16vqGo3KRKE9kTsTZxKoJKLzwZGTodK3ce");
    assert_eq!(
        verify_message(&other, SIGNATURE, MESSAGE),
        Err(SignatureError::AddressMismatch)
    );
    assert_eq!(
        verify_message_lenient(&other, SIGNATURE, MESSAGE),
        Err(SignatureError::AddressMismatch)
    );
    // Same HASH160 on the other network: the signature does not commit to a network.
    let testnet = BitcoinAddress::from_hash160(Network::Testnet, addr(ADDRESS).hash160());
    assert!(testnet.to_string().starts_with(['m', 'n']));
    assert_eq!(verify_message(&testnet, SIGNATURE, MESSAGE), Ok(()));
}

#[test]
fn address_parsing() {
    let main = addr("1CptxARjqcfkVwGFSjR82zmPT8YtRMubub");
    assert_eq!(main.network(), Network::Mainnet);
    assert_eq!(main.version(), 0x00);
    assert_eq!(main.to_string(), "1CptxARjqcfkVwGFSjR82zmPT8YtRMubub");
    assert_eq!(
        format!("{main:?}"),
        "BitcoinAddress(1CptxARjqcfkVwGFSjR82zmPT8YtRMubub)"
    );
    let test = addr("mpLQjfK79b7CCV4VMJWEWAj5Mpx8Up5zxB");
    assert_eq!(test.network(), Network::Testnet);
    assert_eq!(test.version(), 0x6f);
    assert_eq!(test.to_string(), "mpLQjfK79b7CCV4VMJWEWAj5Mpx8Up5zxB");
    // Same key, both networks.
    assert_eq!(
        addr("19pTScE8LZfwRNasdjXrgFWkVqMRcU99GK").hash160(),
        test.hash160()
    );
    // Leading zero bytes of the HASH160 become extra '1's; the genesis address round-trips.
    let genesis = addr("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa");
    assert_eq!(genesis.to_string(), "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa");
    let zero = BitcoinAddress::from_hash160(Network::Mainnet, [0; 20]);
    assert_eq!(addr(&zero.to_string()), zero);
    assert_eq!(zero.as_str(), "1111111111111111111114oLvT2");
    // A parsed address keeps the string it was given; one built from its HASH160 encodes
    // the same string, and the two are equal.
    for parsed in [main, test, genesis] {
        let built = BitcoinAddress::from_hash160(parsed.network(), parsed.hash160());
        assert_eq!(built, parsed);
        assert_eq!(built.as_str(), parsed.as_str());
    }
    assert_eq!("1CptxARjqcfkVwGFSjR82zmPT8YtRMubub".parse(), Ok(main));

    let err = |s: &str| BitcoinAddress::parse(s).unwrap_err();
    assert_eq!(err(""), AddressError::Empty);
    assert_eq!(
        err("1CptxARjqcfkVwGFSjR82zmPT8YtRMubuc"),
        AddressError::BadChecksum
    );
    assert_eq!(
        err("2CptxARjqcfkVwGFSjR82zmPT8YtRMubub"),
        AddressError::BadChecksum
    );
    // P2SH (version 0x05) and testnet P2SH (0xc4) are not P2PKH.
    assert_eq!(
        err("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),
        AddressError::UnsupportedVersion(0x05)
    );
    assert_eq!(
        err("2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc"),
        AddressError::UnsupportedVersion(0xc4)
    );
    // Non-base58 characters: 0, O, I, l, space, non-ASCII.
    for (s, index) in [
        ("0CptxARjqcfkVwGFSjR82zmPT8YtRMubub", 0),
        ("1CptxARjqcfkVwGFSjR82zmPT8YtRMubuO", 33),
        ("1CptIARjqcfkVwGFSjR82zmPT8YtRMubub", 4),
        ("1CptxARjqcfkVwGFSjR82zmPT8YtRMubul", 33),
        ("1CptxARjqcfkVwGFSjR82zmPT8YtRMubu ", 33),
        ("1Cptx€jqcfkVwGFSjR82zmPT8YtRMub", 5),
    ] {
        assert_eq!(err(s), AddressError::InvalidCharacter { index }, "{s}");
    }
    // Well-formed Base58Check, wrong payload size (20 bytes, no version).
    let short = bs58::encode([0u8; 20]).with_check().into_string();
    assert_eq!(err(&short), AddressError::WrongLength { len: 24 });
    // A WIF key is too long to be an address; so is a 200-character string.
    assert!(matches!(
        err("KzugCvcGHbDDQREj6jKmLfJebUfHjYUaRafEwLJW4he6Ns2YomGV"),
        AddressError::TooLong { len: 52 }
    ));
    assert_eq!(err(&"1".repeat(200)), AddressError::TooLong { len: 200 });
    assert_eq!(err("1"), AddressError::WrongLength { len: 1 });
    // Bech32 is not accepted.
    assert!(BitcoinAddress::parse("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4").is_err());
}

#[test]
fn address_serde_and_network_strings() {
    let main = addr(ADDRESS);
    let json = serde_json::to_string(&main).unwrap();
    assert_eq!(json, format!("\"{ADDRESS}\""));
    assert_eq!(serde_json::from_str::<BitcoinAddress>(&json).unwrap(), main);
    assert!(
        serde_json::from_str::<BitcoinAddress>("\"3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy\"").is_err()
    );
    assert!(serde_json::from_str::<BitcoinAddress>("42").is_err());

    assert_eq!(Network::Mainnet.to_string(), "mainnet");
    assert_eq!(Network::Testnet.to_string(), "testnet");
    assert_eq!("mainnet".parse(), Ok(Network::Mainnet));
    assert_eq!("testnet".parse(), Ok(Network::Testnet));
    assert!("regtest".parse::<Network>().is_err());
    assert!("".parse::<Network>().is_err());
    assert_eq!(
        serde_json::to_string(&Network::Testnet).unwrap(),
        "\"testnet\""
    );
    assert_eq!(
        serde_json::from_str::<Network>("\"mainnet\"").unwrap(),
        Network::Mainnet
    );
}

#[test]
fn wif_parsing() {
    let (_, compressed, network) =
        parse_wif("KzugCvcGHbDDQREj6jKmLfJebUfHjYUaRafEwLJW4he6Ns2YomGV").unwrap();
    assert!(compressed);
    assert_eq!(network, Network::Mainnet);
    let (_, compressed, network) =
        parse_wif("cUeKHd5orzT3mz8P9pxyREHfsWtVfgsfDjiZZBcjUBAaGk1BTj7N").unwrap();
    assert!(compressed);
    assert_eq!(network, Network::Testnet);

    let wif = |payload: &[u8]| bs58::encode(payload).with_check().into_string();
    let mut key = vec![0x80];
    key.extend_from_slice(&[7u8; 32]);
    let (secret, compressed, network) = parse_wif(&wif(&key)).unwrap();
    assert_eq!(secret.secret_bytes(), [7u8; 32]);
    assert!(!compressed);
    assert_eq!(network, Network::Mainnet);

    let mut bad_flag = key.clone();
    bad_flag.push(0x02);
    assert_eq!(
        parse_wif(&wif(&bad_flag)),
        Err(WifError::BadCompressionFlag(0x02))
    );
    let mut bad_version = key.clone();
    bad_version[0] = 0x00;
    assert_eq!(
        parse_wif(&wif(&bad_version)),
        Err(WifError::UnsupportedVersion(0x00))
    );
    let mut zero = vec![0xef];
    zero.extend_from_slice(&[0u8; 32]);
    zero.push(0x01);
    assert_eq!(parse_wif(&wif(&zero)), Err(WifError::InvalidSecretKey));
    let mut over_order = vec![0x80];
    over_order.extend_from_slice(&[0xffu8; 32]);
    assert_eq!(
        parse_wif(&wif(&over_order)),
        Err(WifError::InvalidSecretKey)
    );
    assert_eq!(
        parse_wif(&wif(&key[..20])),
        Err(WifError::WrongLength { len: 24 })
    );
    assert_eq!(parse_wif(""), Err(WifError::Empty));
    assert_eq!(
        parse_wif("KzugCvcGHbDDQREj6jKmLfJebUfHjYUaRafEwLJW4he6Ns2YomGW"),
        Err(WifError::BadChecksum)
    );
    assert!(matches!(
        parse_wif("KzugCvcGHbDDQREj6jKmLfJebUfHjYUaRafEwLJW4he6Ns2Yom0V"),
        Err(WifError::InvalidCharacter { index: 50 })
    ));
    assert!(matches!(
        parse_wif(&"K".repeat(200)),
        Err(WifError::TooLong { len: 200 })
    ));
}

/// Random strings of every shape must produce errors, never panics.
#[test]
fn random_input_never_panics() {
    const ALPHABET: &[u8] =
        b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0OIl+/= \n\x00\xc3\xa9";
    let address = addr(ADDRESS);
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    for _ in 0..3000 {
        let len = rng.gen_range(0..120);
        let bytes: Vec<u8> = (0..len)
            .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())])
            .collect();
        let s = String::from_utf8_lossy(&bytes);
        let _ = BitcoinAddress::parse(&s);
        let _ = parse_wif(&s);
        assert!(verify_message(&address, &s, MESSAGE).is_err());
        assert!(verify_message_lenient(&address, &s, &s).is_err());
    }
    // Random 65-byte signatures are well-formed base64 but prove nothing.
    for _ in 0..300 {
        let mut sig = [0u8; 65];
        rng.fill(&mut sig[..]);
        let sig = sig_b64(&sig);
        assert!(verify_message(&address, &sig, MESSAGE).is_err());
        assert!(verify_message_lenient(&address, &sig, MESSAGE).is_err());
    }
}
