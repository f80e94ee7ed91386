//! What every resolver starts from: the request's database handle, loaders,
//! the authenticated principal and access control.
//!
//! Resolvers take it with `Cx::of(ctx)?` on their first line, which answers
//! `UNAUTHENTICATED` when the request carries no valid credentials; only
//! sign-in uses [`Cx::anonymous`]. Reads go through
//! [`Cx::readable_products`] (lists filter in SQL) and [`Cx::readable`]
//! (single objects answer NOT_FOUND); writes call one of the `require_*`
//! helpers (FORBIDDEN). A mutation therefore reads: decode the id and load
//! the object with `cx.readable`, `cx.require…`, call the domain, wrap the
//! result in its payload.

use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};

use async_graphql::{Context, ID};

use super::error::{ApiError, ApiResult};
use super::ids::{self, Kind};
use super::loaders::{Loaders, load_err};
use crate::auth::Principal;
use crate::authz::{Authz, Object, Permission, ReadableProducts, Subject};
use crate::db::{Db, DbConn};

/// Per-request state.
pub struct RequestContext {
    /// The database.
    pub db: Db,
    /// Per-request loaders (their caches never outlive the request).
    pub loaders: Loaders,
    /// Who is asking, when the request carried valid credentials.
    pub principal: Option<Principal>,
    /// The access-control policy.
    pub authz: Authz,
    /// The client's address (sign-in rate limiting).
    pub client_addr: Option<IpAddr>,
    /// Readable products with the policy generation they were computed
    /// for: a subscription's context lives long, and a membership removed
    /// meanwhile must take effect on its next event.
    readable: Mutex<Option<(u64, Arc<ReadableProducts>)>>,
    readable_types: OnceLock<ReadableProducts>,
}

impl RequestContext {
    /// State for one request (or one WebSocket operation).
    pub fn new(
        db: Db,
        loaders: Loaders,
        authz: Authz,
        principal: Option<Principal>,
        client_addr: Option<IpAddr>,
    ) -> RequestContext {
        RequestContext {
            db,
            loaders,
            principal,
            authz,
            client_addr,
            readable: Mutex::new(None),
            readable_types: OnceLock::new(),
        }
    }
}

/// An object a single-object read may return: loaded through the
/// request's loaders, and answering NOT_FOUND, exactly like a missing one,
/// when the caller may not read it.
pub trait Readable: Sized + Send {
    /// The kind of its global id.
    const KIND: Kind;

    /// The object with this id, if it exists.
    fn load(cx: &Cx<'_>, id: i64) -> impl Future<Output = ApiResult<Option<Self>>> + Send;

    /// Whether the caller may read it.
    fn may_read(&self, cx: &Cx<'_>) -> impl Future<Output = ApiResult<bool>> + Send;
}

/// Borrowed request state of an authenticated request.
pub struct Cx<'a> {
    inner: &'a RequestContext,
    principal: &'a Principal,
    /// The operation is a mutation: its connections carry the caller as the
    /// acting user of the audit trail.
    mutation: bool,
}

/// Borrowed request state that may lack a principal (sign-in only).
pub struct AnonymousCx<'a> {
    /// The request state.
    pub inner: &'a RequestContext,
}

fn request_context<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a RequestContext> {
    ctx.data::<RequestContext>()
        .map_err(|_| ApiError::Internal("request context missing".to_owned()))
}

impl<'a> Cx<'a> {
    /// The request state of a resolver; `UNAUTHENTICATED` without credentials.
    pub fn of(ctx: &'a Context<'_>) -> ApiResult<Cx<'a>> {
        let inner = request_context(ctx)?;
        let principal = inner.principal.as_ref().ok_or(ApiError::Unauthenticated)?;
        let mutation = ctx.query_env.operation.node.ty
            == async_graphql::parser::types::OperationType::Mutation;
        Ok(Cx {
            inner,
            principal,
            mutation,
        })
    }

    /// The request state whether or not the caller signed in.
    pub fn anonymous(ctx: &'a Context<'_>) -> ApiResult<AnonymousCx<'a>> {
        request_context(ctx).map(|inner| AnonymousCx { inner })
    }

    /// A pooled connection. In a mutation it names the caller as the acting
    /// user for the audit triggers (a session setting: every mutation sets it
    /// again, and the importer sets its own per transaction).
    pub async fn conn(&self) -> ApiResult<DbConn> {
        let mut conn = self.inner.db.conn().await?;
        if self.mutation {
            crate::db::models::audit::set_session_actor(&mut conn, self.principal.user_id).await?;
        }
        Ok(conn)
    }

    /// The database handle.
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The loaders.
    pub fn loaders(&self) -> &'a Loaders {
        &self.inner.loaders
    }

    /// The authenticated caller.
    pub fn principal(&self) -> &'a Principal {
        self.principal
    }

    /// The subject of access-control checks.
    pub fn subject(&self) -> Subject {
        self.principal.subject()
    }

    /// The acting user.
    pub fn actor_id(&self) -> Option<i64> {
        Some(self.principal.user_id)
    }

    /// The access-control policy.
    pub fn authz(&self) -> &'a Authz {
        &self.inner.authz
    }

    /// Whether the caller is a superuser.
    pub fn is_superuser(&self) -> bool {
        self.principal.is_superuser
    }

    fn readable_set(&self) -> Arc<ReadableProducts> {
        // The generation is read before computing: a policy swapped in
        // meanwhile then makes the next call compute again, never the
        // reverse (an old answer filed under the new generation).
        let generation = self.inner.authz.generation();
        let mut slot = self
            .inner
            .readable
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match &*slot {
            Some((g, r)) if *g == generation => Arc::clone(r),
            _ => {
                let r = Arc::new(self.inner.authz.readable_product_ids(self.subject()));
                *slot = Some((generation, Arc::clone(&r)));
                r
            }
        }
    }

    /// Products the subject may read; `None` means all of them. Every list
    /// query filters by this in SQL.
    pub fn readable_products(&self) -> Option<Vec<i64>> {
        match &*self.readable_set() {
            ReadableProducts::All => None,
            ReadableProducts::Some(ids) => Some(ids.clone()),
        }
    }

    /// Product types the subject may read; `None` means all of them.
    /// Computed once per context (a WebSocket operation gets its own).
    pub fn readable_product_types(&self) -> Option<&'a [i64]> {
        match self
            .inner
            .readable_types
            .get_or_init(|| self.inner.authz.readable_product_type_ids(self.subject()))
        {
            ReadableProducts::All => None,
            ReadableProducts::Some(ids) => Some(ids.as_slice()),
        }
    }

    /// Whether the subject may read objects of `product_id`; an unreadable
    /// object answers NOT_FOUND exactly as a missing one.
    pub fn can_read_product(&self, product_id: i64) -> bool {
        self.readable_set().contains(product_id)
    }

    /// Whether the subject may read the product type itself.
    pub fn can_read_product_type(&self, product_type_id: i64) -> bool {
        self.readable_product_types()
            .is_none_or(|ids| ids.binary_search(&product_type_id).is_ok())
    }

    /// The object with global id `id` if the caller may read it, or
    /// NOT_FOUND (also for an id of another kind).
    pub async fn readable<T: Readable>(&self, id: &ID) -> ApiResult<T> {
        self.readable_id(ids::decode(id, T::KIND)?).await
    }

    /// [`Cx::readable`] by database id.
    pub async fn readable_id<T: Readable>(&self, id: i64) -> ApiResult<T> {
        match T::load(self, id).await? {
            Some(object) if object.may_read(self).await? => Ok(object),
            _ => Err(ApiError::NotFound(format!(
                "{} {}",
                T::KIND.name(),
                ids::encode(T::KIND, id).0
            ))),
        }
    }

    /// Rebuilds this process's access-control policy after a change it
    /// depends on, so the caller's next request already sees it (other
    /// processes follow on the policy notification).
    pub async fn reload_policy(&self) -> ApiResult<()> {
        self.inner
            .authz
            .reload(&self.inner.db)
            .await
            .map_err(|e| ApiError::Internal(format!("reloading the policy: {e}")))
    }

    /// Whether the subject holds `permission` on `object`.
    pub fn can(&self, permission: Permission, object: Object) -> bool {
        self.inner.authz.can(self.subject(), permission, object)
    }

    /// `FORBIDDEN` unless the subject holds `permission` on `object`.
    pub fn require(&self, permission: Permission, object: Object) -> ApiResult<()> {
        if self.can(permission, object) {
            Ok(())
        } else {
            Err(forbidden(permission, object))
        }
    }

    /// The access-control object of a product (its product type is looked up
    /// through the request's loader).
    pub async fn product_object(&self, product_id: i64) -> ApiResult<Object> {
        let product = self
            .inner
            .loaders
            .products
            .load_one(product_id)
            .await
            .map_err(load_err)?
            .ok_or_else(|| ApiError::NotFound(format!("Product {product_id}")))?;
        Ok(Object::Product {
            id: product.id,
            product_type_id: product.product_type_id,
        })
    }

    /// `FORBIDDEN` unless the subject holds `permission` on the product.
    pub async fn require_product(&self, permission: Permission, product_id: i64) -> ApiResult<()> {
        let object = self.product_object(product_id).await?;
        self.require(permission, object)
    }

    /// `FORBIDDEN` for anyone but superusers (configuration objects).
    pub fn require_superuser(&self, what: &str) -> ApiResult<()> {
        if self.principal.is_superuser {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("{what} (superusers only)")))
        }
    }
}

/// The FORBIDDEN error of a failed check.
pub fn forbidden(permission: Permission, object: Object) -> ApiError {
    ApiError::Forbidden(format!("{} on {object}", permission.name()))
}
