//! Palisade parser plugin for SonarQube reports, scan type "SonarQube Scan".
//!
//! Formats read (see FORMAT.md for every rule):
//! - a Web API export (`{"paging", "components", "issues": [...],
//!   "hotspots": [...]}`), one finding per issue or hotspot; dependency-check
//!   issues ("Filename: pkg:1.2 | Reference: CVE-... | Category: CWE-n") give
//!   the component, CVE and CWE;
//! - the sonar-report JSON (`{"date", "projectName", "hotspotKeys", "rules":
//!   {...}, "issues": [...]}`), aggregated per CWE, title, rule description and file;
//! - a zip archive of Web API JSON files;
//! - the sonar-report HTML page (see [`html_report`]).

use palisade_plugin_sdk::findings::Collector;
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
        PluginInfo::single(
            "sonarqube",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "SonarQube issues and hotspots (Web API JSON, sonar-report JSON, zipped)",
                &["json", "zip", "html"],
                DedupeSetting::hash_code(&["cwe", "severity", "file_path"]).requiring_cwe(),
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
        if zip::is_zip(report) {
            let mut out = Vec::new();
            for (name, contents) in zip::entries(report)? {
                if !name.to_ascii_lowercase().ends_with(".json") {
                    continue;
                }
                let mut found = parse_zipped_json(&contents).map_err(|mut e| {
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

/// Says whether a JSON value is "truthy" as the reference tests presence:
/// not null, false, zero, or an empty string, array or object.
fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

/// Parses one SonarQube JSON document: a sonar-report export (non-empty
/// `date`, `projectName` and `hotspotKeys`), else a Web API export (non-empty
/// `paging` and `components`); anything else holds no findings.
pub fn parse_json_report(bytes: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let v = json_object(bytes)?;
    if truthy(v.get("date")) && truthy(v.get("projectName")) && truthy(v.get("hotspotKeys")) {
        return sonar_report(&v);
    }
    if truthy(v.get("paging")) && truthy(v.get("components")) {
        return web_api(&v);
    }
    Ok(Vec::new())
}

fn json_object(bytes: &[u8]) -> Result<Value, ParseError> {
    let v = palisade_plugin_sdk::json::parse_json_value(bytes).map_err(|mut e| {
        e.message = format!("not a SonarQube JSON report: {}", e.message);
        e
    })?;
    if !v.is_object() {
        return Err(ParseError::new(
            "not a SonarQube JSON report: expected a JSON object",
        ));
    }
    Ok(v)
}

/// A JSON file inside a zip archive: always read as a Web API export.
fn parse_zipped_json(bytes: &[u8]) -> Result<Vec<Finding>, ParseError> {
    // The reference decodes zipped JSON as ASCII and fails on anything else.
    if !bytes.is_ascii() {
        return Err(ParseError::new(
            "a JSON file in the zip archive is not ASCII (non-ASCII text must be \\u-escaped)",
        ));
    }
    web_api(&json_object(bytes)?)
}

/// Web API severities: BLOCKER is High (sic, as the reference), CRITICAL
/// Critical, MAJOR Medium, MINOR Low, INFO Info; hotspot probabilities HIGH,
/// MEDIUM, LOW. The newer `impacts` severities are not used.
fn api_severity(s: &str) -> Severity {
    match s {
        "BLOCKER" => Severity::High,
        "MAJOR" => Severity::Medium,
        "MINOR" => Severity::Low,
        other => severity_from_word(other).unwrap_or(Severity::Info),
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

/// A string field the reference needs (it fails on the report without it).
fn required<'a>(v: &'a Value, key: &str, what: &str) -> Result<&'a str, ParseError> {
    v.get(key).and_then(Value::as_str).ok_or_else(|| {
        ParseError::new(format!(
            "{what} {:?} has no \"{key}\" string",
            v.get("key").and_then(Value::as_str).unwrap_or("?")
        ))
    })
}

fn describe(v: &Value, keys: &[&str]) -> String {
    let mut s = String::new();
    for k in keys {
        push_field(&mut s, k, string_at(v, k).as_deref());
    }
    s
}

/// `prefix` followed by 1 to `max` digits, everywhere in `text`: the digits.
fn digits_after<'a>(text: &'a str, prefix: &str, max: usize) -> Vec<&'a str> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices(prefix) {
        let rest = &text[i + prefix.len()..];
        let n = rest
            .bytes()
            .take(max)
            .take_while(u8::is_ascii_digit)
            .count();
        if n > 0 {
            out.push(&rest[..n]);
        }
    }
    out
}

/// CVE ids written right after `prefix`: "CVE-" 4 digits "-" 4 to 7 digits.
fn cves_after(text: &str, prefix: &str, out: &mut Vec<String>) {
    for (i, _) in text.match_indices(prefix) {
        let rest = &text[i + prefix.len()..];
        let b = rest.as_bytes();
        if !rest.starts_with("CVE-") || b.len() < 13 {
            continue;
        }
        if !b[4..8].iter().all(u8::is_ascii_digit) || b[8] != b'-' {
            continue;
        }
        let n = b[9..]
            .iter()
            .take(7)
            .take_while(|c| c.is_ascii_digit())
            .count();
        if n >= 4 {
            out.push(rest[..9 + n].to_owned());
        }
    }
}

/// GHSA ids written right after `prefix` (GitHub's id alphabet).
fn ghsas_after(text: &str, prefix: &str, out: &mut Vec<String>) {
    const ALPHABET: &[u8] = b"23456789cfghjmpqrvwx";
    for (i, _) in text.match_indices(prefix) {
        let rest = &text[i + prefix.len()..];
        let b = rest.as_bytes();
        if !rest.starts_with("GHSA-") || b.len() < 19 {
            continue;
        }
        let ok = (0..3).all(|g| {
            let at = 5 + g * 5;
            b[at..at + 4].iter().all(|c| ALPHABET.contains(c)) && (g == 2 || b[at + 4] == b'-')
        });
        if ok {
            out.push(rest[..19].to_owned());
        }
    }
}

/// What a dependency-check issue message carries: "Filename: lib:1.2 |
/// Reference: CVE-2024-2529 | CVSS Score: 6.4 | Category: CWE-120 | ...".
fn dependency_details(f: &mut Finding, message: &str) {
    let cwes: Vec<u32> = digits_after(message, "Category: CWE-", 5)
        .into_iter()
        .filter_map(|d| d.parse().ok())
        .collect();
    f.cwe = cwes.first().copied();
    f.extra_cwes = cwes.iter().skip(1).copied().collect();
    if let Some(i) = message.find("CVSS Score: ") {
        let b = &message.as_bytes()[i + 12..];
        if b.len() >= 3 && b[0].is_ascii_digit() && b[2].is_ascii_digit() {
            f.cvssv3_score = message[i + 12..i + 15]
                .replace(|c: char| !c.is_ascii_digit(), ".")
                .parse()
                .ok();
        }
    }
    // "Filename: name:version | ..." on one line: the name is before the
    // first colon, the version between the first and second.
    if let Some(i) = message.find("Filename: ") {
        let rest = &message[i + 10..];
        let line = rest.split('\n').next().unwrap_or("");
        if let Some(bar) = line.find(" | ") {
            let mut comp = &line[..bar];
            if let Some(j) = comp.find("Filename: ") {
                comp = &comp[..j];
            }
            let mut parts = comp.split(':');
            f.component_name = parts.next().and_then(non_empty_str);
            f.component_version = parts.next().and_then(non_empty_str);
        }
    }
    let mut ids = Vec::new();
    cves_after(message, "Reference: ", &mut ids);
    cves_after(message, "References: ", &mut ids);
    ghsas_after(message, "Reference: ", &mut ids);
    ghsas_after(message, "References: ", &mut ids);
    f.vulnerability_ids = ids;
}

/// The Web API export: `issues` (of type BUG, VULNERABILITY or CODE_SMELL)
/// and `hotspots`.
fn web_api(v: &Value) -> Result<Vec<Finding>, ParseError> {
    let mut out: Vec<Finding> = Vec::new();
    // Every issue and hotspot is described from the `components` list, which
    // the reference needs as a list of objects as soon as there is one.
    let has_items = truthy(v.get("issues")) || truthy(v.get("hotspots"));
    let components_ok = v
        .get("components")
        .and_then(Value::as_array)
        .is_some_and(|c| c.iter().all(Value::is_object));
    if has_items && !components_ok {
        return Err(ParseError::new(
            "SonarQube Web API export without a \"components\" list of objects",
        ));
    }
    if truthy(v.get("issues")) {
        for issue in array_at(v, "issues") {
            let kind = issue.get("type").and_then(Value::as_str);
            match kind {
                Some("BUG" | "VULNERABILITY" | "CODE_SMELL") => out.push(api_issue(issue)?),
                // The reference re-adds the previous issue's finding for any
                // other type, and fails when there is none.
                _ => match out.last().cloned() {
                    Some(previous) => out.push(previous),
                    None => {
                        return Err(ParseError::new(format!(
                            "SonarQube issue of unsupported type {kind:?} before any bug, \
                             vulnerability or code smell"
                        )));
                    }
                },
            }
        }
    }
    if truthy(v.get("hotspots")) {
        for h in array_at(v, "hotspots") {
            out.push(hotspot(h)?);
        }
    }
    Ok(out)
}

fn api_issue(i: &Value) -> Result<Finding, ParseError> {
    let kind = required(i, "type", "SonarQube issue")?;
    let what = "SonarQube issue";
    let rule = required(i, "rule", what)?;
    let key = required(i, "key", what)?;
    let message = required(i, "message", what)?;
    for k in ["component", "project", "status", "scope"] {
        required(i, k, what)?;
    }
    let severity = api_severity(required(i, "severity", what)?);
    let mut description = format!("{message}\n\n");
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
            "scope",
        ],
    ));
    let tags: Vec<&str> = array_at(i, "tags")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if !tags.is_empty() {
        description.push_str(&format!("**tags:** {}\n", tags.join(", ")));
    }
    let mut f = Finding {
        title: format!("{rule}_{key}"),
        severity,
        description: clean_string(description),
        line: line_of(i),
        // Bugs have no file in the reference; the component is in the description.
        file_path: if kind == "BUG" {
            None
        } else {
            string_at(i, "component")
        },
        static_finding: Some(true),
        dynamic_finding: Some(false),
        date: date_of(i, "creationDate"),
        tags: vec![kind.to_ascii_lowercase()],
        ..Finding::default()
    };
    if kind == "VULNERABILITY" {
        dependency_details(&mut f, message);
    }
    Ok(f)
}

fn hotspot(h: &Value) -> Result<Finding, ParseError> {
    let what = "SonarQube hotspot";
    let rule = required(h, "ruleKey", what)?;
    let key = required(h, "key", what)?;
    let message = required(h, "message", what)?;
    for k in ["component", "project", "securityCategory", "status"] {
        required(h, k, what)?;
    }
    let severity = api_severity(required(h, "vulnerabilityProbability", what)?);
    let mut description = format!("{message}\n\n");
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
    Ok(Finding {
        title: format!("{rule}_{key}"),
        severity,
        description: clean_string(description),
        file_path: string_at(h, "component"),
        line: line_of(h),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        date: date_of(h, "creationDate"),
        tags: vec!["hotspot".to_owned()],
        ..Finding::default()
    })
}

/// sonar-report severities: BLOCKER Critical, CRITICAL High, MAJOR Medium,
/// MINOR Low, HIGH/MEDIUM/LOW as written, anything else Info.
pub(crate) fn report_severity(s: &str) -> Severity {
    match s.to_ascii_lowercase().as_str() {
        "blocker" => Severity::Critical,
        "critical" | "high" => Severity::High,
        "major" | "medium" => Severity::Medium,
        "minor" | "low" => Severity::Low,
        _ => Severity::Info,
    }
}

/// A rule's documentation as the reference reads it: the text before its
/// "See" section, and the CWE of the first "CWE-n" among its link texts.
pub(crate) struct RuleDoc {
    pub(crate) description: String,
    pub(crate) cwe: Option<u32>,
}

impl RuleDoc {
    pub(crate) fn of(rule: &str, html: Option<&str>) -> RuleDoc {
        let Some(html) = html else {
            return RuleDoc {
                description: "No description provided".to_owned(),
                cwe: None,
            };
        };
        let before_see = html.split("<h2>See").next().unwrap_or("");
        let mut references = rule.to_owned();
        for a in html_report::elements(html, "a") {
            references.push('\n');
            references.push_str(&html_to_text(a));
        }
        // Only the first "CWE-" counts, as the reference's search.
        let upper = references.to_ascii_uppercase();
        let cwe = upper.find("CWE-").and_then(|i| {
            let digits: String = upper[i + 4..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok().filter(|c| *c > 0)
        });
        RuleDoc {
            description: html_to_text(&before_see.replace("<h2>", "**").replace("</h2>", "**")),
            cwe,
        }
    }
}

/// Merges sonar-report issues as the reference does: one finding per CWE,
/// title, rule description and file; later issues add their line to the
/// description and their message to the mitigation.
pub(crate) struct Aggregator {
    out: Collector<(Option<u32>, String, String, String)>,
}

impl Aggregator {
    pub(crate) fn new() -> Self {
        Aggregator {
            out: Collector::new(),
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the fields of one issue, as the report spells them"
    )]
    pub(crate) fn add(
        &mut self,
        rule: &str,
        doc: &RuleDoc,
        title: &str,
        file_path: &str,
        line: &str,
        severity: Severity,
        mitigation: &str,
    ) {
        let key = (
            doc.cwe,
            title.to_owned(),
            doc.description.clone(),
            file_path.to_owned(),
        );
        let new = || Finding {
            title: truncate_chars(title, 511).to_owned(),
            severity,
            description: format!("{}\n\n-----\nOccurences:\nLine: {line}", doc.description),
            mitigation: Some(mitigation.to_owned()),
            references: non_empty_str(rule),
            cwe: doc.cwe,
            file_path: non_empty_str(file_path),
            impact: Some("No impact provided".to_owned()),
            static_finding: Some(true),
            dynamic_finding: Some(false),
            nb_occurences: Some(1),
            ..Finding::default()
        };
        if let Some(f) = self.out.count_or_insert_with(key, new) {
            f.description.push_str(&format!("\nLine: {line}"));
            let m = f.mitigation.get_or_insert_with(String::new);
            m.push_str("\n______\n");
            m.push_str(mitigation);
        }
    }

    pub(crate) fn into_findings(self) -> Vec<Finding> {
        self.out.into_findings()
    }
}

/// The sonar-report JSON: issues aggregated per CWE, title, rule description and file.
fn sonar_report(v: &Value) -> Result<Vec<Finding>, ParseError> {
    let rules = v
        .get("rules")
        .filter(|r| r.is_object())
        .ok_or_else(|| ParseError::new("sonar-report JSON without a \"rules\" object"))?;
    let issues = v
        .get("issues")
        .and_then(Value::as_array)
        .ok_or_else(|| ParseError::new("sonar-report JSON without an \"issues\" array"))?;
    let mut docs: HashMap<&str, RuleDoc> = HashMap::new();
    let mut agg = Aggregator::new();
    for i in issues {
        let what = "sonar-report issue";
        let missing = |k: &str| ParseError::new(format!("{what} without \"{k}\""));
        for k in [
            "key",
            "line",
            "message",
            "description",
            "component",
            "severity",
            "rule",
        ] {
            if i.get(k).is_none() {
                return Err(missing(k));
            }
        }
        let rule = required(i, "rule", what)?;
        let (Some(title), Some(message)) = (
            i.get("description").and_then(Value::as_str),
            i.get("message").and_then(Value::as_str),
        ) else {
            return Err(ParseError::new(format!(
                "can't find a title or a mitigation for vulnerability of name {rule}"
            )));
        };
        let line = match i.get("line") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => "None".to_owned(),
            Some(other) => other.to_string(),
        };
        let doc = docs.entry(rule).or_insert_with(|| {
            RuleDoc::of(rule, rules.get(rule).and_then(|r| str_at(r, "htmlDesc")))
        });
        agg.add(
            rule,
            doc,
            title,
            str_at(i, "component").unwrap_or(""),
            &line,
            report_severity(str_at(i, "severity").unwrap_or("")),
            message,
        );
    }
    Ok(agg.into_findings())
}

#[cfg(test)]
mod tests;
