//! The Qualys VM XML asset data report (`<ASSET_DATA_REPORT>`).

use std::collections::HashMap;

use palisade_plugin_sdk::deps::roxmltree::Node;
use palisade_plugin_sdk::markdown::push_field;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::xml::{attr, child, child_text, children, descendants, root_element_is};

use crate::{host_endpoint, level_severity};

/// Says whether a report head is a Qualys asset data report.
pub fn looks_like(head: &[u8]) -> bool {
    root_element_is(head, "ASSET_DATA_REPORT")
}

/// What the glossary says about one QID.
struct Details<'a, 'i> {
    node: Node<'a, 'i>,
}

impl Details<'_, '_> {
    fn text(&self, name: &str) -> Option<String> {
        child_text(self.node, name)
    }
}

/// Parses an asset data report.
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = xml_text(report)?;
    let doc = parse_xml(&text)?;
    let root = doc.root_element();
    if root.tag_name().name() != "ASSET_DATA_REPORT" {
        return Err(ParseError::new(format!(
            "not a Qualys asset data report: the root element is <{}>, expected <ASSET_DATA_REPORT>",
            root.tag_name().name()
        )));
    }
    // The glossary describes each QID once; detections refer to it by number.
    let mut glossary: HashMap<String, Details<'_, '_>> = HashMap::new();
    if let Some(list) = child(root, "GLOSSARY").and_then(|g| child(g, "VULN_DETAILS_LIST")) {
        for d in children(list, "VULN_DETAILS") {
            if let Some(qid) = child_text(d, "QID") {
                glossary.insert(qid, Details { node: d });
            }
        }
    }
    let mut out = Vec::new();
    let Some(hosts) = child(root, "HOST_LIST") else {
        return Ok(out);
    };
    for host in children(hosts, "HOST") {
        let ip = child_text(host, "IP");
        let dns = child_text(host, "DNS");
        let endpoint = host_endpoint(dns.as_deref(), ip.as_deref());
        for vuln in descendants(host, "VULN_INFO") {
            out.push(detection(
                vuln,
                &glossary,
                endpoint.clone(),
                ip.as_deref(),
                dns.as_deref(),
            ));
        }
    }
    Ok(out)
}

fn detection(
    vuln: Node<'_, '_>,
    glossary: &HashMap<String, Details<'_, '_>>,
    endpoint: Option<Endpoint>,
    ip: Option<&str>,
    dns: Option<&str>,
) -> Finding {
    let qid_node = child(vuln, "QID");
    let qid = qid_node
        .and_then(palisade_plugin_sdk::xml::text)
        .unwrap_or_default();
    let qid_id = qid_node
        .and_then(|q| attr(q, "id"))
        .map(str::to_owned)
        .or_else(|| (!qid.is_empty()).then(|| format!("qid_{qid}")));
    let details = glossary.get(&qid);
    let name = details
        .and_then(|d| d.text("TITLE"))
        .unwrap_or_else(|| "Qualys detection".to_owned());
    let severity = details
        .and_then(|d| d.text("SEVERITY"))
        .and_then(|s| level_severity(&s))
        .unwrap_or(Severity::Info);
    let cves: Vec<String> = details
        .map(|d| {
            descendants(d.node, "CVE_ID")
                .filter_map(|c| child_text(c, "ID"))
                .collect()
        })
        .unwrap_or_default();
    let vendor_refs: Vec<String> = details
        .map(|d| {
            descendants(d.node, "VENDOR_REFERENCE")
                .filter_map(|c| {
                    let id = child_text(c, "ID")?;
                    Some(match child_text(c, "URL") {
                        Some(u) => format!("{id}: {u}"),
                        None => id,
                    })
                })
                .collect()
        })
        .unwrap_or_default();

    let mut description = String::new();
    let mut line =
        |label: &str, value: Option<String>| push_field(&mut description, label, value.as_deref());
    line("QID", (!qid.is_empty()).then(|| qid.clone()));
    line("IP", ip.map(str::to_owned));
    line("DNS", dns.map(str::to_owned));
    line("Type", child_text(vuln, "TYPE"));
    line("Port", child_text(vuln, "PORT"));
    line("Protocol", child_text(vuln, "PROTOCOL"));
    line("Service", child_text(vuln, "SERVICE"));
    line("FQDN", child_text(vuln, "FQDN"));
    line("Status", child_text(vuln, "VULN_STATUS"));
    line("Category", details.and_then(|d| d.text("CATEGORY")));
    line(
        "CVSS 3 base",
        details.and_then(|d| {
            d.node
                .descendants()
                .find(|n| n.has_tag_name("CVSS3_BASE"))
                .and_then(palisade_plugin_sdk::xml::text)
        }),
    );
    let mut description = clean(&description);
    for (label, value) in [
        ("Threat", details.and_then(|d| d.text("THREAT"))),
        ("Result", child_text(vuln, "RESULT")),
    ] {
        if let Some(v) = value {
            description.push_str(&format!("\n\n**{label}:**\n{}", html_to_text(&v)));
        }
    }
    let cvss3 = child_text(vuln, "CVSS3_FINAL").or_else(|| {
        details.and_then(|d| {
            d.node
                .descendants()
                .find(|n| n.has_tag_name("CVSS3_BASE"))
                .and_then(palisade_plugin_sdk::xml::text)
        })
    });
    // "9.0 (AV:N/AC:H/...)": the score, then the vector.
    let cvssv3_score = cvss3
        .as_deref()
        .and_then(|c| c.split_whitespace().next())
        .and_then(|s| s.parse::<f32>().ok());
    let cvssv3 = cvss3
        .as_deref()
        .and_then(|c| c.split_once('('))
        .and_then(|(_, v)| cvss3_from_str(v.trim_end_matches(')')).ok())
        .map(|c| c.vector());

    Finding {
        title: truncate_chars(&format!("QID-{qid} | {name}"), 511).to_owned(),
        severity,
        description,
        impact: details
            .and_then(|d| d.text("IMPACT"))
            .map(|t| html_to_text(&t)),
        mitigation: details
            .and_then(|d| d.text("SOLUTION"))
            .map(|t| html_to_text(&t)),
        references: (!vendor_refs.is_empty()).then(|| vendor_refs.join("\n")),
        vulnerability_ids: cves,
        cvssv3,
        cvssv3_score,
        vuln_id_from_tool: qid_id,
        static_finding: Some(false),
        dynamic_finding: Some(true),
        is_mitigated: child_text(vuln, "VULN_STATUS").map(|s| s.eq_ignore_ascii_case("fixed")),
        date: child_text(vuln, "LAST_FOUND").map(|d| d.chars().take(10).collect()),
        endpoints: endpoint.into_iter().collect(),
        ..Finding::default()
    }
}
