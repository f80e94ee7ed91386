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

use palisade_plugin_sdk::json::{json_error, utf8_text, value_to_string};
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::{cvss3_from_str, cvss4_from_str};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::borrow::Cow;

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

/// The position of `name` in [`ALLOWED_FIELDS`]; a compile error when absent.
const fn field(name: &str) -> usize {
    let mut i = 0;
    while i < ALLOWED_FIELDS.len() {
        let a = ALLOWED_FIELDS[i].as_bytes();
        let b = name.as_bytes();
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return i;
            }
        }
        i += 1;
    }
    panic!("not a finding field")
}

const TITLE: usize = field("title");
const SEVERITY: usize = field("severity");
const DESCRIPTION: usize = field("description");
const MITIGATION: usize = field("mitigation");
const IMPACT: usize = field("impact");
const REFERENCES: usize = field("references");
const STEPS_TO_REPRODUCE: usize = field("steps_to_reproduce");
const SEVERITY_JUSTIFICATION: usize = field("severity_justification");
const CWE: usize = field("cwe");
const CWES: usize = field("cwes");
const CVE: usize = field("cve");
const VULNERABILITY_IDS: usize = field("vulnerability_ids");
const CVSSV3: usize = field("cvssv3");
const CVSSV3_SCORE: usize = field("cvssv3_score");
const CVSSV4: usize = field("cvssv4");
const CVSSV4_SCORE: usize = field("cvssv4_score");
const EPSS_SCORE: usize = field("epss_score");
const EPSS_PERCENTILE: usize = field("epss_percentile");
const KNOWN_EXPLOITED: usize = field("known_exploited");
const FILE_PATH: usize = field("file_path");
const LINE: usize = field("line");
const COMPONENT_NAME: usize = field("component_name");
const COMPONENT_VERSION: usize = field("component_version");
const FIX_AVAILABLE: usize = field("fix_available");
const FIX_VERSION: usize = field("fix_version");
const UNIQUE_ID_FROM_TOOL: usize = field("unique_id_from_tool");
const VULN_ID_FROM_TOOL: usize = field("vuln_id_from_tool");
const STATIC_FINDING: usize = field("static_finding");
const DYNAMIC_FINDING: usize = field("dynamic_finding");
const ENDPOINTS: usize = field("endpoints");
const PARAM: usize = field("param");
const PAYLOAD: usize = field("payload");
const DATE: usize = field("date");
const SERVICE: usize = field("service");
const TAGS: usize = field("tags");
const ACTIVE: usize = field("active");
const VERIFIED: usize = field("verified");
const FALSE_P: usize = field("false_p");
const OUT_OF_SCOPE: usize = field("out_of_scope");
const RISK_ACCEPTED: usize = field("risk_accepted");
const IS_MITIGATED: usize = field("is_mitigated");
const MITIGATED: usize = field("mitigated");
const NB_OCCURENCES: usize = field("nb_occurences");
const FILES: usize = field("files");

/// Positions of [`EXTRA_FIELDS`] in [`ALLOWED_FIELDS`].
const EXTRA_INDICES: [usize; EXTRA_FIELDS.len()] = {
    let mut out = [0; EXTRA_FIELDS.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = field(EXTRA_FIELDS[i]);
        i += 1;
    }
    out
};

/// The position of a finding field by name, `None` for other keys.
fn field_index(key: &str) -> Option<usize> {
    ALLOWED_FIELDS.iter().position(|f| *f == key)
}

/// Parses a JSON Generic Findings Import report.
///
/// The report is read in one pass, straight into findings: there is no
/// intermediate JSON tree, and strings without escapes are borrowed from the
/// report until a finding keeps them. Errors come out as they did when the
/// whole report was first read into a tree: invalid JSON anywhere wins over
/// a bad report shape, which wins over the first bad finding. (Only log
/// lines differ: findings before a syntax error may already have logged a
/// dropped CVSS vector or endpoint.)
pub fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = utf8_text(report)?;
    // Room for one finding per 512 bytes of report (typical findings take a
    // few hundred bytes), so most reports never regrow the vector; capped at
    // 32 MiB up front for reports made of a few huge findings.
    let guess = (text.len() / 512).min((32 << 20) / std::mem::size_of::<Finding>().max(1));
    let mut state = State {
        findings: Vec::with_capacity(guess),
        ..State::default()
    };
    let mut de = serde_json::Deserializer::from_str(text);
    ReportSeed(&mut state)
        .deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| json_error(&e))?;
    if state.top_is_not_object {
        return Err(ParseError::new(
            "expected a JSON object with a \"findings\" array at the top level",
        ));
    }
    if let Some(e) = state.shape_error {
        return Err(
            ParseError::new(format!("\"findings\" must be an array of objects: {e}"))
                .at_path("/findings"),
        );
    }
    if !state.has_findings {
        return Err(ParseError::new(
            "the report has no \"findings\" array: expected {\"findings\": [...]}",
        ));
    }
    if let Some((i, message)) = state.finding_error {
        return Err(ParseError::new(message).at_path(format!("/findings/{i}")));
    }
    Ok(state.findings)
}

/// What one pass over the report found.
#[derive(Default)]
struct State {
    top_is_not_object: bool,
    /// A `findings` key with an array value was seen (the last one counts).
    has_findings: bool,
    /// Why the `findings` value is not an array (or null).
    shape_error: Option<serde_json::Error>,
    /// The first finding that could not be read: its index and the message.
    finding_error: Option<(usize, String)>,
    findings: Vec<Finding>,
}

impl State {
    /// Forgets an earlier `findings` key: with duplicate keys the last one counts.
    fn reset_findings(&mut self) {
        self.has_findings = false;
        self.shape_error = None;
        self.finding_error = None;
        self.findings.clear();
    }
}

/// Consumes a value the parser does not keep, as a JSON tree so that nesting
/// limits apply exactly as they did to the whole report.
fn skip_seq<'de, A: SeqAccess<'de>>(seq: A) -> Result<(), A::Error> {
    Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(drop)
}

fn skip_map<'de, A: MapAccess<'de>>(map: A) -> Result<(), A::Error> {
    Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(drop)
}

struct ReportSeed<'s>(&'s mut State);

impl<'de> DeserializeSeed<'de> for ReportSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ReportSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "findings" {
                self.0.reset_findings();
                map.next_value_seed(FindingsArraySeed(&mut *self.0))?;
            } else {
                map.next_value::<Value>()?;
            }
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.0.top_is_not_object = true;
        skip_seq(seq)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.0.top_is_not_object = true;
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.0.top_is_not_object = true;
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.0.top_is_not_object = true;
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.0.top_is_not_object = true;
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.0.top_is_not_object = true;
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.top_is_not_object = true;
        Ok(())
    }
}

/// The value of `findings`: an array is read finding by finding; null means
/// no findings array; anything else is a shape error, worded as serde words
/// a type mismatch.
struct FindingsArraySeed<'s>(&'s mut State);

impl FindingsArraySeed<'_> {
    fn wrong_type(self, unexpected: de::Unexpected<'_>) {
        self.0.shape_error = Some(de::Error::invalid_type(unexpected, &"a sequence"));
    }
}

impl<'de> DeserializeSeed<'de> for FindingsArraySeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FindingsArraySeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of findings")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.wrong_type(de::Unexpected::Bool(v));
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.wrong_type(de::Unexpected::Signed(v));
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.wrong_type(de::Unexpected::Unsigned(v));
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.wrong_type(de::Unexpected::Float(v));
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.wrong_type(de::Unexpected::Str(v));
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.wrong_type(de::Unexpected::Map);
        skip_map(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let state = self.0;
        state.has_findings = true;
        let mut fields = Fields::default();
        let mut i = 0;
        loop {
            if state.finding_error.is_some() {
                // The first bad finding decides; the rest need only be valid JSON.
                if seq.next_element::<Value>()?.is_none() {
                    break;
                }
            } else {
                fields.clear();
                match seq.next_element_seed(FindingSeed(&mut fields))? {
                    None => break,
                    Some(false) => {
                        state.finding_error =
                            Some((i, format!("finding {i} is not a JSON object")));
                    }
                    Some(true) => match finding(&mut fields) {
                        Ok(f) => state.findings.push(f),
                        Err(e) => state.finding_error = Some((i, format!("finding {i}: {e}"))),
                    },
                }
            }
            i += 1;
        }
        Ok(())
    }
}

/// A finding field's value as read: text (borrowed from the report when it
/// has no escapes), or any other JSON value.
enum FieldValue<'de> {
    Str(Cow<'de, str>),
    Json(Value),
}

impl<'de> Deserialize<'de> for FieldValue<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FieldValueVisitor)
    }
}

struct FieldValueVisitor;

impl<'de> Visitor<'de> for FieldValueVisitor {
    type Value = FieldValue<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(FieldValue::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(FieldValue::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(FieldValue::Str(Cow::Owned(v)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(FieldValue::Json(Value::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(FieldValue::Json(Value::Number(v.into())))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(FieldValue::Json(Value::Number(v.into())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(FieldValue::Json(
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(FieldValue::Json(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(FieldValue::Json)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(FieldValue::Json)
    }
}

/// The fields of the finding being read, reused from one finding to the next.
struct Fields<'de> {
    /// For each finding field, 1 + its place in `values`; 0 when absent.
    slot: [u8; ALLOWED_FIELDS.len()],
    values: Vec<FieldValue<'de>>,
    /// Keys that are not finding fields.
    unknown: Vec<String>,
}

impl Default for Fields<'_> {
    fn default() -> Self {
        Self {
            slot: [0; ALLOWED_FIELDS.len()],
            values: Vec::with_capacity(32),
            unknown: Vec::new(),
        }
    }
}

impl<'de> Fields<'de> {
    fn clear(&mut self) {
        self.slot = [0; ALLOWED_FIELDS.len()];
        self.values.clear();
        self.unknown.clear();
    }

    /// Sets a field; a repeated key replaces the earlier value.
    fn set(&mut self, index: usize, value: FieldValue<'de>) {
        let Some(slot) = self.slot.get_mut(index) else {
            return;
        };
        match usize::from(*slot).checked_sub(1) {
            Some(at) => {
                if let Some(old) = self.values.get_mut(at) {
                    *old = value;
                }
            }
            None => {
                // At most one value per finding field, so the count fits a u8.
                if let Ok(n) = u8::try_from(self.values.len() + 1) {
                    *slot = n;
                    self.values.push(value);
                }
            }
        }
    }

    fn get(&self, index: usize) -> Option<&FieldValue<'de>> {
        let at = usize::from(*self.slot.get(index)?).checked_sub(1)?;
        self.values.get(at)
    }

    /// The field as trimmed text; `None` when missing, null, blank, an array or an object.
    fn text(&self, index: usize) -> Option<Cow<'_, str>> {
        match self.get(index)? {
            FieldValue::Str(s) => {
                let t = s.trim();
                (!t.is_empty()).then_some(Cow::Borrowed(t))
            }
            FieldValue::Json(v) => value_to_string(v).map(Cow::Owned),
        }
    }

    fn string(&self, index: usize) -> Option<String> {
        self.text(index).map(Cow::into_owned)
    }

    fn boolean(&self, index: usize) -> Option<bool> {
        match self.get(index)? {
            FieldValue::Str(s) => values::boolean(s),
            FieldValue::Json(v) => bool_of(v),
        }
    }

    fn f32(&self, index: usize) -> Option<f32> {
        match self.get(index)? {
            FieldValue::Str(s) => finite_f32(s.trim().parse::<f64>().ok()?),
            FieldValue::Json(v) => f32_of(v),
        }
    }

    fn u32(&self, index: usize) -> Option<u32> {
        match self.get(index)? {
            FieldValue::Str(s) => s.trim().parse().ok(),
            FieldValue::Json(v) => u32_of(v),
        }
    }

    fn cwe(&self, index: usize) -> Option<u32> {
        match self.get(index)? {
            FieldValue::Str(s) => parse_cwe(s),
            FieldValue::Json(v) => cwe_of(v),
        }
    }

    /// The field when it is a JSON array.
    fn array(&self, index: usize) -> Option<&[Value]> {
        match self.get(index)? {
            FieldValue::Json(Value::Array(items)) => Some(items),
            _ => None,
        }
    }
}

/// Reads one element of `findings`: `true` when it was an object (its fields
/// are then in the `Fields`), `false` for any other JSON value.
struct FindingSeed<'f, 'de>(&'f mut Fields<'de>);

impl<'de> DeserializeSeed<'de> for FindingSeed<'_, 'de> {
    type Value = bool;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FindingSeed<'_, 'de> {
    type Value = bool;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a finding")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match field_index(&key) {
                Some(index) => {
                    let value = map.next_value::<FieldValue<'de>>()?;
                    self.0.set(index, value);
                }
                None => {
                    map.next_value::<Value>()?;
                    self.0.unknown.push(key.into_owned());
                }
            }
        }
        Ok(true)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<bool, A::Error> {
        skip_seq(seq).map(|()| false)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
}

fn get_str(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(value_to_string)
}

fn bool_of(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_u64().map(|n| n != 0),
        Value::String(s) => values::boolean(s),
        _ => None,
    }
}

fn finite_f32(f: f64) -> Option<f32> {
    f.is_finite().then_some(f as f32)
}

fn f32_of(v: &Value) -> Option<f32> {
    let f = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }?;
    finite_f32(f)
}

fn u32_of(v: &Value) -> Option<u32> {
    match v {
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

fn string_list(v: Option<&FieldValue<'_>>) -> Vec<String> {
    match v {
        Some(FieldValue::Json(Value::Array(items))) => {
            items.iter().filter_map(value_to_string).collect()
        }
        Some(FieldValue::Str(s)) => s.split(',').filter_map(|t| non_empty(Some(t))).collect(),
        Some(FieldValue::Json(Value::String(s))) => {
            s.split(',').filter_map(|t| non_empty(Some(t))).collect()
        }
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

fn finding(obj: &mut Fields<'_>) -> Result<Finding, String> {
    if !obj.unknown.is_empty() {
        obj.unknown.sort_unstable();
        obj.unknown.dedup();
        return Err(format!(
            "fields that are not finding fields: {}",
            obj.unknown.join(", ")
        ));
    }
    let obj = &*obj;
    let missing: Vec<&str> = [
        (DESCRIPTION, "description"),
        (SEVERITY, "severity"),
        (TITLE, "title"),
    ]
    .into_iter()
    .filter(|&(k, _)| obj.text(k).is_none())
    .map(|(_, name)| name)
    .collect();
    if !missing.is_empty() {
        return Err(format!(
            "required fields are missing: {}",
            missing.join(", ")
        ));
    }
    let title = obj.string(TITLE).unwrap_or_default();
    let raw_severity = obj.text(SEVERITY).unwrap_or_default();
    let raw_severity: &str = &raw_severity;
    let severity = values::severity(raw_severity).ok_or_else(|| {
        format!("unknown severity {raw_severity:?}: expected Critical, High, Medium, Low or Info")
    })?;

    if let Some(files) = obj.array(FILES) {
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

    let (cwe, extra_cwes) = match (obj.cwe(CWE), obj.array(CWES)) {
        (cwe, None) => (cwe, Vec::new()),
        (cwe, Some(list)) => {
            let mut cwes: Vec<u32> = cwe.into_iter().collect();
            for c in list.iter().filter_map(cwe_of) {
                if !cwes.contains(&c) {
                    cwes.push(c);
                }
            }
            let cwe = cwes.first().copied();
            (cwe, cwes.into_iter().skip(1).collect())
        }
    };

    let mut vulnerability_ids: Vec<String> = Vec::new();
    let mut push_id = |id: String| {
        if !vulnerability_ids
            .iter()
            .any(|v| v.eq_ignore_ascii_case(&id))
        {
            vulnerability_ids.push(id);
        }
    };
    if let Some(cve) = obj.string(CVE) {
        push_id(cve);
    }
    if let Some(ids) = obj.array(VULNERABILITY_IDS) {
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

    let cvssv3 = obj.text(CVSSV3).and_then(|v| match cvss3_from_str(&v) {
        Ok(c) => Some(c.vector()),
        Err(e) => {
            log(
                LogLevel::Warn,
                &format!("dropped an invalid CVSS v3 vector: {e}"),
            );
            None
        }
    });
    let cvssv4 = obj.text(CVSSV4).and_then(|v| match cvss4_from_str(&v) {
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
    if let Some(list) = obj.array(ENDPOINTS) {
        for e in list {
            if let Some(e) = endpoint(e)? {
                endpoints.push(e);
            }
        }
    }

    let extra = EXTRA_INDICES
        .iter()
        .zip(EXTRA_FIELDS)
        .filter_map(|(&i, k)| obj.string(i).map(|v| ((*k).to_owned(), v)))
        .collect();

    Ok(Finding {
        title,
        severity,
        description: obj.string(DESCRIPTION).unwrap_or_default(),
        mitigation: obj.string(MITIGATION),
        impact: obj.string(IMPACT),
        references: obj.string(REFERENCES),
        steps_to_reproduce: obj.string(STEPS_TO_REPRODUCE),
        severity_justification: obj.string(SEVERITY_JUSTIFICATION),
        cwe,
        extra_cwes,
        vulnerability_ids,
        cvssv3,
        cvssv3_score: obj.f32(CVSSV3_SCORE),
        cvssv4,
        cvssv4_score: obj.f32(CVSSV4_SCORE),
        epss_score: obj.f32(EPSS_SCORE),
        epss_percentile: obj.f32(EPSS_PERCENTILE),
        known_exploited: obj.boolean(KNOWN_EXPLOITED),
        file_path: obj.string(FILE_PATH),
        line: obj.u32(LINE).filter(|&l| l != 0),
        component_name: obj.string(COMPONENT_NAME),
        component_version: obj.string(COMPONENT_VERSION),
        fix_available: obj.boolean(FIX_AVAILABLE),
        fix_version: obj.string(FIX_VERSION),
        unique_id_from_tool: obj.string(UNIQUE_ID_FROM_TOOL),
        vuln_id_from_tool: obj.string(VULN_ID_FROM_TOOL),
        static_finding: obj.boolean(STATIC_FINDING),
        dynamic_finding: obj.boolean(DYNAMIC_FINDING),
        endpoints,
        param: obj.string(PARAM),
        payload: obj.string(PAYLOAD),
        date: obj.text(DATE).and_then(|d| values::date(&d)),
        service: obj.string(SERVICE),
        tags: string_list(obj.get(TAGS)),
        active: obj.boolean(ACTIVE),
        verified: obj.boolean(VERIFIED),
        false_p: obj.boolean(FALSE_P),
        out_of_scope: obj.boolean(OUT_OF_SCOPE),
        risk_accepted: obj.boolean(RISK_ACCEPTED),
        is_mitigated: obj.boolean(IS_MITIGATED),
        mitigated: obj.text(MITIGATED).and_then(|d| values::date_time(&d)),
        nb_occurences: obj.u32(NB_OCCURENCES),
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
        // A head cut inside the first finding; or an empty findings array in
        // a whole document that also names the test: a bare `{"findings": []}`
        // is what many scanners write when they find nothing, so it says
        // nothing about its format.
        None => {
            has_findings
                && probe.findings_is_array
                && (text.len() > 1024 || (complete && probe.top_keys.len() > 1))
        }
    }
}
