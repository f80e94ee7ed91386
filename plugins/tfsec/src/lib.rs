//! Palisade parser plugin for tfsec JSON reports (`tfsec --format json`).
//!
//! A report is `{"results": [...]}` (`null` when there is nothing to report).
//! Each result names a rule (`rule_id`, `long_id` in v1, `rule_description`,
//! `rule_provider`), its `location` (`filename`, `start_line`, `end_line`),
//! a `description`, `impact`, `resolution`, links (`link` in legacy
//! versions, `links` in v1) and a severity: legacy `ERROR`/`WARNING`/`INFO`,
//! v1 `CRITICAL`/`HIGH`/`MEDIUM`/`LOW`. Results that passed are not findings.

use palisade_plugin_sdk::json::{
    array_at, bool_at, starts_like_json, string_at, u64_at, value_to_string,
};
use palisade_plugin_sdk::markdown::push_field;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use serde_json::Value;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "TFSec Scan";

/// The tfsec parser.
pub struct Tfsec;

impl Parser for Tfsec {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "tfsec".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "tfsec Terraform static analysis, JSON output".to_owned(),
                file_kinds: vec!["json".to_owned()],
                dedupe: DedupeSetting::hash_code(&[
                    "severity",
                    "vuln_id_from_tool",
                    "file_path",
                    "line",
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
                "the tfsec plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
        parse_report(report)
    }
}

palisade_plugin_sdk::export_parser!(Tfsec);

/// tfsec's result keys: `rule_id` with `rule_provider` or `rule_description`,
/// and a `location` with `start_line`.
fn looks_like(head: &[u8]) -> bool {
    starts_like_json(head)
        && contains(head, b"\"results\"")
        && contains(head, b"\"rule_id\"")
        && (contains(head, b"\"rule_provider\"") || contains(head, b"\"rule_description\""))
        && contains(head, b"\"start_line\"")
}

/// Parses a whole report.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let value = palisade_plugin_sdk::json::parse_json_value(report)?;
    if !value.is_object() {
        return Err(ParseError::new(
            "not a tfsec report: expected a JSON object with a \"results\" array",
        ));
    }
    let results = match value.get("results") {
        Some(Value::Array(r)) => r,
        Some(Value::Null) => return Ok(Vec::new()),
        Some(_) => {
            return Err(ParseError::new("expected \"results\" to be an array").at_path("/results"));
        }
        None => {
            return Err(ParseError::new(
                "not a tfsec report: the JSON object has no \"results\" key",
            ));
        }
    };
    let mut out = Vec::with_capacity(results.len());
    for (i, r) in results.iter().enumerate() {
        if !r.is_object() {
            return Err(
                ParseError::new("expected each tfsec result to be a JSON object")
                    .at_path(format!("/results/{i}")),
            );
        }
        if r.get("rule_id").is_none() && r.get("long_id").is_none() {
            return Err(ParseError::new(
                "not a tfsec result: it has no \"rule_id\" (is this another scanner's report?)",
            )
            .at_path(format!("/results/{i}")));
        }
        if passed(r) {
            continue;
        }
        out.push(finding(r));
    }
    Ok(out)
}

/// Legacy reports say `"passed": true`, v1 may carry a `status` word.
fn passed(r: &Value) -> bool {
    if bool_at(r, "passed") == Some(true) {
        return true;
    }
    matches!(
        string_at(r, "status")
            .map(|s| s.to_ascii_lowercase())
            .as_deref(),
        Some("passed" | "ignored")
    )
}

fn severity(word: Option<&str>) -> Severity {
    match word.map(str::to_ascii_uppercase).as_deref() {
        // Legacy levels.
        Some("ERROR") => Severity::High,
        Some("WARNING") => Severity::Medium,
        Some("INFO") => Severity::Low,
        Some(other) => severity_from_word(other).unwrap_or(Severity::Info),
        None => Severity::Info,
    }
}

/// "See https://... for more information." -> the URL.
fn link_url(text: &str) -> String {
    text.split_whitespace()
        .find(|w| w.starts_with("http://") || w.starts_with("https://"))
        .unwrap_or(text)
        .to_owned()
}

fn finding(r: &Value) -> Finding {
    let rule_id = non_empty(string_at(r, "rule_id").as_deref())
        .or_else(|| non_empty(string_at(r, "long_id").as_deref()));
    let rule_description = non_empty(string_at(r, "rule_description").as_deref());
    let description = non_empty(string_at(r, "description").as_deref());
    let title = rule_description
        .or_else(|| description.clone())
        .or_else(|| rule_id.clone())
        .unwrap_or_else(|| "tfsec result".to_owned());
    let file_path = non_empty(string_at(r, "location/filename").as_deref());
    let line = u64_at(r, "location/start_line")
        .and_then(|n| u32::try_from(n).ok())
        .filter(|&n| n > 0);
    let end_line = u64_at(r, "location/end_line");

    let mut desc = String::new();
    push_field(&mut desc, "Rule ID", rule_id.as_deref());
    push_field(&mut desc, "Long ID", string_at(r, "long_id").as_deref());
    push_field(
        &mut desc,
        "Provider",
        string_at(r, "rule_provider").as_deref(),
    );
    push_field(
        &mut desc,
        "Service",
        string_at(r, "rule_service").as_deref(),
    );
    push_field(&mut desc, "Resource", string_at(r, "resource").as_deref());
    if let (Some(f), Some(s)) = (&file_path, line) {
        match end_line {
            Some(e) if e != u64::from(s) => {
                desc.push_str(&format!("**Location:** {f}, lines {s}-{e}\n"))
            }
            _ => desc.push_str(&format!("**Location:** {f}, line {s}\n")),
        }
    }
    if let Some(d) = &description {
        desc.push('\n');
        desc.push_str(d);
        desc.push('\n');
    }

    let mut links: Vec<String> = array_at(r, "links")
        .iter()
        .filter_map(value_to_string)
        .filter_map(|s| non_empty_str(&s))
        .collect();
    if let Some(l) = non_empty(string_at(r, "link").as_deref()) {
        links.insert(0, link_url(&l));
    }

    Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity: severity(string_at(r, "severity").as_deref()),
        description: clean(&desc),
        impact: non_empty(string_at(r, "impact").as_deref()),
        mitigation: non_empty(string_at(r, "resolution").as_deref()),
        references: (!links.is_empty()).then(|| links.join("\n")),
        file_path,
        line,
        vuln_id_from_tool: rule_id,
        static_finding: Some(true),
        dynamic_finding: Some(false),
        nb_occurences: Some(1),
        ..Finding::default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        parse_report(report.as_bytes())
    }

    #[test]
    fn empty_reports_have_no_findings() {
        assert!(parse(r#"{"results":null}"#).unwrap().is_empty());
        assert!(parse(r#"{"results":[]}"#).unwrap().is_empty());
    }

    #[test]
    fn legacy_and_v1_results() {
        let f = parse(
            r#"{"results":[
              {"rule_id":"GEN003","rule_description":"d","severity":"WARNING","passed":false,"link":"See https://x/y for more information.","location":{"filename":"a.tf","start_line":3,"end_line":4}},
              {"rule_id":"AWS001","severity":"ERROR","passed":true,"location":{"filename":"b.tf","start_line":1}},
              {"rule_id":"AVD-AWS-0088","long_id":"aws-s3-enable-bucket-encryption","severity":"CRITICAL","links":["https://a"],"location":{"filename":"c.tf","start_line":0}},
              {"rule_id":"X","severity":"INFO"},
              {"long_id":"y","severity":"strange"}]}"#,
        )
        .unwrap();
        assert_eq!(f.len(), 4);
        assert_eq!(f[0].severity, Severity::Medium);
        assert_eq!(f[0].references.as_deref(), Some("https://x/y"));
        assert_eq!(f[0].line, Some(3));
        assert_eq!(f[1].severity, Severity::Critical);
        assert_eq!(f[1].vuln_id_from_tool.as_deref(), Some("AVD-AWS-0088"));
        assert_eq!(f[1].line, None);
        assert_eq!(f[2].severity, Severity::Low);
        assert_eq!(f[3].severity, Severity::Info);
        assert_eq!(f[3].vuln_id_from_tool.as_deref(), Some("y"));
    }

    #[test]
    fn malformed_inputs_are_errors() {
        assert!(parse("{\"results\":[").is_err());
        assert!(parse(r#"{"vulnerabilities":[]}"#).is_err());
        assert!(parse(r#"{"results":{}}"#).is_err());
        assert!(parse(r#"{"results":[1]}"#).is_err());
        assert!(parse(r#"{"results":[{"Target":"x"}]}"#).is_err());
        assert!(parse("[]").is_err());
        assert!(parse_report(b"{\"results\":\"\xff\"}").is_err());
        assert!(parse(&format!("{{\"results\":{}", "[".repeat(10_000))).is_err());
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        assert!(Tfsec::detect(&c, br#"{"results":[{"rule_id":"A","rule_description":"d","location":{"filename":"f","start_line":1"#).is_some());
        assert!(
            Tfsec::detect(&c, br#"{"results":[{"Target":"x","Vulnerabilities":[]}]}"#).is_none()
        );
        assert!(
            Tfsec::detect(&c, br#"{"results":[{"check_id":"x","start":{"line":1}}]}"#).is_none()
        );
    }
}
