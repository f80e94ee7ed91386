//! CycloneDX JSON (1.4+): `{"bomFormat": "CycloneDX", "components": [...],
//! "vulnerabilities": [...]}`.

use palisade_plugin_sdk::json::{array_at, f64_at, parse_json_value, str_at, string_at};
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff;
use serde_json::Value;
use std::collections::HashMap;

use crate::{Component, Rating, Vuln, finding};

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
    if obj.get("bomFormat").and_then(Value::as_str) != Some("CycloneDX") {
        return Err(ParseError::new(
            "not a CycloneDX JSON BOM: the \"bomFormat\": \"CycloneDX\" marker is missing",
        ));
    }
    let vulns = match obj.get("vulnerabilities") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(
                ParseError::new("\"vulnerabilities\" must be a list").at_path("/vulnerabilities")
            );
        }
    };

    let mut components = HashMap::new();
    if let Some(meta) = doc.pointer("/metadata/component") {
        collect_components(meta, &mut components);
    }
    for c in array_at(&doc, "/components") {
        collect_components(c, &mut components);
    }

    let mut findings = Vec::new();
    for v in vulns {
        let vuln = read_vuln(v);
        let affects = array_at(v, "/affects");
        if affects.is_empty() {
            findings.push(finding(&vuln, &Component::default()));
        }
        for a in affects {
            let component = str_at(a, "/ref")
                .and_then(|r| components.get(r))
                .cloned()
                .unwrap_or_else(|| Component {
                    // An unknown ref still identifies the package when it is a purl.
                    purl: str_at(a, "/ref").map(str::to_owned),
                    ..Component::default()
                });
            findings.push(finding(&vuln, &component));
        }
    }
    Ok(findings)
}

/// Indexes a component and its nested components by `bom-ref` (iteratively:
/// nesting depth is bounded by the JSON parser, and this keeps the stack flat).
fn collect_components(root: &Value, out: &mut HashMap<String, Component>) {
    let mut stack = vec![root];
    while let Some(c) = stack.pop() {
        if let Some(r) = str_at(c, "/bom-ref") {
            out.insert(
                r.to_owned(),
                Component {
                    name: string_at(c, "/name"),
                    version: string_at(c, "/version"),
                    purl: string_at(c, "/purl"),
                },
            );
        }
        stack.extend(array_at(c, "/components"));
    }
}

/// Reads one entry of `vulnerabilities`.
fn read_vuln(v: &Value) -> Vuln {
    let ratings = array_at(v, "/ratings")
        .iter()
        .map(|r| Rating {
            severity: string_at(r, "/severity"),
            score: f64_at(r, "/score").map(|s| s as f32),
            method: string_at(r, "/method"),
            vector: string_at(r, "/vector"),
        })
        .collect();
    let cwes = array_at(v, "/cwes")
        .iter()
        .filter_map(|c| match c {
            Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            Value::String(s) => parse_cwe(s),
            _ => None,
        })
        .filter(|&c| c > 0)
        .collect();
    let advisories = array_at(v, "/advisories")
        .iter()
        .filter_map(|a| match (str_at(a, "/title"), str_at(a, "/url")) {
            (Some(t), Some(u)) => Some(format!("{t}: {u}")),
            (None, Some(u)) => Some(u.to_owned()),
            _ => None,
        })
        .collect();
    Vuln {
        id: string_at(v, "/id"),
        source: str_at(v, "/source/name").map(str::to_owned),
        aliases: array_at(v, "/references")
            .iter()
            .filter_map(|r| string_at(r, "/id"))
            .collect(),
        ratings,
        cwes,
        description: string_at(v, "/description"),
        detail: string_at(v, "/detail"),
        recommendation: string_at(v, "/recommendation"),
        advisories,
        state: string_at(v, "/analysis/state"),
        analysis_detail: string_at(v, "/analysis/detail"),
        published: string_at(v, "/published"),
    }
}
