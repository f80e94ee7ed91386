//! Palisade parser plugin for Qualys VM reports, scan type "Qualys Scan".
//!
//! Two formats share the scan type:
//! - the XML "asset data report" (`<ASSET_DATA_REPORT>`): hosts with their
//!   detections (`HOST_LIST/HOST/VULN_INFO_LIST/VULN_INFO`) and a glossary of
//!   QIDs (`GLOSSARY/VULN_DETAILS_LIST/VULN_DETAILS`), see [`xml_report`];
//! - the CSV detection export (columns `IP`, `DNS`, `QID`, `Title`, `Severity`,
//!   `Port`, `CVE ID`, ...), see [`csv_report`].
//!
//! The file name decides the layout as in the reference: `*.csv` is CSV,
//! anything else XML (without a name, a Qualys CSV header decides). XML gives one
//! finding per detection; CSV rows are merged by QID. See FORMAT.md.

use palisade_plugin_sdk::prelude::*;

pub mod csv_report;
pub mod xml_report;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "Qualys Scan";

/// The Qualys parser.
pub struct Qualys;

impl Parser for Qualys {
    fn info() -> PluginInfo {
        PluginInfo::single(
            "qualys",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "Qualys VM asset data report (XML) or detection export (CSV)",
                &["xml", "csv"],
                DedupeSetting::hash_code(&["title", "severity", "endpoints"]),
            ),
        )
    }

    fn detect(_candidates: &[String], head: &[u8]) -> Option<String> {
        (xml_report::looks_like(head) || csv_report::looks_like(head)).then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        _scan_type: &str,
        report: &[u8],
        options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        let start = palisade_plugin_sdk::sniff::first_byte(report);
        let csv = match options.get("file-name") {
            Some(name) => name.to_lowercase().ends_with(".csv"),
            None => csv_report::looks_like(report),
        };
        if csv {
            return csv_report::parse(report);
        }
        match start {
            None => Err(ParseError::new(
                "the report is empty: expected a Qualys XML asset data report or CSV export",
            )),
            Some(_) => xml_report::parse(report),
        }
    }
}

palisade_plugin_sdk::export_parser!(Qualys);

/// Severity from a Qualys level: 1 Info, 2 Low, 3 Medium, 4 High, 5 Critical.
pub(crate) fn level_severity(level: &str) -> Option<Severity> {
    match level.trim() {
        "1" => Some(Severity::Info),
        "2" => Some(Severity::Low),
        "3" => Some(Severity::Medium),
        "4" => Some(Severity::High),
        "5" => Some(Severity::Critical),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_plugin_sdk::testing::assert_rejects_foreign;

    fn parse(s: &[u8]) -> Result<Vec<Finding>, ParseError> {
        Qualys::parse(SCAN_TYPE, s, &Options::default())
    }

    #[test]
    fn empty_and_foreign_inputs() {
        assert!(parse(b"<nmaprun/>").unwrap().is_empty());
        let deep = "<ASSET_DATA_REPORT>".to_owned() + &"<a>".repeat(5000);
        assert_rejects_foreign::<Qualys>(
            SCAN_TYPE,
            &[
                b"",
                b"{\"a\":1}",
                b"<ASSET_DATA_REPORT><HOST_LIST>",
                b"\"IP\",\"QID\",\"Title\",\"Severity\"\n\xff,1,t,2\n",
                deep.as_bytes(),
            ],
        );
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
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        assert!(Qualys::detect(&c, b"<?xml version=\"1.0\"?>\n<!DOCTYPE ASSET_DATA_REPORT SYSTEM \"x\">\n<ASSET_DATA_REPORT>").is_some());
        assert!(Qualys::detect(&c, b"\"IP\",\"Network\",\"DNS\",\"NetBIOS\",\"Tracking Method\",\"OS\",\"IP Status\",\"QID\",\"Title\",\"Vuln Status\",\"Type\",\"Severity\"").is_some());
        assert!(Qualys::detect(&c, b"<WAS_SCAN_REPORT>").is_none());
        assert!(Qualys::detect(&c, b"IP,Hostname,Port,NVT Name,NVT OID\n").is_none());
    }
}
