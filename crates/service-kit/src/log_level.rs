//! `--log-level` as the original services and their charts spell it: Python `logging` names
//! (`CRITICAL`, `FATAL`, `ERROR`, `WARNING`, `WARN`, `INFO`, `DEBUG`, `NOTSET`) as well as
//! Rust's (`error` … `trace`, `off`), any case, optionally per target (`info,tails_server=debug`),
//! turned into the env_logger filter that `server::init_logging` takes. Anything else is
//! refused, instead of env_logger reading an unknown word as a module name and logging nothing.

use log::LevelFilter;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid log level {0:?}: use CRITICAL, FATAL, ERROR, WARNING, WARN, INFO, DEBUG or NOTSET \
     (any case), or error, warn, info, debug, trace or off, optionally as target=LEVEL, \
     comma-separated"
)]
pub struct LogLevelError(pub String);

/// The `log` level of one name. Python's levels map to the nearest `log` level that shows
/// the same records: CRITICAL/FATAL have no stricter counterpart than `error`; NOTSET on the
/// root logger shows everything, as `trace` does.
pub fn level(name: &str) -> Option<LevelFilter> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "critical" | "fatal" | "error" => LevelFilter::Error,
        "warning" | "warn" => LevelFilter::Warn,
        "info" => LevelFilter::Info,
        "debug" => LevelFilter::Debug,
        "notset" | "trace" => LevelFilter::Trace,
        "off" => LevelFilter::Off,
        _ => return None,
    })
}

/// The env_logger filter for a `--log-level` value: `WARNING` → `warn`,
/// `info, tails_server=DEBUG` → `info,tails_server=debug`.
pub fn log_filter(text: &str) -> Result<String, LogLevelError> {
    let bad = || LogLevelError(text.to_owned());
    let mut directives = Vec::new();
    for directive in text.split(',') {
        let directive = directive.trim();
        if directive.is_empty() {
            continue;
        }
        let rendered = match directive.split_once('=') {
            None => lowercase(level(directive).ok_or_else(bad)?),
            Some((target, name)) => {
                let target = target.trim();
                let valid_target = !target.is_empty()
                    && target
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '-');
                if !valid_target {
                    return Err(bad());
                }
                format!("{target}={}", lowercase(level(name).ok_or_else(bad)?))
            }
        };
        directives.push(rendered);
    }
    if directives.is_empty() {
        return Err(bad());
    }
    Ok(directives.join(","))
}

fn lowercase(level: LevelFilter) -> String {
    level.as_str().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_and_rust_names() {
        for (name, expected) in [
            ("CRITICAL", LevelFilter::Error),
            ("FATAL", LevelFilter::Error),
            ("ERROR", LevelFilter::Error),
            ("WARNING", LevelFilter::Warn),
            ("WARN", LevelFilter::Warn),
            ("INFO", LevelFilter::Info),
            ("DEBUG", LevelFilter::Debug),
            ("NOTSET", LevelFilter::Trace),
            ("warning", LevelFilter::Warn),
            ("Warning", LevelFilter::Warn),
            ("trace", LevelFilter::Trace),
            ("off", LevelFilter::Off),
            (" info ", LevelFilter::Info),
        ] {
            assert_eq!(level(name), Some(expected), "{name}");
        }
        for name in ["", "LOUD", "warnings", "30", "verbose", "tails_server"] {
            assert_eq!(level(name), None, "{name}");
        }
    }

    #[test]
    fn filters() {
        assert_eq!(log_filter("WARNING").unwrap(), "warn");
        assert_eq!(log_filter("critical").unwrap(), "error");
        assert_eq!(log_filter("NOTSET").unwrap(), "trace");
        assert_eq!(
            log_filter("INFO, tails_server=DEBUG,actix_web::middleware=warning").unwrap(),
            "info,tails_server=debug,actix_web::middleware=warn"
        );
        for bad in [
            "",
            " , ",
            "LOUD",
            "tails_server",
            "=debug",
            "a b=info",
            "x=loud",
        ] {
            let err = log_filter(bad).unwrap_err();
            assert_eq!(err, LogLevelError(bad.to_owned()));
        }
        assert!(
            log_filter("LOUD")
                .unwrap_err()
                .to_string()
                .starts_with("invalid log level \"LOUD\": use CRITICAL")
        );
    }

    /// What env_logger makes of the filter: `WARNING` keeps warnings and errors, drops info.
    #[test]
    fn warning_keeps_warnings_on() {
        use log::Log as _;
        let filter = env_logger::Builder::new()
            .parse_filters(&log_filter("WARNING").unwrap())
            .build();
        let enabled = |level| {
            filter.enabled(
                &log::Metadata::builder()
                    .level(level)
                    .target("tails_server")
                    .build(),
            )
        };
        assert!(enabled(log::Level::Error));
        assert!(enabled(log::Level::Warn));
        assert!(!enabled(log::Level::Info));
        // Before: the raw word is read as a module name and nothing else logs at all.
        let raw = env_logger::Builder::new().parse_filters("WARNING").build();
        assert!(
            !raw.enabled(
                &log::Metadata::builder()
                    .level(log::Level::Error)
                    .target("tails_server")
                    .build()
            )
        );
    }
}
