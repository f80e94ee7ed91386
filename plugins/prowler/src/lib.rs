//! Palisade parser plugin for Prowler (v4/v5) reports, "Prowler Scan".
//!
//! Two outputs of the current Prowler for AWS, Azure, GCP and Kubernetes:
//! - OCSF JSON (`--output-formats json-ocsf`): an array of OCSF "Detection
//!   Finding" objects (`message`, `severity`, `status_code`, `status_detail`,
//!   `metadata.event_code` = check id, `finding_info`, `resources`, `cloud`,
//!   `remediation`, `risk_details`, `unmapped`);
//! - CSV (`--output-formats csv`): `;`-separated, with `CHECK_ID`,
//!   `CHECK_TITLE`, `STATUS`, `STATUS_EXTENDED`, `SEVERITY`, `MUTED`, ... columns.
//!
//! Failed and manual checks are findings; passed checks are not. Repeated
//! results (same title and description) are one finding. See FORMAT.md.
//!
//! The older "AWS Prowler Scan" (Prowler v2 CSV/JSON) and "AWS Prowler V3"
//! (Prowler 3/4 JSON and OCSF 1.2) formats are other scan types; `detect`
//! only claims OCSF written by Prowler 5 (OCSF 1.3+ fields such as
//! `finding_info.created_time_dt`, `metadata.profiles`) and the v4+ CSV header.

use std::collections::{HashMap, HashSet};

use palisade_plugin_sdk::json::{starts_like_json, string_at, value_to_string};
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::pycsv::{PY_FIELD_LIMIT, field_over_limit, py_csv_records};
use palisade_plugin_sdk::sniff::contains;
use palisade_plugin_sdk::text::iso_date;
use serde_json::Value;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "Prowler Scan";

/// The Prowler parser.
pub struct Prowler;

impl Parser for Prowler {
    fn info() -> PluginInfo {
        PluginInfo::single(
            "prowler",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "Prowler cloud security scan (AWS, Azure, GCP, Kubernetes), OCSF JSON or CSV",
                &["json", "csv"],
                DedupeSetting::new(
                    DedupeAlgorithm::Legacy,
                    &["title", "cwe", "line", "file_path", "description"],
                ),
            ),
        )
    }

    fn detect(_candidates: &[String], head: &[u8]) -> Option<String> {
        (looks_like_ocsf(head) || looks_like_csv(head)).then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        _scan_type: &str,
        report: &[u8],
        options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        // The reference picks the layout by the file name (any case) and
        // returns nothing for other names; without a name the content decides.
        if let Some(name) = options.get("file-name").map(str::to_lowercase) {
            if name.ends_with(".csv") {
                return parse_csv(report);
            }
            if name.ends_with(".json") {
                return parse_ocsf(report);
            }
            return Ok(Vec::new());
        }
        match palisade_plugin_sdk::sniff::first_byte(report) {
            None => Err(ParseError::new(
                "the report is empty: expected Prowler OCSF JSON (an array) or CSV with a header row",
            )),
            Some(b'[' | b'{') => parse_ocsf(report),
            Some(_) if looks_like_csv(report) => parse_csv(report),
            Some(_) => Err(ParseError::new(
                "not a Prowler report: expected OCSF JSON or a ';'-separated CSV with CHECK_ID;CHECK_TITLE                  (Prowler v2 comma-separated CSV is the \"AWS Prowler Scan\" type)",
            )),
        }
    }
}

palisade_plugin_sdk::export_parser!(Prowler);

/// Prowler 5 OCSF: an array of detection findings with OCSF 1.3+ fields.
fn looks_like_ocsf(head: &[u8]) -> bool {
    if !starts_like_json(head) {
        return false;
    }
    let first = palisade_plugin_sdk::sniff::first_byte(head);
    first == Some(b'[')
        && contains(head, b"\"event_code\"")
        && contains(head, b"\"finding_info\"")
        && contains(head, b"\"status_code\"")
        && (contains(head, b"\"Prowler\"") || contains(head, b"\"prowler\""))
        && (contains(head, b"\"created_time_dt\"")
            || contains(head, b"\"profiles\"")
            || contains(head, b"\"tenant_uid\""))
}

/// The Prowler v4+ CSV header: `;`-separated, with its own column names.
fn looks_like_csv(head: &[u8]) -> bool {
    let head = palisade_plugin_sdk::sniff::without_bom(head);
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or(head);
    contains(first_line, b"CHECK_ID;CHECK_TITLE")
        && contains(first_line, b"STATUS_EXTENDED")
        && contains(first_line, b"FINDING_UID")
}

/// The reference's severity rule: critical/high/medium/low in any case, else Info.
fn severity(word: Option<&str>) -> Severity {
    match word.map(str::to_lowercase).as_deref() {
        Some("critical") => Severity::Critical,
        Some("high") => Severity::High,
        Some("medium") => Severity::Medium,
        Some("low") => Severity::Low,
        _ => Severity::Info,
    }
}

/// A JSON field the reference concatenates: absent = `default`; anything but
/// a string rejects the report (Python cannot add it to a string).
fn text_field(obj: &Value, key: &str, default: &str, at: &str) -> Result<String, ParseError> {
    match obj.get(key) {
        None => Ok(default.to_owned()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(ParseError::new(format!(
            "Prowler OCSF finding: \"{key}\" is {other}, expected a string"
        ))
        .at_path(at.to_owned())),
    }
}

/// A JSON object the reference reads with `.get(key, {})`: absent = empty;
/// anything but an object rejects the report.
fn object_field<'a>(obj: &'a Value, key: &str, at: &str) -> Result<Option<&'a Value>, ParseError> {
    match obj.get(key) {
        None => Ok(None),
        Some(v @ Value::Object(_)) => Ok(Some(v)),
        Some(other) => Err(ParseError::new(format!(
            "Prowler OCSF finding: \"{key}\" is {other}, expected an object"
        ))
        .at_path(at.to_owned())),
    }
}

static EMPTY: Value = Value::Null;

/// `obj[a][b]...[last]` as text with the reference's defaults and type rules.
fn nested_text(obj: &Value, path: &[&str], default: &str, at: &str) -> Result<String, ParseError> {
    let mut cur = obj;
    let (last, parents) = path.split_last().unwrap_or((&"", &[]));
    for key in parents {
        match object_field(cur, key, at)? {
            Some(v) => cur = v,
            None => cur = &EMPTY,
        }
    }
    text_field(cur, last, default, at)
}

/// Parses the OCSF JSON output: failed and manual checks, merged by (description, title).
pub fn parse_ocsf(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let value = palisade_plugin_sdk::json::parse_json_value(report)?;
    let items = match &value {
        Value::Array(items) => items.as_slice(),
        // Iterating an empty object yields nothing in the reference.
        Value::Object(o) if o.is_empty() => &[],
        _ => {
            return Err(ParseError::new(
                "not a Prowler OCSF report: expected a JSON array of OCSF findings",
            ));
        }
    };
    let mut out: Vec<Finding> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("/{i}");
        if !item.is_object() {
            return Err(
                ParseError::new("expected each OCSF finding to be a JSON object").at_path(at),
            );
        }
        if item.get("status_code").and_then(Value::as_str) == Some("PASS") {
            continue;
        }
        let (finding, key) = ocsf_finding(item, &at)?;
        match index.get(&key) {
            Some(&k) => {
                if let Some(kept) = out.get_mut(k) {
                    kept.description.push('\n');
                    kept.description.push_str(&finding.description);
                }
            }
            None => {
                index.insert(key, out.len());
                out.push(finding);
            }
        }
    }
    Ok(out)
}

/// The reference's cloud type: the provider gcp/aws/azure, else KUBERNETES
/// when a resource has a namespace, else N/A.
fn cloud_type(x: &Value, at: &str) -> Result<&'static str, ParseError> {
    if let Some(cloud) = object_field(x, "cloud", at)? {
        match cloud.get("provider") {
            Some(Value::String(p)) if p == "gcp" => return Ok("GCP"),
            Some(Value::String(p)) if p == "aws" => return Ok("AWS"),
            Some(Value::String(p)) if p == "azure" => return Ok("AZURE"),
            None | Some(Value::Null | Value::String(_)) => {}
            Some(Value::Bool(false)) => {}
            Some(other) => {
                return Err(ParseError::new(format!(
                    "Prowler OCSF finding: cloud.provider is {other}, expected a string"
                ))
                .at_path(at.to_owned()));
            }
        }
    }
    for r in resources(x, at)? {
        if r.pointer("/data/metadata/namespace")
            .is_some_and(|n| !n.is_null())
        {
            return Ok("KUBERNETES");
        }
    }
    Ok("N/A")
}

fn resources<'a>(x: &'a Value, at: &str) -> Result<&'a [Value], ParseError> {
    match x.get("resources") {
        None => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(other) => Err(ParseError::new(format!(
            "Prowler OCSF finding: \"resources\" is {other}, expected an array"
        ))
        .at_path(at.to_owned())),
    }
}

fn ocsf_finding(x: &Value, at: &str) -> Result<(Finding, String), ParseError> {
    let cloud = cloud_type(x, at)?;
    let mut description = format!(
        "**Cloud Type** : {cloud}\n\n**Finding Description** : {}\n\n**Product Name** : {}\n\n\
         **Status Detail** : {}\n\n**Finding Created Time** : {}",
        nested_text(x, &["finding_info", "desc"], "N/A", at)?,
        nested_text(x, &["metadata", "product", "name"], "N/A", at)?,
        text_field(x, "status_detail", "N/A", at)?,
        nested_text(x, &["finding_info", "created_time_dt"], "N/A", at)?,
    );
    match cloud {
        "GCP" | "AWS" | "AZURE" => {
            let region = nested_text(x, &["cloud", "region"], "N/A", at)?;
            description.push_str(&format!("\n\n**{cloud} Region** : {region}"));
        }
        "KUBERNETES" => {
            // Only the first resource is described.
            if let Some(r) = resources(x, at)?.first() {
                let meta = r.pointer("/data/metadata").unwrap_or(&EMPTY);
                for (key, label) in [("name", "Pod Name"), ("namespace", "Namespace")] {
                    match meta.get(key) {
                        None | Some(Value::Null) => {}
                        Some(Value::String(v)) => {
                            description.push_str(&format!("\n\n**{label}** : {v}"));
                        }
                        Some(other) => {
                            return Err(ParseError::new(format!(
                                "Prowler OCSF finding: resource metadata {key} is {other}, expected a string"
                            ))
                            .at_path(at.to_owned()));
                        }
                    }
                }
            }
        }
        _ => {}
    }
    let title = text_field(x, "message", "", at)?;
    let sev = match x.get("severity") {
        Some(Value::String(s)) => severity(Some(s)),
        None | Some(Value::Null) => Severity::Info,
        Some(other) => {
            return Err(ParseError::new(format!(
                "Prowler OCSF finding: \"severity\" is {other}, expected a string"
            ))
            .at_path(at.to_owned()));
        }
    };
    let strings = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::Array(a)) => a.iter().filter_map(value_to_string).collect(),
            Some(other) => value_to_string(other).into_iter().collect(),
            None => Vec::new(),
        }
    };
    let mitigation = format!(
        "**Remediation Description** : {}\n\n**Remediation References** : {}",
        nested_text(x, &["remediation", "desc"], "N/A", at)?,
        strings(x.pointer("/remediation/references")).join(", ")
    );
    let mut references = format!(
        "**Related URL** : {}",
        nested_text(x, &["unmapped", "related_url"], "", at)?
    );
    if let Some(Value::Object(compliance)) = x.pointer("/unmapped/compliance") {
        for (framework, reqs) in compliance {
            references.push_str(&format!(
                "\n\n**{framework}** : {}",
                strings(Some(reqs)).join(", ")
            ));
        }
    }
    let key = format!("{description}{title}");
    let f = Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity: sev,
        description,
        impact: non_empty(string_at(x, "risk_details").as_deref()),
        mitigation: Some(mitigation),
        references: Some(references),
        static_finding: Some(false),
        dynamic_finding: Some(true),
        date: string_at(x, "finding_info/created_time_dt")
            .and_then(|d| iso_date(&d).map(str::to_owned)),
        extra: string_at(x, "metadata/event_code")
            .map(|c| vec![("check_id".to_owned(), c)])
            .unwrap_or_default(),
        ..Finding::default()
    };
    Ok((f, key))
}

/// Parses the `;`-separated CSV output: failed and manual checks; rows with
/// the same title and description are one finding.
pub fn parse_csv(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = std::str::from_utf8(report)
        .map_err(|e| ParseError::new(format!("the Prowler CSV report is not UTF-8 text: {e}")))?;
    // Read as the reference's csv.DictReader does: the first record is the
    // header, later blank lines are skipped.
    let records = py_csv_records(text, ';');
    if let Some((r, _)) = field_over_limit(&records) {
        return Err(ParseError::new(format!(
            "Prowler CSV report: record {} has a field longer than {PY_FIELD_LIMIT} characters",
            r + 1
        )));
    }
    let mut records = records.into_iter();
    let Some(header) = records.next() else {
        return Ok(Vec::new());
    };
    let records = records.filter(|r| !r.is_empty());
    let mut out = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for (n, rec) in records.enumerate() {
        let mut row: HashMap<&str, Option<&str>> = HashMap::new();
        for (i, name) in header.iter().enumerate() {
            row.insert(name.as_str(), rec.get(i).map(String::as_str));
        }
        if row.get("STATUS").copied().flatten() == Some("PASS") {
            continue;
        }
        // A column the header names but this short row lacks cannot be
        // concatenated by the reference.
        let get = |name: &str, default: &'static str| -> Result<String, ParseError> {
            match row.get(name) {
                None => Ok(default.to_owned()),
                Some(Some(v)) => Ok((*v).to_owned()),
                Some(None) => Err(ParseError::new(format!(
                    "Prowler CSV report: data row {} has no {name} cell",
                    n + 1
                ))),
            }
        };
        let mut description = format!(
            "**Cloud Type** : {}\n\n**Description** : {}\n\n**Service Name** : {}\n\n\
             **Status Detail** : {}\n\n**Finding Created Time** : {}\n\n**Region** : {}\n\n\
             **Notes** : {}",
            get("PROVIDER", "N/A")?.to_uppercase(),
            get("DESCRIPTION", "N/A")?,
            get("SERVICE_NAME", "N/A")?,
            get("STATUS_EXTENDED", "N/A")?,
            get("TIMESTAMP", "N/A")?,
            get("REGION", "N/A")?,
            get("NOTES", "N/A")?,
        );
        for (col, label) in [
            ("RELATED_URL", "Related URL"),
            ("ADDITIONAL_URLS", "Additional URLs"),
        ] {
            if let Some(Some(v)) = row.get(col).filter(|v| v.is_some_and(|v| !v.is_empty())) {
                description.push_str(&format!("\n\n**{label}** : {v}"));
            }
        }
        let mitigation = format!(
            "**Remediation Recommendation** : {}\n\n**Remediation Recommendation URL** : {}\n\n\
             **Remediation Code Native IaC** : {}\n\n**Remediation Code Terraform** : {}\n\n\
             **Remediation Code CLI** : {}\n\n**Other Remediation Info** : {}",
            get("REMEDIATION_RECOMMENDATION_TEXT", "N/A")?,
            get("REMEDIATION_RECOMMENDATION_URL", "N/A")?,
            get("REMEDIATION_CODE_NATIVEIAC", "N/A")?,
            get("REMEDIATION_CODE_TERRAFORM", "N/A")?,
            get("REMEDIATION_CODE_CLI", "N/A")?,
            get("REMEDIATION_CODE_OTHER", "N/A")?,
        );
        let title = get("CHECK_TITLE", "")?;
        let compliance = get("COMPLIANCE", "N/A")?;
        let references = if compliance == "N/A" {
            compliance
        } else {
            compliance
                .split('|')
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("\n")
        };
        let key = format!("{title}|{description}");
        if !seen.insert(key) {
            continue;
        }
        let cell = |name: &str| row.get(name).copied().flatten();
        out.push(Finding {
            title: truncate_chars(&title, 511).to_owned(),
            severity: severity(cell("SEVERITY").filter(|s| !s.is_empty())),
            description,
            impact: cell("RISK").and_then(non_empty_str),
            mitigation: Some(mitigation),
            references: Some(references),
            service: cell("SERVICE_NAME").and_then(non_empty_str),
            static_finding: Some(false),
            dynamic_finding: Some(true),
            date: cell("TIMESTAMP").and_then(|d| iso_date(d).map(str::to_owned)),
            extra: cell("CHECK_ID")
                .map(|c| vec![("check_id".to_owned(), c.to_owned())])
                .unwrap_or_default(),
            ..Finding::default()
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        Prowler::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    const HEADER: &str = "TIMESTAMP;FINDING_UID;PROVIDER;CHECK_ID;CHECK_TITLE;STATUS;STATUS_EXTENDED;MUTED;SERVICE_NAME;SEVERITY;COMPLIANCE\n";

    #[test]
    fn empty_reports_have_no_findings() {
        assert!(parse("[\n  \n]").unwrap().is_empty());
        assert!(parse(HEADER).unwrap().is_empty());
    }

    #[test]
    fn malformed_inputs_are_errors() {
        assert!(parse("").is_err());
        assert!(parse("[{\"status_code\":").is_err());
        assert!(parse(r#"{"findings":[]}"#).is_err());
        assert!(parse("[1]").is_err());
        assert!(parse(r#"[{"message":1}]"#).is_err());
        assert!(
            parse("PROFILE,ACCOUNT_NUM,REGION,TITLE_ID,CHECK_RESULT\n,1,r,1.1,FAIL\n").is_err()
        );
        assert!(Prowler::parse(SCAN_TYPE, b"[\"\xff\"]", &Options::default()).is_err());
        assert!(
            Prowler::parse(
                SCAN_TYPE,
                b"CHECK_ID;STATUS;SEVERITY\n\xff;FAIL;high\n",
                &Options::default()
            )
            .is_err()
        );
        assert!(parse(&"[".repeat(10_000)).is_err());
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        assert!(Prowler::detect(&c, br#"[{"message":"x","metadata":{"event_code":"a","product":{"name":"Prowler"},"profiles":[]},"status_code":"FAIL","finding_info":{"#).is_some());
        assert!(
            Prowler::detect(
                &c,
                b"AUTH_METHOD;TIMESTAMP;FINDING_UID;CHECK_ID;CHECK_TITLE;STATUS;STATUS_EXTENDED\n"
            )
            .is_some()
        );
        // Prowler 4 OCSF 1.2 is "AWS Prowler V3".
        assert!(Prowler::detect(&c, br#"[{"metadata":{"event_code":"a","product":{"name":"Prowler"},"version":"1.2.0"},"status_code":"FAIL","finding_info":{"created_time":"x"}}]"#).is_none());
        assert!(
            Prowler::detect(&c, b"PROFILE,ACCOUNT_NUM,REGION,TITLE_ID,CHECK_RESULT\n").is_none()
        );
    }
}
