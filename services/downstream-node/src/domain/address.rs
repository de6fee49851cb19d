//! SJCX (Counterparty on Bitcoin mainnet) farming addresses.

use std::fmt;

use service_kit::bitcoin::{BitcoinAddress, Network};

/// A mainnet P2PKH address: the only kind a `signmessage` signature speaks for. P2SH and
/// testnet addresses are refused with a 400 (the original answered 500).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SjcxAddress(BitcoinAddress);

impl SjcxAddress {
    pub fn parse(text: &str) -> Option<Self> {
        let address = BitcoinAddress::parse(text.trim()).ok()?;
        (address.network() == Network::Mainnet).then_some(Self(address))
    }

    pub fn bitcoin(&self) -> &BitcoinAddress {
        &self.0
    }
}

impl fmt::Display for SjcxAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mainnet_p2pkh_only() {
        assert!(SjcxAddress::parse("19qVgG8C6eXwKMMyvVegsi3xCsKyk3Z3jV").is_some());
        // P2SH, testnet, garbage, bad checksum.
        assert!(SjcxAddress::parse("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy").is_none());
        assert!(SjcxAddress::parse("mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn").is_none());
        assert!(SjcxAddress::parse("not an address").is_none());
        assert!(SjcxAddress::parse("19qVgG8C6eXwKMMyvVegsi3xCsKyk3Z3jW").is_none());
    }
}
