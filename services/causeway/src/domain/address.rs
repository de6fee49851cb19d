use service_kit::bitcoin::{BitcoinAddress, Network};

use crate::error::ApiError;

/// A P2PKH address on the network the request is about; `field` names it in the error.
pub fn parse_address(
    s: &str,
    network: Network,
    field: &'static str,
) -> Result<BitcoinAddress, ApiError> {
    let address = BitcoinAddress::parse(s.trim()).map_err(|e| ApiError::invalid(field, e))?;
    if address.network() != network {
        return Err(ApiError::invalid(
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
    pub fn authorise(&self, signer: &BitcoinAddress) -> Result<(), ApiError> {
        let signer = signer.to_string();
        if signer == self.address || signer == self.delegate {
            Ok(())
        } else {
            Err(ApiError::NotAuthorised)
        }
    }
}
