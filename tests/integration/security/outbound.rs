//! Outbound HTTP: webhooks are no server-side request forgery primitive
//! (internal destinations refused at configuration and at connect time, no
//! redirects), one receiver cannot stall the others, a webhook stops when its
//! creator loses the right to manage it, and internal error text does not
//! leak through jobs or `/readyz`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{TestDb, TestServer};

/// Lets the test receivers on 127.0.0.1 through, as an operator would.
const ALLOW_LOCAL: (&str, &str) = ("PALISADE_OUTBOUND_ALLOW", "127.0.0.1");

const CREATE: &str = "mutation($n: String!, $u: String!) { createWebhook(input: {name: $n, url: $u}) { webhook { id } } }";
const UPDATE: &str = "mutation($id: ID!, $u: String!) { updateWebhook(input: {id: $id, url: $u}) { webhook { url } } }";
const LOG: &str =
    "{ webhooks { name url active deliveries { status attempts lastStatusCode lastError } } }";

/// What a test receiver answers.
#[derive(Clone)]
enum Answer {
    Status(u16),
    Redirect(String),
    /// Accept the connection, never answer (a black hole that completes TCP).
    Never,
    /// A 200 with a body of this many bytes.
    Big(usize),
}

/// A raw HTTP receiver on 127.0.0.1 counting connections and requests.
struct Receiver {
    url: String,
    port: u16,
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
    fn requests(&self) -> usize {
        self.requests.lock().expect("lock").len()
    }
}

async fn receiver(answer: Answer) -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let connections = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let (c, r) = (connections.clone(), requests.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            c.fetch_add(1, Ordering::SeqCst);
            let (r, answer) = (r.clone(), answer.clone());
            tokio::spawn(async move {
                if let Answer::Never = answer {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    drop(sock);
                    return;
                }
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Headers, then as much body as Content-Length says.
                let head_end = loop {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let len = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())
                            .flatten()
                    })
                    .unwrap_or(0);
                while buf.len() < head_end + len {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                r.lock()
                    .expect("lock")
                    .push(head.lines().next().unwrap_or("").to_owned());
                let response = match answer {
                    Answer::Status(code) => format!(
                        "HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    )
                    .into_bytes(),
                    Answer::Redirect(to) => format!(
                        "HTTP/1.1 303 See Other\r\nlocation: {to}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    )
                    .into_bytes(),
                    Answer::Big(n) => {
                        let mut v = format!(
                            "HTTP/1.1 200 OK\r\ncontent-length: {n}\r\nconnection: close\r\n\r\n"
                        )
                        .into_bytes();
                        v.resize(v.len() + n, b'x');
                        v
                    }
                    Answer::Never => Vec::new(),
                };
                let _ = sock.write_all(&response).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    Receiver {
        url: format!("http://127.0.0.1:{port}/hook"),
        port,
        connections,
        requests,
    }
}

/// Imports findings with these titles into Web / Shop / CI (one `created`
/// event each).
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

/// The admin's view of the webhook named `name`.
async fn hook(s: &TestServer, name: &str) -> Value {
    let d = s.gql().ok(LOG, json!({})).await;
    d["webhooks"]
        .as_array()
        .expect("webhooks")
        .iter()
        .find(|w| w["name"] == name)
        .cloned()
        .unwrap_or(Value::Null)
}

/// Waits until the webhook's newest delivery has been attempted; returns it.
async fn attempted(s: &TestServer, name: &str, limit: Duration) -> Value {
    let start = Instant::now();
    loop {
        let h = hook(s, name).await;
        let d = &h["deliveries"][0];
        if d["attempts"].as_i64().unwrap_or(0) >= 1 || d["status"] == "failed" {
            return d.clone();
        }
        assert!(start.elapsed() < limit, "no attempt for {name}: {h}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn webhook_to_internal_address_is_refused_at_create_and_update() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    for (url, rule) in [
        ("http://127.0.0.1:9/hook", "loopback"),
        ("http://127.1:5432/", "loopback"),
        ("http://localhost:5432/", "loopback"),
        ("http://[::1]:8080/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://169.254.169.254/latest/meta-data/iam/", "metadata"),
        ("http://[fd00:ec2::254]/", "metadata"),
        ("http://10.0.0.12:8500/v1/agent/", "private"),
        ("http://172.20.0.1/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://[fc00::1]/", "unique local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://0.0.0.0:8080/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
    ] {
        let r = s.gql().query(CREATE, json!({"n": "x", "u": url})).await;
        assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{url}: {}", r.body);
        let m = r.error_message();
        assert!(
            m.contains(rule) && m.contains("PALISADE_OUTBOUND_ALLOW"),
            "{url}: the refusal names the rule and the setting: {m}"
        );
    }
    assert_eq!(db.count("webhooks").await, 0, "nothing stored");

    let d = s
        .gql()
        .ok(
            CREATE,
            json!({"n": "public", "u": "http://192.0.2.10/hook"}),
        )
        .await;
    let id = d["createWebhook"]["webhook"]["id"].clone();
    for (url, rule) in [
        ("http://127.0.0.1:5432/", "loopback"),
        ("http://169.254.169.254/", "metadata"),
        ("http://10.1.2.3/", "private"),
    ] {
        let r = s.gql().query(UPDATE, json!({"id": id, "u": url})).await;
        assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{url}: {}", r.body);
        assert!(r.error_message().contains(rule), "{}", r.error_message());
    }
    assert_eq!(hook(&s, "public").await["url"], "http://192.0.2.10/hook");
}

#[tokio::test]
async fn webhook_resolving_to_loopback_at_send_time_gets_no_connection() {
    let target = receiver(Answer::Status(204)).await;
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    for name in ["by-name", "by-literal", "by-mapped"] {
        s.gql()
            .ok(CREATE, json!({"n": name, "u": "http://192.0.2.10/hook"}))
            .await;
    }
    // As if DNS now answered 127.0.0.1 (rebinding) or the URL had been
    // stored while the operator allowed it.
    let c = db.client().await;
    for (name, url) in [
        ("by-name", format!("http://localhost:{}/hook", target.port)),
        (
            "by-literal",
            format!("http://127.0.0.1:{}/hook", target.port),
        ),
        (
            "by-mapped",
            format!("http://[::ffff:127.0.0.1]:{}/hook", target.port),
        ),
    ] {
        c.execute(
            "UPDATE webhooks SET url = $1 WHERE name = $2",
            &[&url, &name],
        )
        .await
        .expect("repoint");
    }
    import(&s, &["one"]).await;
    for name in ["by-name", "by-literal", "by-mapped"] {
        let d = attempted(&s, name, Duration::from_secs(20)).await;
        assert_eq!(d["lastError"], "refused destination", "{name}: {d}");
        assert_eq!(d["lastStatusCode"], Value::Null, "{name}: {d}");
    }
    assert_eq!(target.connections(), 0, "the loopback listener was reached");
}

#[tokio::test]
async fn webhook_redirect_is_not_followed() {
    let inner = receiver(Answer::Status(200)).await;
    let bouncer = receiver(Answer::Redirect(inner.url.clone())).await;
    let db = TestDb::new().await;
    let s = TestServer::start_with(&db.url, &[ALLOW_LOCAL]).await;
    s.gql()
        .ok(CREATE, json!({"n": "bounce", "u": bouncer.url}))
        .await;
    import(&s, &["one"]).await;
    let d = attempted(&s, "bounce", Duration::from_secs(20)).await;
    assert_eq!(d["lastStatusCode"], 303, "{d}");
    assert_eq!(d["lastError"], "http 3xx", "{d}");
    assert!(bouncer.requests() >= 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(inner.connections(), 0, "the redirect was followed");
}

#[tokio::test]
async fn webhook_errors_are_coarse_classes() {
    let big = receiver(Answer::Big(3 * 1024 * 1024)).await;
    let closed = {
        // A port with nothing listening.
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let db = TestDb::new().await;
    let s = TestServer::start_with(&db.url, &[ALLOW_LOCAL]).await;
    s.gql().ok(CREATE, json!({"n": "big", "u": big.url})).await;
    s.gql()
        .ok(
            CREATE,
            json!({"n": "closed", "u": format!("http://127.0.0.1:{closed}/hook")}),
        )
        .await;
    import(&s, &["one"]).await;
    let d = attempted(&s, "big", Duration::from_secs(20)).await;
    assert_eq!(d["lastError"], "response too large", "{d}");
    let d = attempted(&s, "closed", Duration::from_secs(20)).await;
    assert_eq!(d["lastError"], "connect failed", "{d}");
}

#[tokio::test]
async fn slow_receiver_does_not_delay_other_webhooks() {
    let hole = receiver(Answer::Never).await;
    let fast = receiver(Answer::Status(204)).await;
    let db = TestDb::new().await;
    let s = TestServer::start_with(&db.url, &[ALLOW_LOCAL]).await;
    // The slow one first: its deliveries come first in line.
    s.gql()
        .ok(CREATE, json!({"n": "slow", "u": hole.url}))
        .await;
    s.gql()
        .ok(CREATE, json!({"n": "fast", "u": fast.url}))
        .await;
    let start = Instant::now();
    import(&s, &["a", "b", "c", "d", "e"]).await;
    // Well under the 10 s the black hole holds a delivery.
    wait_until(
        "the fast receiver's five deliveries",
        Duration::from_secs(6),
        || fast.requests() >= 5,
    )
    .await;
    assert!(start.elapsed() < Duration::from_secs(6));
    assert_eq!(hole.connections(), 1, "one delivery in flight per webhook");
}

#[tokio::test]
async fn failing_webhook_backs_off_as_a_whole() {
    let broken = receiver(Answer::Status(500)).await;
    let db = TestDb::new().await;
    let s = TestServer::start_with(&db.url, &[ALLOW_LOCAL]).await;
    s.gql()
        .ok(CREATE, json!({"n": "broken", "u": broken.url}))
        .await;
    import(&s, &["a", "b", "c", "d", "e"]).await;
    wait_until("the first attempt", Duration::from_secs(15), || {
        broken.requests() >= 1
    })
    .await;
    // The first backoff is 2 s: the other four wait for it too.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(db.count("webhook_deliveries").await, 5);
    assert_eq!(
        broken.requests(),
        1,
        "the failing webhook's other deliveries were tried during its backoff"
    );
    // After the backoff the webhook is tried again.
    wait_until("the retry", Duration::from_secs(10), || {
        broken.requests() >= 2
    })
    .await;
}

#[tokio::test]
async fn webhook_stops_when_its_creator_loses_access() {
    let r = receiver(Answer::Status(204)).await;
    let db = TestDb::new().await;
    let s = TestServer::start_with(&db.url, &[ALLOW_LOCAL]).await;
    import(&s, &["first"]).await;
    let admin = s.gql();
    let product = admin
        .ok(
            "{ products(nameContains: \"Shop\") { nodes { id } } }",
            json!({}),
        )
        .await["products"]["nodes"][0]["id"]
        .clone();
    let token = crate::support::create_user(&db, "maint", false).await;
    let user = admin
        .ok("{ users(usernameContains: \"maint\") { id } }", json!({}))
        .await["users"][0]["id"]
        .clone();
    admin
        .ok(
            "mutation($o: ID!, $u: ID!) { setMember(input: {object: $o, user: $u, role: MAINTAINER}) { role } }",
            json!({"o": product, "u": user}),
        )
        .await;
    // A second maintainer of the product, who stays.
    let keeper_token = crate::support::create_user(&db, "keeper", false).await;
    let keeper = admin
        .ok("{ users(usernameContains: \"keeper\") { id } }", json!({}))
        .await["users"][0]["id"]
        .clone();
    admin
        .ok(
            "mutation($o: ID!, $u: ID!) { setMember(input: {object: $o, user: $u, role: MAINTAINER}) { role } }",
            json!({"o": product, "u": keeper}),
        )
        .await;
    s.gql_as(&token)
        .ok(
            "mutation($p: ID!, $u: String!) { createWebhook(input: {name: \"mine\", url: $u, product: $p}) { webhook { id } } }",
            json!({"p": product, "u": r.url}),
        )
        .await;
    // The dispatcher reloads its list of webhooks every 2 s.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    import(&s, &["second"]).await;
    wait_until("a delivery while a member", Duration::from_secs(15), || {
        r.requests() >= 1
    })
    .await;
    admin
        .ok(
            "mutation($o: ID!, $u: ID!) { removeMember(input: {object: $o, user: $u}) }",
            json!({"o": product, "u": user}),
        )
        .await;
    let before = r.requests();
    import(&s, &["third"]).await;
    let c = db.client().await;
    let start = Instant::now();
    loop {
        let active: bool = c
            .query_one("SELECT active FROM webhooks WHERE name = 'mine'", &[])
            .await
            .expect("webhook")
            .get(0);
        if !active {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the webhook kept running after its creator lost access ({} deliveries)",
            r.requests()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        r.requests(),
        before,
        "delivered after the creator lost access"
    );
    let closed: i64 = c
        .query_one(
            "SELECT count(*) FROM webhook_deliveries WHERE status = 'failed' AND last_error = 'creator lost access'",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert!(closed >= 1);
    let told: i64 = c
        .query_one(
            "SELECT count(*) FROM events WHERE kind = 'webhook_disabled' AND changes->>'reason' = 'creator_lost_access'",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(told, 1, "the owners are told by an event");

    // The maintainer who stays sees the stopped webhook and why its
    // deliveries ended; the former creator no longer sees it at all.
    let listed = s.gql_as(&keeper_token).ok(LOG, json!({})).await;
    let hooks = listed["webhooks"].as_array().expect("list");
    assert_eq!(hooks.len(), 1, "{listed}");
    assert_eq!(hooks[0]["name"], "mine");
    assert_eq!(hooks[0]["active"], false, "{listed}");
    assert!(
        hooks[0]["deliveries"]
            .as_array()
            .expect("deliveries")
            .iter()
            .any(|d| d["status"] == "failed" && d["lastError"] == "creator lost access"),
        "{listed}"
    );
    let gone = s.gql_as(&token).ok(LOG, json!({})).await;
    assert_eq!(gone["webhooks"], json!([]), "{gone}");
}

#[tokio::test]
async fn outbound_allow_list_typo_stops_the_server() {
    for value in ["10.0.0.0/33", "jira corp", "10.0.0.1/8"] {
        let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade-under-test"))
            .arg("serve")
            .env("PALISADE_OUTBOUND_ALLOW", value)
            .env("PALISADE_LISTEN", "127.0.0.1:0")
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(Duration::from_secs(20), run)
            .await
            .expect("the server must refuse to start, not run");
        let out = out.expect("run");
        assert!(!out.status.success(), "{value} must be rejected");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("PALISADE_OUTBOUND_ALLOW"), "{value}: {err}");
    }
}

#[tokio::test]
async fn sign_on_calls_go_through_the_guarded_client() {
    use crate::oidc::{palisade_with_env, sign_in, start_provider_named};
    let provider = start_provider_named("localhost").await;
    *provider.state.claims.lock().expect("lock") =
        json!({"sub": "u-1", "preferred_username": "ada"});
    // The configured issuer (`localhost`, loopback) is let through: the
    // operator chose it.
    let db = TestDb::new().await;
    let s = palisade_with_env(&db, &provider, None, &[]).await;
    let (status, body) = sign_in(&s).await;
    assert_eq!(status, 200, "the issuer itself is reachable: {body}");

    // A discovery document sending the server to another internal
    // destination (here the loopback address itself, which the operator did
    // not configure) is refused, like any other destination.
    let port = provider
        .state
        .issuer
        .rsplit(':')
        .next()
        .expect("port")
        .to_owned();
    *provider.state.jwks_origin.lock().expect("lock") = Some(format!("http://127.0.0.1:{port}"));
    let db = TestDb::new().await;
    let s = palisade_with_env(&db, &provider, None, &[]).await;
    let (status, body) = sign_in(&s).await;
    assert_eq!(status, 502, "{body}");
    let error = body["error"].as_str().unwrap_or("");
    assert!(error.contains("refused destination"), "{body}");
    assert!(
        !error.contains("127.0.0.1"),
        "no address in the answer: {body}"
    );
    assert_eq!(
        db.count("users").await,
        1,
        "the admin only: nobody signed in"
    );

    // The operator's allow list covers it, as for webhooks.
    let db = TestDb::new().await;
    let s = palisade_with_env(
        &db,
        &provider,
        None,
        &[("PALISADE_OUTBOUND_ALLOW", "127.0.0.1")],
    )
    .await;
    let (status, body) = sign_in(&s).await;
    assert_eq!(status, 200, "allowed by the operator: {body}");
}

/// An async import form for a small Generic Findings report.
fn async_import_form(lead: Option<&str>) -> reqwest::multipart::Form {
    let findings = json!({"findings": [{"title": "t", "description": "d", "severity": "Low", "date": "2026-11-01"}]});
    let mut form = reqwest::multipart::Form::new()
        .text("scan_type", "Generic Findings Import")
        .text("product_type_name", "Web")
        .text("product_name", "Shop")
        .text("engagement_name", "Fresh")
        .text("auto_create_context", "true")
        .text("async", "true");
    if let Some(lead) = lead {
        form = form.text("lead", lead.to_owned());
    }
    form.part(
        "file",
        reqwest::multipart::Part::bytes(serde_json::to_vec(&findings).expect("json"))
            .file_name("r.json"),
    )
}

#[tokio::test]
async fn job_error_does_not_expose_database_text() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;

    // A lead that does not exist is refused before anything is queued, in
    // the server's words (on the old code it failed later, in the job, on a
    // foreign key whose name the job then showed).
    let r = s
        .http
        .post(format!("{}/api/v2/import-scan/", s.base))
        .multipart(async_import_form(Some("999999")))
        .send()
        .await
        .expect("import");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("lead"), "names the field: {text}");
    for leak in ["fkey", "violates", "constraint"] {
        assert!(!text.contains(leak), "{text}");
    }

    // Any database failure inside a job: a trigger refuses every finding with
    // PostgreSQL's own words, naming a constraint and a table.
    db.client()
        .await
        .batch_execute(
            "CREATE FUNCTION refuse_findings() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN RAISE EXCEPTION 'insert on table \"findings\" violates foreign key constraint \"findings_secret_fkey\"'; END $$; \
             CREATE TRIGGER refuse_findings BEFORE INSERT ON findings \
             FOR EACH STATEMENT EXECUTE FUNCTION refuse_findings();",
        )
        .await
        .expect("trigger");
    let r = s
        .http
        .post(format!("{}/api/v2/import-scan/", s.base))
        .multipart(async_import_form(None))
        .send()
        .await
        .expect("import");
    assert_eq!(r.status().as_u16(), 202);
    let body: Value = r.json().await.expect("json");
    let id = body["job_id"].as_i64().expect("job id");
    let start = Instant::now();
    let job = loop {
        let j: Value = s
            .http
            .get(format!("{}/api/v2/jobs/{id}/", s.base))
            .send()
            .await
            .expect("job")
            .json()
            .await
            .expect("json");
        if !j["last_error"].is_null() {
            break j;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{j}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let text = job["last_error"].as_str().unwrap_or("").to_owned();
    assert!(text.contains("database"), "says where it failed: {text}");
    for leak in ["fkey", "violates", "constraint", "findings_secret", "table"] {
        assert!(!text.contains(leak), "the job shows database text: {text}");
    }
    assert_eq!(db.count("findings").await, 0, "nothing was stored");
    let g = s
        .gql()
        .ok(
            "query($id: ID!) { job(id: $id) { lastError } }",
            json!({"id": job_gid(id)}),
        )
        .await;
    assert_eq!(g["job"]["lastError"], job["last_error"]);
}

fn job_gid(id: i64) -> String {
    palisade::graphql::ids::encode(palisade::graphql::ids::Kind::Job, id).0
}

#[tokio::test]
async fn readyz_does_not_expose_driver_text() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = crate::support::db::server_url();
    let (c, conn) = tokio_postgres::connect(&format!("{admin}/postgres"), tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    c.execute(
        &format!("ALTER DATABASE {} ALLOW_CONNECTIONS false", db.name),
        &[],
    )
    .await
    .expect("close the database");
    c.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
        &[&db.name],
    )
    .await
    .expect("drop the server's connections");
    let mut reasons = Vec::new();
    for _ in 0..4 {
        let r = s
            .anonymous_http
            .get(format!("{}/readyz", s.base))
            .send()
            .await
            .expect("readyz");
        let body: Value = r.json().await.expect("json");
        reasons.push(body["reason"].as_str().unwrap_or("").to_owned());
    }
    c.execute(
        &format!("ALTER DATABASE {} ALLOW_CONNECTIONS true", db.name),
        &[],
    )
    .await
    .expect("reopen the database");
    for reason in &reasons {
        assert!(
            [
                "database unreachable",
                "cannot read the migration table",
                "database did not answer within 3 s",
            ]
            .contains(&reason.as_str()),
            "readyz shows driver text: {reasons:?}"
        );
    }
}
