//! Palisade parser plugin for Checkov JSON reports (`checkov -o json`).
//!
//! A report is one object per framework scanned, or an array of them when
//! several frameworks ran:
//! `{"check_type": "terraform", "results": {"failed_checks": [...], "passed_checks": [...], ...}, "summary": {...}}`.
//! When nothing was scanned Checkov writes only a summary
//! (`{"passed": 0, "failed": 0, ..., "checkov_version": "..."}`), which has no findings.
//! Each failed check becomes a finding; passed and skipped checks are not findings.

use palisade_plugin_sdk::json::{array_at, starts_like_json, string_at, u64_at, value_to_string};
use palisade_plugin_sdk::prelude::*;
use serde_json::Value;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "Checkov Scan";

/// The Checkov parser.
pub struct Checkov;

impl Parser for Checkov {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "checkov".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "Checkov infrastructure-as-code scan, JSON output".to_owned(),
                file_kinds: vec!["json".to_owned()],
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
        looks_like(head).then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        if scan_type != SCAN_TYPE {
            return Err(ParseError::new(format!(
                "the checkov plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
        parse_report(report)
    }
}

palisade_plugin_sdk::export_parser!(Checkov);

fn contains(head: &[u8], needle: &[u8]) -> bool {
    head.windows(needle.len()).any(|w| w == needle)
}

/// Checkov's own keys: a framework report (`check_type` with `results`
/// holding `*_checks` lists) or the summary-only report (`checkov_version`).
fn looks_like(head: &[u8]) -> bool {
    if !starts_like_json(head) {
        return false;
    }
    let framework = contains(head, b"\"check_type\"")
        && contains(head, b"\"results\"")
        && (contains(head, b"\"failed_checks\"") || contains(head, b"\"passed_checks\""));
    let summary_only = contains(head, b"\"checkov_version\"")
        && contains(head, b"\"passed\"")
        && contains(head, b"\"failed\"");
    framework || summary_only
}

/// Parses a whole report.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let value = palisade_plugin_sdk::json::parse_json_value(report)?;
    let mut out = Vec::new();
    match &value {
        Value::Array(reports) => {
            for (i, r) in reports.iter().enumerate() {
                framework_report(r, &format!("/{i}"), &mut out)?;
            }
        }
        Value::Object(_) => framework_report(&value, "", &mut out)?,
        _ => {
            return Err(ParseError::new(
                "not a Checkov report: expected a JSON object (or an array of them) with \"check_type\" and \"results\"",
            ));
        }
    }
    Ok(out)
}

fn framework_report(r: &Value, path: &str, out: &mut Vec<Finding>) -> Result<(), ParseError> {
    let Some(obj) = r.as_object() else {
        return Err(
            ParseError::new("expected each Checkov framework report to be a JSON object")
                .at_path(path),
        );
    };
    let Some(results) = obj.get("results") else {
        // The summary Checkov prints when it found nothing to scan.
        if obj.contains_key("checkov_version") || obj.contains_key("resourcecount") {
            return Ok(());
        }
        return Err(ParseError::new(
            "not a Checkov report: no \"results\" object (and not Checkov's summary-only report either)",
        )
        .at_path(path));
    };
    if !results.is_object() {
        return Err(ParseError::new("expected \"results\" to be an object")
            .at_path(format!("{path}/results")));
    }
    let check_type = string_at(r, "check_type");
    match results.get("failed_checks") {
        None | Some(Value::Null) => {}
        Some(Value::Array(checks)) => {
            out.reserve(checks.len());
            for (i, c) in checks.iter().enumerate() {
                if !c.is_object() {
                    return Err(
                        ParseError::new("expected each failed check to be a JSON object")
                            .at_path(format!("{path}/results/failed_checks/{i}")),
                    );
                }
                out.push(failed_check(c, check_type.as_deref()));
            }
        }
        Some(_) => {
            return Err(ParseError::new("expected \"failed_checks\" to be an array")
                .at_path(format!("{path}/results/failed_checks")));
        }
    }
    Ok(())
}

fn failed_check(c: &Value, check_type: Option<&str>) -> Finding {
    let check_id = non_empty(string_at(c, "check_id").as_deref());
    let check_name = non_empty(string_at(c, "check_name").as_deref());
    let title = check_name
        .clone()
        .or_else(|| check_id.clone())
        .unwrap_or_else(|| "Checkov check failed".to_owned());
    // Checkov reports a severity only when connected to the Bridgecrew
    // platform; otherwise a failed policy is a Medium misconfiguration.
    let severity = string_at(c, "severity")
        .as_deref()
        .and_then(severity_from_word)
        .unwrap_or(Severity::Medium);
    let file_path = non_empty(string_at(c, "file_path").as_deref())
        .or_else(|| non_empty(string_at(c, "repo_file_path").as_deref()));
    let line = u64_at(c, "file_line_range/0")
        .and_then(|n| u32::try_from(n).ok())
        .filter(|&n| n > 0);
    let resource = non_empty(string_at(c, "resource").as_deref());

    let mut desc = String::new();
    if let Some(t) = check_type {
        desc.push_str(&format!("Check Type: {t}\n"));
    }
    if let Some(id) = &check_id {
        desc.push_str(&format!("Check Id: {id}\n"));
    }
    if let Some(n) = &check_name {
        desc.push_str(&format!("{n}\n"));
    }
    if let Some(d) = non_empty(string_at(c, "description").as_deref()) {
        desc.push_str(&format!("\n{d}\n"));
    }
    if let Some(r) = &resource {
        desc.push_str(&format!("\nResource: {r}\n"));
    }
    if let Some(f) = &file_path {
        let end = u64_at(c, "file_line_range/1");
        match (line, end) {
            (Some(s), Some(e)) => desc.push_str(&format!("File: {f} (lines {s}-{e})\n")),
            _ => desc.push_str(&format!("File: {f}\n")),
        }
    }
    let keys: Vec<String> = array_at(c, "check_result/evaluated_keys")
        .iter()
        .filter_map(value_to_string)
        .collect();
    if !keys.is_empty() {
        desc.push_str(&format!("Evaluated keys: {}\n", keys.join(", ")));
    }
    // The offending code, as Checkov quotes it: [[line, text], ...].
    let code: String = array_at(c, "code_block")
        .iter()
        .filter_map(|l| {
            let n = l.get(0).and_then(value_to_string)?;
            let t = l.get(1).and_then(Value::as_str)?;
            Some(format!("{n}: {}", t.trim_end_matches('\n')))
        })
        .take(50)
        .collect::<Vec<_>>()
        .join("\n");
    if !code.is_empty() {
        desc.push_str(&format!("\n```\n{code}\n```\n"));
    }

    let vuln_ids: Vec<String> = c
        .get("vulnerability_details")
        .and_then(|d| string_at(d, "id"))
        .into_iter()
        .filter(|id| palisade_plugin_sdk::is_vulnerability_id(id))
        .collect();

    let mut references = Vec::new();
    for key in ["guideline", "vulnerability_details/link"] {
        if let Some(link) = non_empty(string_at(c, key).as_deref()) {
            references.push(link);
        }
    }

    let mut f = Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity,
        description: desc,
        references: (!references.is_empty()).then(|| references.join("\n")),
        file_path,
        line,
        component_name: resource,
        vulnerability_ids: vuln_ids,
        static_finding: Some(true),
        dynamic_finding: Some(false),
        ..Finding::default()
    };
    if let Some(id) = check_id {
        f.extra.push(("check_id".to_owned(), id));
    }
    if let Some(v) = string_at(c, "bc_check_id") {
        f.extra.push(("bc_check_id".to_owned(), v));
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
    fn empty_and_summary_only_reports_have_no_findings() {
        assert!(
            parse(r#"{"check_type":"terraform","results":{"failed_checks":[]}}"#)
                .unwrap()
                .is_empty()
        );
        assert!(
            parse(r#"{"passed":0,"failed":0,"checkov_version":"2.1"}"#)
                .unwrap()
                .is_empty()
        );
        assert!(parse("[]").unwrap().is_empty());
    }

    #[test]
    fn several_frameworks_and_optional_fields() {
        let f = parse(
            r#"[{"check_type":"terraform","results":{"failed_checks":[{"check_id":"CKV_1","check_name":"n1","severity":"HIGH","file_path":"/a.tf","file_line_range":[3,9],"resource":"r.a","code_block":[[3,"x = 1\n"]]}]}},
                {"check_type":"dockerfile","results":{"failed_checks":[{"check_id":"CKV_2"}]}}]"#,
        )
        .unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].line, Some(3));
        assert_eq!(f[0].component_name.as_deref(), Some("r.a"));
        assert!(f[0].description.contains("3: x = 1"));
        assert_eq!(f[1].title, "CKV_2");
        assert_eq!(f[1].severity, Severity::Medium);
        assert_eq!(f[1].line, None);
    }

    #[test]
    fn sca_vulnerability_ids() {
        let f = parse(
            r#"{"check_type":"sca_package","results":{"failed_checks":[{"check_id":"CKV_CVE_2021_1","check_name":"n","severity":"critical","vulnerability_details":{"id":"CVE-2021-1234"}}]}}"#,
        )
        .unwrap();
        assert_eq!(f[0].vulnerability_ids, vec!["CVE-2021-1234".to_owned()]);
        assert_eq!(f[0].severity, Severity::Critical);
    }

    #[test]
    fn malformed_inputs_are_errors() {
        assert!(parse("{\"check_type\":").is_err());
        assert!(parse(r#"{"vulnerabilities":[]}"#).is_err());
        assert!(parse(r#"{"check_type":"t","results":{"failed_checks":{}}}"#).is_err());
        assert!(parse(r#"{"check_type":"t","results":{"failed_checks":[1]}}"#).is_err());
        assert!(parse("[1]").is_err());
        assert!(parse("null").is_err());
        assert!(parse_report(b"{\"a\":\"\xff\"}").is_err());
        assert!(parse(&"[".repeat(10_000)).is_err());
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        assert!(
            Checkov::detect(
                &c,
                br#"{"check_type":"terraform","results":{"passed_checks":["#
            )
            .is_some()
        );
        assert!(Checkov::detect(&c, br#"{"passed":0,"failed":0,"checkov_version":"2"}"#).is_some());
        assert!(Checkov::detect(&c, br#"{"results":[{"failed_checks":1}]}"#).is_none());
        assert!(Checkov::detect(&c, br#"{"queries":[],"kics_version":"1"}"#).is_none());
    }
}
