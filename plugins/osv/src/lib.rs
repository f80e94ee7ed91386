//! Palisade parser plugin for OSV-Scanner's JSON output (`osv-scanner
//! --format json`): `{"results": [{"source": {"path", "type"}, "packages":
//! [{"package": {"name", "version", "ecosystem"}, "vulnerabilities": [OSV
//! records]}]}]}`. One finding per vulnerability of each package.

use palisade_plugin_sdk::json::{get_array, get_str, get_string, get_strs};
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
        PluginInfo::single(
            "osv",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "OSV-Scanner JSON report (osv-scanner --format json)",
                &["json"],
                DedupeSetting::hash_code(&["title", "description", "severity"]),
            ),
        )
    }

    fn detect(_candidates: &[String], head: &[u8]) -> Option<String> {
        let yes = palisade_plugin_sdk::json::starts_like_json(head)
            && contains(head, b"\"results\"")
            && contains(head, b"\"packages\"")
            && contains(head, b"\"source\"")
            && (contains(head, b"\"ecosystem\"") || contains(head, b"\"lockfile\""));
        yes.then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        _scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        // osv-scanner prints nothing at all when it finds no lockfile.
        // Text that is not JSON is an empty report to the reference; bytes
        // that are not UTF-8 are an error there too.
        let text = palisade_plugin_sdk::json::utf8_text(report)?;
        let Ok(data) = serde_json::from_str::<Value>(text) else {
            log(
                LogLevel::Warn,
                "the report is not JSON; read as an empty OSV-Scanner report",
            );
            return Ok(Vec::new());
        };
        if !data.is_object() {
            return Err(ParseError::new(
                "not an OSV-Scanner report: expected a JSON object with a \"results\" list",
            ));
        }
        let results = match data.get("results") {
            None => return Ok(Vec::new()),
            Some(Value::Array(r)) => r,
            Some(_) => {
                return Err(ParseError::new(
                    "not an OSV-Scanner report: \"results\" is not a list",
                ));
            }
        };
        let mut out = Vec::new();
        for (i, result) in results.iter().enumerate() {
            let what = format!("results[{i}]");
            if !result.is_object() {
                return Err(ParseError::new(format!("{what} is not an object")));
            }
            let source = result
                .get("source")
                .and_then(|src| get_str(src, "path"))
                .filter(|p| !p.is_empty());
            for package in list(result, "packages", &what)? {
                let info = package.get("package").unwrap_or(&Value::Null);
                for vuln in list(package, "vulnerabilities", &what)? {
                    if !vuln.is_object() {
                        return Err(ParseError::new(format!(
                            "{what}: a vulnerability is not an object"
                        )));
                    }
                    out.push(
                        finding(source, info, vuln)
                            .map_err(|e| ParseError::new(format!("{what}: {e}")))?,
                    );
                }
            }
        }
        Ok(out)
    }
}

/// A list under `key`: absent is empty, anything but a list is refused.
fn list<'a>(v: &'a Value, key: &str, what: &str) -> Result<&'a [Value], ParseError> {
    match v.get(key) {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(ParseError::new(format!("{what}: {key:?} is not a list"))),
    }
}

/// The first affected entry's CWE list (`database_specific.cwes`); each
/// entry needs a `cweId`, and a present list must not be empty.
fn affected_cwes(vuln: &Value) -> Result<Vec<u32>, String> {
    let Some(list) = get_array(vuln, "affected")
        .first()
        .and_then(|a| a.get("database_specific"))
        .and_then(|d| d.get("cwes"))
        .filter(|c| !c.is_null())
    else {
        return Ok(Vec::new());
    };
    let items = list
        .as_array()
        .ok_or("database_specific.cwes is not a list")?;
    let first = items.first().ok_or("database_specific.cwes is empty")?;
    if first.get("cweId").is_none() {
        return Err("a database_specific.cwes entry has no cweId".to_owned());
    }
    Ok(items
        .iter()
        .filter_map(|c| get_str(c, "cweId"))
        .filter_map(parse_cwe)
        .collect())
}

/// Fixed versions of the first affected entry's ranges, with their range
/// type; a GIT range's fix is a commit link in its repository.
fn fixes(vuln: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for affected in get_array(vuln, "affected").iter().take(1) {
        for range in get_array(affected, "ranges") {
            let kind = get_str(range, "type").unwrap_or("");
            let repo = get_str(range, "repo").filter(|r| !r.is_empty());
            for event in get_array(range, "events") {
                if let Some(fixed) = get_str(event, "fixed") {
                    let value = match repo {
                        Some(r) if kind == "GIT" => format!("{r}/commit/{fixed}"),
                        _ => fixed.to_owned(),
                    };
                    out.push((kind.to_owned(), value));
                }
            }
        }
    }
    out
}

fn finding(source: Option<&str>, info: &Value, vuln: &Value) -> Result<Finding, String> {
    let id = get_str(vuln, "id").unwrap_or("");
    let name = get_str(info, "name");
    let version = get_str(info, "version");
    let title = match name {
        Some(n) => format!("{id}_{n}"),
        None => id.to_owned(),
    };
    let db = vuln.get("database_specific");
    // OSV records carry the advisory database's rating (GitHub's words);
    // records without one (PyPI, Go, ...) default to Low like the reference importer.
    // OSV-Scanner's word ("MODERATE" is Medium); none at all is Low.
    let severity = match db
        .and_then(|d| get_str(d, "severity"))
        .filter(|w| !w.is_empty())
    {
        Some(word) => severity_from_word(word).unwrap_or(Severity::Info),
        None => Severity::Low,
    };
    let cvss = get_array(vuln, "severity")
        .iter()
        .filter(|x| get_str(x, "type").is_some_and(|t| t.starts_with("CVSS_V3")))
        .find_map(|x| get_str(x, "score"))
        .and_then(|v| palisade_plugin_sdk::Cvss3::parse(v).ok());
    // The reference keeps the CWE as written ("CWE-79"), which is no CWE
    // number; the list goes to the description only.
    let cwes = affected_cwes(vuln)?;
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
    Ok(Finding {
        title,
        severity,
        description: clean_string(description),
        mitigation,
        references: (!refs.is_empty()).then(|| refs.join("\n")),
        // CWEs stay in the description: the reference importer does not set
        // them, and OSV CWE data is sparse (only GitHub-reviewed advisories).
        vulnerability_ids: Some(id)
            .filter(|i| !i.is_empty())
            .map(str::to_owned)
            .into_iter()
            .collect(),
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
    })
}

palisade_plugin_sdk::export_parser!(Osv);

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        Osv::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    #[test]
    fn empty_reports() {
        assert!(parse(r#"{"results": []}"#).unwrap().is_empty());
        // No results key, or text that is not JSON: nothing found, as for the reference.
        assert!(parse(r#"{"matches": []}"#).unwrap().is_empty());
        assert!(parse("").unwrap().is_empty());
        assert!(parse("{").unwrap().is_empty());
    }

    #[test]
    fn one_finding_per_package_vulnerability() {
        let f = parse(
            r#"{"results": [{"source": {"path": "/a/go.mod", "type": "lockfile"}, "packages": [
                {"package": {"name": "p", "version": "1", "ecosystem": "Go"}, "vulnerabilities": [
                    {"id": "GO-2020-1"},
                    {"id": "GHSA-x", "database_specific": {"severity": "MODERATE", "cwe_ids": ["CWE-79"]},
                     "affected": [{"database_specific": {"cwes": [{"cweId": "CWE-79"}]},
                                   "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2"}]}]},
                                  {"ranges": [{"type": "SEMVER", "events": [{"fixed": "9"}]}]}]},
                    {"database_specific": {"severity": "CRITICAL"}}]},
                {"package": {"name": "q"}}]},
              {"source": {"path": ""}, "packages": [{"package": {"name": "r", "version": "2"},
                "vulnerabilities": [{"id": "PYSEC-1", "database_specific": {"severity": "HIGH"}}]}]}]}"#,
        )
        .unwrap();
        assert_eq!(f.len(), 4);
        // No severity: Low.
        assert_eq!(
            (f[0].severity, f[0].title.as_str()),
            (Severity::Low, "GO-2020-1_p")
        );
        assert_eq!(f[0].file_path.as_deref(), Some("/a/go.mod"));
        assert_eq!(f[0].vulnerability_ids, ["GO-2020-1"]);
        assert_eq!(
            (
                f[0].component_name.as_deref(),
                f[0].component_version.as_deref()
            ),
            (Some("p"), Some("1"))
        );
        assert_eq!(f[1].severity, Severity::Medium);
        // Only the first affected entry's fixes.
        assert_eq!(f[1].fix_version.as_deref(), Some("1.2"));
        // The reference keeps "CWE-79" as text, which is no CWE number.
        assert_eq!(f[1].cwe, None);
        assert!(f[1].description.contains("CWE-79"));
        // No id: no vulnerability id.
        assert!(f[2].vulnerability_ids.is_empty());
        assert_eq!(f[2].severity, Severity::Critical);
        assert_eq!(
            (f[3].file_path.as_deref(), f[3].severity),
            (None, Severity::High)
        );
    }

    #[test]
    fn garbage_is_rejected() {
        for r in [
            "[]",
            "null",
            "42",
            r#"{"results": {}}"#,
            r#"{"results": null}"#,
            r#"{"results": [{"packages": null}]}"#,
            // A CWE list must hold entries with a cweId.
            r#"{"results": [{"packages": [{"vulnerabilities": [{"id": "X", "affected": [{"database_specific": {"cwes": []}}]}]}]}]}"#,
            r#"{"results": [{"packages": [{"vulnerabilities": [{"id": "X", "affected": [{"database_specific": {"cwes": [{"name": "n"}]}}]}]}]}]}"#,
        ] {
            assert!(parse(r).is_err(), "{r}");
        }
        assert!(Osv::parse(SCAN_TYPE, b"{\"results\":\"\xff\"}", &Options::default()).is_err());
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
