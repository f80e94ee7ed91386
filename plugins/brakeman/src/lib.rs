//! Palisade parser plugin for Brakeman JSON reports (`brakeman -f json`),
//! scan type "Brakeman Scan".
//!
//! A report is `{"scan_info": {...}, "warnings": [...], "ignored_warnings",
//! "errors", "obsolete"}`; each warning has a type, check name, message,
//! file, line, code, link, confidence and fingerprint.

use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use palisade_plugin_sdk::text::iso_date;
use serde::Deserialize;
use serde_json::Value;

/// The scan type this plugin handles.
pub const SCAN_TYPE: &str = "Brakeman Scan";

/// The Brakeman parser.
pub struct Brakeman;

#[derive(Deserialize)]
struct Report {
    scan_info: Option<Value>,
    warnings: Option<Vec<Warning>>,
}

#[derive(Deserialize)]
struct Warning {
    warning_type: Option<String>,
    warning_code: Option<Value>,
    fingerprint: Option<String>,
    check_name: Option<String>,
    message: Option<String>,
    file: Option<String>,
    line: Option<Value>,
    link: Option<String>,
    code: Option<String>,
    render_path: Option<Value>,
    location: Option<Value>,
    user_input: Option<String>,
    confidence: Option<String>,
    cwe_id: Option<Value>,
}

impl Parser for Brakeman {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "brakeman".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "Brakeman (Ruby on Rails security scanner) JSON report".to_owned(),
                file_kinds: vec!["json".to_owned()],
                dedupe: DedupeSetting::new(
                    DedupeAlgorithm::Legacy,
                    &["title", "cwe", "line", "file_path", "description"],
                ),
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
                "the brakeman plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
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
    let report: Report = parse_json(report).map_err(|mut e| {
        e.message = format!("not a Brakeman JSON report: {}", e.message);
        e
    })?;
    let Some(warnings) = report.warnings else {
        return Err(ParseError::new(
            "not a Brakeman JSON report: the \"warnings\" array is missing",
        ));
    };
    let date = report
        .scan_info
        .as_ref()
        .and_then(|s| s.get("end_time").or_else(|| s.get("start_time")))
        .and_then(Value::as_str)
        .and_then(iso_date)
        .filter(|d| d.as_bytes().get(4) == Some(&b'-'))
        .map(str::to_owned);
    Ok(warnings.iter().map(|w| finding(w, date.as_ref())).collect())
}

fn finding(w: &Warning, date: Option<&String>) -> Finding {
    let kind = non_empty(w.warning_type.as_deref());
    let message = non_empty(w.message.as_deref());
    let title = match (&kind, &message) {
        (Some(k), Some(m)) => format!("{k}. {m}"),
        (Some(x), None) | (None, Some(x)) => x.clone(),
        (None, None) => "Brakeman warning".to_owned(),
    };
    let line = match &w.line {
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|l| *l > 0);
    let mut description = message.unwrap_or_else(|| title.clone());
    let mut field = |label: &str, value: Option<String>| {
        if let Some(v) = value {
            description.push_str(&format!("\n**{label}:** {v}"));
        }
    };
    field("Check", non_empty(w.check_name.as_deref()));
    field("Filename", non_empty(w.file.as_deref()));
    field("Line number", line.map(|l| l.to_string()));
    field("Confidence", non_empty(w.confidence.as_deref()));
    field("User input", non_empty(w.user_input.as_deref()));
    field(
        "Location",
        w.location
            .as_ref()
            .filter(|l| !l.is_null())
            .map(Value::to_string),
    );
    field(
        "Render path",
        w.render_path
            .as_ref()
            .filter(|l| !l.is_null())
            .map(Value::to_string),
    );
    if let Some(code) = non_empty(w.code.as_deref()) {
        description.push_str(&format!("\n**Code:**\n```\n{code}\n```"));
    }
    let mut extra = Vec::new();
    if let Some(fp) = non_empty(w.fingerprint.as_deref()) {
        extra.push(("fingerprint".to_owned(), fp));
    }
    if let Some(code) = w
        .warning_code
        .as_ref()
        .and_then(palisade_plugin_sdk::json::value_to_string)
    {
        extra.push(("warning_code".to_owned(), code));
    }
    Finding {
        title: truncate_chars(&title, 511).to_owned(),
        // Brakeman rates its confidence, not a severity; like the reference
        // parser, every warning is Medium and the confidence is described.
        severity: Severity::Medium,
        description: clean(&description),
        references: non_empty(w.link.as_deref()),
        // Brakeman 6+ names a CWE per warning ("cwe_id": [89]).
        cwe: match &w.cwe_id {
            Some(Value::Array(a)) => a.first().and_then(Value::as_u64),
            Some(Value::Number(n)) => n.as_u64(),
            _ => None,
        }
        .and_then(|c| u32::try_from(c).ok())
        .filter(|c| *c > 0),
        file_path: non_empty(w.file.as_deref()),
        line,
        static_finding: Some(true),
        dynamic_finding: Some(false),
        date: date.cloned(),
        extra,
        ..Finding::default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        Brakeman::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    #[test]
    fn warnings_with_missing_optional_fields() {
        let f = parse(
            r#"{"scan_info": {"end_time": "2020-04-11T20:15:42-07:00"}, "warnings": [
            {"warning_type": "SQL Injection", "check_name": "SQL", "message": "m", "file": "a.rb", "line": 3,
             "confidence": "High", "fingerprint": "fp", "cwe_id": [89], "code": "x", "user_input": "params[:id]"},
            {"confidence": "Weak", "line": null},
            {"warning_type": "T", "line": "12", "location": {"type": "method"}}
        ]}"#,
        )
        .unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].title, "SQL Injection. m");
        assert_eq!(
            (f[0].severity, f[0].cwe, f[0].line),
            (Severity::Medium, Some(89), Some(3))
        );
        assert_eq!(f[0].date.as_deref(), Some("2020-04-11"));
        assert_eq!((f[1].file_path.as_deref(), f[1].line), (None, None));
        assert!(!f[1].title.is_empty());
        assert_eq!(f[2].line, Some(12));
    }

    #[test]
    fn empty_report() {
        assert!(
            parse(r#"{"scan_info": {}, "warnings": [], "errors": []}"#)
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
        assert!(Brakeman::parse("SARIF", b"{}", &Options::default()).is_err());
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
        assert!(
            Brakeman::detect(
                &["SARIF".to_owned()],
                br#"{"scan_info": {"brakeman_version": "1"}}"#
            )
            .is_none()
        );
    }
}
