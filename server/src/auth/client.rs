//! The client's address behind optional trusted reverse proxies.
//!
//! By default the client is the TCP peer, which cannot be spoofed. When the
//! operator lists the proxies in front of the server
//! (`PALISADE_TRUSTED_PROXIES`), a request whose peer is one of them is
//! attributed to the address its `X-Forwarded-For` names: the rightmost
//! entry that is not itself a trusted proxy, since everything left of it was
//! written by the client and may be forged.

use std::net::IpAddr;
use std::str::FromStr;

use axum::http::HeaderMap;

/// An address block, `10.0.0.0/8` or `2001:db8::/32` (a bare address is a
/// block of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `addr` lies in the block; IPv4-mapped IPv6 addresses count as
    /// their IPv4 address.
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.network, canonical(addr)) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let network: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{s}` is not an IP address or CIDR block"))?;
        let network = canonical(network);
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}`: the prefix length must be 0 to {max}"))?,
        };
        Ok(Cidr { network, prefix })
    }
}

/// The proxies whose `X-Forwarded-For` is believed (empty: none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<Cidr>);

impl TrustedProxies {
    /// Parses a comma-separated list of addresses and CIDR blocks.
    pub fn parse(text: &str) -> Result<TrustedProxies, String> {
        text.split(',')
            .filter(|p| !p.trim().is_empty())
            .map(Cidr::from_str)
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, addr: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(addr))
    }

    /// The client behind `peer`: the peer itself unless it is a trusted
    /// proxy that forwarded a usable `X-Forwarded-For`.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        // Several headers are one list, in order.
        let mut hops: Vec<IpAddr> = Vec::new();
        for value in headers.get_all("x-forwarded-for") {
            let Ok(text) = value.to_str() else {
                return peer;
            };
            for part in text.split(',') {
                match parse_hop(part) {
                    Some(ip) => hops.push(canonical(ip)),
                    // A list we cannot read is not evidence of anything.
                    None => return peer,
                }
            }
        }
        let mut client = peer;
        for hop in hops.into_iter().rev() {
            client = hop;
            if !self.trusts(hop) {
                break;
            }
        }
        client
    }
}

/// The client of a request as configured: the TCP peer, or the forwarded
/// client when the peer is a trusted proxy.
pub fn client_ip(config: &crate::config::AuthConfig, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    match &config.trusted_proxies {
        Some(p) => p.client_ip(peer, headers),
        None => canonical(peer),
    }
}

/// One `X-Forwarded-For` entry: an address, optionally with a port
/// (`1.2.3.4:5678`, `[2001:db8::1]:443`).
fn parse_hop(part: &str) -> Option<IpAddr> {
    let part = part.trim();
    if let Ok(ip) = part.parse() {
        return Some(ip);
    }
    part.parse::<std::net::SocketAddr>().ok().map(|s| s.ip())
}

/// IPv4-mapped IPv6 addresses as the IPv4 address they carry.
pub fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn blocks_parse_and_match() {
        let c: Cidr = "10.0.0.0/8".parse().expect("cidr");
        assert!(c.contains(ip("10.200.1.1")));
        assert!(!c.contains(ip("11.0.0.1")));
        assert!(c.contains(ip("::ffff:10.1.2.3")));
        let c: Cidr = "2001:db8::/32".parse().expect("cidr");
        assert!(c.contains(ip("2001:db8:ffff::1")));
        assert!(!c.contains(ip("2001:db9::1")));
        let c: Cidr = "127.0.0.1".parse().expect("single");
        assert!(c.contains(ip("127.0.0.1")) && !c.contains(ip("127.0.0.2")));
        assert!(
            "0.0.0.0/0"
                .parse::<Cidr>()
                .expect("all")
                .contains(ip("8.8.8.8"))
        );
        for bad in ["10.0.0.0/33", "nope", "::/129", "10.0.0.0/x"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
        assert!(TrustedProxies::parse("10.0.0.0/8, ::1").is_ok());
        assert!(TrustedProxies::parse("10.0.0.0/8,bad").is_err());
        assert_eq!(TrustedProxies::parse("").expect("empty").0.len(), 0);
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_peer() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").expect("parse");
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.9, 10.1.1.1"),
        );
        // From the proxy: the rightmost hop that is not a proxy.
        assert_eq!(proxies.client_ip(ip("10.0.0.2"), &h), ip("203.0.113.9"));
        // From anyone else: the peer, whatever the header says.
        assert_eq!(
            proxies.client_ip(ip("198.51.100.1"), &h),
            ip("198.51.100.1")
        );
        // No header, or a garbled one: the peer.
        assert_eq!(
            proxies.client_ip(ip("10.0.0.2"), &HeaderMap::new()),
            ip("10.0.0.2")
        );
        h.insert("x-forwarded-for", HeaderValue::from_static("garbage"));
        assert_eq!(proxies.client_ip(ip("10.0.0.2"), &h), ip("10.0.0.2"));
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("[2001:db8::7]:443"),
        );
        assert_eq!(proxies.client_ip(ip("10.0.0.2"), &h), ip("2001:db8::7"));
        // Nothing trusted: never the header.
        let none = TrustedProxies::default();
        assert_eq!(none.client_ip(ip("10.0.0.2"), &h), ip("10.0.0.2"));
    }
}
