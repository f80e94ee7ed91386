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
