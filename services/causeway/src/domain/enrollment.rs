//! Rein enrollment documents: the master key's signed statement of which delegate signs for
//! it, which is what binds a delegate to an owner here.
//!
//! python-rein (`rein/lib/ui.py`) stores an enrollment as
//!
//! ```text
//! -----BEGIN BITCOIN SIGNED MESSAGE-----
//! Rein User Enrollment
//! User: Bob
//! Contact: bob@example.com
//! Master signing address: <maddr>
//! [Secure Identity Number: <msin>]
//! Delegate signing address: <daddr>
//! Willing to mediate: False
//! [Testnet: True]
//! -----BEGIN SIGNATURE-----
//! <maddr>
//! <signmessage(master key, text)>
//! -----END BITCOIN SIGNED MESSAGE-----
//! ```
//!
//! where the signed text is exactly what lies between the first header line and
//! `\n-----BEGIN SIGNATURE-----\n` (no trailing newline), and `rein/lib/validate.py`
//! (`validate_enrollment`) accepts it only when the signing address is the master address.

use service_kit::bitcoin::{BitcoinAddress, verify_message};

const BEGIN: &str = "-----BEGIN BITCOIN SIGNED MESSAGE-----\n";
const SIGNATURE: &str = "\n-----BEGIN SIGNATURE-----\n";
const END: &str = "\n-----END BITCOIN SIGNED MESSAGE-----";
const TITLE: &str = "Rein User Enrollment";
const MASTER: &str = "Master signing address: ";
const DELEGATE: &str = "Delegate signing address: ";

/// An enrollment whose signature by its master address has been verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrollment {
    pub master: BitcoinAddress,
    pub delegate: BitcoinAddress,
}

impl Enrollment {
    /// The enrollment `value` is, if it is one in python-rein's armour, names exactly one
    /// master and one delegate address of the same network, and is signed (strict Bitcoin
    /// Core rule) by that master address. Anything else is an ordinary document (`None`).
    pub fn verified(value: &str) -> Option<Self> {
        let armoured = value.strip_prefix(BEGIN)?;
        let armoured = armoured.trim_end_matches(['\n', '\r']).strip_suffix(END)?;
        let (text, signature_block) = armoured.rsplit_once(SIGNATURE)?;
        let mut block = signature_block.split('\n');
        let (signer, signature) = (block.next()?, block.next()?);
        if block.next().is_some() {
            return None;
        }
        let mut lines = text.split('\n');
        if lines.next()? != TITLE {
            return None;
        }
        let (mut master, mut delegate) = (None, None);
        for line in lines {
            for (label, slot) in [(MASTER, &mut master), (DELEGATE, &mut delegate)] {
                if let Some(found) = line.strip_prefix(label) {
                    // A label given twice is ambiguous: python-rein keeps the last, LIKE
                    // searches match either. Not an enrollment.
                    if slot.replace(found).is_some() {
                        return None;
                    }
                }
            }
        }
        let master = BitcoinAddress::parse(master?).ok()?;
        let delegate = BitcoinAddress::parse(delegate?).ok()?;
        if signer != master.as_str() || delegate.network() != master.network() {
            return None;
        }
        verify_message(&master, signature, text).ok()?;
        Some(Self { master, delegate })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Bob's enrollment from python-rein `tests/test-script.sql`, as the client stored it.
    const BOB: &str = "-----BEGIN BITCOIN SIGNED MESSAGE-----
Rein User Enrollment
User: Bob
Contact: bob@example.com
Master signing address: 1HZwkjkeaoZfTSaJxDw6aKkxp45agDiEzN
Delegate signing address: 1CptxARjqcfkVwGFSjR82zmPT8YtRMubub
Willing to mediate: False
-----BEGIN SIGNATURE-----
1HZwkjkeaoZfTSaJxDw6aKkxp45agDiEzN
G+I+yr15oWQJUlxC+FO5Bw8Oc1ExfGNPH0Bn0zBOSmjpZ+c/a8gvdabEaPLEdOI101lHLDmM42s94GUuUAUTFD0=
-----END BITCOIN SIGNED MESSAGE-----
";

    #[test]
    fn python_rein_fixture_verifies() {
        let enrollment = Enrollment::verified(BOB).unwrap();
        assert_eq!(
            enrollment.master.to_string(),
            "1HZwkjkeaoZfTSaJxDw6aKkxp45agDiEzN"
        );
        assert_eq!(
            enrollment.delegate.to_string(),
            "1CptxARjqcfkVwGFSjR82zmPT8YtRMubub"
        );
        // Without the trailing newline (validate.py's sample) it is the same document.
        assert!(Enrollment::verified(BOB.trim_end()).is_some());
    }

    #[test]
    fn altered_or_misattributed_enrollments_do_not_verify() {
        let altered = BOB.replace(
            "1CptxARjqcfkVwGFSjR82zmPT8YtRMubub",
            "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
        );
        assert!(Enrollment::verified(&altered).is_none());
        let retitled = BOB.replace("Rein User Enrollment", "Rein Job");
        assert!(Enrollment::verified(&retitled).is_none());
        let doubled = BOB.replace(
            "Willing to mediate: False",
            "Delegate signing address: 1CptxARjqcfkVwGFSjR82zmPT8YtRMubub",
        );
        assert!(Enrollment::verified(&doubled).is_none());
        let unsigned = BOB.split(SIGNATURE).next().unwrap().to_owned();
        assert!(Enrollment::verified(&unsigned).is_none());
        // Signed by the delegate's address line instead of the master's.
        let signer = BOB.replace(
            "-----\n1HZwkjkeaoZfTSaJxDw6aKkxp45agDiEzN\n",
            "-----\n1CptxARjqcfkVwGFSjR82zmPT8YtRMubub\n",
        );
        assert!(Enrollment::verified(&signer).is_none());
        assert!(Enrollment::verified("hello world").is_none());
    }
}
