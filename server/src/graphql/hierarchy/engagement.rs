//! Engagements: periods of testing of one product.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};

use super::{Listing, Product, TestConnection, child_count, opt_tags, tests_connection};
use crate::authz::Permission;
use crate::db::models::hierarchy::{
    self as model, ChildKind, EngagementChanges, HierarchyFilter, NewEngagement,
};
use crate::db::models::note::NoteParent;
use crate::domain::{self, hierarchy as rules, normalize_tags};
use crate::graphql::connection::{PageArgs, connection, paged};
use crate::graphql::context::{Cx, Readable};
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::ids::{self, Kind};
use crate::graphql::loaders::load_err;
use crate::graphql::note::Note;
use crate::graphql::payload::{DeleteInput, DeletePayload};

/// An engagement: a period of testing of one product (a CI/CD pipeline or a pentest).
#[derive(Clone)]
pub struct Engagement(pub model::Engagement);

connection!(EngagementConnection, EngagementEdge, Engagement);

impl Readable for model::Engagement {
    const KIND: Kind = Kind::Engagement;
    async fn load(cx: &Cx<'_>, id: i64) -> ApiResult<Option<Self>> {
        cx.loaders()
            .engagements
            .load_one(id)
            .await
            .map_err(load_err)
    }
    async fn may_read(&self, cx: &Cx<'_>) -> ApiResult<bool> {
        Ok(cx.can_read_product(self.product_id))
    }
}

#[Object]
impl Engagement {
    /// Who changed what and when, newest first: the permanent audit trail.
    #[graphql(complexity = "first.unwrap_or(20).max(1) as usize * child_complexity")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        filter: Option<crate::graphql::history::HistoryFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<crate::graphql::history::HistoryConnection> {
        crate::graphql::history::history_of(ctx, Kind::Engagement, self.0.id, filter, first, after)
            .await
    }
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Engagement, self.0.id)
    }
    /// Its risk acceptances, oldest first.
    async fn risk_acceptances(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<crate::graphql::risk::RiskAcceptance>> {
        crate::graphql::risk::of_engagement(ctx, self.0.id).await
    }
    /// Attached files, oldest first.
    async fn files(&self, ctx: &Context<'_>) -> ApiResult<Vec<crate::graphql::file::File>> {
        crate::graphql::file::files_of(
            ctx,
            crate::db::models::file::FileParent::Engagement(self.0.id),
        )
        .await
    }
    /// Custom field values, by field name.
    async fn custom_fields(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<crate::graphql::custom_field::CustomFieldValue>> {
        let cx = Cx::of(ctx)?;
        crate::graphql::custom_field::values_of(&cx, &self.0.custom_fields).await
    }
    /// Name.
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    /// Description.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Version under test.
    async fn version(&self) -> Option<&str> {
        self.0.version.as_deref()
    }
    /// First day.
    async fn target_start(&self) -> NaiveDate {
        self.0.target_start
    }
    /// Last day.
    async fn target_end(&self) -> NaiveDate {
        self.0.target_end
    }
    /// Open (true) or closed.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Not Started, In Progress, Completed, ...
    async fn status(&self) -> &str {
        &self.0.status
    }
    /// Interactive or CI/CD.
    async fn engagement_type(&self) -> &str {
        &self.0.engagement_type
    }
    /// CI build id.
    async fn build_id(&self) -> Option<&str> {
        self.0.build_id.as_deref()
    }
    /// Commit hash.
    async fn commit_hash(&self) -> Option<&str> {
        self.0.commit_hash.as_deref()
    }
    /// Branch or tag.
    async fn branch_tag(&self) -> Option<&str> {
        self.0.branch_tag.as_deref()
    }
    /// Source repository URL.
    async fn source_code_management_uri(&self) -> Option<&str> {
        self.0.source_code_management_uri.as_deref()
    }
    /// Deduplicate only within this engagement.
    async fn deduplication_on_engagement(&self) -> bool {
        self.0.deduplication_on_engagement
    }
    /// Tags.
    async fn tags(&self) -> &[String] {
        &self.0.tags
    }
    /// Created at.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The product.
    async fn product(&self, ctx: &Context<'_>) -> ApiResult<Product> {
        let cx = Cx::of(ctx)?;
        cx.readable_id(self.0.product_id).await.map(Product)
    }
    /// Number of tests.
    async fn test_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        let cx = Cx::of(ctx)?;
        child_count(&cx, ChildKind::TestsOfEngagement, self.0.id).await
    }
    /// The engagement's tests.
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(1) as usize * child_complexity")]
    async fn tests(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<TestConnection> {
        let cx = Cx::of(ctx)?;
        let filter = HierarchyFilter {
            product_ids: cx.readable_products(),
            parent_id: Some(self.0.id),
            ..Default::default()
        };
        tests_connection(
            ctx,
            &cx,
            filter,
            PageArgs {
                after,
                before,
                first,
                last,
            },
        )
        .await
    }
    /// Notes on the engagement.
    #[graphql(complexity = "crate::graphql::LIST_WEIGHT * child_complexity")]
    async fn notes(&self, ctx: &Context<'_>) -> ApiResult<Vec<Note>> {
        let cx = Cx::of(ctx)?;
        crate::graphql::note::notes_of(&cx, NoteParent::Engagement(self.0.id)).await
    }
}

/// Engagements matching `filter`.
pub async fn engagements_connection(
    ctx: &Context<'_>,
    cx: &Cx<'_>,
    filter: HierarchyFilter,
    args: PageArgs,
) -> ApiResult<EngagementConnection> {
    let page = paged(ctx, cx, Listing::<model::Engagement>::new(filter), args).await?;
    Ok(EngagementConnection::from_page(page, Engagement))
}

/// Engagement queries.
#[derive(Default)]
pub struct EngagementQuery;

#[Object]
impl EngagementQuery {
    /// Engagements, oldest first.
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(1) as usize * child_complexity")]
    #[expect(
        clippy::too_many_arguments,
        reason = "GraphQL arguments: a filter, an order and the four connection arguments"
    )]
    async fn engagements(
        &self,
        ctx: &Context<'_>,
        product: Option<ID>,
        name_contains: Option<String>,
        tags: Option<Vec<String>>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<EngagementConnection> {
        let cx = Cx::of(ctx)?;
        let filter = HierarchyFilter {
            product_ids: cx.readable_products(),
            parent_id: product
                .as_ref()
                .map(|i| ids::decode(i, Kind::Product))
                .transpose()?,
            name_contains,
            tags: normalize_tags(&tags.unwrap_or_default())?,
        };
        engagements_connection(
            ctx,
            &cx,
            filter,
            PageArgs {
                after,
                before,
                first,
                last,
            },
        )
        .await
    }

    /// One engagement.
    async fn engagement(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Engagement> {
        let cx = Cx::of(ctx)?;
        cx.readable(&id).await.map(Engagement)
    }
}

/// Input of `createEngagement`.
#[derive(InputObject)]
pub struct CreateEngagementInput {
    /// The product.
    pub product: ID,
    /// Name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Version under test.
    pub version: Option<String>,
    /// First day (default today).
    pub target_start: Option<NaiveDate>,
    /// Last day (default target start).
    pub target_end: Option<NaiveDate>,
    /// Status (default "Not Started").
    pub status: Option<String>,
    /// Interactive (default) or CI/CD.
    pub engagement_type: Option<String>,
    /// CI build id.
    pub build_id: Option<String>,
    /// Commit hash.
    pub commit_hash: Option<String>,
    /// Branch or tag.
    pub branch_tag: Option<String>,
    /// Source repository URL.
    pub source_code_management_uri: Option<String>,
    /// Deduplicate only within this engagement.
    pub deduplication_on_engagement: Option<bool>,
    /// Tags.
    pub tags: Option<Vec<String>>,
}

/// Input of `updateEngagement`.
#[derive(InputObject)]
pub struct UpdateEngagementInput {
    /// The engagement.
    pub id: ID,
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New version.
    pub version: Option<String>,
    /// New start.
    pub target_start: Option<NaiveDate>,
    /// New end.
    pub target_end: Option<NaiveDate>,
    /// Open or close it.
    pub active: Option<bool>,
    /// New status.
    pub status: Option<String>,
    /// New type.
    pub engagement_type: Option<String>,
    /// New build id.
    pub build_id: Option<String>,
    /// New commit.
    pub commit_hash: Option<String>,
    /// New branch or tag.
    pub branch_tag: Option<String>,
    /// New repository URL.
    pub source_code_management_uri: Option<String>,
    /// New dedupe scope.
    pub deduplication_on_engagement: Option<bool>,
    /// New tags (replacing).
    pub tags: Option<Vec<String>>,
}

/// Result of an engagement mutation.
#[derive(SimpleObject)]
pub struct EngagementPayload {
    /// The engagement as it is now.
    pub engagement: Engagement,
}

/// Engagement mutations.
#[derive(Default)]
pub struct EngagementMutation;

#[Object]
impl EngagementMutation {
    /// Creates an engagement.
    async fn create_engagement(
        &self,
        ctx: &Context<'_>,
        input: CreateEngagementInput,
    ) -> ApiResult<EngagementPayload> {
        let cx = Cx::of(ctx)?;
        let product_id = cx.readable::<model::Product>(&input.product).await?.id;
        cx.require_product(Permission::Engagement_Add, product_id)
            .await?;
        let start = input
            .target_start
            .unwrap_or_else(|| Utc::now().date_naive());
        let end = input.target_end.unwrap_or(start);
        rules::validate_engagement(
            input.name.as_deref(),
            input.description.as_deref(),
            input.status.as_deref(),
            input.engagement_type.as_deref(),
            Some(start),
            Some(end),
        )?;
        let tags = normalize_tags(&input.tags.unwrap_or_default())?;
        let mut conn = cx.conn().await?;
        let row = model::Engagement::create(
            &mut conn,
            &NewEngagement {
                product_id,
                name: input.name.as_deref(),
                description: input.description.as_deref(),
                version: input.version.as_deref(),
                target_start: start,
                target_end: end,
                lead_id: cx.actor_id(),
                active: true,
                status: input.status.as_deref().unwrap_or("Not Started"),
                engagement_type: input.engagement_type.as_deref().unwrap_or("Interactive"),
                build_id: input.build_id.as_deref(),
                commit_hash: input.commit_hash.as_deref(),
                branch_tag: input.branch_tag.as_deref(),
                source_code_management_uri: input.source_code_management_uri.as_deref(),
                deduplication_on_engagement: input.deduplication_on_engagement.unwrap_or(false),
                tags,
            },
        )
        .await
        .map_err(domain::DomainError::from)?;
        Ok(EngagementPayload {
            engagement: Engagement(row),
        })
    }

    /// Changes an engagement.
    async fn update_engagement(
        &self,
        ctx: &Context<'_>,
        input: UpdateEngagementInput,
    ) -> ApiResult<EngagementPayload> {
        let cx = Cx::of(ctx)?;
        let existing: model::Engagement = cx.readable(&input.id).await?;
        let id = existing.id;
        cx.require_product(Permission::Engagement_Edit, existing.product_id)
            .await?;
        rules::validate_engagement(
            input.name.as_deref(),
            input.description.as_deref(),
            input.status.as_deref(),
            input.engagement_type.as_deref(),
            Some(input.target_start.unwrap_or(existing.target_start)),
            Some(input.target_end.unwrap_or(existing.target_end)),
        )?;
        let changes = EngagementChanges {
            name: input.name.map(Some),
            description: input.description.map(Some),
            version: input.version.map(Some),
            target_start: input.target_start,
            target_end: input.target_end,
            active: input.active,
            status: input.status,
            engagement_type: input.engagement_type,
            build_id: input.build_id.map(Some),
            commit_hash: input.commit_hash.map(Some),
            branch_tag: input.branch_tag.map(Some),
            source_code_management_uri: input.source_code_management_uri.map(Some),
            deduplication_on_engagement: input.deduplication_on_engagement,
            tags: opt_tags(input.tags)?,
        };
        let mut conn = cx.conn().await?;
        let row = model::Engagement::update(&mut conn, id, &changes)
            .await
            .map_err(domain::DomainError::from)?
            .ok_or_else(|| ApiError::NotFound(format!("Engagement {}", input.id.0)))?;
        Ok(EngagementPayload {
            engagement: Engagement(row),
        })
    }

    /// Deletes an engagement with its tests and findings.
    async fn delete_engagement(
        &self,
        ctx: &Context<'_>,
        input: DeleteInput,
    ) -> ApiResult<DeletePayload> {
        let cx = Cx::of(ctx)?;
        let existing: model::Engagement = cx.readable(&input.id).await?;
        let id = existing.id;
        cx.require_product(Permission::Engagement_Delete, existing.product_id)
            .await?;
        let mut conn = cx.conn().await?;
        if !model::Engagement::delete(&mut conn, id).await? {
            return Err(ApiError::NotFound(format!("Engagement {}", input.id.0)));
        }
        Ok(DeletePayload {
            deleted_id: input.id,
        })
    }
}
