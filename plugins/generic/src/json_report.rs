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
    "is_mitigated",
    "mitigated",
    "nb_occurences",
    "files",
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
    "thread_id",
];

/// Fields kept as `extra` key/values.
const EXTRA_FIELDS: &[&str] = &[
    "ransomware_used",
    "kev_date",
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
    // Without a `findings` key the reference reads an empty list: no findings.
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
        self.wrong_type(de::Unexpected::Unit);
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

    /// An integer field as the reference normalises it: integers, floats
    /// (truncated) and integer strings; anything else is dropped.
    fn int(&self, index: usize) -> Option<i64> {
        match self.get(index)? {
            FieldValue::Str(s) => int_text(s),
            FieldValue::Json(v) => int_of(v),
        }
    }

    fn u32(&self, index: usize) -> Option<u32> {
        self.int(index).and_then(|n| u32::try_from(n).ok())
    }

    /// The primary CWE: only a number is kept ("CWE-79" is not one for the
    /// reference, which drops it); 0 means none.
    fn cwe(&self, index: usize) -> Option<u32> {
        self.int(index)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|&n| n != 0)
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

/// Integer text as Python's `int()` reads it: optional sign, digits.
fn int_text(s: &str) -> Option<i64> {
    let t = s.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.abs() < 9.0e18)
                // Truncation toward zero, as Python's int() of a float.
                .map(|f| f.trunc() as i64)
        }),
        Value::String(s) => int_text(s),
        _ => None,
    }
}

/// One entry of `cwes` as the reference's `cwe_number` reads it: `79`,
/// `"79"` or `"CWE-79"` (any case), positive.
fn cwe_of(v: &Value) -> Option<u32> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        _ => return None,
    };
    let upper = text.trim().to_ascii_uppercase();
    let token = upper.strip_prefix("CWE-").unwrap_or(&upper);
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    token
        .parse::<u32>()
        .ok()
        .filter(|&n| n > 0 && n <= 9_999_999)
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

/// Keys an endpoint object may have: the reference builds its endpoint
/// model from the object, which refuses any other keyword.
const ENDPOINT_KEYS: &[&str] = &[
    "protocol",
    "userinfo",
    "host",
    "port",
    "path",
    "query",
    "fragment",
    "id",
    "product_id",
];

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
            let mut unknown: Vec<&str> = o
                .keys()
                .map(String::as_str)
                .filter(|k| !ENDPOINT_KEYS.contains(k))
                .collect();
            if !unknown.is_empty() {
                unknown.sort_unstable();
                return Err(format!(
                    "an endpoint object has keys that are not endpoint fields: {}",
                    unknown.join(", ")
                ));
            }
            // The reference keeps a host-less endpoint, which names no target.
            let Some(host) = get_str(o, "host") else {
                return Ok(None);
            };
            // A port that is not a number is kept by the reference as text no
            // one can use; here it is left out.
            let port = o
                .get("port")
                .and_then(int_of)
                .and_then(|p| u16::try_from(p).ok());
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

/// Checks a `date`/`mitigated` value the way the reference's date parser
/// fails: only text can be a date, and text without a digit or month name
/// (blank, "N/A") is none. Readable text
/// that this parser cannot normalise is kept out rather than refused.
fn checked_date(
    obj: &Fields<'_>,
    index: usize,
    name: &str,
    read: fn(&str) -> Option<String>,
) -> Result<Option<String>, String> {
    match obj.get(index) {
        None => Ok(None),
        Some(FieldValue::Str(s)) if values::could_be_date(s) => Ok(read(s)),
        Some(FieldValue::Json(Value::String(s))) if values::could_be_date(s) => Ok(read(s)),
        Some(_) => Err(format!("field {name:?} is not a date")),
    }
}

fn finding(obj: &mut Fields<'_>) -> Result<Finding, String> {
    let obj = &*obj;
    let date = checked_date(obj, DATE, "date", values::date)?;
    let mitigated = checked_date(obj, MITIGATED, "mitigated", values::date_time)?;
    // Only the presence of the required keys is checked, not their values.
    let missing: Vec<&str> = [
        (DESCRIPTION, "description"),
        (SEVERITY, "severity"),
        (TITLE, "title"),
    ]
    .into_iter()
    .filter(|&(k, _)| obj.get(k).is_none())
    .map(|(_, name)| name)
    .collect();
    if !missing.is_empty() {
        return Err(format!(
            "required fields are missing: {}",
            missing.join(", ")
        ));
    }
    if !obj.unknown.is_empty() {
        let mut unknown = obj.unknown.clone();
        unknown.sort_unstable();
        unknown.dedup();
        return Err(format!(
            "fields that are not finding fields: {}",
            unknown.join(", ")
        ));
    }
    let title = obj.string(TITLE).unwrap_or_default();
    // The reference stores any severity as given; words it cannot mean
    // anything by are read as Info here, with a warning.
    let severity = match obj.text(SEVERITY) {
        Some(raw) => values::severity(&raw).unwrap_or_else(|| {
            log(
                LogLevel::Warn,
                &format!("unknown severity {raw:?} read as Info"),
            );
            Severity::Info
        }),
        None => Severity::Info,
    };

    if let Some(files) = obj.array(FILES) {
        for file in files {
            if !file.get("data").is_some_and(Value::is_string) {
                return Err("an attached file has no base64 \"data\"".to_owned());
            }
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

    // `cwe` wins; otherwise the first entry of `cwes` (only the first) is
    // the primary CWE. The other entries are extra CWEs.
    let list_cwes: Vec<u32> = obj
        .array(CWES)
        .map(|l| l.iter().filter_map(cwe_of).collect())
        .unwrap_or_default();
    let cwe = obj
        .cwe(CWE)
        .or_else(|| obj.array(CWES).and_then(|l| l.first()).and_then(cwe_of));
    let mut extra_cwes: Vec<u32> = Vec::new();
    for c in list_cwes {
        if Some(c) != cwe && !extra_cwes.contains(&c) {
            extra_cwes.push(c);
        }
    }

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
    match obj.get(VULNERABILITY_IDS) {
        Some(FieldValue::Json(Value::Array(ids))) => {
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
        // A single string is one id (not a comma-separated list).
        Some(FieldValue::Str(_) | FieldValue::Json(Value::String(_))) => {
            if let Some(id) = obj.string(VULNERABILITY_IDS) {
                push_id(id);
            }
        }
        _ => {}
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
        date,
        service: obj.string(SERVICE),
        tags: string_list(obj.get(TAGS)),
        active: obj.boolean(ACTIVE),
        verified: obj.boolean(VERIFIED),
        false_p: obj.boolean(FALSE_P),
        out_of_scope: obj.boolean(OUT_OF_SCOPE),
        risk_accepted: obj.boolean(RISK_ACCEPTED),
        is_mitigated: obj.boolean(IS_MITIGATED),
        mitigated,
        nb_occurences: obj.u32(NB_OCCURENCES),
        extra,
    })
}

/// What the detection probe saw of a (possibly truncated) JSON head.
#[derive(Default)]
struct Probe {
    top_keys: Vec<String>,
    findings_is_array: bool,
    /// The keys of the first finding seen so far (`None`: no finding seen).
    first_finding_keys: Option<Vec<String>>,
    /// The first finding was read to its end.
    first_finding_complete: bool,
}

struct TopSeed<'p>(&'p mut Probe);
struct FindingsSeed<'p>(&'p mut Probe);
struct FirstFindingSeed<'p>(&'p mut Probe);

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
        if seq
            .next_element_seed(FirstFindingSeed(&mut *self.0))?
            .is_some()
        {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for FirstFindingSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FirstFindingSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a finding object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Keys are recorded as they come, so a head cut inside the first
        // finding still shows the ones before the cut.
        self.0.first_finding_keys = Some(Vec::new());
        while let Some(key) = map.next_key::<String>()? {
            if let Some(keys) = self.0.first_finding_keys.as_mut() {
                keys.push(key);
            }
            map.next_value::<IgnoredAny>()?;
        }
        self.0.first_finding_complete = true;
        Ok(())
    }
}

/// Says whether a report head is a Generic Findings Import JSON report.
///
/// Strict: the top level must be an object whose keys are all test-level
/// keys and include `findings`, an array whose first finding has only
/// finding fields, including `title` and `severity` (when the head holds
/// the finding whole) or at least one of `title`, `severity`,
/// `description` (when the head is cut inside it). A report without a
/// finding carries no mark of this format and is not claimed.
pub fn looks_like(head: &[u8]) -> bool {
    if !palisade_plugin_sdk::json::starts_like_json(head) {
        return false;
    }
    let head = palisade_plugin_sdk::sniff::without_bom(head);
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
    match TopSeed(&mut probe).deserialize(&mut de) {
        Ok(()) => {}
        Err(e) if e.is_eof() => {}
        Err(_) => return false,
    }
    if !probe.findings_is_array
        || !probe
            .top_keys
            .iter()
            .all(|k| TEST_KEYS.contains(&k.as_str()))
    {
        return false;
    }
    let Some(keys) = &probe.first_finding_keys else {
        return false;
    };
    let has = |name: &str| keys.iter().any(|k| k == name);
    keys.iter().all(|k| ALLOWED_FIELDS.contains(&k.as_str()))
        && if probe.first_finding_complete {
            has("title") && has("severity")
        } else {
            has("title") || has("severity") || has("description")
        }
}
