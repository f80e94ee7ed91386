//! Which deduplication algorithm and hash fields apply to a scan type.
//!
//! Resolution order, most specific first: the server's [`DedupeSettings`]
//! overrides, the setting the serving plugin declares, the reference table
//! `dedupe_config.json` (for scan types no installed plugin serves any more),
//! and finally DefectDojo's default (`legacy` with the legacy hash fields).

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::plugins::{DedupeAlgorithm, DedupeSetting, PluginRegistry};

/// Fields `hash_fields` may name (domain.md §4.1); any other falls back to the legacy hash.
pub const ALLOWED_HASH_FIELDS: &[&str] = &[
    "title",
    "cwe",
    "cwes",
    "vulnerability_ids",
    "line",
    "file_path",
    "payload",
    "component_name",
    "component_version",
    "description",
    "endpoints",
    "unique_id_from_tool",
    "severity",
    "vuln_id_from_tool",
    "mitigation",
];

/// The fields of the legacy hash, in order.
pub const LEGACY_HASH_FIELDS: &[&str] = &["title", "cwe", "line", "file_path", "description"];

/// One row of the reference table.
#[derive(Debug, Clone, Deserialize)]
struct ReferenceEntry {
    algorithm: String,
    hash_fields: Vec<String>,
    #[serde(default = "yes")]
    allows_null_cwe: bool,
}

fn yes() -> bool {
    true
}

/// Reads an algorithm name as configuration spells it (`hash_code`, `legacy`, ...).
pub fn parse_algorithm(s: &str) -> Option<DedupeAlgorithm> {
    match s {
        "hash_code" => Some(DedupeAlgorithm::HashCode),
        "unique_id_from_tool" => Some(DedupeAlgorithm::UniqueIdFromTool),
        "unique_id_from_tool_or_hash_code" => Some(DedupeAlgorithm::UniqueIdFromToolOrHashCode),
        "legacy" => Some(DedupeAlgorithm::Legacy),
        _ => None,
    }
}

/// The name of an algorithm as configuration and explanations spell it.
pub fn algorithm_name(a: DedupeAlgorithm) -> &'static str {
    match a {
        DedupeAlgorithm::HashCode => "hash_code",
        DedupeAlgorithm::UniqueIdFromTool => "unique_id_from_tool",
        DedupeAlgorithm::UniqueIdFromToolOrHashCode => "unique_id_from_tool_or_hash_code",
        DedupeAlgorithm::Legacy => "legacy",
    }
}

/// The embedded reference table (DefectDojo's shipped per-scanner settings).
fn reference() -> &'static HashMap<String, DedupeSetting> {
    static TABLE: OnceLock<HashMap<String, DedupeSetting>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let raw: BTreeMap<String, ReferenceEntry> =
            serde_json::from_str(include_str!("dedupe_config.json")).unwrap_or_default();
        raw.into_iter()
            .filter_map(|(k, v)| {
                Some((
                    k,
                    DedupeSetting {
                        algorithm: parse_algorithm(&v.algorithm)?,
                        hash_fields: v.hash_fields,
                        allows_null_cwe: v.allows_null_cwe,
                    },
                ))
            })
            .collect()
    })
}

/// The reference setting of a scan type from `dedupe_config.json`, if it lists one.
pub fn reference_setting(scan_type: &str) -> Option<DedupeSetting> {
    reference().get(scan_type).cloned()
}

/// An operator's replacement for one scan type; `None` keeps that part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DedupeOverride {
    /// Replaces the algorithm (`DD_DEDUPLICATION_ALGORITHM_PER_PARSER`).
    pub algorithm: Option<DedupeAlgorithm>,
    /// Replaces the hash fields (`DD_HASHCODE_FIELDS_PER_SCANNER`).
    pub hash_fields: Option<Vec<String>>,
    /// Replaces `allows_null_cwe`.
    pub allows_null_cwe: Option<bool>,
}

/// Server-wide deduplication settings (wired to the configuration by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DedupeSettings {
    /// Per scan type (or test type name) overrides.
    pub overrides: HashMap<String, DedupeOverride>,
    /// URL parts compared by hash-based algorithms when a finding has locations
    /// (`DEDUPE_ALGO_ENDPOINT_FIELDS`); empty turns the check off.
    pub endpoint_fields: Vec<String>,
    /// Findings per dedupe/insert batch; one candidate query per batch.
    pub batch_size: usize,
}

impl Default for DedupeSettings {
    fn default() -> Self {
        DedupeSettings {
            overrides: HashMap::new(),
            endpoint_fields: vec!["host".to_owned(), "path".to_owned()],
            batch_size: 5000,
        }
    }
}

/// The effective setting for one test: algorithm, hash fields and where they came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectiveDedupe {
    /// The algorithm.
    pub algorithm: DedupeAlgorithm,
    /// Fields hashed, in order (before the legacy fallback rules).
    pub hash_fields: Vec<String>,
    /// Whether `cwe == 0` may use `hash_fields`.
    pub allows_null_cwe: bool,
    /// `override`, `plugin`, `reference` or `default`.
    pub source: &'static str,
}

impl DedupeSettings {
    /// The effective setting for a test of type `test_type` parsed as `scan_type`.
    ///
    /// Like DefectDojo, the test type name is looked up before the scan type.
    pub fn resolve(
        &self,
        plugins: Option<&PluginRegistry>,
        test_type: &str,
        scan_type: &str,
    ) -> EffectiveDedupe {
        let base = [test_type, scan_type]
            .iter()
            .find_map(|name| {
                plugins
                    .and_then(|p| p.scan_type(name))
                    .map(|s| (s.dedupe, "plugin"))
            })
            .or_else(|| {
                [test_type, scan_type]
                    .iter()
                    .find_map(|name| reference_setting(name).map(|s| (s, "reference")))
            });
        let (mut setting, mut source) = base.unwrap_or_else(|| {
            (
                DedupeSetting {
                    algorithm: DedupeAlgorithm::Legacy,
                    hash_fields: LEGACY_HASH_FIELDS.iter().map(|s| (*s).to_owned()).collect(),
                    allows_null_cwe: true,
                },
                "default",
            )
        });
        if let Some(o) = self
            .overrides
            .get(test_type)
            .or_else(|| self.overrides.get(scan_type))
        {
            if let Some(a) = o.algorithm {
                setting.algorithm = a;
            }
            if let Some(f) = &o.hash_fields {
                setting.hash_fields = f.clone();
            }
            if let Some(n) = o.allows_null_cwe {
                setting.allows_null_cwe = n;
            }
            source = "override";
        }
        EffectiveDedupe {
            algorithm: setting.algorithm,
            hash_fields: setting.hash_fields,
            allows_null_cwe: setting.allows_null_cwe,
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_table_is_embedded_and_parsed() {
        let zap = reference_setting("ZAP Scan").expect("ZAP is listed");
        assert_eq!(zap.algorithm, DedupeAlgorithm::HashCode);
        assert_eq!(zap.hash_fields, vec!["title", "cwe", "severity"]);
        assert!(!zap.allows_null_cwe);
        assert!(reference().len() > 250);
    }

    #[test]
    fn overrides_win_and_unknown_types_fall_back_to_legacy() {
        let mut s = DedupeSettings::default();
        let d = s.resolve(None, "Nobody Scan", "Nobody Scan");
        assert_eq!(
            (d.algorithm, d.source),
            (DedupeAlgorithm::Legacy, "default")
        );
        s.overrides.insert(
            "ZAP Scan".to_owned(),
            DedupeOverride {
                algorithm: Some(DedupeAlgorithm::UniqueIdFromTool),
                ..DedupeOverride::default()
            },
        );
        let d = s.resolve(None, "ZAP Scan", "ZAP Scan");
        assert_eq!(d.algorithm, DedupeAlgorithm::UniqueIdFromTool);
        assert_eq!(d.hash_fields, vec!["title", "cwe", "severity"]);
        assert_eq!(d.source, "override");
    }
}
