//! Acunetix XML: `<ScanGroup><Scan><StartURL/><ReportItems><ReportItem>...`.
//!
//! Acunetix repeats a ReportItem per affected page (and per cookie, form...);
//! items with the same name, severity and CWE are merged into one finding
//! whose endpoints are the affected pages.

use std::collections::HashMap;

use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::text::join_non_empty;
use palisade_plugin_sdk::xml::{Node, child, child_text, children, root_element_is};

use crate::severity;

/// The root element of an Acunetix XML report.
const ROOT: &str = "ScanGroup";

/// Says whether a report head is Acunetix XML.
pub fn looks_like(head: &[u8]) -> bool {
    root_element_is(head, ROOT)
}

/// Parses an Acunetix XML report.
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = xml_text(report)?;
    let doc = parse_xml(&text)?;
    let root = doc.root_element();
    if root.tag_name().name() != ROOT {
        return Err(ParseError::new(format!(
            "not an Acunetix XML report: the root element is <{}>, expected <{ROOT}>",
            root.tag_name().name()
        )));
    }
    let mut findings: Vec<Finding> = Vec::new();
    let mut index: HashMap<(String, Severity, Option<u32>), usize> = HashMap::new();
    for scan in children(root, "Scan") {
        let start_url = child_text(scan, "StartURL");
        for items in children(scan, "ReportItems") {
            for item in children(items, "ReportItem") {
                let f = item_finding(item, start_url.as_deref())?;
                let key = (f.title.clone(), f.severity, f.cwe);
                match index.get(&key) {
                    Some(&i) => merge(&mut findings[i], f),
                    None => {
                        index.insert(key, findings.len());
                        findings.push(f);
                    }
                }
            }
        }
    }
    Ok(findings)
}

/// How many occurrences' requests are kept in a merged finding: enough to
/// reproduce it, and it bounds the duplicate check below.
const MAX_KEPT_REQUESTS: u32 = 10;

/// Folds another occurrence into `into`: its endpoint and its details.
fn merge(into: &mut Finding, other: Finding) {
    into.endpoints.extend(other.endpoints);
    let count = into.nb_occurences.unwrap_or(1) + 1;
    into.nb_occurences = Some(count);
    if count > MAX_KEPT_REQUESTS {
        return;
    }
    if let Some(steps) = other.steps_to_reproduce {
        let s = into.steps_to_reproduce.get_or_insert_with(String::new);
        if !s.contains(&steps) {
            if !s.is_empty() {
                s.push_str("\n\n");
            }
            s.push_str(&steps);
        }
    }
}

/// Joins the scan's start URL and an item's "Affects" path the way Acunetix
/// means them ("example.com" + "/a" -> "example.com/a").
fn join_url(start: &str, affects: &str) -> String {
    if affects.contains("://") {
        return affects.to_owned();
    }
    let start = start.trim_end_matches('/');
    if affects.starts_with('/') {
        format!("{start}{affects}")
    } else {
        format!("{start}/{affects}")
    }
}

/// Reads one `<ReportItem>`.
fn item_finding(item: Node<'_, '_>, start_url: Option<&str>) -> Result<Finding, ParseError> {
    let name = child_text(item, "Name").ok_or_else(|| {
        ParseError::new("an Acunetix <ReportItem> has no <Name>")
            .at_path(palisade_plugin_sdk::xml::element_path(item))
    })?;
    let word = child_text(item, "Severity").unwrap_or_default();
    let severity = severity(&word).ok_or_else(|| {
        ParseError::new(format!(
            "the Acunetix item {name:?} has an unknown severity {word:?} \
             (expected high, medium, low or informational)"
        ))
    })?;
    let affects = child_text(item, "Affects");
    let url = match (start_url, affects.as_deref()) {
        (Some(s), Some(a)) => Some(join_url(s, a)),
        (Some(s), None) => Some(s.to_owned()),
        (None, Some(a)) if a.contains("://") => Some(a.to_owned()),
        _ => None,
    };
    let endpoints = url
        .as_deref()
        .and_then(endpoint_from_url)
        .into_iter()
        .collect();

    let cwes: Vec<u32> = child(item, "CWEList")
        .into_iter()
        .flat_map(|l| children(l, "CWE"))
        .filter_map(|c| {
            c.attribute("id").and_then(parse_cwe).or_else(|| {
                palisade_plugin_sdk::xml::text(c)
                    .as_deref()
                    .and_then(parse_cwe)
            })
        })
        .collect();
    let vulnerability_ids: Vec<String> = child(item, "CVEList")
        .into_iter()
        .flat_map(|l| children(l, "CVE"))
        .filter_map(palisade_plugin_sdk::xml::text)
        .flat_map(|t| find_vulnerability_ids(&t))
        .collect();

    let description = join_non_empty(
        [
            child_text(item, "Description").map(|d| html_to_text(&d)),
            child_text(item, "DetailedInformation").map(|d| html_to_text(&d)),
            child_text(item, "Details").map(|d| format!("Details: {}", html_to_text(&d))),
            child_text(item, "Parameter").map(|p| format!("Parameter: {p}")),
        ]
        .into_iter()
        .flatten(),
        "\n\n",
    )
    .unwrap_or_else(|| name.clone());
    let references = join_non_empty(
        child(item, "References")
            .into_iter()
            .flat_map(|r| children(r, "Reference"))
            .filter_map(
                |r| match (child_text(r, "Database"), child_text(r, "URL")) {
                    (Some(d), Some(u)) => Some(format!("- {d}: {u}")),
                    (None, Some(u)) => Some(format!("- {u}")),
                    _ => None,
                },
            ),
        "\n",
    );
    let cvss3 = child(item, "CVSS3");
    let cvssv3 = cvss3
        .and_then(|c| child_text(c, "Descriptor"))
        .and_then(|d| cvss3_from_str(&d).ok())
        .map(|c| c.vector());
    let false_p =
        child_text(item, "IsFalsePositive").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let steps = child(item, "TechnicalDetails")
        .and_then(|t| child_text(t, "Request"))
        .map(|r| format!("Request:\n{r}"));

    Ok(Finding {
        title: truncate_chars(&name, 511).to_owned(),
        severity,
        description,
        mitigation: child_text(item, "Recommendation").map(|r| html_to_text(&r)),
        impact: child_text(item, "Impact").map(|i| html_to_text(&i)),
        references,
        cwe: cwes.first().copied(),
        extra_cwes: cwes.iter().skip(1).copied().collect(),
        vulnerability_ids,
        cvssv3,
        cvssv3_score: cvss3
            .and_then(|c| child_text(c, "Score"))
            .and_then(|s| s.parse().ok()),
        static_finding: Some(false),
        dynamic_finding: Some(true),
        endpoints,
        param: child_text(item, "Parameter"),
        steps_to_reproduce: steps,
        false_p: false_p.then_some(true),
        ..Finding::default()
    })
}
