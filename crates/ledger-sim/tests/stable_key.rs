//! The ZKAP issuer's key can be fixed (seed, hex or key file), so a deployment can name the
//! issuer's public key in zkap-client-api's `allowed_public_keys` before the issuer starts;
//! and the development stacks (docker-compose, the dev overlay) do so consistently.

#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use ledger_sim::zkap::{KeySource, ZkapSim, ZkapSimConfig, public_key_of, signing_key_from_seed};

fn config(source: &KeySource) -> ZkapSimConfig {
    ZkapSimConfig {
        tokens_per_voucher: 8,
        groups: 1,
        signing_key: source.resolve().expect("key source"),
    }
}

async fn public_key_after_start(source: &KeySource) -> String {
    let sim = ZkapSim::start("127.0.0.1:0", config(source)).expect("start");
    let from_admin: serde_json::Value = reqwest::get(format!("{}/admin/public-key", sim.url()))
        .await
        .expect("GET /admin/public-key")
        .json()
        .await
        .expect("json");
    let key = sim.public_key();
    assert_eq!(from_admin["public-key"], key.as_str());
    sim.stop().await;
    key
}

#[actix_web::test]
async fn the_same_seed_gives_the_same_key_on_every_start() {
    let seed = KeySource::Seed("a seed".to_owned());
    let first = public_key_after_start(&seed).await;
    let second = public_key_after_start(&seed).await;
    assert_eq!(first, second);
    assert_eq!(first.len(), 44);
    let other = public_key_after_start(&KeySource::Seed("another seed".to_owned())).await;
    assert_ne!(first, other);
    // Without a fixed key every start draws a new one: the reason the fixed key exists.
    let random_a = public_key_after_start(&KeySource::Random).await;
    let random_b = public_key_after_start(&KeySource::Random).await;
    assert_ne!(random_a, random_b);
}

#[actix_web::test]
async fn a_key_file_and_hex_give_the_key_they_hold() {
    let key = signing_key_from_seed("file seed");
    let dir = std::env::temp_dir().join(format!("ledger-sim-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("issuer.key");
    std::fs::write(&file, format!("{}\n", hex::encode(key))).expect("write");
    let from_file = public_key_after_start(&KeySource::File(file.clone())).await;
    let from_hex = public_key_after_start(&KeySource::Hex(hex::encode(key))).await;
    assert_eq!(from_file, from_hex);
    assert_eq!(from_file, public_key_of(&key).expect("public key"));
    std::fs::write(&file, "not hex").expect("write");
    assert!(KeySource::File(file).resolve().is_err());
    // Not a canonical scalar (all ones is above the group order).
    assert!(KeySource::Hex("ff".repeat(32)).resolve().is_err());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_binary_prints_the_public_key_of_its_seed() {
    let output = Command::new(env!("CARGO_BIN_EXE_ledger-sim"))
        .args(["--print-zkap-public-key"])
        .env("LEDGER_SIM__ZKAP_KEY_SEED", "a seed")
        .output()
        .expect("run ledger-sim");
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout).expect("utf-8");
    let expected = public_key_of(&signing_key_from_seed("a seed")).expect("public key");
    assert_eq!(printed.trim(), expected);
}

fn repo_file(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path: PathBuf = root.join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The value after `name` and a separator (`=`, `:` or `value:` on the next line) in `text`.
fn setting(text: &str, name: &str) -> String {
    let start = text
        .find(name)
        .unwrap_or_else(|| panic!("{name} not found"))
        + name.len();
    let rest = text[start..].trim_start_matches([' ', '"', '=', ':']);
    let rest = rest.strip_prefix("\n").map_or(rest, |r| {
        r.trim_start()
            .trim_start_matches("value:")
            .trim_start_matches([' ', '"'])
    });
    rest.split(['"', '\n', ',', ' '])
        .next()
        .expect("value")
        .to_owned()
}

/// What kept zkap-client-api from starting in docker-compose and the dev overlay: the
/// allowed public key was a placeholder, and ledger-sim's key was random.
#[test]
fn compose_and_the_dev_overlay_allow_the_key_their_ledger_sim_issues_with() {
    let compose = repo_file("deploy/docker-compose.yml");
    let seed = setting(&compose, "LEDGER_SIM__ZKAP_KEY_SEED");
    let expected = public_key_of(&signing_key_from_seed(&seed)).expect("public key");
    let env_example = repo_file("deploy/zkap-client-api.env.example");
    assert_eq!(
        setting(&env_example, "\nZKAP_CLIENT_API__ALLOWED_PUBLIC_KEYS"),
        expected,
        "deploy/zkap-client-api.env.example"
    );

    let ledger = repo_file("k8s/overlays/dev/ledger-sim.yaml");
    let dev_seed = setting(&ledger, "LEDGER_SIM__ZKAP_KEY_SEED");
    let dev_expected = public_key_of(&signing_key_from_seed(&dev_seed)).expect("public key");
    let overlay = repo_file("k8s/overlays/dev/kustomization.yaml");
    assert_eq!(
        setting(&overlay, "/data/ZKAP_CLIENT_API__ALLOWED_PUBLIC_KEYS"),
        dev_expected,
        "k8s/overlays/dev/kustomization.yaml"
    );
}
