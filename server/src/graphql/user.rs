//! Sign-in, the signed-in user, and API tokens.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::context::Cx;
use super::error::{ApiError, ApiResult};
use super::ids::{self, Kind};
use crate::auth::TokenKind;
use crate::auth::login::{LoginError, LoginLimiter};
use crate::config::Config;
use crate::db::models::user::{self as model, ApiToken as TokenRow};

/// A person or automation account.
///
/// Beyond `id` and `username`, a user's details are shown only to that user
/// and to superusers: member lists would otherwise be a user directory.
#[derive(Clone)]
pub struct User(pub model::User);

impl User {
    /// The user with id `id` (none for `None`: the system, or an account
    /// since deleted), through the request's loader.
    pub async fn by_id(ctx: &Context<'_>, id: Option<i64>) -> ApiResult<Option<User>> {
        let Some(id) = id else {
            return Ok(None);
        };
        let cx = Cx::of(ctx)?;
        let user = cx
            .loaders()
            .users
            .load_one(id)
            .await
            .map_err(super::loaders::load_err)?;
        Ok(user.map(User))
    }

    /// Whether the caller may see this user's details.
    fn shows_details(&self, ctx: &Context<'_>) -> bool {
        let Ok(cx) = Cx::anonymous(ctx) else {
            return false;
        };
        match &cx.inner.principal {
            Some(p) => p.is_superuser || p.user_id == self.0.id,
            // Only `login` answers a user to a request without credentials:
            // the user who just proved to be them.
            None => true,
        }
    }
}

#[Object]
impl User {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::User, self.0.id)
    }

    /// Sign-in name.
    async fn username(&self) -> &str {
        &self.0.username
    }

    /// E-mail address (null unless it is the caller or a superuser asks).
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        self.shows_details(ctx).then_some(self.0.email.as_str())
    }

    /// Given name (null unless it is the caller or a superuser asks).
    async fn first_name(&self, ctx: &Context<'_>) -> Option<&str> {
        self.shows_details(ctx)
            .then_some(self.0.first_name.as_str())
    }

    /// Family name (null unless it is the caller or a superuser asks).
    async fn last_name(&self, ctx: &Context<'_>) -> Option<&str> {
        self.shows_details(ctx).then_some(self.0.last_name.as_str())
    }

    /// Whether the account may sign in (null unless it is the caller or a
    /// superuser asks).
    async fn is_active(&self, ctx: &Context<'_>) -> Option<bool> {
        self.shows_details(ctx).then_some(self.0.is_active)
    }

    /// Whether every check is bypassed for this user (null unless it is the
    /// caller or a superuser asks).
    async fn is_superuser(&self, ctx: &Context<'_>) -> Option<bool> {
        self.shows_details(ctx).then_some(self.0.is_superuser)
    }

    /// Last successful sign-in (null unless it is the caller or a superuser
    /// asks).
    async fn last_login(&self, ctx: &Context<'_>) -> Option<DateTime<Utc>> {
        self.0.last_login.filter(|_| self.shows_details(ctx))
    }

    /// When the account was created (null unless it is the caller or a
    /// superuser asks).
    async fn created_at(&self, ctx: &Context<'_>) -> Option<DateTime<Utc>> {
        self.shows_details(ctx).then_some(self.0.created_at)
    }
}

/// An API token as listed: never its secret.
#[derive(SimpleObject, Clone)]
#[graphql(name = "ApiToken")]
pub struct ApiTokenInfo {
    /// Global id.
    pub id: ID,
    /// The owner's label.
    pub name: String,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last request made with it (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it stops working by itself.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<TokenRow> for ApiTokenInfo {
    fn from(t: TokenRow) -> Self {
        ApiTokenInfo {
            id: ids::encode(Kind::ApiToken, t.id),
            name: t.name,
            prefix: t.prefix,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// A signed-in session, as listed: never its secret.
#[derive(SimpleObject, Clone)]
pub struct Session {
    /// Global id.
    pub id: ID,
    /// The first characters of the token, to recognise it.
    pub prefix: String,
    /// Sign-in time.
    pub created_at: DateTime<Utc>,
    /// Last request made with it (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it ends by itself.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Whether it authenticated this request.
    pub current: bool,
}

impl Session {
    fn of(t: TokenRow, current_token: i64) -> Session {
        Session {
            id: ids::encode(Kind::Session, t.id),
            current: t.id == current_token,
            prefix: t.prefix,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// The result of `changePassword`.
#[derive(SimpleObject)]
pub struct ChangePasswordPayload {
    /// The user's other sessions, now ended (this one stays signed in).
    pub revoked_sessions: i32,
}

/// The result of `login`.
#[derive(SimpleObject)]
pub struct LoginPayload {
    /// The session token: send it as `Authorization: Bearer <token>`.
    pub token: String,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
    /// Who signed in.
    pub user: User,
}

/// The result of `createApiToken`.
#[derive(SimpleObject)]
pub struct CreateApiTokenPayload {
    /// The secret, shown this once: only its hash is kept.
    pub token: String,
    /// The stored token.
    pub api_token: ApiTokenInfo,
}

/// Input of `createApiToken`.
#[derive(InputObject)]
pub struct CreateApiTokenInput {
    /// A label to recognise the token by (e.g. the pipeline using it).
    pub name: String,
    /// When it should stop working; never when absent, unless the server
    /// limits token lifetimes (then it is the longest lifetime allowed).
    pub expires_at: Option<DateTime<Utc>>,
}

/// The user an administrative mutation targets; never the caller, so a
/// superuser cannot lock themselves out.
async fn other_user(cx: &Cx<'_>, id: &ID, what: &str) -> ApiResult<model::User> {
    cx.require_superuser(what)?;
    let user_id = ids::decode(id, Kind::User)?;
    if user_id == cx.principal().user_id {
        return Err(ApiError::invalid(
            "user",
            "you cannot change this on your own account (ask another superuser)",
        ));
    }
    let mut conn = cx.conn().await?;
    model::User::by_id(&mut conn, user_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("User {}", id.0)))
}

fn login_error(e: &LoginError, username: &str) -> ApiError {
    match e {
        LoginError::InvalidCredentials => {
            tracing::info!(user = %username, "sign-in failed");
            ApiError::Unauthenticated
        }
        e @ (LoginError::RateLimited { .. } | LoginError::Busy) => {
            tracing::warn!(user = %username, reason = %e, "sign-in refused");
            ApiError::RateLimited(e.to_string())
        }
        LoginError::Auth(e) => ApiError::Internal(e.to_string()),
    }
}

fn limiter_of<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a LoginLimiter> {
    ctx.data::<LoginLimiter>()
        .map_err(|_| ApiError::Internal("login limiter missing".to_owned()))
}

fn config_of<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a Arc<Config>> {
    ctx.data::<Arc<Config>>()
        .map_err(|_| ApiError::Internal("configuration missing".to_owned()))
}

/// Queries about the caller.
#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> ApiResult<User> {
        let cx = Cx::of(ctx)?;
        let mut conn = cx.conn().await?;
        model::User::by_id(&mut conn, cx.principal().user_id)
            .await?
            .map(User)
            .ok_or(ApiError::Unauthenticated)
    }

    /// The caller's API tokens, newest first, revoked ones included.
    #[graphql(complexity = "super::LIST_WEIGHT * child_complexity")]
    async fn api_tokens(&self, ctx: &Context<'_>) -> ApiResult<Vec<ApiTokenInfo>> {
        let cx = Cx::of(ctx)?;
        let mut conn = cx.conn().await?;
        Ok(
            TokenRow::list_for_user(&mut conn, cx.principal().user_id, "api")
                .await?
                .into_iter()
                .map(ApiTokenInfo::from)
                .collect(),
        )
    }

    /// Sessions that still work, newest first: the caller's own, or (for
    /// superusers) those of `user`.
    async fn sessions(&self, ctx: &Context<'_>, user: Option<ID>) -> ApiResult<Vec<Session>> {
        let cx = Cx::of(ctx)?;
        let me = cx.principal();
        let user_id = match &user {
            None => me.user_id,
            Some(id) => {
                let n = ids::decode(id, Kind::User)?;
                if n != me.user_id && !cx.is_superuser() {
                    return Err(ApiError::NotFound(format!("User {}", id.0)));
                }
                n
            }
        };
        let mut conn = cx.conn().await?;
        if user_id != me.user_id && model::User::by_id(&mut conn, user_id).await?.is_none() {
            return Err(ApiError::NotFound(format!(
                "User {}",
                user.map(|i| i.0).unwrap_or_default()
            )));
        }
        Ok(TokenRow::live_sessions_of(&mut conn, user_id)
            .await?
            .into_iter()
            .map(|t| Session::of(t, me.token_id))
            .collect())
    }

    /// Every user (superusers only), by username.
    #[graphql(complexity = "super::LIST_WEIGHT * child_complexity")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        username_contains: Option<String>,
    ) -> ApiResult<Vec<User>> {
        let cx = Cx::of(ctx)?;
        cx.require_superuser("list users")?;
        let mut conn = cx.conn().await?;
        Ok(
            model::User::search(&mut conn, username_contains.as_deref(), 500)
                .await?
                .into_iter()
                .map(User)
                .collect(),
        )
    }
}

/// Sign-in and token mutations.
#[derive(Default)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    /// Signs in with a username and password and returns a session token.
    /// Unknown users and wrong passwords get the same answer; repeated
    /// failures per username and per address are refused for a while.
    async fn login(
        &self,
        ctx: &Context<'_>,
        username: String,
        password: String,
    ) -> ApiResult<LoginPayload> {
        let cx = Cx::anonymous(ctx)?;
        let limiter = limiter_of(ctx)?;
        let config = config_of(ctx)?;
        match crate::auth::login::login(
            &cx.inner.db,
            limiter,
            &config.auth,
            &username,
            &password,
            cx.inner.client_addr,
        )
        .await
        {
            Ok(s) => {
                tracing::info!(user = %s.user.username, "signed in");
                Ok(LoginPayload {
                    token: s.token.secret,
                    expires_at: s.expires_at,
                    user: User(s.user),
                })
            }
            Err(e) => Err(login_error(&e, &username)),
        }
    }

    /// Changes the signed-in user's password after checking the current
    /// one (a limited attempt, like `login`), and ends every other session
    /// of the user. API tokens keep working; revoke them separately.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current: String,
        new: String,
    ) -> ApiResult<ChangePasswordPayload> {
        let cx = Cx::of(ctx)?;
        let me = cx.principal();
        let limiter = limiter_of(ctx)?;
        let addr = Cx::anonymous(ctx)?.inner.client_addr;
        {
            let mut conn = cx.conn().await?;
            let user = model::User::by_id(&mut conn, me.user_id)
                .await?
                .ok_or(ApiError::Unauthenticated)?;
            if user.password_hash.is_none() {
                return Err(ApiError::invalid(
                    "current",
                    "this account has no password (it signs in through single sign-on)",
                ));
            }
        }
        crate::domain::user::validate_password(&new).map_err(|e| match e {
            crate::domain::DomainError::Invalid { message, .. } => {
                ApiError::invalid("new", message)
            }
            e => ApiError::from(e),
        })?;
        match crate::auth::login::verify_attempt(cx.db(), limiter, &me.username, &current, addr)
            .await
        {
            Ok(u) if u.id == me.user_id => {}
            Ok(_) | Err(LoginError::InvalidCredentials) => {
                return Err(ApiError::invalid(
                    "current",
                    "is not the account's password",
                ));
            }
            Err(e) => return Err(login_error(&e, &me.username)),
        }
        let hash = tokio::task::spawn_blocking(move || crate::domain::user::hash_password(&new))
            .await
            .map_err(|e| ApiError::Internal(format!("password hashing failed: {e}")))??;
        let mut conn = cx.conn().await?;
        model::User::set_password(&mut conn, me.user_id, &hash).await?;
        let keep = (me.token_kind == TokenKind::Session).then_some(me.token_id);
        let revoked = TokenRow::revoke_sessions_of(&mut conn, me.user_id, keep).await?;
        tracing::info!(user = %me.username, revoked_sessions = revoked, "password changed");
        Ok(ChangePasswordPayload {
            revoked_sessions: i32::try_from(revoked).unwrap_or(i32::MAX),
        })
    }

    /// Ends a session: one's own, or anyone's for superusers. Its token stops
    /// working on the next request.
    async fn revoke_session(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Session> {
        let cx = Cx::of(ctx)?;
        let token_id = ids::decode(&id, Kind::Session)?;
        let mut conn = cx.conn().await?;
        let row = TokenRow::by_id(&mut conn, token_id)
            .await?
            .filter(|t| t.kind == TokenKind::Session.as_str())
            .filter(|t| cx.is_superuser() || t.user_id == cx.principal().user_id)
            .ok_or_else(|| ApiError::NotFound(format!("Session {}", id.0)))?;
        TokenRow::revoke(&mut conn, row.id).await?;
        let row = TokenRow::by_id(&mut conn, token_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("Session {}", id.0)))?;
        Ok(Session::of(row, cx.principal().token_id))
    }

    /// Lets a user sign in again, or stops them (superusers only, never
    /// oneself). Deactivation ends the user's sessions at once; their API
    /// tokens stop working while the account is inactive.
    async fn set_user_active(&self, ctx: &Context<'_>, user: ID, active: bool) -> ApiResult<User> {
        let cx = Cx::of(ctx)?;
        let target = other_user(&cx, &user, "activate or deactivate users").await?;
        let mut conn = cx.conn().await?;
        let updated = model::User::set_active(&mut conn, target.id, active)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("User {}", user.0)))?;
        if !active {
            TokenRow::revoke_sessions_of(&mut conn, target.id, None).await?;
        }
        tracing::info!(by = %cx.principal().username, user = %updated.username, active, "account activity changed");
        Ok(User(updated))
    }

    /// Makes a user a superuser or takes it away (superusers only, never
    /// oneself). Open WebSocket connections of the user are closed.
    async fn set_superuser(&self, ctx: &Context<'_>, user: ID, superuser: bool) -> ApiResult<User> {
        let cx = Cx::of(ctx)?;
        let target = other_user(&cx, &user, "grant or revoke superuser rights").await?;
        let mut conn = cx.conn().await?;
        let updated = model::User::set_superuser(&mut conn, target.id, superuser)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("User {}", user.0)))?;
        tracing::info!(by = %cx.principal().username, user = %updated.username, superuser, "superuser rights changed");
        Ok(User(updated))
    }

    /// Ends the session whose token authenticated this request.
    async fn logout(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        let cx = Cx::of(ctx)?;
        let p = cx.principal();
        if p.token_kind != TokenKind::Session {
            return Err(ApiError::BadUserInput(
                "this request used an API token, not a session; revoke it with revokeApiToken"
                    .to_owned(),
            ));
        }
        let mut conn = cx.conn().await?;
        Ok(TokenRow::revoke(&mut conn, p.token_id).await?)
    }

    /// Creates an API token for the caller; its secret is returned once.
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        input: CreateApiTokenInput,
    ) -> ApiResult<CreateApiTokenPayload> {
        let cx = Cx::of(ctx)?;
        // A leaked API token must not be able to mint more of itself.
        if cx.principal().token_kind != TokenKind::Session {
            return Err(ApiError::Forbidden(
                "create API tokens with an API token (sign in for a session first)".to_owned(),
            ));
        }
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(ApiError::invalid("name", "must be 1 to 200 characters"));
        }
        let now = Utc::now();
        if input.expires_at.is_some_and(|t| t <= now) {
            return Err(ApiError::invalid("expiresAt", "must be in the future"));
        }
        let mut expires_at = input.expires_at;
        if let Some(days) = config_of(ctx)?.auth.api_token_max_lifetime_days {
            let latest = now + chrono::Duration::days(i64::from(days));
            match expires_at {
                Some(t) if t > latest => {
                    return Err(ApiError::invalid(
                        "expiresAt",
                        format!(
                            "may be at most {days} days ahead (PALISADE_API_TOKEN_MAX_LIFETIME_DAYS)"
                        ),
                    ));
                }
                Some(_) => {}
                None => expires_at = Some(latest),
            }
        }
        let token = crate::domain::user::generate_token();
        let mut conn = cx.conn().await?;
        let row = TokenRow::create(
            &mut conn,
            cx.principal().user_id,
            name,
            TokenKind::Api.as_str(),
            &token.prefix,
            &token.hash,
            expires_at,
        )
        .await?;
        Ok(CreateApiTokenPayload {
            token: token.secret,
            api_token: row.into(),
        })
    }

    /// Revokes an API token: one's own, or anyone's for superusers. It stops
    /// working on the next request.
    async fn revoke_api_token(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ApiTokenInfo> {
        let cx = Cx::of(ctx)?;
        let token_id = ids::decode(&id, Kind::ApiToken)?;
        let mut conn = cx.conn().await?;
        let row = TokenRow::by_id(&mut conn, token_id)
            .await?
            .filter(|t| t.kind == "api")
            .filter(|t| cx.is_superuser() || t.user_id == cx.principal().user_id)
            .ok_or_else(|| ApiError::NotFound(format!("ApiToken {}", id.0)))?;
        TokenRow::revoke(&mut conn, row.id).await?;
        let row = TokenRow::by_id(&mut conn, token_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("ApiToken {}", id.0)))?;
        Ok(row.into())
    }
}
