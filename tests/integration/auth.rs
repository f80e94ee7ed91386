//! Authentication over the real server: sign-in, sessions, API tokens in
//! both header forms, revocation, rate limiting, and the WebSocket handshake.

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::server::ADMIN_PASSWORD;
use crate::support::{TestDb, TestServer};

const ME: &str = "{ me { username isSuperuser } }";

#[tokio::test]
async fn requests_without_credentials_are_unauthenticated() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let r = s
        .anonymous()
        .query("{ products { totalCount } }", json!({}))
        .await;
    assert_eq!(r.error_code(), Some("UNAUTHENTICATED"), "{}", r.body);
    assert!(r.body["data"].is_null() || r.body["data"]["products"].is_null());
    let r = s
        .anonymous()
        .query(
            "mutation { createProductType(input: {name: \"x\"}) { productType { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(r.error_code(), Some("UNAUTHENTICATED"));
    assert_eq!(db.count("product_types").await, 0);
    // Introspection needs no credentials, so GraphiQL can load the schema.
    let r = s
        .anonymous()
        .query("{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(r.data()["__schema"]["queryType"]["name"], "QueryRoot");
    // The open endpoints stay open.
    for path in ["/healthz", "/readyz", "/graphiql"] {
        let resp = s
            .anonymous_http
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .expect("get");
        assert_eq!(resp.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn bad_credentials_get_401() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    for value in [
        "Token pal_notarealtokennotarealtokennotarealtoken",
        "Bearer nope",
        "Basic YWRtaW46YWRtaW4=",
        "Token",
    ] {
        let resp = s
            .anonymous_http
            .post(format!("{}/graphql", s.base))
            .header("authorization", value)
            .json(&json!({"query": ME}))
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status(), 401, "{value}");
        assert!(resp.headers().contains_key("www-authenticate"));
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    }
}

#[tokio::test]
async fn login_issues_a_session_that_logout_ends() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let d = s
        .anonymous()
        .ok(
            "mutation($p: String!) { login(username: \"admin\", password: $p) { token expiresAt user { username } } }",
            json!({"p": ADMIN_PASSWORD}),
        )
        .await;
    let token = d["login"]["token"].as_str().expect("token").to_owned();
    assert!(token.starts_with("pal_"));
    assert_eq!(d["login"]["user"]["username"], "admin");
    let expires: chrono::DateTime<chrono::Utc> = d["login"]["expiresAt"]
        .as_str()
        .expect("expiry")
        .parse()
        .expect("time");
    let ttl = expires - chrono::Utc::now();
    assert!(ttl > chrono::Duration::hours(11) && ttl <= chrono::Duration::hours(12));
    // The stored row holds a hash, never the token.
    let c = db.client().await;
    let stored: i64 = c
        .query_one(
            "SELECT count(*) FROM api_tokens WHERE kind = 'session' AND position($1 in encode(token_hash, 'escape')) = 0",
            &[&token],
        )
        .await
        .expect("query")
        .get(0);
    assert!(stored >= 1);

    let me = s.gql_as(&token);
    assert_eq!(me.ok(ME, json!({})).await["me"]["isSuperuser"], true);
    assert_eq!(
        me.ok("mutation { logout }", json!({})).await["logout"],
        true
    );
    let r = me.query(ME, json!({})).await;
    assert_eq!(r.status, 401, "a logged-out session must stop working");
    let signed_in: bool = c
        .query_one(
            "SELECT last_login IS NOT NULL FROM users WHERE username = 'admin'",
            &[],
        )
        .await
        .expect("q")
        .get(0);
    assert!(signed_in, "sign-in is stamped on the user");
}

#[tokio::test]
async fn unknown_users_and_wrong_passwords_look_alike_and_are_rate_limited() {
    let db = TestDb::new().await;
    let s = TestServer::start_with(&db.url, &[("PALISADE_LOGIN_MAX_FAILURES", "3")]).await;
    let login = |u: &'static str, p: &'static str| {
        let g = s.anonymous();
        async move {
            g.query(
                "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
                json!({"u": u, "p": p}),
            )
            .await
        }
    };
    let wrong = login("admin", "wrong-password").await;
    let unknown = login("ghost", "wrong-password").await;
    assert_eq!(wrong.error_code(), Some("UNAUTHENTICATED"));
    assert_eq!(unknown.error_code(), Some("UNAUTHENTICATED"));
    assert_eq!(wrong.error_message(), unknown.error_message());
    login("admin", "wrong-again").await;
    // Three failures from this address: even the right password is refused.
    let limited = login("admin", ADMIN_PASSWORD).await;
    assert_eq!(
        limited.error_code(),
        Some("RATE_LIMITED"),
        "{}",
        limited.body
    );
    assert!(limited.error_message().contains("try again"));
    assert!(limited.body["data"].is_null() || limited.body["data"]["login"].is_null());
}

#[tokio::test]
async fn api_tokens_work_in_both_header_forms_and_revocation_is_immediate() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let d = admin
        .ok(
            "mutation { createApiToken(input: {name: \"ci\"}) { token apiToken { id name prefix lastUsedAt revokedAt } } }",
            json!({}),
        )
        .await;
    let secret = d["createApiToken"]["token"]
        .as_str()
        .expect("secret")
        .to_owned();
    let id = d["createApiToken"]["apiToken"]["id"].clone();
    assert!(
        secret.starts_with(
            d["createApiToken"]["apiToken"]["prefix"]
                .as_str()
                .expect("prefix")
        )
    );
    assert!(d["createApiToken"]["apiToken"]["lastUsedAt"].is_null());

    for scheme in ["Token", "Bearer", "token"] {
        let resp = s
            .anonymous_http
            .post(format!("{}/graphql", s.base))
            .header("authorization", format!("{scheme} {secret}"))
            .json(&json!({"query": ME}))
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status(), 200, "{scheme}");
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["data"]["me"]["username"], "admin", "{scheme}");
    }
    let list = admin
        .ok("{ apiTokens { id name lastUsedAt } }", json!({}))
        .await;
    let listed = &list["apiTokens"][0];
    assert_eq!(listed["name"], "ci");
    assert!(!listed["lastUsedAt"].is_null(), "use is recorded");
    assert!(listed.get("token").is_none());

    let revoked = admin
        .ok(
            "mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }",
            json!({"id": id}),
        )
        .await;
    assert!(!revoked["revokeApiToken"]["revokedAt"].is_null());
    let r = s.gql_as(&secret).query(ME, json!({})).await;
    assert_eq!(r.status, 401, "revoked on the very next request");
}

#[tokio::test]
async fn users_cannot_see_or_revoke_each_others_tokens() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin_token = s
        .gql()
        .ok(
            "mutation { createApiToken(input: {name: \"admin-ci\"}) { apiToken { id } } }",
            json!({}),
        )
        .await["createApiToken"]["apiToken"]["id"]
        .clone();
    let token = crate::support::create_user(&db, "mallory", false).await;
    let mallory = s.gql_as(&token);
    let own = mallory.ok("{ apiTokens { id name } }", json!({})).await;
    let own = own["apiTokens"].as_array().expect("list");
    assert_eq!(own.len(), 1, "only her own token: {own:?}");
    assert_ne!(own[0]["id"], admin_token);
    let r = mallory
        .query(
            "mutation($id: ID!) { revokeApiToken(id: $id) { id } }",
            json!({"id": admin_token}),
        )
        .await;
    assert_eq!(r.error_code(), Some("NOT_FOUND"));
    let r = mallory.query("{ users { username } }", json!({})).await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"));
}

#[tokio::test]
async fn expired_tokens_and_inactive_users_are_refused() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let token = crate::support::create_user(&db, "temp", false).await;
    assert_eq!(s.gql_as(&token).query(ME, json!({})).await.status, 200);
    let c = db.client().await;
    c.execute(
        "UPDATE users SET is_active = false WHERE username = 'temp'",
        &[],
    )
    .await
    .expect("deactivate");
    assert_eq!(s.gql_as(&token).query(ME, json!({})).await.status, 401);
    c.execute(
        "UPDATE users SET is_active = true WHERE username = 'temp'",
        &[],
    )
    .await
    .expect("activate");
    c.execute(
        "UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE user_id = (SELECT id FROM users WHERE username = 'temp')",
        &[],
    )
    .await
    .expect("expire");
    assert_eq!(s.gql_as(&token).query(ME, json!({})).await.status, 401);
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_message(
    ws: &mut Ws,
) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>> {
    tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
        .await
        .expect("answer in time")
}

async fn ws_init(base: &str, payload: Value) -> Value {
    let url = format!("{}/graphql/ws", base.replace("http://", "ws://"));
    let mut req = url.into_client_request().expect("request");
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("connect");
    ws.send(Message::Text(
        json!({"type": "connection_init", "payload": payload})
            .to_string()
            .into(),
    ))
    .await
    .expect("send init");
    let first = match next_message(&mut ws).await {
        Some(Ok(Message::Text(t))) => serde_json::from_str::<Value>(&t).expect("json"),
        Some(Ok(Message::Close(frame))) => {
            return json!({"closed": frame.map(|f| u16::from(f.code))});
        }
        other => panic!("unexpected {other:?}"),
    };
    if first["type"] != "connection_ack" {
        return first;
    }
    // Ask who we are through a subscription-less operation.
    ws.send(Message::Text(
        json!({"id": "1", "type": "subscribe", "payload": {"query": ME}})
            .to_string()
            .into(),
    ))
    .await
    .expect("send");
    match next_message(&mut ws).await {
        Some(Ok(Message::Text(t))) => serde_json::from_str::<Value>(&t).expect("json"),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn websocket_connection_init_carries_the_same_tokens() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let token = s.admin_token.clone().expect("admin token");
    for payload in [
        json!({"Authorization": format!("Bearer {token}")}),
        json!({"authorization": format!("Token {token}")}),
        json!({"token": token}),
    ] {
        let v = ws_init(&s.base, payload.clone()).await;
        assert_eq!(
            v["payload"]["data"]["me"]["username"], "admin",
            "{payload}: {v}"
        );
    }
    let v = ws_init(&s.base, json!({})).await;
    let code = if v["payload"].is_array() {
        &v["payload"][0]["extensions"]["code"]
    } else {
        &v["payload"]["errors"][0]["extensions"]["code"]
    };
    assert_eq!(code, "UNAUTHENTICATED", "{v}");
    // Wrong credentials: the connection is closed without an acknowledgement.
    let v = ws_init(&s.base, json!({"token": "pal_wrong"})).await;
    assert!(v["closed"].as_u64().is_some_and(|c| c >= 1002), "{v}");
}
