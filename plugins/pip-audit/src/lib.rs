//! Palisade parser plugin for `pip-audit --format json` ("pip-audit Scan"):
//! the old layout is an array of dependencies, the current one
//! `{"dependencies": [...], "fixes": [...]}`; each dependency is
//! `{"name", "version", "vulns": [{"id", "fix_versions", "aliases",
//! "description"}]}` or `{"name", "skip_reason"}`.

use palisade_plugin_sdk::json::{get_str, get_strs, parse_json_value};
use palisade_plugin_sdk::markdown::push_field;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use serde_json::Value;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "pip-audit Scan";

/// CWE-1395, "Dependency on Vulnerable Third-Party Component": pip-audit
/// reports vulnerable packages, not weaknesses.
const VULNERABLE_DEPENDENCY_CWE: u32 = 1395;

/// The pip-audit parser.
pub struct PipAudit;

impl Parser for PipAudit {
    fn info() -> PluginInfo {
        PluginInfo::single(
            "pip-audit",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "pip-audit JSON report (pip-audit --format json)",
                &["json"],
                DedupeSetting::hash_code(&[
                    "vuln_id_from_tool",
                    "component_name",
                    "component_version",
                ]),
            ),
        )
    }

    fn detect(_candidates: &[String], head: &[u8]) -> Option<String> {
        // pip-audit's dependency objects start with "name"; other tools
        // with "vulns" lists (Snyk, Sysdig, Semgrep) have other layouts.
        let compact: Vec<u8> = head
            .iter()
            .take(512)
            .filter(|b| !b.is_ascii_whitespace())
            .copied()
            .collect();
        let shaped = compact.starts_with(b"[{\"name\"")
            || compact.starts_with(b"{\"dependencies\":[{\"name\"")
            || compact.starts_with(b"{\"dependencies\":[]");
        let yes = palisade_plugin_sdk::json::starts_like_json(head)
            && !contains(head, b"\"vulnerabilities\"")
            && ((shaped && (contains(head, b"\"vulns\"") || contains(head, b"\"skip_reason\"")))
                || (contains(head, b"\"vulns\"")
                    && (contains(head, b"\"fix_versions\"")
                        || contains(head, b"\"skip_reason\""))));
        yes.then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        _scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        let data = parse_json_value(report)?;
        // Two layouts: `{"dependencies": [...], "fixes": [...]}` (pip-audit
        // 2.5+) and a bare list of dependencies (older).
        let empty = Vec::new();
        let deps = match &data {
            Value::Array(d) => d,
            Value::Object(m) => match m.get("dependencies") {
                Some(Value::Array(d)) => d,
                Some(_) => {
                    return Err(ParseError::new(
                        "not a pip-audit report: \"dependencies\" is not a list",
                    ));
                }
                // The reference walks the object's keys as dependencies: an
                // empty object is an empty report, any key fails.
                None if m.is_empty() => &empty,
                None => {
                    return Err(ParseError::new(
                        "not a pip-audit report: expected a list of dependencies or an object with \"dependencies\"",
                    ));
                }
            },
            _ => {
                return Err(ParseError::new(
                    "not a pip-audit report: expected a JSON array or an object with \"dependencies\"",
                ));
            }
        };
        let mut out = Vec::new();
        for (i, dep) in deps.iter().enumerate() {
            if !dep.is_object() {
                return Err(ParseError::new(format!(
                    "not a pip-audit report: dependency {i} is not an object"
                )));
            }
            if dep.get("name").is_none() {
                return Err(ParseError::new(format!("dependency {i} has no \"name\"")));
            }
            let vulns = match dep.get("vulns") {
                None | Some(Value::Null) => &empty,
                Some(Value::Array(v)) => v,
                Some(_) => {
                    return Err(ParseError::new(format!(
                        "dependency {i}: \"vulns\" is not a list"
                    )));
                }
            };
            for vuln in vulns {
                if !vuln.is_object() {
                    return Err(ParseError::new(format!(
                        "dependency {i}: a vulnerability is not an object"
                    )));
                }
                // The reference builds the description from it and fails without it.
                if !vuln.get("description").is_some_and(Value::is_string) {
                    return Err(ParseError::new(format!(
                        "dependency {i}: a vulnerability has no \"description\" (run pip-audit \
                         with --desc)"
                    )));
                }
                out.push(finding(dep, vuln));
            }
        }
        Ok(out)
    }
}

/// A value as Python's `str()` writes it, for titles.
fn py_str(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "None".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn finding(dep: &Value, vuln: &Value) -> Finding {
    let name = get_str(dep, "name");
    let version = get_str(dep, "version");
    let id = get_str(vuln, "id").filter(|i| !i.is_empty());
    let title = format!(
        "{} in {}:{}",
        py_str(vuln.get("id")),
        py_str(dep.get("name")),
        py_str(dep.get("version"))
    );
    let fixes: Vec<&str> = get_strs(vuln, "fix_versions").collect();
    let aliases: Vec<&str> = get_strs(vuln, "aliases").collect();
    let mut description = String::new();
    if let Some(d) = get_str(vuln, "description") {
        description.push_str(d);
        description.push_str("\n\n");
    }
    push_field(&mut description, "Package", name);
    push_field(&mut description, "Version", version);
    // Aliases (CVE, GHSA) are shown, not used as ids: the reference's only
    // id is pip-audit's own.
    if !aliases.is_empty() {
        push_field(&mut description, "Aliases", Some(&aliases.join(", ")));
    }
    if !fixes.is_empty() {
        push_field(&mut description, "Fixed in", Some(&fixes.join(", ")));
    }
    Finding {
        title,
        severity: Severity::Medium,
        description: clean_string(description),
        mitigation: (!fixes.is_empty()).then(|| {
            format!(
                "Upgrade {} to {}",
                name.unwrap_or("the package"),
                fixes.join(" or ")
            )
        }),
        cwe: Some(VULNERABLE_DEPENDENCY_CWE),
        vulnerability_ids: id.map(str::to_owned).into_iter().collect(),
        component_name: name.map(str::to_owned),
        component_version: version.map(str::to_owned),
        fix_available: Some(!fixes.is_empty()),
        fix_version: fixes.first().map(|f| (*f).to_owned()),
        vuln_id_from_tool: id.map(str::to_owned),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        ..Finding::default()
    }
}

palisade_plugin_sdk::export_parser!(PipAudit);

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        PipAudit::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    #[test]
    fn empty_reports() {
        assert!(parse("[]").unwrap().is_empty());
        assert!(
            parse(r#"{"dependencies": [], "fixes": []}"#)
                .unwrap()
                .is_empty()
        );
        assert!(
            parse(r#"[{"name": "a", "skip_reason": "not on PyPI"}]"#)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn both_layouts() {
        let old = r#"[{"name": "django", "version": "3.2.9", "vulns": [
            {"id": "PYSEC-2021-439", "fix_versions": ["3.2.10"], "aliases": ["CVE-2021-44420"], "description": "D"}]}]"#;
        let new = r#"{"dependencies": [{"name": "django", "version": "3.2.9", "vulns": [
            {"id": "PYSEC-2021-439", "fix_versions": ["3.2.10"], "aliases": ["CVE-2021-44420"], "description": "D"}]}], "fixes": []}"#;
        for r in [old, new] {
            let f = parse(r).unwrap();
            assert_eq!(f.len(), 1);
            assert_eq!(f[0].title, "PYSEC-2021-439 in django:3.2.9");
            // Only pip-audit's own id; aliases are in the description.
            assert_eq!(f[0].vulnerability_ids, ["PYSEC-2021-439"]);
            assert!(f[0].description.contains("CVE-2021-44420"));
            assert_eq!(
                (
                    f[0].component_name.as_deref(),
                    f[0].component_version.as_deref()
                ),
                (Some("django"), Some("3.2.9"))
            );
            assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some("PYSEC-2021-439"));
            assert_eq!(f[0].fix_version.as_deref(), Some("3.2.10"));
            assert_eq!((f[0].severity, f[0].cwe), (Severity::Medium, Some(1395)));
        }
        let f = parse(r#"[{"name": "x", "vulns": [{"description": ""}]}]"#).unwrap();
        assert_eq!(f[0].title, "None in x:None");
        assert!(f[0].vulnerability_ids.is_empty());
        assert!(parse("{}").unwrap().is_empty());
    }

    #[test]
    fn garbage_is_rejected() {
        for r in [
            "",
            "{",
            "null",
            "42",
            "[1]",
            r#"{"matches": []}"#,
            r#"{"dependencies": {}}"#,
            r#"[{"version": "1", "vulns": []}]"#,
            r#"[{"name": "x", "vulns": [{"id": "PYSEC-1"}]}]"#,
        ] {
            assert!(parse(r).is_err(), "{r}");
        }
        assert!(PipAudit::parse(SCAN_TYPE, b"[\"\xff\"]", &Options::default()).is_err());
        assert!(parse(&"[".repeat(5000)).is_err());
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        let d = |h: &str| PipAudit::detect(&c, h.as_bytes());
        assert!(d(r#"{"dependencies": [{"name": "a", "version": "1", "vulns": []}]"#).is_some());
        assert!(d(r#"[{"name": "a", "skip_reason": "x"}]"#).is_some());
        assert!(d(r#"{"dependencies": []}"#).is_none());
        assert!(d(r#"{"vulnerabilities": [{"name": "a"}]}"#).is_none());
        assert!(d(r#"{"result": {"packages": [{"name": "a", "vulns": []}]}}"#).is_none());
    }
}
