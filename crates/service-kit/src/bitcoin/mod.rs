//! Bitcoin `signmessage` verification and Base58Check P2PKH addresses.
//!
//! Users prove control of a Bitcoin address by signing service-chosen text with their
//! wallet, so the services need Bitcoin Core's exact rule to agree with wallets, plus the
//! looser rule downstream-node inherited from Storj siggy so its clients keep working.

mod address;
mod signmessage;

/// Parsed once at the request boundary, so handlers never carry unchecked address strings.
pub use address::BitcoinAddress;
/// Settings name the network as text; addresses carry it in their version byte.
pub use address::Network;
/// Lets fixtures and tools sign with keys exported by ordinary wallets.
pub use address::parse_wif;
/// Typed so the error contract can answer 400 with the precise reason.
pub use address::{AddressError, UnknownNetwork, WifError};
/// Typed so the error contract can answer 400 with the precise reason.
pub use signmessage::SignatureError;
/// For clients, tests and benchmarks; byte-identical to Bitcoin Core's output.
pub use signmessage::sign_message;
/// Only for downstream-node, whose clients were accepted under siggy's looser rule.
pub use signmessage::verify_message_lenient;
/// Exposed so callers can log or cache what was actually signed.
pub use signmessage::{message_digest, message_digest_of};
/// The default rule (Causeway, Bitcoin Core): what wallets produce and expect to pass.
pub use signmessage::{verify_digest, verify_message};
