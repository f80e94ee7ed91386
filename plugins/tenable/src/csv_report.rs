//! The CSV exports of Nessus, Tenable.sc and Tenable WAS.
//!
//! Column names differ between products (`Plugin ID` vs `Plugin`, `Risk` vs
//! `Severity`, `Host` vs `IP Address`, `Name` vs `Plugin Name`); each is looked
//! up under all its names. Rows of the same plugin, severity and port on several
//! hosts are merged into one finding with one endpoint per host.

use std::collections::HashMap;

use palisade_plugin_sdk::cpe;
use palisade_plugin_sdk::csv::CsvRow;
use palisade_plugin_sdk::prelude::*;

use crate::{host_endpoint, tenable_severity};

const PLUGIN: &[&str] = &["Plugin ID", "Plugin"];
const NAME: &[&str] = &["Name", "Plugin Name"];
const RISK: &[&str] = &["Risk", "Severity", "Risk Factor"];
const HOST: &[&str] = &["Host", "IP Address", "DNS Name"];

/// Says whether a report head is a Tenable CSV export: its header row names a
/// plugin, a risk/severity, a host and a plugin name column.
pub fn looks_like(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let line_end = head.iter().position(|b| *b == b'\n').unwrap_or(head.len());
    let Ok(line) = std::str::from_utf8(&head[..line_end]) else {
        return false;
    };
    let cols: Vec<String> = line
        .split(',')
        .map(|c| c.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    let has = |names: &[&str]| {
        names
            .iter()
            .any(|n| cols.iter().any(|c| c == &n.to_ascii_lowercase()))
    };
    has(PLUGIN) && has(NAME) && has(&["Risk", "Severity"]) && has(HOST) && has(&["Port"])
}

/// Parses a Tenable CSV export.
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let table = read_csv(report)?;
    let missing: Vec<&str> = [
        ("Plugin ID", PLUGIN),
        ("Name", NAME),
        ("Risk", RISK),
        ("Host", HOST),
    ]
    .iter()
    .filter(|(_, names)| !names.iter().any(|n| table.has_column(n)))
    .map(|(label, _)| *label)
    .collect();
    if !missing.is_empty() {
        return Err(ParseError::new(format!(
            "not a Tenable CSV export: no column for {} (found columns: {})",
            missing.join(", "),
            table.headers().join(", ")
        )));
    }
    let mut findings: Vec<Finding> = Vec::new();
    let mut index: HashMap<(String, Severity, String, String), usize> = HashMap::new();
    for row in table.rows() {
        let Some(title) = row.get_any(NAME) else {
            // Tenable WAS pads its export with empty rows.
            if row.cells().iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            return Err(row.error("a row without a plugin name"));
        };
        let finding = row_finding(&row, title)?;
        let key = (
            title.to_owned(),
            finding.severity,
            row.get("Port").unwrap_or_default().to_owned(),
            row.get("Protocol").unwrap_or_default().to_lowercase(),
        );
        if let Some(&i) = index.get(&key) {
            if let Some(existing) = findings.get_mut(i) {
                existing.endpoints.extend(finding.endpoints);
            }
        } else {
            index.insert(key, findings.len());
            findings.push(finding);
        }
    }
    Ok(findings)
}

fn row_finding(row: &CsvRow<'_>, title: &str) -> Result<Finding, ParseError> {
    // An unknown risk word falls back to the CVSS v3 score, then Info, rather
    // than rejecting the whole export.
    let severity = row
        .get_any(RISK)
        .and_then(tenable_severity)
        .or_else(|| {
            row.get_any(&["CVSS V3 Base Score", "CVSS v3.0 Base Score", "CVSSv3"])
                .and_then(|s| s.parse::<f32>().ok())
                .map(severity_from_cvss)
        })
        .unwrap_or(Severity::Info);
    let host = row
        .get("Host")
        .or_else(|| row.get("IP Address"))
        .or_else(|| row.get("DNS Name"));
    let endpoints: Vec<Endpoint> = host
        .and_then(|h| host_endpoint(h, row.get("Protocol"), row.get("Port")))
        .into_iter()
        .collect();
    let mut description = String::new();
    for (label, col) in [
        ("Synopsis", "Synopsis"),
        ("Description", "Description"),
        ("Plugin Output", "Plugin Output"),
    ] {
        if let Some(v) = row.get(col) {
            if !description.is_empty() {
                description.push_str("\n\n");
            }
            description.push_str(&format!("**{label}:**\n{v}"));
        }
    }
    if description.is_empty() {
        description = title.to_owned();
    }
    let vulnerability_ids = row
        .get("CVE")
        .map(find_vulnerability_ids)
        .unwrap_or_default();
    let (component_name, component_version) = row
        .get("CPE")
        .map(cpe::product_and_version)
        .unwrap_or_default();
    let cvssv3 = row
        .get_any(&["CVSS V3 Vector", "CVSS v3.0 Vector"])
        .and_then(|v| cvss3_from_str(v).ok());
    let cvssv3_score = row
        .get_any(&["CVSS V3 Base Score", "CVSS v3.0 Base Score", "CVSSv3"])
        .and_then(|s| s.parse::<f32>().ok());
    let cwes: Vec<u32> = row
        .get_any(&["Cross References", "XREF"])
        .map(|x| {
            x.split([',', ' ', '\n'])
                .filter(|p| p.to_ascii_uppercase().starts_with("CWE"))
                .filter_map(parse_cwe)
                .collect()
        })
        .unwrap_or_default();
    Ok(Finding {
        title: truncate_chars(title, 511).to_owned(),
        severity,
        description,
        mitigation: row
            .get("Solution")
            .filter(|s| *s != "n/a")
            .map(str::to_owned),
        references: row.get("See Also").map(str::to_owned),
        cwe: cwes.first().copied(),
        extra_cwes: cwes.iter().skip(1).copied().collect(),
        vulnerability_ids,
        cvssv3: cvssv3.map(|c| c.vector()),
        cvssv3_score,
        component_name,
        component_version,
        static_finding: Some(false),
        dynamic_finding: Some(true),
        endpoints,
        extra: row
            .get_any(PLUGIN)
            .map(|p| vec![("plugin_id".to_owned(), p.to_owned())])
            .unwrap_or_default(),
        ..Finding::default()
    })
}
