//! Snyk Code's SARIF 2.1 output (`snyk code test --sarif`), read as the
//! reference reads SARIF: one finding per location of each failed result,
//! titled "ruleId_file", its severity from Snyk's priority score.

use palisade_plugin_sdk::json::{get_array, get_str, get_strs};
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

/// Parses every run's results the way the reference's SARIF parser does,
/// with Snyk Code's title and priority-score severity.
pub fn parse(data: &Value) -> Result<Vec<Finding>, ParseError> {
    let mut out = Vec::new();
    for run in get_array(data, "runs") {
        let driver = run
            .pointer("/tool/driver")
            .ok_or_else(|| ParseError::new("a SARIF run without \"tool.driver\""))?;
        // Rules live on the driver; when it has none, on all the extensions.
        let mut rules: Vec<&Value> = get_array(driver, "rules").iter().collect();
        if rules.is_empty() {
            rules = run
                .pointer("/tool/extensions")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .flat_map(|e| get_array(e, "rules"))
                .collect();
        }
        for result in get_array(run, "results") {
            // Only failures ("fail" is the default kind) are findings.
            if result
                .get("kind")
                .and_then(Value::as_str)
                .is_some_and(|k| k != "fail")
            {
                continue;
            }
            let rule_id = result.get("ruleId").and_then(Value::as_str);
            let rule = rule_id.and_then(|id| {
                rules
                    .iter()
                    .rev()
                    .find(|r| r.get("id").and_then(Value::as_str) == Some(id))
                    .copied()
            });
            let locations = get_array(result, "locations");
            if locations.is_empty() {
                out.push(finding(result, rule_id, rule, None)?);
            }
            for location in locations {
                out.push(finding(result, rule_id, rule, Some(location))?);
            }
        }
    }
    Ok(out)
}

/// The CWEs of a result, the primary one last: the rule's `properties.cwe`
/// (else its tags), then the result's `properties.cwe`, then CWE taxa.
fn cwes(result: &Value, rule: Option<&Value>) -> (Option<u32>, Vec<u32>) {
    let rule_cwes: Vec<u32> = rule
        .map(|r| {
            if let Some(Value::Array(rels)) = r.get("relationships") {
                return rels
                    .iter()
                    .filter_map(|x| x.pointer("/target/id").and_then(Value::as_str))
                    .filter_map(cwe_in)
                    .collect();
            }
            match r.pointer("/properties/cwe") {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .filter_map(cwe_in)
                    .collect(),
                Some(other) => other.as_str().and_then(cwe_in).into_iter().collect(),
                None => r
                    .pointer("/properties/tags")
                    .map(|t| get_strs_of(t).filter_map(cwe_in).collect())
                    .unwrap_or_default(),
            }
        })
        .unwrap_or_default();
    let result_cwes: Vec<u32> = result
        .pointer("/properties/cwe")
        .and_then(Value::as_str)
        .and_then(cwe_in)
        .into_iter()
        .collect();
    let taxa: Vec<u32> = get_array(result, "taxa")
        .iter()
        .filter(|t| t.pointer("/toolComponent/name").and_then(Value::as_str) == Some("CWE"))
        .filter_map(|t| match t.get("id")? {
            Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            Value::String(s) => s
                .trim()
                .parse()
                .ok()
                .or_else(|| cwe_in(&format!("CWE-{s}"))),
            _ => None,
        })
        .collect();
    let sources = [rule_cwes, result_cwes, taxa];
    let primary = sources.iter().rev().find_map(|s| s.last().copied());
    let mut all: Vec<u32> = Vec::new();
    for c in sources.iter().flatten() {
        if !all.contains(c) && Some(*c) != primary {
            all.push(*c);
        }
    }
    (primary, all)
}

fn get_strs_of(v: &Value) -> impl Iterator<Item = &str> {
    v.as_array()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter_map(Value::as_str)
}

/// `fingerprints`: the first method's value, a method ("name/vN") keeping
/// its highest version; else `partialFingerprints` as sorted "method:value|...".
fn unique_id(result: &Value) -> Option<String> {
    let methods = |fp: &serde_json::Map<String, Value>| {
        let mut m: Vec<(String, i64, String)> = Vec::new();
        for (key, value) in fp {
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
            match m.iter_mut().find(|(x, _, _)| *x == method) {
                Some(slot) if slot.1 < version => {
                    slot.1 = version;
                    slot.2 = value;
                }
                Some(_) => {}
                None => m.push((method, version, value)),
            }
        }
        m
    };
    if let Some(fp) = result
        .get("fingerprints")
        .and_then(Value::as_object)
        .filter(|f| !f.is_empty())
    {
        // serde_json keeps keys sorted, not in document order; Snyk Code's
        // keys are "0", "1", ... so the order is the same.
        return methods(fp)
            .into_iter()
            .next()
            .map(|(_, _, v)| v)
            .filter(|v| !v.is_empty());
    }
    let partial = result
        .get("partialFingerprints")
        .and_then(Value::as_object)
        .filter(|f| !f.is_empty())?;
    let mut parts = methods(partial);
    parts.sort_by(|a, b| a.0.cmp(&b.0));
    let joined: Vec<String> = parts.iter().map(|(k, _, v)| format!("{k}:{v}")).collect();
    Some(joined.join("|")).filter(|j| !j.is_empty())
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

fn finding(
    result: &Value,
    rule_id: Option<&str>,
    rule: Option<&Value>,
    location: Option<&Value>,
) -> Result<Finding, ParseError> {
    let physical = location.and_then(|l| l.get("physicalLocation"));
    let uri = match physical {
        Some(p) => Some(
            p.pointer("/artifactLocation/uri")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    ParseError::new("a SARIF physical location without \"artifactLocation.uri\"")
                })?,
        ),
        None => None,
    };
    let line = match physical.and_then(|p| p.get("region")) {
        Some(region) if region.get("byteOffset").is_none() => {
            let start = region.get("startLine").ok_or_else(|| {
                ParseError::new("a SARIF region without \"startLine\" (nor \"byteOffset\")")
            })?;
            start
                .as_u64()
                .and_then(|l| u32::try_from(l).ok())
                .filter(|l| *l > 0)
        }
        _ => None,
    };
    // Snyk ranks issues by a priority score (0-1000) that weighs severity with
    // fix examples, occurrences and data flow; a missing score is 0.
    let priority = result
        .pointer("/properties/priorityScore")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let severity = if priority <= 399.0 {
        Severity::Low
    } else if priority <= 699.0 {
        Severity::Medium
    } else if priority <= 899.0 {
        Severity::High
    } else {
        Severity::Critical
    };
    let (cwe, extra_cwes) = cwes(result, rule);
    let name = rule_id.unwrap_or("");
    let title = match uri {
        Some(u) if !name.is_empty() && !u.is_empty() => format!("{name}_{u}"),
        _ if name.is_empty() => "Snyk Code issue".to_owned(),
        _ => name.to_owned(),
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
    push_field(
        &mut description,
        "Priority score",
        Some(&priority.to_string()),
    );
    let props = rule.and_then(|r| r.get("properties"));
    Ok(Finding {
        title,
        severity,
        description: clean_string(description),
        mitigation: rule
            .and_then(|r| r.get("help"))
            .and_then(|h| get_str(h, "markdown").or_else(|| get_str(h, "text")))
            .map(clean),
        cwe,
        extra_cwes,
        vulnerability_ids: rule_id.and_then(cve_in).into_iter().collect(),
        file_path: uri.filter(|u| !u.is_empty()).map(str::to_owned),
        line,
        unique_id_from_tool: unique_id(result),
        vuln_id_from_tool: rule_id.map(str::to_owned),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        tags: props
            .map(|p| get_strs(p, "tags").map(str::to_owned).collect())
            .unwrap_or_default(),
        ..Finding::default()
    })
}
