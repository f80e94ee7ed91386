//! Snyk Code's SARIF 2.1 output (`snyk code test --sarif`): one finding per
//! result, at its first location, with the rule's CWE.

use palisade_plugin_sdk::json::{get_array, get_f64, get_str, get_strs};
use palisade_plugin_sdk::markdown::push_field;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use serde_json::Value;

/// Recognises Snyk Code SARIF.
pub fn looks_like(head: &[u8]) -> bool {
    contains(head, b"\"runs\"")
        && (contains(head, b"\"SnykCode\"") || contains(head, b"\"Snyk Code\""))
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(|t| get_str(t, "text").or_else(|| get_str(t, "markdown")))
}

/// Parses every run's results.
pub fn parse(data: &Value) -> Result<Vec<Finding>, ParseError> {
    if !data.get("runs").is_some_and(Value::is_array) {
        return Err(ParseError::new("invalid SARIF: \"runs\" is not an array"));
    }
    let mut out = Vec::new();
    for run in get_array(data, "runs") {
        let rules = run
            .pointer("/tool/driver/rules")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        for result in get_array(run, "results") {
            let rule_id = get_str(result, "ruleId");
            let rule = result
                .get("ruleIndex")
                .and_then(Value::as_u64)
                .and_then(|i| rules.get(usize::try_from(i).ok()?))
                .filter(|r| get_str(r, "id") == rule_id)
                .or_else(|| rules.iter().find(|r| get_str(r, "id") == rule_id));
            out.push(finding(result, rule_id, rule));
        }
    }
    Ok(out)
}

fn finding(result: &Value, rule_id: Option<&str>, rule: Option<&Value>) -> Finding {
    let location = get_array(result, "locations")
        .first()
        .and_then(|l| l.get("physicalLocation"));
    let uri = location
        .and_then(|l| l.get("artifactLocation"))
        .and_then(|a| get_str(a, "uri"));
    let region = location.and_then(|l| l.get("region"));
    let line = region
        .and_then(|r| get_f64(r, "startLine"))
        .filter(|l| *l >= 1.0 && *l <= f64::from(u32::MAX))
        .map(|l| l as u32);
    let level = get_str(result, "level").or_else(|| {
        rule.and_then(|r| r.get("defaultConfiguration"))
            .and_then(|c| get_str(c, "level"))
    });
    // Snyk ranks issues by a priority score (0-1000) that weighs severity with
    // fix examples, occurrences and data flow; it is finer than the SARIF level.
    let priority = result
        .pointer("/properties/priorityScore")
        .and_then(Value::as_f64);
    let severity = match (priority, level) {
        (Some(p), _) if p >= 900.0 => Severity::Critical,
        (Some(p), _) if p >= 700.0 => Severity::High,
        (Some(p), _) if p >= 400.0 => Severity::Medium,
        (Some(_), _) => Severity::Low,
        (None, Some("error")) => Severity::High,
        (None, Some("warning")) => Severity::Medium,
        (None, Some("note")) => Severity::Low,
        (None, _) => Severity::Info,
    };
    let props = rule.and_then(|r| r.get("properties"));
    // Rules list the general CWE first and the specific one last (e.g.
    // CWE-798 hard-coded credentials, then CWE-259 hard-coded password):
    // the most specific one is the primary CWE.
    let mut cwes: Vec<u32> = props
        .map(|p| get_strs(p, "cwe").filter_map(parse_cwe).collect())
        .unwrap_or_default();
    cwes.reverse();
    let name = rule_id.unwrap_or("Snyk Code issue");
    let title = match uri {
        Some(u) => format!("{name}_{u}"),
        None => name.to_owned(),
    };
    let mut description = String::new();
    if let Some(short) = rule.and_then(|r| text(r, "shortDescription")) {
        description.push_str(short);
        description.push_str("\n\n");
    }
    if let Some(message) = text(result, "message") {
        description.push_str(message);
        description.push_str("\n\n");
    }
    push_field(&mut description, "Rule", rule_id);
    push_field(&mut description, "File", uri);
    if let Some(l) = line {
        push_field(&mut description, "Line", Some(&l.to_string()));
    }
    if let Some(score) = priority {
        push_field(&mut description, "Priority score", Some(&score.to_string()));
    }
    let fingerprint = result.get("fingerprints").and_then(|f| {
        f.get("0")
            .or_else(|| f.as_object().and_then(|m| m.values().next()))
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    Finding {
        title,
        severity,
        description: clean(&description),
        mitigation: rule
            .and_then(|r| r.get("help"))
            .and_then(|h| get_str(h, "markdown").or_else(|| get_str(h, "text")))
            .map(clean),
        cwe: cwes.first().copied(),
        extra_cwes: cwes.iter().skip(1).copied().collect(),
        file_path: uri.map(str::to_owned),
        line,
        unique_id_from_tool: fingerprint,
        vuln_id_from_tool: rule_id.map(str::to_owned),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        tags: props
            .map(|p| get_strs(p, "tags").map(str::to_owned).collect())
            .unwrap_or_default(),
        ..Finding::default()
    }
}
