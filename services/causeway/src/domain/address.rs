use service_kit::bitcoin::{BitcoinAddress, Network};

use crate::error::Error;

/// A P2PKH address on the network the request is about; `field` names it in the error.
pub fn parse_address(
    s: &str,
    network: Network,
    field: &'static str,
) -> Result<BitcoinAddress, Error> {
    let address = BitcoinAddress::parse(s.trim()).map_err(|e| Error::invalid(field, e))?;
    if address.network() != network {
        return Err(Error::invalid(
            field,
            format!("{address} is not a {network} address"),
        ));
    }
    Ok(address)
}

/// An owner as stored: its master address and the delegate that signs for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub address: String,
    pub delegate: String,
    /// Whether the delegate was named by an enrollment the master key signed (see
    /// [`crate::domain::Enrollment`]); `false` while it is only what an unsigned `/request` or
    /// `/buy` said.
    pub bound: bool,
}

impl Owner {
    /// The owner's own key and its registered delegate may sign for it; nobody else.
    pub fn authorise(&self, signer: &BitcoinAddress) -> Result<(), Error> {
        let signer = signer.as_str();
        if signer == self.address || signer == self.delegate {
            Ok(())
        } else {
            Err(Error::NotAuthorised)
        }
    }
}

/// Longest contact an owner registers.
const MAX_CONTACT_CHARS: usize = 256;

/// What `/request` and `/buy` register for an owner that is new: its delegate (the owner
/// itself when none is given) and contact.
#[derive(Debug, Clone)]
pub struct Registration {
    pub owner: BitcoinAddress,
    pub delegate: BitcoinAddress,
    pub contact: String,
}

impl Registration {
    pub fn new(
        owner: BitcoinAddress,
        delegate: Option<BitcoinAddress>,
        contact: String,
    ) -> Result<Self, Error> {
        if contact.chars().count() > MAX_CONTACT_CHARS {
            return Err(Error::invalid(
                "contact",
                format!("longer than {MAX_CONTACT_CHARS} characters"),
            ));
        }
        Ok(Self {
            owner,
            delegate: delegate.unwrap_or(owner),
            contact,
        })
    }
}
