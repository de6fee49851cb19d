//! The `Merkle` heartbeat: the node encodes a file into a tag (a Merkle tree over 256
//! seed-keyed chunk hashes), hands out one challenge seed at a time, and checks the
//! farmer's Merkle branch against the root it kept.

use std::fmt;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::chunk_hash::{ChunkSource, chunk_hash, chunk_size, hmac_sha256};
use super::wire;

/// The node's secret heartbeat key; it derives every challenge seed.
#[derive(Clone, PartialEq, Eq)]
pub struct HeartbeatKey([u8; 32]);

impl fmt::Debug for HeartbeatKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HeartbeatKey(..)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read heartbeat key file {0}: {1}")]
    Read(PathBuf, #[source] io::Error),
    #[error("cannot create heartbeat key file {0}: {1}")]
    Create(PathBuf, #[source] io::Error),
    #[error("heartbeat key file {0} does not hold 64 hex characters")]
    Malformed(PathBuf),
}

impl HeartbeatKey {
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn generate() -> Self {
        let mut bytes = [0; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Reads the key from `path` (64 hex characters), creating it with mode 0600 on first
    /// start; a key that changed would invalidate every running contract.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyFileError> {
        match std::fs::read_to_string(path) {
            Ok(text) => return Self::parse_file(path, &text),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(KeyFileError::Read(path.to_owned(), err)),
        }
        let create = |err| KeyFileError::Create(path.to_owned(), err);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(create)?;
        }
        let key = Self::generate();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(mut file) => {
                writeln!(file, "{}", hex::encode(key.0)).map_err(create)?;
                file.sync_all().map_err(create)?;
                log::info!("created heartbeat key file {}", path.display());
                Ok(key)
            }
            // Another process created it first: use theirs.
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| KeyFileError::Read(path.to_owned(), e))?;
                Self::parse_file(path, &text)
            }
            Err(err) => Err(create(err)),
        }
    }

    fn parse_file(path: &Path, text: &str) -> Result<Self, KeyFileError> {
        let bytes = hex::decode(text.trim()).map_err(|_| KeyFileError::Malformed(path.into()))?;
        let bytes = <[u8; 32]>::try_from(bytes.as_slice())
            .map_err(|_| KeyFileError::Malformed(path.into()))?;
        Ok(Self(bytes))
    }
}

/// `s_{i+1} = HMAC-SHA256(key, s_i)`: the seed chain of a contract's challenges.
pub fn next_seed(key: &HeartbeatKey, seed: &[u8; 32]) -> [u8; 32] {
    hmac_sha256(&key.0, &[seed])
}

/// Tree height `ceil(log2(n))` (0 for a single leaf).
pub const fn order_for(n: u32) -> u32 {
    if n <= 1 {
        0
    } else {
        32 - (n - 1).leading_zeros()
    }
}

/// The public heartbeat `/new` and `/heartbeat` send: the key stripped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicHeartbeat {
    pub key: String,
    pub check_fraction: f64,
}

impl PublicHeartbeat {
    pub fn new(check_fraction: f64) -> Self {
        Self {
            key: String::new(),
            check_fraction,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerkleTree {
    /// `2^(order+1)` nodes, root first, leaf hashes from index `2^order - 1`; the last is
    /// always empty.
    #[serde(with = "wire::bytes_vec")]
    pub nodes: Vec<Vec<u8>>,
    pub order: u32,
    /// Always empty on the wire: the leaf blobs are dropped after encoding.
    #[serde(with = "wire::bytes_vec")]
    pub leaves: Vec<Vec<u8>>,
}

/// What the farmer keeps beside its file to build proofs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub tree: MerkleTree,
    pub chunksz: u64,
    pub filesz: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    #[serde(with = "wire::bytes32")]
    pub seed: [u8; 32],
    pub index: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leaf {
    pub index: u32,
    #[serde(with = "wire::bytes")]
    pub blob: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branch {
    #[serde(with = "wire::rows")]
    pub rows: Vec<[Vec<u8>; 2]>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    pub leaf: Leaf,
    pub branch: Branch,
}

/// The result of encoding: the tag for the farmer and what the node keeps.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub tag: Tag,
    pub root: [u8; 32],
    pub n: u32,
}

/// The parent of node `j` in the heap layout (the root is 0).
const fn parent(j: usize) -> usize {
    j.saturating_sub(1) / 2
}

fn leaf_hash(blob: &[u8], index: u32) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(blob);
    hasher.update(index.to_string().as_bytes());
    hasher.finalize().into()
}

fn node_hash(left: &[u8], right: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// Builds the tag of `file` for `n` challenges whose seeds chain from `s0`.
pub fn encode<S: ChunkSource + ?Sized>(
    key: &HeartbeatKey,
    file: &S,
    filesz: u64,
    n: u32,
    s0: [u8; 32],
    check_fraction: f64,
) -> Encoded {
    let chunksz = chunk_size(filesz, check_fraction);
    let order = order_for(n);
    let width = 1usize << order;
    let mut nodes = vec![Vec::new(); 2 * width];
    let mut seed = s0;
    for index in 0..n {
        seed = next_seed(key, &seed);
        let blob = chunk_hash(file, &seed, filesz, chunksz);
        if let Some(slot) = nodes.get_mut(width - 1 + index as usize) {
            *slot = leaf_hash(&blob, index).to_vec();
        }
    }
    for level in 1..=order {
        let p = 1usize << (order - level);
        for k in (p - 1)..=(2 * p - 2) {
            let hash = match (nodes.get(2 * k + 1), nodes.get(2 * k + 2)) {
                (Some(left), Some(right)) => node_hash(left, right),
                _ => continue,
            };
            if let Some(slot) = nodes.get_mut(k) {
                *slot = hash.to_vec();
            }
        }
    }
    let root = nodes
        .first()
        .and_then(|r| <[u8; 32]>::try_from(r.as_slice()).ok())
        .unwrap_or_default();
    Encoded {
        tag: Tag {
            tree: MerkleTree {
                nodes,
                order,
                leaves: Vec::new(),
            },
            chunksz,
            filesz,
        },
        root,
        n,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("challenge index {0} is outside the tag's tree")]
    IndexOutOfTree(u32),
}

/// The farmer's side: the proof for `challenge` over `file` with its `tag`.
pub fn prove<S: ChunkSource + ?Sized>(
    file: &S,
    challenge: &Challenge,
    tag: &Tag,
) -> Result<Proof, ProofError> {
    let blob = chunk_hash(file, &challenge.seed, tag.filesz, tag.chunksz);
    let nodes = &tag.tree.nodes;
    let out_of_tree = || ProofError::IndexOutOfTree(challenge.index);
    let width = 1usize.checked_shl(tag.tree.order).ok_or_else(out_of_tree)?;
    let mut j = (challenge.index as usize)
        .checked_add(width - 1)
        .ok_or_else(out_of_tree)?;
    let mut rows = Vec::with_capacity(tag.tree.order as usize);
    for _ in 0..tag.tree.order {
        let (left, right) = if j % 2 == 1 { (j, j + 1) } else { (j - 1, j) };
        let (Some(l), Some(r)) = (nodes.get(left), nodes.get(right)) else {
            return Err(out_of_tree());
        };
        rows.push([l.clone(), r.clone()]);
        j = parent(j);
    }
    Ok(Proof {
        leaf: Leaf {
            index: challenge.index,
            blob: blob.to_vec(),
        },
        branch: Branch { rows },
    })
}

/// Positional verification: each row must hold the running hash on the side the index
/// bits say, so a branch proves exactly one leaf position. Honest proofs always pass.
pub fn verify(proof: &Proof, challenge_index: u32, root: &[u8; 32], order: u32) -> bool {
    if proof.leaf.index != challenge_index || proof.branch.rows.len() != order as usize {
        return false;
    }
    let Some(width) = 1usize.checked_shl(order) else {
        return false;
    };
    if challenge_index as usize >= width {
        return false;
    }
    let mut j = challenge_index as usize + width - 1;
    let mut hash = leaf_hash(&proof.leaf.blob, proof.leaf.index);
    for [left, right] in &proof.branch.rows {
        let ours = if j % 2 == 1 { left } else { right };
        if ours.as_slice() != hash.as_slice() {
            return false;
        }
        hash = node_hash(left, right);
        j = parent(j);
    }
    &hash == root
}

/// The original's check: the running hash may sit on either side of a row.
pub fn verify_unpositioned(proof: &Proof, challenge_index: u32, root: &[u8; 32]) -> bool {
    if proof.leaf.index != challenge_index {
        return false;
    }
    let mut hash = leaf_hash(&proof.leaf.blob, proof.leaf.index);
    for [left, right] in &proof.branch.rows {
        if left.as_slice() != hash.as_slice() && right.as_slice() != hash.as_slice() {
            return false;
        }
        hash = node_hash(left, right);
    }
    &hash == root
}
