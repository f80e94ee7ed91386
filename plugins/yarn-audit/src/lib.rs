//! Palisade parser plugin for "Yarn Audit Scan". Three layouts, told apart as
//! the reference tells them apart (see `FORMAT.md`):
//! - yarn 1 `yarn audit --json`: JSON lines `{"type": "auditAdvisory" |
//!   "auditSummary" | "info" | "warning" | "error", "data": ...}`;
//! - yarn berry 4 `yarn npm audit --json`: JSON lines `{"value": <package>,
//!   "children": {"ID", "Issue", "URL", "Severity", "Vulnerable Versions",
//!   "Tree Versions", "Dependents"}}`;
//! - the advisories summary of yarn berry 2/3 and audit-ci
//!   (`{"advisories": {id: advisory}, ...}`).

use palisade_plugin_sdk::findings::Collector;
use palisade_plugin_sdk::json::{get_array, get_str, get_strs, json_error, utf8_text};
use palisade_plugin_sdk::markdown::push_field;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use serde_json::Value;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "Yarn Audit Scan";

/// The generic "Using Components with Known Vulnerabilities" CWE, for yarn 1
/// advisories that name none.
const KNOWN_VULNERABLE_COMPONENT_CWE: u32 = 1035;

/// The yarn audit parser.
pub struct YarnAudit;

impl Parser for YarnAudit {
    fn info() -> PluginInfo {
        PluginInfo::single(
            "yarn-audit",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "yarn audit --json (yarn 1) or yarn npm audit --json (yarn berry) output",
                &["json"],
                DedupeSetting::hash_code(&[
                    "title",
                    "severity",
                    "file_path",
                    "vulnerability_ids",
                    "cwe",
                ]),
            ),
        )
    }

    fn detect(_candidates: &[String], head: &[u8]) -> Option<String> {
        if !palisade_plugin_sdk::json::starts_like_json(head) {
            return None;
        }
        let yarn1 = contains(head, b"\"type\"")
            && (contains(head, b"\"auditAdvisory\"") || contains(head, b"\"auditSummary\""));
        let first = head.trim_ascii_start();
        let berry = (first.starts_with(b"{\"value\":") || first.starts_with(b"{\"value\" :"))
            && contains(head, b"\"children\"")
            && (contains(head, b"\"Vulnerable Versions\"") || contains(head, b"\"Tree Versions\""));
        // The advisories summary is byte for byte npm 6's report: detection
        // leaves it to `NPM Audit Scan`, and it parses here when named explicitly.
        (yarn1 || berry).then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        _scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        let text = utf8_text(report)?;
        if text.trim().is_empty() {
            return Err(ParseError::new(
                "the report is empty: expected yarn audit --json output",
            ));
        }
        // The reference picks the layout by a marker anywhere in the text.
        if text.contains("\"type\"") {
            yarn1(text)
        } else if text.contains("\"value\"") {
            berry(text)
        } else {
            let tree: Value = serde_json::from_str(text).map_err(|e| json_error(&e))?;
            summary(&tree)
        }
    }
}

/// The JSON values of a lines layout: every line holding a `{` is one value.
fn lines(text: &str) -> impl Iterator<Item = Result<(usize, Value), ParseError>> + '_ {
    text.split('\n')
        .enumerate()
        .filter(|(_, line)| line.contains('{'))
        .map(|(i, line)| {
            serde_json::from_str::<Value>(line)
                .map(|v| (i + 1, v))
                .map_err(|e| {
                    ParseError::new(format!(
                        "line {} is not one JSON value (each line must be one object): {e}",
                        i + 1
                    ))
                    .at(u32::try_from(i + 1).unwrap_or(u32::MAX), 1)
                })
        })
}

/// yarn's severities; anything else (including other spellings) is Info.
fn severity(word: Option<&Value>) -> Severity {
    match word.and_then(Value::as_str) {
        Some("low") => Severity::Low,
        Some("moderate") => Severity::Medium,
        Some("high") => Severity::High,
        Some("critical") => Severity::Critical,
        _ => Severity::Info,
    }
}

/// A value as Python's `str()` writes it, for keys and titles.
fn py_str(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "None".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(true)) => "True".to_owned(),
        Some(Value::Bool(false)) => "False".to_owned(),
        Some(other) => other.to_string(),
    }
}

fn required_str<'a>(a: &'a Value, key: &str, what: &str) -> Result<&'a str, ParseError> {
    get_str(a, key).ok_or_else(|| ParseError::new(format!("{what} has no text {key:?}")))
}

fn required_key<'a>(a: &'a Value, key: &str, what: &str) -> Result<&'a Value, ParseError> {
    a.get(key)
        .ok_or_else(|| ParseError::new(format!("{what} has no {key:?}")))
}

fn yarn1(text: &str) -> Result<Vec<Finding>, ParseError> {
    let mut findings: Collector<String> = Collector::new();
    for line in lines(text) {
        let (n, value) = line?;
        let Some(obj) = value.as_object() else {
            return Err(ParseError::new(format!("line {n} is not a JSON object")));
        };
        match obj.get("type").and_then(Value::as_str) {
            Some("error") => {
                let message = py_str(obj.get("data"));
                return Err(ParseError::new(format!(
                    "the yarn audit report holds an error instead of results: {message}"
                )));
            }
            Some("auditAdvisory") => {
                let advisory = obj
                    .get("data")
                    .and_then(|d| d.get("advisory"))
                    .filter(|a| a.is_object())
                    .ok_or_else(|| {
                        ParseError::new(format!("line {n}: an auditAdvisory without data.advisory"))
                    })?;
                let finding = yarn1_advisory(advisory)
                    .map_err(|e| ParseError::new(format!("line {n}: {}", e.message)))?;
                // One line per dependency path of an advisory; the advisory is
                // one finding, the last line's details in the first one's place.
                let key = py_str(advisory.get("id")) + &py_str(advisory.get("module_name"));
                findings.add_with(key, finding, |kept, last| *kept = last);
            }
            // info, warning, auditSummary and lines without a type.
            _ => {}
        }
    }
    Ok(findings.into_findings())
}

/// CWE numbers of an npm/yarn advisory's `cwe`: a list of "CWE-n", one
/// "CWE-n", or a JSON list in a string. An entry that is not "CWE-<number>"
/// makes the report unreadable for the reference, and here too.
fn npm_cwes(v: Option<&Value>) -> Result<Vec<u32>, ParseError> {
    let number = |c: &str| -> Result<u32, ParseError> {
        let rest = c.get(4..).unwrap_or("");
        rest.trim()
            .parse::<u32>()
            .map_err(|_| ParseError::new(format!("advisory CWE {c:?} is not CWE-<number>")))
    };
    let list = |items: &[Value]| -> Result<Vec<u32>, ParseError> {
        items
            .iter()
            .filter(|c| !matches!(c, Value::Null) && c.as_str() != Some(""))
            .map(|c| {
                c.as_str()
                    .ok_or_else(|| ParseError::new(format!("advisory CWE {c} is not text")))
                    .and_then(number)
            })
            .collect()
    };
    match v {
        None | Some(Value::Null | Value::Bool(false)) => Ok(Vec::new()),
        Some(Value::Array(items)) => list(items),
        Some(Value::String(s)) if s.is_empty() => Ok(Vec::new()),
        Some(Value::String(s)) if s.starts_with("CWE-") => {
            if s.len() > 4 {
                Ok(vec![number(s)?])
            } else {
                Ok(Vec::new())
            }
        }
        Some(Value::String(s)) if s.starts_with('[') => {
            let items: Vec<Value> = serde_json::from_str(s).map_err(|e| {
                ParseError::new(format!("advisory CWE list {s:?} is not JSON: {e}"))
            })?;
            list(&items)
        }
        Some(Value::String(_)) => Ok(Vec::new()),
        Some(other) => Err(ParseError::new(format!(
            "advisory \"cwe\" is {other}, not text or a list"
        ))),
    }
}

fn yarn1_advisory(a: &Value) -> Result<Finding, ParseError> {
    let what = "an advisory";
    let issue = required_str(a, "title", what)?;
    let module = required_str(a, "module_name", what)?;
    let range = required_str(a, "vulnerable_versions", what)?;
    let url = required_str(a, "url", what)?;
    let overview = required_str(a, "overview", what)?;
    for key in [
        "severity",
        "patched_versions",
        "cwe",
        "access",
        "recommendation",
        "cves",
    ] {
        required_key(a, key, what)?;
    }
    let first = get_array(a, "findings")
        .first()
        .ok_or_else(|| ParseError::new("an advisory has no \"findings\""))?;
    let first_path = first
        .get("paths")
        .and_then(Value::as_array)
        .and_then(|p| p.first())
        .ok_or_else(|| ParseError::new("an advisory's first finding has no path"))?;
    let version = required_key(first, "version", "an advisory's first finding")?;
    let cwes = npm_cwes(a.get("cwe"))?;

    let mut description = format!("{overview}\n\n");
    push_field(&mut description, "Advisory", Some(url));
    push_field(&mut description, "Vulnerable module", Some(module));
    push_field(&mut description, "Vulnerable versions", Some(range));
    push_field(
        &mut description,
        "Patched versions",
        get_str(a, "patched_versions"),
    );
    push_field(&mut description, "Access", get_str(a, "access"));
    let paths: Vec<String> = get_array(a, "findings")
        .iter()
        .flat_map(|f| {
            let v = py_str(f.get("version"));
            get_strs(f, "paths")
                .take(25)
                .map(move |p| format!("- {v}: {p}"))
        })
        .collect();
    if !paths.is_empty() {
        description.push_str("**Vulnerable paths:**\n");
        description.push_str(&paths.join("\n"));
        description.push('\n');
    }
    Ok(Finding {
        title: format!("{issue} - ({module}, {range})"),
        severity: severity(a.get("severity")),
        description: clean_string(description),
        mitigation: get_str(a, "recommendation").map(str::to_owned),
        references: Some(url.to_owned()),
        cwe: Some(
            cwes.first()
                .copied()
                .unwrap_or(KNOWN_VULNERABLE_COMPONENT_CWE),
        ),
        extra_cwes: cwes.iter().skip(1).copied().collect(),
        vulnerability_ids: get_strs(a, "cves").map(str::to_owned).collect(),
        file_path: Some(py_str(Some(first_path))),
        component_name: Some(module.to_owned()),
        component_version: Some(py_str(Some(version))).filter(|_| !version.is_null()),
        impact: Some("No impact provided".to_owned()),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        ..Finding::default()
    })
}

/// yarn berry 4: one line per vulnerable package and advisory, one finding
/// each (no merging), titled by the advisory ID.
fn berry(text: &str) -> Result<Vec<Finding>, ParseError> {
    let mut findings = Vec::new();
    for line in lines(text) {
        let (n, value) = line?;
        let what = format!("line {n}");
        let Some(child) = value.get("children").filter(|c| c.is_object()) else {
            return Err(ParseError::new(format!(
                "{what} has no \"children\" object: expected {{\"value\": <package>, \"children\": {{...}}}}"
            )));
        };
        let issue = required_str(child, "Issue", &what)?;
        let range = required_str(child, "Vulnerable Versions", &what)?;
        let strings = |key: &str| -> Result<Vec<String>, ParseError> {
            let items = child
                .get(key)
                .and_then(Value::as_array)
                .ok_or_else(|| ParseError::new(format!("{what} has no {key:?} list")))?;
            let mut out: Vec<String> = items.iter().map(|v| py_str(Some(v))).collect::<Vec<_>>();
            out.sort();
            out.dedup();
            Ok(out)
        };
        let tree_versions = strings("Tree Versions")?;
        let dependents = strings("Dependents")?;
        let mut description = format!("{issue}\n\n");
        push_field(&mut description, "Advisory", get_str(child, "URL"));
        push_field(&mut description, "Vulnerable versions", Some(range));
        push_field(&mut description, "Dependents", Some(&dependents.join(", ")));
        findings.push(Finding {
            title: py_str(child.get("ID")),
            severity: severity(child.get("Severity")),
            description: clean_string(description),
            references: get_str(child, "URL").map(str::to_owned),
            component_name: value
                .get("value")
                .filter(|v| !v.is_null())
                .map(|v| py_str(Some(v))),
            component_version: Some(tree_versions.join(", ")),
            static_finding: Some(true),
            dynamic_finding: Some(false),
            ..Finding::default()
        });
    }
    Ok(findings)
}

/// The advisories summary: one finding per advisory, titled
/// `<first CVE>_<module>`.
fn summary(tree: &Value) -> Result<Vec<Finding>, ParseError> {
    let Some(advisories) = tree.get("advisories").and_then(Value::as_object) else {
        return Err(ParseError::new(
            "not a yarn audit report: expected JSON lines, or an object with an \"advisories\" object",
        ));
    };
    let mut findings = Vec::new();
    for (key, a) in advisories {
        let what = format!("advisory {key}");
        if !a.is_object() {
            return Err(ParseError::new(format!("{what} is not an object")));
        }
        let cves: Vec<String> = get_strs(a, "cves").map(str::to_owned).collect();
        let Some(first_cve) = cves.first() else {
            return Err(ParseError::new(format!(
                "{what} has no CVE, which the summary layout titles findings by"
            )));
        };
        let module = required_str(a, "module_name", &what)?;
        let version = get_array(a, "findings")
            .first()
            .and_then(|f| f.get("version"))
            .ok_or_else(|| ParseError::new(format!("{what} has no findings[0].version")))?;
        // The reference strips the characters C, W, E and - from both ends
        // of the first entry of a CWE list; any other non-empty value has no
        // usable first entry.
        let cwe = match a.get("cwe") {
            Some(Value::Array(items)) => items
                .first()
                .and_then(Value::as_str)
                .map(|c| c.trim_matches(['C', 'W', 'E', '-']))
                .and_then(|c| c.trim().parse::<u32>().ok())
                .filter(|&c| c != 0),
            None | Some(Value::Null) => {
                return Err(ParseError::new(format!("{what} has no \"cwe\" list")));
            }
            Some(Value::String(s)) if s.is_empty() => {
                return Err(ParseError::new(format!("{what} has an empty \"cwe\"")));
            }
            Some(_) => None,
        };
        let extra_cwes = match a.get("cwe") {
            Some(Value::Array(items)) => items
                .iter()
                .skip(1)
                .filter_map(Value::as_str)
                .filter_map(parse_cwe)
                .filter(|c| Some(*c) != cwe)
                .collect(),
            _ => Vec::new(),
        };
        let url = py_str(a.get("url"));
        let mut description = format!("{}\n\n", py_str(a.get("title")));
        if let Some(o) = get_str(a, "overview") {
            description.push_str(o);
            description.push_str("\n\n");
        }
        push_field(&mut description, "Advisory", Some(&url));
        push_field(
            &mut description,
            "GitHub advisory",
            get_str(a, "github_advisory_id"),
        );
        push_field(
            &mut description,
            "Vulnerable versions",
            get_str(a, "vulnerable_versions"),
        );
        push_field(
            &mut description,
            "Patched versions",
            get_str(a, "patched_versions"),
        );
        findings.push(Finding {
            title: format!("{first_cve}_{module}"),
            severity: severity(a.get("severity")),
            description: clean_string(description),
            mitigation: get_str(a, "recommendation").map(str::to_owned),
            references: Some(format!("{url}\n{}", py_str(a.get("references")))),
            cwe,
            extra_cwes,
            vulnerability_ids: cves,
            component_name: Some(module.to_owned()),
            component_version: Some(py_str(Some(version))).filter(|_| !version.is_null()),
            impact: Some("No impact provided".to_owned()),
            static_finding: Some(true),
            dynamic_finding: Some(false),
            ..Finding::default()
        });
    }
    Ok(findings)
}

palisade_plugin_sdk::export_parser!(YarnAudit);

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        YarnAudit::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    fn advisory_line(id: u32, module: &str, severity: &str, cwe: &str, path: &str) -> String {
        format!(
            concat!(
                "{{\"type\":\"auditAdvisory\",\"data\":{{\"resolution\":{{\"id\":{id},\"path\":\"{path}\"}},",
                "\"advisory\":{{\"id\":{id},\"title\":\"T{id}\",\"module_name\":\"{module}\",",
                "\"vulnerable_versions\":\"<2\",\"patched_versions\":\">=2\",\"severity\":\"{severity}\",",
                "\"cwe\":{cwe},\"cves\":[\"CVE-2020-{id}\"],\"url\":\"https://x/{id}\",\"overview\":\"o\",",
                "\"access\":\"public\",\"recommendation\":\"upgrade\",",
                "\"findings\":[{{\"version\":\"1.0\",\"paths\":[\"{path}\"]}}]}}}}}}\n"
            ),
            id = id,
            module = module,
            severity = severity,
            cwe = cwe,
            path = path,
        )
    }

    #[test]
    fn yarn1_lines_of_one_advisory_are_one_finding() {
        let r = [
            "{\"type\":\"info\",\"data\":\"x\"}\n".to_owned(),
            advisory_line(1, "b", "moderate", "[\"CWE-79\",\"CWE-89\"]", "a>b"),
            advisory_line(1, "b", "moderate", "[\"CWE-79\",\"CWE-89\"]", "c>b"),
            // Same id, other module: another finding.
            advisory_line(1, "z", "high", "\"CWE-22\"", "z"),
            advisory_line(2, "b", "Moderate", "\"[]\"", "d>b"),
            "{\"no_type\": 1}\n".to_owned(),
            "{\"type\":\"auditSummary\",\"data\":{}}\n".to_owned(),
        ]
        .concat();
        let f = parse(&r).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].title, "T1 - (b, <2)");
        // The last line of a repeated advisory wins.
        assert_eq!(f[0].file_path.as_deref(), Some("c>b"));
        assert_eq!(
            (f[0].severity, f[0].cwe, f[0].extra_cwes.as_slice()),
            (Severity::Medium, Some(79), &[89][..])
        );
        assert_eq!(f[0].vulnerability_ids, ["CVE-2020-1"]);
        assert_eq!(
            (
                f[0].component_name.as_deref(),
                f[0].component_version.as_deref()
            ),
            (Some("b"), Some("1.0"))
        );
        assert_eq!((f[1].severity, f[1].cwe), (Severity::High, Some(22)));
        // Severity words are exact: "Moderate" is not yarn's spelling. No CWE: 1035.
        assert_eq!((f[2].severity, f[2].cwe), (Severity::Info, Some(1035)));
    }

    #[test]
    fn yarn1_rejections() {
        let e = parse("{\"type\":\"error\",\"data\":\"socket hang up\"}\n").unwrap_err();
        assert!(e.message.contains("socket hang up"), "{e}");
        // An advisory without a dependency path cannot be read.
        let e = parse(&advisory_line(1, "b", "low", "[]", "p").replace(",\"paths\":[\"p\"]", ""))
            .unwrap_err();
        assert!(e.message.contains("path"), "{e}");
        let e = parse(&advisory_line(1, "b", "low", "[\"CWE-noinfo\"]", "p")).unwrap_err();
        assert!(e.message.contains("CWE-noinfo"), "{e}");
        // Pretty-printed JSON is not JSON lines.
        assert!(parse("{\n \"type\": \"info\"\n}\n").is_err());
        assert!(parse("[{\"type\": \"info\"}]").is_err());
    }

    #[test]
    fn berry_lines() {
        let r = concat!(
            "{\"value\":\"minimist\",\"children\":{\"ID\":1179,\"Issue\":\"Prototype Pollution\",",
            "\"URL\":\"https://github.com/advisories/GHSA-x\",\"Severity\":\"critical\",",
            "\"Vulnerable Versions\":\"<0.2.1\",\"Tree Versions\":[\"0.0.8\",\"0.0.10\",\"0.0.8\"],",
            "\"Dependents\":[\"mkdirp@npm:0.5.1\"]}}\n",
            "{\"value\":\"minimist\",\"children\":{\"ID\":1180,\"Issue\":\"Other\",",
            "\"Severity\":\"moderate\",\"Vulnerable Versions\":\"<1\",\"Tree Versions\":[\"0.0.8\"],",
            "\"Dependents\":[]}}\n",
        );
        let f = parse(r).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].title, "1179");
        assert_eq!(f[0].severity, Severity::Critical);
        assert_eq!(
            (
                f[0].component_name.as_deref(),
                f[0].component_version.as_deref()
            ),
            (Some("minimist"), Some("0.0.10, 0.0.8"))
        );
        assert_eq!((f[0].cwe, f[0].file_path.as_deref()), (None, None));
        assert!(f[0].vulnerability_ids.is_empty());
        assert_eq!(f[1].severity, Severity::Medium);
        let e = parse("{\"value\":\"m\",\"children\":{\"ID\":1}}\n").unwrap_err();
        assert!(e.message.contains("Issue"), "{e}");
        assert!(parse("{\"value\":\"m\"}\n").is_err());
    }

    #[test]
    fn summary_layout() {
        let r = r#"{"actions": [], "advisories": {"7": {"id": 7, "title": "T", "module_name": "m",
            "severity": "high", "cves": ["CVE-2021-1", "CVE-2021-2"], "cwe": ["CWE-400", "CWE-20"],
            "url": "u", "findings": [{"version": "2.0", "paths": ["m"]}]}}}"#;
        let f = parse(r).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].title, "CVE-2021-1_m");
        assert_eq!(
            (f[0].severity, f[0].cwe, f[0].extra_cwes.as_slice()),
            (Severity::High, Some(400), &[20][..])
        );
        assert_eq!(f[0].vulnerability_ids, ["CVE-2021-1", "CVE-2021-2"]);
        assert_eq!(f[0].component_version.as_deref(), Some("2.0"));
        assert_eq!(f[0].file_path, None);
        // No CWE list: no CWE (no 1035 default in this layout).
        let f = parse(&r.replace("[\"CWE-400\", \"CWE-20\"]", "[]")).unwrap();
        assert_eq!(f[0].cwe, None);
        // No CVE, or a null CWE, cannot be read.
        assert!(parse(&r.replace("[\"CVE-2021-1\", \"CVE-2021-2\"]", "[]")).is_err());
        assert!(parse(&r.replace("[\"CWE-400\", \"CWE-20\"]", "null")).is_err());
        assert!(
            parse(r#"{"actions": [], "advisories": {}}"#)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn garbage_is_rejected() {
        for r in ["", "{", "[]", "42", "{\"a\":1}"] {
            assert!(parse(r).is_err(), "{r}");
        }
        assert!(YarnAudit::parse(SCAN_TYPE, b"{\"type\":\"\xff\"}", &Options::default()).is_err());
        assert!(parse(&"[".repeat(5000)).is_err());
    }

    #[test]
    fn detect_is_strict() {
        let yarn = [SCAN_TYPE.to_owned()];
        let both = [SCAN_TYPE.to_owned(), "NPM Audit Scan".to_owned()];
        let lines = br#"{"type":"auditAdvisory","data":{"advisory":{"module_name":"x"}}}"#;
        assert!(YarnAudit::detect(&yarn, lines).is_some());
        assert!(YarnAudit::detect(&both, lines).is_some());
        let berry = br#"{"value":"minimist","children":{"ID":1179,"Issue":"P","Severity":"critical","Vulnerable Versions":"<1","Tree Versions":["0.0.8"],"Dependents":[]}}"#;
        assert!(YarnAudit::detect(&yarn, berry).is_some());
        let obj = br#"{"actions": [], "advisories": {"1": {"module_name": "x"}}}"#;
        assert!(YarnAudit::detect(&yarn, obj).is_none());
        assert!(YarnAudit::detect(&both, obj).is_none());
        assert!(YarnAudit::detect(&yarn, br#"{"type": "object"}"#).is_none());
        assert!(YarnAudit::detect(&yarn, br#"{"value": 1, "children": []}"#).is_none());
    }
}
