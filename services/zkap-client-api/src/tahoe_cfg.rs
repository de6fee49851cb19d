//! A Tahoe-LAFS node directory as a source of settings: its API token file and its
//! `tahoe.cfg`, read with just enough of Python's `configparser`: `[section]` headers,
//! `key = value` (or `key: value`) lines, `#`/`;` comment lines, and indented continuation lines.

use std::collections::HashMap;
use std::path::Path;

use crate::settings::{Flags, SettingsError};

/// Where the plugin's options live in `tahoe.cfg`.
pub const PLUGIN_SECTION: &str = "storageclient.plugins.privatestorageio-zkapauthz-v2";

#[derive(Debug, Default)]
pub struct TahoeCfg {
    sections: HashMap<String, HashMap<String, String>>,
}

impl TahoeCfg {
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.sections
            .get(section)
            .and_then(|entries| entries.get(&key.to_ascii_lowercase()))
            .map(String::as_str)
    }
}

pub fn parse(text: &str) -> TahoeCfg {
    let mut cfg = TahoeCfg::default();
    let mut section = String::new();
    let mut last_key: Option<String> = None;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let continuation = raw.starts_with([' ', '\t']);
        if continuation && let Some(key) = &last_key {
            if let Some(value) = cfg
                .sections
                .get_mut(&section)
                .and_then(|entries| entries.get_mut(key))
            {
                value.push('\n');
                value.push_str(line);
            }
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_owned();
            last_key = None;
            continue;
        }
        let split = line.find(['=', ':']).map(|at| line.split_at(at));
        if let Some((key, value)) = split {
            let key = key.trim().to_ascii_lowercase();
            let value = value.get(1..).unwrap_or_default().trim().to_owned();
            cfg.sections
                .entry(section.clone())
                .or_default()
                .insert(key.clone(), value);
            last_key = Some(key);
        }
    }
    cfg
}

impl Flags {
    /// Takes what the node directory says for every flag that was not given.
    pub(crate) fn fill_from_node_dir(&mut self, dir: &Path) -> Result<(), SettingsError> {
        let token = dir.join("private").join("api_auth_token");
        if self.api_auth_token_file.is_none() && token.exists() {
            self.api_auth_token_file = Some(token);
        }
        let path = dir.join("tahoe.cfg");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(SettingsError::TahoeConfig { path, source }),
        };
        let cfg = parse(&text);
        let get = |section: &str, key: &str| cfg.get(section, key).map(str::to_owned);
        let number = |section: &str, key: &str| -> Result<Option<u64>, SettingsError> {
            get(section, key)
                .map(|v| {
                    v.parse::<u64>().map_err(|_| SettingsError::TahoeValue {
                        path: path.clone(),
                        message: format!("[{section}] {key} = {v:?} is not a whole number"),
                    })
                })
                .transpose()
        };
        let small = |value: Option<u64>, key: &str| -> Result<Option<u32>, SettingsError> {
            value
                .map(|v| {
                    u32::try_from(v).map_err(|_| SettingsError::TahoeValue {
                        path: path.clone(),
                        message: format!("{key} = {v} is too large"),
                    })
                })
                .transpose()
        };
        let p = PLUGIN_SECTION;
        if let Some(redeemer) = get(p, "redeemer").filter(|r| r != "ristretto") {
            return Err(SettingsError::TahoeValue {
                path,
                message: format!("redeemer = {redeemer:?} is not supported; only ristretto is"),
            });
        }
        fill(
            &mut self.ristretto_issuer_root_url,
            get(p, "ristretto-issuer-root-url"),
        );
        fill(&mut self.allowed_public_keys, get(p, "allowed-public-keys"));
        fill(
            &mut self.default_token_count,
            number(p, "default-token-count")?,
        );
        fill(&mut self.pass_value, number(p, "pass-value")?);
        fill(
            &mut self.lease_min_time_remaining,
            number(p, "lease.min-time-remaining")?,
        );
        fill(
            &mut self.shares_needed,
            small(number("client", "shares.needed")?, "shares.needed")?,
        );
        fill(
            &mut self.shares_total,
            small(number("client", "shares.total")?, "shares.total")?,
        );
        Ok(())
    }
}

fn fill<T>(slot: &mut Option<T>, value: Option<T>) {
    if slot.is_none() {
        *slot = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sections_keys_and_continuations() {
        let cfg = parse(
            "# comment\n[node]\nnickname = x\n[client]\nshares.needed = 2\n\
             Shares.Total: 5\n[storageclient.plugins.privatestorageio-zkapauthz-v2]\n\
             allowed-public-keys = a,\n    b\n; other\nurl = http://h:1/x\n",
        );
        assert_eq!(cfg.get("client", "shares.needed"), Some("2"));
        assert_eq!(cfg.get("client", "shares.total"), Some("5"));
        let plugin = "storageclient.plugins.privatestorageio-zkapauthz-v2";
        assert_eq!(cfg.get(plugin, "allowed-public-keys"), Some("a,\nb"));
        assert_eq!(cfg.get(plugin, "url"), Some("http://h:1/x"));
        assert_eq!(cfg.get("node", "missing"), None);
    }
}
