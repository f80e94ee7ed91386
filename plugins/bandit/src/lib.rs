//! Palisade parser plugin for Bandit JSON reports (`bandit -f json`), scan
//! type "Bandit Scan".
//!
//! A report is `{"errors", "generated_at", "metrics", "results": [...]}`;
//! each result names the test (`test_id`, `test_name`), the file and line,
//! the issue text, severity and confidence, and the offending code. Every
//! rule is listed in `FORMAT.md`.

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
    // Required keys whose value may be null (the reference only stores them).
    #[serde(default, deserialize_with = "palisade_plugin_sdk::json::present")]
    issue_text: Option<Option<String>>,
    #[serde(default, deserialize_with = "palisade_plugin_sdk::json::present")]
    line_number: Option<Option<Value>>,
    more_info: Option<String>,
    test_id: Option<String>,
    test_name: Option<String>,
}

impl Parser for Bandit {
    fn info() -> PluginInfo {
        PluginInfo::single(
            "bandit",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "Bandit (Python security linter) JSON report",
                &["json"],
                DedupeSetting::hash_code(&["file_path", "line", "vuln_id_from_tool"]),
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
    // The reference dates every result with generated_at and fails without it.
    if !results.is_empty() && report.generated_at.is_none() {
        return Err(ParseError::new(
            "a Bandit report with results but no \"generated_at\"",
        ));
    }
    // The reference parses generated_at whenever it is present.
    if report
        .generated_at
        .as_deref()
        .is_some_and(|g| g.trim().is_empty())
    {
        return Err(ParseError::new("\"generated_at\" is not a date"));
    }
    let date = report
        .generated_at
        .as_deref()
        .and_then(iso_date)
        .map(str::to_owned);
    results
        .iter()
        .enumerate()
        .map(|(n, i)| finding(i, date.as_ref()).map_err(|e| e.at_path(format!("/results/{n}"))))
        .collect()
}

/// A field every result must have (the reference fails without it).
fn required<'a>(value: Option<&'a String>, key: &str) -> Result<&'a str, ParseError> {
    value
        .map(String::as_str)
        .ok_or_else(|| ParseError::new(format!("a result has no \"{key}\"")))
}

fn finding(i: &Issue, date: Option<&String>) -> Result<Finding, ParseError> {
    let test_name = required(i.test_name.as_ref(), "test_name")?;
    let test_id = required(i.test_id.as_ref(), "test_id")?;
    let filename = required(i.filename.as_ref(), "filename")?;
    let confidence = required(i.issue_confidence.as_ref(), "issue_confidence")?;
    let Some(title) = &i.issue_text else {
        return Err(ParseError::new("a result has no \"issue_text\""));
    };
    let title = title.as_deref().unwrap_or("None");
    let severity_word = required(i.issue_severity.as_ref(), "issue_severity")?;
    let Some(line_value) = &i.line_number else {
        return Err(ParseError::new("a result has no \"line_number\""));
    };
    let line_value = line_value.as_ref().unwrap_or(&Value::Null);
    let line = match line_value {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n| *n > 0);
    let code = i
        .code
        .as_deref()
        .unwrap_or("None")
        .replace("```", "\\`\\`\\`");
    let description = format!(
        "**Test Name:** `{test_name}`\n**Test ID:** `{test_id}`\n**Filename:** `{filename}`\n\
         **Line number:** `{}`\n**Issue Confidence:** `{confidence}`\n**Code:**\n```\n{code}\n```",
        match (line, line_value) {
            (Some(l), _) => l.to_string(),
            (None, Value::Null) => "None".to_owned(),
            (None, other) => other.to_string(),
        }
    );
    Ok(Finding {
        title: truncate_chars(title, 511).to_owned(),
        severity: severity_or_info(Some(severity_word)),
        description,
        references: non_empty(i.more_info.as_deref()),
        // The reference sets no CWE (issue_cwe is ignored).
        file_path: non_empty(Some(filename)),
        line,
        vuln_id_from_tool: Some(format!("{test_name}:{test_id}")),
        nb_occurences: Some(1),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        date: date.cloned(),
        extra: vec![("confidence".to_owned(), confidence.to_owned())],
        ..Finding::default()
    })
}

#[cfg(test)]
mod tests;
