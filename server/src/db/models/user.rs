//! Users and their API tokens.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{api_tokens, users};

/// A user.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users, check_for_backend(Pg))]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_active: bool,
    pub is_superuser: bool,
    pub password_hash: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_login: Option<DateTime<Utc>>,
}

/// Insert form of [`User`].
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub is_superuser: bool,
    pub password_hash: Option<&'a str>,
}

/// An API or session token (its hash only).
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = api_tokens, check_for_backend(Pg))]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub kind: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl User {
    /// Inserts a user.
    pub async fn create(conn: &mut AsyncPgConnection, new: &NewUser<'_>) -> QueryResult<User> {
        diesel::insert_into(users::table)
            .values(new)
            .returning(User::as_select())
            .get_result(conn)
            .await
    }

    /// A user by exact username.
    pub async fn by_username(
        conn: &mut AsyncPgConnection,
        name: &str,
    ) -> QueryResult<Option<User>> {
        users::table
            .filter(users::username.eq(name))
            .select(User::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// Whether any user exists.
    pub async fn any(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(users::table.select(users::id)))
            .get_result(conn)
            .await
    }

    /// Replaces a user's password hash.
    pub async fn set_password(
        conn: &mut AsyncPgConnection,
        id: i64,
        hash: &str,
    ) -> QueryResult<bool> {
        Ok(diesel::update(users::table.find(id))
            .set(users::password_hash.eq(hash))
            .execute(conn)
            .await?
            > 0)
    }
}

impl ApiToken {
    /// Stores a token hash for a user.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        user_id: i64,
        name: &str,
        kind: &str,
        prefix: &str,
        hash: &[u8],
        expires_at: Option<DateTime<Utc>>,
    ) -> QueryResult<ApiToken> {
        diesel::insert_into(api_tokens::table)
            .values((
                api_tokens::user_id.eq(user_id),
                api_tokens::name.eq(name),
                api_tokens::kind.eq(kind),
                api_tokens::prefix.eq(prefix),
                api_tokens::token_hash.eq(hash),
                api_tokens::expires_at.eq(expires_at),
            ))
            .returning(ApiToken::as_select())
            .get_result(conn)
            .await
    }
}

/// A live token with what authentication needs of its user.
#[derive(Debug, Clone, Queryable)]
pub struct TokenOwner {
    pub token_id: i64,
    pub kind: String,
    pub last_used_at: Option<DateTime<Utc>>,
    pub user_id: i64,
    pub username: String,
    pub is_superuser: bool,
}

impl ApiToken {
    /// The live token with this hash and its active user, if any.
    pub async fn owner_of(
        conn: &mut AsyncPgConnection,
        hash: &[u8],
    ) -> QueryResult<Option<TokenOwner>> {
        api_tokens::table
            .inner_join(users::table)
            .filter(api_tokens::token_hash.eq(hash))
            .filter(api_tokens::revoked_at.is_null())
            .filter(
                api_tokens::expires_at
                    .is_null()
                    .or(api_tokens::expires_at.gt(diesel::dsl::now)),
            )
            .filter(users::is_active.eq(true))
            .select((
                api_tokens::id,
                api_tokens::kind,
                api_tokens::last_used_at,
                users::id,
                users::username,
                users::is_superuser,
            ))
            .first(conn)
            .await
            .optional()
    }

    /// Records that a token was just used.
    pub async fn touch(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<()> {
        diesel::update(api_tokens::table.find(id))
            .set(api_tokens::last_used_at.eq(diesel::dsl::now))
            .execute(conn)
            .await
            .map(|_| ())
    }

    /// A user's tokens of `kind`, newest first, revoked ones included.
    pub async fn list_for_user(
        conn: &mut AsyncPgConnection,
        user_id: i64,
        kind: &str,
    ) -> QueryResult<Vec<ApiToken>> {
        api_tokens::table
            .filter(api_tokens::user_id.eq(user_id))
            .filter(api_tokens::kind.eq(kind))
            .order(api_tokens::id.desc())
            .select(ApiToken::as_select())
            .load(conn)
            .await
    }

    /// A token by id.
    pub async fn by_id(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<ApiToken>> {
        api_tokens::table
            .find(id)
            .select(ApiToken::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// Revokes a token; `false` when it was already revoked or missing.
    pub async fn revoke(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<bool> {
        Ok(diesel::update(
            api_tokens::table
                .find(id)
                .filter(api_tokens::revoked_at.is_null()),
        )
        .set(api_tokens::revoked_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?
            > 0)
    }
}

impl User {
    /// A user by id.
    pub async fn by_id(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<User>> {
        users::table
            .find(id)
            .select(User::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// Users by ids (loaders).
    pub async fn by_ids(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<User>> {
        users::table
            .filter(users::id.eq_any(ids))
            .select(User::as_select())
            .load(conn)
            .await
    }

    /// Stamps a successful sign-in.
    pub async fn record_login(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<()> {
        diesel::update(users::table.find(id))
            .set(users::last_login.eq(diesel::dsl::now))
            .execute(conn)
            .await
            .map(|_| ())
    }
}

impl User {
    /// Users whose name contains `needle` (case-insensitive), by username.
    pub async fn search(
        conn: &mut AsyncPgConnection,
        needle: Option<&str>,
        limit: i64,
    ) -> QueryResult<Vec<User>> {
        let mut q = users::table.into_boxed();
        if let Some(n) = needle {
            q = q.filter(users::username.ilike(super::like_pattern(n)));
        }
        q.order(users::username)
            .limit(limit)
            .select(User::as_select())
            .load(conn)
            .await
    }
}

impl User {
    /// The user signed in through single sign-on as `subject`.
    pub async fn by_oidc_subject(
        conn: &mut AsyncPgConnection,
        subject: &str,
    ) -> QueryResult<Option<User>> {
        users::table
            .filter(users::oidc_subject.eq(subject))
            .select(User::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// Creates a user on their first single sign-on (no password).
    pub async fn create_oidc(
        conn: &mut AsyncPgConnection,
        username: &str,
        email: &str,
        first_name: &str,
        last_name: &str,
        subject: &str,
    ) -> QueryResult<User> {
        diesel::insert_into(users::table)
            .values((
                users::username.eq(username),
                users::email.eq(email),
                users::first_name.eq(first_name),
                users::last_name.eq(last_name),
                users::oidc_subject.eq(subject),
            ))
            .returning(User::as_select())
            .get_result(conn)
            .await
    }
}

impl ApiToken {
    /// Revokes every live session of a user but `except`; how many.
    pub async fn revoke_sessions_of(
        conn: &mut AsyncPgConnection,
        user_id: i64,
        except: Option<i64>,
    ) -> QueryResult<usize> {
        diesel::update(
            api_tokens::table
                .filter(api_tokens::user_id.eq(user_id))
                .filter(api_tokens::kind.eq("session"))
                .filter(api_tokens::revoked_at.is_null())
                .filter(api_tokens::id.ne(except.unwrap_or(0))),
        )
        .set(api_tokens::revoked_at.eq(diesel::dsl::now))
        .execute(conn)
        .await
    }

    /// A user's sessions that still work, newest first.
    pub async fn live_sessions_of(
        conn: &mut AsyncPgConnection,
        user_id: i64,
    ) -> QueryResult<Vec<ApiToken>> {
        api_tokens::table
            .filter(api_tokens::user_id.eq(user_id))
            .filter(api_tokens::kind.eq("session"))
            .filter(api_tokens::revoked_at.is_null())
            .filter(
                api_tokens::expires_at
                    .is_null()
                    .or(api_tokens::expires_at.gt(diesel::dsl::now)),
            )
            .order(api_tokens::id.desc())
            .select(ApiToken::as_select())
            .load(conn)
            .await
    }
}

impl User {
    /// Sets whether a user may sign in; the updated user, if any.
    pub async fn set_active(
        conn: &mut AsyncPgConnection,
        id: i64,
        active: bool,
    ) -> QueryResult<Option<User>> {
        diesel::update(users::table.find(id))
            .set(users::is_active.eq(active))
            .returning(User::as_select())
            .get_result(conn)
            .await
            .optional()
    }

    /// Sets whether a user bypasses every check; the updated user, if any.
    pub async fn set_superuser(
        conn: &mut AsyncPgConnection,
        id: i64,
        superuser: bool,
    ) -> QueryResult<Option<User>> {
        diesel::update(users::table.find(id))
            .set(users::is_superuser.eq(superuser))
            .returning(User::as_select())
            .get_result(conn)
            .await
            .optional()
    }
}
