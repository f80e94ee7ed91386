//! Parsing, validating and scoring CVSS vectors.
//!
//! - [`Cvss3`]: CVSS v3.0 and v3.1 vectors, base, temporal and environmental
//!   metrics. Parsing checks every metric name and value, rejects duplicates
//!   and missing base metrics, and normalises to the specification's metric
//!   order with "not defined" (`X`) values dropped. [`Cvss3::base_score`]
//!   computes the base score with the specification's formulas (v3.1's
//!   `Roundup` for 3.1 vectors, v3.0's ceiling for 3.0 ones).
//! - [`Cvss4`]: CVSS v4.0 vectors, validated and normalised the same way;
//!   [`Cvss4::base_score`] computes the specification's score (macro vector
//!   lookup and interpolation, threat and environmental metrics applied when
//!   the vector carries them).
//!
//! Metric names and values are matched case-insensitively and written
//! upper-case (v4's `U:Clear`-style supplemental values keep their spelling).

use std::fmt;
use std::str::FromStr;

use crate::{ParseError, Severity, severity::severity_from_cvss};

mod v4_score;

/// Why a CVSS vector was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CvssError {
    /// The vector is empty.
    #[error("empty CVSS vector")]
    Empty,
    /// The vector does not start with "CVSS:3.0/", "CVSS:3.1/" or "CVSS:4.0/" as required.
    #[error("CVSS vector must start with \"{expected}\"")]
    MissingPrefix {
        /// The prefix (or prefixes) expected.
        expected: &'static str,
    },
    /// The version in the prefix is not one this parser reads.
    #[error("unsupported CVSS version {0:?}")]
    UnsupportedVersion(String),
    /// A component is not of the form "NAME:VALUE".
    #[error("malformed CVSS metric {0:?}: expected NAME:VALUE")]
    MalformedMetric(String),
    /// A metric name that does not exist in this CVSS version.
    #[error("unknown CVSS metric {0:?}")]
    UnknownMetric(String),
    /// A metric given a value it does not allow.
    #[error("invalid value {value:?} for CVSS metric {metric}")]
    InvalidValue {
        /// The metric name.
        metric: &'static str,
        /// The rejected value.
        value: String,
    },
    /// A metric given twice.
    #[error("CVSS metric {0} appears more than once")]
    DuplicateMetric(&'static str),
    /// A mandatory base metric is missing.
    #[error("CVSS vector lacks the base metric {0}")]
    MissingMetric(&'static str),
}

impl From<CvssError> for ParseError {
    fn from(e: CvssError) -> Self {
        ParseError::new(e.to_string())
    }
}

/// One metric of a CVSS version: its name, allowed values, and whether it is mandatory.
struct MetricDef {
    name: &'static str,
    values: &'static [&'static str],
    required: bool,
}

const fn m(name: &'static str, values: &'static [&'static str], required: bool) -> MetricDef {
    MetricDef {
        name,
        values,
        required,
    }
}

/// CVSS v3.x metrics in the specification's order.
const V3_METRICS: &[MetricDef] = &[
    m("AV", &["N", "A", "L", "P"], true),
    m("AC", &["L", "H"], true),
    m("PR", &["N", "L", "H"], true),
    m("UI", &["N", "R"], true),
    m("S", &["U", "C"], true),
    m("C", &["H", "L", "N"], true),
    m("I", &["H", "L", "N"], true),
    m("A", &["H", "L", "N"], true),
    m("E", &["X", "H", "F", "P", "U"], false),
    m("RL", &["X", "U", "W", "T", "O"], false),
    m("RC", &["X", "C", "R", "U"], false),
    m("CR", &["X", "H", "M", "L"], false),
    m("IR", &["X", "H", "M", "L"], false),
    m("AR", &["X", "H", "M", "L"], false),
    m("MAV", &["X", "N", "A", "L", "P"], false),
    m("MAC", &["X", "L", "H"], false),
    m("MPR", &["X", "N", "L", "H"], false),
    m("MUI", &["X", "N", "R"], false),
    m("MS", &["X", "U", "C"], false),
    m("MC", &["X", "H", "L", "N"], false),
    m("MI", &["X", "H", "L", "N"], false),
    m("MA", &["X", "H", "L", "N"], false),
];

/// CVSS v4.0 metrics in the specification's order.
const V4_METRICS: &[MetricDef] = &[
    m("AV", &["N", "A", "L", "P"], true),
    m("AC", &["L", "H"], true),
    m("AT", &["N", "P"], true),
    m("PR", &["N", "L", "H"], true),
    m("UI", &["N", "P", "A"], true),
    m("VC", &["H", "L", "N"], true),
    m("VI", &["H", "L", "N"], true),
    m("VA", &["H", "L", "N"], true),
    m("SC", &["H", "L", "N"], true),
    m("SI", &["H", "L", "N"], true),
    m("SA", &["H", "L", "N"], true),
    m("E", &["X", "A", "P", "U"], false),
    m("CR", &["X", "H", "M", "L"], false),
    m("IR", &["X", "H", "M", "L"], false),
    m("AR", &["X", "H", "M", "L"], false),
    m("MAV", &["X", "N", "A", "L", "P"], false),
    m("MAC", &["X", "L", "H"], false),
    m("MAT", &["X", "N", "P"], false),
    m("MPR", &["X", "N", "L", "H"], false),
    m("MUI", &["X", "N", "P", "A"], false),
    m("MVC", &["X", "H", "L", "N"], false),
    m("MVI", &["X", "H", "L", "N"], false),
    m("MVA", &["X", "H", "L", "N"], false),
    m("MSC", &["X", "H", "L", "N"], false),
    m("MSI", &["X", "S", "H", "L", "N"], false),
    m("MSA", &["X", "S", "H", "L", "N"], false),
    m("S", &["X", "N", "P"], false),
    m("AU", &["X", "N", "Y"], false),
    m("R", &["X", "A", "U", "I"], false),
    m("V", &["X", "D", "C"], false),
    m("RE", &["X", "L", "M", "H"], false),
    m("U", &["X", "Clear", "Green", "Amber", "Red"], false),
];

/// Parses "NAME:VALUE/NAME:VALUE..." against `defs`, returning each metric's
/// value in definition order (`None` when absent or `X`).
fn parse_metrics(
    body: &str,
    defs: &'static [MetricDef],
) -> Result<Vec<(&'static str, &'static str)>, CvssError> {
    let mut values: Vec<Option<&'static str>> = vec![None; defs.len()];
    let mut seen = vec![false; defs.len()];
    for part in body.split('/') {
        let (name, value) = part
            .split_once(':')
            .ok_or_else(|| CvssError::MalformedMetric(part.to_owned()))?;
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() || value.is_empty() {
            return Err(CvssError::MalformedMetric(part.to_owned()));
        }
        let idx = defs
            .iter()
            .position(|d| d.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| CvssError::UnknownMetric(name.to_owned()))?;
        let def = &defs[idx];
        let canon = def
            .values
            .iter()
            .find(|v| v.eq_ignore_ascii_case(value))
            .ok_or_else(|| CvssError::InvalidValue {
                metric: def.name,
                value: value.to_owned(),
            })?;
        if seen[idx] {
            return Err(CvssError::DuplicateMetric(def.name));
        }
        seen[idx] = true;
        if *canon != "X" {
            values[idx] = Some(canon);
        }
    }
    for (def, v) in defs.iter().zip(&values) {
        if def.required && v.is_none() {
            return Err(CvssError::MissingMetric(def.name));
        }
    }
    Ok(defs
        .iter()
        .zip(values)
        .filter_map(|(d, v)| v.map(|v| (d.name, v)))
        .collect())
}

fn write_vector(
    f: &mut fmt::Formatter<'_>,
    prefix: &str,
    metrics: &[(&'static str, &'static str)],
) -> fmt::Result {
    f.write_str(prefix)?;
    for (i, (name, value)) in metrics.iter().enumerate() {
        if i > 0 {
            f.write_str("/")?;
        }
        write!(f, "{name}:{value}")?;
    }
    Ok(())
}

/// The minor version of a CVSS v3 vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cvss3Version {
    /// CVSS v3.0.
    V3_0,
    /// CVSS v3.1.
    V3_1,
}

impl Cvss3Version {
    /// The prefix of vectors of this version, e.g. "CVSS:3.1/".
    pub fn prefix(self) -> &'static str {
        match self {
            Cvss3Version::V3_0 => "CVSS:3.0/",
            Cvss3Version::V3_1 => "CVSS:3.1/",
        }
    }
}

/// A validated CVSS v3.0 or v3.1 vector in canonical metric order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cvss3 {
    version: Cvss3Version,
    metrics: Vec<(&'static str, &'static str)>,
}

impl Cvss3 {
    /// Parses a vector that starts with "CVSS:3.0/" or "CVSS:3.1/".
    pub fn parse(vector: &str) -> Result<Self, CvssError> {
        let v = vector.trim();
        if v.is_empty() {
            return Err(CvssError::Empty);
        }
        let (version, body) = split_v3_prefix(v)?.ok_or(CvssError::MissingPrefix {
            expected: "CVSS:3.1/",
        })?;
        Self::from_parts(version, body)
    }

    fn from_parts(version: Cvss3Version, body: &str) -> Result<Self, CvssError> {
        Ok(Cvss3 {
            version,
            metrics: parse_metrics(body, V3_METRICS)?,
        })
    }

    /// The vector's version.
    pub fn version(&self) -> Cvss3Version {
        self.version
    }

    /// The value of a metric ("AV", "MAC"...), `None` when absent or not defined.
    pub fn metric(&self, name: &str) -> Option<&'static str> {
        self.metrics
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// The canonical vector string, e.g. "CVSS:3.1/AV:N/AC:L/...".
    pub fn vector(&self) -> String {
        self.to_string()
    }

    /// The base score (0.0 to 10.0, one decimal) computed per the specification.
    pub fn base_score(&self) -> f32 {
        let get = |n: &str| self.metric(n).unwrap_or("");
        let changed = get("S") == "C";
        let cia = |n: &str| match get(n) {
            "H" => 0.56,
            "L" => 0.22,
            _ => 0.0,
        };
        let iss = 1.0 - (1.0 - cia("C")) * (1.0 - cia("I")) * (1.0 - cia("A"));
        let impact = if changed {
            7.52 * (iss - 0.029) - 3.25 * f64::powi(iss - 0.02, 15)
        } else {
            6.42 * iss
        };
        let av = match get("AV") {
            "N" => 0.85,
            "A" => 0.62,
            "L" => 0.55,
            _ => 0.2,
        };
        let ac = if get("AC") == "L" { 0.77 } else { 0.44 };
        let pr = match (get("PR"), changed) {
            ("N", _) => 0.85,
            ("L", false) => 0.62,
            ("L", true) => 0.68,
            (_, false) => 0.27,
            (_, true) => 0.5,
        };
        let ui = if get("UI") == "N" { 0.85 } else { 0.62 };
        let exploitability = 8.22 * av * ac * pr * ui;
        if impact <= 0.0 {
            return 0.0;
        }
        let raw = if changed {
            f64::min(1.08 * (impact + exploitability), 10.0)
        } else {
            f64::min(impact + exploitability, 10.0)
        };
        let score = match self.version {
            Cvss3Version::V3_1 => roundup(raw),
            Cvss3Version::V3_0 => (raw * 10.0).ceil() / 10.0,
        };
        score as f32
    }

    /// The qualitative severity of the base score.
    pub fn severity(&self) -> Severity {
        severity_from_cvss(self.base_score())
    }
}

/// CVSS v3.1's `Roundup`: the smallest number with one decimal that is at
/// least `input`, computed on integers to avoid floating-point surprises.
pub fn roundup(input: f64) -> f64 {
    let int_input = (input * 100_000.0).round() as i64;
    if int_input % 10_000 == 0 {
        int_input as f64 / 100_000.0
    } else {
        ((int_input / 10_000) + 1) as f64 / 10.0
    }
}

/// Splits "CVSS:3.x/" off `v`: `Ok(None)` when there is no "CVSS:" prefix.
fn split_v3_prefix(v: &str) -> Result<Option<(Cvss3Version, &str)>, CvssError> {
    let Some(rest) = strip_prefix_ci(v, "CVSS:") else {
        return Ok(None);
    };
    let (ver, body) = rest
        .split_once('/')
        .ok_or_else(|| CvssError::UnsupportedVersion(rest.to_owned()))?;
    let version = match ver {
        "3.0" => Cvss3Version::V3_0,
        "3.1" => Cvss3Version::V3_1,
        other => return Err(CvssError::UnsupportedVersion(other.to_owned())),
    };
    Ok(Some((version, body)))
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

impl fmt::Display for Cvss3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_vector(f, self.version.prefix(), &self.metrics)
    }
}

impl FromStr for Cvss3 {
    type Err = CvssError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cvss3::parse(s)
    }
}

/// Parses a CVSS v3 vector with or without its "CVSS:3.x/" prefix (no prefix means 3.1).
///
/// Also accepts the vector wrapped in parentheses, as some tools print it.
pub fn cvss3_from_str(text: &str) -> Result<Cvss3, CvssError> {
    let v = unwrap_parens(text.trim());
    if v.is_empty() {
        return Err(CvssError::Empty);
    }
    match split_v3_prefix(v)? {
        Some((version, body)) => Cvss3::from_parts(version, body),
        None => Cvss3::from_parts(Cvss3Version::V3_1, v),
    }
}

/// The base score of a CVSS v3 vector (prefix optional), or `None` when it is invalid.
pub fn cvss3_base_score(text: &str) -> Option<f32> {
    cvss3_from_str(text).ok().map(|c| c.base_score())
}

fn unwrap_parens(v: &str) -> &str {
    v.strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .map_or(v, str::trim)
}

/// A validated CVSS v4.0 vector in canonical metric order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cvss4 {
    metrics: Vec<(&'static str, &'static str)>,
}

impl Cvss4 {
    /// Parses a vector that starts with "CVSS:4.0/".
    pub fn parse(vector: &str) -> Result<Self, CvssError> {
        let v = vector.trim();
        if v.is_empty() {
            return Err(CvssError::Empty);
        }
        let rest = strip_prefix_ci(v, "CVSS:").ok_or(CvssError::MissingPrefix {
            expected: "CVSS:4.0/",
        })?;
        let (ver, body) = rest
            .split_once('/')
            .ok_or_else(|| CvssError::UnsupportedVersion(rest.to_owned()))?;
        if ver != "4.0" {
            return Err(CvssError::UnsupportedVersion(ver.to_owned()));
        }
        Self::from_body(body)
    }

    fn from_body(body: &str) -> Result<Self, CvssError> {
        Ok(Cvss4 {
            metrics: parse_metrics(body, V4_METRICS)?,
        })
    }

    /// The value of a metric ("AV", "VC", "U"...), `None` when absent or not defined.
    pub fn metric(&self, name: &str) -> Option<&'static str> {
        self.metrics
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// The canonical vector string, e.g. "CVSS:4.0/AV:N/AC:L/...".
    pub fn vector(&self) -> String {
        self.to_string()
    }

    /// The CVSS v4.0 score of the vector (0.0 to 10.0, one decimal), computed
    /// as the FIRST specification does: the macro vector's score from the
    /// specification's table, lowered by the vector's distance from the most
    /// severe vector of its macro vector. Threat (`E`) and environmental
    /// metrics count when present (CVSS-BT/BE/BTE), as in the specification.
    pub fn base_score(&self) -> f32 {
        let effective = |name: &str| -> &'static str {
            match name {
                "E" => self.metric("E").unwrap_or("A"),
                "CR" | "IR" | "AR" => self.metric(name).unwrap_or("H"),
                _ => self
                    .metrics
                    .iter()
                    .find(|(n, _)| {
                        n.len() == name.len() + 1 && n.starts_with('M') && &n[1..] == name
                    })
                    .or_else(|| self.metrics.iter().find(|(n, _)| *n == name))
                    .map_or("", |(_, v)| *v),
            }
        };
        v4_score::score(&effective)
    }

    /// The qualitative severity of [`Cvss4::base_score`] (0.0 is Info).
    pub fn severity(&self) -> Severity {
        severity_from_cvss(self.base_score())
    }
}

/// The CVSS v4.0 score of a vector given with or without its "CVSS:4.0/" prefix.
pub fn cvss4_base_score(text: &str) -> Option<f32> {
    cvss4_from_str(text).ok().map(|c| c.base_score())
}

impl fmt::Display for Cvss4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_vector(f, "CVSS:4.0/", &self.metrics)
    }
}

impl FromStr for Cvss4 {
    type Err = CvssError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cvss4::parse(s)
    }
}

/// Parses a CVSS v4.0 vector with or without its "CVSS:4.0/" prefix.
pub fn cvss4_from_str(text: &str) -> Result<Cvss4, CvssError> {
    let v = unwrap_parens(text.trim());
    if v.is_empty() {
        return Err(CvssError::Empty);
    }
    if strip_prefix_ci(v, "CVSS:").is_some() {
        Cvss4::parse(v)
    } else {
        Cvss4::from_body(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(v: &str) -> f32 {
        Cvss3::parse(v).unwrap().base_score()
    }

    #[test]
    fn base_scores_match_reference_calculators() {
        let cases = [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
            ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 6.5),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
            ("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:L/I:L/A:N", 3.8),
            ("CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.8),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9),
            ("CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:C/C:L/I:L/A:L", 4.7),
            ("CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4),
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ];
        for (v, want) in cases {
            assert_eq!(score(v), want, "{v}");
        }
    }

    #[test]
    fn roundup_per_spec() {
        assert_eq!(roundup(4.000_000_2), 4.0);
        assert_eq!(roundup(4.02), 4.1);
        assert_eq!(roundup(4.0), 4.0);
        assert_eq!(roundup(0.0), 0.0);
        assert_eq!(roundup(9.81), 9.9);
    }

    #[test]
    fn normalises_order_and_drops_not_defined() {
        let c = Cvss3::parse("cvss:3.1/C:H/I:H/A:H/AV:N/ac:l/PR:N/UI:N/S:U/E:X/RL:O").unwrap();
        assert_eq!(
            c.vector(),
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/RL:O"
        );
        assert_eq!(c.version(), Cvss3Version::V3_1);
        assert_eq!(c.metric("rl"), Some("O"));
        assert_eq!(c.metric("E"), None);
        assert_eq!(c.severity(), Severity::Critical);
        let parsed: Cvss3 = c.vector().parse().unwrap();
        assert_eq!(parsed, c);
    }

    #[test]
    fn rejects_invalid_v3() {
        let bad = [
            ("", CvssError::Empty),
            (
                "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                CvssError::MissingPrefix {
                    expected: "CVSS:3.1/",
                },
            ),
            (
                "CVSS:2.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                CvssError::UnsupportedVersion("2.0".into()),
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
                CvssError::MissingMetric("A"),
            ),
            (
                "CVSS:3.1/AV:Z/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                CvssError::InvalidValue {
                    metric: "AV",
                    value: "Z".into(),
                },
            ),
            (
                "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                CvssError::DuplicateMetric("AV"),
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:1",
                CvssError::UnknownMetric("ZZ".into()),
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/",
                CvssError::MalformedMetric(String::new()),
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:X",
                CvssError::InvalidValue {
                    metric: "A",
                    value: "X".into(),
                },
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/AT:N",
                CvssError::UnknownMetric("AT".into()),
            ),
        ];
        for (v, want) in bad {
            assert_eq!(Cvss3::parse(v).unwrap_err(), want, "{v}");
        }
    }

    #[test]
    fn lenient_entry_point() {
        let c = cvss3_from_str("AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap();
        assert_eq!(c.vector(), "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
        let c = cvss3_from_str(" (CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H) ").unwrap();
        assert_eq!(c.version(), Cvss3Version::V3_0);
        assert_eq!(
            cvss3_base_score("AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"),
            Some(6.1)
        );
        assert_eq!(cvss3_base_score("AV:N/AC:L/Au:N/C:P/I:P/A:P"), None);
        assert!(cvss3_from_str("").is_err());
        let pe: ParseError = cvss3_from_str("CVSS:3.1/AV:N").unwrap_err().into();
        assert!(pe.message.contains("AC"), "{}", pe.message);
    }

    #[test]
    fn v4_validates_and_normalises() {
        let v = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
        let c = Cvss4::parse(v).unwrap();
        assert_eq!(c.vector(), v);
        let shuffled =
            "CVSS:4.0/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/AV:N/AC:L/AT:N/PR:N/UI:N/U:red/E:X/MSI:S";
        let c = Cvss4::parse(shuffled).unwrap();
        assert_eq!(
            c.vector(),
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/MSI:S/U:Red"
        );
        assert_eq!(c.metric("U"), Some("Red"));
        assert_eq!(
            cvss4_from_str("AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N").unwrap(),
            Cvss4::parse(v).unwrap()
        );
    }

    #[test]
    fn v4_rejects_invalid() {
        let bad = [
            "AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "CVSS:3.1/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:R/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:S/SA:N",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/S:N/S:P",
            "CVSS:4.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:4.0",
        ];
        for v in bad {
            assert!(Cvss4::parse(v).is_err(), "{v}");
        }
    }
}
