//! Finding groups over GraphQL: the `FindingGroup` node with the values it
//! computes from its findings, and the mutations that make, fill, empty and
//! delete groups by hand.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};

use super::connection::PageArgs;
use super::context::{Cx, Readable};
use super::error::ApiResult;
use super::finding::triage::{FindingSelectionInput, select_targets};
use super::finding::{FindingConnection, FindingFilterInput, FindingOrder, scoped_findings};
use super::hierarchy::{Product, Test};
use super::ids::{self, Kind};
use super::loaders::load_err;
use super::payload::{DeleteInput, DeletePayload};
use crate::authz::Permission;
use crate::db::models::finding_group::{self as model, GroupSummary};
use crate::db::models::hierarchy::Test as TestRow;
use crate::domain::finding_group as rules;
use crate::domain::severity::Severity;

/// A named set of findings of one test, made by an import's `groupBy` or by
/// hand; what it shows of severity, status and SLA comes from its findings.
#[derive(Clone)]
pub struct FindingGroup(pub model::FindingGroup);

impl Readable for model::FindingGroup {
    const KIND: Kind = Kind::FindingGroup;
    async fn load(cx: &Cx<'_>, id: i64) -> ApiResult<Option<Self>> {
        cx.loaders()
            .finding_groups
            .load_one(id)
            .await
            .map_err(load_err)
    }
    async fn may_read(&self, cx: &Cx<'_>) -> ApiResult<bool> {
        Ok(cx.can_read_product(self.product_id))
    }
}

/// A finding group's status, from its findings.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum FindingGroupStatus {
    /// At least one finding is active.
    Active,
    /// Every finding is mitigated.
    Mitigated,
    /// Neither (or the group is empty).
    Inactive,
}

impl FindingGroup {
    async fn summary(&self, ctx: &Context<'_>) -> ApiResult<GroupSummary> {
        let cx = Cx::of(ctx)?;
        Ok(cx
            .loaders()
            .group_summaries
            .load_one(self.0.id)
            .await
            .map_err(load_err)?
            .unwrap_or_default())
    }
}

#[Object]
impl FindingGroup {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::FindingGroup, self.0.id)
    }
    /// Name, unique within the test.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Created at.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Last renamed or filled at.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Who made it (the importer for `groupBy` groups; null for the system
    /// or a deleted account).
    async fn creator(&self, ctx: &Context<'_>) -> ApiResult<Option<super::user::User>> {
        super::user::User::by_id(ctx, self.0.creator_id).await
    }
    /// The test.
    async fn test(&self, ctx: &Context<'_>) -> ApiResult<Test> {
        let cx = Cx::of(ctx)?;
        cx.readable_id(self.0.test_id).await.map(Test)
    }
    /// The product.
    async fn product(&self, ctx: &Context<'_>) -> ApiResult<Product> {
        let cx = Cx::of(ctx)?;
        cx.readable_id(self.0.product_id).await.map(Product)
    }
    /// Findings in it.
    async fn finding_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        Ok(self.summary(ctx).await?.findings)
    }
    /// The highest severity of its findings (null when empty).
    async fn severity(&self, ctx: &Context<'_>) -> ApiResult<Option<Severity>> {
        let s = self.summary(ctx).await?;
        Ok(s.numerical_severity
            .and_then(|n| Severity::ALL.into_iter().find(|v| v.numerical() == n)))
    }
    /// Active when any finding is, mitigated when all are, inactive otherwise.
    async fn status(&self, ctx: &Context<'_>) -> ApiResult<FindingGroupStatus> {
        let s = self.summary(ctx).await?;
        Ok(if s.findings == 0 {
            FindingGroupStatus::Inactive
        } else if s.any_active {
            FindingGroupStatus::Active
        } else if s.all_mitigated {
            FindingGroupStatus::Mitigated
        } else {
            FindingGroupStatus::Inactive
        })
    }
    /// The earliest SLA start of its findings.
    async fn sla_start_date(&self, ctx: &Context<'_>) -> ApiResult<Option<NaiveDate>> {
        Ok(self.summary(ctx).await?.sla_start_date)
    }
    /// The earliest SLA deadline of its findings.
    async fn sla_expiration_date(&self, ctx: &Context<'_>) -> ApiResult<Option<NaiveDate>> {
        Ok(self.summary(ctx).await?.sla_expiration_date)
    }
    /// Days since its oldest finding was found.
    async fn age(&self, ctx: &Context<'_>) -> ApiResult<Option<i64>> {
        let today = Utc::now().date_naive();
        Ok(self
            .summary(ctx)
            .await?
            .oldest_date
            .map(|d| (today - d).num_days()))
    }
    /// Its findings.
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(1) as usize * child_complexity")]
    #[expect(
        clippy::too_many_arguments,
        reason = "GraphQL arguments: a filter, an order and the four connection arguments"
    )]
    async fn findings(
        &self,
        ctx: &Context<'_>,
        filter: Option<FindingFilterInput>,
        order_by: Option<FindingOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<FindingConnection> {
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        scoped_findings(ctx, filter, order_by, args, |f| {
            f.finding_group_ids = Some(vec![ids::encode(Kind::FindingGroup, self.0.id)]);
        })
        .await
    }
}

/// The group of a finding, if any.
pub async fn group_of(cx: &Cx<'_>, finding_id: i64) -> ApiResult<Option<FindingGroup>> {
    let l = cx.loaders();
    let Some(gid) = l
        .group_of_finding
        .load_one(finding_id)
        .await
        .map_err(load_err)?
    else {
        return Ok(None);
    };
    let row = l.finding_groups.load_one(gid).await.map_err(load_err)?;
    Ok(row.map(FindingGroup))
}

/// The groups of a test, by name.
pub async fn groups_of_test(cx: &Cx<'_>, test_id: i64) -> ApiResult<Vec<FindingGroup>> {
    let l = cx.loaders();
    let rows = l
        .test_groups
        .load_one(test_id)
        .await
        .map_err(load_err)?
        .unwrap_or_default();
    l.finding_groups
        .feed_many(rows.iter().map(|g| (g.id, g.clone())))
        .await;
    l.group_summaries
        .load_many(rows.iter().map(|g| g.id))
        .await
        .map_err(load_err)?;
    Ok(rows.into_iter().map(FindingGroup).collect())
}

/// Finding group queries.
#[derive(Default)]
pub struct FindingGroupQuery;

#[Object]
impl FindingGroupQuery {
    /// One finding group.
    async fn finding_group(&self, ctx: &Context<'_>, id: ID) -> ApiResult<FindingGroup> {
        let cx = Cx::of(ctx)?;
        cx.readable(&id).await.map(FindingGroup)
    }
}

/// Input of `createFindingGroup`.
#[derive(InputObject)]
pub struct CreateFindingGroupInput {
    /// The test the group belongs to.
    pub test: ID,
    /// Name, unique within the test.
    pub name: String,
    /// Findings of that test to put in it (taken out of any other group).
    #[graphql(default)]
    pub findings: Vec<ID>,
}

/// Input of `updateFindingGroup`.
#[derive(InputObject)]
pub struct UpdateFindingGroupInput {
    /// The group.
    pub id: ID,
    /// New name, unique within the test.
    pub name: String,
}

/// Input of `addToFindingGroup`.
#[derive(InputObject)]
pub struct AddToFindingGroupInput {
    /// The group.
    pub group: ID,
    /// The findings (of the group's test); each leaves the group it was in.
    pub selection: FindingSelectionInput,
    /// Leave out findings the caller may not edit instead of failing.
    #[graphql(default)]
    pub skip_forbidden: bool,
}

/// Input of `removeFromFindingGroup`.
#[derive(InputObject)]
pub struct RemoveFromFindingGroupInput {
    /// The findings, taken out of whatever group they are in.
    pub selection: FindingSelectionInput,
    /// Leave out findings the caller may not edit instead of failing.
    #[graphql(default)]
    pub skip_forbidden: bool,
}

/// Result of a finding group mutation.
#[derive(SimpleObject)]
pub struct FindingGroupPayload {
    /// The group as it is now.
    pub finding_group: FindingGroup,
}

/// What a membership change did.
#[derive(SimpleObject)]
pub struct FindingGroupMembershipPayload {
    /// The group the findings went into (null for a removal).
    pub finding_group: Option<FindingGroup>,
    /// Findings whose group changed.
    pub changed: i32,
    /// Findings already where they were asked to be.
    pub unchanged: i32,
    /// The changed findings' ids.
    pub changed_ids: Vec<ID>,
    /// Findings left out because the caller may not edit them.
    pub skipped_ids: Vec<ID>,
}

fn encode_all(list: &[i64]) -> Vec<ID> {
    list.iter()
        .map(|i| ids::encode(Kind::Finding, *i))
        .collect()
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Finding group mutations.
#[derive(Default)]
pub struct FindingGroupMutation;

#[Object]
impl FindingGroupMutation {
    /// Makes a finding group in a test, optionally with findings of that test.
    async fn create_finding_group(
        &self,
        ctx: &Context<'_>,
        input: CreateFindingGroupInput,
    ) -> ApiResult<FindingGroupPayload> {
        let cx = Cx::of(ctx)?;
        let test: TestRow = cx.readable(&input.test).await?;
        cx.require_product(Permission::Finding_Group_Add, test.product_id)
            .await?;
        let members = if input.findings.is_empty() {
            Vec::new()
        } else {
            let selection = FindingSelectionInput {
                ids: Some(input.findings),
                filter: None,
            };
            select_targets(&cx, selection, Permission::Finding_Group_Edit, false)
                .await?
                .ids
        };
        let row = rules::create(
            &mut *cx.conn().await?,
            &test,
            &input.name,
            &members,
            cx.actor_id(),
        )
        .await?;
        Ok(FindingGroupPayload {
            finding_group: FindingGroup(row),
        })
    }

    /// Renames a finding group.
    async fn update_finding_group(
        &self,
        ctx: &Context<'_>,
        input: UpdateFindingGroupInput,
    ) -> ApiResult<FindingGroupPayload> {
        let cx = Cx::of(ctx)?;
        let group: model::FindingGroup = cx.readable(&input.id).await?;
        cx.require_product(Permission::Finding_Group_Edit, group.product_id)
            .await?;
        let row = rules::rename(&mut *cx.conn().await?, group.id, &input.name).await?;
        Ok(FindingGroupPayload {
            finding_group: FindingGroup(row),
        })
    }

    /// Puts findings into a group in one transaction (all or none); each
    /// leaves the group it was in.
    async fn add_to_finding_group(
        &self,
        ctx: &Context<'_>,
        input: AddToFindingGroupInput,
    ) -> ApiResult<FindingGroupMembershipPayload> {
        let cx = Cx::of(ctx)?;
        let group: model::FindingGroup = cx.readable(&input.group).await?;
        cx.require_product(Permission::Finding_Group_Edit, group.product_id)
            .await?;
        let targets = select_targets(
            &cx,
            input.selection,
            Permission::Finding_Group_Edit,
            input.skip_forbidden,
        )
        .await?;
        let outcome = rules::add(
            &mut *cx.conn().await?,
            group.id,
            &targets.ids,
            cx.actor_id(),
        )
        .await?;
        Ok(FindingGroupMembershipPayload {
            finding_group: Some(FindingGroup(group)),
            changed: count(outcome.changed.len()),
            unchanged: count(outcome.unchanged.len()),
            changed_ids: encode_all(&outcome.changed),
            skipped_ids: encode_all(&targets.skipped),
        })
    }

    /// Takes findings out of their groups in one transaction.
    async fn remove_from_finding_group(
        &self,
        ctx: &Context<'_>,
        input: RemoveFromFindingGroupInput,
    ) -> ApiResult<FindingGroupMembershipPayload> {
        let cx = Cx::of(ctx)?;
        let targets = select_targets(
            &cx,
            input.selection,
            Permission::Finding_Group_Edit,
            input.skip_forbidden,
        )
        .await?;
        let outcome = rules::remove(&mut *cx.conn().await?, &targets.ids, cx.actor_id()).await?;
        Ok(FindingGroupMembershipPayload {
            finding_group: None,
            changed: count(outcome.changed.len()),
            unchanged: count(outcome.unchanged.len()),
            changed_ids: encode_all(&outcome.changed),
            skipped_ids: encode_all(&targets.skipped),
        })
    }

    /// Deletes a finding group; its findings stay, ungrouped.
    async fn delete_finding_group(
        &self,
        ctx: &Context<'_>,
        input: DeleteInput,
    ) -> ApiResult<DeletePayload> {
        let cx = Cx::of(ctx)?;
        let group: model::FindingGroup = cx.readable(&input.id).await?;
        cx.require_product(Permission::Finding_Group_Delete, group.product_id)
            .await?;
        rules::delete(&mut *cx.conn().await?, group.id, cx.actor_id()).await?;
        Ok(DeletePayload::of(input))
    }
}
