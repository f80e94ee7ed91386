//! One synthetic report per FORMAT.md entry.

use palisade_plugin_sdk::{Finding, Options, ParseError, Parser, Severity};
use palisade_plugin_tenable::{SCAN_TYPE, Tenable};

fn parse_named(name: &str, report: &str) -> Result<Vec<Finding>, ParseError> {
    let opts = Options(vec![("file-name".to_owned(), name.to_owned())]);
    Tenable::parse(SCAN_TYPE, report.as_bytes(), &opts)
}

fn eps(f: &Finding) -> Vec<(String, Option<u16>, Option<String>)> {
    f.endpoints
        .iter()
        .map(|e| (e.host.clone(), e.port, e.protocol.clone()))
        .collect()
}

const NESSUS: &str = r#"<?xml version="1.0" ?>
<NessusClientData_v2><Report name="r">
  <ReportHost name="10.0.0.1"><HostProperties><tag name="host-ip">10.0.0.1</tag></HostProperties>
    <ReportItem port="0" svc_name="general" protocol="tcp" severity="4" pluginID="1" pluginName="P">
      <cve>CVE-2020-1</cve><cve>CVE-2020-2</cve><cwe>CWE-79</cwe><plugin_output>one</plugin_output></ReportItem>
    <ReportItem port="443" svc_name="www" protocol="tcp" severity="1" pluginID="2" pluginName="Q">
      <cvss3_base_score>5.0</cvss3_base_score><cvss3_vector>AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N</cvss3_vector></ReportItem>
    <ReportItem port="8443" svc_name="pcanywheredata?" protocol="udp" severity="2" pluginID="3" pluginName="R"/>
  </ReportHost>
  <ReportHost name="10.0.0.2"><HostProperties><tag name="host-fqdn">b.example</tag></HostProperties>
    <ReportItem port="22" svc_name="ssh" protocol="tcp" severity="4" pluginID="1" pluginName="P">
      <cve>CVE-2020-3</cve><plugin_output>two</plugin_output></ReportItem>
  </ReportHost>
</Report></NessusClientData_v2>"#;

#[test]
fn nessus_items_merge_by_severity_and_title() {
    let f = parse_named("scan.nessus", NESSUS).expect("parses");
    assert_eq!(f.len(), 3);
    assert_eq!(f[0].title, "P");
    assert_eq!(f[0].severity, Severity::Critical);
    // Only each item's first CVE.
    assert_eq!(f[0].vulnerability_ids, ["CVE-2020-1", "CVE-2020-3"]);
    assert_eq!(f[0].cwe, Some(79));
    assert_eq!(
        eps(&f[0]),
        [
            // "general" is no known scheme: the transport protocol replaces it.
            ("10.0.0.1".to_owned(), None, Some("tcp".to_owned())),
            ("b.example".to_owned(), Some(22), Some("ssh".to_owned()))
        ]
    );
    assert!(f[0].description.contains("two"));
    assert_eq!(f[0].unique_id_from_tool, None);
    assert_eq!(f[0].vuln_id_from_tool, None);
    // cvss3_base_score 5.0 is Medium in the reference's bands; www is http.
    assert_eq!(f[1].severity, Severity::Medium);
    assert_eq!(
        eps(&f[1]),
        [("10.0.0.1".to_owned(), Some(443), Some("http".to_owned()))]
    );
    assert!(f[1].cvssv3.is_some());
    // An unknown service name falls back to the transport protocol.
    assert_eq!(
        eps(&f[2]),
        [("10.0.0.1".to_owned(), Some(8443), Some("udp".to_owned()))]
    );
}

#[test]
fn nessus_rejections() {
    assert!(parse_named("a.xml", "<NessusClientData><Report/></NessusClientData>").is_err());
    let bad_port = NESSUS.replace("port=\"22\"", "port=\"ssh\"");
    assert!(parse_named("a.xml", &bad_port).is_err());
    let bad_vector = NESSUS.replace("AV:N/AC:L/PR:N", "CVSS:3.1/AV:N/AC:L/PR:N");
    assert!(parse_named("a.xml", &bad_vector).is_err());
    assert!(
        parse_named("scan.txt", NESSUS).is_err(),
        "unknown extension"
    );
}

#[test]
fn nessus_csv_rows_merge_per_host_port_and_synopsis() {
    let report = "Plugin ID,CVE,CVSS v2.0 Base Score,Risk,Host,Protocol,Port,Name,Synopsis,Plugin Output,CPE\n\
1,CVE-2020-1,5,Medium,10.0.0.1,tcp,443,P,s,o1,cpe:/a:openbsd:openssh:7.4\n\
1,CVE-2020-2,5,Medium,10.0.0.1,tcp,443,P,s,o2,\n\
1,,5,Medium,10.0.0.2,tcp,443,P,s,,\n\
2,,,None,10.0.0.1,tcp,0,Q,s,,\n\
3,,,,10.0.0.1,udp,53,,s,,\n";
    let f = parse_named("n.csv", report).expect("parses");
    assert_eq!(f.len(), 3);
    assert_eq!(f[0].severity, Severity::Medium);
    assert_eq!(f[0].vulnerability_ids, ["CVE-2020-1", "CVE-2020-2"]);
    assert_eq!(f[0].component_name.as_deref(), Some("openssh"));
    assert_eq!(f[0].component_version.as_deref(), Some("7.4"));
    assert!(f[0].description.contains("o1") && f[0].description.contains("o2"));
    assert_eq!(
        eps(&f[1]),
        [("10.0.0.2".to_owned(), Some(443), Some("tcp".to_owned()))]
    );
    assert_eq!(f[2].severity, Severity::Info);
    assert_eq!(
        eps(&f[2]),
        [("10.0.0.1".to_owned(), None, Some("tcp".to_owned()))]
    );
    assert_eq!(f[0].vuln_id_from_tool, None);
}

#[test]
fn tenable_sc_csv_semicolons_and_host_columns() {
    let report = "\"Plugin\";\"Plugin Name\";\"Severity\";\"IP Address\";\"DNS Name\";\"Protocol\";\"Port\";\"CVE\"\n\
\"1\";\"P\";\"Critical\";\"10.0.0.1\";\"a.example\";\"TCP\";\"1433\";\"cve-2020-1234, CVE-2021-1\"\n\
\"2\";\"Q\";\"3\";\"10.0.0.2\";\"\";\"TCP\";\"\";\"\"\n\
\"3\";\"R\";\"Moderate\";\"10.0.0.3\";\"\";\"TCP\";\"1\";\"\"\n";
    let f = parse_named("sc.CSV", report).expect("parses");
    assert_eq!(f.len(), 3);
    assert_eq!(f[0].severity, Severity::Critical);
    assert_eq!(f[0].vulnerability_ids, ["CVE-2020-1234", "CVE-2021-1"]);
    // No Host column: the DNS name, else the IP address.
    assert_eq!(
        eps(&f[0]),
        [("a.example".to_owned(), Some(1433), Some("tcp".to_owned()))]
    );
    assert_eq!(f[1].severity, Severity::High);
    assert_eq!(
        eps(&f[1]),
        [("10.0.0.2".to_owned(), None, Some("tcp".to_owned()))]
    );
    // Only the five severity names count.
    assert_eq!(f[2].severity, Severity::Info);
}

#[test]
fn tenable_io_csv_columns() {
    let report = "asset.name,asset.host_name,asset.port,severity,definition.cve,definition.synopsis,protocol\n\
plugin,h.example,8080,high,CVE-2022-9,s,TCP\n";
    let f = parse_named("io.csv", report).expect("parses");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].title, "plugin");
    assert_eq!(f[0].severity, Severity::High);
    assert_eq!(f[0].vulnerability_ids, ["CVE-2022-9"]);
    assert_eq!(
        eps(&f[0]),
        [("h.example".to_owned(), Some(8080), Some("tcp".to_owned()))]
    );
}

#[test]
fn csv_rejections() {
    // A preamble line before the header: no title column on the first line.
    let preamble = "Report generated 2024-01-01\nPlugin ID,Risk,Host,Port,Name\n1,High,h,1,n\n";
    assert!(parse_named("p.csv", preamble).is_err());
    let bad_port = "Name,Host,Port\nn,h,https\n";
    assert!(parse_named("p.csv", bad_port).is_err());
    let bad_vector = "Name,Host,CVSS V3 Vector\nn,h,CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\n";
    assert!(parse_named("p.csv", bad_vector).is_err());
    let url_host = "Name,Host,Port\nn,https://w.example:8443/x,\n";
    let f = parse_named("p.csv", url_host).expect("parses");
    assert_eq!(
        eps(&f[0]),
        [("w.example".to_owned(), Some(8443), Some("https".to_owned()))]
    );
}

#[test]
fn csv_quoting_and_blank_lines_read_as_python_does() {
    let report = "Name,Host,Port\n\"P \"\"quoted\"\"\",h,1\n\n\"Q\"x,h,2\n\"multi\nline\",h,3\n";
    let f = parse_named("q.csv", report).expect("parses");
    let titles: Vec<&str> = f.iter().map(|x| x.title.as_str()).collect();
    assert_eq!(titles, ["P \"quoted\"", "Qx", "multi\nline"]);
    // A blank first line is the (empty) header: no title column.
    assert!(parse_named("q.csv", "\nName,Host\nn,h\n").is_err());
}
