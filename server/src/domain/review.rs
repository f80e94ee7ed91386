//! The review workflow: a person asks others to review a finding, and one of
//! them (or the person who asked) ends the review with a note and, if they
//! choose, a status outcome.
//!
//! Who may be asked is checked by the caller (they must be active and able to
//! read the product); the rules here are the finding's: a review is ended
//! only while one is open, only by its requester or a reviewer (or a
//! superuser), and its outcome follows the status rules of domain.md §2.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;

use super::DomainError;
use super::finding::StatusChange;
use super::triage::{
    ActionNote, StatusAction, check_single, lock_all, next_state, policies_of,
    require_mandatory_notes,
};
use crate::db::models::finding::{Finding, StatusRows};
use crate::db::models::note::Note;
use crate::db::models::review;
use crate::events::{EventKind, Outbox};

fn invalid(field: &str, message: &str) -> DomainError {
    DomainError::Invalid {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

async fn add_note(
    c: &mut AsyncPgConnection,
    f: &Finding,
    note: &ActionNote,
    actor: Option<i64>,
) -> Result<i64, DomainError> {
    let note_type = note.note_type(c).await?;
    check_single(c, note_type.as_ref(), &[f.id]).await?;
    let type_id = note_type.map(|t| t.id);
    let rows = Note::create_on_findings(
        c,
        &note.entry,
        actor,
        note.private,
        type_id,
        &[(f.id, f.product_id)],
    )
    .await?;
    Ok(rows.first().map(|r| r.id).unwrap_or_default())
}

async fn lock_one(c: &mut AsyncPgConnection, id: i64) -> Result<Finding, DomainError> {
    lock_all(c, &[id])
        .await?
        .pop()
        .ok_or_else(|| DomainError::NotFound {
            kind: "Finding",
            id: id.to_string(),
        })
}

/// Puts finding `id` under review by `reviewers` (replacing earlier ones),
/// with `note` saying what to look at.
pub async fn request(
    conn: &mut AsyncPgConnection,
    id: i64,
    reviewers: &[i64],
    note: &ActionNote,
    actor: Option<i64>,
) -> Result<Finding, DomainError> {
    note.validate()?;
    let mut reviewers = reviewers.to_vec();
    reviewers.sort_unstable();
    reviewers.dedup();
    if reviewers.is_empty() {
        return Err(invalid("reviewers", "name at least one reviewer"));
    }
    conn.transaction::<_, DomainError, _>(async |c| {
        let before = lock_one(c, id).await?;
        let earlier: Vec<i64> = review::reviewers_of(c, &[id])
            .await?
            .into_iter()
            .map(|(_, u)| u)
            .collect();
        review::request(c, id, actor, &reviewers).await?;
        let note_id = add_note(c, &before, note, actor).await?;
        let mut after = before.clone();
        after.under_review = true;
        let change = json!({
            "under_review": {"before": before.under_review, "after": true},
            "reviewers": {"before": earlier, "after": reviewers},
            "note": {"before": null, "after": note_id},
        });
        Outbox::record_findings(
            c,
            actor,
            &[EventKind::Updated],
            &[&after],
            &[change.to_string()],
        )
        .await?;
        Ok(after)
    })
    .await
}

/// Ends the review of finding `id` with `note` and the status `outcome`
/// (`StatusChange::default()` keeps the status). `superuser` lets the
/// caller end a review they neither asked for nor were asked to do.
pub async fn clear(
    conn: &mut AsyncPgConnection,
    id: i64,
    outcome: StatusChange,
    note: &ActionNote,
    actor: Option<i64>,
    superuser: bool,
    now: DateTime<Utc>,
) -> Result<Finding, DomainError> {
    note.validate()?;
    conn.transaction::<_, DomainError, _>(async |c| {
        let before = lock_one(c, id).await?;
        if !before.under_review {
            return Err(DomainError::Refused {
                finding_ids: vec![id],
                message: "the finding is not under review".to_owned(),
            });
        }
        let reviewers: Vec<i64> = review::reviewers_of(c, &[id])
            .await?
            .into_iter()
            .map(|(_, u)| u)
            .collect();
        let requester = review::states(c, &[id])
            .await?
            .first()
            .and_then(|s| s.review_requested_by_id);
        let involved = actor.is_some_and(|a| requester == Some(a) || reviewers.contains(&a));
        if !superuser && !involved {
            return Err(DomainError::Refused {
                finding_ids: vec![id],
                message: "only the person who asked for the review or a reviewer may end it"
                    .to_owned(),
            });
        }
        let policies = policies_of(c, std::slice::from_ref(&before)).await?;
        let policy = policies
            .get(&before.product_id)
            .copied()
            .unwrap_or_default();
        let mut after = next_state(&before, StatusAction::Set(outcome), policy, actor, now)?
            .unwrap_or_else(|| before.clone());
        if after.is_mitigated && !before.is_mitigated {
            let with_type = note.note_type(c).await?.map(|t| t.id);
            require_mandatory_notes(c, std::slice::from_ref(&after), with_type).await?;
        }
        if after != before {
            let mut columns = StatusRows::default();
            columns.push(&after);
            Finding::set_status_many(c, &columns).await?;
        }
        review::clear(c, id, actor, now).await?;
        let note_id = add_note(c, &before, note, actor).await?;
        after.under_review = false;
        after.last_reviewed = Some(now);
        let (kind, mut diff) = crate::events::diff(&before, &after);
        if let Some(map) = diff.as_object_mut() {
            map.insert(
                "under_review".to_owned(),
                json!({"before": true, "after": false}),
            );
            map.insert(
                "reviewers".to_owned(),
                json!({"before": reviewers, "after": []}),
            );
            map.insert("note".to_owned(), json!({"before": null, "after": note_id}));
        }
        Outbox::record_findings(c, actor, &[kind], &[&after], &[diff.to_string()]).await?;
        Ok(after)
    })
    .await
}
