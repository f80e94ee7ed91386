//! New findings: ids reserved up front, candidates read per batch of keys
//! before any insert, originals chosen in memory, and multi-row inserts with
//! two batches in flight on the one connection.

use std::collections::HashSet;

use diesel_async::AsyncPgConnection;
use futures::{FutureExt as _, StreamExt as _};

use super::{Phases, Run};
use crate::import::config::EffectiveDedupe;
use crate::import::dedupe::{CandidatePool, DedupeItem, find_original};
use crate::import::prepare::PreparedFinding;
use crate::import::request::ImportError;
use crate::import::store::{self, CandidateKeys, ImportSystemSettings, NewRow, RowContext};
use crate::import::target::Target;
use crate::plugins::DedupeAlgorithm;

/// Whether the algorithm matches on `hash_code`.
pub(super) fn keeps_hash(a: DedupeAlgorithm) -> bool {
    !matches!(a, DedupeAlgorithm::UniqueIdFromTool)
}

/// Whether the algorithm matches on `unique_id_from_tool`.
pub(super) fn keeps_uid(a: DedupeAlgorithm) -> bool {
    matches!(
        a,
        DedupeAlgorithm::UniqueIdFromTool | DedupeAlgorithm::UniqueIdFromToolOrHashCode
    )
}

/// Allocates ids, dedupes and inserts new findings in batches; returns
/// `(id, duplicate_of)` per finding, in input order.
#[expect(clippy::too_many_arguments, reason = "internal step")]
pub(super) async fn persist_new(
    c: &mut AsyncPgConnection,
    r: &Run<'_>,
    rows_cx: &RowContext,
    target: &Target,
    dedupe: &EffectiveDedupe,
    sys: &ImportSystemSettings,
    findings: &[PreparedFinding],
    location_tags: &[String],
    progress_base: u64,
) -> Result<Vec<(i64, Option<i64>)>, ImportError> {
    let mut phases = Phases::start();
    let ids = store::allocate_ids(c, findings.len()).await?;
    let mut dup_of: Vec<Option<i64>> = vec![None; findings.len()];
    let mut other_type = vec![false; findings.len()];
    let batch = r.settings.batch_size.max(1);
    let algorithm = dedupe.algorithm;
    let mut pool: Option<CandidatePool> = None;
    if sys.enable_deduplication && !findings.is_empty() {
        let with_locations = algorithm == DedupeAlgorithm::Legacy
            || (algorithm != DedupeAlgorithm::UniqueIdFromTool
                && !r.settings.endpoint_fields.is_empty());
        let mut found = CandidatePool::default();
        // All candidate queries run before the first insert, so they see only older findings.
        for chunk in findings.chunks(batch) {
            let mut keys = CandidateKeys::default();
            let mut seen_h = HashSet::new();
            let mut seen_u = HashSet::new();
            let mut seen_t = HashSet::new();
            let mut seen_c = HashSet::new();
            for f in chunk {
                if keeps_hash(algorithm)
                    && algorithm != DedupeAlgorithm::Legacy
                    && seen_h.insert(f.hash_code.as_str())
                {
                    keys.hashes.push(f.hash_code.clone());
                }
                if keeps_uid(algorithm)
                    && let Some(u) = &f.unique_id_from_tool
                    && seen_u.insert(u.as_str())
                {
                    keys.uids.push(u.clone());
                }
                if algorithm == DedupeAlgorithm::Legacy {
                    if seen_t.insert(f.title.as_str()) {
                        keys.titles.push(f.title.clone());
                    }
                    if f.cwe != 0 && seen_c.insert(f.cwe) {
                        keys.cwes.push(f.cwe);
                    }
                }
            }
            let scope = target.engagement_scoped.then_some(target.engagement_id);
            for cand in store::candidates(c, scope, target.product_id, keys, with_locations).await?
            {
                found.push(cand);
            }
        }
        pool = Some(found);
        phases.mark("candidates");
    }
    let mut done = progress_base;
    let mut record = |n: usize| {
        done += n as u64;
        if let Some(p) = r.progress {
            p.send_modify(|v| v.0 = done);
        }
    };
    // Two batches in flight on the one connection: PostgreSQL runs the
    // statements in order, while the next batch's arrays are built and
    // sent instead of after each answer.
    let shared: &AsyncPgConnection = c;
    let mut chunks = (0..findings.len())
        .step_by(batch)
        .zip(findings.chunks(batch));
    let mut inflight = futures::stream::FuturesOrdered::new();
    loop {
        while inflight.len() < 2 {
            let Some((start, chunk)) = chunks.next() else {
                break;
            };
            // Deduplicated batch by batch, while PostgreSQL inserts the
            // previous one (candidates were all read before any insert).
            if let Some(pool) = pool.as_mut() {
                let end = start + chunk.len();
                let found = dedupe_batch(
                    pool,
                    chunk,
                    &ids[start..end],
                    rows_cx,
                    target,
                    algorithm,
                    &r.settings.endpoint_fields,
                );
                for (k, (orig, other)) in found.into_iter().enumerate() {
                    dup_of[start + k] = orig;
                    other_type[start + k] = other;
                }
            }
            let rows: Vec<NewRow<'_>> = chunk
                .iter()
                .enumerate()
                .map(|(k, f)| NewRow {
                    id: ids[start + k],
                    duplicate_of: dup_of[start + k],
                    found_by_new_type: other_type[start + k],
                    finding: f,
                })
                .collect();
            inflight.push_back(insert_batch(shared, rows_cx, rows, location_tags));
            // Polled once now so its statements are sent before the next
            // batch is deduplicated.
            if let Some(Some(n)) = inflight.next().now_or_never() {
                record(n?);
            }
        }
        let Some(n) = inflight.next().await else {
            break;
        };
        record(n?);
    }
    phases.mark("insert");
    Ok(ids.into_iter().zip(dup_of).collect())
}

/// For each finding of one batch: the original it duplicates, and whether
/// that original's test has another type (so it is found by a new one).
/// Findings that are not duplicates join `pool` for the ones after them.
fn dedupe_batch(
    pool: &mut CandidatePool,
    batch: &[PreparedFinding],
    ids: &[i64],
    rows_cx: &RowContext,
    target: &Target,
    algorithm: DedupeAlgorithm,
    endpoint_fields: &[String],
) -> Vec<(Option<i64>, bool)> {
    let mut out = Vec::with_capacity(batch.len());
    for (f, &id) in batch.iter().zip(ids) {
        let item = DedupeItem {
            id,
            test_type_id: rows_cx.test_type_id,
            engagement_id: target.engagement_id,
            engagement_scoped: target.engagement_scoped,
            hash_code: Some(f.hash_code.clone()),
            unique_id_from_tool: f.unique_id_from_tool.clone(),
            title: f.title.clone(),
            cwe: f.cwe,
            line: f.line,
            file_path: f.file_path.clone(),
            static_finding: f.static_finding,
            active: f.active,
            mitigated: f.is_mitigated,
            false_p: f.false_p,
            out_of_scope: f.out_of_scope,
            locations: f.locations.clone(),
        };
        let candidates = pool.candidates_for(&item, algorithm);
        match find_original(&item, &candidates, algorithm, endpoint_fields, None) {
            Some(orig) => {
                let other = candidates
                    .iter()
                    .find(|c| c.id == orig)
                    .is_none_or(|c| c.test_type_id != rows_cx.test_type_id);
                out.push((Some(orig), other));
            }
            None => {
                pool.push(item);
                out.push((None, false));
            }
        }
    }
    out
}

async fn insert_batch(
    conn: &AsyncPgConnection,
    cx: &RowContext,
    rows: Vec<NewRow<'_>>,
    location_tags: &[String],
) -> diesel::QueryResult<usize> {
    store::insert_findings(conn, cx, &rows, location_tags).await?;
    Ok(rows.len())
}
