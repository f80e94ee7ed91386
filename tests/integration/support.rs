//! Test support: a database per test cloned from a migrated template, the real
//! server binary on a free port, a GraphQL client, and the helpers several
//! areas share (users with tokens, the hostile test components, REST imports,
//! WebSocket connections).

pub mod components;
pub mod db;
pub mod rest;
pub mod server;
pub mod ws;

pub use components::component;
pub use db::TestDb;
pub use server::{Gql, TestServer};

/// Creates a user with an API token straight in the database; returns the
/// token.
pub async fn create_user(db: &TestDb, username: &str, superuser: bool) -> String {
    let c = db.client().await;
    let id: i64 = c
        .query_one(
            "INSERT INTO users (username, is_superuser) VALUES ($1, $2) RETURNING id",
            &[&username, &superuser],
        )
        .await
        .expect("insert user")
        .get(0);
    let token = palisade::domain::user::generate_token();
    c.execute(
        "INSERT INTO api_tokens (user_id, name, prefix, token_hash) VALUES ($1, 'test', $2, $3)",
        &[&id, &token.prefix, &token.hash],
    )
    .await
    .expect("insert token");
    token.secret
}

/// Creates a user with a password (hashed as the server does) straight in
/// the database; returns its id.
pub async fn user_with_password(db: &TestDb, name: &str, password: &str, superuser: bool) -> i64 {
    let hash = palisade::domain::user::hash_password(password).expect("hash");
    db.client()
        .await
        .query_one(
            "INSERT INTO users (username, is_superuser, password_hash) VALUES ($1, $2, $3) RETURNING id",
            &[&name, &superuser, &hash],
        )
        .await
        .expect("insert user")
        .get(0)
}

/// The GraphQL global id of object `id` of `kind` (`Product`, `User`, ...).
pub fn gid(kind: &str, id: i64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
}

/// The database id inside a GraphQL global id.
pub fn decode_gid(id: &str) -> i64 {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(id)
        .expect("base64 id");
    let text = String::from_utf8(raw).expect("utf-8 id");
    text.rsplit(':')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("numeric id")
}
