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
        PluginInfo {
            name: "acunetix".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "Acunetix XML report or Acunetix 360 JSON report".to_owned(),
                file_kinds: vec!["xml".to_owned(), "json".to_owned()],
                dedupe: DedupeSetting::hash_code(&["title", "description"]),
            }],
        }
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        if !candidates.iter().any(|c| c == SCAN_TYPE) {
            return None;
        }
        (json_report::looks_like(head) || xml_report::looks_like(head))
            .then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        if scan_type != SCAN_TYPE {
            return Err(ParseError::new(format!(
                "the acunetix plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
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

/// Acunetix's severity words ("informational", "Information", "BestPractice", ...).
pub(crate) fn severity(word: &str) -> Option<Severity> {
    match word.trim().to_ascii_lowercase().as_str() {
        "bestpractice" | "best practice" | "information" | "informational" => Some(Severity::Info),
        other => severity_from_word(other),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        Acunetix::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    #[test]
    fn xml_items_are_grouped_and_joined_to_the_start_url() {
        let item = |affects: &str| {
            format!(
                "<ReportItem><Name>N</Name><Affects>{affects}</Affects><Severity>high</Severity>\
                 <CWEList><CWE id=\"79\">CWE-79</CWE></CWEList><CVEList><CVE>CVE-2020-1111</CVE></CVEList></ReportItem>"
            )
        };
        let r = format!(
            "<ScanGroup><Scan><StartURL>https://h.example:8443/</StartURL><ReportItems>{}{}\
             <ReportItem><Name>Other</Name><Severity>informational</Severity><IsFalsePositive>True</IsFalsePositive></ReportItem>\
             </ReportItems></Scan></ScanGroup>",
            item("/a"),
            item("/b")
        );
        let f = parse(&r).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].endpoints.len(), 2);
        assert_eq!(f[0].endpoints[0].port, Some(8443));
        assert_eq!(f[0].endpoints[0].path.as_deref(), Some("/a"));
        assert_eq!((f[0].severity, f[0].cwe), (Severity::High, Some(79)));
        assert_eq!(f[0].vulnerability_ids, ["CVE-2020-1111"]);
        assert_eq!(f[0].nb_occurences, Some(2));
        assert_eq!(f[1].severity, Severity::Info);
        assert_eq!(f[1].false_p, Some(true));
    }

    #[test]
    fn xml_bad_severity_and_empty() {
        let e = parse("<ScanGroup><Scan><ReportItems><ReportItem><Name>N</Name><Severity>x</Severity></ReportItem></ReportItems></Scan></ScanGroup>").unwrap_err();
        assert!(e.message.contains("severity"), "{e}");
        assert!(
            parse("<ScanGroup><Scan><ReportItems/></Scan></ScanGroup>")
                .unwrap()
                .is_empty()
        );
        assert!(parse("<ScanGroup/>").unwrap().is_empty());
        assert!(
            parse("<issues/>")
                .unwrap_err()
                .message
                .contains("not an Acunetix")
        );
        assert!(parse("<ScanGroup><Scan>").is_err());
        assert!(
            Acunetix::parse(
                SCAN_TYPE,
                b"<ScanGroup>\xff</ScanGroup>",
                &Options::default()
            )
            .is_err()
        );
    }

    #[test]
    fn json_minimal_and_states() {
        let r = r#"{"Generated":"x","Target":{"Url":"http://t.example/"},"Vulnerabilities":[
            {"Name":"A","Severity":"Critical","Url":"https://t.example:444/p","State":"Present, FalsePositive",
             "Classification":{"Cwe":"89,90","Cvss31":{"Vector":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}},
             "FirstSeenDate":"16/06/2021 12:30 PM"},
            {"Name":"B","Severity":"BestPractice","Classification":null,"Url":null}]}"#;
        let f = parse(r).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!((f[0].severity, f[0].cwe), (Severity::Critical, Some(89)));
        assert_eq!(f[0].extra_cwes, [90]);
        assert_eq!(f[0].false_p, Some(true));
        assert_eq!(f[0].endpoints[0].port, Some(444));
        assert_eq!(f[0].date.as_deref(), Some("2021-06-16T12:30:00"));
        assert!(f[0].cvssv3.is_some());
        assert_eq!(f[1].severity, Severity::Info);
        assert_eq!(f[1].endpoints[0].host, "t.example");
    }

    #[test]
    fn json_rejections() {
        assert!(parse(r#"{"Vulnerabilities":[]}"#).unwrap().is_empty());
        assert!(
            parse(r#"{"Generated":"x","Vulnerabilities":null}"#)
                .unwrap()
                .is_empty()
        );
        let e = parse(r#"{"results":[]}"#).unwrap_err();
        assert!(e.message.contains("Vulnerabilities"), "{e}");
        assert!(parse(r#"{"Vulnerabilities":[{"Severity":"High"}]}"#).is_err());
        assert!(parse(r#"{"Vulnerabilities":[{"Name":"x","Severity":"weird"}]}"#).is_err());
        assert!(parse(r#"{"Vulnerabilities":[{"Name":"#).is_err());
        assert!(parse(&"[".repeat(100_000)).is_err());
        assert!(parse("").is_err());
    }

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
