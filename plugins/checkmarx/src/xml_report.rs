//! The CxSAST XML report: `<CxXMLResults>` holding `<Query>` elements (one
//! per rule: name, cweId, Severity, id, group, categories) with `<Result>`
//! children (FileName, Line, Severity, FalsePositive, state, DeepLink) whose
//! `<Path>` lists the data-flow nodes from source to sink.

use std::collections::HashMap;

use palisade_plugin_sdk::deps::roxmltree::Node;
use palisade_plugin_sdk::markdown::{push_field, push_field_display};
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::xml::{attr, child, child_text, children};

/// Says whether `head` is a CxSAST XML report.
pub fn looks_like(head: &[u8]) -> bool {
    palisade_plugin_sdk::xml::root_element_is(head, "CxXMLResults")
}

/// One data-flow node: file, line, column, code element name.
struct PathNode {
    file: Option<String>,
    line: Option<u32>,
    column: Option<String>,
    name: Option<String>,
    code: Option<String>,
}

fn path_node(n: Node<'_, '_>) -> PathNode {
    PathNode {
        file: child_text(n, "FileName"),
        line: child_text(n, "Line")
            .and_then(|l| l.parse().ok())
            .filter(|l| *l > 0),
        column: child_text(n, "Column"),
        name: child_text(n, "Name"),
        code: child(n, "Snippet")
            .and_then(|s| child(s, "Line"))
            .and_then(|l| child_text(l, "Code")),
    }
}

fn describe_node(label: &str, n: &PathNode, out: &mut String) {
    out.push_str(&format!(
        "**{label}:** {} line {} column {} object {}\n",
        n.file.as_deref().unwrap_or("-"),
        n.line.map_or_else(|| "-".to_owned(), |l| l.to_string()),
        n.column.as_deref().unwrap_or("-"),
        n.name.as_deref().unwrap_or("-"),
    ));
    if let Some(code) = &n.code {
        out.push_str(&format!("```\n{code}\n```\n"));
    }
}

/// Parses a CxSAST XML report; `detailed` gives one finding per result.
pub fn parse(report: &[u8], detailed: bool) -> Result<Vec<Finding>, ParseError> {
    let text = palisade_plugin_sdk::xml::xml_text(report)?;
    let doc = palisade_plugin_sdk::xml::parse_xml(&text)?;
    let root = doc.root_element();
    if root.tag_name().name() != "CxXMLResults" {
        return Err(ParseError::new(format!(
            "not a Checkmarx XML report: the root element is <{}>, expected <CxXMLResults>",
            root.tag_name().name()
        )));
    }
    let date = attr(root, "ScanStart").and_then(scan_date);
    let mut out: Vec<Finding> = Vec::new();
    // Aggregation key (CWE, severity, sink file) -> index in `out`.
    // Keyed by the raw cweId and Severity texts and the sink file, as the reference.
    type Key = (Option<String>, Option<String>, Option<String>);
    let mut groups: HashMap<Key, usize> = HashMap::new();
    for query in children(root, "Query") {
        let query_name = attr(query, "name")
            .unwrap_or("Checkmarx query")
            .replace('_', " ");
        let query_id = attr(query, "id").map(str::to_owned);
        let cwe = attr(query, "cweId").and_then(parse_cwe);
        let mut detail = format!("**Query:** {query_name}\n");
        for (a, label) in [
            ("group", "Group"),
            ("Language", "Language"),
            ("QueryPath", "Query path"),
            ("categories", "Categories"),
        ] {
            push_field(&mut detail, label, attr(query, a));
        }
        for result in children(query, "Result") {
            let sev =
                severity_or_info(attr(result, "Severity").or_else(|| attr(query, "Severity")));
            // The sink is the last node of the last path (there is normally one path).
            let last_path = children(result, "Path").last();
            let nodes: Vec<PathNode> = last_path
                .map(|p| children(p, "PathNode").map(path_node).collect())
                .unwrap_or_default();
            let (source, sink) = (nodes.first(), nodes.last());
            let sink_file = sink
                .and_then(|n| n.file.clone())
                .or_else(|| attr(result, "FileName").map(str::to_owned));
            let sink_line = sink
                .and_then(|n| n.line)
                .or_else(|| attr(result, "Line").and_then(|l| l.parse().ok()));
            let base = sink_file
                .as_deref()
                .map(|f| f.rsplit(['/', '\\']).next().unwrap_or(f).to_owned());
            let title = match &base {
                Some(b) => format!("{query_name} ({b})"),
                None => query_name.clone(),
            };
            let mut description = detail.clone();
            if let Some(s) = source {
                describe_node("Source", s, &mut description);
            }
            if let Some(s) = sink
                && nodes.len() > 1
            {
                describe_node("Sink", s, &mut description);
            }
            push_field_display(&mut description, "Link", attr(result, "DeepLink"));
            let false_p =
                attr(result, "FalsePositive").is_some_and(|f| f.eq_ignore_ascii_case("true"));
            let state = attr(result, "state");
            // CxSAST states: 0 to verify, 1 not exploitable, 2 confirmed,
            // 3 urgent, 4 proposed not exploitable.
            let active = !matches!(state, Some("1"));
            let verified = matches!(state, Some("2" | "3"));
            // The reference's unique id: similarity id and path id run together.
            let path_id = last_path.map(|p| {
                format!(
                    "{}{}",
                    attr(p, "SimilarityId").unwrap_or("None"),
                    attr(p, "PathId").unwrap_or("None")
                )
            });
            if detailed {
                out.push(Finding {
                    title: truncate_chars(&title, 511).to_owned(),
                    severity: sev,
                    description: clean_string(description),
                    cwe,
                    file_path: sink_file,
                    line: sink_line,
                    unique_id_from_tool: path_id,
                    vuln_id_from_tool: query_id.clone(),
                    static_finding: Some(true),
                    dynamic_finding: Some(false),
                    false_p: Some(false_p),
                    active: Some(active && !false_p),
                    verified: Some(verified),
                    date: date.clone(),
                    nb_occurences: Some(1),
                    ..Finding::default()
                });
                continue;
            }
            let key = (
                attr(query, "cweId").map(str::to_owned),
                attr(result, "Severity").map(str::to_owned),
                sink_file.clone(),
            );
            match groups.get(&key) {
                Some(&i) => {
                    let f = &mut out[i];
                    let n = f.nb_occurences.unwrap_or(1).saturating_add(1);
                    f.nb_occurences = Some(n);
                    f.description
                        .push_str(&format!("\n\n-----\n### {n}. {title}\n"));
                    f.description.push_str(&clean(&description));
                    if let Some(id) = &query_id {
                        let ids = f.vuln_id_from_tool.get_or_insert_with(String::new);
                        if !ids.split(',').any(|x| x == id) {
                            if !ids.is_empty() {
                                ids.push(',');
                            }
                            ids.push_str(id);
                        }
                    }
                    // One exploitable or active result makes the aggregate so.
                    if !false_p {
                        f.false_p = Some(false);
                    }
                    if active && !false_p {
                        f.active = Some(true);
                    }
                    if verified {
                        f.verified = Some(true);
                    }
                }
                None => {
                    groups.insert(key, out.len());
                    out.push(Finding {
                        title: truncate_chars(&title, 511).to_owned(),
                        severity: sev,
                        description: format!("### 1. {title}\n{}", clean(&description)),
                        cwe,
                        file_path: sink_file,
                        vuln_id_from_tool: query_id.clone(),
                        static_finding: Some(true),
                        dynamic_finding: Some(false),
                        false_p: Some(false_p),
                        active: Some(active && !false_p),
                        verified: Some(verified),
                        date: date.clone(),
                        nb_occurences: Some(1),
                        ..Finding::default()
                    });
                }
            }
        }
    }
    if !detailed {
        // The reference cuts the joined query ids at 500 characters.
        for f in &mut out {
            if let Some(ids) = &mut f.vuln_id_from_tool {
                let cut = truncate_chars(ids, 500).len();
                ids.truncate(cut);
            }
        }
    }
    Ok(out)
}

/// "Sunday, February 25, 2018 11:35:52 AM" -> "2018-02-25".
fn scan_date(s: &str) -> Option<String> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let words: Vec<&str> = s.split([' ', ',']).filter(|w| !w.is_empty()).collect();
    let m = words
        .iter()
        .position(|w| MONTHS.contains(&w.to_ascii_lowercase().as_str()))?;
    let month = MONTHS
        .iter()
        .position(|x| *x == words[m].to_ascii_lowercase())?
        + 1;
    let day: u32 = words.get(m + 1)?.parse().ok()?;
    let year: u32 = words.get(m + 2)?.parse().ok()?;
    ((1..=31).contains(&day) && year > 1900).then(|| format!("{year:04}-{month:02}-{day:02}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn scan_dates() {
        assert_eq!(
            super::scan_date("Sunday, February 25, 2018 11:35:52 AM").as_deref(),
            Some("2018-02-25")
        );
        assert_eq!(super::scan_date("garbage"), None);
    }
}
