//! Palisade parser plugin for Bandit JSON reports (`bandit -f json`), scan
//! type "Bandit Scan".
//!
//! A report is `{"errors", "generated_at", "metrics", "results": [...]}`;
//! each result names the test (`test_id`, `test_name`), the file and line,
//! the issue text, severity and confidence, and the offending code.

use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use palisade_plugin_sdk::text::iso_date;
use serde::Deserialize;
use serde_json::Value;

/// The scan type this plugin handles.
pub const SCAN_TYPE: &str = "Bandit Scan";

/// The Bandit parser.
pub struct Bandit;

#[derive(Deserialize)]
struct Report {
    generated_at: Option<String>,
    results: Option<Vec<Issue>>,
}

#[derive(Deserialize)]
struct Issue {
    code: Option<String>,
    filename: Option<String>,
    issue_confidence: Option<String>,
    issue_severity: Option<String>,
    issue_text: Option<String>,
    issue_cwe: Option<Value>,
    line_number: Option<Value>,
    more_info: Option<String>,
    test_id: Option<String>,
    test_name: Option<String>,
}

impl Parser for Bandit {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "bandit".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "Bandit (Python security linter) JSON report".to_owned(),
                file_kinds: vec!["json".to_owned()],
                dedupe: DedupeSetting::hash_code(&["file_path", "line", "vuln_id_from_tool"]),
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
                "the bandit plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
        parse_report(report)
    }
}

palisade_plugin_sdk::export_parser!(Bandit);

/// Says whether `head` looks like a Bandit report: "generated_at" and
/// Bandit's metrics counters or a result with a "test_id".
pub fn looks_like(head: &[u8]) -> bool {
    palisade_plugin_sdk::json::starts_like_json(head)
        && contains(head, b"\"generated_at\"")
        // The per-file "metrics" come before "results" and may fill the head.
        && ((contains(head, b"\"results\"") && contains(head, b"\"test_id\""))
            || contains(head, b"\"SEVERITY.UNDEFINED\"")
            || contains(head, b"\"CONFIDENCE.HIGH\""))
}

/// Parses a whole Bandit report.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let report: Report = parse_json(report).map_err(|mut e| {
        e.message = format!("not a Bandit JSON report: {}", e.message);
        e
    })?;
    let Some(results) = report.results else {
        return Err(ParseError::new(
            "not a Bandit JSON report: the \"results\" array is missing",
        ));
    };
    let date = report
        .generated_at
        .as_deref()
        .and_then(iso_date)
        .filter(|d| d.as_bytes().get(4) == Some(&b'-'))
        .map(str::to_owned);
    Ok(results.iter().map(|i| finding(i, date.as_ref())).collect())
}

/// Bandit's severities are LOW/MEDIUM/HIGH (UNDEFINED for unrated tests).
fn severity(word: Option<&str>) -> Severity {
    word.and_then(severity_from_word).unwrap_or(Severity::Info)
}

fn finding(i: &Issue, date: Option<&String>) -> Finding {
    let test_name = non_empty(i.test_name.as_deref());
    let test_id = non_empty(i.test_id.as_deref());
    let line = match &i.line_number {
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n| *n > 0);
    let title = non_empty(i.issue_text.as_deref())
        .or_else(|| test_name.clone())
        .unwrap_or_else(|| "Bandit issue".to_owned());
    let mut description = String::new();
    description.push_str(&title);
    let mut field = |label: &str, value: Option<String>| {
        if let Some(v) = value {
            description.push_str(&format!("\n**{label}:** `{v}`"));
        }
    };
    field("Test Name", test_name.clone());
    field("Test ID", test_id.clone());
    field("Filename", non_empty(i.filename.as_deref()));
    field("Line number", line.map(|l| l.to_string()));
    field("Issue Confidence", non_empty(i.issue_confidence.as_deref()));
    if let Some(code) = non_empty(i.code.as_deref()) {
        description.push_str(&format!("\n**Code:**\n```\n{code}\n```"));
    }
    // Bandit ≥ 1.7.5 names the CWE as {"id": 78, "link": "..."}.
    let cwe = match &i.issue_cwe {
        Some(Value::Object(o)) => o.get("id").and_then(|v| match v {
            Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            Value::String(s) => parse_cwe(s),
            _ => None,
        }),
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Some(Value::String(s)) => parse_cwe(s),
        _ => None,
    }
    .filter(|c| *c > 0);
    let vuln_id = match (&test_name, &test_id) {
        (Some(n), Some(id)) => Some(format!("{n}:{id}")),
        (Some(x), None) | (None, Some(x)) => Some(x.clone()),
        (None, None) => None,
    };
    Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity: severity(i.issue_severity.as_deref()),
        description: clean(&description),
        references: non_empty(i.more_info.as_deref()),
        cwe,
        file_path: non_empty(i.filename.as_deref()),
        line,
        vuln_id_from_tool: vuln_id,
        static_finding: Some(true),
        dynamic_finding: Some(false),
        date: date.cloned(),
        extra: i
            .issue_confidence
            .as_deref()
            .and_then(non_empty_str)
            .map(|c| ("confidence".to_owned(), c))
            .into_iter()
            .collect(),
        ..Finding::default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
