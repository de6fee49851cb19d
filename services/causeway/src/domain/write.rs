//! The signed writes of `/put` and `/delete`, once their signatures are verified.

use service_kit::bitcoin::BitcoinAddress;

use super::{Enrollment, Key, Nonce, Value};

/// A `/put` whose signature has been verified.
#[derive(Debug)]
pub struct Put {
    pub owner: BitcoinAddress,
    pub signer: BitcoinAddress,
    pub key: Key,
    pub value: Value,
    pub nonce: Nonce,
    /// Digest of the signed text: the same request accepted twice is a replay.
    pub digest: String,
    pub testnet: bool,
    /// The value as an enrollment the master key signed, if it is one.
    pub enrollment: Option<Enrollment>,
}

impl Put {
    /// The delegate this put binds: the value is the owner's own enrollment (signed by the
    /// owner's master key) and the put is signed by the delegate it names or by the master.
    pub fn binds(&self) -> Option<String> {
        let enrollment = self.enrollment.as_ref()?;
        (enrollment.master == self.owner
            && (self.signer == enrollment.delegate || self.signer == self.owner))
            .then(|| enrollment.delegate.to_string())
    }
}

/// A `/delete` whose signature has been verified.
#[derive(Debug)]
pub struct Delete {
    /// The owner the client names, if it does; the document's owner otherwise.
    pub owner: Option<BitcoinAddress>,
    pub signer: BitcoinAddress,
    pub key: Key,
    pub nonce: Nonce,
    pub digest: String,
}
