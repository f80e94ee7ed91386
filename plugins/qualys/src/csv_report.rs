//! The Qualys VM CSV detection export.

use palisade_plugin_sdk::csv::CsvRow;
use palisade_plugin_sdk::markdown::push_field;
use palisade_plugin_sdk::prelude::*;

use crate::{host_endpoint, level_severity};

/// Says whether a report head is a Qualys CSV export: its header names an IP,
/// a QID, a title and a severity column.
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
    ["IP", "QID", "Title", "Severity"]
        .iter()
        .all(|n| cols.iter().any(|c| c == n))
}

/// Parses a Qualys CSV export.
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let table = read_csv(report)?;
    table
        .require_columns(&["IP", "QID", "Title", "Severity"])
        .map_err(|e| ParseError::new(format!("not a Qualys CSV export: {}", e.message)))?;
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
    let qid = row
        .get("QID")
        .ok_or_else(|| row.error("a row without a QID"))?;
    let name = row.get("Title").unwrap_or("Qualys detection");
    // An unreadable level is kept as Info rather than rejecting the export.
    let severity = row
        .get("Severity")
        .and_then(level_severity)
        .unwrap_or(Severity::Info);
    let mut description = String::new();
    for col in [
        "IP",
        "DNS",
        "Type",
        "Port",
        "Protocol",
        "FQDN",
        "Vuln Status",
        "Category",
    ] {
        push_field(&mut description, col, row.get(col));
    }
    for col in ["Threat", "Results"] {
        if let Some(v) = row.get(col) {
            description.push_str(&format!("\n**{col}:**\n{}\n", html_to_text(v)));
        }
    }
    let cvss3 = row.get_any(&["CVSS3 Base", "CVSS3"]);
    Ok(Finding {
        title: truncate_chars(&format!("QID-{qid} | {name}"), 511).to_owned(),
        severity,
        description: clean(&description),
        impact: row.get("Impact").map(html_to_text),
        mitigation: row.get("Solution").map(html_to_text),
        references: row.get("Vendor Reference").map(str::to_owned),
        vulnerability_ids: row
            .get("CVE ID")
            .map(find_vulnerability_ids)
            .unwrap_or_default(),
        cvssv3_score: cvss3
            .and_then(|c| c.split_whitespace().next())
            .and_then(|s| s.parse().ok()),
        vuln_id_from_tool: Some(format!("qid_{qid}")),
        static_finding: Some(false),
        dynamic_finding: Some(true),
        is_mitigated: row
            .get("Vuln Status")
            .map(|s| s.eq_ignore_ascii_case("fixed")),
        endpoints: host_endpoint(row.get("DNS"), row.get("IP"))
            .into_iter()
            .collect(),
        ..Finding::default()
    })
}
