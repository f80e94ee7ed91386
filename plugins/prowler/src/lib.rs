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
//! Failed and manual checks are findings; passed checks are not. Muted
//! (allow-listed) results are kept, marked risk-accepted and inactive.
//!
//! The older "AWS Prowler Scan" (Prowler v2 CSV/JSON) and "AWS Prowler V3"
//! (Prowler 3/4 JSON and OCSF 1.2) formats are other scan types; `detect`
//! only claims OCSF written by Prowler 5 (OCSF 1.3+ fields such as
//! `finding_info.created_time_dt`, `metadata.profiles`) and the v4+ CSV header.

use palisade_plugin_sdk::csv::{CsvOptions, CsvRow, read_csv_with};
use palisade_plugin_sdk::json::{array_at, starts_like_json, string_at, value_to_string};
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use palisade_plugin_sdk::text::iso_date;
use serde_json::Value;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "Prowler Scan";

/// The Prowler parser.
pub struct Prowler;

impl Parser for Prowler {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "prowler".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description:
                    "Prowler cloud security scan (AWS, Azure, GCP, Kubernetes), OCSF JSON or CSV"
                        .to_owned(),
                file_kinds: vec!["json".to_owned(), "csv".to_owned()],
                dedupe: DedupeSetting::new(
                    DedupeAlgorithm::Legacy,
                    &["title", "cwe", "line", "file_path", "description"],
                ),
            }],
        }
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        if !candidates.iter().any(|c| c == SCAN_TYPE) {
            return None;
        }
        (looks_like_ocsf(head) || looks_like_csv(head)).then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        if scan_type != SCAN_TYPE {
            return Err(ParseError::new(format!(
                "the prowler plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
        match palisade_plugin_sdk::sniff::first_byte(report) {
            None => Err(ParseError::new(
                "the report is empty: expected Prowler OCSF JSON (an array) or CSV with a header row",
            )),
            Some(b'[' | b'{') => parse_ocsf(report),
            Some(_) => parse_csv(report),
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
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or(head);
    contains(first_line, b"CHECK_ID;CHECK_TITLE")
        && contains(first_line, b"STATUS_EXTENDED")
        && contains(first_line, b"FINDING_UID")
}

fn severity(word: Option<&str>) -> Severity {
    word.and_then(severity_from_word).unwrap_or(Severity::Info)
}

fn section(out: &mut Vec<String>, label: &str, value: Option<&str>) {
    if let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) {
        out.push(format!("**{label}:** {v}"));
    }
}

/// What a check's status means for the finding: `None` = not a finding.
fn status_flags(status: Option<&str>) -> Option<&'static str> {
    match status.map(str::to_ascii_uppercase).as_deref() {
        Some("PASS") => None,
        Some("MANUAL") => Some("MANUAL"),
        _ => Some("FAIL"),
    }
}

/// Parses the OCSF JSON output.
pub fn parse_ocsf(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let value = palisade_plugin_sdk::json::parse_json_value(report)?;
    let Value::Array(items) = &value else {
        return Err(ParseError::new(
            "not a Prowler OCSF report: expected a JSON array of OCSF findings",
        ));
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if !item.is_object() {
            return Err(
                ParseError::new("expected each OCSF finding to be a JSON object")
                    .at_path(format!("/{i}")),
            );
        }
        if item.get("finding_info").is_none() && item.get("status_code").is_none() {
            return Err(ParseError::new(
                "not a Prowler OCSF finding: it has neither \"finding_info\" nor \"status_code\"",
            )
            .at_path(format!("/{i}")));
        }
        if status_flags(string_at(item, "status_code").as_deref()).is_none() {
            continue;
        }
        out.push(ocsf_finding(item));
    }
    Ok(out)
}

fn ocsf_finding(x: &Value) -> Finding {
    let check_id = non_empty(string_at(x, "metadata/event_code").as_deref());
    let detail = non_empty(string_at(x, "status_detail").as_deref())
        .or_else(|| non_empty(string_at(x, "message").as_deref()));
    let title = non_empty(string_at(x, "finding_info/title").as_deref())
        .or_else(|| detail.clone())
        .or_else(|| check_id.clone())
        .unwrap_or_else(|| "Prowler finding".to_owned());
    let status = string_at(x, "status_code");
    let provider = string_at(x, "cloud/provider").map(|p| p.to_ascii_uppercase());
    let resource = array_at(x, "resources").first();

    let mut d = Vec::new();
    section(&mut d, "Status", status.as_deref());
    section(&mut d, "Status Detail", detail.as_deref());
    section(&mut d, "Check ID", check_id.as_deref());
    section(&mut d, "Cloud Type", provider.as_deref());
    section(
        &mut d,
        "Account",
        string_at(x, "cloud/account/uid").as_deref(),
    );
    section(&mut d, "Region", string_at(x, "cloud/region").as_deref());
    if let Some(r) = resource {
        section(
            &mut d,
            "Resource",
            string_at(r, "uid")
                .or_else(|| string_at(r, "name"))
                .as_deref(),
        );
        section(&mut d, "Resource Type", string_at(r, "type").as_deref());
        section(&mut d, "Service", string_at(r, "group/name").as_deref());
    }
    section(
        &mut d,
        "Description",
        string_at(x, "finding_info/desc").as_deref(),
    );
    section(
        &mut d,
        "Finding Created Time",
        string_at(x, "finding_info/created_time_dt").as_deref(),
    );
    section(&mut d, "Notes", string_at(x, "unmapped/notes").as_deref());

    let mut m = Vec::new();
    section(
        &mut m,
        "Remediation",
        string_at(x, "remediation/desc").as_deref(),
    );
    let refs: Vec<String> = array_at(x, "remediation/references")
        .iter()
        .filter_map(value_to_string)
        .filter_map(|s| non_empty_str(&s))
        .collect();
    if !refs.is_empty() {
        section(&mut m, "Remediation References", Some(&refs.join(", ")));
    }

    let mut references = Vec::new();
    if let Some(u) = non_empty(string_at(x, "unmapped/related_url").as_deref()) {
        references.push(u);
    }
    for u in array_at(x, "unmapped/additional_urls")
        .iter()
        .filter_map(value_to_string)
    {
        if let Some(u) = non_empty_str(&u) {
            references.push(u);
        }
    }
    if let Some(Value::Object(compliance)) = x.pointer("/unmapped/compliance") {
        for (framework, reqs) in compliance {
            let reqs: Vec<String> = match reqs {
                Value::Array(a) => a.iter().filter_map(value_to_string).collect(),
                other => value_to_string(other).into_iter().collect(),
            };
            references.push(format!("{framework}: {}", reqs.join(", ")));
        }
    }

    let muted = x
        .pointer("/unmapped/muted")
        .and_then(Value::as_bool)
        .unwrap_or(false)
        || string_at(x, "status").is_some_and(|s| s.eq_ignore_ascii_case("suppressed"));
    let mut f = Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity: severity(string_at(x, "severity").as_deref()),
        description: d.join("\n\n"),
        impact: non_empty(string_at(x, "risk_details").as_deref()),
        mitigation: (!m.is_empty()).then(|| m.join("\n\n")),
        references: (!references.is_empty()).then(|| references.join("\n")),
        service: resource.and_then(|r| non_empty(string_at(r, "group/name").as_deref())),
        static_finding: Some(false),
        dynamic_finding: Some(true),
        active: Some(!muted),
        risk_accepted: Some(muted),
        date: string_at(x, "finding_info/created_time_dt")
            .and_then(|d| iso_date(&d).map(str::to_owned)),
        ..Finding::default()
    };
    f.extra.extend(check_id.map(|c| ("check_id".to_owned(), c)));
    f.extra
        .extend(string_at(x, "finding_info/uid").map(|c| ("finding_uid".to_owned(), c)));
    f
}

/// Parses the `;`-separated CSV output.
pub fn parse_csv(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let options = CsvOptions {
        delimiter: b';',
        flexible: true,
        ..CsvOptions::default()
    };
    let table = read_csv_with(report, &options)?;
    if !table.has_column("CHECK_ID") || !table.has_column("STATUS") {
        return Err(ParseError::new(
            "not a Prowler CSV report: expected a ';'-separated header with CHECK_ID, CHECK_TITLE, STATUS, SEVERITY columns \
             (Prowler v2 comma-separated CSV is the \"AWS Prowler Scan\" type)",
        )
        .at(1, 1));
    }
    table.require_columns(&["CHECK_ID", "STATUS", "SEVERITY"])?;
    let mut out = Vec::with_capacity(table.len());
    for row in table.rows() {
        if status_flags(row.get("STATUS")).is_none() {
            continue;
        }
        out.push(csv_finding(&row));
    }
    Ok(out)
}

fn csv_finding(row: &CsvRow<'_>) -> Finding {
    let check_id = row.get("CHECK_ID").map(str::to_owned);
    let detail = row.get("STATUS_EXTENDED");
    let title = row
        .get("CHECK_TITLE")
        .or(detail)
        .or(check_id.as_deref())
        .unwrap_or("Prowler finding")
        .to_owned();

    let mut d = Vec::new();
    section(&mut d, "Status", row.get("STATUS"));
    section(&mut d, "Status Detail", detail);
    section(&mut d, "Check ID", check_id.as_deref());
    section(
        &mut d,
        "Cloud Type",
        row.get("PROVIDER").map(str::to_ascii_uppercase).as_deref(),
    );
    section(&mut d, "Account", row.get("ACCOUNT_UID"));
    section(&mut d, "Region", row.get("REGION"));
    section(
        &mut d,
        "Resource",
        row.get("RESOURCE_UID").or(row.get("RESOURCE_NAME")),
    );
    section(&mut d, "Resource Type", row.get("RESOURCE_TYPE"));
    section(&mut d, "Service", row.get("SERVICE_NAME"));
    section(&mut d, "Description", row.get("DESCRIPTION"));
    section(&mut d, "Finding Created Time", row.get("TIMESTAMP"));
    section(&mut d, "Notes", row.get("NOTES"));

    let mut m = Vec::new();
    section(
        &mut m,
        "Remediation",
        row.get("REMEDIATION_RECOMMENDATION_TEXT"),
    );
    section(
        &mut m,
        "Remediation URL",
        row.get("REMEDIATION_RECOMMENDATION_URL"),
    );
    section(
        &mut m,
        "Remediation Code (native IaC)",
        row.get("REMEDIATION_CODE_NATIVEIAC"),
    );
    section(
        &mut m,
        "Remediation Code (Terraform)",
        row.get("REMEDIATION_CODE_TERRAFORM"),
    );
    section(
        &mut m,
        "Remediation Code (CLI)",
        row.get("REMEDIATION_CODE_CLI"),
    );
    section(
        &mut m,
        "Other Remediation Info",
        row.get("REMEDIATION_CODE_OTHER"),
    );

    let mut references = Vec::new();
    references.extend(row.get("RELATED_URL").map(str::to_owned));
    for list in [row.get("ADDITIONAL_URLS"), row.get("COMPLIANCE")]
        .into_iter()
        .flatten()
    {
        references.extend(list.split(" | ").filter_map(non_empty_str));
    }

    let muted = row
        .get("MUTED")
        .is_some_and(|m| m.eq_ignore_ascii_case("true"));
    let mut f = Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity: severity(row.get("SEVERITY")),
        description: d.join("\n\n"),
        impact: row.get("RISK").map(str::to_owned),
        mitigation: (!m.is_empty()).then(|| m.join("\n\n")),
        references: (!references.is_empty()).then(|| references.join("\n")),
        service: row.get("SERVICE_NAME").map(str::to_owned),
        static_finding: Some(false),
        dynamic_finding: Some(true),
        active: Some(!muted),
        risk_accepted: Some(muted),
        date: row
            .get("TIMESTAMP")
            .and_then(|d| iso_date(d).map(str::to_owned)),
        ..Finding::default()
    };
    f.extra.extend(check_id.map(|c| ("check_id".to_owned(), c)));
    f.extra.extend(
        row.get("FINDING_UID")
            .map(|c| ("finding_uid".to_owned(), c.to_owned())),
    );
    f
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
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
    fn csv_statuses_and_severities() {
        let f = parse(&format!(
            "{HEADER}t;u;aws;c1;Title 1;FAIL;detail;False;s3;critical;CIS: 1 | ENS: 2\n\
             t;u;aws;c2;Title 2;PASS;ok;False;s3;high;\n\
             t;u;aws;c3;Title 3;MANUAL;check;True;iam;informational;\n\
             t;u;aws;c4;;FAIL;only detail;False;iam;weird;\n"
        ))
        .unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].severity, Severity::Critical);
        assert_eq!(f[0].references.as_deref(), Some("CIS: 1\nENS: 2"));
        assert_eq!(f[1].severity, Severity::Info);
        assert_eq!(f[1].risk_accepted, Some(true));
        assert_eq!(f[2].title, "only detail");
        assert_eq!(f[2].severity, Severity::Info);
    }

    #[test]
    fn ocsf_minimal_and_pass_skipped() {
        let f = parse(
            r#"[{"status_code":"FAIL","severity":"High","finding_info":{"title":"T"}},
                {"status_code":"PASS","severity":"High","finding_info":{"title":"P"}},
                {"status_code":"FAIL","message":"m"}]"#,
        )
        .unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].title, "T");
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[1].title, "m");
        assert_eq!(f[1].severity, Severity::Info);
    }

    #[test]
    fn malformed_inputs_are_errors() {
        assert!(parse("").is_err());
        assert!(parse("[{\"status_code\":").is_err());
        assert!(parse(r#"{"findings":[]}"#).is_err());
        assert!(parse("[1]").is_err());
        assert!(parse(r#"[{"name":"x"}]"#).is_err());
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
