//! One synthetic report per FORMAT.md entry.

use palisade_plugin_sdk::{Finding, Options, ParseError, Parser, Severity};
use palisade_plugin_zap::{SCAN_TYPE, Zap};

fn parse_named(name: &str, report: &str) -> Result<Vec<Finding>, ParseError> {
    let opts = Options(vec![("file-name".to_owned(), name.to_owned())]);
    Zap::parse(SCAN_TYPE, report.as_bytes(), &opts)
}

fn alert(id: &str, risk: &str, cwe: &str, instances: &str) -> String {
    format!(
        "<alertitem><pluginid>{id}</pluginid><alert>A{id}</alert><riskcode>{risk}</riskcode>\
         <desc>&lt;p&gt;d&lt;/p&gt;</desc><solution>s</solution><reference>r</reference><cweid>{cwe}</cweid>\
         <instances>{instances}</instances></alertitem>"
    )
}

fn inst(uri: &str) -> String {
    format!("<instance><uri>{uri}</uri><method>GET</method></instance>")
}

#[test]
fn one_finding_per_alert_item() {
    let r = format!(
        "<OWASPZAPReport><site name=\"https://a.example\" host=\"a.example\" port=\"443\"><alerts>{}{}{}{}</alerts></site>\
         <site name=\"http://c\"><alerts>{}</alerts></site></OWASPZAPReport>",
        alert(
            "1",
            "3",
            "614",
            &(inst("https://b.example:8443/x?q=1#f") + &inst("https://b.example:8443/y"))
        ),
        alert("1", "3", "614", &inst("https://b.example/z")),
        alert("2", "0", "-1", ""),
        alert("3", "4", "0", &inst("http://c/")),
        alert("4", "1", "79", &inst("http://c:8080/")),
    );
    let f = parse_named("z.xml", &r).expect("parses");
    assert_eq!(f.len(), 5, "alerts are never merged");
    assert_eq!(f[0].severity, Severity::High);
    assert_eq!(f[0].cwe, Some(614));
    assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some("1"));
    let e: Vec<(&str, Option<u16>)> = f[0]
        .endpoints
        .iter()
        .map(|e| (e.host.as_str(), e.port))
        .collect();
    assert_eq!(e, [("b.example", Some(8443)), ("b.example", Some(8443))]);
    assert_eq!(f[0].endpoints[0].query, None);
    assert_eq!(f[0].endpoints[0].fragment, None);
    // No instance, no endpoint (the site is not used); "-1" is no CWE.
    assert_eq!(f[2].severity, Severity::Info);
    assert!(f[2].endpoints.is_empty());
    assert_eq!(f[2].cwe, None);
    assert_eq!(f[3].severity, Severity::Info);
    assert_eq!(f[4].severity, Severity::Low);
    assert_eq!(f[4].endpoints[0].port, Some(8080));
}

#[test]
fn rejections() {
    let ok = format!(
        "<OWASPZAPReport><site><alerts>{}</alerts></site></OWASPZAPReport>",
        alert("1", "2", "1", &inst("http://a/"))
    );
    assert_eq!(parse_named("z.xml", &ok).expect("parses").len(), 1);
    assert!(
        parse_named("z.XML", &ok).is_err(),
        "the extension is case-sensitive"
    );
    for tag in ["desc", "solution", "reference"] {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        let start = ok.find(&open).expect("tag");
        let end = ok.find(&close).expect("tag") + close.len();
        let without = format!("{}{}", &ok[..start], &ok[end..]);
        assert!(parse_named("z.xml", &without).is_err(), "without <{tag}>");
    }
    let no_uri = ok.replace("<uri>http://a/</uri>", "");
    assert!(parse_named("z.xml", &no_uri).is_err());
    assert!(parse_named("z.xml", "<other/>").expect("parses").is_empty());
}
