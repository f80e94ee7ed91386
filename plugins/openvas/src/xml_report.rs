//! The OpenVAS / Greenbone XML report: `report/report/results/result`, each
//! with `host`, `port`, `nvt` (`oid` attribute, `name`, `refs`), `threat`,
//! `severity` and `description`.

use palisade_plugin_sdk::deps::roxmltree::Node;
use palisade_plugin_sdk::markdown::push_field;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::xml::{attr, child, child_text, children, descendants, root_element_is};

use crate::{port_endpoint, threat_severity};

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

/// Parses an OpenVAS XML report.
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = xml_text(report)?;
    let doc = parse_xml(&text)?;
    let root = doc.root_element();
    let name = root.tag_name().name();
    if name != "report" && name != "get_reports_response" {
        return Err(ParseError::new(format!(
            "not an OpenVAS XML report: the root element is <{name}>, expected <report>"
        )));
    }
    Ok(descendants(root, "result")
        // Results are the `<result>` elements that name a host; `<result>` also
        // appears elsewhere (e.g. inside notes and overrides) without one.
        .filter(|r| child(*r, "host").is_some())
        .map(result_finding)
        .collect())
}

/// The host address: the first text of `<host>` (it may also hold `<asset>`/`<hostname>` children).
fn host_address(result: Node<'_, '_>) -> Option<String> {
    let host = child(result, "host")?;
    host.children()
        .filter(Node::is_text)
        .filter_map(|t| t.text())
        .map(str::trim)
        .find(|t| !t.is_empty())
        .map(str::to_owned)
        .or_else(|| child_text(host, "hostname"))
}

fn result_finding(result: Node<'_, '_>) -> Finding {
    let nvt = child(result, "nvt");
    let oid = nvt.and_then(|n| attr(n, "oid")).map(str::to_owned);
    let nvt_name = nvt.and_then(|n| child_text(n, "name"));
    let result_name = child_text(result, "name");
    let title = nvt_name
        .clone()
        .or_else(|| result_name.clone())
        .or_else(|| oid.clone())
        .unwrap_or_else(|| "OpenVAS result".to_owned());
    let host = host_address(result);
    let port = child_text(result, "port");
    let threat = child_text(result, "threat");
    let score = child_text(result, "severity").and_then(|s| s.parse::<f32>().ok());
    let severity = threat
        .as_deref()
        .and_then(threat_severity)
        .or_else(|| score.map(severity_from_cvss))
        .unwrap_or(Severity::Info);

    let mut description = String::new();
    let mut line = |label: &str, value: Option<&str>| push_field(&mut description, label, value);
    line(
        "Name",
        result_name
            .as_deref()
            .filter(|n| Some(*n) != nvt_name.as_deref()),
    );
    line("NVT", nvt_name.as_deref());
    line("Host", host.as_deref());
    line("Port", port.as_deref());
    line("Threat", threat.as_deref());
    line("Severity", child_text(result, "severity").as_deref());
    line(
        "QoD",
        child(result, "qod")
            .and_then(|q| child_text(q, "value"))
            .as_deref(),
    );
    if let Some(d) = child_text(result, "description") {
        description.push_str(&format!("\n{d}\n"));
    }
    let tags = nvt.and_then(|n| child_text(n, "tags"));
    if let Some(t) = &tags {
        for part in t.split('|') {
            if let Some((k, v)) = part.split_once('=') {
                description.push_str(&format!("\n**{k}:** {v}"));
            }
        }
    }
    let solution = nvt.and_then(|n| child_text(n, "solution")).or_else(|| {
        tags.as_deref().and_then(|t| {
            t.split('|')
                .find_map(|p| p.strip_prefix("solution="))
                .map(str::to_owned)
        })
    });
    let refs: Vec<String> = nvt
        .and_then(|n| child(n, "refs"))
        .map(|r| {
            children(r, "ref")
                .filter_map(|x| {
                    attr(x, "id").map(|id| format!("{}: {id}", attr(x, "type").unwrap_or("ref")))
                })
                .collect()
        })
        .unwrap_or_default();

    Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity,
        description: clean(&description),
        mitigation: solution,
        references: (!refs.is_empty()).then(|| refs.join("\n")),
        // The reference importer takes no CVE ids from the XML report; the
        // NVT's references (CVEs included) are listed in `references`.
        vuln_id_from_tool: oid,
        cvssv3_score: score,
        static_finding: Some(false),
        dynamic_finding: Some(true),
        endpoints: host
            .as_deref()
            .and_then(|h| port_endpoint(h, port.as_deref(), None))
            .into_iter()
            .collect(),
        date: child_text(result, "creation_time").map(|t| t.chars().take(10).collect()),
        ..Finding::default()
    }
}
