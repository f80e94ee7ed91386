//! Tests (one scan or manual test in an engagement) and test types.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{Engagement, Listing, opt_tags};
use crate::authz::Permission;
use crate::db::models::hierarchy::{self as model, HierarchyFilter, NewTest, TestChanges};
use crate::db::models::note::NoteParent;
use crate::domain::{self, hierarchy as rules, normalize_tags};
use crate::graphql::connection::{PageArgs, connection, paged};
use crate::graphql::context::{Cx, Readable};
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::finding::{
    FindingConnection, FindingFilterInput, FindingOrder, scoped_findings,
};
use crate::graphql::ids::{self, Kind};
use crate::graphql::loaders::load_err;
use crate::graphql::note::Note;
use crate::graphql::payload::{DeleteInput, DeletePayload};

/// A test: one scan or manual test inside an engagement.
#[derive(Clone)]
pub struct Test(pub model::Test);

/// A kind of test, one per scanner.
#[derive(Clone, SimpleObject)]
pub struct TestType {
    /// Name, e.g. "Trivy Scan".
    pub name: String,
    /// Whether the tool reads code.
    pub static_tool: bool,
    /// Whether the tool probes running systems.
    pub dynamic_tool: bool,
    /// Whether imports of this type are accepted.
    pub active: bool,
}

connection!(TestConnection, TestEdge, Test);

impl Readable for model::Test {
    const KIND: Kind = Kind::Test;
    async fn load(cx: &Cx<'_>, id: i64) -> ApiResult<Option<Self>> {
        cx.loaders().tests.load_one(id).await.map_err(load_err)
    }
    async fn may_read(&self, cx: &Cx<'_>) -> ApiResult<bool> {
        Ok(cx.can_read_product(self.product_id))
    }
}

#[Object]
impl Test {
    /// Who changed what and when, newest first: the permanent audit trail.
    #[graphql(complexity = "first.unwrap_or(20).max(1) as usize * child_complexity")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        filter: Option<crate::graphql::history::HistoryFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<crate::graphql::history::HistoryConnection> {
        crate::graphql::history::history_of(ctx, Kind::Test, self.0.id, filter, first, after).await
    }
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Test, self.0.id)
    }
    /// Attached files, oldest first.
    async fn files(&self, ctx: &Context<'_>) -> ApiResult<Vec<crate::graphql::file::File>> {
        crate::graphql::file::files_of(ctx, crate::db::models::file::FileParent::Test(self.0.id))
            .await
    }
    /// Title.
    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }
    /// Description.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The parser's scan type, e.g. "Trivy Scan".
    async fn scan_type(&self) -> Option<&str> {
        self.0.scan_type.as_deref()
    }
    /// Start.
    async fn target_start(&self) -> DateTime<Utc> {
        self.0.target_start
    }
    /// End.
    async fn target_end(&self) -> DateTime<Utc> {
        self.0.target_end
    }
    /// Progress, 0 to 100.
    async fn percent_complete(&self) -> Option<i32> {
        self.0.percent_complete
    }
    /// Version tested.
    async fn version(&self) -> Option<&str> {
        self.0.version.as_deref()
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
    /// Tags.
    async fn tags(&self) -> &[String] {
        &self.0.tags
    }
    /// Created at.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The kind of test.
    async fn test_type(&self, ctx: &Context<'_>) -> ApiResult<TestType> {
        let cx = Cx::of(ctx)?;
        let t = cx
            .loaders()
            .test_types
            .load_one(self.0.test_type_id)
            .await
            .map_err(load_err)?
            .ok_or_else(|| {
                ApiError::Internal(format!("test type {} missing", self.0.test_type_id))
            })?;
        Ok(TestType {
            name: t.name,
            static_tool: t.static_tool,
            dynamic_tool: t.dynamic_tool,
            active: t.active,
        })
    }
    /// The engagement.
    async fn engagement(&self, ctx: &Context<'_>) -> ApiResult<Engagement> {
        let cx = Cx::of(ctx)?;
        cx.readable_id(self.0.engagement_id).await.map(Engagement)
    }
    /// Number of findings.
    async fn finding_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        let cx = Cx::of(ctx)?;
        Ok(cx
            .loaders()
            .test_finding_counts
            .load_one(self.0.id)
            .await
            .map_err(load_err)?
            .unwrap_or(0))
    }
    /// The test's findings.
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
            f.test_ids = Some(vec![ids::encode(Kind::Test, self.0.id)]);
        })
        .await
    }
    /// The test's finding groups, by name.
    #[graphql(complexity = "crate::graphql::LIST_WEIGHT * child_complexity")]
    async fn finding_groups(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<crate::graphql::finding_group::FindingGroup>> {
        let cx = Cx::of(ctx)?;
        crate::graphql::finding_group::groups_of_test(&cx, self.0.id).await
    }
    /// The test's import history, newest first.
    #[graphql(complexity = "crate::graphql::LIST_WEIGHT * child_complexity")]
    async fn test_imports(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<crate::graphql::import::TestImport>> {
        let cx = Cx::of(ctx)?;
        crate::graphql::import::test_imports_of(&cx, self.0.id).await
    }
    /// Notes.
    #[graphql(complexity = "crate::graphql::LIST_WEIGHT * child_complexity")]
    async fn notes(&self, ctx: &Context<'_>) -> ApiResult<Vec<Note>> {
        let cx = Cx::of(ctx)?;
        crate::graphql::note::notes_of(&cx, NoteParent::Test(self.0.id)).await
    }
}

/// Tests matching `filter`.
pub async fn tests_connection(
    ctx: &Context<'_>,
    cx: &Cx<'_>,
    filter: HierarchyFilter,
    args: PageArgs,
) -> ApiResult<TestConnection> {
    let page = paged(ctx, cx, Listing::<model::Test>::new(filter), args).await?;
    Ok(TestConnection::from_page(page, Test))
}

/// Test queries.
#[derive(Default)]
pub struct TestQuery;

#[Object]
impl TestQuery {
    /// Tests, oldest first.
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(1) as usize * child_complexity")]
    #[expect(
        clippy::too_many_arguments,
        reason = "GraphQL arguments: a filter, an order and the four connection arguments"
    )]
    async fn tests(
        &self,
        ctx: &Context<'_>,
        engagement: Option<ID>,
        title_contains: Option<String>,
        tags: Option<Vec<String>>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<TestConnection> {
        let cx = Cx::of(ctx)?;
        let filter = HierarchyFilter {
            product_ids: cx.readable_products(),
            parent_id: engagement
                .as_ref()
                .map(|i| ids::decode(i, Kind::Engagement))
                .transpose()?,
            name_contains: title_contains,
            tags: normalize_tags(&tags.unwrap_or_default())?,
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

    /// One test.
    async fn test(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Test> {
        let cx = Cx::of(ctx)?;
        cx.readable(&id).await.map(Test)
    }
}

/// Input of `createTest`.
#[derive(InputObject)]
pub struct CreateTestInput {
    /// The engagement.
    pub engagement: ID,
    /// Test type name, e.g. "Manual Code Review": an existing test type
    /// (superusers may name a new one, which is created).
    pub test_type: String,
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Start (default now).
    pub target_start: Option<DateTime<Utc>>,
    /// End (default start).
    pub target_end: Option<DateTime<Utc>>,
    /// Progress 0..100.
    pub percent_complete: Option<i32>,
    /// Version tested.
    pub version: Option<String>,
    /// Build id.
    pub build_id: Option<String>,
    /// Commit hash.
    pub commit_hash: Option<String>,
    /// Branch or tag.
    pub branch_tag: Option<String>,
    /// Tags.
    pub tags: Option<Vec<String>>,
}

/// Input of `updateTest`.
#[derive(InputObject)]
pub struct UpdateTestInput {
    /// The test.
    pub id: ID,
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New start.
    pub target_start: Option<DateTime<Utc>>,
    /// New end.
    pub target_end: Option<DateTime<Utc>>,
    /// New progress.
    pub percent_complete: Option<i32>,
    /// New version.
    pub version: Option<String>,
    /// New build id.
    pub build_id: Option<String>,
    /// New commit.
    pub commit_hash: Option<String>,
    /// New branch or tag.
    pub branch_tag: Option<String>,
    /// New tags (replacing).
    pub tags: Option<Vec<String>>,
}

/// Result of a test mutation.
#[derive(SimpleObject)]
pub struct TestPayload {
    /// The test as it is now.
    pub test: Test,
}

/// Test mutations.
#[derive(Default)]
pub struct TestMutation;

#[Object]
impl TestMutation {
    /// Creates a test.
    async fn create_test(
        &self,
        ctx: &Context<'_>,
        input: CreateTestInput,
    ) -> ApiResult<TestPayload> {
        let cx = Cx::of(ctx)?;
        let engagement: model::Engagement = cx.readable(&input.engagement).await?;
        let engagement_id = engagement.id;
        cx.require_product(Permission::Test_Add, engagement.product_id)
            .await?;
        rules::validate_test(input.title.as_deref(), input.percent_complete)?;
        domain::check_len("testType", &input.test_type, 200, true)?;
        let tags = normalize_tags(&input.tags.unwrap_or_default())?;
        let start = input.target_start.unwrap_or_else(Utc::now);
        let mut conn = cx.conn().await?;
        // Test types are global: a Writer of one product picks an existing
        // one; only superusers add to the list every tenant sees.
        let test_type_name = input.test_type.trim();
        let test_type = if cx.is_superuser() {
            model::TestType::find_or_create(&mut conn, test_type_name, false).await?
        } else {
            model::TestType::by_name(&mut conn, test_type_name)
                .await?
                .ok_or_else(|| {
                    ApiError::invalid(
                        "testType",
                        format!(
                            "no test type is named `{test_type_name}` (superusers add test types)"
                        ),
                    )
                })?
        };
        let row = model::Test::create(
            &mut conn,
            &NewTest {
                engagement_id,
                product_id: engagement.product_id,
                test_type_id: test_type.id,
                scan_type: None,
                title: input.title.as_deref(),
                description: input.description.as_deref(),
                target_start: start,
                target_end: input.target_end.unwrap_or(start),
                percent_complete: input.percent_complete,
                environment_id: None,
                version: input.version.as_deref(),
                build_id: input.build_id.as_deref(),
                commit_hash: input.commit_hash.as_deref(),
                branch_tag: input.branch_tag.as_deref(),
                tags,
            },
        )
        .await
        .map_err(domain::DomainError::from)?;
        Ok(TestPayload { test: Test(row) })
    }

    /// Changes a test.
    async fn update_test(
        &self,
        ctx: &Context<'_>,
        input: UpdateTestInput,
    ) -> ApiResult<TestPayload> {
        let cx = Cx::of(ctx)?;
        let existing: model::Test = cx.readable(&input.id).await?;
        let id = existing.id;
        cx.require_product(Permission::Test_Edit, existing.product_id)
            .await?;
        rules::validate_test(input.title.as_deref(), input.percent_complete)?;
        let changes = TestChanges {
            title: input.title.map(Some),
            description: input.description.map(Some),
            target_start: input.target_start,
            target_end: input.target_end,
            percent_complete: input.percent_complete.map(Some),
            version: input.version.map(Some),
            build_id: input.build_id.map(Some),
            commit_hash: input.commit_hash.map(Some),
            branch_tag: input.branch_tag.map(Some),
            tags: opt_tags(input.tags)?,
        };
        let mut conn = cx.conn().await?;
        let row = model::Test::update(&mut conn, id, &changes)
            .await
            .map_err(domain::DomainError::from)?
            .ok_or_else(|| ApiError::NotFound(format!("Test {}", input.id.0)))?;
        Ok(TestPayload { test: Test(row) })
    }

    /// Deletes a test with its findings.
    async fn delete_test(&self, ctx: &Context<'_>, input: DeleteInput) -> ApiResult<DeletePayload> {
        let cx = Cx::of(ctx)?;
        let existing: model::Test = cx.readable(&input.id).await?;
        let id = existing.id;
        cx.require_product(Permission::Test_Delete, existing.product_id)
            .await?;
        let mut conn = cx.conn().await?;
        if !model::Test::delete(&mut conn, id).await? {
            return Err(ApiError::NotFound(format!("Test {}", input.id.0)));
        }
        Ok(DeletePayload {
            deleted_id: input.id,
        })
    }
}
