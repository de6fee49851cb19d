//! Identifiers and rules with no I/O: what a stored name may be, what a tails file must look
//! like, how a genesis is recognised.

mod genesis;
mod rev_reg_id;
mod stored_name;
mod tails_format;
mod tails_hash;

pub use genesis::{Genesis, GenesisError};
pub use rev_reg_id::{RevRegId, RevRegIdError};
pub use stored_name::StoredName;
pub use tails_format::{FormatError, TailsHead, expected_size};
pub use tails_hash::{TailsHash, TailsHashError};

/// Longest id accepted. Stored names become file names (plus a `.lock` suffix for the lock
/// file), and common file systems allow 255 bytes.
pub const MAX_ID_LEN: usize = 240;

/// What no stored name may contain, whatever its grammar: separators, NUL and other control
/// characters, and characters shells and URLs treat specially.
fn has_unsafe_char(text: &str) -> bool {
    text.chars().any(|c| {
        c.is_control()
            || matches!(
                c,
                '/' | '\\' | '?' | '#' | '%' | '*' | '"' | '<' | '>' | '|'
            )
    })
}
