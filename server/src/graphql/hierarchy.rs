//! Product types, products, engagements and tests over GraphQL.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};

use diesel::QueryResult;
use diesel_async::AsyncPgConnection;

use super::connection::{PageArgs, Paged, connection, encode_cursor, paged};
use super::context::{Cx, Readable};
use super::error::{ApiError, ApiResult};
use super::finding::{FindingConnection, FindingFilterInput, FindingOrder, findings_connection};
use super::ids::{self, Kind};
use super::loaders::load_err;
use super::note::Note;
use super::payload::{DeleteInput, DeletePayload};
use crate::authz::{Object as AuthzObject, Permission};
use crate::db::models::hierarchy::{
    self as model, ChildKind, EngagementChanges, HierarchyFilter, NewEngagement, NewProduct,
    NewProductType, NewTest, ProductChanges, ProductTypeChanges, TestChanges,
};
use crate::db::models::note::NoteParent;
use crate::db::models::{PageQuery, SortKey};
use crate::domain::{self, hierarchy as rules, normalize_tags};

/// A product type: a business unit or team that owns products.
#[derive(Clone)]
pub struct ProductType(pub model::ProductType);

/// A product: an application or service under test.
#[derive(Clone)]
pub struct Product(pub model::Product);

/// An engagement: a period of testing of one product (a CI/CD pipeline or a pentest).
#[derive(Clone)]
pub struct Engagement(pub model::Engagement);

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

connection!(ProductTypeConnection, ProductTypeEdge, ProductType);
connection!(ProductConnection, ProductEdge, Product);
connection!(EngagementConnection, EngagementEdge, Engagement);
connection!(TestConnection, TestEdge, Test);

impl Readable for model::ProductType {
    const KIND: Kind = Kind::ProductType;
    async fn load(cx: &Cx<'_>, id: i64) -> ApiResult<Option<Self>> {
        cx.loaders()
            .product_types
            .load_one(id)
            .await
            .map_err(load_err)
    }
    async fn may_read(&self, cx: &Cx<'_>) -> ApiResult<bool> {
        Ok(cx.can_read_product_type(self.id))
    }
}

impl Readable for model::Product {
    const KIND: Kind = Kind::Product;
    async fn load(cx: &Cx<'_>, id: i64) -> ApiResult<Option<Self>> {
        cx.loaders().products.load_one(id).await.map_err(load_err)
    }
    async fn may_read(&self, cx: &Cx<'_>) -> ApiResult<bool> {
        Ok(cx.can_read_product(self.id))
    }
}

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

impl Readable for model::Test {
    const KIND: Kind = Kind::Test;
    async fn load(cx: &Cx<'_>, id: i64) -> ApiResult<Option<Self>> {
        cx.loaders().tests.load_one(id).await.map_err(load_err)
    }
    async fn may_read(&self, cx: &Cx<'_>) -> ApiResult<bool> {
        Ok(cx.can_read_product(self.product_id))
    }
}

async fn child_count(cx: &Cx<'_>, kind: ChildKind, id: i64) -> ApiResult<i64> {
    Ok(cx
        .loaders()
        .child_counts
        .load_one((kind, id))
        .await
        .map_err(load_err)?
        .unwrap_or(0))
}

#[Object]
impl ProductType {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::ProductType, self.0.id)
    }
    /// Unique name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Description.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// Holds critical products.
    async fn critical_product(&self) -> bool {
        self.0.critical_product
    }
    /// Holds key products.
    async fn key_product(&self) -> bool {
        self.0.key_product
    }
    /// Created at.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Last changed at.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Users holding roles on this product type (empty unless the caller may
    /// read the type itself).
    #[graphql(complexity = "super::LIST_WEIGHT * child_complexity")]
    async fn members(&self, ctx: &Context<'_>) -> ApiResult<Vec<super::members::Member>> {
        let cx = Cx::of(ctx)?;
        super::members::product_type_members(&cx, self.0.id).await
    }
    /// Groups holding roles on this product type (needs read access to the
    /// type and `Product_Type_Group_View`).
    #[graphql(complexity = "super::LIST_WEIGHT * child_complexity")]
    async fn group_roles(&self, ctx: &Context<'_>) -> ApiResult<Vec<super::members::GroupRole>> {
        let cx = Cx::of(ctx)?;
        super::members::product_type_groups(&cx, self.0.id).await
    }
    /// Number of products of this type the caller may read.
    async fn product_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        let cx = Cx::of(ctx)?;
        // A role on the type reads all of its products; a reader of one
        // product reaches the type without learning how many others it holds.
        let product_ids = cx.readable_products();
        if product_ids.is_none() || cx.can_read_product_type(self.0.id) {
            return child_count(&cx, ChildKind::ProductsOfType, self.0.id).await;
        }
        let filter = HierarchyFilter {
            product_ids,
            parent_id: Some(self.0.id),
            ..Default::default()
        };
        let mut conn = cx.conn().await?;
        Ok(model::Product::count(&mut conn, &filter).await?)
    }
    /// The products of this type.
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(1) as usize * child_complexity")]
    async fn products(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<ProductConnection> {
        let cx = Cx::of(ctx)?;
        let filter = HierarchyFilter {
            product_ids: cx.readable_products(),
            parent_id: Some(self.0.id),
            ..Default::default()
        };
        products_connection(
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
}

#[Object]
impl Product {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Product, self.0.id)
    }
    /// Unique name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Description.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// very high, high, medium, low, very low or none.
    async fn business_criticality(&self) -> Option<&str> {
        self.0.business_criticality.as_deref()
    }
    /// web service, desktop, iot, mobile or web.
    async fn platform(&self) -> Option<&str> {
        self.0.platform.as_deref()
    }
    /// construction, production or retirement.
    async fn lifecycle(&self) -> Option<&str> {
        self.0.lifecycle.as_deref()
    }
    /// Where the product comes from.
    async fn origin(&self) -> Option<&str> {
        self.0.origin.as_deref()
    }
    /// Number of user records held.
    async fn user_records(&self) -> Option<i32> {
        self.0.user_records
    }
    /// Used by people outside the organisation.
    async fn external_audience(&self) -> bool {
        self.0.external_audience
    }
    /// Reachable from the internet.
    async fn internet_accessible(&self) -> bool {
        self.0.internet_accessible
    }
    /// Tags.
    async fn tags(&self) -> &[String] {
        &self.0.tags
    }
    /// Whether findings may be accepted without a risk acceptance object.
    async fn enable_simple_risk_acceptance(&self) -> bool {
        self.0.enable_simple_risk_acceptance
    }
    /// Whether full risk acceptances are used.
    async fn enable_full_risk_acceptance(&self) -> bool {
        self.0.enable_full_risk_acceptance
    }
    /// Created at.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Last changed at.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The product type this product belongs to.
    async fn product_type(&self, ctx: &Context<'_>) -> ApiResult<ProductType> {
        // Readers of a product see which type it belongs to even without a
        // role on the type (whose product list stays hidden from them).
        let cx = Cx::of(ctx)?;
        cx.loaders()
            .product_types
            .load_one(self.0.product_type_id)
            .await
            .map_err(load_err)?
            .map(ProductType)
            .ok_or_else(|| ApiError::NotFound("ProductType".to_owned()))
    }
    /// Number of engagements.
    async fn engagement_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        let cx = Cx::of(ctx)?;
        child_count(&cx, ChildKind::EngagementsOfProduct, self.0.id).await
    }
    /// Users holding roles on this product itself (roles on its product type
    /// apply too; see the product type's members).
    #[graphql(complexity = "super::LIST_WEIGHT * child_complexity")]
    async fn members(&self, ctx: &Context<'_>) -> ApiResult<Vec<super::members::Member>> {
        let cx = Cx::of(ctx)?;
        super::members::product_members(&cx, self.0.id).await
    }
    /// Groups holding roles on this product (needs `Product_Group_View`).
    #[graphql(complexity = "super::LIST_WEIGHT * child_complexity")]
    async fn group_roles(&self, ctx: &Context<'_>) -> ApiResult<Vec<super::members::GroupRole>> {
        let cx = Cx::of(ctx)?;
        super::members::product_groups(&cx, self.0.id).await
    }
    /// The product's engagements.
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(1) as usize * child_complexity")]
    async fn engagements(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<EngagementConnection> {
        let cx = Cx::of(ctx)?;
        let filter = HierarchyFilter {
            product_ids: cx.readable_products(),
            parent_id: Some(self.0.id),
            ..Default::default()
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
    /// The product's findings.
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
        let cx = Cx::of(ctx)?;
        let mut f = filter.unwrap_or_default();
        f.product_ids = Some(vec![ids::encode(Kind::Product, self.0.id)]);
        findings_connection(
            ctx,
            &cx,
            f,
            order_by,
            PageArgs {
                after,
                before,
                first,
                last,
            },
        )
        .await
    }
}

#[Object]
impl Engagement {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Engagement, self.0.id)
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
    #[graphql(complexity = "super::LIST_WEIGHT * child_complexity")]
    async fn notes(&self, ctx: &Context<'_>) -> ApiResult<Vec<Note>> {
        let cx = Cx::of(ctx)?;
        super::note::notes_of(&cx, NoteParent::Engagement(self.0.id)).await
    }
}

#[Object]
impl Test {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Test, self.0.id)
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
        cx.readable_id(self.0.engagement_id)
            .await
            .map(Engagement)
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
        let cx = Cx::of(ctx)?;
        let mut f = filter.unwrap_or_default();
        f.test_ids = Some(vec![ids::encode(Kind::Test, self.0.id)]);
        findings_connection(
            ctx,
            &cx,
            f,
            order_by,
            PageArgs {
                after,
                before,
                first,
                last,
            },
        )
        .await
    }
    /// The test's import history, newest first.
    #[graphql(complexity = "super::LIST_WEIGHT * child_complexity")]
    async fn test_imports(&self, ctx: &Context<'_>) -> ApiResult<Vec<super::import::TestImport>> {
        let cx = Cx::of(ctx)?;
        super::import::test_imports_of(&cx, self.0.id).await
    }
    /// Notes.
    #[graphql(complexity = "super::LIST_WEIGHT * child_complexity")]
    async fn notes(&self, ctx: &Context<'_>) -> ApiResult<Vec<Note>> {
        let cx = Cx::of(ctx)?;
        super::note::notes_of(&cx, NoteParent::Test(self.0.id)).await
    }
}

/// Products, engagements or tests matching a filter, oldest first.
pub struct Listing<R> {
    filter: HierarchyFilter,
    rows: std::marker::PhantomData<fn() -> R>,
}

impl<R> Clone for Listing<R> {
    fn clone(&self) -> Self {
        Listing::new(self.filter.clone())
    }
}

impl<R> Listing<R> {
    /// The rows matching `filter`.
    pub fn new(filter: HierarchyFilter) -> Self {
        Listing {
            filter,
            rows: std::marker::PhantomData,
        }
    }
}

macro_rules! paged_by_filter {
    ($row:ty) => {
        impl Paged for Listing<$row> {
            type Row = $row;
            async fn page(
                &self,
                conn: &mut AsyncPgConnection,
                page: &PageQuery,
            ) -> QueryResult<Vec<$row>> {
                <$row>::page(conn, &self.filter, page).await
            }
            async fn count(&self, conn: &mut AsyncPgConnection) -> QueryResult<i64> {
                <$row>::count(conn, &self.filter).await
            }
            fn cursor(&self, row: &$row) -> String {
                encode_cursor(&SortKey::None, row.id)
            }
        }
    };
}

paged_by_filter!(model::Product);
paged_by_filter!(model::Engagement);
paged_by_filter!(model::Test);

/// Product types matching a filter among those the caller may read.
#[derive(Clone)]
struct ProductTypeListing {
    filter: HierarchyFilter,
    readable: Option<Vec<i64>>,
}

impl Paged for ProductTypeListing {
    type Row = model::ProductType;
    async fn page(
        &self,
        conn: &mut AsyncPgConnection,
        page: &PageQuery,
    ) -> QueryResult<Vec<model::ProductType>> {
        model::ProductType::page(conn, &self.filter, self.readable.as_deref(), page).await
    }
    async fn count(&self, conn: &mut AsyncPgConnection) -> QueryResult<i64> {
        model::ProductType::count(conn, &self.filter, self.readable.as_deref()).await
    }
    fn cursor(&self, row: &model::ProductType) -> String {
        encode_cursor(&SortKey::None, row.id)
    }
}

/// Products matching `filter`.
pub async fn products_connection(
    ctx: &Context<'_>,
    cx: &Cx<'_>,
    filter: HierarchyFilter,
    args: PageArgs,
) -> ApiResult<ProductConnection> {
    let page = paged(ctx, cx, Listing::<model::Product>::new(filter), args).await?;
    Ok(ProductConnection::from_page(page, Product))
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

/// Hierarchy queries.
#[derive(Default)]
pub struct HierarchyQuery;

#[Object]
impl HierarchyQuery {
    /// Product types, oldest first.
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(1) as usize * child_complexity")]
    async fn product_types(
        &self,
        ctx: &Context<'_>,
        name_contains: Option<String>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<ProductTypeConnection> {
        let cx = Cx::of(ctx)?;
        let list = ProductTypeListing {
            filter: HierarchyFilter {
                name_contains,
                ..Default::default()
            },
            readable: cx.readable_product_types().map(<[i64]>::to_vec),
        };
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        let page = paged(ctx, &cx, list, args).await?;
        Ok(ProductTypeConnection::from_page(page, ProductType))
    }

    /// One product type.
    async fn product_type(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ProductType> {
        let cx = Cx::of(ctx)?;
        cx.readable(&id).await.map(ProductType)
    }

    /// Products, oldest first.
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(1) as usize * child_complexity")]
    #[expect(
        clippy::too_many_arguments,
        reason = "GraphQL arguments: a filter, an order and the four connection arguments"
    )]
    async fn products(
        &self,
        ctx: &Context<'_>,
        product_type: Option<ID>,
        name_contains: Option<String>,
        tags: Option<Vec<String>>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<ProductConnection> {
        let cx = Cx::of(ctx)?;
        let filter = HierarchyFilter {
            product_ids: cx.readable_products(),
            parent_id: product_type
                .as_ref()
                .map(|i| ids::decode(i, Kind::ProductType))
                .transpose()?,
            name_contains,
            tags: normalize_tags(&tags.unwrap_or_default())?,
        };
        products_connection(
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

    /// One product.
    async fn product(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Product> {
        let cx = Cx::of(ctx)?;
        cx.readable(&id).await.map(Product)
    }

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

// ---------------------------------------------------------------- mutations

/// Input of `createProductType`.
#[derive(InputObject)]
pub struct CreateProductTypeInput {
    /// Unique name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Holds critical products.
    pub critical_product: Option<bool>,
    /// Holds key products.
    pub key_product: Option<bool>,
}

/// Input of `updateProductType`; omitted fields keep their value.
#[derive(InputObject)]
pub struct UpdateProductTypeInput {
    /// The product type.
    pub id: ID,
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New flag.
    pub critical_product: Option<bool>,
    /// New flag.
    pub key_product: Option<bool>,
}

/// Result of a product type mutation.
#[derive(SimpleObject)]
pub struct ProductTypePayload {
    /// The product type as it is now.
    pub product_type: ProductType,
}

/// Input of `createProduct`.
#[derive(InputObject)]
pub struct CreateProductInput {
    /// Unique name.
    pub name: String,
    /// Description (required).
    pub description: String,
    /// The product type.
    pub product_type: ID,
    /// very high, high, medium, low, very low or none.
    pub business_criticality: Option<String>,
    /// web service, desktop, iot, mobile or web.
    pub platform: Option<String>,
    /// construction, production or retirement.
    pub lifecycle: Option<String>,
    /// third party library, purchased, contractor, internal, open source or outsourced.
    pub origin: Option<String>,
    /// Number of user records held.
    pub user_records: Option<i32>,
    /// Used by outsiders.
    pub external_audience: Option<bool>,
    /// Reachable from the internet.
    pub internet_accessible: Option<bool>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// Allow accepting risks without an acceptance object.
    pub enable_simple_risk_acceptance: Option<bool>,
    /// Use full risk acceptances.
    pub enable_full_risk_acceptance: Option<bool>,
}

/// Input of `updateProduct`.
#[derive(InputObject)]
pub struct UpdateProductInput {
    /// The product.
    pub id: ID,
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New criticality.
    pub business_criticality: Option<String>,
    /// New platform.
    pub platform: Option<String>,
    /// New lifecycle.
    pub lifecycle: Option<String>,
    /// New origin.
    pub origin: Option<String>,
    /// New count.
    pub user_records: Option<i32>,
    /// New flag.
    pub external_audience: Option<bool>,
    /// New flag.
    pub internet_accessible: Option<bool>,
    /// New tags (replacing).
    pub tags: Option<Vec<String>>,
    /// New flag.
    pub enable_simple_risk_acceptance: Option<bool>,
    /// New flag.
    pub enable_full_risk_acceptance: Option<bool>,
}

/// Result of a product mutation.
#[derive(SimpleObject)]
pub struct ProductPayload {
    /// The product as it is now.
    pub product: Product,
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

fn opt_tags(tags: Option<Vec<String>>) -> ApiResult<Option<Vec<String>>> {
    Ok(match tags {
        Some(t) => Some(normalize_tags(&t)?),
        None => None,
    })
}

/// Hierarchy mutations.
#[derive(Default)]
pub struct HierarchyMutation;

#[Object]
impl HierarchyMutation {
    /// Creates a product type.
    async fn create_product_type(
        &self,
        ctx: &Context<'_>,
        input: CreateProductTypeInput,
    ) -> ApiResult<ProductTypePayload> {
        let cx = Cx::of(ctx)?;
        cx.require(Permission::Product_Type_Add, AuthzObject::Global)?;
        rules::validate_product_type(Some(&input.name), input.description.as_deref())?;
        let mut conn = cx.conn().await?;
        let row = model::ProductType::create(
            &mut conn,
            &NewProductType {
                name: input.name.trim(),
                description: input.description.as_deref().unwrap_or(""),
                critical_product: input.critical_product.unwrap_or(false),
                key_product: input.key_product.unwrap_or(false),
            },
        )
        .await
        .map_err(domain::DomainError::from)?;
        Ok(ProductTypePayload {
            product_type: ProductType(row),
        })
    }

    /// Changes a product type.
    async fn update_product_type(
        &self,
        ctx: &Context<'_>,
        input: UpdateProductTypeInput,
    ) -> ApiResult<ProductTypePayload> {
        let cx = Cx::of(ctx)?;
        let id = cx.readable::<model::ProductType>(&input.id).await?.id;
        cx.require(Permission::Product_Type_Edit, AuthzObject::ProductType(id))?;
        rules::validate_product_type(input.name.as_deref(), input.description.as_deref())?;
        let mut conn = cx.conn().await?;
        let changes = ProductTypeChanges {
            name: input.name.map(|n| n.trim().to_owned()),
            description: input.description,
            critical_product: input.critical_product,
            key_product: input.key_product,
        };
        let row = model::ProductType::update(&mut conn, id, &changes)
            .await
            .map_err(domain::DomainError::from)?
            .ok_or_else(|| ApiError::NotFound(format!("ProductType {}", input.id.0)))?;
        Ok(ProductTypePayload {
            product_type: ProductType(row),
        })
    }

    /// Deletes a product type with all its products, engagements, tests and findings.
    async fn delete_product_type(
        &self,
        ctx: &Context<'_>,
        input: DeleteInput,
    ) -> ApiResult<DeletePayload> {
        let cx = Cx::of(ctx)?;
        let id = cx.readable::<model::ProductType>(&input.id).await?.id;
        cx.require(
            Permission::Product_Type_Delete,
            AuthzObject::ProductType(id),
        )?;
        let mut conn = cx.conn().await?;
        if !model::ProductType::delete(&mut conn, id).await? {
            return Err(ApiError::NotFound(format!("ProductType {}", input.id.0)));
        }
        Ok(DeletePayload {
            deleted_id: input.id,
        })
    }

    /// Creates a product.
    async fn create_product(
        &self,
        ctx: &Context<'_>,
        input: CreateProductInput,
    ) -> ApiResult<ProductPayload> {
        let cx = Cx::of(ctx)?;
        let type_id = cx.readable::<model::ProductType>(&input.product_type).await?.id;
        cx.require(
            Permission::Product_Type_Add_Product,
            AuthzObject::ProductType(type_id),
        )?;
        rules::validate_product(
            Some(&input.name),
            Some(&input.description),
            input.business_criticality.as_deref(),
            input.platform.as_deref(),
            input.lifecycle.as_deref(),
            input.origin.as_deref(),
        )?;
        let tags = normalize_tags(&input.tags.unwrap_or_default())?;
        let mut conn = cx.conn().await?;
        let row = model::Product::create(
            &mut conn,
            &NewProduct {
                name: input.name.trim(),
                description: &input.description,
                product_type_id: type_id,
                sla_configuration_id: 1,
                business_criticality: input.business_criticality.as_deref(),
                platform: input.platform.as_deref(),
                lifecycle: input.lifecycle.as_deref(),
                origin: input.origin.as_deref(),
                user_records: input.user_records,
                external_audience: input.external_audience.unwrap_or(false),
                internet_accessible: input.internet_accessible.unwrap_or(false),
                tags,
                enable_simple_risk_acceptance: input.enable_simple_risk_acceptance.unwrap_or(false),
                enable_full_risk_acceptance: input.enable_full_risk_acceptance.unwrap_or(true),
            },
        )
        .await
        .map_err(domain::DomainError::from)?;
        // Product-type roles extend to the new product: this process sees it
        // at once, others on the trigger's notification.
        cx.reload_policy().await?;
        Ok(ProductPayload {
            product: Product(row),
        })
    }

    /// Changes a product.
    async fn update_product(
        &self,
        ctx: &Context<'_>,
        input: UpdateProductInput,
    ) -> ApiResult<ProductPayload> {
        let cx = Cx::of(ctx)?;
        let id = cx.readable::<model::Product>(&input.id).await?.id;
        cx.require_product(Permission::Product_Edit, id).await?;
        rules::validate_product(
            input.name.as_deref(),
            input.description.as_deref(),
            input.business_criticality.as_deref(),
            input.platform.as_deref(),
            input.lifecycle.as_deref(),
            input.origin.as_deref(),
        )?;
        let changes = ProductChanges {
            name: input.name.map(|n| n.trim().to_owned()),
            description: input.description,
            sla_configuration_id: None,
            business_criticality: input.business_criticality.map(Some),
            platform: input.platform.map(Some),
            lifecycle: input.lifecycle.map(Some),
            origin: input.origin.map(Some),
            user_records: input.user_records.map(Some),
            external_audience: input.external_audience,
            internet_accessible: input.internet_accessible,
            tags: opt_tags(input.tags)?,
            enable_simple_risk_acceptance: input.enable_simple_risk_acceptance,
            enable_full_risk_acceptance: input.enable_full_risk_acceptance,
        };
        let mut conn = cx.conn().await?;
        let row = model::Product::update(&mut conn, id, &changes)
            .await
            .map_err(domain::DomainError::from)?
            .ok_or_else(|| ApiError::NotFound(format!("Product {}", input.id.0)))?;
        Ok(ProductPayload {
            product: Product(row),
        })
    }

    /// Deletes a product with its engagements, tests and findings.
    async fn delete_product(
        &self,
        ctx: &Context<'_>,
        input: DeleteInput,
    ) -> ApiResult<DeletePayload> {
        let cx = Cx::of(ctx)?;
        let id = cx.readable::<model::Product>(&input.id).await?.id;
        cx.require_product(Permission::Product_Delete, id).await?;
        let mut conn = cx.conn().await?;
        if !model::Product::delete(&mut conn, id).await? {
            return Err(ApiError::NotFound(format!("Product {}", input.id.0)));
        }
        Ok(DeletePayload {
            deleted_id: input.id,
        })
    }

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
