//! `dedupeExplain`: why a finding is (or is not) a duplicate, recomputed from
//! the same rules the importer applies.

use diesel::sql_types::{Array, BigInt, Bool, Text};
use diesel::{QueryableByName, sql_query};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::config::{DedupeSettings, EffectiveDedupe, algorithm_name};
use super::dedupe::{DedupeItem, Rejection, find_original};
use super::hash::{self, HashPart, HashSubject};
use super::request::ImportError;
use super::store::{self, CandidateKeys};
use crate::db::models::finding::{Finding, VulnerabilityId};
use crate::domain::location::UrlParts;
use crate::plugins::{DedupeAlgorithm, PluginRegistry};

/// Everything about one finding's deduplication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DedupeExplanation {
    /// The finding explained.
    pub finding_id: i64,
    /// Its test's scan type.
    pub scan_type: String,
    /// Its test type (looked up before the scan type).
    pub test_type: String,
    /// `hash_code`, `unique_id_from_tool`, `unique_id_from_tool_or_hash_code` or `legacy`.
    pub algorithm: String,
    /// Where the setting came from: `override`, `plugin`, `reference` or `default`.
    pub setting_source: String,
    /// The configured hash fields.
    pub hash_fields: Vec<String>,
    /// The fields actually hashed, with their values.
    pub hash_parts: Vec<HashPart>,
    /// Why the legacy fields replaced the configured ones, if they did.
    pub legacy_fallback: Option<String>,
    /// The hash recomputed now.
    pub computed_hash: String,
    /// The stored `hash_code`.
    pub stored_hash: Option<String>,
    /// `unique_id_from_tool`.
    pub unique_id_from_tool: Option<String>,
    /// `product` or `engagement`.
    pub scope: String,
    /// The original the rules choose today, among older non-duplicate findings.
    pub original_finding_id: Option<i64>,
    /// The stored `duplicate_finding_id`.
    pub stored_duplicate_finding_id: Option<i64>,
    /// A sentence saying why.
    pub reason: String,
    /// Older candidates that were passed over, each with its reason.
    pub rejected: Vec<Rejection>,
}

/// The pure part: explains `subject` given its hash inputs and candidates.
pub fn explain(
    subject: &DedupeItem,
    hash_subject: &HashSubject<'_>,
    candidates: &[DedupeItem],
    dedupe: &EffectiveDedupe,
    settings: &DedupeSettings,
) -> (hash::HashComputation, Option<i64>, String, Vec<Rejection>) {
    let computation = hash::compute(hash_subject, dedupe);
    let mut rejected = Vec::new();
    let refs: Vec<&DedupeItem> = candidates.iter().collect();
    let original = find_original(
        subject,
        &refs,
        dedupe.algorithm,
        &settings.endpoint_fields,
        Some(&mut rejected),
    );
    let key = match dedupe.algorithm {
        DedupeAlgorithm::HashCode => "the same hash_code",
        DedupeAlgorithm::UniqueIdFromTool => "the same unique_id_from_tool and test type",
        DedupeAlgorithm::UniqueIdFromToolOrHashCode => {
            "the same hash_code, or the same unique_id_from_tool and test type"
        }
        DedupeAlgorithm::Legacy => {
            "the same title or cwe, the same hash, and matching locations or file and line"
        }
    };
    let reason = match original {
        Some(id) => format!(
            "finding {id} is the oldest non-duplicate finding in scope with {key} that passes every rule"
        ),
        None if rejected.is_empty() => {
            format!(
                "no older non-duplicate finding in scope has {key}: this finding is an original"
            )
        }
        None => format!(
            "{} older finding(s) share a key but none passes the rules: this finding is an original",
            rejected.len()
        ),
    };
    (computation, original, reason, rejected)
}

#[derive(QueryableByName)]
struct TestInfo {
    #[diesel(sql_type = Text)]
    scan_type: String,
    #[diesel(sql_type = Text)]
    test_type: String,
    #[diesel(sql_type = BigInt)]
    test_type_id: i64,
    #[diesel(sql_type = Bool)]
    engagement_scoped: bool,
}

#[derive(QueryableByName)]
struct CweRow {
    #[diesel(sql_type = Text)]
    cwe: String,
}

/// Loads a finding and its candidates and explains its deduplication; `None` if it does not exist.
pub async fn dedupe_explain(
    conn: &mut AsyncPgConnection,
    plugins: Option<&PluginRegistry>,
    settings: &DedupeSettings,
    finding_id: i64,
) -> Result<Option<DedupeExplanation>, ImportError> {
    let Some(f) = Finding::find(conn, finding_id).await? else {
        return Ok(None);
    };
    let info: TestInfo = sql_query(
        "SELECT COALESCE(t.scan_type, tt.name) AS scan_type, tt.name AS test_type, \
         tt.id AS test_type_id, e.deduplication_on_engagement AS engagement_scoped \
         FROM tests t JOIN test_types tt ON tt.id = t.test_type_id \
         JOIN engagements e ON e.id = t.engagement_id WHERE t.id = $1",
    )
    .bind::<BigInt, _>(f.test_id)
    .get_result(conn)
    .await?;
    let vids: Vec<String> = VulnerabilityId::for_findings(conn, &[f.id])
        .await?
        .into_iter()
        .map(|v| v.vulnerability_id)
        .collect();
    let cwes: Vec<CweRow> = sql_query("SELECT cwe FROM finding_cwes WHERE finding_id = ANY($1)")
        .bind::<Array<BigInt>, _>(vec![f.id])
        .load(conn)
        .await?;
    let extra_cwes: Vec<i32> = cwes
        .iter()
        .filter_map(|c| c.cwe.trim_start_matches("CWE-").parse().ok())
        .collect();
    let locations: Vec<UrlParts> = store::locations_of(conn, &[f.id])
        .await?
        .remove(&f.id)
        .unwrap_or_default();
    let endpoints: Vec<String> = locations.iter().map(UrlParts::canonical).collect();
    let dedupe = settings.resolve(plugins, &info.test_type, &info.scan_type);
    let hash_subject = HashSubject {
        title: &f.title,
        cwe: f.cwe,
        extra_cwes: &extra_cwes,
        vulnerability_ids: &vids,
        line: f.line,
        file_path: f.file_path.as_deref(),
        payload: f.payload.as_deref(),
        component_name: f.component_name.as_deref(),
        component_version: f.component_version.as_deref(),
        description: &f.description,
        endpoints: &endpoints,
        unique_id_from_tool: f.unique_id_from_tool.as_deref(),
        severity: f.severity.as_str(),
        vuln_id_from_tool: f.vuln_id_from_tool.as_deref(),
        mitigation: f.mitigation.as_deref(),
        service: f.service.as_deref(),
    };
    let subject = DedupeItem {
        id: f.id,
        test_type_id: info.test_type_id,
        engagement_id: f.engagement_id,
        engagement_scoped: info.engagement_scoped,
        hash_code: f.hash_code.clone(),
        unique_id_from_tool: f.unique_id_from_tool.clone(),
        title: f.title.clone(),
        cwe: f.cwe,
        line: f.line,
        file_path: f.file_path.clone(),
        static_finding: f.static_finding,
        active: f.active || f.duplicate,
        mitigated: f.is_mitigated,
        false_p: f.false_p,
        out_of_scope: f.out_of_scope,
        locations,
    };
    let keys = match dedupe.algorithm {
        DedupeAlgorithm::Legacy => CandidateKeys {
            titles: vec![f.title.clone()],
            cwes: if f.cwe != 0 { vec![f.cwe] } else { Vec::new() },
            ..CandidateKeys::default()
        },
        a => CandidateKeys {
            hashes: if a == DedupeAlgorithm::UniqueIdFromTool {
                Vec::new()
            } else {
                f.hash_code.iter().cloned().collect()
            },
            uids: if a == DedupeAlgorithm::HashCode {
                Vec::new()
            } else {
                f.unique_id_from_tool.iter().cloned().collect()
            },
            ..CandidateKeys::default()
        },
    };
    let scope = info.engagement_scoped.then_some(f.engagement_id);
    let candidates: Vec<DedupeItem> = store::candidates(conn, scope, f.product_id, keys, true)
        .await?
        .into_iter()
        .filter(|c| c.id < f.id)
        .collect();
    let (computation, original, reason, rejected) =
        explain(&subject, &hash_subject, &candidates, &dedupe, settings);
    Ok(Some(DedupeExplanation {
        finding_id: f.id,
        scan_type: info.scan_type,
        test_type: info.test_type,
        algorithm: algorithm_name(dedupe.algorithm).to_owned(),
        setting_source: dedupe.source.to_owned(),
        hash_fields: dedupe.hash_fields.clone(),
        hash_parts: computation.parts,
        legacy_fallback: computation.legacy_fallback,
        computed_hash: computation.hash_code,
        stored_hash: f.hash_code,
        unique_id_from_tool: f.unique_id_from_tool,
        scope: if info.engagement_scoped {
            "engagement".to_owned()
        } else {
            "product".to_owned()
        },
        original_finding_id: original,
        stored_duplicate_finding_id: f.duplicate_finding_id,
        reason,
        rejected,
    }))
}
