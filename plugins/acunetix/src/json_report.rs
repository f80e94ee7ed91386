//! Acunetix 360 JSON: `{"Generated", "Target": {"Url", ...}, "Vulnerabilities": [...]}`.

use std::collections::HashMap;

use palisade_plugin_sdk::json::{array_at, parse_json_value, str_at, string_at};
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::{contains, contains_ignore_ascii_case};
use palisade_plugin_sdk::text::join_non_empty;
use serde_json::Value;

/// Says whether a report head is Acunetix 360 JSON.
///
/// Netsparker and Invicti export exactly the same structure ("Generated",
/// "Target" with a "ScanId", "Vulnerabilities"), so the head must also name
/// Acunetix (its request headers say "X-Scanner: Acunetix360", its links point
/// to acunetix.com). An export without findings carries no such mark and
/// cannot be told apart; it is left to the caller's explicit scan type.
pub fn looks_like(head: &[u8]) -> bool {
    let has = |k: &[u8]| contains(head, k);
    palisade_plugin_sdk::json::starts_like_json(head)
        && has(b"\"Generated\"")
        && has(b"\"Target\"")
        && (has(b"\"ScanId\"") || has(b"\"Vulnerabilities\""))
        && contains_ignore_ascii_case(head, b"acunetix")
}

/// Parses an Acunetix 360 JSON report: one finding per vulnerability name,
/// later vulnerabilities with the same name adding their URL.
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let doc = parse_json_value(report)?;
    let Some(obj) = doc.as_object() else {
        return Err(ParseError::new(
            "not an Acunetix 360 JSON report: expected a JSON object at the top level",
        ));
    };
    if !obj.contains_key("Generated") {
        return Err(ParseError::new(
            "not an Acunetix 360 JSON report: there is no \"Generated\" date",
        ));
    }
    let vulns = match obj.get("Vulnerabilities") {
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(
                ParseError::new("\"Vulnerabilities\" must be a list").at_path("/Vulnerabilities")
            );
        }
        None => {
            return Err(ParseError::new(
                "not an Acunetix 360 JSON report: there is no \"Vulnerabilities\" list",
            ));
        }
    };
    let mut out: Vec<Finding> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, v) in vulns.iter().enumerate() {
        let f = vuln_finding(v).map_err(|e| e.at_path(format!("/Vulnerabilities/{i}")))?;
        match index.get(&f.title) {
            Some(&k) => {
                if let Some(kept) = out.get_mut(k) {
                    kept.endpoints.extend(f.endpoints);
                }
            }
            None => {
                index.insert(f.title.clone(), out.len());
                out.push(f);
            }
        }
    }
    Ok(out)
}

/// Turns Acunetix 360's "16/06/2021 12:30 PM" into "2021-06-16T12:30:00".
pub fn iso_date(s: &str) -> Option<String> {
    let mut parts = s.split_whitespace();
    let date = parts.next()?;
    let time = parts.next()?;
    let ampm = parts.next().map(str::to_ascii_uppercase);
    let mut d = date.split('/').map(|x| x.parse::<u32>().ok());
    let (day, month, year) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.split(':').map(|x| x.parse::<u32>().ok());
    let (mut hour, minute) = (t.next()??, t.next()??);
    match ampm.as_deref() {
        Some("PM") if hour < 12 => hour += 12,
        Some("AM") if hour == 12 => hour = 0,
        _ => {}
    }
    let valid = (1..=31).contains(&day) && (1..=12).contains(&month) && hour < 24 && minute < 60;
    valid.then(|| format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:00"))
}

/// A key the reference reads with `item[key]`: its absence rejects the report.
fn required<'a>(v: &'a Value, key: &str) -> Result<&'a Value, ParseError> {
    v.get(key).ok_or_else(|| {
        ParseError::new(format!(
            "an Acunetix 360 vulnerability has no \"{key}\" key"
        ))
    })
}

/// A nullable text field: null is `None`; a non-string rejects.
fn opt_text<'a>(v: &'a Value, key: &str) -> Result<Option<&'a str>, ParseError> {
    match required(v, key)? {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        other => Err(ParseError::new(format!(
            "an Acunetix 360 vulnerability has \"{key}\": {other}, expected text"
        ))),
    }
}

/// Reads one vulnerability.
fn vuln_finding(v: &Value) -> Result<Finding, ParseError> {
    let name = match required(v, "Name")? {
        Value::String(s) => s.clone(),
        other => {
            return Err(ParseError::new(format!(
                "an Acunetix 360 vulnerability has \"Name\": {other}, expected text"
            )));
        }
    };
    // Only the five names count, as written; anything else is Info.
    let severity = match required(v, "Severity")?.as_str() {
        Some("Critical") => Severity::Critical,
        Some("High") => Severity::High,
        Some("Medium") => Severity::Medium,
        Some("Low") => Severity::Low,
        _ => Severity::Info,
    };
    let classification = required(v, "Classification")?;
    let mut cwes: Vec<u32> = Vec::new();
    let mut cvss = None;
    if !classification.is_null() {
        if let Some(c) = classification.get("Cwe") {
            let c = c.as_str().ok_or_else(|| {
                ParseError::new(format!("{name:?}: Classification.Cwe is not text"))
            })?;
            cwes = c
                .split(',')
                .filter_map(|p| p.trim().parse::<u32>().ok())
                .collect();
        }
        let cv = classification.get("Cvss").ok_or_else(|| {
            ParseError::new(format!("{name:?}: Classification has no \"Cvss\" key"))
        })?;
        if !cv.is_null() {
            cvss = str_at(cv, "/Vector").and_then(|s| cvss3_from_str(s).ok());
        }
    }
    let remedial = opt_text(v, "RemedialProcedure")?;
    let remedy_refs = opt_text(v, "RemedyReferences")?;
    let impact = opt_text(v, "Impact")?;
    let url = opt_text(v, "Url")?;
    for part in ["HttpRequest", "HttpResponse"] {
        required(required(v, part)?, "Content")?;
    }
    let state = opt_text(v, "State")?.unwrap_or("");
    let states: Vec<&str> = state.split(',').map(str::trim).collect();
    let accepted = states.contains(&"AcceptedRisk");
    let false_p = !accepted && states.contains(&"FalsePositive");

    let references = join_non_empty(
        [
            str_at(v, "/LookupId")
                .map(|id| format!("https://online.acunetix360.com/issues/detail/{id}")),
            remedy_refs.map(html_to_text),
        ]
        .into_iter()
        .flatten(),
        "\n",
    );
    let steps = str_at(v, "/HttpRequest/Content")
        .filter(|r| !r.is_empty())
        .map(|r| format!("Request:\n{}", truncate_chars(r, 20_000)));
    let tags = array_at(v, "/Tags")
        .iter()
        .filter_map(|t| string_at(t, ""))
        .collect();
    let description = str_at(v, "/Description")
        .map(html_to_text)
        .unwrap_or_default();

    Ok(Finding {
        title: truncate_chars(&name, 511).to_owned(),
        severity,
        description,
        mitigation: remedial.map(html_to_text),
        impact: impact.map(html_to_text),
        references,
        cwe: cwes.first().copied(),
        extra_cwes: cwes.iter().skip(1).copied().collect(),
        cvssv3: cvss.as_ref().map(palisade_plugin_sdk::Cvss3::vector),
        cvssv3_score: cvss.as_ref().map(palisade_plugin_sdk::Cvss3::base_score),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        endpoints: url.and_then(endpoint_from_url).into_iter().collect(),
        steps_to_reproduce: steps,
        date: str_at(v, "/FirstSeenDate").and_then(iso_date),
        tags,
        false_p: false_p.then_some(true),
        risk_accepted: accepted.then_some(true),
        active: (false_p || accepted).then_some(false),
        ..Finding::default()
    })
}
