//! Palisade parser plugin for SonarQube reports, scan type "SonarQube Scan".
//!
//! Formats read:
//! - the Web API issue search (`api/issues/search`: `{"paging", "issues":
//!   [...], "components"}`), one finding per issue; dependency-check issues
//!   ("Filename: pkg:1.2 | Reference: CVE-... | Category: CWE-n") give the
//!   component, CVE and CWE;
//! - the Web API hotspot search (`api/hotspots/search`: `{"hotspots": [...]}`);
//! - the sonar-report JSON (`{"sonarComponent", "rules": {...}, "issues":
//!   [...]}`), aggregated per rule and file;
//! - a zip archive of such JSON files;
//! - the sonar-report HTML page (see [`html_report`]).

use palisade_plugin_sdk::json::{array_at, str_at, string_at};
use palisade_plugin_sdk::markdown::push_field;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use palisade_plugin_sdk::text::iso_date;
use palisade_plugin_sdk::zip;
use serde_json::Value;
use std::collections::HashMap;

pub mod html_report;

/// The scan type this plugin handles.
pub const SCAN_TYPE: &str = "SonarQube Scan";

/// The SonarQube parser.
pub struct SonarQube;

impl Parser for SonarQube {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "sonarqube".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description:
                    "SonarQube issues and hotspots (Web API JSON, sonar-report JSON, zipped)"
                        .to_owned(),
                file_kinds: vec!["json".to_owned(), "zip".to_owned(), "html".to_owned()],
                dedupe: DedupeSetting {
                    algorithm: DedupeAlgorithm::HashCode,
                    hash_fields: ["cwe", "severity", "file_path"]
                        .iter()
                        .map(|s| (*s).to_owned())
                        .collect(),
                    allows_null_cwe: false,
                },
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
                "the sonarqube plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
        if zip::is_zip(report) {
            let mut out = Vec::new();
            for (name, contents) in zip::entries(report)? {
                if !name.to_ascii_lowercase().ends_with(".json") {
                    continue;
                }
                let mut found = parse_json_report(&contents).map_err(|mut e| {
                    e.message = format!("{name} in the zip archive: {}", e.message);
                    e
                })?;
                out.append(&mut found);
            }
            return Ok(out);
        }
        if palisade_plugin_sdk::sniff::first_byte(report) == Some(b'<') {
            let text = palisade_plugin_sdk::json::utf8_text(report)?;
            return html_report::parse(text);
        }
        parse_json_report(report)
    }
}

palisade_plugin_sdk::export_parser!(SonarQube);

fn json_looks_like(head: &[u8]) -> bool {
    if !palisade_plugin_sdk::json::starts_like_json(head) {
        return false;
    }
    let api_issues = contains(head, b"\"issues\"")
        && contains(head, b"\"paging\"")
        && (contains(head, b"\"effortTotal\"") || contains(head, b"\"rule\""));
    let hotspots = contains(head, b"\"hotspots\"")
        && (contains(head, b"\"vulnerabilityProbability\"") || contains(head, b"\"paging\""));
    let sonar_report = contains(head, b"\"sonarComponent\"") || contains(head, b"\"sonarBaseURL\"");
    api_issues || hotspots || sonar_report
}

/// Says whether `head` looks like a SonarQube report (JSON, or a zip whose
/// first entry, when it fits in the head, is one).
pub fn looks_like(head: &[u8]) -> bool {
    if zip::is_zip(head) {
        // Judge by the first entry when it is complete in the head.
        return zip::entries(head)
            .ok()
            .and_then(|e| e.into_iter().next())
            .is_some_and(|(_, c)| json_looks_like(&c));
    }
    json_looks_like(head) || html_report::looks_like(head)
}

/// Parses one SonarQube JSON document of any supported shape.
pub fn parse_json_report(bytes: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let v = palisade_plugin_sdk::json::parse_json_value(bytes).map_err(|mut e| {
        e.message = format!("not a SonarQube JSON report: {}", e.message);
        e
    })?;
    if !v.is_object() {
        return Err(ParseError::new(
            "not a SonarQube JSON report: expected an object with \"issues\" or \"hotspots\"",
        ));
    }
    if v.get("rules").is_some_and(Value::is_object) && v.get("issues").is_some_and(Value::is_array)
    {
        return Ok(sonar_report(&v));
    }
    if let Some(hotspots) = v.get("hotspots").and_then(Value::as_array) {
        return Ok(hotspots.iter().map(hotspot).collect());
    }
    if let Some(issues) = v.get("issues").and_then(Value::as_array) {
        return Ok(issues.iter().map(api_issue).collect());
    }
    Err(ParseError::new(
        "not a SonarQube JSON report: expected an \"issues\" or \"hotspots\" array",
    ))
}

/// Web API severities: BLOCKER and CRITICAL are Critical, MAJOR Medium,
/// MINOR Low, INFO Info.
fn api_severity(s: Option<&str>) -> Severity {
    match s.map(str::to_ascii_uppercase).as_deref() {
        Some("BLOCKER" | "CRITICAL") => Severity::Critical,
        Some("MAJOR") => Severity::Medium,
        Some("MINOR") => Severity::Low,
        Some(other) => severity_from_word(other).unwrap_or(Severity::Info),
        None => Severity::Info,
    }
}

fn date_of(v: &Value, key: &str) -> Option<String> {
    str_at(v, key).and_then(iso_date).map(str::to_owned)
}

fn line_of(v: &Value) -> Option<u32> {
    v.get("line")
        .and_then(Value::as_u64)
        .and_then(|l| u32::try_from(l).ok())
        .filter(|l| *l > 0)
}

fn describe(v: &Value, keys: &[&str]) -> String {
    let mut s = String::new();
    for k in keys {
        push_field(&mut s, k, string_at(v, k).as_deref());
    }
    s
}

/// The parts of a dependency-check message: "Filename: package:1.1.2 |
/// Reference: CVE-2024-2529 | CVSS Score: 6.4 | Category: CWE-120 | ...".
struct DependencyMessage {
    component: Option<String>,
    version: Option<String>,
    ids: Vec<String>,
    cwes: Vec<u32>,
    cvss: Option<f32>,
}

fn dependency_message(message: &str) -> DependencyMessage {
    let mut d = DependencyMessage {
        component: None,
        version: None,
        ids: Vec::new(),
        cwes: Vec::new(),
        cvss: None,
    };
    for part in message.split('|') {
        let Some((key, value)) = part.split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "Filename" => match value.rsplit_once(':') {
                Some((name, version)) if !version.contains(['/', '\\']) => {
                    d.component = non_empty_str(name);
                    d.version = non_empty_str(version);
                }
                _ => d.component = non_empty_str(value),
            },
            "Reference" | "References" => {
                for word in value.split([' ', ',', '(', ')']) {
                    if let Some(id) =
                        palisade_plugin_sdk::vuln_ids::normalize_vulnerability_id(word)
                        && !d.ids.contains(&id)
                    {
                        d.ids.push(id);
                    }
                }
            }
            "Category" => d.cwes.extend(parse_cwe(value)),
            "CVSS Score" | "Highest CVSS Score" => d.cvss = value.parse().ok(),
            _ => {}
        }
    }
    d
}

fn api_issue(i: &Value) -> Finding {
    let rule = string_at(i, "rule").unwrap_or_else(|| "SonarQube issue".to_owned());
    let message = string_at(i, "message");
    let kind = str_at(i, "type").unwrap_or_default();
    let title = match &message {
        Some(m) => format!("{rule}: {m}"),
        None => rule,
    };
    let mut description = message.clone().unwrap_or_else(|| title.clone());
    description.push_str("\n\n");
    description.push_str(&describe(
        i,
        &[
            "key",
            "rule",
            "type",
            "severity",
            "component",
            "project",
            "line",
            "status",
            "effort",
        ],
    ));
    let tags: Vec<String> = array_at(i, "tags")
        .iter()
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect();
    if !tags.is_empty() {
        description.push_str(&format!("**tags:** {}\n", tags.join(", ")));
    }
    let mut f = Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity: api_severity(str_at(i, "severity")),
        description: clean(&description),
        line: line_of(i),
        // The reference gives bugs no file; the identity scoring follows it,
        // the component is in the description.
        file_path: if kind == "BUG" {
            None
        } else {
            string_at(i, "component")
        },
        static_finding: Some(true),
        dynamic_finding: Some(false),
        date: date_of(i, "creationDate"),
        tags: (!kind.is_empty())
            .then(|| kind.to_ascii_lowercase())
            .into_iter()
            .collect(),
        active: str_at(i, "status").map(|s| !matches!(s, "CLOSED" | "RESOLVED")),
        ..Finding::default()
    };
    if kind == "VULNERABILITY"
        && let Some(m) = &message
        && m.contains("Filename:")
    {
        let d = dependency_message(m);
        f.component_name = d.component;
        f.component_version = d.version;
        f.vulnerability_ids = d.ids;
        f.cwe = d.cwes.first().copied();
        f.extra_cwes = d.cwes.iter().skip(1).copied().collect();
        f.cvssv3_score = d.cvss;
    }
    f
}

fn hotspot(h: &Value) -> Finding {
    let rule = string_at(h, "ruleKey").unwrap_or_else(|| "SonarQube hotspot".to_owned());
    let message = string_at(h, "message");
    let title = match &message {
        Some(m) => format!("{rule}: {m}"),
        None => rule,
    };
    let mut description = message.unwrap_or_else(|| title.clone());
    description.push_str("\n\n");
    description.push_str(&describe(
        h,
        &[
            "key",
            "ruleKey",
            "component",
            "project",
            "securityCategory",
            "vulnerabilityProbability",
            "status",
            "line",
        ],
    ));
    Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity: str_at(h, "vulnerabilityProbability")
            .and_then(severity_from_word)
            .unwrap_or(Severity::Info),
        description: clean(&description),
        file_path: string_at(h, "component"),
        line: line_of(h),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        date: date_of(h, "creationDate"),
        tags: vec!["hotspot".to_owned()],
        ..Finding::default()
    }
}

/// sonar-report severities (one step below the Web API's for CRITICAL).
pub(crate) fn report_severity(s: Option<&str>) -> Severity {
    match s.map(str::to_ascii_uppercase).as_deref() {
        Some("BLOCKER") => Severity::Critical,
        Some("CRITICAL") => Severity::High,
        Some("MAJOR") => Severity::Medium,
        Some("MINOR") => Severity::Low,
        _ => Severity::Info,
    }
}

/// The sonar-report JSON: issues aggregated per rule and file, described by
/// the rule's documentation.
fn sonar_report(v: &Value) -> Vec<Finding> {
    let null = Value::Null;
    let rules = v.get("rules").unwrap_or(&null);
    let mut out: Vec<Finding> = Vec::new();
    let mut seen: HashMap<(String, Option<String>), usize> = HashMap::new();
    for i in array_at(v, "issues") {
        let rule_key = string_at(i, "rule").unwrap_or_default();
        let rule = rules.get(&rule_key).unwrap_or(&null);
        let file = string_at(i, "component");
        let message = string_at(i, "message");
        let key = (rule_key.clone(), file.clone());
        if let Some(&at) = seen.get(&key) {
            let f = &mut out[at];
            f.nb_occurences = Some(f.nb_occurences.unwrap_or(1).saturating_add(1));
            if let Some(m) = message {
                let mit = f.mitigation.get_or_insert_with(String::new);
                mit.push_str("\n______\n");
                mit.push_str(&m);
            }
            continue;
        }
        let html = str_at(rule, "htmlDesc").unwrap_or_default();
        let cwes = find_cwes(html);
        let title = string_at(rule, "name")
            .or_else(|| string_at(i, "description"))
            .unwrap_or_else(|| rule_key.clone());
        let mut description = html_to_text(html);
        if description.is_empty() {
            description = title.clone();
        }
        if let Some(l) = line_of(i) {
            description.push_str(&format!("\n\n**First line:** {l}"));
        }
        seen.insert(key, out.len());
        out.push(Finding {
            title: truncate_chars(&title, 511).to_owned(),
            severity: report_severity(str_at(i, "severity")),
            description: clean(&description),
            mitigation: message,
            references: non_empty_str(&rule_key),
            cwe: cwes.first().copied(),
            extra_cwes: cwes.iter().skip(1).copied().collect(),
            file_path: file,
            static_finding: Some(true),
            dynamic_finding: Some(false),
            nb_occurences: Some(1),
            vuln_id_from_tool: None,
            ..Finding::default()
        });
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
