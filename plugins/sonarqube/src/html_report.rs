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
pub(crate) fn elements<'a>(s: &'a str, tag: &str) -> Vec<&'a str> {
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

/// Parses a sonar-report HTML page; a page without the details table (no
/// vulnerabilities) has no findings.
pub fn parse(text: &str) -> Result<Vec<Finding>, ParseError> {
    let Some(start) = text.find(DETAIL) else {
        return Ok(Vec::new());
    };
    let detail = &text[start..];
    let Some(tbody) = detail.find("<tbody").and_then(|i| {
        let b = &detail[i..];
        b.find("</tbody>").map(|e| &b[..e])
    }) else {
        return Ok(Vec::new());
    };
    let rules_section = text.find(RULES).map(|i| &text[i..]);
    let mut docs: HashMap<String, crate::RuleDoc> = HashMap::new();
    let mut agg = crate::Aggregator::new();
    for row in elements(tbody, "tr") {
        let cells: Vec<String> = elements(row, "td")
            .iter()
            .map(|c| html_to_text(c))
            .collect();
        if cells.len() < 6 {
            return Err(ParseError::new(format!(
                "SonarQube HTML report: a vulnerability row has {} cells, expected 7",
                cells.len()
            )));
        }
        let (rule, severity, component, line, title, message) = (
            &cells[0], &cells[1], &cells[2], &cells[3], &cells[4], &cells[5],
        );
        let doc = docs.entry(rule.clone()).or_insert_with(|| {
            let html = rules_section.and_then(|s| rule_doc(s, rule));
            crate::RuleDoc::of(rule, html.as_deref())
        });
        agg.add(
            rule,
            doc,
            title,
            component,
            line,
            crate::report_severity(severity),
            message,
        );
    }
    Ok(agg.into_findings())
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
