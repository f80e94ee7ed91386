//! Palisade parser plugin for Nikto reports, scan type "Nikto Scan".
//!
//! Two formats share the scan type:
//! - JSON (`-Format json`): one object `{host, ip, port, banner, vulnerabilities: [...]}`
//!   per target, alone or in an array;
//! - XML (`-Format xml`): `<niktoscan>` (possibly nested, one per target) holding
//!   `<scandetails>` with `<item>`s.
//!
//! Every item is informational, except those linked to an OSVDB entry (Medium),
//! as in the reference importer. Items with the same Nikto id and message on the
//! same target are merged into one finding with one endpoint per URL.

use std::collections::HashMap;

use palisade_plugin_sdk::deps::roxmltree::Node;
use palisade_plugin_sdk::deps::serde_json::Value;
use palisade_plugin_sdk::json::{parse_json_value, starts_like_json};
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::xml::{attr, child_text, descendants, root_element_is};

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "Nikto Scan";

/// The Nikto parser.
pub struct Nikto;

impl Parser for Nikto {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "nikto".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "Nikto web server scanner, JSON or XML output".to_owned(),
                file_kinds: vec!["json".to_owned(), "xml".to_owned()],
                dedupe: DedupeSetting::new(
                    DedupeAlgorithm::Legacy,
                    &["title", "cwe", "line", "file_path", "description"],
                ),
            }],
        }
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        if !candidates.iter().any(|c| c == SCAN_TYPE) {
            return None;
        }
        (root_element_is(head, "niktoscan") || json_looks_like(head)).then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        if scan_type != SCAN_TYPE {
            return Err(ParseError::new(format!(
                "the nikto plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
        if starts_like_json(report) {
            parse_json_report(report)
        } else if report.iter().all(u8::is_ascii_whitespace) {
            Err(ParseError::new(
                "the report is empty: expected Nikto JSON or XML output",
            ))
        } else {
            parse_xml_report(report)
        }
    }
}

palisade_plugin_sdk::export_parser!(Nikto);

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Nikto JSON describes each target with `host`, `ip`, `port`, a `banner`
/// string and a `vulnerabilities` array (WPScan also has a `banner`, but an object).
fn json_looks_like(head: &[u8]) -> bool {
    let first = &head[..head.len().min(16 * 1024)];
    starts_like_json(head)
        && contains(first, b"\"vulnerabilities\"")
        && contains(first, b"\"ip\"")
        && contains(first, b"\"port\"")
        && banner_is_string(first)
}

/// True when the first `"banner"` key has a string value.
fn banner_is_string(head: &[u8]) -> bool {
    let key = b"\"banner\"";
    let Some(pos) = head.windows(key.len()).position(|w| w == key) else {
        return false;
    };
    let mut rest = head[pos + key.len()..]
        .iter()
        .skip_while(|b| b.is_ascii_whitespace());
    rest.next() == Some(&b':') && rest.find(|b| !b.is_ascii_whitespace()) == Some(&b'"')
}

/// One Nikto item, from either format.
struct Item<'a> {
    id: Option<&'a str>,
    osvdb: Option<&'a str>,
    method: Option<&'a str>,
    msg: &'a str,
    references: Option<&'a str>,
    endpoint: Option<Endpoint>,
    target: String,
    /// Whether the OSVDB entry names the finding (`unique_id_from_tool`): the
    /// reference does so for JSON output only.
    osvdb_id: bool,
}

/// Collects findings, merging repeated items (same target, id and message).
#[derive(Default)]
struct Collector {
    findings: Vec<Finding>,
    index: HashMap<(String, String, String), usize>,
}

impl Collector {
    fn add(&mut self, item: Item<'_>) {
        let osvdb = item.osvdb.filter(|o| !o.is_empty() && *o != "0");
        let mut description = format!("**Message:** {}\n", item.msg.trim());
        if let Some(id) = item.id {
            description.push_str(&format!("**Nikto id:** {id}\n"));
        }
        if let Some(m) = item.method {
            description.push_str(&format!("**HTTP method:** {m}\n"));
        }
        if let Some(e) = &item.endpoint {
            description.push_str(&format!("**URL:** {}\n", e.to_url()));
        }
        if let Some(o) = osvdb {
            description.push_str(&format!(
                "**OSVDB:** {o}\n\nMarked Medium because the check is linked to an OSVDB entry.\n"
            ));
        }
        let key = (
            item.target.clone(),
            item.id.unwrap_or_default().to_owned(),
            item.msg.trim().to_owned(),
        );
        if let Some(&i) = self.index.get(&key) {
            if let Some(f) = self.findings.get_mut(i) {
                f.endpoints.extend(item.endpoint);
                f.nb_occurences = f.nb_occurences.map(|n| n + 1);
                f.description.push_str("\n-----\n");
                f.description.push_str(&description);
                // The reference importer drops the check id once a finding stands
                // for several items; done alike so that identities agree.
                f.vuln_id_from_tool = None;
            }
            return;
        }
        let title = item.msg.trim();
        let finding = Finding {
            title: truncate_chars(
                if title.is_empty() {
                    "Nikto finding"
                } else {
                    title
                },
                511,
            )
            .to_owned(),
            severity: if osvdb.is_some() {
                Severity::Medium
            } else {
                Severity::Info
            },
            description,
            references: item.references.and_then(non_empty_str),
            vuln_id_from_tool: item.id.map(str::to_owned),
            unique_id_from_tool: osvdb
                .filter(|_| item.osvdb_id)
                .map(|o| format!("OSVDB-{o}")),
            nb_occurences: Some(1),
            static_finding: Some(false),
            dynamic_finding: Some(true),
            endpoints: item.endpoint.into_iter().collect(),
            ..Finding::default()
        };
        self.index.insert(key, self.findings.len());
        self.findings.push(finding);
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Parses Nikto JSON output: one target object or an array of them.
pub fn parse_json_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let value = parse_json_value(report)?;
    let targets: Vec<&Value> = match &value {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let mut out = Collector::default();
    for (t, target) in targets.iter().enumerate() {
        let Some(vulns) = target.get("vulnerabilities").and_then(Value::as_array) else {
            return Err(ParseError::new(format!(
                "not a Nikto JSON report: target {} has no \"vulnerabilities\" array",
                t + 1
            )));
        };
        let host = str_of(target, "host").or_else(|| str_of(target, "ip"));
        let port = target.get("port").and_then(|p| match p {
            Value::String(s) => s.trim().parse::<u16>().ok(),
            Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            _ => None,
        });
        for (i, v) in vulns.iter().enumerate() {
            let Some(msg) = v.get("msg").and_then(Value::as_str) else {
                return Err(ParseError::new(format!(
                    "not a Nikto JSON report: vulnerability {} of target {} has no \"msg\"",
                    i + 1,
                    t + 1
                )));
            };
            let endpoint = host.map(|h| {
                let mut e = endpoint_from_url(h).unwrap_or_else(|| Endpoint::from_host(h, None));
                if e.port.is_none() {
                    e.port = port;
                }
                e.path = str_of(v, "url").filter(|u| *u != "/").map(str::to_owned);
                e
            });
            out.add(Item {
                id: str_of(v, "id"),
                osvdb: str_of(v, "OSVDB"),
                method: str_of(v, "method"),
                msg,
                references: str_of(v, "references"),
                endpoint,
                target: format!("{}:{}", host.unwrap_or_default(), port.unwrap_or(0)),
                osvdb_id: true,
            });
        }
    }
    Ok(out.findings)
}

/// Parses Nikto XML output.
pub fn parse_xml_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = xml_text(report)?;
    let doc = parse_xml(&text)?;
    let root = doc.root_element();
    if root.tag_name().name() != "niktoscan" {
        return Err(ParseError::new(format!(
            "not a Nikto XML report: the root element is <{}>, expected <niktoscan>",
            root.tag_name().name()
        )));
    }
    let mut out = Collector::default();
    for details in descendants(root, "scandetails") {
        let target_host = attr(details, "targetip").or_else(|| attr(details, "targethostname"));
        let target_port = attr(details, "targetport").and_then(|p| p.parse::<u16>().ok());
        let items: Vec<Node<'_, '_>> = descendants(details, "item").collect();
        for item in items {
            let msg = child_text(item, "description").unwrap_or_default();
            // The IP link names the address actually scanned (the name link may
            // be a virtual host); fall back to the target attributes.
            let endpoint = child_text(item, "iplink")
                .or_else(|| child_text(item, "namelink"))
                .and_then(|u| endpoint_from_url(&u))
                .or_else(|| target_host.map(|h| Endpoint::from_host(h, target_port)));
            let id = attr(item, "id");
            let osvdb = attr(item, "osvdbid");
            out.add(Item {
                id,
                osvdb,
                method: attr(item, "method"),
                msg: &msg,
                references: attr(item, "osvdblink"),
                endpoint,
                target: format!(
                    "{}:{}",
                    target_host.unwrap_or_default(),
                    target_port.unwrap_or(0)
                ),
                osvdb_id: false,
            });
        }
    }
    Ok(out.findings)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Vec<Finding>, ParseError> {
        Nikto::parse(SCAN_TYPE, s.as_bytes(), &Options::default())
    }

    #[test]
    fn empty_reports() {
        assert_eq!(parse("<niktoscan>\n</niktoscan>").unwrap(), vec![]);
        assert_eq!(
            parse(r#"{"host":"a","port":"80","banner":"","vulnerabilities":[]}"#).unwrap(),
            vec![]
        );
        assert!(parse("").is_err());
    }

    #[test]
    fn json_osvdb_and_merging() {
        let r = r#"[{"host":"h.example","ip":"1.2.3.4","port":"8443","banner":"x","vulnerabilities":[
            {"id":"1","OSVDB":"3092","method":"GET","url":"/p/","msg":"m"},
            {"id":"2","url":"/a","msg":"dup"},{"id":"2","url":"/b","msg":"dup"}]}]"#;
        let f = parse(r).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].severity, Severity::Medium);
        assert_eq!(f[0].unique_id_from_tool.as_deref(), Some("OSVDB-3092"));
        assert_eq!(f[0].endpoints[0].port, Some(8443));
        assert_eq!(f[1].endpoints.len(), 2);
        assert_eq!(f[1].nb_occurences, Some(2));
    }

    #[test]
    fn xml_items() {
        let r = r#"<niktoscan><niktoscan><scandetails targetip="10.0.0.1" targetport="80">
          <item id="5" osvdbid="0" method="GET"><description><![CDATA[hello]]></description>
          <uri>/x</uri><iplink><![CDATA[http://10.0.0.1:80/x]]></iplink></item>
          <item id="6"><description>no link</description></item>
        </scandetails></niktoscan></niktoscan>"#;
        let f = parse(r).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].title, "hello");
        assert_eq!(f[0].endpoints[0].port, Some(80));
        assert_eq!(f[1].endpoints[0].host, "10.0.0.1");
    }

    #[test]
    fn bad_input_is_rejected() {
        assert!(parse("{\"host\":").is_err());
        assert!(parse(r#"{"findings":[]}"#).is_err());
        assert!(parse(r#"{"vulnerabilities":[{"id":"1"}]}"#).is_err());
        assert!(parse("<nmaprun/>").is_err());
        assert!(
            Nikto::parse(
                SCAN_TYPE,
                b"<niktoscan>\xff</niktoscan>",
                &Options::default()
            )
            .is_err()
        );
        assert!(parse(&"[".repeat(10_000)).is_err());
        assert!(parse(&format!("<niktoscan>{}", "<a>".repeat(5000))).is_err());
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        assert!(Nikto::detect(&c, br#"{"host":"a","ip":"b","port":"443","banner":"","vulnerabilities":[{"id":"1","msg":"#).is_some());
        assert!(Nikto::detect(&c, b"<?xml version=\"1.0\" ?><!DOCTYPE niktoscan SYSTEM \"docs/nikto.dtd\"><niktoscan>").is_some());
        assert!(
            Nikto::detect(
                &c,
                br#"{"vulnerabilities":[{"id":"CVE-1","severity":"high"}]}"#
            )
            .is_none()
        );
        assert!(
            Nikto::detect(
                &c,
                br#"{"banner": {"a": 1}, "ip": "x", "port": 1, "vulnerabilities": []}"#
            )
            .is_none()
        );
        assert!(
            Nikto::detect(
                &c,
                br#"{"host":"a","ip":"b","port":"443","banner": "","vulnerabilities":[]}"#
            )
            .is_some()
        );
    }
}
