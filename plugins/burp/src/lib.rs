//! Palisade parser plugin for Burp Suite XML issue exports ("Burp Scan").
//!
//! The export is `<issues burpVersion=".."><issue><serialNumber/><type/>
//! <name/><host>https://example.com</host><path/><severity/>...</issue></issues>`
//! with one `<issue>` per affected URL. Issues of the same type, name and
//! severity are merged into one finding listing every affected URL as an
//! endpoint (the first issue's serial number identifies the finding), so a
//! scan of a site with fifty pages missing a header yields one finding.

use std::collections::{HashMap, HashSet};

use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::xml::{Node, child_text, children, root_element_is};

/// The scan type this plugin handles (DefectDojo's name).
pub const SCAN_TYPE: &str = "Burp Scan";

/// The root element of a Burp XML export.
const ROOT: &str = "issues";

/// The Burp XML parser.
pub struct Burp;

impl Parser for Burp {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "burp".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "Burp Suite XML issue export".to_owned(),
                file_kinds: vec!["xml".to_owned()],
                dedupe: DedupeSetting::hash_code(&["title", "severity", "vuln_id_from_tool"]),
            }],
        }
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        // <issues> is a common word: also require Burp's burpVersion attribute.
        let ours = candidates.iter().any(|c| c == SCAN_TYPE)
            && root_element_is(head, ROOT)
            && palisade_plugin_sdk::sniff::contains(head, b"burpVersion");
        ours.then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        if scan_type != SCAN_TYPE {
            return Err(ParseError::new(format!(
                "the burp plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
        parse_report(report)
    }
}

palisade_plugin_sdk::export_parser!(Burp);

/// Parses a whole Burp XML export.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = xml_text(report)?;
    let doc = parse_xml(&text)?;
    let root = doc.root_element();
    if root.tag_name().name() != ROOT {
        return Err(ParseError::new(format!(
            "not a Burp XML export: the root element is <{}>, expected <{ROOT}>",
            root.tag_name().name()
        )));
    }
    let mut findings: Vec<Finding> = Vec::new();
    // (type, name, severity) -> index in `findings`.
    let mut index: HashMap<(String, String, Severity), usize> = HashMap::new();
    // The endpoints of each finding, as a set: one issue type can cover
    // thousands of URLs, and a linear "contains" would make merging quadratic.
    let mut seen: Vec<HashSet<Endpoint>> = Vec::new();
    for issue in children(root, "issue") {
        let f = issue_finding(issue)?;
        let key = (
            f.vuln_id_from_tool.clone().unwrap_or_default(),
            f.title.clone(),
            f.severity,
        );
        match index.get(&key) {
            Some(&i) => merge(&mut findings[i], &mut seen[i], f),
            None => {
                index.insert(key, findings.len());
                seen.push(f.endpoints.iter().cloned().collect());
                findings.push(f);
            }
        }
    }
    Ok(findings)
}

/// Folds another occurrence of the same issue into `into`.
fn merge(into: &mut Finding, seen: &mut HashSet<Endpoint>, other: Finding) {
    for ep in other.endpoints {
        if seen.insert(ep.clone()) {
            into.endpoints.push(ep);
        }
    }
    if let Some(steps) = other.steps_to_reproduce {
        let s = into.steps_to_reproduce.get_or_insert_with(String::new);
        if !s.is_empty() {
            s.push_str("\n\n");
        }
        s.push_str(&steps);
    }
    into.nb_occurences = Some(into.nb_occurences.unwrap_or(1) + 1);
}

/// Burp's severities: High, Medium, Low, Information (and False positive).
fn severity(word: &str) -> Option<Severity> {
    match word.trim().to_ascii_lowercase().as_str() {
        "information" | "informational" | "info" => Some(Severity::Info),
        other => severity_from_word(other),
    }
}

/// Reads one `<issue>`.
fn issue_finding(issue: Node<'_, '_>) -> Result<Finding, ParseError> {
    let name = child_text(issue, "name").ok_or_else(|| {
        ParseError::new("a Burp <issue> has no <name>")
            .at_path(palisade_plugin_sdk::xml::element_path(issue))
    })?;
    let severity_word = child_text(issue, "severity").unwrap_or_default();
    let false_positive = severity_word.eq_ignore_ascii_case("false positive");
    let severity = if false_positive {
        Severity::Info
    } else {
        severity(&severity_word).ok_or_else(|| {
            ParseError::new(format!(
                "the Burp issue {name:?} has an unknown <severity> {severity_word:?} \
                 (expected High, Medium, Low or Information)"
            ))
        })?
    };
    let host = child_text(issue, "host");
    let path = child_text(issue, "path");
    let url = match (&host, &path) {
        (Some(h), Some(p)) => Some(format!("{}{}", h.trim_end_matches('/'), ensure_slash(p))),
        (Some(h), None) => Some(h.clone()),
        _ => None,
    };
    let endpoints = url
        .as_deref()
        .and_then(endpoint_from_url)
        .into_iter()
        .collect();

    let classifications = child_text(issue, "vulnerabilityClassifications").unwrap_or_default();
    let cwes = find_cwes(&classifications);

    let mut description = String::new();
    if let Some(u) = &url {
        description.push_str(&format!("**URL:** {u}\n"));
    }
    if let Some(c) = child_text(issue, "confidence") {
        description.push_str(&format!("**Confidence:** {c}\n"));
    }
    for part in ["issueDetail", "issueBackground"] {
        if let Some(t) = child_text(issue, part).map(|t| html_to_text(&t)) {
            description.push('\n');
            description.push_str(&t);
            description.push('\n');
        }
    }
    let items: Vec<String> = children(issue, "issueDetailItems")
        .flat_map(|i| children(i, "issueDetailItem"))
        .filter_map(palisade_plugin_sdk::xml::text)
        .map(|t| format!("- {}", html_to_text(&t)))
        .collect();
    if !items.is_empty() {
        description.push('\n');
        description.push_str(&items.join("\n"));
    }
    let description = clean(&description);

    let mitigation = palisade_plugin_sdk::text::join_non_empty(
        ["remediationDetail", "remediationBackground"]
            .iter()
            .filter_map(|p| child_text(issue, p).map(|t| html_to_text(&t))),
        "\n\n",
    );
    let references = palisade_plugin_sdk::text::join_non_empty(
        ["references", "vulnerabilityClassifications"]
            .iter()
            .filter_map(|p| child_text(issue, p).map(|t| html_to_text(&t))),
        "\n\n",
    );
    let location = child_text(issue, "location");
    let steps = url.as_ref().map(|u| match &location {
        Some(l) if !u.ends_with(l.as_str()) => format!("{u} ({l})"),
        _ => u.clone(),
    });

    Ok(Finding {
        title: truncate_chars(&name, 511).to_owned(),
        severity,
        description: if description.is_empty() {
            name.clone()
        } else {
            description
        },
        mitigation,
        references,
        cwe: cwes.first().copied(),
        extra_cwes: cwes.iter().skip(1).copied().collect(),
        unique_id_from_tool: child_text(issue, "serialNumber"),
        vuln_id_from_tool: child_text(issue, "type"),
        static_finding: Some(false),
        dynamic_finding: Some(true),
        endpoints,
        steps_to_reproduce: steps,
        false_p: false_positive.then_some(true),
        ..Finding::default()
    })
}

/// "/x" stays, "x" becomes "/x", "" stays empty.
fn ensure_slash(p: &str) -> String {
    if p.is_empty() || p.starts_with('/') {
        p.to_owned()
    } else {
        format!("/{p}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        Burp::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    fn issue(serial: &str, ty: &str, sev: &str, path: &str) -> String {
        format!(
            "<issue><serialNumber>{serial}</serialNumber><type>{ty}</type><name>N{ty}</name>\
             <host ip=\"1.2.3.4\">https://h.example:8443</host><path><![CDATA[{path}]]></path>\
             <severity>{sev}</severity><confidence>Firm</confidence>\
             <vulnerabilityClassifications><![CDATA[<a>CWE-79: x</a> <a>CWE-80</a>]]></vulnerabilityClassifications></issue>"
        )
    }

    #[test]
    fn merges_same_type_and_severity() {
        let r = format!(
            "<issues burpVersion=\"2023\">{}{}{}</issues>",
            issue("1", "10", "High", "/a"),
            issue("2", "10", "High", "/b"),
            issue("3", "10", "Low", "/c")
        );
        let f = parse(&r).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].endpoints.len(), 2);
        assert_eq!(f[0].unique_id_from_tool.as_deref(), Some("1"));
        assert_eq!(f[0].endpoints[0].port, Some(8443));
        assert_eq!((f[0].cwe, f[0].extra_cwes.clone()), (Some(79), vec![80]));
        assert_eq!(f[1].severity, Severity::Low);
    }

    #[test]
    fn severities_and_missing_fields() {
        let r = "<issues burpVersion=\"1\"><issue><name>X</name><severity>Information</severity></issue>\
                 <issue><name>Y</name><severity>False positive</severity></issue></issues>";
        let f = parse(r).unwrap();
        assert_eq!(f[0].severity, Severity::Info);
        assert!(f[0].endpoints.is_empty());
        assert_eq!(f[0].description, "X");
        assert_eq!(f[1].false_p, Some(true));
        let e = parse("<issues><issue><name>X</name><severity>Bogus</severity></issue></issues>")
            .unwrap_err();
        assert!(e.message.contains("unknown <severity>"), "{e}");
        assert!(parse("<issues><issue><severity>High</severity></issue></issues>").is_err());
    }

    #[test]
    fn empty_and_foreign() {
        assert!(parse("<issues burpVersion=\"1\"/>").unwrap().is_empty());
        let e = parse("<OWASPZAPReport/>").unwrap_err();
        assert!(e.message.contains("not a Burp"), "{e}");
        assert!(parse("<issues><issue>").is_err());
        assert!(parse("{\"issues\": []}").is_err());
        assert!(Burp::parse(SCAN_TYPE, b"<issues>\xff</issues>", &Options::default()).is_err());
        let deep =
            "<issues>".to_owned() + &"<a>".repeat(100_000) + &"</a>".repeat(100_000) + "</issues>";
        let _ = parse(&deep);
        // Entities are never expanded beyond the SDK's limits.
        let bomb = "<?xml version=\"1.0\"?><!DOCTYPE issues [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\"><!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\"><!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\"><!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">]><issues><issue><name>&g;</name><severity>High</severity></issue></issues>";
        assert!(parse(bomb).is_err());
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        assert!(
            Burp::detect(&c, b"<?xml version=\"1.0\"?><issues burpVersion=\"2020\">").is_some()
        );
        assert!(Burp::detect(&c, b"<issues><issue/></issues>").is_none());
        assert!(Burp::detect(&c, b"<OWASPZAPReport burpVersion=\"x\"/>").is_none());
    }
}
