//! The OpenVAS / Greenbone XML report: `<root>/report/results/*`, one finding
//! per result, read field by field as the reference does. See FORMAT.md.

use palisade_plugin_sdk::deps::roxmltree::Node;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::xml::{attr, child, root_element_is};

/// Says whether a report head is an OpenVAS XML report: a `<report>` (or
/// `<get_reports_response>`) root with OpenVAS' report attributes or elements.
pub fn looks_like(head: &[u8]) -> bool {
    let window = &head[..head.len().min(64 * 1024)];
    let has = |needle: &[u8]| palisade_plugin_sdk::sniff::contains(window, needle);
    (root_element_is(head, "report") || root_element_is(head, "get_reports_response"))
        && (has(b"format_id=")
            || has(b"<gmp>")
            || has(b"<omp>")
            || has(b"<scan_run_status>")
            || has(b"<nvt oid="))
}

/// ElementTree's `.text`: the text before the first child element, `None` when empty.
fn et_text(node: Node<'_, '_>) -> Option<String> {
    let mut t = String::new();
    for c in node.children() {
        if c.is_element() {
            break;
        }
        if let Some(x) = c.text() {
            t.push_str(x);
        }
    }
    (!t.is_empty()).then_some(t)
}

/// Parses an OpenVAS XML report.
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = xml_text(report)?;
    let doc = parse_xml(&text)?;
    let root = doc.root_element();
    let name = root.tag_name().name();
    if !name.contains("report") {
        return Err(ParseError::new(format!(
            "not a Greenbone OpenVAS XML report: the root element is <{name}>"
        )));
    }
    let results = child(root, "report")
        .and_then(|r| child(r, "results"))
        .ok_or_else(|| {
            ParseError::new(format!(
                "OpenVAS XML report: <{name}> has no report/results element"
            ))
        })?;
    // Name and threat carry over from one result to the next when a result
    // lacks them, as in the reference.
    let mut state = Carry::default();
    results
        .children()
        .filter(Node::is_element)
        .map(|r| result_finding(r, &mut state))
        .collect()
}

#[derive(Default)]
struct Carry {
    title: Option<String>,
    description: Vec<String>,
    severity: Option<Severity>,
}

fn result_finding(result: Node<'_, '_>, st: &mut Carry) -> Result<Finding, ParseError> {
    let mut script_id = None;
    let mut host = String::new();
    let mut port = None;
    let mut protocol = String::new();
    let missing = |tag: &str| {
        ParseError::new(format!(
            "OpenVAS XML report: a result has an empty <{tag}> or one before its <name>"
        ))
    };
    for field in result.children().filter(Node::is_element) {
        let text = et_text(field);
        let shown = text.clone().unwrap_or_else(|| "None".to_owned());
        match field.tag_name().name() {
            "name" => {
                st.title = Some(shown.clone());
                st.description = vec![format!("**Name**: {shown}")];
            }
            tag @ ("hostname" | "host" | "port") => {
                let (Some(t), Some(title)) = (&text, &mut st.title) else {
                    return Err(missing(tag));
                };
                title.push('_');
                title.push_str(t);
                let label = match tag {
                    "hostname" => "Hostname",
                    "host" => "Host",
                    _ => "Port",
                };
                st.description.push(format!("**{label}**: {t}"));
                match tag {
                    "hostname" => host = t.trim().to_owned(),
                    "host" if host.is_empty() => host = t.trim().to_owned(),
                    "port" => {
                        let parts: Vec<&str> = t.split('/').collect();
                        let [number, proto] = parts.as_slice() else {
                            return Err(ParseError::new(format!(
                                "OpenVAS XML report: port {t:?} is not number/protocol"
                            )));
                        };
                        port = number.trim().parse::<u16>().ok();
                        protocol = (*proto).to_owned();
                    }
                    _ => {}
                }
            }
            "nvt" => {
                st.description.push(format!("**NVT**: {shown}"));
                script_id = attr(field, "oid")
                    .filter(|o| !o.is_empty())
                    .map(str::to_owned)
                    .or(text);
            }
            "severity" => st.description.push(format!("**Severity**: {shown}")),
            "threat" => {
                st.description.push(format!("**Threat**: {shown}"));
                st.severity = Some(match text.as_deref() {
                    Some("Critical") => Severity::Critical,
                    Some("High") => Severity::High,
                    Some("Medium") => Severity::Medium,
                    Some("Low") => Severity::Low,
                    _ => Severity::Info,
                });
            }
            "qod" => st.description.push(format!("**QOD**: {shown}")),
            "description" => st.description.push(format!("**Description**: {shown}")),
            _ => {}
        }
    }
    let title = st
        .title
        .clone()
        .ok_or_else(|| ParseError::new("OpenVAS XML report: the first result has no <name>"))?;
    let severity = st
        .severity
        .ok_or_else(|| ParseError::new("OpenVAS XML report: the first result has no <threat>"))?;
    Ok(Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity,
        description: st.description.join("\n"),
        vuln_id_from_tool: script_id,
        static_finding: Some(false),
        dynamic_finding: Some(true),
        endpoints: vec![Endpoint {
            protocol: non_empty_str(&protocol),
            host,
            port,
            ..Endpoint::default()
        }],
        ..Finding::default()
    })
}
