//! Palisade parser plugin for KICS JSON reports (`kics scan --report-formats json`).
//!
//! A report has scan statistics (`files_scanned`, `queries_total`,
//! `severity_counters`, `kics_version` in newer versions) and `queries`: one
//! entry per query that matched, each with the places it matched in `files`.
//! Every (query, file entry) pair is a finding.

use palisade_plugin_sdk::json::{
    Object, optional_objects, parse_json_object, present, starts_like_json,
};
use palisade_plugin_sdk::markdown::push_field;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use serde::Deserialize;

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

/// KICS' statistics keys beside a `queries` list.
fn looks_like(head: &[u8]) -> bool {
    starts_like_json(head)
        && contains(head, b"\"queries\"")
        && (contains(head, b"\"kics_version\"")
            || (contains(head, b"\"queries_total\"") && contains(head, b"\"files_scanned\"")))
}

#[derive(Deserialize)]
struct Report<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    queries: Option<Option<Vec<Object<Query<'a>>>>>,
}

#[derive(Deserialize)]
struct Query<'a> {
    #[serde(borrow, default)]
    query_name: Text<'a>,
    #[serde(borrow, default)]
    query_id: Text<'a>,
    #[serde(borrow, default)]
    query_url: Text<'a>,
    #[serde(borrow, default)]
    severity: Text<'a>,
    #[serde(borrow, default)]
    platform: Text<'a>,
    #[serde(borrow, default)]
    category: Text<'a>,
    #[serde(borrow, default)]
    description: Text<'a>,
    #[serde(borrow, default)]
    cwe: Text<'a>,
    #[serde(borrow, default, deserialize_with = "optional_objects")]
    files: Option<Vec<Location<'a>>>,
}

/// One place a query matched.
#[derive(Deserialize)]
struct Location<'a> {
    #[serde(borrow, default)]
    file_name: Text<'a>,
    #[serde(borrow, default)]
    line: Text<'a>,
    #[serde(borrow, default)]
    issue_type: Text<'a>,
    #[serde(borrow, default)]
    resource_name: Text<'a>,
    #[serde(borrow, default)]
    search_key: Text<'a>,
    #[serde(borrow, default)]
    expected_value: Text<'a>,
    #[serde(borrow, default)]
    actual_value: Text<'a>,
    #[serde(borrow, default)]
    similarity_id: Text<'a>,
}

/// Parses a whole report.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let report: Report<'_> = parse_json_object(report).map_err(|mut e| {
        e.message = format!("not a KICS report: {}", e.message);
        e
    })?;
    let Some(queries) = report.queries else {
        return Err(ParseError::new(
            "not a KICS report: the JSON object has no \"queries\" array",
        ));
    };
    let queries = queries.unwrap_or_default();
    let mut out = Vec::with_capacity(
        queries
            .iter()
            .map(|q| q.0.files.as_ref().map_or(0, Vec::len))
            .sum(),
    );
    for Object(q) in &queries {
        let query = QueryParts::new(q);
        for file in q.files.iter().flatten() {
            out.push(finding(q, &query, file));
        }
    }
    Ok(out)
}

/// What every finding of one query shares, worked out once per query.
struct QueryParts<'q> {
    title: String,
    severity: Severity,
    platform: Option<&'q str>,
    category: Option<&'q str>,
    cwe: Option<u32>,
}

impl<'q> QueryParts<'q> {
    fn new(q: &'q Query<'_>) -> Self {
        let name = q.query_name.get().unwrap_or("KICS query");
        let category = q.category.get();
        let title = match category {
            Some(c) => format!("{c}: {name}"),
            None => name.to_owned(),
        };
        // KICS' levels are CRITICAL (v2+), HIGH, MEDIUM, LOW, INFO, TRACE.
        let severity = q
            .severity
            .get()
            .and_then(|s| {
                if s.eq_ignore_ascii_case("trace") {
                    Some(Severity::Info)
                } else {
                    severity_from_word(s)
                }
            })
            .unwrap_or(Severity::Info);
        QueryParts {
            title: truncate_chars(&title, 511).to_owned(),
            severity,
            platform: q.platform.get(),
            category,
            cwe: q.cwe.get().and_then(parse_cwe),
        }
    }
}

fn finding(q: &Query<'_>, parts: &QueryParts<'_>, file: &Location<'_>) -> Finding {
    let mut desc = String::with_capacity(256);
    if let Some(d) = q.description.get() {
        desc.push_str(d);
        desc.push('\n');
    }
    push_field(&mut desc, "Platform", parts.platform);
    push_field(&mut desc, "Category", parts.category);
    push_field(&mut desc, "Issue type", file.issue_type.get());
    push_field(&mut desc, "Resource", file.resource_name.get());
    push_field(&mut desc, "Search key", file.search_key.get());
    push_field(&mut desc, "Expected", file.expected_value.get());
    push_field(&mut desc, "Actual", file.actual_value.get());
    push_field(&mut desc, "Query id", q.query_id.get());

    let mut f = Finding {
        title: parts.title.clone(),
        severity: parts.severity,
        description: clean(&desc),
        mitigation: file.expected_value.owned(),
        references: q.query_url.owned(),
        cwe: parts.cwe,
        file_path: file.file_name.owned(),
        line: file.line.positive(),
        component_name: parts.platform.map(str::to_owned),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        nb_occurences: Some(1),
        ..Finding::default()
    };
    for (k, v) in [
        ("query_id", &q.query_id),
        ("similarity_id", &file.similarity_id),
    ] {
        if let Some(v) = v.owned() {
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
        assert!(parse(r#"{"queries":[["Q", "HIGH"]]}"#).is_err());
        assert!(parse(r#"{"queries":[{"files":[["a.tf", 3]]}]}"#).is_err());
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
