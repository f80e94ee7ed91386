//! Native test harness for parser plugins (cargo feature `testing`).
//!
//! Parse sample reports from disk with a [`Parser`] and compare the findings
//! with reference goldens, using the same normalisation and greedy pairing as
//! the project's conformance tool (`conformance.py`): equal finding counts,
//! and agreement of the identity fields severity, cwe, vulnerability_ids,
//! component name/version, file path, line, unique/vuln id from tool and
//! endpoint host/port. Titles and prose are not scored.
//!
//! A golden is `{"findings": [{...}, ...]}` with the reference field names,
//! or `{"error": "..."}` when the parser must reject the report.
//!
//! A plugin's `tests/conformance.rs` is usually one line (see
//! [`conformance_tests!`](crate::conformance_tests)):
//!
//! ```no_run
//! # use palisade_plugin_sdk::prelude::*;
//! # use palisade_plugin_sdk::testing::DetectCheck;
//! # struct MyParser;
//! # impl Parser for MyParser {
//! #     fn info() -> PluginInfo {
//! #         PluginInfo::single("my", "0.1.0", ScanTypeInfo::new("My Scan", "", &["json"],
//! #             DedupeSetting::hash_code(&["title"])))
//! #     }
//! #     fn parse(_: &str, _: &[u8], _: &Options) -> Result<Vec<Finding>, ParseError> {
//! #         Ok(Vec::new())
//! #     }
//! # }
//! palisade_plugin_sdk::conformance_tests!(MyParser, 0.98, DetectCheck::ACCEPTED,
//!     "My Scan" => "my-scan");
//! # fn main() {}
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::{Endpoint, Finding, Options, ParseError, Parser};

/// The identity fields compared with goldens, in the conformance tool's order.
pub const FIELDS: [&str; 10] = [
    "severity",
    "cwe",
    "vulnerability_ids",
    "component_name",
    "component_version",
    "file_path",
    "line",
    "unique_id_from_tool",
    "vuln_id_from_tool",
    "endpoints",
];

/// Reads `path` and parses it as `scan_type` with `P`, passing the file name as the "file-name" option.
///
/// # Panics
/// When the file cannot be read (a test setup error, not a parse error).
pub fn parse_file<P: Parser>(
    scan_type: &str,
    path: impl AsRef<Path>,
) -> Result<Vec<Finding>, ParseError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path)
        .unwrap_or_else(|e| panic!("cannot read report {}: {e}", path.display()));
    let mut options = Vec::new();
    if let Some(name) = path.file_name() {
        options.push(("file-name".to_owned(), name.to_string_lossy().into_owned()));
    }
    P::parse(scan_type, &bytes, &Options(options))
}

/// A finding as the JSON object `palisade parse` prints and goldens use (reference field names).
pub fn finding_to_json(f: &Finding) -> Value {
    json!({
        "title": f.title,
        "severity": f.severity.as_str(),
        "description": f.description,
        "mitigation": f.mitigation,
        "impact": f.impact,
        "references": f.references,
        "cwe": f.cwe,
        "extra_cwes": f.extra_cwes,
        "vulnerability_ids": f.vulnerability_ids,
        "cvssv3": f.cvssv3,
        "cvssv3_score": f.cvssv3_score,
        "cvssv4": f.cvssv4,
        "cvssv4_score": f.cvssv4_score,
        "epss_score": f.epss_score,
        "epss_percentile": f.epss_percentile,
        "known_exploited": f.known_exploited,
        "file_path": f.file_path,
        "line": f.line,
        "component_name": f.component_name,
        "component_version": f.component_version,
        "fix_available": f.fix_available,
        "fix_version": f.fix_version,
        "unique_id_from_tool": f.unique_id_from_tool,
        "vuln_id_from_tool": f.vuln_id_from_tool,
        "static_finding": f.static_finding,
        "dynamic_finding": f.dynamic_finding,
        "endpoints": f.endpoints.iter().map(endpoint_to_json).collect::<Vec<_>>(),
        "param": f.param,
        "payload": f.payload,
        "date": f.date,
        "service": f.service,
        "tags": f.tags,
        "active": f.active,
        "verified": f.verified,
        "false_p": f.false_p,
        "out_of_scope": f.out_of_scope,
        "risk_accepted": f.risk_accepted,
        "is_mitigated": f.is_mitigated,
        "mitigated": f.mitigated,
        "nb_occurences": f.nb_occurences,
    })
}

fn endpoint_to_json(e: &Endpoint) -> Value {
    json!({
        "protocol": e.protocol,
        "userinfo": e.userinfo,
        "host": e.host,
        "port": e.port,
        "path": e.path,
        "query": e.query,
        "fragment": e.fragment,
    })
}

/// A field value after the conformance tool's normalisation (`None` = unset).
///
/// Equality follows Python's: numbers and booleans compare by value across
/// kinds, everything else only with its own kind.
#[derive(Debug, Clone)]
pub enum Norm {
    /// A trimmed, non-empty string.
    Str(String),
    /// An integer (cwe, line, or a golden's number).
    Int(i64),
    /// A non-integer number from a golden.
    Float(f64),
    /// A boolean from a golden.
    Bool(bool),
    /// Upper-cased vulnerability ids.
    Ids(BTreeSet<String>),
    /// `(host, port)` pairs, default ports filled from the protocol.
    Endpoints(BTreeSet<(String, Option<i64>)>),
    /// Any other JSON value, compared structurally.
    Other(Value),
}

impl Norm {
    fn as_number(&self) -> Option<f64> {
        match self {
            Norm::Int(i) => Some(*i as f64),
            Norm::Float(f) => Some(*f),
            Norm::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        }
    }
}

impl PartialEq for Norm {
    fn eq(&self, other: &Self) -> bool {
        if let (Some(a), Some(b)) = (self.as_number(), other.as_number()) {
            return a == b;
        }
        match (self, other) {
            (Norm::Str(a), Norm::Str(b)) => a == b,
            (Norm::Ids(a), Norm::Ids(b)) => a == b,
            (Norm::Endpoints(a), Norm::Endpoints(b)) => a == b,
            (Norm::Other(a), Norm::Other(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for Norm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Norm::Str(s) => write!(f, "{s:?}"),
            Norm::Int(i) => write!(f, "{i}"),
            Norm::Float(x) => write!(f, "{x}"),
            Norm::Bool(b) => write!(f, "{b}"),
            Norm::Ids(ids) => {
                let v: Vec<&str> = ids.iter().map(String::as_str).collect();
                write!(f, "[{}]", v.join(", "))
            }
            Norm::Endpoints(eps) => {
                let v: Vec<String> = eps
                    .iter()
                    .map(|(h, p)| match p {
                        Some(p) => format!("{h}:{p}"),
                        None => h.clone(),
                    })
                    .collect();
                write!(f, "[{}]", v.join(", "))
            }
            Norm::Other(v) => write!(f, "{v}"),
        }
    }
}

/// Python's truthiness of a JSON value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Python's `str()` of a JSON value, near enough for ids.
fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 1e16 => format!("{f:.1}"),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// Python's `int()` of a JSON value, `None` where Python raises.
fn py_int(v: &Value) -> Option<i64> {
    match v {
        Value::Bool(b) => Some(i64::from(*b)),
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f.trunc() as i64)
        }),
        Value::String(s) => {
            let t = s.trim();
            let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
                return None;
            }
            if digits.starts_with('_') || digits.ends_with('_') || digits.contains("__") {
                return None;
            }
            t.replace('_', "").parse().ok()
        }
        _ => None,
    }
}

/// Python's `str.capitalize()`.
fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

fn default_port(proto: &str) -> Option<i64> {
    match proto {
        "http" => Some(80),
        "https" => Some(443),
        "ftp" => Some(21),
        "ssh" => Some(22),
        _ => None,
    }
}

/// Normalises one field value exactly as the conformance tool's `norm` does.
pub fn norm(field: &str, v: Option<&Value>) -> Option<Norm> {
    let null = Value::Null;
    let v = v.unwrap_or(&null);
    let is_num_field = field == "cwe" || field == "line";
    if is_num_field {
        let empty = match v {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Number(n) => n.as_f64() == Some(0.0),
            Value::Bool(b) => !*b,
            Value::Object(_) => false,
        };
        if empty {
            return None;
        }
    }
    match field {
        "vulnerability_ids" => {
            let items: Vec<String> = if !truthy(v) {
                Vec::new()
            } else {
                match v {
                    Value::String(s) => s.chars().map(String::from).collect(),
                    Value::Array(a) => a.iter().map(py_str).collect(),
                    Value::Object(o) => o.keys().cloned().collect(),
                    _ => Vec::new(),
                }
            };
            let set: BTreeSet<String> = items
                .iter()
                .map(|x| x.trim().to_uppercase())
                .filter(|x| !x.is_empty())
                .collect();
            (!set.is_empty()).then_some(Norm::Ids(set))
        }
        "endpoints" => {
            let mut out = BTreeSet::new();
            if let Value::Array(items) = v {
                for e in items {
                    let Value::Object(e) = e else { continue };
                    let host = match e.get("host") {
                        Some(Value::String(h)) => h.trim().to_lowercase(),
                        _ => String::new(),
                    };
                    if host.is_empty() {
                        continue;
                    }
                    let proto = match e.get("protocol") {
                        Some(Value::String(p)) if !p.is_empty() => Some(p.to_lowercase()),
                        _ => None,
                    };
                    let port = match e.get("port") {
                        None | Some(Value::Null) => None,
                        Some(Value::String(s)) if s.is_empty() => None,
                        Some(p) => py_int(p),
                    };
                    let port = port.or_else(|| proto.as_deref().and_then(default_port));
                    out.insert((host, port));
                }
            }
            (!out.is_empty()).then_some(Norm::Endpoints(out))
        }
        "severity" => truthy(v).then(|| Norm::Str(capitalize(py_str(v).trim()))),
        "cwe" | "line" => py_int(v).map(Norm::Int),
        _ => match v {
            Value::Null => None,
            Value::String(s) => {
                let t = s.trim();
                (!t.is_empty()).then(|| Norm::Str(t.to_owned()))
            }
            Value::Bool(b) => Some(Norm::Bool(*b)),
            Value::Number(n) => Some(match n.as_i64() {
                Some(i) => Norm::Int(i),
                None => Norm::Float(n.as_f64().unwrap_or(f64::NAN)),
            }),
            other => Some(Norm::Other(other.clone())),
        },
    }
}

/// Counts `(agreeing, compared)` identity fields between a golden finding and one of ours.
pub fn score(golden: &Value, ours: &Value) -> (usize, usize) {
    let mut same = 0;
    let mut total = 0;
    for f in FIELDS {
        let x = norm(f, golden.get(f));
        let y = norm(f, ours.get(f));
        if x.is_none() && y.is_none() {
            continue;
        }
        total += 1;
        if x == y {
            same += 1;
        }
    }
    (same, total)
}

/// Pairs each golden finding (in order) greedily with the remaining finding of
/// ours that agrees on most fields, the earliest one on ties, as the
/// conformance tool does. Returns `(golden index, our index)` pairs.
pub fn pair(golden: &[Value], ours: &[Value]) -> Vec<(usize, usize)> {
    let mut left: Vec<usize> = (0..ours.len()).collect();
    let mut pairs = Vec::new();
    for (gi, g) in golden.iter().enumerate() {
        if left.is_empty() {
            break;
        }
        let mut best_pos = 0;
        let mut best_key = f64::NEG_INFINITY;
        for (pos, &i) in left.iter().enumerate() {
            let key = score(g, &ours[i]).0 as f64 - 0.001 * i as f64;
            if key > best_key {
                best_key = key;
                best_pos = pos;
            }
        }
        let oi = left.remove(best_pos);
        pairs.push((gi, oi));
    }
    pairs
}

/// One identity field on which a paired finding differs from the golden.
#[derive(Debug, Clone, PartialEq)]
pub struct Disagreement {
    /// Index of the finding in the golden.
    pub golden_index: usize,
    /// Index of the paired finding of ours.
    pub our_index: usize,
    /// The golden finding's title, for orientation.
    pub golden_title: String,
    /// The field name.
    pub field: &'static str,
    /// Our normalised value ("-" when unset).
    pub ours: String,
    /// The golden's normalised value ("-" when unset).
    pub golden: String,
}

/// The result of comparing a parser's output for one report with its golden.
#[derive(Debug, Clone)]
pub struct Conformance {
    /// The report file.
    pub report: PathBuf,
    /// The golden's "error" when the report must be rejected.
    pub expected_error: Option<String>,
    /// Our parse error, when the parser rejected the report.
    pub parse_error: Option<ParseError>,
    /// Number of findings in the golden.
    pub golden_count: usize,
    /// Number of findings we produced.
    pub our_count: usize,
    /// Agreeing identity fields (the conformance tool's "same").
    pub same: usize,
    /// Compared identity fields, plus 10 per missing or extra finding (the tool's "total").
    pub total: usize,
    /// Every field disagreement over the paired findings.
    pub disagreements: Vec<Disagreement>,
}

impl Conformance {
    /// Says whether the outcome matches on the count: equal finding counts, or
    /// a rejection where the golden expects one.
    pub fn count_equal(&self) -> bool {
        match &self.expected_error {
            Some(_) => self.parse_error.is_some(),
            None => self.parse_error.is_none() && self.golden_count == self.our_count,
        }
    }

    /// The fraction (0.0 to 1.0) of identity fields that agree; 1.0 when nothing was compared.
    pub fn agreement(&self) -> f64 {
        if self.expected_error.is_some() {
            return if self.parse_error.is_some() { 1.0 } else { 0.0 };
        }
        if self.total == 0 {
            1.0
        } else {
            self.same as f64 / self.total as f64
        }
    }

    /// Says whether counts are equal and the agreement reaches `min_agreement` (a fraction, e.g. 0.98).
    pub fn conforms(&self, min_agreement: f64) -> bool {
        self.count_equal() && self.agreement() >= min_agreement
    }
}

impl fmt::Display for Conformance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}:", self.report.display())?;
        if let Some(expected) = &self.expected_error {
            return match &self.parse_error {
                Some(e) => writeln!(f, "  rejected as expected: {e}"),
                None => writeln!(
                    f,
                    "  the golden expects the report to be rejected ({expected}), but it parsed into {} finding(s)",
                    self.our_count
                ),
            };
        }
        if let Some(e) = &self.parse_error {
            return writeln!(
                f,
                "  parse failed: {e}; the golden has {} finding(s)",
                self.golden_count
            );
        }
        writeln!(
            f,
            "  findings: ours {}, golden {}{}",
            self.our_count,
            self.golden_count,
            if self.golden_count == self.our_count {
                ""
            } else {
                "  <- counts differ"
            }
        )?;
        writeln!(
            f,
            "  fields: {}/{} agree ({:.1}%)",
            self.same,
            self.total,
            100.0 * self.agreement()
        )?;
        for d in &self.disagreements {
            writeln!(
                f,
                "  golden #{} (ours #{}) {:?}: {}: ours {}, golden {}",
                d.golden_index, d.our_index, d.golden_title, d.field, d.ours, d.golden
            )?;
        }
        Ok(())
    }
}

fn read_json(path: &Path) -> Value {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()))
}

/// Compares the findings `P` extracts from `report` with the `golden` file.
///
/// # Panics
/// When a file cannot be read or the golden is not JSON of the expected shape.
pub fn compare_with_golden<P: Parser>(
    scan_type: &str,
    report: impl AsRef<Path>,
    golden: impl AsRef<Path>,
) -> Conformance {
    let report = report.as_ref();
    let golden_path = golden.as_ref();
    let golden = read_json(golden_path);
    let result = parse_file::<P>(scan_type, report);
    compare_value(report, &golden, result)
}

/// Compares a parse result with an already loaded golden value.
pub fn compare_value(
    report: &Path,
    golden: &Value,
    result: Result<Vec<Finding>, ParseError>,
) -> Conformance {
    let expected_error = golden.get("error").map(|e| match e {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    let golden_findings: &[Value] = golden
        .get("findings")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let mut c = Conformance {
        report: report.to_owned(),
        expected_error,
        parse_error: None,
        golden_count: golden_findings.len(),
        our_count: 0,
        same: 0,
        total: 0,
        disagreements: Vec::new(),
    };
    let findings = match result {
        Ok(f) => f,
        Err(e) => {
            c.parse_error = Some(e);
            if c.expected_error.is_none() {
                c.total = golden_findings.len().max(1) * FIELDS.len();
            }
            return c;
        }
    };
    c.our_count = findings.len();
    if c.expected_error.is_some() {
        return c;
    }
    let ours: Vec<Value> = findings.iter().map(finding_to_json).collect();
    for (gi, oi) in pair(golden_findings, &ours) {
        let g = &golden_findings[gi];
        let o = &ours[oi];
        for field in FIELDS {
            let x = norm(field, g.get(field));
            let y = norm(field, o.get(field));
            if x.is_none() && y.is_none() {
                continue;
            }
            c.total += 1;
            if x == y {
                c.same += 1;
            } else {
                let show = |n: &Option<Norm>| n.as_ref().map_or("-".to_owned(), Norm::to_string);
                c.disagreements.push(Disagreement {
                    golden_index: gi,
                    our_index: oi,
                    golden_title: g
                        .get("title")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                    field,
                    ours: show(&y),
                    golden: show(&x),
                });
            }
        }
    }
    c.total += golden_findings.len().abs_diff(ours.len()) * FIELDS.len();
    c
}

/// Panics with a readable report unless `P` conforms to the golden for `report`.
///
/// `min_agreement` is a fraction (0.98 = 98 % of identity fields agree);
/// finding counts must always be equal, and rejected files rejected.
pub fn assert_conforms<P: Parser>(
    scan_type: &str,
    report: impl AsRef<Path>,
    golden: impl AsRef<Path>,
    min_agreement: f64,
) {
    let c = compare_with_golden::<P>(scan_type, report, golden);
    assert!(
        c.conforms(min_agreement),
        "report does not conform (need {:.1}% agreement):\n{c}",
        100.0 * min_agreement
    );
}

/// The `(report, golden)` pairs in `dir`: every `X.golden.json` whose report `X` exists, sorted.
///
/// # Panics
/// When `dir` cannot be read.
pub fn golden_pairs(dir: impl AsRef<Path>) -> Vec<(PathBuf, PathBuf)> {
    let dir = dir.as_ref();
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    let mut pairs: Vec<(PathBuf, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter_map(|golden| {
            let name = golden.file_name()?.to_str()?;
            let report = golden.with_file_name(name.strip_suffix(".golden.json")?);
            report.is_file().then_some((report, golden))
        })
        .collect();
    pairs.sort();
    pairs
}

/// Checks every report/golden pair in `dir` and panics listing each one that does not conform.
///
/// The scan type comes from each golden's "scan_type" field, or `default_scan_type`.
///
/// # Panics
/// When `dir` holds no goldens, or any report does not conform.
pub fn assert_dir_conforms<P: Parser>(
    default_scan_type: &str,
    dir: impl AsRef<Path>,
    min_agreement: f64,
) {
    let pairs = golden_pairs(&dir);
    assert!(
        !pairs.is_empty(),
        "no *.golden.json beside a report in {}",
        dir.as_ref().display()
    );
    let mut failures = String::new();
    for (report, golden_path) in &pairs {
        let golden = read_json(golden_path);
        let scan_type = golden
            .get("scan_type")
            .and_then(Value::as_str)
            .unwrap_or(default_scan_type)
            .to_owned();
        let c = compare_value(report, &golden, parse_file::<P>(&scan_type, report));
        if !c.conforms(min_agreement) {
            failures.push_str(&c.to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "reports that do not conform (need equal counts and {:.1}% agreement):\n{failures}",
        100.0 * min_agreement
    );
}

/// Which fixtures [`assert_dir_detected`] leaves out, and which cut heads it
/// also tries: some reports carry no signature (rejected, empty, `null`), and
/// large ones must still be recognised from a head cut mid-token.
#[derive(Debug, Clone, Copy)]
pub struct DetectCheck {
    /// Skip reports whose golden is `{"error": ...}`.
    pub skip_rejected: bool,
    /// Skip reports whose golden has no findings.
    pub skip_without_findings: bool,
    /// Skip reports shorter than this many bytes.
    pub min_len: usize,
    /// Skip reports that are only white space.
    pub skip_blank: bool,
    /// Skip reports this returns true for (file name, bytes).
    pub skip: fn(&str, &[u8]) -> bool,
    /// `(longer_than, cut)`: a report longer than `longer_than` bytes is also
    /// detected from its first `cut` bytes.
    pub cut: Option<(usize, usize)>,
}

impl DetectCheck {
    /// Every accepted report (golden not an error), whole 256 KiB head only.
    pub const ACCEPTED: DetectCheck = DetectCheck {
        skip_rejected: true,
        skip_without_findings: false,
        min_len: 0,
        skip_blank: false,
        skip: |_, _| false,
        cut: None,
    };
}

impl Default for DetectCheck {
    fn default() -> Self {
        Self::ACCEPTED
    }
}

/// The head the host hands `detect`: the first 256 KiB.
pub const HEAD_LEN: usize = crate::sniff::HEAD_LEN;

/// Panics unless `P::detect` (asked with all of `P`'s scan types) answers
/// `scan_type` for every report in `dir` that `check` keeps.
///
/// # Panics
/// When a report or golden cannot be read, or a report is not recognised.
pub fn assert_dir_detected<P: Parser>(scan_type: &str, dir: impl AsRef<Path>, check: &DetectCheck) {
    let candidates: Vec<String> = P::info().scan_types.into_iter().map(|s| s.name).collect();
    for (report, golden_path) in golden_pairs(dir) {
        let golden = read_json(&golden_path);
        let bytes = std::fs::read(&report)
            .unwrap_or_else(|e| panic!("cannot read report {}: {e}", report.display()));
        let name = report
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let without_findings = golden
            .get("findings")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty);
        if (check.skip_rejected && golden.get("error").is_some())
            || (check.skip_without_findings && without_findings)
            || bytes.len() < check.min_len
            || (check.skip_blank && bytes.iter().all(u8::is_ascii_whitespace))
            || (check.skip)(name, &bytes)
        {
            continue;
        }
        let mut cuts = vec![HEAD_LEN];
        if let Some((longer_than, cut)) = check.cut
            && bytes.len() > longer_than
        {
            cuts.push(cut);
        }
        for cut in cuts {
            let head = &bytes[..bytes.len().min(cut)];
            assert_eq!(
                P::detect(&candidates, head).as_deref(),
                Some(scan_type),
                "{} cut at {cut}",
                report.display()
            );
        }
    }
}

/// Prints each report's agreement with its golden (run with `--nocapture`);
/// a diagnostic, it asserts nothing.
pub fn print_dir_agreement<P: Parser>(default_scan_type: &str, dir: impl AsRef<Path>) {
    for (report, golden_path) in golden_pairs(dir) {
        let golden = read_json(&golden_path);
        let scan_type = golden
            .get("scan_type")
            .and_then(Value::as_str)
            .unwrap_or(default_scan_type)
            .to_owned();
        let c = compare_value(&report, &golden, parse_file::<P>(&scan_type, &report));
        eprintln!(
            "AGREEMENT {} golden={} ours={} count_equal={} agreement={:.4} rejected={}",
            report.display(),
            c.golden_count,
            c.our_count,
            c.count_equal(),
            c.agreement(),
            c.expected_error.is_some()
        );
    }
}

/// Panics unless `P` rejects every one of `inputs` as `scan_type`: foreign
/// formats, truncated or hostile reports must be errors, not empty results.
pub fn assert_rejects_foreign<P: Parser>(scan_type: &str, inputs: &[&[u8]]) {
    for input in inputs {
        assert!(
            P::parse(scan_type, input, &Options::default()).is_err(),
            "accepted {:?}",
            String::from_utf8_lossy(&input[..input.len().min(200)])
        );
    }
}

/// The conformance tests every plugin has, over `tests/fixtures/<slug>/` of
/// the repository: each report conforms to its golden with `min_agreement`,
/// detection (see [`DetectCheck`]) recognises it, and `agreement_summary`
/// prints per-file figures.
///
/// ```no_run
/// # use palisade_plugin_sdk::prelude::*;
/// # use palisade_plugin_sdk::testing::DetectCheck;
/// # struct Nikto;
/// # impl Parser for Nikto {
/// #     fn info() -> PluginInfo {
/// #         PluginInfo::single("nikto", "0.1.0", ScanTypeInfo::new("Nikto Scan", "", &["json"],
/// #             DedupeSetting::hash_code(&["title"])))
/// #     }
/// #     fn parse(_: &str, _: &[u8], _: &Options) -> Result<Vec<Finding>, ParseError> {
/// #         Ok(Vec::new())
/// #     }
/// # }
/// palisade_plugin_sdk::conformance_tests!(Nikto, 0.98, DetectCheck::ACCEPTED,
///     "Nikto Scan" => "nikto-scan");
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($parser:ty, $min:expr, $check:expr, $($scan_type:expr => $slug:literal),+ $(,)?) => {
        #[test]
        fn fixtures_conform() {
            $(
                $crate::testing::assert_dir_conforms::<$parser>(
                    $scan_type,
                    concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/", $slug),
                    $min,
                );
            )+
        }

        #[test]
        fn fixtures_detected() {
            $(
                $crate::testing::assert_dir_detected::<$parser>(
                    $scan_type,
                    concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/", $slug),
                    &$check,
                );
            )+
        }

        #[test]
        fn agreement_summary() {
            $(
                $crate::testing::print_dir_agreement::<$parser>(
                    $scan_type,
                    concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/", $slug),
                );
            )+
        }
    };
}

/// Our findings as `{"findings": [...]}`, the shape `palisade parse` prints; handy for writing goldens.
pub fn findings_to_json(findings: &[Finding]) -> Value {
    let mut m = Map::new();
    m.insert(
        "findings".to_owned(),
        Value::Array(findings.iter().map(finding_to_json).collect()),
    );
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PluginInfo, Severity};

    #[test]
    fn norm_matches_python() {
        let n = |f: &str, v: Value| norm(f, Some(&v));
        assert_eq!(n("cwe", json!(0)), None);
        assert_eq!(n("cwe", json!("")), None);
        assert_eq!(n("cwe", json!(false)), None);
        assert_eq!(n("cwe", json!(" 79 ")), Some(Norm::Int(79)));
        assert_eq!(n("cwe", json!("CWE-79")), None);
        assert_eq!(n("line", json!(12.7)), Some(Norm::Int(12)));
        assert_eq!(n("line", json!("1_0")), Some(Norm::Int(10)));
        assert_eq!(
            n("severity", json!(" HIGH ")),
            Some(Norm::Str("High".into()))
        );
        assert_eq!(n("severity", json!("")), None);
        assert_eq!(
            n("vulnerability_ids", json!([" cve-1 ", "", "CVE-1"])),
            Some(Norm::Ids(["CVE-1".to_owned()].into()))
        );
        assert_eq!(n("vulnerability_ids", json!([])), None);
        assert_eq!(
            n("vulnerability_ids", json!("ab")),
            Some(Norm::Ids(["A".to_owned(), "B".to_owned()].into()))
        );
        assert_eq!(
            n(
                "endpoints",
                json!([{"host": " Example.COM ", "protocol": "HTTPS"},
                       {"host": "a", "port": "8080"},
                       {"host": ""}, "junk", {"host": "b", "protocol": "gopher"}])
            ),
            Some(Norm::Endpoints(
                [
                    ("example.com".to_owned(), Some(443)),
                    ("a".to_owned(), Some(8080)),
                    ("b".to_owned(), None)
                ]
                .into()
            ))
        );
        assert_eq!(n("endpoints", json!([])), None);
        assert_eq!(n("file_path", json!("  ")), None);
        assert_eq!(
            n("file_path", json!(" a.c ")),
            Some(Norm::Str("a.c".into()))
        );
        // Python: 5 == 5.0 == True-ish numbers, but "5" != 5.
        assert_eq!(
            n("unique_id_from_tool", json!(5)),
            n("unique_id_from_tool", json!(5.0))
        );
        assert_ne!(
            n("unique_id_from_tool", json!(5)),
            n("unique_id_from_tool", json!("5"))
        );
        assert_eq!(norm("cwe", None), None);
    }

    #[test]
    fn pairing_is_greedy_by_best_score() {
        let golden = vec![
            json!({"severity": "High", "cwe": 79}),
            json!({"severity": "Low", "cwe": 89}),
        ];
        let ours = vec![
            json!({"severity": "Low", "cwe": 89}),
            json!({"severity": "High", "cwe": 79}),
        ];
        assert_eq!(pair(&golden, &ours), vec![(0, 1), (1, 0)]);
        assert_eq!(score(&golden[0], &ours[1]), (2, 2));
        assert_eq!(score(&golden[0], &ours[0]), (0, 2));
        // Ties go to the earliest remaining finding.
        let same = vec![json!({"severity": "High"}), json!({"severity": "High"})];
        assert_eq!(pair(&same, &same), vec![(0, 0), (1, 1)]);
    }

    struct Fake;
    impl Parser for Fake {
        fn info() -> PluginInfo {
            PluginInfo::default()
        }
        fn parse(_: &str, report: &[u8], _: &Options) -> Result<Vec<Finding>, ParseError> {
            if report.starts_with(b"bad") {
                return Err(ParseError::new("bad report"));
            }
            Ok(vec![
                Finding {
                    title: "A".into(),
                    severity: Severity::High,
                    cwe: Some(79),
                    ..Finding::default()
                },
                Finding {
                    title: "B".into(),
                    severity: Severity::Low,
                    file_path: Some("x.c".into()),
                    ..Finding::default()
                },
            ])
        }
    }

    #[test]
    fn compare_reports_disagreements() {
        let golden = json!({"findings": [
            {"title": "B", "severity": "Low", "file_path": "x.c"},
            {"title": "A", "severity": "Medium", "cwe": 79},
        ]});
        let c = compare_value(
            Path::new("r.json"),
            &golden,
            Fake::parse("", b"", &Options::default()),
        );
        assert!(c.count_equal());
        assert_eq!((c.same, c.total), (3, 4));
        assert_eq!(c.disagreements.len(), 1);
        let d = &c.disagreements[0];
        assert_eq!(
            (d.field, d.ours.as_str(), d.golden.as_str()),
            ("severity", "\"High\"", "\"Medium\"")
        );
        assert!(!c.conforms(0.98));
        assert!(c.conforms(0.75));
        let text = c.to_string();
        assert!(
            text.contains("severity: ours \"High\", golden \"Medium\""),
            "{text}"
        );
    }

    #[test]
    fn counts_and_errors() {
        let golden = json!({"findings": [{"severity": "High", "cwe": 79}]});
        let c = compare_value(
            Path::new("r"),
            &golden,
            Fake::parse("", b"", &Options::default()),
        );
        assert!(!c.count_equal());
        assert_eq!((c.same, c.total), (2, 12));
        let err_golden = json!({"error": "not a report"});
        let c = compare_value(
            Path::new("r"),
            &err_golden,
            Fake::parse("", b"bad", &Options::default()),
        );
        assert!(c.conforms(1.0), "{c}");
        let c = compare_value(
            Path::new("r"),
            &err_golden,
            Fake::parse("", b"", &Options::default()),
        );
        assert!(!c.conforms(0.0));
        assert!(c.to_string().contains("expects the report to be rejected"));
        let c = compare_value(
            Path::new("r"),
            &golden,
            Fake::parse("", b"bad", &Options::default()),
        );
        assert!(!c.conforms(0.0));
        assert_eq!(c.total, 10);
    }

    #[test]
    fn files_and_dirs() {
        let dir = std::env::temp_dir().join(format!("palisade-sdk-testing-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("r.json"), b"{}").unwrap();
        std::fs::write(
            dir.join("r.json.golden.json"),
            br#"{"scan_type": "Fake", "findings": [
                {"title": "A", "severity": "High", "cwe": 79},
                {"title": "B", "severity": "Low", "file_path": "x.c"}]}"#,
        )
        .unwrap();
        std::fs::write(dir.join("orphan.golden.json"), b"{}").unwrap();
        assert_eq!(golden_pairs(&dir).len(), 1);
        assert_eq!(
            parse_file::<Fake>("Fake", dir.join("r.json"))
                .unwrap()
                .len(),
            2
        );
        assert_conforms::<Fake>(
            "Fake",
            dir.join("r.json"),
            dir.join("r.json.golden.json"),
            1.0,
        );
        assert_dir_conforms::<Fake>("Fake", &dir, 1.0);
        let j = findings_to_json(&Fake::parse("", b"", &Options::default()).unwrap());
        assert_eq!(j["findings"][0]["severity"], "High");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
