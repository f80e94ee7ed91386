//! Resource limits that hold before authentication and before work: body
//! sizes, document shape, complexity of nested lists, SQL statement time,
//! subscriptions, parse slots, the import queue, form fields, and the
//! GraphQL-over-HTTP answer to documents that never ran.

use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

use crate::support::rest::{IMPORT, import_form, rest_import};
use crate::support::ws::{Ws, send};
use crate::support::{TestDb, TestServer};

/// Sends `head` (request line and headers) and at most `body_prefix`, never
/// the rest of the declared body, and returns the status line the server
/// answers within five seconds. A server that waits for the whole body
/// before answering fails this.
async fn status_without_body(s: &TestServer, head: &str, body_prefix: &[u8]) -> String {
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    tcp.write_all(head.as_bytes()).await.expect("head");
    tcp.write_all(body_prefix).await.expect("prefix");
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
        .await
        .expect("the server waited for a body it should have refused unread")
        .expect("read");
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

#[tokio::test]
async fn a_large_json_body_without_credentials_is_refused_before_it_is_read() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        s.base.trim_start_matches("http://"),
        2 * 1024 * 1024
    );
    let status = status_without_body(&s, &head, b"{\"query\":\"{__typename").await;
    assert!(status.contains(" 413 "), "{status}");

    // A body over the limit without a Content-Length is cut off as it streams.
    let big = format!(
        "{{\"query\":\"{{__typename{}}}\"}}",
        " ".repeat(2 * 1024 * 1024)
    );
    let r = s
        .anonymous_http
        .post(format!("{}/graphql", s.base))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(
            big.into_bytes()
                .chunks(64 * 1024)
                .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
                .collect::<Vec<_>>(),
        )))
        .send()
        .await;
    // The server may answer 413 and close while the client is still sending;
    // the client then sees the connection cut instead of the answer.
    match r {
        Ok(r) => assert_eq!(r.status().as_u16(), 413),
        Err(e) => {
            let chain = format!("{e:?}").to_lowercase();
            assert!(
                ["reset by peer", "broken pipe", "connection closed"]
                    .iter()
                    .any(|w| chain.contains(w)),
                "{chain}"
            );
        }
    }
}

#[tokio::test]
async fn a_multipart_body_without_valid_credentials_is_refused_before_it_is_read() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let host = s.base.trim_start_matches("http://").to_owned();
    let prefix = b"--xyz\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n";
    for auth in ["", "Authorization: Token pal_not-a-real-token\r\n"] {
        let head = format!(
            "POST /graphql HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: {}\r\n\r\n",
            100 * 1024 * 1024
        );
        let status = status_without_body(&s, &head, prefix).await;
        assert!(status.contains(" 401 "), "{auth:?}: {status}");
    }
}

/// POSTs `query` as the admin with `accept`; (status, body).
async fn post(s: &TestServer, accept: &str, query: &str) -> (u16, Value) {
    let r = s
        .http
        .post(format!("{}/graphql", s.base))
        .header("accept", accept)
        .json(&json!({"query": query}))
        .send()
        .await
        .expect("post");
    let status = r.status().as_u16();
    (status, r.json().await.expect("json"))
}

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

#[tokio::test]
async fn ten_thousand_aliases_are_refused_before_execution() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let aliases: String = (0..10_000).map(|i| format!(" a{i}: __typename")).collect();
    let (status, body) = post(&s, GRAPHQL_RESPONSE, &format!("{{{aliases} }}")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.get("data").is_none(), "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or("");
    assert!(message.contains("PALISADE_GRAPHQL_MAX_FIELDS"), "{message}");
    // A document within the limit runs.
    let few: String = (0..100).map(|i| format!(" a{i}: __typename")).collect();
    let (status, body) = post(&s, GRAPHQL_RESPONSE, &format!("{{{few} }}")).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn directives_over_the_limit_are_refused_before_validation() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let directives = " @a".repeat(5_000);
    let (status, body) = s
        .anonymous_http
        .post(format!("{}/graphql", s.base))
        .header("accept", GRAPHQL_RESPONSE)
        .json(&json!({"query": format!("{{ __typename{directives} }}")}))
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .expect("post");
    let body: Value = body.json().await.expect("json");
    assert_eq!(status, 400, "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or("");
    assert!(message.contains("number of directives"), "{message}");
}

#[tokio::test]
async fn nested_unpaged_lists_are_held_to_the_complexity_limit() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    // The review's query: 100 tests x their imports x 1000 actions x 100 findings.
    let nested = "{ tests(first: 100) { nodes { testImports { actions(first: 1000) { finding { test { findings(first: 100) { nodes { description } } } } } } } } }";
    let (status, body) = post(&s, GRAPHQL_RESPONSE, nested).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("complex"),
        "{body}"
    );
    // `nodes` runs its selection once per id.
    let ids: Vec<String> = (1..=100)
        .map(|i| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("Test:{i}"))
        })
        .collect();
    let by_ids = format!(
        "{{ nodes(ids: {}) {{ ... on Test {{ findings(first: 100) {{ nodes {{ id title description severity active }} }} }} }} }}",
        serde_json::to_string(&ids).expect("ids")
    );
    let (status, body) = post(&s, GRAPHQL_RESPONSE, &by_ids).await;
    assert_eq!(status, 400, "{body}");
    // The same selection for one id is fine.
    let one = by_ids.replace(&serde_json::to_string(&ids).expect("ids"), "[\"x\"]");
    let (status, body) = post(&s, GRAPHQL_RESPONSE, &one).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_document_that_never_ran_is_answered_without_data() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    for query in [
        "{ noSuchField }",
        "{ __typename",
        "query A { __typename } query A { __typename }",
    ] {
        let (status, body) = post(&s, GRAPHQL_RESPONSE, query).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.get("data").is_none(), "{query}: {body}");
        assert!(body["errors"][0]["message"].is_string(), "{body}");
        let (status, body) = post(&s, "application/json", query).await;
        assert!(status == 200 || status == 400, "{query}: {status}");
        assert!(body.get("data").is_none(), "{query}: {body}");
        assert!(body["errors"][0]["message"].is_string(), "{body}");
    }
    // An error while executing keeps `data`.
    let (status, body) = post(&s, GRAPHQL_RESPONSE, "{ node(id: \"eA\") { id } }").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("data").is_some(), "{body}");
}

#[tokio::test]
async fn a_slow_request_statement_is_stopped_by_the_statement_timeout() {
    let db = TestDb::new().await;
    let s = TestServer::start_with(
        &db.url,
        &[("PALISADE_DATABASE_STATEMENT_TIMEOUT_MS", "200")],
    )
    .await;
    // A test holding enough text that a search through it takes seconds.
    let admin = s.gql();
    let form = import_form(&CONTEXT, generic_report("seed", 10), "r.json");
    let r = rest_import(&s, IMPORT, None, form).await;
    assert_eq!(r.status, 201);
    let c = db.client().await;
    c.batch_execute(
        "INSERT INTO findings (test_id, engagement_id, product_id, title, severity, \
           numerical_severity, description) \
         SELECT test_id, engagement_id, product_id, 'finding ' || g, 'Low', 'S3', \
           repeat(md5(g::text), 64) \
         FROM generate_series(1, 100000) g, (SELECT test_id, engagement_id, product_id \
           FROM findings LIMIT 1) f",
    )
    .await
    .expect("findings");

    let started = Instant::now();
    let r = admin
        .query(
            "{ findings(filter: {search: \"no such text anywhere\"}) { totalCount } }",
            json!({}),
        )
        .await;
    assert!(
        r.body.get("errors").is_some(),
        "the scan ran to completion: {}",
        r.body
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    // Ordinary requests still work under the timeout.
    admin.ok("{ productTypes { totalCount } }", json!({})).await;
}

async fn ws_connect(s: &TestServer) -> Ws {
    let mut ws = crate::support::ws::open(&s.base).await;
    let token = s.admin_token.clone().expect("admin");
    send(
        &mut ws,
        &json!({"type": "connection_init", "payload": {"token": token}}),
    )
    .await;
    assert_eq!(next(&mut ws).await.expect("ack")["type"], "connection_ack");
    ws
}

/// The next text message within `wait`, or `None`.
async fn next_within(ws: &mut Ws, wait: Duration) -> Option<Value> {
    loop {
        match tokio::time::timeout(wait, ws.next()).await {
            Err(_) => return None,
            Ok(Some(Ok(Message::Text(t)))) => {
                return Some(serde_json::from_str(&t).expect("json"));
            }
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            Ok(other) => panic!("unexpected {other:?}"),
        }
    }
}

async fn next(ws: &mut Ws) -> Option<Value> {
    next_within(ws, Duration::from_secs(5)).await
}

async fn subscribe(ws: &mut Ws, id: &str) {
    send(ws, &json!({"id": id, "type": "subscribe", "payload": {"query": "subscription { findingChanges { seq } }"}}),
    )
    .await;
}

#[tokio::test]
async fn subscriptions_are_capped_per_connection_and_per_user() {
    let db = TestDb::new().await;
    let s = TestServer::start_with(
        &db.url,
        &[
            ("PALISADE_WS_MAX_SUBSCRIPTIONS_PER_CONNECTION", "2"),
            ("PALISADE_WS_MAX_SUBSCRIPTIONS_PER_USER", "3"),
        ],
    )
    .await;
    let mut a = ws_connect(&s).await;
    subscribe(&mut a, "1").await;
    subscribe(&mut a, "2").await;
    subscribe(&mut a, "3").await;
    let refused = next(&mut a)
        .await
        .expect("an answer to the third subscribe");
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["id"], "3");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED");
    // The connection and its subscriptions go on.
    send(&mut a, &json!({"type": "ping"})).await;
    assert_eq!(next(&mut a).await.expect("pong")["type"], "pong");

    // A second connection of the same user reaches the per-user cap.
    let mut b = ws_connect(&s).await;
    subscribe(&mut b, "1").await;
    assert!(
        next_within(&mut b, Duration::from_millis(500))
            .await
            .is_none(),
        "the user's third subscription is within the cap"
    );
    subscribe(&mut b, "2").await;
    let refused = next(&mut b)
        .await
        .expect("an answer to the fourth subscribe");
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED");

    // Completing one frees its place.
    send(&mut a, &json!({"id": "1", "type": "complete"})).await;
    let _ = next_within(&mut a, Duration::from_millis(500)).await;
    subscribe(&mut b, "2").await;
    assert!(
        next_within(&mut b, Duration::from_millis(500))
            .await
            .is_none(),
        "a freed place is usable again"
    );
    // Closing a connection frees all of its places.
    drop(a);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut c = ws_connect(&s).await;
    subscribe(&mut c, "1").await;
    assert!(
        next_within(&mut c, Duration::from_millis(500))
            .await
            .is_none(),
        "the closed connection's places were not given back"
    );
    subscribe(&mut b, "3").await;
    let refused = next(&mut b).await.expect("per-connection cap still holds");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED");
}

/// `previewReport` of `bytes` as `scanType`, sent with `http`'s credentials.
async fn preview_as(
    http: reqwest::Client,
    base: String,
    scan_type: String,
    bytes: Vec<u8>,
) -> Value {
    let form = Form::new()
        .text("operations", json!({"query": "mutation($t: String, $file: Upload!) { previewReport(input: {scanType: $t, file: $file}) { findingCount } }", "variables": {"t": scan_type, "file": null}}).to_string())
        .text("map", json!({"0": ["variables.file"]}).to_string())
        .part("0", Part::bytes(bytes).file_name("r.txt"));
    http.post(format!("{base}/graphql"))
        .multipart(form)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json")
}

/// `previewReport` as the admin.
async fn preview(s: &TestServer, scan_type: &str, bytes: Vec<u8>) -> Value {
    preview_as(s.http.clone(), s.base.clone(), scan_type.to_owned(), bytes).await
}

/// A preview as the admin running in the background.
fn spawn_preview(s: &TestServer, scan_type: &str, bytes: &[u8]) -> tokio::task::JoinHandle<Value> {
    tokio::spawn(preview_as(
        s.http.clone(),
        s.base.clone(),
        scan_type.to_owned(),
        bytes.to_vec(),
    ))
}

/// Installs the test plugin whose parse never ends; returns its scan type.
async fn install_endless_loop(s: &TestServer) -> String {
    crate::support::components::install(s, "endless-loop", "loop.wasm").await
}

#[tokio::test]
async fn one_user_cannot_take_every_parse_slot() {
    let db = TestDb::new().await;
    let s = TestServer::start_with(
        &db.url,
        &[
            ("PALISADE_PLUGIN_CONCURRENCY", "2"),
            ("PALISADE_PLUGIN_QUEUE", "8"),
            ("PALISADE_PLUGIN_PARSES_PER_USER", "1"),
            ("PALISADE_PLUGIN_CPU_TIMEOUT", "4"),
        ],
    )
    .await;
    let spinning = install_endless_loop(&s).await;
    let generic = "Generic Findings Import";
    let empty_report = br#"{"findings": []}"#.to_vec();

    // The admin's first parse spins; a second one is refused at once,
    // naming the setting, although a slot and the queue are free.
    let first = spawn_preview(&s, &spinning, b"spin");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let refused = preview(&s, generic, empty_report.clone()).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused, not parked"
    );
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "RATE_LIMITED",
        "{refused}"
    );
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("PALISADE_PLUGIN_PARSES_PER_USER"),
        "{refused}"
    );

    // Another user is not held up by the admin's share.
    let token = crate::support::create_user(&db, "bob", false).await;
    let other = crate::support::server::authenticated_client(&token);
    let v = preview_as(
        other,
        s.base.clone(),
        generic.to_owned(),
        empty_report.clone(),
    )
    .await;
    assert_eq!(v["data"]["previewReport"]["findingCount"], 0, "{v}");

    // When the admin's parse ends (here: its CPU deadline), the share is back.
    let v = first.await.expect("first call");
    assert_ne!(v["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{v}");
    let v = preview(&s, generic, empty_report).await;
    assert_eq!(v["data"]["previewReport"]["findingCount"], 0, "{v}");
}

#[tokio::test]
async fn parses_beyond_the_slots_and_their_queue_are_refused_not_parked() {
    let db = TestDb::new().await;
    let s = TestServer::start_with(
        &db.url,
        &[
            ("PALISADE_PLUGIN_CONCURRENCY", "1"),
            ("PALISADE_PLUGIN_QUEUE", "1"),
            ("PALISADE_PLUGIN_CPU_TIMEOUT", "4"),
        ],
    )
    .await;
    let scan_type = install_endless_loop(&s).await;

    // One call spins in the only slot, one waits; the rest are refused at once.
    let mut calls = Vec::new();
    for _ in 0..2 {
        calls.push(spawn_preview(&s, &scan_type, b"spin"));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let started = Instant::now();
    let refused = preview(&s, &scan_type, b"spin".to_vec()).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the call was parked instead of refused"
    );
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "RATE_LIMITED",
        "{refused}"
    );
    // The REST import path is refused the same way, as 429.
    let mut fields = CONTEXT.map(|(k, v)| (k, v.to_owned()));
    fields[0].1.clone_from(&scan_type);
    let form = import_form(&fields, b"spin".to_vec(), "r.txt");
    let r = rest_import(&s, IMPORT, None, form).await;
    assert_eq!(r.status, 429);
    for c in calls {
        let v = c.await.expect("call");
        assert_ne!(v["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{v}");
    }
}

#[tokio::test]
async fn a_preview_has_its_own_smaller_size_limit() {
    let db = TestDb::new().await;
    let s = TestServer::start_with(&db.url, &[("PALISADE_PLUGIN_PREVIEW_MAX_BYTES", "1KiB")]).await;
    let report = serde_json::to_vec(&json!({"findings": [{
        "title": "t", "description": "x".repeat(4096), "severity": "Low", "date": "2026-11-01",
    }]}))
    .expect("json");
    let v = preview(&s, "Generic Findings Import", report).await;
    assert_eq!(
        v["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{v}"
    );
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("PALISADE_PLUGIN_PREVIEW_MAX_BYTES"),
        "{v}"
    );
}

/// The fields of a Generic Findings Import into product `P` (created on use).
const CONTEXT: [(&str, &str); 5] = [
    ("scan_type", "Generic Findings Import"),
    ("product_type_name", "T"),
    ("product_name", "P"),
    ("engagement_name", "E"),
    ("auto_create_context", "true"),
];

fn generic_report(title: &str, padding: usize) -> Vec<u8> {
    serde_json::to_vec(&json!({"findings": [{
        "title": title, "description": "x".repeat(padding), "severity": "Low", "date": "2026-11-01",
    }]}))
    .expect("json")
}

async fn queue(s: &TestServer, token: &str, report: Vec<u8>) -> (u16, Value) {
    let mut fields = CONTEXT.to_vec();
    fields.push(("async", "true"));
    let form = import_form(&fields, report, "r.json");
    rest_import(s, IMPORT, Some(token), form)
        .await
        .status_and_json()
}

#[tokio::test]
async fn queued_imports_are_capped_per_user_in_jobs_and_bytes() {
    let db = TestDb::new().await;
    let s = TestServer::start_with(
        &db.url,
        &[
            // Nothing runs, so queued jobs stay queued.
            ("PALISADE_IMPORT_WORKERS", "0"),
            ("PALISADE_IMPORT_MAX_QUEUED_JOBS_PER_USER", "2"),
            ("PALISADE_IMPORT_MAX_QUEUED_BYTES_PER_USER", "4096"),
        ],
    )
    .await;
    let admin = s.admin_token.clone().expect("admin");
    for _ in 0..2 {
        let (status, body) = queue(&s, &admin, generic_report("a", 10)).await;
        assert_eq!(status, 202, "{body}");
    }
    let (status, body) = queue(&s, &admin, generic_report("a", 10)).await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("PALISADE_IMPORT_MAX_QUEUED_JOBS_PER_USER"),
        "{body}"
    );
    // GraphQL answers RATE_LIMITED.
    let form = Form::new()
        .text("operations", json!({"query": "mutation($file: Upload!) { importScan(input: {file: $file, scanType: \"Generic Findings Import\", productTypeName: \"T\", productName: \"P\", engagementName: \"E\", autoCreateContext: true, async: true}) { job { id } } }", "variables": {"file": null}}).to_string())
        .text("map", json!({"0": ["variables.file"]}).to_string())
        .part("0", Part::bytes(generic_report("a", 10)).file_name("r.json"));
    let v: Value = s
        .http
        .post(format!("{}/graphql", s.base))
        .multipart(form)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(v["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{v}");
    assert_eq!(db.count("jobs").await, 2);

    // Another superuser's queue is separate, and bounded in bytes.
    let other = crate::support::create_user(&db, "other", true).await;
    let (status, body) = queue(&s, &other, generic_report("b", 3000)).await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = queue(&s, &other, generic_report("c", 3000)).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(db.count("jobs").await, 3);
}

#[tokio::test]
async fn an_oversized_form_field_is_refused_naming_the_field() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let mut fields = CONTEXT.map(|(k, v)| (k, v.to_owned())).to_vec();
    fields.push(("some_unknown_field", "x".repeat(100 * 1024)));
    let form = import_form(&fields, generic_report("a", 10), "r.json");
    let r = rest_import(&s, IMPORT, None, form).await;
    assert_eq!(r.status, 400);
    let body = r.json();
    assert!(body["some_unknown_field"][0].is_string(), "{body}");
}

#[tokio::test]
async fn a_plugin_cache_directory_others_may_write_is_not_used() {
    use std::os::unix::fs::PermissionsExt;
    let db = TestDb::new().await;
    let base = tempfile::tempdir().expect("tempdir");
    let dir = base.path().join("cache");
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let dir_s = dir.to_string_lossy().into_owned();
    // Without the built-in plugins the server starts at once; the one plugin
    // installed below is compiled, and would be cached, while the test waits.
    let s = TestServer::start_with(
        &db.url,
        &[
            ("PALISADE_PLUGIN_CACHE_DIR", dir_s.as_str()),
            ("PALISADE_PLUGIN_BUILTINS", "false"),
        ],
    )
    .await;
    let form = Form::new()
        .text(
            "operations",
            json!({"query": "mutation($file: Upload!) { installParserPlugin(file: $file) { plugin { name } } }", "variables": {"file": null}}).to_string(),
        )
        .text("map", json!({"0": ["variables.file"]}).to_string())
        .part(
            "0",
            Part::bytes(crate::support::component("endless-loop")).file_name("loop.wasm"),
        );
    let d: Value = s
        .http
        .post(format!("{}/graphql", s.base))
        .multipart(form)
        .send()
        .await
        .expect("install")
        .json()
        .await
        .expect("json");
    // The server works: it compiled the plugin without the cache...
    assert!(d.get("errors").is_none(), "{d}");
    // ...and wrote no native code where others could have planted their own.
    let entries: Vec<_> = std::fs::read_dir(&dir).expect("read dir").collect();
    assert!(
        entries.is_empty(),
        "compiled code was written to a world-writable directory: {entries:?}"
    );
}
