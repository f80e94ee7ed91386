//! Palisade parser plugin for tfsec JSON reports (`tfsec --format json`).
//!
//! A report is `{"results": [...]}` (`null` when there is nothing to report).
//! Each result names a rule (`rule_id`, `long_id` in v1, `rule_description`,
//! `rule_provider`), its `location` (`filename`, `start_line`, `end_line`),
//! a `description`, `impact`, `resolution`, links (`link` in legacy
//! versions, `links` in v1) and a severity: legacy `ERROR`/`WARNING`/`INFO`,
//! v1 `CRITICAL`/`HIGH`/`MEDIUM`/`LOW`. Results that passed are not findings.

use palisade_plugin_sdk::findings::Collector;
use palisade_plugin_sdk::json::{array_at, starts_like_json, string_at, u64_at, value_to_string};
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
        PluginInfo::single(
            "tfsec",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "tfsec Terraform static analysis, JSON output",
                &["json"],
                DedupeSetting::hash_code(&["severity", "vuln_id_from_tool", "file_path", "line"]),
            ),
        )
    }

    fn detect(_candidates: &[String], head: &[u8]) -> Option<String> {
        looks_like(head).then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        _scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
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

/// Parses a whole report: one finding per (provider, rule, file, start line,
/// end line), counting repeats.
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
                "Incorrect TFSec scan, missing attribute 'results'",
            ));
        }
    };
    let mut out: Collector<(String, String, String, String, String)> = Collector::new();
    for (i, r) in results.iter().enumerate() {
        if !r.is_object() {
            return Err(
                ParseError::new("expected each tfsec result to be a JSON object")
                    .at_path(format!("/results/{i}")),
            );
        }
        if truthy(r.get("passed")) {
            continue;
        }
        let at = |e: ParseError| e.at_path(format!("/results/{i}"));
        let rule_id = required(r, "rule_id").map_err(at)?;
        let provider = required(r, "rule_provider").map_err(at)?;
        let location = r
            .get("location")
            .filter(|l| l.is_object())
            .ok_or_else(|| at(ParseError::new("a tfsec result without a \"location\"")))?;
        let file = required(location, "filename").map_err(at)?;
        let key = (
            provider.to_owned(),
            rule_id.to_owned(),
            file.to_owned(),
            python_str(location.get("start_line")),
            python_str(location.get("end_line")),
        );
        out.try_count_or_insert_with(key, || finding(r, rule_id, file).map_err(at))?;
    }
    Ok(out.into_findings())
}

/// Whether a JSON value counts as set, as the reference tests `passed`.
fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

/// A string field the reference needs (it fails on the report without it).
fn required<'a>(v: &'a Value, key: &str) -> Result<&'a str, ParseError> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| ParseError::new(format!("a tfsec result without a \"{key}\" string")))
}

/// A line number as the reference writes it into its merge key ("None" when missing).
fn python_str(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "None".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// tfsec severities: v1 CRITICAL/HIGH/MEDIUM/LOW, legacy ERROR (High),
/// WARNING (Medium) and INFO (Info); anything else is Low.
fn severity(word: &str) -> Severity {
    match word.to_uppercase().as_str() {
        "CRITICAL" => Severity::Critical,
        "HIGH" | "ERROR" => Severity::High,
        "MEDIUM" | "WARNING" => Severity::Medium,
        "INFO" => Severity::Info,
        _ => Severity::Low,
    }
}

fn finding(r: &Value, rule_id: &str, file: &str) -> Result<Finding, ParseError> {
    let description = required(r, "description")?;
    let severity = severity(required(r, "severity")?);
    let line = u64_at(r, "location/start_line")
        .and_then(|n| u32::try_from(n).ok())
        .filter(|&n| n > 0);
    let end_line = u64_at(r, "location/end_line");

    let mut desc = String::new();
    push_field(&mut desc, "Rule ID", Some(rule_id));
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
    if let Some(s) = line {
        match end_line {
            Some(e) if e != u64::from(s) => {
                desc.push_str(&format!("**Location:** {file}, lines {s}-{e}\n"))
            }
            _ => desc.push_str(&format!("**Location:** {file}, line {s}\n")),
        }
    }
    desc.push('\n');
    desc.push_str(description);
    desc.push('\n');

    // v1 lists `links`; legacy reports have one `link` sentence.
    let references = if r.get("links").is_some_and(|l| !l.is_null()) {
        let links: Vec<String> = array_at(r, "links")
            .iter()
            .filter_map(value_to_string)
            .collect();
        Some(links.join("\n"))
    } else {
        string_at(r, "link")
    };
    Ok(Finding {
        title: truncate_chars(
            r.get("rule_description")
                .and_then(Value::as_str)
                .unwrap_or("None"),
            511,
        )
        .to_owned(),
        severity,
        description: clean_string(desc),
        impact: non_empty(string_at(r, "impact").as_deref()),
        mitigation: non_empty(string_at(r, "resolution").as_deref()),
        references: references.filter(|r| !r.trim().is_empty()),
        file_path: non_empty_str(file),
        line,
        vuln_id_from_tool: non_empty_str(rule_id),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        nb_occurences: Some(1),
        ..Finding::default()
    })
}

#[cfg(test)]
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

    fn result(rule: &str, sev: &str, file: &str, start: u32, end: u32, extra: &str) -> String {
        format!(
            r#"{{"rule_id":"{rule}","rule_provider":"aws","rule_description":"d {rule}","description":"x","severity":"{sev}",
                "location":{{"filename":"{file}","start_line":{start},"end_line":{end}}}{extra}}}"#
        )
    }

    #[test]
    fn legacy_and_v1_results() {
        let r = format!(
            r#"{{"results":[{},{},{},{},{}]}}"#,
            result(
                "GEN003",
                "WARNING",
                "a.tf",
                3,
                4,
                r#","passed":false,"link":"See https://x/y for more information.""#
            ),
            result("AWS001", "ERROR", "b.tf", 1, 1, r#","passed":true"#),
            result(
                "AVD-AWS-0088",
                "CRITICAL",
                "c.tf",
                0,
                0,
                r#","links":["https://a","https://b"]"#
            ),
            result("X", "INFO", "d.tf", 1, 1, ""),
            result("Y", "strange", "d.tf", 1, 1, ""),
        );
        let f = parse(&r).unwrap();
        assert_eq!(f.len(), 4);
        assert_eq!(f[0].severity, Severity::Medium);
        assert_eq!(
            f[0].references.as_deref(),
            Some("See https://x/y for more information.")
        );
        assert_eq!(
            (f[0].line, f[0].file_path.as_deref()),
            (Some(3), Some("a.tf"))
        );
        assert_eq!(f[1].severity, Severity::Critical);
        assert_eq!(f[1].vuln_id_from_tool.as_deref(), Some("AVD-AWS-0088"));
        assert_eq!(f[1].references.as_deref(), Some("https://a\nhttps://b"));
        assert_eq!(f[1].line, None);
        assert_eq!(f[2].severity, Severity::Info);
        assert_eq!(f[3].severity, Severity::Low);
    }

    #[test]
    fn results_are_merged_per_provider_rule_file_and_line_range() {
        let r = format!(
            r#"{{"results":[{},{},{},{}]}}"#,
            result("A1", "HIGH", "a.tf", 3, 4, ""),
            result("A1", "LOW", "a.tf", 3, 4, ""),
            result("A1", "HIGH", "a.tf", 3, 5, ""),
            result("A1", "HIGH", "b.tf", 3, 4, ""),
        );
        let f = parse(&r).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(
            (f[0].nb_occurences, f[0].severity),
            (Some(2), Severity::High)
        );
    }

    #[test]
    fn fields_the_reference_needs_are_required() {
        for missing in ["rule_id", "rule_provider", "description", "severity"] {
            let r = format!(
                r#"{{"results":[{}]}}"#,
                result("A1", "HIGH", "a.tf", 1, 1, "")
            )
            .replace(&format!(r#""{missing}":"#), r#""other":"#);
            assert!(parse(&r).is_err(), "{missing}");
        }
    }

    #[test]
    fn malformed_inputs_are_errors() {
        assert!(parse("{\"results\":[").is_err());
        assert!(parse(r#"{"vulnerabilities":[]}"#).is_err());
        assert!(parse(r#"{"results":{}}"#).is_err());
        assert!(parse(r#"{"results":[1]}"#).is_err());
        assert!(parse(r#"{"results":[{"Target":"x"}]}"#).is_err());
        assert!(parse(r#"{"results":[{"rule_id":"x","rule_provider":"p"}]}"#).is_err());
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
