//! Palisade parser plugin for SARIF 2.1.0 reports (the OASIS Static Analysis
//! Results Interchange Format), scan type "SARIF".
//!
//! Every result of every run becomes one finding per location (a result with
//! no location gives one finding without a file). Results of kind `pass` or
//! `notApplicable` are not problems and are skipped.

use std::fmt;

use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;

/// The scan type this plugin handles.
pub const SCAN_TYPE: &str = "SARIF";

/// The SARIF parser.
pub struct Sarif;

/// The top of a SARIF log.
#[derive(Deserialize)]
struct Log {
    version: Option<Value>,
    #[serde(rename = "$schema")]
    schema: Option<Value>,
    runs: Option<Vec<Run>>,
}

#[derive(Deserialize)]
struct Run {
    tool: Option<Tool>,
    #[serde(default)]
    results: Option<Vec<SarifResult>>,
    #[serde(default)]
    artifacts: Option<Vec<Artifact>>,
}

#[derive(Deserialize)]
struct Tool {
    driver: Option<ToolComponent>,
    #[serde(default)]
    extensions: Option<Vec<ToolComponent>>,
}

#[derive(Deserialize)]
struct ToolComponent {
    name: Option<String>,
    #[serde(default)]
    rules: Option<Vec<Rule>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: Option<String>,
    name: Option<String>,
    short_description: Option<Message>,
    full_description: Option<Message>,
    help: Option<Message>,
    help_uri: Option<String>,
    default_configuration: Option<Configuration>,
    message_strings: Option<Ordered>,
    properties: Option<Value>,
    relationships: Option<Vec<Value>>,
}

#[derive(Deserialize)]
struct Configuration {
    level: Option<String>,
}

#[derive(Deserialize, Default)]
struct Message {
    text: Option<String>,
    markdown: Option<String>,
    id: Option<String>,
    #[serde(default)]
    arguments: Option<Vec<Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: Option<String>,
    rule_index: Option<i64>,
    rule: Option<RuleReference>,
    kind: Option<String>,
    level: Option<String>,
    message: Option<Message>,
    #[serde(default)]
    locations: Option<Vec<Location>>,
    fingerprints: Option<Ordered>,
    partial_fingerprints: Option<Ordered>,
    properties: Option<Value>,
    #[serde(default)]
    suppressions: Option<Vec<Value>>,
    #[serde(default)]
    fixes: Option<Vec<Value>>,
}

#[derive(Deserialize)]
struct RuleReference {
    id: Option<String>,
    index: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: Option<PhysicalLocation>,
    #[serde(default)]
    logical_locations: Option<Vec<Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: Option<ArtifactLocation>,
    region: Option<Region>,
}

#[derive(Deserialize)]
struct ArtifactLocation {
    uri: Option<String>,
    index: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: Option<i64>,
    byte_offset: Option<i64>,
    snippet: Option<Message>,
}

#[derive(Deserialize)]
struct Artifact {
    location: Option<ArtifactLocation>,
}

/// A JSON object kept in document order: SARIF tools put their preferred
/// fingerprint first, and the order matters when only one is used.
#[derive(Default)]
struct Ordered(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// A fingerprint value: a string, or (some tools) an object with a "value".
fn fingerprint_value(v: &Value) -> Option<String> {
    match v {
        Value::Object(o) => o
            .get("value")
            .and_then(palisade_plugin_sdk::json::value_to_string),
        other => palisade_plugin_sdk::json::value_to_string(other),
    }
}

impl Parser for Sarif {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "sarif".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "SARIF 2.1.0 static-analysis results (any tool)".to_owned(),
                file_kinds: vec!["sarif".to_owned(), "json".to_owned()],
                dedupe: DedupeSetting::new(
                    DedupeAlgorithm::UniqueIdFromToolOrHashCode,
                    &["title", "cwe", "line", "file_path", "description"],
                ),
            }],
        }
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        if !candidates.iter().any(|c| c == SCAN_TYPE) {
            return None;
        }
        // SARIF written by Snyk Code is imported as `Snyk Scan`, its own scan type.
        let snyk_code = contains(head, b"\"SnykCode\"");
        (looks_like(head) && !snyk_code).then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        if scan_type != SCAN_TYPE {
            return Err(ParseError::new(format!(
                "the sarif plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
        parse_report(report)
    }
}

palisade_plugin_sdk::export_parser!(Sarif);

/// Says whether `head` starts like a SARIF log: a JSON object naming the
/// SARIF schema or version 2.1.0, with a "runs" key.
pub fn looks_like(head: &[u8]) -> bool {
    if !palisade_plugin_sdk::json::starts_like_json(head) {
        return false;
    }
    let has = |needle: &[u8]| contains(head, needle);
    let schema = has(b"sarif-schema") || has(b"sarif-2.1.0") || has(b"/sarif");
    let version = has(b"\"version\": \"2.1.0\"") || has(b"\"version\":\"2.1.0\"");
    (schema || version) && has(b"\"runs\"")
}

/// Parses a whole SARIF log.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    // Straight from the bytes (not via a `Value`), so fingerprint objects keep their order.
    let log: Log = parse_json(report).map_err(|mut e| {
        e.message = format!("not a valid SARIF log: {}", e.message);
        e
    })?;
    let is_sarif_version = log
        .version
        .as_ref()
        .and_then(Value::as_str)
        .is_some_and(|v| v.starts_with("2."));
    if !is_sarif_version && log.schema.is_none() {
        return Err(ParseError::new(
            "not a SARIF log: no \"version\" \"2.1.0\" and no \"$schema\"",
        ));
    }
    let Some(runs) = log.runs else {
        return Err(ParseError::new(
            "not a SARIF log: the \"runs\" array is missing",
        ));
    };
    let mut out = Vec::new();
    for run in &runs {
        parse_run(run, &mut out);
    }
    Ok(out)
}

fn parse_run(run: &Run, out: &mut Vec<Finding>) {
    let driver = run.tool.as_ref().and_then(|t| t.driver.as_ref());
    let tool_name = driver.and_then(|d| d.name.clone());
    // Rules live on the driver; some tools put them on the first extension.
    let empty: Vec<Rule> = Vec::new();
    let mut rules = driver.and_then(|d| d.rules.as_ref()).unwrap_or(&empty);
    if rules.is_empty()
        && let Some(ext) = run
            .tool
            .as_ref()
            .and_then(|t| t.extensions.as_ref())
            .and_then(|e| e.first())
    {
        rules = ext.rules.as_ref().unwrap_or(&empty);
    }
    let by_id: std::collections::HashMap<&str, &Rule> = rules
        .iter()
        .filter_map(|r| r.id.as_deref().map(|id| (id, r)))
        .collect();
    let artifacts = run.artifacts.as_deref().unwrap_or(&[]);
    for result in run.results.as_deref().unwrap_or(&[]) {
        if matches!(result.kind.as_deref(), Some("pass" | "notApplicable")) {
            continue;
        }
        let rule_id = result
            .rule_id
            .as_deref()
            .or_else(|| result.rule.as_ref().and_then(|r| r.id.as_deref()));
        let index = result
            .rule_index
            .or_else(|| result.rule.as_ref().and_then(|r| r.index));
        let rule = rule_id.and_then(|id| by_id.get(id).copied()).or_else(|| {
            index
                .and_then(|i| usize::try_from(i).ok())
                .and_then(|i| rules.get(i))
        });
        let rule_id = rule_id.or_else(|| rule.and_then(|r| r.id.as_deref()));
        result_findings(result, rule, rule_id, artifacts, tool_name.as_deref(), out);
    }
}

fn msg_text(m: Option<&Message>) -> Option<String> {
    let m = m?;
    non_empty(m.text.as_deref()).or_else(|| non_empty(m.markdown.as_deref()))
}

/// The result's message, resolving a message-string id on the rule and
/// substituting its `{n}` placeholders with the arguments.
fn result_message(result: &SarifResult, rule: Option<&Rule>) -> Option<String> {
    let m = result.message.as_ref()?;
    if let Some(t) = msg_text(Some(m)) {
        return Some(t);
    }
    let id = m.id.as_deref()?;
    let template = rule?
        .message_strings
        .as_ref()?
        .0
        .iter()
        .find(|(k, _)| k == id)
        .and_then(|(_, v)| v.get("text").and_then(Value::as_str))?;
    let args = m.arguments.as_deref().unwrap_or(&[]);
    let mut s = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        s.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if after[..close].chars().all(|c| c.is_ascii_digit()) && close > 0 => {
                let n: usize = after[..close].parse().unwrap_or(usize::MAX);
                match args
                    .get(n)
                    .and_then(palisade_plugin_sdk::json::value_to_string)
                {
                    Some(a) => s.push_str(&a),
                    None => s.push_str(&rest[open..open + close + 2]),
                }
                rest = &after[close + 1..];
            }
            _ => {
                s.push('{');
                rest = after;
            }
        }
    }
    s.push_str(rest);
    non_empty_str(&s)
}

/// SARIF levels, or a "security-severity" property (a CVSS-like score or a
/// word) that code-scanning tools add to rules and results.
fn severity(result: &SarifResult, rule: Option<&Rule>) -> Severity {
    let security = result
        .properties
        .as_ref()
        .and_then(|p| p.get("security-severity"))
        .or_else(|| {
            rule.and_then(|r| r.properties.as_ref())
                .and_then(|p| p.get("security-severity"))
        });
    if let Some(s) = security {
        let from_number = match s {
            Value::Number(n) => n.as_f64(),
            Value::String(t) => t.trim().parse::<f64>().ok(),
            _ => None,
        };
        if let Some(score) = from_number {
            return severity_from_cvss(score as f32);
        }
        if let Some(sev) = s.as_str().and_then(severity_from_word) {
            return sev;
        }
    }
    let level = result.level.as_deref().or_else(|| {
        rule.and_then(|r| r.default_configuration.as_ref())
            .and_then(|c| c.level.as_deref())
    });
    match level {
        Some("note") => Severity::Info,
        Some("error") => Severity::High,
        Some("none") => Severity::Info,
        _ => Severity::Medium,
    }
}

fn cwe_in(text: &str) -> Option<u32> {
    // "external/cwe/cwe-79", "CWE-79", "cwe-079: ..."
    let lower = text.to_ascii_lowercase();
    let pos = lower.rfind("cwe-")?;
    let digits: String = lower[pos + 4..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok().filter(|n| *n > 0)
}

/// The CWE of a result: the rule's relationships to the CWE taxonomy, else
/// its tags; a "cwe" property on the result (njsscan, mobsfscan) wins.
fn cwes(result: &SarifResult, rule: Option<&Rule>) -> Vec<u32> {
    let mut found = Vec::new();
    if let Some(rule) = rule {
        if let Some(rels) = rule.relationships.as_ref().filter(|r| !r.is_empty()) {
            for rel in rels {
                if let Some(id) = rel.pointer("/target/id").and_then(Value::as_str)
                    && let Some(c) = cwe_in(id)
                {
                    found.push(c);
                }
            }
        } else if let Some(props) = &rule.properties {
            for tag in props
                .get("tags")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
            {
                if let Some(c) = tag.as_str().and_then(cwe_in) {
                    found.push(c);
                }
            }
        }
    }
    if let Some(c) = result
        .properties
        .as_ref()
        .and_then(|p| p.get("cwe"))
        .and_then(Value::as_str)
        .and_then(cwe_in)
    {
        found.push(c);
    }
    found
}

/// CVE ids written in a rule id (dependency scanners name rules after them).
fn cves_in(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i + 4 <= bytes.len() {
        if bytes[i..i + 4].eq_ignore_ascii_case(b"cve-") {
            let start = i;
            let mut j = i + 4;
            let year = bytes[j..].iter().take_while(|b| b.is_ascii_digit()).count();
            j += year;
            if year == 4 && bytes.get(j) == Some(&b'-') {
                let n = bytes[j + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                if n >= 4 {
                    let id = text[start..j + 1 + n].to_ascii_uppercase();
                    if !out.contains(&id) {
                        out.push(id);
                    }
                    i = j + 1 + n;
                    continue;
                }
            }
        }
        i += 1;
    }
    out
}

fn unique_id(result: &SarifResult) -> Option<String> {
    if let Some(fp) = result.fingerprints.as_ref().filter(|f| !f.0.is_empty()) {
        // The first fingerprint is the tool's preferred one.
        return fp.0.first().and_then(|(_, v)| fingerprint_value(v));
    }
    let partial = result
        .partial_fingerprints
        .as_ref()
        .filter(|f| !f.0.is_empty())?;
    let mut parts: Vec<(&str, String)> = partial
        .0
        .iter()
        .filter_map(|(k, v)| fingerprint_value(v).map(|v| (k.as_str(), v)))
        .collect();
    parts.sort();
    let joined: Vec<String> = parts.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    non_empty_str(&joined.join("|"))
}

fn location_file_line(
    loc: &Location,
    artifacts: &[Artifact],
) -> (Option<String>, Option<u32>, Option<String>) {
    let Some(phys) = &loc.physical_location else {
        // A logical location (a function or type) is the best "where" there is.
        let logical = loc
            .logical_locations
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .find_map(|l| {
                l.get("fullyQualifiedName")
                    .or_else(|| l.get("name"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
        return (None, None, logical);
    };
    let file = phys.artifact_location.as_ref().and_then(|a| {
        non_empty(a.uri.as_deref()).or_else(|| {
            let i = usize::try_from(a.index?).ok()?;
            non_empty(artifacts.get(i)?.location.as_ref()?.uri.as_deref())
        })
    });
    let region = phys.region.as_ref();
    let line = region
        .filter(|r| r.byte_offset.is_none())
        .and_then(|r| r.start_line)
        .and_then(|l| u32::try_from(l).ok())
        .filter(|l| *l > 0);
    let snippet = region.and_then(|r| msg_text(r.snippet.as_ref()));
    (file, line, snippet)
}

fn result_findings(
    result: &SarifResult,
    rule: Option<&Rule>,
    rule_id: Option<&str>,
    artifacts: &[Artifact],
    tool: Option<&str>,
    out: &mut Vec<Finding>,
) {
    let message = result_message(result, rule);
    let rule_text = rule.and_then(|r| {
        msg_text(r.full_description.as_ref()).or_else(|| msg_text(r.short_description.as_ref()))
    });
    let title_source = message
        .clone()
        .or_else(|| rule.and_then(|r| msg_text(r.short_description.as_ref())))
        .or_else(|| rule.and_then(|r| r.name.clone()))
        .or_else(|| rule_id.map(str::to_owned))
        .unwrap_or_else(|| "SARIF result".to_owned());
    let title_line = title_source.lines().next().unwrap_or_default().trim();
    let title = palisade_plugin_sdk::text::truncate_with_ellipsis(title_line, 250);
    let sev = severity(result, rule);
    let cwes = cwes(result, rule);
    let vulnerability_ids = rule_id.map(cves_in).unwrap_or_default();
    let unique = unique_id(result);
    let help = rule.and_then(|r| msg_text(r.help.as_ref()));
    let mitigation = palisade_plugin_sdk::text::join_non_empty(
        result
            .fixes
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .filter_map(|f| f.pointer("/description/text").and_then(Value::as_str)),
        "\n",
    );
    let references = rule.and_then(|r| non_empty(r.help_uri.as_deref()));
    let suppressed = result.suppressions.as_ref().is_some_and(|s| {
        s.iter().any(|x| {
            !matches!(
                x.get("status").and_then(Value::as_str),
                Some("underReview" | "rejected")
            )
        })
    });
    let no_loc = [];
    let locations: &[Location] = result.locations.as_deref().unwrap_or(&no_loc);
    let mut per_loc: Vec<(Option<String>, Option<u32>, Option<String>)> = locations
        .iter()
        .map(|l| location_file_line(l, artifacts))
        .collect();
    if per_loc.is_empty() {
        per_loc.push((None, None, None));
    }
    for (file_path, line, snippet) in per_loc {
        let mut description = String::new();
        if let Some(m) = &message {
            description.push_str(m);
        }
        if let Some(t) = &rule_text
            && message.as_deref() != Some(t.as_str())
        {
            description.push_str("\n\n**Rule description:** ");
            description.push_str(t);
        }
        if let Some(id) = rule_id {
            description.push_str(&format!("\n\n**Rule:** {id}"));
        }
        if let Some(t) = tool {
            description.push_str(&format!("\n**Tool:** {t}"));
        }
        match (&snippet, &file_path) {
            (Some(s), Some(_)) => {
                description.push_str(&format!("\n\n**Snippet:**\n```\n{s}\n```"));
            }
            // Without a file, the "snippet" is a logical location (function, type).
            (Some(s), None) => description.push_str(&format!("\n\n**Location:** {s}")),
            _ => {}
        }
        if let Some(h) = &help
            && rule_text.as_deref() != Some(h.as_str())
        {
            description.push_str("\n\n**Help:**\n");
            description.push_str(h);
        }
        out.push(Finding {
            title: title.clone(),
            severity: sev,
            description: clean(&description),
            mitigation: mitigation.clone(),
            references: references.clone(),
            cwe: cwes.last().copied(),
            extra_cwes: cwes.iter().rev().skip(1).copied().collect(),
            vulnerability_ids: vulnerability_ids.clone(),
            file_path,
            line,
            unique_id_from_tool: unique.clone(),
            vuln_id_from_tool: rule_id.map(str::to_owned),
            static_finding: Some(true),
            dynamic_finding: Some(false),
            active: suppressed.then_some(false),
            false_p: suppressed.then_some(true),
            ..Finding::default()
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
