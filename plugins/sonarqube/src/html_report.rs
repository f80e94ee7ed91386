//! The sonar-report HTML page: a "Detail of the Detected Vulnerabilities"
//! table (rule, severity, component, line, description, message, key) and a
//! "Known Security Rules" table with each rule's documentation. Read with a
//! plain scan over the markup: the page is generated, not hand-written, and
//! is not well-formed XML.

use std::collections::HashMap;

use palisade_plugin_sdk::prelude::*;

const DETAIL: &str = "Detail of the Detected Vulnerabilities";
const RULES: &str = "Known Security Rules";

/// Says whether `head` looks like a sonar-report HTML page.
pub fn looks_like(head: &[u8]) -> bool {
    let has = |n: &[u8]| palisade_plugin_sdk::sniff::contains(head, n);
    has(DETAIL.as_bytes()) || (has(b"<html") && has(b"coding_rules#rule_key=") && has(b"sonar"))
}

/// The inner HTML of each `<tag ...>...</tag>` directly in `s`, in order
/// (no nesting of the same tag is expected in the generated rows).
fn elements<'a>(s: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        // "<tr" must not match "<track"; the next char ends the tag name.
        if !after.starts_with(['>', ' ', '\t', '\n', '\r']) {
            rest = after;
            continue;
        }
        let Some(gt) = after.find('>') else { break };
        let body = &after[gt + 1..];
        let Some(end) = body.find(&close) else { break };
        out.push(&body[..end]);
        rest = &body[end + close.len()..];
    }
    out
}

/// Parses a sonar-report HTML page.
pub fn parse(text: &str) -> Result<Vec<Finding>, ParseError> {
    let Some(start) = text.find(DETAIL) else {
        return Err(ParseError::new(format!(
            "not a SonarQube HTML report: no {DETAIL:?} table"
        )));
    };
    let detail = &text[start..];
    let tbody = detail
        .find("<tbody")
        .and_then(|i| {
            let b = &detail[i..];
            b.find("</tbody>").map(|e| &b[..e])
        })
        .ok_or_else(|| ParseError::new("SonarQube HTML report: the details table has no body"))?;
    let rules_section = text.find(RULES).map(|i| &text[i..]);
    let mut rule_docs: HashMap<String, Option<String>> = HashMap::new();
    let mut out: Vec<Finding> = Vec::new();
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for row in elements(tbody, "tr") {
        let cells: Vec<String> = elements(row, "td")
            .iter()
            .map(|c| html_to_text(c))
            .collect();
        if cells.len() < 6 {
            continue;
        }
        let (rule, severity, component, line, title, message) = (
            &cells[0], &cells[1], &cells[2], &cells[3], &cells[4], &cells[5],
        );
        let key = (rule.clone(), component.clone());
        if let Some(&at) = seen.get(&key) {
            let f = &mut out[at];
            f.nb_occurences = Some(f.nb_occurences.unwrap_or(1).saturating_add(1));
            let m = f.mitigation.get_or_insert_with(String::new);
            m.push_str("\n______\n");
            m.push_str(message);
            continue;
        }
        let doc = rule_docs
            .entry(rule.clone())
            .or_insert_with(|| rules_section.and_then(|s| rule_doc(s, rule)))
            .clone();
        let cwes = doc.as_deref().map(find_cwes).unwrap_or_default();
        let mut description = doc.as_deref().map(html_to_text).unwrap_or_default();
        if description.is_empty() {
            description = title.clone();
        }
        description.push_str(&format!("\n\n**Rule:** {rule}\n**First line:** {line}"));
        seen.insert(key, out.len());
        out.push(Finding {
            title: truncate_chars(if title.is_empty() { rule } else { title }, 511).to_owned(),
            severity: crate::report_severity(Some(severity)),
            description: clean(&description),
            mitigation: non_empty_str(message),
            references: non_empty_str(rule),
            cwe: cwes.first().copied(),
            extra_cwes: cwes.iter().skip(1).copied().collect(),
            file_path: non_empty_str(component),
            static_finding: Some(true),
            dynamic_finding: Some(false),
            nb_occurences: Some(1),
            ..Finding::default()
        });
    }
    Ok(out)
}

/// The documentation HTML of `rule` in the "Known Security Rules" table:
/// the `<details>` after the link whose text is the rule key.
fn rule_doc(section: &str, rule: &str) -> Option<String> {
    let anchor = format!(">{rule}</a>");
    let at = section.find(&anchor)?;
    let rest = &section[at..];
    let open = rest.find("<details>")?;
    // The rule's own row ends before the next rule's link.
    let next_rule = rest[anchor.len()..]
        .find("coding_rules#rule_key=")
        .map(|n| n + anchor.len());
    if next_rule.is_some_and(|n| n < open) {
        return None;
    }
    let body = &rest[open + "<details>".len()..];
    let end = body.find("</details>")?;
    Some(body[..end].to_owned())
}
