//! The CSV exports of Nessus, Tenable.sc, Tenable.io and Tenable WAS. See FORMAT.md.
//!
//! Column names differ between products (`Name`/`Plugin Name`/`asset.name`,
//! `Risk`/`severity`/`Severity`, `Host`/`asset.host_name`/`DNS Name`/`IP Address`);
//! each value is read from the first of its spellings the header has, as the
//! reference does.

use std::collections::HashMap;

use palisade_plugin_sdk::cpe;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::pycsv::py_csv_records;

/// Says whether a report head is a Tenable CSV export: its first line names a
/// plugin name column and a host or asset column.
pub fn looks_like(head: &[u8]) -> bool {
    let head = palisade_plugin_sdk::sniff::without_bom(head);
    let line_end = head.iter().position(|b| *b == b'\n').unwrap_or(head.len());
    let Ok(line) = std::str::from_utf8(&head[..line_end]) else {
        return false;
    };
    let delimiter = if line.contains(';') { ';' } else { ',' };
    let cols: Vec<&str> = line
        .split(delimiter)
        .map(|c| c.trim().trim_matches('"'))
        .collect();
    let has = |names: &[&str]| names.iter().any(|n| cols.contains(n));
    let named = has(&["Name", "Plugin Name", "asset.name"]);
    let plugin = has(&["Plugin ID", "Plugin", "definition.id", "definition.name"]);
    let located = has(&["Host", "IP Address", "DNS Name", "asset.host_name", "Port"]);
    named && plugin && located
}

/// One record keyed by exact header name (a later duplicate header wins);
/// cells missing from a short row read as empty.
struct Row<'a> {
    cells: HashMap<&'a str, &'a str>,
}

impl<'a> Row<'a> {
    /// The value of the first spelling the header has, else `None`.
    fn first(&self, names: &[&str]) -> Option<&'a str> {
        names.iter().find_map(|n| self.cells.get(n).copied())
    }

    /// Like [`Row::first`] with a default when no spelling is a column.
    fn first_or(&self, names: &[&str], default: &'a str) -> &'a str {
        self.first(names).unwrap_or(default)
    }
}

/// Parses a Tenable CSV export.
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = std::str::from_utf8(report)
        .map_err(|e| ParseError::new(format!("the Tenable CSV export is not UTF-8 text: {e}")))?;
    // Only the first line decides: any semicolon there makes it the delimiter.
    let first_line = text.split('\n').next().unwrap_or_default();
    let delimiter = if first_line.contains(';') { ';' } else { ',' };
    // Read as the reference's csv.DictReader does: the first record is the
    // header, later blank lines are skipped.
    let records = py_csv_records(text, delimiter);
    let Some((header, body)) = records.split_first() else {
        return Err(ParseError::new(
            "Invalid CSV file: missing 'Name', 'Plugin Name' or 'asset.name' field (the file is empty)",
        ));
    };
    let headers: Vec<&str> = header.iter().map(String::as_str).collect();
    if !["Name", "Plugin Name", "asset.name"]
        .iter()
        .any(|n| headers.contains(n))
    {
        return Err(ParseError::new(format!(
            "Invalid CSV file: missing 'Name', 'Plugin Name' or 'asset.name' field \
             (the first line has: {})",
            headers.join(", ")
        )));
    }
    let mut findings: Vec<Finding> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for rec in body {
        if rec.is_empty() {
            continue;
        }
        let mut cells = HashMap::new();
        for (i, name) in headers.iter().enumerate() {
            cells.insert(*name, rec.get(i).map_or("", String::as_str));
        }
        let row = Row { cells };
        let title = row.first_or(&["Name", "Plugin Name", "asset.name"], "");
        if title.is_empty() {
            continue;
        }
        let severity = row_severity(&row);
        let key = format!(
            "{}{title}{}{}{}",
            severity.as_str(),
            row.first_or(&["Host", "asset.host_name"], "No host"),
            row.first_or(&["Port", "asset.port"], "No port"),
            row.first_or(&["Synopsis", "definition.synopsis"], "No synopsis"),
        );
        let i = match index.get(&key) {
            Some(&i) => i,
            None => {
                let finding = new_finding(&row, title, severity)?;
                index.insert(key, findings.len());
                findings.push(finding);
                findings.len() - 1
            }
        };
        let endpoint = row_endpoint(&row)?;
        let Some(find) = findings.get_mut(i) else {
            continue;
        };
        // Every occurrence adds its output, CVEs and endpoint.
        let output = row.first_or(&["Plugin Output", "output"], "");
        if !output.is_empty() {
            find.description.push_str("\n\n");
            find.description.push_str(output);
        }
        find.vulnerability_ids
            .extend(cves(row.first_or(&["CVE", "definition.cve"], "")));
        find.endpoints.push(endpoint);
    }
    Ok(findings)
}

/// Severity from `Risk` (else `severity`), falling back to `Severity` when
/// blank: a number 1-4 is Low..Critical, a word must be one of the five
/// severity names (any case), anything else is Info.
fn row_severity(row: &Row<'_>) -> Severity {
    let mut raw = row.first_or(&["Risk", "severity"], "");
    if raw.is_empty() {
        raw = row.first_or(&["Severity"], "Info");
    }
    if let Ok(n) = raw.trim().parse::<i64>() {
        return match n {
            4 => Severity::Critical,
            3 => Severity::High,
            2 => Severity::Medium,
            1 => Severity::Low,
            _ => Severity::Info,
        };
    }
    match raw.to_lowercase().as_str() {
        "critical" => Severity::Critical,
        "high" => Severity::High,
        "medium" => Severity::Medium,
        "low" => Severity::Low,
        _ => Severity::Info,
    }
}

/// CVE ids anywhere in the cell ("CVE-n-n", any case, upper-cased).
fn cves(cell: &str) -> Vec<String> {
    let upper = cell.to_uppercase();
    let mut out = Vec::new();
    let mut rest = upper.as_str();
    while let Some(at) = rest.find("CVE-") {
        let tail = &rest[at + 4..];
        let year_len = tail.bytes().take_while(u8::is_ascii_digit).count();
        let after_year = &tail[year_len..];
        if year_len > 0 && after_year.starts_with('-') {
            let num_len = after_year[1..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            if num_len > 0 {
                out.push(format!(
                    "CVE-{}-{}",
                    &tail[..year_len],
                    &after_year[1..=num_len]
                ));
                rest = &after_year[1 + num_len..];
                continue;
            }
        }
        rest = tail;
    }
    out
}

/// The first CPE 2.2 URI in a cell (the reference reads no other CPE form).
fn first_cpe(cell: &str) -> Option<&str> {
    let at = cell.find("cpe:/")?;
    let rest = &cell[at..];
    let end = rest.find(['\n', ' ']).unwrap_or(rest.len());
    Some(&rest[..end])
}

fn new_finding(row: &Row<'_>, title: &str, severity: Severity) -> Result<Finding, ParseError> {
    let description = row.first_or(&["Synopsis", "definition.synopsis"], "N/A");
    let vector = row.first_or(&["CVSS V3 Vector"], "");
    // The reference always prefixes "CVSS:3.0/"; a vector it then cannot read
    // rejects the export.
    let cvssv3 = if vector.is_empty() {
        None
    } else {
        let full = format!("CVSS:3.0/{vector}");
        Some(
            cvss3_from_str(&full)
                .map_err(|e| {
                    ParseError::new(format!(
                        "Tenable CSV export: invalid \"CVSS V3 Vector\" {vector:?}: {e}"
                    ))
                })?
                .vector(),
        )
    };
    let score = row.first_or(&["CVSSv3", "definition.cvss3.base_score"], "");
    let (component_name, component_version) =
        first_cpe(row.first_or(&["CPE", "definition.cpe"], ""))
            .map(cpe::product_and_version)
            .unwrap_or_default();
    let epss = row.first(&["EPSS Score"]).filter(|s| !s.is_empty());
    let epss_score = match epss {
        Some(s) => {
            let s = if s.contains("0.") {
                s.to_owned()
            } else {
                format!("0.{s}")
            };
            Some(s.trim().parse::<f32>().map_err(|_| {
                ParseError::new(format!("Tenable CSV export: invalid \"EPSS Score\" {s:?}"))
            })?)
        }
        None => None,
    };
    let mut references = row.first_or(&["References"], "").to_owned();
    references.push_str(row.first_or(&["See Also", "definition.see_also"], "N/A"));
    references.push_str(&format!(
        "\nTenable Plugin ID: {}",
        row.first_or(&["Plugin"], "N/A")
    ));
    Ok(Finding {
        title: truncate_chars(title, 511).to_owned(),
        severity,
        description: description.to_owned(),
        mitigation: Some(
            row.first_or(
                &["Solution", "definition.solution", "Steps to Remediate"],
                "N/A",
            )
            .to_owned(),
        ),
        impact: non_empty_str(row.first_or(&["Description", "definition.description"], "N/A")),
        references: Some(references),
        cvssv3,
        cvssv3_score: score.trim().parse().ok(),
        epss_score,
        component_name,
        component_version,
        static_finding: Some(false),
        dynamic_finding: Some(true),
        ..Finding::default()
    })
}

/// Host from `Host`/`asset.host_name`, else `DNS Name`, else `IP Address`
/// ("localhost" when there is no such column); a host with "://" is a URL.
fn row_endpoint(row: &Row<'_>) -> Result<Endpoint, ParseError> {
    let mut host = row.first_or(&["Host", "asset.host_name"], "");
    if host.is_empty() {
        host = row.first_or(&["DNS Name"], "");
    }
    if host.is_empty() {
        host = row.first_or(&["IP Address"], "localhost");
    }
    let protocol = row.first_or(&["Protocol", "protocol"], "");
    let port_cell = row.first_or(&["Port", "asset.port"], "");
    let port = if port_cell.trim().is_empty() {
        0
    } else {
        port_cell.trim().parse::<i64>().map_err(|_| {
            ParseError::new(format!(
                "Tenable CSV export: port {port_cell:?} is not a number"
            ))
        })?
    };
    if host.contains("://") {
        return Ok(endpoint_from_url(host).unwrap_or_else(|| Endpoint::from_host(host, None)));
    }
    Ok(Endpoint {
        protocol: non_empty_str(&protocol.to_lowercase()),
        host: host.to_owned(),
        port: u16::try_from(port).ok().filter(|p| *p != 0),
        ..Endpoint::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cve_scan() {
        assert_eq!(
            cves("cve-2020-1, CVE-2021-22 and CVE-x CVE-3-"),
            ["CVE-2020-1", "CVE-2021-22"]
        );
        assert!(cves("").is_empty());
    }

    #[test]
    fn cpe_scan() {
        assert_eq!(
            first_cpe("x-cpe:/a:v:p:1.0 cpe:/a:v:q"),
            Some("cpe:/a:v:p:1.0")
        );
        assert_eq!(first_cpe("cpe:2.3:a:v:p:1"), None);
    }
}
