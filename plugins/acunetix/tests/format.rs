//! One synthetic report per FORMAT.md entry.

use palisade_plugin_acunetix::{Acunetix, SCAN_TYPE};
use palisade_plugin_sdk::{Finding, Options, ParseError, Parser, Severity};

fn parse_named(name: &str, report: &str) -> Result<Vec<Finding>, ParseError> {
    let opts = Options(vec![("file-name".to_owned(), name.to_owned())]);
    Acunetix::parse(SCAN_TYPE, report.as_bytes(), &opts)
}

fn eps(f: &Finding) -> Vec<(String, Option<u16>, Option<String>)> {
    f.endpoints
        .iter()
        .map(|e| (e.host.clone(), e.port, e.path.clone()))
        .collect()
}

fn item(name: &str, sev: &str, affects: &str, impact: &str) -> String {
    format!(
        "<ReportItem><Name>{name}</Name><Severity>{sev}</Severity><Affects>{affects}</Affects>\
         <Description>d</Description><Impact>{impact}</Impact><CWEList><CWE id=\"79\">CWE-79</CWE></CWEList></ReportItem>"
    )
}

#[test]
fn xml_items_merge_by_name_impact_recommendation() {
    let r = format!(
        "<ScanGroup><Scan><StartURL>https://h.example:8443/</StartURL><StartTime>25/06/2021, 10:00:00</StartTime><ReportItems>{}{}{}{}{}</ReportItems></Scan></ScanGroup>",
        item("N", "high", "/a", "i"),
        item("N", "high", "/b", "i"),
        item("N", "high", "/c", "other"),
        item("M", "High", "/d", "i"),
        item("O", "informational", "/e", "i"),
    );
    let f = parse_named("r.xml", &r).expect("parses");
    assert_eq!(f.len(), 4);
    assert_eq!(f[0].severity, Severity::High);
    assert_eq!(f[0].cwe, Some(79));
    assert_eq!(f[0].nb_occurences, Some(2));
    assert_eq!(
        eps(&f[0]),
        [
            ("h.example".to_owned(), Some(8443), Some("/a".to_owned())),
            ("h.example".to_owned(), Some(8443), Some("/b".to_owned()))
        ]
    );
    assert!(f[0].vulnerability_ids.is_empty());
    assert_eq!(f[0].date.as_deref(), Some("2021-06-25"));
    // Severity words are case-sensitive; unknown ones are Critical.
    assert_eq!(f[2].severity, Severity::Critical);
    assert_eq!(f[3].severity, Severity::Info);
}

#[test]
fn xml_start_url_without_scheme_and_default_port() {
    let r = format!(
        "<ScanGroup><Scan><StartURL>h.example</StartURL><ReportItems>{}</ReportItems></Scan>\
         <Scan><StartURL>http://g.example</StartURL><ReportItems>{}</ReportItems></Scan></ScanGroup>",
        item("N", "low", "/a", "i"),
        item("P", "low", "/", "i"),
    );
    let f = parse_named("r.xml", &r).expect("parses");
    assert_eq!(
        eps(&f[0]),
        [("h.example".to_owned(), None, Some("/a".to_owned()))]
    );
    assert_eq!(f[0].endpoints[0].protocol, None);
    assert_eq!(f[1].endpoints[0].port, Some(80));
}

#[test]
fn xml_rejections() {
    let no_start = format!(
        "<ScanGroup><Scan><ReportItems>{}</ReportItems></Scan></ScanGroup>",
        item("N", "low", "/a", "i")
    );
    assert!(parse_named("r.xml", &no_start).is_err());
    let bad_cwe = format!(
        "<ScanGroup><Scan><StartURL>h</StartURL><ReportItems>{}</ReportItems></Scan></ScanGroup>",
        item("N", "low", "/a", "i").replace(">CWE-79<", ">79<")
    );
    assert!(parse_named("r.xml", &bad_cwe).is_err());
    assert!(parse_named("r.txt", "<ScanGroup/>").is_err());
    assert!(parse_named("r.xml", "<Other/>").expect("parses").is_empty());
}

fn vuln(name: &str, sev: &str, url: &str) -> String {
    format!(
        r#"{{"Name":"{name}","Severity":"{sev}","Url":"{url}","Classification":{{"Cwe":"89, 90","Cvss":null}},
            "RemedialProcedure":null,"RemedyReferences":null,"Impact":null,"State":"Present",
            "HttpRequest":{{"Content":"GET /"}},"HttpResponse":{{"Content":""}},"LookupId":"x"}}"#
    )
}

#[test]
fn json_vulnerabilities_merge_by_name() {
    let r = format!(
        r#"{{"Generated":"25/06/2021 09:59 AM","Vulnerabilities":[{},{},{},{}]}}"#,
        vuln("A", "High", "https://t.example/a"),
        vuln("A", "Critical", "https://t.example/b"),
        vuln("B", "BestPractice", "http://t.example:8080/"),
        vuln("C", "critical", "http://t.example/"),
    );
    let f = parse_named("a360.json", &r).expect("parses");
    assert_eq!(f.len(), 3);
    assert_eq!(f[0].severity, Severity::High);
    assert_eq!(f[0].endpoints.len(), 2);
    assert_eq!(f[0].cwe, Some(89));
    assert_eq!(f[0].extra_cwes, [90]);
    assert_eq!(f[1].severity, Severity::Info);
    assert_eq!(f[1].endpoints[0].port, Some(8080));
    assert_eq!(
        f[2].severity,
        Severity::Info,
        "severity names are case-sensitive"
    );
}

#[test]
fn json_required_keys() {
    let missing_state =
        vuln("A", "High", "https://t.example/a").replace(r#""State":"Present","#, "");
    let r = format!(r#"{{"Generated":"x","Vulnerabilities":[{missing_state}]}}"#);
    assert!(parse_named("a.json", &r).is_err());
    let no_cvss_key = vuln("A", "High", "https://t.example/a").replace(r#","Cvss":null"#, "");
    let r = format!(r#"{{"Generated":"x","Vulnerabilities":[{no_cvss_key}]}}"#);
    assert!(parse_named("a.json", &r).is_err());
    assert!(parse_named("a.json", r#"{"Vulnerabilities":[]}"#).is_err());
    assert!(
        parse_named("a.json", r#"{"Generated":"x","Vulnerabilities":[]}"#)
            .expect("ok")
            .is_empty()
    );
}

#[test]
fn json_states() {
    let accepted = vuln("A", "High", "https://t.example/a")
        .replace("\"Present\"", "\"Present, AcceptedRisk\"");
    let fp = vuln("B", "High", "https://t.example/a").replace("\"Present\"", "\"FalsePositive\"");
    let r = format!(r#"{{"Generated":"x","Vulnerabilities":[{accepted},{fp}]}}"#);
    let f = parse_named("a.json", &r).expect("parses");
    assert_eq!(f[0].risk_accepted, Some(true));
    assert_eq!(f[1].false_p, Some(true));
}
