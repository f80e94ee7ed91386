//! Palisade parser plugin for Snyk's JSON output: `snyk test --json` (Snyk Open
//! Source and Snyk Container; one project object, or an array of them with
//! `--all-projects`) and Snyk Code's SARIF (`snyk code test --sarif`), all
//! imported as "Snyk Scan".

use palisade_plugin_sdk::json::{
    get_array, get_f64, get_str, get_string, get_strs, parse_json_value,
};
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::text::iso_date;
use serde_json::Value;

mod code;

use palisade_plugin_sdk::markdown::push_field;
use palisade_plugin_sdk::sniff::contains;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "Snyk Scan";

/// Snyk's generic "Using Components with Known Vulnerabilities" CWE, for
/// dependency issues Snyk gives no CWE for.
const KNOWN_VULNERABLE_COMPONENT_CWE: u32 = 1035;

/// The Snyk parser.
pub struct Snyk;

impl Parser for Snyk {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "snyk".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "Snyk Open Source / Container JSON (snyk test --json) and \
                              Snyk Code SARIF"
                    .to_owned(),
                file_kinds: vec!["json".to_owned(), "sarif".to_owned()],
                dedupe: DedupeSetting::hash_code(&[
                    "vuln_id_from_tool",
                    "file_path",
                    "component_name",
                    "component_version",
                ]),
            }],
        }
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        if !candidates.iter().any(|c| c == SCAN_TYPE)
            || !palisade_plugin_sdk::json::starts_like_json(head)
        {
            return None;
        }
        // Project metadata comes after the vulnerability list, so a head cut
        // inside a long list is recognised by Snyk's vulnerability ids instead.
        let open_source = contains(head, b"\"vulnerabilities\"")
            && (((contains(head, b"\"packageManager\"")
                || contains(head, b"\"dependencyCount\""))
                && (contains(head, b"\"SNYK-")
                    || contains(head, b"\"licensesPolicy\"")
                    || contains(head, b"\"ignoreSettings\"")))
                || (contains(head, b"\"SNYK-")
                    && contains(head, b"\"identifiers\"")
                    && contains(head, b"\"alternativeIds\"")));
        let code = code::looks_like(head);
        (open_source || code).then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        if scan_type != SCAN_TYPE {
            return Err(ParseError::new(format!(
                "the snyk plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
        let data = parse_json_value(report)?;
        if data.get("runs").is_some() {
            return code::parse(&data);
        }
        let projects: Vec<&Value> = match &data {
            Value::Array(items) => items.iter().collect(),
            Value::Object(_) => vec![&data],
            _ => {
                return Err(ParseError::new(
                    "not a Snyk report: expected a project object, an array of projects or \
                     Snyk Code SARIF",
                ));
            }
        };
        let mut out = Vec::new();
        for (i, project) in projects.iter().enumerate() {
            if !project.is_object() {
                return Err(ParseError::new(format!(
                    "not a Snyk report: item {i} of the project array is not an object"
                )));
            }
            match project.get("vulnerabilities") {
                Some(Value::Array(vulns)) => {
                    for v in vulns {
                        out.push(vulnerability(project, v));
                    }
                }
                Some(Value::Null) | None => {
                    // `snyk test` failures come as `{"ok": false, "error": "..."}`.
                    if let Some(error) = get_str(project, "error") {
                        return Err(ParseError::new(format!(
                            "the Snyk report holds an error instead of results: {error}"
                        )));
                    }
                    return Err(ParseError::new(
                        "not a Snyk report: a project has no \"vulnerabilities\" array",
                    ));
                }
                Some(_) => {
                    return Err(ParseError::new(
                        "not a Snyk report: \"vulnerabilities\" is not an array",
                    ));
                }
            }
        }
        Ok(out)
    }
}

/// Strips the "@version" of one `from` element ("@scope/name@1.0" -> "@scope/name").
fn without_version(dep: &str) -> &str {
    match dep.rfind('@') {
        Some(0) | None => dep,
        Some(i) => &dep[..i],
    }
}

fn severity(v: &Value) -> Severity {
    // A CVSS score, when Snyk gives one, decides (Snyk Container's own
    // severity follows the distribution, which often rates lower).
    if let Some(score) = get_f64(v, "cvssScore") {
        return severity_from_cvss(score as f32);
    }
    get_str(v, "severityWithCritical")
        .or_else(|| get_str(v, "severity"))
        .and_then(severity_from_word)
        .unwrap_or(Severity::Info)
}

fn vulnerability(project: &Value, v: &Value) -> Finding {
    let from: Vec<&str> = get_strs(v, "from").collect();
    let root = from
        .first()
        .copied()
        .or_else(|| get_str(project, "projectName"));
    let issue = get_str(v, "title").unwrap_or("Snyk issue");
    let title = match root {
        Some(r) => format!("{r}: {issue}"),
        None => issue.to_owned(),
    };
    let ids = v.get("identifiers");
    let cwes: Vec<u32> = ids
        .map(|i| get_strs(i, "CWE").filter_map(parse_cwe).collect())
        .unwrap_or_default();
    let cves: Vec<String> = ids
        .map(|i| get_strs(i, "CVE").map(str::to_owned).collect())
        .unwrap_or_default();
    let package = get_str(v, "packageName").or_else(|| get_str(v, "name"));
    let version = get_str(v, "version");
    let fixed: Vec<&str> = get_strs(v, "fixedIn").collect();
    let upgrade: Vec<&str> = get_array(v, "upgradePath")
        .iter()
        .filter_map(Value::as_str)
        .collect();

    let mut description = String::new();
    if let Some(d) = get_str(v, "description") {
        description.push_str(d);
        description.push_str("\n\n");
    }
    push_field(&mut description, "Snyk ID", get_str(v, "id"));
    push_field(&mut description, "Package", package);
    push_field(&mut description, "Version", version);
    push_field(
        &mut description,
        "Package manager",
        get_str(v, "packageManager"),
    );
    if !from.is_empty() {
        push_field(
            &mut description,
            "Introduced through",
            Some(&from.join(" > ")),
        );
    }
    push_field(
        &mut description,
        "Target file",
        get_str(project, "displayTargetFile"),
    );
    if let Some(vulnerable) = v
        .get("semver")
        .map(|sv| get_strs(sv, "vulnerable").collect::<Vec<_>>())
        && !vulnerable.is_empty()
    {
        push_field(
            &mut description,
            "Vulnerable versions",
            Some(&vulnerable.join(", ")),
        );
    }
    push_field(&mut description, "Exploit maturity", get_str(v, "exploit"));

    let mitigation = if !upgrade.is_empty() {
        Some(format!("Upgrade path: {}", upgrade.join(" > ")))
    } else if !fixed.is_empty() {
        Some(format!("Upgrade to version {} or later.", fixed.join(", ")))
    } else {
        None
    };
    let references: Vec<String> = get_array(v, "references")
        .iter()
        .filter_map(|r| {
            let url = get_str(r, "url")?;
            Some(match get_str(r, "title") {
                Some(t) => format!("{t}: {url}"),
                None => url.to_owned(),
            })
        })
        .collect();
    let cvss = get_str(v, "CVSSv3").and_then(|x| palisade_plugin_sdk::Cvss3::parse(x).ok());
    let epss = v.get("epssDetails");

    Finding {
        title,
        severity: severity(v),
        description: clean(&description),
        mitigation,
        references: (!references.is_empty()).then(|| references.join("\n")),
        cwe: Some(
            cwes.first()
                .copied()
                .unwrap_or(KNOWN_VULNERABLE_COMPONENT_CWE),
        ),
        extra_cwes: cwes.iter().skip(1).copied().collect(),
        vulnerability_ids: cves,
        cvssv3: cvss.as_ref().map(palisade_plugin_sdk::Cvss3::vector),
        cvssv3_score: get_f64(v, "cvssScore").map(|x| x as f32),
        epss_score: epss
            .and_then(|e| get_f64(e, "probability"))
            .map(|x| x as f32),
        epss_percentile: epss
            .and_then(|e| get_f64(e, "percentile"))
            .map(|x| x as f32),
        file_path: (!from.is_empty()).then(|| {
            from.iter()
                .map(|d| without_version(d))
                .collect::<Vec<_>>()
                .join(" > ")
        }),
        component_name: package.map(str::to_owned),
        component_version: version.map(str::to_owned),
        fix_available: Some(!fixed.is_empty() || v.get("isUpgradable") == Some(&Value::Bool(true))),
        fix_version: fixed.first().map(|x| (*x).to_owned()),
        vuln_id_from_tool: get_string(v, "id"),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        date: get_str(v, "publicationTime")
            .and_then(iso_date)
            .map(str::to_owned),
        ..Finding::default()
    }
}

palisade_plugin_sdk::export_parser!(Snyk);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        Snyk::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    #[test]
    fn versions_are_stripped_from_paths() {
        assert_eq!(without_version("@angular/core@1.0"), "@angular/core");
        assert_eq!(without_version("@angular/core"), "@angular/core");
        assert_eq!(without_version("a@1"), "a");
        assert_eq!(without_version("a"), "a");
    }

    #[test]
    fn empty_reports() {
        assert!(
            parse(r#"{"vulnerabilities": [], "ok": true}"#)
                .unwrap()
                .is_empty()
        );
        assert!(
            parse(r#"[{"vulnerabilities": []}, {"vulnerabilities": []}]"#)
                .unwrap()
                .is_empty()
        );
        assert!(parse(r#"{"runs": []}"#).unwrap().is_empty());
    }

    #[test]
    fn minimal_and_unusual_vulnerabilities() {
        let f = parse(
            r#"[{"vulnerabilities": [
                {"id": "SNYK-1", "title": "T", "severity": "critical"},
                {"id": "SNYK-2", "title": "U", "severity": "low", "cvssScore": 7.5,
                 "identifiers": {"CVE": ["CVE-2020-1"], "CWE": ["CWE-79", "CWE-80"]},
                 "from": ["root@1", "@s/dep@2"], "packageName": "@s/dep", "version": "2"}]},
               {"vulnerabilities": [{"id": "SNYK-3", "severity": "bogus"}]}]"#,
        )
        .unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!((f[0].severity, f[0].cwe), (Severity::Critical, Some(1035)));
        assert_eq!(f[1].severity, Severity::High);
        assert_eq!(
            (f[1].cwe, f[1].extra_cwes.as_slice()),
            (Some(79), &[80][..])
        );
        assert_eq!(f[1].file_path.as_deref(), Some("root > @s/dep"));
        assert_eq!(f[1].title, "root@1: U");
        assert_eq!(f[2].severity, Severity::Info);
    }

    #[test]
    fn errors_and_foreign_reports_are_rejected() {
        for r in [
            "",
            "{",
            "42",
            r#"{"ok": false, "error": "Could not detect supported target files"}"#,
            r#"{"matches": []}"#,
            r#"[1]"#,
            r#"{"vulnerabilities": {}}"#,
        ] {
            assert!(parse(r).is_err(), "{r}");
        }
        assert!(
            Snyk::parse(
                SCAN_TYPE,
                b"{\"vulnerabilities\":[\"\xff\"]}",
                &Options::default()
            )
            .is_err()
        );
        assert!(parse(&"[".repeat(5000)).is_err());
        assert!(Snyk::parse("X", b"{}", &Options::default()).is_err());
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        let d = |h: &str| Snyk::detect(&c, h.as_bytes());
        assert!(
            d(r#"{"vulnerabilities": [{"id": "SNYK-JS-1"}], "packageManager": "npm""#).is_some()
        );
        assert!(d(r#"{"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "runs": [{"tool": {"driver": {"name": "SnykCode""#).is_some());
        assert!(d(r#"{"runs": [{"tool": {"driver": {"name": "Semgrep""#).is_none());
        assert!(d(r#"{"vulnerabilities": [], "dependencies": []}"#).is_none());
        assert!(d(r#"{"auditReportVersion": 2, "vulnerabilities": {}}"#).is_none());
    }
}
