//! The `.nessus` XML export: `NessusClientData_v2/Report/ReportHost/ReportItem`.
//!
//! Items of the same plugin and severity on several hosts or ports are merged
//! into one finding with one endpoint per occurrence, which is how the
//! reference importer presents them.

use std::collections::HashMap;

use palisade_plugin_sdk::deps::roxmltree::Node;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::xml::{attr, child, child_text, children, descendants, root_element_is};

use crate::{host_endpoint, tenable_severity};

/// Says whether a report head is a `.nessus` export.
pub fn looks_like(head: &[u8]) -> bool {
    root_element_is(head, "NessusClientData_v2")
}

/// The value of `<tag name="...">` in a host's `HostProperties`.
fn host_property(host: Node<'_, '_>, name: &str) -> Option<String> {
    let props = child(host, "HostProperties")?;
    children(props, "tag")
        .find(|t| attr(*t, "name") == Some(name))
        .and_then(palisade_plugin_sdk::xml::text)
}

/// Parses a `.nessus` XML export.
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = xml_text(report)?;
    let doc = parse_xml(&text)?;
    let root = doc.root_element();
    if root.tag_name().name() != "NessusClientData_v2" {
        return Err(ParseError::new(format!(
            "not a .nessus export: the root element is <{}>, expected <NessusClientData_v2>",
            root.tag_name().name()
        )));
    }
    let mut findings: Vec<Finding> = Vec::new();
    let mut index: HashMap<(String, Severity), usize> = HashMap::new();
    for host in descendants(root, "ReportHost") {
        let host_name = attr(host, "name")
            .map(str::to_owned)
            .or_else(|| host_property(host, "host-fqdn"))
            .or_else(|| host_property(host, "host-ip"));
        for item in children(host, "ReportItem") {
            let (finding, occurrence) = item_finding(item, host_name.as_deref());
            let key = (finding.title.clone(), finding.severity);
            if let Some(&i) = index.get(&key) {
                if let Some(existing) = findings.get_mut(i) {
                    existing.endpoints.extend(finding.endpoints);
                    if !occurrence.is_empty() {
                        existing.description.push_str("\n\n---\n\n");
                        existing.description.push_str(&occurrence);
                    }
                }
            } else {
                index.insert(key, findings.len());
                findings.push(finding);
            }
        }
    }
    Ok(findings)
}

/// The finding for one item, and the text saying where it was seen.
fn item_finding(item: Node<'_, '_>, host: Option<&str>) -> (Finding, String) {
    let plugin_id = attr(item, "pluginID");
    let title = attr(item, "pluginName")
        .map(str::to_owned)
        .or_else(|| child_text(item, "plugin_name"))
        .or_else(|| plugin_id.map(|p| format!("Nessus plugin {p}")))
        .unwrap_or_else(|| "Nessus finding".to_owned());
    let cvss3_score = child_text(item, "cvss3_base_score").and_then(|s| s.parse::<f32>().ok());
    // Nessus' own 0-4 severity follows the CVSS v2 score; when the plugin has a
    // CVSS v3 score, its rating is the current one (a v2 5.0 can be a v3 7.5).
    let severity = cvss3_score
        .map(severity_from_cvss)
        .or_else(|| attr(item, "severity").and_then(tenable_severity))
        .or_else(|| child_text(item, "risk_factor").and_then(|r| tenable_severity(&r)))
        .unwrap_or(Severity::Info);
    let port = attr(item, "port");
    let protocol = attr(item, "svc_name")
        .filter(|_| port.is_some_and(|p| p != "0"))
        .or_else(|| attr(item, "protocol"));
    let endpoints: Vec<Endpoint> = host
        .and_then(|h| host_endpoint(h, protocol, port))
        .into_iter()
        .collect();

    let cves: Vec<String> = children(item, "cve")
        .filter_map(palisade_plugin_sdk::xml::text)
        .collect();
    let cwes: Vec<u32> = children(item, "cwe")
        .filter_map(palisade_plugin_sdk::xml::text)
        .filter_map(|c| parse_cwe(&c))
        .collect();

    let section = |out: &mut String, label: &str, value: Option<String>| {
        if let Some(v) = value {
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(&format!("**{label}:**\n{v}"));
        }
    };
    // What the plugin is about, then where it was seen; when the same plugin is
    // seen again elsewhere only the second part is appended.
    let mut description = String::new();
    section(&mut description, "Synopsis", child_text(item, "synopsis"));
    section(
        &mut description,
        "Description",
        child_text(item, "description"),
    );
    if cves.len() > 1 {
        section(&mut description, "CVEs", Some(cves.join(", ")));
    }
    let mut occurrence = String::new();
    if let Some(h) = host {
        let place = match port {
            Some(p) if p != "0" => {
                format!("{h} port {p}/{}", attr(item, "protocol").unwrap_or("tcp"))
            }
            _ => h.to_owned(),
        };
        section(&mut occurrence, "Host", Some(place));
    }
    section(
        &mut occurrence,
        "Plugin Output",
        child_text(item, "plugin_output"),
    );
    if !occurrence.is_empty() {
        if !description.is_empty() {
            description.push_str("\n\n");
        }
        description.push_str(&occurrence);
    }
    if description.is_empty() {
        description = title.clone();
    }

    let cvssv3 = child_text(item, "cvss3_vector").and_then(|v| cvss3_from_str(&v).ok());
    let cvssv3_score = cvss3_score.or_else(|| cvssv3.as_ref().map(|c| c.base_score()));
    let finding = Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity,
        description,
        mitigation: child_text(item, "solution").filter(|s| s != "n/a"),
        references: child_text(item, "see_also"),
        impact: child_text(item, "risk_factor").map(|r| format!("Risk factor: {r}")),
        cwe: cwes.first().copied(),
        extra_cwes: cwes.iter().skip(1).copied().collect(),
        // Only the first CVE, as the reference importer does (it has one CVE
        // per finding); the full list is in the description.
        vulnerability_ids: cves.into_iter().take(1).collect(),
        cvssv3: cvssv3.map(|c| c.vector()),
        cvssv3_score,
        vuln_id_from_tool: None,
        static_finding: Some(false),
        dynamic_finding: Some(true),
        endpoints,
        service: attr(item, "svc_name").map(str::to_owned),
        extra: plugin_id
            .map(|p| vec![("plugin_id".to_owned(), p.to_owned())])
            .unwrap_or_default(),
        ..Finding::default()
    };
    (finding, occurrence)
}
