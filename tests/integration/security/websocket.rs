//! Open WebSocket connections follow the live policy (review finding 3):
//! a removed membership, a demoted superuser or a deactivated user loses
//! access on the next operation of a connection that is already open, and
//! running subscriptions do not keep rights their owner lost.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::support::ws::{self, Ws};
use crate::support::{TestDb, TestServer, gid, user_with_password};

/// What the server sent next.
#[derive(Debug)]
enum Got {
    Json(Value),
    Closed(Option<u16>),
    Silence,
}

async fn connect(base: &str, token: &str) -> Ws {
    let mut ws = ws::open(base).await;
    ws::send(
        &mut ws,
        &json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}}),
    )
    .await;
    match next(&mut ws, Duration::from_secs(5)).await {
        Got::Json(v) if v["type"] == "connection_ack" => ws,
        other => panic!("no ack: {other:?}"),
    }
}

async fn next(ws: &mut Ws, wait: Duration) -> Got {
    loop {
        match tokio::time::timeout(wait, ws.next()).await {
            Err(_) => return Got::Silence,
            Ok(Some(Ok(Message::Text(t)))) => {
                return Got::Json(serde_json::from_str(&t).expect("json"));
            }
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            Ok(Some(Ok(Message::Close(frame)))) => {
                return Got::Closed(frame.map(|f| u16::from(f.code)));
            }
            Ok(None) | Ok(Some(Err(_))) => return Got::Closed(None),
            Ok(other) => panic!("unexpected {other:?}"),
        }
    }
}

/// Runs one operation on the open connection: its first answer.
async fn operation(ws: &mut Ws, id: &str, query: &str, variables: Value) -> Got {
    ws.send(Message::Text(
        json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}})
            .to_string()
            .into(),
    ))
    .await
    .expect("send");
    loop {
        match next(ws, Duration::from_secs(5)).await {
            // The end of an earlier operation.
            Got::Json(v) if v["type"] == "complete" => {}
            got => return got,
        }
    }
}

/// The `next` payload of an operation answered with data or errors.
fn payload(got: Got) -> Value {
    match got {
        Got::Json(v) if v["type"] == "next" => v["payload"].clone(),
        other => panic!("expected a result, got {other:?}"),
    }
}

async fn admin_id(s: &TestServer, name: &str) -> Value {
    s.gql()
        .ok(
            "query($n: String) { users(usernameContains: $n) { id username } }",
            json!({"n": name}),
        )
        .await["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["username"] == name)
        .expect("user")["id"]
        .clone()
}

/// A product type and product created by the admin: the product's id.
async fn product(s: &TestServer, name: &str) -> Value {
    let pt = s
        .gql()
        .ok(
            "mutation($n: String!) { createProductType(input: {name: $n}) { productType { id } } }",
            json!({"n": format!("{name} type")}),
        )
        .await["createProductType"]["productType"]["id"]
        .clone();
    s.gql()
        .ok(
            "mutation($pt: ID!, $n: String!) { createProduct(input: {productType: $pt, name: $n, description: \"d\"}) { product { id } } }",
            json!({"pt": pt, "n": name}),
        )
        .await["createProduct"]["product"]["id"]
        .clone()
}

/// Waits until the policy change reached the server (over plain HTTP).
async fn until_http(s: &TestServer, token: &str, query: &str, done: fn(&Value) -> bool) {
    for _ in 0..100 {
        let r = s.gql_as(token).query(query, json!({})).await;
        if done(&r.body) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the change never showed over HTTP");
}

const PRODUCT: &str = "query($id: ID!) { product(id: $id) { id name } }";
const PRODUCTS: &str = "{ products { totalCount } }";

#[tokio::test]
async fn a_removed_membership_ends_reads_on_an_open_connection() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let p = product(&s, "Falcon").await;
    let token = crate::support::create_user(&db, "ivy", false).await;
    let ivy = admin_id(&s, "ivy").await;
    s.gql()
        .ok(
            "mutation($o: ID!, $u: ID!) { setMember(input: {object: $o, user: $u, role: READER}) { role } }",
            json!({"o": p, "u": ivy}),
        )
        .await;
    until_http(&s, &token, PRODUCTS, |b| {
        b["data"]["products"]["totalCount"] == 1
    })
    .await;

    let mut ws = connect(&s.base, &token).await;
    let before = payload(operation(&mut ws, "1", PRODUCT, json!({"id": p})).await);
    assert_eq!(before["data"]["product"]["name"], "Falcon", "{before}");
    let before = payload(operation(&mut ws, "2", PRODUCTS, json!({})).await);
    assert_eq!(before["data"]["products"]["totalCount"], 1, "{before}");

    s.gql()
        .ok(
            "mutation($o: ID!, $u: ID!) { removeMember(input: {object: $o, user: $u}) }",
            json!({"o": p, "u": ivy}),
        )
        .await;
    until_http(&s, &token, PRODUCTS, |b| {
        b["data"]["products"]["totalCount"] == 0
    })
    .await;

    let after = payload(operation(&mut ws, "3", PRODUCT, json!({"id": p})).await);
    assert_eq!(
        after["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{after}"
    );
    assert!(!after.to_string().contains("Falcon"), "{after}");
    let after = payload(operation(&mut ws, "4", PRODUCTS, json!({})).await);
    assert_eq!(after["data"]["products"]["totalCount"], 0, "{after}");
}

#[tokio::test]
async fn a_demoted_superuser_loses_superuser_rights_on_the_next_operation() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let jack_id = user_with_password(&db, "jack", "jack-password", true).await;
    let jack = s
        .login("jack", "jack-password")
        .await
        .expect("jack signs in");
    let mut ws = connect(&s.base, &jack).await;
    let before = payload(operation(&mut ws, "1", "{ users { username } }", json!({})).await);
    assert!(before["data"]["users"].is_array(), "{before}");

    s.gql()
        .ok(
            "mutation($u: ID!) { setSuperuser(user: $u, superuser: false) { isSuperuser } }",
            json!({"u": gid("User", jack_id)}),
        )
        .await;
    // The very next operation, well before the periodic re-check (30 s).
    match operation(&mut ws, "2", "{ users { username } }", json!({})).await {
        Got::Closed(code) => assert_eq!(code, Some(4403)),
        Got::Json(v) => {
            assert_eq!(v["type"], "next", "{v}");
            assert_eq!(
                v["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
                "still a superuser: {v}"
            );
            assert!(v["payload"]["data"]["users"].is_null(), "{v}");
        }
        Got::Silence => panic!("no answer"),
    }
}

#[tokio::test]
async fn a_deactivated_users_open_connection_is_closed() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let kim_id = user_with_password(&db, "kim", "kim-password", false).await;
    let kim = s.login("kim", "kim-password").await.expect("kim signs in");
    let mut ws = connect(&s.base, &kim).await;
    let me = payload(operation(&mut ws, "1", "{ me { username } }", json!({})).await);
    assert_eq!(me["data"]["me"]["username"], "kim");
    s.gql()
        .ok(
            "mutation($u: ID!) { setUserActive(user: $u, active: false) { isActive } }",
            json!({"u": gid("User", kim_id)}),
        )
        .await;
    match operation(&mut ws, "2", "{ me { username } }", json!({})).await {
        Got::Closed(code) => assert_eq!(code, Some(4403)),
        other => panic!("a deactivated user's connection must close: {other:?}"),
    }
}

fn report(titles: &[&str]) -> Vec<u8> {
    let findings: Vec<Value> = titles
        .iter()
        .map(|t| json!({"title": t, "description": "d", "severity": "High", "date": "2026-11-01"}))
        .collect();
    serde_json::to_vec(&json!({"findings": findings})).expect("json")
}

async fn import(s: &TestServer, product: &str, titles: &[&str]) {
    let form = reqwest::multipart::Form::new()
        .text("scan_type", "Generic Findings Import")
        .text("product_type_name", "Web")
        .text("product_name", product.to_owned())
        .text("engagement_name", "CI")
        .text("auto_create_context", "true")
        .part(
            "file",
            reqwest::multipart::Part::bytes(report(titles)).file_name("r.json"),
        );
    let r = s
        .http
        .post(format!("{}/api/v2/import-scan/", s.base))
        .multipart(form)
        .send()
        .await
        .expect("import");
    assert_eq!(r.status(), 201);
}

#[tokio::test]
async fn a_running_subscription_does_not_keep_superuser_rights_after_demotion() {
    let db = TestDb::new().await;
    let s = TestServer::start_with(&db.url, &[("PALISADE_WS_REAUTH_SECS", "1")]).await;
    let lee_id = user_with_password(&db, "lee", "lee-password", true).await;
    let lee = s.login("lee", "lee-password").await.expect("lee signs in");
    let mut ws = connect(&s.base, &lee).await;
    ws.send(Message::Text(
        json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { findingChanges { kind finding { title } } }"}})
            .to_string()
            .into(),
    ))
    .await
    .expect("subscribe");
    tokio::time::sleep(Duration::from_millis(300)).await;
    import(&s, "Secret", &["before"]).await;
    loop {
        match next(&mut ws, Duration::from_secs(10)).await {
            Got::Json(v)
                if v["payload"]["data"]["findingChanges"]["finding"]["title"] == "before" =>
            {
                break;
            }
            Got::Json(_) => {}
            other => panic!("a superuser sees every change: {other:?}"),
        }
    }

    s.gql()
        .ok(
            "mutation($u: ID!) { setSuperuser(user: $u, superuser: false) { isSuperuser } }",
            json!({"u": gid("User", lee_id)}),
        )
        .await;
    // Past the re-check period: the connection is closed, and nothing of
    // a product Lee has no role on arrives.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    import(&s, "Secret", &["after-the-demotion"]).await;
    loop {
        match next(&mut ws, Duration::from_secs(3)).await {
            Got::Closed(code) => {
                assert_eq!(code, Some(4403));
                break;
            }
            Got::Json(v) => assert!(!v.to_string().contains("after-the-demotion"), "leaked: {v}"),
            Got::Silence => panic!("the connection stayed open after the demotion"),
        }
    }
}
