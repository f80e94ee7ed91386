//! Webhooks against a local HTTP receiver: signed deliveries, retries after
//! failures, the delivery log, permissions, and no repeat after a restart.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};

use crate::support::{TestDb, TestServer};

/// The receivers listen on 127.0.0.1, which outbound calls refuse unless the
/// operator allows it.
const ALLOW_LOCAL: (&str, &str) = ("PALISADE_OUTBOUND_ALLOW", "127.0.0.1");

#[derive(Default)]
struct Receiver {
    /// (headers, body) of every request.
    seen: Mutex<Vec<(HeaderMap, Vec<u8>)>>,
    /// Answer 500 to this many requests first.
    fail_first: Mutex<usize>,
}

async fn receive(
    State(r): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    r.seen.lock().expect("lock").push((headers, body.to_vec()));
    let mut fail = r.fail_first.lock().expect("lock");
    if *fail > 0 {
        *fail -= 1;
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

async fn start_receiver(fail_first: usize) -> (String, Arc<Receiver>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let state = Arc::new(Receiver {
        fail_first: Mutex::new(fail_first),
        ..Default::default()
    });
    let app = axum::Router::new()
        .route("/hook", post(receive))
        .with_state(state.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, state)
}

fn expected_signature(secret: &str, ts: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut msg = format!("{ts}.").into_bytes();
    msg.extend_from_slice(body);
    format!(
        "sha256={}",
        hex::encode(ring::hmac::sign(&key, &msg).as_ref())
    )
}

async fn import(s: &TestServer, titles: &[&str]) {
    let findings: Vec<Value> = titles
        .iter()
        .map(|t| json!({"title": t, "description": "d", "severity": "High", "date": "2026-11-01"}))
        .collect();
    let form = reqwest::multipart::Form::new()
        .text("scan_type", "Generic Findings Import")
        .text("product_type_name", "Web")
        .text("product_name", "Shop")
        .text("engagement_name", "CI")
        .text("auto_create_context", "true")
        .part(
            "file",
            reqwest::multipart::Part::bytes(
                serde_json::to_vec(&json!({"findings": findings})).expect("json"),
            )
            .file_name("r.json"),
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

async fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn deliveries_are_signed_retried_and_logged() {
    let (url, receiver) = start_receiver(2).await;
    let db = TestDb::new().await;
    let s = TestServer::start_with(&db.url, &[ALLOW_LOCAL]).await;
    let d = s
        .gql()
        .ok(
            "mutation($u: String!) { createWebhook(input: {name: \"bot\", url: $u, secret: \"0123456789abcdef-secret\", kinds: [created]}) { secret webhook { id active } } }",
            json!({"u": url}),
        )
        .await;
    let hook = d["createWebhook"]["webhook"]["id"].clone();
    assert_eq!(d["createWebhook"]["secret"], "0123456789abcdef-secret");
    import(&s, &["one"]).await;
    // Two failures (500), then success after backoffs of 2 s and 4 s.
    wait_for("the third attempt", Duration::from_secs(30), || {
        receiver.seen.lock().expect("lock").len() >= 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen = receiver.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 3, "no delivery after the success");
    for (headers, body) in &seen {
        let ts = headers["x-palisade-timestamp"].to_str().expect("ts");
        let sig = headers["x-palisade-signature"].to_str().expect("sig");
        assert_eq!(sig, expected_signature("0123456789abcdef-secret", ts, body));
        let v: Value = serde_json::from_slice(body).expect("json");
        assert_eq!(v["kind"], "created");
        assert_eq!(headers["x-palisade-event"], "created");
    }
    assert_eq!(
        seen[0].0["x-palisade-delivery"], seen[2].0["x-palisade-delivery"],
        "one delivery, three attempts"
    );
    let log = s
        .gql()
        .ok(
            "{ webhooks { id failingSince deliveries { status attempts lastStatusCode lastError deliveredAt } } }",
            json!({}),
        )
        .await;
    let w = &log["webhooks"][0];
    assert_eq!(w["id"], hook);
    assert_eq!(
        w["failingSince"],
        Value::Null,
        "a success clears the failure clock"
    );
    let dlv = &w["deliveries"][0];
    assert_eq!(dlv["status"], "succeeded");
    assert_eq!(dlv["attempts"], 3);
    assert_eq!(dlv["lastStatusCode"], 204);
    assert!(!dlv["deliveredAt"].is_null());

    // Webhooks are configuration: a user without rights sees none and cannot add global ones.
    let token = crate::support::create_user(&db, "someone", false).await;
    let g = s.gql_as(&token);
    assert_eq!(
        g.ok("{ webhooks { id } }", json!({})).await["webhooks"],
        json!([])
    );
    let r = g
        .query(
            "mutation { createWebhook(input: {name: \"x\", url: \"http://example.com/\"}) { secret } }",
            json!({}),
        )
        .await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"));
}

#[tokio::test]
async fn a_restart_mid_retry_delivers_once() {
    let (url, receiver) = start_receiver(1).await;
    let db = TestDb::new().await;
    let mut s = TestServer::start_with(&db.url, &[ALLOW_LOCAL]).await;
    s.gql()
        .ok(
            "mutation($u: String!) { createWebhook(input: {name: \"bot\", url: $u}) { webhook { id } } }",
            json!({"u": url}),
        )
        .await;
    import(&s, &["one"]).await;
    wait_for("the failed first attempt", Duration::from_secs(15), || {
        !receiver.seen.lock().expect("lock").is_empty()
    })
    .await;
    s.stop().await;
    // Restart while the retry waits; two processes now, both dispatching.
    let s1 = TestServer::start_with(&db.url, &[ALLOW_LOCAL]).await;
    let _s2 = TestServer::start_with(&db.url, &[ALLOW_LOCAL]).await;
    wait_for("the retry", Duration::from_secs(30), || {
        receiver.seen.lock().expect("lock").len() >= 2
    })
    .await;
    // Another change, seen by both processes, is delivered once.
    import(&s1, &["two"]).await;
    wait_for("the second event", Duration::from_secs(30), || {
        receiver.seen.lock().expect("lock").len() >= 3
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen = receiver.seen.lock().expect("lock").clone();
    let deliveries: Vec<String> = seen
        .iter()
        .map(|(h, _)| h["x-palisade-delivery"].to_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(seen.len(), 3, "{deliveries:?}");
    assert_eq!(
        deliveries[0], deliveries[1],
        "the retry of the first delivery"
    );
    assert_ne!(deliveries[1], deliveries[2]);
    let c = db.client().await;
    let rows: i64 = c
        .query_one(
            "SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(rows, 2);
}

#[tokio::test]
async fn a_webhook_failing_for_a_day_is_disabled_and_its_owner_told() {
    let (url, receiver) = start_receiver(usize::MAX).await;
    let db = TestDb::new().await;
    let s = TestServer::start_with(&db.url, &[ALLOW_LOCAL]).await;
    s.gql()
        .ok(
            "mutation($u: String!) { createWebhook(input: {name: \"dead\", url: $u}) { webhook { id } } }",
            json!({"u": url}),
        )
        .await;
    let c = db.client().await;
    c.execute(
        "UPDATE webhooks SET failing_since = now() - interval '25 hours'",
        &[],
    )
    .await
    .expect("age");
    import(&s, &["one"]).await;
    wait_for("an attempt", Duration::from_secs(15), || {
        !receiver.seen.lock().expect("lock").is_empty()
    })
    .await;
    let start = Instant::now();
    loop {
        let d = s
            .gql()
            .ok("{ webhooks { active deliveries { status } } }", json!({}))
            .await;
        if d["webhooks"][0]["active"] == false {
            let statuses = d["webhooks"][0]["deliveries"].to_string();
            assert!(statuses.contains("failed"), "{statuses}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "not disabled: {d}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let disabled: i64 = c
        .query_one(
            "SELECT count(*) FROM events WHERE kind = 'webhook_disabled'",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(disabled, 1, "the owner is told by an event");
    // Nothing more is sent to a disabled webhook.
    let attempts = receiver.seen.lock().expect("lock").len();
    import(&s, &["two"]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.seen.lock().expect("lock").len(), attempts);
}
