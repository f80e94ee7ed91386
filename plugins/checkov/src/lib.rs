//! Palisade parser plugin for Checkov JSON reports (`checkov -o json`).
//!
//! A report is one object per framework scanned, or an array of them when
//! several frameworks ran:
//! `{"check_type": "terraform", "results": {"failed_checks": [...], "passed_checks": [...], ...}, "summary": {...}}`.
//! When nothing was scanned Checkov writes only a summary
//! (`{"passed": 0, "failed": 0, ..., "checkov_version": "..."}`), which has no findings.
//! Each failed check becomes a finding; passed and skipped checks are not findings.
//! Every rule is listed in `FORMAT.md`.

use std::fmt;

use palisade_plugin_sdk::json::{
    Key, Object, TextList, parse_json_borrowed, present, starts_like_json,
};
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "Checkov Scan";

/// The Checkov parser.
pub struct Checkov;

impl Parser for Checkov {
    fn info() -> PluginInfo {
        PluginInfo::single(
            "checkov",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "Checkov infrastructure-as-code scan, JSON output",
                &["json"],
                DedupeSetting::hash_code(&["title", "cwe", "line", "file_path", "description"]),
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

palisade_plugin_sdk::export_parser!(Checkov);

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

#[derive(Deserialize)]
struct Check<'a> {
    #[serde(borrow, default)]
    check_id: Text<'a>,
    #[serde(borrow, default)]
    bc_check_id: Text<'a>,
    #[serde(borrow, default)]
    check_name: Text<'a>,
    #[serde(borrow, default)]
    severity: Text<'a>,
    #[serde(borrow, default)]
    file_path: Text<'a>,
    // A present `file_line_range` must hold a first line (the reference reads [0]).
    #[serde(borrow, default, deserialize_with = "present")]
    file_line_range: Option<Option<TextList<'a>>>,
    #[serde(default)]
    benchmarks: Option<serde_json::Value>,
    #[serde(borrow, default)]
    resource: Text<'a>,
    #[serde(borrow, default)]
    description: Text<'a>,
    #[serde(borrow, default)]
    guideline: Text<'a>,
    #[serde(borrow, default)]
    check_result: Option<CheckResult<'a>>,
    #[serde(borrow, default)]
    code_block: Option<Vec<TextList<'a>>>,
    #[serde(borrow, default)]
    vulnerability_details: Option<VulnerabilityDetails<'a>>,
}

#[derive(Deserialize)]
struct CheckResult<'a> {
    #[serde(borrow, default)]
    evaluated_keys: TextList<'a>,
}

#[derive(Deserialize)]
struct VulnerabilityDetails<'a> {
    #[serde(borrow, default)]
    link: Text<'a>,
}

/// Parses a whole report: one framework object, or an array of them.
///
/// Failed checks become findings as they are read (no list of checks is
/// held); passed and skipped checks are skipped unread.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = palisade_plugin_sdk::json::utf8_text(report)?;
    let mut out = Vec::new();
    let mut failure = None;
    let mut de = serde_json::Deserializer::from_str(text);
    let read = match palisade_plugin_sdk::sniff::first_byte(report) {
        Some(b'[') => de.deserialize_seq(Frameworks {
            out: &mut out,
            failure: &mut failure,
        }),
        Some(b'{') => Framework {
            out: &mut out,
            failure: &mut failure,
            at: String::new(),
        }
        .deserialize(&mut de),
        _ => {
            // Still read it, for the JSON error (empty, a bare value...).
            let _: IgnoredAny = parse_json_borrowed(report)?;
            return Err(ParseError::new(
                "not a Checkov report: expected a JSON object (or an array of them)",
            ));
        }
    };
    // A rule of ours broken mid-read stops serde with a bare error; the
    // real explanation is in `failure`.
    if let Some(e) = failure {
        return Err(e);
    }
    read.and_then(|()| de.end())
        .map_err(|e| palisade_plugin_sdk::json::json_error(&e))?;
    Ok(out)
}

/// Where findings and the first broken rule go while the report is read.
struct Frameworks<'s> {
    out: &'s mut Vec<Finding>,
    failure: &'s mut Option<ParseError>,
}

impl<'de> Visitor<'de> for Frameworks<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of Checkov framework reports")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        loop {
            let framework = Framework {
                out: &mut *self.out,
                failure: &mut *self.failure,
                at: format!("/{i}"),
            };
            if seq.next_element_seed(framework)?.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }
}

/// One framework's report (any object: the reference reads
/// `results.failed_checks` with empty defaults); `at` is its JSON path.
struct Framework<'s> {
    out: &'s mut Vec<Finding>,
    failure: &'s mut Option<ParseError>,
    at: String,
}

impl<'de> DeserializeSeed<'de> for Framework<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Framework<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Checkov framework report (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let start = self.out.len();
        let mut check_type: Option<Text<'de>> = None;
        let mut results_read = false;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match &*key.0 {
                "check_type" => {
                    let t: Text<'de> = map.next_value()?;
                    // Checkov writes it first; should it come after the
                    // results, their findings get it now.
                    if results_read && let Some(name) = t.get() {
                        let line = format!("Check Type: {name}\n");
                        for f in &mut self.out[start..] {
                            f.description.insert_str(0, &line);
                        }
                    }
                    check_type = Some(t);
                }
                "results" => {
                    map.next_value_seed(ResultsSeed(FailedChecks {
                        out: &mut *self.out,
                        failure: &mut *self.failure,
                        at: &self.at,
                        check_type: check_type.as_ref().and_then(Text::get),
                    }))?;
                    results_read = true;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A framework's `results`: an object whose `failed_checks` are read.
struct ResultsSeed<'s, 't>(FailedChecks<'s, 't>);

impl<'de> DeserializeSeed<'de> for ResultsSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ResultsSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    // A present `results: null` is an error (the reference fails on it).
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        *self.0.failure = Some(ParseError::new("\"results\" is null").at_path(self.0.at));
        Err(E::custom("\"results\" is null"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut checks = self.0;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if key.0 == "failed_checks" {
                map.next_value_seed(checks.reborrow())?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// `results.failed_checks`: a list of check objects, each made a finding.
struct FailedChecks<'s, 't> {
    out: &'s mut Vec<Finding>,
    failure: &'s mut Option<ParseError>,
    at: &'s str,
    check_type: Option<&'t str>,
}

impl<'t> FailedChecks<'_, 't> {
    /// The same sink for one more `failed_checks` (a repeated key).
    fn reborrow(&mut self) -> FailedChecks<'_, 't> {
        FailedChecks {
            out: &mut *self.out,
            failure: &mut *self.failure,
            at: self.at,
            check_type: self.check_type,
        }
    }
}

impl<'de> DeserializeSeed<'de> for FailedChecks<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FailedChecks<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of failed checks")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        *self.failure = Some(ParseError::new("\"results.failed_checks\" is null").at_path(self.at));
        Err(E::custom("\"results.failed_checks\" is null"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut n = 0usize;
        while let Some(Object(check)) = seq.next_element::<Object<Check<'de>>>()? {
            match failed_check(&check, self.check_type) {
                Ok(f) => self.out.push(f),
                Err(e) => {
                    let message = e.message.clone();
                    *self.failure =
                        Some(e.at_path(format!("{}/results/failed_checks/{n}", self.at)));
                    return Err(de::Error::custom(message));
                }
            }
            n += 1;
        }
        Ok(())
    }
}

/// Checks the shapes the reference relies on: a present `file_line_range`
/// has a first element; `benchmarks` maps names to lists of
/// `{"name", "description"}` objects.
fn validate(c: &Check<'_>) -> Result<(), ParseError> {
    match &c.file_line_range {
        Some(None) => {
            return Err(ParseError::new(
                "a failed check's \"file_line_range\" is null",
            ));
        }
        Some(Some(list)) if list.0.is_empty() => {
            return Err(ParseError::new(
                "a failed check's \"file_line_range\" is empty",
            ));
        }
        _ => {}
    }
    match &c.benchmarks {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Object(map)) => {
            for list in map.values() {
                let ok = match list {
                    serde_json::Value::Null => true,
                    serde_json::Value::Array(items) => items
                        .iter()
                        .all(|g| g.get("name").is_some() && g.get("description").is_some()),
                    _ => false,
                };
                if !ok {
                    return Err(ParseError::new(
                        "a failed check's \"benchmarks\" entries must be lists of {name, description}",
                    ));
                }
            }
        }
        Some(_) => {
            return Err(ParseError::new(
                "a failed check's \"benchmarks\" must be an object",
            ));
        }
    }
    Ok(())
}

fn failed_check(c: &Check<'_>, check_type: Option<&str>) -> Result<Finding, ParseError> {
    validate(c)?;
    let check_id = c.check_id.get();
    let check_name = c.check_name.get();
    let title = check_name.unwrap_or("check_name not found");
    // Checkov reports a severity only when connected to the Bridgecrew
    // platform; otherwise a failed policy is a Medium misconfiguration.
    let severity = c
        .severity
        .get()
        .and_then(severity_from_word)
        .unwrap_or(Severity::Medium);
    let file_path = c.file_path.get();
    let mut range = c.file_line_range.iter().flatten().flat_map(|l| l.0.iter());
    let line = range.next().and_then(Text::positive);
    let end = range.next().and_then(Text::get);
    let resource = c.resource.get();

    let mut desc = String::with_capacity(512);
    let mut line_of = |parts: &[&str]| {
        for p in parts {
            desc.push_str(p);
        }
        desc.push('\n');
    };
    if let Some(t) = check_type {
        line_of(&["Check Type: ", t]);
    }
    if let Some(id) = check_id {
        line_of(&["Check Id: ", id]);
    }
    if let Some(n) = check_name {
        line_of(&[n]);
    }
    if let Some(d) = c.description.get() {
        line_of(&["\n", d]);
    }
    if let Some(r) = resource {
        line_of(&["\nResource: ", r]);
    }
    if let Some(f) = file_path {
        match (line, end) {
            (Some(s), Some(e)) => line_of(&["File: ", f, " (lines ", &s.to_string(), "-", e, ")"]),
            _ => line_of(&["File: ", f]),
        }
    }
    if let Some(result) = &c.check_result {
        let mut keys = result.evaluated_keys.texts().peekable();
        if keys.peek().is_some() {
            desc.push_str("Evaluated keys: ");
            for (i, k) in keys.enumerate() {
                if i > 0 {
                    desc.push_str(", ");
                }
                desc.push_str(k);
            }
            desc.push('\n');
        }
    }
    // The offending code, as Checkov quotes it: [[line, text], ...].
    let mut code = c
        .code_block
        .iter()
        .flatten()
        .filter_map(|l| Some((l.0.first()?.get()?, l.0.get(1)?.0.as_deref()?)))
        .take(50)
        .peekable();
    if code.peek().is_some() {
        desc.push_str("\n```\n");
        for (n, t) in code {
            desc.push_str(n);
            desc.push_str(": ");
            desc.push_str(t.trim_end_matches('\n'));
            desc.push('\n');
        }
        desc.push_str("```\n");
    }

    let details = c.vulnerability_details.as_ref();
    let references = palisade_plugin_sdk::text::join_non_empty(
        [c.guideline.get(), details.and_then(|d| d.link.get())]
            .into_iter()
            .flatten(),
        "\n",
    );

    let mut f = Finding {
        title: truncate_chars(title, 511).to_owned(),
        severity,
        description: desc,
        references,
        file_path: file_path.map(str::to_owned),
        line,
        component_name: resource.map(str::to_owned),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        ..Finding::default()
    };
    if let Some(id) = check_id {
        f.extra.push(("check_id".to_owned(), id.to_owned()));
    }
    if let Some(v) = c.bc_check_id.0.as_deref() {
        f.extra.push(("bc_check_id".to_owned(), v.to_owned()));
    }
    Ok(f)
}

#[cfg(test)]
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
                {"check_type":"dockerfile","results":{"failed_checks":[{"check_id":"CKV_2","repo_file_path":"/b"}]}},
                {"check_type":"secrets","results":{"passed_checks":[]}},
                {"summary":{}}]"#,
        )
        .unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(
            (f[0].file_path.as_deref(), f[0].line),
            (Some("/a.tf"), Some(3))
        );
        assert_eq!(f[0].component_name.as_deref(), Some("r.a"));
        assert!(f[0].description.contains("3: x = 1"));
        // No check_name: the reference's placeholder title; no severity: Medium.
        assert_eq!(f[1].title, "check_name not found");
        assert_eq!(f[1].severity, Severity::Medium);
        assert_eq!((f[1].file_path.clone(), f[1].line), (None, None));
    }

    #[test]
    fn key_order_does_not_matter_and_errors_say_where() {
        let late = parse(
            r#"{"results":{"failed_checks":[{"check_id":"CKV_1","check_name":"n"}]},"check_type":"helm"}"#,
        )
        .unwrap();
        let early = parse(
            r#"{"check_type":"helm","results":{"failed_checks":[{"check_id":"CKV_1","check_name":"n"}]}}"#,
        )
        .unwrap();
        assert!(late[0].description.starts_with("Check Type: helm\n"));
        assert_eq!(late[0].description, early[0].description);

        let e = parse(
            r#"[{"check_type":"a","results":{"failed_checks":[{}]}},
                {"check_type":"b","results":{"failed_checks":[{},{"file_line_range":[]}]}}]"#,
        )
        .unwrap_err();
        assert!(e.message.contains("file_line_range"), "{e:?}");
        assert_eq!(
            e.location.and_then(|l| l.path).as_deref(),
            Some("/1/results/failed_checks/1")
        );
        let e = parse(r#"{"check_type":"t","results":{"failed_checks":null}}"#).unwrap_err();
        assert!(e.message.contains("failed_checks"), "{e:?}");
    }

    #[test]
    fn sca_checks_carry_no_vulnerability_ids() {
        let f = parse(
            r#"{"check_type":"sca_package","results":{"failed_checks":[{"check_id":"CKV_CVE_2021_1","check_name":"n","severity":"critical","vulnerability_details":{"id":"CVE-2021-1234"}}]}}"#,
        )
        .unwrap();
        assert!(f[0].vulnerability_ids.is_empty());
        assert_eq!(f[0].severity, Severity::Critical);
    }

    #[test]
    fn malformed_inputs_are_errors() {
        assert!(parse("{\"check_type\":").is_err());
        // Any object without results is simply empty, as in the reference.
        assert!(parse(r#"{"vulnerabilities":[]}"#).unwrap().is_empty());
        assert!(parse(r#"{"check_type":"t","results":null}"#).is_err());
        assert!(parse(r#"{"check_type":"t","results":{"failed_checks":null}}"#).is_err());
        assert!(parse(r#"{"check_type":"t","results":{"failed_checks":{}}}"#).is_err());
        assert!(parse(r#"{"check_type":"t","results":{"failed_checks":[1]}}"#).is_err());
        assert!(parse(r#"{"check_type":"t","results":[]}"#).is_err());
        assert!(parse("[1]").is_err());
        for bad in [
            r#"{"file_line_range":[]}"#,
            r#"{"file_line_range":null}"#,
            r#"{"benchmarks":{"CIS":[{"name":"1"}]}}"#,
            r#"{"benchmarks":[]}"#,
        ] {
            let r = format!(r#"{{"check_type":"t","results":{{"failed_checks":[{bad}]}}}}"#);
            assert!(parse(&r).is_err(), "{bad}");
        }
        let ok = r#"{"check_type":"t","results":{"failed_checks":[{"benchmarks":{"CIS":[{"name":"1","description":"d"}],"X":null}}]}}"#;
        assert_eq!(parse(ok).unwrap().len(), 1);
        assert!(parse(r#"[["terraform", {"failed_checks": [{}]}]]"#).is_err());
        assert!(parse(r#"{"check_type":"t","results":{"failed_checks":[["CKV_1"]]}}"#).is_err());
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
