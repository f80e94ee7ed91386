//! One synthetic report per FORMAT.md entry.

use palisade_plugin_burp::{Burp, SCAN_TYPE};
use palisade_plugin_sdk::{Finding, Options, ParseError, Parser, Severity};

fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
    Burp::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
}

fn issue(serial: &str, ty: &str, name: &str, sev: &str, host: &str, location: &str) -> String {
    format!(
        "<issue><serialNumber>{serial}</serialNumber><type>{ty}</type><name>{name}</name>\
         <host ip=\"1.2.3.4\">{host}</host><path><![CDATA[/p]]></path><location><![CDATA[{location}]]></location>\
         <severity>{sev}</severity><confidence>Firm</confidence><issueDetail><![CDATA[<p>d{serial}</p>]]></issueDetail>\
         <vulnerabilityClassifications><![CDATA[<a>CWE-79: x</a> <a>CWE-80</a>]]></vulnerabilityClassifications></issue>"
    )
}

#[test]
fn issues_merge_by_type_only() {
    let r = format!(
        "<issues burpVersion=\"2023\">{}{}{}{}</issues>",
        issue(
            "1",
            "10",
            "A",
            "High",
            "https://h.example:8443",
            "/p [q parameter]"
        ),
        issue(
            "2",
            "10",
            "A renamed",
            "Low",
            "http://g.example",
            "/p [r parameter]"
        ),
        issue("3", "11", "B", "Information", "https://h.example", "/p"),
        issue("4", "12", "C", "Critical", "https://h.example", "/p"),
    );
    let f = parse(&r).expect("parses");
    assert_eq!(f.len(), 3);
    assert_eq!(f[0].title, "A");
    assert_eq!(f[0].severity, Severity::High);
    assert_eq!(f[0].unique_id_from_tool.as_deref(), Some("1"));
    assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some("10"));
    assert_eq!((f[0].cwe, f[0].extra_cwes.clone()), (Some(79), vec![80]));
    let hosts: Vec<(&str, Option<u16>)> = f[0]
        .endpoints
        .iter()
        .map(|e| (e.host.as_str(), e.port))
        .collect();
    assert_eq!(hosts, [("h.example", Some(8443)), ("g.example", None)]);
    assert_eq!(f[0].param.as_deref(), Some("r parameter, q parameter"));
    assert!(f[0].description.starts_with("URL: http://g.example/p"));
    assert_eq!(f[1].severity, Severity::Info);
    assert_eq!(f[2].severity, Severity::Critical);
}

#[test]
fn missing_elements_reject() {
    let full = issue("1", "10", "A", "High", "https://h.example", "/p");
    for tag in ["serialNumber", "type", "location", "confidence"] {
        let open = format!("<{tag}>");
        let start = full.find(&open).expect("tag");
        let close = format!("</{tag}>");
        let end = full.find(&close).expect("tag") + close.len();
        let r = format!("<issues>{}{}</issues>", &full[..start], &full[end..]);
        assert!(parse(&r).is_err(), "without <{tag}>");
    }
    let empty_host = full.replace(">https://h.example<", "><");
    assert!(parse(&format!("<issues>{empty_host}</issues>")).is_err());
}

#[test]
fn any_root_without_issues_is_empty() {
    assert!(
        parse("<issues burpVersion=\"1\"/>")
            .expect("parses")
            .is_empty()
    );
    assert!(parse("<other/>").expect("parses").is_empty());
    assert!(parse("<issues><issue>").is_err());
}
