//! Palisade parser plugin for Qualys VM reports, scan type "Qualys Scan".
//!
//! Two formats share the scan type:
//! - the XML "asset data report" (`<ASSET_DATA_REPORT>`): hosts with their
//!   detections (`HOST_LIST/HOST/VULN_INFO_LIST/VULN_INFO`) and a glossary of
//!   QIDs (`GLOSSARY/VULN_DETAILS_LIST/VULN_DETAILS`), see [`xml_report`];
//! - the CSV detection export (columns `IP`, `DNS`, `QID`, `Title`, `Severity`,
//!   `Port`, `CVE ID`, ...), see [`csv_report`].
//!
//! One finding per detection, titled "QID-n | title", severity from the QID's
//! 1-5 level (1 Info ... 5 Critical), the QID as `vuln_id_from_tool` ("qid_n"),
//! endpoint = the host's DNS name, else its IP.

use palisade_plugin_sdk::prelude::*;

pub mod csv_report;
pub mod xml_report;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "Qualys Scan";

/// The Qualys parser.
pub struct Qualys;

impl Parser for Qualys {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "qualys".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "Qualys VM asset data report (XML) or detection export (CSV)"
                    .to_owned(),
                file_kinds: vec!["xml".to_owned(), "csv".to_owned()],
                dedupe: DedupeSetting::hash_code(&["title", "severity", "endpoints"]),
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
                "the qualys plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
        let start = palisade_plugin_sdk::sniff::first_byte(report);
        match start {
            None => Err(ParseError::new(
                "the report is empty: expected a Qualys XML asset data report or CSV export",
            )),
            Some(b'<') => xml_report::parse(report),
            Some(_) => csv_report::parse(report),
        }
    }
}

palisade_plugin_sdk::export_parser!(Qualys);

/// Severity from a Qualys level: 1 Info, 2 Low, 3 Medium, 4 High, 5 Critical.
pub(crate) fn level_severity(level: &str) -> Option<Severity> {
    match level.trim() {
        "0" | "1" => Some(Severity::Info),
        "2" => Some(Severity::Low),
        "3" => Some(Severity::Medium),
        "4" => Some(Severity::High),
        "5" => Some(Severity::Critical),
        other => severity_from_word(other),
    }
}

/// The endpoint of a host: its DNS name, else its IP (the reference records no port).
pub(crate) fn host_endpoint(dns: Option<&str>, ip: Option<&str>) -> Option<Endpoint> {
    let host = dns.or(ip)?;
    let mut e = endpoint_from_url(host).unwrap_or_else(|| Endpoint::from_host(host, None));
    e.path = None;
    Some(e)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(s: &[u8]) -> Result<Vec<Finding>, ParseError> {
        Qualys::parse(SCAN_TYPE, s, &Options::default())
    }

    #[test]
    fn empty_and_foreign_inputs() {
        assert!(parse(b"").is_err());
        assert!(parse(b"<nmaprun/>").is_err());
        assert!(parse(b"{\"a\":1}").is_err());
        assert!(parse(b"a,b\n1,2\n").is_err());
        assert!(parse(b"<ASSET_DATA_REPORT><HOST_LIST>").is_err());
        assert!(parse(b"\"IP\",\"QID\",\"Title\",\"Severity\"\n\xff,1,t,2\n").is_err());
        assert!(Qualys::parse("Other", b"<x/>", &Options::default()).is_err());
        let deep = "<ASSET_DATA_REPORT>".to_owned() + &"<a>".repeat(5000);
        assert!(parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn valid_reports_without_findings() {
        assert_eq!(
            parse(b"<ASSET_DATA_REPORT><HEADER/></ASSET_DATA_REPORT>").unwrap(),
            vec![]
        );
        assert_eq!(
            parse(b"\"IP\",\"DNS\",\"QID\",\"Title\",\"Severity\",\"Port\"\n\n\n").unwrap(),
            vec![]
        );
    }

    #[test]
    fn xml_detections_use_the_glossary() {
        let r = br#"<ASSET_DATA_REPORT><HOST_LIST>
          <HOST><IP>10.0.0.1</IP><VULN_INFO_LIST>
            <VULN_INFO><QID id="qid_9">9</QID><TYPE>Vuln</TYPE><PORT>22</PORT><RESULT>r</RESULT></VULN_INFO>
            <VULN_INFO><QID id="qid_8">8</QID><TYPE>Ig</TYPE></VULN_INFO>
          </VULN_INFO_LIST></HOST>
          <HOST><IP>10.0.0.2</IP><DNS>b.example</DNS><VULN_INFO_LIST>
            <VULN_INFO><QID id="qid_9">9</QID><VULN_STATUS>Fixed</VULN_STATUS></VULN_INFO></VULN_INFO_LIST></HOST>
        </HOST_LIST><GLOSSARY><VULN_DETAILS_LIST>
          <VULN_DETAILS id="qid_9"><QID id="qid_9">9</QID><TITLE>Nine</TITLE><SEVERITY>5</SEVERITY>
            <CVE_ID_LIST><CVE_ID><ID>CVE-2020-1234</ID></CVE_ID></CVE_ID_LIST></VULN_DETAILS>
        </VULN_DETAILS_LIST></GLOSSARY></ASSET_DATA_REPORT>"#;
        let f = parse(r).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].title, "QID-9 | Nine");
        assert_eq!(f[0].severity, Severity::Critical);
        assert_eq!(f[0].vulnerability_ids, ["CVE-2020-1234"]);
        assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some("qid_9"));
        assert_eq!(f[0].endpoints[0].host, "10.0.0.1");
        assert_eq!(f[1].severity, Severity::Info);
        assert_eq!(f[2].endpoints[0].host, "b.example");
        assert_eq!(f[2].is_mitigated, Some(true));
    }

    #[test]
    fn csv_rows() {
        let r = b"\"IP\",\"DNS\",\"QID\",\"Title\",\"Vuln Status\",\"Type\",\"Severity\",\"Port\",\"CVE ID\"\n\
            \"1.1.1.1\",\"\",\"38140\",\"SSL\",\"New\",\"Vuln\",\"3\",\"443\",\"CVE-2011-3389, CVE-2015-0204\"\n";
        let f = parse(r).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Medium);
        assert_eq!(f[0].vulnerability_ids.len(), 2);
        assert_eq!(f[0].endpoints[0].host, "1.1.1.1");
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        assert!(Qualys::detect(&c, b"<?xml version=\"1.0\"?>\n<!DOCTYPE ASSET_DATA_REPORT SYSTEM \"x\">\n<ASSET_DATA_REPORT>").is_some());
        assert!(Qualys::detect(&c, b"\"IP\",\"Network\",\"DNS\",\"NetBIOS\",\"Tracking Method\",\"OS\",\"IP Status\",\"QID\",\"Title\",\"Vuln Status\",\"Type\",\"Severity\"").is_some());
        assert!(Qualys::detect(&c, b"<WAS_SCAN_REPORT>").is_none());
        assert!(Qualys::detect(&c, b"IP,Hostname,Port,NVT Name,NVT OID\n").is_none());
    }
}
