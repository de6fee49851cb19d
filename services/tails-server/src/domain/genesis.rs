use serde_json::Value;

/// Genesis transactions, one JSON object per line, as `indy_vdr.open_pool` reads them. Two
/// genesis texts are the same ledger when they hold the same transactions, whatever the
/// whitespace, key order or line order.
#[derive(Debug, Clone)]
pub struct Genesis {
    txns: Vec<Value>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GenesisError {
    #[error("line {0} is not a JSON transaction")]
    Line(usize),
    #[error("no node transaction")]
    NoNodes,
}

/// NODE, the transaction type that makes a pool (hyperledger/indy-vdr `ledger/constants.rs`).
const NODE: &str = "0";

impl Genesis {
    pub fn parse(text: &str) -> Result<Self, GenesisError> {
        let mut txns = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let txn: Value =
                serde_json::from_str(line).map_err(|_| GenesisError::Line(index + 1))?;
            if !txn.get("txn").is_some_and(Value::is_object) {
                return Err(GenesisError::Line(index + 1));
            }
            txns.push(txn);
        }
        let is_node = |txn: &Value| {
            txn.pointer("/txn/type")
                .and_then(Value::as_str)
                .is_some_and(|kind| kind == NODE)
        };
        if !txns.iter().any(is_node) {
            return Err(GenesisError::NoNodes);
        }
        Ok(Self { txns })
    }

    pub fn same_ledger(&self, other: &Genesis) -> bool {
        self.txns.len() == other.txns.len() && self.txns.iter().all(|txn| other.txns.contains(txn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(alias: &str, seq_no: u64) -> String {
        format!(
            r#"{{"reqSignature":{{}},"txn":{{"data":{{"data":{{"alias":"{alias}","client_ip":"127.0.0.1","client_port":9702,"node_ip":"127.0.0.1","node_port":9701,"services":["VALIDATOR"]}},"dest":"Gw6pDLhcBcoQesN72qfotTgFa7cbuqZpkX3Xo6pLhPhv"}},"metadata":{{"from":"Th7MpTaRZVRYnPiabds81Y"}},"type":"0"}},"txnMetadata":{{"seqNo":{seq_no},"txnId":"fea82e10e894419fe2bea7d96296a6d46f50f93f9eeda954ec461b2ed2950b62"}},"ver":"1"}}"#
        )
    }

    #[test]
    fn recognises_the_same_ledger_despite_formatting() {
        let a = Genesis::parse(&format!("{}\n{}\n", node("Node1", 1), node("Node2", 2))).unwrap();
        let reordered = format!("\n{}\r\n\n{}", node("Node2", 2), node("Node1", 1));
        let b = Genesis::parse(&reordered).unwrap();
        assert!(a.same_ledger(&b));
        let c = Genesis::parse(&node("Node3", 1)).unwrap();
        assert!(!a.same_ledger(&c));
    }

    #[test]
    fn rejects_what_open_pool_would() {
        assert_eq!(Genesis::parse("").unwrap_err(), GenesisError::NoNodes);
        assert_eq!(
            Genesis::parse("http://localhost:9000/genesis").unwrap_err(),
            GenesisError::Line(1)
        );
        assert_eq!(
            Genesis::parse(&format!("{}\n{{}}", node("Node1", 1))).unwrap_err(),
            GenesisError::Line(2)
        );
        assert_eq!(
            Genesis::parse(r#"{"txn":{"type":"1"}}"#).unwrap_err(),
            GenesisError::NoNodes
        );
    }
}
