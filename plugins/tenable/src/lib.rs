//! Palisade parser plugin for Tenable/Nessus exports, scan type "Tenable Scan".
//!
//! Two formats share the scan type:
//! - the `.nessus` XML export (`<NessusClientData_v2>`, also written by Tenable
//!   Web App Scanning), see [`xml_report`];
//! - the CSV exports of Nessus, Tenable.sc and Tenable WAS (columns such as
//!   `Plugin ID`/`Plugin`, `Risk`/`Severity`, `Host`/`IP Address`, `Port`, `Name`),
//!   see [`csv_report`].

use palisade_plugin_sdk::prelude::*;

pub mod csv_report;
pub mod xml_report;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "Tenable Scan";

/// The Tenable parser.
pub struct Tenable;

impl Parser for Tenable {
    fn info() -> PluginInfo {
        PluginInfo::single(
            "tenable",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "Tenable Nessus / WAS / Tenable.sc exports (.nessus XML or CSV)",
                &["nessus", "xml", "csv"],
                DedupeSetting::hash_code(&[
                    "title",
                    "severity",
                    "vulnerability_ids",
                    "cwe",
                    "description",
                ]),
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
        // The file name's extension decides, as in the reference; without a
        // name, the content does.
        let start = palisade_plugin_sdk::sniff::first_byte(report);
        if let Some(name) = options.get("file-name") {
            let lower = name.to_lowercase();
            if lower.ends_with(".xml") || lower.ends_with(".nessus") {
                return xml_report::parse(report);
            }
            if lower.ends_with(".csv") {
                return csv_report::parse(report);
            }
            return Err(ParseError::new(format!(
                "file name {name:?} has no recognised extension: use .xml, .nessus or .csv"
            )));
        }
        match start {
            None => Err(ParseError::new(
                "the report is empty: expected a .nessus XML export or a Tenable CSV export",
            )),
            Some(b'<') => xml_report::parse(report),
            Some(_) => csv_report::parse(report),
        }
    }
}

palisade_plugin_sdk::export_parser!(Tenable);

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_plugin_sdk::testing::assert_rejects_foreign;

    fn parse(s: &[u8]) -> Result<Vec<Finding>, ParseError> {
        Tenable::parse(SCAN_TYPE, s, &Options::default())
    }

    #[test]
    fn empty_and_foreign_inputs() {
        let deep = "<NessusClientData_v2>".to_owned() + &"<a>".repeat(5000);
        assert_rejects_foreign::<Tenable>(
            SCAN_TYPE,
            &[
                b"",
                b"<nmaprun/>",
                b"{\"a\":1}",
                b"a,b\n1,2\n",
                b"<NessusClientData_v2><Report>",
                b"Plugin ID,Risk,Host,Port,Name\n1,\xff,h,1,n\n",
                deep.as_bytes(),
            ],
        );
    }

    #[test]
    fn valid_reports_without_findings() {
        assert_eq!(
            parse(b"<NessusClientData_v2><Report name=\"x\"/></NessusClientData_v2>").unwrap(),
            vec![]
        );
        assert_eq!(
            parse(b"Plugin ID,CVE,CVSS,Risk,Host,Protocol,Port,Name,Synopsis\n").unwrap(),
            vec![]
        );
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        assert!(
            Tenable::detect(&c, b"<?xml version=\"1.0\" ?><NessusClientData_v2><Policy>").is_some()
        );
        assert!(
            Tenable::detect(
                &c,
                b"Plugin ID,CVE,CVSS,Risk,Host,Protocol,Port,Name,Synopsis,Description"
            )
            .is_some()
        );
        assert!(Tenable::detect(&c, b"Title,Severity,Description\n").is_none());
        assert!(Tenable::detect(&c, b"<nmaprun>").is_none());
    }
}
