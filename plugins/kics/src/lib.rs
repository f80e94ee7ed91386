//! Palisade parser plugin for KICS JSON reports (`kics scan --report-formats json`).
//!
//! A report has scan statistics (`files_scanned`, `queries_total`,
//! `severity_counters`, `kics_version` in newer versions) and `queries`: one
//! entry per query that matched, each with the places it matched in `files`.
//! Every (query, file entry) pair is a finding, except that pairs repeating
//! the platform, category, issue type, file, expected value and line are
//! merged (see FORMAT.md).

use palisade_plugin_sdk::findings::Collector;
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
        PluginInfo::single(
            "kics",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "KICS (Keeping Infrastructure as Code Secure) JSON report",
                &["json"],
                DedupeSetting::hash_code(&[
                    "file_path",
                    "line",
                    "severity",
                    "description",
                    "title",
                ]),
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
    query_url: Text<'a>,
    #[serde(borrow, default)]
    severity: Text<'a>,
    #[serde(borrow, default)]
    platform: Text<'a>,
    #[serde(borrow, default)]
    category: Text<'a>,
    #[serde(borrow, default)]
    description: Text<'a>,
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
    expected_value: Text<'a>,
    #[serde(borrow, default)]
    actual_value: Text<'a>,
}

/// A text field the reference needs (it fails on the report without it).
/// Kept as written, untrimmed: it is part of the merge key.
fn required<'t>(t: &'t Text<'_>, what: &str, key: &str) -> Result<&'t str, ParseError> {
    t.0.as_deref()
        .ok_or_else(|| ParseError::new(format!("{what} has no \"{key}\"")))
}

/// KICS severities as written (CRITICAL, HIGH, MEDIUM, LOW, INFO); anything
/// else, TRACE included, is Medium.
fn severity(word: Option<&str>) -> Severity {
    match word {
        Some("CRITICAL") => Severity::Critical,
        Some("HIGH") => Severity::High,
        Some("LOW") => Severity::Low,
        Some("INFO") => Severity::Info,
        _ => Severity::Medium,
    }
}

/// The merge key: platform, category, issue type, file, expected value and line.
type Key<'q> = (&'q str, &'q str, &'q str, &'q str, &'q str, &'q str);

/// Parses a whole report: one finding per (platform, category, issue type,
/// file, expected value, line), counting repeats.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let report: Report<'_> = parse_json_object(report).map_err(|mut e| {
        e.message = format!("not a KICS report: {}", e.message);
        e
    })?;
    let Some(Some(queries)) = report.queries else {
        return Err(ParseError::new(
            "not a KICS report: the JSON object has no \"queries\" array",
        ));
    };
    let total = queries
        .iter()
        .map(|q| q.0.files.as_ref().map_or(0, Vec::len))
        .sum();
    let mut out: Collector<Key<'_>, FxBuild> =
        Collector::with_capacity_and_hasher(total, FxBuild::default());
    for (qi, Object(q)) in queries.iter().enumerate() {
        let what = format!("query {qi}");
        let platform = required(&q.platform, &what, "platform")?;
        let category = required(&q.category, &what, "category")?;
        let Some(files) = &q.files else {
            return Err(ParseError::new(format!("{what} has no \"files\" array")));
        };
        let title = format!(
            "{category}: {}",
            q.query_name.0.as_deref().unwrap_or("None")
        );
        let title = truncate_chars(&title, 511);
        let severity = severity(q.severity.0.as_deref());
        for file in files {
            let key: Key<'_> = (
                platform,
                category,
                required(&file.issue_type, &what, "issue_type")?,
                required(&file.file_name, &what, "file_name")?,
                required(&file.expected_value, &what, "expected_value")?,
                file.line.0.as_deref().unwrap_or("None"),
            );
            out.count_or_insert_with(key, || finding(q, file, title, severity));
        }
    }
    Ok(out.into_findings())
}

fn finding(q: &Query<'_>, file: &Location<'_>, title: &str, severity: Severity) -> Finding {
    let query_description = q.description.get();
    let mut desc = String::with_capacity(query_description.map_or(0, str::len) + 160);
    if let Some(d) = query_description {
        desc.push_str(d);
        desc.push('\n');
    }
    push_field(&mut desc, "Platform", q.platform.get());
    push_field(&mut desc, "Category", q.category.get());
    push_field(&mut desc, "Issue type", file.issue_type.get());
    push_field(&mut desc, "Actual value", file.actual_value.get());
    if desc.ends_with('\n') {
        desc.pop();
    }
    Finding {
        title: title.to_owned(),
        severity,
        description: desc,
        mitigation: file.expected_value.owned(),
        references: q.query_url.owned(),
        file_path: file.file_name.owned(),
        line: file.line.positive(),
        component_name: q.platform.owned(),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        active: Some(true),
        verified: Some(false),
        nb_occurences: Some(1),
        ..Finding::default()
    }
}

/// FxHash (rustc's hasher): the merge keys are long strings hashed once per
/// finding, where SipHash's DoS resistance buys nothing and costs much.
#[derive(Default)]
struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FxBuild = std::hash::BuildHasherDefault<FxHasher>;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        parse_report(report.as_bytes())
    }

    fn query(name: &str, sev: &str, category: &str, files: &str) -> String {
        format!(
            r#"{{"query_name":"{name}","severity":"{sev}","platform":"Terraform","category":"{category}","query_url":"https://u","files":[{files}]}}"#
        )
    }

    fn file(name: &str, line: u32, expected: &str) -> String {
        format!(
            r#"{{"file_name":"{name}","line":{line},"issue_type":"MissingAttribute","expected_value":"{expected}","actual_value":"a"}}"#
        )
    }

    #[test]
    fn empty_report_has_no_findings() {
        assert!(
            parse(r#"{"queries_total":1,"queries":[]}"#)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn severities_are_kics_words_else_medium() {
        let one = file("a.tf", 3, "e");
        let r = format!(
            r#"{{"queries":[{},{},{},{},{},{}]}}"#,
            query("Q1", "CRITICAL", "C1", &one),
            query("Q2", "INFO", "C2", &one),
            query("Q3", "TRACE", "C3", &one),
            query("Q4", "weird", "C4", &one),
            query("Q5", "high", "C5", &one),
            query("Q6", "LOW", "C6", &one),
        );
        let f = parse(&r).unwrap();
        let sev: Vec<Severity> = f.iter().map(|f| f.severity).collect();
        assert_eq!(
            sev,
            [
                Severity::Critical,
                Severity::Info,
                Severity::Medium,
                Severity::Medium,
                Severity::Medium,
                Severity::Low
            ]
        );
        assert_eq!(f[0].title, "C1: Q1");
        assert_eq!(
            (
                f[0].file_path.as_deref(),
                f[0].line,
                f[0].component_name.as_deref()
            ),
            (Some("a.tf"), Some(3), Some("Terraform"))
        );
        assert_eq!(f[0].cwe, None, "the reference takes no CWE");
    }

    #[test]
    fn matches_are_merged_on_platform_category_issue_file_expected_and_line() {
        let files = [
            file("a.tf", 3, "e1"),
            file("a.tf", 3, "e1"),
            file("a.tf", 4, "e1"),
            file("a.tf", 3, "e2"),
        ]
        .join(",");
        let r = format!(
            r#"{{"queries":[{},{},{}]}}"#,
            query("Q1", "HIGH", "C", &files),
            query("Q2 other name", "LOW", "C", &file("a.tf", 3, "e1")),
            query("Q3", "LOW", "D", &file("a.tf", 3, "e1")),
        );
        let f = parse(&r).unwrap();
        assert_eq!(f.len(), 4);
        assert_eq!(f[0].nb_occurences, Some(3), "same key across queries too");
        assert_eq!(
            (f[0].severity, f[0].title.as_str()),
            (Severity::High, "C: Q1")
        );
        assert_eq!(f[3].title, "D: Q3");
    }

    #[test]
    fn fields_of_the_merge_key_are_required() {
        assert!(parse(r#"{"queries":null}"#).is_err());
        assert!(parse(r#"{"queries":[{"platform":"p","category":"c"}]}"#).is_err());
        for key in ["issue_type", "file_name", "expected_value"] {
            let r = format!(
                r#"{{"queries":[{}]}}"#,
                query("Q", "HIGH", "C", &file("a", 1, "e"))
            )
            .replace(&format!(r#""{key}":"#), r#""x":"#);
            assert!(parse(&r).is_err(), "{key}");
        }
        for key in ["platform", "category"] {
            let r = format!(
                r#"{{"queries":[{}]}}"#,
                query("Q", "HIGH", "C", &file("a", 1, "e"))
            )
            .replace(&format!(r#""{key}":"#), r#""x":"#);
            assert!(parse(&r).is_err(), "{key}");
        }
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
