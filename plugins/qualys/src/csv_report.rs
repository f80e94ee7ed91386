//! The Qualys VM CSV exports: the detection export ("Title" columns) and the
//! upper-case export ("VULN TITLE" columns). See FORMAT.md.

use std::collections::HashMap;

use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::pycsv::{PY_FIELD_LIMIT, field_over_limit, py_csv_records};

use crate::level_severity;

/// Says whether a report head is a Qualys CSV export: a first line naming IP,
/// QID, Title and Severity (detection export), or QID, VULN TITLE and SEVERITY
/// without the HackerGuardian columns (that export is its own scan type).
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
    let has = |n: &str| cols.contains(&n);
    let detection = ["IP", "QID", "Title", "Severity"].iter().all(|n| has(n));
    let upper = ["QID", "VULN TITLE", "SEVERITY"].iter().all(|n| has(n))
        && !has("Q_SEVERITY")
        && !has("IS_PCI");
    detection || upper
}

/// One CSV record keyed by exact header name; a later duplicate header wins.
/// A short row still has every column (its missing cells are `None`).
struct Row<'a> {
    line: u64,
    cells: HashMap<&'a str, Option<&'a str>>,
}

impl<'a> Row<'a> {
    fn has(&self, name: &str) -> bool {
        self.cells.contains_key(name)
    }

    fn get(&self, name: &str) -> Option<&'a str> {
        self.cells.get(name).copied().flatten()
    }

    /// A non-empty cell (the reference's truthiness test).
    fn truthy(&self, name: &str) -> Option<&'a str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// A column the layout cannot do without; a missing cell reads as empty.
    fn need(&self, name: &str) -> Result<&'a str, ParseError> {
        if self.has(name) {
            Ok(self.get(name).unwrap_or(""))
        } else {
            Err(ParseError::new(format!(
                "Qualys CSV export: record {} has no {name:?} column",
                self.line
            )))
        }
    }
}

/// Parses a Qualys CSV export.
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = std::str::from_utf8(report)
        .map_err(|e| ParseError::new(format!("the Qualys CSV export is not UTF-8 text: {e}")))?;
    // Read as the reference's csv.DictReader does: the first record is the
    // header (even a blank one), later blank lines are skipped.
    let records = py_csv_records(text, ',');
    if let Some((r, _)) = field_over_limit(&records) {
        return Err(ParseError::new(format!(
            "Qualys CSV export: record {} has a field longer than {PY_FIELD_LIMIT} characters",
            r + 1
        )));
    }
    let Some((header, body)) = records.split_first() else {
        return Ok(Vec::new());
    };
    let headers: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut out: Vec<Finding> = Vec::new();
    let mut by_qid: HashMap<String, usize> = HashMap::new();
    for (n, rec) in body.iter().enumerate() {
        if rec.is_empty() {
            continue;
        }
        let mut cells = HashMap::new();
        for (i, name) in headers.iter().enumerate() {
            cells.insert(*name, rec.get(i).map(String::as_str));
        }
        let row = Row {
            line: n as u64 + 2,
            cells,
        };
        let titled = row.truthy("Title").is_some_and(|t| t != "Title");
        let upper = row.truthy("VULN TITLE").is_some();
        if !titled && !upper {
            continue;
        }
        let cve_cell = if row.has("CVE ID") {
            row.get("CVE ID")
        } else {
            row.get("CVEID")
        };
        let cves = cve_list(cve_cell.unwrap_or(""));
        let endpoint = endpoint(&row)?;
        let qid = row.need("QID")?;
        if let Some(&i) = by_qid.get(qid) {
            // Repeated QID: the first row's finding collects CVEs and hosts.
            if let Some(kept) = out.get_mut(i) {
                kept.vulnerability_ids.extend(cves);
                kept.endpoints.push(endpoint);
            }
            continue;
        }
        let mut finding = if titled {
            title_row(&row, qid)?
        } else {
            upper_row(&row, qid)?
        };
        finding.vulnerability_ids = cves;
        finding.endpoints.push(endpoint);
        by_qid.insert(qid.to_owned(), out.len());
        out.push(finding);
    }
    Ok(out)
}

/// The CVE cell split on commas (an empty cell has none).
fn cve_list(cell: &str) -> Vec<String> {
    if cell.is_empty() {
        return Vec::new();
    }
    cell.split(',')
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect()
}

/// The row's host: its FQDN read as a URI, else its DNS name, else its IP.
fn endpoint(row: &Row<'_>) -> Result<Endpoint, ParseError> {
    if let Some(fqdn) = row.truthy("FQDN") {
        // The reference reads the FQDN as a URI: a bare name is a relative
        // path there and names no host.
        if fqdn.contains("//")
            && let Some(e) = endpoint_from_url(fqdn)
        {
            return Ok(e);
        }
        return Ok(Endpoint {
            path: Some(fqdn.to_owned()),
            ..Endpoint::default()
        });
    }
    if let Some(dns) = row.truthy("DNS") {
        return Ok(Endpoint::from_host(dns, None));
    }
    let ip = row.need("IP")?;
    Ok(Endpoint::from_host(ip, None))
}

/// A finding from the detection export's first row for a QID.
fn title_row(row: &Row<'_>, qid: &str) -> Result<Finding, ParseError> {
    let title = row.need("Title")?;
    // The reference also reads the temporal column of the pair it uses.
    let base = if row.has("CVSS3 Base") {
        row.need("CVSS3 Temporal")?;
        row.get("CVSS3 Base")
    } else if row.has("CVSS3.1 Base") {
        row.need("CVSS3.1 Temporal")?;
        row.get("CVSS3.1 Base")
    } else {
        return Err(ParseError::new(format!(
            "Qualys CSV export: record {} has a Title but the export has no \"CVSS3 Base\" \
             or \"CVSS3.1 Base\" column",
            row.line
        )));
    };
    let solution = row.need("Solution")?;
    let threat = row.need("Threat")?;
    let severity = row.need("Severity")?;
    let impact = row.need("Impact")?;
    let last_fixed = row.need("Date Last Fixed")?;
    let status = row.need("Vuln Status")?;
    let fixed_at = if last_fixed.is_empty() {
        None
    } else {
        Some(us_datetime(last_fixed).ok_or_else(|| {
            ParseError::new(format!(
                "Qualys CSV export: record {}: \"Date Last Fixed\" {last_fixed:?} is not MM/DD/YYYY HH:MM:SS",
                row.line
            ))
        })?)
    };
    let active = matches!(status, "Active" | "Re-Opened" | "New");
    let (cvssv3, cvssv3_score) = base.map_or((None, None), cvss_cell);
    Ok(Finding {
        title: truncate_chars(&format!("QID-{qid} | {title}"), 511).to_owned(),
        severity: level_severity(severity).unwrap_or(Severity::Info),
        description: clean(&format!(
            "{}\nResult Evidence: \n{}",
            html_to_text(threat),
            html_to_text(threat)
        )),
        mitigation: non_empty_str(solution),
        impact: non_empty_str(impact),
        cvssv3,
        cvssv3_score,
        vuln_id_from_tool: Some(qid.to_owned()),
        active: Some(active),
        verified: Some(true),
        is_mitigated: Some(!active && fixed_at.is_some()),
        mitigated: if active { None } else { fixed_at },
        date: row
            .truthy("Last Detected")
            .and_then(us_datetime)
            .map(|d| d.chars().take(10).collect()),
        static_finding: Some(false),
        dynamic_finding: Some(true),
        ..Finding::default()
    })
}

/// A finding from the upper-case export's first row for a QID.
fn upper_row(row: &Row<'_>, qid: &str) -> Result<Finding, ParseError> {
    let title = row.need("VULN TITLE")?;
    let solution = row.need("SOLUTION")?;
    let threat = row.need("THREAT")?;
    let severity = row.need("SEVERITY")?;
    let impact = row.need("IMPACT")?;
    Ok(Finding {
        title: truncate_chars(&format!("QID-{qid} | {title}"), 511).to_owned(),
        // Taken as written by the reference: a word keeps its meaning, a
        // Qualys level number is read as one, an initial (H/M/L) as its word.
        severity: severity_from_word(severity)
            .or_else(|| level_severity(severity))
            .or_else(|| initial_severity(severity))
            .unwrap_or(Severity::Info),
        description: clean(&format!(
            "{}\nResult Evidence: \n{}",
            html_to_text(threat),
            html_to_text(threat)
        )),
        mitigation: non_empty_str(solution),
        impact: non_empty_str(impact),
        vuln_id_from_tool: Some(qid.to_owned()),
        verified: Some(true),
        date: row
            .truthy("LAST SCAN")
            .and_then(|d| d.get(..10))
            .filter(|d| iso_like(d))
            .map(str::to_owned),
        static_finding: Some(false),
        dynamic_finding: Some(true),
        ..Finding::default()
    })
}

/// "C", "H", "M", "L", "I": the initials some Qualys exports write.
fn initial_severity(s: &str) -> Option<Severity> {
    match s.trim() {
        "C" => Some(Severity::Critical),
        "H" => Some(Severity::High),
        "M" => Some(Severity::Medium),
        "L" => Some(Severity::Low),
        "I" => Some(Severity::Info),
        _ => None,
    }
}

fn iso_like(d: &str) -> bool {
    d.len() == 10
        && d.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
}

/// "6.7 (AV:L/...)" as a CVSS 3 vector and score.
fn cvss_cell(cell: &str) -> (Option<String>, Option<f32>) {
    let Some((score, rest)) = cell.split_once(" (") else {
        return (None, None);
    };
    let vector = rest.strip_suffix(')').unwrap_or(rest);
    match cvss3_from_str(&format!("CVSS:3.0/{vector}")) {
        Ok(c) => (Some(c.vector()), score.trim().parse().ok()),
        Err(_) => (None, None),
    }
}

/// "MM/DD/YYYY HH:MM:SS" (one- or two-digit fields) as "YYYY-MM-DDTHH:MM:SS".
fn us_datetime(s: &str) -> Option<String> {
    let (date, time) = s.split_once(' ')?;
    let d: Vec<&str> = date.split('/').collect();
    let t: Vec<&str> = time.split(':').collect();
    let num = |p: &str, max: u32, width: usize| -> Option<u32> {
        (!p.is_empty() && p.len() <= width && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u32>().ok())
            .flatten()
            .filter(|n| *n <= max)
    };
    let [m, day, y] = d.as_slice() else {
        return None;
    };
    let [hh, mm, ss] = t.as_slice() else {
        return None;
    };
    let (m, day) = (num(m, 12, 2)?, num(day, 31, 2)?);
    if m == 0 || day == 0 || y.len() != 4 {
        return None;
    }
    let y = num(y, 9999, 4)?;
    let (hh, mm, ss) = (num(hh, 23, 2)?, num(mm, 59, 2)?, num(ss, 61, 2)?);
    Some(format!("{y:04}-{m:02}-{day:02}T{hh:02}:{mm:02}:{ss:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn us_dates() {
        assert_eq!(
            us_datetime("1/2/2020 3:04:05").as_deref(),
            Some("2020-01-02T03:04:05")
        );
        assert_eq!(us_datetime("2020-01-02 03:04:05"), None);
        assert_eq!(us_datetime("13/02/2020 03:04:05"), None);
    }

    #[test]
    fn cves_split_on_commas() {
        assert_eq!(cve_list("CVE-1, CVE-2"), ["CVE-1", "CVE-2"]);
        assert!(cve_list("").is_empty());
    }
}
