//! "Trivy Operator Scan": the custom resources the Trivy Operator writes in a
//! cluster (`apiVersion: aquasecurity.github.io/v1alpha1`), as exported with
//! `kubectl get ... -o json`: one resource object or an array of them, of kind
//! `VulnerabilityReport`, `ConfigAuditReport` (and the other check-based
//! assessment reports), `ExposedSecretReport` or `ClusterComplianceReport`.

use palisade_plugin_sdk::json::{
    TextList, get_array, get_f64, get_str, get_string, get_strs, optional_objects,
    parse_json_borrowed, parse_json_object, parse_json_objects,
};
use palisade_plugin_sdk::markdown::push_field;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

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

/// One resource, with only what the findings need; compliance reports keep
/// their `spec` and `status` as trees (few, small, and deeply varied).
#[derive(Deserialize)]
struct Resource<'a> {
    #[serde(borrow, default)]
    kind: Text<'a>,
    #[serde(borrow, default)]
    metadata: Option<Metadata<'a>>,
    #[serde(borrow, default)]
    report: Option<Body<'a>>,
    #[serde(default)]
    spec: Option<Value>,
    #[serde(default)]
    status: Option<Value>,
}

#[derive(Deserialize)]
struct Metadata<'a> {
    #[serde(borrow, default)]
    namespace: Text<'a>,
    #[serde(borrow, default)]
    labels: Option<Labels<'a>>,
}

/// The labels naming the scanned workload.
#[derive(Deserialize)]
struct Labels<'a> {
    #[serde(rename = "trivy-operator.resource.namespace", borrow, default)]
    namespace: Text<'a>,
    #[serde(rename = "trivy-operator.resource.kind", borrow, default)]
    kind: Text<'a>,
    #[serde(rename = "trivy-operator.resource.name", borrow, default)]
    name: Text<'a>,
    #[serde(rename = "trivy-operator.container.name", borrow, default)]
    container: Text<'a>,
}

#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow, default, deserialize_with = "optional_objects")]
    vulnerabilities: Option<Vec<Vuln<'a>>>,
    #[serde(borrow, default, deserialize_with = "optional_objects")]
    checks: Option<Vec<Check<'a>>>,
    #[serde(borrow, default, deserialize_with = "optional_objects")]
    secrets: Option<Vec<Secret<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Vuln<'a> {
    #[serde(rename = "vulnerabilityID", borrow, default)]
    vulnerability_id: Text<'a>,
    #[serde(borrow, default)]
    resource: Text<'a>,
    #[serde(borrow, default)]
    installed_version: Text<'a>,
    #[serde(borrow, default)]
    fixed_version: Text<'a>,
    #[serde(borrow, default)]
    title: Text<'a>,
    #[serde(borrow, default)]
    target: Text<'a>,
    #[serde(borrow, default)]
    primary_link: Text<'a>,
    #[serde(borrow, default)]
    links: TextList<'a>,
    #[serde(borrow, default)]
    package_type: Text<'a>,
    #[serde(borrow, default)]
    class: Text<'a>,
    #[serde(borrow, default)]
    severity: Text<'a>,
    #[serde(borrow, default)]
    score: Text<'a>,
}

#[derive(Deserialize)]
struct Check<'a> {
    #[serde(rename = "checkID", borrow, default)]
    check_id: Text<'a>,
    #[serde(borrow, default)]
    title: Text<'a>,
    #[serde(borrow, default)]
    description: Text<'a>,
    #[serde(borrow, default)]
    category: Text<'a>,
    #[serde(borrow, default)]
    messages: TextList<'a>,
    #[serde(borrow, default)]
    severity: Text<'a>,
    #[serde(borrow, default)]
    remediation: Text<'a>,
    #[serde(borrow, default)]
    success: Text<'a>,
}

#[derive(Deserialize)]
struct Secret<'a> {
    #[serde(borrow, default)]
    target: Text<'a>,
    #[serde(borrow, default)]
    title: Text<'a>,
    #[serde(rename = "ruleID", borrow, default)]
    rule_id: Text<'a>,
    #[serde(borrow, default)]
    category: Text<'a>,
    #[serde(rename = "match", borrow, default)]
    matched: Text<'a>,
    #[serde(borrow, default)]
    severity: Text<'a>,
}

/// Parses one Trivy Operator resource or an array of them.
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let mut out = Vec::new();
    match palisade_plugin_sdk::sniff::first_byte(report) {
        Some(b'[') => {
            let items: Vec<Resource<'_>> = parse_json_objects(report)?;
            for (i, item) in items.iter().enumerate() {
                resource(item, &mut out)
                    .map_err(|e| ParseError::new(format!("item {i}: {}", e.message)))?;
            }
        }
        Some(b'{') => resource(&parse_json_object(report)?, &mut out)?,
        _ => {
            let _: IgnoredAny = parse_json_borrowed(report)?;
            return Err(ParseError::new(
                "not a Trivy Operator report: expected a resource object or an array of them",
            ));
        }
    }
    Ok(out)
}

fn resource(r: &Resource<'_>, out: &mut Vec<Finding>) -> Result<(), ParseError> {
    let kind = r.kind.get().unwrap_or("");
    let metadata = r.metadata.as_ref();
    let labels = metadata.and_then(|m| m.labels.as_ref());
    let namespace = labels
        .and_then(|l| l.namespace.get())
        .or_else(|| metadata.and_then(|m| m.namespace.get()));
    let workload: Vec<&str> = [
        namespace,
        labels.and_then(|l| l.kind.get()),
        labels.and_then(|l| l.name.get()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let container = labels.and_then(|l| l.container.get());
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
    let body = r.report.as_ref();
    match kind {
        "VulnerabilityReport" => {
            let vulns = body
                .and_then(|b| b.vulnerabilities.as_deref())
                .unwrap_or_default();
            out.extend(vulns.iter().map(|v| vulnerability(&ctx, v)));
        }
        "ConfigAuditReport"
        | "ClusterConfigAuditReport"
        | "RbacAssessmentReport"
        | "ClusterRbacAssessmentReport"
        | "InfraAssessmentReport"
        | "ClusterInfraAssessmentReport" => {
            let checks = body.and_then(|b| b.checks.as_deref()).unwrap_or_default();
            // Passed checks are part of the resource but are not findings.
            out.extend(
                checks
                    .iter()
                    .filter(|c| c.success.get() != Some("true"))
                    .map(|c| check(&ctx, c)),
            );
        }
        "ExposedSecretReport" => {
            let secrets = body.and_then(|b| b.secrets.as_deref()).unwrap_or_default();
            out.extend(secrets.iter().map(|s| secret_finding(&ctx, s)));
        }
        "ClusterComplianceReport" => compliance(
            r.spec.as_ref().unwrap_or(&Value::Null),
            r.status.as_ref().unwrap_or(&Value::Null),
            out,
        ),
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
    get_str(v, key).and_then(severity_from_word)
}

/// "Upgrade to version {fixed} or later."
fn upgrade_to(fixed: &str) -> String {
    let mut m = String::with_capacity(fixed.len() + 32);
    m.push_str("Upgrade to version ");
    m.push_str(fixed);
    m.push_str(" or later.");
    m
}

fn vulnerability(ctx: &Ctx<'_>, v: &Vuln<'_>) -> Finding {
    let id = v.vulnerability_id.get();
    let pkg = v.resource.get();
    let version = v.installed_version.get();
    let fixed = v.fixed_version.get();
    let mut title = String::with_capacity(64);
    for part in [id, pkg, version].into_iter().flatten() {
        if !title.is_empty() {
            title.push(' ');
        }
        title.push_str(part);
    }
    let target = v.target.get();
    let link = v.primary_link.get();
    let mut description = String::with_capacity(256);
    if let Some(t) = v.title.get() {
        description.push_str(t);
        description.push_str("\n\n");
    }
    push_field(&mut description, "Package", pkg);
    push_field(&mut description, "Installed version", version);
    push_field(&mut description, "Fixed version", fixed);
    push_field(&mut description, "Target", target);
    push_field(
        &mut description,
        "Workload",
        ctx.service_container.as_deref(),
    );
    push_field(&mut description, "More information", link);
    let references =
        palisade_plugin_sdk::text::join_non_empty(link.into_iter().chain(v.links.texts()), "\n");
    let tags = [ctx.namespace, v.package_type.get(), v.class.get()]
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
        severity: v
            .severity
            .get()
            .and_then(severity_from_word)
            .unwrap_or(Severity::Info),
        description: clean(&description),
        mitigation: fixed.map(upgrade_to),
        references,
        vulnerability_ids: id.map(str::to_owned).into_iter().collect(),
        cvssv3_score: v.score.number().map(|x| x as f32),
        file_path: target.map(str::to_owned),
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

fn check(ctx: &Ctx<'_>, c: &Check<'_>) -> Finding {
    let id = c.check_id.get();
    let title = match (id, c.title.get()) {
        (Some(id), Some(t)) => format!("{id} - {t}"),
        (Some(x), None) | (None, Some(x)) => x.to_owned(),
        (None, None) => "Trivy Operator check".to_owned(),
    };
    let category = c.category.get();
    let mut description = String::with_capacity(256);
    if let Some(d) = c.description.get() {
        description.push_str(d);
        description.push_str("\n\n");
    }
    push_field(&mut description, "Category", category);
    push_field(
        &mut description,
        "Workload",
        ctx.service_workload.as_deref(),
    );
    let messages = palisade_plugin_sdk::text::join_non_empty(c.messages.texts(), "\n");
    push_field(&mut description, "Messages", messages.as_deref());
    let tags = [ctx.namespace, category]
        .into_iter()
        .flatten()
        .map(str::to_owned)
        .collect();
    Finding {
        title,
        severity: c
            .severity
            .get()
            .and_then(severity_from_word)
            .unwrap_or(Severity::Info),
        description: clean(&description),
        mitigation: c.remediation.owned(),
        vulnerability_ids: id.map(avd_id).into_iter().collect(),
        service: ctx.service_workload.clone(),
        tags,
        static_finding: Some(true),
        dynamic_finding: Some(false),
        ..Finding::default()
    }
}

fn secret_finding(ctx: &Ctx<'_>, secret: &Secret<'_>) -> Finding {
    let target = secret.target.get();
    let rule = secret.rule_id.get();
    let name = secret.title.get().or(rule).unwrap_or("secret");
    let mut description = String::with_capacity(256);
    push_field(&mut description, "Target", target);
    push_field(&mut description, "Category", secret.category.get());
    push_field(&mut description, "Rule", rule);
    push_field(&mut description, "Match", secret.matched.get());
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
        severity: secret
            .severity
            .get()
            .and_then(severity_from_word)
            .unwrap_or(Severity::Info),
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

fn compliance(spec: &Value, status: &Value, out: &mut Vec<Finding>) {
    let report_title = spec
        .pointer("/compliance/title")
        .and_then(Value::as_str)
        .unwrap_or("compliance");
    // Summary reports only give failure counts per control; the check ids
    // live in the spec's control list.
    if let Some(summary) = status.get("summaryReport") {
        let controls = spec
            .pointer("/compliance/controls")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        for control in get_array(summary, "controlCheck") {
            let fails = get_f64(control, "totalFail").unwrap_or(0.0);
            if fails <= 0.0 {
                continue;
            }
            let id = get_str(control, "id").unwrap_or("?");
            let spec = controls.iter().find(|c| get_str(c, "id") == Some(id));
            let mut description = String::new();
            push_field(&mut description, "Benchmark", Some(report_title));
            push_field(&mut description, "Control", Some(id));
            push_field(&mut description, "Name", get_str(control, "name"));
            push_field(
                &mut description,
                "Description",
                spec.and_then(|c| get_str(c, "description")),
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
                        get_array(c, "checks")
                            .iter()
                            .filter_map(|x| get_string(x, "id"))
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
        for result in get_array(detail, "results") {
            let result_id = get_str(result, "id").unwrap_or("?");
            for c in get_array(result, "checks") {
                if c.get("success").and_then(Value::as_bool) == Some(true) {
                    continue;
                }
                let check_id = get_str(c, "checkID").unwrap_or("?");
                let target = get_str(c, "target");
                let mut description = String::new();
                if let Some(d) = get_str(c, "description") {
                    description.push_str(d);
                    description.push_str("\n\n");
                }
                push_field(&mut description, "Benchmark", get_str(detail, "title"));
                push_field(&mut description, "Control", Some(result_id));
                push_field(&mut description, "Control name", get_str(result, "name"));
                push_field(&mut description, "Category", get_str(c, "category"));
                push_field(&mut description, "Target", target);
                let messages: Vec<&str> = get_strs(c, "messages").collect();
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
                    mitigation: get_string(c, "remediation"),
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
