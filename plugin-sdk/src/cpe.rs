//! Reading CPE names (NVD's platform identifiers), which scanners give for
//! detected software: `cpe:/a:vendor:product:version` (CPE 2.2 URI) or
//! `cpe:2.3:a:vendor:product:version:...` (CPE 2.3 formatted string).

/// The parts of a CPE name that identify software; `*` and `-` (any, not
/// applicable) and blanks are `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cpe<'a> {
    /// `a` (application), `o` (operating system) or `h` (hardware).
    pub part: Option<&'a str>,
    /// The vendor ("openbsd").
    pub vendor: Option<&'a str>,
    /// The product ("openssh").
    pub product: Option<&'a str>,
    /// The version ("7.4").
    pub version: Option<&'a str>,
}

impl<'a> Cpe<'a> {
    /// Splits a CPE 2.2 URI or CPE 2.3 string; `None` when `text` is neither.
    pub fn parse(text: &'a str) -> Option<Self> {
        let text = text.trim();
        let rest = text
            .strip_prefix("cpe:2.3:")
            .or_else(|| text.strip_prefix("cpe:/"))?;
        let mut parts = rest.split(':').map(|p| {
            let p = p.trim();
            (!p.is_empty() && p != "*" && p != "-").then_some(p)
        });
        let mut next = || parts.next().flatten();
        Some(Self {
            part: next(),
            vendor: next(),
            product: next(),
            version: next(),
        })
    }
}

/// The product and version of a CPE name, owned, as component name and version.
pub fn product_and_version(cpe: &str) -> (Option<String>, Option<String>) {
    Cpe::parse(cpe).map_or((None, None), |c| {
        (c.product.map(str::to_owned), c.version.map(str::to_owned))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_bindings() {
        let c = Cpe::parse("cpe:/a:openbsd:openssh:7.4").unwrap();
        assert_eq!(
            (c.part, c.vendor, c.product, c.version),
            (Some("a"), Some("openbsd"), Some("openssh"), Some("7.4"))
        );
        assert_eq!(
            product_and_version(" cpe:2.3:a:openbsd:openssh:8.0:*:*:*:*:*:*:* "),
            (Some("openssh".into()), Some("8.0".into()))
        );
    }

    #[test]
    fn wildcards_short_names_and_foreign_text() {
        assert_eq!(
            product_and_version("cpe:2.3:a:microsoft:sql_server:*:*"),
            (Some("sql_server".into()), None)
        );
        assert_eq!(
            product_and_version("cpe:/a:microsoft:sql_server"),
            (Some("sql_server".into()), None)
        );
        assert_eq!(product_and_version("cpe:/o:linux"), (None, None));
        assert_eq!(product_and_version("openssh 7.4"), (None, None));
        assert_eq!(
            Cpe::parse("cpe:/"),
            Some(Cpe {
                part: None,
                vendor: None,
                product: None,
                version: None
            })
        );
    }
}
