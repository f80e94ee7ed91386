//! Palisade parser plugin for gosec JSON reports (`gosec -fmt=json`), scan
//! type "Gosec Scanner".
//!
//! A report is `{"Golang errors": {...}, "Issues": [...], "Stats": {...}}`;
//! each issue has a rule id (G101...), details, severity, confidence, an
//! optional CWE `{"id", "url"}`, the file, the line (or "36-39" range) and
//! the code.

use palisade_plugin_sdk::json::{optional_objects, parse_json_object};
use palisade_plugin_sdk::markdown::{push_block_field, push_field};
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use serde::Deserialize;

/// The scan type this plugin handles.
pub const SCAN_TYPE: &str = "Gosec Scanner";

/// The gosec parser.
pub struct Gosec;

#[derive(Deserialize)]
struct Report<'a> {
    #[serde(
        rename = "Issues",
        borrow,
        default,
        deserialize_with = "optional_objects"
    )]
    issues: Option<Vec<Issue<'a>>>,
}

#[derive(Deserialize)]
struct Issue<'a> {
    #[serde(borrow, default)]
    severity: Text<'a>,
    #[serde(borrow, default)]
    confidence: Text<'a>,
    #[serde(borrow, default)]
    cwe: Cwe<'a>,
    #[serde(borrow, default)]
    rule_id: Text<'a>,
    #[serde(borrow, default)]
    details: Text<'a>,
    #[serde(borrow, default)]
    file: Text<'a>,
    #[serde(borrow, default)]
    code: Text<'a>,
    #[serde(borrow, default)]
    line: Text<'a>,
    #[serde(borrow, default)]
    column: Text<'a>,
}

/// gosec's CWE: `{"id": "89", "url": "..."}` in current versions, a bare
/// id in old ones.
#[derive(Default)]
struct Cwe<'a> {
    id: Text<'a>,
    url: Text<'a>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Cwe<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CweVisitor)
    }
}

struct CweVisitor;

impl<'de> serde::de::Visitor<'de> for CweVisitor {
    type Value = Cwe<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a CWE object or id")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut cwe = Cwe::default();
        while let Some(key) = map.next_key::<Text<'de>>()? {
            match key.0.as_deref() {
                Some("id") => cwe.id = map.next_value()?,
                Some("url") => cwe.url = map.next_value()?,
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(cwe)
    }

    // Old versions: the id alone.
    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cwe {
            id: Text(Some(v.into())),
            url: Text::default(),
        })
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cwe {
            id: Text(Some(v.to_owned().into())),
            url: Text::default(),
        })
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Cwe {
            id: Text(Some(v.to_string().into())),
            url: Text::default(),
        })
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(Cwe::default())
    }

    // Anything else names no CWE.
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Cwe::default())
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Cwe::default())
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Cwe::default())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(Cwe::default())
    }
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

/// Says whether `head` looks like a gosec report: "Issues" with gosec's
/// "Golang errors" or a "rule_id" of an issue.
pub fn looks_like(head: &[u8]) -> bool {
    palisade_plugin_sdk::json::starts_like_json(head)
        && contains(head, b"\"Issues\"")
        && (contains(head, b"\"Golang errors\"") || contains(head, b"\"rule_id\""))
}

/// Parses a whole gosec report.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let report: Report<'_> = parse_json_object(report).map_err(|mut e| {
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
fn first_line(line: &Text<'_>) -> Option<u32> {
    line.get()?
        .split('-')
        .next()?
        .trim()
        .parse()
        .ok()
        .filter(|l| *l > 0)
}

fn finding(i: &Issue<'_>) -> Finding {
    let details = i.details.get().unwrap_or("gosec issue");
    let rule = i.rule_id.get();
    let title = match rule {
        Some(r) => format!("{details} - rule {r}"),
        None => details.to_owned(),
    };
    let mut description = String::with_capacity(details.len() + 256);
    description.push_str(details);
    description.push('\n');
    push_field(&mut description, "Rule", rule);
    push_field(&mut description, "Filename", i.file.get());
    push_field(&mut description, "Line", i.line.get());
    push_field(&mut description, "Column", i.column.get());
    push_field(&mut description, "Confidence", i.confidence.get());
    push_block_field(&mut description, "Code", i.code.get());
    Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity: i
            .severity
            .get()
            .and_then(severity_from_word)
            .unwrap_or(Severity::Info),
        description: clean(&description),
        references: i.cwe.url.owned(),
        cwe: i.cwe.id.get().and_then(parse_cwe),
        file_path: i.file.owned(),
        line: first_line(&i.line),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        // The rule id is in the title; it is not reported as the tool's
        // vulnerability id, to stay comparable with the reference parser.
        extra: rule
            .map(|r| ("rule_id".to_owned(), r.to_owned()))
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
    fn cwe_shapes_of_old_and_new_versions() {
        let f = parse(
            r#"{"Issues": [{"cwe": "22"}, {"cwe": 78}, {"cwe": null}, {"cwe": [1]},
                {"cwe": {"id": "89", "url": "u", "extra": {}}}]}"#,
        )
        .unwrap();
        let cwes: Vec<Option<u32>> = f.iter().map(|f| f.cwe).collect();
        assert_eq!(cwes, [Some(22), Some(78), None, None, Some(89)]);
        assert_eq!(f[4].references.as_deref(), Some("u"));
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
