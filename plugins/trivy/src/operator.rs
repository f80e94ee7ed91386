//! "Trivy Operator Scan": the custom resources the Trivy Operator writes in a
//! cluster (`apiVersion: aquasecurity.github.io/v1alpha1`), as exported with
//! `kubectl get ... -o json`. See `FORMAT.md` for the layouts and rules.
//!
//! Findings come from what a resource holds, not from its `kind`: any
//! resource with `metadata.labels` yields its `report.vulnerabilities`,
//! `report.checks` and `report.secrets`, and its `status.detailReport` /
//! `status.summaryReport` compliance results. A resource without labels (a
//! kubectl `List` wrapper, an SBOM report without labels, ...) yields nothing.

use palisade_plugin_sdk::json::{get_str, get_strs, parse_json_value};
use palisade_plugin_sdk::markdown::push_field;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use serde_json::{Map, Value};

/// Recognises a Trivy Operator resource head.
pub fn looks_like(head: &[u8]) -> bool {
    palisade_plugin_sdk::json::starts_like_json(head)
        && contains(head, b"aquasecurity.github.io")
        && [
            &b"VulnerabilityReport"[..],
            b"ConfigAuditReport",
            b"ExposedSecretReport",
            b"ClusterComplianceReport",
            b"RbacAssessmentReport",
            b"InfraAssessmentReport",
            b"vulnerabilityreports.",
            b"configauditreports.",
            b"exposedsecretreports.",
            b"clustercompliancereports.",
            b"rbacassessmentreports.",
            b"infraassessmentreports.",
        ]
        .iter()
        .any(|k| contains(head, k))
}

/// The keys of a "resources by kind" export (`{"vulnerabilityreports.aquasecurity.github.io": [...], ...}`)
/// whose presence marks that layout.
const KIND_KEYS: [&str; 9] = [
    "clustercompliancereports.aquasecurity.github.io",
    "clusterconfigauditreports.aquasecurity.github.io",
    "clusterinfraassessmentreports.aquasecurity.github.io",
    "clusterrbacassessmentreports.aquasecurity.github.io",
    "configauditreports.aquasecurity.github.io",
    "exposedsecretreports.aquasecurity.github.io",
    "infraassessmentreports.aquasecurity.github.io",
    "rbacassessmentreports.aquasecurity.github.io",
    "vulnerabilityreports.aquasecurity.github.io",
];

/// Keys of that layout holding SBOMs, which carry no findings.
const SBOM_KEYS: [&str; 2] = [
    "clustersbomreports.aquasecurity.github.io",
    "sbomreports.aquasecurity.github.io",
];

/// Parses one Trivy Operator resource, an array of them, or an object of
/// resource arrays keyed by plural resource name.
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
        Value::Object(map) if KIND_KEYS.iter().any(|k| map.contains_key(*k)) => {
            for (key, items) in map {
                if SBOM_KEYS.contains(&key.as_str()) {
                    continue;
                }
                let Value::Array(items) = items else {
                    return Err(ParseError::new(format!(
                        "{key:?}: expected an array of Trivy Operator resources"
                    )));
                };
                for (i, item) in items.iter().enumerate() {
                    resource(item, &mut out)
                        .map_err(|e| ParseError::new(format!("{key} item {i}: {}", e.message)))?;
                }
            }
        }
        _ => resource(&data, &mut out)?,
    }
    Ok(out)
}

/// The severity words Trivy writes; anything else is an error, as for the reference.
fn trivy_severity(word: Option<&Value>, what: &str) -> Result<Severity, ParseError> {
    match word.and_then(Value::as_str) {
        Some("CRITICAL") => Ok(Severity::Critical),
        Some("HIGH") => Ok(Severity::High),
        Some("MEDIUM") => Ok(Severity::Medium),
        Some("LOW") => Ok(Severity::Low),
        Some("UNKNOWN") => Ok(Severity::Info),
        other => Err(ParseError::new(format!(
            "{what}: unknown severity {}: expected CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN",
            other.map_or_else(|| "(missing)".to_owned(), |s| format!("{s:?}"))
        ))),
    }
}

/// A list field that must be an array of objects when present and not null.
fn objects<'a>(v: &'a Value, key: &str) -> Result<Option<&'a [Value]>, ParseError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => {
            if items.iter().any(|i| !i.is_object()) {
                return Err(ParseError::new(format!(
                    "\"{key}\" holds an entry that is not an object"
                )));
            }
            Ok(Some(items))
        }
        Some(_) => Err(ParseError::new(format!("\"{key}\" is not an array"))),
    }
}

fn object<'a>(v: &'a Value, key: &str) -> Result<Option<&'a Map<String, Value>>, ParseError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(ParseError::new(format!("\"{key}\" is not an object"))),
    }
}

/// A label, or "" when missing.
fn label<'a>(labels: &'a Map<String, Value>, key: &str) -> &'a str {
    labels.get(key).and_then(Value::as_str).unwrap_or("")
}

fn resource(r: &Value, out: &mut Vec<Finding>) -> Result<(), ParseError> {
    match r {
        Value::Null => return Ok(()),
        Value::Object(_) => {}
        _ => {
            return Err(ParseError::new(
                "not a Trivy Operator resource: expected a JSON object",
            ));
        }
    }
    // Without labels the reference takes nothing from a resource, not even
    // its compliance status.
    let Some(metadata) = object(r, "metadata")? else {
        return Ok(());
    };
    let Some(labels) = metadata.get("labels").filter(|l| !l.is_null()) else {
        return Ok(());
    };
    let Value::Object(labels) = labels else {
        return Err(ParseError::new("\"metadata.labels\" is not an object"));
    };
    let namespace = label(labels, "trivy-operator.resource.namespace");
    let kind = label(labels, "trivy-operator.resource.kind");
    let name = label(labels, "trivy-operator.resource.name");
    let container = label(labels, "trivy-operator.container.name");
    let mut service = format!("{namespace}/{kind}/{name}");
    if !container.is_empty() {
        service.push('/');
        service.push_str(container);
    }
    let ctx = Ctx {
        namespace,
        kind,
        name,
        container,
        service,
    };
    if let Some(body) = r.get("report").filter(|b| !b.is_null()) {
        if let Some(vulns) = objects(body, "vulnerabilities")? {
            for v in vulns {
                out.push(vulnerability(&ctx, v)?);
            }
        }
        if let Some(checks) = objects(body, "checks")? {
            for c in checks {
                out.push(check(&ctx, c)?);
            }
        }
        if let Some(secrets) = objects(body, "secrets")? {
            for s in secrets {
                out.push(secret_finding(&ctx, s)?);
            }
        }
    }
    if object(r, "status")?.is_some() {
        let status = &r["status"];
        if let Some(detail) = status.get("detailReport").filter(|d| !d.is_null()) {
            compliance_detail(detail, out)?;
        }
        if let Some(summary) = status.get("summaryReport").filter(|d| !d.is_null()) {
            let fails = status
                .get("summary")
                .filter(|s| s.is_object())
                .ok_or_else(|| ParseError::new("a summaryReport without \"status.summary\""))?;
            if int_of(fails.get("failCount"))? > 0 {
                let controls = r
                    .pointer("/spec/compliance/controls")
                    .and_then(Value::as_array)
                    .ok_or_else(|| {
                        ParseError::new("a summaryReport without \"spec.compliance.controls\"")
                    })?;
                compliance_summary(controls, summary, out)?;
            }
        }
    }
    Ok(())
}

/// A count written as a number or a numeric string; missing is 0.
fn int_of(v: Option<&Value>) -> Result<i64, ParseError> {
    match v {
        None => Ok(0),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f.trunc() as i64))
            .ok_or_else(|| ParseError::new(format!("count {n} is not a number"))),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| ParseError::new(format!("count {s:?} is not a number"))),
        Some(other) => Err(ParseError::new(format!("count {other} is not a number"))),
    }
}

struct Ctx<'a> {
    namespace: &'a str,
    kind: &'a str,
    name: &'a str,
    container: &'a str,
    service: String,
}

impl Ctx<'_> {
    fn push_workload(&self, description: &mut String) {
        for (label, value) in [
            ("Container", self.container),
            ("Resource kind", self.kind),
            ("Resource name", self.name),
            ("Namespace", self.namespace),
        ] {
            push_field(description, label, Some(value).filter(|v| !v.is_empty()));
        }
    }
}

/// Aqua's ids for a check or vulnerability: Kubernetes checks ("KSV014",
/// "KCV0001") become "AVD-KSV-0014", kube-hunter ids ("KHV2") "KHV002";
/// anything else (CVE, GHSA, AVD-DS-...) is kept.
pub fn uniform_id(id: &str) -> Result<String, ParseError> {
    let lower = id.to_ascii_lowercase();
    if lower.contains("cve") {
        return Ok(id.to_owned());
    }
    let split = |s: &str| -> Option<(String, String)> {
        let letters = s
            .find(|c: char| !(c.is_ascii_alphabetic() || c == '-' || c == '_'))
            .unwrap_or(s.len());
        let digits = s[letters..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(s.len(), |e| letters + e);
        (letters > 0 && digits > letters)
            .then(|| (s[..letters].to_owned(), s[letters..digits].to_owned()))
    };
    let bad = || ParseError::new(format!("check id {id:?} is not letters followed by digits"));
    if lower.contains("khv") {
        let (_, number) = split(id).ok_or_else(bad)?;
        let (category, _) = split(&lower).ok_or_else(bad)?;
        return Ok(format!("{}{number:0>3}", category.to_ascii_uppercase()));
    }
    if lower.contains("ksv") || lower.contains("kcv") {
        let (_, number) = split(id).ok_or_else(bad)?;
        let (category, _) = split(&lower.replace(['_', '-'], "")).ok_or_else(bad)?;
        let category = category.replace("avd", "").to_ascii_uppercase();
        return Ok(format!("AVD-{category}-{number:0>4}"));
    }
    Ok(id.to_owned())
}

fn text(v: &Value, key: &str) -> Option<String> {
    get_str(v, key).map(str::to_owned)
}

fn vulnerability(ctx: &Ctx<'_>, v: &Value) -> Result<Finding, ParseError> {
    // A missing id reads as "0" (and is kept as one); null means none.
    let id = match v.get("vulnerabilityID") {
        None => Some("0"),
        Some(x) => x.as_str().filter(|s| !s.is_empty()),
    };
    let severity = trivy_severity(v.get("severity"), &format!("vulnerability {id:?}"))?;
    let pkg = get_str(v, "resource");
    let version = get_str(v, "installedVersion");
    let fixed = get_str(v, "fixedVersion");
    let class = get_str(v, "class");
    // Only package findings have a path: the package's own, else the scanned target.
    let file_path = if matches!(class, Some("os-pkgs" | "lang-pkgs")) {
        text(v, "packagePath").or_else(|| text(v, "target"))
    } else {
        None
    };
    let title = format!(
        "{} {} {}",
        id.unwrap_or("None"),
        pkg.unwrap_or("None"),
        version.unwrap_or("None")
    );
    let mut description = String::with_capacity(256);
    if let Some(t) = get_str(v, "title") {
        description.push_str(t);
        description.push_str("\n\n");
    }
    push_field(&mut description, "Fixed version", fixed);
    push_field(&mut description, "Target", get_str(v, "target"));
    ctx.push_workload(&mut description);
    let tags = [Some(ctx.namespace), get_str(v, "packageType"), class]
        .into_iter()
        .flatten()
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(Finding {
        title,
        severity,
        description: clean(&description),
        mitigation: fixed.map(str::to_owned),
        references: text(v, "primaryLink"),
        vulnerability_ids: id.map(uniform_id).transpose()?.into_iter().collect(),
        cvssv3_score: v.get("score").and_then(Value::as_f64).map(|x| x as f32),
        file_path,
        component_name: pkg.map(str::to_owned),
        component_version: version.map(str::to_owned),
        fix_available: Some(fixed.is_some()),
        fix_version: fixed.map(str::to_owned),
        date: get_str(v, "publishedDate")
            .and_then(palisade_plugin_sdk::text::iso_date)
            .map(str::to_owned),
        service: Some(ctx.service.clone()),
        tags,
        static_finding: Some(true),
        dynamic_finding: Some(false),
        ..Finding::default()
    })
}

fn check(ctx: &Ctx<'_>, c: &Value) -> Result<Finding, ParseError> {
    let id = get_str(c, "checkID").filter(|i| *i != "0");
    let severity = trivy_severity(c.get("severity"), &format!("check {id:?}"))?;
    let category = get_str(c, "category");
    let mut description = String::with_capacity(256);
    if let Some(d) = get_str(c, "description") {
        description.push_str(d);
        description.push_str("\n\n");
    }
    push_field(&mut description, "Category", category);
    ctx.push_workload(&mut description);
    let messages = palisade_plugin_sdk::text::join_non_empty(get_strs(c, "messages"), "\n");
    let mitigation = palisade_plugin_sdk::text::join_non_empty(
        [get_str(c, "remediation"), messages.as_deref()]
            .into_iter()
            .flatten(),
        "\n\n",
    );
    let tags = [Some(ctx.namespace), category]
        .into_iter()
        .flatten()
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(Finding {
        title: format!(
            "{} - {}",
            id.unwrap_or("0"),
            get_str(c, "title").unwrap_or("None")
        ),
        severity,
        description: clean(&description),
        mitigation,
        references: id.map(|i| {
            format!(
                "https://avd.aquasec.com/misconfig/kubernetes/{}",
                i.to_lowercase()
            )
        }),
        vulnerability_ids: id.map(uniform_id).transpose()?.into_iter().collect(),
        service: Some(ctx.service.clone()),
        tags,
        fix_available: Some(true),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        ..Finding::default()
    })
}

fn secret_finding(ctx: &Ctx<'_>, s: &Value) -> Result<Finding, ParseError> {
    let title = get_str(s, "title");
    let severity = trivy_severity(s.get("severity"), &format!("secret {title:?}"))?;
    let target = get_str(s, "target");
    let mut description = String::with_capacity(256);
    if let Some(t) = title {
        description.push_str(t);
        description.push_str("\n\n");
    }
    push_field(&mut description, "Category", get_str(s, "category"));
    push_field(&mut description, "Match", get_str(s, "match"));
    push_field(&mut description, "Rule", get_str(s, "ruleID"));
    ctx.push_workload(&mut description);
    Ok(Finding {
        title: format!(
            "Secret detected in {} - {}",
            target.unwrap_or(""),
            title.unwrap_or("None")
        ),
        severity,
        description: clean(&description),
        references: text(s, "ruleID"),
        file_path: target.map(str::to_owned),
        service: Some(ctx.service.clone()),
        tags: Some(ctx.namespace)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .into_iter()
            .collect(),
        fix_available: Some(true),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        ..Finding::default()
    })
}

/// `status.detailReport` (ClusterComplianceReport with detail, or the older
/// compliance reports): one finding per check that explicitly failed.
fn compliance_detail(detail: &Value, out: &mut Vec<Finding>) -> Result<(), ParseError> {
    let results = objects(detail, "results")?
        .ok_or_else(|| ParseError::new("a detailReport without \"results\""))?;
    for result in results {
        let checks = objects(result, "checks")?
            .ok_or_else(|| ParseError::new("a detailReport result without \"checks\""))?;
        for c in checks {
            // The reference writes the report's description for every check,
            // and fails when it is not text.
            if !detail.get("description").is_some_and(Value::is_string) {
                return Err(ParseError::new("a detailReport without a \"description\""));
            }
            if c.get("success") != Some(&Value::Bool(false)) {
                continue;
            }
            let result_id = get_str(result, "id").unwrap_or("");
            let check_id = get_str(c, "checkID").unwrap_or("");
            let target = get_str(c, "target").unwrap_or("");
            // A check without its own severity inherits its control's.
            let severity = match c.get("severity").and_then(Value::as_str) {
                Some(s) if !s.is_empty() => trivy_severity(c.get("severity"), check_id)?,
                _ => trivy_severity(result.get("severity"), result_id)?,
            };
            let mut description = String::new();
            push_field(
                &mut description,
                "Benchmark",
                get_str(detail, "description"),
            );
            push_field(&mut description, "Control", Some(result_id));
            push_field(&mut description, "Control name", get_str(result, "name"));
            push_field(
                &mut description,
                "Control description",
                get_str(result, "description"),
            );
            push_field(&mut description, "Category", get_str(c, "category"));
            push_field(&mut description, "Check", get_str(c, "title"));
            push_field(
                &mut description,
                "Check description",
                get_str(c, "description"),
            );
            push_field(
                &mut description,
                "Target",
                Some(target).filter(|t| !t.is_empty()),
            );
            let messages = palisade_plugin_sdk::text::join_non_empty(get_strs(c, "messages"), "\n");
            push_field(&mut description, "Messages", messages.as_deref());
            out.push(Finding {
                title: format!("{result_id} {check_id} {target}"),
                severity,
                description: clean(&description),
                mitigation: text(c, "remediation"),
                vulnerability_ids: Some(check_id)
                    .filter(|i| !i.is_empty())
                    .map(uniform_id)
                    .transpose()?
                    .into_iter()
                    .collect(),
                fix_available: Some(true),
                static_finding: Some(false),
                dynamic_finding: Some(true),
                ..Finding::default()
            });
        }
    }
    Ok(())
}

/// `status.summaryReport` of a ClusterComplianceReport: one finding per
/// control with failures, its check ids taken from the spec's control list.
fn compliance_summary(
    controls: &[Value],
    summary: &Value,
    out: &mut Vec<Finding>,
) -> Result<(), ParseError> {
    let checks = objects(summary, "controlCheck")?
        .ok_or_else(|| ParseError::new("a summaryReport without \"controlCheck\""))?;
    for control in checks {
        let fails = int_of(control.get("totalFail"))?;
        if fails <= 0 {
            continue;
        }
        let id = get_str(control, "id").unwrap_or("");
        let mut ids = Vec::new();
        let mut description = String::new();
        for spec in controls.iter().filter(|c| get_str(c, "id") == Some(id)) {
            if !spec.get("description").is_some_and(Value::is_string) {
                return Err(ParseError::new(format!(
                    "compliance control {id:?} has no \"description\""
                )));
            }
            ids.extend(
                spec.get("checks")
                    .and_then(Value::as_array)
                    .map_or(&[][..], Vec::as_slice)
                    .iter()
                    .filter_map(|x| get_str(x, "id").map(str::to_owned)),
            );
            push_field(
                &mut description,
                "Description",
                get_str(spec, "description"),
            );
        }
        push_field(&mut description, "Control", Some(id));
        push_field(&mut description, "Name", get_str(control, "name"));
        push_field(&mut description, "Failures", Some(&fails.to_string()));
        out.push(Finding {
            title: format!("TrivyClusterCompliance {id} totalFail: {fails}"),
            severity: trivy_severity(control.get("severity"), id)?,
            description: clean(&description),
            vulnerability_ids: ids,
            fix_available: Some(true),
            static_finding: Some(false),
            dynamic_finding: Some(true),
            ..Finding::default()
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::uniform_id;

    #[test]
    fn uniform_ids() {
        let u = |s: &str| uniform_id(s).unwrap();
        assert_eq!(u("KSV014"), "AVD-KSV-0014");
        assert_eq!(u("KSV110"), "AVD-KSV-0110");
        assert_eq!(u("AVD-KSV-0001"), "AVD-KSV-0001");
        assert_eq!(u("KCV0048"), "AVD-KCV-0048");
        assert_eq!(u("KHV2"), "KHV002");
        assert_eq!(u("CVE-2020-1"), "CVE-2020-1");
        assert_eq!(u("GHSA-xxxx"), "GHSA-xxxx");
        assert_eq!(u("custom"), "custom");
        assert!(uniform_id("123ksv").is_err());
    }
}
