//! A contract as the operations see it, and the proofs a farmer submits for contracts.

use super::Schedule;
use crate::heartbeat::Proof;

/// The contract id a textual `file_hash` names, as the original's `int()` reads it (blanks
/// around it allowed).
pub fn parse_contract_id(text: &str) -> Option<i64> {
    text.trim().parse().ok()
}

/// One contract of a farmer: its challenge schedule and what its proofs are checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    pub id: i64,
    pub schedule: Schedule,
    pub root: [u8; 32],
    /// The order of its Merkle tree.
    pub order: u32,
}

/// One submitted proof: the contract its `file_hash` names (`None` when it names none) and
/// the proof (`None` when it does not parse).
#[derive(Debug, Clone)]
pub struct ProofItem {
    pub contract: Option<i64>,
    pub proof: Option<Proof>,
}
