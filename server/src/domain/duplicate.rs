//! Correcting deduplication by hand: mark a finding a duplicate of another,
//! reset a duplicate to an original of its own, and make another finding the
//! original of a cluster (domain.md §2.2).
//!
//! A cluster is one original and the duplicates pointing at it; chains are
//! never made (a duplicate's original is not a duplicate). Originals and
//! duplicates share a product, and an engagement when either engagement
//! deduplicates within itself only. Every finding whose flags or original
//! change gets one event in the same transaction.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use super::DomainError;
use super::finding::{Status, StatusChange, apply_status};
use super::triage::lock_all;
use crate::db::models::finding::{Finding, StatusRows};
use crate::db::models::hierarchy::Engagement;
use crate::events::{EventKind, Outbox};

fn invalid(field: &str, message: &str) -> DomainError {
    DomainError::Invalid {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

/// `f` marked a duplicate of `original`: inactive, unverified.
fn as_duplicate(f: &Finding, original: i64, now: DateTime<Utc>) -> Finding {
    let mut after = f.clone();
    after.duplicate = true;
    after.duplicate_finding_id = Some(original);
    after.active = false;
    after.verified = false;
    if after != *f {
        after.last_status_update = now;
    }
    after
}

/// `f` as an original of its own; `active` reopens it with the usual
/// reactivation rules (closing flags and mitigation stamp cleared).
fn as_original(f: &Finding, active: bool, now: DateTime<Utc>) -> Result<Finding, DomainError> {
    let mut after = f.clone();
    after.duplicate = false;
    after.duplicate_finding_id = None;
    if active && !f.active {
        let outcome = apply_status(
            Status::of(&after),
            StatusChange {
                active: Some(true),
                ..StatusChange::default()
            },
        )?;
        let s = outcome.status;
        after.active = s.active;
        after.verified = s.verified;
        after.false_p = s.false_p;
        after.out_of_scope = s.out_of_scope;
        after.risk_accepted = s.risk_accepted;
        after.is_mitigated = s.is_mitigated;
        if outcome.stamp_mitigated == Some(false) {
            after.mitigated = None;
            after.mitigated_by_id = None;
        }
    }
    if after != *f {
        after.last_status_update = now;
    }
    Ok(after)
}

/// Writes the changed rows in one statement, and one event each.
async fn commit(
    c: &mut AsyncPgConnection,
    actor: Option<i64>,
    pairs: &[(&Finding, Finding)],
) -> Result<(), DomainError> {
    let mut columns = StatusRows::default();
    let mut kinds = Vec::new();
    let mut changes = Vec::new();
    let mut rows: Vec<&Finding> = Vec::new();
    for (before, after) in pairs.iter().filter(|(b, a)| *b != a) {
        columns.push(after);
        let (mut kind, mut diff) = crate::events::diff(before, after);
        if let Some(map) = diff.as_object_mut()
            && before.duplicate_finding_id != after.duplicate_finding_id
        {
            map.insert(
                "duplicate_finding".to_owned(),
                serde_json::json!({"before": before.duplicate_finding_id, "after": after.duplicate_finding_id}),
            );
        }
        if !before.duplicate && after.duplicate {
            kind = EventKind::Duplicate;
        }
        kinds.push(kind);
        changes.push(diff.to_string());
        rows.push(after);
    }
    Finding::set_status_many(c, &columns).await?;
    Ok(Outbox::record_findings(c, actor, &kinds, &rows, &changes).await?)
}

/// Refuses an original in another product, or in another engagement when
/// either engagement deduplicates only within itself.
async fn check_scope(
    c: &mut AsyncPgConnection,
    field: &str,
    f: &Finding,
    original: &Finding,
) -> Result<(), DomainError> {
    if f.product_id != original.product_id {
        return Err(invalid(field, "must be in the same product"));
    }
    if f.engagement_id != original.engagement_id {
        let rows = Engagement::by_ids(c, &[f.engagement_id, original.engagement_id]).await?;
        if rows.iter().any(|e| e.deduplication_on_engagement) {
            return Err(invalid(
                field,
                "must be in the same engagement: an engagement involved deduplicates only within itself",
            ));
        }
    }
    Ok(())
}

/// The finding `id` and the findings `extra`, locked (in id order), `id` first.
async fn lock_with(
    c: &mut AsyncPgConnection,
    id: i64,
    extra: &[i64],
) -> Result<(Finding, Vec<Finding>), DomainError> {
    let mut ids: Vec<i64> = extra.iter().copied().chain([id]).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut rows = lock_all(c, &ids).await?;
    let at = rows
        .iter()
        .position(|r| r.id == id)
        .ok_or_else(|| DomainError::NotFound {
            kind: "Finding",
            id: id.to_string(),
        })?;
    let me = rows.remove(at);
    Ok((me, rows))
}

/// Marks finding `id` a duplicate of `original`; the duplicates of `id`
/// follow it to `original`. Returns the finding as it is now.
pub async fn mark(
    conn: &mut AsyncPgConnection,
    id: i64,
    original: i64,
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Finding, DomainError> {
    if id == original {
        return Err(invalid("original", "a finding cannot duplicate itself"));
    }
    conn.transaction::<_, DomainError, _>(async |c| {
        let followers = Finding::duplicate_ids_of(c, &[id]).await?;
        let mut others: Vec<i64> = followers.clone();
        others.push(original);
        let (me, rows) = lock_with(c, id, &others).await?;
        let orig = rows
            .iter()
            .find(|r| r.id == original)
            .ok_or_else(|| DomainError::NotFound {
                kind: "Finding",
                id: original.to_string(),
            })?;
        if orig.duplicate {
            return Err(invalid(
                "original",
                "is itself a duplicate; choose the original of its cluster",
            ));
        }
        check_scope(c, "original", &me, orig).await?;
        let mut pairs: Vec<(&Finding, Finding)> = vec![(&me, as_duplicate(&me, original, now))];
        for r in rows.iter().filter(|r| followers.contains(&r.id)) {
            pairs.push((r, as_duplicate(r, original, now)));
        }
        commit(c, actor, &pairs).await?;
        Ok(pairs.swap_remove(0).1)
    })
    .await
}

/// Makes duplicate `id` an original of its own again, open.
pub async fn reset(
    conn: &mut AsyncPgConnection,
    id: i64,
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Finding, DomainError> {
    conn.transaction::<_, DomainError, _>(async |c| {
        let (me, _) = lock_with(c, id, &[]).await?;
        if !me.duplicate {
            return Err(DomainError::Refused {
                finding_ids: vec![id],
                message: "the finding is not a duplicate".to_owned(),
            });
        }
        let after = as_original(&me, true, now)?;
        commit(c, actor, &[(&me, after.clone())]).await?;
        Ok(after)
    })
    .await
}

/// Makes `new_original` the original of `id`'s cluster: the old original
/// and every other member become its duplicates, and it takes over the old
/// original's open state. Returns the new original as it is now.
pub async fn set_original(
    conn: &mut AsyncPgConnection,
    id: i64,
    new_original: i64,
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Finding, DomainError> {
    conn.transaction::<_, DomainError, _>(async |c| {
        let first = Finding::find(c, id)
            .await?
            .ok_or_else(|| DomainError::NotFound {
                kind: "Finding",
                id: id.to_string(),
            })?;
        let old = match first.duplicate_finding_id {
            Some(o) if first.duplicate => o,
            _ => id,
        };
        let members = Finding::duplicate_ids_of(c, &[old]).await?;
        let mut others = members.clone();
        others.push(new_original);
        let (old_row, rows) = lock_with(c, old, &others).await?;
        // The cluster may have moved between the first read and the locks.
        if first.duplicate && first.duplicate_finding_id != Some(old) {
            return Err(DomainError::Conflict(
                "the finding's cluster changed meanwhile; try again".to_owned(),
            ));
        }
        let new_row =
            rows.iter()
                .find(|r| r.id == new_original)
                .ok_or_else(|| DomainError::NotFound {
                    kind: "Finding",
                    id: new_original.to_string(),
                })?;
        if new_original == old {
            return Ok(old_row);
        }
        if new_row.duplicate && new_row.duplicate_finding_id != Some(old) {
            return Err(invalid(
                "newOriginal",
                "is a duplicate in another cluster; reset it first",
            ));
        }
        check_scope(c, "newOriginal", &old_row, new_row).await?;
        let promoted = as_original(new_row, old_row.active, now)?;
        let mut pairs: Vec<(&Finding, Finding)> = vec![
            (new_row, promoted.clone()),
            (&old_row, as_duplicate(&old_row, new_original, now)),
        ];
        for r in rows
            .iter()
            .filter(|r| r.id != new_original && members.contains(&r.id))
        {
            pairs.push((r, as_duplicate(r, new_original, now)));
        }
        commit(c, actor, &pairs).await?;
        Ok(promoted)
    })
    .await
}
