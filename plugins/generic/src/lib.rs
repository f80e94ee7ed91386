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
        PluginInfo::single(
            "generic",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "DefectDojo's generic findings format, as JSON or CSV",
                &["json", "csv"],
                DedupeSetting::hash_code(&["title", "cwe", "line", "file_path", "description"]),
            ),
        )
    }

    fn detect(_candidates: &[String], head: &[u8]) -> Option<String> {
        (json_report::looks_like(head) || csv_report::looks_like(head))
            .then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        _scan_type: &str,
        report: &[u8],
        options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        // The reference picks the format by file extension (CSV unless the
        // name ends in ".json"); without a name, by content.
        let name = options
            .get("file-name")
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        let json = if name.ends_with(".json") {
            true
        } else if name.ends_with(".csv") {
            false
        } else {
            palisade_plugin_sdk::json::starts_like_json(report)
        };
        if json {
            if report.iter().all(u8::is_ascii_whitespace) {
                return Err(ParseError::new(
                    "the report is empty: expected a JSON object with a \"findings\" array",
                ));
            }
            json_report::parse(report)
        } else {
            csv_report::parse(report)
        }
    }
}

palisade_plugin_sdk::export_parser!(Generic);

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        Generic::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    fn parse_named(name: &str, report: &str) -> Result<Vec<Finding>, ParseError> {
        let options = Options(vec![("file-name".to_owned(), name.to_owned())]);
        Generic::parse(SCAN_TYPE, report.as_bytes(), &options)
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
            "title": " T ", "severity": "High", "description": "D",
            "cve": "CVE-2021-1234", "vulnerability_ids": ["GHSA-aaaa-bbbb-cccc", {"vulnerability_id": "cve-2021-1234"}],
            "cwe": "79", "cwes": [89, "CWE-79"], "line": "12", "file_path": "a.c",
            "component_name": "lib", "component_version": "1.0",
            "unique_id_from_tool": "u1", "vuln_id_from_tool": "v1",
            "cvssv3": "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "cvssv3_score": 9.8,
            "cvssv4": "not a vector", "epss_score": "0.5", "known_exploited": "true",
            "endpoints": ["https://Example.com:8443/x", {"host": "h", "port": "22", "protocol": "SSH", "path": "p"}, "not a url !"],
            "tags": "a, b,", "mitigated": "2024-01-24T11:02:11Z", "date": "2021-01-06T10:00:00Z",
            "kev_date": "2024-05-01", "ransomware_used": true, "nb_occurences": 3, "thread_id": 7
        }]}"#;
        let f = &parse(report).unwrap()[0];
        assert_eq!(f.title, "T");
        assert_eq!(f.severity, Severity::High);
        assert_eq!(
            f.vulnerability_ids,
            ["CVE-2021-1234", "GHSA-aaaa-bbbb-cccc"]
        );
        assert_eq!((f.cwe, f.extra_cwes.as_slice()), (Some(79), &[89][..]));
        assert_eq!((f.line, f.file_path.as_deref()), (Some(12), Some("a.c")));
        assert_eq!(
            (f.component_name.as_deref(), f.component_version.as_deref()),
            (Some("lib"), Some("1.0"))
        );
        assert_eq!(
            (
                f.unique_id_from_tool.as_deref(),
                f.vuln_id_from_tool.as_deref()
            ),
            (Some("u1"), Some("v1"))
        );
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
    }

    #[test]
    fn json_cwe_rules() {
        let one = |fields: &str| {
            let r = format!(
                r#"{{"findings": [{{"title": "T", "severity": "High", "description": "D", {fields}}}]}}"#
            );
            let f = parse(&r).unwrap().remove(0);
            (f.cwe, f.extra_cwes)
        };
        // Only the first `cwes` entry can become the primary CWE.
        assert_eq!(
            one(r#""cwes": ["CWE-22", 79, 0, "x"]"#),
            (Some(22), vec![79])
        );
        assert_eq!(one(r#""cwes": ["x", 79]"#), (None, vec![79]));
        // `cwe` must be a number: "CWE-79" is dropped, a float truncated.
        assert_eq!(one(r#""cwe": "CWE-79""#), (None, vec![]));
        assert_eq!(one(r#""cwe": 79.9"#), (Some(79), vec![]));
        assert_eq!(
            one(r#""cwe": "CWE-79", "cwes": ["CWE-89"]"#),
            (Some(89), vec![])
        );
        assert_eq!(one(r#""cwe": 0"#), (None, vec![]));
    }

    #[test]
    fn json_numbers_that_are_none_are_dropped() {
        let f = &parse(
            r#"{"findings": [{"title": "T", "severity": "High", "description": "D",
            "line": "N/A", "nb_occurences": "2.5", "epss_score": "n/a", "cvssv3_score": true}]}"#,
        )
        .unwrap()[0];
        assert_eq!((f.line, f.nb_occurences), (None, None));
        assert_eq!((f.epss_score, f.cvssv3_score), (None, None));
        let f = &parse(r#"{"findings": [{"title": "T", "severity": "High", "description": "D", "line": 12.7}]}"#)
            .unwrap()[0];
        assert_eq!(f.line, Some(12));
    }

    #[test]
    fn json_vulnerability_id_string_is_one_id() {
        let f = &parse(
            r#"{"findings": [{"title": "T", "severity": "High", "description": "D",
            "vulnerability_ids": "CVE-2020-1, CVE-2020-2", "cve": ""}]}"#,
        )
        .unwrap()[0];
        assert_eq!(f.vulnerability_ids, ["CVE-2020-1, CVE-2020-2"]);
    }

    #[test]
    fn json_severity_is_accepted_whatever_it_says() {
        for (word, want) in [
            ("CRITICAL", Severity::Critical),
            ("Informational", Severity::Info),
            ("none", Severity::Info),
            ("Urgent!", Severity::Info),
            ("", Severity::Info),
        ] {
            let r = format!(
                r#"{{"findings": [{{"title": "T", "severity": "{word}", "description": "D"}}]}}"#
            );
            assert_eq!(parse(&r).unwrap()[0].severity, want, "{word}");
        }
        let f = &parse(r#"{"findings": [{"title": null, "severity": null, "description": null}]}"#)
            .unwrap()[0];
        assert_eq!((f.title.as_str(), f.severity), ("", Severity::Info));
    }

    #[test]
    fn json_endpoint_objects() {
        let f = &parse(
            r#"{"findings": [{"title": "T", "severity": "Low", "description": "D",
            "endpoints": [{"port": 1}, {"host": "h", "port": "x"}, null]}]}"#,
        )
        .unwrap()[0];
        assert_eq!(f.endpoints.len(), 1);
        assert_eq!(
            (f.endpoints[0].host.as_str(), f.endpoints[0].port),
            ("h", None)
        );
        let e = parse(
            r#"{"findings": [{"title": "T", "severity": "Low", "description": "D",
            "endpoints": [{"host": "h", "url": "u"}]}]}"#,
        )
        .unwrap_err();
        assert!(e.message.contains("not endpoint fields: url"), "{e}");
    }

    #[test]
    fn json_top_level() {
        assert!(parse(r#"{"findings": []}"#).unwrap().is_empty());
        // No findings key: the reference reads no findings.
        assert!(
            parse(r#"{"name": "x", "results": [1]}"#)
                .unwrap()
                .is_empty()
        );
        let e = parse(r#"{"findings": null}"#).unwrap_err();
        assert!(e.message.contains("must be an array"), "{e}");
        let e = parse(r#"{"findings": {"title": "T"}}"#).unwrap_err();
        assert!(e.message.contains("must be an array"), "{e}");
        let e = parse(r#"[{"title": "T"}]"#).unwrap_err();
        assert!(e.message.contains("top level"), "{e}");
        let e = parse(r#"{"findings": [42]}"#).unwrap_err();
        assert!(e.message.contains("finding 0 is not a JSON object"), "{e}");
        let e = parse_named("r.json", "").unwrap_err();
        assert!(e.message.contains("empty"), "{e}");
        let e = parse(r#"{"findings": [{"title": "T",}]}"#).unwrap_err();
        assert!(e.message.starts_with("invalid JSON"), "{e}");
    }

    #[test]
    fn json_rejections() {
        let bad = |fields: &str| {
            let r = format!(r#"{{"findings": [{{{fields}}}]}}"#);
            parse(&r).unwrap_err().message
        };
        let m =
            bad(r#""title": "T", "severity": "Low", "description": "D", "bogus": 1, "another": 2"#);
        assert!(m.contains("another, bogus"), "{m}");
        // Fields DefectDojo's model has but its generic parser does not allow.
        for field in ["url", "duplicate", "hash_code"] {
            let m = bad(&format!(
                r#""title": "T", "severity": "Low", "description": "D", "{field}": 1"#
            ));
            assert!(m.contains(field), "{m}");
        }
        let m = bad(r#""title": "  ", "severity": "Low""#);
        assert!(
            m.contains("required fields are missing: description"),
            "{m}"
        );
        let m = bad(r#""title": "T", "severity": "Low", "description": "D", "date": """#);
        assert!(m.contains("not a date"), "{m}");
        let m = bad(r#""title": "T", "severity": "Low", "description": "D", "date": "N/A""#);
        assert!(m.contains("not a date"), "{m}");
        let m = bad(r#""title": "T", "severity": "Low", "description": "D", "mitigated": null"#);
        assert!(m.contains("not a date"), "{m}");
        let m = bad(
            r#""title": "T", "severity": "Low", "description": "D", "files": [{"title": "x", "data": ""}]"#,
        );
        assert!(m.contains("unsupported extension"), "{m}");
        let m = bad(
            r#""title": "T", "severity": "Low", "description": "D", "files": [{"title": "x.txt"}]"#,
        );
        assert!(m.contains("data"), "{m}");
    }

    #[test]
    fn csv_columns_and_defaults() {
        let f = &parse(
            "Date,Title,Severity,Description,CweId,CVE,Vulnerability Id,Url,ComponentName,FilePath,Line\n\
             01/30/2018,T,High,D,79,\"CVE-2020-1, CVE-2020-2\",GHSA-x,host:8080,lib,a.c,3\n",
        )
        .unwrap()[0];
        assert_eq!((f.severity, f.cwe), (Severity::High, Some(79)));
        assert_eq!(f.vulnerability_ids, ["CVE-2020-1, CVE-2020-2", "GHSA-x"]);
        assert_eq!(
            (f.endpoints[0].host.as_str(), f.endpoints[0].port),
            ("host", Some(8080))
        );
        // Columns the reference does not read stay unset.
        assert_eq!(
            (f.component_name.as_deref(), f.file_path.as_deref(), f.line),
            (None, None, None)
        );
        assert_eq!(f.date.as_deref(), Some("2018-01-30"));
        assert_eq!(f.nb_occurences, Some(1));
    }

    #[test]
    fn csv_severity_is_exact_with_info_default() {
        let sev = |s: &str| {
            parse(&format!(
                "Date,Title,Severity,Description\n2021-01-01,T,{s},D\n"
            ))
            .unwrap()[0]
                .severity
        };
        assert_eq!(sev("Critical"), Severity::Critical);
        assert_eq!(sev("Medium"), Severity::Medium);
        assert_eq!(sev("high"), Severity::Info);
        assert_eq!(sev(""), Severity::Info);
        // A short row (no Severity cell at all) is Info too.
        let f = parse("Date,Title,Description,Severity\n2021-01-01,T,D\n").unwrap();
        assert_eq!(f[0].severity, Severity::Info);
    }

    #[test]
    fn csv_rows_with_the_same_key_merge() {
        let f = parse(
            "Date,Title,Severity,Description,Url,CVE,CweIds\n\
             2021-01-01,T,Low,D,a.example,CVE-1,79\n\
             2021-01-01,T,Low,D,b.example,CVE-2,89\n\
             2021-01-01,T,High,D,c.example,CVE-3,\n",
        )
        .unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].nb_occurences, Some(2));
        assert_eq!(f[0].endpoints.len(), 2);
        assert_eq!(f[0].vulnerability_ids, ["CVE-1", "CVE-2"]);
        assert_eq!(
            (f[0].cwe, f[0].extra_cwes.as_slice()),
            (Some(79), &[89][..])
        );
        assert_eq!(f[1].severity, Severity::High);
    }

    #[test]
    fn csv_rejections_and_leniency() {
        // Header-only files and empty files have no findings, whatever the columns.
        assert!(parse_named("x.csv", "").unwrap().is_empty());
        assert!(parse("Foo,Bar\n").unwrap().is_empty());
        // Column names are exact.
        let e = parse("date,Title,Severity,Description\n2021-01-01,T,Low,D\n").unwrap_err();
        assert!(e.message.contains("\"Date\""), "{e}");
        let e = parse("Date,Title,Severity\n2021-01-01,T,Low\n").unwrap_err();
        assert!(e.message.contains("Description"), "{e}");
        let e = parse("Date,Title,Severity,Description\n,T,Low,D\n").unwrap_err();
        assert!(e.message.contains("Date"), "{e}");
        let e = parse("Date,Title,Severity,Description,CweId\n2021-01-01,T,Low,D,CWE-79\n")
            .unwrap_err();
        assert!(e.message.contains("CweId"), "{e}");
        let e =
            parse("Date,Title,Severity,Description,epss_score\n2021-01-01,T,Low,D,\n").unwrap_err();
        assert!(e.message.contains("epss_score"), "{e}");
        // Booleans: anything not starting with "t" is false.
        let f = &parse(
            "Date,Title,Severity,Description,Active,Verified\n2021-01-01,T,Low,D,perhaps,True\n",
        )
        .unwrap()[0];
        assert_eq!((f.active, f.verified), (Some(false), Some(true)));
        // Extra cells in a long row are ignored.
        assert_eq!(
            parse("Date,Title,Severity,Description\n2021-01-01,T,Low,D,x\n")
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn format_follows_the_file_name() {
        let csv = "Date,Title,Severity,Description\n2021-01-01,T,Low,D\n";
        assert_eq!(parse_named("report.CSV", csv).unwrap().len(), 1);
        assert_eq!(parse_named("report", csv).unwrap().len(), 1);
        assert!(parse_named("report.json", csv).is_err());
        let json = r#"{"findings": [{"title": "T", "severity": "Low", "description": "D"}]}"#;
        assert_eq!(parse_named("report.txt", json).unwrap().len(), 1);
    }

    #[test]
    fn detection_is_strict() {
        assert_eq!(
            detect(r#"{"findings": [{"title": "T", "severity": "Low", "description": "D"}]}"#)
                .as_deref(),
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
            // No finding, so no mark of the format.
            r#"{"findings": []}"#,
            r#"{"name": "x", "type": "y", "findings": []}"#,
            "{\n    \"findings\": [\n    ]\n}",
            "{}",
            "{\"findings\": [{",
            r#"{"version": "2", "runs": []}"#,
            r#"[{"title": "T"}]"#,
            "Title,Severity\nT,Low\n",
            "date,title,severity,description\n",
            "<?xml version=\"1.0\"?><findings/>",
            "",
        ] {
            assert_eq!(detect(not_generic), None, "{not_generic}");
        }
    }
}
