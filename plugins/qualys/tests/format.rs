//! One synthetic report per FORMAT.md entry.

use palisade_plugin_qualys::{Qualys, SCAN_TYPE};
use palisade_plugin_sdk::{Finding, Options, ParseError, Parser, Severity};

fn parse_named(name: &str, report: &str) -> Result<Vec<Finding>, ParseError> {
    let opts = Options(vec![("file-name".to_owned(), name.to_owned())]);
    Qualys::parse(SCAN_TYPE, report.as_bytes(), &opts)
}

fn hosts(f: &Finding) -> Vec<&str> {
    f.endpoints.iter().map(|e| e.host.as_str()).collect()
}

const XML: &str = r#"<?xml version="1.0"?>
<ASSET_DATA_REPORT><HOST_LIST>
  <HOST><IP>10.0.0.1</IP><VULN_INFO_LIST>
    <VULN_INFO><QID id="qid_9">9</QID><TYPE>Vuln</TYPE><PORT>22</PORT><VULN_STATUS>Active</VULN_STATUS>
      <LAST_FOUND>2020-01-02T03:04:05Z</LAST_FOUND></VULN_INFO>
    <VULN_INFO><QID id="qid_8">8</QID><TYPE>Ig</TYPE></VULN_INFO>
  </VULN_INFO_LIST></HOST>
  <HOST><IP>10.0.0.2</IP><DNS>b.example</DNS><VULN_INFO_LIST>
    <VULN_INFO><QID id="qid_9">9</QID><VULN_STATUS>Fixed</VULN_STATUS></VULN_INFO>
  </VULN_INFO_LIST></HOST>
</HOST_LIST><GLOSSARY><VULN_DETAILS_LIST>
  <VULN_DETAILS id="qid_9"><QID id="qid_9">9</QID><TITLE>Nine</TITLE><SEVERITY>5</SEVERITY>
    <CVE_ID_LIST><CVE_ID><ID>CVE-2020-1234</ID><URL>http://x</URL></CVE_ID></CVE_ID_LIST></VULN_DETAILS>
  <VULN_DETAILS id="qid_8"><QID id="qid_8">8</QID><TITLE>Eight</TITLE><SEVERITY>7</SEVERITY></VULN_DETAILS>
</VULN_DETAILS_LIST></GLOSSARY></ASSET_DATA_REPORT>"#;

#[test]
fn xml_one_finding_per_detection_keyed_by_glossary_id() {
    let f = parse_named("r.xml", XML).expect("parses");
    assert_eq!(f.len(), 3, "detections are never merged");
    assert_eq!(f[0].title, "QID-9 | Nine");
    assert_eq!(f[0].severity, Severity::Critical);
    assert_eq!(f[0].vulnerability_ids, ["CVE-2020-1234"]);
    assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some("qid_9"));
    assert_eq!(hosts(&f[0]), ["10.0.0.1"]);
    assert_eq!(f[0].endpoints[0].port, None);
    assert_eq!(f[0].active, Some(true));
    assert_eq!(f[0].date.as_deref(), Some("2020-01-02"));
    // A level outside 1-5 is Info.
    assert_eq!(f[1].severity, Severity::Info);
    assert_eq!(f[1].vuln_id_from_tool.as_deref(), Some("qid_8"));
    // The DNS name wins over the IP; a status other than Active/New/Re-Opened is mitigated.
    assert_eq!(hosts(&f[2]), ["b.example"]);
    assert_eq!(f[2].is_mitigated, Some(true));
}

#[test]
fn xml_missing_glossary_or_bad_severity_rejects() {
    let no_entry = XML.replace("<VULN_DETAILS id=\"qid_8\">", "<VULN_DETAILS id=\"qid_7\">");
    assert!(parse_named("r.xml", &no_entry).is_err());
    let bad_level = XML.replace("<SEVERITY>7</SEVERITY>", "<SEVERITY>high</SEVERITY>");
    assert!(parse_named("r.xml", &bad_level).is_err());
    let no_hosts = "<ASSET_DATA_REPORT><HEADER/></ASSET_DATA_REPORT>";
    assert_eq!(parse_named("r.xml", no_hosts).expect("parses"), vec![]);
    assert_eq!(
        parse_named("r.xml", "<WAS_SCAN_REPORT/>").expect("any root"),
        vec![]
    );
}

const CSV_HEADER: &str = "\"IP\",\"DNS\",\"QID\",\"Title\",\"Vuln Status\",\"Severity\",\"Port\",\"FQDN\",\"Date Last Fixed\",\"CVE ID\",\"CVSS3 Base\",\"CVSS3 Temporal\",\"Threat\",\"Impact\",\"Solution\"\n";

#[test]
fn csv_rows_merge_by_qid() {
    let report = format!(
        "{CSV_HEADER}\
\"1.1.1.1\",\"\",\"38140\",\"SSL\",\"New\",\"3\",\"443\",\"\",\"\",\"CVE-2011-3389, CVE-2015-0204\",\"6.7 (AV:L/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H)\",\"\",\"t\",\"i\",\"s\"\n\
\"1.1.1.2\",\"h.example\",\"38140\",\"SSL\",\"New\",\"3\",\"443\",\"\",\"\",\"CVE-2016-1\",\"\",\"\",\"t\",\"i\",\"s\"\n\
\"1.1.1.3\",\"\",\"11\",\"Other\",\"Fixed\",\"5\",\"\",\"\",\"01/02/2020 03:04:05\",\"\",\"\",\"\",\"t\",\"i\",\"s\"\n\
\"Title\",\"\",\"\",\"Title\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\"\n"
    );
    let f = parse_named("export.CSV", &report).expect("parses");
    assert_eq!(f.len(), 2);
    assert_eq!(f[0].title, "QID-38140 | SSL");
    assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some("38140"));
    assert_eq!(f[0].severity, Severity::Medium);
    assert_eq!(
        f[0].vulnerability_ids,
        ["CVE-2011-3389", "CVE-2015-0204", "CVE-2016-1"]
    );
    assert_eq!(hosts(&f[0]), ["1.1.1.1", "h.example"]);
    assert_eq!(f[0].cvssv3_score, Some(6.7));
    assert_eq!(f[1].severity, Severity::Critical);
    assert_eq!(f[1].is_mitigated, Some(true));
}

#[test]
fn csv_fqdn_is_read_as_a_uri() {
    let report = format!(
        "{CSV_HEADER}\
\"1.1.1.1\",\"d.example\",\"1\",\"A\",\"New\",\"2\",\"\",\"f.example\",\"\",\"\",\"\",\"\",\"t\",\"i\",\"s\"\n\
\"1.1.1.1\",\"d.example\",\"2\",\"B\",\"New\",\"2\",\"\",\"https://u.example:8443/\",\"\",\"\",\"\",\"\",\"t\",\"i\",\"s\"\n"
    );
    let f = parse_named("e.csv", &report).expect("parses");
    assert_eq!(f.len(), 2);
    assert_eq!(hosts(&f[0]), [""], "a bare FQDN names no host");
    assert_eq!(f[0].endpoints[0].path.as_deref(), Some("f.example"));
    assert_eq!(hosts(&f[1]), ["u.example"]);
    assert_eq!(f[1].endpoints[0].port, Some(8443));
}

#[test]
fn csv_upper_case_layout() {
    let report = "\"IP\",\"QID\",\"VULN TITLE\",\"SEVERITY\",\"THREAT\",\"IMPACT\",\"SOLUTION\",\"CVEID\",\"LAST SCAN\"\n\
\"10.1.1.1\",\"100\",\"Weak\",\"High\",\"t\",\"i\",\"s\",\"CVE-2020-1\",\"2024-05-06T07:08:09Z\"\n\
\"10.1.1.2\",\"100\",\"Weak\",\"High\",\"t\",\"i\",\"s\",\"CVE-2020-2\",\"\"\n\
\"10.1.1.3\",\"101\",\"Weaker\",\"4\",\"t\",\"i\",\"s\",\"\",\"\"\n";
    let f = parse_named("vm.csv", report).expect("parses");
    assert_eq!(f.len(), 2);
    assert_eq!(f[0].title, "QID-100 | Weak");
    assert_eq!(f[0].severity, Severity::High);
    assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some("100"));
    assert_eq!(f[0].vulnerability_ids, ["CVE-2020-1", "CVE-2020-2"]);
    assert_eq!(hosts(&f[0]), ["10.1.1.1", "10.1.1.2"]);
    assert_eq!(f[0].date.as_deref(), Some("2024-05-06"));
    assert_eq!(f[1].severity, Severity::High);
}

#[test]
fn csv_upper_case_initial_severities() {
    let report = "\"IP\",\"QID\",\"VULN TITLE\",\"SEVERITY\",\"THREAT\",\"IMPACT\",\"SOLUTION\"\n\
\"10.1.1.1\",\"1\",\"A\",\"M\",\"t\",\"i\",\"s\"\n\
\"10.1.1.1\",\"2\",\"B\",\"L\",\"t\",\"i\",\"s\"\n";
    let f = parse_named("hg.csv", report).expect("parses");
    assert_eq!(f[0].severity, Severity::Medium);
    assert_eq!(f[1].severity, Severity::Low);
}

#[test]
fn detect_claims_both_layouts_but_not_hackerguardian() {
    let c = [SCAN_TYPE.to_owned()];
    assert!(Qualys::detect(&c, CSV_HEADER.as_bytes()).is_some());
    assert!(
        Qualys::detect(
            &c,
            b"\"IP\",\"QID\",\"VULN TITLE\",\"SEVERITY\",\"CVEID\"\n"
        )
        .is_some()
    );
    assert!(
        Qualys::detect(
            &c,
            b"\"IP\",\"QID\",\"VULN TITLE\",\"SEVERITY\",\"IS_PCI\",\"Q_SEVERITY\"\n"
        )
        .is_none()
    );
    // VMDR's export has no IP column.
    assert!(
        Qualys::detect(
            &c,
            b"\"CVE\",\"QID\",\"Title\",\"Severity\",\"Asset IPV4\"\n"
        )
        .is_none()
    );
}

#[test]
fn csv_preamble_and_other_rows_give_nothing() {
    let report = "\"Scan Results\",\"x\"\n\"IP\",\"QID\",\"Title\"\n\"1.1.1.1\",\"1\",\"t\"\n";
    assert_eq!(parse_named("s.csv", report).expect("parses"), vec![]);
}

#[test]
fn csv_missing_required_columns_reject() {
    // A "Title" layout without a CVSS3 base column.
    let report = "\"IP\",\"QID\",\"Title\",\"Severity\",\"Threat\",\"Impact\",\"Solution\",\"Vuln Status\",\"Date Last Fixed\"\n\
\"1.1.1.1\",\"1\",\"t\",\"2\",\"t\",\"i\",\"s\",\"New\",\"\"\n";
    assert!(parse_named("s.csv", report).is_err());
    // A bad "Date Last Fixed".
    let report = format!(
        "{CSV_HEADER}\"1.1.1.1\",\"\",\"1\",\"A\",\"Fixed\",\"2\",\"\",\"\",\"2020-01-02\",\"\",\"\",\"\",\"t\",\"i\",\"s\"\n"
    );
    assert!(parse_named("s.csv", &report).is_err());
}

#[test]
fn the_file_name_decides_the_layout() {
    // CSV content in a file not named .csv is read as XML and rejected.
    let report = format!(
        "{CSV_HEADER}\"1.1.1.1\",\"\",\"1\",\"A\",\"New\",\"2\",\"\",\"\",\"\",\"\",\"\",\"\",\"t\",\"i\",\"s\"\n"
    );
    assert!(parse_named("s.txt", &report).is_err());
    let no_name = Qualys::parse(SCAN_TYPE, report.as_bytes(), &Options::default());
    assert_eq!(no_name.expect("sniffed as CSV").len(), 1);
}

#[test]
fn csv_blank_lines_skipped_and_oversized_fields_rejected() {
    let row = "\"1.1.1.1\",\"\",\"7\",\"A\",\"New\",\"2\",\"\",\"\",\"\",\"\",\"\",\"\",\"t\",\"i\",\"s\"\n";
    let report = format!("{CSV_HEADER}\n{row}\n");
    assert_eq!(parse_named("b.csv", &report).expect("parses").len(), 1);
    let huge = row.replace("\"t\"", &format!("\"{}\"", "x".repeat(131_073)));
    assert!(parse_named("b.csv", &format!("{CSV_HEADER}{huge}")).is_err());
}
