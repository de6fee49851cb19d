//! Newtypes and rules without I/O: what a key, a nonce, an address, a signed request and a
//! price are.

pub mod address;
pub mod bucket;
pub mod enrollment;
pub mod key;
pub mod nonce;
pub mod pricing;
pub mod signed;
pub mod time;
pub mod write;

pub use address::{Owner, Registration, parse_address};
pub use enrollment::Enrollment;
pub use key::{EncodedValue, Key, Value};
pub use nonce::Nonce;
pub use pricing::Sats;
pub use time::Clock;
pub use write::{Delete, Put};
