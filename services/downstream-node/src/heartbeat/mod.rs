//! The Storj heartbeat ("Merkle" proof of storage), RandomIO and their wire JSON, byte for
//! byte as the original Python `heartbeat` and `RandomIO` packages compute them.

pub mod chunk_hash;
pub mod merkle;
pub mod prf;
pub mod random_io;
mod wire;

pub use chunk_hash::{ChunkSource, chunk_hash, chunk_size};
pub use merkle::{
    Challenge, Encoded, HeartbeatKey, Leaf, MerkleTree, Proof, ProofError, PublicHeartbeat, Tag,
    encode, next_seed, order_for, prove, verify, verify_unpositioned,
};
pub use prf::{keyed_prf, keyed_prf_bytes};
pub use random_io::{RandomFile, RandomIo};

/// The heartbeat type name the farmer checks (`Merkle` or `Swizzle`).
pub const HEARTBEAT_TYPE: &str = "Merkle";
