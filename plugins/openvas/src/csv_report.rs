//! The OpenVAS / Greenbone CSV results export.

use palisade_plugin_sdk::csv::CsvRow;
use palisade_plugin_sdk::prelude::*;

use crate::{port_endpoint, threat_severity};

/// Says whether a report head is an OpenVAS CSV export: its header names the
/// NVT columns and the host address.
pub fn looks_like(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let end = head.iter().position(|b| *b == b'\n').unwrap_or(head.len());
    let Ok(line) = std::str::from_utf8(&head[..end]) else {
        return false;
    };
    let cols: Vec<&str> = line
        .split(',')
        .map(|c| c.trim().trim_matches('"'))
        .collect();
    ["IP", "NVT Name", "NVT OID"]
        .iter()
        .all(|n| cols.iter().any(|c| c.eq_ignore_ascii_case(n)))
}

/// Parses an OpenVAS CSV export.
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let table = read_csv(report)?;
    table
        .require_columns(&["IP", "NVT Name"])
        .map_err(|e| ParseError::new(format!("not an OpenVAS CSV export: {}", e.message)))?;
    let mut out = Vec::with_capacity(table.len());
    for row in table.rows() {
        if row.cells().iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        out.push(row_finding(&row)?);
    }
    Ok(out)
}

fn row_finding(row: &CsvRow<'_>) -> Result<Finding, ParseError> {
    let title = row
        .get("NVT Name")
        .ok_or_else(|| row.error("a row without an NVT Name"))?;
    let cvss = row.get("CVSS").and_then(|c| c.parse::<f32>().ok());
    let severity = row
        .get("Severity")
        .and_then(threat_severity)
        .or_else(|| cvss.map(severity_from_cvss))
        .unwrap_or(Severity::Info);
    // The host name when the scanner resolved one, else the address.
    let host = row.get("Hostname").or_else(|| row.get("IP"));
    let endpoints: Vec<Endpoint> = host
        .and_then(|h| port_endpoint(h, row.get("Port"), row.get("Port Protocol")))
        .into_iter()
        .collect();
    let mut description = String::new();
    for col in [
        "Summary",
        "Specific Result",
        "Vulnerability Insight",
        "Vulnerability Detection Method",
        "Product Detection Result",
        "Affected Software/OS",
    ] {
        if let Some(v) = row.get(col) {
            description.push_str(&format!("**{col}:**\n{v}\n\n"));
        }
    }
    if let Some(oid) = row.get("NVT OID") {
        description.push_str(&format!("**NVT OID:** {oid}\n"));
    }
    if let Some(ip) = row.get("IP") {
        description.push_str(&format!("**IP:** {ip}\n"));
    }
    let references = [
        row.get("Other References"),
        row.get("CERTs"),
        row.get("BIDs"),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("\n");
    Ok(Finding {
        title: truncate_chars(title, 511).to_owned(),
        severity,
        description: clean(&description),
        mitigation: row.get("Solution").map(str::to_owned),
        impact: row.get("Impact").map(str::to_owned),
        references: non_empty_str(&references),
        vulnerability_ids: row
            .get("CVEs")
            .map(find_vulnerability_ids)
            .unwrap_or_default(),
        cvssv3_score: cvss,
        // The reference importer leaves the NVT OID out of the CSV findings (it is
        // in the description); setting it here would break their identity.
        static_finding: Some(false),
        dynamic_finding: Some(true),
        endpoints,
        date: row.get("Timestamp").map(|t| t.chars().take(10).collect()),
        ..Finding::default()
    })
}
