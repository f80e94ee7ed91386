//! The one HTTP client for calls the server makes on its own: webhooks now,
//! issue trackers, notifications and connectors later.
//!
//! Whoever configures a destination (a product Maintainer, for webhooks) is
//! not trusted with the server's network position, so every destination is
//! checked when the connection is made, not only when it is configured:
//!
//! - host names go through [`GuardedResolver`], which drops internal
//!   addresses from what DNS answers (a name that resolved to a public
//!   address at creation and to `127.0.0.1` now is refused now, so DNS
//!   rebinding does not get around the check);
//! - IP-literal URLs never reach a resolver, so [`Outbound::send`] checks
//!   them itself;
//! - redirects are not followed (a public receiver answering
//!   `303 Location: http://10.0.0.5/` would otherwise bounce the request
//!   inward), and environment proxies are ignored (a proxy would connect to
//!   the destination on our behalf, unchecked).
//!
//! Loopback, private, link-local, CGNAT, unique-local, multicast,
//! unspecified, broadcast and reserved addresses, their IPv4-mapped,
//! IPv4-compatible, NAT64 and 6to4 IPv6 forms, and cloud metadata addresses
//! are refused unless the operator lets them through with
//! `PALISADE_OUTBOUND_ALLOW` ([`AllowList`]). Failures are reported as a
//! coarse [`FailureClass`], never as the transport's text, so the delivery
//! log is no oracle for what answers inside the network.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Longest wait for a TCP (and TLS) connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest time for a whole request, response body included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Most response-body bytes read; a longer body fails the call.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Longest wait for DNS when a destination is checked at configuration time.
const CHECK_RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why an address is refused by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`, `fec0::/10`.
    Private,
    /// `169.254.0.0/16`, `fe80::/10`.
    LinkLocal,
    /// Carrier-grade NAT, `100.64.0.0/10`.
    SharedCgnat,
    /// Unique local IPv6, `fc00::/7`.
    UniqueLocal,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `0.0.0.0/8`, `::`.
    Unspecified,
    /// `255.255.255.255`.
    Broadcast,
    /// `240.0.0.0/4`, `192.0.0.0/24`, `100::/64`: not for hosts.
    Reserved,
    /// A cloud provider's instance metadata service (credentials live there).
    Metadata,
}

impl AddressClass {
    /// How the refusal names the class, e.g. "a loopback address".
    pub fn describe(self) -> &'static str {
        match self {
            AddressClass::Loopback => "a loopback address",
            AddressClass::Private => "a private address",
            AddressClass::LinkLocal => "a link-local address",
            AddressClass::SharedCgnat => "a carrier-grade NAT (100.64.0.0/10) address",
            AddressClass::UniqueLocal => "a unique local IPv6 address",
            AddressClass::Multicast => "a multicast address",
            AddressClass::Unspecified => "an unspecified address",
            AddressClass::Broadcast => "a broadcast address",
            AddressClass::Reserved => "a reserved address",
            AddressClass::Metadata => "a cloud metadata address",
        }
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Metadata services that sit outside the internal ranges, or inside them
/// but deserve their own name in a refusal.
const METADATA: [IpAddr; 6] = [
    // AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean, ...
    IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)),
    // AWS ECS task metadata.
    IpAddr::V4(Ipv4Addr::new(169, 254, 170, 2)),
    // Alibaba Cloud.
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
    // Azure wire server: a public address that only answers inside Azure.
    IpAddr::V4(Ipv4Addr::new(168, 63, 129, 16)),
    // Oracle Cloud (legacy).
    IpAddr::V4(Ipv4Addr::new(192, 0, 0, 192)),
    // AWS over IPv6.
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254)),
];

/// Why `ip` is refused by default, or `None` for an ordinary public address.
pub fn classify(ip: IpAddr) -> Option<AddressClass> {
    if METADATA.contains(&ip) {
        return Some(AddressClass::Metadata);
    }
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    if METADATA.contains(&IpAddr::V4(ip)) {
        return Some(AddressClass::Metadata);
    }
    let [a, b, c, _] = ip.octets();
    Some(match (a, b) {
        (0, _) => AddressClass::Unspecified,
        (10, _) => AddressClass::Private,
        (100, 64..=127) => AddressClass::SharedCgnat,
        (127, _) => AddressClass::Loopback,
        (169, 254) => AddressClass::LinkLocal,
        (172, 16..=31) => AddressClass::Private,
        (192, 168) => AddressClass::Private,
        (192, 0) if c == 0 => AddressClass::Reserved,
        (224..=239, _) => AddressClass::Multicast,
        _ if ip == Ipv4Addr::BROADCAST => AddressClass::Broadcast,
        (240..=255, _) => AddressClass::Reserved,
        _ => return None,
    })
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddressClass> {
    if ip.is_unspecified() {
        return Some(AddressClass::Unspecified);
    }
    if ip.is_loopback() {
        return Some(AddressClass::Loopback);
    }
    let s = ip.segments();
    // Forms that carry an IPv4 address, which is what gets reached.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    if s[..6] == [0; 6] {
        // IPv4-compatible `::a.b.c.d` (deprecated, still routed by some stacks).
        return classify_v4(embedded_v4(s[6], s[7]));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64 well-known prefix: the gateway connects to the IPv4 address.
        return classify_v4(embedded_v4(s[6], s[7]));
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
        // Local-use NAT64 (64:ff9b:1::/48) only exists inside a network.
        return Some(AddressClass::Private);
    }
    if s[0] == 0x2002 {
        // 6to4 tunnels to the IPv4 address in bits 16..48.
        return classify_v4(embedded_v4(s[1], s[2]));
    }
    Some(match s[0] {
        0xfe80..=0xfebf => AddressClass::LinkLocal,
        0xfec0..=0xfeff => AddressClass::Private,
        0xfc00..=0xfdff => AddressClass::UniqueLocal,
        0xff00..=0xffff => AddressClass::Multicast,
        0x0100 if s[1..4] == [0, 0, 0] => AddressClass::Reserved,
        _ => return None,
    })
}

fn embedded_v4(hi: u16, lo: u16) -> Ipv4Addr {
    let [a, b] = hi.to_be_bytes();
    let [c, d] = lo.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

/// IPv4-mapped and -compatible IPv6 addresses as the IPv4 address they
/// reach, so an allow-list entry matches both spellings.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// A network in CIDR notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `10.0.0.0/8`, `fd00::/8` or a single address (a /32 or /128).
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{text}` is not an IP address or CIDR"))?;
        let network = canonical(network);
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => return Err(format!("`{text}`: the prefix length must be 0 to {max}")),
            },
        };
        if Cidr::masked(network, prefix) != network {
            return Err(format!("`{text}` has host bits set after the prefix"));
        }
        Ok(Cidr { network, prefix })
    }

    /// The network holding only `ip`.
    pub fn single(ip: IpAddr) -> Cidr {
        let network = canonical(ip);
        let prefix = if network.is_ipv4() { 32 } else { 128 };
        Cidr { network, prefix }
    }

    fn masked(ip: IpAddr, prefix: u8) -> IpAddr {
        match ip {
            IpAddr::V4(v4) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
        }
    }

    /// Whether `ip` (in either IPv4 spelling) is inside this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        ip.is_ipv4() == self.network.is_ipv4() && Cidr::masked(ip, self.prefix) == self.network
    }
}

/// `PALISADE_OUTBOUND_ALLOW`: internal destinations the operator lets
/// through (an on-premises Jira, a test receiver on `127.0.0.1`).
///
/// Comma-separated CIDRs or addresses (`10.20.0.0/16`, `127.0.0.1`, `::1`)
/// and host names (`jira.corp.example`; `*.corp.example` for every name
/// under it). An allowed host name may resolve to any address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    networks: Vec<Cidr>,
    hosts: Vec<String>,
    /// Suffixes (with their leading dot) from `*.` entries.
    domains: Vec<String>,
}

impl AllowList {
    /// Parses the setting; an empty text allows nothing.
    pub fn parse(text: &str) -> Result<AllowList, String> {
        let mut list = AllowList::default();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let looks_ip = entry.contains(':')
                || entry.contains('/')
                || entry.chars().all(|c| c.is_ascii_digit() || c == '.');
            if looks_ip {
                list.networks.push(Cidr::parse(entry)?);
                continue;
            }
            let name = entry.trim_end_matches('.').to_ascii_lowercase();
            let (wild, bare) = match name.strip_prefix("*.") {
                Some(rest) => (true, rest),
                None => (false, name.as_str()),
            };
            let valid = !bare.is_empty()
                && bare.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                });
            if !valid {
                return Err(format!(
                    "`{entry}` is not a CIDR, an address or a host name"
                ));
            }
            if wild {
                list.domains.push(format!(".{bare}"));
            } else {
                list.hosts.push(bare.to_owned());
            }
        }
        Ok(list)
    }

    /// Whether the list allows nothing.
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty() && self.hosts.is_empty() && self.domains.is_empty()
    }

    /// Whether connections to `host` (a name from a URL) skip the address check.
    pub fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.contains(&host) || self.domains.iter().any(|d| host.ends_with(d.as_str()))
    }

    /// Whether `ip` is inside an allowed network.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|n| n.contains(ip))
    }

    /// This list plus the host of `url`, which the operator configured
    /// (the OpenID provider's issuer): an on-premises provider on an
    /// internal address must not need a second, broader setting.
    pub fn with_url_host(mut self, url: &str) -> Result<AllowList, DestinationError> {
        let parsed = url::Url::parse(url).map_err(|_| DestinationError::InvalidUrl)?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(DestinationError::InvalidUrl);
        }
        match parsed.host() {
            None => return Err(DestinationError::InvalidUrl),
            Some(url::Host::Ipv4(v4)) => self.networks.push(Cidr::single(IpAddr::V4(v4))),
            Some(url::Host::Ipv6(v6)) => self.networks.push(Cidr::single(IpAddr::V6(v6))),
            Some(url::Host::Domain(name)) => self
                .hosts
                .push(name.trim_end_matches('.').to_ascii_lowercase()),
        }
        Ok(self)
    }
}

/// A destination refused by the address check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{host} resolves to {addr}, {class}")]
pub struct Refused {
    /// The host as the URL gives it.
    pub host: String,
    /// The refused address.
    pub addr: IpAddr,
    /// Why.
    pub class: AddressClass,
}

/// Which destinations may be reached.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    allow: AllowList,
}

impl Policy {
    /// The default rules, with the operator's exceptions.
    pub fn new(allow: AllowList) -> Policy {
        Policy { allow }
    }

    /// `Err` when `addr` (reached for `host`) is internal and not allowed.
    pub fn check_ip(&self, host: &str, addr: IpAddr) -> Result<(), Refused> {
        match classify(addr) {
            Some(class) if !self.allow.allows_ip(addr) => Err(Refused {
                host: host.to_owned(),
                addr,
                class,
            }),
            _ => Ok(()),
        }
    }

    /// Checks a URL someone configures (a webhook's), resolving its host now.
    ///
    /// Stricter than the connect-time check: a name with any internal
    /// address among its answers is refused outright.
    pub async fn check_url(&self, url: &str) -> Result<(), DestinationError> {
        let parsed = url::Url::parse(url).map_err(|_| DestinationError::InvalidUrl)?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(DestinationError::InvalidUrl);
        }
        match parsed.host() {
            None => Err(DestinationError::InvalidUrl),
            Some(url::Host::Ipv4(v4)) => Ok(self.check_ip(&v4.to_string(), IpAddr::V4(v4))?),
            Some(url::Host::Ipv6(v6)) => Ok(self.check_ip(&v6.to_string(), IpAddr::V6(v6))?),
            Some(url::Host::Domain(name)) => {
                if self.allow.allows_host(name) {
                    return Ok(());
                }
                let port = parsed.port_or_known_default().unwrap_or(80);
                let addrs = tokio::time::timeout(
                    CHECK_RESOLVE_TIMEOUT,
                    tokio::net::lookup_host((name, port)),
                )
                .await
                .map_err(|_| DestinationError::Unresolvable)?
                .map_err(|_| DestinationError::Unresolvable)?
                .collect::<Vec<_>>();
                if addrs.is_empty() {
                    return Err(DestinationError::Unresolvable);
                }
                for a in addrs {
                    self.check_ip(name, a.ip())?;
                }
                Ok(())
            }
        }
    }
}

/// Why a configured destination is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    /// Not an absolute `http(s)://` URL with a host.
    #[error("must be an absolute http(s) URL")]
    InvalidUrl,
    /// DNS gave no address.
    #[error("its host name could not be resolved")]
    Unresolvable,
    /// An internal address.
    #[error(transparent)]
    Refused(#[from] Refused),
}

/// Resolves host names for [`Outbound`], keeping only allowed addresses.
struct GuardedResolver {
    policy: Arc<Policy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if policy.allow.allows_host(&host) {
                return Ok(Box::new(found.into_iter()) as Addrs);
            }
            let mut refused = None;
            let mut kept = Vec::with_capacity(found.len());
            for a in found {
                match policy.check_ip(&host, a.ip()) {
                    Ok(()) => kept.push(a),
                    Err(r) => refused = Some(r),
                }
            }
            match refused {
                Some(r) if kept.is_empty() => {
                    Err(Box::new(r) as Box<dyn std::error::Error + Send + Sync>)
                }
                _ => Ok(Box::new(kept.into_iter()) as Addrs),
            }
        })
    }
}

/// What went wrong with an outbound call, coarsely: the class is what gets
/// stored and shown, the transport's own text only goes to the debug log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FailureClass {
    /// The URL cannot be sent to.
    #[error("invalid url")]
    InvalidUrl,
    /// The destination is an internal address that is not allowed.
    #[error("refused destination")]
    RefusedDestination,
    /// The host name did not resolve.
    #[error("dns failed")]
    Dns,
    /// No TCP connection.
    #[error("connect failed")]
    ConnectFailed,
    /// The TLS handshake failed (certificate, protocol).
    #[error("tls")]
    Tls,
    /// Connecting or the whole exchange took too long.
    #[error("timeout")]
    Timeout,
    /// The response body was over [`MAX_RESPONSE_BYTES`].
    #[error("response too large")]
    ResponseTooLarge,
    /// The receiver answered 1xx (unexpected here).
    #[error("http 1xx")]
    Http1xx,
    /// The receiver answered a redirect, which is not followed.
    #[error("http 3xx")]
    Http3xx,
    /// The receiver refused the request.
    #[error("http 4xx")]
    Http4xx,
    /// The receiver failed.
    #[error("http 5xx")]
    Http5xx,
    /// Anything else (the connection broke mid-exchange, ...).
    #[error("request failed")]
    Other,
}

impl FailureClass {
    /// The class of a non-success status, `None` for 2xx.
    pub fn of_status(status: reqwest::StatusCode) -> Option<FailureClass> {
        match status.as_u16() {
            200..=299 => None,
            100..=199 => Some(FailureClass::Http1xx),
            300..=399 => Some(FailureClass::Http3xx),
            400..=499 => Some(FailureClass::Http4xx),
            _ => Some(FailureClass::Http5xx),
        }
    }

    fn of_error(e: &reqwest::Error) -> FailureClass {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
        let mut io_kind = None;
        let mut tls = false;
        while let Some(s) = source {
            if s.downcast_ref::<Refused>().is_some() {
                return FailureClass::RefusedDestination;
            }
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                io_kind.get_or_insert(io.kind());
                // rustls reports handshake and certificate errors as
                // InvalidData I/O errors wrapping its own error.
                tls |= io.kind() == std::io::ErrorKind::InvalidData && io.get_ref().is_some();
            }
            source = s.source();
        }
        if e.is_timeout() || io_kind == Some(std::io::ErrorKind::TimedOut) {
            FailureClass::Timeout
        } else if tls {
            FailureClass::Tls
        } else if e.is_connect() {
            if e.is_dns() {
                FailureClass::Dns
            } else {
                FailureClass::ConnectFailed
            }
        } else if e.is_builder() {
            FailureClass::InvalidUrl
        } else {
            FailureClass::Other
        }
    }
}

/// A response whose body was read (at most [`MAX_RESPONSE_BYTES`]).
#[derive(Debug)]
pub struct OutboundResponse {
    /// The status; redirects come back as they are.
    pub status: reqwest::StatusCode,
    /// The body.
    pub body: bytes::Bytes,
}

/// Why [`Outbound::trusting`] could not make its client.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The operator's URL is not an absolute http(s) URL.
    #[error(transparent)]
    Url(#[from] DestinationError),
    /// The client could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// Why the outbound client could not start.
#[derive(Debug, thiserror::Error)]
#[error("the outbound HTTP client could not be built: {0}")]
pub struct BuildError(#[from] reqwest::Error);

/// The shared outbound HTTP client; cheap to clone.
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    policy: Arc<Policy>,
}

impl fmt::Debug for Outbound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbound")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Outbound {
    /// A client enforcing `policy`.
    pub fn new(policy: Policy) -> Result<Outbound, BuildError> {
        let policy = Arc::new(policy);
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver {
                policy: policy.clone(),
            }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .referer(false)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("Palisade/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Outbound { client, policy })
    }

    /// The destination rules.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// A client with the same rules that also lets `url`'s host through,
    /// for a destination the operator configured (never one a user did).
    pub fn trusting(&self, url: &str) -> Result<Outbound, TrustError> {
        let allow = self.policy.allow.clone().with_url_host(url)?;
        Ok(Outbound::new(Policy::new(allow))?)
    }

    /// Sends one request and reads the response, any status included.
    pub async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        headers: reqwest::header::HeaderMap,
        body: Vec<u8>,
    ) -> Result<OutboundResponse, FailureClass> {
        let parsed = url::Url::parse(url).map_err(|_| FailureClass::InvalidUrl)?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(FailureClass::InvalidUrl);
        }
        // IP literals are connected to without asking the resolver.
        let literal = match parsed.host() {
            Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            Some(url::Host::Domain(_)) => None,
            None => return Err(FailureClass::InvalidUrl),
        };
        if let Some(ip) = literal
            && let Err(r) = self.policy.check_ip(&ip.to_string(), ip)
        {
            tracing::debug!(refused = %r, "outbound request refused");
            return Err(FailureClass::RefusedDestination);
        }
        let mut response = self
            .client
            .request(method, parsed)
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(classify_error)?;
        let status = response.status();
        let mut buf = bytes::BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(classify_error)? {
            if buf.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(FailureClass::ResponseTooLarge);
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(OutboundResponse {
            status,
            body: buf.freeze(),
        })
    }
}

fn classify_error(e: reqwest::Error) -> FailureClass {
    let class = FailureClass::of_error(&e);
    // The URL may carry credentials; the rest is for the operator only.
    tracing::debug!(error = %e.without_url(), class = %class, "outbound request failed");
    class
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> Option<AddressClass> {
        classify(s.parse().expect("address"))
    }

    #[test]
    fn internal_ipv4_ranges_are_classified() {
        use AddressClass::*;
        for (ip, want) in [
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("10.0.0.1", Private),
            ("10.255.255.255", Private),
            ("100.64.0.1", SharedCgnat),
            ("100.127.255.254", SharedCgnat),
            ("100.100.100.200", Metadata),
            ("127.0.0.1", Loopback),
            ("127.255.0.9", Loopback),
            ("169.254.0.1", LinkLocal),
            ("169.254.169.254", Metadata),
            ("169.254.170.2", Metadata),
            ("168.63.129.16", Metadata),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("192.0.0.8", Reserved),
            ("192.0.0.192", Metadata),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("240.0.0.1", Reserved),
            ("255.255.255.254", Reserved),
            ("255.255.255.255", Broadcast),
        ] {
            assert_eq!(class(ip), Some(want), "{ip}");
        }
    }

    #[test]
    fn public_addresses_and_range_edges_pass() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "169.255.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.167.255.255",
            "192.169.0.0",
            "192.0.1.1",
            "192.0.2.10",
            "223.255.255.255",
            "2001:4860:4860::8888",
            "2606:4700::1111",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(class(ip), None, "{ip}");
        }
    }

    #[test]
    fn internal_ipv6_ranges_are_classified() {
        use AddressClass::*;
        for (ip, want) in [
            ("::", Unspecified),
            ("::1", Loopback),
            ("fe80::1", LinkLocal),
            ("febf:ffff::1", LinkLocal),
            ("fec0::1", Private),
            ("fc00::1", UniqueLocal),
            ("fdff:ffff::1", UniqueLocal),
            ("fd00:ec2::254", Metadata),
            ("ff02::1", Multicast),
            ("ff0e::1", Multicast),
            ("100::1", Reserved),
            ("64:ff9b:1::a00:1", Private),
        ] {
            assert_eq!(class(ip), Some(want), "{ip}");
        }
    }

    #[test]
    fn ipv6_forms_of_internal_ipv4_addresses_are_classified() {
        use AddressClass::*;
        for (ip, want) in [
            // IPv4-mapped.
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:10.1.2.3", Private),
            ("::ffff:169.254.169.254", Metadata),
            ("::ffff:100.64.0.1", SharedCgnat),
            ("::ffff:0.0.0.0", Unspecified),
            ("::ffff:255.255.255.255", Broadcast),
            ("::ffff:224.0.0.1", Multicast),
            ("::ffff:192.168.0.1", Private),
            ("::ffff:7f00:1", Loopback),
            // IPv4-compatible.
            ("::127.0.0.1", Loopback),
            ("::10.0.0.1", Private),
            ("::169.254.169.254", Metadata),
            ("::0.0.0.2", Unspecified),
            // NAT64 and 6to4.
            ("64:ff9b::127.0.0.1", Loopback),
            ("64:ff9b::a9fe:a9fe", Metadata),
            ("2002:7f00:1::", Loopback),
            ("2002:c0a8:101::1", Private),
        ] {
            assert_eq!(class(ip), Some(want), "{ip}");
        }
    }

    #[test]
    fn allow_lists_parse_networks_addresses_and_names() {
        let l = AllowList::parse(
            " 127.0.0.1, 10.20.0.0/16 ,::1,fd00::/8, Jira.Corp.Example., *.lab.example ",
        )
        .expect("valid");
        assert!(l.allows_ip("127.0.0.1".parse().expect("ip")));
        assert!(
            l.allows_ip("::ffff:127.0.0.1".parse().expect("ip")),
            "mapped form of an allowed address"
        );
        assert!(!l.allows_ip("127.0.0.2".parse().expect("ip")));
        assert!(l.allows_ip("10.20.255.1".parse().expect("ip")));
        assert!(!l.allows_ip("10.21.0.1".parse().expect("ip")));
        assert!(l.allows_ip("::1".parse().expect("ip")));
        assert!(l.allows_ip("fd12::1".parse().expect("ip")));
        assert!(!l.allows_ip("fc00::1".parse().expect("ip")));
        assert!(l.allows_host("jira.corp.example"));
        assert!(l.allows_host("JIRA.corp.example."));
        assert!(!l.allows_host("corp.example"));
        assert!(l.allows_host("ci.lab.example"));
        assert!(
            !l.allows_host("lab.example"),
            "a wildcard covers names below it only"
        );
        assert!(!l.allows_host("evil-lab.example"));
        assert!(AllowList::parse("").expect("empty").is_empty());
        assert!(AllowList::parse(" , ").expect("blank entries").is_empty());
        assert!(
            AllowList::parse("0.0.0.0/0")
                .expect("everything")
                .allows_ip("10.0.0.1".parse().expect("ip"))
        );
    }

    #[test]
    fn bad_allow_list_entries_are_named() {
        for (text, needle) in [
            ("10.0.0.0/33", "10.0.0.0/33"),
            ("10.0.0.1/8", "host bits"),
            ("300.1.1.1", "300.1.1.1"),
            ("fd00::/129", "fd00::/129"),
            ("jira corp", "jira corp"),
            ("*.", "*."),
            ("a..b", "a..b"),
            ("http://x/", "http://x/"),
        ] {
            let e = AllowList::parse(text).expect_err(text);
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn an_operator_url_adds_exactly_its_host() {
        let base = AllowList::parse("10.1.0.0/16").expect("list");
        let named = base
            .clone()
            .with_url_host("https://SSO.corp.example./realms/x")
            .expect("url");
        assert!(named.allows_host("sso.corp.example"));
        assert!(!named.allows_host("other.corp.example"));
        assert!(
            named.allows_ip("10.1.2.3".parse().expect("ip")),
            "keeps the list"
        );
        let literal = base
            .clone()
            .with_url_host("http://127.0.0.1:8081")
            .expect("url");
        assert!(literal.allows_ip("127.0.0.1".parse().expect("ip")));
        assert!(literal.allows_ip("::ffff:127.0.0.1".parse().expect("ip")));
        assert!(!literal.allows_ip("127.0.0.2".parse().expect("ip")));
        let v6 = base
            .clone()
            .with_url_host("http://[::1]:9000/")
            .expect("url");
        assert!(v6.allows_ip("::1".parse().expect("ip")));
        for bad in ["ftp://sso.example", "not a url", "file:///etc/passwd"] {
            assert!(base.clone().with_url_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_policy_refuses_internal_addresses_unless_allowed() {
        let strict = Policy::default();
        let lo: IpAddr = "127.0.0.1".parse().expect("ip");
        let e = strict.check_ip("localhost", lo).expect_err("refused");
        assert_eq!(e.class, AddressClass::Loopback);
        assert_eq!(
            e.to_string(),
            "localhost resolves to 127.0.0.1, a loopback address"
        );
        assert!(
            strict
                .check_ip("x", "93.184.215.14".parse().expect("ip"))
                .is_ok()
        );
        let open = Policy::new(AllowList::parse("127.0.0.0/8").expect("valid"));
        assert!(open.check_ip("localhost", lo).is_ok());
        assert!(
            open.check_ip("x", "::ffff:127.0.0.1".parse().expect("ip"))
                .is_ok()
        );
        assert!(open.check_ip("x", "10.0.0.1".parse().expect("ip")).is_err());
    }

    #[tokio::test]
    async fn configured_urls_are_checked_before_they_are_stored() {
        let strict = Policy::default();
        for url in [
            "http://127.0.0.1:8080/hook",
            "http://127.1/",
            "http://2130706433/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.5:8500/",
            "http://localhost:5432/",
        ] {
            assert!(
                matches!(
                    strict.check_url(url).await,
                    Err(DestinationError::Refused(_))
                ),
                "{url}"
            );
        }
        assert_eq!(
            strict.check_url("ftp://example.com/").await,
            Err(DestinationError::InvalidUrl)
        );
        assert_eq!(
            strict.check_url("not a url").await,
            Err(DestinationError::InvalidUrl)
        );
        assert!(strict.check_url("http://192.0.2.10/").await.is_ok());
        let open = Policy::new(AllowList::parse("127.0.0.1,localhost").expect("valid"));
        assert!(open.check_url("http://127.0.0.1:9/").await.is_ok());
        assert!(open.check_url("http://localhost:9/").await.is_ok());
    }

    #[tokio::test]
    async fn the_client_refuses_internal_destinations_at_connect_time() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let out = Outbound::new(Policy::default()).expect("client");
        for url in [
            format!("http://127.0.0.1:{port}/"),
            format!("http://localhost:{port}/"),
            format!("http://[::ffff:127.0.0.1]:{port}/"),
        ] {
            let r = out
                .send(reqwest::Method::POST, &url, Default::default(), Vec::new())
                .await;
            assert_eq!(r.err(), Some(FailureClass::RefusedDestination), "{url}");
        }
        // Nothing connected.
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "a refused destination was connected to");
    }
}
