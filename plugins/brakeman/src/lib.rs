//! Palisade parser plugin for Brakeman JSON reports (`brakeman -f json`),
//! scan type "Brakeman Scan".
//!
//! A report is `{"scan_info": {...}, "warnings": [...], "ignored_warnings",
//! "errors", "obsolete"}`; each warning has a type, check name, message,
//! file, line, code, link, confidence and fingerprint. Every rule is listed
//! in `FORMAT.md`.

use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use palisade_plugin_sdk::text::iso_date;
use serde_json::Value;
use std::collections::HashSet;

/// The scan type this plugin handles.
pub const SCAN_TYPE: &str = "Brakeman Scan";

/// The Brakeman parser.
pub struct Brakeman;

impl Parser for Brakeman {
    fn info() -> PluginInfo {
        PluginInfo::single(
            "brakeman",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "Brakeman (Ruby on Rails security scanner) JSON report",
                &["json"],
                DedupeSetting::new(
                    DedupeAlgorithm::Legacy,
                    &["title", "cwe", "line", "file_path", "description"],
                ),
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

palisade_plugin_sdk::export_parser!(Brakeman);

/// Says whether `head` looks like a Brakeman report: "scan_info" with
/// Brakeman's own keys, or warnings with "warning_type" and "check_name".
pub fn looks_like(head: &[u8]) -> bool {
    palisade_plugin_sdk::json::starts_like_json(head)
        && ((contains(head, b"\"scan_info\"")
            && (contains(head, b"\"brakeman_version\"")
                || contains(head, b"\"rails_version\"")
                || contains(head, b"\"checks_performed\"")))
            || (contains(head, b"\"warnings\"")
                && contains(head, b"\"warning_type\"")
                && contains(head, b"\"check_name\"")))
}

/// Parses a whole Brakeman report.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let data = palisade_plugin_sdk::json::parse_json_value(report).map_err(|mut e| {
        e.message = format!("not a Brakeman JSON report: {}", e.message);
        e
    })?;
    if !data.is_object() {
        return Err(ParseError::new(
            "not a Brakeman JSON report: expected a JSON object",
        ));
    }
    // The reference reads scan_info.end_time before anything else and fails without it.
    let Some(end_time) = data.pointer("/scan_info/end_time").and_then(Value::as_str) else {
        return Err(ParseError::new(
            "not a Brakeman JSON report: \"scan_info.end_time\" is missing",
        ));
    };
    let Some(Value::Array(warnings)) = data.get("warnings") else {
        return Err(ParseError::new(
            "not a Brakeman JSON report: the \"warnings\" array is missing",
        ));
    };
    let date = iso_date(end_time).map(str::to_owned);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, w) in warnings.iter().enumerate() {
        let f = finding(w, date.as_ref()).map_err(|e| e.at_path(format!("/warnings/{i}")))?;
        // Warnings with the same fingerprint are one finding, the first kept.
        let fingerprint = w
            .get("fingerprint")
            .map(Value::to_string)
            .unwrap_or_default();
        if seen.insert(fingerprint) {
            out.push(f);
        }
    }
    Ok(out)
}

/// Every key the reference reads from a warning (it fails without one).
const REQUIRED: [&str; 10] = [
    "warning_type",
    "message",
    "file",
    "line",
    "confidence",
    "code",
    "user_input",
    "render_path",
    "link",
    "fingerprint",
];

fn finding(w: &Value, date: Option<&String>) -> Result<Finding, ParseError> {
    if let Some(key) = REQUIRED.iter().find(|k| w.get(**k).is_none()) {
        return Err(ParseError::new(format!("a warning has no \"{key}\"")));
    }
    let text = |key: &str| -> Result<&str, ParseError> {
        w.get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| ParseError::new(format!("a warning's \"{key}\" must be a string")))
    };
    let optional_text = |key: &str| -> Result<Option<&str>, ParseError> {
        match w.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ParseError::new(format!(
                "a warning's \"{key}\" must be a string"
            ))),
        }
    };
    let title = format!("{}. {}", text("warning_type")?, text("message")?);
    let file = text("file")?;
    let confidence = text("confidence")?;
    let line_value = w.get("line").unwrap_or(&Value::Null);
    let line = match line_value {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|l| *l > 0);
    let mut description = format!("Filename: {file}\n");
    if !line_value.is_null() {
        description.push_str(&format!("Line number: {line_value}\n"));
    }
    description.push_str(&format!("Issue Confidence: {confidence}\n\n"));
    if let Some(code) = optional_text("code")? {
        description.push_str(&format!("Code:\n{code}\n"));
    }
    if let Some(input) = optional_text("user_input")? {
        description.push_str(&format!("User input:\n{input}\n"));
    }
    if let Some(path) = w.get("render_path").filter(|p| !p.is_null()) {
        description.push_str("Render path details:\n");
        description.push_str(&serde_json::to_string_pretty(path).unwrap_or_default());
    }
    let mut extra = Vec::new();
    if let Some(fp) = w
        .get("fingerprint")
        .and_then(palisade_plugin_sdk::json::value_to_string)
    {
        extra.push(("fingerprint".to_owned(), fp));
    }
    if let Some(code) = w
        .get("warning_code")
        .and_then(palisade_plugin_sdk::json::value_to_string)
    {
        extra.push(("warning_code".to_owned(), code));
    }
    Ok(Finding {
        title: truncate_chars(&title, 511).to_owned(),
        // Brakeman rates its confidence, not a severity; like the reference
        // parser, every warning is Medium and the confidence is described.
        severity: Severity::Medium,
        description,
        references: w
            .get("link")
            .and_then(palisade_plugin_sdk::json::value_to_string),
        // The reference sets no CWE (cwe_id is not read).
        file_path: non_empty(Some(file)),
        line,
        static_finding: Some(true),
        date: date.cloned(),
        extra,
        ..Finding::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        Brakeman::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    const W: &str = r#"{"warning_type": "SQL Injection", "check_name": "SQL", "message": "m", "file": "a.rb",
        "line": 3, "confidence": "High", "fingerprint": "fp", "cwe_id": [89], "code": "x",
        "user_input": "params[:id]", "render_path": null, "link": "https://brakemanscanner.org"}"#;

    fn report(warnings: &[String]) -> String {
        format!(
            r#"{{"scan_info": {{"end_time": "2020-04-11T20:15:42-07:00"}}, "warnings": [{}]}}"#,
            warnings.join(",")
        )
    }

    #[test]
    fn warnings_and_fingerprint_merge() {
        let f = parse(&report(&[
            W.to_owned(),
            W.replace(r#""line": 3"#, r#""line": null"#)
                .replace(r#""fp""#, r#""fp2""#)
                .replace("\"code\": \"x\"", "\"code\": null"),
            W.replace(r#""message": "m""#, r#""message": "dup""#),
        ]))
        .unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].title, "SQL Injection. m");
        // Every warning is Medium; cwe_id is not read.
        assert_eq!(
            (f[0].severity, f[0].cwe, f[0].line),
            (Severity::Medium, None, Some(3))
        );
        assert_eq!(f[0].file_path.as_deref(), Some("a.rb"));
        assert_eq!(f[0].date.as_deref(), Some("2020-04-11"));
        assert_eq!(f[1].line, None);
    }

    #[test]
    fn required_keys() {
        for key in REQUIRED {
            let v: Value = serde_json::from_str(W).unwrap();
            let mut o = v.as_object().unwrap().clone();
            o.remove(key);
            assert!(
                parse(&report(&[Value::Object(o).to_string()])).is_err(),
                "{key}"
            );
        }
        assert!(parse(r#"{"scan_info": {}, "warnings": []}"#).is_err());
        assert!(
            parse(r#"{"scan_info": {"end_time": "2020-04-11"}, "warnings": [], "errors": []}"#)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            "",
            "[]",
            "{\"warnings\": [",
            r#"{"version": "2.1.0", "runs": []}"#,
            r#"{"warnings": 1}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let e = Brakeman::parse(
            SCAN_TYPE,
            b"{\"warnings\": [\"\xff\"]}",
            &Options::default(),
        )
        .unwrap_err();
        assert!(e.message.to_lowercase().contains("utf-8"), "{}", e.message);
        let deep = format!("{{\"warnings\": {}{}}}", "[".repeat(5000), "]".repeat(5000));
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        assert!(
            Brakeman::detect(
                &c,
                br#"{"scan_info": {"app_path": "/x", "rails_version": "3.2.3""#
            )
            .is_some()
        );
        assert!(Brakeman::detect(&c, br#"{"results": [], "errors": []}"#).is_none());
        assert!(Brakeman::detect(&c, br#"{"warnings": [], "errors": []}"#).is_none());
    }
}
