//! Turning URLs (and bare "host:port" strings) into [`Endpoint`]s and back.
//!
//! The parser is deliberately small and lenient about what scanners print:
//! `https://user:pw@Host.example:8443/a/b?q=1#frag`, `host.example:8080`,
//! `host.example/path`, `//host.example`, `[2001:db8::1]:443`, `2001:db8::1`.
//! Host names are lower-cased; percent-encoding is kept as written. A path of
//! just "/" is dropped (it names the same resource as no path). No default
//! port is filled in: a missing port stays `None`.

use crate::Endpoint;

/// Parses a URL, "host:port", or bare host into an [`Endpoint`].
///
/// Returns `None` for empty input, an empty host, a host with spaces or
/// characters that cannot appear in one, and a port that is not a number in
/// 0..=65535.
pub fn endpoint_from_url(url: &str) -> Option<Endpoint> {
    let s = url.trim();
    if s.is_empty() {
        return None;
    }
    let (protocol, rest) = split_scheme(s);
    let rest = rest.strip_prefix("//").unwrap_or(rest);

    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(auth_end);

    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (non_empty(u), h),
        None => (None, authority),
    };
    let (host, port) = split_host_port(hostport)?;
    if host.is_empty() || !host.chars().all(is_host_char) {
        return None;
    }

    let (before_frag, fragment) = match tail.split_once('#') {
        Some((b, f)) => (b, non_empty(f)),
        None => (tail, None),
    };
    let (path, query) = match before_frag.split_once('?') {
        Some((p, q)) => (p, non_empty(q)),
        None => (before_frag, None),
    };
    let path = if path.is_empty() || path == "/" {
        None
    } else {
        Some(path.to_owned())
    };

    Some(Endpoint {
        protocol,
        userinfo,
        host: host.to_lowercase(),
        port,
        path,
        query,
        fragment,
    })
}

/// Splits "scheme://" off `s`, lower-casing the scheme.
fn split_scheme(s: &str) -> (Option<String>, &str) {
    if let Some(idx) = s.find("://") {
        let scheme = &s[..idx];
        let valid = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if valid {
            return (Some(scheme.to_ascii_lowercase()), &s[idx + 3..]);
        }
    }
    (None, s)
}

/// Splits "host:port", "[v6]:port", "[v6]" or a bare IPv6 literal.
fn split_host_port(hp: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = hp.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        if !host.contains(':') {
            return None;
        }
        return match after {
            "" => Some((host, None)),
            p => Some((host, parse_port(p.strip_prefix(':')?)?)),
        };
    }
    match hp.matches(':').count() {
        0 => Some((hp, None)),
        1 => {
            let (h, p) = hp.split_once(':')?;
            Some((h, parse_port(p)?))
        }
        // More than one colon without brackets: a bare IPv6 address.
        _ => hp
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
            .then_some((hp, None)),
    }
}

/// Parses a port: `Some(None)` for an empty one, `None` when invalid.
fn parse_port(p: &str) -> Option<Option<u16>> {
    if p.is_empty() {
        return Some(None);
    }
    if !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    p.parse::<u16>().ok().map(Some)
}

fn is_host_char(c: char) -> bool {
    !(c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '<' | '>' | '"' | '{' | '}' | '|' | '\\' | '^' | '`' | '[' | ']' | '@' | '/'
        ))
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

impl Endpoint {
    /// An endpoint with only a host (lower-cased) and optionally a port.
    pub fn from_host(host: &str, port: Option<u16>) -> Self {
        Endpoint {
            host: host.trim().to_lowercase(),
            port,
            ..Endpoint::default()
        }
    }

    /// Writes the endpoint back as a URL, bracketing IPv6 hosts.
    ///
    /// Without a protocol the result starts with the host ("host:8080/path").
    pub fn to_url(&self) -> String {
        let mut out = String::new();
        if let Some(p) = &self.protocol {
            out.push_str(p);
            out.push_str("://");
        }
        if let Some(u) = &self.userinfo {
            out.push_str(u);
            out.push('@');
        }
        if self.host.contains(':') {
            out.push('[');
            out.push_str(&self.host);
            out.push(']');
        } else {
            out.push_str(&self.host);
        }
        if let Some(port) = self.port {
            out.push(':');
            out.push_str(&port.to_string());
        }
        if let Some(path) = &self.path {
            if !path.starts_with('/') {
                out.push('/');
            }
            out.push_str(path);
        }
        if let Some(q) = &self.query {
            out.push('?');
            out.push_str(q);
        }
        if let Some(f) = &self.fragment {
            out.push('#');
            out.push_str(f);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(url: &str) -> Endpoint {
        endpoint_from_url(url).unwrap_or_else(|| panic!("{url} should parse"))
    }

    #[test]
    fn full_url() {
        let e = ep("HTTPS://user:pw@Host.Example.COM:8443/a/B?q=1&r=2#Frag");
        assert_eq!(e.protocol.as_deref(), Some("https"));
        assert_eq!(e.userinfo.as_deref(), Some("user:pw"));
        assert_eq!(e.host, "host.example.com");
        assert_eq!(e.port, Some(8443));
        assert_eq!(e.path.as_deref(), Some("/a/B"));
        assert_eq!(e.query.as_deref(), Some("q=1&r=2"));
        assert_eq!(e.fragment.as_deref(), Some("Frag"));
        assert_eq!(
            e.to_url(),
            "https://user:pw@host.example.com:8443/a/B?q=1&r=2#Frag"
        );
    }

    #[test]
    fn bare_host_and_host_port() {
        let e = ep("example.com");
        assert_eq!(
            (e.protocol.as_deref(), e.host.as_str(), e.port),
            (None, "example.com", None)
        );
        let e = ep("Example.com:8080");
        assert_eq!((e.host.as_str(), e.port), ("example.com", Some(8080)));
        assert_eq!(e.to_url(), "example.com:8080");
        let e = ep("10.0.0.1:22/x");
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_deref()),
            ("10.0.0.1", Some(22), Some("/x"))
        );
        let e = ep("//cdn.example.com/lib.js");
        assert_eq!(
            (e.host.as_str(), e.path.as_deref()),
            ("cdn.example.com", Some("/lib.js"))
        );
        let e = ep("localhost:");
        assert_eq!((e.host.as_str(), e.port), ("localhost", None));
    }

    #[test]
    fn ipv6() {
        let e = ep("http://[2001:DB8::1]:8080/p");
        assert_eq!((e.host.as_str(), e.port), ("2001:db8::1", Some(8080)));
        assert_eq!(e.to_url(), "http://[2001:db8::1]:8080/p");
        let e = ep("[::1]");
        assert_eq!((e.host.as_str(), e.port), ("::1", None));
        let e = ep("fe80::1");
        assert_eq!((e.host.as_str(), e.port), ("fe80::1", None));
        assert!(endpoint_from_url("[::1").is_none());
        assert!(endpoint_from_url("[::1]x").is_none());
        assert!(endpoint_from_url("[host]:80").is_none());
    }

    #[test]
    fn root_path_and_empty_parts_dropped() {
        let e = ep("https://example.com/?#");
        assert_eq!((e.path, e.query, e.fragment), (None, None, None));
        let e = ep("https://example.com?x=1");
        assert_eq!((e.path, e.query.as_deref()), (None, Some("x=1")));
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "   ",
            "http://",
            "http://:80",
            "http://host:99999",
            "http://host:abc",
            "host:-1",
            "a b.example.com",
            "http://exa mple.com/",
            "http://<script>/",
            "http://host:80:90",
        ] {
            assert!(endpoint_from_url(s).is_none(), "{s:?}");
        }
    }

    #[test]
    fn round_trip() {
        for s in [
            "https://example.com",
            "http://example.com:8080/a?b#c",
            "ftp://user@files.example.com/pub",
            "https://[::1]:443/",
        ] {
            let e = ep(s);
            assert_eq!(endpoint_from_url(&e.to_url()).unwrap(), e, "{s}");
        }
        assert_eq!(
            Endpoint::from_host(" DB.local ", Some(5432)).to_url(),
            "db.local:5432"
        );
        let e = Endpoint {
            host: "h".into(),
            path: Some("p".into()),
            ..Endpoint::default()
        };
        assert_eq!(e.to_url(), "h/p");
    }
}
