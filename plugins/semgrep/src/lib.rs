//! Palisade parser plugin for Semgrep JSON reports, scan type
//! "Semgrep JSON Report".
//!
//! Two shapes share the scan type:
//! - the CLI output `semgrep --json`: `{"results": [{"check_id", "path",
//!   "start", "end", "extra": {...}}], "errors": [...]}`;
//! - the Semgrep Supply Chain API listing: `{"vulns": [{"title",
//!   "advisory", "dependencyFileLocation", ...}], "hasMore", "cursor"}`.
//!
//! Repeated results (same rule, file and line) are merged into one finding
//! whose occurrence count says how often the scanner reported it.

use palisade_plugin_sdk::findings::{Collector, count_occurrence};
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use serde::Deserialize;
use serde_json::Value;

/// The scan type this plugin handles.
pub const SCAN_TYPE: &str = "Semgrep JSON Report";

/// The Semgrep parser.
pub struct Semgrep;

#[derive(Deserialize)]
struct Report {
    #[serde(default, deserialize_with = "palisade_plugin_sdk::json::present")]
    results: Option<Option<Vec<CliResult>>>,
    #[serde(default, deserialize_with = "palisade_plugin_sdk::json::present")]
    vulns: Option<Option<Vec<ScaVuln>>>,
}

#[derive(Deserialize)]
struct CliResult {
    check_id: Option<String>,
    path: Option<String>,
    start: Option<Position>,
    extra: Option<Extra>,
}

#[derive(Deserialize)]
struct Position {
    line: Option<Value>,
}

#[derive(Deserialize, Default)]
struct Extra {
    message: Option<String>,
    severity: Option<String>,
    fingerprint: Option<String>,
    lines: Option<String>,
    fix: Option<String>,
    metadata: Option<Value>,
    is_ignored: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScaVuln {
    title: Option<String>,
    advisory: Option<Value>,
    repository_id: Option<Value>,
    dependency_file_location: Option<Value>,
    matched_dependency: Option<Value>,
    closest_safe_dependency: Option<Value>,
    triage: Option<Value>,
}

impl Parser for Semgrep {
    fn info() -> PluginInfo {
        PluginInfo::single(
            "semgrep",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "Semgrep JSON output (semgrep --json) or Supply Chain findings",
                &["json"],
                DedupeSetting::new(
                    DedupeAlgorithm::UniqueIdFromToolOrHashCode,
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

palisade_plugin_sdk::export_parser!(Semgrep);

/// Says whether `head` looks like a Semgrep report: a result with
/// "check_id" and "extra", a Supply Chain "vulns" listing with advisories, or
/// a complete, empty `{"results": [], "errors": []}` document.
pub fn looks_like(head: &[u8]) -> bool {
    if !palisade_plugin_sdk::json::starts_like_json(head) {
        return false;
    }
    if contains(head, b"\"results\"")
        && contains(head, b"\"check_id\"")
        && contains(head, b"\"extra\"")
    {
        return true;
    }
    if contains(head, b"\"vulns\"")
        && contains(head, b"\"advisory\"")
        && contains(head, b"\"dependencyFileLocation\"")
    {
        return true;
    }
    // An empty CLI report has nothing distinctive but its exact key set.
    if head.len() < 4096
        && let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(head)
    {
        let known = [
            "results",
            "errors",
            "paths",
            "version",
            "interfile_languages_used",
            "skipped_rules",
        ];
        return o.contains_key("results")
            && o.contains_key("errors")
            && o.get("results")
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty)
            && o.keys().all(|k| known.contains(&k.as_str()));
    }
    false
}

/// Parses a whole Semgrep report: `results` when that key is there, else
/// `vulns`, else nothing (an object with neither has no findings).
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let report: palisade_plugin_sdk::json::Object<Report> =
        parse_json(report).map_err(|mut e| {
            e.message = format!("not a Semgrep JSON report: {}", e.message);
            e
        })?;
    let report = report.0;
    if let Some(results) = report.results {
        let results = results.ok_or_else(|| ParseError::new("\"results\" is null"))?;
        let findings = results
            .iter()
            .enumerate()
            .map(|(i, r)| cli_finding(r).map_err(|e| e.at_path(format!("/results/{i}"))))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(merge(findings));
    }
    if let Some(vulns) = report.vulns {
        let vulns = vulns.ok_or_else(|| ParseError::new("\"vulns\" is null"))?;
        let findings = vulns
            .iter()
            .enumerate()
            .map(|(i, v)| sca_finding(v).map_err(|e| e.at_path(format!("/vulns/{i}"))))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(merge(findings));
    }
    Ok(Vec::new())
}

/// Merges findings with the same title, file and line, counting occurrences.
fn merge(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out = Collector::new();
    for f in findings {
        let key = (f.title.clone(), f.file_path.clone(), f.line);
        out.add_with(key, f, |kept, _| count_occurrence(kept));
    }
    out.into_findings()
}

fn missing(what: &str) -> ParseError {
    ParseError::new(format!("a Semgrep result without {what}"))
}

fn line_of(v: Option<&Value>) -> Option<u32> {
    match v? {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n| *n > 0)
}

/// Semgrep's rule severities (ERROR/WARNING/INFO) and the newer
/// CRITICAL/HIGH/MEDIUM/LOW words, any case; anything else rejects the report.
fn severity(word: Option<&str>) -> Result<Severity, ParseError> {
    let word = word.ok_or_else(|| missing("a severity"))?;
    match word.to_uppercase().as_str() {
        "CRITICAL" => Ok(Severity::Critical),
        "ERROR" | "HIGH" => Ok(Severity::High),
        "WARNING" | "MEDIUM" => Ok(Severity::Medium),
        "INFO" | "LOW" => Ok(Severity::Low),
        _ => Err(ParseError::new(format!(
            "Unknown value for severity: {word}"
        ))),
    }
}

/// The CWE of a metadata "cwe" entry ("CWE-79: ...", or a list whose first
/// item counts): the number between the first "-" and the first ":".
fn first_cwe(v: Option<&Value>) -> Result<Option<u32>, ParseError> {
    let text = match v {
        None => return Ok(None),
        Some(Value::Array(a)) => a.first().and_then(Value::as_str),
        Some(other) => other.as_str(),
    };
    let Some(text) = text else {
        return Err(ParseError::new("a Semgrep \"cwe\" that is not text"));
    };
    let number = text.split(':').next().unwrap_or("");
    let number = number.split_once('-').map_or("", |(_, n)| n);
    number
        .trim()
        .parse::<u32>()
        .map(Some)
        .map_err(|_| ParseError::new(format!("Semgrep CWE {text:?} has no number")))
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => non_empty_str(s).into_iter().collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(palisade_plugin_sdk::json::value_to_string)
            .collect(),
        _ => Vec::new(),
    }
}

fn cli_finding(r: &CliResult) -> Result<Finding, ParseError> {
    let extra = r.extra.as_ref().ok_or_else(|| missing("\"extra\""))?;
    let meta = Some(
        extra
            .metadata
            .as_ref()
            .filter(|m| m.is_object())
            .ok_or_else(|| missing("\"extra.metadata\""))?,
    );
    let check_id = r.check_id.clone().ok_or_else(|| missing("\"check_id\""))?;
    let path = r.path.clone().ok_or_else(|| missing("\"path\""))?;
    let line = r
        .start
        .as_ref()
        .and_then(|s| s.line.as_ref())
        .ok_or_else(|| missing("\"start.line\""))?;
    let message = extra
        .message
        .as_deref()
        .ok_or_else(|| missing("\"extra.message\""))?;
    let severity = severity(extra.severity.as_deref())?;
    let title = check_id.clone();
    let mut description = message.to_owned();
    if let Some(lines) = non_empty(extra.lines.as_deref()).filter(|l| l != "requires login") {
        description.push_str(&format!("\n\n**Snippet:**\n```\n{lines}\n```"));
    }
    for (key, label) in [
        ("category", "Category"),
        ("confidence", "Confidence"),
        ("likelihood", "Likelihood"),
        ("impact", "Impact"),
    ] {
        if let Some(v) = meta.and_then(|m| m.get(key)).and_then(Value::as_str) {
            description.push_str(&format!("\n**{label}:** {v}"));
        }
    }
    let owasp = strings(meta.and_then(|m| m.get("owasp")));
    if !owasp.is_empty() {
        description.push_str(&format!("\n**OWASP:** {}", owasp.join(", ")));
    }
    let references = strings(meta.and_then(|m| m.get("references")));
    let source = meta
        .and_then(|m| m.get("source"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let references: Vec<String> = references.into_iter().chain(source).collect();
    let fingerprint = non_empty(extra.fingerprint.as_deref()).filter(|f| f != "requires login");
    Ok(Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity,
        description: clean_string(description),
        mitigation: non_empty(extra.fix.as_deref()),
        references: (!references.is_empty()).then(|| references.join("\n")),
        cwe: first_cwe(meta.and_then(|m| m.get("cwe")))?,
        file_path: non_empty_str(&path),
        line: line_of(Some(line)),
        unique_id_from_tool: fingerprint,
        vuln_id_from_tool: non_empty_str(&check_id),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        false_p: extra.is_ignored.filter(|i| *i),
        ..Finding::default()
    })
}

fn sca_finding(v: &ScaVuln) -> Result<Finding, ParseError> {
    let adv = v
        .advisory
        .as_ref()
        .filter(|a| a.is_object())
        .ok_or_else(|| missing("\"advisory\""))?;
    let loc = v
        .dependency_file_location
        .as_ref()
        .filter(|l| l.is_object())
        .ok_or_else(|| missing("\"dependencyFileLocation\""))?;
    let title = v.title.clone().ok_or_else(|| missing("\"title\""))?;
    let path = loc
        .get("path")
        .and_then(Value::as_str)
        .ok_or_else(|| missing("\"dependencyFileLocation.path\""))?;
    let line = loc
        .get("startLine")
        .ok_or_else(|| missing("\"dependencyFileLocation.startLine\""))?;
    let repository = v
        .repository_id
        .as_ref()
        .ok_or_else(|| missing("\"repositoryId\""))?;
    let refs = adv
        .get("references")
        .filter(|r| r.is_object())
        .ok_or_else(|| missing("\"advisory.references\""))?;
    let severity = severity(str_at(adv, "/severity"))?;
    let mut description = string_at(adv, "/description").unwrap_or_else(|| title.clone());
    let dep = |d: Option<&Value>| {
        d.and_then(|d| {
            let name = string_at(d, "/name")?;
            Some(match string_at(d, "/versionSpecifier") {
                Some(ver) => format!("{name} {ver}"),
                None => name,
            })
        })
    };
    if let Some(d) = dep(v.matched_dependency.as_ref()) {
        description.push_str(&format!("\n\n**Dependency:** {d}"));
    }
    // CVE ids go to the description: the reference parser does not report
    // them as vulnerability ids for this shape, and the scoring follows it.
    let cves = strings(adv.pointer("/references/cveIds"));
    if !cves.is_empty() {
        description.push_str(&format!("\n**CVE:** {}", cves.join(", ")));
    }
    if let Some(rule) = string_at(adv, "/ruleId") {
        description.push_str(&format!("\n**Advisory rule:** {rule}"));
    }
    if let Some(reach) = string_at(adv, "/reachability") {
        description.push_str(&format!("\n**Reachability:** {reach}"));
    }
    let urls = strings(adv.pointer("/references/urls"));
    Ok(Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity,
        description: clean_string(description),
        mitigation: dep(v.closest_safe_dependency.as_ref()).map(|d| format!("Upgrade to {d}.")),
        references: (!urls.is_empty()).then(|| urls.join("\n")),
        cwe: first_cwe(refs.get("cweIds"))?,
        file_path: non_empty_str(path),
        line: line_of(Some(line)),
        // The reference uses the listing's repository id as the tool's id.
        vuln_id_from_tool: palisade_plugin_sdk::json::value_to_string(repository),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        active: v
            .triage
            .as_ref()
            .and_then(|t| str_at(t, "/status"))
            .map(|s| !matches!(s, "FIXED" | "IGNORED")),
        ..Finding::default()
    })
}

#[cfg(test)]
mod tests;
