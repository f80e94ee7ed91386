//! "Trivy Scan": the JSON of `trivy image|fs|repo|k8s --format json`.
//!
//! Three layouts exist: the legacy one (a bare array of results), schema
//! version 2 (`{"SchemaVersion": 2, "ArtifactName", "Results": [...]}`) and the
//! Kubernetes cluster report (`{"ClusterName", "Vulnerabilities" |
//! "Misconfigurations" | "Resources": [{"Namespace", "Kind", "Name",
//! "Results": [...]}]}`). Every result (`Target`, `Class`, `Type`) may carry
//! `Vulnerabilities`, `Misconfigurations`, `Secrets` and `Licenses`.

use palisade_plugin_sdk::json::{get_f64, get_str, get_string, get_strs, parse_json_value};
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
        Value::Array(results) => results_into(results, None, &mut out)?,
        Value::Object(map) => {
            if map.get("SchemaVersion").and_then(Value::as_f64) == Some(2.0) {
                results_into(list(&data, "Results")?, None, &mut out)?;
            } else if map.get("ClusterName").is_some_and(|c| !c.is_null()) {
                for key in ["Vulnerabilities", "Misconfigurations", "Resources"] {
                    // The reference names "Resources" entries with a variable
                    // only bound by an entry with a namespace: a cluster-scoped
                    // entry before any namespaced one makes it fail.
                    let mut named = false;
                    for resource in list(&data, key)? {
                        if key == "Resources" {
                            if get_str(resource, "Namespace").is_some() {
                                named = true;
                            } else if !named {
                                return Err(ParseError::new(
                                    "Trivy cluster report: a resource without a Namespace comes \
                                     before any namespaced one (the reference cannot name it)",
                                ));
                            }
                        }
                        let service = service_name(resource);
                        results_into(list(resource, "Results")?, service.as_deref(), &mut out)?;
                    }
                }
            } else {
                return Err(ParseError::new(
                    "Schema of Trivy json report is not supported: expected a JSON array of \
                     results, an object with \"SchemaVersion\": 2 and \"Results\", or a cluster \
                     report with \"ClusterName\"",
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

/// The array under `key`: missing is empty, anything but an array an error.
fn list<'a>(v: &'a Value, key: &str) -> Result<&'a [Value], ParseError> {
    match v.get(key) {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(ParseError::new(format!("\"{key}\" is not an array"))),
    }
}

/// "namespace / Kind / name" of a cluster resource.
fn service_name(resource: &Value) -> Option<String> {
    let parts: Vec<&str> = ["Namespace", "Kind", "Name"]
        .iter()
        .filter_map(|k| get_str(resource, k))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" / "))
}

/// Trivy's severity words, exactly as it writes them.
fn trivy_word(word: &str) -> Option<Severity> {
    match word {
        "CRITICAL" => Some(Severity::Critical),
        "HIGH" => Some(Severity::High),
        "MEDIUM" => Some(Severity::Medium),
        "LOW" => Some(Severity::Low),
        "UNKNOWN" => Some(Severity::Info),
        _ => None,
    }
}

/// A severity that must be one of Trivy's words (secrets, licenses): anything
/// else rejects the report, as the reference does.
fn strict_severity(v: &Value, what: &str) -> Result<Severity, ParseError> {
    let word = v.get("Severity").and_then(Value::as_str);
    word.and_then(trivy_word).ok_or_else(|| {
        ParseError::new(format!(
            "{what}: unknown Severity {}: expected CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN",
            word.map_or_else(|| "(missing)".to_owned(), |w| format!("{w:?}"))
        ))
    })
}

fn results_into(
    results: &[Value],
    service: Option<&str>,
    out: &mut Vec<Finding>,
) -> Result<(), ParseError> {
    for result in results {
        // Results without a "Target" are not results (e.g. summaries).
        let Some(target_value) = result.get("Target") else {
            continue;
        };
        let target = target_value.as_str().unwrap_or("");
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
        if let Some(Value::Array(vulns)) = result.get("Vulnerabilities") {
            out.extend(vulns.iter().filter_map(|v| vulnerability(&ctx, v)));
        }
        for misconf in list(result, "Misconfigurations")? {
            out.push(misconfiguration(&ctx, misconf));
        }
        for secret in list(result, "Secrets")? {
            out.push(secret_finding(&ctx, secret)?);
        }
        for license in list(result, "Licenses")? {
            out.push(license_finding(&ctx, license)?);
        }
    }
    Ok(())
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

    fn target(&self) -> Option<String> {
        (!self.target.trim().is_empty()).then(|| self.target.to_owned())
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

/// Severity from a CVSS score as the reference bands it (any score above 0 is at least Low).
fn severity_of_score(score: f64) -> Severity {
    if score == 0.0 {
        Severity::Info
    } else if score < 4.0 {
        Severity::Low
    } else if score < 7.0 {
        Severity::Medium
    } else if score < 9.0 {
        Severity::High
    } else {
        Severity::Critical
    }
}

/// The sources whose CVSS entry is used, after the vulnerability's own `SeveritySource`.
const CVSS_SOURCES: [&str; 4] = ["nvd", "ghsa", "redhat", "bitnami"];

/// Fills the CVSS fields from the first CVSS entry found (the severity
/// source's, else nvd, ghsa, redhat, bitnami) and returns the severity those
/// imply: a v4 vector, else a v4 score, else a v3 vector, v3 score, v2 score.
fn apply_cvss(f: &mut Finding, v: &Value) -> Option<Severity> {
    let cvss = v.get("CVSS").filter(|c| c.is_object())?;
    let entry = get_str(v, "SeveritySource")
        .into_iter()
        .chain(CVSS_SOURCES)
        .find_map(|src| cvss.get(src).filter(|e| !e.is_null()))?;
    if let Some(vector) = get_str(entry, "V40Vector")
        && let Ok(parsed) = palisade_plugin_sdk::Cvss4::parse(vector)
    {
        // The score and severity of the vector itself, as the reference computes them.
        f.cvssv4 = Some(parsed.vector());
        f.cvssv4_score = Some(parsed.base_score());
        return Some(parsed.severity());
    }
    if let Some(score) = entry.get("V4Score").filter(|s| !s.is_null()) {
        let score = score.as_f64()?;
        f.cvssv4_score = Some(score as f32);
        return Some(severity_of_score(score));
    }
    if let Some(vector) = get_str(entry, "V3Vector")
        && let Ok(parsed) = palisade_plugin_sdk::Cvss3::parse(vector)
    {
        f.cvssv3 = Some(parsed.vector());
        f.cvssv3_score = Some(parsed.base_score());
        return Some(parsed.severity());
    }
    if let Some(score) = entry.get("V3Score").filter(|s| !s.is_null()) {
        let score = score.as_f64()?;
        f.cvssv3_score = Some(score as f32);
        return Some(severity_of_score(score));
    }
    let score = entry.get("V2Score").and_then(Value::as_f64)?;
    Some(severity_of_score(score))
}

/// One vulnerability; `None` for what the reference skips: non-objects,
/// entries without a "PkgName" key, and severities that are not Trivy's words.
fn vulnerability(ctx: &Ctx<'_>, v: &Value) -> Option<Finding> {
    let pkg_value = v.as_object()?.get("PkgName")?;
    let pkg = pkg_value.as_str().map(str::trim).filter(|p| !p.is_empty());
    // A missing id reads as "0", and is kept as one.
    let vuln_id = match v.get("VulnerabilityID") {
        None => Some("0"),
        Some(id) => id.as_str().filter(|i| !i.is_empty()),
    };
    let stated = match v.get("Severity") {
        Some(Value::String(w)) if !w.is_empty() => Some(trivy_word(w)?),
        _ => None,
    };
    let version = get_str(v, "InstalledVersion");
    let fixed = get_str(v, "FixedVersion");
    let title = format!(
        "{} {} {}",
        vuln_id.unwrap_or("None"),
        pkg.unwrap_or("None"),
        version.unwrap_or("")
    );
    // Packages of an OS or a language ecosystem live at Trivy's package path,
    // else at the target; config results at the target; others nowhere.
    let file_path = match ctx.class {
        Some("os-pkgs" | "lang-pkgs") => match v.get("PkgPath") {
            None | Some(Value::Null) => ctx.target(),
            Some(p) => p.as_str().map(str::to_owned),
        },
        Some("config") => ctx.target(),
        _ => None,
    };

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

    let cwes: Vec<u32> = get_strs(v, "CweIDs").filter_map(parse_cwe).collect();
    let mut f = Finding {
        title,
        severity: Severity::Info,
        description: clean_string(description),
        mitigation: fixed.map(str::to_owned),
        impact: get_string(v, "Status"),
        references: references(v),
        cwe: cwes.first().copied(),
        extra_cwes: cwes.iter().skip(1).copied().collect(),
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
    let from_cvss = apply_cvss(&mut f, v);
    f.severity = stated.or(from_cvss).unwrap_or(Severity::Info);
    Some(f)
}

fn misconfiguration(ctx: &Ctx<'_>, m: &Value) -> Finding {
    let id = get_str(m, "ID");
    let title = format!(
        "{} - {}",
        id.unwrap_or("None"),
        get_str(m, "Title").unwrap_or("Unknown Misconfiguration")
    );
    let mut description = String::new();
    if let Some(d) = get_str(m, "Description") {
        description.push_str(d);
        description.push_str("\n\n");
    }
    push_field(&mut description, "Target", Some(ctx.target));
    push_field(&mut description, "Type", get_str(m, "Type"));
    push_field(&mut description, "Message", get_str(m, "Message"));
    let cause = m.get("CauseMetadata");
    let start = cause.and_then(|c| get_f64(c, "StartLine"));
    let end = cause.and_then(|c| get_f64(c, "EndLine"));
    if let (Some(a), Some(b)) = (start, end) {
        push_field(&mut description, "Lines", Some(&format!("{a}-{b}")));
    }
    // A missing severity is Low, an unknown word Info.
    let severity = match m.get("Severity") {
        None => Severity::Low,
        Some(w) => w.as_str().and_then(trivy_word).unwrap_or(Severity::Info),
    };
    // "AVDID" wins when present at all, even null; else the "ID".
    let avd = match m.get("AVDID") {
        Some(a) => a.as_str().filter(|a| !a.is_empty()),
        None => id,
    };
    Finding {
        title,
        severity,
        description: clean_string(description),
        mitigation: get_string(m, "Resolution"),
        impact: get_string(m, "Description"),
        references: references(m),
        vulnerability_ids: avd.map(str::to_owned).into_iter().collect(),
        file_path: ctx.target(),
        fix_available: Some(true),
        ..ctx.base()
    }
}

fn secret_finding(ctx: &Ctx<'_>, secret: &Value) -> Result<Finding, ParseError> {
    let name = get_str(secret, "Title");
    let severity = strict_severity(secret, &format!("secret {:?}", name.unwrap_or("")))?;
    let mut description = String::new();
    push_field(&mut description, "Target", Some(ctx.target));
    push_field(&mut description, "Category", get_str(secret, "Category"));
    push_field(&mut description, "Rule", get_str(secret, "RuleID"));
    push_field(&mut description, "Match", get_str(secret, "Match"));
    Ok(Finding {
        title: format!(
            "Secret detected in {} - {}",
            ctx.target,
            name.unwrap_or("None")
        ),
        severity,
        description: clean_string(description),
        file_path: ctx.target(),
        line: get_f64(secret, "StartLine")
            .filter(|l| *l >= 1.0 && *l <= f64::from(u32::MAX))
            .map(|l| l as u32),
        fix_available: Some(true),
        tags: ctx.class.map(str::to_owned).into_iter().collect(),
        ..ctx.base()
    })
}

fn license_finding(ctx: &Ctx<'_>, license: &Value) -> Result<Finding, ParseError> {
    let name = get_str(license, "Name").unwrap_or("None");
    let severity = strict_severity(license, &format!("license {name:?}"))?;
    let mut description = format!("License {name} detected.\n\n");
    push_field(&mut description, "Category", get_str(license, "Category"));
    push_field(&mut description, "Package", get_str(license, "PkgName"));
    push_field(&mut description, "File", get_str(license, "FilePath"));
    push_field(&mut description, "Link", get_str(license, "Link"));
    Ok(Finding {
        title: format!("License detected in {} - {name}", ctx.target),
        severity,
        description: clean_string(description),
        references: get_string(license, "Link"),
        file_path: get_string(license, "FilePath"),
        fix_available: Some(true),
        tags: ctx.class.map(str::to_owned).into_iter().collect(),
        ..ctx.base()
    })
}
