//! Which address a request came from when the node runs behind a proxy or Ingress: the
//! `trusted_proxies` setting (CIDRs), and the right-most untrusted hop of `X-Forwarded-For`
//! (or, without it, of `Forwarded: for=`), honoured only when the direct peer is trusted.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// An IPv4 or IPv6 network, `10.0.0.0/8` or `fd00::/8`; a bare address is a single host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a CIDR (like 10.0.0.0/8, 192.168.1.7/32 or fd00::/8)")]
pub struct CidrError(pub String);

impl Cidr {
    pub fn parse(text: &str) -> Result<Self, CidrError> {
        let bad = || CidrError(text.to_owned());
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address.parse().map_err(|_| bad())?;
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(prefix) if !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_digit()) => {
                prefix.parse::<u8>().map_err(|_| bad())?
            }
            Some(_) => return Err(bad()),
        };
        if prefix > bits {
            return Err(bad());
        }
        Ok(Self {
            network: mask(address, prefix),
            prefix,
        })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.network.is_ipv4() && mask(ip, self.prefix) == self.network
    }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let kept = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((bits & kept).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let kept = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((bits & kept).into())
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl FromStr for Cidr {
    type Err = CidrError;
    fn from_str(text: &str) -> Result<Self, CidrError> {
        Self::parse(text)
    }
}

/// The proxies whose forwarding headers are believed. Empty (the default): none, the socket
/// peer is the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    pub fn new(cidrs: Vec<Cidr>) -> Self {
        Self(cidrs)
    }

    /// A comma- or whitespace-separated list (what the flag and the environment give).
    pub fn parse(text: &str) -> Result<Self, CidrError> {
        text.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|item| !item.is_empty())
            .map(Cidr::parse)
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|cidr| cidr.contains(ip))
    }

    /// The client of a request whose socket peer is `peer`, given the values of its
    /// `X-Forwarded-For` and `Forwarded` header lines (in order). The headers count only when
    /// `peer` is trusted; then the hops are read right to left, trusted proxies skipped, and
    /// the first untrusted hop is the client. A hop that cannot be read before that one is
    /// reached (garbage, `unknown`, an obfuscated name) makes the answer `peer`: whatever a
    /// client wrote to the left of the real hops is never reached.
    pub fn client_ip(&self, peer: IpAddr, forwarded_for: &[&str], forwarded: &[&str]) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        let hops: Vec<Option<IpAddr>> = if !forwarded_for.is_empty() {
            forwarded_for
                .iter()
                .flat_map(|line| line.split(','))
                .map(|hop| parse_node(hop.trim()))
                .collect()
        } else {
            forwarded
                .iter()
                .flat_map(|line| line.split(','))
                .map(forwarded_for_of)
                .collect()
        };
        let mut client = peer;
        for hop in hops.into_iter().rev() {
            let Some(hop) = hop else {
                return peer;
            };
            client = hop.to_canonical();
            if !self.contains(client) {
                return client;
            }
        }
        client
    }
}

/// The `for=` node of one `Forwarded` element (`for=192.0.2.60;proto=http;by=...`).
fn forwarded_for_of(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("for")
            .then(|| parse_node(value.trim()))?
    })
}

/// `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:80`, optionally
/// in double quotes (as `Forwarded` writes IPv6 and ports).
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    if let Ok(ip) = text.parse() {
        return Some(ip);
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty() || is_port(after.strip_prefix(':')?)) {
            return None;
        }
        return inside.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6);
    }
    let (address, port) = text.rsplit_once(':')?;
    if !is_port(port) {
        return None;
    }
    address.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

fn is_port(text: &str) -> bool {
    text.parse::<u16>().is_ok() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Comma-separated, as the flag takes them.
impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&items.join(","))
    }
}

impl Serialize for TrustedProxies {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(ToString::to_string))
    }
}

/// A TOML list of CIDRs, or one string of them separated by commas (flag, environment).
impl<'de> Deserialize<'de> for TrustedProxies {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListOrString;

        impl<'de> Visitor<'de> for ListOrString {
            type Value = TrustedProxies;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of CIDRs, or a comma-separated string of them")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<TrustedProxies, E> {
                TrustedProxies::parse(text).map_err(E::custom)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TrustedProxies, A::Error> {
                let mut cidrs = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    cidrs.extend(TrustedProxies::parse(&item).map_err(de::Error::custom)?.0);
                }
                Ok(TrustedProxies(cidrs))
            }

            fn visit_unit<E: de::Error>(self) -> Result<TrustedProxies, E> {
                Ok(TrustedProxies::default())
            }
        }

        deserializer.deserialize_any(ListOrString)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn cidrs() {
        let net = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(net.contains(ip("10.200.3.4")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(
            net.contains(ip("::ffff:10.1.1.1")),
            "IPv4-mapped peers match"
        );
        assert_eq!(Cidr::parse("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(
            Cidr::parse("127.0.0.1").unwrap().to_string(),
            "127.0.0.1/32"
        );
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(!Cidr::parse("0.0.0.0/0").unwrap().contains(ip("::1")));
        let v6 = Cidr::parse("fd00::/8").unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        assert!(Cidr::parse("::/0").unwrap().contains(ip("2001:db8::1")));
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "x/8",
            "*",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            TrustedProxies::parse(" 10.0.0.0/8, fd00::/8 127.0.0.1/32,").unwrap(),
            TrustedProxies(vec![
                Cidr::parse("10.0.0.0/8").unwrap(),
                Cidr::parse("fd00::/8").unwrap(),
                Cidr::parse("127.0.0.1/32").unwrap(),
            ])
        );
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert!(TrustedProxies::parse("10.0.0.0/8,bogus").is_err());
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_peers() {
        let none = TrustedProxies::default();
        let proxy = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let peer = ip("10.0.0.2");
        // Nobody trusted, or a peer outside the CIDRs: the headers are ignored.
        assert_eq!(none.client_ip(peer, &["1.2.3.4"], &[]), peer);
        let outsider = ip("203.0.113.9");
        assert_eq!(
            proxy.client_ip(outsider, &["1.2.3.4"], &["for=1.2.3.4"]),
            outsider
        );
        // The right-most hop that is not a trusted proxy; what the client wrote to its left
        // (spoofed or garbage) is never reached.
        assert_eq!(proxy.client_ip(peer, &["1.2.3.4"], &[]), ip("1.2.3.4"));
        assert_eq!(
            proxy.client_ip(peer, &["6.6.6.6, 1.2.3.4, 10.0.0.7"], &[]),
            ip("1.2.3.4")
        );
        assert_eq!(
            proxy.client_ip(peer, &["garbage, 6.6.6.6", "1.2.3.4"], &[]),
            ip("1.2.3.4")
        );
        assert_eq!(proxy.client_ip(peer, &["1.2.3.4:5678"], &[]), ip("1.2.3.4"));
        assert_eq!(
            proxy.client_ip(peer, &["[2001:db8::7]:443"], &[]),
            ip("2001:db8::7")
        );
        assert_eq!(
            proxy.client_ip(peer, &["::ffff:1.2.3.4"], &[]),
            ip("1.2.3.4")
        );
        // Only proxies: the farthest one.
        assert_eq!(
            proxy.client_ip(peer, &["10.9.9.9, 10.0.0.7"], &[]),
            ip("10.9.9.9")
        );
        // Malformed where it matters: the peer.
        for bad in [
            "",
            "   ",
            "1.2.3.4, nonsense",
            "1.2.3.4,",
            "1.2.3.4:99999",
            "[::1",
        ] {
            assert_eq!(proxy.client_ip(peer, &[bad], &[]), peer, "{bad:?}");
        }
    }

    #[test]
    fn rfc_7239_forwarded() {
        let proxy = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let peer = ip("10.0.0.2");
        assert_eq!(
            proxy.client_ip(peer, &[], &["for=192.0.2.60;proto=http;by=203.0.113.43"]),
            ip("192.0.2.60")
        );
        assert_eq!(
            proxy.client_ip(
                peer,
                &[],
                &[r#"for=6.6.6.6, For="[2001:db8:cafe::17]:4711""#]
            ),
            ip("2001:db8:cafe::17")
        );
        assert_eq!(
            proxy.client_ip(peer, &[], &["for=1.2.3.4", "for=10.1.1.1"]),
            ip("1.2.3.4")
        );
        for bad in [
            "for=unknown",
            "for=_hidden",
            "proto=https",
            "for=",
            "nonsense",
        ] {
            assert_eq!(proxy.client_ip(peer, &[], &[bad]), peer, "{bad:?}");
        }
        // X-Forwarded-For, when present, is the one read.
        assert_eq!(
            proxy.client_ip(peer, &["1.2.3.4"], &["for=5.6.7.8"]),
            ip("1.2.3.4")
        );
    }
}
