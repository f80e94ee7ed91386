//! The Checkmarx JSON report (CxSAST / AST export, not Checkmarx One's): `{"reportHeader", "executiveSummary",
//! "scanSummary", "scanResults": {"sast": {"languages": [{"queries":
//! [{"queryName", "vulnerabilities": [...]}]}]}, "sca": {"packages": [{"name",
//! "vulnerabilities": [...]}]}, "kics": {"results": [{"name",
//! "vulnerabilities": [...]}]}}}`.

use palisade_plugin_sdk::json::{array_at, string_at, value_to_string};
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use serde_json::Value;

/// Says whether `head` is this JSON report. Checkmarx One's "scan results"
/// export ("Checkmarx One Scan", not ours) also has a `reportHeader` and
/// `scanResults`, but lists results in `resultsList` beside keys of its own.
pub fn looks_like(head: &[u8]) -> bool {
    palisade_plugin_sdk::json::starts_like_json(head)
        && contains(head, b"\"scanResults\"")
        && (contains(head, b"\"executiveSummary\"") || contains(head, b"\"scanSummary\""))
        && !CX_ONE_MARKERS.iter().any(|m| contains(head, m))
}

/// Keys of Checkmarx One's scan report ("Checkmarx One Scan", another scan
/// type), which also has `scanResults`: never in a CxSAST JSON report.
const CX_ONE_MARKERS: [&[u8]; 9] = [
    b"\"resultsList\"",
    b"\"reportType\"",
    b"\"reportCreationDate\"",
    b"\"iacScanResults\"",
    b"\"scaScanResults\"",
    b"\"containerScanResults\"",
    b"\"apiSecScanResults\"",
    b"\"scanInformation\"",
    b"\"vulnerabilityDetails\"",
];

/// Parses a Checkmarx JSON report.
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let v = palisade_plugin_sdk::json::parse_json_value(report).map_err(|mut e| {
        e.message = format!("not a Checkmarx JSON report: {}", e.message);
        e
    })?;
    let Some(results) = v.get("scanResults").filter(|r| r.is_object()) else {
        return Err(ParseError::new(
            "not a Checkmarx JSON report: expected an object with \"scanResults\"",
        ));
    };
    let mut out = Vec::new();
    if let Some(sast) = results.get("sast") {
        for lang in array_at(sast, "languages") {
            let language = string_at(lang, "languageName");
            for query in array_at(lang, "queries") {
                for vuln in array_at(query, "vulnerabilities") {
                    out.push(sast_finding(query, vuln, language.as_deref()));
                }
            }
        }
    }
    if let Some(sca) = results.get("sca") {
        for package in array_at(sca, "packages") {
            for vuln in array_at(package, "vulnerabilities") {
                out.push(sca_finding(package, vuln)?);
            }
        }
    }
    if let Some(kics) = results.get("kics") {
        for group in array_at(kics, "results") {
            for vuln in array_at(group, "vulnerabilities") {
                out.push(kics_finding(group, vuln));
            }
        }
    }
    Ok(out)
}

/// A date from "2022-05-06T10:47:54Z" or `{"seconds": 1651835169}`.
fn date_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => palisade_plugin_sdk::text::iso_date(s).map(str::to_owned),
        Value::Object(o) => {
            let secs = o.get("seconds")?.as_i64()?;
            Some(civil_date(secs.div_euclid(86_400)))
        }
        _ => None,
    }
}

/// Days since 1970-01-01 to "YYYY-MM-DD" (proleptic Gregorian calendar).
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Checkmarx triage states.
fn status(f: &mut Finding, vuln: &Value) {
    let state = vuln
        .get("state")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let not_exploitable = state.eq_ignore_ascii_case("Not exploitable");
    f.false_p = Some(not_exploitable);
    f.active = Some(!not_exploitable);
    f.verified = Some(matches!(state, "Confirmed" | "Urgent"));
}

fn sast_finding(query: &Value, vuln: &Value, language: Option<&str>) -> Finding {
    let name = string_at(query, "queryName")
        .map(|n| n.replace('_', " "))
        .unwrap_or_else(|| "Checkmarx SAST finding".to_owned());
    let nodes = array_at(vuln, "nodes");
    let (source, sink) = (nodes.first(), nodes.last());
    let mut description = string_at(query, "description").unwrap_or_default();
    let mut line = |label: &str, value: Option<String>| {
        if let Some(v) = value {
            description.push_str(&format!("\n**{label}:** {v}"));
        }
    };
    line("Query", Some(name.clone()));
    line("Language", language.map(str::to_owned));
    line("Group", string_at(vuln, "groupName"));
    line("State", string_at(vuln, "state"));
    line("Status", string_at(vuln, "status"));
    let node_text = |n: &Value| {
        format!(
            "{} line {} ({})",
            string_at(n, "fileName").unwrap_or_default(),
            string_at(n, "line").unwrap_or_default(),
            string_at(n, "fullName").unwrap_or_default()
        )
    };
    line("Source", source.map(node_text));
    line("Sink", sink.map(node_text));
    let compliance: Vec<String> = array_at(vuln, "compliance")
        .iter()
        .filter_map(value_to_string)
        .collect();
    if !compliance.is_empty() {
        line("Compliance", Some(compliance.join(", ")));
    }
    let mut f = Finding {
        title: truncate_chars(&name, 511).to_owned(),
        severity: severity_or_info(vuln.get("severity").and_then(Value::as_str)),
        description: clean(&description),
        cwe: vuln
            .get("cweId")
            .and_then(value_to_string)
            .and_then(|c| parse_cwe(&c)),
        file_path: sink.and_then(|n| string_at(n, "fileName")),
        line: sink
            .and_then(|n| n.get("line"))
            .and_then(Value::as_u64)
            .and_then(|l| u32::try_from(l).ok())
            .filter(|l| *l > 0),
        unique_id_from_tool: unique_id(vuln),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        date: date_of(vuln.get("firstFoundDate")),
        tags: vec!["sast".to_owned()],
        ..Finding::default()
    };
    status(&mut f, vuln);
    f
}

/// The unique id: the vulnerability's `id`, else its `similarityId` as text
/// ("None" when that is missing too, as the reference writes it).
fn unique_id(vuln: &Value) -> Option<String> {
    if let Some(id) = string_at(vuln, "id").filter(|s| !s.trim().is_empty()) {
        return Some(id);
    }
    let similarity = match vuln.get("similarityId") {
        None | Some(Value::Null) => "None".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    non_empty_str(&similarity)
}

/// The component of an SCA package named "Ecosystem-name-version", as the
/// reference splits it: the last two dash-separated parts are the name and
/// the version (so "Npm-jquery-ui-1.10.4" is "ui" 1.10.4).
fn component(package: &str) -> Result<(String, String), ParseError> {
    let mut parts = package.rsplit('-');
    let version = parts.next().unwrap_or_default();
    let name = parts.next().ok_or_else(|| {
        ParseError::new(format!(
            "SCA package name {package:?} is not \"Ecosystem-name-version\""
        ))
    })?;
    Ok((name.to_owned(), version.to_owned()))
}

fn sca_finding(package: &Value, vuln: &Value) -> Result<Finding, ParseError> {
    let package_name = string_at(package, "name").unwrap_or_default();
    let (name, version) = component(&package_name)?;
    let id = string_at(vuln, "cveId");
    let title = format!("{name}:{version} | {}", id.as_deref().unwrap_or("None"));
    let mut description = string_at(vuln, "description").unwrap_or_else(|| title.clone());
    description.push_str(&format!("\n\n**Package:** {package_name}"));
    if let Some(r) = string_at(vuln, "riskLevel") {
        description.push_str(&format!("\n**Risk level:** {r}"));
    }
    let mut f = Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity: severity_or_info(vuln.get("severity").and_then(Value::as_str)),
        description: clean(&description),
        cwe: vuln
            .get("cwe")
            .and_then(value_to_string)
            .and_then(|c| parse_cwe(&c)),
        vulnerability_ids: id.into_iter().collect(),
        component_name: non_empty_str(&name),
        component_version: non_empty_str(&version),
        unique_id_from_tool: unique_id(vuln),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        date: date_of(vuln.get("firstFoundDate")),
        tags: vec!["sca".to_owned()],
        ..Finding::default()
    };
    status(&mut f, vuln);
    Ok(f)
}

fn kics_finding(group: &Value, vuln: &Value) -> Finding {
    let group_name = string_at(group, "name");
    let query = string_at(vuln, "queryName").unwrap_or_else(|| "KICS finding".to_owned());
    let title = match &group_name {
        Some(g) => format!("{g} | {query}"),
        None => query,
    };
    let mut description = string_at(vuln, "description").unwrap_or_else(|| title.clone());
    for (key, label) in [
        ("issueType", "Issue type"),
        ("category", "Category"),
        ("expectedValue", "Expected"),
        ("actualValue", "Actual"),
    ] {
        if let Some(v) = string_at(vuln, key).filter(|s| !s.trim().is_empty()) {
            description.push_str(&format!("\n**{label}:** {v}"));
        }
    }
    let mut f = Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity: severity_or_info(vuln.get("severity").and_then(Value::as_str)),
        description: clean(&description),
        file_path: string_at(vuln, "fileName").filter(|s| !s.trim().is_empty()),
        line: vuln
            .get("line")
            .and_then(Value::as_u64)
            .and_then(|l| u32::try_from(l).ok())
            .filter(|l| *l > 0),
        unique_id_from_tool: unique_id(vuln),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        date: date_of(vuln.get("firstFoundDate")),
        tags: ["kics".to_owned()].into_iter().chain(group_name).collect(),
        ..Finding::default()
    };
    status(&mut f, vuln);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_are_the_last_two_dash_parts() {
        let c = |p: &str| component(p).unwrap();
        assert_eq!(
            c("Npm-jquery-ui-1.10.4"),
            ("ui".to_owned(), "1.10.4".to_owned())
        );
        assert_eq!(
            c("Npm-lodash-4.17.4"),
            ("lodash".to_owned(), "4.17.4".to_owned())
        );
        assert!(component("odd").is_err());
    }

    #[test]
    fn dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(
            date_of(Some(&serde_json::json!({"seconds": 1651835169}))).as_deref(),
            Some("2022-05-06")
        );
    }
}
