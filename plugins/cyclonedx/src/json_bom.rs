//! CycloneDX JSON (1.4+): `{"bomFormat": "CycloneDX", "components": [...],
//! "vulnerabilities": [...]}`.

use palisade_plugin_sdk::json::{array_at, parse_json_value, str_at, string_at, value_to_string};
use palisade_plugin_sdk::markdown::push_field_display;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff;
use serde_json::Value;
use std::collections::HashMap;

use crate::{Component, Rating, Vuln, apply_cvss, finding, fix_severity};

/// Says whether a report head is CycloneDX JSON: it must carry the
/// `"bomFormat": "CycloneDX"` marker the specification requires.
pub fn looks_like(head: &[u8]) -> bool {
    if !palisade_plugin_sdk::json::starts_like_json(head) {
        return false;
    }
    let Some(pos) = sniff::find(head, b"\"bomFormat\"") else {
        return false;
    };
    let rest = &head[pos + 11..head.len().min(pos + 60)];
    sniff::contains(rest, b"\"CycloneDX\"")
}

/// Parses a CycloneDX JSON BOM.
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let doc = parse_json_value(report)?;
    let Some(obj) = doc.as_object() else {
        return Err(ParseError::new(
            "not a CycloneDX JSON BOM: expected a JSON object at the top level",
        ));
    };
    let vulns = match obj.get("vulnerabilities") {
        None => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(
                ParseError::new("\"vulnerabilities\" must be a list").at_path("/vulnerabilities")
            );
        }
    };
    let mut components = HashMap::new();
    match obj.get("components") {
        None => {}
        Some(Value::Array(list)) => collect_components(list, &mut components),
        Some(_) => {
            return Err(ParseError::new("\"components\" must be a list").at_path("/components"));
        }
    }
    let date = str_at(&doc, "/metadata/timestamp");

    let mut findings = Vec::new();
    for (i, v) in vulns.iter().enumerate() {
        let vuln = read_vuln(v, i)?;
        // Lists the reference iterates must not be null: advisories always,
        // the others once a vulnerability affects something.
        let null = |key: &str| v.get(key).is_some_and(Value::is_null);
        let affects = array_at(v, "/affects");
        let iterated_null = if null("advisories") || null("affects") {
            Some(if null("affects") {
                "affects"
            } else {
                "advisories"
            })
        } else if !affects.is_empty() {
            ["ratings", "references"].into_iter().find(|k| null(k))
        } else {
            None
        };
        if let Some(key) = iterated_null {
            return Err(
                ParseError::new(format!("\"{key}\" is null where a list is expected"))
                    .at_path(format!("/vulnerabilities/{i}/{key}")),
            );
        }
        for (j, a) in affects.iter().enumerate() {
            let Some(r) = a.get("ref") else {
                return Err(ParseError::new("an \"affects\" entry has no \"ref\"")
                    .at_path(format!("/vulnerabilities/{i}/affects/{j}")));
            };
            let component = match r.as_str().and_then(|r| components.get(r)) {
                Some(c) => component_of(c).ok_or_else(|| {
                    ParseError::new(format!(
                        "component {} has no \"name\"",
                        value_to_string(r).unwrap_or_default()
                    ))
                    .at_path("/components")
                })?,
                None => Component::default(),
            };
            findings.push(finding(&vuln, &component, date));
        }
    }
    Ok(findings)
}

/// Indexes components and their nested components by `bom-ref`; a parent
/// is recorded after its children (so it wins a shared bom-ref).
fn collect_components<'a>(list: &'a [Value], out: &mut HashMap<String, &'a Value>) {
    // Iterative post-order walk: nesting depth is bounded by the JSON parser,
    // and this keeps the stack flat.
    let mut stack: Vec<(&'a Value, bool)> = list.iter().rev().map(|c| (c, false)).collect();
    while let Some((c, expanded)) = stack.pop() {
        if expanded {
            if let Some(r) = c.get("bom-ref").and_then(value_to_string) {
                out.insert(r, c);
            }
            continue;
        }
        stack.push((c, true));
        stack.extend(array_at(c, "/components").iter().rev().map(|n| (n, false)));
    }
}

/// A referenced component's identity; `None` when it has no `name` key.
fn component_of(c: &Value) -> Option<Component> {
    let name = c.get("name")?;
    Some(Component {
        name: value_to_string(name),
        version: c.get("version").and_then(value_to_string),
        purl: string_at(c, "/purl"),
    })
}

/// Reads one entry of `vulnerabilities` (number `i`).
fn read_vuln(v: &Value, i: usize) -> Result<Vuln, ParseError> {
    let raw_ratings = array_at(v, "/ratings");
    let ratings: Vec<Rating> = raw_ratings
        .iter()
        .map(|r| Rating {
            severity: string_at(r, "/severity"),
            method: string_at(r, "/method"),
            vector: string_at(r, "/vector"),
        })
        .collect();
    let mut severity = match raw_ratings.first() {
        None => Severity::Medium,
        Some(first) => match first.get("severity") {
            None => Severity::Medium,
            Some(Value::String(s)) => fix_severity(s),
            Some(other) => {
                return Err(ParseError::new(format!(
                    "the first rating's severity must be a string, not {other}"
                ))
                .at_path(format!("/vulnerabilities/{i}/ratings/0/severity")));
            }
        },
    };
    let (cvssv3, cvssv3_score) = apply_cvss(&ratings, &["CVSSv3", "CVSSv31"], &mut severity);
    let cwes = array_at(v, "/cwes")
        .iter()
        .filter_map(|c| match c {
            Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            Value::String(s) => parse_cwe(s),
            _ => None,
        })
        .filter(|&c| c > 0)
        .collect();
    let mut references = String::new();
    for a in array_at(v, "/advisories") {
        push_field_display(&mut references, "Title", str_at(a, "/title"));
        push_field_display(&mut references, "URL", str_at(a, "/url"));
        references.push('\n');
    }
    let id = string_at(v, "/id");
    let mut vulnerability_ids: Vec<String> = id.iter().cloned().collect();
    vulnerability_ids.extend(
        array_at(v, "/references")
            .iter()
            .filter_map(|r| string_at(r, "/id")),
    );
    let description = match (string_at(v, "/description"), string_at(v, "/detail")) {
        (Some(d), Some(x)) => Some(format!("{d}\n{x}")),
        (d, x) => d.or(x),
    };
    Ok(Vuln {
        id,
        vulnerability_ids,
        severity,
        cvssv3,
        cvssv3_score,
        cwes,
        description,
        recommendation: string_at(v, "/recommendation"),
        references: (!references.is_empty()).then_some(references),
        state: string_at(v, "/analysis/state"),
        analysis_detail: string_at(v, "/analysis/detail"),
    })
}
