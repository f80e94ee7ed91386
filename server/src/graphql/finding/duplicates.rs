//! Duplicate management over GraphQL: `markDuplicate`, `resetDuplicate`
//! and `setOriginal` (rules in `domain::duplicate`). Each needs
//! `Finding_Edit` on the product; both findings must be readable, or the
//! call answers as if the unreadable one did not exist.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::Utc;

use super::{Finding, FindingPayload};
use crate::authz::Permission;
use crate::db::models::finding as model;
use crate::domain::duplicate as rules;
use crate::graphql::context::Cx;
use crate::graphql::error::ApiResult;

/// Input of `markDuplicate`.
#[derive(InputObject)]
pub struct MarkDuplicateInput {
    /// The finding that repeats another.
    pub id: ID,
    /// The original it repeats (same product; not itself a duplicate).
    pub original: ID,
}

/// Input of `resetDuplicate`.
#[derive(InputObject)]
pub struct ResetDuplicateInput {
    /// The duplicate.
    pub id: ID,
}

/// Input of `setOriginal`.
#[derive(InputObject)]
pub struct SetOriginalInput {
    /// Any finding of the cluster (its original or one of its duplicates).
    pub id: ID,
    /// The finding to become the cluster's original.
    pub new_original: ID,
}

/// Duplicate management mutations.
#[derive(Default)]
pub struct DuplicateMutation;

/// Loads both findings, checks `Finding_Edit` on both products.
async fn editable_pair(cx: &Cx<'_>, a: &ID, b: &ID) -> ApiResult<(model::Finding, model::Finding)> {
    let first: model::Finding = cx.readable(a).await?;
    let second: model::Finding = cx.readable(b).await?;
    cx.require_product(Permission::Finding_Edit, first.product_id)
        .await?;
    if second.product_id != first.product_id {
        cx.require_product(Permission::Finding_Edit, second.product_id)
            .await?;
    }
    Ok((first, second))
}

#[Object]
impl DuplicateMutation {
    /// Marks a finding a duplicate of an original: inactive, unverified,
    /// pointing at it; the finding's own duplicates follow it to the original.
    async fn mark_duplicate(
        &self,
        ctx: &Context<'_>,
        input: MarkDuplicateInput,
    ) -> ApiResult<FindingPayload> {
        let cx = Cx::of(ctx)?;
        let (finding, original) = editable_pair(&cx, &input.id, &input.original).await?;
        let row = rules::mark(
            &mut *cx.conn().await?,
            finding.id,
            original.id,
            cx.actor_id(),
            Utc::now(),
        )
        .await?;
        Ok(FindingPayload {
            finding: Finding(row),
        })
    }

    /// Makes a duplicate an original of its own again, and active.
    async fn reset_duplicate(
        &self,
        ctx: &Context<'_>,
        input: ResetDuplicateInput,
    ) -> ApiResult<FindingPayload> {
        let cx = Cx::of(ctx)?;
        let finding: model::Finding = cx.readable(&input.id).await?;
        cx.require_product(Permission::Finding_Edit, finding.product_id)
            .await?;
        let row = rules::reset(
            &mut *cx.conn().await?,
            finding.id,
            cx.actor_id(),
            Utc::now(),
        )
        .await?;
        Ok(FindingPayload {
            finding: Finding(row),
        })
    }

    /// Makes `newOriginal` the original of the cluster `id` belongs to: the
    /// old original and the other duplicates point at it, and it takes over
    /// the old original's open state. Returns the new original.
    async fn set_original(
        &self,
        ctx: &Context<'_>,
        input: SetOriginalInput,
    ) -> ApiResult<FindingPayload> {
        let cx = Cx::of(ctx)?;
        let (finding, new_original) = editable_pair(&cx, &input.id, &input.new_original).await?;
        let row = rules::set_original(
            &mut *cx.conn().await?,
            finding.id,
            new_original.id,
            cx.actor_id(),
            Utc::now(),
        )
        .await?;
        Ok(FindingPayload {
            finding: Finding(row),
        })
    }
}
