//! Product types, products, engagements and tests over GraphQL: one file
//! per entity (its type, queries and mutations), merged here, plus what
//! they share (child counts, filtered listings, tag inputs).

pub mod engagement;
pub mod product;
pub mod product_type;
pub mod test;

use async_graphql::MergedObject;
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;

pub use engagement::{Engagement, EngagementConnection, engagements_connection};
pub use product::{Product, ProductConnection, products_connection};
pub use product_type::{ProductType, ProductTypeConnection};
pub use test::{Test, TestConnection, TestType, tests_connection};

use super::connection::{Paged, encode_cursor};
use super::context::Cx;
use super::error::ApiResult;
use super::loaders::load_err;
use crate::db::models::hierarchy::{self as model, ChildKind, HierarchyFilter};
use crate::db::models::{PageQuery, SortKey};
use crate::domain::normalize_tags;

/// Hierarchy queries, one object per entity.
#[derive(MergedObject, Default)]
pub struct HierarchyQuery(
    product_type::ProductTypeQuery,
    product::ProductQuery,
    engagement::EngagementQuery,
    test::TestQuery,
);

/// Hierarchy mutations, one object per entity.
#[derive(MergedObject, Default)]
pub struct HierarchyMutation(
    product_type::ProductTypeMutation,
    product::ProductMutation,
    engagement::EngagementMutation,
    test::TestMutation,
);

pub(crate) async fn child_count(cx: &Cx<'_>, kind: ChildKind, id: i64) -> ApiResult<i64> {
    Ok(cx
        .loaders()
        .child_counts
        .load_one((kind, id))
        .await
        .map_err(load_err)?
        .unwrap_or(0))
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

pub(crate) fn opt_tags(tags: Option<Vec<String>>) -> ApiResult<Option<Vec<String>>> {
    Ok(match tags {
        Some(t) => Some(normalize_tags(&t)?),
        None => None,
    })
}
