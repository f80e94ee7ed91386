//! The OpenVAS / Greenbone CSV results export. See FORMAT.md.
//!
//! Each record after the header is one result; columns are recognised by
//! their lower-cased name and processed in column order, as the reference does.

use std::collections::HashSet;

use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::pycsv::{PY_FIELD_LIMIT, field_over_limit, py_csv_records};

/// Says whether a report head is an OpenVAS CSV export: its header names the
/// NVT columns and the host address.
pub fn looks_like(head: &[u8]) -> bool {
    let head = palisade_plugin_sdk::sniff::without_bom(head);
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

/// The five severity names the reference accepts as written; anything else is Info.
fn severity_name(value: &str) -> Severity {
    match value {
        "Critical" => Severity::Critical,
        "High" => Severity::High,
        "Medium" => Severity::Medium,
        "Low" => Severity::Low,
        _ => Severity::Info,
    }
}

/// `CVE-YYYY-NNNN[NNN]` ids anywhere in `text`.
fn cve_ids(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(at) = text[i..].find("CVE-").map(|p| p + i) {
        let year = &b[at + 4..];
        let year_ok =
            year.len() >= 5 && year[..4].iter().all(u8::is_ascii_digit) && year[4] == b'-';
        if year_ok {
            let num = &b[at + 9..];
            let n = num.iter().take_while(|c| c.is_ascii_digit()).count().min(7);
            if n >= 4 {
                out.push(text[at..at + 9 + n].to_owned());
                i = at + 9 + n;
                continue;
            }
        }
        i = at + 4;
    }
    out
}

fn is_digits(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())
}

fn bool_cell(v: &str) -> Option<bool> {
    match v.to_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// What makes two results the same: endpoint (protocol, host, port),
/// severity, title and description.
type DupeKey = (
    Option<String>,
    String,
    Option<u16>,
    Severity,
    String,
    String,
);

/// Parses an OpenVAS CSV export.
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = std::str::from_utf8(report)
        .map_err(|e| ParseError::new(format!("the OpenVAS CSV export is not UTF-8 text: {e}")))?;
    let records = py_csv_records(text, ',');
    if let Some((r, _)) = field_over_limit(&records) {
        return Err(ParseError::new(format!(
            "OpenVAS CSV export: record {} has a field longer than {PY_FIELD_LIMIT} characters",
            r + 1
        )));
    }
    let Some((header, rows)) = records.split_first() else {
        return Ok(Vec::new());
    };
    let names: Vec<String> = header.iter().map(|h| h.to_lowercase()).collect();
    let mut out = Vec::new();
    let mut seen: HashSet<DupeKey> = HashSet::new();
    for (n, row) in rows.iter().enumerate() {
        if row.len() > names.len() {
            return Err(ParseError::new(format!(
                "OpenVAS CSV export: record {} has {} fields but the header names {}",
                n + 2,
                row.len(),
                names.len()
            )));
        }
        let f = row_finding(&names, row)?;
        let e = f.endpoints.first().cloned().unwrap_or_default();
        // Identical results (same place, severity, title and description) are one.
        let key = (
            e.protocol,
            e.host,
            e.port,
            f.severity,
            f.title.clone(),
            f.description.clone(),
        );
        if seen.insert(key) {
            out.push(f);
        }
    }
    Ok(out)
}

fn row_finding(names: &[String], row: &[String]) -> Result<Finding, ParseError> {
    let mut f = Finding {
        static_finding: Some(false),
        dynamic_finding: Some(true),
        ..Finding::default()
    };
    let mut host = String::new();
    let mut port = None;
    let mut protocol = None;
    let mut ip = None;
    for (name, value) in names.iter().zip(row) {
        let value = value.as_str();
        match name.as_str() {
            "timestamp" => f.date = iso_date(value).map(str::to_owned),
            "nvt oid" => f.vulnerability_ids.extend(cve_ids(value)),
            "cves" if !value.is_empty() => {
                if value.contains(',') {
                    f.description.push_str("\n**All CVEs:** ");
                    f.description.push_str(value);
                    f.vulnerability_ids.extend(
                        value
                            .split(',')
                            .map(str::trim)
                            .filter(|v| !v.is_empty())
                            .map(str::to_owned),
                    );
                } else {
                    // Kept as written, whatever it holds.
                    f.vulnerability_ids.push(value.trim().to_owned());
                }
            }
            "nvt name" => f.title = value.to_owned(),
            "cweid" if is_digits(value) => f.cwe = value.parse().ok(),
            "hostname" if !value.is_empty() => host = value.trim().to_owned(),
            "ip" if host.is_empty() => host = value.trim().to_owned(),
            "severity" => f.severity = severity_name(value),
            "cvss" if !value.is_empty() => {
                f.cvssv3_score = Some(value.trim().parse().map_err(|_| {
                    ParseError::new(format!(
                        "OpenVAS CSV export: CVSS {value:?} is not a number"
                    ))
                })?);
            }
            "summary" => f.description = value.to_owned(),
            "solution" => f.mitigation = non_empty_str(value),
            "vulnerability insight" => f.impact = non_empty_str(value),
            "specific result" => f.references = non_empty_str(value),
            "active" => f.active = bool_cell(value),
            "verified" => f.verified = bool_cell(value),
            "falsepositive" => f.false_p = bool_cell(value),
            "port" if is_digits(value) => port = value.parse::<u16>().ok(),
            "port protocol" if !value.is_empty() => protocol = Some(value.to_owned()),
            _ => {}
        }
        if name == "ip" {
            ip = Some(value);
        }
    }
    if let Some(ip) = ip.filter(|i| !i.is_empty()) {
        f.description.push_str("\n**IP**: ");
        f.description.push_str(ip);
    }
    f.endpoints.push(Endpoint {
        protocol,
        host,
        port,
        ..Endpoint::default()
    });
    Ok(f)
}

/// The date of an ISO timestamp ("2022-07-27T10:11:28Z" is "2022-07-27").
fn iso_date(value: &str) -> Option<&str> {
    let d = value.trim().get(..10)?;
    let ok = d.bytes().enumerate().all(|(i, b)| {
        if i == 4 || i == 7 {
            b == b'-'
        } else {
            b.is_ascii_digit()
        }
    });
    ok.then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cve_pattern() {
        assert_eq!(
            cve_ids("CVE-2014-0160 CVE-14-1 CVE-2020-123 CVE-2021-12345678"),
            ["CVE-2014-0160", "CVE-2021-1234567"]
        );
    }
}
