//! Product types: a business unit or team that owns products.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;

use super::{ProductConnection, child_count, products_connection};
use crate::authz::{Object as AuthzObject, Permission};
use crate::db::models::hierarchy::{
    self as model, ChildKind, HierarchyFilter, NewProductType, ProductTypeChanges,
};
use crate::db::models::{PageQuery, SortKey};
use crate::domain::{self, hierarchy as rules};
use crate::graphql::connection::{PageArgs, Paged, connection, encode_cursor, paged};
use crate::graphql::context::{Cx, Readable};
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::ids::{self, Kind};
use crate::graphql::loaders::load_err;
use crate::graphql::payload::{DeleteInput, DeletePayload};

/// A product type: a business unit or team that owns products.
#[derive(Clone)]
pub struct ProductType(pub model::ProductType);

connection!(ProductTypeConnection, ProductTypeEdge, ProductType);

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

#[Object]
impl ProductType {
    /// Who changed what and when, newest first: the permanent audit trail.
    #[graphql(complexity = "first.unwrap_or(20).max(1) as usize * child_complexity")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        filter: Option<crate::graphql::history::HistoryFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<crate::graphql::history::HistoryConnection> {
        crate::graphql::history::history_of(ctx, Kind::ProductType, self.0.id, filter, first, after)
            .await
    }
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
    #[graphql(complexity = "crate::graphql::LIST_WEIGHT * child_complexity")]
    async fn members(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<crate::graphql::membership::Member>> {
        let cx = Cx::of(ctx)?;
        crate::graphql::membership::product_type_members(&cx, self.0.id).await
    }
    /// Groups holding roles on this product type (needs read access to the
    /// type and `Product_Type_Group_View`).
    #[graphql(complexity = "crate::graphql::LIST_WEIGHT * child_complexity")]
    async fn group_roles(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<crate::graphql::membership::GroupRole>> {
        let cx = Cx::of(ctx)?;
        crate::graphql::membership::product_type_groups(&cx, self.0.id).await
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

/// ProductType queries.
#[derive(Default)]
pub struct ProductTypeQuery;

#[Object]
impl ProductTypeQuery {
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
}

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

/// ProductType mutations.
#[derive(Default)]
pub struct ProductTypeMutation;

#[Object]
impl ProductTypeMutation {
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
}
