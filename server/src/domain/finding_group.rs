//! Finding groups by hand: create, rename, fill, empty and delete.
//!
//! A group belongs to one test and holds only that test's findings; a
//! finding is in at most one group, so adding it to a group takes it out of
//! the one it was in. Every finding whose group changes gets one `updated`
//! event with `finding_group: {before, after}`, in the same transaction.

use std::collections::HashMap;

use diesel_async::{AsyncConnection, AsyncPgConnection};

use super::triage::lock_all;
use super::{DomainError, check_len};
use crate::db::models::finding::Finding;
use crate::db::models::finding_group::FindingGroup;
use crate::db::models::hierarchy::Test;
use crate::events::{EventKind, Outbox};

/// What a membership change did.
#[derive(Debug, Clone, Default)]
pub struct MembershipOutcome {
    /// Findings whose group changed, in id order.
    pub changed: Vec<i64>,
    /// Findings already where they were asked to be.
    pub unchanged: Vec<i64>,
}

fn valid_name(name: &str) -> Result<String, DomainError> {
    let name = name.trim();
    check_len("name", name, 255, true)?;
    Ok(name.to_owned())
}

fn name_taken(e: DomainError) -> DomainError {
    match e {
        DomainError::Conflict(_) => DomainError::Invalid {
            field: "name".to_owned(),
            message: "the test already has a finding group of this name".to_owned(),
        },
        other => other,
    }
}

/// One `updated` event per finding whose group changed from `before` to `after`.
async fn record_moves(
    conn: &mut AsyncPgConnection,
    actor: Option<i64>,
    rows: &[&Finding],
    before: &HashMap<i64, i64>,
    after: Option<i64>,
) -> Result<(), DomainError> {
    let kinds = vec![EventKind::Updated; rows.len()];
    let changes: Vec<String> = rows
        .iter()
        .map(|f| {
            serde_json::json!({"finding_group": {"before": before.get(&f.id), "after": after}})
                .to_string()
        })
        .collect();
    Ok(Outbox::record_findings(conn, actor, &kinds, rows, &changes).await?)
}

/// Puts the locked `rows` into `group`, refusing findings of other tests.
async fn fill(
    c: &mut AsyncPgConnection,
    group: &FindingGroup,
    rows: &[Finding],
    actor: Option<i64>,
) -> Result<MembershipOutcome, DomainError> {
    let foreign: Vec<i64> = rows
        .iter()
        .filter(|f| f.test_id != group.test_id)
        .map(|f| f.id)
        .collect();
    if !foreign.is_empty() {
        return Err(DomainError::Refused {
            finding_ids: foreign,
            message: "a finding group holds only findings of its own test".to_owned(),
        });
    }
    let ids: Vec<i64> = rows.iter().map(|f| f.id).collect();
    let before: HashMap<i64, i64> = FindingGroup::of_findings(c, &ids)
        .await?
        .into_iter()
        .map(|m| (m.finding_id, m.finding_group_id))
        .collect();
    let mut outcome = MembershipOutcome::default();
    let mut moved: Vec<&Finding> = Vec::new();
    for f in rows {
        if before.get(&f.id) == Some(&group.id) {
            outcome.unchanged.push(f.id);
        } else {
            outcome.changed.push(f.id);
            moved.push(f);
        }
    }
    if !moved.is_empty() {
        FindingGroup::put(c, group.id, &outcome.changed).await?;
        record_moves(c, actor, &moved, &before, Some(group.id)).await?;
    }
    Ok(outcome)
}

/// Creates a group in `test`, with the findings `ids` (of that test) in it.
pub async fn create(
    conn: &mut AsyncPgConnection,
    test: &Test,
    name: &str,
    ids: &[i64],
    actor: Option<i64>,
) -> Result<FindingGroup, DomainError> {
    let name = valid_name(name)?;
    conn.transaction::<_, DomainError, _>(async |c| {
        let group = FindingGroup::create(c, test.id, test.product_id, &name, actor)
            .await
            .map_err(|e| name_taken(e.into()))?;
        if !ids.is_empty() {
            let rows = lock_all(c, ids).await?;
            fill(c, &group, &rows, actor).await?;
        }
        Ok(group)
    })
    .await
}

/// Renames group `id`.
pub async fn rename(
    conn: &mut AsyncPgConnection,
    id: i64,
    name: &str,
) -> Result<FindingGroup, DomainError> {
    let name = valid_name(name)?;
    FindingGroup::rename(conn, id, &name)
        .await
        .map_err(|e| name_taken(e.into()))
}

/// Puts the findings `ids` into group `id` (the caller has checked it may
/// edit both); all of them or none.
pub async fn add(
    conn: &mut AsyncPgConnection,
    id: i64,
    ids: &[i64],
    actor: Option<i64>,
) -> Result<MembershipOutcome, DomainError> {
    conn.transaction::<_, DomainError, _>(async |c| {
        let group = FindingGroup::lock(c, id)
            .await?
            .ok_or_else(|| DomainError::NotFound {
                kind: "FindingGroup",
                id: id.to_string(),
            })?;
        let rows = lock_all(c, ids).await?;
        fill(c, &group, &rows, actor).await
    })
    .await
}

/// Takes the findings `ids` out of whatever group they are in.
pub async fn remove(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    actor: Option<i64>,
) -> Result<MembershipOutcome, DomainError> {
    conn.transaction::<_, DomainError, _>(async |c| {
        let rows = lock_all(c, ids).await?;
        let before: HashMap<i64, i64> = FindingGroup::of_findings(c, ids)
            .await?
            .into_iter()
            .map(|m| (m.finding_id, m.finding_group_id))
            .collect();
        let mut outcome = MembershipOutcome::default();
        let mut moved: Vec<&Finding> = Vec::new();
        for f in &rows {
            if before.contains_key(&f.id) {
                outcome.changed.push(f.id);
                moved.push(f);
            } else {
                outcome.unchanged.push(f.id);
            }
        }
        if !moved.is_empty() {
            FindingGroup::take_out(c, &outcome.changed).await?;
            record_moves(c, actor, &moved, &before, None).await?;
        }
        Ok(outcome)
    })
    .await
}

/// Deletes group `id`; its findings stay, ungrouped, each with its event.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    id: i64,
    actor: Option<i64>,
) -> Result<Vec<i64>, DomainError> {
    conn.transaction::<_, DomainError, _>(async |c| {
        if FindingGroup::lock(c, id).await?.is_none() {
            return Err(DomainError::NotFound {
                kind: "FindingGroup",
                id: id.to_string(),
            });
        }
        let members = FindingGroup::member_ids(c, id).await?;
        let rows = lock_all(c, &members).await?;
        let before: HashMap<i64, i64> = members.iter().map(|f| (*f, id)).collect();
        let refs: Vec<&Finding> = rows.iter().collect();
        record_moves(c, actor, &refs, &before, None).await?;
        FindingGroup::delete(c, id).await?;
        Ok(members)
    })
    .await
}
