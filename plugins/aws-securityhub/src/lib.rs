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
//! Format (ASFF) Scan" type: `detect` leaves it alone and `parse` rejects it,
//! as the reference does. Every rule is listed in `FORMAT.md`.

use palisade_plugin_sdk::json::{array_at, starts_like_json, string_at, value_to_string};
use palisade_plugin_sdk::markdown::push_field_display;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use serde_json::Value;
use std::collections::HashMap;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "AWS Security Hub Scan";

/// The AWS Security Hub parser.
pub struct AwsSecurityHub;

impl Parser for AwsSecurityHub {
    fn info() -> PluginInfo {
        PluginInfo::single(
            "aws-securityhub",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "AWS Security Hub findings export ({\"Findings\": [ASFF ...]})",
                &["json"],
                DedupeSetting::new(
                    DedupeAlgorithm::UniqueIdFromTool,
                    &["title", "cwe", "line", "file_path", "description"],
                ),
            ),
        )
    }

    fn detect(_candidates: &[String], head: &[u8]) -> Option<String> {
        looks_like(head).then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        _scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
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
    let Value::Object(o) = &value else {
        return Err(ParseError::new(
            "incorrect Security Hub report format: expected a JSON object with a \"Findings\" list",
        ));
    };
    // "Findings" wins over "findings" even when it is null (then it is no list).
    let list = if o.contains_key("Findings") {
        o.get("Findings")
    } else {
        o.get("findings")
    };
    let Some(Value::Array(findings)) = list else {
        return Err(ParseError::new(
            "incorrect Security Hub report format: \"Findings\" is missing or not a list",
        ));
    };
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    // Findings with the same Id: the last one wins, at the first one's place.
    let mut at_id: HashMap<String, usize> = HashMap::new();
    for (i, f) in findings.iter().enumerate() {
        let at = format!("/Findings/{i}");
        if !f.is_object() {
            return Err(ParseError::new("expected each finding to be a JSON object").at_path(at));
        }
        let item = finding(f, &at)?;
        let Some(Value::String(id)) = f.get("Id") else {
            return Err(
                ParseError::new("a finding's \"Id\" is missing or not a string").at_path(at),
            );
        };
        match at_id.get(id) {
            Some(&k) => out[k] = item,
            None => {
                at_id.insert(id.clone(), out.len());
                out.push(item);
            }
        }
    }
    Ok(out)
}

/// Which reader the reference uses: `ProductFields."aws/securityhub/ProductName"`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Inspector,
    GuardDuty,
    Compliance,
}

/// `obj.get(key, {})`: a missing key is an empty object, null or another
/// type is an error (the reference fails on it).
fn object_or_empty<'a>(
    obj: &'a Value,
    key: &str,
    at: &str,
) -> Result<Option<&'a Value>, ParseError> {
    match obj.get(key) {
        None => Ok(None),
        Some(v @ Value::Object(_)) => Ok(Some(v)),
        Some(_) => {
            Err(ParseError::new(format!("\"{key}\" must be an object"))
                .at_path(format!("{at}/{key}")))
        }
    }
}

/// Rejects the null values the reference's readers fail on (AWS's own exports
/// omit absent fields, but other ASFF producers write nulls).
fn check_nulls(f: &Value, kind: Kind, at: &str) -> Result<(), ParseError> {
    let is_null = |pointer: &str| f.pointer(pointer).is_some_and(Value::is_null);
    let mut pointers = vec!["/Severity", "/Remediation", "/Remediation/Recommendation"];
    match kind {
        Kind::Compliance => pointers.extend([
            "/Description",
            "/Compliance",
            "/Remediation/Recommendation/Text",
            "/Remediation/Recommendation/Url",
        ]),
        Kind::Inspector => pointers.push("/Vulnerabilities"),
        Kind::GuardDuty => {}
    }
    if let Some(p) = pointers.into_iter().find(|p| is_null(p)) {
        return Err(
            ParseError::new(format!("{p} is null (the reference fails on it)"))
                .at_path(format!("{at}{p}")),
        );
    }
    if kind == Kind::Inspector {
        for (i, v) in array_at(f, "Vulnerabilities").iter().enumerate() {
            for key in ["RelatedVulnerabilities", "VulnerablePackages", "Cvss"] {
                if v.get(key).is_some_and(Value::is_null) {
                    return Err(ParseError::new(format!(
                        "{key} is null (the reference fails on it)"
                    ))
                    .at_path(format!("{at}/Vulnerabilities/{i}/{key}")));
                }
            }
        }
    }
    for (i, r) in array_at(f, "Resources").iter().enumerate() {
        let rat = format!("{at}/Resources/{i}");
        if r.get("Id").is_some_and(|id| !id.is_string()) {
            return Err(ParseError::new("a resource \"Id\" must be a string").at_path(rat));
        }
        if r.get("Type").and_then(Value::as_str) == Some("AwsEcrContainerImage") {
            let details = r.get("Details");
            if details.is_some_and(Value::is_null) {
                return Err(ParseError::new("an ECR image's \"Details\" is null").at_path(rat));
            }
            let image = details.and_then(|d| d.get("AwsEcrContainerImage"));
            let has_image = image.is_some_and(|i| i.as_object().is_some_and(|o| !o.is_empty()));
            if has_image
                && image
                    .and_then(|i| i.get("ImageTags"))
                    .is_some_and(Value::is_null)
            {
                return Err(ParseError::new("an ECR image's \"ImageTags\" is null").at_path(rat));
            }
        }
    }
    Ok(())
}

/// ASFF severity label, upper-case as AWS writes it; anything else is Info.
fn severity(f: &Value) -> Severity {
    match f
        .pointer("/Severity/Label")
        .and_then(Value::as_str)
        .unwrap_or("INFORMATIONAL")
    {
        "CRITICAL" => Severity::Critical,
        "HIGH" => Severity::High,
        "MEDIUM" => Severity::Medium,
        "LOW" => Severity::Low,
        _ => Severity::Info,
    }
}

/// A value as Python prints it in an f-string.
fn py_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "None".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn finding(f: &Value, at: &str) -> Result<Finding, ParseError> {
    let kind = match object_or_empty(f, "ProductFields", at)?
        .and_then(|p| p.get("aws/securityhub/ProductName"))
        .and_then(Value::as_str)
    {
        Some("Inspector") => Kind::Inspector,
        Some("GuardDuty") => Kind::GuardDuty,
        _ => Kind::Compliance,
    };
    check_nulls(f, kind, at)?;
    let id = string_at(f, "Id");
    let title = string_at(f, "Title").unwrap_or_default();
    let resources = match f.get("Resources") {
        None => &[][..],
        Some(Value::Array(r)) => r.as_slice(),
        Some(_) => {
            return Err(
                ParseError::new("\"Resources\" must be a list").at_path(format!("{at}/Resources"))
            );
        }
    };
    // The reference names the component after the last resource and fails without one.
    if resources.is_empty() {
        return Err(
            ParseError::new("a finding without \"Resources\" (the reference fails on it)")
                .at_path(at.to_owned()),
        );
    }
    let mut title_suffix = String::new();
    let mut impact: Vec<String> = Vec::new();
    let mut endpoints: Vec<Endpoint> = Vec::new();
    let mut component_name = None;
    for (j, r) in resources.iter().enumerate() {
        let rtype = r.get("Type").and_then(Value::as_str);
        component_name = rtype.map(str::to_owned);
        let with_endpoint = match kind {
            Kind::Inspector => true,
            Kind::GuardDuty => matches!(rtype, Some("AwsEcrContainerImage" | "AwsEc2Instance")),
            Kind::Compliance => false,
        };
        if with_endpoint {
            let host = format!("{}_{}", py_text(r.get("Type")), py_text(r.get("Id")))
                .replace([':', '/'], "_");
            endpoints.push(Endpoint {
                host,
                ..Endpoint::default()
            });
        }
        if rtype == Some("AwsEcrContainerImage") {
            let arn = py_text(r.get("Id"));
            let Some((_, image)) = arn.split_once('/') else {
                return Err(
                    ParseError::new(format!("the ECR image id {arn:?} has no '/'"))
                        .at_path(format!("{at}/Resources/{j}/Id")),
                );
            };
            impact.push(format!("Image ARN: {arn}"));
            title_suffix = format!(" - Image: {image}");
        } else {
            let Some(rid) = r.get("Id") else {
                return Err(ParseError::new("a resource has no \"Id\"")
                    .at_path(format!("{at}/Resources/{j}")));
            };
            let rid = py_text(Some(rid));
            let last = rid.rsplit(':').next().unwrap_or(&rid).to_owned();
            impact.push(format!("Resource: {last}"));
            title_suffix = format!(" - Resource: {last}");
        }
    }

    let mut vuln_ids: Vec<String> = Vec::new();
    let mut cvssv3 = None;
    let mut mitigation = String::new();
    let mut references: Vec<String> = Vec::new();
    if kind == Kind::Inspector {
        for v in array_at(f, "Vulnerabilities") {
            let cve = string_at(v, "Id").filter(|c| !c.is_empty());
            vuln_ids.extend(cve.clone());
            vuln_ids.extend(
                array_at(v, "RelatedVulnerabilities")
                    .iter()
                    .filter_map(value_to_string)
                    .filter(|a| Some(a) != cve.as_ref()),
            );
            for p in array_at(v, "VulnerablePackages") {
                mitigation.push_str(&format!(
                    "- Update {}-{}\n",
                    string_at(p, "Name").unwrap_or_default(),
                    string_at(p, "Version").unwrap_or_default()
                ));
                if let Some(r) = string_at(p, "Remediation") {
                    mitigation.push_str(&format!("\t- {r}\n"));
                }
            }
            if let Some(u) = string_at(v, "Vendor/Url") {
                references.push(u);
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
        }
    }
    if kind == Kind::GuardDuty {
        let types = f.pointer("/FindingProviderFields/Types");
        let Some(Value::Array(types)) = types else {
            return Err(ParseError::new(
                "a GuardDuty finding without FindingProviderFields.Types (the reference fails on it)",
            )
            .at_path(at.to_owned()));
        };
        for t in types {
            mitigation.push_str(&py_text(Some(t)));
            mitigation.push('\n');
        }
        mitigation.push_str(
            "https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_finding-types-active.html",
        );
    }
    if kind == Kind::Compliance {
        mitigation = string_at(f, "Remediation/Recommendation/Text").unwrap_or_default();
        mitigation.push('\n');
        mitigation.push_str(&string_at(f, "Remediation/Recommendation/Url").unwrap_or_default());
    }
    if let Some(u) = string_at(f, "Remediation/Recommendation/Url") {
        references.push(u);
    }

    let origin = match kind {
        Kind::Inspector => "This is an Inspector Finding",
        Kind::GuardDuty => "This is a GuardDuty Finding",
        Kind::Compliance => "This is a Security Hub Finding",
    };
    let mut desc = format!(
        "{origin}\n{}\n",
        string_at(f, "Description").unwrap_or_default()
    );
    desc.push_str(&format!(
        "**AWS Finding ARN:** {}\n",
        id.as_deref().unwrap_or("")
    ));
    let mut resource_ids: Vec<String> = resources
        .iter()
        .filter_map(|r| string_at(r, "Id"))
        .collect();
    resource_ids.sort();
    resource_ids.dedup();
    desc.push_str(&format!("**Resource IDs:** {}\n", resource_ids.join(", ")));
    desc.push_str(&format!(
        "**AwsAccountId:** {}\n",
        string_at(f, "AwsAccountId").unwrap_or_default()
    ));
    push_field_display(&mut desc, "Region", string_at(f, "Region"));
    desc.push_str(&format!(
        "**Generator ID:** {}\n",
        string_at(f, "GeneratorId").unwrap_or_default()
    ));

    // Whether the reference closes the finding, per reader.
    let mitigated = match kind {
        Kind::Inspector => string_at(f, "ProductFields/aws~1inspector~1FindingStatus")
            .is_some_and(|s| s != "ACTIVE"),
        Kind::GuardDuty => string_at(f, "RecordState").as_deref() != Some("ACTIVE"),
        Kind::Compliance => string_at(f, "Compliance/Status").is_none_or(|s| s == "PASSED"),
    };
    let active = match kind {
        Kind::GuardDuty => true,
        _ => !mitigated,
    };

    Ok(Finding {
        title: truncate_chars(&format!("{title}{title_suffix}"), 511).to_owned(),
        severity: severity(f),
        description: desc,
        mitigation: Some(mitigation),
        impact: (!impact.is_empty()).then(|| impact.join("\n")),
        references: (!references.is_empty()).then(|| references.join("\n")),
        vulnerability_ids: vuln_ids,
        cvssv3,
        epss_score: f.get("EpssScore").and_then(Value::as_f64).map(|x| x as f32),
        component_name,
        unique_id_from_tool: id,
        endpoints,
        static_finding: Some(true),
        dynamic_finding: Some(false),
        active: Some(active),
        is_mitigated: Some(mitigated),
        mitigated: mitigated.then(|| string_at(f, "LastObservedAt")).flatten(),
        ..Finding::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        parse_report(report.as_bytes())
    }

    const RES: &str = r#""Resources":[{"Type":"AwsAccount","Id":"AWS::::Account:1"}]"#;

    #[test]
    fn empty_exports_have_no_findings() {
        assert!(parse(r#"{"Findings":[]}"#).unwrap().is_empty());
        assert!(parse(r#"{"findings":[]}"#).unwrap().is_empty());
    }

    #[test]
    fn compliance_findings_severity_and_merge() {
        let f = parse(&format!(
            r#"{{"Findings":[{{"Id":"a","Title":"T",{RES}}},
                {{"Id":"b","Title":"U","Severity":{{"Label":"CRITICAL","Normalized":10}},{RES}}},
                {{"Id":"c","Title":"V","Severity":{{"Label":"high"}},"Compliance":{{"Status":"FAILED"}},{RES}}},
                {{"Id":"a","Title":"T2","Severity":{{"Label":"LOW"}},{RES}}}]}}"#
        ))
        .unwrap();
        assert_eq!(f.len(), 3);
        // The later "a" replaces the first, in its place.
        assert_eq!(
            (f[0].severity, f[0].title.as_str()),
            (Severity::Low, "T2 - Resource: 1")
        );
        assert_eq!(f[0].unique_id_from_tool.as_deref(), Some("a"));
        assert_eq!(f[0].component_name.as_deref(), Some("AwsAccount"));
        assert!(f[0].endpoints.is_empty());
        assert_eq!(f[1].severity, Severity::Critical);
        // Labels are matched as AWS writes them.
        assert_eq!(f[2].severity, Severity::Info);
        assert_eq!(
            (f[0].is_mitigated, f[2].is_mitigated),
            (Some(true), Some(false))
        );
    }

    #[test]
    fn inspector_resources_and_vulnerabilities() {
        let f = parse(
            r#"{"Findings":[{"Id":"x","Title":"CVE-1","ProductFields":{"aws/securityhub/ProductName":"Inspector"},
               "Severity":{"Label":"HIGH"},
               "Resources":[{"Type":"AwsEcrContainerImage","Id":"arn:aws:ecr:eu-west-1:1:repository/app/sha256:ab"},
                            {"Type":"AwsEc2Instance","Id":"arn:aws:ec2:eu-west-1:1:instance/i-1"}],
               "Vulnerabilities":[{"Id":"CVE-2023-0001","RelatedVulnerabilities":["CVE-2023-0001","GHSA-aaaa-bbbb-cccc"],
                 "VulnerablePackages":[{"Name":"openssl","Version":"1.0","FixedInVersion":"1.1"}],
                 "Cvss":[{"BaseVector":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}]}]}"#,
        )
        .unwrap();
        assert_eq!(f[0].title, "CVE-1 - Resource: instance/i-1");
        assert_eq!(
            f[0].vulnerability_ids,
            ["CVE-2023-0001", "GHSA-aaaa-bbbb-cccc"]
        );
        let hosts: Vec<&str> = f[0].endpoints.iter().map(|e| e.host.as_str()).collect();
        assert_eq!(
            hosts,
            [
                "AwsEcrContainerImage_arn_aws_ecr_eu-west-1_1_repository_app_sha256_ab",
                "AwsEc2Instance_arn_aws_ec2_eu-west-1_1_instance_i-1"
            ]
        );
        assert_eq!(f[0].component_name.as_deref(), Some("AwsEc2Instance"));
        assert!(f[0].cvssv3.is_some());
        // Without the ProductFields marker the same finding is a compliance one.
        let plain = parse(
            r#"{"Findings":[{"Id":"x","ProductArn":"arn:aws:securityhub:eu-west-1::product/aws/inspector",
               "Resources":[{"Type":"AwsEc2Instance","Id":"i-1"}],"Vulnerabilities":[{"Id":"CVE-2023-0001"}]}]}"#,
        )
        .unwrap();
        assert!(plain[0].vulnerability_ids.is_empty() && plain[0].endpoints.is_empty());
    }

    #[test]
    fn guardduty_endpoints() {
        let f = parse(
            r#"{"Findings":[{"Id":"g","Title":"G","ProductFields":{"aws/securityhub/ProductName":"GuardDuty"},
               "FindingProviderFields":{"Types":["TTPs/x"]},"Severity":{"Label":"MEDIUM"},
               "Resources":[{"Type":"AwsEc2Instance","Id":"arn:aws:ec2:r:1:instance/i-9"},{"Type":"AwsS3Bucket","Id":"arn:aws:s3:::b"}]}]}"#,
        )
        .unwrap();
        assert_eq!(f[0].endpoints.len(), 1);
        assert_eq!(
            f[0].endpoints[0].host,
            "AwsEc2Instance_arn_aws_ec2_r_1_instance_i-9"
        );
        assert_eq!(
            (f[0].severity, f[0].component_name.as_deref()),
            (Severity::Medium, Some("AwsS3Bucket"))
        );
        let no_types = r#"{"Findings":[{"Id":"g","ProductFields":{"aws/securityhub/ProductName":"GuardDuty"},
               "Resources":[{"Type":"AwsEc2Instance","Id":"i"}]}]}"#;
        assert!(parse(no_types).is_err());
    }

    #[test]
    fn nulls_the_reference_fails_on() {
        for extra in [
            r#""Severity":null"#,
            r#""Remediation":null"#,
            r#""Remediation":{"Recommendation":null}"#,
            r#""Description":null"#,
            r#""Compliance":null"#,
            r#""Remediation":{"Recommendation":{"Text":null}}"#,
        ] {
            let r = format!(r#"{{"Findings":[{{"Id":"x",{RES},{extra}}}]}}"#);
            assert!(parse(&r).is_err(), "{extra}");
        }
        let inspector = r#"{"Findings":[{"Id":"x","ProductFields":{"aws/securityhub/ProductName":"Inspector"},"Resources":[{"Type":"T","Id":"i"}],"Description":null,"Vulnerabilities":[{"Id":"CVE-1","Cvss":CVSS}]}]}"#;
        // Inspector findings print a null description without failing, but not a null Cvss list.
        assert!(parse(&inspector.replace("CVSS", "[]")).is_ok());
        assert!(parse(&inspector.replace("CVSS", "null")).is_err());
        assert!(
            parse(r#"{"Findings":[{"Id":"x","Resources":[{"Type":"T","Id":null}]}]}"#).is_err()
        );
    }

    #[test]
    fn malformed_inputs_are_errors() {
        assert!(parse("{\"Findings\":[").is_err());
        assert!(parse(r#"{"vulnerabilities":[]}"#).is_err());
        assert!(parse(r#"{"Findings":null,"findings":[]}"#).is_err());
        assert!(parse(r#"{"Findings":{}}"#).is_err());
        assert!(parse(r#"{"Findings":[1]}"#).is_err());
        assert!(parse("[]").is_err());
        // Id and Resources are required; Id must be a string.
        assert!(parse(&format!(r#"{{"Findings":[{{"Title":"x",{RES}}}]}}"#)).is_err());
        assert!(parse(&format!(r#"{{"Findings":[{{"Id":5,{RES}}}]}}"#)).is_err());
        assert!(parse(r#"{"Findings":[{"Id":"x"}]}"#).is_err());
        assert!(parse(r#"{"Findings":[{"Id":"x","Resources":[{"Type":"T"}]}]}"#).is_err());
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
