//! Authorization: DefectDojo's classic role model (domain.md §7) on casbin.
//!
//! - [`permission`]: the 76 permissions, the 5 roles and the role matrix.
//! - [`enforcer`]: the casbin model and policy built from the membership
//!   tables, and [`Authz`], the handle resolvers check with.
//! - [`listener`]: keeps every server process's policy in step with the
//!   database through `LISTEN palisade_authz`.
//! - [`import_guard`]: the import engine's permission hook ([`AuthzGuard`]).
//!
//! Resolvers call [`Authz::require`] on their first line and filter lists in
//! SQL with [`Authz::readable_product_ids`].

pub mod enforcer;
pub mod import_guard;
pub mod listener;
pub mod permission;

pub use enforcer::{Authz, Object, ReadableProducts, Subject};
pub use import_guard::AuthzGuard;
pub use permission::{Permission, PermissionSet, Role};

/// Why an authorization call failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthzError {
    /// The subject lacks the permission on the object.
    #[error("permission denied: {permission} on {object}")]
    Denied {
        /// The permission that was checked.
        permission: Permission,
        /// The object it was checked on.
        object: Object,
    },
    /// The membership tables could not be read.
    #[error("cannot load the authorization policy: {0}")]
    Db(#[from] crate::db::DbError),
    /// casbin rejected the model or the policy (a bug, not bad input).
    #[error("casbin: {0}")]
    Casbin(#[from] casbin::Error),
    /// The notification connection failed.
    #[error("authorization listener: {0}")]
    Listen(#[from] tokio_postgres::Error),
    /// The notification connection closed.
    #[error("authorization listener: connection closed")]
    ListenerClosed,
}

impl From<diesel::result::Error> for AuthzError {
    fn from(e: diesel::result::Error) -> Self {
        AuthzError::Db(crate::db::DbError::Query(e))
    }
}
