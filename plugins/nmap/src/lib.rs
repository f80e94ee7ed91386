//! Palisade parser plugin for Nmap XML reports (`nmap -oX`), scan type "Nmap Scan".
//!
//! Every open port becomes an informational "Open port: N/proto" finding (one per
//! port number, with one endpoint per host that has it open), and every entry of
//! the `vulners` NSE script becomes a finding of its own (one per id), its
//! severity from the entry's CVSS score. See FORMAT.md.

use palisade_plugin_sdk::deps::roxmltree::Node;
use palisade_plugin_sdk::findings::Collector;
use palisade_plugin_sdk::markdown::push_field_display;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::xml::{attr, child, children, root_element_is};

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "Nmap Scan";

/// The Nmap XML parser.
pub struct Nmap;

impl Parser for Nmap {
    fn info() -> PluginInfo {
        PluginInfo::single(
            "nmap",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "Nmap XML output (-oX): open ports and vulners script results",
                &["xml"],
                DedupeSetting::new(
                    DedupeAlgorithm::Legacy,
                    &["title", "cwe", "line", "file_path", "description"],
                ),
            ),
        )
    }

    fn detect(_candidates: &[String], head: &[u8]) -> Option<String> {
        (root_element_is(head, "nmaprun")).then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        _scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        parse_report(report)
    }
}

palisade_plugin_sdk::export_parser!(Nmap);

/// Parses a whole Nmap XML report.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = xml_text(report)?;
    let doc = parse_xml(&text)?;
    let root = doc.root_element();
    if !root.tag_name().name().contains("nmaprun") {
        return Err(ParseError::new(format!(
            "not an Nmap XML report: the root element is <{}>, expected <nmaprun>",
            root.tag_name().name()
        )));
    }
    // Open ports merge by port number (across hosts and protocols), vulners
    // entries by their id, as the reference does.
    let mut out = Collector::new();
    for host in children(root, "host") {
        parse_host(host, &mut out)?;
    }
    Ok(out.into_findings())
}

fn parse_host(host: Node<'_, '_>, out: &mut Collector<String>) -> Result<(), ParseError> {
    let ip = children(host, "address")
        .find(|a| attr(*a, "addrtype") == Some("ipv4"))
        .and_then(|a| attr(a, "addr"))
        .ok_or_else(|| {
            ParseError::new(
                "Nmap report: a <host> has no IPv4 <address> (IPv6-only hosts are not supported)",
            )
        })?;
    let mut host_info = format!("### Host\n\n**IP Address:** {ip}\n");
    let hostnames = child(host, "hostnames")
        .ok_or_else(|| ParseError::new(format!("Nmap report: host {ip} has no <hostnames>")))?;
    let mut fqdn = None;
    for h in hostnames.children().filter(Node::is_element) {
        let (Some(kind), Some(name)) = (attr(h, "type"), attr(h, "name")) else {
            return Err(ParseError::new(format!(
                "Nmap report: a hostname of {ip} lacks its type or name"
            )));
        };
        if fqdn.is_none() && kind == "PTR" && h.has_tag_name("hostname") {
            fqdn = Some(name);
        }
        host_info.push_str(&format!("**{kind}:** {name}\n"));
    }
    host_info.push_str("\n\n");
    for os in host.descendants().filter(|n| n.has_tag_name("os")) {
        for m in os.descendants().filter(|n| n.has_tag_name("osmatch")) {
            push_field_display(&mut host_info, "Host OS", attr(m, "name"));
            if let Some(a) = attr(m, "accuracy") {
                host_info.push_str(&format!("**Accuracy:** {a}%\n"));
            }
        }
        host_info.push_str("\n\n");
    }
    let name = fqdn.unwrap_or(ip);
    for ports in children(host, "ports") {
        for port in children(ports, "port") {
            parse_port(port, name, &host_info, out)?;
        }
    }
    Ok(())
}

fn parse_port(
    port: Node<'_, '_>,
    host: &str,
    host_info: &str,
    out: &mut Collector<String>,
) -> Result<(), ParseError> {
    let protocol = attr(port, "protocol").ok_or_else(|| {
        ParseError::new(format!("Nmap report: a <port> of {host} has no protocol"))
    })?;
    let port_no = attr(port, "portid")
        .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|p| p.parse::<u16>().ok());
    let endpoint = Endpoint {
        protocol: Some(protocol.to_owned()),
        ..Endpoint::from_host(host, port_no)
    };
    let state = child(port, "state").ok_or_else(|| {
        ParseError::new(format!("Nmap report: a <port> of {host} has no <state>"))
    })?;
    if attr(state, "state") != Some("open") {
        return Ok(());
    }
    let port_text = port_no.map_or_else(|| "None".to_owned(), |p| p.to_string());
    let mut description = format!("{host_info}**Port/Protocol:** {port_text}/{protocol}\n");
    let service = child(port, "service");
    if let Some(service) = service {
        description.push_str("\n\n");
        for (key, label) in [
            ("product", "Product"),
            ("version", "Version"),
            ("extrainfo", "Extra Info"),
        ] {
            if let Some(v) = attr(service, key) {
                description.push_str(&format!("**{label}:** {v}\n"));
            }
        }
    }
    // Only the port's first script names the finding.
    let first_script = child(port, "script");
    let script_id = first_script
        .and_then(|s| attr(s, "id"))
        .filter(|s| !s.is_empty());
    push_field_display(&mut description, "Script ID", script_id);
    if let Some(o) = first_script
        .and_then(|s| attr(s, "output"))
        .filter(|s| !s.is_empty())
    {
        description.push_str(&format!("**Script Output:** {o}\n"));
    }
    description.push_str("\n\n");
    for script in children(port, "script").filter(|s| attr(*s, "id") == Some("vulners")) {
        vulners(script, &endpoint, out)?;
    }
    let finding = Finding {
        title: format!("Open port: {port_text}/{protocol}"),
        severity: Severity::Info,
        description,
        mitigation: Some("N/A".to_owned()),
        impact: Some("No impact provided".to_owned()),
        vuln_id_from_tool: script_id.map(str::to_owned),
        dynamic_finding: Some(true),
        static_finding: Some(false),
        endpoints: vec![endpoint],
        service: service.and_then(|s| attr(s, "name")).map(str::to_owned),
        ..Finding::default()
    };
    out.add_with(format!("nmap:{port_text}"), finding, |kept, new| {
        kept.description.push_str(&new.description);
        kept.endpoints.extend(new.endpoints);
    });
    Ok(())
}

/// The reference's CVSS bands: 0 Info, <4 Low, <7 Medium, <9 High, else Critical.
fn cvss_band(score: f64) -> Severity {
    if score == 0.0 {
        Severity::Info
    } else if score < 4.0 {
        Severity::Low
    } else if score < 7.0 {
        Severity::Medium
    } else if score < 9.0 {
        Severity::High
    } else {
        Severity::Critical
    }
}

/// One finding per entry of the `vulners` script: `<table key="CPE"><table><elem key="id">…`.
fn vulners(
    script: Node<'_, '_>,
    endpoint: &Endpoint,
    out: &mut Collector<String>,
) -> Result<(), ParseError> {
    for component in children(script, "table") {
        let cpe = attr(component, "key").unwrap_or_default();
        if !cpe.starts_with("cpe:") {
            return Err(ParseError::new(format!(
                "Nmap report: vulners table key {cpe:?} is not a CPE name"
            )));
        }
        let (product, version) = palisade_plugin_sdk::cpe::product_and_version(cpe);
        for vuln in children(component, "table") {
            let mut elems: Vec<(String, String)> = Vec::new();
            for e in children(vuln, "elem") {
                let key = attr(e, "key").unwrap_or_default().to_lowercase();
                let value = e.text().ok_or_else(|| {
                    ParseError::new(format!("Nmap report: vulners entry field {key:?} is empty"))
                })?;
                match elems.iter_mut().find(|(k, _)| *k == key) {
                    Some(slot) => slot.1 = value.to_owned(),
                    None => elems.push((key, value.to_owned())),
                }
            }
            let get = |k: &str| {
                elems
                    .iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.as_str())
            };
            let id = get("id").ok_or_else(|| {
                ParseError::new(format!("Nmap report: a vulners entry for {cpe} has no id"))
            })?;
            let cvss = get("cvss").ok_or_else(|| {
                ParseError::new(format!("Nmap report: vulners entry {id} has no cvss"))
            })?;
            let score: f64 = cvss.trim().parse().map_err(|_| {
                ParseError::new(format!("Nmap report: vulners entry {id} has cvss {cvss:?}"))
            })?;
            let mut description = format!("### Vulnerability\n\n**ID**: `{id}`\n**CPE**: {cpe}\n");
            for (k, v) in &elems {
                description.push_str(&format!("**{k}**: `{v}`\n"));
            }
            let finding = Finding {
                title: id.to_owned(),
                severity: cvss_band(score),
                description,
                references: Some(format!("https://vulners.com/search?query={id}")),
                component_name: product.clone(),
                component_version: version.clone(),
                vuln_id_from_tool: Some(id.to_owned()),
                vulnerability_ids: if get("type") == Some("cve") {
                    vec![id.to_owned()]
                } else {
                    Vec::new()
                },
                nb_occurences: Some(1),
                dynamic_finding: Some(true),
                static_finding: Some(false),
                endpoints: vec![endpoint.clone()],
                ..Finding::default()
            };
            out.add(id.to_owned(), finding, "\n-----\n\n");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Vec<Finding>, ParseError> {
        Nmap::parse(SCAN_TYPE, s.as_bytes(), &Options::default())
    }

    #[test]
    fn empty_run_has_no_findings() {
        assert_eq!(parse("<nmaprun></nmaprun>").unwrap(), vec![]);
    }

    #[test]
    fn malformed_and_foreign_input_is_rejected() {
        assert!(parse("<nmaprun><host>").is_err());
        assert!(parse("<NessusClientData_v2/>").is_err());
        assert!(parse("{\"a\": 1}").is_err());
        assert!(
            Nmap::parse(
                SCAN_TYPE,
                b"<nmaprun>\xff\xfe</nmaprun>",
                &Options::default()
            )
            .is_err()
        );
        let deep = "<a>".repeat(5000);
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        assert!(
            Nmap::detect(
                &c,
                b"<?xml version=\"1.0\"?><!DOCTYPE nmaprun><nmaprun scanner="
            )
            .is_some()
        );
        assert!(Nmap::detect(&c, b"<NessusClientData_v2>").is_none());
    }
}
