//! Palisade parser plugin for `cargo audit --json` ("CargoAudit Scan"):
//! `{"database", "lockfile", "settings", "vulnerabilities": {"found", "count",
//! "list": [{"advisory", "versions", "package"}]}, "warnings"}`. One finding
//! per entry of the vulnerability list (RustSec advisory x crate version).

use palisade_plugin_sdk::json::{get_str, get_string, get_strs, parse_json_value};
use palisade_plugin_sdk::markdown::push_field;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use serde_json::Value;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "CargoAudit Scan";

/// The cargo-audit parser.
pub struct CargoAudit;

impl Parser for CargoAudit {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "cargo-audit".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "cargo audit --json report (RustSec advisories)".to_owned(),
                file_kinds: vec!["json".to_owned()],
                dedupe: DedupeSetting::hash_code(&[
                    "vulnerability_ids",
                    "severity",
                    "component_name",
                    "component_version",
                    "vuln_id_from_tool",
                ]),
            }],
        }
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        let yes = candidates.iter().any(|c| c == SCAN_TYPE)
            && palisade_plugin_sdk::json::starts_like_json(head)
            && contains(head, b"\"vulnerabilities\"")
            && (contains(head, b"\"advisory-count\"")
                || contains(head, b"\"RUSTSEC-")
                || (contains(head, b"\"lockfile\"") && contains(head, b"\"dependency-count\"")));
        yes.then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        if scan_type != SCAN_TYPE {
            return Err(ParseError::new(format!(
                "the cargo-audit plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
        let data = parse_json_value(report)?;
        let Some(list) = data
            .get("vulnerabilities")
            .and_then(|v| v.get("list"))
            .and_then(Value::as_array)
        else {
            return Err(ParseError::new(
                "not a cargo audit report: \"vulnerabilities\".\"list\" is missing",
            ));
        };
        Ok(list.iter().filter(|e| e.is_object()).map(finding).collect())
    }
}

/// Severity of a CVSS vector: v3 by its base score; v4 (RustSec gives no
/// score) by the SDK's estimate from the base metrics.
fn cvss_severity(vector: &str) -> Option<Severity> {
    if let Ok(v3) = palisade_plugin_sdk::Cvss3::parse(vector) {
        return Some(v3.severity());
    }
    palisade_plugin_sdk::Cvss4::parse(vector)
        .ok()
        .map(|v4| v4.estimated_severity())
}

fn finding(entry: &Value) -> Finding {
    let advisory = entry.get("advisory").unwrap_or(&Value::Null);
    let package = entry.get("package").unwrap_or(&Value::Null);
    let id = get_str(advisory, "id");
    let name = get_str(package, "name").or_else(|| get_str(advisory, "package"));
    let version = get_str(package, "version");
    let issue = get_str(advisory, "title").unwrap_or("RustSec advisory");
    let title = match (name, version) {
        (Some(n), Some(v)) => format!("[{n} {v}] {issue}"),
        (Some(n), None) => format!("[{n}] {issue}"),
        _ => issue.to_owned(),
    };
    let mut ids: Vec<String> = id.map(str::to_owned).into_iter().collect();
    for alias in get_strs(advisory, "aliases") {
        if !ids.iter().any(|x| x == alias) {
            ids.push(alias.to_owned());
        }
    }
    let vector = get_str(advisory, "cvss");
    // RustSec advisories without a CVSS vector are still vulnerabilities;
    // informational ones (unmaintained, unsound) are rated Info.
    let informational = advisory.get("informational").is_some_and(|i| !i.is_null());
    let severity = vector.and_then(cvss_severity).unwrap_or(if informational {
        Severity::Info
    } else {
        Severity::High
    });
    let patched: Vec<&str> = entry
        .get("versions")
        .map(|v| get_strs(v, "patched").collect())
        .unwrap_or_default();

    let mut description = String::new();
    if let Some(d) = get_str(advisory, "description") {
        description.push_str(d);
        description.push_str("\n\n");
    }
    push_field(&mut description, "Advisory", id);
    push_field(&mut description, "Crate", name);
    push_field(&mut description, "Version", version);
    push_field(&mut description, "Date", get_str(advisory, "date"));
    let categories: Vec<&str> = get_strs(advisory, "categories").collect();
    if !categories.is_empty() {
        push_field(&mut description, "Categories", Some(&categories.join(", ")));
    }
    if !patched.is_empty() {
        push_field(
            &mut description,
            "Patched versions",
            Some(&patched.join(", ")),
        );
    }
    let mut refs: Vec<&str> = get_str(advisory, "url").into_iter().collect();
    refs.extend(get_strs(advisory, "references"));
    let v3 = vector.and_then(|v| palisade_plugin_sdk::Cvss3::parse(v).ok());
    let v4 = vector.filter(|v| palisade_plugin_sdk::Cvss4::parse(v).is_ok());
    Finding {
        title,
        severity,
        description: clean(&description),
        mitigation: (!patched.is_empty()).then(|| {
            format!(
                "Update {} to {}",
                name.unwrap_or("the crate"),
                patched.join(" or ")
            )
        }),
        references: (!refs.is_empty()).then(|| refs.join("\n")),
        vuln_id_from_tool: id.map(str::to_owned),
        vulnerability_ids: ids,
        cvssv3: v3.as_ref().map(palisade_plugin_sdk::Cvss3::vector),
        cvssv3_score: v3.as_ref().map(palisade_plugin_sdk::Cvss3::base_score),
        cvssv4: v4.map(str::to_owned),
        component_name: name.map(str::to_owned),
        component_version: version.map(str::to_owned),
        fix_available: Some(!patched.is_empty()),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        date: get_string(advisory, "date"),
        tags: get_strs(advisory, "keywords").map(str::to_owned).collect(),
        ..Finding::default()
    }
}

palisade_plugin_sdk::export_parser!(CargoAudit);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        CargoAudit::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    #[test]
    fn empty_report() {
        assert!(
            parse(r#"{"vulnerabilities": {"found": false, "count": 0, "list": []}}"#)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn minimal_and_unusual_entries() {
        let f = parse(
            r#"{"vulnerabilities": {"list": [
                {"advisory": {"id": "RUSTSEC-2020-0001", "title": "T", "aliases": ["CVE-2020-1234"]},
                 "package": {"name": "c", "version": "1.0"}},
                {"advisory": {"id": "RUSTSEC-2020-0002", "informational": "unmaintained"}},
                {"advisory": {"id": "RUSTSEC-2020-0003", "cvss": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}]}}"#,
        )
        .unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].title, "[c 1.0] T");
        assert_eq!(
            f[0].vulnerability_ids,
            ["RUSTSEC-2020-0001", "CVE-2020-1234"]
        );
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[1].severity, Severity::Info);
        assert_eq!(f[2].severity, Severity::Critical);
    }

    #[test]
    fn cvss4_is_approximated() {
        let v = "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:N/SC:L/SI:L/SA:N";
        assert_eq!(cvss_severity(v), Some(Severity::Critical));
        let v = "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N";
        assert_eq!(cvss_severity(v), Some(Severity::Medium));
        assert_eq!(cvss_severity("garbage"), None);
    }

    #[test]
    fn garbage_is_rejected() {
        for r in [
            "",
            "{",
            "[]",
            "null",
            r#"{"vulnerabilities": []}"#,
            r#"{"matches": []}"#,
        ] {
            assert!(parse(r).is_err(), "{r}");
        }
        assert!(CargoAudit::parse(SCAN_TYPE, b"{\"a\":\"\xff\"}", &Options::default()).is_err());
        assert!(parse(&"[".repeat(5000)).is_err());
        assert!(CargoAudit::parse("X", b"{}", &Options::default()).is_err());
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        let d = |h: &str| CargoAudit::detect(&c, h.as_bytes());
        assert!(d(r#"{"database": {"advisory-count": 302}, "vulnerabilities": {"#).is_some());
        assert!(d(r#"{"vulnerabilities": {"list": []}}"#).is_none());
        assert!(d(r#"{"SchemaVersion": 2, "Results": []}"#).is_none());
    }
}
