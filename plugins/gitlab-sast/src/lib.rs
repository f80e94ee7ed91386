//! Palisade parser plugin for GitLab SAST reports (`gl-sast-report.json`,
//! security report schema 2.x to 15.x), scan type "GitLab SAST Report".
//!
//! A report is `{"version", "vulnerabilities": [...], "scan"?: {...}}`; each
//! vulnerability has a name/message/description, a severity, a location
//! (file and lines) and identifiers (scanner rule ids, CWE, CVE, ...).

use palisade_plugin_sdk::findings::{Collector, count_occurrence};
use palisade_plugin_sdk::markdown::push_field_display;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use palisade_plugin_sdk::text::iso_date;
use serde::Deserialize;
use serde_json::Value;

/// The scan type this plugin handles.
pub const SCAN_TYPE: &str = "GitLab SAST Report";

/// The GitLab SAST parser.
pub struct GitlabSast;

#[derive(Deserialize)]
struct Report {
    vulnerabilities: Option<Vec<Vulnerability>>,
    scan: Option<Scan>,
}

#[derive(Deserialize)]
struct Scan {
    scanner: Option<Scanner>,
    start_time: Option<String>,
}

#[derive(Deserialize)]
struct Scanner {
    id: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct Vulnerability {
    /// `None` when the key is missing (then the "cve" key is the id), `Some(None)` when null.
    #[serde(default, deserialize_with = "palisade_plugin_sdk::json::present")]
    id: Option<Option<String>>,
    category: Option<String>,
    name: Option<String>,
    message: Option<String>,
    description: Option<String>,
    cve: Option<String>,
    severity: Option<String>,
    confidence: Option<String>,
    solution: Option<String>,
    scanner: Option<Scanner>,
    location: Option<Location>,
    #[serde(default)]
    identifiers: Option<Vec<Identifier>>,
    #[serde(default)]
    links: Option<Vec<Value>>,
}

#[derive(Deserialize)]
struct Location {
    file: Option<String>,
    start_line: Option<Value>,
    /// Present-but-null differs from missing: the reference takes an
    /// `end_line` key whatever its value.
    #[serde(default, deserialize_with = "palisade_plugin_sdk::json::present")]
    end_line: Option<Option<Value>>,
    class: Option<String>,
    method: Option<String>,
}

#[derive(Deserialize)]
struct Identifier {
    #[serde(rename = "type")]
    kind: Option<String>,
    name: Option<String>,
    value: Option<Value>,
    url: Option<String>,
}

impl Parser for GitlabSast {
    fn info() -> PluginInfo {
        PluginInfo::single(
            "gitlab-sast",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "GitLab SAST security report (gl-sast-report.json)",
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

palisade_plugin_sdk::export_parser!(GitlabSast);

fn contains_compact(head: &[u8], key: &[u8], value: &[u8]) -> bool {
    // `"key": "value"` with or without the space after the colon.
    let mut a = Vec::with_capacity(key.len() + value.len() + 8);
    a.extend_from_slice(b"\"");
    a.extend_from_slice(key);
    a.extend_from_slice(b"\": \"");
    a.extend_from_slice(value);
    a.extend_from_slice(b"\"");
    let mut b = a.clone();
    b.retain(|c| *c != b' ');
    contains(head, &a) || contains(head, &b)
}

/// Says whether `head` looks like a GitLab SAST report. GitLab's other
/// security reports (dependency, container, secret scanning, DAST) share
/// the schema, so a category or scan type of "sast" is required, or (old
/// reports without either) SAST-shaped locations with "file" and
/// "start_line"; an empty old report is recognised by its exact key set.
pub fn looks_like(head: &[u8]) -> bool {
    if !palisade_plugin_sdk::json::starts_like_json(head) || !contains(head, b"\"vulnerabilities\"")
    {
        return false;
    }
    // Checkmarx One exports its results in this schema, but they are imported
    // as "Checkmarx One Scan", a scan type of their own.
    if [
        &b"\"CxOne"[..],
        b"cxOneScan",
        b"\"Checkmarx-",
        b"\"name\": \"Checkmarx",
        b"\"name\":\"Checkmarx",
        b"checkmarx.com/",
        b".checkmarx.net",
    ]
    .iter()
    .any(|m| contains(head, m))
    {
        return false;
    }
    if contains_compact(head, b"category", b"sast") || contains_compact(head, b"type", b"sast") {
        return true;
    }
    let other = [
        &b"dependency_scanning"[..],
        b"container_scanning",
        b"secret_detection",
        b"dast",
        b"cluster_image_scanning",
        b"coverage_fuzzing",
        b"api_fuzzing",
    ];
    if other
        .iter()
        .any(|o| contains_compact(head, b"category", o) || contains_compact(head, b"type", o))
    {
        return false;
    }
    if contains(head, b"\"identifiers\"")
        && contains(head, b"\"start_line\"")
        && contains(head, b"\"file\"")
        && contains(head, b"\"cve\"")
    {
        return true;
    }
    if head.len() < 4096
        && let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(head)
    {
        return o
            .get("vulnerabilities")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty)
            && o.get("version").and_then(Value::as_str).is_some()
            && o.keys()
                .all(|k| ["version", "vulnerabilities", "remediations"].contains(&k.as_str()));
    }
    false
}

/// Parses a whole GitLab SAST report.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let report: Report = parse_json(report).map_err(|mut e| {
        e.message = format!("not a GitLab SAST report: {}", e.message);
        e
    })?;
    let Some(vulns) = report.vulnerabilities else {
        return Err(ParseError::new(
            "not a GitLab SAST report: the \"vulnerabilities\" array is missing",
        ));
    };
    // Neither the schema version nor the scan type is checked: the reference
    // reads any report of the shared security schema.
    let scan = report.scan.as_ref();
    let default_scanner = scan
        .and_then(|s| s.scanner.as_ref())
        .and_then(|s| non_empty(s.name.as_deref()).or_else(|| non_empty(s.id.as_deref())));
    let date = scan
        .and_then(|s| s.start_time.as_deref())
        .and_then(iso_date)
        .filter(|d| d.as_bytes().get(4) == Some(&b'-'))
        .map(str::to_owned);
    // One finding per unique id (the "id", else the "cve" fingerprint, even
    // when null or empty), the last report of it winning, in first-seen order.
    let mut out: Collector<Option<String>> = Collector::new();
    for v in &vulns {
        let key = match &v.id {
            Some(id) => id.clone(),
            None => v.cve.clone(),
        };
        let f = finding(v, default_scanner.as_deref(), date.as_ref());
        out.add_with(key, f, |kept, new| {
            let seen = kept.nb_occurences;
            *kept = Finding {
                nb_occurences: seen,
                ..new
            };
            count_occurrence(kept);
        });
    }
    Ok(out.into_findings())
}

fn id_value(v: Option<&Value>) -> Option<String> {
    v.and_then(palisade_plugin_sdk::json::value_to_string)
}

fn finding(v: &Vulnerability, default_scanner: Option<&str>, date: Option<&String>) -> Finding {
    let identifiers = v.identifiers.as_deref().unwrap_or(&[]);
    let is =
        |i: &&Identifier, t: &str| i.kind.as_deref().is_some_and(|k| k.eq_ignore_ascii_case(t));
    // The CWE identifier's value is the number; some analyzers put a rule
    // name there (and "CWE-n" in the name), which is not taken as a CWE.
    let cwe = identifiers
        .iter()
        .filter(|i| is(i, "cwe"))
        .find_map(|i| match &i.value {
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            Some(Value::String(s)) => s.trim().parse::<u32>().ok(),
            _ => None,
        })
        .filter(|c| *c > 0);
    // Only the last CVE identifier counts, as written.
    let vulnerability_ids: Vec<String> = identifiers
        .iter()
        .rfind(|i| is(i, "cve"))
        .and_then(|i| id_value(i.value.as_ref()))
        .filter(|id| !id.trim().is_empty())
        .into_iter()
        .collect();
    let location = v.location.as_ref();
    let file_path = location.and_then(|l| non_empty(l.file.as_deref()));
    let line_at = |v: Option<&Value>| {
        match v {
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
        .filter(|l| *l > 0)
    };
    let start_line = location.and_then(|l| line_at(l.start_line.as_ref()));
    let end_line = location.and_then(|l| line_at(l.end_line.clone().flatten().as_ref()));
    // The reference reports the end line whenever the key is there (even
    // null); the full range goes to the description.
    let line = match location.map(|l| l.end_line.is_some()) {
        Some(true) => end_line,
        _ => start_line,
    };
    let title = non_empty(v.name.as_deref())
        .or_else(|| non_empty(v.message.as_deref()))
        .or_else(|| {
            identifiers
                .iter()
                .find_map(|i| non_empty(i.name.as_deref()))
        })
        .or_else(|| non_empty(v.cve.as_deref()))
        .unwrap_or_else(|| "GitLab SAST finding".to_owned());
    let scanner = v
        .scanner
        .as_ref()
        .and_then(|s| non_empty(s.name.as_deref()).or_else(|| non_empty(s.id.as_deref())))
        .or_else(|| default_scanner.map(str::to_owned));
    let mut description = String::new();
    push_field_display(&mut description, "Scanner", scanner.as_deref());
    if let Some(m) = non_empty(v.message.as_deref())
        && v.description.as_deref().map(str::trim) != Some(m.as_str())
    {
        description.push_str(&m);
        description.push('\n');
    }
    match non_empty(v.description.as_deref()) {
        Some(d) => description.push_str(&d),
        None => description.push_str(&title),
    }
    if let Some(l) = location {
        let place = [l.class.as_deref(), l.method.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(".");
        if !place.is_empty() {
            description.push_str(&format!("\n**Location:** {place}"));
        }
    }
    if let (Some(a), Some(b)) = (start_line, end_line)
        && a != b
    {
        description.push_str(&format!("\n**Lines:** {a}-{b}"));
    }
    if let Some(c) = non_empty(v.confidence.as_deref()) {
        description.push_str(&format!("\n**Confidence:** {c}"));
    }
    let mut references = Vec::new();
    for i in identifiers {
        let mut line = String::new();
        if let Some(n) = non_empty(i.name.as_deref()) {
            line.push_str(&n);
        }
        if let Some(u) = non_empty(i.url.as_deref()) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&u);
        }
        if !line.is_empty() {
            references.push(line);
        }
    }
    for l in v.links.as_deref().unwrap_or(&[]) {
        if let Some(u) = l.get("url").and_then(Value::as_str) {
            references.push(u.to_owned());
        }
    }
    Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity: severity_or_info(v.severity.as_deref()),
        description: clean_string(description),
        mitigation: non_empty(v.solution.as_deref()),
        references: (!references.is_empty()).then(|| references.join("\n")),
        cwe,
        vulnerability_ids,
        file_path,
        line,
        // Newer reports carry a stable "id"; older ones only the "cve" key
        // (which despite its name is the analyzer's fingerprint).
        unique_id_from_tool: match &v.id {
            Some(id) => non_empty(id.as_deref()),
            None => non_empty(v.cve.as_deref()),
        },
        static_finding: Some(true),
        dynamic_finding: Some(false),
        date: date.cloned(),
        extra: v
            .category
            .as_deref()
            .and_then(non_empty_str)
            .map(|c| ("category".to_owned(), c))
            .into_iter()
            .collect(),
        ..Finding::default()
    }
}

#[cfg(test)]
mod tests;
