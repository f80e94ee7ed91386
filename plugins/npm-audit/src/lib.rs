//! Palisade parser plugin for `npm audit --json`: "NPM Audit Scan" (npm 6 and
//! older: `{"advisories": {id: advisory}, "actions", "metadata"}`) and "NPM
//! Audit v7+ Scan" (npm 7 and later, `"auditReportVersion": 2`:
//! `{"vulnerabilities": {package: {...}}, "metadata"}`).

use palisade_plugin_sdk::json::{
    get_array, get_f64, get_str, get_string, get_strs, parse_json_value,
};
use palisade_plugin_sdk::markdown::push_field;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use serde_json::Value;

/// npm 6 and older.
pub const NPM_AUDIT: &str = "NPM Audit Scan";
/// npm 7 and later.
pub const NPM_AUDIT_V7: &str = "NPM Audit v7+ Scan";

/// The generic "Using Components with Known Vulnerabilities" CWE, for
/// advisories that name none.
const KNOWN_VULNERABLE_COMPONENT_CWE: u32 = 1035;

/// The npm audit parser (both report generations).
pub struct NpmAudit;

impl Parser for NpmAudit {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "npm-audit".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![
                ScanTypeInfo {
                    name: NPM_AUDIT.to_owned(),
                    description: "npm audit --json report of npm 6 and older (advisories)"
                        .to_owned(),
                    file_kinds: vec!["json".to_owned()],
                    dedupe: DedupeSetting::hash_code(&[
                        "title",
                        "severity",
                        "file_path",
                        "vulnerability_ids",
                        "cwe",
                    ]),
                },
                ScanTypeInfo {
                    name: NPM_AUDIT_V7.to_owned(),
                    description:
                        "npm audit --json report of npm 7 and later (auditReportVersion 2)"
                            .to_owned(),
                    file_kinds: vec!["json".to_owned()],
                    dedupe: DedupeSetting::hash_code(&[
                        "title",
                        "severity",
                        "cwe",
                        "vuln_id_from_tool",
                    ]),
                },
            ],
        }
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        if !palisade_plugin_sdk::json::starts_like_json(head) {
            return None;
        }
        let wants = |t: &str| candidates.iter().any(|c| c == t);
        if wants(NPM_AUDIT_V7)
            && contains(head, b"\"auditReportVersion\"")
            && contains(head, b"\"vulnerabilities\"")
        {
            return Some(NPM_AUDIT_V7.to_owned());
        }
        // npm 6: "advisories" keyed by advisory id, beside "actions"/"muted";
        // yarn's audit lines carry "type": "auditAdvisory" instead.
        let v6 = contains(head, b"\"advisories\"")
            && !contains(head, b"\"auditReportVersion\"")
            && !contains(head, b"\"auditAdvisory\"")
            && (contains(head, b"\"actions\"")
                || contains(head, b"\"muted\"")
                || contains(head, b"\"module_name\""));
        (wants(NPM_AUDIT) && v6).then(|| NPM_AUDIT.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        let data = parse_json_value(report)?;
        if !data.is_object() {
            return Err(ParseError::new(
                "not an npm audit report: expected a JSON object at the top level",
            ));
        }
        // `npm audit` failures: {"error": {"code": "ENOAUDIT", "summary": "..."}}.
        if let Some(error) = data.get("error").filter(|e| !e.is_null()) {
            let code = get_str(error, "code").unwrap_or("unknown");
            let summary = get_str(error, "summary")
                .or_else(|| error.as_str())
                .unwrap_or("no summary");
            return Err(ParseError::new(format!(
                "the npm audit report holds an error instead of results: {code}: {summary}"
            )));
        }
        let version = data.get("auditReportVersion").and_then(Value::as_u64);
        match scan_type {
            NPM_AUDIT => {
                if version.is_some_and(|v| v >= 2) {
                    return Err(ParseError::new(
                        "this is an npm 7+ audit report (auditReportVersion 2); import it as \
                         \"NPM Audit v7+ Scan\"",
                    ));
                }
                v6(&data)
            }
            NPM_AUDIT_V7 => {
                if version.is_none_or(|v| v < 2) {
                    return Err(ParseError::new(
                        "not an npm 7+ audit report: \"auditReportVersion\" 2 is missing \
                         (npm 6 reports are imported as \"NPM Audit Scan\")",
                    ));
                }
                v7(&data)
            }
            other => Err(ParseError::new(format!(
                "the npm-audit plugin parses {NPM_AUDIT:?} and {NPM_AUDIT_V7:?}, not {other:?}"
            ))),
        }
    }
}

fn npm_severity(word: Option<&str>) -> Severity {
    // npm says "moderate" for medium and "info" for informational.
    word.and_then(severity_from_word).unwrap_or(Severity::Info)
}

/// The CWE numbers of an advisory: "CWE-79", ["CWE-79", ...], a JSON list
/// encoded in a string ("[\"CWE-400\"]", newer npm 6 registries) or null.
fn cwes(v: Option<&Value>) -> Vec<u32> {
    match v {
        Some(Value::String(t)) => {
            let found = find_cwes(t);
            if found.is_empty() {
                parse_cwe(t).into_iter().collect()
            } else {
                found
            }
        }
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .filter_map(parse_cwe)
            .collect(),
        _ => Vec::new(),
    }
}

fn v6(data: &Value) -> Result<Vec<Finding>, ParseError> {
    let advisories = match data.get("advisories") {
        Some(Value::Object(map)) => map,
        Some(_) => {
            return Err(ParseError::new(
                "not an npm audit report: \"advisories\" is not an object",
            ));
        }
        None => {
            return Err(ParseError::new(
                "not an npm 6 audit report: the \"advisories\" object is missing",
            ));
        }
    };
    Ok(advisories
        .values()
        .filter(|a| a.is_object())
        .map(advisory)
        .collect())
}

fn advisory(a: &Value) -> Finding {
    let module = get_str(a, "module_name");
    let issue = get_str(a, "title").unwrap_or("npm advisory");
    let range = get_str(a, "vulnerable_versions");
    let title = match (module, range) {
        (Some(m), Some(r)) => format!("{issue} - ({m}, {r})"),
        (Some(m), None) => format!("{issue} - ({m})"),
        _ => issue.to_owned(),
    };
    let first = get_array(a, "findings").first();
    let version = first.and_then(|f| get_str(f, "version"));
    let path = first.and_then(|f| get_strs(f, "paths").next());
    let cwes = cwes(a.get("cwe"));

    let mut description = String::new();
    if let Some(o) = get_str(a, "overview") {
        description.push_str(o);
        description.push_str("\n\n");
    }
    push_field(&mut description, "Advisory", get_str(a, "url"));
    push_field(&mut description, "Vulnerable module", module);
    push_field(&mut description, "Vulnerable versions", range);
    push_field(
        &mut description,
        "Patched versions",
        get_str(a, "patched_versions"),
    );
    let paths: Vec<String> = get_array(a, "findings")
        .iter()
        .flat_map(|f| {
            let v = get_str(f, "version").unwrap_or("?");
            get_strs(f, "paths").map(move |p| format!("- {v}: {p}"))
        })
        .collect();
    if !paths.is_empty() {
        description.push_str("**Vulnerable paths:**\n");
        description.push_str(&paths.join("\n"));
        description.push('\n');
    }
    push_field(&mut description, "Access", get_str(a, "access"));

    let mut refs: Vec<&str> = get_str(a, "url").into_iter().collect();
    refs.extend(get_str(a, "references"));
    Finding {
        title,
        severity: npm_severity(get_str(a, "severity")),
        description: clean(&description),
        mitigation: get_string(a, "recommendation"),
        references: (!refs.is_empty()).then(|| refs.join("\n")),
        cwe: Some(
            cwes.first()
                .copied()
                .unwrap_or(KNOWN_VULNERABLE_COMPONENT_CWE),
        ),
        extra_cwes: cwes.iter().skip(1).copied().collect(),
        vulnerability_ids: get_strs(a, "cves").map(str::to_owned).collect(),
        file_path: path.map(str::to_owned),
        component_name: module.map(str::to_owned),
        component_version: version.map(str::to_owned),
        fix_available: Some(get_str(a, "patched_versions").is_some_and(|p| p != "<0.0.0")),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        ..Finding::default()
    }
}

fn v7(data: &Value) -> Result<Vec<Finding>, ParseError> {
    let vulns = match data.get("vulnerabilities") {
        Some(Value::Object(map)) => map,
        _ => {
            return Err(ParseError::new(
                "not an npm 7+ audit report: the \"vulnerabilities\" object is missing",
            ));
        }
    };
    Ok(vulns
        .iter()
        .filter(|(_, v)| v.is_object())
        .map(|(key, v)| package(key, v))
        .collect())
}

fn package(key: &str, v: &Value) -> Finding {
    let name = get_str(v, "name").unwrap_or(key);
    let via = get_array(v, "via");
    // `via` holds advisories (objects) and names of vulnerable dependencies
    // this package is only affected through (strings).
    let advisories: Vec<&Value> = via.iter().filter(|x| x.is_object()).collect();
    let through: Vec<&str> = via.iter().filter_map(Value::as_str).collect();
    let first = advisories.first().copied();
    let title = match first.and_then(|a| get_str(a, "title")) {
        Some(t) => t.to_owned(),
        None if !through.is_empty() => format!(
            "{name} depends on vulnerable versions of {}",
            through.join(", ")
        ),
        None => format!("Vulnerable package {name}"),
    };
    let nodes: Vec<&str> = get_strs(v, "nodes").collect();
    let fix = v.get("fixAvailable");
    let mitigation = match fix {
        Some(Value::Object(_)) => {
            let fname = fix.and_then(|f| get_str(f, "name")).unwrap_or(name);
            let fver = fix
                .and_then(|f| get_str(f, "version"))
                .unwrap_or("a fixed version");
            let major = fix
                .and_then(|f| f.get("isSemVerMajor"))
                .and_then(Value::as_bool)
                == Some(true);
            Some(format!(
                "Update {fname} to version {fver}{}",
                if major {
                    " (a semver-major change)"
                } else {
                    ""
                }
            ))
        }
        Some(Value::Bool(true)) => Some("Run `npm audit fix`.".to_owned()),
        _ => None,
    };

    let mut description = String::new();
    push_field(&mut description, "Package", Some(name));
    push_field(&mut description, "Vulnerable range", get_str(v, "range"));
    push_field(&mut description, "Severity", get_str(v, "severity"));
    for a in &advisories {
        let t = get_str(a, "title").unwrap_or("advisory");
        match get_str(a, "url") {
            Some(u) => description.push_str(&format!("- {t}: {u}\n")),
            None => description.push_str(&format!("- {t}\n")),
        }
    }
    if !through.is_empty() {
        push_field(
            &mut description,
            "Depends on vulnerable versions of",
            Some(&through.join(", ")),
        );
    }
    let effects: Vec<&str> = get_strs(v, "effects").collect();
    if !effects.is_empty() {
        push_field(&mut description, "Affects", Some(&effects.join(", ")));
    }
    if !nodes.is_empty() {
        push_field(&mut description, "Installed at", Some(&nodes.join(", ")));
    }
    push_field(&mut description, "Fix", mitigation.as_deref());

    let cwes: Vec<u32> = first.map(|a| cwes(a.get("cwe"))).unwrap_or_default();
    let cvss = first.and_then(|a| a.get("cvss"));
    let vector = cvss
        .and_then(|c| get_str(c, "vectorString"))
        .and_then(|x| palisade_plugin_sdk::Cvss3::parse(x).ok());
    let refs: Vec<&str> = advisories
        .iter()
        .filter_map(|a| get_str(a, "url"))
        .collect();
    Finding {
        title,
        severity: npm_severity(get_str(v, "severity")),
        description: clean(&description),
        mitigation,
        references: (!refs.is_empty()).then(|| refs.join("\n")),
        cwe: cwes.first().copied(),
        extra_cwes: cwes.iter().skip(1).copied().collect(),
        // The advisory URLs (GitHub advisories) are in the references; npm
        // gives no CVE ids here.
        cvssv3: vector.as_ref().map(palisade_plugin_sdk::Cvss3::vector),
        cvssv3_score: cvss
            .and_then(|c| get_f64(c, "score"))
            .filter(|x| *x > 0.0)
            .map(|x| x as f32),
        // The reference importer names the component by its install path
        // (node_modules/...); kept for compatibility of identity fields.
        component_name: nodes
            .first()
            .map(|n| (*n).to_owned())
            .or_else(|| Some(name.to_owned())),
        fix_available: Some(matches!(
            fix,
            Some(Value::Object(_)) | Some(Value::Bool(true))
        )),
        vuln_id_from_tool: first.and_then(|a| a.get("source")).and_then(|x| match x {
            Value::Number(n) => Some(n.to_string()),
            Value::String(t) => Some(t.clone()),
            _ => None,
        }),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        ..Finding::default()
    }
}

palisade_plugin_sdk::export_parser!(NpmAudit);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(t: &str, report: &str) -> Result<Vec<Finding>, ParseError> {
        NpmAudit::parse(t, report.as_bytes(), &Options::default())
    }

    #[test]
    fn empty_reports() {
        assert!(
            parse(
                NPM_AUDIT,
                r#"{"actions": [], "advisories": {}, "muted": []}"#
            )
            .unwrap()
            .is_empty()
        );
        assert!(
            parse(
                NPM_AUDIT_V7,
                r#"{"auditReportVersion": 2, "vulnerabilities": {}}"#
            )
            .unwrap()
            .is_empty()
        );
    }

    #[test]
    fn v6_minimal_and_unusual() {
        let f = parse(
            NPM_AUDIT,
            r#"{"advisories": {
                "1": {"title": "T", "module_name": "m", "severity": "moderate", "cwe": null},
                "2": {"title": "U", "severity": "info", "cwe": ["CWE-79", "CWE-80"], "cves": ["CVE-2020-1"],
                      "findings": [{"version": "1.0", "paths": ["a>b"]}]}}}"#,
        )
        .unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!((f[0].severity, f[0].cwe), (Severity::Medium, Some(1035)));
        assert_eq!(f[0].title, "T - (m)");
        assert_eq!((f[1].severity, f[1].cwe), (Severity::Info, Some(79)));
        assert_eq!(f[1].file_path.as_deref(), Some("a>b"));
        assert_eq!(f[1].component_version.as_deref(), Some("1.0"));
    }

    #[test]
    fn v7_packages_with_and_without_advisories() {
        let f = parse(
            NPM_AUDIT_V7,
            r#"{"auditReportVersion": 2, "vulnerabilities": {
                "a": {"name": "a", "severity": "critical", "via": [{"source": 12, "title": "Bad", "cwe": ["CWE-400"]}],
                      "nodes": ["node_modules/a"], "fixAvailable": true},
                "b": {"name": "b", "severity": "low", "via": ["a"], "nodes": []}}}"#,
        )
        .unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!((f[0].title.as_str(), f[0].cwe), ("Bad", Some(400)));
        assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some("12"));
        assert_eq!(f[1].title, "b depends on vulnerable versions of a");
        assert_eq!(f[1].severity, Severity::Low);
    }

    #[test]
    fn errors_wrong_generations_and_garbage_are_rejected() {
        let v7 = r#"{"auditReportVersion": 2, "vulnerabilities": {}}"#;
        assert!(parse(NPM_AUDIT, v7).unwrap_err().message.contains("v7+"));
        assert!(parse(NPM_AUDIT_V7, r#"{"advisories": {}}"#).is_err());
        let e = parse(
            NPM_AUDIT,
            r#"{"error": {"code": "ENOAUDIT", "summary": "no"}}"#,
        )
        .unwrap_err();
        assert!(e.message.contains("ENOAUDIT"));
        for r in [
            "",
            "{",
            "[]",
            "null",
            r#"{"matches": []}"#,
            r#"{"advisories": []}"#,
        ] {
            assert!(parse(NPM_AUDIT, r).is_err(), "{r}");
            assert!(parse(NPM_AUDIT_V7, r).is_err(), "{r}");
        }
        assert!(
            NpmAudit::parse(NPM_AUDIT, b"{\"advisories\":\"\xff\"}", &Options::default()).is_err()
        );
        assert!(parse(NPM_AUDIT, &"[".repeat(5000)).is_err());
        assert!(parse("Other", "{}").is_err());
    }

    #[test]
    fn detect_is_strict() {
        let c = [NPM_AUDIT.to_owned(), NPM_AUDIT_V7.to_owned()];
        let d = |h: &str| NpmAudit::detect(&c, h.as_bytes());
        assert_eq!(
            d(r#"{"actions": [], "advisories": {"1": {"module_name": "x""#).as_deref(),
            Some(NPM_AUDIT)
        );
        assert_eq!(
            d(r#"{"auditReportVersion": 2, "vulnerabilities": {"#).as_deref(),
            Some(NPM_AUDIT_V7)
        );
        assert_eq!(
            d(r#"{"type":"auditAdvisory","data":{"advisory":{"module_name":"x"}}}"#),
            None
        );
        assert_eq!(
            d(r#"{"vulnerabilities": [], "packageManager": "npm"}"#),
            None
        );
    }
}
