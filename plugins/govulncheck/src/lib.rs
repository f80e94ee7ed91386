//! Palisade parser plugin for govulncheck's JSON output ("Govulncheck
//! Scanner"): `govulncheck -json` (v1: a stream, or an array, of messages
//! `{"config"}`, `{"progress"}`, `{"SBOM"}`, `{"osv": OSV record}`,
//! `{"finding": {"osv", "fixed_version", "trace"}}`) and the pre-1.0 object
//! (`{"Calls", "Imports", "Requires", "Vulns"}`). One finding per
//! vulnerability (OSV record) reported.

use palisade_plugin_sdk::json::{get_array, get_str, get_strs, json_stream, utf8_text};
use palisade_plugin_sdk::markdown::push_field;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use palisade_plugin_sdk::text::iso_date;
use serde_json::Value;
use std::collections::HashMap;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "Govulncheck Scanner";

/// The govulncheck parser.
pub struct Govulncheck;

impl Parser for Govulncheck {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "govulncheck".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "govulncheck -json output (Go vulnerability database findings)"
                    .to_owned(),
                file_kinds: vec!["json".to_owned()],
                dedupe: DedupeSetting::new(
                    DedupeAlgorithm::UniqueIdFromTool,
                    &["title", "cwe", "line", "file_path", "description"],
                ),
            }],
        }
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        let yes = candidates.iter().any(|c| c == SCAN_TYPE)
            && palisade_plugin_sdk::json::starts_like_json(head)
            && !contains(head, b"\"runs\"")
            && ((contains(head, b"\"config\"")
                && (contains(head, b"\"govulncheck\"")
                    || contains(head, b"\"protocol_version\"")))
                || (contains(head, b"\"Calls\"") && contains(head, b"\"Imports\"")));
        yes.then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        if scan_type != SCAN_TYPE {
            return Err(ParseError::new(format!(
                "the govulncheck plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
        let text = utf8_text(report)?;
        if text.trim().is_empty() {
            return Err(ParseError::new(
                "the report is empty: expected govulncheck -json output",
            ));
        }
        let mut messages: Vec<Value> = Vec::new();
        for item in json_stream::<Value>(text) {
            match item? {
                Value::Array(items) => messages.extend(items),
                other => messages.push(other),
            }
        }
        if let [single] = messages.as_slice() {
            if single.get("runs").is_some() {
                return Err(ParseError::new(
                    "this is a SARIF report (govulncheck -format sarif); import govulncheck's \
                     JSON output (govulncheck -json) instead, or use the SARIF scan type",
                ));
            }
            if single.get("Calls").is_some()
                || single.get("Imports").is_some()
                || single.get("Vulns").is_some()
            {
                return Ok(legacy(single));
            }
        }
        if !messages.iter().all(Value::is_object) {
            return Err(ParseError::new(
                "not a govulncheck report: expected JSON objects (config, progress, osv, finding)",
            ));
        }
        if !messages.iter().any(|m| {
            ["config", "progress", "osv", "finding", "SBOM"]
                .iter()
                .any(|k| m.get(k).is_some())
        }) && !messages.is_empty()
        {
            return Err(ParseError::new(
                "not a govulncheck report: no config, progress, osv or finding messages",
            ));
        }
        Ok(stream(&messages))
    }
}

/// The first finding per OSV id (the one closest to the vulnerable module).
fn findings_by_osv(messages: &[Value]) -> HashMap<&str, &Value> {
    let mut out: HashMap<&str, &Value> = HashMap::new();
    for m in messages {
        if let Some(f) = m.get("finding")
            && let Some(id) = get_str(f, "osv")
        {
            out.entry(id).or_insert(f);
        }
    }
    out
}

fn stream(messages: &[Value]) -> Vec<Finding> {
    let findings = findings_by_osv(messages);
    messages
        .iter()
        .filter_map(|m| m.get("osv"))
        .filter(|o| o.is_object())
        .map(|osv| {
            let id = get_str(osv, "id").unwrap_or("");
            osv_finding(osv, findings.get(id).copied())
        })
        .collect()
}

fn strip_v(version: &str) -> &str {
    version.strip_prefix('v').unwrap_or(version)
}

fn osv_finding(osv: &Value, finding: Option<&Value>) -> Finding {
    let id = get_str(osv, "id").unwrap_or("GO-unknown");
    let affected = get_array(osv, "affected").first();
    let frame = finding.and_then(|f| get_array(f, "trace").first());
    let module = frame.and_then(|t| get_str(t, "module")).or_else(|| {
        affected
            .and_then(|a| a.get("package"))
            .and_then(|p| get_str(p, "name"))
    });
    let events = affected
        .map(|a| get_array(a, "ranges"))
        .and_then(|r| r.first())
        .map(|r| get_array(r, "events"))
        .unwrap_or(&[]);
    // Without a finding the module version is unknown; the first affected
    // version of the range stands in, as in the reference importer.
    let version = frame
        .and_then(|t| get_str(t, "version"))
        .or_else(|| events.iter().find_map(|e| get_str(e, "introduced")));
    let package = frame.and_then(|t| get_str(t, "package")).or_else(|| {
        affected
            .and_then(|a| a.get("ecosystem_specific"))
            .map(|e| get_array(e, "imports"))
            .and_then(|i| i.first())
            .and_then(|i| get_str(i, "path"))
    });
    let fixed = finding
        .and_then(|f| get_str(f, "fixed_version"))
        .map(strip_v)
        .or_else(|| events.iter().find_map(|e| get_str(e, "fixed")));
    let title = [Some(id), module, package]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" - ");
    let aliases: Vec<&str> = get_strs(osv, "aliases").collect();
    let db_url = osv.get("database_specific").and_then(|d| get_str(d, "url"));

    let mut description = String::new();
    if let Some(summary) = get_str(osv, "summary") {
        description.push_str(summary);
        description.push_str("\n\n");
    }
    if let Some(details) = get_str(osv, "details") {
        description.push_str(details);
        description.push_str("\n\n");
    }
    push_field(&mut description, "Module", module);
    push_field(&mut description, "Version", version);
    push_field(&mut description, "Package", package);
    push_field(&mut description, "Fixed version", fixed);
    if !aliases.is_empty() {
        push_field(&mut description, "Aliases", Some(&aliases.join(", ")));
    }
    if let Some(trace) = finding
        .map(|f| get_array(f, "trace"))
        .filter(|t| !t.is_empty())
    {
        let frames: Vec<String> = trace
            .iter()
            .map(|t| {
                let func = get_str(t, "function").unwrap_or("");
                let pkg = get_str(t, "package").unwrap_or("");
                match t.get("position") {
                    Some(p) => format!(
                        "- {pkg}.{func} ({}:{})",
                        get_str(p, "filename").unwrap_or("?"),
                        p.get("line").map_or_else(String::new, Value::to_string)
                    ),
                    None => format!("- {pkg}.{func}"),
                }
            })
            .collect();
        description.push_str("**Call trace:**\n");
        description.push_str(&frames.join("\n"));
        description.push('\n');
    } else {
        description.push_str(
            "govulncheck found no call to the vulnerable code; the module is only required.\n",
        );
    }
    let mut refs: Vec<String> = get_array(osv, "references")
        .iter()
        .filter_map(|r| {
            let url = get_str(r, "url")?;
            Some(match get_str(r, "type") {
                Some(t) => format!("{t}: {url}"),
                None => url.to_owned(),
            })
        })
        .collect();
    if let Some(u) = db_url {
        refs.push(format!("Database: {u}"));
    }
    Finding {
        title,
        // govulncheck itself rates nothing; a "severity" in the OSV record
        // (added by some pipelines) is honoured.
        severity: get_str(osv, "severity")
            .and_then(severity_from_word)
            .unwrap_or(Severity::Info),
        description: clean(&description),
        mitigation: fixed.map(|f| {
            format!(
                "Upgrade {} to version {f} or later.",
                module.unwrap_or("the module")
            )
        }),
        references: (!refs.is_empty()).then(|| refs.join("\n")),
        // The primary alias (CVE, else GHSA) identifies the vulnerability;
        // the Go id is the unique id.
        vulnerability_ids: aliases
            .first()
            .map(|a| (*a).to_owned())
            .into_iter()
            .collect(),
        file_path: package.map(str::to_owned),
        component_name: module.map(str::to_owned),
        component_version: version.map(str::to_owned),
        fix_available: Some(fixed.is_some()),
        fix_version: fixed.map(str::to_owned),
        unique_id_from_tool: Some(id.to_owned()),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        date: get_str(osv, "published")
            .and_then(iso_date)
            .map(str::to_owned),
        ..Finding::default()
    }
}

/// govulncheck before 1.0: `{"Vulns": [{"OSV": {...}, "Modules": [{"Path",
/// "FoundVersion", "FixedVersion", "Packages": [{"Path"}]}]}]}`.
fn legacy(data: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    for vuln in get_array(data, "Vulns") {
        let Some(osv) = vuln.get("OSV").filter(|o| o.is_object()) else {
            continue;
        };
        let modules = get_array(vuln, "Modules");
        if modules.is_empty() {
            out.push(osv_finding(osv, None));
            continue;
        }
        for module in modules {
            let package = get_array(module, "Packages")
                .first()
                .and_then(|p| get_str(p, "Path"));
            let frame = serde_json::json!({
                "module": get_str(module, "Path"),
                "version": get_str(module, "FoundVersion"),
                "package": package,
            });
            let finding = serde_json::json!({
                "osv": get_str(osv, "id"),
                "fixed_version": get_str(module, "FixedVersion"),
                "trace": [frame],
            });
            out.push(osv_finding(osv, Some(&finding)));
        }
    }
    out
}

palisade_plugin_sdk::export_parser!(Govulncheck);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        Govulncheck::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    #[test]
    fn empty_reports() {
        assert!(
            parse(r#"[{"config": {"scanner_name": "govulncheck"}}, {"progress": {}}]"#)
                .unwrap()
                .is_empty()
        );
        assert!(
            parse(r#"{"config": {}}{"progress": {}}"#)
                .unwrap()
                .is_empty()
        );
        assert!(parse(r#"{"Calls": {}, "Imports": {}}"#).unwrap().is_empty());
    }

    #[test]
    fn stream_with_and_without_findings() {
        let r = r#"
{"config": {"scanner_name": "govulncheck"}}
{"osv": {"id": "GO-2021-0001", "aliases": ["CVE-2021-1234", "GHSA-a"], "severity": "High",
  "affected": [{"package": {"name": "m"}, "ranges": [{"events": [{"introduced": "0"}, {"fixed": "1.2.0"}]}]}]}}
{"osv": {"id": "GO-2021-0002", "affected": [{"package": {"name": "n"},
  "ranges": [{"events": [{"introduced": "1.0.0"}]}], "ecosystem_specific": {"imports": [{"path": "n/sub"}]}}]}}
{"finding": {"osv": "GO-2021-0001", "fixed_version": "v1.2.0", "trace": [{"module": "m", "version": "v1.1.0", "package": "m/p"}]}}
"#;
        let f = parse(r).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].title, "GO-2021-0001 - m - m/p");
        assert_eq!(
            (f[0].severity, f[0].component_version.as_deref()),
            (Severity::High, Some("v1.1.0"))
        );
        assert_eq!(f[0].vulnerability_ids, ["CVE-2021-1234"]);
        assert_eq!(f[0].fix_version.as_deref(), Some("1.2.0"));
        assert_eq!(f[1].severity, Severity::Info);
        assert_eq!(f[1].file_path.as_deref(), Some("n/sub"));
        assert_eq!(f[1].component_version.as_deref(), Some("1.0.0"));
    }

    #[test]
    fn legacy_object() {
        let f = parse(r#"{"Calls": {}, "Vulns": [{"OSV": {"id": "GO-2022-0001"},
            "Modules": [{"Path": "m", "FoundVersion": "v1", "FixedVersion": "v2", "Packages": [{"Path": "m/p"}]}]}]}"#)
        .unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].unique_id_from_tool.as_deref(), Some("GO-2022-0001"));
        assert_eq!(f[0].file_path.as_deref(), Some("m/p"));
    }

    #[test]
    fn sarif_empty_and_garbage_are_rejected() {
        let e = parse(r#"{"version": "2.1.0", "runs": []}"#).unwrap_err();
        assert!(e.message.contains("SARIF"));
        for r in [
            "",
            "  ",
            "{",
            "[1, 2]",
            "42",
            r#"{"matches": []}"#,
            r#"{"a": 1}{"b": 2}"#,
        ] {
            assert!(parse(r).is_err(), "{r}");
        }
        assert!(Govulncheck::parse(SCAN_TYPE, b"{\"osv\":\"\xff\"}", &Options::default()).is_err());
        assert!(parse(&"[".repeat(5000)).is_err());
        assert!(Govulncheck::parse("X", b"{}", &Options::default()).is_err());
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        let d = |h: &str| Govulncheck::detect(&c, h.as_bytes());
        assert!(
            d(r#"[{"config": {"protocol_version": "v1.0.0", "scanner_name": "govulncheck""#)
                .is_some()
        );
        assert!(d(r#"{"Calls": {"Functions": {}}, "Imports": {"#).is_some());
        assert!(
            d(r#"{"runs": [{"tool": {"driver": {"name": "govulncheck"}}}], "config": 1}"#)
                .is_none()
        );
        assert!(d(r#"{"results": []}"#).is_none());
    }
}
