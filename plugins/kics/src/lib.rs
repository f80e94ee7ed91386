//! Palisade parser plugin for KICS JSON reports (`kics scan --report-formats json`).
//!
//! A report has scan statistics (`files_scanned`, `queries_total`,
//! `severity_counters`, `kics_version` in newer versions) and `queries`: one
//! entry per query that matched, each with the places it matched in `files`.
//! Every (query, file entry) pair is a finding.

use palisade_plugin_sdk::json::{starts_like_json, string_at, u64_at};
use palisade_plugin_sdk::prelude::*;
use serde_json::Value;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "KICS Scan";

/// The KICS parser.
pub struct Kics;

impl Parser for Kics {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "kics".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "KICS (Keeping Infrastructure as Code Secure) JSON report".to_owned(),
                file_kinds: vec!["json".to_owned()],
                dedupe: DedupeSetting::hash_code(&[
                    "file_path",
                    "line",
                    "severity",
                    "description",
                    "title",
                ]),
            }],
        }
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        if !candidates.iter().any(|c| c == SCAN_TYPE) {
            return None;
        }
        looks_like(head).then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        if scan_type != SCAN_TYPE {
            return Err(ParseError::new(format!(
                "the kics plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
        parse_report(report)
    }
}

palisade_plugin_sdk::export_parser!(Kics);

fn contains(head: &[u8], needle: &[u8]) -> bool {
    head.windows(needle.len()).any(|w| w == needle)
}

/// KICS' statistics keys beside a `queries` list.
fn looks_like(head: &[u8]) -> bool {
    starts_like_json(head)
        && contains(head, b"\"queries\"")
        && (contains(head, b"\"kics_version\"")
            || (contains(head, b"\"queries_total\"") && contains(head, b"\"files_scanned\"")))
}

/// Parses a whole report.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let value = palisade_plugin_sdk::json::parse_json_value(report)?;
    if !value.is_object() {
        return Err(ParseError::new(
            "not a KICS report: expected a JSON object with a \"queries\" array",
        ));
    }
    let queries = match value.get("queries") {
        Some(Value::Array(q)) => q,
        Some(Value::Null) => return Ok(Vec::new()),
        Some(_) => {
            return Err(ParseError::new("expected \"queries\" to be an array").at_path("/queries"));
        }
        None => {
            return Err(ParseError::new(
                "not a KICS report: the JSON object has no \"queries\" array",
            ));
        }
    };
    let mut out = Vec::new();
    for (qi, q) in queries.iter().enumerate() {
        if !q.is_object() {
            return Err(ParseError::new("expected each query to be a JSON object")
                .at_path(format!("/queries/{qi}")));
        }
        let files = match q.get("files") {
            Some(Value::Array(f)) => f.as_slice(),
            None | Some(Value::Null) => &[],
            Some(_) => {
                return Err(ParseError::new("expected \"files\" to be an array")
                    .at_path(format!("/queries/{qi}/files")));
            }
        };
        for (fi, file) in files.iter().enumerate() {
            if !file.is_object() {
                return Err(
                    ParseError::new("expected each file entry to be a JSON object")
                        .at_path(format!("/queries/{qi}/files/{fi}")),
                );
            }
            out.push(finding(q, file));
        }
    }
    Ok(out)
}

fn push_field(desc: &mut String, label: &str, value: Option<&str>) {
    if let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) {
        desc.push_str(&format!("**{label}:** {v}\n"));
    }
}

fn finding(q: &Value, file: &Value) -> Finding {
    let name =
        non_empty(string_at(q, "query_name").as_deref()).unwrap_or_else(|| "KICS query".to_owned());
    let category = non_empty(string_at(q, "category").as_deref());
    let platform = non_empty(string_at(q, "platform").as_deref());
    let title = match &category {
        Some(c) => format!("{c}: {name}"),
        None => name,
    };
    // KICS' levels are CRITICAL (v2+), HIGH, MEDIUM, LOW, INFO, TRACE.
    let severity = string_at(q, "severity")
        .as_deref()
        .and_then(|s| {
            if s.eq_ignore_ascii_case("trace") {
                Some(Severity::Info)
            } else {
                severity_from_word(s)
            }
        })
        .unwrap_or(Severity::Info);
    let file_path = non_empty(string_at(file, "file_name").as_deref());
    let line = u64_at(file, "line")
        .and_then(|n| u32::try_from(n).ok())
        .filter(|&n| n > 0);

    let mut desc = String::new();
    if let Some(d) = non_empty(string_at(q, "description").as_deref()) {
        desc.push_str(&d);
        desc.push('\n');
    }
    push_field(&mut desc, "Platform", platform.as_deref());
    push_field(&mut desc, "Category", category.as_deref());
    push_field(
        &mut desc,
        "Issue type",
        string_at(file, "issue_type").as_deref(),
    );
    push_field(
        &mut desc,
        "Resource",
        string_at(file, "resource_name").as_deref(),
    );
    push_field(
        &mut desc,
        "Search key",
        string_at(file, "search_key").as_deref(),
    );
    push_field(
        &mut desc,
        "Expected",
        string_at(file, "expected_value").as_deref(),
    );
    push_field(
        &mut desc,
        "Actual",
        string_at(file, "actual_value").as_deref(),
    );
    push_field(&mut desc, "Query id", string_at(q, "query_id").as_deref());

    let references = non_empty(string_at(q, "query_url").as_deref());
    let cwe = string_at(q, "cwe").as_deref().and_then(parse_cwe);

    let mut f = Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity,
        description: clean(&desc),
        mitigation: non_empty(string_at(file, "expected_value").as_deref()),
        references,
        cwe,
        file_path,
        line,
        component_name: platform,
        static_finding: Some(true),
        dynamic_finding: Some(false),
        nb_occurences: Some(1),
        ..Finding::default()
    };
    for (k, src) in [("query_id", q), ("similarity_id", file)] {
        if let Some(v) = non_empty(string_at(src, k).as_deref()) {
            f.extra.push((k.to_owned(), v));
        }
    }
    f
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        parse_report(report.as_bytes())
    }

    #[test]
    fn empty_report_has_no_findings() {
        assert!(
            parse(r#"{"queries_total":1,"queries":[]}"#)
                .unwrap()
                .is_empty()
        );
        assert!(parse(r#"{"queries":null}"#).unwrap().is_empty());
    }

    #[test]
    fn several_files_and_unusual_severities() {
        let f = parse(
            r#"{"queries":[
                {"query_name":"Q1","severity":"CRITICAL","platform":"Terraform","category":"Encryption","files":[{"file_name":"a.tf","line":3},{"file_name":"b.tf","line":0}]},
                {"query_name":"Q2","severity":"TRACE","files":[{"file_name":"c.tf"}]},
                {"query_name":"Q3","severity":"weird","files":[{}]},
                {"query_name":"Q4","severity":"LOW"}]}"#,
        )
        .unwrap();
        assert_eq!(f.len(), 4);
        assert_eq!(f[0].severity, Severity::Critical);
        assert_eq!(f[0].title, "Encryption: Q1");
        assert_eq!(f[0].line, Some(3));
        assert_eq!(f[1].line, None);
        assert_eq!(f[2].severity, Severity::Info);
        assert_eq!(f[2].title, "Q2");
        assert_eq!(f[3].severity, Severity::Info);
    }

    #[test]
    fn malformed_inputs_are_errors() {
        assert!(parse("{\"queries\":[").is_err());
        assert!(parse(r#"{"vulnerabilities":[]}"#).is_err());
        assert!(parse(r#"{"queries":{}}"#).is_err());
        assert!(parse(r#"{"queries":[{"files":{}}]}"#).is_err());
        assert!(parse(r#"{"queries":[1]}"#).is_err());
        assert!(parse("[]").is_err());
        assert!(parse_report(b"{\"queries\":[\"\xff\"]}").is_err());
        assert!(parse(&format!("{{\"queries\":{}", "[".repeat(10_000))).is_err());
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        assert!(
            Kics::detect(&c, br#"{"kics_version":"v1","files_scanned":1,"queries":["#).is_some()
        );
        assert!(
            Kics::detect(&c, br#"{"files_scanned":1,"queries_total":2,"queries":[]}"#).is_some()
        );
        assert!(Kics::detect(&c, br#"{"queries":[]}"#).is_none());
        assert!(Kics::detect(&c, br#"{"check_type":"x","results":{}}"#).is_none());
    }
}
