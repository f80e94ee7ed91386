//! Palisade parser plugin for OSV-Scanner's JSON output (`osv-scanner
//! --format json`): `{"results": [{"source": {"path", "type"}, "packages":
//! [{"package": {"name", "version", "ecosystem"}, "vulnerabilities": [OSV
//! records]}]}]}`. One finding per vulnerability of each package.

use palisade_plugin_sdk::json::{get_array, get_str, get_string, get_strs, parse_json_value};
use palisade_plugin_sdk::markdown::push_field;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use palisade_plugin_sdk::text::iso_date;
use serde_json::Value;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "OSV Scan";

/// The OSV-Scanner parser.
pub struct Osv;

impl Parser for Osv {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "osv".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "OSV-Scanner JSON report (osv-scanner --format json)".to_owned(),
                file_kinds: vec!["json".to_owned()],
                dedupe: DedupeSetting::hash_code(&["title", "description", "severity"]),
            }],
        }
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        let yes = candidates.iter().any(|c| c == SCAN_TYPE)
            && palisade_plugin_sdk::json::starts_like_json(head)
            && contains(head, b"\"results\"")
            && contains(head, b"\"packages\"")
            && contains(head, b"\"source\"")
            && (contains(head, b"\"ecosystem\"") || contains(head, b"\"lockfile\""));
        yes.then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        if scan_type != SCAN_TYPE {
            return Err(ParseError::new(format!(
                "the osv plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
        // osv-scanner prints nothing at all when it finds no lockfile.
        if report.iter().all(u8::is_ascii_whitespace) {
            return Ok(Vec::new());
        }
        let data = parse_json_value(report)?;
        let results = match data.get("results") {
            Some(Value::Array(r)) => r,
            Some(Value::Null) => return Ok(Vec::new()),
            _ => {
                return Err(ParseError::new(
                    "not an OSV-Scanner report: the top-level \"results\" array is missing",
                ));
            }
        };
        let mut out = Vec::new();
        for result in results {
            let source = result.get("source").and_then(|src| get_str(src, "path"));
            for package in get_array(result, "packages") {
                let info = package.get("package").unwrap_or(&Value::Null);
                for vuln in get_array(package, "vulnerabilities") {
                    if vuln.is_object() {
                        out.push(finding(source, info, vuln));
                    }
                }
            }
        }
        Ok(out)
    }
}

/// The fixed versions per range type, from every `affected` entry.
fn fixes(vuln: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for affected in get_array(vuln, "affected") {
        for range in get_array(affected, "ranges") {
            let kind = get_str(range, "type").unwrap_or("ECOSYSTEM");
            for event in get_array(range, "events") {
                if let Some(fixed) = get_str(event, "fixed") {
                    let entry = (kind.to_owned(), fixed.to_owned());
                    if !out.contains(&entry) {
                        out.push(entry);
                    }
                }
            }
        }
    }
    out
}

fn finding(source: Option<&str>, info: &Value, vuln: &Value) -> Finding {
    let id = get_str(vuln, "id").unwrap_or("OSV");
    let name = get_str(info, "name");
    let version = get_str(info, "version");
    let title = match name {
        Some(n) => format!("{id}_{n}"),
        None => id.to_owned(),
    };
    let db = vuln.get("database_specific");
    // OSV records carry the advisory database's rating (GitHub's words);
    // records without one (PyPI, Go, ...) default to Low like the reference importer.
    let severity = db
        .and_then(|d| get_str(d, "severity"))
        .and_then(severity_from_word)
        .unwrap_or(Severity::Low);
    let cvss = get_array(vuln, "severity")
        .iter()
        .filter(|x| get_str(x, "type").is_some_and(|t| t.starts_with("CVSS_V3")))
        .find_map(|x| get_str(x, "score"))
        .and_then(|v| palisade_plugin_sdk::Cvss3::parse(v).ok());
    let mut cwes: Vec<u32> = db
        .map(|d| get_strs(d, "cwe_ids").filter_map(parse_cwe).collect())
        .unwrap_or_default();
    for affected in get_array(vuln, "affected") {
        if let Some(list) = affected
            .get("database_specific")
            .map(|d| get_array(d, "cwes"))
        {
            for c in list
                .iter()
                .filter_map(|c| get_str(c, "cweId"))
                .filter_map(parse_cwe)
            {
                if !cwes.contains(&c) {
                    cwes.push(c);
                }
            }
        }
    }
    let aliases: Vec<&str> = get_strs(vuln, "aliases").collect();
    let fixes = fixes(vuln);

    let mut description = String::new();
    if let Some(summary) = get_str(vuln, "summary") {
        description.push_str(summary);
        description.push_str("\n\n");
    }
    if let Some(details) = get_str(vuln, "details") {
        description.push_str(details);
        description.push_str("\n\n");
    }
    push_field(&mut description, "Package", name);
    push_field(&mut description, "Version", version);
    push_field(&mut description, "Ecosystem", get_str(info, "ecosystem"));
    push_field(&mut description, "Source", source);
    if !aliases.is_empty() {
        push_field(&mut description, "Aliases", Some(&aliases.join(", ")));
    }
    if !cwes.is_empty() {
        let list: Vec<String> = cwes.iter().map(|c| format!("CWE-{c}")).collect();
        push_field(&mut description, "CWE", Some(&list.join(", ")));
    }
    let mitigation = (!fixes.is_empty()).then(|| {
        let list: Vec<String> = fixes.iter().map(|(k, v)| format!("- {v} ({k})")).collect();
        format!("Upgrade to a fixed version:\n{}", list.join("\n"))
    });
    let refs: Vec<&str> = get_array(vuln, "references")
        .iter()
        .filter_map(|r| get_str(r, "url"))
        .collect();
    Finding {
        title,
        severity,
        description: clean(&description),
        mitigation,
        references: (!refs.is_empty()).then(|| refs.join("\n")),
        // CWEs stay in the description: the reference importer does not set
        // them, and OSV CWE data is sparse (only GitHub-reviewed advisories).
        vulnerability_ids: vec![id.to_owned()],
        cvssv3: cvss.as_ref().map(palisade_plugin_sdk::Cvss3::vector),
        cvssv3_score: cvss.as_ref().map(palisade_plugin_sdk::Cvss3::base_score),
        file_path: source.map(str::to_owned),
        component_name: name.map(str::to_owned),
        component_version: version.map(str::to_owned),
        fix_available: Some(!fixes.is_empty()),
        fix_version: fixes.first().map(|(_, v)| v.clone()),
        vuln_id_from_tool: None,
        static_finding: Some(true),
        dynamic_finding: Some(false),
        date: get_string(vuln, "published").and_then(|t| iso_date(&t).map(str::to_owned)),
        ..Finding::default()
    }
}

palisade_plugin_sdk::export_parser!(Osv);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        Osv::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    #[test]
    fn empty_reports() {
        assert!(parse("").unwrap().is_empty());
        assert!(parse(r#"{"results": []}"#).unwrap().is_empty());
        assert!(parse(r#"{"results": null}"#).unwrap().is_empty());
    }

    #[test]
    fn minimal_and_several_packages() {
        let f = parse(
            r#"{"results": [{"source": {"path": "/a/go.mod"}, "packages": [
                {"package": {"name": "p", "version": "1"}, "vulnerabilities": [
                    {"id": "GO-2020-1"},
                    {"id": "GHSA-x", "database_specific": {"severity": "CRITICAL", "cwe_ids": ["CWE-79"]},
                     "affected": [{"ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2"}]}]}]}]},
                {"package": {"name": "q"}}]}]}"#,
        )
        .unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(
            (f[0].severity, f[0].title.as_str()),
            (Severity::Low, "GO-2020-1_p")
        );
        assert_eq!(f[0].file_path.as_deref(), Some("/a/go.mod"));
        assert_eq!(f[1].severity, Severity::Critical);
        assert_eq!(f[1].fix_version.as_deref(), Some("1.2"));
        assert!(f[1].description.contains("CWE-79"));
    }

    #[test]
    fn garbage_is_rejected() {
        for r in [
            "{",
            "[]",
            "null",
            "42",
            r#"{"matches": []}"#,
            r#"{"results": {}}"#,
        ] {
            assert!(parse(r).is_err(), "{r}");
        }
        assert!(Osv::parse(SCAN_TYPE, b"{\"results\":\"\xff\"}", &Options::default()).is_err());
        assert!(parse(&"[".repeat(5000)).is_err());
        assert!(Osv::parse("X", b"{}", &Options::default()).is_err());
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        let d = |h: &str| Osv::detect(&c, h.as_bytes());
        assert!(d(r#"{"results": [{"source": {"path": "a", "type": "lockfile"}, "packages": [{"package": {"ecosystem": "npm""#).is_some());
        assert!(d(r#"{"results": []}"#).is_none());
        assert!(d(r#"{"SchemaVersion": 2, "Results": []}"#).is_none());
    }
}
