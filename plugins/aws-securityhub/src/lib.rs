//! Palisade parser plugin for AWS Security Hub exports.
//!
//! An export is `{"Findings": [...]}` (the `GetFindings` API response; some
//! tools write `"findings"`), each finding in the AWS Security Finding Format
//! (ASFF): `Id`, `ProductArn`/`ProductName`, `Title`, `Description`,
//! `Severity.Label`, `Resources`, `Compliance`, `Remediation`,
//! `Vulnerabilities` (Inspector), ... Findings come from many AWS services;
//! Inspector (package vulnerabilities) and GuardDuty (threats) get the
//! affected resources as endpoints, as DefectDojo models them, so that the
//! same resource groups its findings.
//!
//! A bare JSON array of ASFF findings is the separate "AWS Security Finding
//! Format (ASFF) Scan" type: `detect` leaves it alone, `parse` still reads it.

use palisade_plugin_sdk::json::{array_at, starts_like_json, string_at, u64_at, value_to_string};
use palisade_plugin_sdk::markdown::push_field;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use palisade_plugin_sdk::text::iso_date;
use serde_json::Value;
use std::collections::HashSet;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "AWS Security Hub Scan";

/// The AWS Security Hub parser.
pub struct AwsSecurityHub;

impl Parser for AwsSecurityHub {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "aws-securityhub".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "AWS Security Hub findings export ({\"Findings\": [ASFF ...]})"
                    .to_owned(),
                file_kinds: vec!["json".to_owned()],
                dedupe: DedupeSetting::new(
                    DedupeAlgorithm::UniqueIdFromTool,
                    &["title", "cwe", "line", "file_path", "description"],
                ),
            }],
        }
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        if !candidates.iter().any(|c| c == SCAN_TYPE) {
            return None;
        }
        looks_like(head).then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        if scan_type != SCAN_TYPE {
            return Err(ParseError::new(format!(
                "the aws-securityhub plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
        parse_report(report)
    }
}

palisade_plugin_sdk::export_parser!(AwsSecurityHub);

/// An object holding a `Findings`/`findings` list of ASFF findings.
fn looks_like(head: &[u8]) -> bool {
    if !starts_like_json(head) {
        return false;
    }
    let first = palisade_plugin_sdk::sniff::first_byte(head);
    first == Some(b'{')
        && (contains(head, b"\"Findings\"") || contains(head, b"\"findings\""))
        && contains(head, b"\"ProductArn\"")
        && (contains(head, b"\"SchemaVersion\"") || contains(head, b"\"GeneratorId\""))
}

/// Parses a whole export.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let value = palisade_plugin_sdk::json::parse_json_value(report)?;
    let (findings, base) = match &value {
        Value::Object(o) => match o.get("Findings").or_else(|| o.get("findings")) {
            Some(Value::Array(a)) => (
                a.as_slice(),
                if o.contains_key("Findings") {
                    "/Findings"
                } else {
                    "/findings"
                },
            ),
            Some(Value::Null) => return Ok(Vec::new()),
            Some(_) => {
                return Err(
                    ParseError::new("expected \"Findings\" to be an array").at_path("/Findings")
                );
            }
            None => {
                return Err(ParseError::new(
                    "not an AWS Security Hub export: the JSON object has no \"Findings\" array",
                ));
            }
        },
        Value::Array(a) => (a.as_slice(), ""),
        _ => {
            return Err(ParseError::new(
                "not an AWS Security Hub export: expected a JSON object with a \"Findings\" array",
            ));
        }
    };
    let mut out = Vec::with_capacity(findings.len());
    // Exports often repeat a finding (one page per query); the Id is unique per finding.
    let mut seen: HashSet<&str> = HashSet::new();
    for (i, f) in findings.iter().enumerate() {
        if !f.is_object() {
            return Err(ParseError::new("expected each finding to be a JSON object")
                .at_path(format!("{base}/{i}")));
        }
        if f.get("Id").is_none() && f.get("Title").is_none() {
            return Err(ParseError::new(
                "not an ASFF finding: it has neither \"Id\" nor \"Title\" (is this another scanner's report?)",
            )
            .at_path(format!("{base}/{i}")));
        }
        if let Some(id) = f.get("Id").and_then(Value::as_str)
            && !seen.insert(id)
        {
            continue;
        }
        out.push(finding(f));
    }
    Ok(out)
}

/// Which service produced the finding, from `ProductArn` ("…/product/aws/inspector").
fn product(f: &Value) -> String {
    string_at(f, "ProductArn")
        .and_then(|arn| arn.rsplit('/').next().map(str::to_ascii_lowercase))
        .or_else(|| string_at(f, "ProductName").map(|p| p.to_ascii_lowercase()))
        .unwrap_or_default()
}

fn severity(f: &Value) -> Severity {
    let label = string_at(f, "Severity/Label")
        .or_else(|| string_at(f, "FindingProviderFields/Severity/Label"));
    if let Some(s) = label.as_deref().and_then(severity_from_word) {
        return s;
    }
    // ASFF's normalized score: 0 informational, 1-39 low, 40-69 medium, 70-89 high, 90-100 critical.
    match u64_at(f, "Severity/Normalized") {
        Some(90..) => Severity::Critical,
        Some(70..=89) => Severity::High,
        Some(40..=69) => Severity::Medium,
        Some(1..=39) => Severity::Low,
        _ => Severity::Info,
    }
}

/// A readable name for a resource id: the ARN's resource part, or the
/// image path for ECR images.
fn resource_name(rtype: &str, id: &str) -> String {
    if rtype == "AwsEcrContainerImage"
        && let Some((_, rest)) = id.split_once("repository/")
    {
        return rest.to_owned();
    }
    if id.starts_with("arn:")
        && let Some(rest) = id.splitn(6, ':').nth(5)
    {
        return rest.to_owned();
    }
    id.rsplit(':').next().unwrap_or(id).to_owned()
}

fn finding(f: &Value) -> Finding {
    let product = product(f);
    let id = non_empty(string_at(f, "Id").as_deref());
    let resources = array_at(f, "Resources");
    let last = resources.last();
    let rtype = last.and_then(|r| string_at(r, "Type"));
    let rname = last.and_then(|r| {
        let id = string_at(r, "Id")?;
        Some(resource_name(rtype.as_deref().unwrap_or(""), &id))
    });
    let base_title = non_empty(string_at(f, "Title").as_deref())
        .unwrap_or_else(|| "AWS Security Hub finding".to_owned());
    let title = match (&rname, rtype.as_deref()) {
        (Some(n), Some("AwsEcrContainerImage")) => format!("{base_title} - Image: {n}"),
        (Some(n), _) => format!("{base_title} - Resource: {n}"),
        (None, _) => base_title,
    };

    // Vulnerabilities (Inspector): ids, packages, CVSS, references.
    let mut vuln_ids: Vec<String> = Vec::new();
    let mut packages: Vec<String> = Vec::new();
    let mut references: Vec<String> = Vec::new();
    let mut cvssv3: Option<String> = None;
    let mut fix_version: Option<String> = None;
    for v in array_at(f, "Vulnerabilities") {
        let ids = std::iter::once(v.get("Id"))
            .chain(array_at(v, "RelatedVulnerabilities").iter().map(Some));
        for vid in ids
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(non_empty_str)
        {
            if !vuln_ids.contains(&vid) {
                vuln_ids.push(vid);
            }
        }
        for p in array_at(v, "VulnerablePackages") {
            let name = string_at(p, "Name").unwrap_or_default();
            let version = string_at(p, "Version").unwrap_or_default();
            let fixed = string_at(p, "FixedInVersion");
            let path = string_at(p, "FilePath");
            let mut line = format!("- {name} {version}");
            if let Some(fx) = &fixed {
                line.push_str(&format!(" (fixed in {fx})"));
                fix_version.get_or_insert_with(|| fx.clone());
            }
            if let Some(p) = path {
                line.push_str(&format!(" at {p}"));
            }
            packages.push(line);
        }
        for c in array_at(v, "Cvss") {
            if cvssv3.is_none()
                && let Some(vec) = string_at(c, "BaseVector")
                    .as_deref()
                    .and_then(|s| cvss3_from_str(s).ok())
            {
                cvssv3 = Some(vec.vector());
            }
        }
        if let Some(u) = non_empty(string_at(v, "Vendor/Url").as_deref()) {
            references.push(u);
        }
        references.extend(
            array_at(v, "ReferenceUrls")
                .iter()
                .filter_map(value_to_string),
        );
    }
    if let Some(u) = non_empty(string_at(f, "Remediation/Recommendation/Url").as_deref()) {
        references.insert(0, u);
    }
    references.dedup();

    let mut desc = String::new();
    if let Some(d) = non_empty(string_at(f, "Description").as_deref()) {
        desc.push_str(&d);
        desc.push_str("\n\n");
    }
    push_field(
        &mut desc,
        "Product",
        string_at(f, "ProductName")
            .as_deref()
            .or(Some(product.as_str())),
    );
    push_field(
        &mut desc,
        "Generator",
        string_at(f, "GeneratorId").as_deref(),
    );
    push_field(
        &mut desc,
        "Account",
        string_at(f, "AwsAccountId").as_deref(),
    );
    push_field(&mut desc, "Region", string_at(f, "Region").as_deref());
    let types: Vec<String> = array_at(f, "Types")
        .iter()
        .filter_map(value_to_string)
        .collect();
    if !types.is_empty() {
        push_field(&mut desc, "Types", Some(&types.join(", ")));
    }
    push_field(
        &mut desc,
        "Compliance",
        string_at(f, "Compliance/Status").as_deref(),
    );
    push_field(
        &mut desc,
        "Workflow",
        string_at(f, "Workflow/Status").as_deref(),
    );
    push_field(
        &mut desc,
        "First observed",
        string_at(f, "FirstObservedAt").as_deref(),
    );
    push_field(
        &mut desc,
        "Last observed",
        string_at(f, "LastObservedAt").as_deref(),
    );
    if !resources.is_empty() {
        desc.push_str("**Resources:**\n");
        for r in resources {
            desc.push_str(&format!(
                "- {}: {}\n",
                string_at(r, "Type").unwrap_or_default(),
                string_at(r, "Id").unwrap_or_default()
            ));
        }
    }
    if !packages.is_empty() {
        desc.push_str("**Vulnerable packages:**\n");
        desc.push_str(&packages.join("\n"));
        desc.push('\n');
    }

    // Resources as endpoints: Inspector for every resource, GuardDuty for
    // EC2 instances (what DefectDojo does; it keeps findings on the same
    // resource together). The "host" is the resource type and id with
    // ':' and '/' made '_' so it is a valid host-like name.
    let endpoints: Vec<Endpoint> = match product.as_str() {
        "inspector" | "guardduty" => resources
            .iter()
            .filter_map(|r| {
                let t = string_at(r, "Type")?;
                if product == "guardduty" && t != "AwsEc2Instance" {
                    return None;
                }
                let rid = string_at(r, "Id")?;
                let host: String = format!("{t}_{rid}")
                    .chars()
                    .map(|c| if c == ':' || c == '/' { '_' } else { c })
                    .collect();
                Some(Endpoint {
                    host,
                    ..Endpoint::default()
                })
            })
            .collect(),
        _ => Vec::new(),
    };

    // A passed control, a resolved or suppressed workflow, or an archived
    // record is not an open problem any more.
    let passed =
        string_at(f, "Compliance/Status").is_some_and(|s| s.eq_ignore_ascii_case("PASSED"));
    let resolved = string_at(f, "Workflow/Status").is_some_and(|s| {
        s.eq_ignore_ascii_case("RESOLVED") || s.eq_ignore_ascii_case("SUPPRESSED")
    });
    let archived = string_at(f, "RecordState").is_some_and(|s| s.eq_ignore_ascii_case("ARCHIVED"));
    let mitigated = passed || resolved || archived;

    let mut out = Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity: severity(f),
        description: clean(&desc),
        mitigation: non_empty(string_at(f, "Remediation/Recommendation/Text").as_deref()),
        references: (!references.is_empty()).then(|| references.join("\n")),
        vulnerability_ids: vuln_ids,
        cvssv3,
        component_name: rtype,
        fix_version,
        unique_id_from_tool: id,
        endpoints,
        static_finding: Some(true),
        dynamic_finding: Some(false),
        active: Some(!mitigated),
        is_mitigated: Some(mitigated),
        mitigated: mitigated.then(|| string_at(f, "UpdatedAt")).flatten(),
        date: string_at(f, "CreatedAt").and_then(|d| iso_date(&d).map(str::to_owned)),
        ..Finding::default()
    };
    if let Some(g) = non_empty(string_at(f, "GeneratorId").as_deref()) {
        out.extra.push(("generator_id".to_owned(), g));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        parse_report(report.as_bytes())
    }

    #[test]
    fn empty_exports_have_no_findings() {
        assert!(parse(r#"{"Findings":[]}"#).unwrap().is_empty());
        assert!(parse(r#"{"findings":null}"#).unwrap().is_empty());
    }

    #[test]
    fn minimal_finding_and_severities() {
        let f = parse(
            r#"{"Findings":[{"Id":"a","Title":"T"},{"Id":"b","Title":"U","Severity":{"Normalized":95}},
                {"Id":"c","Title":"V","Severity":{"Label":"INFORMATIONAL"},"Compliance":{"Status":"PASSED"}},
                {"Id":"a","Title":"T"}]}"#,
        )
        .unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].severity, Severity::Info);
        assert_eq!(f[0].title, "T");
        assert_eq!(f[1].severity, Severity::Critical);
        assert_eq!(f[2].is_mitigated, Some(true));
        assert_eq!(f[2].active, Some(false));
    }

    #[test]
    fn inspector_resources_and_vulnerabilities() {
        let f = parse(
            r#"{"Findings":[{"Id":"x","Title":"CVE-1","ProductArn":"arn:aws:securityhub:eu-west-1::product/aws/inspector",
               "Severity":{"Label":"HIGH"},
               "Resources":[{"Type":"AwsEc2Instance","Id":"arn:aws:ec2:eu-west-1:1:instance/i-1"}],
               "Vulnerabilities":[{"Id":"CVE-2023-0001","RelatedVulnerabilities":["GHSA-aaaa-bbbb-cccc"],
                 "VulnerablePackages":[{"Name":"openssl","Version":"1.0","FixedInVersion":"1.1"}],
                 "Cvss":[{"BaseVector":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}]}]}"#,
        )
        .unwrap();
        assert_eq!(f[0].title, "CVE-1 - Resource: instance/i-1");
        assert_eq!(
            f[0].vulnerability_ids,
            vec!["CVE-2023-0001".to_owned(), "GHSA-aaaa-bbbb-cccc".to_owned()]
        );
        assert_eq!(
            f[0].endpoints[0].host,
            "AwsEc2Instance_arn_aws_ec2_eu-west-1_1_instance_i-1"
        );
        assert_eq!(f[0].component_name.as_deref(), Some("AwsEc2Instance"));
        assert_eq!(f[0].fix_version.as_deref(), Some("1.1"));
        assert!(f[0].cvssv3.is_some());
    }

    #[test]
    fn malformed_inputs_are_errors() {
        assert!(parse("{\"Findings\":[").is_err());
        assert!(parse(r#"{"vulnerabilities":[]}"#).is_err());
        assert!(parse(r#"{"Findings":{}}"#).is_err());
        assert!(parse(r#"{"Findings":[1]}"#).is_err());
        assert!(parse(r#"{"Findings":[{"name":"x"}]}"#).is_err());
        assert!(parse("\"x\"").is_err());
        assert!(parse("AWS Security Hub consolidates findings").is_err());
        assert!(parse_report(b"{\"Findings\":\"\xff\"}").is_err());
        assert!(parse(&format!("{{\"Findings\":{}", "[".repeat(10_000))).is_err());
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        assert!(
            AwsSecurityHub::detect(
                &c,
                br#"{"Findings":[{"SchemaVersion":"2018-10-08","Id":"x","ProductArn":"#
            )
            .is_some()
        );
        // A bare ASFF array is the ASFF scan type.
        assert!(
            AwsSecurityHub::detect(&c, br#"[{"SchemaVersion":"2018-10-08","ProductArn":"x"}]"#)
                .is_none()
        );
        assert!(AwsSecurityHub::detect(&c, br#"{"findings":[{"title":"x"}]}"#).is_none());
    }
}
