//! The review workflow over GraphQL: `requestReview` and `clearReview`
//! (rules in `domain::review`). Both need `Finding_Edit`; reviewers must be
//! active users who can read the finding's product.

use std::collections::BTreeSet;

use async_graphql::{Context, ID, InputObject, Object};
use chrono::Utc;

use super::triage::ActionNoteInput;
use super::{Finding, FindingPayload};
use crate::authz::{Permission, Subject};
use crate::db::models::finding as model;
use crate::domain::finding::StatusChange;
use crate::domain::review as rules;
use crate::domain::triage::ActionNote;
use crate::graphql::context::Cx;
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::ids::{self, Kind};
use crate::graphql::loaders::load_err;

/// The most reviewers one request may name.
const MAX_REVIEWERS: usize = 50;

/// Input of `requestReview`.
#[derive(InputObject)]
pub struct RequestReviewInput {
    /// The finding.
    pub id: ID,
    /// Who should review it (replacing earlier reviewers).
    pub reviewers: Vec<ID>,
    /// What to look at.
    pub note: ActionNoteInput,
}

/// The status a review ends with; omitted flags stay as they are, and the
/// status rules apply (a false positive is closed and unverified, ...).
#[derive(InputObject, Default)]
pub struct ReviewOutcomeInput {
    /// Active.
    pub active: Option<bool>,
    /// Verified.
    pub verified: Option<bool>,
    /// False positive.
    pub false_p: Option<bool>,
    /// Out of scope.
    pub out_of_scope: Option<bool>,
    /// Mitigated.
    pub is_mitigated: Option<bool>,
}

/// Input of `clearReview`.
#[derive(InputObject)]
pub struct ClearReviewInput {
    /// The finding.
    pub id: ID,
    /// The review's conclusion.
    pub note: ActionNoteInput,
    /// The status it ends with (default: unchanged).
    pub outcome: Option<ReviewOutcomeInput>,
}

/// Review mutations.
#[derive(Default)]
pub struct ReviewMutation;

#[Object]
impl ReviewMutation {
    /// Asks people to review a finding; they must be active and able to read
    /// its product.
    async fn request_review(
        &self,
        ctx: &Context<'_>,
        input: RequestReviewInput,
    ) -> ApiResult<FindingPayload> {
        let cx = Cx::of(ctx)?;
        let finding: model::Finding = cx.readable(&input.id).await?;
        cx.require_product(Permission::Finding_Edit, finding.product_id)
            .await?;
        if input.reviewers.len() > MAX_REVIEWERS {
            return Err(ApiError::invalid(
                "reviewers",
                format!("at most {MAX_REVIEWERS} reviewers"),
            ));
        }
        let wanted = input
            .reviewers
            .iter()
            .map(|u| ids::decode(u, Kind::User))
            .collect::<ApiResult<BTreeSet<i64>>>()?;
        let users = cx
            .loaders()
            .users
            .load_many(wanted.iter().copied())
            .await
            .map_err(load_err)?;
        let object = cx.product_object(finding.product_id).await?;
        // Someone who cannot read the product is refused like someone who does
        // not exist: the answer must not tell which accounts exist.
        let refused: Vec<i64> = wanted
            .iter()
            .copied()
            .filter(|id| {
                !users.get(id).is_some_and(|u| {
                    u.is_active
                        && cx.authz().can(
                            Subject {
                                user_id: u.id,
                                is_superuser: u.is_superuser,
                            },
                            Permission::Finding_View,
                            object,
                        )
                })
            })
            .collect();
        if !refused.is_empty() {
            return Err(ApiError::invalid(
                "reviewers",
                format!(
                    "not active users who can read the product: {}",
                    ids::list(Kind::User, &refused)
                ),
            ));
        }
        let reviewers: Vec<i64> = wanted.into_iter().collect();
        let note: ActionNote = input.note.into();
        let row = rules::request(
            &mut *cx.conn().await?,
            finding.id,
            &reviewers,
            &note,
            cx.actor_id(),
        )
        .await?;
        Ok(FindingPayload {
            finding: Finding(row),
        })
    }

    /// Ends a finding's review with a note and, optionally, a status outcome;
    /// only its requester, a reviewer or a superuser may.
    async fn clear_review(
        &self,
        ctx: &Context<'_>,
        input: ClearReviewInput,
    ) -> ApiResult<FindingPayload> {
        let cx = Cx::of(ctx)?;
        let finding: model::Finding = cx.readable(&input.id).await?;
        cx.require_product(Permission::Finding_Edit, finding.product_id)
            .await?;
        let o = input.outcome.unwrap_or_default();
        let outcome = StatusChange {
            active: o.active,
            verified: o.verified,
            false_p: o.false_p,
            out_of_scope: o.out_of_scope,
            is_mitigated: o.is_mitigated,
            ..StatusChange::default()
        };
        let note: ActionNote = input.note.into();
        let row = rules::clear(
            &mut *cx.conn().await?,
            finding.id,
            outcome,
            &note,
            cx.actor_id(),
            cx.is_superuser(),
            Utc::now(),
        )
        .await?;
        Ok(FindingPayload {
            finding: Finding(row),
        })
    }
}
