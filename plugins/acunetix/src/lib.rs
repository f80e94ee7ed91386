//! Palisade parser plugin for Acunetix reports ("Acunetix Scan"):
//! - Acunetix XML (`<ScanGroup><Scan><StartURL/><ReportItems><ReportItem>`),
//!   see [`xml_report`];
//! - Acunetix 360 JSON (`{"Generated", "Target": {...}, "Vulnerabilities": [...]}`),
//!   see [`json_report`].

use palisade_plugin_sdk::prelude::*;

pub mod json_report;
pub mod xml_report;

/// The scan type this plugin handles (DefectDojo's name).
pub const SCAN_TYPE: &str = "Acunetix Scan";

/// The Acunetix parser.
pub struct Acunetix;

impl Parser for Acunetix {
    fn info() -> PluginInfo {
        PluginInfo::single(
            "acunetix",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "Acunetix XML report or Acunetix 360 JSON report",
                &["xml", "json"],
                DedupeSetting::hash_code(&["title", "description"]),
            ),
        )
    }

    fn detect(_candidates: &[String], head: &[u8]) -> Option<String> {
        (json_report::looks_like(head) || xml_report::looks_like(head))
            .then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        _scan_type: &str,
        report: &[u8],
        options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        // The reference looks for ".xml", then ".json", anywhere in the file
        // name; without a name the content decides.
        if let Some(name) = options.get("file-name") {
            if name.contains(".xml") {
                return xml_report::parse(report);
            }
            if name.contains(".json") {
                return json_report::parse(report);
            }
            return Err(ParseError::new(format!(
                "file name {name:?} contains neither .xml nor .json"
            )));
        }
        if palisade_plugin_sdk::json::starts_like_json(report) {
            json_report::parse(report)
        } else {
            xml_report::parse(report)
        }
    }
}

palisade_plugin_sdk::export_parser!(Acunetix);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(
            json_report::iso_date("16/06/2021 12:30 PM").as_deref(),
            Some("2021-06-16T12:30:00")
        );
        assert_eq!(
            json_report::iso_date("02/06/2022 05:25 PM").as_deref(),
            Some("2022-06-02T17:25:00")
        );
        assert_eq!(
            json_report::iso_date("01/01/2020 12:05 AM").as_deref(),
            Some("2020-01-01T00:05:00")
        );
        assert_eq!(json_report::iso_date("garbage"), None);
        assert_eq!(json_report::iso_date("99/99/2020 10:00 AM"), None);
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        assert!(
            Acunetix::detect(&c, b"<?xml version=\"1.0\"?>\n<ScanGroup ExportedOn=\"x\">")
                .is_some()
        );
        let acunetix360 = br#"{"Generated": "25/06/2021 09:59 AM", "Target": {"Duration": "00:00:41", "ScanId": "x"}, "Vulnerabilities": [{"HttpRequest": {"Content": "X-Scanner: Acunetix360"#;
        assert!(Acunetix::detect(&c, acunetix360).is_some());
        // The same structure from Netsparker / Invicti is not ours.
        let netsparker = String::from_utf8_lossy(acunetix360).replace("Acunetix360", "Netsparker");
        assert!(Acunetix::detect(&c, netsparker.as_bytes()).is_none());
        assert!(Acunetix::detect(&c, br#"{"Vulnerabilities": []}"#).is_none());
        assert!(Acunetix::detect(&c, b"<issues burpVersion=\"1\"/>").is_none());
        assert!(Acunetix::detect(&["ZAP Scan".to_owned()], b"<ScanGroup/>").is_none());
    }
}
