//! "Trivy Operator Scan": the custom resources the Trivy Operator writes in a
//! cluster (`apiVersion: aquasecurity.github.io/v1alpha1`), as exported with
//! `kubectl get ... -o json`: one resource object or an array of them, of kind
//! `VulnerabilityReport`, `ConfigAuditReport` (and the other check-based
//! assessment reports), `ExposedSecretReport` or `ClusterComplianceReport`.

use palisade_plugin_sdk::json::parse_json_value;
use palisade_plugin_sdk::prelude::*;
use serde_json::Value;

use crate::util::{arr, contains, num, push_field, s, so, strings};

/// Recognises a Trivy Operator resource head.
pub fn looks_like(head: &[u8]) -> bool {
    palisade_plugin_sdk::json::starts_like_json(head)
        && contains(head, b"aquasecurity.github.io/")
        && [
            &b"VulnerabilityReport"[..],
            b"ConfigAuditReport",
            b"ExposedSecretReport",
            b"ClusterComplianceReport",
            b"RbacAssessmentReport",
            b"InfraAssessmentReport",
        ]
        .iter()
        .any(|k| contains(head, k))
}

/// Parses one Trivy Operator resource or an array of them.
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let data = parse_json_value(report)?;
    let mut out = Vec::new();
    match &data {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                resource(item, &mut out)
                    .map_err(|e| ParseError::new(format!("item {i}: {}", e.message)))?;
            }
        }
        Value::Object(_) => resource(&data, &mut out)?,
        _ => {
            return Err(ParseError::new(
                "not a Trivy Operator report: expected a resource object or an array of them",
            ));
        }
    }
    Ok(out)
}

fn resource(r: &Value, out: &mut Vec<Finding>) -> Result<(), ParseError> {
    let kind = s(r, "kind").unwrap_or("");
    let labels = r.pointer("/metadata/labels");
    let label = |k: &str| labels.and_then(|l| s(l, k));
    let namespace = label("trivy-operator.resource.namespace")
        .or_else(|| r.get("metadata").and_then(|m| s(m, "namespace")));
    let workload: Vec<&str> = [
        namespace,
        label("trivy-operator.resource.kind"),
        label("trivy-operator.resource.name"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let container = label("trivy-operator.container.name");
    let with_container = {
        let mut parts = workload.clone();
        parts.extend(container);
        join_slash(&parts)
    };
    let ctx = Ctx {
        namespace,
        service_workload: join_slash(&workload),
        service_container: with_container,
    };
    let report = r.get("report").unwrap_or(&Value::Null);
    match kind {
        "VulnerabilityReport" => {
            for v in arr(report, "vulnerabilities") {
                out.push(vulnerability(&ctx, v));
            }
        }
        "ConfigAuditReport"
        | "ClusterConfigAuditReport"
        | "RbacAssessmentReport"
        | "ClusterRbacAssessmentReport"
        | "InfraAssessmentReport"
        | "ClusterInfraAssessmentReport" => {
            for c in arr(report, "checks") {
                // Passed checks are part of the resource but are not findings.
                if c.get("success").and_then(Value::as_bool) != Some(true) {
                    out.push(check(&ctx, c));
                }
            }
        }
        "ExposedSecretReport" => {
            for secret in arr(report, "secrets") {
                out.push(secret_finding(&ctx, secret));
            }
        }
        "ClusterComplianceReport" => compliance(r, out),
        "" => {
            return Err(ParseError::new(
                "not a Trivy Operator resource: the object has no \"kind\"",
            ));
        }
        other => {
            return Err(ParseError::new(format!(
                "unsupported Trivy Operator resource kind {other:?}: expected \
                 VulnerabilityReport, ConfigAuditReport, ExposedSecretReport or \
                 ClusterComplianceReport"
            )));
        }
    }
    Ok(())
}

fn join_slash(parts: &[&str]) -> Option<String> {
    (!parts.is_empty()).then(|| parts.join("/"))
}

struct Ctx<'a> {
    namespace: Option<&'a str>,
    service_workload: Option<String>,
    service_container: Option<String>,
}

fn severity(v: &Value, key: &str) -> Option<Severity> {
    s(v, key).and_then(severity_from_word)
}

fn vulnerability(ctx: &Ctx<'_>, v: &Value) -> Finding {
    let id = s(v, "vulnerabilityID");
    let pkg = s(v, "resource");
    let version = s(v, "installedVersion");
    let fixed = s(v, "fixedVersion");
    let title = [id, pkg, version]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let mut description = String::new();
    if let Some(t) = s(v, "title") {
        description.push_str(t);
        description.push_str("\n\n");
    }
    push_field(&mut description, "Package", pkg);
    push_field(&mut description, "Installed version", version);
    push_field(&mut description, "Fixed version", fixed);
    push_field(&mut description, "Target", s(v, "target"));
    push_field(
        &mut description,
        "Workload",
        ctx.service_container.as_deref(),
    );
    push_field(&mut description, "More information", s(v, "primaryLink"));
    let mut refs: Vec<&str> = s(v, "primaryLink").into_iter().collect();
    refs.extend(strings(v, "links"));
    let tags = [ctx.namespace, s(v, "packageType"), s(v, "class")]
        .into_iter()
        .flatten()
        .map(str::to_owned)
        .collect();
    Finding {
        title: if title.is_empty() {
            "Trivy Operator vulnerability".to_owned()
        } else {
            title
        },
        severity: severity(v, "severity").unwrap_or(Severity::Info),
        description: clean(&description),
        mitigation: fixed.map(|x| format!("Upgrade to version {x} or later.")),
        references: (!refs.is_empty()).then(|| refs.join("\n")),
        vulnerability_ids: id.map(str::to_owned).into_iter().collect(),
        cvssv3_score: num(v, "score").map(|x| x as f32),
        file_path: so(v, "target"),
        component_name: pkg.map(str::to_owned),
        component_version: version.map(str::to_owned),
        fix_available: Some(fixed.is_some()),
        fix_version: fixed.map(str::to_owned),
        service: ctx.service_container.clone(),
        tags,
        static_finding: Some(true),
        dynamic_finding: Some(false),
        ..Finding::default()
    }
}

/// "KSV014" -> "AVD-KSV-0014", the id Aqua's vulnerability database uses;
/// ids already in that form are kept.
fn avd_id(check_id: &str) -> String {
    if check_id.starts_with("AVD-") {
        return check_id.to_owned();
    }
    let split = check_id
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(check_id.len());
    let (prefix, digits) = check_id.split_at(split);
    if prefix.is_empty() || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return check_id.to_owned();
    }
    format!("AVD-{prefix}-{digits:0>4}")
}

fn check(ctx: &Ctx<'_>, c: &Value) -> Finding {
    let id = s(c, "checkID");
    let title = match (id, s(c, "title")) {
        (Some(id), Some(t)) => format!("{id} - {t}"),
        (Some(x), None) | (None, Some(x)) => x.to_owned(),
        (None, None) => "Trivy Operator check".to_owned(),
    };
    let mut description = String::new();
    if let Some(d) = s(c, "description") {
        description.push_str(d);
        description.push_str("\n\n");
    }
    push_field(&mut description, "Category", s(c, "category"));
    push_field(
        &mut description,
        "Workload",
        ctx.service_workload.as_deref(),
    );
    let messages: Vec<&str> = strings(c, "messages").collect();
    if !messages.is_empty() {
        push_field(&mut description, "Messages", Some(&messages.join("\n")));
    }
    let tags = [ctx.namespace, s(c, "category")]
        .into_iter()
        .flatten()
        .map(str::to_owned)
        .collect();
    Finding {
        title,
        severity: severity(c, "severity").unwrap_or(Severity::Info),
        description: clean(&description),
        mitigation: so(c, "remediation"),
        vulnerability_ids: id.map(avd_id).into_iter().collect(),
        service: ctx.service_workload.clone(),
        tags,
        static_finding: Some(true),
        dynamic_finding: Some(false),
        ..Finding::default()
    }
}

fn secret_finding(ctx: &Ctx<'_>, secret: &Value) -> Finding {
    let target = s(secret, "target");
    let name = s(secret, "title")
        .or_else(|| s(secret, "ruleID"))
        .unwrap_or("secret");
    let mut description = String::new();
    push_field(&mut description, "Target", target);
    push_field(&mut description, "Category", s(secret, "category"));
    push_field(&mut description, "Rule", s(secret, "ruleID"));
    push_field(&mut description, "Match", s(secret, "match"));
    push_field(
        &mut description,
        "Workload",
        ctx.service_container.as_deref(),
    );
    Finding {
        title: format!(
            "Secret detected in {} - {name}",
            target.unwrap_or("container")
        ),
        severity: severity(secret, "severity").unwrap_or(Severity::Info),
        description: clean(&description),
        mitigation: Some(
            "Remove the secret from the image and rotate it: it must be considered compromised."
                .to_owned(),
        ),
        file_path: target.map(str::to_owned),
        service: ctx.service_container.clone(),
        tags: ctx.namespace.map(str::to_owned).into_iter().collect(),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        ..Finding::default()
    }
}

fn compliance(r: &Value, out: &mut Vec<Finding>) {
    let status = r.get("status").unwrap_or(&Value::Null);
    let report_title = r
        .pointer("/spec/compliance/title")
        .and_then(Value::as_str)
        .unwrap_or("compliance");
    // Summary reports only give failure counts per control; the check ids
    // live in the spec's control list.
    if let Some(summary) = status.get("summaryReport") {
        let controls = r
            .pointer("/spec/compliance/controls")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        for control in arr(summary, "controlCheck") {
            let fails = num(control, "totalFail").unwrap_or(0.0);
            if fails <= 0.0 {
                continue;
            }
            let id = s(control, "id").unwrap_or("?");
            let spec = controls.iter().find(|c| s(c, "id") == Some(id));
            let mut description = String::new();
            push_field(&mut description, "Benchmark", Some(report_title));
            push_field(&mut description, "Control", Some(id));
            push_field(&mut description, "Name", s(control, "name"));
            push_field(
                &mut description,
                "Description",
                spec.and_then(|c| s(c, "description")),
            );
            push_field(&mut description, "Failures", Some(&fails.to_string()));
            out.push(Finding {
                title: format!("TrivyClusterCompliance {id} totalFail: {fails}"),
                severity: severity(control, "severity")
                    .or_else(|| spec.and_then(|c| severity(c, "severity")))
                    .unwrap_or(Severity::Info),
                description: clean(&description),
                vulnerability_ids: spec
                    .map(|c| {
                        arr(c, "checks")
                            .iter()
                            .filter_map(|x| so(x, "id"))
                            .collect()
                    })
                    .unwrap_or_default(),
                static_finding: Some(true),
                dynamic_finding: Some(false),
                ..Finding::default()
            });
        }
    }
    if let Some(detail) = status.get("detailReport") {
        for result in arr(detail, "results") {
            let result_id = s(result, "id").unwrap_or("?");
            for c in arr(result, "checks") {
                if c.get("success").and_then(Value::as_bool) == Some(true) {
                    continue;
                }
                let check_id = s(c, "checkID").unwrap_or("?");
                let target = s(c, "target");
                let mut description = String::new();
                if let Some(d) = s(c, "description") {
                    description.push_str(d);
                    description.push_str("\n\n");
                }
                push_field(&mut description, "Benchmark", s(detail, "title"));
                push_field(&mut description, "Control", Some(result_id));
                push_field(&mut description, "Control name", s(result, "name"));
                push_field(&mut description, "Category", s(c, "category"));
                push_field(&mut description, "Target", target);
                let messages: Vec<&str> = strings(c, "messages").collect();
                if !messages.is_empty() {
                    push_field(&mut description, "Messages", Some(&messages.join("\n")));
                }
                let title = match target {
                    Some(t) => format!("{result_id} {check_id} {t}"),
                    None => format!("{result_id} {check_id}"),
                };
                out.push(Finding {
                    title,
                    // A check without its own severity inherits the control's.
                    severity: severity(c, "severity")
                        .or_else(|| severity(result, "severity"))
                        .unwrap_or(Severity::Info),
                    description: clean(&description),
                    mitigation: so(c, "remediation"),
                    vulnerability_ids: vec![check_id.to_owned()],
                    static_finding: Some(true),
                    dynamic_finding: Some(false),
                    ..Finding::default()
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::avd_id;

    #[test]
    fn avd_ids() {
        assert_eq!(avd_id("KSV014"), "AVD-KSV-0014");
        assert_eq!(avd_id("KSV110"), "AVD-KSV-0110");
        assert_eq!(avd_id("AVD-KSV-0001"), "AVD-KSV-0001");
        assert_eq!(avd_id("custom"), "custom");
    }
}
