//! Palisade parser plugin for gosec JSON reports (`gosec -fmt=json`), scan
//! type "Gosec Scanner".
//!
//! A report is `{"Golang errors": {...}, "Issues": [...], "Stats": {...}}`;
//! each issue has a rule id (G101...), details, severity, confidence, an
//! optional CWE `{"id", "url"}`, the file, the line (or "36-39" range) and
//! the code.

use palisade_plugin_sdk::prelude::*;
use serde::Deserialize;
use serde_json::Value;

/// The scan type this plugin handles.
pub const SCAN_TYPE: &str = "Gosec Scanner";

/// The gosec parser.
pub struct Gosec;

#[derive(Deserialize)]
struct Report {
    #[serde(rename = "Issues")]
    issues: Option<Vec<Issue>>,
}

#[derive(Deserialize)]
struct Issue {
    severity: Option<String>,
    confidence: Option<String>,
    cwe: Option<Value>,
    rule_id: Option<String>,
    details: Option<String>,
    file: Option<String>,
    code: Option<String>,
    line: Option<Value>,
    column: Option<Value>,
}

impl Parser for Gosec {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "gosec".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "gosec (Go security checker) JSON report".to_owned(),
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
                "the gosec plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
        parse_report(report)
    }
}

palisade_plugin_sdk::export_parser!(Gosec);

fn contains(head: &[u8], needle: &[u8]) -> bool {
    head.windows(needle.len()).any(|w| w == needle)
}

/// Says whether `head` looks like a gosec report: "Issues" with gosec's
/// "Golang errors" or a "rule_id" of an issue.
pub fn looks_like(head: &[u8]) -> bool {
    palisade_plugin_sdk::json::starts_like_json(head)
        && contains(head, b"\"Issues\"")
        && (contains(head, b"\"Golang errors\"") || contains(head, b"\"rule_id\""))
}

/// Parses a whole gosec report.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let report: Report = parse_json(report).map_err(|mut e| {
        e.message = format!("not a gosec JSON report: {}", e.message);
        e
    })?;
    let Some(issues) = report.issues else {
        return Err(ParseError::new(
            "not a gosec JSON report: the \"Issues\" array is missing",
        ));
    };
    Ok(issues.iter().map(finding).collect())
}

/// The first line of "79" or of a range "36-39".
fn first_line(v: Option<&Value>) -> Option<u32> {
    match v? {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.split('-').next()?.trim().parse().ok(),
        _ => None,
    }
    .filter(|l| *l > 0)
}

fn finding(i: &Issue) -> Finding {
    let details = non_empty(i.details.as_deref()).unwrap_or_else(|| "gosec issue".to_owned());
    let rule = non_empty(i.rule_id.as_deref());
    let title = match &rule {
        Some(r) => format!("{details} - rule {r}"),
        None => details.clone(),
    };
    let (cwe, cwe_url) = match &i.cwe {
        Some(Value::Object(o)) => (
            o.get("id")
                .and_then(palisade_plugin_sdk::json::value_to_string)
                .and_then(|c| parse_cwe(&c)),
            o.get("url").and_then(Value::as_str).and_then(non_empty_str),
        ),
        Some(Value::String(s)) => (parse_cwe(s), None),
        Some(Value::Number(n)) => (n.as_u64().and_then(|n| u32::try_from(n).ok()), None),
        _ => (None, None),
    };
    let line = first_line(i.line.as_ref());
    let mut description = details;
    let mut field = |label: &str, value: Option<String>| {
        if let Some(v) = value {
            description.push_str(&format!("\n**{label}:** {v}"));
        }
    };
    field("Rule", rule.clone());
    field("Filename", non_empty(i.file.as_deref()));
    field(
        "Line",
        i.line
            .as_ref()
            .and_then(palisade_plugin_sdk::json::value_to_string),
    );
    field(
        "Column",
        i.column
            .as_ref()
            .and_then(palisade_plugin_sdk::json::value_to_string),
    );
    field("Confidence", non_empty(i.confidence.as_deref()));
    if let Some(code) = non_empty(i.code.as_deref()) {
        description.push_str(&format!("\n**Code:**\n```\n{code}\n```"));
    }
    Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity: i
            .severity
            .as_deref()
            .and_then(severity_from_word)
            .unwrap_or(Severity::Info),
        description: clean(&description),
        references: cwe_url,
        cwe,
        file_path: non_empty(i.file.as_deref()),
        line,
        static_finding: Some(true),
        dynamic_finding: Some(false),
        // The rule id is in the title; it is not reported as the tool's
        // vulnerability id, to stay comparable with the reference parser.
        extra: rule
            .map(|r| ("rule_id".to_owned(), r))
            .into_iter()
            .collect(),
        ..Finding::default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        Gosec::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    #[test]
    fn issues_with_missing_optional_fields() {
        let f = parse(
            r#"{"Golang errors": {}, "Issues": [
            {"severity": "HIGH", "confidence": "LOW", "cwe": {"id": "89", "url": "https://cwe"}, "rule_id": "G201",
             "details": "SQL string formatting", "file": "a.go", "code": "x", "line": "36-39"},
            {"severity": "WEIRD", "line": 7},
            {"cwe": {"id": ""}, "line": "x"}
        ], "Stats": {}}"#,
        )
        .unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(
            (f[0].severity, f[0].cwe, f[0].line),
            (Severity::High, Some(89), Some(36))
        );
        assert_eq!(f[0].title, "SQL string formatting - rule G201");
        assert_eq!(f[0].references.as_deref(), Some("https://cwe"));
        assert_eq!(
            (f[1].severity, f[1].line, f[1].file_path.as_deref()),
            (Severity::Info, Some(7), None)
        );
        assert_eq!((f[2].cwe, f[2].line), (None, None));
        assert!(!f[2].title.is_empty());
    }

    #[test]
    fn empty_report() {
        assert!(
            parse(r#"{"Golang errors": {}, "Issues": [], "Stats": {}}"#)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            "",
            "[]",
            "{\"Issues\": [",
            r#"{"version": "2.1.0", "runs": []}"#,
            r#"{"Issues": {}}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let e =
            Gosec::parse(SCAN_TYPE, b"{\"Issues\": [\"\xff\"]}", &Options::default()).unwrap_err();
        assert!(e.message.to_lowercase().contains("utf-8"), "{}", e.message);
        let deep = format!("{{\"Issues\": {}{}}}", "[".repeat(5000), "]".repeat(5000));
        assert!(parse(&deep).is_err());
        assert!(Gosec::parse("SARIF", b"{}", &Options::default()).is_err());
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        assert!(Gosec::detect(&c, br#"{"Golang errors": {}, "Issues": ["#).is_some());
        assert!(Gosec::detect(&c, br#"{"results": [], "errors": []}"#).is_none());
        assert!(Gosec::detect(&c, br#"{"issues": [{"rule": "x"}]}"#).is_none());
        assert!(
            Gosec::detect(
                &["SARIF".to_owned()],
                br#"{"Golang errors": {}, "Issues": []}"#
            )
            .is_none()
        );
    }
}
