//! URL locations: parsing user or scanner input into the canonical form that
//! identifies a location, and its identity hash.

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};

use super::DomainError;
use crate::db::models::location::NewLocation;

/// The parts of a URL location.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UrlParts {
    /// Scheme, lower-case, without "://".
    pub protocol: String,
    /// "user:password".
    pub user_info: String,
    /// Host, lower-case.
    pub host: String,
    /// Port when not the scheme's default.
    pub port: Option<u16>,
    /// Path with leading "/", or empty.
    pub path: String,
    /// Query without "?".
    pub query: String,
    /// Fragment without "#".
    pub fragment: String,
}

fn default_port(protocol: &str) -> Option<u16> {
    match protocol {
        "http" => Some(80),
        "https" => Some(443),
        "ftp" => Some(21),
        "ssh" => Some(22),
        _ => None,
    }
}

impl UrlParts {
    /// Parses a URL or a bare host (with optional port); rejects anything without a host.
    pub fn parse(input: &str) -> Result<UrlParts, DomainError> {
        let invalid = |m: &str| DomainError::Invalid {
            field: "url".to_owned(),
            message: format!("`{}`: {m}", input.chars().take(200).collect::<String>()),
        };
        let t = input.trim();
        if t.is_empty() {
            return Err(invalid("is empty"));
        }
        if t.len() > 2048 {
            return Err(invalid("is longer than 2048 characters"));
        }
        let with_scheme = if t.contains("://") {
            t.to_owned()
        } else {
            format!("none://{t}")
        };
        let u = url::Url::parse(&with_scheme).map_err(|e| invalid(&e.to_string()))?;
        let host = u
            .host_str()
            .ok_or_else(|| invalid("has no host"))?
            .to_lowercase();
        let protocol = if u.scheme() == "none" {
            String::new()
        } else {
            u.scheme().to_lowercase()
        };
        let port = u.port().filter(|p| Some(*p) != default_port(&protocol));
        let user_info = match (u.username(), u.password()) {
            ("", None) => String::new(),
            (user, None) => user.to_owned(),
            (user, Some(p)) => format!("{user}:{p}"),
        };
        let path = match u.path() {
            "/" | "" => String::new(),
            p => p.to_owned(),
        };
        Ok(UrlParts {
            protocol,
            user_info,
            host,
            port,
            path,
            query: u.query().unwrap_or("").to_owned(),
            fragment: u.fragment().unwrap_or("").to_owned(),
        })
    }

    /// The canonical string that identifies the location.
    pub fn canonical(&self) -> String {
        let mut s = String::new();
        if !self.protocol.is_empty() {
            s.push_str(&self.protocol);
            s.push_str("://");
        }
        if !self.user_info.is_empty() {
            s.push_str(&self.user_info);
            s.push('@');
        }
        s.push_str(&self.host);
        if let Some(p) = self.port {
            s.push(':');
            s.push_str(&p.to_string());
        }
        s.push_str(&self.path);
        if !self.query.is_empty() {
            s.push('?');
            s.push_str(&self.query);
        }
        if !self.fragment.is_empty() {
            s.push('#');
            s.push_str(&self.fragment);
        }
        s
    }

    /// BLAKE2b-256 of the canonical string, hex.
    pub fn identity_hash(&self) -> String {
        let mut h = Blake2b::<U32>::new();
        h.update(self.canonical().as_bytes());
        hex::encode(h.finalize())
    }

    /// The insert form.
    pub fn to_new(&self) -> NewLocation {
        NewLocation {
            location_value: self.canonical(),
            identity_hash: self.identity_hash(),
            protocol: self.protocol.clone(),
            user_info: self.user_info.clone(),
            host: self.host.clone(),
            port: self.port.map(i32::from),
            path: self.path.clone(),
            query: self.query.clone(),
            fragment: self.fragment.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_drops_default_ports_and_lowercases_host() {
        let a = UrlParts::parse("HTTPS://Example.COM:443/login?x=1").expect("valid");
        assert_eq!(a.canonical(), "https://example.com/login?x=1");
        let b = UrlParts::parse("https://example.com/login?x=1").expect("valid");
        assert_eq!(a.identity_hash(), b.identity_hash());
        assert_eq!(a.identity_hash().len(), 64);
    }

    #[test]
    fn bare_hosts_and_ports_are_accepted() {
        let p = UrlParts::parse("10.0.0.1:8443").expect("valid");
        assert_eq!((p.host.as_str(), p.port), ("10.0.0.1", Some(8443)));
        assert!(UrlParts::parse("   ").is_err());
        assert!(UrlParts::parse("http://").is_err());
    }
}
