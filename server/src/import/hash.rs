//! `hash_code` exactly as domain.md §4.1 defines it: SHA-256 over the
//! configured fields, Python-`str` rendered, concatenated, case-folded and stripped.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::config::{ALLOWED_HASH_FIELDS, EffectiveDedupe, LEGACY_HASH_FIELDS};

/// The finding values the hash may read, borrowed from a report finding or a stored row.
#[derive(Debug, Clone, Copy)]
pub struct HashSubject<'a> {
    /// Title.
    pub title: &'a str,
    /// Primary CWE (0 = none).
    pub cwe: i32,
    /// Further CWE numbers.
    pub extra_cwes: &'a [i32],
    /// Vulnerability ids.
    pub vulnerability_ids: &'a [String],
    /// Line.
    pub line: Option<i32>,
    /// File path.
    pub file_path: Option<&'a str>,
    /// Payload.
    pub payload: Option<&'a str>,
    /// Component.
    pub component_name: Option<&'a str>,
    /// Component version.
    pub component_version: Option<&'a str>,
    /// Description.
    pub description: &'a str,
    /// Canonical strings of the finding's URL locations.
    pub endpoints: &'a [String],
    /// Tool's occurrence id.
    pub unique_id_from_tool: Option<&'a str>,
    /// Severity name.
    pub severity: &'a str,
    /// Tool's issue-kind id.
    pub vuln_id_from_tool: Option<&'a str>,
    /// Mitigation text.
    pub mitigation: Option<&'a str>,
    /// Service, always appended when non-empty.
    pub service: Option<&'a str>,
}

/// One field as it went into the hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HashPart {
    /// Field name (`service` for the always-appended part).
    pub field: String,
    /// Its string form.
    pub value: String,
}

/// The hash with the parts it was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HashComputation {
    /// 64 hex characters.
    pub hash_code: String,
    /// The fields in order.
    pub parts: Vec<HashPart>,
    /// Why the legacy fields were used instead of the configured ones, if they were.
    pub legacy_fallback: Option<String>,
}

/// Python's `str()` of an optional value: `None` for a missing one.
fn opt(v: Option<&str>) -> String {
    v.unwrap_or("None").to_owned()
}

fn field_value(s: &HashSubject<'_>, field: &str) -> String {
    match field {
        "title" => s.title.to_owned(),
        "cwe" => s.cwe.to_string(),
        "cwes" => {
            let mut labels: Vec<String> = std::iter::once(s.cwe)
                .filter(|c| *c != 0)
                .chain(s.extra_cwes.iter().copied())
                .map(|c| format!("CWE-{c}"))
                .collect();
            labels.sort();
            labels.dedup();
            labels.concat()
        }
        "vulnerability_ids" => {
            let mut ids: Vec<&str> = s.vulnerability_ids.iter().map(String::as_str).collect();
            ids.sort_unstable();
            ids.concat()
        }
        "line" => s.line.map_or_else(|| "None".to_owned(), |l| l.to_string()),
        "file_path" => opt(s.file_path),
        "payload" => opt(s.payload),
        "component_name" => opt(s.component_name),
        "component_version" => opt(s.component_version),
        "description" => s.description.to_owned(),
        "endpoints" => {
            let mut e: Vec<&str> = s.endpoints.iter().map(String::as_str).collect();
            e.sort_unstable();
            e.dedup();
            e.concat()
        }
        "unique_id_from_tool" => opt(s.unique_id_from_tool),
        "severity" => s.severity.to_owned(),
        "vuln_id_from_tool" => opt(s.vuln_id_from_tool),
        "mitigation" => opt(s.mitigation),
        _ => String::new(),
    }
}

/// Python's `str.casefold` for what scanners emit: lower case plus the
/// characters whose full case folding differs from lower-casing.
fn casefold(s: &str) -> String {
    let lower = s.to_lowercase();
    if lower.is_ascii() {
        return lower;
    }
    lower.replace('ß', "ss").replace('ς', "σ")
}

/// Computes the hash of `subject` under `dedupe`, falling back to the legacy
/// fields when §4.1 says so.
pub fn compute(subject: &HashSubject<'_>, dedupe: &EffectiveDedupe) -> HashComputation {
    let unknown = dedupe
        .hash_fields
        .iter()
        .find(|f| !ALLOWED_HASH_FIELDS.contains(&f.as_str()));
    let legacy_fallback = if dedupe.hash_fields.is_empty() {
        Some("the scan type has no hash fields configured".to_owned())
    } else if let Some(f) = unknown {
        Some(format!("hash field `{f}` is not allowed"))
    } else if subject.cwe == 0 && !dedupe.allows_null_cwe {
        Some("cwe is 0 and the scan type does not allow a null cwe".to_owned())
    } else {
        None
    };
    let mut parts: Vec<HashPart> = match legacy_fallback {
        Some(_) => LEGACY_HASH_FIELDS
            .iter()
            .map(|f| HashPart {
                field: (*f).to_owned(),
                value: field_value(subject, f),
            })
            .collect(),
        None => dedupe
            .hash_fields
            .iter()
            .map(|f| HashPart {
                field: f.clone(),
                value: field_value(subject, f),
            })
            .collect(),
    };
    if let Some(service) = subject.service.filter(|s| !s.is_empty()) {
        parts.push(HashPart {
            field: "service".to_owned(),
            value: service.to_owned(),
        });
    }
    let joined: String = parts.iter().map(|p| p.value.as_str()).collect();
    let folded = casefold(&joined);
    // Python strips the encoded bytes: ASCII whitespace only.
    let stripped = folded.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c'));
    HashComputation {
        hash_code: hex::encode(Sha256::digest(stripped.as_bytes())),
        parts,
        legacy_fallback,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::DedupeAlgorithm;

    fn subject<'a>() -> HashSubject<'a> {
        HashSubject {
            title: "SQL Injection",
            cwe: 89,
            extra_cwes: &[],
            vulnerability_ids: &[],
            line: Some(12),
            file_path: Some("app/db.py"),
            payload: None,
            component_name: None,
            component_version: None,
            description: "Bad query ",
            endpoints: &[],
            unique_id_from_tool: None,
            severity: "High",
            vuln_id_from_tool: None,
            mitigation: None,
            service: None,
        }
    }

    fn dedupe(fields: &[&str], allows_null_cwe: bool) -> EffectiveDedupe {
        EffectiveDedupe {
            algorithm: DedupeAlgorithm::HashCode,
            hash_fields: fields.iter().map(|s| (*s).to_owned()).collect(),
            allows_null_cwe,
            source: "default",
        }
    }

    #[test]
    fn legacy_fields_hash_like_python() {
        // hashlib.sha256("SQL Injection8912app/db.pyBad query ".casefold().encode().strip()).hexdigest()
        let h = compute(&subject(), &dedupe(LEGACY_HASH_FIELDS, true));
        let expected = hex::encode(Sha256::digest(b"sql injection8912app/db.pybad query"));
        assert_eq!(h.hash_code, expected);
        assert!(h.legacy_fallback.is_none());
    }

    #[test]
    fn none_service_and_fallbacks() {
        let mut s = subject();
        s.line = None;
        s.service = Some("billing");
        let h = compute(&s, &dedupe(&["title", "line", "component_name"], true));
        let expected = hex::encode(Sha256::digest(b"sql injectionnonenonebilling"));
        assert_eq!(h.hash_code, expected);
        assert_eq!(h.parts.last().map(|p| p.field.as_str()), Some("service"));

        s.cwe = 0;
        let h = compute(&s, &dedupe(&["title"], false));
        assert!(h.legacy_fallback.is_some(), "cwe 0 without allows_null_cwe");
        let h = compute(&subject(), &dedupe(&["title", "bogus"], true));
        assert!(h.legacy_fallback.is_some(), "unknown field");
    }

    #[test]
    fn list_fields_are_sorted_and_joined() {
        let ids = vec!["CVE-2".to_owned(), "CVE-1".to_owned()];
        let eps = vec![
            "https://b".to_owned(),
            "https://a".to_owned(),
            "https://a".to_owned(),
        ];
        let mut s = subject();
        s.vulnerability_ids = &ids;
        s.endpoints = &eps;
        s.extra_cwes = &[79];
        let h = compute(
            &s,
            &dedupe(&["vulnerability_ids", "endpoints", "cwes"], true),
        );
        let values: Vec<&str> = h.parts.iter().map(|p| p.value.as_str()).collect();
        assert_eq!(
            values,
            vec!["CVE-1CVE-2", "https://ahttps://b", "CWE-79CWE-89"]
        );
    }
}
