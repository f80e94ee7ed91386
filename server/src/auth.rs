//! Authentication: who is asking.
//!
//! Every request may carry `Authorization: Token <key>` (DefectDojo's form)
//! or `Authorization: Bearer <key>`; WebSocket clients send the same value in
//! the `connection_init` payload. The key is an API token or a session token
//! from `login`; both are stored as SHA-256 hashes only and looked up on
//! every request, so a revoked token stops working on the next request.

pub mod client;
pub mod http;
pub mod login;
pub mod oidc;

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use crate::authz::Subject;
use crate::db::models::user::{ApiToken, TokenOwner};
use crate::db::{Db, DbError};

/// How stale `last_used_at` may get before a request refreshes it; writing
/// it on every request would serialise concurrent requests on the token row.
const LAST_USED_RESOLUTION_SECS: i64 = 60;

/// Which kind of token authenticated a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A long-lived API token.
    Api,
    /// A session token from `login` or single sign-on.
    Session,
}

impl TokenKind {
    /// The `api_tokens.kind` value.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Api => "api",
            TokenKind::Session => "session",
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// `users.id`.
    pub user_id: i64,
    /// `users.username`.
    pub username: String,
    /// `users.is_superuser`.
    pub is_superuser: bool,
    /// The token that authenticated the request.
    pub token_id: i64,
    /// Its kind.
    pub token_kind: TokenKind,
}

impl Principal {
    /// The subject access control checks.
    pub fn subject(&self) -> Subject {
        Subject {
            user_id: self.user_id,
            is_superuser: self.is_superuser,
        }
    }
}

/// Why credentials were refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The header is not `Token <key>` or `Bearer <key>`.
    #[error("the Authorization header must be `Token <key>` or `Bearer <key>`")]
    Malformed,
    /// Unknown, revoked or expired token, or an inactive user.
    #[error("the token is invalid, expired or revoked")]
    InvalidToken,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for AuthError {
    fn from(e: diesel::result::Error) -> Self {
        AuthError::Db(DbError::Query(e))
    }
}

/// The key inside an `Authorization` value; the scheme is case-insensitive.
pub fn parse_authorization(value: &str) -> Result<&str, AuthError> {
    let (scheme, key) = value.trim().split_once(' ').ok_or(AuthError::Malformed)?;
    let key = key.trim();
    if key.is_empty()
        || !(scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer"))
    {
        return Err(AuthError::Malformed);
    }
    Ok(key)
}

/// Looks up the token `key` presented by a client.
pub async fn authenticate(db: &Db, key: &str) -> Result<Principal, AuthError> {
    let hash = crate::domain::user::token_hash(key);
    let mut conn = db.conn().await?;
    let owner: TokenOwner = ApiToken::owner_of(&mut conn, &hash)
        .await?
        .ok_or(AuthError::InvalidToken)?;
    let stale = owner
        .last_used_at
        .is_none_or(|t| (Utc::now() - t).num_seconds() >= LAST_USED_RESOLUTION_SECS);
    if stale {
        ApiToken::touch(&mut conn, owner.token_id).await?;
    }
    Ok(Principal {
        user_id: owner.user_id,
        username: owner.username,
        is_superuser: owner.is_superuser,
        token_id: owner.token_id,
        token_kind: if owner.kind == "session" {
            TokenKind::Session
        } else {
            TokenKind::Api
        },
    })
}

/// Authenticates an optional `Authorization` value: `Ok(None)` when absent.
pub async fn authenticate_header(
    db: &Db,
    value: Option<&str>,
) -> Result<Option<Principal>, AuthError> {
    match value {
        None => Ok(None),
        Some(v) => authenticate(db, parse_authorization(v)?).await.map(Some),
    }
}

/// A newly issued token: the secret is shown to its owner once.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The secret, `pal_…`.
    pub secret: String,
    /// The stored row.
    pub row: ApiToken,
}

/// Issues a session token for `user_id`, valid for `ttl_secs`.
pub async fn issue_session(
    db: &Db,
    user_id: i64,
    ttl_secs: u64,
) -> Result<(IssuedToken, DateTime<Utc>), AuthError> {
    let token = crate::domain::user::generate_token();
    let ttl = chrono::Duration::seconds(i64::try_from(ttl_secs).unwrap_or(i64::MAX / 1000));
    let expires = Utc::now() + ttl;
    let mut conn = db.conn().await?;
    let row = ApiToken::create(
        &mut conn,
        user_id,
        "session",
        TokenKind::Session.as_str(),
        &token.prefix,
        &token.hash,
        Some(expires),
    )
    .await?;
    crate::db::models::user::User::record_login(&mut conn, user_id).await?;
    Ok((
        IssuedToken {
            secret: token.secret,
            row,
        },
        expires,
    ))
}

/// The client's address as the server saw it (the TCP peer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_schemes_are_accepted_in_any_case() {
        assert_eq!(parse_authorization("Token abc").ok(), Some("abc"));
        assert_eq!(parse_authorization("bearer  abc ").ok(), Some("abc"));
        assert_eq!(parse_authorization("BEARER abc").ok(), Some("abc"));
    }

    #[test]
    fn other_schemes_and_empty_keys_are_malformed() {
        for v in ["Basic YWxhZGRpbjpvcGVu", "Token", "Token   ", "abc", ""] {
            assert!(
                matches!(parse_authorization(v), Err(AuthError::Malformed)),
                "{v:?} accepted"
            );
        }
    }
}
