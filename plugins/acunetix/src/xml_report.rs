//! Acunetix XML: `<ScanGroup><Scan><StartURL/><ReportItems><ReportItem>...`.
//!
//! Acunetix repeats a ReportItem per affected page (and per cookie, form...);
//! items with the same name, impact and recommendation are merged into one
//! finding whose endpoints are the affected pages, as the reference does.

use palisade_plugin_sdk::findings::{Collector, count_occurrence};
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::text::join_non_empty;
use palisade_plugin_sdk::xml::{Node, child, child_text, children, root_element_is};

/// The root element of an Acunetix XML report.
const ROOT: &str = "ScanGroup";

/// Says whether a report head is Acunetix XML.
pub fn looks_like(head: &[u8]) -> bool {
    root_element_is(head, ROOT)
}

/// Default ports of the URL schemes the reference's URL library knows.
fn scheme_port(scheme: &str) -> Option<u16> {
    Some(match scheme {
        "http" | "ws" => 80,
        "https" | "wss" => 443,
        "ftp" => 21,
        "ssh" | "sftp" => 22,
        "telnet" => 23,
        "ldap" => 389,
        "ldaps" => 636,
        "imap" => 143,
        "pop" => 110,
        _ => return None,
    })
}

/// The scan's start URL as scheme, host and port (a URL without "://" is read
/// as "//<url>", i.e. without scheme).
fn start_parts(start: &str) -> (Option<String>, String, Option<u16>) {
    let with_scheme = if start.contains("://") {
        start.to_owned()
    } else {
        format!("//{start}")
    };
    match endpoint_from_url(&with_scheme) {
        Some(e) => {
            let port = e
                .port
                .or_else(|| e.protocol.as_deref().and_then(scheme_port));
            (e.protocol, e.host, port)
        }
        None => (None, String::new(), None),
    }
}

/// The reference's severity words, case-sensitive; anything else is Critical.
fn item_severity(word: Option<&str>) -> Severity {
    match word {
        Some("high") => Severity::High,
        Some("medium") => Severity::Medium,
        Some("low") => Severity::Low,
        Some("informational") => Severity::Info,
        _ => Severity::Critical,
    }
}

/// ElementTree's `findtext`: "" for an empty element, `None` when absent.
fn findtext(node: Node<'_, '_>, name: &str) -> Option<String> {
    child(node, name).map(|c| c.text().unwrap_or_default().to_owned())
}

/// Parses an Acunetix XML report: every `Scan` under the root, every
/// `ReportItems/ReportItem`, merged by (name, impact, recommendation).
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = xml_text(report)?;
    let doc = parse_xml(&text)?;
    let root = doc.root_element();
    let mut findings: Collector<(String, Option<String>, Option<String>)> = Collector::new();
    for scan in children(root, "Scan") {
        let start_url = findtext(scan, "StartURL")
            .ok_or_else(|| ParseError::new("Acunetix XML report: a <Scan> has no <StartURL>"))?;
        let (protocol, host, port) = start_parts(&start_url);
        let date = child_text(scan, "StartTime").and_then(|t| start_date(&t));
        for items in children(scan, "ReportItems") {
            for item in children(items, "ReportItem") {
                let mut f = item_finding(item)?;
                f.date.clone_from(&date);
                f.endpoints.push(Endpoint {
                    protocol: protocol.clone(),
                    host: host.clone(),
                    port,
                    path: findtext(item, "Affects").filter(|a| !a.is_empty()),
                    ..Endpoint::default()
                });
                let key = (f.title.clone(), f.impact.clone(), f.mitigation.clone());
                findings.add_with(key, f, |kept, f| {
                    merge(kept, f, child_text(item, "Details"));
                });
            }
        }
    }
    Ok(findings.into_findings())
}

/// "dd/mm/yyyy, hh:mm:ss" (day first) as "yyyy-mm-dd".
fn start_date(t: &str) -> Option<String> {
    let d = t.split([',', ' ']).next()?;
    let parts: Vec<&str> = d.split(['/', '-', '.']).collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let n = |x: &str| x.parse::<u32>().ok();
    let (day, month, year) = if a.len() == 4 {
        (n(c)?, n(b)?, n(a)?)
    } else {
        (n(a)?, n(b)?, n(c)?)
    };
    ((1..=31).contains(&day) && (1..=12).contains(&month))
        .then(|| format!("{year:04}-{month:02}-{day:02}"))
}

/// Folds another occurrence into `into`: its endpoint, request and details.
fn merge(into: &mut Finding, other: Finding, details: Option<String>) {
    into.endpoints.extend(other.endpoints);
    count_occurrence(into);
    if let Some(d) = details {
        into.description
            .push_str(&format!("\n-----\n\n**Details:**\n{}", html_to_text(&d)));
    }
    if let Some(steps) = other.steps_to_reproduce {
        let s = into.steps_to_reproduce.get_or_insert_with(String::new);
        if s.len() < 100_000 && !s.contains(&steps) {
            if !s.is_empty() {
                s.push_str("\n\n");
            }
            s.push_str(&steps);
        }
    }
}

/// Reads one `<ReportItem>`.
fn item_finding(item: Node<'_, '_>) -> Result<Finding, ParseError> {
    let at = || palisade_plugin_sdk::xml::element_path(item);
    let name = findtext(item, "Name")
        .ok_or_else(|| ParseError::new("an Acunetix <ReportItem> has no <Name>").at_path(at()))?;
    let description = findtext(item, "Description").ok_or_else(|| {
        ParseError::new(format!("the Acunetix item {name:?} has no <Description>")).at_path(at())
    })?;
    let severity = item_severity(child_text(item, "Severity").as_deref());
    let cwe = match child(item, "CWEList").and_then(|l| child_text(l, "CWE")) {
        None => None,
        Some(c) => Some(
            c.split('-')
                .nth(1)
                .and_then(|n| n.trim().parse::<u32>().ok())
                .ok_or_else(|| {
                    ParseError::new(format!(
                        "the Acunetix item {name:?} has CWE {c:?}, expected CWE-<number>"
                    ))
                    .at_path(at())
                })?,
        ),
    };
    let mut description = html_to_text(&description).trim().to_owned();
    if let Some(d) = child_text(item, "Details") {
        description.push_str(&format!("\n\n**Details:**\n{}", html_to_text(&d)));
    }
    if let Some(t) = child(item, "TechnicalDetails").and_then(|t| {
        let s: String = t.children().filter_map(|c| c.text()).collect();
        non_empty_str(s.trim())
    }) {
        description.push_str(&format!("\n\n**TechnicalDetails:**\n\n{t}"));
    }
    let references = join_non_empty(
        child(item, "References")
            .into_iter()
            .flat_map(|r| children(r, "Reference"))
            .map(|r| {
                let url = child_text(r, "URL").unwrap_or_default();
                let db = child_text(r, "Database").unwrap_or_else(|| url.clone());
                format!(" * [{db}]({url})")
            }),
        "\n",
    );
    let cvssv3 = child(item, "CVSS3")
        .and_then(|c| child_text(c, "Descriptor"))
        .and_then(|d| cvss3_from_str(&d).ok())
        .map(|c| c.vector());
    let requests: Vec<String> = child(item, "TechnicalDetails")
        .into_iter()
        .flat_map(|t| children(t, "Request"))
        .map(|r| r.text().unwrap_or_default().to_owned())
        .collect();
    let dynamic = !requests.is_empty();
    let steps = requests
        .iter()
        .find(|r| !r.is_empty())
        .map(|r| format!("Request:\n{}", truncate_chars(r, 20_000)));

    Ok(Finding {
        title: truncate_chars(&name, 511).to_owned(),
        severity,
        description,
        mitigation: child_text(item, "Recommendation"),
        impact: child_text(item, "Impact"),
        references,
        cwe,
        cvssv3,
        static_finding: Some(!dynamic),
        dynamic_finding: Some(dynamic),
        steps_to_reproduce: steps,
        false_p: child_text(item, "IsFalsePositive").map(|_| true),
        nb_occurences: Some(1),
        ..Finding::default()
    })
}
