//! The Qualys VM XML asset data report (`<ASSET_DATA_REPORT>`).

use std::collections::HashMap;

use palisade_plugin_sdk::deps::roxmltree::Node;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::xml::{attr, child, child_text, children, descendants, root_element_is};

use crate::level_severity;

/// Says whether a report head is a Qualys asset data report.
pub fn looks_like(head: &[u8]) -> bool {
    root_element_is(head, "ASSET_DATA_REPORT")
}

/// Parses an asset data report.
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = xml_text(report)?;
    let doc = parse_xml(&text)?;
    // Like the reference, any root counts: without a HOST_LIST child there
    // are simply no findings.
    let root = doc.root_element();
    // The glossary describes each QID once, keyed by its id ("qid_38170").
    let mut glossary: HashMap<&str, Node<'_, '_>> = HashMap::new();
    for d in descendants(root, "VULN_DETAILS") {
        if d.parent_element()
            .is_some_and(|p| p.has_tag_name("VULN_DETAILS_LIST"))
            && let Some(id) = attr(d, "id")
        {
            glossary.entry(id).or_insert(d);
        }
    }
    let mut out = Vec::new();
    let Some(hosts) = child(root, "HOST_LIST") else {
        return Ok(out);
    };
    for host in hosts.children().filter(Node::is_element) {
        let ip = child_text(host, "IP");
        let dns = child_text(host, "DNS");
        let host_name = dns.clone().or_else(|| ip.clone());
        for list in children(host, "VULN_INFO_LIST") {
            for vuln in children(list, "VULN_INFO") {
                out.push(detection(vuln, &glossary, host_name.as_deref())?);
            }
        }
    }
    Ok(out)
}

/// The reference's detection type names.
fn type_name(t: Option<&str>) -> &'static str {
    match t {
        Some("Ig") => "INFORMATION GATHERED",
        Some("Practice") => "POTENTIAL",
        Some("Vuln") => "CONFIRMED",
        _ => "Unknown",
    }
}

/// Severity from a glossary level: 1-5 as Info..Critical, anything else Info;
/// a level that is no number rejects the report, as in the reference.
fn glossary_severity(level: Option<&str>, gid: &str) -> Result<Severity, ParseError> {
    let Some(level) = level else {
        return Ok(Severity::Info);
    };
    let n: i64 = level.trim().parse().map_err(|_| {
        ParseError::new(format!(
            "Qualys report: the glossary entry {gid} has SEVERITY {level:?}, expected a number"
        ))
    })?;
    Ok(match n {
        1..=5 => level_severity(&n.to_string()).unwrap_or(Severity::Info),
        _ => Severity::Info,
    })
}

fn detection(
    vuln: Node<'_, '_>,
    glossary: &HashMap<&str, Node<'_, '_>>,
    host: Option<&str>,
) -> Result<Finding, ParseError> {
    let gid = child(vuln, "QID")
        .and_then(|q| attr(q, "id"))
        .ok_or_else(|| {
            ParseError::new("Qualys report: a VULN_INFO has no QID element with an id attribute")
        })?;
    let details = *glossary.get(gid).ok_or_else(|| {
        ParseError::new(format!(
            "Qualys report: detection {gid} has no GLOSSARY/VULN_DETAILS_LIST/VULN_DETAILS entry"
        ))
    })?;
    let d = |name: &str| child_text(details, name);
    let v = |name: &str| child_text(vuln, name);
    let name = d("TITLE").unwrap_or_default();
    let severity = glossary_severity(d("SEVERITY").as_deref(), gid)?;
    let mut cves = Vec::new();
    let mut links = Vec::new();
    for list in children(details, "CVE_ID_LIST") {
        for c in children(list, "CVE_ID") {
            if let Some(id) = child_text(c, "ID") {
                cves.push(id);
            }
            if let Some(url) = child_text(c, "URL") {
                links.push(url);
            }
        }
    }
    let mut description = html_to_text(&d("THREAT").unwrap_or_else(|| "None".to_owned()));
    for (label, value) in [
        ("Type", Some(type_name(v("TYPE").as_deref()).to_owned())),
        ("Category", v("CATEGORY")),
        ("QID", Some(gid.to_owned())),
        ("Port", v("PORT")),
        ("Result Evidence", v("RESULT")),
        ("First Found", v("FIRST_FOUND")),
        ("Last Found", v("LAST_FOUND")),
        ("Times Found", v("TIMES_FOUND")),
    ] {
        let value = value.unwrap_or_else(|| "None".to_owned());
        description.push_str(&format!("\n\n{label}: {}", html_to_text(&value)));
    }
    // Detection CVSS first, then the glossary's base score.
    let cvss3 = v("CVSS3_FINAL").filter(|c| c != "-").or_else(|| {
        child(details, "CVSS3_SCORE")
            .and_then(|s| child_text(s, "CVSS3_BASE"))
            .filter(|c| c != "-")
    });
    let cvssv3_score = cvss3
        .as_deref()
        .and_then(|c| c.split(" (").next())
        .and_then(|s| s.trim().parse::<f32>().ok());
    let cvssv3 = cvss3
        .as_deref()
        .and_then(|c| c.split_once(" ("))
        .and_then(|(_, v)| cvss3_from_str(&format!("CVSS:3.0/{}", v.trim_end_matches(')'))).ok())
        .map(|c| c.vector());
    let status = v("VULN_STATUS");
    let active = matches!(status.as_deref(), Some("Active" | "Re-Opened" | "New"));
    let qid_number = gid.get(4..).unwrap_or_default();
    Ok(Finding {
        title: truncate_chars(&format!("QID-{qid_number} | {name}"), 511).to_owned(),
        severity,
        description: clean_string(description),
        impact: d("IMPACT").map(|t| html_to_text(&t)),
        mitigation: d("SOLUTION").map(|t| html_to_text(&t)),
        references: Some(if cves.is_empty() {
            gid.to_owned()
        } else {
            links.join("\n")
        })
        .filter(|r| !r.is_empty()),
        vulnerability_ids: cves,
        cvssv3,
        cvssv3_score,
        vuln_id_from_tool: Some(gid.to_owned()),
        static_finding: Some(false),
        dynamic_finding: Some(true),
        active: Some(active),
        verified: Some(true),
        is_mitigated: Some(!active),
        mitigated: if active { None } else { v("LAST_FIXED") },
        date: v("LAST_FOUND").and_then(|d| d.get(..10).map(str::to_owned)),
        endpoints: host
            .map(|h| Endpoint::from_host(h, None))
            .into_iter()
            .collect(),
        ..Finding::default()
    })
}
