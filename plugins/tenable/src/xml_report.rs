//! The `.nessus` XML export: `NessusClientData_v2/Report/ReportHost/ReportItem`.
//!
//! Items with the same severity and plugin name are merged into one finding
//! with one endpoint per occurrence, as the reference does. See FORMAT.md.

use std::collections::HashMap;

use palisade_plugin_sdk::deps::roxmltree::Node;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::xml::{attr, child, children, descendants, root_element_is};

/// Says whether a report head is a `.nessus` export.
pub fn looks_like(head: &[u8]) -> bool {
    root_element_is(head, "NessusClientData_v2")
}

/// Schemes the reference's URL library knows; a Nessus service name outside
/// them is replaced by the item's transport protocol.
const KNOWN_SCHEMES: &[&str] = &[
    "acap", "afp", "dict", "dns", "file", "ftp", "git", "gopher", "http", "https", "imap", "ipp",
    "ipps", "irc", "ircs", "ldap", "ldaps", "mms", "msrp", "msrps", "mtqp", "nfs", "nntp", "nntps",
    "pop", "prospero", "redis", "rsync", "rtsp", "rtsps", "rtspu", "sftp", "smb", "snmp", "ssh",
    "steam", "svn", "telnet", "ventrilo", "vnc", "wais", "ws", "wss", "xmpp",
];

/// Keeps the characters a URL scheme may have (letters, digits, '-', '+').
fn scheme_chars(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '+')
        .collect()
}

/// The text of an element, `None` when absent or empty (whitespace counts).
fn raw_text(node: Option<Node<'_, '_>>) -> Option<String> {
    let n = node?;
    let t: String = n
        .children()
        .filter(|c| c.is_text())
        .filter_map(|c| c.text())
        .collect();
    (!t.is_empty()).then_some(t)
}

/// Parses a `.nessus` XML export.
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = xml_text(report)?;
    let doc = parse_xml(&text)?;
    let root = doc.root_element();
    if !root.tag_name().name().contains("NessusClientData_v2") {
        return Err(ParseError::new(format!(
            "This version of Nessus report is not supported: the root element is <{}>, \
             expected <NessusClientData_v2>",
            root.tag_name().name()
        )));
    }
    let mut findings: Vec<Finding> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for report in root.descendants().filter(|n| n.has_tag_name("Report")) {
        for host in descendants(report, "ReportHost") {
            let ip = attr(host, "name");
            let fqdn = descendants(host, "HostProperties")
                .flat_map(|p| children(p, "tag"))
                .find(|t| attr(*t, "name") == Some("host-fqdn"))
                .and_then(|t| raw_text(Some(t)));
            for item in descendants(host, "ReportItem") {
                add_item(item, ip, fqdn.as_deref(), &mut findings, &mut index)?;
            }
        }
    }
    Ok(findings)
}

fn add_item(
    item: Node<'_, '_>,
    ip: Option<&str>,
    fqdn: Option<&str>,
    findings: &mut Vec<Finding>,
    index: &mut HashMap<String, usize>,
) -> Result<(), ParseError> {
    let title = attr(item, "pluginName").ok_or_else(|| {
        ParseError::new("Nessus report: a ReportItem has no pluginName attribute")
    })?;
    let port_attr = attr(item, "port").unwrap_or_default();
    let port = if port_attr.trim().is_empty() {
        0
    } else {
        port_attr.trim().parse::<i64>().map_err(|_| {
            ParseError::new(format!(
                "Nessus report: ReportItem {title:?} has port {port_attr:?}, expected a number"
            ))
        })?
    };
    let port = (port != 0).then_some(port);

    let mut protocol = scheme_chars(attr(item, "svc_name").unwrap_or_default());
    if !protocol.is_empty() {
        if protocol == "www" {
            protocol = "http".to_owned();
        }
        if !KNOWN_SCHEMES.contains(&protocol.as_str())
            && let Some(p) = attr(item, "protocol")
        {
            protocol = scheme_chars(p);
        }
    }

    let text = |name: &str| raw_text(child(item, name));
    let mut description = String::new();
    if let Some(s) = text("synopsis") {
        description.push_str(&format!("{s}\n\n"));
    }
    let ip_text = ip.unwrap_or("None");
    let plugin_output = text("plugin_output").map(|o| {
        let at = port.map(|p| format!(":{p}")).unwrap_or_default();
        format!("Plugin Output: {ip_text}{at}\n```\n{o}\n```\n\n")
    });
    if let Some(o) = &plugin_output {
        description.push_str(o);
    }

    let level: i64 = match attr(item, "severity") {
        None => 0,
        Some(s) => s.trim().parse().map_err(|_| {
            ParseError::new(format!(
                "Nessus report: ReportItem {title:?} has severity {s:?}, expected 0-4"
            ))
        })?,
    };
    let mut severity = match level {
        4 => Severity::Critical,
        3 => Severity::High,
        2 => Severity::Medium,
        1 => Severity::Low,
        _ => Severity::Info,
    };
    // A CVSS v3 base score overrides the level, with the reference's bands
    // (Medium from 5.0, not 4.0).
    if let Some(score) = text("cvss3_base_score") {
        let v: f64 = score.trim().parse().map_err(|_| {
            ParseError::new(format!(
                "Nessus report: ReportItem {title:?} has cvss3_base_score {score:?}, expected a number"
            ))
        })?;
        severity = if v >= 9.0 {
            Severity::Critical
        } else if v >= 7.0 {
            Severity::High
        } else if v >= 5.0 {
            Severity::Medium
        } else if v > 0.0 {
            Severity::Low
        } else {
            Severity::Info
        };
    }

    let mut impact = String::new();
    if let Some(d) = text("description") {
        impact.push_str(&format!("{d}\n\n"));
    }
    for (name, label) in [
        ("cvss", "CVSS Score"),
        ("cvssv3", "CVSSv3 Score"),
        ("cvss_vector", "CVSS Vector"),
        ("cvss3_vector", "CVSSv3 Vector"),
        ("cvss_base_score", "CVSS Base Score"),
        ("cvss_temporal_score", "CVSS Temporal Score"),
    ] {
        if let Some(v) = text(name) {
            impact.push_str(&format!("{label}: {v}\n"));
        }
    }
    let mut references = String::new();
    for r in descendants(item, "see_also").filter_map(|n| raw_text(Some(n))) {
        for part in r.split_whitespace() {
            references.push_str(part);
            references.push('\n');
        }
    }
    for x in descendants(item, "xref").filter_map(|n| raw_text(Some(n))) {
        references.push_str(&x);
        references.push('\n');
    }
    // Only the first <cve> of an item counts.
    let cve = text("cve");
    let cwe = text("cwe").and_then(|c| {
        let digits: String = c
            .chars()
            .skip_while(|ch| !ch.is_ascii_digit())
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse::<u32>().ok()
    });
    let cvssv3 = match text("cvss3_vector") {
        Some(v) => {
            let full = if v.contains("CVSS:3.0/") {
                v.clone()
            } else {
                format!("CVSS:3.0/{v}")
            };
            Some(
                cvss3_from_str(&full)
                    .map_err(|e| {
                        ParseError::new(format!(
                            "Nessus report: ReportItem {title:?} has an invalid cvss3_vector {v:?}: {e}"
                        ))
                    })?
                    .vector(),
            )
        }
        None => None,
    };

    let host = fqdn.or(ip).unwrap_or_default();
    let endpoint = match fqdn {
        Some(f) if f.contains("://") => {
            endpoint_from_url(f).unwrap_or_else(|| Endpoint::from_host(f, None))
        }
        _ if protocol == "general" => Endpoint {
            host: host.to_owned(),
            ..Endpoint::default()
        },
        _ => Endpoint {
            protocol: non_empty_str(&protocol),
            host: host.to_owned(),
            port: port.and_then(|p| u16::try_from(p).ok()),
            ..Endpoint::default()
        },
    };

    let key = format!("{}{title}", severity.as_str());
    let i = match index.get(&key) {
        Some(&i) => {
            if let (Some(o), Some(kept)) = (&plugin_output, findings.get_mut(i)) {
                kept.description.push_str("\n\n");
                kept.description.push_str(o);
            }
            i
        }
        None => {
            index.insert(key, findings.len());
            findings.push(Finding {
                title: truncate_chars(title, 511).to_owned(),
                severity,
                description,
                mitigation: Some(text("solution").unwrap_or_else(|| "N/A".to_owned())),
                impact: non_empty_str(&impact),
                references: non_empty_str(&references),
                cwe,
                cvssv3,
                cvssv3_score: text("cvssv3").and_then(|s| s.trim().parse().ok()),
                static_finding: Some(false),
                dynamic_finding: Some(true),
                service: attr(item, "svc_name").map(str::to_owned),
                ..Finding::default()
            });
            findings.len() - 1
        }
    };
    if let Some(kept) = findings.get_mut(i) {
        if let Some(c) = cve {
            kept.vulnerability_ids.push(c);
        }
        kept.endpoints.push(endpoint);
    }
    Ok(())
}
