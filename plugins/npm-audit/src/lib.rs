//! Palisade parser plugin for `npm audit --json`: "NPM Audit Scan" (npm 6 and
//! older: `{"advisories": {id: advisory}, "actions", "metadata"}`) and "NPM
//! Audit v7+ Scan" (npm 7 and later, `"auditReportVersion": 2`:
//! `{"vulnerabilities": {package: {...}}, "metadata"}`).

use palisade_plugin_sdk::findings::Collector;
use palisade_plugin_sdk::json::{get_str, get_string, get_strs, parse_json_value};
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
        PluginInfo::new(
            "npm-audit",
            env!("CARGO_PKG_VERSION"),
            vec![
                ScanTypeInfo::new(
                    NPM_AUDIT,
                    "npm audit --json report of npm 6 and older (advisories)",
                    &["json"],
                    DedupeSetting::hash_code(&[
                        "title",
                        "severity",
                        "file_path",
                        "vulnerability_ids",
                        "cwe",
                    ]),
                ),
                ScanTypeInfo::new(
                    NPM_AUDIT_V7,
                    "npm audit --json report of npm 7 and later (auditReportVersion 2)",
                    &["json"],
                    DedupeSetting::hash_code(&["title", "severity", "cwe", "vuln_id_from_tool"]),
                ),
            ],
        )
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
        match scan_type {
            NPM_AUDIT => v6(&data),
            NPM_AUDIT_V7 => v7(&data),
            other => Err(ParseError::new(format!(
                "the npm-audit plugin parses {NPM_AUDIT:?} and {NPM_AUDIT_V7:?}, not {other:?}"
            ))),
        }
    }
}

/// A JSON value's truth as Python sees it (the reference tests keys so).
fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null | Value::Bool(false)) => false,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::Bool(true)) => true,
    }
}

/// A value as Python's `str()` writes it, for keys and ids.
fn py_str(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "None".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(true)) => "True".to_owned(),
        Some(Value::Bool(false)) => "False".to_owned(),
        Some(other) => other.to_string(),
    }
}

/// npm's severities; anything else (other spellings included) is Info.
fn npm_severity(word: Option<&Value>) -> Severity {
    match word.and_then(Value::as_str) {
        Some("low") => Severity::Low,
        Some("moderate") => Severity::Medium,
        Some("high") => Severity::High,
        Some("critical") => Severity::Critical,
        _ => Severity::Info,
    }
}

fn required<'a>(v: &'a Value, key: &str, what: &str) -> Result<&'a Value, ParseError> {
    v.get(key)
        .ok_or_else(|| ParseError::new(format!("{what} has no {key:?}")))
}

fn required_str<'a>(v: &'a Value, key: &str, what: &str) -> Result<&'a str, ParseError> {
    get_str(v, key).ok_or_else(|| ParseError::new(format!("{what} has no text {key:?}")))
}

/// The CWE numbers of an npm 6 advisory's `cwe`: a list of "CWE-n", one
/// "CWE-n", a JSON list inside a string, or null. An entry that is not
/// CWE-<number> makes the report unreadable (as for the reference).
fn npm_cwes(v: Option<&Value>) -> Result<Vec<u32>, ParseError> {
    let number = |c: &str| -> Result<u32, ParseError> {
        c.get(4..)
            .unwrap_or("")
            .trim()
            .parse::<u32>()
            .map_err(|_| ParseError::new(format!("advisory CWE {c:?} is not CWE-<number>")))
    };
    let list = |items: &[Value]| -> Result<Vec<u32>, ParseError> {
        items
            .iter()
            .filter(|c| truthy(Some(c)))
            .map(|c| {
                c.as_str()
                    .ok_or_else(|| ParseError::new(format!("advisory CWE {c} is not text")))
                    .and_then(number)
            })
            .collect()
    };
    match v {
        None | Some(Value::Null | Value::Bool(false)) => Ok(Vec::new()),
        Some(Value::Array(items)) => list(items),
        Some(Value::String(s)) if s.starts_with("CWE-") => {
            if s.len() > 4 {
                Ok(vec![number(s)?])
            } else {
                Ok(Vec::new())
            }
        }
        Some(Value::String(s)) if s.starts_with('[') => {
            let items: Vec<Value> = serde_json::from_str(s).map_err(|e| {
                ParseError::new(format!("advisory CWE list {s:?} is not JSON: {e}"))
            })?;
            list(&items)
        }
        Some(Value::String(_)) => Ok(Vec::new()),
        Some(other) => Err(ParseError::new(format!(
            "advisory \"cwe\" is {other}, not text or a list"
        ))),
    }
}

fn v6(data: &Value) -> Result<Vec<Finding>, ParseError> {
    if truthy(data.get("auditReportVersion")) {
        return Err(ParseError::new(
            "this is an npm 7+ audit report (auditReportVersion 2); import it as \
             \"NPM Audit v7+ Scan\"",
        ));
    }
    // `npm audit` failures: {"error": {"code": "ENOAUDIT", "summary": "..."}}.
    if let Some(error) = data.get("error").filter(|e| truthy(Some(e))) {
        let code = get_str(error, "code").unwrap_or("unknown");
        let summary = get_str(error, "summary")
            .or_else(|| error.as_str())
            .unwrap_or("no summary");
        return Err(ParseError::new(format!(
            "the npm audit report holds an error instead of results: {code}: {summary}"
        )));
    }
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
    // One finding per advisory id and module; a repeat replaces the earlier
    // one in its place.
    let mut findings: Collector<String> = Collector::new();
    for (key, a) in advisories {
        let what = format!("advisory {key}");
        if !a.is_object() {
            return Err(ParseError::new(format!("{what} is not an object")));
        }
        let finding = advisory(a, &what)?;
        let id = py_str(Some(required(a, "id", &what)?)) + &py_str(a.get("module_name"));
        findings.add_with(id, finding, |kept, last| *kept = last);
    }
    Ok(findings.into_findings())
}

/// Replaces the 64-hex-digit hashes npm writes for git dependencies (they
/// change on every run) with a fixed word.
fn censor_path_hashes(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        let run = bytes[i..]
            .iter()
            .take(64)
            .take_while(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            .count();
        if run == 64 {
            out.push_str("censored_by_npm_audit");
            i += 64;
        } else {
            let ch = path[i..].chars().next().unwrap_or_default();
            out.push(ch);
            i += ch.len_utf8().max(1);
        }
    }
    out
}

fn advisory(a: &Value, what: &str) -> Result<Finding, ParseError> {
    let issue = required_str(a, "title", what)?;
    let module = required_str(a, "module_name", what)?;
    let range = required_str(a, "vulnerable_versions", what)?;
    let url = required_str(a, "url", what)?;
    let overview = required_str(a, "overview", what)?;
    for key in [
        "severity",
        "patched_versions",
        "cwe",
        "access",
        "recommendation",
        "cves",
    ] {
        required(a, key, what)?;
    }
    let entries = required(a, "findings", what)?
        .as_array()
        .ok_or_else(|| ParseError::new(format!("{what}: \"findings\" is not a list")))?;
    // The first version that is not empty names the component version.
    let mut version = None;
    let mut paths: Vec<String> = Vec::new();
    for f in entries {
        let v = required(f, "version", what)?;
        required(f, "paths", what)?;
        if version.is_none() && truthy(Some(v)) {
            version = Some(py_str(Some(v)));
        }
        let shown = py_str(Some(v));
        paths.extend(
            get_strs(f, "paths")
                .take(25)
                .map(|p| format!("- {shown}: {p}")),
        );
    }
    let path = entries
        .first()
        .and_then(|f| f.get("paths"))
        .and_then(Value::as_array)
        .and_then(|p| p.first())
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .map(censor_path_hashes);
    let cwes = npm_cwes(a.get("cwe"))?;

    let mut description = format!("{overview}\n\n");
    push_field(&mut description, "Advisory", Some(url));
    push_field(&mut description, "Vulnerable module", Some(module));
    push_field(&mut description, "Vulnerable versions", Some(range));
    push_field(
        &mut description,
        "Patched versions",
        get_str(a, "patched_versions"),
    );
    if !paths.is_empty() {
        description.push_str("**Vulnerable paths:**\n");
        description.push_str(&paths.join("\n"));
        description.push('\n');
    }
    push_field(&mut description, "Access", get_str(a, "access"));

    Ok(Finding {
        title: format!("{issue} - ({module}, {range})"),
        severity: npm_severity(a.get("severity")),
        description: clean_string(description),
        mitigation: get_string(a, "recommendation"),
        references: Some(url.to_owned()),
        cwe: Some(
            cwes.first()
                .copied()
                .unwrap_or(KNOWN_VULNERABLE_COMPONENT_CWE),
        ),
        extra_cwes: cwes.iter().skip(1).copied().collect(),
        vulnerability_ids: get_strs(a, "cves").map(str::to_owned).collect(),
        file_path: path,
        component_name: Some(module.to_owned()),
        component_version: version,
        impact: Some("No impact provided".to_owned()),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        ..Finding::default()
    })
}

fn v7(data: &Value) -> Result<Vec<Finding>, ParseError> {
    // `npm audit fix --dry-run --json` nests the audit under "audit".
    let report = match data.get("audit") {
        Some(audit) if truthy(Some(audit)) => audit,
        _ => data,
    };
    if !truthy(report.get("auditReportVersion")) {
        return Err(ParseError::new(
            "not an npm 7+ audit report: \"auditReportVersion\" is missing \
             (npm 6 reports are imported as \"NPM Audit Scan\")",
        ));
    }
    let vulns = match report.get("vulnerabilities") {
        Some(Value::Object(map)) => map,
        _ => {
            return Err(ParseError::new(
                "not an npm 7+ audit report: the \"vulnerabilities\" object is missing",
            ));
        }
    };
    // Packages with the same title and severity are one finding (the last
    // one's details, in the first one's place).
    let mut findings: Collector<(String, Severity)> = Collector::new();
    for (key, v) in vulns {
        let what = format!("vulnerability {key:?}");
        if !v.is_object() {
            return Err(ParseError::new(format!("{what} is not an object")));
        }
        let f = package(v, vulns, &what)?;
        findings.add_with((f.title.clone(), f.severity), f, |kept, last| *kept = last);
    }
    Ok(findings.into_findings())
}

fn package(
    v: &Value,
    tree: &serde_json::Map<String, Value>,
    what: &str,
) -> Result<Finding, ParseError> {
    let name = required_str(v, "name", what)?;
    let range = required_str(v, "range", what)?;
    let severity_word = required_str(v, "severity", what)?;
    let via = required(v, "via", what)?
        .as_array()
        .ok_or_else(|| ParseError::new(format!("{what}: \"via\" is not a list")))?;
    for key in ["nodes", "effects"] {
        if !required(v, key, what)?.is_array() {
            return Err(ParseError::new(format!("{what}: {key:?} is not a list")));
        }
    }
    // Every advisory in `via` is described by its title and URL.
    for a in via.iter().filter(|a| a.is_object()) {
        required(a, "title", what)?;
        required(a, "url", what)?;
    }
    let nodes: Vec<&str> = get_strs(v, "nodes").collect();
    // `via` starts either with the name of a vulnerable dependency (this
    // package is affected through it) or with an advisory object.
    let (title, component_name, cwes, cwe, vuln_id, cvss) = match via.first() {
        Some(Value::String(_)) => (
            name.to_owned(),
            name.to_owned(),
            Vec::new(),
            Some(KNOWN_VULNERABLE_COMPONENT_CWE),
            None,
            None,
        ),
        Some(first @ Value::Object(_)) => {
            let title = required_str(first, "title", what)?.to_owned();
            let component = nodes.first().ok_or_else(|| {
                ParseError::new(format!("{what} has an advisory but no \"nodes\""))
            })?;
            let listed = required(first, "cwe", what)?.as_array().ok_or_else(|| {
                ParseError::new(format!("{what}: the advisory's \"cwe\" is not a list"))
            })?;
            let cwe_number = |c: &Value| -> Result<Option<u32>, ParseError> {
                if !truthy(Some(c)) {
                    return Ok(None);
                }
                c.as_str()
                    .and_then(|t| t.split('-').nth(1))
                    .and_then(|n| n.trim().parse::<u32>().ok())
                    .map(Some)
                    .ok_or_else(|| {
                        ParseError::new(format!("{what}: advisory CWE {c} is not CWE-<number>"))
                    })
            };
            let mut cwes = Vec::new();
            for c in listed {
                if let Some(n) = cwe_number(c)? {
                    cwes.push(n);
                }
            }
            let cwe = match listed.first() {
                Some(c) => Some(cwe_number(c)?.ok_or_else(|| {
                    ParseError::new(format!("{what}: advisory CWE {c} is not CWE-<number>"))
                })?),
                None => None,
            };
            let source = py_str(Some(required(first, "source", what)?));
            let vector = required(first, "cvss", what)?
                .get("vectorString")
                .ok_or_else(|| {
                    ParseError::new(format!("{what}: the advisory's cvss has no vectorString"))
                })?;
            (
                title,
                (*component).to_owned(),
                cwes,
                cwe,
                Some(source),
                vector.as_str().filter(|s| !s.is_empty()),
            )
        }
        _ => {
            return Err(ParseError::new(format!(
                "{what} has no advisory or dependency in \"via\""
            )));
        }
    };
    let fix = required(v, "fixAvailable", what)?;
    let mitigation = match fix {
        Value::Object(_) => {
            let fname = py_str(Some(required(fix, "name", what)?));
            let fver = py_str(Some(required(fix, "version", what)?));
            format!("Update {fname} to version {fver}")
        }
        _ => "No specific mitigation provided by tool.".to_owned(),
    };

    let mut description = format!("{name} {range}\nSeverity: {severity_word}\n");
    for x in via {
        match x {
            Value::String(dep) => {
                description.push_str(&format!("Depends on vulnerable versions of {dep}\n"));
            }
            other => description.push_str(&format!(
                "{} - {}\n",
                py_str(other.get("title")),
                py_str(other.get("url"))
            )),
        }
    }
    description.push_str(&format!("{mitigation}\n"));
    for n in &nodes {
        description.push_str(&format!("{n}\n"));
    }
    for effect in get_strs(v, "effects") {
        // Every package named as an effect is a key of the report.
        let Some(e) = tree.get(effect) else {
            return Err(ParseError::new(format!(
                "{what} names the effect {effect:?}, which the report does not list"
            )));
        };
        let effect_what = format!("{what}, effect {effect:?},");
        for key in ["name", "range", "via", "nodes", "effects"] {
            required(e, key, &effect_what)?;
        }
        description.push_str(&format!(
            "  {} {}\n",
            py_str(e.get("name")),
            py_str(e.get("range"))
        ));
        for n in get_strs(e, "nodes") {
            description.push_str(&format!("  {n}\n"));
        }
    }

    let refs: Vec<&str> = via.iter().filter_map(|a| get_str(a, "url")).collect();
    let cvss3 = cvss.and_then(|x| palisade_plugin_sdk::Cvss3::parse(x).ok());
    Ok(Finding {
        title,
        severity: npm_severity(v.get("severity")),
        description: clean_string(description),
        mitigation: Some(mitigation),
        references: (!refs.is_empty()).then(|| refs.join(", ")),
        cwe,
        extra_cwes: cwes.into_iter().filter(|c| Some(*c) != cwe).collect(),
        cvssv3: cvss3.as_ref().map(palisade_plugin_sdk::Cvss3::vector),
        cvssv3_score: cvss3.as_ref().map(palisade_plugin_sdk::Cvss3::base_score),
        component_name: Some(component_name),
        fix_available: Some(matches!(fix, Value::Object(_) | Value::Bool(true))),
        vuln_id_from_tool: vuln_id,
        impact: Some("No impact provided".to_owned()),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        ..Finding::default()
    })
}

palisade_plugin_sdk::export_parser!(NpmAudit);

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str, report: &str) -> Result<Vec<Finding>, ParseError> {
        NpmAudit::parse(t, report.as_bytes(), &Options::default())
    }

    fn v6_advisory(id: u32, module: &str, severity: &str, cwe: &str, findings: &str) -> String {
        format!(
            r#""{id}": {{"id": {id}, "title": "T{id}", "module_name": "{module}", "severity": "{severity}",
               "vulnerable_versions": "<2", "patched_versions": ">=2", "url": "https://npmjs.com/advisories/{id}",
               "overview": "o", "access": "public", "recommendation": "upgrade", "cwe": {cwe},
               "cves": ["CVE-2020-{id}"], "findings": {findings}}}"#
        )
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
    fn v6_advisories() {
        let hash = "a".repeat(64);
        let r = format!(
            r#"{{"advisories": {{{}, {}, {}}}}}"#,
            v6_advisory(
                1,
                "m",
                "moderate",
                "null",
                r#"[{"version": "", "paths": []}, {"version": "1.2", "paths": ["x"]}]"#
            ),
            v6_advisory(
                2,
                "n",
                "Moderate",
                r#"["CWE-79", "CWE-80"]"#,
                &format!(r#"[{{"version": "1.0", "paths": ["a>{hash}>b"]}}]"#)
            ),
            v6_advisory(3, "o", "critical", r#""[\"CWE-400\"]""#, "[]"),
        );
        let f = parse(NPM_AUDIT, &r).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].title, "T1 - (m, <2)");
        assert_eq!((f[0].severity, f[0].cwe), (Severity::Medium, Some(1035)));
        // The first non-empty version; the first path of the first entry.
        assert_eq!(f[0].component_version.as_deref(), Some("1.2"));
        assert_eq!(f[0].file_path, None);
        assert_eq!(
            (f[1].severity, f[1].cwe, f[1].extra_cwes.as_slice()),
            (Severity::Info, Some(79), &[80][..])
        );
        assert_eq!(f[1].file_path.as_deref(), Some("a>censored_by_npm_audit>b"));
        assert_eq!(f[1].vulnerability_ids, ["CVE-2020-2"]);
        assert_eq!(
            (f[2].cwe, f[2].component_version.as_deref()),
            (Some(400), None)
        );
        assert_eq!(f[2].component_name.as_deref(), Some("o"));
    }

    #[test]
    fn v6_rejections() {
        let bad_cwe = format!(
            r#"{{"advisories": {{{}}}}}"#,
            v6_advisory(1, "m", "low", r#"["CWE-x"]"#, "[]")
        );
        assert!(
            parse(NPM_AUDIT, &bad_cwe)
                .unwrap_err()
                .message
                .contains("CWE-x")
        );
        let no_id = format!(
            r#"{{"advisories": {{{}}}}}"#,
            v6_advisory(1, "m", "low", "null", "[]")
        )
        .replace(r#""id": 1,"#, "");
        assert!(
            parse(NPM_AUDIT, &no_id)
                .unwrap_err()
                .message
                .contains("\"id\"")
        );
    }

    #[test]
    fn v7_packages_with_and_without_advisories() {
        let r = r#"{"auditReportVersion": 2, "vulnerabilities": {
            "a": {"name": "a", "severity": "critical", "range": "<1", "isDirect": false,
                  "via": [{"source": 12, "name": "a", "title": "Bad", "url": "https://github.com/advisories/GHSA-1",
                           "cwe": ["CWE-400", "CWE-20"], "cvss": {"score": 7.5, "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}},
                          {"source": 13, "name": "a", "title": "Worse", "url": "u2", "cwe": [], "cvss": {}}],
                  "effects": ["b"], "nodes": ["node_modules/a"], "fixAvailable": {"name": "b", "version": "2.0.0", "isSemVerMajor": true}},
            "b": {"name": "b", "severity": "low", "range": "*", "via": ["a"], "effects": [], "nodes": ["node_modules/b"], "fixAvailable": true},
            "c": {"name": "c", "severity": "high", "range": "*", "via": [{"source": 14, "title": "NoCwe", "url": "u3", "cwe": [], "cvss": {"vectorString": null}}],
                  "effects": [], "nodes": ["node_modules/x/node_modules/c"], "fixAvailable": false}}}"#;
        let f = parse(NPM_AUDIT_V7, r).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(
            (f[0].title.as_str(), f[0].cwe, f[0].extra_cwes.as_slice()),
            ("Bad", Some(400), &[20][..])
        );
        assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some("12"));
        // The component is the install path of a package with an advisory...
        assert_eq!(f[0].component_name.as_deref(), Some("node_modules/a"));
        assert_eq!(f[0].component_version, None);
        assert_eq!(f[0].cvssv3_score, Some(7.5));
        // ...and the package name for one affected through a dependency, CWE-1035.
        assert_eq!((f[1].title.as_str(), f[1].cwe), ("b", Some(1035)));
        assert_eq!(f[1].component_name.as_deref(), Some("b"));
        assert_eq!(
            (f[1].severity, f[1].vuln_id_from_tool.as_deref()),
            (Severity::Low, None)
        );
        assert_eq!(
            (f[2].cwe, f[2].component_name.as_deref()),
            (None, Some("node_modules/x/node_modules/c"))
        );
    }

    #[test]
    fn v7_same_title_and_severity_merge() {
        let pkg = |name: &str, sev: &str| {
            format!(
                r#""{name}": {{"name": "{name}", "severity": "{sev}", "range": "*",
                "via": [{{"source": 1, "title": "Shared", "url": "u", "cwe": ["CWE-1"], "cvss": {{"vectorString": null}}}}],
                "effects": [], "nodes": ["node_modules/{name}"], "fixAvailable": false}}"#
            )
        };
        let r = format!(
            r#"{{"auditReportVersion": 2, "vulnerabilities": {{{}, {}, {}}}}}"#,
            pkg("p", "high"),
            pkg("q", "high"),
            pkg("r", "low")
        );
        let f = parse(NPM_AUDIT_V7, &r).unwrap();
        assert_eq!(f.len(), 2);
        // The later package replaces the earlier one.
        assert_eq!(f[0].component_name.as_deref(), Some("node_modules/q"));
        assert_eq!(f[1].severity, Severity::Low);
    }

    #[test]
    fn v7_fix_dry_run_layout() {
        let r = r#"{"added": 0, "audit": {"auditReportVersion": 2, "vulnerabilities": {
            "b": {"name": "b", "severity": "moderate", "range": "*", "via": ["a"], "effects": [], "nodes": [], "fixAvailable": true}}}}"#;
        let f = parse(NPM_AUDIT_V7, r).unwrap();
        assert_eq!((f.len(), f[0].severity), (1, Severity::Medium));
        assert!(parse(NPM_AUDIT_V7, r#"{"audit": {"vulnerabilities": {}}}"#).is_err());
    }

    #[test]
    fn v7_rejections() {
        let base = |via: &str, effects: &str| {
            format!(
                r#"{{"auditReportVersion": 2, "vulnerabilities": {{"a": {{"name": "a", "severity": "low",
                "range": "*", "via": {via}, "effects": {effects}, "nodes": [], "fixAvailable": false}}}}}}"#
            )
        };
        assert!(parse(NPM_AUDIT_V7, &base(r#"["x"]"#, "[]")).is_ok());
        assert!(parse(NPM_AUDIT_V7, &base("[]", "[]")).is_err());
        // `nodes` must be there, and an advisory in `via` needs its url.
        assert!(
            parse(
                NPM_AUDIT_V7,
                &base(r#"["x"]"#, "[]").replace(r#""nodes": [], "#, "")
            )
            .is_err()
        );
        assert!(parse(NPM_AUDIT_V7, &base(r#"["x"]"#, r#"["missing"]"#)).is_err());
        // An advisory needs the package's install path.
        assert!(
            parse(
                NPM_AUDIT_V7,
                &base(
                    r#"[{"source": 1, "title": "T", "url": "u", "cwe": [], "cvss": {}}]"#,
                    "[]"
                )
            )
            .is_err()
        );
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
            d(r#"{"added": 0, "audit": {"auditReportVersion": 2, "vulnerabilities": {"#).as_deref(),
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
