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

/// The global id of user `name`, looked up by `admin`.
pub async fn user_id(admin: &Gql, name: &str) -> serde_json::Value {
    admin
        .ok(
            "query($n: String) { users(usernameContains: $n) { id username } }",
            serde_json::json!({"n": name}),
        )
        .await["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["username"] == name)
        .expect("user")["id"]
        .clone()
}

/// Gives `user` the `role` on `object` (a product or product type).
pub async fn grant(admin: &Gql, object: &str, user: &serde_json::Value, role: &str) {
    admin
        .ok(
            "mutation($o: ID!, $u: ID!, $r: Role!) { setMember(input: {object: $o, user: $u, role: $r}) { role } }",
            serde_json::json!({"o": object, "u": user, "r": role}),
        )
        .await;
}

/// Runs `query` as the admin with `file` as the multipart upload
/// `variables.file`; returns `data`, failing on any error.
pub async fn upload(
    s: &TestServer,
    query: &str,
    variables: serde_json::Value,
    file: Vec<u8>,
) -> serde_json::Value {
    use reqwest::multipart::{Form, Part};
    let form = Form::new()
        .text(
            "operations",
            serde_json::json!({"query": query, "variables": variables}).to_string(),
        )
        .text(
            "map",
            serde_json::json!({"0": ["variables.file"]}).to_string(),
        )
        .part("0", Part::bytes(file).file_name("report.json"));
    let v: serde_json::Value = s
        .http
        .post(format!("{}/graphql", s.base))
        .multipart(form)
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert!(v.get("errors").is_none(), "{v}");
    v["data"].clone()
}
