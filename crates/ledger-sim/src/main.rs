//! `ledger-sim`: the three ledger stand-ins on fixed ports for `make run` and manual testing.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use ledger_sim::bitcoin_rpc::{BitcoinSim, BitcoinSimConfig};
use ledger_sim::indy::IndySim;
use ledger_sim::zkap::{KeySource, ZkapSim, ZkapSimConfig, public_key_of};

/// A pool transaction in the shape of an Indy genesis file; any well-formed genesis will do
/// for a simulated ledger, and the tails-server only compares it.
const DEFAULT_GENESIS: &str = r#"{"reqSignature":{},"txn":{"data":{"data":{"alias":"ledger-sim","client_ip":"127.0.0.1","client_port":9702,"node_ip":"127.0.0.1","node_port":9703,"services":["VALIDATOR"]},"dest":"Gw6pDLhcBcoQesN72qfotTgFa7cbuqZpkX3Xo6pLhPhv"},"metadata":{"from":"Th7MpTaRZVRYnPiabds81Y"},"type":"0"},"txnMetadata":{"seqNo":1,"txnId":"fea82e10e894419fe2bea7d96296a6d46f50f93f9eeda954ec461b2ed2950b62"},"ver":"1"}
"#;

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Local stand-ins for indy-vdr-proxy, the ZKAP issuer and Bitcoin Core"
)]
struct Args {
    /// Address all simulators listen on.
    #[arg(long, env = "LEDGER_SIM__HOST", default_value = "127.0.0.1")]
    host: String,
    /// indy-vdr-proxy REST port.
    #[arg(long, default_value_t = 9700)]
    indy_port: u16,
    /// Genesis transactions the Indy simulator serves (default: a built-in one).
    #[arg(long)]
    genesis_file: Option<PathBuf>,
    /// ZKAP issuer (PaymentServer) port.
    #[arg(long, default_value_t = 9701)]
    zkap_port: u16,
    /// Tokens per voucher, as PaymentServer's --tokens-per-voucher.
    #[arg(long, default_value_t = 32768)]
    zkap_tokens_per_voucher: u64,
    /// Redemption groups, as PaymentServer's --num-redemption-groups.
    #[arg(long, default_value_t = 16)]
    zkap_groups: u32,
    /// Issuer signing key, 32 bytes hex (default: random; read it at /admin/public-key).
    #[arg(long, env = "LEDGER_SIM__ZKAP_SIGNING_KEY", hide_env_values = true,
          conflicts_with_all = ["zkap_signing_key_file", "zkap_key_seed"])]
    zkap_signing_key: Option<String>,
    /// File holding the issuer signing key (32 bytes hex), so the public key stays the same
    /// across restarts.
    #[arg(
        long,
        env = "LEDGER_SIM__ZKAP_SIGNING_KEY_FILE",
        conflicts_with = "zkap_key_seed"
    )]
    zkap_signing_key_file: Option<PathBuf>,
    /// Derive the issuer signing key from this text: the same seed gives the same public key
    /// on every start (development stacks; docker-compose and the dev overlay set one).
    #[arg(long, env = "LEDGER_SIM__ZKAP_KEY_SEED", hide_env_values = true)]
    zkap_key_seed: Option<String>,
    /// Print the issuer's public key (base64, as zkap-client-api's allowed_public_keys wants)
    /// for the key chosen above, and exit.
    #[arg(long)]
    print_zkap_public_key: bool,
    /// Bitcoin Core JSON-RPC port.
    #[arg(long, default_value_t = 18443)]
    bitcoin_port: u16,
    #[arg(long, default_value = "ledger-sim")]
    bitcoin_user: String,
    #[arg(long, default_value = "ledger-sim")]
    bitcoin_password: String,
    /// Simulate mainnet addresses instead of testnet ones.
    #[arg(long)]
    bitcoin_mainnet: bool,
    /// Mine a block every this many seconds (0: only on generatetoaddress).
    #[arg(long, default_value_t = 10)]
    block_interval: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();

    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let genesis = match &args.genesis_file {
        Some(path) => std::fs::read_to_string(path)?,
        None => DEFAULT_GENESIS.to_owned(),
    };
    let key_source = if let Some(hex) = &args.zkap_signing_key {
        KeySource::Hex(hex.clone())
    } else if let Some(path) = &args.zkap_signing_key_file {
        KeySource::File(path.clone())
    } else if let Some(seed) = &args.zkap_key_seed {
        KeySource::Seed(seed.clone())
    } else {
        KeySource::Random
    };
    let signing_key = key_source.resolve().map_err(anyhow::Error::msg)?;
    if args.print_zkap_public_key {
        let key = signing_key.ok_or_else(|| {
            anyhow::anyhow!("a random key has no fixed public key: give --zkap-key-seed, --zkap-signing-key or --zkap-signing-key-file")
        })?;
        println!("{}", public_key_of(&key).map_err(anyhow::Error::msg)?);
        return Ok(());
    }

    let indy = IndySim::start(&format!("{}:{}", args.host, args.indy_port), genesis)?;
    let zkap = ZkapSim::start(
        &format!("{}:{}", args.host, args.zkap_port),
        ZkapSimConfig {
            tokens_per_voucher: args.zkap_tokens_per_voucher,
            groups: args.zkap_groups,
            signing_key,
        },
    )?;
    let bitcoin = BitcoinSim::start(
        &format!("{}:{}", args.host, args.bitcoin_port),
        BitcoinSimConfig {
            user: args.bitcoin_user.clone(),
            password: args.bitcoin_password.clone(),
            testnet: !args.bitcoin_mainnet,
        },
    )?;
    log::info!("indy-vdr-proxy  {}", indy.url());
    log::info!(
        "ZKAP issuer     {} (public key {})",
        zkap.url(),
        zkap.public_key()
    );
    log::info!(
        "Bitcoin Core    {} (user {})",
        bitcoin.url(),
        args.bitcoin_user
    );

    if args.block_interval > 0 {
        let mut ticks = tokio::time::interval(Duration::from_secs(args.block_interval));
        ticks.tick().await;
        loop {
            tokio::select! {
                _ = ticks.tick() => { bitcoin.mine(1); }
                _ = tokio::signal::ctrl_c() => break,
            }
        }
    } else {
        tokio::signal::ctrl_c().await?;
    }
    indy.stop().await;
    zkap.stop().await;
    bitcoin.stop().await;
    Ok(())
}
