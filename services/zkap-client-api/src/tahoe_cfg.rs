//! Just enough of Python's `configparser` to read `tahoe.cfg`: `[section]` headers,
//! `key = value` (or `key: value`) lines, `#`/`;` comment lines, and indented continuation lines.

use std::collections::HashMap;

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
