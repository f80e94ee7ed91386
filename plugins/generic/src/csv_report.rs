//! The CSV flavour of the Generic Findings Import.
//!
//! A header row names the columns; names are matched case-insensitively but
//! otherwise exactly, as DefectDojo does (a padded " Url" is not `Url`). `Title` and `Severity` are required
//! columns and need a value in every row. Recognised columns:
//!
//! | column | finding field |
//! |---|---|
//! | `Date` | date (`MM/DD/YYYY`, `DD/MM/YYYY` when unambiguous, or ISO) |
//! | `Title`, `Severity`, `Description` | same (description falls back to the title) |
//! | `CweId` (or `CWE`) | cwe (0 means none) |
//! | `Url` | one endpoint |
//! | `Mitigation`, `Impact`, `References` | same |
//! | `Active`, `Verified`, `FalsePositive`, `IsMitigated` | active, verified, false_p, is_mitigated |
//! | `MitigatedDate` | mitigated |
//! | `CVE` (or `Vulnerability Id`) | vulnerability ids (comma-separated) |
//! | `CVSSV3`, `CVSSV4` | cvssv3, cvssv4 (validated) |
//! | `epss_score`, `epss_percentile`, `fix_available`, `fix_version` | same |
//! | `ComponentName`, `ComponentVersion`, `FilePath`, `Line` | same |
//! | `UniqueIdFromTool`, `VulnIdFromTool`, `Tags` | same (tags comma-separated) |
//!
//! `Duplicate` is read but ignored: the server decides duplicates.

use palisade_plugin_sdk::csv::{CsvOptions, CsvRow, read_csv_with};
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::{cvss3_from_str, cvss4_from_str};

use crate::values;

/// Parses a CSV Generic Findings Import report.
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    // Header names are matched exactly (but case-insensitively), as DefectDojo
    // does: a padded " Url" header is not the Url column.
    let options = CsvOptions {
        trim_headers: false,
        ..CsvOptions::default()
    };
    let table = read_csv_with(report, &options)?;
    table.require_columns(&["Title", "Severity"])?;
    table.rows().map(|row| finding(&row)).collect()
}

fn get<'a>(row: &CsvRow<'a>, names: &[&str]) -> Option<&'a str> {
    row.get_any(names)
}

fn owned(row: &CsvRow<'_>, names: &[&str]) -> Option<String> {
    get(row, names).map(str::to_owned)
}

fn flag(row: &CsvRow<'_>, names: &[&str]) -> Result<Option<bool>, ParseError> {
    match get(row, names) {
        None => Ok(None),
        Some(v) => values::boolean(v).map(Some).ok_or_else(|| {
            row.error(format!(
                "column {} has {v:?}; expected TRUE or FALSE",
                names.first().copied().unwrap_or_default()
            ))
        }),
    }
}

fn number<T: std::str::FromStr>(row: &CsvRow<'_>, names: &[&str]) -> Result<Option<T>, ParseError> {
    match get(row, names) {
        None => Ok(None),
        Some(v) => v.parse::<T>().map(Some).map_err(|_| {
            row.error(format!(
                "column {} has {v:?}; expected a number",
                names.first().copied().unwrap_or_default()
            ))
        }),
    }
}

fn list(row: &CsvRow<'_>, names: &[&str]) -> Vec<String> {
    get(row, names)
        .map(|v| v.split(',').filter_map(|t| non_empty(Some(t))).collect())
        .unwrap_or_default()
}

fn finding(row: &CsvRow<'_>) -> Result<Finding, ParseError> {
    let title = owned(row, &["Title"]).ok_or_else(|| row.error("the row has no Title"))?;
    let raw_severity =
        get(row, &["Severity"]).ok_or_else(|| row.error("the row has no Severity"))?;
    let severity = values::severity(raw_severity).ok_or_else(|| {
        row.error(format!(
            "unknown severity {raw_severity:?}: expected Critical, High, Medium, Low or Info"
        ))
    })?;
    let cwe =
        match get(row, &["CweId", "CWE", "cwe_id"]) {
            None => None,
            Some("0") => None,
            Some(v) => Some(parse_cwe(v).ok_or_else(|| {
                row.error(format!("column CweId has {v:?}; expected a CWE number"))
            })?),
        };
    let endpoints = get(row, &["Url", "URL", "Endpoint"])
        .and_then(|u| {
            let e = endpoint_from_url(u);
            if e.is_none() {
                log(
                    LogLevel::Warn,
                    "skipped a Url that is not a valid URL or host",
                );
            }
            e
        })
        .into_iter()
        .collect();
    let cvssv3 = get(row, &["CVSSV3", "cvssv3", "CVSS"]).and_then(|v| match cvss3_from_str(v) {
        Ok(c) => Some(c.vector()),
        Err(e) => {
            log(
                LogLevel::Warn,
                &format!("dropped an invalid CVSS v3 vector: {e}"),
            );
            None
        }
    });
    let cvssv4 = get(row, &["CVSSV4", "cvssv4"]).and_then(|v| match cvss4_from_str(v) {
        Ok(c) => Some(c.vector()),
        Err(e) => {
            log(
                LogLevel::Warn,
                &format!("dropped an invalid CVSS v4 vector: {e}"),
            );
            None
        }
    });
    Ok(Finding {
        description: owned(row, &["Description"]).unwrap_or_else(|| title.clone()),
        title,
        severity,
        mitigation: owned(row, &["Mitigation"]),
        impact: owned(row, &["Impact"]),
        references: owned(row, &["References"]),
        cwe,
        vulnerability_ids: list(
            row,
            &[
                "CVE",
                "Vulnerability Id",
                "VulnerabilityId",
                "vulnerability_ids",
            ],
        ),
        cvssv3,
        cvssv3_score: number(row, &["CVSSV3Score", "cvssv3_score"])?,
        cvssv4,
        cvssv4_score: number(row, &["CVSSV4Score", "cvssv4_score"])?,
        epss_score: number(row, &["epss_score", "EpssScore"])?,
        epss_percentile: number(row, &["epss_percentile", "EpssPercentile"])?,
        file_path: owned(row, &["FilePath", "File Path", "file_path"]),
        line: number::<u32>(row, &["Line", "LineNumber"])?.filter(|&l| l != 0),
        component_name: owned(row, &["ComponentName", "Component Name", "component_name"]),
        component_version: owned(
            row,
            &["ComponentVersion", "Component Version", "component_version"],
        ),
        fix_available: flag(row, &["fix_available", "FixAvailable"])?,
        fix_version: owned(row, &["fix_version", "FixVersion"]),
        unique_id_from_tool: owned(row, &["UniqueIdFromTool", "unique_id_from_tool"]),
        vuln_id_from_tool: owned(row, &["VulnIdFromTool", "vuln_id_from_tool"]),
        endpoints,
        date: get(row, &["Date"]).and_then(values::date),
        tags: list(row, &["Tags"]),
        active: flag(row, &["Active"])?,
        verified: flag(row, &["Verified"])?,
        false_p: flag(row, &["FalsePositive", "False Positive", "false_p"])?,
        is_mitigated: flag(row, &["IsMitigated", "is_mitigated"])?,
        mitigated: get(row, &["MitigatedDate", "Mitigated"]).and_then(values::date_time),
        ..Finding::default()
    })
}

/// Says whether a report head is a Generic Findings Import CSV: its header
/// row names at least Date, Title, CweId, Severity and Description.
pub fn looks_like(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let Some(end) = head.iter().position(|&b| b == b'\n') else {
        return false;
    };
    let Ok(line) = std::str::from_utf8(&head[..end]) else {
        return false;
    };
    let cols: Vec<String> = line
        .split(',')
        .map(|c| c.trim().trim_matches('"').trim().to_ascii_lowercase())
        .collect();
    ["date", "title", "cweid", "severity", "description"]
        .iter()
        .all(|want| cols.iter().any(|c| c == want))
}
