//! What every resolver starts from: the request's database handle, loaders
//! and subject. Resolvers take it with `Cx::of(ctx)?` on their first line;
//! access control plugs into [`Cx::readable_products`] and [`Cx::require`].

use async_graphql::Context;

use super::error::{ApiError, ApiResult};
use super::loaders::Loaders;
use crate::db::{Db, DbConn};

/// Per-request state.
pub struct RequestContext {
    /// The database.
    pub db: Db,
    /// Per-request loaders (their caches never outlive the request).
    pub loaders: Loaders,
    /// The acting user, when known.
    pub actor_id: Option<i64>,
}

/// Borrowed request state.
pub struct Cx<'a> {
    inner: &'a RequestContext,
}

impl<'a> Cx<'a> {
    /// The request state of a resolver.
    pub fn of(ctx: &'a Context<'_>) -> ApiResult<Cx<'a>> {
        ctx.data::<RequestContext>()
            .map(|inner| Cx { inner })
            .map_err(|_| ApiError::Internal("request context missing".to_owned()))
    }

    /// A pooled connection.
    pub async fn conn(&self) -> ApiResult<DbConn> {
        Ok(self.inner.db.conn().await?)
    }

    /// The database handle.
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The loaders.
    pub fn loaders(&self) -> &'a Loaders {
        &self.inner.loaders
    }

    /// The acting user.
    pub fn actor_id(&self) -> Option<i64> {
        self.inner.actor_id
    }

    /// Products the subject may read; `None` means all of them. Every list
    /// query filters by this in SQL.
    pub fn readable_products(&self) -> Option<Vec<i64>> {
        None
    }

    /// Whether the subject may read objects of `product_id`; an unreadable
    /// object answers NOT_FOUND exactly as a missing one.
    pub fn can_read_product(&self, product_id: i64) -> bool {
        self.readable_products()
            .is_none_or(|ids| ids.contains(&product_id))
    }
}
