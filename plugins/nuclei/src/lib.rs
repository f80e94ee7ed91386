//! Palisade parser plugin for Nuclei JSON results, scan type "Nuclei Scan".
//!
//! Nuclei writes one JSON object per result, either as JSON lines (`-jsonl`,
//! older `-json`) or as one JSON array (`-json-export`); both are read, framed
//! as DefectDojo frames them (see `FORMAT.md`). Old keys (`templateID`, `matched`,
//! `matcher_name`) and new ones (`template-id`, `matched-at`, `matcher-name`)
//! are both understood.

use palisade_plugin_sdk::deps::serde_json::Value;
use palisade_plugin_sdk::findings::{Collector, count_occurrence};
use palisade_plugin_sdk::json::utf8_text;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use palisade_plugin_sdk::text::join_non_empty;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "Nuclei Scan";

/// The Nuclei parser.
pub struct Nuclei;

impl Parser for Nuclei {
    fn info() -> PluginInfo {
        PluginInfo::single(
            "nuclei",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "Nuclei results as JSON lines or a JSON array",
                &["json", "jsonl"],
                DedupeSetting::hash_code(&["title", "cwe", "severity", "component_name"]),
            ),
        )
    }

    fn detect(_candidates: &[String], head: &[u8]) -> Option<String> {
        looks_like(head).then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        _scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        parse_report(report)
    }
}

palisade_plugin_sdk::export_parser!(Nuclei);

/// A Nuclei result starts with a template id key and has an `info` object and a
/// `type`; no other scanner in the corpus writes `"template-id"`/`"templateID"`.
fn looks_like(head: &[u8]) -> bool {
    if !palisade_plugin_sdk::json::starts_like_json(head) {
        return false;
    }
    // Only the first result needs to be in the head; look at its start.
    let first = &head[..head.len().min(16 * 1024)];
    (contains(first, b"\"template-id\"") || contains(first, b"\"templateID\""))
        && contains(first, b"\"info\"")
}

/// Parses a whole report, framed as the reference reads it: a JSON array
/// when the text starts with `[`, JSON lines when it starts with `{`, and
/// nothing otherwise.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = utf8_text(report)?;
    let items: Vec<Value> = if text.starts_with('[') {
        match palisade_plugin_sdk::json::parse_json_value(text.as_bytes())? {
            Value::Array(a) => a,
            _ => return Err(ParseError::new("expected a JSON array of Nuclei results")),
        }
    } else if text.starts_with('{') {
        let mut out = Vec::new();
        for (n, line) in text.split('\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            let v = palisade_plugin_sdk::json::parse_json_value(line.as_bytes()).map_err(|e| {
                ParseError::new(format!(
                    "line {} is not one JSON result (Nuclei JSON lines hold one object per line): {}",
                    n + 1,
                    e.message
                ))
            })?;
            out.push(v);
        }
        out
    } else {
        Vec::new()
    };
    let mut findings: Collector<MergeKey> = Collector::new();
    for (i, item) in items.iter().enumerate() {
        let (key, finding) = result_finding(item, i + 1)?;
        // The same template, type and matcher on the same host: one finding
        // with every matched endpoint, as DefectDojo does.
        findings.add_with(key, finding, |kept, new| {
            count_occurrence(kept);
            for e in new.endpoints {
                if !kept.endpoints.contains(&e) {
                    kept.endpoints.push(e);
                }
            }
        });
    }
    Ok(findings.into_findings())
}

/// What makes two results the same finding: template id, template type,
/// matcher name and matched host.
type MergeKey = (String, String, String, String);

/// A string or array-of-strings value as a list.
fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => s
            .split([',', '\n'])
            .map(|p| p.trim().trim_start_matches("- ").trim())
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| match x {
                Value::String(s) => non_empty_str(s.trim()),
                Value::Null => None,
                other => Some(other.to_string()),
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn get_str<'a>(item: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .find_map(|k| item.get(*k).and_then(Value::as_str))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// True when a URL's percent-escapes do not decode to UTF-8 (e.g. `%c0`).
fn has_bad_percent_encoding(url: &str) -> bool {
    let b = url.as_bytes();
    let mut decoded = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Ok(v) = u8::from_str_radix(url.get(i + 1..i + 3).unwrap_or("zz"), 16)
        {
            decoded.push(v);
            i += 3;
            continue;
        }
        decoded.push(b[i]);
        i += 1;
    }
    std::str::from_utf8(&decoded).is_err()
}

/// The endpoint a result matched: a URL for HTTP templates, "host:port" for network ones.
fn matched_endpoint(matched: &str) -> Option<Endpoint> {
    let e = endpoint_from_url(matched)?;
    if has_bad_percent_encoding(matched) {
        // A URL that is not valid percent-encoded UTF-8 (a fuzzing payload) cannot
        // be stored as a URL; keep only the host it was sent to.
        return Some(Endpoint::from_host(&e.host, None));
    }
    Some(e)
}

/// The first key present (even when null or blank), as Python's nested `get` defaults read.
fn first_present<'a>(item: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().find_map(|k| item.get(*k))
}

/// A present value as text ("" for null).
fn as_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A classification list as the reference iterates it: a list's string
/// items, or a bare string's characters.
fn id_items(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().map(|x| as_text(Some(x))).collect(),
        Some(Value::String(s)) => s.chars().map(String::from).collect(),
        _ => Vec::new(),
    }
}

fn result_finding(item: &Value, position: usize) -> Result<(MergeKey, Finding), ParseError> {
    if !item.is_object() {
        return Err(ParseError::new(format!(
            "result {position} is not a JSON object"
        )));
    }
    // templateID is read first, then template-id; neither is required, but
    // a null one cannot go into the merge key (the reference fails).
    let template_value = first_present(item, &["templateID", "template-id"]);
    if template_value.is_some_and(Value::is_null) {
        return Err(ParseError::new(format!(
            "result {position} has a null template id"
        )));
    }
    let template_id = as_text(template_value);
    let Some(info) = item.get("info").filter(|i| i.is_object()) else {
        return Err(ParseError::new(format!(
            "result {position} is not a Nuclei result: it has no \"info\" object"
        )));
    };
    let Some(Value::String(severity_word)) = info.get("severity") else {
        return Err(ParseError::new(format!(
            "result {position} has no info.severity (the reference fails on it)"
        )));
    };
    // Title-cased, anything outside DefectDojo's five words is Low.
    let severity = match severity_word.to_lowercase().as_str() {
        "critical" => Severity::Critical,
        "high" => Severity::High,
        "medium" => Severity::Medium,
        "low" => Severity::Low,
        "info" => Severity::Info,
        _ => Severity::Low,
    };
    let name = match info.get("name") {
        None | Some(Value::Null) => "None".to_owned(),
        v => as_text(v),
    };
    let name = name.as_str();
    let matcher = get_str(item, &["matcher-name"]).or_else(|| {
        item.get("matcher-name")
            .is_none()
            .then(|| get_str(item, &["matcher_name"]))
            .flatten()
    });
    let kind = item
        .get("type")
        .map(|t| as_text(Some(t)))
        .unwrap_or_default();
    let kind = kind.as_str();
    let matched = get_str(item, &["matched"]).or_else(|| {
        item.get("matched")
            .is_none()
            .then(|| get_str(item, &["matched-at"]))
            .flatten()
    });
    let endpoint = matched.and_then(matched_endpoint);

    let class = info.get("classification").filter(|c| c.is_object());
    // cve-id: each upper-cased, a bare string being one id (the reference
    // reads it character by character: "C", "V", "E"... are no ids);
    // cwe-id: the digits after "CWE-" of the first item (a bare string's
    // first item is its first character, so none).
    let cve_items = match class.and_then(|c| c.get("cve-id")) {
        Some(Value::String(s)) if s.trim().is_empty() => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        other => id_items(other),
    };
    let vulnerability_ids: Vec<String> = cve_items.iter().map(|x| x.to_uppercase()).collect();
    let cwe_items = class.map(|c| id_items(c.get("cwe-id"))).unwrap_or_default();
    let cwe = cwe_items
        .first()
        .and_then(|c| c.get(4..))
        .and_then(|d| d.trim().parse::<u32>().ok());
    let extra_cwes: Vec<u32> = cwe_items
        .iter()
        .skip(1)
        .filter_map(|c| parse_cwe(c))
        .collect();
    let cvssv3 = class
        .and_then(|c| get_str(c, &["cvss-metrics"]))
        .and_then(|v| cvss3_from_str(v).ok())
        .map(|c| c.vector());
    let cvssv3_score = class
        .and_then(|c| c.get("cvss-score"))
        .and_then(|v| {
            v.as_f64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .map(|v| v as f32);

    let extracted = strings(item.get("extracted-results"));
    let mut description = get_str(info, &["description"]).unwrap_or(name).to_owned();
    if let Some(m) = matcher {
        description.push_str(&format!("\n\n**Matcher:** {m}"));
    }
    if let Some(m) = matched {
        description.push_str(&format!("\n\n**Matched at:** {m}"));
    }
    if !extracted.is_empty() {
        description.push_str("\n\n**Results:**\n");
        description.push_str(&extracted.join("\n"));
    }
    let references = join_non_empty(strings(info.get("reference")), "\n");
    let steps_to_reproduce = get_str(item, &["curl-command"])
        .map(|c| format!("curl command to reproduce the request:\n`{c}`"));

    let mut tags = strings(info.get("tags"));
    tags.dedup();
    let endpoints: Vec<Endpoint> = endpoint.into_iter().collect();
    let host_key = endpoints
        .first()
        .map(|e| e.host.clone())
        .unwrap_or_default();
    let key = (
        template_id.clone(),
        kind.to_owned(),
        matcher.unwrap_or_default().to_owned(),
        host_key,
    );
    let finding = Finding {
        title: truncate_chars(name, 511).to_owned(),
        severity,
        description,
        mitigation: get_str(info, &["remediation"]).map(str::to_owned),
        references,
        steps_to_reproduce,
        cwe,
        extra_cwes,
        vulnerability_ids,
        cvssv3,
        cvssv3_score,
        component_name: matcher.map(str::to_owned),
        vuln_id_from_tool: Some(template_id),
        nb_occurences: Some(1),
        static_finding: Some(false),
        dynamic_finding: Some(true),
        endpoints,
        date: get_str(item, &["timestamp"]).map(|t| t.chars().take(10).collect()),
        tags,
        ..Finding::default()
    };
    Ok((key, finding))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Vec<Finding>, ParseError> {
        Nuclei::parse(SCAN_TYPE, s.as_bytes(), &Options::default())
    }

    #[test]
    fn framing() {
        assert_eq!(parse("").unwrap(), vec![]);
        assert_eq!(parse("[]").unwrap(), vec![]);
        // Text not starting with '[' or '{' holds no results for the reference.
        assert_eq!(parse("  \n").unwrap(), vec![]);
        let line =
            r#"{"template-id":"x","info":{"name":"X","severity":"high"},"type":"dns","host":"a"}"#;
        assert_eq!(parse(&format!(" {line}")).unwrap(), vec![]);
        assert_eq!(
            parse(&format!("{line}\n\n{}\n", line.replace("dns", "http")))
                .unwrap()
                .len(),
            2
        );
        assert_eq!(parse(&format!("[{line},{line}]")).unwrap().len(), 1);
        // A pretty-printed object is not JSON lines.
        assert!(parse("{\n\"template-id\": \"x\"\n}").is_err());
    }

    #[test]
    fn severity_words() {
        let sev = |w: &str| {
            parse(&format!(
                r#"{{"template-id":"x","info":{{"name":"X","severity":"{w}"}}}}"#
            ))
            .unwrap()[0]
                .severity
        };
        assert_eq!(sev("critical"), Severity::Critical);
        assert_eq!(sev("HIGH"), Severity::High);
        assert_eq!(sev("info"), Severity::Info);
        // Anything outside the five words is Low.
        assert_eq!(sev("unknown"), Severity::Low);
        assert_eq!(sev("informational"), Severity::Low);
        assert!(parse(r#"{"template-id":"x","info":{"name":"X"}}"#).is_err());
        assert!(parse(r#"{"template-id":"x"}"#).is_err());
    }

    #[test]
    fn keys_old_and_new() {
        let f = parse(r#"{"templateID":"y","template-id":"z","info":{"name":"Y","severity":"critical"},"matched":"h.example:3306","matched-at":"other.example","matcher_name":"old"}"#).unwrap();
        assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some("y"));
        assert_eq!(f[0].endpoints[0].host, "h.example");
        assert_eq!(f[0].endpoints[0].port, Some(3306));
        assert_eq!(f[0].component_name.as_deref(), Some("old"));
        assert!(parse(r#"{"template-id":null,"info":{"name":"N","severity":"low"}}"#).is_err());
        // No template id at all is allowed.
        let f = parse(r#"{"info":{"name":"N","severity":"low"}}"#).unwrap();
        assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some(""));
    }

    #[test]
    fn classification_and_merging() {
        let line = r#"{"template-id":"t","info":{"name":"T","severity":"high","classification":{"cve-id":["cve-2021-1"],"cwe-id":["cwe-89","cwe-90"]}},"matcher-name":"m","type":"http","matched-at":"https://a.example/x"}"#;
        let other = line.replace("/x", "/y");
        let elsewhere = line.replace("a.example", "b.example");
        let f = parse(&format!("{line}\n{other}\n{elsewhere}\n")).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].cwe, Some(89));
        assert_eq!(f[0].vulnerability_ids, ["CVE-2021-1"]);
        assert_eq!(f[0].nb_occurences, Some(2));
        assert_eq!(f[0].endpoints.len(), 2);
        assert_eq!(f[0].component_name.as_deref(), Some("m"));
        // Only the first cwe-id counts, and a bare cwe-id string is read
        // character by character; a bare cve-id string is one id.
        let odd = r#"{"template-id":"t","info":{"name":"T","severity":"high","classification":{"cve-id":"cve-1","cwe-id":"CWE-79"}}}"#;
        let f = parse(odd).unwrap();
        assert_eq!(f[0].cwe, None);
        assert_eq!(f[0].vulnerability_ids, ["CVE-1"]);
        let first_bad = line.replace(r#"["cwe-89","cwe-90"]"#, r#"["nvd-cwe-other","cwe-90"]"#);
        assert_eq!(parse(&first_bad).unwrap()[0].cwe, None);
    }

    #[test]
    fn bad_input_is_rejected() {
        assert!(parse("{\"template-id\":").is_err());
        assert!(parse(r#"{"vulnerabilities":[]}"#).is_err());
        assert!(parse("[1,2]").is_err());
        assert!(Nuclei::parse(SCAN_TYPE, b"{\"a\":\"\xff\"}", &Options::default()).is_err());
        let deep = "[".repeat(10_000);
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        assert!(Nuclei::detect(&c, br#"{"template-id":"a","info":{"na"#).is_some());
        assert!(Nuclei::detect(&c, br#"{"vulnerabilities":[{"id":"x"}]}"#).is_none());
        assert!(Nuclei::detect(&c, b"<xml/>").is_none());
    }
}
