//! Palisade parser plugin for "Yarn Audit Scan": `yarn audit --json` (yarn 1),
//! one JSON object per line (`{"type": "auditAdvisory" | "auditSummary" |
//! "info" | "warning" | "error", "data": ...}`), and the summary object some
//! wrappers write instead (`{"actions", "advisories": {id: advisory}}`).

use palisade_plugin_sdk::findings::Collector;
use palisade_plugin_sdk::json::{
    get_array, get_f64, get_str, get_string, get_strs, json_stream, parse_json_value, utf8_text,
};
use palisade_plugin_sdk::markdown::push_field;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use serde_json::Value;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "Yarn Audit Scan";

/// The generic "Using Components with Known Vulnerabilities" CWE, for
/// advisories that name none.
const KNOWN_VULNERABLE_COMPONENT_CWE: u32 = 1035;

/// The yarn audit parser.
pub struct YarnAudit;

impl Parser for YarnAudit {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "yarn-audit".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "yarn audit --json output (JSON lines), or its advisories summary"
                    .to_owned(),
                file_kinds: vec!["json".to_owned()],
                dedupe: DedupeSetting::hash_code(&[
                    "title",
                    "severity",
                    "file_path",
                    "vulnerability_ids",
                    "cwe",
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
        let lines = contains(head, b"\"type\"")
            && (contains(head, b"\"auditAdvisory\"") || contains(head, b"\"auditSummary\""));
        // yarn's summary object is byte for byte npm 6's report: detection
        // leaves it to `NPM Audit Scan`, and it parses here when named explicitly.
        lines.then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        if scan_type != SCAN_TYPE {
            return Err(ParseError::new(format!(
                "the yarn-audit plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
        let text = utf8_text(report)?;
        let trimmed = text.trim_start();
        if trimmed.is_empty() {
            return Err(ParseError::new(
                "the report is empty: expected yarn audit --json output",
            ));
        }
        // A single pretty-printed object is the summary layout; otherwise
        // each line is one object.
        if let Ok(data) = parse_json_value(report)
            && data.get("advisories").is_some()
        {
            return summary(&data);
        }
        json_lines(text)
    }
}

fn json_lines(text: &str) -> Result<Vec<Finding>, ParseError> {
    let mut findings: Collector<String> = Collector::new();
    let mut saw_yarn_line = false;
    for (i, value) in json_stream::<Value>(text).enumerate() {
        let value = value?;
        let Some(kind) = get_str(&value, "type") else {
            return Err(ParseError::new(format!(
                "JSON value #{}: not a yarn audit line (no \"type\")",
                i + 1
            )));
        };
        saw_yarn_line = true;
        match kind {
            "error" => {
                let message = value
                    .get("data")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown error");
                return Err(ParseError::new(format!(
                    "the yarn audit report holds an error instead of results: {message}"
                )));
            }
            "auditAdvisory" => {
                let data = value.get("data").unwrap_or(&Value::Null);
                let advisory = data.get("advisory").unwrap_or(&Value::Null);
                let resolution = data.get("resolution");
                let path = resolution.and_then(|r| get_str(r, "path"));
                let finding = advisory_finding(advisory, path, true);
                // yarn prints one line per dependency path of an advisory; the
                // advisory is one finding (the last line's details win).
                let key = resolution
                    .and_then(|r| r.get("id"))
                    .or_else(|| advisory.get("id"))
                    .map_or_else(|| finding.title.clone(), Value::to_string);
                findings.add_with(key, finding, |kept, last| *kept = last);
            }
            _ => {}
        }
    }
    if !saw_yarn_line {
        return Err(ParseError::new(
            "not a yarn audit report: no JSON lines with a \"type\"",
        ));
    }
    Ok(findings.into_findings())
}

fn summary(data: &Value) -> Result<Vec<Finding>, ParseError> {
    let Some(advisories) = data.get("advisories").and_then(Value::as_object) else {
        return Err(ParseError::new(
            "not a yarn audit report: \"advisories\" is not an object",
        ));
    };
    Ok(advisories
        .values()
        .filter(|a| a.is_object())
        .map(|a| advisory_finding(a, None, false))
        .collect())
}

/// CWE numbers: "CWE-79", ["CWE-79"], or a JSON list inside a string.
fn cwes(v: Option<&Value>) -> Vec<u32> {
    match v {
        Some(Value::String(t)) => find_cwes(t),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .filter_map(parse_cwe)
            .collect(),
        _ => Vec::new(),
    }
}

/// One advisory. `lines` selects the JSON-lines conventions (title with the
/// vulnerable range, CWE-1035 default); the summary layout is titled by CVE.
fn advisory_finding(a: &Value, path: Option<&str>, lines: bool) -> Finding {
    let module = get_str(a, "module_name");
    let issue = get_str(a, "title").unwrap_or("yarn advisory");
    let range = get_str(a, "vulnerable_versions");
    let cves: Vec<String> = get_strs(a, "cves").map(str::to_owned).collect();
    let title = if lines {
        match (module, range) {
            (Some(m), Some(r)) => format!("{issue} - ({m}, {r})"),
            (Some(m), None) => format!("{issue} - ({m})"),
            _ => issue.to_owned(),
        }
    } else {
        let id = cves
            .first()
            .map(String::as_str)
            .or_else(|| get_str(a, "github_advisory_id"))
            .unwrap_or(issue);
        match module {
            Some(m) => format!("{id}_{m}"),
            None => id.to_owned(),
        }
    };
    let first = get_array(a, "findings").first();
    let version = first.and_then(|f| get_str(f, "version"));
    // The advisory's first dependency path, the same on each of its lines.
    let first_path = first.and_then(|f| get_strs(f, "paths").next());
    let cwes = cwes(a.get("cwe"));
    let cwe = match cwes.first() {
        Some(c) => Some(*c),
        None if lines => Some(KNOWN_VULNERABLE_COMPONENT_CWE),
        None => None,
    };

    let mut description = String::new();
    if !lines {
        description.push_str(issue);
        description.push_str("\n\n");
    }
    if let Some(o) = get_str(a, "overview") {
        description.push_str(o);
        description.push_str("\n\n");
    }
    push_field(&mut description, "Advisory", get_str(a, "url"));
    push_field(
        &mut description,
        "GitHub advisory",
        get_str(a, "github_advisory_id"),
    );
    push_field(&mut description, "Vulnerable module", module);
    push_field(&mut description, "Vulnerable versions", range);
    push_field(
        &mut description,
        "Patched versions",
        get_str(a, "patched_versions"),
    );
    push_field(&mut description, "Dependency path", path);
    let paths: Vec<String> = get_array(a, "findings")
        .iter()
        .flat_map(|f| {
            let v = get_str(f, "version").unwrap_or("?");
            get_strs(f, "paths").map(move |p| format!("- {v}: {p}"))
        })
        .collect();
    if !paths.is_empty() && path.is_none() {
        description.push_str("**Vulnerable paths:**\n");
        description.push_str(&paths.join("\n"));
        description.push('\n');
    }
    let cvss = a.get("cvss");
    let vector = cvss
        .and_then(|c| get_str(c, "vectorString"))
        .and_then(|x| palisade_plugin_sdk::Cvss3::parse(x).ok());
    let mut refs: Vec<&str> = get_str(a, "url").into_iter().collect();
    refs.extend(get_str(a, "references"));
    Finding {
        title,
        severity: get_str(a, "severity")
            .and_then(severity_from_word)
            .unwrap_or(Severity::Info),
        description: clean(&description),
        mitigation: get_string(a, "recommendation"),
        references: (!refs.is_empty()).then(|| refs.join("\n")),
        cwe,
        extra_cwes: cwes.iter().skip(1).copied().collect(),
        vulnerability_ids: cves,
        cvssv3: vector.as_ref().map(palisade_plugin_sdk::Cvss3::vector),
        cvssv3_score: cvss
            .and_then(|c| get_f64(c, "score"))
            .filter(|x| *x > 0.0)
            .map(|x| x as f32),
        file_path: if lines {
            first_path.or(path).map(str::to_owned)
        } else {
            None
        },
        component_name: module.map(str::to_owned),
        component_version: version.map(str::to_owned),
        fix_available: Some(get_str(a, "patched_versions").is_some_and(|p| p != "<0.0.0")),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        ..Finding::default()
    }
}

palisade_plugin_sdk::export_parser!(YarnAudit);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        YarnAudit::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    #[test]
    fn empty_reports() {
        let r = "{\"type\":\"auditSummary\",\"data\":{\"vulnerabilities\":{}}}\n";
        assert!(parse(r).unwrap().is_empty());
        assert!(
            parse(r#"{"actions": [], "advisories": {}}"#)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn lines_of_one_advisory_are_one_finding() {
        let r = concat!(
            "{\"type\":\"auditAdvisory\",\"data\":{\"resolution\":{\"id\":1,\"path\":\"a>b\"},",
            "\"advisory\":{\"title\":\"T\",\"module_name\":\"b\",\"severity\":\"moderate\",\"cwe\":[\"CWE-79\"],",
            "\"findings\":[{\"version\":\"1.0\"}]}}}\n",
            "{\"type\":\"auditAdvisory\",\"data\":{\"resolution\":{\"id\":1,\"path\":\"c>b\"},",
            "\"advisory\":{\"title\":\"T\",\"module_name\":\"b\",\"severity\":\"moderate\",\"cwe\":\"[]\"}}}\n",
            "{\"type\":\"auditAdvisory\",\"data\":{\"resolution\":{\"id\":2},\"advisory\":{\"severity\":\"weird\"}}}\n",
        );
        let f = parse(r).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].file_path.as_deref(), Some("c>b"));
        assert!(f[0].description.contains("c>b"));
        assert_eq!((f[0].severity, f[0].cwe), (Severity::Medium, Some(1035)));
        assert_eq!(f[1].severity, Severity::Info);
    }

    #[test]
    fn errors_and_garbage_are_rejected() {
        let e = parse("{\"type\":\"error\",\"data\":\"socket hang up\"}\n").unwrap_err();
        assert!(e.message.contains("socket hang up"));
        for r in [
            "",
            "{",
            "[]",
            "42",
            "{\"a\":1}",
            "{\"type\":\"info\"}\nnot json",
        ] {
            assert!(parse(r).is_err(), "{r}");
        }
        assert!(YarnAudit::parse(SCAN_TYPE, b"{\"type\":\"\xff\"}", &Options::default()).is_err());
        assert!(parse(&"[".repeat(5000)).is_err());
        assert!(YarnAudit::parse("X", b"{}", &Options::default()).is_err());
    }

    #[test]
    fn detect_is_strict() {
        let yarn = [SCAN_TYPE.to_owned()];
        let both = [SCAN_TYPE.to_owned(), "NPM Audit Scan".to_owned()];
        let lines = br#"{"type":"auditAdvisory","data":{"advisory":{"module_name":"x"}}}"#;
        assert!(YarnAudit::detect(&yarn, lines).is_some());
        assert!(YarnAudit::detect(&both, lines).is_some());
        let obj = br#"{"actions": [], "advisories": {"1": {"module_name": "x"}}}"#;
        assert!(YarnAudit::detect(&yarn, obj).is_none());
        assert!(YarnAudit::detect(&both, obj).is_none());
        assert!(YarnAudit::detect(&yarn, br#"{"type": "object"}"#).is_none());
    }
}
