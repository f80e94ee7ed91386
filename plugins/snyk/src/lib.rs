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
        PluginInfo::single(
            "snyk",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "Snyk Open Source / Container JSON (snyk test --json) and \
                              Snyk Code SARIF",
                &["json", "sarif"],
                DedupeSetting::hash_code(&[
                    "vuln_id_from_tool",
                    "file_path",
                    "component_name",
                    "component_version",
                ]),
            ),
        )
    }

    fn detect(_candidates: &[String], head: &[u8]) -> Option<String> {
        if !palisade_plugin_sdk::json::starts_like_json(head) {
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
        _scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        let data = parse_json_value(report)?;
        let mut out = Vec::new();
        match &data {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    project(item, &mut out)
                        .map_err(|e| ParseError::new(format!("project {i}: {}", e.message)))?;
                }
            }
            other => project(other, &mut out)?,
        }
        Ok(out)
    }
}

/// Says whether a JSON value is "empty" as the reference tests a project.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// One `snyk test --json` project: its `vulnerabilities`; else Snyk Code
/// SARIF when the first run has results; else (errors such as `{"ok":
/// false, "error": ...}`, empty values) nothing.
fn project(p: &Value, out: &mut Vec<Finding>) -> Result<(), ParseError> {
    if is_empty(p) {
        return Ok(());
    }
    let Value::Object(map) = p else {
        return Err(ParseError::new(
            "not a Snyk report: expected a project object, an array of projects or Snyk Code SARIF",
        ));
    };
    if let Some(vulns) = map.get("vulnerabilities") {
        let Value::Array(vulns) = vulns else {
            return Err(ParseError::new(
                "not a Snyk report: \"vulnerabilities\" is not an array",
            ));
        };
        for (i, v) in vulns.iter().enumerate() {
            out.push(
                vulnerability(p, v)
                    .map_err(|e| ParseError::new(format!("vulnerability {i}: {}", e.message)))?,
            );
        }
        return Ok(());
    }
    if let Some(runs) = map.get("runs") {
        let first = runs
            .as_array()
            .and_then(|r| r.first())
            .ok_or_else(|| ParseError::new("Snyk Code SARIF without any run"))?;
        if first.get("results").is_some_and(|r| !is_empty(r)) {
            out.extend(code::parse(p)?);
        }
    }
    Ok(())
}

/// One `from` element without its version, as the reference cuts it: the
/// text before the last "@" ("@scope/name@1.0" -> "@scope/name", "a" -> "").
fn without_version(dep: &str) -> &str {
    dep.rfind('@').map_or("", |i| &dep[..i])
}

/// A CVSS score decides when the key is there (bands <= 3.9 Low, 4.0-6.9
/// Medium, 7.0-8.9 High, anything else Critical); a null score or no score
/// falls back to the `severity` word.
fn severity(v: &Value) -> Result<Severity, ParseError> {
    if let Some(score) = v.get("cvssScore").filter(|s| !s.is_null()) {
        let s = score
            .as_f64()
            .ok_or_else(|| ParseError::new(format!("cvssScore {score} is not a number")))?;
        return Ok(if s <= 3.9 {
            Severity::Low
        } else if (4.0..=6.9).contains(&s) {
            Severity::Medium
        } else if (7.0..=8.9).contains(&s) {
            Severity::High
        } else {
            Severity::Critical
        });
    }
    let word = v
        .get("severity")
        .and_then(Value::as_str)
        .ok_or_else(|| ParseError::new("a vulnerability without a \"severity\""))?;
    Ok(severity_or_info(Some(word)))
}

/// A field the reference needs (it fails on the report without it).
fn required<'a>(v: &'a Value, key: &str) -> Result<&'a Value, ParseError> {
    v.get(key)
        .ok_or_else(|| ParseError::new(format!("a vulnerability without \"{key}\"")))
}

fn vulnerability(project: &Value, v: &Value) -> Result<Finding, ParseError> {
    for key in ["title", "packageName", "version", "description", "id"] {
        required(v, key)?;
    }
    required(v, "semver").and_then(|s| required(s, "vulnerable"))?;
    let from: Vec<&str> = required(v, "from")?
        .as_array()
        .ok_or_else(|| ParseError::new("\"from\" is not a list"))?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let severity = severity(v)?;
    let root = from.first().copied();
    let issue = get_str(v, "title").unwrap_or("Snyk issue");
    let title = match root {
        Some(r) => format!("{r}: {issue}"),
        None => issue.to_owned(),
    };
    let ids = v.get("identifiers");
    // The first CWE is the finding's; a CWE list that is there but empty
    // means Snyk's generic known-vulnerable-component CWE.
    let cwe_list = ids.and_then(|i| i.get("CWE"));
    let cwes: Vec<u32> = cwe_list
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .filter_map(parse_cwe)
                .collect()
        })
        .unwrap_or_default();
    let cwe = match cwe_list {
        None => None,
        Some(_) if cwes.is_empty() => Some(KNOWN_VULNERABLE_COMPONENT_CWE),
        Some(_) => cwes.first().copied(),
    };
    let cves: Vec<String> = ids
        .map(|i| get_strs(i, "CVE").map(str::to_owned).collect())
        .unwrap_or_default();
    let package = get_str(v, "packageName");
    let version = v
        .get("version")
        .and_then(palisade_plugin_sdk::json::value_to_string);
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
    push_field(&mut description, "Version", version.as_deref());
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
    let path = from
        .iter()
        .map(|d| without_version(d))
        .collect::<Vec<_>>()
        .join(" > ");

    Ok(Finding {
        title,
        severity,
        description: clean_string(description),
        mitigation,
        references: (!references.is_empty()).then(|| references.join("\n")),
        cwe,
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
        file_path: non_empty_str(&path),
        component_name: package.map(str::to_owned),
        component_version: version,
        fix_available: Some(!fixed.is_empty() || v.get("isUpgradable") == Some(&Value::Bool(true))),
        fix_version: fixed.first().map(|x| (*x).to_owned()),
        vuln_id_from_tool: get_string(v, "id"),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        date: get_str(v, "publicationTime")
            .and_then(iso_date)
            .map(str::to_owned),
        ..Finding::default()
    })
}

palisade_plugin_sdk::export_parser!(Snyk);

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        Snyk::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    #[test]
    fn versions_are_stripped_from_paths() {
        assert_eq!(without_version("@angular/core@1.0"), "@angular/core");
        assert_eq!(without_version("@angular/core"), "");
        assert_eq!(without_version("a@1"), "a");
        assert_eq!(without_version("a"), "");
    }

    #[test]
    fn empty_reports() {
        for r in [
            r#"{"vulnerabilities": [], "ok": true}"#,
            r#"[{"vulnerabilities": []}, {"vulnerabilities": []}, {}, null]"#,
            r#"{"ok": false, "error": "Could not detect supported target files"}"#,
            r#"{"matches": []}"#,
            r#"{"runs": [{"tool": {"driver": {}}, "results": []}]}"#,
        ] {
            assert!(parse(r).unwrap().is_empty(), "{r}");
        }
    }

    fn vuln(id: &str, extra: &str) -> String {
        format!(
            r#"{{"id": "{id}", "title": "T", "severity": "high", "packageName": "@s/dep", "version": "2",
                "description": "d", "semver": {{"vulnerable": ["<3"]}}, "from": ["root@1", "@s/dep@2"]{extra}}}"#
        )
    }

    #[test]
    fn severity_cwe_and_path_rules() {
        let r = format!(
            r#"[{{"vulnerabilities": [{}, {}, {}, {}, {}, {}]}}]"#,
            vuln(
                "S1",
                r#", "cvssScore": 7.5, "identifiers": {"CVE": ["CVE-2020-1"], "CWE": ["CWE-79", "CWE-80"]}"#
            ),
            vuln("S2", r#", "cvssScore": null, "identifiers": {"CWE": []}"#),
            vuln("S3", r#", "cvssScore": 0, "identifiers": {}"#),
            vuln("S4", r#", "cvssScore": 3.95"#),
            vuln("S5", r#", "severity": "critical""#),
            vuln("S6", r#", "cvssScore": 6.9"#),
        );
        let f = parse(&r).unwrap();
        let sev: Vec<Severity> = f.iter().map(|f| f.severity).collect();
        assert_eq!(
            sev,
            [
                Severity::High,
                Severity::High,
                Severity::Low,
                Severity::Critical,
                Severity::Critical,
                Severity::Medium
            ]
        );
        assert_eq!(
            (f[0].cwe, f[0].extra_cwes.as_slice()),
            (Some(79), &[80][..])
        );
        assert_eq!(f[0].vulnerability_ids, ["CVE-2020-1"]);
        assert_eq!(f[1].cwe, Some(1035), "an empty CWE list");
        assert_eq!(f[2].cwe, None, "no CWE list");
        assert_eq!(f[0].file_path.as_deref(), Some("root > @s/dep"));
        assert_eq!(
            (
                f[0].component_name.as_deref(),
                f[0].component_version.as_deref()
            ),
            (Some("@s/dep"), Some("2"))
        );
        assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some("S1"));
    }

    #[test]
    fn snyk_code_sarif_follows_the_sarif_rules() {
        let f = parse(
            r#"{"runs": [{"tool": {"driver": {"name": "SnykCode", "rules": [
              {"id": "js/Sqli", "properties": {"cwe": ["CWE-89", "CWE-564"]}}]}},
              "results": [
              {"ruleId": "js/Sqli", "message": {"text": "m"}, "properties": {"priorityScore": 750},
               "fingerprints": {"0": "a", "1": "b"},
               "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a.js"}, "region": {"startLine": 3}}},
                             {"physicalLocation": {"artifactLocation": {"uri": "b.js"}, "region": {"startLine": 4}}}]},
              {"ruleId": "js/Sqli", "message": {"text": "m"}, "kind": "pass"},
              {"ruleId": "js/Other", "message": {"text": "m"}}]}]}"#,
        )
        .unwrap();
        assert_eq!(f.len(), 3, "one per location, passes skipped");
        assert_eq!((f[0].severity, f[0].cwe), (Severity::High, Some(564)));
        assert_eq!(
            (f[1].file_path.as_deref(), f[1].line),
            (Some("b.js"), Some(4))
        );
        assert_eq!(f[0].unique_id_from_tool.as_deref(), Some("a"));
        assert_eq!(f[0].title, "js/Sqli_a.js");
        assert_eq!(
            (f[2].severity, f[2].file_path.as_deref()),
            (Severity::Low, None)
        );
    }

    #[test]
    fn errors_and_foreign_reports_are_rejected() {
        for r in [
            "",
            "{",
            "42",
            r#"[1]"#,
            r#"{"vulnerabilities": {}}"#,
            r#"{"vulnerabilities": [{"id": "S", "severity": "high"}]}"#,
            r#"{"runs": []}"#,
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
