//! The ledgers uploads are checked against, each reached through its indy-vdr-proxy. An
//! upload's genesis selects the ledger; with a single ledger and no genesis file configured,
//! any well-formed genesis selects it.

use std::time::Duration;

use anyhow::{Context as _, anyhow};
use ledger_client::indy::{IndyVdrProxy, RevRegDef};
use ledger_client::{LedgerError, Timeouts};
use tokio::sync::OnceCell;

use crate::domain::{Genesis, RevRegId};
use crate::error::Error;
use crate::settings::Settings;

pub struct Ledgers {
    ledgers: Vec<Ledger>,
}

pub struct Ledger {
    name: String,
    proxy: IndyVdrProxy,
    configured_genesis: bool,
    genesis: OnceCell<Genesis>,
}

impl Ledgers {
    /// Reads the genesis files now, so a bad one stops start-up rather than an upload.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let client = ledger_client::http_client(Timeouts {
            connect: Duration::from_millis(settings.ledger_connect_timeout_ms),
            request: Duration::from_millis(settings.ledger_timeout_ms),
        })
        .context("ledgers: building the HTTP client")?;
        let mut ledgers = Vec::new();
        for config in settings.all_ledgers() {
            let name = &config.name;
            let proxy = IndyVdrProxy::new(client.clone(), &config.indy_vdr_proxy_url)
                .with_context(|| format!("ledger {name}"))?;
            let genesis = OnceCell::new();
            if let Some(path) = &config.genesis_file {
                let shown = path.display();
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("ledger {name}: cannot read genesis file {shown}"))?;
                let parsed = Genesis::parse(&text).map_err(|reason| {
                    anyhow!("ledger {name}: genesis file {shown} is not valid: {reason}")
                })?;
                let _ = genesis.set(parsed);
            }
            ledgers.push(Ledger {
                proxy,
                configured_genesis: config.genesis_file.is_some(),
                genesis,
                name: config.name,
            });
        }
        Ok(Self { ledgers })
    }

    pub fn is_empty(&self) -> bool {
        self.ledgers.is_empty()
    }

    /// The ledger the uploaded genesis text belongs to.
    pub async fn select(&self, genesis_text: &str) -> Result<&Ledger, Error> {
        let genesis = Genesis::parse(genesis_text).map_err(|reason| {
            log::info!("upload rejected: genesis not valid ({reason})");
            Error::GenesisInvalid
        })?;
        if let [only] = self.ledgers.as_slice()
            && !only.configured_genesis
        {
            return Ok(only);
        }
        let mut unreachable = None;
        for ledger in &self.ledgers {
            match ledger.genesis().await {
                Ok(known) if known.same_ledger(&genesis) => return Ok(ledger),
                Ok(_) => {}
                Err(err) => unreachable = Some(err),
            }
        }
        // A ledger we could not ask might have been the one.
        match unreachable {
            Some(err) => Err(err),
            None => {
                log::info!("upload rejected: genesis matches no configured ledger");
                Err(Error::GenesisInvalid)
            }
        }
    }

    /// Readiness: every ledger answers.
    pub async fn check_reachable(&self) -> Result<(), String> {
        let checks = self.ledgers.iter().map(|ledger| async move {
            ledger
                .proxy
                .genesis()
                .await
                .map(|_| ())
                .map_err(|err| format!("{}: {err}", ledger.name))
        });
        let failures: Vec<String> = futures_util::future::join_all(checks)
            .await
            .into_iter()
            .filter_map(Result::err)
            .collect();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures.join("; "))
        }
    }
}

impl Ledger {
    pub fn name(&self) -> &str {
        &self.name
    }

    async fn genesis(&self) -> Result<&Genesis, Error> {
        self.genesis
            .get_or_try_init(|| async {
                let text = self
                    .proxy
                    .genesis()
                    .await
                    .map_err(|err| self.failure("fetching its genesis", err))?;
                Genesis::parse(&text).map_err(|err| {
                    log::warn!("ledger {}: its genesis is not valid: {err}", self.name);
                    Error::LedgerBadAnswer(self.name.clone())
                })
            })
            .await
    }

    /// The registry definition; `NotFound` when the ledger has none.
    pub async fn rev_reg_def(&self, id: &RevRegId) -> Result<RevRegDef, Error> {
        self.proxy
            .rev_reg_def(id.as_str())
            .await
            .map_err(|err| match err {
                // indy-vdr-proxy answers 400 for ids its request builder rejects.
                LedgerError::Refused(reason) if reason.starts_with("400") => {
                    Error::RevRegId(crate::domain::RevRegIdError(id.to_string()))
                }
                other => self.failure(&format!("reading {id}"), other),
            })
    }

    /// The client learns which ledger failed and how; the cause (URLs, bodies) goes to the log.
    fn failure(&self, doing: &str, err: LedgerError) -> Error {
        if !matches!(err, LedgerError::NotFound) {
            log::warn!("ledger {}: {doing}: {err}", self.name);
        }
        let name = self.name.clone();
        match err {
            LedgerError::NotFound => Error::NotFound,
            LedgerError::TimedOut => Error::LedgerTimeout(name),
            LedgerError::Unreachable(_) | LedgerError::Refused(_) => Error::LedgerUnavailable(name),
            LedgerError::Protocol(_) => Error::LedgerBadAnswer(name),
        }
    }
}
