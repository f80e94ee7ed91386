//! CycloneDX XML: 1.4+ `<bom><vulnerabilities>` and the older vulnerability
//! extension (`v:vulnerability` in components or at BOM level).

use std::collections::HashMap;

use palisade_plugin_sdk::markdown::push_field_display;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::xml::{Node, child, child_text, children, element_path, root_element_is};

use crate::{Component, Rating, Vuln, apply_cvss, finding, fix_severity};

/// The namespace of CycloneDX's vulnerability extension (schema 1.0-1.3).
const EXT_NS: &str = "http://cyclonedx.org/schema/ext/vulnerability/1.0";

/// The namespace prefix of every CycloneDX BOM version.
const BOM_NS_PREFIX: &str = "http://cyclonedx.org/schema/bom/";

/// Says whether a report head is CycloneDX XML: root `<bom>` in a CycloneDX namespace.
pub fn looks_like(head: &[u8]) -> bool {
    root_element_is(head, "bom")
        && palisade_plugin_sdk::sniff::contains(head, b"cyclonedx.org/schema/bom/1")
}

/// Parses a CycloneDX XML BOM.
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = xml_text(report)?;
    let doc = parse_xml(&text)?;
    let root = doc.root_element();
    let ns = root.tag_name().namespace().unwrap_or("");
    if !ns.starts_with(BOM_NS_PREFIX) {
        return Err(ParseError::new(format!(
            "not a CycloneDX XML BOM: the root <{}> is not in a CycloneDX namespace ({})",
            root.tag_name().name(),
            if ns.is_empty() { "no namespace" } else { ns }
        )));
    }
    let in_bom = |n: &Node<'_, '_>| n.tag_name().namespace() == Some(ns);
    let in_ext = |n: &Node<'_, '_>| n.tag_name().namespace() == Some(EXT_NS);
    let date = child(root, "metadata")
        .filter(|m| in_bom(m))
        .and_then(|m| child_text(m, "timestamp"));
    let date = date.as_deref();

    let mut by_ref = HashMap::new();
    let mut findings = Vec::new();
    // Only the BOM's direct components are indexed, as the reference does.
    for list in children(root, "components").filter(|n| in_bom(n)) {
        for c in children(list, "component").filter(|n| in_bom(n)) {
            let component = component_of(c);
            if let Some(r) = c.attribute("bom-ref") {
                by_ref.insert(r.to_owned(), component.clone());
            }
            for v in ext_vulns(c, &in_ext) {
                ext_ref(v)?;
                findings.push(finding(&read_ext_vuln(v)?, &component, date));
            }
        }
    }
    // Extension vulnerabilities at BOM level name their component by bom-ref.
    for v in ext_vulns(root, &in_ext) {
        let r = ext_ref(v)?;
        let Some(component) = by_ref.get(r) else {
            return Err(ParseError::new(format!(
                "vulnerability ref {r:?} names no component's bom-ref"
            ))
            .at_path(element_path(v)));
        };
        findings.push(finding(&read_ext_vuln(v)?, component, date));
    }
    // CycloneDX 1.4+: BOM-level <vulnerabilities> in the BOM namespace.
    for list in children(root, "vulnerabilities").filter(|n| in_bom(n)) {
        for v in children(list, "vulnerability").filter(|n| in_bom(n)) {
            let vuln = read_vuln(v, &in_bom, &in_ext)?;
            let targets = child(v, "affects")
                .filter(|n| in_bom(n))
                .into_iter()
                .flat_map(|a| children(a, "target"));
            for t in targets {
                let Some(r) = child(t, "ref").filter(|n| in_bom(n)) else {
                    return Err(ParseError::new("an affects <target> has no <ref>")
                        .at_path(element_path(t)));
                };
                let r = r.text().unwrap_or("");
                let component = by_ref.get(r).cloned().unwrap_or_default();
                if vuln.active_note_without_mitigation() {
                    return Err(ParseError::new(format!(
                        "vulnerability {} has an analysis detail but no <recommendation> \
                         (the reference parser fails on this)",
                        vuln.id.as_deref().unwrap_or("without id")
                    ))
                    .at_path(element_path(v)));
                }
                findings.push(finding(&vuln, &component, date));
            }
        }
    }
    Ok(findings)
}

/// The extension's `v:vulnerabilities/v:vulnerability` children of `parent`.
fn ext_vulns<'a, 'i>(
    parent: Node<'a, 'i>,
    in_ext: &'a impl Fn(&Node<'_, '_>) -> bool,
) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    children(parent, "vulnerabilities")
        .filter(move |n| in_ext(n))
        .flat_map(move |l| children(l, "vulnerability").filter(move |n| in_ext(n)))
}

/// The required `ref` attribute of an extension vulnerability.
fn ext_ref<'a>(v: Node<'a, '_>) -> Result<&'a str, ParseError> {
    v.attribute("ref").ok_or_else(|| {
        ParseError::new("an extension <v:vulnerability> has no ref attribute")
            .at_path(element_path(v))
    })
}

/// Reads a `<component>`'s identity (the text as written, untrimmed like the reference).
fn component_of(c: Node<'_, '_>) -> Component {
    let raw = |name: &str| child(c, name).map(|n| n.text().unwrap_or("").to_owned());
    Component {
        name: raw("name"),
        version: raw("version"),
        purl: raw("purl"),
    }
}

/// The ratings of a vulnerability and its initial severity: the first
/// `<severity>` under `ratings/rating`; none at all is an error, as the
/// reference fails on it.
fn ratings_of(
    v: Node<'_, '_>,
    same_ns: &dyn Fn(&Node<'_, '_>) -> bool,
) -> Result<(Vec<Rating>, Severity), ParseError> {
    let rating_nodes: Vec<Node<'_, '_>> = children(v, "ratings")
        .filter(|n| same_ns(n))
        .flat_map(|r| children(r, "rating"))
        .filter(|n| same_ns(n))
        .collect();
    let first_severity = rating_nodes
        .iter()
        .find_map(|r| child(*r, "severity").filter(|n| same_ns(n)));
    let Some(first_severity) = first_severity else {
        return Err(ParseError::new(format!(
            "vulnerability {} has no rating severity (the reference parser fails on this)",
            child_text(v, "id").unwrap_or_else(|| "without id".to_owned())
        ))
        .at_path(element_path(v)));
    };
    let severity = fix_severity(first_severity.text().unwrap_or(""));
    let ratings = rating_nodes
        .iter()
        .map(|r| Rating {
            severity: child_text(*r, "severity"),
            method: child_text(*r, "method"),
            vector: child_text(*r, "vector"),
        })
        .collect();
    Ok((ratings, severity))
}

/// Digit-only `<cwe>` texts under `<cwes>` in the namespace `same_ns` accepts;
/// an empty `<cwe/>` is an error, as the reference fails on it.
fn cwes_of(
    v: Node<'_, '_>,
    same_ns: &dyn Fn(&Node<'_, '_>) -> bool,
) -> Result<Vec<u32>, ParseError> {
    let mut out = Vec::new();
    for c in children(v, "cwes")
        .filter(|n| same_ns(n))
        .flat_map(|c| children(c, "cwe"))
        .filter(|n| same_ns(n))
    {
        let Some(t) = c.text() else {
            return Err(ParseError::new("an empty <cwe> element").at_path(element_path(c)));
        };
        if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
            out.extend(t.parse::<u32>().ok());
        }
    }
    Ok(out)
}

/// Reads one vulnerability of the pre-1.4 extension.
fn read_ext_vuln(v: Node<'_, '_>) -> Result<Vuln, ParseError> {
    let in_ext = |n: &Node<'_, '_>| n.tag_name().namespace() == Some(EXT_NS);
    let (ratings, mut severity) = ratings_of(v, &in_ext)?;
    let (cvssv3, cvssv3_score) = apply_cvss(&ratings, &["CVSSv3"], &mut severity);
    let id = child(v, "id")
        .filter(in_ext)
        .map(|n| n.text().unwrap_or("").to_owned());
    let references: String = child(v, "advisories")
        .into_iter()
        .flat_map(|a| children(a, "advisory"))
        .map(|a| format!("{}\n", a.text().unwrap_or("None")))
        .collect();
    let recommendation: String = child(v, "recommendations")
        .into_iter()
        .flat_map(|r| children(r, "recommendation"))
        .map(|r| format!("{}\n", r.text().unwrap_or("None")))
        .collect();
    Ok(Vuln {
        vulnerability_ids: id.iter().filter(|i| !i.is_empty()).cloned().collect(),
        id,
        severity,
        cvssv3,
        cvssv3_score,
        cwes: cwes_of(v, &in_ext)?,
        description: child_text(v, "description"),
        recommendation: (!recommendation.is_empty()).then_some(recommendation),
        references: (!references.is_empty()).then_some(references),
        state: None,
        analysis_detail: None,
    })
}

/// Reads one BOM-level vulnerability of CycloneDX 1.4+.
fn read_vuln(
    v: Node<'_, '_>,
    in_bom: &dyn Fn(&Node<'_, '_>) -> bool,
    in_ext: &dyn Fn(&Node<'_, '_>) -> bool,
) -> Result<Vuln, ParseError> {
    let (ratings, mut severity) = ratings_of(v, in_bom)?;
    let (cvssv3, cvssv3_score) = apply_cvss(&ratings, &["CVSSv3", "CVSSv31"], &mut severity);
    let id = child(v, "id")
        .filter(in_bom)
        .map(|n| n.text().unwrap_or("").to_owned());
    let mut vulnerability_ids: Vec<String> = id.iter().filter(|i| !i.is_empty()).cloned().collect();
    vulnerability_ids.extend(
        child(v, "references")
            .into_iter()
            .flat_map(|r| children(r, "reference"))
            .filter_map(|r| child_text(r, "id")),
    );
    let mut references = String::new();
    for a in child(v, "advisories")
        .into_iter()
        .flat_map(|a| children(a, "advisory"))
    {
        push_field_display(&mut references, "Title", child_text(a, "title"));
        push_field_display(&mut references, "URL", child_text(a, "url"));
        references.push('\n');
    }
    let mut cwes = cwes_of(v, in_ext)?;
    if cwes.is_empty() {
        cwes = cwes_of(v, in_bom)?;
    }
    let description = match (child_text(v, "description"), child_text(v, "detail")) {
        (Some(d), Some(x)) => Some(format!("{d}\n{x}")),
        (d, x) => d.or(x),
    };
    // Only a single <analysis> element counts, as in the reference.
    let analyses: Vec<Node<'_, '_>> = children(v, "analysis").filter(|n| in_bom(n)).collect();
    let analysis = (analyses.len() == 1).then(|| analyses[0]);
    Ok(Vuln {
        id,
        vulnerability_ids,
        severity,
        cvssv3,
        cvssv3_score,
        cwes,
        description,
        recommendation: child(v, "recommendation").map(|n| n.text().unwrap_or("").to_owned()),
        references: (!references.is_empty()).then_some(references),
        state: analysis.and_then(|a| child_text(a, "state")),
        analysis_detail: analysis.and_then(|a| child_text(a, "detail")),
    })
}
