//! CycloneDX XML: 1.4+ `<bom><vulnerabilities>` and the older vulnerability
//! extension (`v:vulnerability` in components or at BOM level).

use std::collections::HashMap;

use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::xml::{Node, attr, child, child_text, children, root_element_is};

use crate::{Component, Rating, Vuln, finding};

/// The namespace of CycloneDX's vulnerability extension (schema 1.0-1.3).
const EXT_NS_PREFIX: &str = "http://cyclonedx.org/schema/ext/vulnerability";

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
    if root.tag_name().name() != "bom" || !ns.contains("cyclonedx.org/schema/bom") {
        return Err(ParseError::new(format!(
            "not a CycloneDX XML BOM: expected a <bom> root in a CycloneDX namespace, found <{}> ({})",
            root.tag_name().name(),
            if ns.is_empty() { "no namespace" } else { ns }
        )));
    }

    // Every component by bom-ref, wherever it is nested.
    let mut by_ref = HashMap::new();
    for c in root
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "component" && !is_ext(*n))
    {
        if let Some(r) = attr(c, "bom-ref") {
            by_ref.insert(r.to_owned(), component_of(c));
        }
    }

    let mut findings = Vec::new();
    // CycloneDX 1.4+: BOM-level <vulnerabilities>.
    for list in children(root, "vulnerabilities").filter(|n| !is_ext(*n)) {
        for v in children(list, "vulnerability") {
            let vuln = read_vuln(v);
            let refs: Vec<String> = child(v, "affects")
                .into_iter()
                .flat_map(|a| children(a, "target"))
                .filter_map(|t| child_text(t, "ref"))
                .collect();
            if refs.is_empty() {
                findings.push(finding(&vuln, &Component::default()));
            }
            for r in refs {
                let c = by_ref.get(&r).cloned().unwrap_or_else(|| Component {
                    purl: Some(r),
                    ..Component::default()
                });
                findings.push(finding(&vuln, &c));
            }
        }
    }
    // The extension: v:vulnerability inside a component, or BOM-level with ref="bom-ref".
    for v in root
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "vulnerability" && is_ext(*n))
    {
        let owner = v
            .ancestors()
            .find(|a| a.is_element() && a.tag_name().name() == "component" && !is_ext(*a));
        let c = match owner {
            Some(o) => component_of(o),
            None => attr(v, "ref")
                .and_then(|r| by_ref.get(r))
                .cloned()
                .unwrap_or_default(),
        };
        findings.push(finding(&read_vuln(v), &c));
    }
    Ok(findings)
}

/// Says whether an element belongs to the vulnerability extension namespace.
fn is_ext(n: Node<'_, '_>) -> bool {
    n.tag_name()
        .namespace()
        .is_some_and(|ns| ns.starts_with(EXT_NS_PREFIX))
}

/// Reads a `<component>`'s identity.
fn component_of(c: Node<'_, '_>) -> Component {
    Component {
        name: child_text(c, "name"),
        version: child_text(c, "version"),
        purl: child_text(c, "purl"),
    }
}

/// Reads one `<vulnerability>` (either shape; element local names coincide).
fn read_vuln(v: Node<'_, '_>) -> Vuln {
    let ratings = child(v, "ratings")
        .into_iter()
        .flat_map(|r| children(r, "rating"))
        .map(|r| Rating {
            severity: child_text(r, "severity"),
            // 1.4: <score>9.8</score>; extension: <score><base>9.8</base></score>.
            score: child(r, "score")
                .and_then(|s| child_text(s, "base").or_else(|| palisade_plugin_sdk::xml::text(s)))
                .and_then(|s| s.parse().ok()),
            method: child_text(r, "method"),
            vector: child_text(r, "vector"),
        })
        .collect();
    let cwes = child(v, "cwes")
        .into_iter()
        .flat_map(|c| children(c, "cwe"))
        .filter_map(|c| {
            palisade_plugin_sdk::xml::text(c)
                .as_deref()
                .and_then(parse_cwe)
        })
        .collect();
    let advisories = child(v, "advisories")
        .into_iter()
        .flat_map(|a| children(a, "advisory"))
        .filter_map(|a| match (child_text(a, "title"), child_text(a, "url")) {
            (Some(t), Some(u)) => Some(format!("{t}: {u}")),
            (None, Some(u)) => Some(u),
            // The extension writes the URL as the element's text.
            _ => palisade_plugin_sdk::xml::text(a),
        })
        .collect();
    let aliases = child(v, "references")
        .into_iter()
        .flat_map(|r| children(r, "reference"))
        .filter_map(|r| child_text(r, "id"))
        .collect();
    let recommendation = child_text(v, "recommendation").or_else(|| {
        let list: Vec<String> = child(v, "recommendations")
            .into_iter()
            .flat_map(|r| children(r, "recommendation"))
            .filter_map(palisade_plugin_sdk::xml::text)
            .collect();
        (!list.is_empty()).then(|| list.join("\n"))
    });
    let analysis = child(v, "analysis");
    Vuln {
        id: child_text(v, "id"),
        source: child(v, "source")
            .and_then(|s| child_text(s, "name").or_else(|| attr(s, "name").map(str::to_owned))),
        aliases,
        ratings,
        cwes,
        description: child_text(v, "description"),
        detail: child_text(v, "detail"),
        recommendation,
        advisories,
        state: analysis.and_then(|a| child_text(a, "state")),
        analysis_detail: analysis.and_then(|a| child_text(a, "detail")),
        published: child_text(v, "published"),
    }
}
