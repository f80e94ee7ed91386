//! Palisade parser plugin for Nikto reports, scan type "Nikto Scan".
//!
//! Two formats share the scan type:
//! - JSON (`-Format json`): one object `{host, ip, port, banner, vulnerabilities: [...]}`
//!   per target, alone or in an array;
//! - XML (`-Format xml`): `<niktoscan>` (possibly nested, one per target) holding
//!   `<scandetails>` with `<item>`s.
//!
//! Every item is informational, except those linked to an OSVDB entry (Medium),
//! as in the reference importer. JSON items with the same severity and message
//! merge into one finding with one endpoint per URL; XML items merge only when
//! identical. See FORMAT.md.

use palisade_plugin_sdk::deps::roxmltree::Node;
use palisade_plugin_sdk::deps::serde::de::value::MapAccessDeserializer;
use palisade_plugin_sdk::deps::serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use palisade_plugin_sdk::deps::serde::{Deserialize, Deserializer};
use palisade_plugin_sdk::findings::{Collector, count_occurrence};
use palisade_plugin_sdk::json::{Loose, for_each_field, parse_json_borrowed, starts_like_json};
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::{contains, value_start_after_key};
use palisade_plugin_sdk::xml::{attr, child, children, root_element_is};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::marker::PhantomData;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "Nikto Scan";

/// The Nikto parser.
pub struct Nikto;

impl Parser for Nikto {
    fn info() -> PluginInfo {
        PluginInfo::single(
            "nikto",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "Nikto web server scanner, JSON or XML output",
                &["json", "xml"],
                DedupeSetting::new(
                    DedupeAlgorithm::Legacy,
                    &["title", "cwe", "line", "file_path", "description"],
                ),
            ),
        )
    }

    fn detect(_candidates: &[String], head: &[u8]) -> Option<String> {
        (root_element_is(head, "niktoscan") || json_looks_like(head)).then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        _scan_type: &str,
        report: &[u8],
        options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        // The reference picks the layout by the file name's extension.
        if let Some(name) = options.get("file-name").map(str::to_lowercase) {
            if name.ends_with(".xml") {
                return parse_xml_report(report);
            }
            if name.ends_with(".json") {
                return parse_json_report(report);
            }
            return Err(ParseError::new(format!(
                "unknown file format: {name:?} ends neither in .xml nor .json"
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

/// Parses Nikto JSON output: one target object (or a one-element array
/// holding it); findings merge by severity and message.
pub fn parse_json_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let target = match parse_json_borrowed::<Top<'_>>(report)? {
        Top::Target(t) => t,
        Top::Shape => {
            return Err(ParseError::new(
                "not a Nikto JSON report: expected one target object (or an array holding exactly one)",
            ));
        }
        Top::NotObject => {
            return Err(ParseError::new(
                "not a Nikto JSON report: the target is not a JSON object",
            ));
        }
    };
    let host = target
        .host
        .as_ref()
        .and_then(Loose::as_str)
        .unwrap_or_default();
    let port = match &target.port {
        None => None,
        Some(p) if p.is_null() => None,
        Some(p) => Some(json_port(p)?),
    };
    let vulns: &[Vuln<'_>] = match &target.vulnerabilities {
        None => &[],
        Some(Vulns::List(a)) => a,
        Some(Vulns::Other(other)) => {
            return Err(ParseError::new(format!(
                "not a Nikto JSON report: \"vulnerabilities\" is {other}, expected a list"
            )));
        }
    };
    // Keyed by the message borrowed from the report, and a merged item only
    // appends to the kept finding: most items of a big report merge.
    let mut index: HashMap<(Severity, &str), usize> = HashMap::new();
    let mut out: Vec<Finding> = Vec::new();
    for (i, v) in vulns.iter().enumerate() {
        let at = || format!("/vulnerabilities/{i}");
        let Some(msg) = v.msg.as_ref().and_then(Loose::as_str) else {
            return Err(ParseError::new("a Nikto vulnerability has no \"msg\" text").at_path(at()));
        };
        let osvdb = match &v.osvdb {
            None => None,
            Some(Loose::Str(o)) => Some(o.as_ref()),
            Some(other) => {
                return Err(ParseError::new(format!(
                    "a Nikto vulnerability has \"OSVDB\": {other}, expected text"
                ))
                .at_path(at()));
            }
        };
        let linked = osvdb.filter(|o| *o != "0");
        let severity = if linked.is_some() {
            Severity::Medium
        } else {
            Severity::Info
        };
        let endpoint = Endpoint {
            host: host.to_owned(),
            port,
            path: v.url.as_ref().and_then(Loose::as_str).map(str::to_owned),
            ..Endpoint::default()
        };
        match index.entry((severity, msg)) {
            Entry::Occupied(seen) => {
                let kept = &mut out[*seen.get()];
                kept.description.push_str("\n-----\n");
                push_description(&mut kept.description, v, msg, osvdb);
                kept.endpoints.push(endpoint);
                // An aggregated finding has no single id, as in the reference.
                kept.unique_id_from_tool = None;
                kept.vuln_id_from_tool = None;
                count_occurrence(kept);
            }
            Entry::Vacant(slot) => {
                slot.insert(out.len());
                let mut description = String::new();
                push_description(&mut description, v, msg, osvdb);
                out.push(Finding {
                    title: truncate_chars(msg, 511).to_owned(),
                    severity,
                    description,
                    references: v
                        .references
                        .as_ref()
                        .and_then(Loose::as_str)
                        .and_then(non_empty_str),
                    vuln_id_from_tool: v.id.as_ref().and_then(Loose::as_str).map(str::to_owned),
                    unique_id_from_tool: linked.map(|o| format!("OSVDB-{o}")),
                    nb_occurences: Some(1),
                    static_finding: Some(false),
                    dynamic_finding: Some(true),
                    endpoints: vec![endpoint],
                    ..Finding::default()
                });
            }
        }
    }
    Ok(out)
}

/// Appends a JSON item's description: its id, message, method and OSVDB
/// entry (with a note when that links it, making it Medium).
fn push_description(out: &mut String, v: &Vuln<'_>, msg: &str, osvdb: Option<&str>) {
    for part in [
        "**id:** `",
        &py_text(&v.id),
        "`\n**msg:** `",
        msg,
        "`\n**HTTP Method:** `",
        &py_text(&v.method),
        "`",
    ] {
        out.push_str(part);
    }
    if let Some(o) = osvdb {
        out.push_str("\n**OSVDB:** `");
        out.push_str(o);
        out.push('`');
        if o != "0" {
            out.push_str("\n*This finding is marked as medium as there is a link to OSVDB*");
        }
    }
}

// The report is read into these typed structs rather than a `Value` tree
// (several times faster: unread fields are skipped without allocating). Fields
// keep `Value`'s view of unexpected types through `Loose`, and the
// hand-written visitors let a repeated key overwrite, as in a `Value` tree.

/// The top level: a target object, or an array holding exactly one.
enum Top<'a> {
    Target(Target<'a>),
    /// An array of another length, or a scalar.
    Shape,
    /// A one-element array whose element is not an object.
    NotObject,
}

/// The target object's fields that the parser reads.
#[derive(Default)]
struct Target<'a> {
    host: Option<Loose<'a>>,
    port: Option<Loose<'a>>,
    vulnerabilities: Option<Vulns<'a>>,
}

/// The `vulnerabilities` value: a list, or anything else (rejected, printed).
enum Vulns<'a> {
    List(Vec<Vuln<'a>>),
    Other(Loose<'a>),
}

/// One vulnerability's fields; all `None` when the item is not an object.
#[derive(Default)]
struct Vuln<'a> {
    msg: Option<Loose<'a>>,
    id: Option<Loose<'a>>,
    method: Option<Loose<'a>>,
    osvdb: Option<Loose<'a>>,
    url: Option<Loose<'a>>,
    references: Option<Loose<'a>>,
}

impl<'de> Deserialize<'de> for Top<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Top<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Nikto JSON report")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                Target::from_map(map).map(Top::Target)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let Some(Obj(first)) = seq.next_element::<Obj<Target<'de>>>()? else {
                    return Ok(Top::Shape);
                };
                let mut more = false;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    more = true;
                }
                Ok(match first {
                    _ if more => Top::Shape,
                    Some(t) => Top::Target(t),
                    None => Top::NotObject,
                })
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Top::Shape)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Top::Shape)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Top::Shape)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Top::Shape)
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Top::Shape)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Top::Shape)
            }
        }
        d.deserialize_any(V)
    }
}

/// Reads a struct's fields from an object's entries.
trait FromMap<'de>: Sized {
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error>;
}

/// Any JSON value: `Some` when it is an object (read as `T`), else skipped.
struct Obj<T>(Option<T>);

impl<'de, T: FromMap<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: FromMap<'de>> Visitor<'de> for V<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::from_map(map).map(|t| Obj(Some(t)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Obj(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Obj(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Obj(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Obj(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Obj(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Obj(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Obj(None))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<'de> FromMap<'de> for Target<'de> {
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        let mut t = Target::default();
        for_each_field(map, |key, map| {
            match key {
                "host" => t.host = Some(map.next_value()?),
                "port" => t.port = Some(map.next_value()?),
                "vulnerabilities" => t.vulnerabilities = Some(map.next_value()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(t)
    }
}

impl<'de> FromMap<'de> for Vuln<'de> {
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        let mut v = Vuln::default();
        for_each_field(map, |key, map| {
            let slot = match key {
                "msg" => &mut v.msg,
                "id" => &mut v.id,
                "method" => &mut v.method,
                "OSVDB" => &mut v.osvdb,
                "url" => &mut v.url,
                "references" => &mut v.references,
                _ => return Ok(false),
            };
            *slot = Some(map.next_value()?);
            Ok(true)
        })?;
        Ok(v)
    }
}

impl<'de> Deserialize<'de> for Vulns<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A list is read item by item; anything else as a `Value` for the message.
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vulns<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(Obj(v)) = seq.next_element::<Obj<Vuln<'de>>>()? {
                    items.push(v.unwrap_or_default());
                }
                Ok(Vulns::List(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                Value::deserialize(MapAccessDeserializer::new(map))
                    .map(|v| Vulns::Other(Loose::Other(v)))
            }
            palisade_plugin_sdk::visit_scalars_as_loose!(Vulns::Other);
        }
        d.deserialize_any(V)
    }
}

/// A JSON value as Python's `str()` would print it (strings unquoted).
fn py_str<'a>(v: &'a Loose<'_>) -> Cow<'a, str> {
    match v {
        Loose::Str(s) => Cow::Borrowed(s),
        Loose::Other(Value::Null) => Cow::Borrowed("None"),
        Loose::Other(other) => Cow::Owned(other.to_string()),
    }
}

/// An optional field as [`py_str`] prints it, "None" when missing.
fn py_text<'a>(v: &'a Option<Loose<'_>>) -> Cow<'a, str> {
    v.as_ref().map_or(Cow::Borrowed("None"), py_str)
}

/// The target port: an integer or a string of one (anything else rejects).
fn json_port(p: &Loose<'_>) -> Result<u16, ParseError> {
    let n = match p {
        Loose::Other(Value::Number(n)) => n.as_i64(),
        Loose::Str(s) => s.trim().parse::<i64>().ok(),
        Loose::Other(_) => None,
    };
    n.and_then(|n| u16::try_from(n).ok())
        .ok_or_else(|| ParseError::new(format!("Nikto JSON: port {p} is not a port number")))
}

/// The first sentence of a Nikto description: up to the first whitespace
/// after '.' or '?', except after abbreviations like "e.g." or "Mr.".
fn first_sentence(text: &str) -> &str {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (k, &(at, c)) in chars.iter().enumerate() {
        if !c.is_whitespace() || k == 0 {
            continue;
        }
        let before = |n: usize| k.checked_sub(n).map(|i| chars[i].1);
        if !matches!(before(1), Some('.' | '?')) {
            continue;
        }
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        if word(before(4)) && before(3) == Some('.') && word(before(2)) {
            continue;
        }
        if before(3).is_some_and(|c| c.is_ascii_uppercase())
            && before(2).is_some_and(|c| c.is_ascii_lowercase())
            && before(1) == Some('.')
        {
            continue;
        }
        return &text[..at];
    }
    text
}

/// Parses Nikto XML output: the root's `scandetails`, else every
/// `niktoscan/scandetails`; identical items (same link, text and method) merge.
pub fn parse_xml_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = xml_text(report)?;
    let doc = parse_xml(&text)?;
    let root = doc.root_element();
    let scans: Vec<Node<'_, '_>> = match child(root, "scandetails") {
        Some(s) => vec![s],
        None => children(root, "niktoscan")
            .flat_map(|n| children(n, "scandetails"))
            .collect(),
    };
    let mut out: Collector<String> = Collector::new();
    for details in scans {
        for item in children(details, "item") {
            let Some(desc) = child(item, "description").map(|d| d.text().unwrap_or_default())
            else {
                return Err(ParseError::new("a Nikto <item> has no <description>")
                    .at_path(palisade_plugin_sdk::xml::element_path(item)));
            };
            let iplink = child(item, "iplink").map(|d| d.text().unwrap_or_default());
            let title = truncate_chars(first_sentence(desc), 900);
            let description = format!(
                "**Host:** `{}`\n**Description:** `{desc}`\n**HTTP Method:** `{}`",
                iplink.unwrap_or("None"),
                attr(item, "method").unwrap_or("None"),
            );
            let severity = match attr(item, "osvdbid") {
                Some(o) if o != "0" => Severity::Medium,
                _ => Severity::Info,
            };
            let finding = Finding {
                title: truncate_chars(title, 511).to_owned(),
                severity,
                description: description.clone(),
                references: attr(item, "osvdblink").and_then(non_empty_str),
                vuln_id_from_tool: attr(item, "id").map(str::to_owned),
                nb_occurences: Some(1),
                static_finding: Some(false),
                dynamic_finding: Some(true),
                endpoints: iplink.and_then(endpoint_from_url).into_iter().collect(),
                ..Finding::default()
            };
            out.add_with(description, finding, |kept, new| {
                kept.description.push_str("\n-----\n");
                kept.description.push_str(&new.description);
                kept.endpoints.extend(new.endpoints);
                count_occurrence(kept);
            });
        }
    }
    Ok(out.into_findings())
}

#[cfg(test)]
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
    fn bad_input_is_rejected() {
        assert!(parse("{\"host\":").is_err());
        assert!(parse(r#"{"findings":[]}"#).unwrap().is_empty());
        assert!(parse(r#"{"vulnerabilities":[{"id":"1"}]}"#).is_err());
        assert!(parse(r#"[["h", "1.2.3.4", 80, "", [{"msg": "m"}]]]"#).is_err());
        assert!(parse(r#"{"host":"h","vulnerabilities":[["1", "m"]]}"#).is_err());
        assert!(parse("<nmaprun/>").unwrap().is_empty());
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
    fn json_fields_of_unexpected_types_read_as_before() {
        let f = parse(
            r#"{"host":"h","port":"80","vulnerabilities":[{"id":123,"msg":"m","method":["GET",1],"url":5},{"msg":"m","id":"2","method":null}]}"#,
        )
        .unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].description,
            "**id:** `123`\n**msg:** `m`\n**HTTP Method:** `[\"GET\",1]`\n-----\n\
             **id:** `2`\n**msg:** `m`\n**HTTP Method:** `None`"
        );
        assert_eq!(f[0].endpoints[0].path, None);
        let e = parse(r#"{"vulnerabilities":[{"msg":"m","OSVDB":1.5}]}"#).unwrap_err();
        assert!(e.message.contains("\"OSVDB\": 1.5, expected text"), "{e}");
        let e = parse(r#"{"vulnerabilities":{"b":1,"a":[null]}}"#).unwrap_err();
        assert!(
            e.message.contains(r#"is {"a":[null],"b":1}, expected"#),
            "{e}"
        );
        let e = parse(r#"{"port":80.0,"vulnerabilities":[]}"#).unwrap_err();
        assert!(e.message.contains("port 80.0 is not"), "{e}");
        assert!(parse(r#"{"vulnerabilities":[{"msg":"a"}, 1]}"#).is_err());
        assert!(parse(r#"[{"vulnerabilities":[]}, {}]"#).is_err());
        // A repeated key is no error: the last one counts, as in a JSON tree.
        let f = parse(r#"{"host":"a","vulnerabilities":[{"msg":"x","m\u0073g":"y"}],"host":"b"}"#)
            .unwrap();
        assert_eq!(
            (f[0].title.as_str(), f[0].endpoints[0].host.as_str()),
            ("y", "b")
        );
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
