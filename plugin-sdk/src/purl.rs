//! A small package-URL reader: enough to name a component.
//!
//! `pkg:type/namespace/name@version?qualifiers#subpath` (see the purl spec).
//! Shared by the plugins that name components from package URLs.

/// The parts of a package URL that name a component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purl {
    /// The package type, lower-cased ("maven", "npm", ...).
    pub kind: String,
    /// The namespace (Maven group, npm scope, ...), percent-decoded.
    pub namespace: Option<String>,
    /// The package name, percent-decoded.
    pub name: String,
    /// The version, percent-decoded.
    pub version: Option<String>,
}

/// Parses a package URL; `None` when it is not one.
pub fn parse(purl: &str) -> Option<Purl> {
    let rest = purl.trim().strip_prefix("pkg:")?;
    let rest = rest.trim_start_matches('/');
    let rest = rest.split('#').next().unwrap_or(rest);
    let rest = rest.split('?').next().unwrap_or(rest);
    let (path, version) = match rest.rsplit_once('@') {
        // An "@" inside the namespace (npm scope "%40" written raw) comes
        // before the last "/"; a version "@" comes after it.
        Some((p, v)) if !v.contains('/') => (p, Some(decode(v))),
        _ => (rest, None),
    };
    let (kind, path) = path.split_once('/')?;
    let (namespace, name) = match path.rsplit_once('/') {
        Some((ns, n)) => (Some(decode(ns)), decode(n)),
        None => (None, decode(path)),
    };
    if kind.is_empty() || name.is_empty() {
        return None;
    }
    Some(Purl {
        kind: kind.to_ascii_lowercase(),
        namespace: namespace.filter(|n| !n.is_empty()),
        name,
        version: version.filter(|v| !v.is_empty()),
    })
}

/// The conventional component name and version of a package URL: Maven
/// "group:artifact", others "namespace/name" (npm "@scope/name"), or just the name.
pub fn name_and_version(purl: &str) -> Option<(String, Option<String>)> {
    let p = parse(purl)?;
    let name = match (&p.namespace, p.kind.as_str()) {
        (Some(ns), "maven") => format!("{ns}:{}", p.name),
        (Some(ns), _) => format!("{ns}/{}", p.name),
        (None, _) => p.name,
    };
    Some((name, p.version))
}

/// Percent-decodes a purl segment (invalid escapes are kept as written).
fn decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(hex, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            name_and_version("pkg:maven/org.dom4j/dom4j@2.1.1.redhat-00001"),
            Some(("org.dom4j:dom4j".into(), Some("2.1.1.redhat-00001".into())))
        );
        assert_eq!(
            name_and_version("pkg:npm/%40babel/core@7.0.0?x=1#a"),
            Some(("@babel/core".into(), Some("7.0.0".into())))
        );
        assert_eq!(
            name_and_version("pkg:npm/yargs-parser@5.0.0"),
            Some(("yargs-parser".into(), Some("5.0.0".into())))
        );
        assert_eq!(name_and_version("pkg:pypi/x"), Some(("x".into(), None)));
        assert_eq!(name_and_version("npm/x@1"), None);
        assert_eq!(name_and_version("pkg:"), None);
        assert_eq!(decode("%zz%4"), "%zz%4");
    }
}
