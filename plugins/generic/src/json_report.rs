//! The JSON flavour of the Generic Findings Import.
//!
//! A report is an object with a `findings` array and optional test-level
//! keys (`name`, `type`, `version`, `description`, `static_tool`,
//! `dynamic_tool`, `title`...). Each finding is an object using DefectDojo's
//! finding field names. `title`, `severity` and `description` are required;
//! a field that is not a finding field is an error (as in DefectDojo), so a
//! typo does not silently lose data.
//!
//! Mapped fields: the contract's finding fields by the same name, plus
//! `cve` (first vulnerability id), `vulnerability_ids` (strings or
//! `{"vulnerability_id": ..}` objects), `cwes` (extra CWEs; the first is the
//! primary one when `cwe` is absent), `endpoints` (URL strings or objects with
//! `host`, `port`, `protocol`, `path`...), `tags` (list or comma-separated
//! string), and `files` (attachments: only their names are checked, the
//! contract carries no attachments). Other known DefectDojo fields
//! (`kev_date`, `ransomware_used`, `url`, `publish_date`...) go to `extra`.
//! Invalid CVSS vectors are dropped with a warning in the log.

use palisade_plugin_sdk::json::{parse_json, value_to_string};
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::{cvss3_from_str, cvss4_from_str};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::values;

/// Finding fields a report may use.
const ALLOWED_FIELDS: &[&str] = &[
    "title",
    "severity",
    "description",
    "mitigation",
    "impact",
    "references",
    "steps_to_reproduce",
    "severity_justification",
    "cwe",
    "cwes",
    "cve",
    "vulnerability_ids",
    "cvssv3",
    "cvssv3_score",
    "cvssv4",
    "cvssv4_score",
    "epss_score",
    "epss_percentile",
    "known_exploited",
    "ransomware_used",
    "kev_date",
    "file_path",
    "line",
    "component_name",
    "component_version",
    "fix_available",
    "fix_version",
    "unique_id_from_tool",
    "vuln_id_from_tool",
    "static_finding",
    "dynamic_finding",
    "endpoints",
    "param",
    "payload",
    "date",
    "service",
    "tags",
    "active",
    "verified",
    "false_p",
    "out_of_scope",
    "risk_accepted",
    "under_review",
    "duplicate",
    "is_mitigated",
    "mitigated",
    "nb_occurences",
    "files",
    "url",
    "numerical_severity",
    "publish_date",
    "planned_remediation_date",
    "planned_remediation_version",
    "effort_for_fixing",
    "scanner_confidence",
    "sast_source_object",
    "sast_sink_object",
    "sast_source_line",
    "sast_source_file_path",
    "hash_code",
    "sla_start_date",
    "sla_expiration_date",
];

/// Fields kept as `extra` key/values.
const EXTRA_FIELDS: &[&str] = &[
    "ransomware_used",
    "kev_date",
    "url",
    "publish_date",
    "planned_remediation_date",
    "planned_remediation_version",
    "effort_for_fixing",
    "scanner_confidence",
    "sast_source_object",
    "sast_sink_object",
    "sast_source_line",
    "sast_source_file_path",
    "under_review",
];

/// Test-level keys DefectDojo reads beside `findings`.
const TEST_KEYS: &[&str] = &[
    "name",
    "type",
    "version",
    "description",
    "static_tool",
    "dynamic_tool",
    "soc",
    "title",
    "findings",
];

/// File extensions DefectDojo accepts for finding attachments.
const FILE_EXTENSIONS: &[&str] = &[
    "txt", "pdf", "json", "xml", "csv", "yml", "png", "jpeg", "sarif", "xlsx", "doc", "html", "js",
    "nessus", "zip", "fpr",
];

#[derive(Deserialize)]
struct Report {
    findings: Option<Vec<Value>>,
}

/// Parses a JSON Generic Findings Import report.
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let value: Value = parse_json(report)?;
    if !value.is_object() {
        return Err(ParseError::new(
            "expected a JSON object with a \"findings\" array at the top level",
        ));
    }
    let Report { findings } = serde_json::from_value(value).map_err(|e| {
        ParseError::new(format!("\"findings\" must be an array of objects: {e}"))
            .at_path("/findings")
    })?;
    let findings = findings.ok_or_else(|| {
        ParseError::new("the report has no \"findings\" array: expected {\"findings\": [...]}")
    })?;
    findings
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let obj = f.as_object().ok_or_else(|| {
                ParseError::new(format!("finding {i} is not a JSON object"))
                    .at_path(format!("/findings/{i}"))
            })?;
            finding(obj).map_err(|e| {
                ParseError::new(format!("finding {i}: {e}")).at_path(format!("/findings/{i}"))
            })
        })
        .collect()
}

fn get_str(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(value_to_string)
}

fn get_bool(obj: &Map<String, Value>, key: &str) -> Option<bool> {
    match obj.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_u64().map(|n| n != 0),
        Value::String(s) => values::boolean(s),
        _ => None,
    }
}

fn get_f32(obj: &Map<String, Value>, key: &str) -> Option<f32> {
    let f = match obj.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }?;
    f.is_finite().then_some(f as f32)
}

fn get_u32(obj: &Map<String, Value>, key: &str) -> Option<u32> {
    match obj.get(key)? {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn cwe_of(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|&n| n != 0),
        Value::String(s) => parse_cwe(s),
        _ => None,
    }
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items.iter().filter_map(value_to_string).collect(),
        Some(Value::String(s)) => s.split(',').filter_map(|t| non_empty(Some(t))).collect(),
        _ => Vec::new(),
    }
}

fn endpoint(v: &Value) -> Result<Option<Endpoint>, String> {
    match v {
        Value::String(s) => {
            let e = endpoint_from_url(s);
            if e.is_none() {
                log(
                    LogLevel::Warn,
                    "skipped an endpoint that is not a valid URL or host",
                );
            }
            Ok(e)
        }
        Value::Object(o) => {
            let Some(host) = get_str(o, "host") else {
                return Err("an endpoint object has no \"host\"".to_owned());
            };
            let port = match o.get("port") {
                None | Some(Value::Null) => None,
                Some(p) => Some(
                    value_to_string(p)
                        .and_then(|p| p.parse::<u16>().ok())
                        .ok_or_else(|| format!("endpoint port {p} is not a port number"))?,
                ),
            };
            let mut e = Endpoint::from_host(&host, port);
            e.protocol = get_str(o, "protocol").map(|p| p.to_ascii_lowercase());
            e.userinfo = get_str(o, "userinfo");
            e.path = get_str(o, "path").map(|p| {
                if p.starts_with('/') {
                    p
                } else {
                    format!("/{p}")
                }
            });
            e.query = get_str(o, "query");
            e.fragment = get_str(o, "fragment");
            Ok(Some(e))
        }
        Value::Null => Ok(None),
        other => Err(format!(
            "an endpoint must be a URL string or an object, not {other}"
        )),
    }
}

fn finding(obj: &Map<String, Value>) -> Result<Finding, String> {
    let mut unknown: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| !ALLOWED_FIELDS.contains(k))
        .collect();
    if !unknown.is_empty() {
        unknown.sort_unstable();
        return Err(format!(
            "fields that are not finding fields: {}",
            unknown.join(", ")
        ));
    }
    let mut missing: Vec<&str> = ["description", "severity", "title"]
        .into_iter()
        .filter(|k| get_str(obj, k).is_none())
        .collect();
    missing.sort_unstable();
    if !missing.is_empty() {
        return Err(format!(
            "required fields are missing: {}",
            missing.join(", ")
        ));
    }
    let title = get_str(obj, "title").unwrap_or_default();
    let raw_severity = get_str(obj, "severity").unwrap_or_default();
    let severity = values::severity(&raw_severity).ok_or_else(|| {
        format!("unknown severity {raw_severity:?}: expected Critical, High, Medium, Low or Info")
    })?;

    if let Some(Value::Array(files)) = obj.get("files") {
        for file in files {
            let name = file.get("title").and_then(Value::as_str).unwrap_or("");
            let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
            if !ext.is_some_and(|e| FILE_EXTENSIONS.contains(&e.as_str())) {
                return Err(format!(
                    "attached file {name:?} has an unsupported extension; supported: {}",
                    FILE_EXTENSIONS.join(", ")
                ));
            }
        }
    }

    let mut cwes: Vec<u32> = Vec::new();
    if let Some(c) = obj.get("cwe").and_then(cwe_of) {
        cwes.push(c);
    }
    if let Some(Value::Array(list)) = obj.get("cwes") {
        for c in list.iter().filter_map(cwe_of) {
            if !cwes.contains(&c) {
                cwes.push(c);
            }
        }
    }
    let cwe = cwes.first().copied();
    let extra_cwes = cwes.into_iter().skip(1).collect();

    let mut vulnerability_ids: Vec<String> = Vec::new();
    let mut push_id = |id: String| {
        if !vulnerability_ids
            .iter()
            .any(|v| v.eq_ignore_ascii_case(&id))
        {
            vulnerability_ids.push(id);
        }
    };
    if let Some(cve) = get_str(obj, "cve") {
        push_id(cve);
    }
    if let Some(Value::Array(ids)) = obj.get("vulnerability_ids") {
        for id in ids {
            let id = match id {
                Value::Object(o) => get_str(o, "vulnerability_id"),
                other => value_to_string(other),
            };
            if let Some(id) = id {
                push_id(id);
            }
        }
    }

    let cvssv3 = get_str(obj, "cvssv3").and_then(|v| match cvss3_from_str(&v) {
        Ok(c) => Some(c.vector()),
        Err(e) => {
            log(
                LogLevel::Warn,
                &format!("dropped an invalid CVSS v3 vector: {e}"),
            );
            None
        }
    });
    let cvssv4 = get_str(obj, "cvssv4").and_then(|v| match cvss4_from_str(&v) {
        Ok(c) => Some(c.vector()),
        Err(e) => {
            log(
                LogLevel::Warn,
                &format!("dropped an invalid CVSS v4 vector: {e}"),
            );
            None
        }
    });

    let mut endpoints = Vec::new();
    if let Some(Value::Array(list)) = obj.get("endpoints") {
        for e in list {
            if let Some(e) = endpoint(e)? {
                endpoints.push(e);
            }
        }
    }

    let extra = EXTRA_FIELDS
        .iter()
        .filter_map(|k| get_str(obj, k).map(|v| ((*k).to_owned(), v)))
        .collect();

    Ok(Finding {
        title,
        severity,
        description: get_str(obj, "description").unwrap_or_default(),
        mitigation: get_str(obj, "mitigation"),
        impact: get_str(obj, "impact"),
        references: get_str(obj, "references"),
        steps_to_reproduce: get_str(obj, "steps_to_reproduce"),
        severity_justification: get_str(obj, "severity_justification"),
        cwe,
        extra_cwes,
        vulnerability_ids,
        cvssv3,
        cvssv3_score: get_f32(obj, "cvssv3_score"),
        cvssv4,
        cvssv4_score: get_f32(obj, "cvssv4_score"),
        epss_score: get_f32(obj, "epss_score"),
        epss_percentile: get_f32(obj, "epss_percentile"),
        known_exploited: get_bool(obj, "known_exploited"),
        file_path: get_str(obj, "file_path"),
        line: get_u32(obj, "line").filter(|&l| l != 0),
        component_name: get_str(obj, "component_name"),
        component_version: get_str(obj, "component_version"),
        fix_available: get_bool(obj, "fix_available"),
        fix_version: get_str(obj, "fix_version"),
        unique_id_from_tool: get_str(obj, "unique_id_from_tool"),
        vuln_id_from_tool: get_str(obj, "vuln_id_from_tool"),
        static_finding: get_bool(obj, "static_finding"),
        dynamic_finding: get_bool(obj, "dynamic_finding"),
        endpoints,
        param: get_str(obj, "param"),
        payload: get_str(obj, "payload"),
        date: get_str(obj, "date").and_then(|d| values::date(&d)),
        service: get_str(obj, "service"),
        tags: string_list(obj.get("tags")),
        active: get_bool(obj, "active"),
        verified: get_bool(obj, "verified"),
        false_p: get_bool(obj, "false_p"),
        out_of_scope: get_bool(obj, "out_of_scope"),
        risk_accepted: get_bool(obj, "risk_accepted"),
        is_mitigated: get_bool(obj, "is_mitigated"),
        mitigated: get_str(obj, "mitigated").and_then(|d| values::date_time(&d)),
        nb_occurences: get_u32(obj, "nb_occurences"),
        extra,
    })
}

/// What the detection probe saw of a (possibly truncated) JSON head.
#[derive(Default)]
struct Probe {
    top_keys: Vec<String>,
    findings_is_array: bool,
    first_finding_keys: Option<Vec<String>>,
}

struct TopSeed<'p>(&'p mut Probe);
struct FindingsSeed<'p>(&'p mut Probe);

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            let is_findings = key == "findings";
            self.0.top_keys.push(key);
            if is_findings {
                map.next_value_seed(FindingsSeed(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for FindingsSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FindingsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.findings_is_array = true;
        if let Some(first) = seq.next_element::<Map<String, Value>>()? {
            self.0.first_finding_keys = Some(first.keys().cloned().collect());
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

/// Says whether a report head is a Generic Findings Import JSON report.
///
/// Strict: the top level must be an object whose keys are all test-level keys
/// and include `findings`, an array whose first finding (when the head holds
/// it whole) has only finding fields, including `title` and `severity`. A
/// head cut short is judged on what it holds.
pub fn looks_like(head: &[u8]) -> bool {
    if !palisade_plugin_sdk::json::starts_like_json(head) {
        return false;
    }
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    // A head cut inside a multi-byte character is still worth probing.
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    let mut probe = Probe::default();
    let mut de = serde_json::Deserializer::from_str(text);
    let complete = match TopSeed(&mut probe).deserialize(&mut de) {
        Ok(()) => true,
        Err(e) if e.is_eof() => false,
        Err(_) => return false,
    };
    if probe.top_keys.is_empty()
        || !probe
            .top_keys
            .iter()
            .all(|k| TEST_KEYS.contains(&k.as_str()))
    {
        return false;
    }
    let has_findings = probe.top_keys.iter().any(|k| k == "findings");
    match &probe.first_finding_keys {
        Some(keys) => {
            has_findings
                && keys.iter().all(|k| ALLOWED_FIELDS.contains(&k.as_str()))
                && keys.iter().any(|k| k == "title")
                && keys.iter().any(|k| k == "severity")
        }
        // An empty findings array in a whole document, or a head cut inside the first finding.
        None => has_findings && probe.findings_is_array && (complete || text.len() > 1024),
    }
}
