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
    results: Option<Vec<CliResult>>,
    vulns: Option<Vec<ScaVuln>>,
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
        PluginInfo {
            name: "semgrep".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "Semgrep JSON output (semgrep --json) or Supply Chain findings"
                    .to_owned(),
                file_kinds: vec!["json".to_owned()],
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
        looks_like(head).then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        if scan_type != SCAN_TYPE {
            return Err(ParseError::new(format!(
                "the semgrep plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
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

/// Parses a whole Semgrep report.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let report: Report = parse_json(report).map_err(|mut e| {
        e.message = format!("not a Semgrep JSON report: {}", e.message);
        e
    })?;
    match (report.results, report.vulns) {
        (Some(results), _) => Ok(merge(results.iter().map(cli_finding))),
        (None, Some(vulns)) => Ok(merge(vulns.iter().map(sca_finding))),
        (None, None) => Err(ParseError::new(
            "not a Semgrep JSON report: expected a \"results\" array (semgrep --json) \
             or a \"vulns\" array (Supply Chain findings)",
        )),
    }
}

/// Merges findings with the same title, file and line, counting occurrences.
fn merge(findings: impl Iterator<Item = Finding>) -> Vec<Finding> {
    let mut out = Collector::new();
    for f in findings {
        let key = (f.title.clone(), f.file_path.clone(), f.line);
        out.add_with(key, f, |kept, _| count_occurrence(kept));
    }
    out.into_findings()
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
/// CRITICAL/HIGH/MEDIUM/LOW words.
fn severity(word: Option<&str>) -> Severity {
    match word.map(|w| w.trim().to_ascii_uppercase()).as_deref() {
        Some("CRITICAL") => Severity::Critical,
        Some("ERROR" | "HIGH") => Severity::High,
        Some("WARNING" | "MEDIUM") => Severity::Medium,
        Some("INFO" | "LOW") => Severity::Low,
        _ => Severity::Info,
    }
}

/// The first CWE of a metadata "cwe" entry (a string or a list of strings).
fn first_cwe(v: Option<&Value>) -> Option<u32> {
    match v? {
        Value::String(s) => parse_cwe(s),
        Value::Array(a) => a.iter().filter_map(Value::as_str).find_map(parse_cwe),
        _ => None,
    }
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

fn cli_finding(r: &CliResult) -> Finding {
    let empty = Extra::default();
    let extra = r.extra.as_ref().unwrap_or(&empty);
    let meta = extra.metadata.as_ref();
    let check_id = non_empty(r.check_id.as_deref());
    let title = check_id
        .clone()
        .unwrap_or_else(|| "Semgrep finding".to_owned());
    let mut description = non_empty(extra.message.as_deref()).unwrap_or_else(|| title.clone());
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
    Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity: severity(extra.severity.as_deref()),
        description: clean(&description),
        mitigation: non_empty(extra.fix.as_deref())
            .map(|f| format!("Suggested fix:\n```\n{f}\n```")),
        references: (!references.is_empty()).then(|| references.join("\n")),
        cwe: first_cwe(meta.and_then(|m| m.get("cwe"))),
        file_path: non_empty(r.path.as_deref()),
        line: line_of(r.start.as_ref().and_then(|s| s.line.as_ref())),
        unique_id_from_tool: fingerprint,
        vuln_id_from_tool: check_id,
        static_finding: Some(true),
        dynamic_finding: Some(false),
        false_p: extra.is_ignored.filter(|i| *i),
        ..Finding::default()
    }
}

fn sca_finding(v: &ScaVuln) -> Finding {
    let null = Value::Null;
    let adv = v.advisory.as_ref().unwrap_or(&null);
    let loc = v.dependency_file_location.as_ref().unwrap_or(&null);
    let title = non_empty(v.title.as_deref())
        .or_else(|| string_at(adv, "/title"))
        .unwrap_or_else(|| "Semgrep Supply Chain finding".to_owned());
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
    Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity: severity(str_at(adv, "/severity")),
        description: clean(&description),
        mitigation: dep(v.closest_safe_dependency.as_ref()).map(|d| format!("Upgrade to {d}.")),
        references: (!urls.is_empty()).then(|| urls.join("\n")),
        cwe: first_cwe(adv.pointer("/references/cweIds")),
        file_path: string_at(loc, "/path"),
        line: line_of(loc.get("startLine")),
        // The reference uses the listing's repository id as the tool's id.
        vuln_id_from_tool: v
            .repository_id
            .as_ref()
            .and_then(palisade_plugin_sdk::json::value_to_string),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        active: v
            .triage
            .as_ref()
            .and_then(|t| str_at(t, "/status"))
            .map(|s| !matches!(s, "FIXED" | "IGNORED")),
        ..Finding::default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
