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

use palisade_plugin_sdk::findings::{Collector, count_occurrence};
use palisade_plugin_sdk::json::{
    optional_objects, parse_json_object, parse_json_objects, starts_like_json,
};
use palisade_plugin_sdk::markdown::push_field;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::{contains, value_start_after_key};
use palisade_plugin_sdk::xml::{attr, child_text, descendants, root_element_is};
use serde::Deserialize;

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

/// Nikto JSON describes each target with `host`, `ip`, `port`, a `banner`
/// string and a `vulnerabilities` array (WPScan also has a `banner`, but an object).
fn json_looks_like(head: &[u8]) -> bool {
    let first = &head[..head.len().min(16 * 1024)];
    starts_like_json(head)
        && contains(first, b"\"vulnerabilities\"")
        && contains(first, b"\"ip\"")
        && contains(first, b"\"port\"")
        && value_start_after_key(first, b"\"banner\"") == Some(b'"')
}

/// One Nikto item, from either format.
struct Item<'a> {
    id: Option<&'a str>,
    osvdb: Option<&'a str>,
    method: Option<&'a str>,
    msg: &'a str,
    references: Option<&'a str>,
    endpoint: Option<Endpoint>,
    /// Whether the OSVDB entry names the finding (`unique_id_from_tool`): the
    /// reference does so for JSON output only.
    osvdb_id: bool,
}

/// Items with the same Nikto id and message on the same target ("host:port")
/// are one finding.
type Key = (String, String, String);

/// Adds `item`, found on `target`, to `out`.
fn add(out: &mut Collector<Key>, target: &str, item: Item<'_>) {
    let osvdb = item.osvdb.filter(|o| !o.is_empty() && *o != "0");
    let msg = item.msg.trim();
    let mut description = String::with_capacity(msg.len() + 128);
    push_field(&mut description, "Message", Some(msg));
    push_field(&mut description, "Nikto id", item.id);
    push_field(&mut description, "HTTP method", item.method);
    if let Some(e) = &item.endpoint {
        push_field(&mut description, "URL", Some(&e.to_url()));
    }
    if let Some(o) = osvdb {
        push_field(&mut description, "OSVDB", Some(o));
        description.push_str("\nMarked Medium because the check is linked to an OSVDB entry.\n");
    }
    let finding = Finding {
        title: truncate_chars(if msg.is_empty() { "Nikto finding" } else { msg }, 511).to_owned(),
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
    let key = (
        target.to_owned(),
        item.id.unwrap_or_default().to_owned(),
        msg.to_owned(),
    );
    out.add_with(key, finding, |kept, new| {
        kept.endpoints.extend(new.endpoints);
        count_occurrence(kept);
        kept.description.push_str("\n-----\n");
        kept.description.push_str(&new.description);
        // The reference importer drops the check id once a finding stands
        // for several items; done alike so that identities agree.
        kept.vuln_id_from_tool = None;
    });
}

/// One target of Nikto JSON output.
#[derive(Deserialize)]
struct Target<'a> {
    #[serde(borrow, default)]
    host: Text<'a>,
    #[serde(borrow, default)]
    ip: Text<'a>,
    #[serde(borrow, default)]
    port: Text<'a>,
    #[serde(borrow, default, deserialize_with = "optional_objects")]
    vulnerabilities: Option<Vec<Vulnerability<'a>>>,
}

#[derive(Deserialize)]
struct Vulnerability<'a> {
    #[serde(borrow, default)]
    id: Text<'a>,
    #[serde(rename = "OSVDB", borrow, default)]
    osvdb: Text<'a>,
    #[serde(borrow, default)]
    method: Text<'a>,
    #[serde(borrow, default)]
    url: Text<'a>,
    #[serde(borrow, default)]
    msg: Option<Text<'a>>,
    #[serde(borrow, default)]
    references: Text<'a>,
}

/// Parses Nikto JSON output: one target object or an array of them.
pub fn parse_json_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let targets: Vec<Target<'_>> = if palisade_plugin_sdk::sniff::first_byte(report) == Some(b'[') {
        parse_json_objects(report)?
    } else {
        vec![parse_json_object(report)?]
    };
    let mut out = Collector::new();
    for (t, target) in targets.iter().enumerate() {
        let Some(vulns) = &target.vulnerabilities else {
            return Err(ParseError::new(format!(
                "not a Nikto JSON report: target {} has no \"vulnerabilities\" array",
                t + 1
            )));
        };
        let host = target.host.get().or_else(|| target.ip.get());
        let port = target.port.get().and_then(|p| p.parse::<u16>().ok());
        let base = host.map(|h| {
            let mut e = endpoint_from_url(h).unwrap_or_else(|| Endpoint::from_host(h, None));
            if e.port.is_none() {
                e.port = port;
            }
            e
        });
        let target_key = format!("{}:{}", host.unwrap_or_default(), port.unwrap_or(0));
        for (i, v) in vulns.iter().enumerate() {
            let Some(msg) = v.msg.as_ref().and_then(|m| m.0.as_deref()) else {
                return Err(ParseError::new(format!(
                    "not a Nikto JSON report: vulnerability {} of target {} has no \"msg\"",
                    i + 1,
                    t + 1
                )));
            };
            let endpoint = base.as_ref().map(|b| {
                let mut e = b.clone();
                e.path = v.url.get().filter(|u| *u != "/").map(str::to_owned);
                e
            });
            add(
                &mut out,
                &target_key,
                Item {
                    id: v.id.get(),
                    osvdb: v.osvdb.get(),
                    method: v.method.get(),
                    msg,
                    references: v.references.get(),
                    endpoint,
                    osvdb_id: true,
                },
            );
        }
    }
    Ok(out.into_findings())
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
    let mut out = Collector::new();
    for details in descendants(root, "scandetails") {
        let target_host = attr(details, "targetip").or_else(|| attr(details, "targethostname"));
        let target_port = attr(details, "targetport").and_then(|p| p.parse::<u16>().ok());
        let target_key = format!(
            "{}:{}",
            target_host.unwrap_or_default(),
            target_port.unwrap_or(0)
        );
        for item in descendants(details, "item") {
            let msg = child_text(item, "description").unwrap_or_default();
            // The IP link names the address actually scanned (the name link may
            // be a virtual host); fall back to the target attributes.
            let endpoint = child_text(item, "iplink")
                .or_else(|| child_text(item, "namelink"))
                .and_then(|u| endpoint_from_url(&u))
                .or_else(|| target_host.map(|h| Endpoint::from_host(h, target_port)));
            let id = attr(item, "id");
            let osvdb = attr(item, "osvdbid");
            add(
                &mut out,
                &target_key,
                Item {
                    id,
                    osvdb,
                    method: attr(item, "method"),
                    msg: &msg,
                    references: attr(item, "osvdblink"),
                    endpoint,
                    osvdb_id: false,
                },
            );
        }
    }
    Ok(out.into_findings())
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
        assert!(parse(r#"[["h", "1.2.3.4", 80, "", [{"msg": "m"}]]]"#).is_err());
        assert!(parse(r#"{"host":"h","vulnerabilities":[["1", "m"]]}"#).is_err());
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
