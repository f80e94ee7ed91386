//! Palisade parser plugin for `cargo audit --json` ("CargoAudit Scan"):
//! `{"database", "lockfile", "settings", "vulnerabilities": {"found", "count",
//! "list": [{"advisory", "versions", "package"}]}, "warnings"}`. One finding
//! per entry of the vulnerability list (RustSec advisory x crate version).

use palisade_plugin_sdk::findings::{Collector, count_occurrence};
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
        PluginInfo::single(
            "cargo-audit",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "cargo audit --json report (RustSec advisories)",
                &["json"],
                DedupeSetting::hash_code(&[
                    "vulnerability_ids",
                    "severity",
                    "component_name",
                    "component_version",
                    "vuln_id_from_tool",
                ]),
            ),
        )
    }

    fn detect(_candidates: &[String], head: &[u8]) -> Option<String> {
        let yes = palisade_plugin_sdk::json::starts_like_json(head)
            && contains(head, b"\"vulnerabilities\"")
            && (contains(head, b"\"advisory-count\"")
                || contains(head, b"\"RUSTSEC-")
                || (contains(head, b"\"lockfile\"") && contains(head, b"\"dependency-count\"")));
        yes.then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        _scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        let data = parse_json_value(report)?;
        if !data.is_object() {
            return Err(ParseError::new(
                "not a cargo audit report: expected a JSON object with \"vulnerabilities\"",
            ));
        }
        // No (or an empty) "vulnerabilities" section is an empty report for
        // the reference.
        let vulns = match data.get("vulnerabilities") {
            None | Some(Value::Null | Value::Bool(false)) => return Ok(Vec::new()),
            Some(Value::Array(a)) if a.is_empty() => return Ok(Vec::new()),
            Some(Value::Object(o)) if o.is_empty() => return Ok(Vec::new()),
            Some(v) => v,
        };
        let Some(list) = vulns.get("list").and_then(Value::as_array) else {
            return Err(ParseError::new(
                "not a cargo audit report: \"vulnerabilities\".\"list\" is missing",
            ));
        };
        // One finding per advisory, date and crate version; repeats are counted.
        let mut findings: Collector<(String, String, String, String)> = Collector::new();
        for (i, entry) in list.iter().enumerate() {
            let (key, f) =
                finding(entry).map_err(|e| ParseError::new(format!("vulnerability {i}: {e}")))?;
            findings.add_with(key, f, |kept, _| count_occurrence(kept));
        }
        Ok(findings.into_findings())
    }
}

fn cvss_severity(vector: &str) -> Option<Severity> {
    if let Ok(v3) = palisade_plugin_sdk::Cvss3::parse(vector) {
        return Some(v3.severity());
    }
    palisade_plugin_sdk::Cvss4::parse(vector)
        .ok()
        .map(|v4| v4.severity())
}

type Key = (String, String, String, String);

fn finding(entry: &Value) -> Result<(Key, Finding), String> {
    let advisory = entry
        .get("advisory")
        .filter(|a| a.is_object())
        .ok_or("no \"advisory\" object")?;
    let package = entry
        .get("package")
        .filter(|p| p.is_object())
        .ok_or("no \"package\" object")?;
    if entry.get("affected").is_none() {
        return Err("no \"affected\" key".to_owned());
    }
    if !advisory.get("references").is_some_and(Value::is_array) {
        return Err("the advisory has no \"references\" list".to_owned());
    }
    let text = |v: &Value, key: &str, what: &str| -> Result<String, String> {
        v.get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("{what} has no text {key:?}"))
    };
    // The reference's duplicate key needs all four as text.
    let raw_id = text(advisory, "id", "the advisory")?;
    let raw_date = text(advisory, "date", "the advisory")?;
    let raw_name = text(package, "name", "the package")?;
    let raw_version = text(package, "version", "the package")?;
    let id = Some(raw_id.as_str()).filter(|x| !x.is_empty());
    let name = Some(raw_name.as_str()).filter(|x| !x.is_empty());
    let version = Some(raw_version.as_str()).filter(|x| !x.is_empty());
    let title = format!(
        "[{raw_name} {raw_version}] {}",
        advisory
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("None")
    );
    let mut ids: Vec<String> = id.map(str::to_owned).into_iter().collect();
    for alias in get_strs(advisory, "aliases") {
        if !ids.iter().any(|x| x == alias) {
            ids.push(alias.to_owned());
        }
    }
    let vector = get_str(advisory, "cvss");
    // Severity from the advisory's CVSS vector, else High.
    let severity = vector.and_then(cvss_severity).unwrap_or(Severity::High);
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
    let v4 = vector.and_then(|v| palisade_plugin_sdk::Cvss4::parse(v).ok());
    let key = (
        raw_id.clone(),
        raw_date,
        raw_name.clone(),
        raw_version.clone(),
    );
    let finding = Finding {
        title,
        severity,
        description: clean_string(description),
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
        cvssv4_score: v4.as_ref().map(palisade_plugin_sdk::Cvss4::base_score),
        cvssv4: v4.as_ref().map(palisade_plugin_sdk::Cvss4::vector),
        component_name: name.map(str::to_owned),
        component_version: version.map(str::to_owned),
        fix_available: Some(!patched.is_empty()),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        date: get_string(advisory, "date"),
        tags: get_strs(advisory, "keywords").map(str::to_owned).collect(),
        nb_occurences: Some(1),
        ..Finding::default()
    };
    Ok((key, finding))
}

palisade_plugin_sdk::export_parser!(CargoAudit);

#[cfg(test)]
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

    fn entry(id: &str, date: &str, name: &str, version: &str, extra: &str) -> String {
        format!(
            r#"{{"advisory": {{"id": "{id}", "title": "T", "date": "{date}", "references": [], "aliases": ["CVE-2020-1234"]{extra}}},
                "package": {{"name": "{name}", "version": "{version}"}}, "affected": null, "versions": {{"patched": [">=1.1"]}}}}"#
        )
    }

    #[test]
    fn entries_ids_severity_and_merging() {
        let r = format!(
            r#"{{"vulnerabilities": {{"list": [{}, {}, {}, {}]}}}}"#,
            entry("RUSTSEC-2020-0001", "2020-01-01", "c", "1.0", ""),
            entry(
                "RUSTSEC-2020-0002",
                "2020-01-02",
                "d",
                "2.0",
                r#", "informational": "unmaintained""#
            ),
            entry(
                "RUSTSEC-2020-0003",
                "2020-01-03",
                "e",
                "3.0",
                r#", "cvss": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H""#
            ),
            // The same advisory, date and crate version again: counted, not repeated.
            entry("RUSTSEC-2020-0001", "2020-01-01", "c", "1.0", ""),
        );
        let f = parse(&r).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].title, "[c 1.0] T");
        assert_eq!(
            f[0].vulnerability_ids,
            ["RUSTSEC-2020-0001", "CVE-2020-1234"]
        );
        assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some("RUSTSEC-2020-0001"));
        assert_eq!(
            (
                f[0].component_name.as_deref(),
                f[0].component_version.as_deref()
            ),
            (Some("c"), Some("1.0"))
        );
        assert_eq!(f[0].nb_occurences, Some(2));
        // Without a CVSS vector the severity is High, informational or not.
        assert_eq!(
            (f[0].severity, f[1].severity),
            (Severity::High, Severity::High)
        );
        assert_eq!(f[2].severity, Severity::Critical);
    }

    #[test]
    fn entries_the_reference_cannot_read_are_refused() {
        let ok = entry("RUSTSEC-1", "2020-01-01", "c", "1.0", "");
        for bad in [
            ok.replace(r#""date": "2020-01-01", "#, ""),
            ok.replace(r#""references": [], "#, ""),
            ok.replace(r#""affected": null, "#, ""),
            ok.replace(r#""version": "1.0""#, r#""version": null"#),
        ] {
            let r = format!(r#"{{"vulnerabilities": {{"list": [{bad}]}}}}"#);
            assert!(parse(&r).is_err(), "{bad}");
        }
    }

    #[test]
    fn cvss4_severity_is_the_score_band() {
        // 9.3: Critical.
        let v = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
        assert_eq!(cvss_severity(v), Some(Severity::Critical));
        // 9.1: still Critical with an attack requirement.
        let v = "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:N/SC:L/SI:L/SA:N";
        assert_eq!(cvss_severity(v), Some(Severity::Critical));
        // 7.3: High (FIRST's CVE-2022-41741 example).
        let v = "CVSS:4.0/AV:L/AC:L/AT:P/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
        assert_eq!(cvss_severity(v), Some(Severity::High));
        // 4.8: Medium.
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
            r#"{"vulnerabilities": {"found": true}}"#,
        ] {
            assert!(parse(r).is_err(), "{r}");
        }
        // No vulnerabilities section: nothing found.
        assert!(parse(r#"{"vulnerabilities": []}"#).unwrap().is_empty());
        assert!(parse(r#"{"matches": []}"#).unwrap().is_empty());
        assert!(CargoAudit::parse(SCAN_TYPE, b"{\"a\":\"\xff\"}", &Options::default()).is_err());
        assert!(parse(&"[".repeat(5000)).is_err());
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
