//! The CSV flavour of the Generic Findings Import.
//!
//! Read as the reference reads it: a comma-separated file whose header row
//! names the columns exactly (case and spaces count; with a repeated name the
//! last column wins). Only these columns are read:
//!
//! | column | finding field |
//! |---|---|
//! | `Title`, `Description` | same (required columns) |
//! | `Date` | date (required column, the value must be a date) |
//! | `Severity` | severity (required column): exactly `Critical`, `High`, `Medium`, `Low` or `Info`, anything else (empty included) is Info |
//! | `CweId` | cwe (an integer; 0 means none) |
//! | `CweIds` | more CWEs (`79`, `CWE-79`, comma or space separated); the first is the primary one when `CweId` gives none |
//! | `CVE` | the first vulnerability id, as one id even with commas |
//! | `Vulnerability Id` | one more vulnerability id |
//! | `Url` | one endpoint |
//! | `Mitigation`, `Impact`, `References` | same |
//! | `Active`, `Verified`, `FalsePositive`, `IsMitigated` | booleans: true when the value starts with `t` (any case) |
//! | `MitigatedDate` | mitigated (must be a date) |
//! | `CVSSV3`, `CVSSV4` | the first CVSS vector in the text |
//! | `epss_score`, `epss_percentile`, `CVSSV4_score` | numbers (must be numbers) |
//! | `known_exploited`, `fix_available` | true when not empty |
//! | `kev_date`, `ransomware_used` | kept as extra values |
//! | `fix_version` | same |
//!
//! Rows with the same severity, title and description are one finding: its
//! endpoints, vulnerability ids and CWEs are joined and `nb_occurences`
//! counts the rows.

use std::collections::HashMap;

use palisade_plugin_sdk::csv::{CsvOptions, CsvRow, read_csv_with};
use palisade_plugin_sdk::findings::{Collector, count_occurrence};
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::{cvss3_from_str, cvss4_from_str};

use crate::values;

/// The reference's severities; any other value is Info.
const SEVERITIES: [(&str, Severity); 5] = [
    ("Critical", Severity::Critical),
    ("High", Severity::High),
    ("Medium", Severity::Medium),
    ("Low", Severity::Low),
    ("Info", Severity::Info),
];

/// Parses a CSV Generic Findings Import report.
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    // Nothing at all (not even a header) is an empty report to the reference.
    if report
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(report)
        .iter()
        .all(u8::is_ascii_whitespace)
    {
        return Ok(Vec::new());
    }
    // Short and long rows are read (missing cells count as empty), as the
    // reference's CSV reader does.
    let options = CsvOptions {
        trim_headers: false,
        flexible: true,
        ..CsvOptions::default()
    };
    let table = read_csv_with(report, &options)?;
    // Exact names; the reference decodes without dropping a byte-order mark,
    // so with one the first column's name starts with it.
    let bom = report.starts_with(b"\xEF\xBB\xBF");
    let mut columns: HashMap<String, usize> = HashMap::new();
    for (i, name) in table.headers().iter().enumerate() {
        let name = if bom && i == 0 {
            format!("\u{feff}{name}")
        } else {
            name.clone()
        };
        columns.insert(name, i);
    }
    let mut findings: Collector<(Severity, String, String)> = Collector::new();
    for row in table.rows() {
        let row = Row {
            columns: &columns,
            row: &row,
        };
        let f = finding(&row)?;
        let key = (f.severity, f.title.clone(), f.description.clone());
        findings.add_with(key, f, merge);
    }
    Ok(findings.into_findings())
}

/// Folds a repeated row into the first finding with its key.
fn merge(first: &mut Finding, other: Finding) {
    first.endpoints.extend(other.endpoints);
    for id in other.vulnerability_ids {
        if !first.vulnerability_ids.contains(&id) {
            first.vulnerability_ids.push(id);
        }
    }
    // The first row's primary CWE stays; the others' CWEs become extras.
    for c in other.cwe.into_iter().chain(other.extra_cwes) {
        if first.cwe != Some(c) && !first.extra_cwes.contains(&c) {
            first.extra_cwes.push(c);
        }
    }
    count_occurrence(first);
}

/// A data row addressed by exact column name.
struct Row<'a, 'b> {
    columns: &'a HashMap<String, usize>,
    row: &'a CsvRow<'b>,
}

impl<'b> Row<'_, 'b> {
    fn has(&self, name: &str) -> bool {
        self.columns.contains_key(name)
    }

    /// The cell as written; `None` when the column is missing or the row too short.
    fn cell(&self, name: &str) -> Option<&'b str> {
        let i = *self.columns.get(name)?;
        self.row.cells().get(i).map(String::as_str)
    }

    /// The cell of a column the reference requires.
    fn required(&self, name: &str) -> Result<&'b str, ParseError> {
        if !self.has(name) {
            return Err(self.row.error(format!(
                "the CSV report has no {name:?} column (column names are case-sensitive)"
            )));
        }
        Ok(self.cell(name).unwrap_or(""))
    }

    /// The trimmed cell when not blank.
    fn text(&self, name: &str) -> Option<String> {
        self.cell(name)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }

    /// A boolean column: true when the value starts with "t" or "T".
    fn flag(&self, name: &str) -> Option<bool> {
        self.has(name)
            .then(|| self.cell(name).is_some_and(|v| v.starts_with(['t', 'T'])))
    }

    /// A column holding a number; a value that is none is refused, as the reference refuses it.
    fn number(&self, name: &str) -> Result<Option<f32>, ParseError> {
        if !self.has(name) {
            return Ok(None);
        }
        let v = self.cell(name).unwrap_or("");
        let n: f64 = v.trim().parse().map_err(|_| {
            self.row
                .error(format!("column {name} has {v:?}; expected a number"))
        })?;
        Ok(n.is_finite().then_some(n as f32))
    }

    /// A column holding a date; a value that is none is refused.
    fn date(
        &self,
        name: &str,
        read: fn(&str) -> Option<String>,
    ) -> Result<Option<String>, ParseError> {
        if !self.has(name) {
            return Ok(None);
        }
        let v = self.cell(name).unwrap_or("");
        if !values::could_be_date(v) {
            return Err(self
                .row
                .error(format!("column {name} has {v:?}; expected a date")));
        }
        // Text this parser cannot normalise is left out rather than refused:
        // the reference's date reader accepts many more spellings.
        Ok(read(v))
    }
}

fn cvss(text: Option<String>, v4: bool) -> Option<String> {
    let text = text?;
    // The first vector in the text, which may carry words around it.
    let found = text.split_whitespace().find_map(|token| {
        let token = token.trim_matches(|c: char| c == '(' || c == ')' || c == ',' || c == ';');
        if v4 {
            cvss4_from_str(token).ok().map(|c| c.vector())
        } else {
            cvss3_from_str(token).ok().map(|c| c.vector())
        }
    });
    if found.is_none() {
        log(
            LogLevel::Warn,
            "dropped a CVSS column without a valid vector",
        );
    }
    found
}

fn finding(row: &Row<'_, '_>) -> Result<Finding, ParseError> {
    let title = row.required("Title")?.to_owned();
    let description = row.required("Description")?.to_owned();
    let raw_date = row.required("Date")?;
    if !values::could_be_date(raw_date) {
        return Err(row
            .row
            .error(format!("column Date has {raw_date:?}; expected a date")));
    }
    let raw_severity = row.required("Severity")?;
    let severity = SEVERITIES
        .iter()
        .find(|(word, _)| *word == raw_severity)
        .map_or(Severity::Info, |&(_, s)| s);

    let mut vulnerability_ids = Vec::new();
    if let Some(cve) = row.text("CVE") {
        vulnerability_ids.push(cve);
    }
    if let Some(id) = row.text("Vulnerability Id")
        && !vulnerability_ids.contains(&id)
    {
        vulnerability_ids.push(id);
    }

    let mut cwe = match row.cell("CweId") {
        None if !row.has("CweId") => None,
        v => {
            let v = v.unwrap_or("");
            let n: i64 = v.trim().parse().map_err(|_| {
                row.row
                    .error(format!("column CweId has {v:?}; expected a CWE number"))
            })?;
            u32::try_from(n).ok().filter(|&n| n != 0)
        }
    };
    let mut extra_cwes = Vec::new();
    let listed: Vec<u32> = row
        .cell("CweIds")
        .unwrap_or("")
        .replace(',', " ")
        .split_whitespace()
        .filter_map(|t| {
            let upper = t.to_ascii_uppercase();
            let digits = upper.strip_prefix("CWE-").unwrap_or(&upper);
            (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| digits.parse::<u32>().ok())
                .flatten()
                .filter(|&n| n > 0 && n <= 9_999_999)
        })
        .collect();
    if cwe.is_none() {
        cwe = listed.first().copied();
    }
    for c in listed {
        if Some(c) != cwe && !extra_cwes.contains(&c) {
            extra_cwes.push(c);
        }
    }

    let endpoints = row
        .text("Url")
        .and_then(|u| {
            let e = endpoint_from_url(&u);
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

    let mut extra = Vec::new();
    if let Some(d) = row.date("kev_date", values::date)? {
        extra.push(("kev_date".to_owned(), d));
    }
    if row.has("ransomware_used") {
        let used = row.cell("ransomware_used").is_some_and(|v| !v.is_empty());
        extra.push(("ransomware_used".to_owned(), used.to_string()));
    }

    Ok(Finding {
        title,
        description,
        severity,
        mitigation: row.text("Mitigation"),
        impact: row.text("Impact"),
        references: row.text("References"),
        cwe,
        extra_cwes,
        vulnerability_ids,
        cvssv3: cvss(row.text("CVSSV3"), false),
        cvssv4: cvss(row.text("CVSSV4"), true),
        cvssv4_score: row.number("CVSSV4_score")?,
        epss_score: row.number("epss_score")?,
        epss_percentile: row.number("epss_percentile")?,
        known_exploited: row
            .has("known_exploited")
            .then(|| row.cell("known_exploited").is_some_and(|v| !v.is_empty())),
        fix_available: row
            .has("fix_available")
            .then(|| row.cell("fix_available").is_some_and(|v| !v.is_empty())),
        fix_version: row.text("fix_version"),
        endpoints,
        date: values::date(raw_date),
        active: row.flag("Active"),
        verified: row.flag("Verified"),
        false_p: row.flag("FalsePositive"),
        is_mitigated: row.flag("IsMitigated"),
        mitigated: row.date("MitigatedDate", values::date_time)?,
        nb_occurences: Some(1),
        extra,
        ..Finding::default()
    })
}

/// Says whether a report head is a Generic Findings Import CSV: its header
/// row names the columns the reference requires, Date, Title, Severity and
/// Description, spelled exactly.
pub fn looks_like(head: &[u8]) -> bool {
    let Some(end) = head.iter().position(|&b| b == b'\n') else {
        return false;
    };
    let Ok(line) = std::str::from_utf8(&head[..end]) else {
        return false;
    };
    let cols: Vec<&str> = line
        .trim_end_matches('\r')
        .split(',')
        .map(|c| c.trim_matches('"'))
        .collect();
    ["Date", "Title", "Severity", "Description"]
        .iter()
        .all(|want| cols.contains(want))
}
