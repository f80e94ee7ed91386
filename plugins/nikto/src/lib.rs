//! Palisade parser plugin for Nikto reports, scan type "Nikto Scan".
//!
//! Two formats share the scan type:
//! - JSON (`-Format json`): one object `{host, ip, port, banner, vulnerabilities: [...]}`
//!   per target, alone or in an array;
//! - XML (`-Format xml`): `<niktoscan>` (possibly nested, one per target) holding
//!   `<scandetails>` with `<item>`s.
//!
//! Every item is informational, except those linked to an OSVDB entry (Medium),
//! as in the reference importer. JSON items with the same severity and message
//! merge into one finding with one endpoint per URL; XML items merge only when
//! identical. See FORMAT.md.

use palisade_plugin_sdk::deps::roxmltree::Node;
use palisade_plugin_sdk::findings::{Collector, count_occurrence};
use palisade_plugin_sdk::json::starts_like_json;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::{contains, value_start_after_key};
use palisade_plugin_sdk::xml::{attr, child, children, root_element_is};
use serde_json::Value;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "Nikto Scan";

/// The Nikto parser.
pub struct Nikto;

impl Parser for Nikto {
    fn info() -> PluginInfo {
        PluginInfo::single(
            "nikto",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "Nikto web server scanner, JSON or XML output",
                &["json", "xml"],
                DedupeSetting::new(
                    DedupeAlgorithm::Legacy,
                    &["title", "cwe", "line", "file_path", "description"],
                ),
            ),
        )
    }

    fn detect(_candidates: &[String], head: &[u8]) -> Option<String> {
        (root_element_is(head, "niktoscan") || json_looks_like(head)).then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        _scan_type: &str,
        report: &[u8],
        options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        // The reference picks the layout by the file name's extension.
        if let Some(name) = options.get("file-name").map(str::to_lowercase) {
            if name.ends_with(".xml") {
                return parse_xml_report(report);
            }
            if name.ends_with(".json") {
                return parse_json_report(report);
            }
            return Err(ParseError::new(format!(
                "unknown file format: {name:?} ends neither in .xml nor .json"
            )));
        }
        if starts_like_json(report) {
            parse_json_report(report)
        } else if report.iter().all(u8::is_ascii_whitespace) {
            Err(ParseError::new(
                "the report is empty: expected Nikto JSON or XML output",
            ))
        } else {
            parse_xml_report(report)
        }
    }
}

palisade_plugin_sdk::export_parser!(Nikto);

/// Nikto JSON describes each target with `host`, `ip`, `port`, a `banner`
/// string and a `vulnerabilities` array (WPScan also has a `banner`, but an object).
fn json_looks_like(head: &[u8]) -> bool {
    let first = &head[..head.len().min(16 * 1024)];
    starts_like_json(head)
        && contains(first, b"\"vulnerabilities\"")
        && contains(first, b"\"ip\"")
        && contains(first, b"\"port\"")
        && value_start_after_key(first, b"\"banner\"") == Some(b'"')
}

/// Parses Nikto JSON output: one target object (or a one-element array
/// holding it); findings merge by severity and message.
pub fn parse_json_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let doc = palisade_plugin_sdk::json::parse_json_value(report)?;
    let target = match &doc {
        Value::Array(a) if a.len() == 1 => &a[0],
        Value::Object(_) => &doc,
        _ => {
            return Err(ParseError::new(
                "not a Nikto JSON report: expected one target object (or an array holding exactly one)",
            ));
        }
    };
    if !target.is_object() {
        return Err(ParseError::new(
            "not a Nikto JSON report: the target is not a JSON object",
        ));
    }
    let host = target
        .get("host")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let port = match target.get("port") {
        None | Some(Value::Null) => None,
        Some(p) => Some(json_port(p)?),
    };
    let vulns: &[Value] = match target.get("vulnerabilities") {
        None => &[],
        Some(Value::Array(a)) => a,
        Some(other) => {
            return Err(ParseError::new(format!(
                "not a Nikto JSON report: \"vulnerabilities\" is {other}, expected a list"
            )));
        }
    };
    let mut out: Collector<(Severity, String)> = Collector::new();
    for (i, v) in vulns.iter().enumerate() {
        let at = format!("/vulnerabilities/{i}");
        let Some(msg) = v.get("msg").and_then(Value::as_str) else {
            return Err(ParseError::new("a Nikto vulnerability has no \"msg\" text").at_path(at));
        };
        let text = |k: &str| v.get(k).map(py_str);
        let mut description = format!(
            "**id:** `{}`\n**msg:** `{msg}`\n**HTTP Method:** `{}`",
            text("id").unwrap_or_else(|| "None".to_owned()),
            text("method").unwrap_or_else(|| "None".to_owned()),
        );
        let osvdb = match v.get("OSVDB") {
            None => None,
            Some(Value::String(o)) => Some(o.as_str()),
            Some(other) => {
                return Err(ParseError::new(format!(
                    "a Nikto vulnerability has \"OSVDB\": {other}, expected text"
                ))
                .at_path(at));
            }
        };
        if let Some(o) = osvdb {
            description.push_str(&format!("\n**OSVDB:** `{o}`"));
        }
        let linked = osvdb.filter(|o| *o != "0");
        if linked.is_some() {
            description
                .push_str("\n*This finding is marked as medium as there is a link to OSVDB*");
        }
        let severity = if linked.is_some() {
            Severity::Medium
        } else {
            Severity::Info
        };
        let endpoint = Endpoint {
            host: host.to_owned(),
            port,
            path: v.get("url").and_then(Value::as_str).map(str::to_owned),
            ..Endpoint::default()
        };
        let finding = Finding {
            title: truncate_chars(msg, 511).to_owned(),
            severity,
            description,
            references: v
                .get("references")
                .and_then(Value::as_str)
                .and_then(non_empty_str),
            vuln_id_from_tool: v.get("id").and_then(Value::as_str).map(str::to_owned),
            unique_id_from_tool: linked.map(|o| format!("OSVDB-{o}")),
            nb_occurences: Some(1),
            static_finding: Some(false),
            dynamic_finding: Some(true),
            endpoints: vec![endpoint],
            ..Finding::default()
        };
        out.add_with((severity, msg.to_owned()), finding, |kept, new| {
            kept.description.push_str("\n-----\n");
            kept.description.push_str(&new.description);
            kept.endpoints.extend(new.endpoints);
            // An aggregated finding has no single id, as in the reference.
            kept.unique_id_from_tool = None;
            kept.vuln_id_from_tool = None;
            count_occurrence(kept);
        });
    }
    Ok(out.into_findings())
}

/// A JSON value as Python's `str()` would print it (strings unquoted).
fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "None".to_owned(),
        other => other.to_string(),
    }
}

/// The target port: an integer or a string of one (anything else rejects).
fn json_port(p: &Value) -> Result<u16, ParseError> {
    let n = match p {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    n.and_then(|n| u16::try_from(n).ok())
        .ok_or_else(|| ParseError::new(format!("Nikto JSON: port {p} is not a port number")))
}

/// The first sentence of a Nikto description: up to the first whitespace
/// after '.' or '?', except after abbreviations like "e.g." or "Mr.".
fn first_sentence(text: &str) -> &str {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (k, &(at, c)) in chars.iter().enumerate() {
        if !c.is_whitespace() || k == 0 {
            continue;
        }
        let before = |n: usize| k.checked_sub(n).map(|i| chars[i].1);
        if !matches!(before(1), Some('.' | '?')) {
            continue;
        }
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        if word(before(4)) && before(3) == Some('.') && word(before(2)) {
            continue;
        }
        if before(3).is_some_and(|c| c.is_ascii_uppercase())
            && before(2).is_some_and(|c| c.is_ascii_lowercase())
            && before(1) == Some('.')
        {
            continue;
        }
        return &text[..at];
    }
    text
}

/// Parses Nikto XML output: the root's `scandetails`, else every
/// `niktoscan/scandetails`; identical items (same link, text and method) merge.
pub fn parse_xml_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = xml_text(report)?;
    let doc = parse_xml(&text)?;
    let root = doc.root_element();
    let scans: Vec<Node<'_, '_>> = match child(root, "scandetails") {
        Some(s) => vec![s],
        None => children(root, "niktoscan")
            .flat_map(|n| children(n, "scandetails"))
            .collect(),
    };
    let mut out: Collector<String> = Collector::new();
    for details in scans {
        for item in children(details, "item") {
            let Some(desc) = child(item, "description").map(|d| d.text().unwrap_or_default())
            else {
                return Err(ParseError::new("a Nikto <item> has no <description>")
                    .at_path(palisade_plugin_sdk::xml::element_path(item)));
            };
            let iplink = child(item, "iplink").map(|d| d.text().unwrap_or_default());
            let title = truncate_chars(first_sentence(desc), 900);
            let description = format!(
                "**Host:** `{}`\n**Description:** `{desc}`\n**HTTP Method:** `{}`",
                iplink.unwrap_or("None"),
                attr(item, "method").unwrap_or("None"),
            );
            let severity = match attr(item, "osvdbid") {
                Some(o) if o != "0" => Severity::Medium,
                _ => Severity::Info,
            };
            let finding = Finding {
                title: truncate_chars(title, 511).to_owned(),
                severity,
                description: description.clone(),
                references: attr(item, "osvdblink").and_then(non_empty_str),
                vuln_id_from_tool: attr(item, "id").map(str::to_owned),
                nb_occurences: Some(1),
                static_finding: Some(false),
                dynamic_finding: Some(true),
                endpoints: iplink.and_then(endpoint_from_url).into_iter().collect(),
                ..Finding::default()
            };
            out.add_with(description, finding, |kept, new| {
                kept.description.push_str("\n-----\n");
                kept.description.push_str(&new.description);
                kept.endpoints.extend(new.endpoints);
                count_occurrence(kept);
            });
        }
    }
    Ok(out.into_findings())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Vec<Finding>, ParseError> {
        Nikto::parse(SCAN_TYPE, s.as_bytes(), &Options::default())
    }

    #[test]
    fn empty_reports() {
        assert_eq!(parse("<niktoscan>\n</niktoscan>").unwrap(), vec![]);
        assert_eq!(
            parse(r#"{"host":"a","port":"80","banner":"","vulnerabilities":[]}"#).unwrap(),
            vec![]
        );
        assert!(parse("").is_err());
    }

    #[test]
    fn bad_input_is_rejected() {
        assert!(parse("{\"host\":").is_err());
        assert!(parse(r#"{"findings":[]}"#).unwrap().is_empty());
        assert!(parse(r#"{"vulnerabilities":[{"id":"1"}]}"#).is_err());
        assert!(parse(r#"[["h", "1.2.3.4", 80, "", [{"msg": "m"}]]]"#).is_err());
        assert!(parse(r#"{"host":"h","vulnerabilities":[["1", "m"]]}"#).is_err());
        assert!(parse("<nmaprun/>").unwrap().is_empty());
        assert!(
            Nikto::parse(
                SCAN_TYPE,
                b"<niktoscan>\xff</niktoscan>",
                &Options::default()
            )
            .is_err()
        );
        assert!(parse(&"[".repeat(10_000)).is_err());
        assert!(parse(&format!("<niktoscan>{}", "<a>".repeat(5000))).is_err());
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        assert!(Nikto::detect(&c, br#"{"host":"a","ip":"b","port":"443","banner":"","vulnerabilities":[{"id":"1","msg":"#).is_some());
        assert!(Nikto::detect(&c, b"<?xml version=\"1.0\" ?><!DOCTYPE niktoscan SYSTEM \"docs/nikto.dtd\"><niktoscan>").is_some());
        assert!(
            Nikto::detect(
                &c,
                br#"{"vulnerabilities":[{"id":"CVE-1","severity":"high"}]}"#
            )
            .is_none()
        );
        assert!(
            Nikto::detect(
                &c,
                br#"{"banner": {"a": 1}, "ip": "x", "port": 1, "vulnerabilities": []}"#
            )
            .is_none()
        );
        assert!(
            Nikto::detect(
                &c,
                br#"{"host":"a","ip":"b","port":"443","banner": "","vulnerabilities":[]}"#
            )
            .is_some()
        );
    }
}
