//! GeoIP locations from a MaxMind City database, opened once at start-up.

use std::net::IpAddr;
use std::path::Path;

use maxminddb::{Reader, geoip2};
use serde::{Deserialize, Serialize};

/// The location object of the status routes; fields the database lacks are null.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub country: Option<String>,
    pub state: Option<String>,
    pub city: Option<String>,
    pub zip: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

pub struct GeoIp {
    reader: Option<Reader<Vec<u8>>>,
}

impl GeoIp {
    /// Opens `path`; a missing or unreadable database is a warning and null locations.
    pub fn open(path: Option<&Path>) -> Self {
        let Some(path) = path else {
            return Self::disabled();
        };
        match Reader::open_readfile(path) {
            Ok(reader) => {
                log::info!("GeoIP database {} loaded", path.display());
                Self {
                    reader: Some(reader),
                }
            }
            Err(err) => {
                log::warn!(
                    "GeoIP database {} unavailable ({err}); locations will be null",
                    path.display()
                );
                Self::disabled()
            }
        }
    }

    pub fn disabled() -> Self {
        Self { reader: None }
    }

    pub fn is_enabled(&self) -> bool {
        self.reader.is_some()
    }

    /// `None` without a usable database; an address it does not know gives all-null fields.
    pub fn locate(&self, ip: IpAddr) -> Option<Location> {
        let reader = self.reader.as_ref()?;
        let city = match reader.lookup::<geoip2::City>(ip) {
            Ok(Some(city)) => city,
            Ok(None) => return Some(Location::default()),
            Err(err) => {
                log::debug!("GeoIP lookup failed: {err}");
                return None;
            }
        };
        let english = |names: Option<&std::collections::BTreeMap<&str, &str>>| {
            names.and_then(|n| n.get("en")).map(|s| (*s).to_owned())
        };
        let location = city.location.as_ref();
        Some(Location {
            country: english(city.country.as_ref().and_then(|c| c.names.as_ref())),
            state: english(
                city.subdivisions
                    .as_ref()
                    .and_then(|s| s.first())
                    .and_then(|s| s.names.as_ref()),
            ),
            city: english(city.city.as_ref().and_then(|c| c.names.as_ref())),
            zip: city.postal.as_ref().and_then(|p| p.code).map(str::to_owned),
            lat: location.and_then(|l| l.latitude),
            lon: location.and_then(|l| l.longitude),
        })
    }
}
