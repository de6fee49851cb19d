//! Every golden vector of vectors/downstream-heartbeat.json, byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use downstream_node::heartbeat::{
    self, Challenge, HeartbeatKey, Proof, PublicHeartbeat, RandomFile, RandomIo, Tag,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn vectors() -> Value {
    let text = include_str!("vectors/downstream-heartbeat.json");
    serde_json::from_str(text).unwrap()
}

fn bytes32(hex_text: &Value) -> [u8; 32] {
    hex::decode(hex_text.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

/// Decimal string or JSON number -> big-endian bytes.
fn big_be(value: &Value) -> Vec<u8> {
    let digits = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut out = vec![0u8];
    for d in digits.bytes() {
        let mut carry = u32::from(d - b'0');
        for byte in out.iter_mut().rev() {
            let v = u32::from(*byte) * 10 + carry;
            *byte = (v & 0xff) as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            out.insert(0, (carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    out
}

fn strip(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

#[test]
fn random_io_ranges() {
    let v = vectors();
    for case in v["randomio"].as_array().unwrap() {
        let rio = RandomIo::new(case["seed"].as_str().unwrap());
        let mut buf = vec![0; case["length"].as_u64().unwrap() as usize];
        rio.read_at(case["offset"].as_u64().unwrap(), &mut buf);
        assert_eq!(hex::encode(&buf), case["hex"].as_str().unwrap(), "{case}");
    }
}

#[test]
fn random_io_whole_file_digest() {
    let v = vectors();
    let case = &v["randomio_digest"];
    let file = RandomIo::new(case["seed"].as_str().unwrap())
        .generate(case["size"].as_u64().unwrap() as usize);
    assert_eq!(
        hex::encode(Sha256::digest(&file)),
        case["sha256"].as_str().unwrap()
    );
}

#[test]
fn keyed_prf_outputs() {
    let v = vectors();
    for case in v["prf"].as_array().unwrap() {
        let seed = bytes32(&case["seed_hex"]);
        let range = big_be(&case["range"]);
        let out = heartbeat::keyed_prf_bytes(&seed, &range).unwrap();
        assert_eq!(
            out.len() as u64,
            case["pad_len_bytes"].as_u64().unwrap(),
            "{case}"
        );
        assert_eq!(strip(&out), strip(&big_be(&case["output"])), "{case}");
        if let Some(r) = case["range"].as_u64() {
            let expected = case["output"].as_u64().unwrap();
            assert_eq!(heartbeat::keyed_prf(&seed, r), expected, "{case}");
        }
    }
}

#[test]
fn chunk_sizes() {
    let v = vectors();
    for case in v["chunksz"].as_array().unwrap() {
        let filesz = case["filesz"].as_u64().unwrap();
        assert_eq!(
            heartbeat::chunk_size(filesz, 0.01),
            case["chunksz"].as_u64().unwrap(),
            "{case}"
        );
    }
}

#[test]
fn farmer_id_from_token() {
    let v = vectors();
    let raw = hex::decode(v["farmer_id"]["token"].as_str().unwrap()).unwrap();
    let id = &hex::encode(Sha256::digest(&raw))[..20];
    assert_eq!(id, v["farmer_id"]["farmer_id"].as_str().unwrap());
}

struct Run {
    v: Value,
    key: HeartbeatKey,
    file: Vec<u8>,
    encoded: heartbeat::Encoded,
}

fn reference_run() -> Run {
    let v = vectors()["merkle"].clone();
    let key = HeartbeatKey::from_bytes(bytes32(&v["key_hex"]));
    let filesz = v["filesz"].as_u64().unwrap();
    let file = RandomIo::new(v["file_seed"].as_str().unwrap()).generate(filesz as usize);
    let encoded = heartbeat::encode(
        &key,
        file.as_slice(),
        filesz,
        v["n"].as_u64().unwrap() as u32,
        bytes32(&v["s0_hex"]),
        v["check_fraction"].as_f64().unwrap(),
    );
    Run {
        v,
        key,
        file,
        encoded,
    }
}

#[test]
fn merkle_encode_matches_tag_and_root() {
    let Run { v, encoded, .. } = reference_run();
    assert_eq!(hex::encode(encoded.root), v["root_hex"].as_str().unwrap());
    assert_eq!(encoded.tag.chunksz, v["chunksz"].as_u64().unwrap());
    assert_eq!(encoded.tag.tree.order as u64, v["order"].as_u64().unwrap());
    assert_eq!(
        encoded.tag.tree.nodes.len() as u64,
        v["tag_node_count"].as_u64().unwrap()
    );

    let tag_json = serde_json::to_value(&encoded.tag).unwrap();
    assert_eq!(tag_json, v["tag"]);
    let first3: Vec<Value> = tag_json["tree"]["nodes"].as_array().unwrap()[..3].to_vec();
    assert_eq!(Value::Array(first3), v["tag_nodes_first3_b64"]);
    assert_eq!(tag_json["tree"]["nodes"][511], v["tag_last_node"]);

    // Python's json.dumps adds one space after every ',' and ':' separator; base64 has neither.
    let compact = serde_json::to_string(&encoded.tag).unwrap();
    let separators = compact.bytes().filter(|b| matches!(b, b',' | b':')).count();
    assert_eq!(
        (compact.len() + separators) as u64,
        v["tag_json_len"].as_u64().unwrap()
    );
    // Key order as the original writes it.
    assert!(
        compact.starts_with(r#"{"tree":{"nodes":["#),
        "{}",
        &compact[..40]
    );
    assert!(compact.ends_with(r#""order":8,"leaves":[]},"chunksz":327,"filesz":32768}"#));

    let back: Tag = serde_json::from_value(v["tag"].clone()).unwrap();
    assert_eq!(back, encoded.tag);
}

#[test]
fn public_heartbeat_json() {
    let v = vectors()["merkle"].clone();
    let public = serde_json::to_value(PublicHeartbeat::new(0.01)).unwrap();
    assert_eq!(public, v["heartbeat_public"]);
    assert_eq!(
        serde_json::to_string(&PublicHeartbeat::new(0.01)).unwrap(),
        r#"{"key":"","check_fraction":0.01}"#
    );
}

#[test]
fn challenges_prf_offsets_leaves_and_proofs() {
    let Run {
        v,
        key,
        file,
        encoded,
    } = reference_run();
    let s0 = bytes32(&v["s0_hex"]);
    let s1 = heartbeat::next_seed(&key, &s0);
    let s2 = heartbeat::next_seed(&key, &s1);
    let filesz = v["filesz"].as_u64().unwrap();
    let chunksz = v["chunksz"].as_u64().unwrap();
    let range = v["prf_range"].as_u64().unwrap();
    assert_eq!(range, filesz - chunksz + 1);

    for (i, seed) in [(0, s1), (1, s2)] {
        let challenge = Challenge { seed, index: i };
        let wire: Challenge = serde_json::from_value(v[format!("challenge{i}")].clone()).unwrap();
        assert_eq!(wire, challenge);
        assert_eq!(
            serde_json::to_value(&challenge).unwrap(),
            v[format!("challenge{i}")]
        );
        assert_eq!(
            hex::encode(seed),
            v[format!("challenge{i}_seed_hex")].as_str().unwrap()
        );
        assert_eq!(
            heartbeat::keyed_prf(&seed, range),
            v[format!("prf_offset{i}")].as_u64().unwrap()
        );
        let blob = heartbeat::chunk_hash(file.as_slice(), &seed, filesz, chunksz);
        assert_eq!(
            hex::encode(blob),
            v[format!("leaf_blob{i}_hex")].as_str().unwrap()
        );
        // The node regenerates the same windows from the seed alone.
        let regenerated = RandomFile::new(v["file_seed"].as_str().unwrap(), filesz);
        assert_eq!(
            heartbeat::chunk_hash(&regenerated, &seed, filesz, chunksz),
            blob
        );
        let leaf_node = &encoded.tag.tree.nodes[255 + i as usize];
        assert_eq!(
            hex::encode(leaf_node),
            v[format!("leaf_hash{i}_hex")].as_str().unwrap()
        );

        let proof = heartbeat::prove(file.as_slice(), &challenge, &encoded.tag).unwrap();
        assert_eq!(
            serde_json::to_value(&proof).unwrap(),
            v[format!("proof{i}")]
        );
        let parsed: Proof = serde_json::from_value(v[format!("proof{i}")].clone()).unwrap();
        assert!(heartbeat::verify(&parsed, i, &encoded.root, 8));
        assert!(heartbeat::verify_unpositioned(&parsed, i, &encoded.root));
    }
}

#[test]
fn negative_proofs_are_rejected() {
    let Run { v, encoded, .. } = reference_run();
    let cases = v["negative_proofs"].as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        assert_eq!(case["expected_valid"], Value::Bool(false));
        let proof: Proof = serde_json::from_value(case["proof"].clone()).unwrap();
        assert!(
            !heartbeat::verify(&proof, 0, &encoded.root, 8),
            "{}",
            case["case"]
        );
        assert!(
            !heartbeat::verify_unpositioned(&proof, 0, &encoded.root),
            "{}",
            case["case"]
        );
    }
}

#[test]
fn truncated_or_reordered_branches_are_rejected() {
    let Run { v, encoded, .. } = reference_run();
    let honest: Proof = serde_json::from_value(v["proof0"].clone()).unwrap();
    let mut short = honest.clone();
    short.branch.rows.pop();
    assert!(!heartbeat::verify(&short, 0, &encoded.root, 8));
    let mut reordered = honest.clone();
    reordered.branch.rows.reverse();
    assert!(!heartbeat::verify(&reordered, 0, &encoded.root, 8));
    let mut swapped = honest;
    swapped.branch.rows[0].swap(0, 1);
    assert!(!heartbeat::verify(&swapped, 0, &encoded.root, 8));
}

#[test]
fn every_challenge_of_a_small_file_round_trips() {
    let key = HeartbeatKey::from_bytes([7; 32]);
    for (filesz, n) in [(0u64, 1u32), (50, 3), (1000, 5), (4096, 256), (100_000, 17)] {
        let file = RandomIo::new("abc").generate(filesz as usize);
        let encoded = heartbeat::encode(&key, file.as_slice(), filesz, n, [9; 32], 0.01);
        let mut seed = [9; 32];
        for index in 0..n {
            seed = heartbeat::next_seed(&key, &seed);
            let challenge = Challenge { seed, index };
            let proof = heartbeat::prove(file.as_slice(), &challenge, &encoded.tag).unwrap();
            assert!(
                heartbeat::verify(&proof, index, &encoded.root, encoded.tag.tree.order),
                "filesz {filesz} n {n} index {index}"
            );
            let mut wrong = proof.clone();
            wrong.leaf.blob[0] ^= 1;
            assert!(!heartbeat::verify(
                &wrong,
                index,
                &encoded.root,
                encoded.tag.tree.order
            ));
        }
    }
}
