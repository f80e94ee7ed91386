//! Palisade parser plugin for GitLab's dependency and container scanning
//! security reports (`gl-dependency-scanning-report.json`,
//! `gl-container-scanning-report.json`; report schema 2.x to 15.x):
//! `{"version", "vulnerabilities": [...], "remediations", "scan"}`.
//! GitLab SAST reports share the envelope but belong to another plugin.
//! Every rule is listed in `FORMAT.md`.

use palisade_plugin_sdk::deps::serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use palisade_plugin_sdk::deps::serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use palisade_plugin_sdk::deps::serde::{Deserialize, Deserializer};
use palisade_plugin_sdk::json::{
    for_each_field, get_array, get_str, get_string, parse_json_borrowed,
};
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use palisade_plugin_sdk::text::iso_date;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// GitLab dependency scanning (Gemnasium and friends).
pub const DEPENDENCY: &str = "GitLab Dependency Scanning Report";
/// GitLab container scanning (Trivy/Grype inside GitLab CI).
pub const CONTAINER: &str = "GitLab Container Scan";

/// The GitLab dependency/container scanning parser.
pub struct GitlabDeps;

impl Parser for GitlabDeps {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "gitlab-deps",
            env!("CARGO_PKG_VERSION"),
            vec![
                ScanTypeInfo::new(
                    DEPENDENCY,
                    "GitLab dependency scanning report (gl-dependency-scanning-report.json)",
                    &["json"],
                    DedupeSetting::hash_code(&[
                        "title",
                        "vulnerability_ids",
                        "file_path",
                        "component_name",
                        "component_version",
                    ]),
                ),
                ScanTypeInfo::new(
                    CONTAINER,
                    "GitLab container scanning report (gl-container-scanning-report.json)",
                    &["json"],
                    DedupeSetting::hash_code(&["title", "cwe", "line", "file_path", "description"]),
                ),
            ],
        )
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        if !palisade_plugin_sdk::json::starts_like_json(head)
            || !contains(head, b"\"vulnerabilities\"")
        {
            return None;
        }
        let wants = |t: &str| candidates.iter().any(|c| c == t);
        let container = contains(head, b"\"container_scanning\"")
            || (contains(head, b"\"operating_system\"")
                && contains(head, b"\"image\"")
                && contains(head, b"\"dependency\""));
        if container {
            return wants(CONTAINER).then(|| CONTAINER.to_owned());
        }
        // SAST and secret detection reports share the envelope (and secret
        // findings may even carry a "dependency" location).
        // Their locations have line numbers; dependency locations never do.
        let other_kind = contains(head, b"\"sast\"")
            || contains(head, b"\"secret_detection\"")
            || contains(head, b"\"start_line\"");
        let dependency = contains(head, b"\"dependency_scanning\"")
            || contains(head, b"\"dependency_files\"")
            || (!other_kind
                && contains(head, b"\"location\"")
                && contains(head, b"\"dependency\"")
                && contains(head, b"\"package\"")
                && contains(head, b"\"identifiers\""));
        (dependency && wants(DEPENDENCY)).then(|| DEPENDENCY.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        let container = match scan_type {
            DEPENDENCY => false,
            CONTAINER => true,
            other => {
                return Err(ParseError::new(format!(
                    "the gitlab-deps plugin parses {DEPENDENCY:?} and {CONTAINER:?}, not {other:?}"
                )));
            }
        };
        let data = parse_json_borrowed::<Report>(report)?.0;
        if container {
            container_report(&data)
        } else {
            dependency_report(&data)
        }
    }
}

/// The report as a `Value` tree, except that each vulnerability object keeps
/// only the keys the parser reads: the rest (links, details, scanner, ...)
/// is skipped without building anything, several times faster. Everything
/// else, and every value kept, is exactly the tree `Value` would build.
struct Report(Value);

/// The keys of a vulnerability that either scan type reads.
const VULNERABILITY_KEYS: [&str; 9] = [
    "id",
    "cve",
    "identifiers",
    "location",
    "name",
    "message",
    "description",
    "severity",
    "solution",
];

/// What to build from an object at each level.
#[derive(Clone, Copy)]
enum Level {
    /// The top level: "vulnerabilities" is a list of vulnerabilities.
    Top,
    /// The "vulnerabilities" value: its objects are vulnerabilities.
    List,
    /// A vulnerability: only the keys read.
    Vulnerability,
}

struct LevelSeed(Level);

impl<'de> DeserializeSeed<'de> for LevelSeed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(LevelVisitor(self.0))
    }
}

impl<'de> Deserialize<'de> for Report {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        LevelSeed(Level::Top).deserialize(d).map(Report)
    }
}

struct LevelVisitor(Level);

impl<'de> Visitor<'de> for LevelVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let Level::List = self.0 else {
            return Value::deserialize(SeqAccessDeserializer::new(seq));
        };
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(LevelSeed(Level::Vulnerability))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        match self.0 {
            Level::List => return Value::deserialize(MapAccessDeserializer::new(map)),
            Level::Top => for_each_field(map, |key, map| {
                let value = if key == "vulnerabilities" {
                    map.next_value_seed(LevelSeed(Level::List))?
                } else {
                    map.next_value::<Value>()?
                };
                out.insert(key.to_owned(), value);
                Ok(true)
            })?,
            Level::Vulnerability => for_each_field(map, |key, map| {
                if !VULNERABILITY_KEYS.contains(&key) {
                    return Ok(false);
                }
                out.insert(key.to_owned(), map.next_value::<Value>()?);
                Ok(true)
            })?,
        }
        Ok(Value::Object(out))
    }
}

/// An error for a key the reference requires.
fn missing(key: &str, at: &str) -> ParseError {
    ParseError::new(format!("missing required \"{key}\"")).at_path(at.to_owned())
}

/// Python truthiness of a JSON value (the reference skips falsy reports).
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// The report's `vulnerabilities` list (required).
fn vulnerabilities(data: &Value) -> Result<&[Value], ParseError> {
    if !data.is_object() {
        return Err(ParseError::new(
            "not a GitLab security report: expected a JSON object with \"vulnerabilities\"",
        ));
    }
    match data.get("vulnerabilities") {
        Some(Value::Array(v)) => Ok(v),
        Some(_) => Err(ParseError::new(
            "not a GitLab security report: \"vulnerabilities\" is not an array",
        )),
        None => Err(missing("vulnerabilities", "/")),
    }
}

/// A vulnerability must be an object.
fn object<'a>(v: &'a Value, at: &str) -> Result<&'a Value, ParseError> {
    if v.is_object() {
        Ok(v)
    } else {
        Err(ParseError::new("a vulnerability must be an object").at_path(at.to_owned()))
    }
}

/// A CWE identifier value as the reference stores it: the value itself, so
/// only a number (or a string holding one) is a CWE; "CWE-79" is not.
fn int_of(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A value as the reference prints it in a string.
fn text_of(v: &Value) -> Option<String> {
    palisade_plugin_sdk::json::value_to_string(v)
}

/// GitLab dependency scanning: see FORMAT.md.
fn dependency_report(data: &Value) -> Result<Vec<Finding>, ParseError> {
    // An empty report (`{}`, `[]`, `null`) gives no findings, as in the reference.
    if !truthy(data) {
        return Ok(Vec::new());
    }
    let vulns = vulnerabilities(data)?;
    for p in ["/scan", "/scan/scanner"] {
        if data.pointer(p).is_some_and(Value::is_null) {
            return Err(ParseError::new(format!(
                "{p} is null (the reference fails on it)"
            )));
        }
    }
    let scanner = data
        .pointer("/scan/scanner/name")
        .and_then(Value::as_str)
        .unwrap_or("could not be determined");
    // Vulnerabilities with the same unique id: the last one wins, in the first one's place.
    let mut out: Vec<Finding> = Vec::new();
    let mut at_id: HashMap<Option<String>, usize> = HashMap::new();
    for (i, v) in vulns.iter().enumerate() {
        let at = format!("/vulnerabilities/{i}");
        let f = dependency_finding(object(v, &at)?, scanner, &at)?;
        match at_id.get(&f.unique_id_from_tool) {
            Some(&k) => out[k] = f,
            None => {
                at_id.insert(f.unique_id_from_tool.clone(), out.len());
                out.push(f);
            }
        }
    }
    Ok(out)
}

fn dependency_finding(v: &Value, scanner: &str, at: &str) -> Result<Finding, ParseError> {
    // The old format has no "id"; its "cve" field is the fingerprint.
    let unique = match v.get("id") {
        Some(id) => id,
        None => v.get("cve").ok_or_else(|| missing("id", at))?,
    };
    let unique = text_of(unique);
    // Nulls the reference fails on.
    for p in [
        "/identifiers",
        "/location",
        "/location/dependency",
        "/location/dependency/package",
    ] {
        if v.pointer(p).is_some_and(Value::is_null) {
            return Err(ParseError::new(format!("{p} is null")).at_path(format!("{at}{p}")));
        }
    }
    let mut title = ["name", "message", "description"]
        .iter()
        .find_map(|k| v.get(*k))
        .and_then(text_of)
        .or_else(|| unique.clone())
        .unwrap_or_default();
    let mut description = format!("Scanner: {scanner}\n");
    for k in ["message", "description"] {
        if let Some(t) = v.get(k).and_then(text_of) {
            description.push_str(&t);
            description.push('\n');
        }
    }
    let location = v.get("location").ok_or_else(|| missing("location", at))?;
    let dependency = location.get("dependency");
    let severity_word = v
        .get("severity")
        .ok_or_else(|| missing("severity", at))?
        .as_str()
        .unwrap_or("");
    let severity = match severity_word {
        "Undefined" | "Unknown" => {
            title = format!("[{severity_word} severity] {title}");
            Severity::Info
        }
        w => severity_from_word(w).unwrap_or(Severity::Info),
    };
    let mut cwes = Vec::new();
    let mut cve = None;
    let mut references = String::new();
    for (j, ident) in get_array(v, "identifiers").iter().enumerate() {
        let iat = format!("{at}/identifiers/{j}");
        // The type as written (an empty one is just another kind).
        let kind = ident
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| missing("type", &iat))?;
        let value = ident.get("value").ok_or_else(|| missing("value", &iat))?;
        match kind.to_lowercase().as_str() {
            "cwe" => cwes.extend(int_of(value)),
            // The last CVE identifier is the one kept.
            "cve" => cve = text_of(value),
            _ => {
                let name = ident.get("name").ok_or_else(|| missing("name", &iat))?;
                references.push_str(&format!(
                    "Identifier type: {kind}\nName: {}\nValue: {}\n",
                    text_of(name).unwrap_or_default(),
                    text_of(value).unwrap_or_default()
                ));
                if let Some(u) = ident.get("url").and_then(text_of) {
                    references.push_str(&format!("URL: {u}\n"));
                }
                references.push('\n');
            }
        }
    }
    Ok(Finding {
        title: match &cve {
            Some(c) if !c.is_empty() => format!("{c}: {title}"),
            _ => title,
        },
        severity,
        description,
        mitigation: get_string(v, "solution"),
        references: (!references.is_empty()).then_some(references),
        cwe: cwes.first().copied(),
        extra_cwes: cwes.iter().skip(1).copied().collect(),
        vulnerability_ids: cve.into_iter().filter(|c| !c.is_empty()).collect(),
        file_path: get_string(location, "file"),
        component_name: dependency
            .and_then(|d| d.get("package"))
            .and_then(|p| get_string(p, "name")),
        component_version: dependency.and_then(|d| get_string(d, "version")),
        unique_id_from_tool: unique,
        static_finding: Some(true),
        dynamic_finding: Some(false),
        ..Finding::default()
    })
}

/// Python's `textwrap.shorten(text, width, placeholder="...")` for the
/// component fields: whitespace runs collapse, and long text is cut.
fn shorten(text: &str, width: usize) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= width {
        return collapsed;
    }
    let mut out = String::new();
    for word in collapsed.split(' ') {
        let next = if out.is_empty() {
            word.chars().count()
        } else {
            out.chars().count() + 1 + word.chars().count()
        };
        if next + 3 > width {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    // A first word too long for the width leaves only the placeholder.
    out.push_str("...");
    out
}

/// GitLab container scanning: see FORMAT.md.
fn container_report(data: &Value) -> Result<Vec<Finding>, ParseError> {
    let vulns = vulnerabilities(data)?;
    // The reference parses scan.end_time whenever it is present.
    if data.get("scan").is_some_and(Value::is_null) {
        return Err(ParseError::new("\"scan\" is null"));
    }
    if let Some(end) = data.pointer("/scan/end_time")
        && end.as_str().is_none_or(|e| e.trim().is_empty())
    {
        return Err(ParseError::new("scan.end_time is not a date").at_path("/scan/end_time"));
    }
    let date = data.pointer("/scan/end_time").and_then(Value::as_str);
    let mut out = Vec::with_capacity(vulns.len());
    for (i, v) in vulns.iter().enumerate() {
        let at = format!("/vulnerabilities/{i}");
        out.push(container_finding(object(v, &at)?, date, &at)?);
    }
    Ok(out)
}

fn container_finding(v: &Value, date: Option<&str>, at: &str) -> Result<Finding, ParseError> {
    for p in ["/location/dependency", "/location/dependency/package"] {
        if v.pointer(p).is_some_and(Value::is_null) {
            return Err(ParseError::new(format!("{p} is null")).at_path(format!("{at}{p}")));
        }
    }
    let location = v.get("location").ok_or_else(|| missing("location", at))?;
    let dependency = location
        .get("dependency")
        .ok_or_else(|| missing("location.dependency", at))?;
    let identifiers = match v.get("identifiers") {
        Some(Value::Array(list)) => list.as_slice(),
        Some(_) => {
            return Err(ParseError::new("\"identifiers\" must be a list").at_path(at.to_owned()));
        }
        None => return Err(missing("identifiers", at)),
    };
    let description = v
        .get("description")
        .ok_or_else(|| missing("description", at))?;
    let severity_word = v.get("severity").ok_or_else(|| missing("severity", at))?;
    let unique = v.get("id").ok_or_else(|| missing("id", at))?;
    // A cve or cwe identifier needs a value (the reference reads it by key).
    if identifiers
        .iter()
        .any(|i| matches!(get_str(i, "type"), Some("cve" | "cwe")) && i.get("value").is_none())
    {
        return Err(missing("value", &format!("{at}/identifiers")));
    }
    // Identifier types are matched exactly ("cve", "cwe").
    let typed = |kind: &str| -> Vec<String> {
        identifiers
            .iter()
            .filter(|i| get_str(i, "type") == Some(kind))
            .filter_map(|i| i.get("value").and_then(text_of))
            .filter(|x| !x.is_empty())
            .collect()
    };
    let ids = typed("cve");
    let cwes: Vec<u32> = identifiers
        .iter()
        .filter(|i| get_str(i, "type") == Some("cwe"))
        .filter_map(|i| i.get("value"))
        .filter_map(int_of)
        .collect();
    let name = dependency
        .get("package")
        .and_then(|p| get_string(p, "name"))
        .filter(|n| !n.is_empty());
    let version = get_string(dependency, "version").filter(|n| !n.is_empty());
    let title = match get_str(v, "message").filter(|m| !m.is_empty()) {
        Some(m) => m.to_owned(),
        None => {
            let issue = ids.first().cloned().or_else(|| {
                // The CWE of the last identifier is the fallback.
                identifiers
                    .last()
                    .filter(|i| get_str(i, "type") == Some("cwe"))
                    .and_then(|i| i.get("value").and_then(text_of))
                    .filter(|c| !c.is_empty())
                    .map(|c| format!("CWE-{c}"))
            });
            let package = match (&name, &version) {
                (Some(n), Some(ver)) => Some(format!("{n}-{ver}")),
                (Some(n), None) => Some(n.clone()),
                (None, Some(ver)) => Some(format!("unknown-package-{ver}")),
                (None, None) => None,
            };
            format!(
                "{} in {}",
                issue.as_deref().unwrap_or("None"),
                package.as_deref().unwrap_or("None")
            )
        }
    };
    let severity = match severity_word.as_str() {
        Some("Unknown") => Severity::Info,
        Some(w) => severity_from_word(w).unwrap_or(Severity::Info),
        None => Severity::Info,
    };
    Ok(Finding {
        title,
        severity,
        description: text_of(description).unwrap_or_default(),
        mitigation: get_string(v, "solution"),
        cwe: cwes.first().copied(),
        extra_cwes: cwes.iter().skip(1).copied().collect(),
        vulnerability_ids: ids,
        component_name: name.map(|n| shorten(&n, 190)),
        component_version: version.map(|n| shorten(&n, 90)),
        unique_id_from_tool: text_of(unique),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        date: date.and_then(iso_date).map(str::to_owned),
        ..Finding::default()
    })
}

palisade_plugin_sdk::export_parser!(GitlabDeps);

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str, report: &str) -> Result<Vec<Finding>, ParseError> {
        GitlabDeps::parse(t, report.as_bytes(), &Options::default())
    }

    #[test]
    fn empty_reports() {
        for t in [DEPENDENCY, CONTAINER] {
            assert!(
                parse(t, r#"{"version": "15.0.0", "vulnerabilities": []}"#)
                    .unwrap()
                    .is_empty()
            );
        }
    }

    #[test]
    fn dependency_fields_and_merge() {
        let f = parse(
            DEPENDENCY,
            r#"{"scan": {"scanner": {"name": "gemnasium"}}, "vulnerabilities": [
                {"id": "1", "name": "N", "severity": "Unknown", "location": {"file": "go.sum", "dependency": {"package": {}}}},
                {"id": "2", "name": "M", "severity": "Critical",
                 "identifiers": [{"type": "CVE", "value": "CVE-2020-1"}, {"type": "cwe", "value": "79"},
                                 {"type": "cve", "value": "CVE-2020-2"}, {"type": "ghsa", "name": "G", "value": "GHSA-x"}],
                 "location": {"file": "a", "dependency": {"package": {"name": "p"}, "version": "1"}}},
                {"cve": "old:fingerprint", "message": "old style", "severity": "High", "location": {}},
                {"id": "1", "name": "N2", "severity": "Low", "location": {"file": "go.mod"}}]}"#,
        )
        .unwrap();
        assert_eq!(f.len(), 3);
        // The later duplicate of id 1 replaces the first, in its place.
        assert_eq!((f[0].severity, f[0].title.as_str()), (Severity::Low, "N2"));
        assert_eq!(f[0].file_path.as_deref(), Some("go.mod"));
        assert_eq!(f[1].title, "CVE-2020-2: M");
        assert_eq!(f[1].vulnerability_ids, ["CVE-2020-2"]);
        assert_eq!((f[1].cwe, f[1].severity), (Some(79), Severity::Critical));
        assert_eq!(
            (
                f[1].component_name.as_deref(),
                f[1].component_version.as_deref()
            ),
            (Some("p"), Some("1"))
        );
        assert_eq!(f[2].unique_id_from_tool.as_deref(), Some("old:fingerprint"));
        let unknown = parse(
            DEPENDENCY,
            r#"{"vulnerabilities": [{"id": "1", "name": "N", "severity": "Undefined", "location": {}}]}"#,
        )
        .unwrap();
        assert_eq!(
            (unknown[0].severity, unknown[0].title.as_str()),
            (Severity::Info, "[Undefined severity] N")
        );
    }

    #[test]
    fn dependency_requirements() {
        for r in [
            r#"{"vulnerabilities": [{"name": "N", "severity": "Low", "location": {}}]}"#,
            r#"{"vulnerabilities": [{"id": "1", "severity": "Low"}]}"#,
            r#"{"vulnerabilities": [{"id": "1", "location": {}}]}"#,
            r#"{"vulnerabilities": [{"id": "1", "severity": "Low", "location": {}, "identifiers": [{"type": "x", "value": "v"}]}]}"#,
            r#"{"version": "15.0.0"}"#,
            r#"{"scan": null, "vulnerabilities": []}"#,
            r#"{"vulnerabilities": [{"id": "1", "severity": "Low", "location": null}]}"#,
            r#"{"vulnerabilities": [{"id": "1", "severity": "Low", "location": {"dependency": {"package": null}}}]}"#,
            r#"{"vulnerabilities": [{"id": "1", "severity": "Low", "location": {}, "identifiers": null}]}"#,
            r#"{"vulnerabilities": [{"id": "1", "severity": "Low", "location": {}, "identifiers": [{"type": "", "value": "v"}]}]}"#,
        ] {
            assert!(parse(DEPENDENCY, r).is_err(), "{r}");
        }
        // Falsy reports give nothing.
        for r in ["{}", "[]", "null"] {
            assert!(parse(DEPENDENCY, r).unwrap().is_empty(), "{r}");
        }
    }

    #[test]
    fn container_fields() {
        let c = parse(
            CONTAINER,
            r#"{"scan": {"end_time": "2024-05-06T07:08:09"}, "vulnerabilities": [
                {"id": "x", "description": "d", "severity": "Unknown",
                 "identifiers": [{"type": "cve", "value": "CVE-2021-2000"}, {"type": "CVE", "value": "CVE-2021-9"},
                                 {"type": "cve", "value": "CVE-2021-3"}, {"type": "cwe", "value": "400"}],
                 "location": {"dependency": {"package": {"name": "apt"}, "version": "1.4"}, "image": "i"}},
                {"id": "y", "description": "d", "severity": "High", "identifiers": [{"type": "cwe", "value": "79"}],
                 "location": {"dependency": {"version": "2"}}}]}"#,
        )
        .unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].title, "CVE-2021-2000 in apt-1.4");
        assert_eq!(c[0].vulnerability_ids, ["CVE-2021-2000", "CVE-2021-3"]);
        assert_eq!((c[0].severity, c[0].cwe), (Severity::Info, Some(400)));
        assert_eq!(c[0].date.as_deref(), Some("2024-05-06"));
        assert_eq!(c[1].title, "CWE-79 in unknown-package-2");
        assert_eq!(
            (
                c[1].component_name.clone(),
                c[1].component_version.as_deref()
            ),
            (None, Some("2"))
        );
        assert_eq!(shorten("a  b", 190), "a b");
        assert_eq!(shorten("aaaa bbbb cccc", 10), "aaaa...");
        assert_eq!(shorten(&"v".repeat(100), 90), "...");
        for r in [
            r#"{"vulnerabilities": [{"id": "x", "description": "d", "severity": "Low", "identifiers": [], "location": {}}]}"#,
            r#"{"vulnerabilities": [{"id": "x", "severity": "Low", "identifiers": [], "location": {"dependency": {}}}]}"#,
            r#"{"vulnerabilities": [{"description": "d", "severity": "Low", "identifiers": [], "location": {"dependency": {}}}]}"#,
            r#"{"vulnerabilities": [{"id": "x", "description": "d", "severity": "Low", "location": {"dependency": {}}}]}"#,
            "{}",
            r#"{"scan": {"end_time": ""}, "vulnerabilities": []}"#,
            r#"{"scan": null, "vulnerabilities": []}"#,
            r#"{"vulnerabilities": [{"id": "x", "description": "d", "severity": "Low", "identifiers": [{"type": "cve"}], "location": {"dependency": {}}}]}"#,
            r#"{"vulnerabilities": [{"id": "x", "description": "d", "severity": "Low", "identifiers": [], "location": {"dependency": {"package": null}}}]}"#,
        ] {
            assert!(parse(CONTAINER, r).is_err(), "{r}");
        }
    }

    #[test]
    fn garbage_is_rejected() {
        for t in [DEPENDENCY, CONTAINER] {
            for r in ["", "{", r#"{"matches": []}"#, r#"{"vulnerabilities": {}}"#] {
                assert!(parse(t, r).is_err(), "{r}");
            }
            assert!(
                GitlabDeps::parse(t, b"{\"vulnerabilities\":\"\xff\"}", &Options::default())
                    .is_err()
            );
            assert!(parse(t, &"[".repeat(5000)).is_err());
        }
        assert!(parse("Other", "{}").is_err());
    }

    #[test]
    fn detect_is_strict() {
        let c = [DEPENDENCY.to_owned(), CONTAINER.to_owned()];
        let d = |h: &str| GitlabDeps::detect(&c, h.as_bytes());
        assert_eq!(
            d(r#"{"version": "3.0.0", "vulnerabilities": [{"category": "dependency_scanning""#)
                .as_deref(),
            Some(DEPENDENCY)
        );
        assert_eq!(
            d(r#"{"version": "3.0.0", "vulnerabilities": [{"category": "container_scanning""#)
                .as_deref(),
            Some(CONTAINER)
        );
        assert_eq!(
            d(
                r#"{"version": "15.0.0", "vulnerabilities": [{"category": "sast", "location": {"file": "a"}}"#
            ),
            None
        );
        assert_eq!(
            d(r#"{"vulnerabilities": [], "packageManager": "npm"}"#),
            None
        );
    }
}
