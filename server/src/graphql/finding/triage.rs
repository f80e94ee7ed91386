//! Triage over GraphQL: status actions on one finding (`closeFinding`,
//! `reopenFinding`, `verifyFinding`, `markFalsePositive`, `markOutOfScope`)
//! and on many (`closeFindings`, `reopenFindings`, `verifyFindings`,
//! `updateFindings`, `deleteFindings`), chosen by ids or by the `findings`
//! filter.
//!
//! A bulk action checks the permission per product before it changes
//! anything: one finding the caller may read but not edit fails the call
//! with its id, unless `skipForbidden` asks to leave such findings out and
//! report them. Findings the caller may not read answer like missing ones.

use std::collections::BTreeSet;

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};

use super::{Finding, FindingFilterInput, FindingPayload};
use crate::authz::Permission;
use crate::db::models::finding::{self as model, FindingFilter};
use crate::domain::severity::Severity;
use crate::domain::triage::{self, ActionNote, CloseReason, FindingPatch, StatusAction};
use crate::graphql::context::Cx;
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::ids::{self, Kind};
use crate::graphql::loaders::load_err;

/// The most findings one bulk action may touch.
pub const MAX_BULK: usize = 10_000;

/// Why a finding is closed.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug, Default)]
#[graphql(name = "CloseReason")]
pub enum CloseReasonInput {
    /// Fixed.
    #[default]
    Mitigated,
    /// Not a real issue.
    FalsePositive,
    /// Real, but outside what was tested.
    OutOfScope,
}

impl From<CloseReasonInput> for CloseReason {
    fn from(r: CloseReasonInput) -> Self {
        match r {
            CloseReasonInput::Mitigated => CloseReason::Mitigated,
            CloseReasonInput::FalsePositive => CloseReason::FalsePositive,
            CloseReasonInput::OutOfScope => CloseReason::OutOfScope,
        }
    }
}

/// A note added to every finding an action changes.
#[derive(InputObject, Clone)]
pub struct ActionNoteInput {
    /// The text.
    pub entry: String,
    /// The name of an active note type.
    pub note_type: Option<String>,
    /// Only for its author, superusers and the product's Maintainers and Owners.
    #[graphql(default)]
    pub private: bool,
}

impl From<ActionNoteInput> for ActionNote {
    fn from(n: ActionNoteInput) -> Self {
        ActionNote {
            entry: n.entry,
            note_type: n.note_type,
            private: n.private,
        }
    }
}

/// Input of `closeFinding`.
#[derive(InputObject)]
pub struct CloseFindingInput {
    /// The finding.
    pub id: ID,
    /// Why it is closed.
    #[graphql(default)]
    pub reason: CloseReasonInput,
    /// When it was fixed (default now; not in the future).
    pub mitigated: Option<DateTime<Utc>>,
    /// A note to add.
    pub note: Option<ActionNoteInput>,
}

/// Input of `reopenFinding`, `markFalsePositive` and `markOutOfScope`.
#[derive(InputObject)]
pub struct FindingActionInput {
    /// The finding.
    pub id: ID,
    /// A note to add.
    pub note: Option<ActionNoteInput>,
}

/// Input of `verifyFinding`.
#[derive(InputObject)]
pub struct VerifyFindingInput {
    /// The finding.
    pub id: ID,
    /// Verified or not.
    #[graphql(default = true)]
    pub verified: bool,
    /// A note to add.
    pub note: Option<ActionNoteInput>,
}

/// Which findings a bulk action touches: exactly one of `ids` and `filter`,
/// at most 10,000 findings.
#[derive(InputObject, Clone)]
pub struct FindingSelectionInput {
    /// These findings.
    pub ids: Option<Vec<ID>>,
    /// The findings this filter matches (as `findings` would list them).
    pub filter: Option<FindingFilterInput>,
}

/// Input of `closeFindings`.
#[derive(InputObject)]
pub struct CloseFindingsInput {
    /// The findings.
    pub selection: FindingSelectionInput,
    /// Why they are closed.
    #[graphql(default)]
    pub reason: CloseReasonInput,
    /// When they were fixed (default now; not in the future).
    pub mitigated: Option<DateTime<Utc>>,
    /// A note to add to each changed finding.
    pub note: Option<ActionNoteInput>,
    /// Leave out findings the caller may not edit (reported in `skippedIds`)
    /// instead of failing.
    #[graphql(default)]
    pub skip_forbidden: bool,
}

/// Input of `reopenFindings`.
#[derive(InputObject)]
pub struct ReopenFindingsInput {
    /// The findings.
    pub selection: FindingSelectionInput,
    /// A note to add to each changed finding.
    pub note: Option<ActionNoteInput>,
    /// Leave out findings the caller may not edit instead of failing.
    #[graphql(default)]
    pub skip_forbidden: bool,
}

/// Input of `verifyFindings`.
#[derive(InputObject)]
pub struct VerifyFindingsInput {
    /// The findings.
    pub selection: FindingSelectionInput,
    /// Verified or not.
    #[graphql(default = true)]
    pub verified: bool,
    /// A note to add to each changed finding.
    pub note: Option<ActionNoteInput>,
    /// Leave out findings the caller may not edit instead of failing.
    #[graphql(default)]
    pub skip_forbidden: bool,
}

/// What `updateFindings` changes on every selected finding; at least one
/// field.
#[derive(InputObject)]
pub struct FindingPatchInput {
    /// New severity (the SLA deadline follows).
    pub severity: Option<Severity>,
    /// Tags to add.
    pub add_tags: Option<Vec<String>>,
    /// Tags to remove.
    pub remove_tags: Option<Vec<String>>,
    /// New planned remediation date (null clears it).
    pub planned_remediation_date: MaybeUndefined<NaiveDate>,
}

/// Input of `updateFindings`.
#[derive(InputObject)]
pub struct UpdateFindingsInput {
    /// The findings.
    pub selection: FindingSelectionInput,
    /// The change.
    pub patch: FindingPatchInput,
    /// Leave out findings the caller may not edit instead of failing.
    #[graphql(default)]
    pub skip_forbidden: bool,
}

/// Input of `deleteFindings`.
#[derive(InputObject)]
pub struct DeleteFindingsInput {
    /// The findings.
    pub selection: FindingSelectionInput,
    /// Leave out findings the caller may not delete instead of failing.
    #[graphql(default)]
    pub skip_forbidden: bool,
}

/// What `deleteFindings` did.
#[derive(SimpleObject)]
pub struct DeleteFindingsPayload {
    /// Findings deleted.
    pub deleted: i32,
    /// Their ids.
    pub deleted_ids: Vec<ID>,
    /// Findings left out because the caller may not delete them.
    pub skipped_ids: Vec<ID>,
}

/// What a bulk action did.
#[derive(SimpleObject)]
pub struct BulkFindingsPayload {
    /// Findings changed.
    pub changed: i32,
    /// Findings already in the requested state, left alone.
    pub unchanged: i32,
    /// The changed findings' ids.
    pub changed_ids: Vec<ID>,
    /// Findings left out because the caller may not edit them.
    pub skipped_ids: Vec<ID>,
}

/// The findings a bulk action may change, and those it leaves out.
#[derive(Debug, Default)]
pub struct Targets {
    /// Writable findings, in id order.
    pub ids: Vec<i64>,
    /// Readable findings the caller may not change (only with `skipForbidden`).
    pub skipped: Vec<i64>,
}

/// Resolves a selection to findings the caller holds `permission` on.
pub async fn select_targets(
    cx: &Cx<'_>,
    selection: FindingSelectionInput,
    permission: Permission,
    skip_forbidden: bool,
) -> ApiResult<Targets> {
    let limit = i64::try_from(MAX_BULK).unwrap_or(i64::MAX) + 1;
    let (filter, asked): (FindingFilter, Option<BTreeSet<i64>>) =
        match (selection.ids, selection.filter) {
            (Some(list), None) => {
                if list.len() > MAX_BULK {
                    return Err(ApiError::invalid(
                        "selection.ids",
                        format!("{} ids given; at most {MAX_BULK} are allowed", list.len()),
                    ));
                }
                let asked = list
                    .iter()
                    .map(|i| ids::decode(i, Kind::Finding))
                    .collect::<ApiResult<BTreeSet<i64>>>()?;
                let filter = FindingFilter {
                    readable_product_ids: cx.readable_products(),
                    ids: Some(asked.iter().copied().collect()),
                    ..FindingFilter::default()
                };
                (filter, Some(asked))
            }
            (None, Some(f)) => (f.into_filter(cx)?, None),
            _ => {
                return Err(ApiError::invalid(
                    "selection",
                    "give exactly one of ids and filter",
                ));
            }
        };
    let found = {
        let mut conn = cx.conn().await?;
        model::Finding::targets(&mut conn, &filter, limit).await?
    };
    if found.len() > MAX_BULK {
        return Err(ApiError::invalid(
            "selection.filter",
            format!("matches more than {MAX_BULK} findings; narrow it"),
        ));
    }
    if let Some(asked) = asked
        && asked.len() != found.len()
    {
        let seen: BTreeSet<i64> = found.iter().map(|(id, _)| *id).collect();
        let missing: Vec<i64> = asked.difference(&seen).copied().collect();
        return Err(ApiError::NotFound(format!(
            "Finding {}",
            ids::list(Kind::Finding, &missing)
        )));
    }
    let products: BTreeSet<i64> = found.iter().map(|(_, p)| *p).collect();
    let rows = cx
        .loaders()
        .products
        .load_many(products.iter().copied())
        .await
        .map_err(load_err)?;
    let writable: BTreeSet<i64> = rows
        .values()
        .filter(|p| {
            cx.can(
                permission,
                crate::authz::Object::Product {
                    id: p.id,
                    product_type_id: p.product_type_id,
                },
            )
        })
        .map(|p| p.id)
        .collect();
    let mut targets = Targets::default();
    for (id, product) in found {
        if writable.contains(&product) {
            targets.ids.push(id);
        } else {
            targets.skipped.push(id);
        }
    }
    if !skip_forbidden && !targets.skipped.is_empty() {
        return Err(ApiError::Forbidden(format!(
            "{} on findings {}",
            permission.name(),
            ids::list(Kind::Finding, &targets.skipped)
        )));
    }
    Ok(targets)
}

fn encode_all(ids: &[i64]) -> Vec<ID> {
    ids.iter().map(|i| ids::encode(Kind::Finding, *i)).collect()
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

async fn bulk(
    cx: &Cx<'_>,
    selection: FindingSelectionInput,
    skip_forbidden: bool,
    action: StatusAction,
    note: Option<ActionNoteInput>,
) -> ApiResult<BulkFindingsPayload> {
    let targets = select_targets(cx, selection, Permission::Finding_Edit, skip_forbidden).await?;
    let note: Option<ActionNote> = note.map(Into::into);
    let outcome = triage::apply(
        &mut *cx.conn().await?,
        &targets.ids,
        action,
        note.as_ref(),
        cx.actor_id(),
        Utc::now(),
    )
    .await?;
    Ok(payload(&outcome, &targets))
}

fn payload(outcome: &triage::TriageOutcome, targets: &Targets) -> BulkFindingsPayload {
    let changed: Vec<i64> = outcome.changed.iter().map(|f| f.id).collect();
    BulkFindingsPayload {
        changed: count(changed.len()),
        unchanged: count(outcome.unchanged.len()),
        changed_ids: encode_all(&changed),
        skipped_ids: encode_all(&targets.skipped),
    }
}

async fn one(
    cx: &Cx<'_>,
    id: &ID,
    action: StatusAction,
    note: Option<ActionNoteInput>,
) -> ApiResult<FindingPayload> {
    let existing: model::Finding = cx.readable(id).await?;
    cx.require_product(Permission::Finding_Edit, existing.product_id)
        .await?;
    let note: Option<ActionNote> = note.map(Into::into);
    let mut conn = cx.conn().await?;
    triage::apply(
        &mut conn,
        &[existing.id],
        action,
        note.as_ref(),
        cx.actor_id(),
        Utc::now(),
    )
    .await?;
    let row = model::Finding::find(&mut conn, existing.id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Finding {}", id.0)))?;
    Ok(FindingPayload {
        finding: Finding(row),
    })
}

/// Triage mutations.
#[derive(Default)]
pub struct TriageMutation;

#[Object]
impl TriageMutation {
    /// Closes a finding: fixed (default), a false positive or out of scope.
    /// `mitigated` and `mitigatedBy` are stamped by the server.
    async fn close_finding(
        &self,
        ctx: &Context<'_>,
        input: CloseFindingInput,
    ) -> ApiResult<FindingPayload> {
        let action = StatusAction::Close {
            reason: input.reason.into(),
            mitigated: input.mitigated,
        };
        one(&Cx::of(ctx)?, &input.id, action, input.note).await
    }

    /// Reopens a closed finding: clears the closing flags and the mitigation
    /// stamp; the SLA restarts when the product's SLA configuration says so.
    async fn reopen_finding(
        &self,
        ctx: &Context<'_>,
        input: FindingActionInput,
    ) -> ApiResult<FindingPayload> {
        one(&Cx::of(ctx)?, &input.id, StatusAction::Reopen, input.note).await
    }

    /// Marks a finding verified (or not); a false positive or a duplicate
    /// cannot be verified.
    async fn verify_finding(
        &self,
        ctx: &Context<'_>,
        input: VerifyFindingInput,
    ) -> ApiResult<FindingPayload> {
        let action = StatusAction::Verify(input.verified);
        one(&Cx::of(ctx)?, &input.id, action, input.note).await
    }

    /// Closes a finding as a false positive (unverified).
    async fn mark_false_positive(
        &self,
        ctx: &Context<'_>,
        input: FindingActionInput,
    ) -> ApiResult<FindingPayload> {
        let action = StatusAction::Close {
            reason: CloseReason::FalsePositive,
            mitigated: None,
        };
        one(&Cx::of(ctx)?, &input.id, action, input.note).await
    }

    /// Closes a finding as out of scope.
    async fn mark_out_of_scope(
        &self,
        ctx: &Context<'_>,
        input: FindingActionInput,
    ) -> ApiResult<FindingPayload> {
        let action = StatusAction::Close {
            reason: CloseReason::OutOfScope,
            mitigated: None,
        };
        one(&Cx::of(ctx)?, &input.id, action, input.note).await
    }

    /// Closes many findings in one transaction.
    async fn close_findings(
        &self,
        ctx: &Context<'_>,
        input: CloseFindingsInput,
    ) -> ApiResult<BulkFindingsPayload> {
        let action = StatusAction::Close {
            reason: input.reason.into(),
            mitigated: input.mitigated,
        };
        bulk(
            &Cx::of(ctx)?,
            input.selection,
            input.skip_forbidden,
            action,
            input.note,
        )
        .await
    }

    /// Reopens many findings in one transaction.
    async fn reopen_findings(
        &self,
        ctx: &Context<'_>,
        input: ReopenFindingsInput,
    ) -> ApiResult<BulkFindingsPayload> {
        bulk(
            &Cx::of(ctx)?,
            input.selection,
            input.skip_forbidden,
            StatusAction::Reopen,
            input.note,
        )
        .await
    }

    /// Changes the severity, tags or planned remediation date of many
    /// findings in one transaction.
    async fn update_findings(
        &self,
        ctx: &Context<'_>,
        input: UpdateFindingsInput,
    ) -> ApiResult<BulkFindingsPayload> {
        let cx = Cx::of(ctx)?;
        let p = input.patch;
        let planned = match p.planned_remediation_date {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(d) => Some(Some(d)),
        };
        let patch = FindingPatch::new(
            p.severity,
            &p.add_tags.unwrap_or_default(),
            &p.remove_tags.unwrap_or_default(),
            planned,
        )?;
        let targets = select_targets(
            &cx,
            input.selection,
            Permission::Finding_Edit,
            input.skip_forbidden,
        )
        .await?;
        let outcome = triage::edit(
            &mut *cx.conn().await?,
            &targets.ids,
            &patch,
            cx.actor_id(),
            Utc::now(),
        )
        .await?;
        Ok(payload(&outcome, &targets))
    }

    /// Deletes many findings in one transaction; surviving duplicates of a
    /// deleted original go to the oldest of them.
    async fn delete_findings(
        &self,
        ctx: &Context<'_>,
        input: DeleteFindingsInput,
    ) -> ApiResult<DeleteFindingsPayload> {
        let cx = Cx::of(ctx)?;
        let targets = select_targets(
            &cx,
            input.selection,
            Permission::Finding_Delete,
            input.skip_forbidden,
        )
        .await?;
        let deleted = triage::delete(&mut *cx.conn().await?, &targets.ids, cx.actor_id()).await?;
        Ok(DeleteFindingsPayload {
            deleted: count(deleted),
            deleted_ids: encode_all(&targets.ids),
            skipped_ids: encode_all(&targets.skipped),
        })
    }

    /// Verifies (or unverifies) many findings in one transaction.
    async fn verify_findings(
        &self,
        ctx: &Context<'_>,
        input: VerifyFindingsInput,
    ) -> ApiResult<BulkFindingsPayload> {
        bulk(
            &Cx::of(ctx)?,
            input.selection,
            input.skip_forbidden,
            StatusAction::Verify(input.verified),
            input.note,
        )
        .await
    }
}
