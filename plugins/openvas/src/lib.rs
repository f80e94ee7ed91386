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
        PluginInfo::single(
            "openvas",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "OpenVAS / Greenbone results, XML report or CSV export",
                &["xml", "csv"],
                DedupeSetting::new(
                    DedupeAlgorithm::Legacy,
                    &["title", "cwe", "line", "file_path", "description"],
                ),
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
        // The reference picks the layout by the file name's (case-sensitive)
        // extension and reads nothing else; without a name the content decides.
        if let Some(name) = options.get("file-name") {
            if name.ends_with(".csv") {
                return csv_report::parse(report);
            }
            if name.ends_with(".xml") {
                return xml_report::parse(report);
            }
            return Err(ParseError::new(format!(
                "file name {name:?} does not end in .csv or .xml"
            )));
        }
        let start = palisade_plugin_sdk::sniff::first_byte(report);
        match start {
            None => Err(ParseError::new(
                "the report is empty: expected an OpenVAS XML report or CSV export",
            )),
            Some(b'<') => xml_report::parse(report),
            Some(_) if csv_report::looks_like(report) => csv_report::parse(report),
            Some(_) => Err(ParseError::new(
                "not an OpenVAS report: neither XML nor a CSV export with IP, NVT Name and NVT OID columns",
            )),
        }
    }
}

palisade_plugin_sdk::export_parser!(OpenVas);

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_plugin_sdk::testing::assert_rejects_foreign;

    fn parse(s: &[u8]) -> Result<Vec<Finding>, ParseError> {
        OpenVas::parse(SCAN_TYPE, s, &Options::default())
    }

    #[test]
    fn empty_and_foreign_inputs() {
        let deep = "<report>".to_owned() + &"<a>".repeat(5000);
        assert_rejects_foreign::<OpenVas>(
            SCAN_TYPE,
            &[
                b"",
                b"<nmaprun/>",
                b"{\"a\":1}",
                b"<report><report><results>",
                b"IP,Port,Severity,NVT Name,NVT OID\n\xff,1,Low,n,o\n",
                b"IP,Port\n1,2,3\n",
                deep.as_bytes(),
            ],
        );
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
