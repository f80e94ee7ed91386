//! Palisade parser plugin for GitLab's dependency and container scanning
//! security reports (`gl-dependency-scanning-report.json`,
//! `gl-container-scanning-report.json`; report schema 2.x to 15.x):
//! `{"version", "vulnerabilities": [...], "remediations", "scan"}`.
//! GitLab SAST reports share the envelope but belong to another plugin.

use palisade_plugin_sdk::json::{get_array, get_str, get_string, parse_json_value};
use palisade_plugin_sdk::markdown::push_field;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use palisade_plugin_sdk::text::iso_date;
use serde_json::Value;

/// GitLab dependency scanning (Gemnasium and friends).
pub const DEPENDENCY: &str = "GitLab Dependency Scanning Report";
/// GitLab container scanning (Trivy/Grype inside GitLab CI).
pub const CONTAINER: &str = "GitLab Container Scan";

/// The GitLab dependency/container scanning parser.
pub struct GitlabDeps;

impl Parser for GitlabDeps {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "gitlab-deps".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![
                ScanTypeInfo {
                    name: DEPENDENCY.to_owned(),
                    description:
                        "GitLab dependency scanning report (gl-dependency-scanning-report.json)"
                            .to_owned(),
                    file_kinds: vec!["json".to_owned()],
                    dedupe: DedupeSetting::hash_code(&[
                        "title",
                        "vulnerability_ids",
                        "file_path",
                        "component_name",
                        "component_version",
                    ]),
                },
                ScanTypeInfo {
                    name: CONTAINER.to_owned(),
                    description:
                        "GitLab container scanning report (gl-container-scanning-report.json)"
                            .to_owned(),
                    file_kinds: vec!["json".to_owned()],
                    dedupe: DedupeSetting::hash_code(&[
                        "title",
                        "cwe",
                        "line",
                        "file_path",
                        "description",
                    ]),
                },
            ],
        }
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        if !palisade_plugin_sdk::json::starts_like_json(head)
            || !contains(head, b"\"vulnerabilities\"")
        {
            return None;
        }
        let wants = |t: &str| candidates.iter().any(|c| c == t);
        let container = contains(head, b"\"container_scanning\"")
            || (contains(head, b"\"operating_system\"")
                && contains(head, b"\"image\"")
                && contains(head, b"\"dependency\""));
        if container {
            return wants(CONTAINER).then(|| CONTAINER.to_owned());
        }
        // SAST and secret detection reports share the envelope (and secret
        // findings may even carry a "dependency" location).
        // Their locations have line numbers; dependency locations never do.
        let other_kind = contains(head, b"\"sast\"")
            || contains(head, b"\"secret_detection\"")
            || contains(head, b"\"start_line\"");
        let dependency = contains(head, b"\"dependency_scanning\"")
            || contains(head, b"\"dependency_files\"")
            || (!other_kind
                && contains(head, b"\"location\"")
                && contains(head, b"\"dependency\"")
                && contains(head, b"\"package\"")
                && contains(head, b"\"identifiers\""));
        (dependency && wants(DEPENDENCY)).then(|| DEPENDENCY.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        let container = match scan_type {
            DEPENDENCY => false,
            CONTAINER => true,
            other => {
                return Err(ParseError::new(format!(
                    "the gitlab-deps plugin parses {DEPENDENCY:?} and {CONTAINER:?}, not {other:?}"
                )));
            }
        };
        let data = parse_json_value(report)?;
        if !data.is_object() {
            return Err(ParseError::new(
                "not a GitLab security report: expected a JSON object with \"vulnerabilities\"",
            ));
        }
        let vulns = match data.get("vulnerabilities") {
            Some(Value::Array(v)) => v,
            Some(_) => {
                return Err(ParseError::new(
                    "not a GitLab security report: \"vulnerabilities\" is not an array",
                ));
            }
            None => {
                return Err(ParseError::new(
                    "not a GitLab security report: the \"vulnerabilities\" array is missing",
                ));
            }
        };
        let scan_type_in_report = data.pointer("/scan/type").and_then(Value::as_str);
        let wrong = match scan_type_in_report {
            Some("sast" | "secret_detection" | "dast" | "api_fuzzing" | "coverage_fuzzing") => {
                scan_type_in_report
            }
            Some("dependency_scanning") if container => scan_type_in_report,
            Some("container_scanning") if !container => scan_type_in_report,
            _ => None,
        };
        if let Some(kind) = wrong {
            return Err(ParseError::new(format!(
                "this GitLab report is a {kind} report (scan.type), not a {} report",
                if container {
                    "container scanning"
                } else {
                    "dependency scanning"
                }
            )));
        }
        let end_time = data.pointer("/scan/end_time").and_then(Value::as_str);
        Ok(vulns
            .iter()
            .filter(|v| v.is_object())
            .map(|v| finding(v, container, end_time))
            .collect())
    }
}

/// GitLab severities: Critical, High, Medium, Low, Info, Unknown.
fn severity(v: &Value) -> Severity {
    get_str(v, "severity")
        .and_then(severity_from_word)
        .unwrap_or(Severity::Info)
}

fn finding(v: &Value, container: bool, end_time: Option<&str>) -> Finding {
    let identifiers = get_array(v, "identifiers");
    let typed = |kind: &str| -> Vec<&str> {
        identifiers
            .iter()
            .filter(|i| get_str(i, "type").is_some_and(|t| t.eq_ignore_ascii_case(kind)))
            .filter_map(|i| get_str(i, "value").or_else(|| get_str(i, "name")))
            .collect()
    };
    let mut ids: Vec<String> = typed("cve").into_iter().map(str::to_owned).collect();
    for g in typed("ghsa") {
        if !ids.iter().any(|x| x == g) {
            ids.push(g.to_owned());
        }
    }
    // Old container reports name the CVE only in the "cve" field.
    if ids.is_empty()
        && let Some(cve) = get_str(v, "cve").filter(|c| palisade_plugin_sdk::is_vulnerability_id(c))
    {
        ids.push(cve.to_owned());
    }
    let cwes: Vec<u32> = typed("cwe").into_iter().filter_map(parse_cwe).collect();
    let location = v.get("location").unwrap_or(&Value::Null);
    let dependency = location.get("dependency");
    let package = dependency
        .and_then(|d| d.get("package"))
        .and_then(|p| get_str(p, "name"));
    let version = dependency.and_then(|d| get_str(d, "version"));
    let name = get_str(v, "name");
    let message = get_str(v, "message");

    let title = if container {
        match (message, ids.first(), package, version) {
            (Some(m), ..) => m.to_owned(),
            (None, Some(id), Some(p), Some(ver)) => format!("{id} in {p}-{ver}"),
            (None, Some(id), Some(p), None) => format!("{id} in {p}"),
            (None, Some(id), None, _) => id.clone(),
            (None, None, ..) => name
                .unwrap_or("GitLab container scanning finding")
                .to_owned(),
        }
    } else {
        let what = name
            .or(message)
            .unwrap_or("GitLab dependency scanning finding");
        match ids.first() {
            Some(id) if !what.contains(id.as_str()) => format!("{id}: {what}"),
            _ if get_str(v, "severity") == Some("Unknown") => format!("[Unknown severity] {what}"),
            _ => what.to_owned(),
        }
    };

    let mut description = String::new();
    if let Some(d) = get_str(v, "description") {
        description.push_str(d);
        description.push_str("\n\n");
    }
    push_field(&mut description, "Message", message);
    push_field(&mut description, "Package", package);
    push_field(&mut description, "Version", version);
    push_field(&mut description, "File", get_str(location, "file"));
    push_field(&mut description, "Image", get_str(location, "image"));
    push_field(
        &mut description,
        "Operating system",
        get_str(location, "operating_system"),
    );
    push_field(
        &mut description,
        "Scanner",
        v.get("scanner").and_then(|sc| get_str(sc, "name")),
    );
    let identifier_lines: Vec<String> = identifiers
        .iter()
        .filter_map(|i| {
            let n = get_str(i, "name").or_else(|| get_str(i, "value"))?;
            Some(match get_str(i, "url") {
                Some(u) => format!("- {n}: {u}"),
                None => format!("- {n}"),
            })
        })
        .collect();
    if !identifier_lines.is_empty() {
        description.push_str("**Identifiers:**\n");
        description.push_str(&identifier_lines.join("\n"));
        description.push('\n');
    }
    let links: Vec<&str> = get_array(v, "links")
        .iter()
        .filter_map(|l| get_str(l, "url"))
        .collect();

    Finding {
        title,
        severity: severity(v),
        description: clean(&description),
        mitigation: get_string(v, "solution"),
        references: (!links.is_empty()).then(|| links.join("\n")),
        cwe: cwes.first().copied(),
        extra_cwes: cwes.iter().skip(1).copied().collect(),
        vulnerability_ids: ids,
        file_path: get_string(location, "file"),
        component_name: package.map(str::to_owned),
        component_version: version.map(str::to_owned),
        unique_id_from_tool: get_string(v, "id"),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        date: end_time.and_then(iso_date).map(str::to_owned),
        ..Finding::default()
    }
}

palisade_plugin_sdk::export_parser!(GitlabDeps);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(t: &str, report: &str) -> Result<Vec<Finding>, ParseError> {
        GitlabDeps::parse(t, report.as_bytes(), &Options::default())
    }

    #[test]
    fn empty_reports() {
        for t in [DEPENDENCY, CONTAINER] {
            assert!(
                parse(t, r#"{"version": "15.0.0", "vulnerabilities": []}"#)
                    .unwrap()
                    .is_empty()
            );
        }
    }

    #[test]
    fn minimal_and_unusual_findings() {
        let f = parse(
            DEPENDENCY,
            r#"{"vulnerabilities": [
                {"id": "1", "name": "N", "severity": "Unknown", "location": {"file": "go.sum", "dependency": {"package": {}}}},
                {"id": "2", "name": "M", "severity": "Critical",
                 "identifiers": [{"type": "cve", "value": "CVE-2020-1"}, {"type": "cwe", "value": "79"}],
                 "location": {"file": "a", "dependency": {"package": {"name": "p"}, "version": "1"}}},
                {}]}"#,
        )
        .unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(
            (f[0].severity, f[0].title.as_str()),
            (Severity::Info, "[Unknown severity] N")
        );
        assert_eq!(f[0].component_name, None);
        assert_eq!(f[1].title, "CVE-2020-1: M");
        assert_eq!((f[1].cwe, f[1].severity), (Some(79), Severity::Critical));
        assert_eq!(f[1].unique_id_from_tool.as_deref(), Some("2"));
        let c = parse(
            CONTAINER,
            r#"{"vulnerabilities": [{"id": "x", "cve": "CVE-2021-2000", "severity": "Low",
                "location": {"dependency": {"package": {"name": "apt"}, "version": "1.4"}, "image": "i"}}]}"#,
        )
        .unwrap();
        assert_eq!(c[0].title, "CVE-2021-2000 in apt-1.4");
        assert_eq!(c[0].vulnerability_ids, ["CVE-2021-2000"]);
    }

    #[test]
    fn garbage_and_other_gitlab_reports_are_rejected() {
        for t in [DEPENDENCY, CONTAINER] {
            for r in [
                "",
                "{",
                "[]",
                "null",
                r#"{"matches": []}"#,
                r#"{"vulnerabilities": {}}"#,
            ] {
                assert!(parse(t, r).is_err(), "{r}");
            }
            assert!(parse(t, r#"{"vulnerabilities": [], "scan": {"type": "sast"}}"#).is_err());
            assert!(
                GitlabDeps::parse(t, b"{\"vulnerabilities\":\"\xff\"}", &Options::default())
                    .is_err()
            );
            assert!(parse(t, &"[".repeat(5000)).is_err());
        }
        assert!(
            parse(
                CONTAINER,
                r#"{"vulnerabilities": [], "scan": {"type": "dependency_scanning"}}"#
            )
            .is_err()
        );
        assert!(parse("Other", "{}").is_err());
    }

    #[test]
    fn detect_is_strict() {
        let c = [DEPENDENCY.to_owned(), CONTAINER.to_owned()];
        let d = |h: &str| GitlabDeps::detect(&c, h.as_bytes());
        assert_eq!(
            d(r#"{"version": "3.0.0", "vulnerabilities": [{"category": "dependency_scanning""#)
                .as_deref(),
            Some(DEPENDENCY)
        );
        assert_eq!(
            d(r#"{"version": "3.0.0", "vulnerabilities": [{"category": "container_scanning""#)
                .as_deref(),
            Some(CONTAINER)
        );
        assert_eq!(
            d(
                r#"{"version": "15.0.0", "vulnerabilities": [{"category": "sast", "location": {"file": "a"}}"#
            ),
            None
        );
        assert_eq!(
            d(r#"{"vulnerabilities": [], "packageManager": "npm"}"#),
            None
        );
    }
}
