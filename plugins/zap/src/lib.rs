//! Palisade parser plugin for OWASP ZAP ("ZAP Scan") XML reports.
//!
//! The report is `<OWASPZAPReport><site name=".." host=".." port=".."><alerts>
//! <alertitem>...</alertitem></alerts></site>...</OWASPZAPReport>`. Every
//! `alertitem` becomes one finding (never merged); its `instances/instance/uri`
//! values become the finding's endpoints (an alert without instances has
//! none, as in the reference). See FORMAT.md.

use std::collections::HashSet;

use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::xml::{Node, child, child_text, children, root_element_is};

/// The scan type this plugin handles (DefectDojo's name).
pub const SCAN_TYPE: &str = "ZAP Scan";

/// The root element of every ZAP XML report.
const ROOT: &str = "OWASPZAPReport";

/// How many instances are listed in a description before eliding the rest:
/// some alerts have thousands, and the endpoints already carry every URI.
const MAX_LISTED_INSTANCES: usize = 25;

/// The ZAP XML parser.
pub struct Zap;

impl Parser for Zap {
    fn info() -> PluginInfo {
        PluginInfo::single(
            "zap",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "OWASP ZAP XML report (traditional and xml-plus)",
                &["xml"],
                DedupeSetting {
                    allows_null_cwe: false,
                    ..DedupeSetting::hash_code(&["title", "cwe", "severity"])
                },
            ),
        )
    }

    fn detect(_candidates: &[String], head: &[u8]) -> Option<String> {
        (root_element_is(head, ROOT)).then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        _scan_type: &str,
        report: &[u8],
        options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        // The reference accepts only file names ending in ".xml".
        if let Some(name) = options.get("file-name")
            && !name.ends_with(".xml")
        {
            return Err(ParseError::new(format!(
                "wrong file format: {name:?} does not end in .xml (ZAP reports are imported as XML)"
            )));
        }
        parse_report(report)
    }
}

palisade_plugin_sdk::export_parser!(Zap);

/// Parses a whole ZAP XML report.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = xml_text(report)?;
    let doc = parse_xml(&text)?;
    // Like the reference, every `site` child of the root counts, whatever the root.
    let root = doc.root_element();
    let mut findings = Vec::new();
    for site in children(root, "site") {
        for alerts in children(site, "alerts") {
            for item in children(alerts, "alertitem") {
                findings.push(alert_finding(item)?);
            }
        }
    }
    Ok(findings)
}

/// ZAP's numeric risk code: 0 informational, 1 low, 2 medium, 3 high; the
/// reference has no severity for anything else, which is kept as Info.
fn severity(item: Node<'_, '_>) -> Severity {
    match child_text(item, "riskcode").as_deref() {
        Some("0") => Severity::Info,
        Some("1") => Severity::Low,
        Some("2") => Severity::Medium,
        Some("3") => Severity::High,
        _ => Severity::Info,
    }
}

/// An element the reference cannot do without (it converts its text).
fn required_text(item: Node<'_, '_>, name: &str, title: &str) -> Result<String, ParseError> {
    child(item, name)
        .map(|n| n.text().unwrap_or_default().to_owned())
        .ok_or_else(|| {
            ParseError::new(format!("the ZAP alert {title:?} has no <{name}>"))
                .at_path(palisade_plugin_sdk::xml::element_path(item))
        })
}

/// Reads one `alertitem` into a finding.
fn alert_finding(item: Node<'_, '_>) -> Result<Finding, ParseError> {
    let title = child_text(item, "alert").unwrap_or_default();
    let severity = severity(item);
    let desc = required_text(item, "desc", &title)?;
    let solution = required_text(item, "solution", &title)?;
    let reference = required_text(item, "reference", &title)?;
    let plugin_id = child_text(item, "pluginid");

    let mut endpoints: Vec<Endpoint> = Vec::new();
    // Alerts can have thousands of instances: dedupe through a set, not a scan.
    let mut seen: HashSet<Endpoint> = HashSet::new();
    let mut instance_lines = Vec::new();
    let mut instance_count = 0usize;
    let mut first_param = None;
    for inst in child(item, "instances")
        .into_iter()
        .flat_map(|i| children(i, "instance"))
    {
        instance_count += 1;
        if child(inst, "uri").is_none() {
            return Err(ParseError::new(format!(
                "the ZAP alert {title:?} has an instance without <uri>"
            )));
        }
        let uri = child_text(inst, "uri");
        // Query and fragment are dropped: ZAP generates them on the fly and
        // they would make every request a location of its own.
        if let Some(ep) = uri.as_deref().and_then(endpoint_from_url).map(|mut e| {
            e.query = None;
            e.fragment = None;
            e
        }) && seen.insert(ep.clone())
        {
            endpoints.push(ep);
        }
        let param = child_text(inst, "param");
        if first_param.is_none() {
            first_param.clone_from(&param);
        }
        if instance_lines.len() < MAX_LISTED_INSTANCES {
            instance_lines.push(instance_line(inst, uri.as_deref(), param.as_deref()));
        }
    }
    let mut description = html_to_text(&desc);
    if let Some(other) = child_text(item, "otherinfo").map(|o| html_to_text(&o))
        && !other.is_empty()
    {
        description.push_str("\n\nOther information:\n");
        description.push_str(&other);
    }
    if !instance_lines.is_empty() {
        description.push_str("\n\nInstances:\n");
        description.push_str(&instance_lines.join("\n"));
        if instance_count > instance_lines.len() {
            description.push_str(&format!(
                "\n- ... and {} more",
                instance_count - instance_lines.len()
            ));
        }
    }

    let cwe = child(item, "cweid")
        .and_then(|c| c.text())
        .filter(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|c| c.parse::<u32>().ok())
        .filter(|&c| c > 0);
    let mut references = Some(html_to_text(&reference));
    if let Some(wasc) = child_text(item, "wascid").filter(|w| w != "-1" && w != "0") {
        let line = format!("WASC-{wasc}");
        references = Some(match references {
            Some(r) if !r.is_empty() => format!("{r}\n{line}"),
            _ => line,
        });
    }

    Ok(Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity,
        description,
        mitigation: non_empty_str(&html_to_text(&solution)),
        references: references.filter(|r| !r.is_empty()),
        cwe,
        vuln_id_from_tool: plugin_id,
        static_finding: Some(false),
        dynamic_finding: Some(true),
        endpoints,
        param: first_param,
        nb_occurences: u32::try_from(instance_count).ok().filter(|&n| n > 0),
        ..Finding::default()
    })
}

/// One "- METHOD uri (param: p, attack: a, evidence: e)" line of the description.
fn instance_line(inst: Node<'_, '_>, uri: Option<&str>, param: Option<&str>) -> String {
    let mut line = String::from("- ");
    if let Some(m) = child_text(inst, "method") {
        line.push_str(&m);
        line.push(' ');
    }
    line.push_str(uri.unwrap_or("(no URI)"));
    let mut extras = Vec::new();
    if let Some(p) = param {
        extras.push(format!("param: {p}"));
    }
    for (name, label) in [("attack", "attack"), ("evidence", "evidence")] {
        if let Some(v) = child_text(inst, name) {
            extras.push(format!("{label}: {}", truncate_chars(&v, 200)));
        }
    }
    if !extras.is_empty() {
        line.push_str(" (");
        line.push_str(&extras.join(", "));
        line.push(')');
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        Zap::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    const ONE: &str = r#"<?xml version="1.0"?><OWASPZAPReport version="2.9.0">
<site name="https://a.example" host="a.example" port="443" ssl="true"><alerts>
<alertitem><pluginid>10011</pluginid><alert>Cookie</alert><riskcode>3</riskcode>
<desc>&lt;p&gt;Bad&lt;/p&gt;</desc><solution/><reference/><cweid>614</cweid>
<instances><instance><uri>https://b.example:8443/x</uri><method>GET</method><param>p</param></instance>
<instance><uri>https://b.example:8443/x</uri></instance></instances></alertitem>
</alerts></site></OWASPZAPReport>"#;

    #[test]
    fn info_declares_the_scan_type() {
        let info = Zap::info();
        assert_eq!(info.scan_types[0].name, SCAN_TYPE);
        assert!(!info.scan_types[0].dedupe.allows_null_cwe);
    }

    #[test]
    fn one_alert() {
        let f = parse(ONE).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].cwe, Some(614));
        assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some("10011"));
        assert_eq!(f[0].endpoints.len(), 1);
        assert_eq!(f[0].endpoints[0].host, "b.example");
        assert_eq!(f[0].endpoints[0].port, Some(8443));
        assert!(f[0].description.starts_with("Bad"));
        assert_eq!(f[0].param.as_deref(), Some("p"));
    }

    #[test]
    fn malformed_and_foreign_inputs_are_rejected() {
        assert!(parse(&ONE[..ONE.len() / 2]).is_err());
        assert!(parse("").is_err());
        assert!(Zap::parse(SCAN_TYPE, b"<a>\xff\xfe\xfd</a>\xc3", &Options::default()).is_err());
        assert!(parse("{\"site\": []}").is_err());
        let deep = "<a>".repeat(100_000) + &"</a>".repeat(100_000);
        // Deep nesting neither crashes nor yields findings.
        assert!(parse(&deep).map_or(true, |f| f.is_empty()));
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        assert_eq!(Zap::detect(&c, ONE.as_bytes()).as_deref(), Some(SCAN_TYPE));
        assert_eq!(
            Zap::detect(&c, &ONE.as_bytes()[..60]).as_deref(),
            Some(SCAN_TYPE)
        );
        assert_eq!(Zap::detect(&c, b"<issues><issue/></issues>"), None);
        assert_eq!(Zap::detect(&c, b"{\"OWASPZAPReport\":1}"), None);
    }
}
