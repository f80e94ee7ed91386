//! Palisade parser plugin for Burp Suite XML issue exports ("Burp Scan").
//!
//! The export is `<issues burpVersion=".."><issue><serialNumber/><type/>
//! <name/><host>https://example.com</host><path/><severity/>...</issue></issues>`
//! with one `<issue>` per affected URL. Issues of the same type are merged
//! into one finding listing every affected host as an endpoint (the first
//! issue's serial number identifies it), as the reference does. See FORMAT.md.

use palisade_plugin_sdk::findings::{Collector, count_occurrence};
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::xml::{Node, children, root_element_is};

/// The scan type this plugin handles (DefectDojo's name).
pub const SCAN_TYPE: &str = "Burp Scan";

/// The root element of a Burp XML export.
const ROOT: &str = "issues";

/// The Burp XML parser.
pub struct Burp;

impl Parser for Burp {
    fn info() -> PluginInfo {
        PluginInfo::single(
            "burp",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "Burp Suite XML issue export",
                &["xml"],
                DedupeSetting::hash_code(&["title", "severity", "vuln_id_from_tool"]),
            ),
        )
    }

    fn detect(_candidates: &[String], head: &[u8]) -> Option<String> {
        // <issues> is a common word: also require Burp's burpVersion attribute.
        let ours = root_element_is(head, ROOT)
            && palisade_plugin_sdk::sniff::contains(head, b"burpVersion");
        ours.then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        _scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        parse_report(report)
    }
}

palisade_plugin_sdk::export_parser!(Burp);

/// Parses a whole Burp XML export: every `issue` child of the root, merged
/// by issue type.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = xml_text(report)?;
    let doc = parse_xml(&text)?;
    let root = doc.root_element();
    // Keyed by issue type.
    let mut findings: Collector<Option<String>> = Collector::new();
    for issue in children(root, "issue") {
        let f = issue_finding(issue)?;
        findings.add_with(f.vuln_id_from_tool.clone(), f, merge);
    }
    Ok(findings.into_findings())
}

/// Folds another issue of the same type into `into`: its endpoint, its
/// description in front, its parameter in front.
fn merge(into: &mut Finding, other: Finding) {
    into.endpoints.extend(other.endpoints);
    into.description = format!("{}{}", other.description, into.description);
    if let Some(p) = other.param {
        let kept = into.param.take().unwrap_or_else(|| "None".to_owned());
        into.param = Some(format!("{p}, {kept}"));
    }
    if let Some(steps) = other.steps_to_reproduce {
        let s = into.steps_to_reproduce.get_or_insert_with(String::new);
        if s.len() < 100_000 {
            if !s.is_empty() {
                s.push_str("\n\n");
            }
            s.push_str(&steps);
        }
    }
    count_occurrence(into);
}

/// The single `<name>` child an issue must have; its text may be empty.
fn required<'a, 'i>(issue: Node<'a, 'i>, name: &str) -> Result<Node<'a, 'i>, ParseError> {
    children(issue, name).next().ok_or_else(|| {
        ParseError::new(format!("a Burp <issue> has no <{name}>"))
            .at_path(palisade_plugin_sdk::xml::element_path(issue))
    })
}

/// ElementTree's `.text`: the text before the first child element, `None` when empty.
fn et_text(node: Node<'_, '_>) -> Option<String> {
    let mut t = String::new();
    for c in node.children() {
        if c.is_element() {
            break;
        }
        if let Some(x) = c.text() {
            t.push_str(x);
        }
    }
    (!t.is_empty()).then_some(t)
}

/// Every "CWE-n" in the text.
fn cwe_numbers(text: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("CWE-") {
        rest = &rest[at + 4..];
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        if let Ok(v) = rest[..n].parse() {
            out.push(v);
        }
    }
    out
}

/// Reads one `<issue>`.
fn issue_finding(issue: Node<'_, '_>) -> Result<Finding, ParseError> {
    let serial = et_text(required(issue, "serialNumber")?);
    let kind = et_text(required(issue, "type")?);
    let location = et_text(required(issue, "location")?).unwrap_or_default();
    let name = et_text(required(issue, "name")?).unwrap_or_default();
    let severity_word = et_text(required(issue, "severity")?).ok_or_else(|| {
        ParseError::new(format!("the Burp issue {name:?} has an empty <severity>"))
    })?;
    required(issue, "confidence")?;
    let host = et_text(required(issue, "host")?)
        .ok_or_else(|| ParseError::new(format!("the Burp issue {name:?} has an empty <host>")))?;
    let path = et_text(required(issue, "path")?)
        .ok_or_else(|| ParseError::new(format!("the Burp issue {name:?} has an empty <path>")))?;
    // Burp writes High, Medium, Low, Information; other words keep their meaning.
    let severity = severity_or_info(Some(&severity_word));
    // The parameter is what the location names in brackets.
    let param = location
        .find('[')
        .and_then(|a| {
            location
                .rfind(']')
                .filter(|b| *b > a)
                .map(|b| &location[a + 1..b])
        })
        .map(str::to_owned);

    let cwes: Vec<u32> = children(issue, "vulnerabilityClassifications")
        .filter_map(et_text)
        .flat_map(|t| cwe_numbers(&t))
        .collect();
    let detail = children(issue, "issueDetail")
        .filter_map(et_text)
        .collect::<String>();
    let description = format!("URL: {host}{path}\n\n{}\n", html_to_text(&detail));
    let joined = |tag: &str| {
        let t: String = children(issue, tag).filter_map(et_text).collect();
        non_empty_str(&html_to_text(&t))
    };
    let mitigation = palisade_plugin_sdk::text::join_non_empty(
        [joined("remediationDetail"), joined("remediationBackground")]
            .into_iter()
            .flatten(),
        "\n\n",
    );
    let steps = format!("{host}{path} ({location})");
    let mut endpoint = endpoint_from_url(&host).unwrap_or_else(|| Endpoint::from_host(&host, None));
    endpoint.path = None;

    Ok(Finding {
        title: truncate_chars(&name, 511).to_owned(),
        severity,
        description,
        mitigation,
        impact: joined("issueBackground"),
        references: joined("references"),
        cwe: cwes.first().copied(),
        extra_cwes: cwes.iter().skip(1).copied().collect(),
        unique_id_from_tool: serial,
        vuln_id_from_tool: kind,
        static_finding: Some(false),
        dynamic_finding: Some(true),
        endpoints: vec![endpoint],
        param,
        steps_to_reproduce: Some(steps),
        false_p: severity_word
            .eq_ignore_ascii_case("false positive")
            .then_some(true),
        ..Finding::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
