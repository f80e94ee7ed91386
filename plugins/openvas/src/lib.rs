//! Palisade parser plugin for OpenVAS / Greenbone reports, scan type "OpenVAS Parser".
//!
//! Two formats share the scan type:
//! - the XML report (`<report>` or `<get_reports_response>` holding `<report>`),
//!   one finding per `<result>`, see [`xml_report`];
//! - the CSV results export (columns `IP`, `Hostname`, `Port`, `Port Protocol`,
//!   `CVSS`, `Severity`, `NVT Name`, `NVT OID`, `CVEs`, ...), one finding per row,
//!   see [`csv_report`].

use palisade_plugin_sdk::prelude::*;

pub mod csv_report;
pub mod xml_report;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "OpenVAS Parser";

/// The OpenVAS parser.
pub struct OpenVas;

impl Parser for OpenVas {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "openvas".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "OpenVAS / Greenbone results, XML report or CSV export".to_owned(),
                file_kinds: vec!["xml".to_owned(), "csv".to_owned()],
                dedupe: DedupeSetting::new(
                    DedupeAlgorithm::Legacy,
                    &["title", "cwe", "line", "file_path", "description"],
                ),
            }],
        }
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        if !candidates.iter().any(|c| c == SCAN_TYPE) {
            return None;
        }
        (xml_report::looks_like(head) || csv_report::looks_like(head)).then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        if scan_type != SCAN_TYPE {
            return Err(ParseError::new(format!(
                "the openvas plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
        let start = palisade_plugin_sdk::sniff::first_byte(report);
        match start {
            None => Err(ParseError::new(
                "the report is empty: expected an OpenVAS XML report or CSV export",
            )),
            Some(b'<') => xml_report::parse(report),
            Some(_) => csv_report::parse(report),
        }
    }
}

palisade_plugin_sdk::export_parser!(OpenVas);

/// Severity from OpenVAS' threat words: "Log" and "Debug" results are informational.
pub(crate) fn threat_severity(threat: &str) -> Option<Severity> {
    let t = threat.trim();
    if t.eq_ignore_ascii_case("log") || t.eq_ignore_ascii_case("debug") {
        Some(Severity::Info)
    } else {
        severity_from_word(t)
    }
}

/// An endpoint for a host and an OpenVAS port ("443/tcp", "general/tcp", "443").
pub(crate) fn port_endpoint(
    host: &str,
    port: Option<&str>,
    protocol: Option<&str>,
) -> Option<Endpoint> {
    let host = host.trim();
    if host.is_empty() {
        return None;
    }
    let (number, proto) = match port.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => match p.split_once('/') {
            Some((n, pr)) => (n, Some(pr)),
            None => (p, protocol),
        },
        None => ("", None),
    };
    let mut e = endpoint_from_url(host).unwrap_or_else(|| Endpoint::from_host(host, None));
    e.port = number.parse::<u16>().ok().filter(|p| *p != 0);
    e.protocol = proto
        .map(|p| p.trim().to_lowercase())
        .filter(|p| !p.is_empty());
    Some(e)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(s: &[u8]) -> Result<Vec<Finding>, ParseError> {
        OpenVas::parse(SCAN_TYPE, s, &Options::default())
    }

    #[test]
    fn empty_and_foreign_inputs() {
        assert!(parse(b"").is_err());
        assert!(parse(b"<nmaprun/>").is_err());
        assert!(parse(b"{\"a\":1}").is_err());
        assert!(parse(b"a,b\n1,2\n").is_err());
        assert!(parse(b"<report><report><results>").is_err());
        assert!(parse(b"IP,Port,Severity,NVT Name,NVT OID\n\xff,1,Low,n,o\n").is_err());
        assert!(OpenVas::parse("Other", b"<x/>", &Options::default()).is_err());
        let deep = "<report>".to_owned() + &"<a>".repeat(5000);
        assert!(parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn valid_reports_without_findings() {
        assert_eq!(
            parse(b"<report id=\"x\"><report><results/></report></report>").unwrap(),
            vec![]
        );
        assert_eq!(
            parse(b"IP,Hostname,Port,Port Protocol,CVSS,Severity,NVT Name,NVT OID,CVEs\n").unwrap(),
            vec![]
        );
    }

    #[test]
    fn xml_results() {
        let r = br#"<report><report><results>
          <result id="1"><name>N</name><host>10.0.0.1<asset asset_id="a"/></host><port>general/tcp</port>
            <nvt oid="1.2.3"><name>Nice name</name><refs><ref type="cve" id="CVE-2020-1234"/></refs></nvt>
            <threat>Log</threat><severity>0.0</severity><description>d</description></result>
          <result id="2"><host>h.example</host><port>8443/tcp</port><nvt oid="4"/><severity>7.5</severity></result>
        </results></report></report>"#;
        let f = parse(r).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].severity, Severity::Info);
        assert_eq!(f[0].title, "Nice name");
        assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some("1.2.3"));
        assert_eq!(f[0].endpoints[0].host, "10.0.0.1");
        assert_eq!(f[0].endpoints[0].port, None);
        assert_eq!(f[1].severity, Severity::High);
        assert_eq!(f[1].endpoints[0].port, Some(8443));
    }

    #[test]
    fn csv_rows() {
        let r = b"IP,Hostname,Port,Port Protocol,CVSS,Severity,NVT Name,NVT OID,CVEs\n\
            1.1.1.1,srv,443,tcp,8.0,,A,1.2,\"CVE-2011-3389,CVE-2015-0204\"\n\
            1.1.1.1,,,,0.0,Log,B,1.3,\n";
        let f = parse(r).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].endpoints[0].host, "srv");
        assert_eq!(f[0].endpoints[0].port, Some(443));
        assert_eq!(f[0].vulnerability_ids, ["CVE-2011-3389", "CVE-2015-0204"]);
        assert_eq!(f[1].severity, Severity::Info);
        assert_eq!(f[1].endpoints[0].host, "1.1.1.1");
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        assert!(
            OpenVas::detect(
                &c,
                b"<report id=\"0b\" format_id=\"a9\" extension=\"xml\"><owner>"
            )
            .is_some()
        );
        assert!(OpenVas::detect(&c, b"IP,Hostname,Port,Port Protocol,CVSS,Severity,Solution Type,NVT Name,Summary,Specific Result,NVT OID").is_some());
        assert!(OpenVas::detect(&c, b"<report><item/></report>").is_none());
        assert!(OpenVas::detect(&c, b"Plugin ID,Risk,Host,Port,Name\n").is_none());
    }
}
