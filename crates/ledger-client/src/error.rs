/// Why a ledger call failed. Callers map these to their own wire errors: `NotFound` is the
/// ledger's authoritative "no such object", `Refused` an error answer from a ledger that is up,
/// `Unreachable` and `TimedOut` say nothing about the object itself.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("not found on the ledger")]
    NotFound,
    #[error("refused by the ledger: {0}")]
    Refused(String),
    #[error("ledger unreachable: {0}")]
    Unreachable(String),
    #[error("ledger timed out")]
    TimedOut,
    #[error("unexpected answer from the ledger: {0}")]
    Protocol(String),
}

impl LedgerError {
    /// Classifies a transport error from reqwest.
    pub(crate) fn from_transport(err: reqwest::Error) -> Self {
        if err.is_timeout() {
            LedgerError::TimedOut
        } else if err.is_connect() || err.is_request() {
            LedgerError::Unreachable(error_chain(&err))
        } else if err.is_decode() {
            LedgerError::Protocol(error_chain(&err))
        } else {
            LedgerError::Unreachable(error_chain(&err))
        }
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
