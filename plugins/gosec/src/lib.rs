//! Palisade parser plugin for gosec JSON reports (`gosec -fmt=json`), scan
//! type "Gosec Scanner".
//!
//! A report is `{"Golang errors": {...}, "Issues": [...], "Stats": {...}}`;
//! each issue has a rule id (G101...), details, severity, confidence, an
//! optional CWE `{"id", "url"}`, the file, the line (or "36-39" range) and
//! the code. Every rule is listed in `FORMAT.md`.

use palisade_plugin_sdk::deps::serde::de::MapAccess;
use palisade_plugin_sdk::deps::serde::{Deserialize, Deserializer};
use palisade_plugin_sdk::json::{
    FromMap, Items, Loose, MaybeObject, for_each_field, parse_json_borrowed,
};
use palisade_plugin_sdk::markdown::{push_block_field, push_field};
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashSet;

/// The scan type this plugin handles.
pub const SCAN_TYPE: &str = "Gosec Scanner";

/// The gosec parser.
pub struct Gosec;

impl Parser for Gosec {
    fn info() -> PluginInfo {
        PluginInfo::single(
            "gosec",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "gosec (Go security checker) JSON report",
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

palisade_plugin_sdk::export_parser!(Gosec);

/// Says whether `head` looks like a gosec report: "Issues" with gosec's
/// "Golang errors" or a "rule_id" of an issue.
pub fn looks_like(head: &[u8]) -> bool {
    palisade_plugin_sdk::json::starts_like_json(head)
        && contains(head, b"\"Issues\"")
        && (contains(head, b"\"Golang errors\"") || contains(head, b"\"rule_id\""))
}

palisade_plugin_sdk::loose_object!(
    /// One issue's fields, as the `Value` code saw them.
    Issue {
        details = "details",
        rule = "rule_id",
        severity = "severity",
        file = "file",
        line = "line",
        code = "code",
        confidence = "confidence",
        cwe = "cwe",
    }
);

/// The issues list (typed) or whatever else the report holds there.
struct Doc<'a> {
    issues: Option<Items<'a, Issue<'a>>>,
}

impl<'de> Deserialize<'de> for Doc<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Only "Issues" is read, as a list of typed issues; the top level
        // need not be an object (it then has no "Issues").
        #[derive(Default)]
        struct Top<'a> {
            issues: Option<Items<'a, Issue<'a>>>,
        }
        impl<'de> FromMap<'de> for Top<'de> {
            fn from_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
                let mut top = Top::default();
                for_each_field(map, |key, map| {
                    if key != "Issues" {
                        return Ok(false);
                    }
                    top.issues = Some(map.next_value()?);
                    Ok(true)
                })?;
                Ok(top)
            }
        }
        let MaybeObject(top) = MaybeObject::<Top<'de>>::deserialize(d)?;
        Ok(Doc {
            issues: top.and_then(|t| t.issues),
        })
    }
}

/// Parses a whole gosec report.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let data: Doc<'_> = parse_json_borrowed(report).map_err(|mut e| {
        e.message = format!("not a gosec JSON report: {}", e.message);
        e
    })?;
    let Some(Items::List(issues)) = data.issues else {
        return Err(ParseError::new(
            "not a gosec JSON report: the \"Issues\" array is missing",
        ));
    };
    let mut seen: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    let mut key = String::new();
    let none = Issue::default();
    for (n, item) in issues.iter().enumerate() {
        // A non-object issue has none of the keys, as `Value::get` found none.
        let item = item.as_ref().unwrap_or(&none);
        let checked = check(item).map_err(|e| e.at_path(format!("/Issues/{n}")))?;
        // Issues with the same title, file and line are one finding, the first
        // kept: later ones build nothing.
        checked.key_into(&mut key);
        if !seen.contains(key.as_str()) {
            seen.insert(key.clone());
            out.push(checked.finding());
        }
    }
    Ok(out)
}

/// The first line of "79" or of a range "36-39"; `None` when not digits.
fn first_line(line: &str) -> Option<u32> {
    let first = line.split('-').next().unwrap_or(line);
    (!first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()))
        .then(|| first.parse().ok())
        .flatten()
}

/// An issue that passed the checks, with what its finding needs.
struct Checked<'i> {
    details: &'i str,
    rule: &'i str,
    severity_word: &'i str,
    file: &'i str,
    line_text: &'i str,
    line: Option<u32>,
    code: &'i Loose<'i>,
    confidence: Option<&'i str>,
    cwe: Option<u32>,
    cwe_url: Option<&'i str>,
}

/// Checks an issue's keys and types as the reference needs them.
fn check<'i>(item: &'i Issue<'i>) -> Result<Checked<'i>, ParseError> {
    let text = |field: &'i Option<Loose<'i>>, key: &str| -> Result<&'i str, ParseError> {
        match field {
            Some(Loose::Str(s)) => Ok(s),
            Some(_) => Err(ParseError::new(format!(
                "an issue's \"{key}\" must be a string"
            ))),
            None => Err(ParseError::new(format!("an issue has no \"{key}\""))),
        }
    };
    let details = text(&item.details, "details")?;
    let rule = text(&item.rule, "rule_id")?;
    let severity_word = text(&item.severity, "severity")?;
    let file = text(&item.file, "file")?;
    let line_text = text(&item.line, "line")?;
    let Some(code) = &item.code else {
        return Err(ParseError::new("an issue has no \"code\""));
    };
    // gosec's CWE is {"id": "89", "url": "..."}; an id that is not all digits names none.
    let (cwe, cwe_url) = match &item.cwe {
        None | Some(Loose::Other(Value::Null)) => (None, None),
        Some(Loose::Other(Value::Object(o))) if o.is_empty() => (None, None),
        Some(Loose::Other(Value::Object(o))) => {
            let id = match o.get("id") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.is_empty() => None,
                Some(Value::String(s)) => (s.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| s.parse().ok())
                    .flatten(),
                Some(_) => return Err(ParseError::new("an issue's cwe.id must be a string")),
            };
            (
                id,
                o.get("url")
                    .and_then(Value::as_str)
                    .filter(|u| !u.is_empty()),
            )
        }
        Some(_) => return Err(ParseError::new("an issue's \"cwe\" must be an object")),
    };
    Ok(Checked {
        details,
        rule,
        severity_word,
        file,
        line_text,
        line: first_line(line_text),
        code,
        confidence: item.confidence.as_ref().and_then(Loose::as_str),
        cwe,
        cwe_url,
    })
}

impl Checked<'_> {
    fn title(&self) -> String {
        format!("{} - rule {}", self.details, self.rule)
    }

    /// The merge key, title, file and line run together, written into a
    /// reused buffer (most issues of a big report are repeats).
    fn key_into(&self, key: &mut String) {
        use std::fmt::Write;
        key.clear();
        for part in [self.details, " - rule ", self.rule, self.file] {
            key.push_str(part);
        }
        match self.line {
            Some(l) => {
                let _ = write!(key, "{l}");
            }
            None => key.push_str("None"),
        }
    }

    fn finding(&self) -> Finding {
        let (details, rule, file) = (self.details, self.rule, self.file);
        let code_text = match self.code {
            Loose::Str(s) => s.clone(),
            other => Cow::Owned(other.to_string()),
        };
        let mut description = String::with_capacity(details.len() + 256);
        description.push_str(details);
        description.push('\n');
        push_field(&mut description, "Rule", Some(rule));
        push_field(&mut description, "Filename", Some(file));
        push_field(&mut description, "Line", Some(self.line_text));
        push_field(&mut description, "Confidence", self.confidence);
        push_block_field(&mut description, "Code", Some(&code_text));
        let references = self.cwe_url.map(str::to_owned).unwrap_or_else(|| {
            format!("https://securego.io/docs/rules/{rule}.html").to_lowercase()
        });
        Finding {
            title: truncate_chars(&self.title(), 511).to_owned(),
            severity: severity_or_info(Some(self.severity_word)),
            description: clean_string(description),
            references: Some(references),
            cwe: self.cwe,
            file_path: non_empty(Some(file)),
            line: self.line,
            static_finding: Some(true),
            // The rule id is in the title; the reference reports no tool id.
            extra: vec![("rule_id".to_owned(), rule.to_owned())],
            ..Finding::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        Gosec::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    const I: &str = r#"{"severity": "HIGH", "confidence": "LOW", "cwe": {"id": "89", "url": "https://cwe"},
        "rule_id": "G201", "details": "SQL string formatting", "file": "a.go", "code": "x", "line": "36-39"}"#;

    #[test]
    fn odd_types_read_as_before() {
        let one = |fields: &str| {
            parse(&format!(
                r#"{{"Issues": [{{"severity": "HIGH", "rule_id": "G1", "details": "d", "file": "f", "line": "1"{fields}}}]}}"#
            ))
        };
        // A non-string code is printed as JSON; null counts as present.
        let f = one(r#", "code": {"b": [1, 2.0], "a": null}"#).unwrap();
        assert!(
            f[0].description.contains(r#"{"a":null,"b":[1,2.0]}"#),
            "{}",
            f[0].description
        );
        assert!(one(r#", "code": null"#).is_ok());
        assert!(one("").is_err());
        assert!(one(r#", "code": "c", "cwe": {"id": 89}"#).is_err());
        assert!(one(r#", "code": "c", "cwe": "89"#).is_err());
        // A repeated key keeps the last value, as a JSON tree does.
        let f = one(r#", "code": "c", "cwe": {"id": "1", "id": "2"}, "rule_id": "G9""#).unwrap();
        assert_eq!((f[0].cwe, f[0].title.as_str()), (Some(2), "d - rule G9"));
        assert!(parse(r#"{"Issues": [1]}"#).is_err());
        assert!(parse(r#"[{"Issues": []}]"#).is_err());
    }

    #[test]
    fn issues_lines_cwes_and_merge() {
        let f = parse(&format!(
            r#"{{"Golang errors": {{}}, "Issues": [{I}, {}, {}, {}, {I}], "Stats": {{}}}}"#,
            I.replace("36-39", "7").replace("HIGH", "medium"),
            I.replace(r#""id": "89""#, r#""id": "CWE-1""#)
                .replace("36-39", "x")
                .replace("a.go", "b.go"),
            I.replace(r#", "url": "https://cwe""#, "")
                .replace("a.go", "c.go"),
        ))
        .unwrap();
        assert_eq!(f.len(), 4);
        assert_eq!(
            (f[0].severity, f[0].cwe, f[0].line),
            (Severity::High, Some(89), Some(36))
        );
        assert_eq!(f[0].title, "SQL string formatting - rule G201");
        assert_eq!(f[0].file_path.as_deref(), Some("a.go"));
        assert_eq!(f[0].references.as_deref(), Some("https://cwe"));
        assert_eq!((f[1].severity, f[1].line), (Severity::Medium, Some(7)));
        assert_eq!((f[2].cwe, f[2].line), (None, None));
        assert_eq!(
            f[3].references.as_deref(),
            Some("https://securego.io/docs/rules/g201.html")
        );
    }

    #[test]
    fn required_fields_and_shapes() {
        for key in ["details", "rule_id", "severity", "file", "line", "code"] {
            let v: Value = serde_json::from_str(I).unwrap();
            let mut o = v.as_object().unwrap().clone();
            o.remove(key);
            assert!(
                parse(&format!(r#"{{"Issues": [{}]}}"#, Value::Object(o))).is_err(),
                "{key}"
            );
        }
        let no_cwe = I.replace(
            r#""cwe": {"id": "89", "url": "https://cwe"}"#,
            r#""cwe": null"#,
        );
        assert_eq!(
            parse(&format!(r#"{{"Issues": [{no_cwe}]}}"#)).unwrap()[0].cwe,
            None
        );
        for bad in [
            no_cwe.replace(r#""cwe": null"#, r#""cwe": "22""#),
            no_cwe.replace(r#""cwe": null"#, r#""cwe": {"id": 22}"#),
            no_cwe.replace(r#""line": "36-39""#, r#""line": 7"#),
        ] {
            assert!(
                parse(&format!(r#"{{"Issues": [{bad}]}}"#)).is_err(),
                "{bad}"
            );
        }
        assert!(parse(r#"{"Issues": null}"#).is_err());
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
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        assert!(Gosec::detect(&c, br#"{"Golang errors": {}, "Issues": ["#).is_some());
        assert!(Gosec::detect(&c, br#"{"results": [], "errors": []}"#).is_none());
        assert!(Gosec::detect(&c, br#"{"issues": [{"rule": "x"}]}"#).is_none());
    }
}
