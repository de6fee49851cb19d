//! `--help` shows each flag's default, taken from the service's `Settings::default()` so that it
//! is written once. A flag whose settings key has no value by default (`None`) or no key at all
//! (`--no-migrate`) says its default in its own help text, as `[default: …]`.

use clap::Command;
use serde::Serialize;
use serde_json::{Map, Value};

/// `command` with `[default: X]` appended to the help of every flag whose id is a key of
/// `defaults` with a value.
pub fn with_defaults(command: Command, defaults: &impl Serialize) -> Command {
    let keys = flat_keys(defaults);
    let ids: Vec<String> = command
        .get_arguments()
        .map(|arg| arg.get_id().to_string())
        .collect();
    let mut command = command;
    for id in ids {
        if let Some(shown) = keys.get(&id).and_then(shown) {
            command = command.mut_arg(id.as_str(), |arg| {
                let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
                arg.help(format!("{help} [default: {shown}]"))
            });
        }
    }
    command
}

/// The default as `--help` shows it, `None` for "no value".
pub fn shown(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) if text.is_empty() => Some("empty".to_owned()),
        Value::String(text) => Some(text.clone()),
        Value::Array(items) if items.is_empty() => Some("none".to_owned()),
        Value::Array(items) => Some(
            items
                .iter()
                .map(|item| shown(item).unwrap_or_default())
                .collect::<Vec<_>>()
                .join(","),
        ),
        other => Some(other.to_string()),
    }
}

/// The top-level keys of `value` serialised (flattened structs are already flat).
pub fn flat_keys(value: &impl Serialize) -> Map<String, Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}
