//! The HTTP surface: GraphQL over HTTP (media types, status codes, GET rules),
//! GraphiQL, health checks, body limits, WebSockets and shutdown.

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::{TestDb, TestServer};

#[tokio::test]
async fn health_ready_and_graphiql() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let r = s
        .http
        .get(format!("{}/healthz", s.base))
        .send()
        .await
        .expect("healthz");
    assert_eq!(r.status(), 200);
    let r = s
        .http
        .get(format!("{}/readyz", s.base))
        .send()
        .await
        .expect("readyz");
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.expect("json")["status"], "ready");
    let r = s
        .http
        .get(format!("{}/graphql", s.base))
        .header("accept", "text/html")
        .send()
        .await
        .expect("graphiql");
    assert_eq!(r.status(), 200);
    let html = r.text().await.expect("html");
    assert!(
        html.contains("graphiql") || html.contains("GraphiQL"),
        "GraphiQL page expected"
    );
    assert!(
        html.contains("/graphql/ws"),
        "GraphiQL knows the subscription endpoint"
    );
}

#[tokio::test]
async fn readyz_reports_pending_migrations() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    db.client()
        .await
        .batch_execute("DELETE FROM __diesel_schema_migrations WHERE version = (SELECT max(version) FROM __diesel_schema_migrations)")
        .await
        .expect("forget a migration");
    let r = s
        .http
        .get(format!("{}/readyz", s.base))
        .send()
        .await
        .expect("readyz");
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.expect("json");
    assert!(
        body["reason"]
            .as_str()
            .unwrap_or("")
            .contains("migrations pending"),
        "{body}"
    );
}

#[tokio::test]
async fn get_queries_work_and_get_mutations_are_refused() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let url = format!("{}/graphql", s.base);
    let r = s
        .http
        .get(
            url::Url::parse_with_params(&url, &[("query", "{ productTypes { totalCount } }")])
                .expect("url"),
        )
        .header("accept", "application/graphql-response+json")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("application/graphql-response+json")
    );
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["data"]["productTypes"]["totalCount"], 0);

    let r = s
        .http
        .get(
            url::Url::parse_with_params(
                &url,
                &[(
                    "query",
                    "mutation { createProductType(input: {name: \"x\"}) { productType { id } } }",
                )],
            )
            .expect("url"),
        )
        .header("accept", "application/json")
        .send()
        .await
        .expect("get mutation");
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "POST");
    assert_eq!(
        db.count("product_types").await,
        0,
        "a refused GET mutation changes nothing"
    );
}

#[tokio::test]
async fn media_types_and_status_codes_follow_the_spec() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let url = format!("{}/graphql", s.base);
    // A syntax error is a request error: 400 with the new media type, 200 with application/json.
    for (accept, status, ct) in [
        (
            "application/graphql-response+json",
            400,
            "application/graphql-response+json",
        ),
        ("application/json", 200, "application/json"),
    ] {
        let r = s
            .http
            .post(&url)
            .header("accept", accept)
            .json(&json!({"query": "{ productTypes { "}))
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), status, "for {accept}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .expect("ct")
                .starts_with(ct)
        );
        let body: Value = r.json().await.expect("json");
        assert!(body["errors"][0]["message"].is_string());
    }
    // Unreadable JSON body.
    let r = s
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 400);
    // Unsupported content type.
    let r = s
        .http
        .post(&url)
        .header("content-type", "text/plain")
        .body("{ __typename }")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 415);
    // Unacceptable response type.
    let r = s
        .http
        .post(&url)
        .header("accept", "text/csv")
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 406);
}

#[tokio::test]
async fn responses_are_written_once_in_selection_order() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let url = format!("{}/graphql", s.base);
    // Serialised straight from the executor's value: fields keep the order of
    // the selection (as over WebSocket), not an alphabetical one.
    let r = s
        .http
        .post(&url)
        .header("accept", "application/graphql-response+json")
        .json(&json!({"query": "{ zeta: __typename alpha: __typename }"}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    let text = r.text().await.expect("body");
    assert!(text.starts_with(r#"{"data":{"zeta":"#), "{text}");
    let zeta = text.find(r#""zeta""#).expect("zeta");
    let alpha = text.find(r#""alpha""#).expect("alpha");
    assert!(zeta < alpha, "{text}");
    // A document refused before execution has no `data` entry at all.
    let r = s
        .http
        .post(&url)
        .header("accept", "application/graphql-response+json")
        .json(&json!({"query": "{ productTypes { "}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.expect("json");
    assert!(body.get("data").is_none(), "{body}");
    assert!(body["errors"][0]["message"].is_string(), "{body}");
}

#[tokio::test]
async fn oversized_bodies_get_413_and_change_nothing() {
    let db = TestDb::new().await;
    let s = TestServer::start_with(&db.url, &[("PALISADE_MAX_UPLOAD_BYTES", "4096")]).await;
    let big = "x".repeat(10_000);
    let r = s
        .http
        .post(format!("{}/graphql", s.base))
        .json(&json!({"query": "mutation($d: String) { createProductType(input: {name: \"big\", description: $d}) { productType { id } } }", "variables": {"d": big}}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 413);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("PALISADE_MAX_UPLOAD_BYTES")
    );
    assert_eq!(db.count("product_types").await, 0);
}

async fn ws_handshake(base: &str, protocol: &str, init_type: &str, ack_type: &str) {
    let url = format!("{}/graphql/ws", base.replace("http://", "ws://"));
    let mut req = url.into_client_request().expect("request");
    req.headers_mut()
        .insert("sec-websocket-protocol", protocol.parse().expect("header"));
    let (mut ws, resp) = tokio_tungstenite::connect_async(req)
        .await
        .expect("connect");
    assert_eq!(resp.headers()["sec-websocket-protocol"], protocol);
    ws.send(Message::Text(
        json!({"type": init_type, "payload": {}}).to_string().into(),
    ))
    .await
    .expect("send init");
    let msg = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
        .await
        .expect("ack in time")
        .expect("message")
        .expect("ok");
    let v: Value = serde_json::from_str(msg.to_text().expect("text")).expect("json");
    assert_eq!(v["type"], ack_type);
}

#[tokio::test]
async fn websocket_speaks_both_subscription_protocols() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    ws_handshake(
        &s.base,
        "graphql-transport-ws",
        "connection_init",
        "connection_ack",
    )
    .await;
    ws_handshake(&s.base, "graphql-ws", "connection_init", "connection_ack").await;
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws_open(base: &str, protocol: &str) -> Ws {
    let url = format!("{}/graphql/ws", base.replace("http://", "ws://"));
    let mut req = url.into_client_request().expect("request");
    req.headers_mut()
        .insert("sec-websocket-protocol", protocol.parse().expect("header"));
    tokio_tungstenite::connect_async(req)
        .await
        .expect("connect")
        .0
}

async fn ws_send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into()))
        .await
        .expect("send");
}

/// Text messages until the server closes: (texts, close code).
async fn ws_until_close(ws: &mut Ws) -> (Vec<Value>, Option<u16>) {
    let mut texts = Vec::new();
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
            .await
            .expect("closed in time")
        {
            Some(Ok(Message::Text(t))) => {
                texts.push(serde_json::from_str(&t).expect("json"));
            }
            Some(Ok(Message::Close(frame))) => return (texts, frame.map(|f| u16::from(f.code))),
            Some(Ok(_)) => {}
            _ => return (texts, None),
        }
    }
}

#[tokio::test]
async fn websocket_protocol_violations_close_with_the_protocols_codes() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let token = s.admin_token.clone().expect("admin");
    let sub = json!({"query": "subscription { findingChanges { seq } }"});

    // Subscribing before connection_init: 4401.
    let mut ws = ws_open(&s.base, "graphql-transport-ws").await;
    ws_send(
        &mut ws,
        json!({"id": "1", "type": "subscribe", "payload": sub}),
    )
    .await;
    assert_eq!(ws_until_close(&mut ws).await.1, Some(4401));

    // The same id twice: 4409; a second connection_init: 4429.
    for second in [
        json!({"id": "1", "type": "subscribe", "payload": sub}),
        json!({"type": "connection_init", "payload": {"token": token}}),
    ] {
        let mut ws = ws_open(&s.base, "graphql-transport-ws").await;
        ws_send(
            &mut ws,
            json!({"type": "connection_init", "payload": {"token": token}}),
        )
        .await;
        ws_send(
            &mut ws,
            json!({"id": "1", "type": "subscribe", "payload": sub}),
        )
        .await;
        ws_send(&mut ws, second.clone()).await;
        let (texts, code) = ws_until_close(&mut ws).await;
        assert_eq!(texts[0]["type"], "connection_ack", "{texts:?}");
        let want = if second["type"] == "subscribe" {
            4409
        } else {
            4429
        };
        assert_eq!(code, Some(want), "{second}");
    }

    // Not JSON: 4400. A ping is answered with a pong.
    let mut ws = ws_open(&s.base, "graphql-transport-ws").await;
    ws_send(&mut ws, json!({"type": "ping"})).await;
    ws.send(Message::Text("not json".into()))
        .await
        .expect("send");
    let (texts, code) = ws_until_close(&mut ws).await;
    assert_eq!(texts[0]["type"], "pong", "{texts:?}");
    assert_eq!(code, Some(4400));

    // Legacy graphql-ws with a bad token: connection_error, then closed.
    let mut ws = ws_open(&s.base, "graphql-ws").await;
    ws_send(
        &mut ws,
        json!({"type": "connection_init", "payload": {"token": "pal_wrong"}}),
    )
    .await;
    let (texts, _) = ws_until_close(&mut ws).await;
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert_eq!(texts[0]["type"], "connection_error", "{texts:?}");

    // A stopped subscription is completed and its id can be used again.
    let mut ws = ws_open(&s.base, "graphql-ws").await;
    ws_send(
        &mut ws,
        json!({"type": "connection_init", "payload": {"token": token}}),
    )
    .await;
    ws_send(&mut ws, json!({"id": "a", "type": "start", "payload": sub})).await;
    ws_send(&mut ws, json!({"id": "a", "type": "stop"})).await;
    ws_send(&mut ws, json!({"id": "a", "type": "start", "payload": sub})).await;
    ws_send(&mut ws, json!({"type": "connection_terminate"})).await;
    let (texts, _) = ws_until_close(&mut ws).await;
    let types: Vec<&str> = texts.iter().filter_map(|t| t["type"].as_str()).collect();
    assert_eq!(types, ["connection_ack", "complete"], "{texts:?}");
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly() {
    let db = TestDb::new().await;
    let mut s = TestServer::start(&db.url).await;
    let status = s.stop().await.expect("exited");
    assert!(
        status.success(),
        "graceful shutdown exits 0, got {status:?}"
    );
}
