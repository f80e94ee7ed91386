//! One synthetic report per FORMAT.md entry.

use palisade_plugin_nmap::{Nmap, SCAN_TYPE};
use palisade_plugin_sdk::{Finding, Options, ParseError, Parser, Severity};

fn parse(s: &str) -> Result<Vec<Finding>, ParseError> {
    Nmap::parse(SCAN_TYPE, s.as_bytes(), &Options::default())
}

fn eps(f: &Finding) -> Vec<(String, Option<u16>, Option<String>)> {
    f.endpoints
        .iter()
        .map(|e| (e.host.clone(), e.port, e.protocol.clone()))
        .collect()
}

#[test]
fn open_ports_merge_by_port_number() {
    let r = r#"<nmaprun start="1600000000">
      <host><address addr="10.0.0.1" addrtype="ipv4"/><hostnames/><ports>
        <port protocol="tcp" portid="53"><state state="open"/><script id="dns-nsid" output="x"/><script id="other"/></port>
        <port protocol="udp" portid="53"><state state="open"/></port>
        <port protocol="tcp" portid="23"><state state="closed"/></port></ports></host>
      <host><address addr="10.0.0.2" addrtype="ipv4"/>
        <hostnames><hostname name="b.example" type="user"/><hostname name="c.example" type="PTR"/></hostnames><ports>
        <port protocol="tcp" portid="22"><state state="open"/><service name="ssh" product="OpenSSH"/></port></ports></host>
    </nmaprun>"#;
    let f = parse(r).expect("parses");
    assert_eq!(f.len(), 2);
    assert_eq!(f[0].title, "Open port: 53/tcp");
    assert_eq!(f[0].severity, Severity::Info);
    assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some("dns-nsid"));
    assert_eq!(
        eps(&f[0]),
        [
            ("10.0.0.1".to_owned(), Some(53), Some("tcp".to_owned())),
            ("10.0.0.1".to_owned(), Some(53), Some("udp".to_owned()))
        ]
    );
    assert_eq!(
        eps(&f[1]),
        [("c.example".to_owned(), Some(22), Some("tcp".to_owned()))]
    );
    assert_eq!(f[1].vuln_id_from_tool, None);
}

#[test]
fn vulners_entries_merge_by_id() {
    let entry = |id: &str, cvss: &str, ty: &str| {
        format!(
            r#"<table><elem key="id">{id}</elem><elem key="cvss">{cvss}</elem><elem key="type">{ty}</elem></table>"#
        )
    };
    let host = |ip: &str| {
        format!(
            r#"<host><address addr="{ip}" addrtype="ipv4"/><hostnames/><ports>
          <port protocol="tcp" portid="22"><state state="open"/>
          <script id="vulners"><table key="cpe:/a:openbsd:openssh:7.4">{}{}{}</table></script></port></ports></host>"#,
            entry("CVE-2020-1", "9.0", "cve"),
            entry("EDB-ID:1", "0.0", "exploitdb"),
            entry("CVE-2020-2", "3.9", "CVE"),
        )
    };
    let r = format!(
        "<nmaprun>{}{}</nmaprun>",
        host("10.0.0.1"),
        host("10.0.0.2")
    );
    let f = parse(&r).expect("parses");
    // Three vulners ids plus the open port.
    assert_eq!(f.len(), 4);
    let v = &f[0];
    assert_eq!(v.title, "CVE-2020-1");
    assert_eq!(v.severity, Severity::Critical);
    assert_eq!(v.vulnerability_ids, ["CVE-2020-1"]);
    assert_eq!(v.component_name.as_deref(), Some("openssh"));
    assert_eq!(v.component_version.as_deref(), Some("7.4"));
    assert_eq!(v.endpoints.len(), 2);
    assert_eq!(v.nb_occurences, Some(2));
    assert_eq!(f[1].severity, Severity::Info);
    assert!(f[1].vulnerability_ids.is_empty());
    // "type" must be exactly "cve".
    assert_eq!(f[2].severity, Severity::Low);
    assert!(f[2].vulnerability_ids.is_empty());
    assert_eq!(f[3].vuln_id_from_tool.as_deref(), Some("vulners"));
}

#[test]
fn rejections() {
    let v6 = r#"<nmaprun><host><address addr="::1" addrtype="ipv6"/><hostnames/></host></nmaprun>"#;
    assert!(parse(v6).is_err());
    let no_hostnames =
        r#"<nmaprun><host><address addr="10.0.0.1" addrtype="ipv4"/></host></nmaprun>"#;
    assert!(parse(no_hostnames).is_err());
    let no_cvss = r#"<nmaprun><host><address addr="10.0.0.1" addrtype="ipv4"/><hostnames/><ports>
      <port protocol="tcp" portid="22"><state state="open"/><script id="vulners">
      <table key="cpe:/a:x:y:1"><table><elem key="id">X-1</elem></table></table></script></port></ports></host></nmaprun>"#;
    assert!(parse(no_cvss).is_err());
    assert!(parse("<nmaprun/>").expect("parses").is_empty());
}
