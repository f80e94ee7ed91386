//! Finding-change subscriptions over a real WebSocket: events of an import
//! arrive in order, only for readable findings, across server processes,
//! and a reconnecting client resumes where it left off.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::{TestDb, TestServer};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const SUBSCRIPTION: &str = "subscription($after: Int, $kinds: [FindingChangeKind!]) { findingChanges(afterSeq: $after, filter: {kinds: $kinds}) { seq kind productId severity finding { title } changes } }";

async fn subscribe(base: &str, token: &str, variables: Value) -> Ws {
    subscribe_query(base, token, SUBSCRIPTION, variables).await
}

async fn subscribe_query(base: &str, token: &str, query: &str, variables: Value) -> Ws {
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
        json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}})
            .to_string()
            .into(),
    ))
    .await
    .expect("init");
    let ack = next_json(&mut ws, Duration::from_secs(5))
        .await
        .expect("ack");
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    ws.send(Message::Text(
        json!({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}})
            .to_string()
            .into(),
    ))
    .await
    .expect("subscribe");
    // Let the server register the subscription before anything happens.
    tokio::time::sleep(Duration::from_millis(300)).await;
    ws
}

async fn next_json(ws: &mut Ws, wait: Duration) -> Option<Value> {
    loop {
        match tokio::time::timeout(wait, ws.next()).await {
            Err(_) => return None,
            Ok(Some(Ok(Message::Text(t)))) => return serde_json::from_str(&t).ok(),
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// The next `findingChanges` payload, or `None` after `wait` of silence.
async fn next_change(ws: &mut Ws, wait: Duration) -> Option<Value> {
    let v = next_json(ws, wait).await?;
    assert_eq!(v["type"], "next", "{v}");
    assert!(v["payload"].get("errors").is_none(), "{v}");
    Some(v["payload"]["data"]["findingChanges"].clone())
}

fn report(titles: &[&str]) -> Vec<u8> {
    let findings: Vec<Value> = titles
        .iter()
        .map(|t| json!({"title": t, "description": "d", "severity": "High", "date": "2026-11-01"}))
        .collect();
    serde_json::to_vec(&json!({"findings": findings})).expect("json")
}

async fn import(s: &TestServer, product: &str, titles: &[&str]) -> Value {
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
    r.json().await.expect("json")
}

fn gid(kind: &str, id: i64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
}

/// Imports a "Visible" product and makes a new user `reader` its Reader:
/// (product id, reader's token, reader's id).
async fn reader_of_visible_product(db: &TestDb, s: &TestServer) -> (i64, String, Value) {
    let first = import(s, "Visible", &["seed"]).await;
    let visible = first["product_id"].as_i64().expect("product");
    let reader = crate::support::create_user(db, "reader", false).await;
    let uid = s
        .gql()
        .ok("{ users(usernameContains: \"reader\") { id } }", json!({}))
        .await["users"][0]["id"]
        .clone();
    s.gql()
        .ok(
            "mutation($o: ID!, $u: ID!) { setMember(input: {object: $o, user: $u, role: READER}) { role } }",
            json!({"o": gid("Product", visible), "u": uid}),
        )
        .await;
    (visible, reader, uid)
}

#[tokio::test]
async fn import_events_arrive_in_order_and_only_for_readable_findings() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.admin_token.clone().expect("admin");
    // The reader's product exists before the subscriptions start.
    let (visible, reader, uid) = reader_of_visible_product(&db, &s).await;

    let mut all = subscribe(&s.base, &admin, json!({})).await;
    let mut mine = subscribe(&s.base, &reader, json!({})).await;
    import(&s, "Hidden", &["h1", "h2", "h3"]).await;
    import(&s, "Visible", &["v1"]).await;

    let mut seen = Vec::new();
    for _ in 0..4 {
        let e = next_change(&mut all, Duration::from_secs(10))
            .await
            .expect("event");
        seen.push(e);
    }
    let seqs: Vec<i64> = seen
        .iter()
        .map(|e| e["seq"].as_i64().expect("seq"))
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order: {seqs:?}");
    let titles: Vec<&str> = seen
        .iter()
        .map(|e| e["finding"]["title"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(titles, ["h1", "h2", "h3", "v1"]);
    assert!(
        seen.iter()
            .all(|e| e["kind"] == "created" && e["severity"] == "High"),
        "{seen:?}"
    );

    // The reader gets the visible product's event and nothing of the hidden one.
    let e = next_change(&mut mine, Duration::from_secs(10))
        .await
        .expect("event");
    assert_eq!(e["finding"]["title"], "v1", "{e}");
    assert_eq!(e["productId"], gid("Product", visible));
    assert!(
        next_change(&mut mine, Duration::from_millis(500))
            .await
            .is_none()
    );

    // Membership revoked mid-subscription: the flow stops.
    s.gql()
        .ok(
            "mutation($o: ID!, $u: ID!) { removeMember(input: {object: $o, user: $u}) }",
            json!({"o": gid("Product", visible), "u": uid}),
        )
        .await;
    import(&s, "Visible", &["v2"]).await;
    let e = next_change(&mut all, Duration::from_secs(10))
        .await
        .expect("admin still hears");
    assert_eq!(e["finding"]["title"], "v2");
    assert!(
        next_change(&mut mine, Duration::from_secs(1))
            .await
            .is_none(),
        "revoked reader hears nothing"
    );
}

#[tokio::test]
async fn changes_cross_processes_and_a_reconnect_resumes() {
    let db = TestDb::new().await;
    let one = TestServer::start(&db.url).await;
    let two = TestServer::start(&db.url).await;
    let token = one.admin_token.clone().expect("admin");
    let mut on_two = subscribe(&two.base, &token, json!({})).await;
    import(&one, "Shop", &["a", "b"]).await;
    let a = next_change(&mut on_two, Duration::from_secs(10))
        .await
        .expect("a");
    assert_eq!(a["finding"]["title"], "a");
    let seq_a = a["seq"].as_i64().expect("seq");
    drop(on_two); // the client goes away after seeing "a"

    import(&one, "Shop", &["c"]).await;
    // Reconnect to the other process, resuming after "a".
    let mut resumed = subscribe(&one.base, &token, json!({"after": seq_a})).await;
    let mut titles = Vec::new();
    while let Some(e) = next_change(&mut resumed, Duration::from_secs(2)).await {
        titles.push(e["finding"]["title"].as_str().unwrap_or("").to_owned());
    }
    assert_eq!(titles, ["b", "c"], "missed events replayed once, in order");

    // A kind filter.
    let mut dups = subscribe(&two.base, &token, json!({"kinds": ["duplicate"]})).await;
    import(&one, "Shop", &["a", "z"]).await;
    let e = next_change(&mut dups, Duration::from_secs(10))
        .await
        .expect("duplicate");
    assert_eq!(e["kind"], "duplicate");
    assert_eq!(e["finding"]["title"], "a");
    assert!(
        next_change(&mut dups, Duration::from_millis(500))
            .await
            .is_none(),
        "the new `z` is filtered out"
    );
}

#[tokio::test]
async fn hand_edits_emit_events_with_before_and_after() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let token = s.admin_token.clone().expect("admin");
    import(&s, "Shop", &["x"]).await;
    let id =
        s.gql().ok("{ findings { nodes { id } } }", json!({})).await["findings"]["nodes"][0]["id"]
            .clone();
    let mut ws = subscribe(&s.base, &token, json!({})).await;
    s.gql()
        .ok(
            "mutation($id: ID!) { updateFinding(input: {id: $id, isMitigated: true}) { finding { id } } }",
            json!({"id": id}),
        )
        .await;
    s.gql()
        .ok(
            "mutation($id: ID!) { updateFinding(input: {id: $id, severity: LOW}) { finding { id } } }",
            json!({"id": id}),
        )
        .await;
    s.gql()
        .ok(
            "mutation($id: ID!) { createNote(input: {parent: $id, entry: \"checked\"}) { note { id } } }",
            json!({"id": id}),
        )
        .await;
    s.gql()
        .ok(
            "mutation($id: ID!) { deleteFinding(input: {id: $id}) { deletedId } }",
            json!({"id": id}),
        )
        .await;
    let mut kinds = Vec::new();
    while let Some(e) = next_change(&mut ws, Duration::from_secs(3)).await {
        if e["kind"] == "mitigated" {
            assert_eq!(
                e["changes"]["is_mitigated"],
                json!({"before": false, "after": true}),
                "{e}"
            );
        }
        if e["kind"] == "severity_changed" {
            assert_eq!(
                e["changes"]["severity"],
                json!({"before": "High", "after": "Low"}),
                "{e}"
            );
        }
        kinds.push(e["kind"].as_str().unwrap_or("").to_owned());
    }
    assert_eq!(
        kinds,
        ["mitigated", "severity_changed", "note_added", "deleted"]
    );
}

const SEQ_ONLY: &str =
    "subscription($after: Int) { findingChanges(afterSeq: $after) { seq kind } }";

#[tokio::test]
async fn a_long_absence_is_replayed_page_by_page_without_gaps_or_repeats() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let token = s.admin_token.clone().expect("admin");
    import(&s, "Shop", &["first"]).await;
    let head: i64 = db
        .client()
        .await
        .query_one("SELECT max(seq) FROM events", &[])
        .await
        .expect("head")
        .get(0);
    // More than two replay pages happen while the client is away.
    let titles: Vec<String> = (0..4500).map(|i| format!("finding {i}")).collect();
    let refs: Vec<&str> = titles.iter().map(String::as_str).collect();
    import(&s, "Shop", &refs).await;

    let mut ws = subscribe_query(&s.base, &token, SEQ_ONLY, json!({"after": head})).await;
    let mut seqs = Vec::new();
    while let Some(e) = next_change(&mut ws, Duration::from_secs(3)).await {
        seqs.push(e["seq"].as_i64().expect("seq"));
    }
    assert_eq!(seqs.len(), 4500, "every missed event arrives once");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order");
    assert!(seqs[0] > head);
    // Then live events follow.
    import(&s, "Shop", &["after"]).await;
    let live = next_change(&mut ws, Duration::from_secs(10))
        .await
        .expect("live");
    assert!(live["seq"].as_i64().expect("seq") > seqs[4499]);
}

#[tokio::test]
async fn events_past_the_retention_window_are_pruned_and_resuming_from_them_is_refused() {
    let db = TestDb::new().await;
    let s = TestServer::start_with(&db.url, &[("PALISADE_EVENT_RETENTION_SECS", "4")]).await;
    let token = s.admin_token.clone().expect("admin");
    import(&s, "Shop", &["old-1", "old-2"]).await;
    let old: i64 = db
        .client()
        .await
        .query_one("SELECT min(seq) FROM events", &[])
        .await
        .expect("min")
        .get(0);
    // The pruner runs every second with a 4 s window.
    let mut pruned = false;
    for _ in 0..75 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if db.count("events").await == 0 {
            pruned = true;
            break;
        }
    }
    assert!(pruned, "old events were pruned");
    import(&s, "Shop", &["new"]).await;
    let new: i64 = db
        .client()
        .await
        .query_one("SELECT max(seq) FROM events", &[])
        .await
        .expect("max")
        .get(0);

    // Resuming from before the pruned range is an error that says so.
    let mut ws = subscribe_query(&s.base, &token, SEQ_ONLY, json!({"after": old - 1})).await;
    let msg = next_json(&mut ws, Duration::from_secs(5))
        .await
        .expect("answer");
    // A field error arrives as `next` with errors (or as `error`).
    let err = if msg["payload"].is_array() {
        &msg["payload"][0]
    } else {
        &msg["payload"]["errors"][0]
    };
    assert_eq!(err["extensions"]["code"], "EVENTS_EXPIRED", "{msg}");
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.contains("retention")),
        "{msg}"
    );

    // Resuming from the last pruned event onwards still works.
    let through: i64 = db
        .client()
        .await
        .query_one("SELECT pruned_through FROM event_log", &[])
        .await
        .expect("watermark")
        .get(0);
    assert!(through > old && through < new, "watermark {through}");
    let mut ws = subscribe_query(&s.base, &token, SEQ_ONLY, json!({"after": through})).await;
    let e = next_change(&mut ws, Duration::from_secs(5))
        .await
        .expect("the kept event");
    assert_eq!(e["seq"].as_i64(), Some(new));
}

#[tokio::test]
async fn batches_carry_what_committed_together_in_few_messages() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let token = s.admin_token.clone().expect("admin");
    import(&s, "Shop", &["seed"]).await;
    let mut ws = subscribe_query(
        &s.base,
        &token,
        "subscription { findingChangeBatches(maxBatch: 100) { seq kind } }",
        json!({}),
    )
    .await;
    let titles: Vec<String> = (0..350).map(|i| format!("f{i}")).collect();
    let refs: Vec<&str> = titles.iter().map(String::as_str).collect();
    import(&s, "Shop", &refs).await;
    let (mut seqs, mut messages) = (Vec::new(), 0);
    while seqs.len() < 350 {
        let v = next_json(&mut ws, Duration::from_secs(10))
            .await
            .expect("a batch");
        assert_eq!(v["type"], "next", "{v}");
        let batch = v["payload"]["data"]["findingChangeBatches"]
            .as_array()
            .expect("a list")
            .clone();
        assert!(!batch.is_empty() && batch.len() <= 100, "{}", batch.len());
        for e in batch {
            assert_eq!(e["kind"], "created");
            seqs.push(e["seq"].as_i64().expect("seq"));
        }
        messages += 1;
    }
    assert_eq!(seqs.len(), 350);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order, no repeats");
    assert!(messages <= 10, "{messages} messages for 350 events");
    assert!(
        next_json(&mut ws, Duration::from_millis(500))
            .await
            .is_none(),
        "nothing more"
    );
}

/// Every field of a change, once as plain fields (written by the shared
/// encoder) and once inside an inline fragment (run by the GraphQL executor).
const EVERY_FIELD: &str = "seq kind findingId productId productTypeId engagementId testId actorId severity changes createdAt __typename";

async fn collect(ws: &mut Ws, field: &str, want: usize) -> Vec<Value> {
    let mut out = Vec::new();
    while out.len() < want {
        let Some(v) = next_json(ws, Duration::from_secs(10)).await else {
            break;
        };
        assert_eq!(v["type"], "next", "{v}");
        assert!(v["payload"].get("errors").is_none(), "{v}");
        match &v["payload"]["data"][field] {
            Value::Array(items) => out.extend(items.iter().cloned()),
            item => out.push(item.clone()),
        }
    }
    out
}

#[tokio::test]
async fn the_shared_encoder_writes_what_the_executor_would() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.admin_token.clone().expect("admin");
    let (visible, reader, _) = reader_of_visible_product(&db, &s).await;

    let plain = format!("subscription {{ findingChanges {{ {EVERY_FIELD} }} }}");
    let fragment =
        format!("subscription {{ findingChanges {{ ... on FindingChange {{ {EVERY_FIELD} }} }} }}");
    let batched = format!("subscription {{ all: findingChangeBatches {{ {EVERY_FIELD} }} }}");
    let mut fast = subscribe_query(&s.base, &admin, &plain, json!({})).await;
    let mut executor = subscribe_query(&s.base, &admin, &fragment, json!({})).await;
    let mut batches = subscribe_query(&s.base, &admin, &batched, json!({})).await;
    let mut mine = subscribe_query(&s.base, &reader, &plain, json!({})).await;

    import(&s, "Hidden", &["h1", "h2"]).await;
    import(&s, "Visible", &["v1"]).await;
    let id = s
        .gql()
        .ok(
            "{ findings(filter: {search: \"v1\"}) { nodes { id } } }",
            json!({}),
        )
        .await["findings"]["nodes"][0]["id"]
        .clone();
    s.gql()
        .ok(
            "mutation($id: ID!) { updateFinding(input: {id: $id, severity: LOW}) { finding { id } } }",
            json!({"id": id}),
        )
        .await;

    let want = collect(&mut executor, "findingChanges", 4).await;
    assert_eq!(want.len(), 4, "{want:?}");
    assert_eq!(want[3]["kind"], "severity_changed", "{want:?}");
    assert_eq!(
        want[3]["changes"]["severity"],
        json!({"before": "High", "after": "Low"})
    );
    assert_eq!(want[3]["__typename"], "FindingChange");
    assert!(
        want[3]["createdAt"]
            .as_str()
            .is_some_and(|t| t.contains('T'))
    );
    assert_eq!(collect(&mut fast, "findingChanges", 4).await, want);
    assert_eq!(collect(&mut batches, "all", 4).await, want);
    // The reader's copy holds the visible product's changes only.
    let visible_only: Vec<Value> = want
        .iter()
        .filter(|e| e["productId"] == gid("Product", visible))
        .cloned()
        .collect();
    assert_eq!(visible_only.len(), 2);
    assert_eq!(collect(&mut mine, "findingChanges", 2).await, visible_only);
    assert!(
        next_json(&mut mine, Duration::from_millis(500))
            .await
            .is_none(),
        "nothing of the hidden product"
    );
}

#[tokio::test]
async fn revoking_a_token_closes_the_subscriptions_opened_with_it() {
    let db = TestDb::new().await;
    let s = TestServer::start_with(&db.url, &[("PALISADE_WS_REAUTH_SECS", "1")]).await;
    let d = s
        .gql()
        .ok(
            "mutation { createApiToken(input: {name: \"bot\"}) { token apiToken { id } } }",
            json!({}),
        )
        .await;
    let token = d["createApiToken"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let token_id = d["createApiToken"]["apiToken"]["id"].clone();
    let mut ws = subscribe_query(&s.base, &token, SEQ_ONLY, json!({})).await;
    import(&s, "Shop", &["before"]).await;
    assert!(
        next_change(&mut ws, Duration::from_secs(10))
            .await
            .is_some()
    );

    s.gql()
        .ok(
            "mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }",
            json!({"id": token_id}),
        )
        .await;
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => {}
                _ => return None,
            }
        }
    })
    .await
    .expect("closed within the re-check period");
    assert_eq!(closed, Some(4403));
}

#[tokio::test]
async fn a_change_resolves_where_it_happened_and_who_made_it() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.admin_token.clone().expect("admin");
    let q = "subscription($after: Int) { findingChanges(afterSeq: $after) { seq productId product { name } productType { name } engagement { name } test { id } actor { username } } }";
    let mut ws = subscribe_query(&s.base, &admin, q, json!({})).await;
    let imported = import(&s, "Shop", &["one"]).await;
    let e = next_change(&mut ws, Duration::from_secs(10))
        .await
        .expect("event");
    let product = imported["product_id"].as_i64().expect("product");
    assert_eq!(e["productId"], gid("Product", product), "{e}");
    assert_eq!(e["product"]["name"], "Shop", "{e}");
    assert_eq!(e["productType"]["name"], "Web", "{e}");
    assert_eq!(e["engagement"]["name"], "CI", "{e}");
    let test = imported["test_id"].as_i64().expect("test");
    assert_eq!(e["test"]["id"], gid("Test", test), "{e}");
    assert_eq!(e["actor"]["username"], "admin", "{e}");

    // Once the product is gone the change still names it by id, and the
    // objects answer null rather than failing the event.
    s.gql()
        .ok(
            "mutation($id: ID!) { deleteProduct(input: {id: $id}) { deletedId } }",
            json!({"id": gid("Product", product)}),
        )
        .await;
    let seq = e["seq"].as_i64().expect("seq");
    let mut again = subscribe_query(&s.base, &admin, q, json!({"after": seq - 1})).await;
    let e = next_change(&mut again, Duration::from_secs(10))
        .await
        .expect("replayed");
    assert_eq!(e["seq"], seq);
    assert_eq!(e["productId"], gid("Product", product), "{e}");
    for field in ["product", "productType", "engagement", "test"] {
        if field == "productType" {
            assert_eq!(
                e[field]["name"], "Web",
                "the type outlives the product: {e}"
            );
        } else {
            assert!(e[field].is_null(), "{field}: {e}");
        }
    }
}
