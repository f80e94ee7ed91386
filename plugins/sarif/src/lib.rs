//! Palisade parser plugin for SARIF 2.1.0 reports (the OASIS Static Analysis
//! Results Interchange Format), scan type "SARIF".
//!
//! Every result of kind "fail" (the default) of every run becomes one finding
//! per location (a result with no location gives one finding without a
//! file). See FORMAT.md for the rules.

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
    #[serde(default, deserialize_with = "palisade_plugin_sdk::json::present")]
    runs: Option<Option<Vec<Run>>>,
}

#[derive(Deserialize)]
struct Run {
    tool: Option<Tool>,
    #[serde(default)]
    results: Option<Vec<SarifResult>>,
    #[serde(default)]
    invocations: Option<Vec<Value>>,
}

#[derive(Deserialize)]
struct Tool {
    driver: Option<ToolComponent>,
    #[serde(default)]
    extensions: Option<Vec<ToolComponent>>,
}

#[derive(Deserialize)]
struct ToolComponent {
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
    relationships: Option<Value>,
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
    kind: Option<String>,
    level: Option<String>,
    message: Option<Message>,
    #[serde(default, deserialize_with = "palisade_plugin_sdk::json::present")]
    locations: Option<Option<Vec<Location>>>,
    fingerprints: Option<Ordered>,
    partial_fingerprints: Option<Ordered>,
    properties: Option<Value>,
    #[serde(default)]
    suppressions: Option<Vec<Value>>,
    #[serde(default)]
    fixes: Option<Vec<Value>>,
    #[serde(default)]
    taxa: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: Option<PhysicalLocation>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: Option<ArtifactLocation>,
    region: Option<Region>,
    context_region: Option<Region>,
}

#[derive(Deserialize)]
struct ArtifactLocation {
    uri: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: Option<Value>,
    #[serde(default, deserialize_with = "palisade_plugin_sdk::json::present")]
    byte_offset: Option<Option<Value>>,
    snippet: Option<Message>,
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

impl Parser for Sarif {
    fn info() -> PluginInfo {
        PluginInfo::single(
            "sarif",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "SARIF 2.1.0 static-analysis results (any tool)",
                &["sarif", "json"],
                DedupeSetting::new(
                    DedupeAlgorithm::UniqueIdFromToolOrHashCode,
                    &["title", "cwe", "line", "file_path", "description"],
                ),
            ),
        )
    }

    // Every SARIF log, whoever wrote it: when a tool's own plugin also claims
    // the report (Snyk Code's SARIF is `Snyk Scan`), the host prefers that one
    // (SARIF is one of its generic formats).
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

/// Parses a whole SARIF log (any object with `runs`; the version is not checked).
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    // Straight from the bytes (not via a `Value`), so fingerprint objects keep their order.
    let log: palisade_plugin_sdk::json::Object<Log> = parse_json(report).map_err(|mut e| {
        e.message = format!("not a valid SARIF log: {}", e.message);
        e
    })?;
    let runs = match log.0.runs {
        None => return Ok(Vec::new()),
        Some(None) => return Err(ParseError::new("SARIF log: \"runs\" is null")),
        Some(Some(runs)) => runs,
    };
    let mut out = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        parse_run(run, &mut out).map_err(|e| e.at_path(format!("/runs/{i}")))?;
    }
    Ok(out)
}

fn parse_run(run: &Run, out: &mut Vec<Finding>) -> Result<(), ParseError> {
    let tool = run
        .tool
        .as_ref()
        .ok_or_else(|| ParseError::new("a SARIF run without \"tool\""))?;
    let driver = tool
        .driver
        .as_ref()
        .ok_or_else(|| ParseError::new("a SARIF run without \"tool.driver\""))?;
    // Rules live on the driver; when it has none, on all the extensions.
    let mut rules: Vec<&Rule> = driver.rules.iter().flatten().collect();
    if rules.is_empty() {
        rules = tool
            .extensions
            .iter()
            .flatten()
            .flat_map(|e| e.rules.iter().flatten())
            .collect();
    }
    let mut by_id: std::collections::HashMap<&str, RuleFacts<'_>> =
        std::collections::HashMap::new();
    for r in rules {
        let id =
            r.id.as_deref()
                .ok_or_else(|| ParseError::new("a SARIF rule without \"id\""))?;
        by_id.insert(id, RuleFacts::of(r));
    }
    let date = run
        .invocations
        .as_deref()
        .and_then(<[Value]>::last)
        .and_then(|i| i.get("endTimeUtc"))
        .and_then(Value::as_str)
        .and_then(palisade_plugin_sdk::text::iso_date)
        .map(str::to_owned);
    for result in run.results.as_deref().unwrap_or(&[]) {
        // Only failures are findings ("fail" is the default kind).
        if result.kind.as_deref().is_some_and(|k| k != "fail") {
            continue;
        }
        let rule = result.rule_id.as_deref().and_then(|id| by_id.get(id));
        result_findings(result, rule, date.as_deref(), out)?;
    }
    Ok(())
}

/// What every result of a rule shares, worked out once per rule: a report
/// holds thousands of results of a few dozen rules.
struct RuleFacts<'r> {
    rule: &'r Rule,
    /// The rule's own CWEs (see [`rule_cwes`]).
    cwes: Vec<u32>,
    /// Its full (else short) description.
    text: Option<String>,
    /// Its help URI, else its help text when that is a link.
    references: Option<String>,
    /// The severity its "security-severity" property sets, with the score.
    security: Option<(Severity, Option<f32>)>,
    /// The first CVE id in its id.
    cve: Option<String>,
}

impl<'r> RuleFacts<'r> {
    fn of(rule: &'r Rule) -> RuleFacts<'r> {
        RuleFacts {
            rule,
            cwes: rule_cwes(rule),
            text: msg_text(rule.full_description.as_ref())
                .or_else(|| msg_text(rule.short_description.as_ref())),
            references: rule.help_uri.clone().or_else(|| {
                rule.help
                    .as_ref()
                    .and_then(|h| message_text(h, Some(rule)))
                    .filter(|t| t.starts_with("http"))
            }),
            security: security_severity(rule),
            cve: rule.id.as_deref().and_then(cve_in),
        }
    }
}

fn msg_text(m: Option<&Message>) -> Option<String> {
    let m = m?;
    non_empty(m.text.as_deref()).or_else(|| non_empty(m.markdown.as_deref()))
}

/// A multiformat message's text, resolving a message-string id on the rule
/// and substituting its `{n}` placeholders with the arguments.
fn message_text(m: &Message, rule: Option<&Rule>) -> Option<String> {
    let (Some(rule), Some(id)) = (rule, m.id.as_deref()) else {
        return non_empty(m.text.as_deref());
    };
    let template = rule
        .message_strings
        .as_ref()?
        .0
        .iter()
        .find(|(k, _)| k == id)
        .and_then(|(_, v)| v.get("text").and_then(Value::as_str))?;
    let args = m.arguments.as_deref().unwrap_or(&[]);
    let mut s = template.to_owned();
    for (i, arg) in args.iter().enumerate().take(6) {
        let placeholder = format!("{{{i}}}");
        if !s.contains(&placeholder) {
            break;
        }
        s = s.replace(
            &placeholder,
            &palisade_plugin_sdk::json::value_to_string(arg).unwrap_or_default(),
        );
    }
    non_empty_str(&s)
}

/// The CVSS bands the reference uses for a "security-severity" score.
fn severity_of_score(score: f64) -> Severity {
    if score >= 9.0 {
        Severity::Critical
    } else if score >= 7.0 {
        Severity::High
    } else if score >= 4.0 {
        Severity::Medium
    } else if score > 0.0 {
        Severity::Low
    } else {
        Severity::Info
    }
}

/// The result's level (else the rule's default level): note Info, warning
/// Medium, error High, anything else Medium; a "security-severity" property
/// on the rule (a score, or a severity word) overrides it.
fn severity(result: &SarifResult, rule: Option<&RuleFacts<'_>>) -> (Severity, Option<f32>) {
    if let Some(security) = rule.and_then(|r| r.security) {
        return security;
    }
    let level = result.level.as_deref().or_else(|| {
        rule.and_then(|r| r.rule.default_configuration.as_ref())
            .and_then(|c| c.level.as_deref())
    });
    let from_level = match level {
        Some("note") => Severity::Info,
        Some("error") => Severity::High,
        _ => Severity::Medium,
    };
    (from_level, None)
}

/// The severity a rule's "security-severity" property sets: a score (or
/// numeric text, kept as the score) by CVSS band, or a severity word (any
/// other text is Info).
fn security_severity(rule: &Rule) -> Option<(Severity, Option<f32>)> {
    let security = rule.properties.as_ref()?.get("security-severity")?;
    let score = match security {
        Value::Number(n) => n.as_f64(),
        Value::String(t) => t.trim().parse::<f64>().ok(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    };
    if let Some(score) = score {
        return Some((severity_of_score(score), Some(score as f32)));
    }
    let word = security.as_str().map(str::to_ascii_lowercase);
    let sev = match word.as_deref() {
        Some("info") => Severity::Info,
        Some("low") => Severity::Low,
        Some("medium") => Severity::Medium,
        Some("high") => Severity::High,
        Some("critical") => Severity::Critical,
        _ => Severity::Info,
    };
    Some((sev, None))
}

/// The first "cwe-<digits>" (any case) in `text`.
fn cwe_in(text: &str) -> Option<u32> {
    let lower = text.to_ascii_lowercase();
    lower.match_indices("cwe-").find_map(|(i, _)| {
        let digits: String = lower[i + 4..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    })
}

fn tags(v: Option<&Value>) -> impl Iterator<Item = &str> {
    v.and_then(|p| p.get("tags"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter_map(Value::as_str)
}

/// CWEs of a rule: its relationships when it has a list of them, else its
/// "cwe" property (a string or a list), else its tags.
fn rule_cwes(rule: &Rule) -> Vec<u32> {
    if let Some(Value::Array(rels)) = &rule.relationships {
        return rels
            .iter()
            .filter_map(|r| r.pointer("/target/id").and_then(Value::as_str))
            .filter_map(cwe_in)
            .collect();
    }
    if let Some(cwe) = rule.properties.as_ref().and_then(|p| p.get("cwe")) {
        return match cwe {
            Value::Array(items) => items
                .iter()
                .filter_map(Value::as_str)
                .filter_map(cwe_in)
                .collect(),
            other => other.as_str().and_then(cwe_in).into_iter().collect(),
        };
    }
    tags(rule.properties.as_ref()).filter_map(cwe_in).collect()
}

/// CWEs from the result's taxa of the "CWE" taxonomy.
fn taxa_cwes(result: &SarifResult) -> Vec<u32> {
    let Some(Value::Array(taxa)) = &result.taxa else {
        return Vec::new();
    };
    taxa.iter()
        .filter(|t| t.pointer("/toolComponent/name").and_then(Value::as_str) == Some("CWE"))
        .filter_map(|t| match t.get("id")? {
            Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            Value::String(s) if !s.is_empty() => s
                .trim()
                .parse()
                .ok()
                .or_else(|| cwe_in(&format!("CWE-{s}"))),
            _ => None,
        })
        .collect()
}

/// The CWEs of a finding, with the primary one: the last CWE of the last
/// non-empty source among the rule, the result's "cwe" property and its taxa.
fn cwes(result: &SarifResult, rule: Option<&RuleFacts<'_>>) -> (Option<u32>, Vec<u32>) {
    let sources = [
        rule.map(|r| r.cwes.clone()).unwrap_or_default(),
        result
            .properties
            .as_ref()
            .and_then(|p| p.get("cwe"))
            .and_then(Value::as_str)
            .and_then(cwe_in)
            .into_iter()
            .collect(),
        taxa_cwes(result),
    ];
    let primary = sources.iter().rev().find_map(|s| s.last().copied());
    let mut all: Vec<u32> = Vec::new();
    for c in sources.iter().flatten() {
        if !all.contains(c) {
            all.push(*c);
        }
    }
    (primary, all)
}

/// The first CVE id in a rule id, upper-cased.
fn cve_in(text: &str) -> Option<String> {
    let upper = text.to_ascii_uppercase();
    upper.match_indices("CVE-").find_map(|(i, _)| {
        let rest = &upper.as_bytes()[i + 4..];
        let year = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if year == 0 || rest.get(year) != Some(&b'-') {
            return None;
        }
        let n = rest[year + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        (n > 0).then(|| upper[i..i + 4 + year + 1 + n].to_owned())
    })
}

/// Fingerprints grouped by method ("name/v2" is version 2 of "name"), each
/// method keeping its highest version, in first-seen order.
fn fingerprint_methods(fp: &Ordered) -> Vec<(String, i64, String)> {
    let mut methods: Vec<(String, i64, String)> = Vec::new();
    for (key, value) in &fp.0 {
        let (method, version) = match key.rsplit_once('/') {
            Some((head, v)) => (
                head.rsplit('/').next().unwrap_or(head).to_owned(),
                v.replace('v', "").trim().parse().unwrap_or(0),
            ),
            None => (key.clone(), 0),
        };
        let value = match value {
            Value::Object(o) => o
                .get("value")
                .and_then(palisade_plugin_sdk::json::value_to_string)
                .unwrap_or_default(),
            other => palisade_plugin_sdk::json::value_to_string(other).unwrap_or_default(),
        };
        match methods.iter_mut().find(|(m, _, _)| *m == method) {
            Some(slot) => {
                if slot.1 < version {
                    slot.1 = version;
                    slot.2 = value;
                }
            }
            None => methods.push((method, version, value)),
        }
    }
    methods
}

/// `fingerprints`: the first method's value; else `partialFingerprints`:
/// "method:value" for every method, sorted, joined by "|".
fn unique_id(result: &SarifResult) -> Option<String> {
    if let Some(fp) = result.fingerprints.as_ref().filter(|f| !f.0.is_empty()) {
        return fingerprint_methods(fp)
            .into_iter()
            .next()
            .and_then(|(_, _, v)| non_empty_str(&v));
    }
    let partial = result
        .partial_fingerprints
        .as_ref()
        .filter(|f| !f.0.is_empty())?;
    let mut parts = fingerprint_methods(partial);
    parts.sort_by(|a, b| a.0.cmp(&b.0));
    let joined: Vec<String> = parts.iter().map(|(k, _, v)| format!("{k}:{v}")).collect();
    non_empty_str(&joined.join("|"))
}

/// A location's file, line and snippet: the artifact URI is required, the
/// line is the region's start line unless the region is given in bytes.
/// Where a finding is: file, line and code snippet.
type Place = (Option<String>, Option<u32>, Option<String>);

fn location_file_line(loc: &Location) -> Result<Place, ParseError> {
    let Some(phys) = &loc.physical_location else {
        return Ok((None, None, None));
    };
    let file = phys
        .artifact_location
        .as_ref()
        .and_then(|a| a.uri.clone())
        .ok_or_else(|| {
            ParseError::new("a SARIF physical location without \"artifactLocation.uri\"")
        })?;
    let region = phys.region.as_ref();
    let line = match region {
        Some(r) if r.byte_offset.is_none() => {
            let start = r.start_line.as_ref().ok_or_else(|| {
                ParseError::new("a SARIF region without \"startLine\" (nor \"byteOffset\")")
            })?;
            start
                .as_u64()
                .or_else(|| start.as_str().and_then(|s| s.trim().parse().ok()))
                .and_then(|l| u32::try_from(l).ok())
                .filter(|l| *l > 0)
        }
        _ => None,
    };
    let snippet = region
        .and_then(|r| r.snippet.as_ref())
        .and_then(|s| s.text.clone())
        .or_else(|| {
            phys.context_region
                .as_ref()
                .and_then(|r| r.snippet.as_ref())
                .and_then(|s| s.text.clone())
        });
    Ok((non_empty_str(&file), line, snippet))
}

/// Titles are cut to this many characters (with an ellipsis).
const TITLE_CHARS: usize = 150;

/// The words of `text` joined by single spaces, as `split_whitespace` and
/// `join(" ")` make them, but only as far as needed to tell whether the
/// result is longer than `max_chars` (a longer one is cut anyway): messages
/// can be long, and every finding has a title.
fn collapse_whitespace(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(4 * max_chars + 8));
    let mut chars = 0;
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
            chars += 1;
        }
        out.push_str(word);
        chars += word.chars().count();
        if chars > max_chars {
            break;
        }
    }
    out
}

fn result_findings(
    result: &SarifResult,
    facts: Option<&RuleFacts<'_>>,
    date: Option<&str>,
    out: &mut Vec<Finding>,
) -> Result<(), ParseError> {
    let rule = facts.map(|f| f.rule);
    let message = result.message.as_ref().and_then(|m| message_text(m, rule));
    let fallback;
    let title_source = match &message {
        Some(m) => m.as_str(),
        None => {
            fallback = rule
                .and_then(|r| {
                    if let Some(m) = &r.short_description {
                        return message_text(m, Some(r));
                    }
                    if let Some(m) = &r.full_description {
                        return message_text(m, Some(r));
                    }
                    r.name.clone().or_else(|| r.id.clone())
                })
                .ok_or_else(|| ParseError::new("No information found to create a title"))?;
            fallback.as_str()
        }
    };
    let title = palisade_plugin_sdk::text::truncate_with_ellipsis(
        &collapse_whitespace(title_source, TITLE_CHARS),
        TITLE_CHARS,
    );
    let (sev, score) = severity(result, facts);
    let (cwe, all_cwes) = cwes(result, facts);
    let extra_cwes: Vec<u32> = all_cwes.into_iter().filter(|c| Some(*c) != cwe).collect();
    let rule_id = result.rule_id.as_deref();
    // The rule was found by this id, so its CVE is the id's.
    let cve = match facts {
        Some(f) => f.cve.clone(),
        None => rule_id.and_then(cve_in),
    };
    let vulnerability_ids: Vec<String> = cve.into_iter().collect();
    let unique = unique_id(result);
    let rule_text = facts.and_then(|f| f.text.as_deref());
    let mitigation = result
        .fixes
        .as_ref()
        .map(|fixes| {
            fixes
                .iter()
                .map(|f| {
                    f.pointer("/description/text")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .filter(|m| !m.trim().is_empty());
    let references = facts.and_then(|f| f.references.as_deref());
    let suppressed = result.suppressions.as_ref().is_some_and(|s| !s.is_empty());
    let mut per_loc: Vec<Place> = Vec::new();
    if let Some(locations) = &result.locations {
        let locations = locations
            .as_deref()
            .ok_or_else(|| ParseError::new("SARIF result \"locations\" is null"))?;
        for l in locations {
            per_loc.push(location_file_line(l)?);
        }
    }
    if per_loc.is_empty() {
        per_loc.push((None, None, None));
    }
    // The description up to the snippet is the same for every location.
    let mut common = String::new();
    if let Some(m) = &message {
        common.push_str(m);
    }
    if let Some(t) = rule_text
        && message.as_deref() != Some(t)
    {
        common.push_str("\n\n**Rule description:** ");
        common.push_str(t);
    }
    if let Some(id) = rule_id {
        common.push_str("\n\n**Rule:** ");
        common.push_str(id);
    }
    let mut raw = String::new();
    for (file_path, line, snippet) in per_loc {
        let description = match &snippet {
            None => clean(&common),
            Some(s) => {
                raw.clear();
                raw.push_str(&common);
                raw.push_str("\n\n**Snippet:**\n```\n");
                raw.push_str(s);
                raw.push_str("\n```");
                clean(&raw)
            }
        };
        out.push(Finding {
            title: title.clone(),
            severity: sev,
            description,
            mitigation: mitigation.clone(),
            references: references.map(str::to_owned),
            cwe,
            extra_cwes: extra_cwes.clone(),
            cvssv3_score: score,
            vulnerability_ids: vulnerability_ids.clone(),
            file_path,
            line,
            unique_id_from_tool: unique.clone(),
            vuln_id_from_tool: rule_id.map(str::to_owned),
            static_finding: Some(true),
            dynamic_finding: Some(false),
            active: Some(!suppressed),
            false_p: Some(suppressed),
            date: date.map(str::to_owned),
            ..Finding::default()
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
