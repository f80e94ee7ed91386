//! Palisade parser plugin for Nmap XML reports (`nmap -oX`), scan type "Nmap Scan".
//!
//! Every open port becomes an informational "Open port: N/proto" finding (one per
//! port and protocol, with one endpoint per host that has it open), and every
//! entry of the `vulners` NSE script becomes a finding of its own, its severity
//! from the entry's CVSS score.

use palisade_plugin_sdk::deps::roxmltree::Node;
use palisade_plugin_sdk::findings::Collector;
use palisade_plugin_sdk::markdown::push_field;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::xml::{attr, child, children, root_element_is};

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "Nmap Scan";

/// The Nmap XML parser.
pub struct Nmap;

impl Parser for Nmap {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "nmap".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "Nmap XML output (-oX): open ports and vulners script results"
                    .to_owned(),
                file_kinds: vec!["xml".to_owned()],
                dedupe: DedupeSetting::new(
                    DedupeAlgorithm::Legacy,
                    &["title", "cwe", "line", "file_path", "description"],
                ),
            }],
        }
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        (candidates.iter().any(|c| c == SCAN_TYPE) && root_element_is(head, "nmaprun"))
            .then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        if scan_type != SCAN_TYPE {
            return Err(ParseError::new(format!(
                "the nmap plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
        parse_report(report)
    }
}

palisade_plugin_sdk::export_parser!(Nmap);

/// Findings collected so far, in first-seen order, with an index by merge key.
/// Parses a whole Nmap XML report.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = xml_text(report)?;
    let doc = parse_xml(&text)?;
    let root = doc.root_element();
    if root.tag_name().name() != "nmaprun" {
        return Err(ParseError::new(format!(
            "not an Nmap XML report: the root element is <{}>, expected <nmaprun>",
            root.tag_name().name()
        )));
    }
    // The same open port or vulnerability on several hosts is one finding
    // with several endpoints, as a person triaging wants it.
    let mut out = Collector::new();
    for host in children(root, "host") {
        parse_host(host, &mut out);
    }
    Ok(out.into_findings())
}

/// The name a host is known by: its reverse-DNS (PTR) name, else its IPv4, IPv6 or other address.
fn host_name(host: Node<'_, '_>) -> Option<String> {
    let ptr = child(host, "hostnames").and_then(|hs| {
        children(hs, "hostname")
            .find(|h| attr(*h, "type") == Some("PTR"))
            .and_then(|h| attr(h, "name"))
    });
    let address = |kind: &str| {
        children(host, "address")
            .find(|a| attr(*a, "addrtype") == Some(kind))
            .and_then(|a| attr(a, "addr"))
    };
    ptr.or_else(|| address("ipv4"))
        .or_else(|| address("ipv6"))
        .or_else(|| children(host, "address").find_map(|a| attr(a, "addr")))
        .map(str::to_owned)
}

fn parse_host(host: Node<'_, '_>, out: &mut Collector<String>) {
    let Some(name) = host_name(host) else {
        // A host element without any address cannot be located; nothing to report.
        return;
    };
    let mut host_info = String::from("### Host\n\n");
    let ip = children(host, "address")
        .find(|a| attr(*a, "addrtype") != Some("mac"))
        .and_then(|a| attr(a, "addr"));
    if let Some(ip) = ip {
        host_info.push_str(&format!("**IP Address:** {ip}\n"));
    }
    if ip != Some(name.as_str()) {
        host_info.push_str(&format!("**FQDN:** {name}\n"));
    }
    if let Some(os) = host
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == "osmatch")
        .and_then(|o| attr(o, "name"))
    {
        host_info.push_str(&format!("**OS:** {os}\n"));
    }
    let Some(ports) = child(host, "ports") else {
        return;
    };
    for port in children(ports, "port") {
        let state = child(port, "state").and_then(|s| attr(s, "state"));
        if state != Some("open") {
            continue;
        }
        let protocol = attr(port, "protocol").unwrap_or("tcp").to_lowercase();
        let port_id = attr(port, "portid");
        let port_no = port_id.and_then(|p| p.parse::<u16>().ok());
        let endpoint = Endpoint {
            protocol: Some(protocol.clone()),
            ..Endpoint::from_host(&name, port_no)
        };
        let port_label = format!("{}/{protocol}", port_id.unwrap_or("?"));

        let mut description = host_info.clone();
        description.push_str(&format!("\n**Port/Protocol:** {port_label}\n"));
        let service = child(port, "service");
        if let Some(service) = service {
            for (key, label) in [
                ("name", "Service"),
                ("product", "Product"),
                ("version", "Version"),
                ("extrainfo", "Extra Info"),
            ] {
                push_field(&mut description, label, attr(service, key));
            }
        }
        let mut last_script = None;
        for script in children(port, "script") {
            let id = attr(script, "id");
            if let Some(id) = id {
                description.push_str(&format!("**Script ID:** {id}\n"));
                last_script = Some(id.to_owned());
            }
            if let Some(output) = attr(script, "output") {
                description.push_str(&format!("**Script Output:** {output}\n"));
            }
            if id == Some("vulners") {
                vulners(script, &endpoint, out);
            }
        }
        let finding = Finding {
            title: format!("Open port: {port_label}"),
            severity: Severity::Info,
            description,
            mitigation: Some("Close the port if the service is not needed.".to_owned()),
            vuln_id_from_tool: last_script,
            dynamic_finding: Some(true),
            static_finding: Some(false),
            endpoints: vec![endpoint.clone()],
            service: service.and_then(|s| attr(s, "name")).map(str::to_owned),
            ..Finding::default()
        };
        out.add(format!("port:{port_label}"), finding, "\n\n");
    }
}

/// One finding per entry of the `vulners` script: `<table key="CPE"><table><elem key="id">…`.
fn vulners(script: Node<'_, '_>, endpoint: &Endpoint, out: &mut Collector<String>) {
    for component in children(script, "table") {
        let cpe = attr(component, "key").unwrap_or_default();
        let (product, version) = palisade_plugin_sdk::cpe::product_and_version(cpe);
        for vuln in children(component, "table") {
            let elems: Vec<(String, String)> = children(vuln, "elem")
                .filter_map(|e| {
                    let key = attr(e, "key")?.to_lowercase();
                    Some((key, e.text().unwrap_or_default().trim().to_owned()))
                })
                .collect();
            let get = |k: &str| {
                elems
                    .iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.as_str())
                    .filter(|v| !v.is_empty())
            };
            let Some(id) = get("id") else { continue };
            let mut description = format!("### Vulnerability\n\n**ID:** `{id}`\n");
            if !cpe.is_empty() {
                description.push_str(&format!("**CPE:** {cpe}\n"));
            }
            for (k, v) in &elems {
                if k != "id" {
                    description.push_str(&format!("**{k}:** `{v}`\n"));
                }
            }
            let is_cve = get("type").is_some_and(|t| t.eq_ignore_ascii_case("cve"));
            let finding = Finding {
                title: id.to_owned(),
                // A vulners entry without a readable CVSS (v2) score is informational.
                severity: get("cvss")
                    .and_then(|s| s.trim().parse::<f32>().ok())
                    .map_or(Severity::Info, severity_from_cvss),
                description,
                references: Some(format!("https://vulners.com/search?query={id}")),
                component_name: product.clone(),
                component_version: version.clone(),
                vuln_id_from_tool: Some(id.to_owned()),
                vulnerability_ids: if is_cve {
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
            out.add(format!("vulners:{id}"), finding, "\n\n");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
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
    fn closed_ports_are_skipped_and_open_ports_merge_across_hosts() {
        let r = r#"<nmaprun>
          <host><address addr="10.0.0.1" addrtype="ipv4"/><ports>
            <port protocol="tcp" portid="22"><state state="open"/></port>
            <port protocol="tcp" portid="23"><state state="closed"/></port></ports></host>
          <host><address addr="10.0.0.2" addrtype="ipv4"/>
            <hostnames><hostname name="b.example" type="PTR"/></hostnames><ports>
            <port protocol="tcp" portid="22"><state state="open"/></port></ports></host>
        </nmaprun>"#;
        let f = parse(r).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].title, "Open port: 22/tcp");
        let hosts: Vec<_> = f[0].endpoints.iter().map(|e| e.host.as_str()).collect();
        assert_eq!(hosts, ["10.0.0.1", "b.example"]);
    }

    #[test]
    fn vulners_entries_without_score_are_info() {
        let r = r#"<nmaprun><host><address addr="::1" addrtype="ipv6"/><ports>
          <port protocol="tcp" portid="22"><state state="open"/>
          <script id="vulners"><table key="cpe:2.3:a:openbsd:openssh:8.0:*:*:*:*:*:*:*">
            <table><elem key="id">CVE-2020-1</elem><elem key="type">cve</elem></table>
            <table><elem key="cvss">9.8</elem><elem key="id">EDB-ID:1</elem></table>
            <table><elem key="cvss">9.8</elem></table>
          </table></script></port></ports></host></nmaprun>"#;
        let f = parse(r).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].severity, Severity::Info);
        assert_eq!(f[0].vulnerability_ids, ["CVE-2020-1"]);
        assert_eq!(f[0].component_name.as_deref(), Some("openssh"));
        assert_eq!(f[0].component_version.as_deref(), Some("8.0"));
        assert_eq!(f[1].severity, Severity::Critical);
        assert!(f[1].vulnerability_ids.is_empty());
        assert_eq!(f[2].vuln_id_from_tool.as_deref(), Some("vulners"));
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
        assert!(Nmap::detect(&[], b"<nmaprun>").is_none());
    }
}
