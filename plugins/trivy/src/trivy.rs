//! "Trivy Scan": the JSON of `trivy image|fs|repo|k8s --format json`.
//!
//! Three layouts exist: the legacy one (a bare array of results), schema
//! version 2 (`{"SchemaVersion": 2, "ArtifactName", "Results": [...]}`) and the
//! Kubernetes cluster report (`{"ClusterName", "Vulnerabilities" |
//! "Misconfigurations" | "Resources": [{"Namespace", "Kind", "Name",
//! "Results": [...]}]}`). Every result (`Target`, `Class`, `Type`) may carry
//! `Vulnerabilities`, `Misconfigurations`, `Secrets` and `Licenses`.

use palisade_plugin_sdk::json::{
    get_array, get_f64, get_str, get_string, get_strs, parse_json_value,
};
use palisade_plugin_sdk::markdown::push_field;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use serde_json::Value;

/// Recognises a Trivy report head.
pub fn looks_like(head: &[u8]) -> bool {
    if !palisade_plugin_sdk::json::starts_like_json(head) {
        return false;
    }
    let schema2 = contains(head, b"\"SchemaVersion\"")
        && (contains(head, b"\"ArtifactName\"") || contains(head, b"\"Results\""));
    let cluster = contains(head, b"\"ClusterName\"")
        && (contains(head, b"\"Resources\"")
            || contains(head, b"\"Vulnerabilities\"")
            || contains(head, b"\"Misconfigurations\""));
    // Legacy: `[{"Target": "...", "Type": "...", "Vulnerabilities": [...]}]`.
    let legacy = head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
        && contains(head, b"\"Target\"")
        && (contains(head, b"\"Vulnerabilities\"") || contains(head, b"\"Type\""));
    schema2 || cluster || legacy
}

/// Parses a Trivy report.
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let data = parse_json_value(report)?;
    let mut out = Vec::new();
    match &data {
        // `trivy --format json` writes `null` for an image without findings (legacy).
        Value::Null => {}
        Value::Array(results) => results_into(results, None, &mut out),
        Value::Object(map) if map.is_empty() => {}
        Value::Object(map) => {
            if let Some(version) = map.get("SchemaVersion") {
                if version.as_u64() != Some(2) {
                    return Err(ParseError::new(format!(
                        "unsupported Trivy SchemaVersion {version}: only schema version 2 \
                         (and the legacy array layout) are understood"
                    )));
                }
                results_into(get_array(&data, "Results"), None, &mut out);
            } else if map.contains_key("ClusterName") {
                for key in ["Vulnerabilities", "Misconfigurations", "Resources"] {
                    for resource in get_array(&data, key) {
                        let service = service_name(resource);
                        results_into(get_array(resource, "Results"), service.as_deref(), &mut out);
                    }
                }
            } else {
                return Err(ParseError::new(
                    "not a Trivy report: expected a JSON array of results, an object with \
                     \"SchemaVersion\": 2 and \"Results\", or a cluster report with \"ClusterName\"",
                ));
            }
        }
        _ => {
            return Err(ParseError::new(
                "not a Trivy report: expected a JSON object or array at the top level",
            ));
        }
    }
    Ok(out)
}

/// "namespace / Kind / name" of a cluster resource.
fn service_name(resource: &Value) -> Option<String> {
    let parts: Vec<&str> = ["Namespace", "Kind", "Name"]
        .iter()
        .filter_map(|k| get_str(resource, k))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" / "))
}

fn severity(v: &Value) -> Severity {
    get_str(v, "Severity")
        .and_then(severity_from_word)
        .unwrap_or(Severity::Info)
}

fn results_into(results: &[Value], service: Option<&str>, out: &mut Vec<Finding>) {
    for result in results {
        let Some(target) = get_str(result, "Target") else {
            continue;
        };
        let class = get_str(result, "Class");
        let kind = get_str(result, "Type");
        let tags: Vec<String> = [kind, class]
            .into_iter()
            .flatten()
            .map(str::to_owned)
            .collect();
        let ctx = Ctx {
            target,
            class,
            service,
            tags: &tags,
        };
        for vuln in get_array(result, "Vulnerabilities") {
            if let Some(f) = vulnerability(&ctx, vuln) {
                out.push(f);
            }
        }
        for misconf in get_array(result, "Misconfigurations") {
            if misconf.is_object() {
                out.push(misconfiguration(&ctx, misconf));
            }
        }
        for secret in get_array(result, "Secrets") {
            if secret.is_object() {
                out.push(secret_finding(&ctx, secret));
            }
        }
        for license in get_array(result, "Licenses") {
            if license.is_object() {
                out.push(license_finding(&ctx, license));
            }
        }
    }
}

struct Ctx<'a> {
    target: &'a str,
    class: Option<&'a str>,
    service: Option<&'a str>,
    tags: &'a [String],
}

impl Ctx<'_> {
    fn base(&self) -> Finding {
        Finding {
            service: self.service.map(str::to_owned),
            tags: self.tags.to_vec(),
            static_finding: Some(true),
            dynamic_finding: Some(false),
            ..Finding::default()
        }
    }
}

fn references(v: &Value) -> Option<String> {
    let mut refs: Vec<&str> = Vec::new();
    if let Some(primary) = get_str(v, "PrimaryURL") {
        refs.push(primary);
    }
    for r in get_strs(v, "References") {
        if !refs.contains(&r) {
            refs.push(r);
        }
    }
    (!refs.is_empty()).then(|| refs.join("\n"))
}

fn vulnerability(ctx: &Ctx<'_>, v: &Value) -> Option<Finding> {
    let vuln_id = get_str(v, "VulnerabilityID");
    let pkg = get_str(v, "PkgName");
    if vuln_id.is_none() && pkg.is_none() {
        return None;
    }
    let version = get_str(v, "InstalledVersion");
    let fixed = get_str(v, "FixedVersion");
    let title = [vuln_id, pkg, version]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    // Packages of an OS or a language ecosystem live at the target unless
    // Trivy names a more precise path (jars inside an image, etc.).
    let file_path = get_string(v, "PkgPath").or_else(|| {
        matches!(ctx.class, Some("os-pkgs" | "lang-pkgs")).then(|| ctx.target.to_owned())
    });

    let mut description = String::new();
    if let Some(t) = get_str(v, "Title") {
        description.push_str(t);
        description.push_str("\n\n");
    }
    if let Some(d) = get_str(v, "Description") {
        description.push_str(d);
        description.push_str("\n\n");
    }
    push_field(&mut description, "Target", Some(ctx.target));
    push_field(&mut description, "Package", pkg);
    push_field(&mut description, "Installed version", version);
    push_field(&mut description, "Fixed version", fixed);
    push_field(&mut description, "Status", get_str(v, "Status"));
    push_field(
        &mut description,
        "Severity source",
        get_str(v, "SeveritySource"),
    );
    push_field(
        &mut description,
        "More information",
        get_str(v, "PrimaryURL"),
    );

    let mut f = Finding {
        title: if title.is_empty() {
            "Trivy vulnerability".to_owned()
        } else {
            title
        },
        severity: severity(v),
        description: clean(&description),
        mitigation: fixed.map(|x| match pkg {
            Some(p) => format!("Upgrade {p} to version {x} or later."),
            None => format!("Upgrade to version {x} or later."),
        }),
        references: references(v),
        cwe: get_strs(v, "CweIDs").find_map(parse_cwe),
        vulnerability_ids: vuln_id.map(str::to_owned).into_iter().collect(),
        file_path,
        component_name: pkg.map(str::to_owned),
        component_version: version.map(str::to_owned),
        fix_available: Some(fixed.is_some()),
        fix_version: fixed.map(str::to_owned),
        date: get_str(v, "PublishedDate")
            .and_then(palisade_plugin_sdk::text::iso_date)
            .map(str::to_owned),
        ..ctx.base()
    };
    set_cvss(&mut f, v);
    Some(f)
}

/// Takes the CVSS data of the source Trivy took the severity from, else NVD's.
fn set_cvss(f: &mut Finding, v: &Value) {
    let Some(cvss) = v.get("CVSS").filter(|c| c.is_object()) else {
        return;
    };
    let entry = get_str(v, "SeveritySource")
        .and_then(|src| cvss.get(src))
        .or_else(|| cvss.get("nvd"));
    let Some(entry) = entry else { return };
    if let Some(vector) = get_str(entry, "V3Vector")
        && let Ok(parsed) = palisade_plugin_sdk::Cvss3::parse(vector)
    {
        f.cvssv3 = Some(parsed.vector());
        f.cvssv3_score = get_f64(entry, "V3Score")
            .map(|x| x as f32)
            .or_else(|| Some(parsed.base_score()));
    }
    if let Some(vector) = get_str(entry, "V40Vector")
        && palisade_plugin_sdk::Cvss4::parse(vector).is_ok()
    {
        f.cvssv4 = Some(vector.to_owned());
        f.cvssv4_score = get_f64(entry, "V40Score").map(|x| x as f32);
    }
}

fn misconfiguration(ctx: &Ctx<'_>, m: &Value) -> Finding {
    let id = get_str(m, "ID");
    let title = match (id, get_str(m, "Title")) {
        (Some(id), Some(t)) => format!("{id} - {t}"),
        (Some(x), None) | (None, Some(x)) => x.to_owned(),
        (None, None) => "Trivy misconfiguration".to_owned(),
    };
    let mut description = String::new();
    if let Some(d) = get_str(m, "Description") {
        description.push_str(d);
        description.push_str("\n\n");
    }
    push_field(&mut description, "Target", Some(ctx.target));
    push_field(&mut description, "Type", get_str(m, "Type"));
    push_field(&mut description, "Message", get_str(m, "Message"));
    push_field(&mut description, "Status", get_str(m, "Status"));
    let cause = m.get("CauseMetadata");
    let start = cause.and_then(|c| get_f64(c, "StartLine"));
    let end = cause.and_then(|c| get_f64(c, "EndLine"));
    if let (Some(a), Some(b)) = (start, end) {
        push_field(&mut description, "Lines", Some(&format!("{a}-{b}")));
    }
    Finding {
        title,
        severity: severity(m),
        description: clean(&description),
        mitigation: get_string(m, "Resolution"),
        references: references(m),
        vulnerability_ids: get_str(m, "AVDID")
            .or(id)
            .map(str::to_owned)
            .into_iter()
            .collect(),
        file_path: Some(ctx.target.to_owned()),
        ..ctx.base()
    }
}

fn secret_finding(ctx: &Ctx<'_>, secret: &Value) -> Finding {
    let name = get_str(secret, "Title")
        .or_else(|| get_str(secret, "RuleID"))
        .unwrap_or("secret");
    let mut description = String::new();
    push_field(&mut description, "Target", Some(ctx.target));
    push_field(&mut description, "Category", get_str(secret, "Category"));
    push_field(&mut description, "Rule", get_str(secret, "RuleID"));
    push_field(&mut description, "Match", get_str(secret, "Match"));
    Finding {
        title: format!("Secret detected in {} - {name}", ctx.target),
        severity: severity(secret),
        description: clean(&description),
        mitigation: Some(
            "Remove the secret from the artifact and rotate it: it must be considered compromised."
                .to_owned(),
        ),
        file_path: Some(ctx.target.to_owned()),
        line: get_f64(secret, "StartLine")
            .filter(|l| *l >= 1.0 && *l <= f64::from(u32::MAX))
            .map(|l| l as u32),
        ..ctx.base()
    }
}

fn license_finding(ctx: &Ctx<'_>, license: &Value) -> Finding {
    let name = get_str(license, "Name").unwrap_or("unknown license");
    let mut description = format!("License {name} detected.\n\n");
    push_field(&mut description, "Category", get_str(license, "Category"));
    push_field(&mut description, "Package", get_str(license, "PkgName"));
    push_field(&mut description, "File", get_str(license, "FilePath"));
    push_field(&mut description, "Link", get_str(license, "Link"));
    Finding {
        title: format!("License detected in {} - {name}", ctx.target),
        severity: severity(license),
        description: clean(&description),
        references: get_string(license, "Link"),
        file_path: get_string(license, "FilePath"),
        tags: vec!["license".to_owned()],
        ..ctx.base()
    }
}
