//! False-positive history (domain.md §4.6): with deduplication off, a new
//! finding that matches one already marked false positive in the product is
//! a false positive too; with the retroactive setting, a new false positive
//! marks its active matches as well.

use std::collections::HashSet;

use diesel::sql_query;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text};
use diesel::{QueryResult, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::prepare::PreparedFinding;
use crate::plugins::DedupeAlgorithm;

#[derive(QueryableByName)]
struct Match {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Nullable<Text>)]
    hash_code: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    unique_id_from_tool: Option<String>,
    #[diesel(sql_type = Text)]
    legacy_key: String,
    #[diesel(sql_type = Bool)]
    false_p: bool,
}

/// The legacy key: lower-cased title, severity (numerical severity follows it).
fn legacy_key(title: &str, severity: &str) -> String {
    format!("{}\u{1f}{severity}", title.to_lowercase())
}

/// Keys of `f` under `algorithm`.
fn keys(f: &PreparedFinding, algorithm: DedupeAlgorithm) -> Vec<String> {
    let mut out = Vec::new();
    match algorithm {
        DedupeAlgorithm::HashCode => out.push(format!("h:{}", f.hash_code)),
        DedupeAlgorithm::UniqueIdFromTool => {
            out.extend(f.unique_id_from_tool.iter().map(|u| format!("u:{u}")));
        }
        DedupeAlgorithm::UniqueIdFromToolOrHashCode => {
            out.push(format!("h:{}", f.hash_code));
            out.extend(f.unique_id_from_tool.iter().map(|u| format!("u:{u}")));
        }
        DedupeAlgorithm::Legacy => {
            out.push(format!("l:{}", legacy_key(&f.title, f.severity.as_str())))
        }
    }
    out
}

fn stored_keys(m: &Match, algorithm: DedupeAlgorithm) -> Vec<String> {
    let mut out = Vec::new();
    let hash = m.hash_code.iter().map(|h| format!("h:{h}"));
    let uid = m.unique_id_from_tool.iter().map(|u| format!("u:{u}"));
    match algorithm {
        DedupeAlgorithm::HashCode => out.extend(hash),
        DedupeAlgorithm::UniqueIdFromTool => out.extend(uid),
        DedupeAlgorithm::UniqueIdFromToolOrHashCode => {
            out.extend(hash);
            out.extend(uid);
        }
        DedupeAlgorithm::Legacy => out.push(format!("l:{}", m.legacy_key)),
    }
    out
}

/// What false-positive history did to one import.
#[derive(Debug, Default)]
pub struct FpOutcome {
    /// Indexes (into the new findings) that became false positives.
    pub marked_new: Vec<usize>,
    /// Existing findings marked false positive retroactively.
    pub marked_existing: Vec<i64>,
}

/// Applies the history to `findings` (not yet stored) of `product_id`, and
/// with `retroactive` marks the stored active matches of new false positives.
pub async fn apply(
    conn: &mut AsyncPgConnection,
    product_id: i64,
    algorithm: DedupeAlgorithm,
    retroactive: bool,
    findings: &mut [PreparedFinding],
) -> QueryResult<FpOutcome> {
    let mut out = FpOutcome::default();
    if findings.is_empty() {
        return Ok(out);
    }
    let (mut hashes, mut uids, mut titles) = (Vec::new(), Vec::new(), Vec::new());
    for f in findings.iter() {
        hashes.push(f.hash_code.clone());
        if let Some(u) = &f.unique_id_from_tool {
            uids.push(u.clone());
        }
        titles.push(f.title.to_lowercase());
    }
    let legacy = algorithm == DedupeAlgorithm::Legacy;
    let use_hash = matches!(
        algorithm,
        DedupeAlgorithm::HashCode | DedupeAlgorithm::UniqueIdFromToolOrHashCode
    );
    let use_uid = matches!(
        algorithm,
        DedupeAlgorithm::UniqueIdFromTool | DedupeAlgorithm::UniqueIdFromToolOrHashCode
    );
    // One query for the product's findings sharing a key with the report;
    // the digest conditions use the product's dedupe indexes.
    let matches: Vec<Match> = sql_query(
        "SELECT f.id, f.hash_code, f.unique_id_from_tool, \
         lower(f.title) || chr(31) || f.severity AS legacy_key, f.false_p FROM findings f \
         WHERE f.product_id = $1 AND ( \
           ($2 AND hashtextextended(f.hash_code, 0) = ANY(ARRAY(SELECT hashtextextended(k, 0) FROM unnest($3::text[]) AS k)) \
               AND f.hash_code = ANY($3)) \
           OR ($4 AND hashtextextended(f.unique_id_from_tool, 0) = ANY(ARRAY(SELECT hashtextextended(k, 0) FROM unnest($5::text[]) AS k)) \
               AND f.unique_id_from_tool = ANY($5)) \
           OR ($6 AND lower(f.title) = ANY($7)))",
    )
    .bind::<BigInt, _>(product_id)
    .bind::<Bool, _>(use_hash)
    .bind::<Array<Text>, _>(&hashes)
    .bind::<Bool, _>(use_uid)
    .bind::<Array<Text>, _>(&uids)
    .bind::<Bool, _>(legacy)
    .bind::<Array<Text>, _>(&titles)
    .load(conn)
    .await?;
    let fp_keys: HashSet<String> = matches
        .iter()
        .filter(|m| m.false_p)
        .flat_map(|m| stored_keys(m, algorithm))
        .collect();
    let mut new_fp_keys = HashSet::new();
    for (i, f) in findings.iter_mut().enumerate() {
        let k = keys(f, algorithm);
        if !f.false_p && k.iter().any(|k| fp_keys.contains(k)) {
            f.false_p = true;
            f.active = false;
            f.verified = false;
            out.marked_new.push(i);
        }
        if f.false_p {
            new_fp_keys.extend(k);
        }
    }
    if retroactive && !new_fp_keys.is_empty() {
        let ids: Vec<i64> = matches
            .iter()
            .filter(|m| !m.false_p)
            .filter(|m| {
                stored_keys(m, algorithm)
                    .iter()
                    .any(|k| new_fp_keys.contains(k))
            })
            .map(|m| m.id)
            .collect();
        if !ids.is_empty() {
            #[derive(QueryableByName)]
            struct Id {
                #[diesel(sql_type = BigInt)]
                id: i64,
            }
            let marked: Vec<Id> = sql_query(
                "UPDATE findings SET false_p = true, active = false, verified = false, \
                 last_status_update = now() WHERE id = ANY($1) AND active AND NOT false_p \
                 RETURNING id",
            )
            .bind::<Array<BigInt>, _>(&ids)
            .load(conn)
            .await?;
            out.marked_existing = marked.into_iter().map(|r| r.id).collect();
            out.marked_existing.sort_unstable();
        }
    }
    Ok(out)
}
