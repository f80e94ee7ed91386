//! One synthetic report per FORMAT.md entry.

use palisade_plugin_openvas::{OpenVas, SCAN_TYPE};
use palisade_plugin_sdk::{Finding, Options, ParseError, Parser, Severity};

fn parse_named(name: &str, report: &str) -> Result<Vec<Finding>, ParseError> {
    let opts = Options(vec![("file-name".to_owned(), name.to_owned())]);
    OpenVas::parse(SCAN_TYPE, report.as_bytes(), &opts)
}

fn ep(f: &Finding) -> (String, Option<u16>, Option<String>) {
    let e = &f.endpoints[0];
    (e.host.clone(), e.port, e.protocol.clone())
}

const HEADER: &str =
    "IP,Hostname,Port,Port Protocol,CVSS,Severity,NVT Name,Summary,NVT OID,CVEs,CWEID\n";

#[test]
fn csv_columns() {
    let report = format!(
        "{HEADER}\
1.1.1.1,srv,443,tcp,8.0,High,A,s,1.2,\"CVE-2011-3389, CVE-2015-0204\",79\n\
1.1.1.2,,general,tcp,0.0,Log,B,s,1.3,NOCVE,\n\
1.1.1.3,,22,,5.0,medium,C,s,CVE-2014-0160,,x\n"
    );
    let f = parse_named("r.csv", &report).expect("parses");
    assert_eq!(f.len(), 3);
    assert_eq!(f[0].severity, Severity::High);
    assert_eq!(
        ep(&f[0]),
        ("srv".to_owned(), Some(443), Some("tcp".to_owned()))
    );
    assert_eq!(f[0].vulnerability_ids, ["CVE-2011-3389", "CVE-2015-0204"]);
    assert_eq!(f[0].cwe, Some(79));
    assert_eq!(f[0].vuln_id_from_tool, None);
    assert!(f[0].description.contains("**IP**: 1.1.1.1"));
    // "Log" is no severity name; a single CVE value is kept as written.
    assert_eq!(f[1].severity, Severity::Info);
    assert_eq!(f[1].vulnerability_ids, ["NOCVE"]);
    assert_eq!(
        ep(&f[1]),
        ("1.1.1.2".to_owned(), None, Some("tcp".to_owned()))
    );
    // Severity names are case-sensitive; CVEs in the NVT OID count.
    assert_eq!(f[2].severity, Severity::Info);
    assert_eq!(f[2].vulnerability_ids, ["CVE-2014-0160"]);
    assert_eq!(f[2].cwe, None);
    assert_eq!(ep(&f[2]), ("1.1.1.3".to_owned(), Some(22), None));
}

#[test]
fn csv_identical_results_are_one_and_empty_lines_count() {
    let row = "1.1.1.1,,80,tcp,5.0,Medium,A,s,1.2,,\n";
    let report = format!("{HEADER}{row}{row}\n\n1.1.1.1,,81,tcp,5.0,Medium,A,s,1.2,,\n");
    let f = parse_named("r.csv", &report).expect("parses");
    // Two equal rows are one; the empty lines make one empty finding.
    assert_eq!(f.len(), 3);
    assert_eq!(f[1].title, "");
    assert_eq!(ep(&f[2]).1, Some(81));
}

#[test]
fn csv_rejections() {
    assert!(parse_named("r.csv", &format!("{HEADER}1,h,1,tcp,high,High,A,s,1,,\n")).is_err());
    assert!(parse_named("r.csv", "IP,NVT Name\n1,a,extra\n").is_err());
    assert!(
        parse_named("r.CSV", HEADER).is_err(),
        "the extension is case-sensitive"
    );
}

const XML: &str = r#"<report id="x"><report id="x"><results>
  <result id="1"><name>N</name><host>10.0.0.1<asset asset_id="a"/></host><port>general/tcp</port>
    <nvt oid="1.2.3"><name>Nice</name></nvt><threat>Log</threat><severity>0.0</severity></result>
  <result id="2"><name>M</name><host> 10.0.0.2 </host><hostname>h.example</hostname><port>8443/tcp</port>
    <nvt oid="1.2.4"><refs><ref type="cve" id="CVE-2020-1"/></refs></nvt><threat>High</threat></result>
  <result id="3"><host>10.0.0.3</host><port>22/tcp</port><nvt oid="1.2.5"/></result>
</results></report></report>"#;

#[test]
fn xml_results_field_by_field() {
    let f = parse_named("r.xml", XML).expect("parses");
    assert_eq!(f.len(), 3);
    assert_eq!(f[0].title, "N_10.0.0.1_general/tcp");
    assert_eq!(f[0].severity, Severity::Info);
    assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some("1.2.3"));
    assert_eq!(
        ep(&f[0]),
        ("10.0.0.1".to_owned(), None, Some("tcp".to_owned()))
    );
    assert_eq!(f[1].severity, Severity::High);
    assert!(f[1].vulnerability_ids.is_empty(), "no CVEs from XML");
    assert_eq!(
        ep(&f[1]),
        ("h.example".to_owned(), Some(8443), Some("tcp".to_owned()))
    );
    // No name and no threat: the previous result's carry over.
    assert_eq!(
        f[2].title,
        "M_ 10.0.0.2 _h.example_8443/tcp_10.0.0.3_22/tcp"
    );
    assert_eq!(f[2].severity, Severity::High);
    assert_eq!(
        ep(&f[2]),
        ("10.0.0.3".to_owned(), Some(22), Some("tcp".to_owned()))
    );
}

#[test]
fn xml_rejections() {
    assert!(parse_named("r.xml", "<report><results/></report>").is_err());
    assert!(parse_named("r.xml", "<scan><report><results/></report></scan>").is_err());
    let empty_host = XML.replace("<host>10.0.0.3</host>", "<host/>");
    assert!(parse_named("r.xml", &empty_host).is_err());
    let bad_port = XML.replace("22/tcp", "22");
    assert!(parse_named("r.xml", &bad_port).is_err());
    let ok = "<get_reports_response><report><results/></report></get_reports_response>";
    assert_eq!(parse_named("r.xml", ok).expect("parses"), vec![]);
}
