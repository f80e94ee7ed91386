//! Palisade parser plugin for DefectDojo's "Generic Findings Import" scan type.
//!
//! Two formats share the scan type:
//! - JSON: `{"name"?, "type"?, "version"?, "description"?, "findings": [ {...} ]}`
//!   where each finding uses DefectDojo's finding field names (see
//!   [`json_report`]);
//! - CSV: a header row with DefectDojo's generic columns (`Date`, `Title`,
//!   `CweId`, `Url`, `Severity`, `Description`, ...; see [`csv_report`]).

use palisade_plugin_sdk::prelude::*;

pub mod csv_report;
pub mod json_report;
mod values;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "Generic Findings Import";

/// The Generic Findings Import parser.
pub struct Generic;

impl Parser for Generic {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "generic".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "DefectDojo's generic findings format, as JSON or CSV".to_owned(),
                file_kinds: vec!["json".to_owned(), "csv".to_owned()],
                dedupe: DedupeSetting::hash_code(&[
                    "title",
                    "cwe",
                    "line",
                    "file_path",
                    "description",
                ]),
            }],
        }
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        if !candidates.iter().any(|c| c == SCAN_TYPE) {
            return None;
        }
        (json_report::looks_like(head) || csv_report::looks_like(head))
            .then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        if scan_type != SCAN_TYPE {
            return Err(ParseError::new(format!(
                "the generic plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
        if palisade_plugin_sdk::json::starts_like_json(report) {
            json_report::parse(report)
        } else if report.iter().all(u8::is_ascii_whitespace) {
            Err(ParseError::new(
                "the report is empty: expected a JSON object with a \"findings\" array, \
                 or a CSV file with a header row",
            ))
        } else {
            csv_report::parse(report)
        }
    }
}

palisade_plugin_sdk::export_parser!(Generic);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        Generic::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    fn detect(head: &str) -> Option<String> {
        Generic::detect(&[SCAN_TYPE.to_owned()], head.as_bytes())
    }

    #[test]
    fn info_declares_the_scan_type() {
        let info = Generic::info();
        assert_eq!(info.name, "generic");
        assert_eq!(info.scan_types.len(), 1);
        let st = &info.scan_types[0];
        assert_eq!(st.name, SCAN_TYPE);
        assert_eq!(st.dedupe.algorithm, DedupeAlgorithm::HashCode);
        assert_eq!(
            st.dedupe.hash_fields,
            ["title", "cwe", "line", "file_path", "description"]
        );
        assert!(st.dedupe.allows_null_cwe);
    }

    #[test]
    fn minimal_json_finding() {
        let f = parse(r#"{"findings": [{"title": "T", "severity": "low", "description": "D"}]}"#)
            .unwrap();
        assert_eq!(f.len(), 1);
        let f = &f[0];
        assert_eq!(
            (f.title.as_str(), f.severity, f.description.as_str()),
            ("T", Severity::Low, "D")
        );
        assert_eq!(f.cwe, None);
        assert!(f.vulnerability_ids.is_empty() && f.endpoints.is_empty() && f.tags.is_empty());
        assert_eq!(
            (f.active, f.verified, f.date.as_deref()),
            (None, None, None)
        );
    }

    #[test]
    fn full_json_finding() {
        let report = r#"{"name": "n", "type": "t", "findings": [{
            "title": " T ", "severity": "Moderate", "description": "D",
            "cve": "CVE-2021-1234", "vulnerability_ids": ["GHSA-aaaa-bbbb-cccc", {"vulnerability_id": "cve-2021-1234"}],
            "cwe": "CWE-79", "cwes": [89, "CWE-79"], "line": "12", "file_path": "a.c",
            "cvssv3": "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "cvssv3_score": 9.8,
            "cvssv4": "not a vector", "epss_score": "0.5", "known_exploited": "true",
            "endpoints": ["https://Example.com:8443/x", {"host": "h", "port": "22", "protocol": "SSH", "path": "p"}, "not a url !"],
            "tags": "a, b,", "mitigated": "2024-01-24T11:02:11Z", "date": "2021-01-06T10:00:00Z",
            "kev_date": "2024-05-01", "ransomware_used": true, "nb_occurences": 3
        }]}"#;
        let f = &parse(report).unwrap()[0];
        assert_eq!(f.title, "T");
        assert_eq!(f.severity, Severity::Medium);
        assert_eq!(
            f.vulnerability_ids,
            ["CVE-2021-1234", "GHSA-aaaa-bbbb-cccc"]
        );
        assert_eq!((f.cwe, f.extra_cwes.as_slice()), (Some(79), &[89][..]));
        assert_eq!((f.line, f.file_path.as_deref()), (Some(12), Some("a.c")));
        assert_eq!(
            f.cvssv3.as_deref(),
            Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
        );
        assert_eq!(f.cvssv3_score, Some(9.8));
        assert_eq!(f.cvssv4, None);
        assert_eq!((f.epss_score, f.known_exploited), (Some(0.5), Some(true)));
        assert_eq!(f.endpoints.len(), 2);
        assert_eq!(f.endpoints[0].to_url(), "https://example.com:8443/x");
        assert_eq!(f.endpoints[1].to_url(), "ssh://h:22/p");
        assert_eq!(f.tags, ["a", "b"]);
        assert_eq!(f.mitigated.as_deref(), Some("2024-01-24T11:02:11Z"));
        assert_eq!(f.date.as_deref(), Some("2021-01-06"));
        assert_eq!(f.nb_occurences, Some(3));
        assert!(
            f.extra
                .contains(&("kev_date".to_owned(), "2024-05-01".to_owned()))
        );
        assert!(
            f.extra
                .contains(&("ransomware_used".to_owned(), "true".to_owned()))
        );
    }

    #[test]
    fn cwes_only_makes_the_first_primary() {
        let f = &parse(r#"{"findings": [{"title": "T", "severity": "High", "description": "D", "cwes": ["CWE-22", 79, 0, "x"]}]}"#).unwrap()[0];
        assert_eq!((f.cwe, f.extra_cwes.as_slice()), (Some(22), &[79][..]));
    }

    #[test]
    fn unusual_severities() {
        for (word, want) in [
            ("CRITICAL", Severity::Critical),
            ("Informational", Severity::Info),
            ("none", Severity::Info),
            ("9.1", Severity::Critical),
        ] {
            let r = format!(
                r#"{{"findings": [{{"title": "T", "severity": "{word}", "description": "D"}}]}}"#
            );
            assert_eq!(parse(&r).unwrap()[0].severity, want, "{word}");
        }
        let e =
            parse(r#"{"findings": [{"title": "T", "severity": "Urgent!", "description": "D"}]}"#)
                .unwrap_err();
        assert!(e.message.contains("unknown severity \"Urgent!\""), "{e}");
        assert_eq!(e.location.unwrap().path.as_deref(), Some("/findings/0"));
    }

    #[test]
    fn empty_reports() {
        assert!(parse(r#"{"findings": []}"#).unwrap().is_empty());
        assert!(
            parse("Date,Title,CweId,Url,Severity,Description\n")
                .unwrap()
                .is_empty()
        );
        let e = parse("").unwrap_err();
        assert!(e.message.contains("empty"), "{e}");
        let e = parse("   \n").unwrap_err();
        assert!(e.message.contains("empty"), "{e}");
    }

    #[test]
    fn malformed_json() {
        let e = parse(r#"{"findings": [{"title": "T",}]}"#).unwrap_err();
        assert!(e.message.starts_with("invalid JSON"), "{e}");
        assert!(e.location.unwrap().line.is_some());
        let e = parse(r#"{"findings": {"title": "T"}}"#).unwrap_err();
        assert!(e.message.contains("must be an array"), "{e}");
        let e = parse(r#"{"results": []}"#).unwrap_err();
        assert!(e.message.contains("no \"findings\""), "{e}");
        let e = parse(r#"[{"title": "T"}]"#).unwrap_err();
        assert!(e.message.contains("top level"), "{e}");
        let e = parse(r#"{"findings": [42]}"#).unwrap_err();
        assert!(e.message.contains("finding 0 is not a JSON object"), "{e}");
        let e = parse(r#"{"findings": [{"title": "T", "severity": "Low", "description": "D", "bogus": 1, "another": 2}]}"#).unwrap_err();
        assert!(e.message.contains("another, bogus"), "{e}");
        let e = parse(r#"{"findings": [{"title": "  ", "severity": "Low"}]}"#).unwrap_err();
        assert!(
            e.message
                .contains("required fields are missing: description, title"),
            "{e}"
        );
        let e = parse(r#"{"findings": [{"title": "T", "severity": "Low", "description": "D", "endpoints": [{"port": 1}]}]}"#).unwrap_err();
        assert!(e.message.contains("no \"host\""), "{e}");
        let e = parse(r#"{"findings": [{"title": "T", "severity": "Low", "description": "D", "files": [{"title": "x"}]}]}"#).unwrap_err();
        assert!(e.message.contains("unsupported extension"), "{e}");
    }

    #[test]
    fn csv_edge_cases() {
        let ok = "Title,Severity\nOnly title,info\n";
        let f = &parse(ok).unwrap()[0];
        assert_eq!(
            (f.description.as_str(), f.severity),
            ("Only title", Severity::Info)
        );
        let e = parse("Title,Description\nT,D\n").unwrap_err();
        assert!(e.message.contains("Severity"), "{e}");
        let e = parse("Title,Severity,Active\nT,Low,perhaps\n").unwrap_err();
        assert!(e.message.contains("perhaps"), "{e}");
        assert_eq!(e.location.unwrap().line, Some(2));
        let e = parse("Title,Severity\nT,Low,extra\n").unwrap_err();
        assert!(e.message.contains("fields"), "{e}");
        let e = parse("Title,Severity\n,Low\n").unwrap_err();
        assert!(e.message.contains("no Title"), "{e}");
        let f = &parse("Title,Severity,CweId,CVE,Url,Line\nT,High,CWE-79,\"CVE-2020-1, CVE-2020-2\",host:8080,0\n").unwrap()[0];
        assert_eq!(f.cwe, Some(79));
        assert_eq!(f.vulnerability_ids, ["CVE-2020-1", "CVE-2020-2"]);
        assert_eq!(
            (f.endpoints[0].host.as_str(), f.endpoints[0].port),
            ("host", Some(8080))
        );
        assert_eq!(f.line, None);
    }

    #[test]
    fn wrong_scan_type_is_refused() {
        let e = Generic::parse("Trivy Scan", b"{}", &Options::default()).unwrap_err();
        assert!(e.message.contains("Trivy Scan"), "{e}");
    }

    #[test]
    fn detection_is_strict() {
        assert_eq!(
            detect(r#"{"findings": [{"title": "T", "severity": "Low", "description": "D"}]}"#)
                .as_deref(),
            Some(SCAN_TYPE)
        );
        assert_eq!(
            detect(r#"{"name": "x", "type": "y", "findings": []}"#).as_deref(),
            Some(SCAN_TYPE)
        );
        assert_eq!(
            detect("Date,Title,CweId,Url,Severity,Description,Mitigation\n01/30/2018,x").as_deref(),
            Some(SCAN_TYPE)
        );
        // Truncated head: judged on what it holds.
        let long = format!(
            r#"{{"findings": [{{"title": "T", "severity": "Low", "description": "{}"#,
            "x".repeat(2000)
        );
        assert_eq!(detect(&long).as_deref(), Some(SCAN_TYPE));
        for not_generic in [
            r#"{"Results": [], "SchemaVersion": 2}"#,
            r#"{"findings": [{"title": "T", "severity": "Low", "ruleId": "x"}]}"#,
            r#"{"findings": [{"description": "D"}]}"#,
            r#"{"findings": {}}"#,
            // Several scanners write this when they find nothing.
            r#"{"findings": []}"#,
            "{\n    \"findings\": [\n    ]\n}",
            r#"{"version": "2", "runs": []}"#,
            r#"[{"title": "T"}]"#,
            "Title,Severity\nT,Low\n",
            "<?xml version=\"1.0\"?><findings/>",
            "",
        ] {
            assert_eq!(detect(not_generic), None, "{not_generic}");
        }
        assert_eq!(
            Generic::detect(&["Trivy Scan".to_owned()], br#"{"findings": []}"#),
            None
        );
    }
}
