//! Products: the applications and services under test.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    EngagementConnection, Listing, ProductType, child_count, engagements_connection, opt_tags,
};
use crate::authz::{Object as AuthzObject, Permission};
use crate::db::models::hierarchy::{
    self as model, ChildKind, HierarchyFilter, NewProduct, ProductChanges,
};
use crate::domain::{self, hierarchy as rules, normalize_tags};
use crate::graphql::connection::{PageArgs, connection, paged};
use crate::graphql::context::{Cx, Readable};
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::finding::{
    FindingConnection, FindingFilterInput, FindingOrder, scoped_findings,
};
use crate::graphql::ids::{self, Kind};
use crate::graphql::loaders::load_err;
use crate::graphql::payload::{DeleteInput, DeletePayload};

/// A product: an application or service under test.
#[derive(Clone)]
pub struct Product(pub model::Product);

connection!(ProductConnection, ProductEdge, Product);

impl Readable for model::Product {
    const KIND: Kind = Kind::Product;
    async fn load(cx: &Cx<'_>, id: i64) -> ApiResult<Option<Self>> {
        cx.loaders().products.load_one(id).await.map_err(load_err)
    }
    async fn may_read(&self, cx: &Cx<'_>) -> ApiResult<bool> {
        Ok(cx.can_read_product(self.id))
    }
}

#[Object]
impl Product {
    /// Who changed what and when, newest first: the permanent audit trail.
    #[graphql(complexity = "first.unwrap_or(20).max(1) as usize * child_complexity")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        filter: Option<crate::graphql::history::HistoryFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<crate::graphql::history::HistoryConnection> {
        crate::graphql::history::history_of(ctx, Kind::Product, self.0.id, filter, first, after)
            .await
    }
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Product, self.0.id)
    }
    /// Custom field values, by field name.
    async fn custom_fields(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<crate::graphql::custom_field::CustomFieldValue>> {
        let cx = Cx::of(ctx)?;
        crate::graphql::custom_field::values_of(&cx, &self.0.custom_fields).await
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
    #[graphql(complexity = "crate::graphql::LIST_WEIGHT * child_complexity")]
    async fn members(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<crate::graphql::membership::Member>> {
        let cx = Cx::of(ctx)?;
        crate::graphql::membership::product_members(&cx, self.0.id).await
    }
    /// Groups holding roles on this product (needs `Product_Group_View`).
    #[graphql(complexity = "crate::graphql::LIST_WEIGHT * child_complexity")]
    async fn group_roles(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<crate::graphql::membership::GroupRole>> {
        let cx = Cx::of(ctx)?;
        crate::graphql::membership::product_groups(&cx, self.0.id).await
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
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        scoped_findings(ctx, filter, order_by, args, |f| {
            f.product_ids = Some(vec![ids::encode(Kind::Product, self.0.id)]);
        })
        .await
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

/// Product queries.
#[derive(Default)]
pub struct ProductQuery;

#[Object]
impl ProductQuery {
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

/// Product mutations.
#[derive(Default)]
pub struct ProductMutation;

#[Object]
impl ProductMutation {
    /// Creates a product.
    async fn create_product(
        &self,
        ctx: &Context<'_>,
        input: CreateProductInput,
    ) -> ApiResult<ProductPayload> {
        let cx = Cx::of(ctx)?;
        let type_id = cx
            .readable::<model::ProductType>(&input.product_type)
            .await?
            .id;
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
}
