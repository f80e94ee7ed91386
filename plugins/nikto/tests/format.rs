//! One synthetic report per FORMAT.md entry.

use palisade_plugin_nikto::{Nikto, SCAN_TYPE};
use palisade_plugin_sdk::{Finding, Options, ParseError, Parser, Severity};

fn parse_named(name: &str, report: &str) -> Result<Vec<Finding>, ParseError> {
    let opts = Options(vec![("file-name".to_owned(), name.to_owned())]);
    Nikto::parse(SCAN_TYPE, report.as_bytes(), &opts)
}

#[test]
fn json_merges_by_severity_and_message() {
    let r = r#"[{"host":"h.example","ip":"1.2.3.4","port":"8443","banner":"x","vulnerabilities":[
        {"id":"1","OSVDB":"3092","method":"GET","url":"/p/","msg":"m"},
        {"id":"2","OSVDB":"0","url":"/a","msg":"dup"},
        {"id":"3","OSVDB":"0","url":"/b","msg":"dup"},
        {"id":"4","OSVDB":"77","url":"/c","msg":"dup"}]}]"#;
    let f = parse_named("n.json", r).expect("parses");
    assert_eq!(f.len(), 3);
    assert_eq!(f[0].severity, Severity::Medium);
    assert_eq!(f[0].unique_id_from_tool.as_deref(), Some("OSVDB-3092"));
    assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some("1"));
    assert_eq!(f[0].endpoints[0].host, "h.example");
    assert_eq!(f[0].endpoints[0].port, Some(8443));
    // Two Info "dup" items are one finding without tool ids; the Medium one is another.
    assert_eq!(f[1].severity, Severity::Info);
    assert_eq!(f[1].endpoints.len(), 2);
    assert_eq!(f[1].nb_occurences, Some(2));
    assert_eq!(f[1].vuln_id_from_tool, None);
    assert_eq!(f[2].severity, Severity::Medium);
}

#[test]
fn json_rejections() {
    assert!(parse_named("n.json", "[{},{}]").is_err());
    assert!(parse_named("n.json", r#"{"port":"http","vulnerabilities":[]}"#).is_err());
    assert!(parse_named("n.json", r#"{"vulnerabilities":[{"id":"1"}]}"#).is_err());
    assert!(parse_named("n.json", r#"{"vulnerabilities":[{"msg":"m","OSVDB":5}]}"#).is_err());
    assert!(parse_named("n.txt", r#"{"vulnerabilities":[]}"#).is_err());
    assert!(
        parse_named("n.json", r#"{"other":1}"#)
            .expect("parses")
            .is_empty()
    );
}

#[test]
fn xml_nested_scans_titles_and_identical_items() {
    let item = |id: &str, osvdb: &str, link: &str, text: &str| {
        format!(
            r#"<item id="{id}" osvdbid="{osvdb}" method="GET"><description><![CDATA[{text}]]></description><iplink><![CDATA[{link}]]></iplink></item>"#
        )
    };
    let r = format!(
        "<niktoscan><niktoscan><scandetails>{}{}{}</scandetails></niktoscan><niktoscan><scandetails>{}</scandetails></niktoscan></niktoscan>",
        item(
            "5",
            "0",
            "http://10.0.0.1:80/x",
            "First, e.g. this. Second part."
        ),
        item(
            "5",
            "0",
            "http://10.0.0.1:80/x",
            "First, e.g. this. Second part."
        ),
        item("6", "3", "https://h.example/y", "Mr. Smith was here? yes"),
        item("7", "0", "http://10.0.0.2/", "Other host."),
    );
    let f = parse_named("n.xml", &r).expect("parses");
    assert_eq!(f.len(), 3);
    assert_eq!(f[0].title, "First, e.g. this.");
    assert_eq!(f[0].nb_occurences, Some(2));
    assert_eq!(f[0].endpoints[0].port, Some(80));
    assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some("5"));
    assert_eq!(f[1].title, "Mr. Smith was here?");
    assert_eq!(f[1].severity, Severity::Medium);
    assert_eq!(f[1].unique_id_from_tool, None);
    assert_eq!(f[2].endpoints[0].host, "10.0.0.2");
}

#[test]
fn xml_root_scandetails_wins_and_description_is_required() {
    let r = r#"<niktoscan><scandetails><item id="1"><description>A.</description></item></scandetails>
      <niktoscan><scandetails><item id="2"><description>B.</description></item></scandetails></niktoscan></niktoscan>"#;
    let f = parse_named("n.xml", r).expect("parses");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some("1"));
    assert!(
        parse_named(
            "n.xml",
            "<niktoscan><scandetails><item id=\"1\"/></scandetails></niktoscan>"
        )
        .is_err()
    );
}
