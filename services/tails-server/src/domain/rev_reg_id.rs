use std::fmt;

use super::tails_hash::shorten;
use super::{MAX_ID_LEN, has_unsafe_char};

/// A revocation registry id (hyperledger/indy-shared-rs `identifiers/rev_reg.rs`):
/// `[revreg:<method>:]<did>:4:<cred_def_id>:<type>:<tag>`, where the credential definition id is
/// `[creddef:<method>:]<did>:3:CL:<schema seqNo or id>:<tag>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RevRegId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("Revocation registry ID is not valid: {0}.")]
pub struct RevRegIdError(pub String);

impl RevRegId {
    pub fn parse(text: &str) -> Result<Self, RevRegIdError> {
        if well_formed(text) {
            Ok(Self(text.to_owned()))
        } else {
            Err(RevRegIdError(shorten(text)))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RevRegId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn well_formed(text: &str) -> bool {
    if text.is_empty()
        || text.len() > MAX_ID_LEN
        || text.starts_with('.')
        || text.contains("..")
        || has_unsafe_char(text)
    {
        return false;
    }
    let rest = strip_prefix_with_method(text, "revreg");
    let Some((did, rest)) = rest.split_once(":4:") else {
        return false;
    };
    let Some((rest, tag)) = rest.rsplit_once(':') else {
        return false;
    };
    let Some((cred_def_id, kind)) = rest.rsplit_once(':') else {
        return false;
    };
    is_did(did) && is_cred_def_id(cred_def_id) && is_word(kind) && is_tag(tag)
}

/// `creddef:sov:...` → `...`; text without that prefix is returned whole.
fn strip_prefix_with_method<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix(':'))
        .and_then(|rest| rest.split_once(':'))
        .filter(|(method, _)| is_word(method))
        .map_or(text, |(_, rest)| rest)
}

fn is_cred_def_id(text: &str) -> bool {
    let rest = strip_prefix_with_method(text, "creddef");
    let Some((did, rest)) = rest.split_once(":3:") else {
        return false;
    };
    let Some((signature, rest)) = rest.split_once(':') else {
        return false;
    };
    let Some((schema, tag)) = rest.rsplit_once(':') else {
        return false;
    };
    is_did(did) && is_word(signature) && !schema.is_empty() && is_tag(tag)
}

/// An unqualified Indy DID (base58 of 16 bytes) or `did:<method>:<id>`.
fn is_did(text: &str) -> bool {
    let id = match text
        .strip_prefix("did:")
        .and_then(|rest| rest.split_once(':'))
    {
        Some((method, id)) if is_word(method) => id,
        Some(_) => return false,
        None => text,
    };
    (16..=44).contains(&id.len()) && bs58::decode(id).into_vec().is_ok()
}

fn is_word(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Tags are free text (ACA-Py allows spaces) without the separator.
fn is_tag(text: &str) -> bool {
    !text.is_empty() && !text.contains(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    const DID: &str = "4QxzWk3ajdnEA37NdNU5Kt";

    #[test]
    fn accepts_real_shapes() {
        for id in [
            format!(
                "{DID}:4:{DID}:3:CL:12148:default:CL_ACCUM:e7e4d8a0-0c8b-4cb2-9a2f-3a3b2bf6a1c2"
            ),
            format!("{DID}:4:{DID}:3:CL:20:tag:CL_ACCUM:1"),
            format!("{DID}:4:{DID}:3:CL:{DID}:2:degree schema:1.0:tag:CL_ACCUM:my tag"),
            format!("revreg:sov:{DID}:4:creddef:sov:{DID}:3:CL:20:tag:CL_ACCUM:0"),
            format!("did:sov:{DID}:4:did:sov:{DID}:3:CL:20:tag:CL_ACCUM:0"),
        ] {
            assert!(RevRegId::parse(&id).is_ok(), "{id}");
        }
    }

    #[test]
    fn rejects_malformed_and_dangerous() {
        let long_tag = "x".repeat(MAX_ID_LEN);
        for id in [
            "bad-id".to_owned(),
            String::new(),
            format!("{DID}:4:{DID}:3:CL:20:tag:CL_ACCUM"),
            format!("{DID}:4:{DID}:3:CL:20:tag:CL_ACCUM:"),
            format!("{DID}:4:{DID}:3:CL:20:tag:CL_ACCUM:a/b"),
            format!("{DID}:4:{DID}:3:CL:20:tag:CL_ACCUM:a\\b"),
            format!("{DID}:4:{DID}:3:CL:20:tag:CL_ACCUM:.."),
            format!("{DID}:4:{DID}:3:CL:20:tag:CL_ACCUM:a\0"),
            format!("{DID}:4:{DID}:3:CL:20:tag:CL_ACCUM:a%2Fb"),
            format!("{DID}:4:{DID}:3:CL:20:tag:CL_ACCUM:{long_tag}"),
            format!("0OIl:4:{DID}:3:CL:20:tag:CL_ACCUM:1"),
            format!("{DID}:4:{DID}:2:CL:20:tag:CL_ACCUM:1"),
            format!("../{DID}:4:{DID}:3:CL:20:tag:CL_ACCUM:1"),
        ] {
            assert!(RevRegId::parse(&id).is_err(), "{id:?}");
        }
    }

    #[test]
    fn error_names_the_id() {
        assert_eq!(
            RevRegId::parse("bad-id").unwrap_err().to_string(),
            "Revocation registry ID is not valid: bad-id."
        );
    }
}
