//! Subscription fan-out benchmark: 1,000 WebSocket subscribers on one server
//! process, then an import of 10,000 findings. Prints the time from the
//! import's commit (its NOTIFY, seen by a LISTEN connection here) until each
//! subscriber has received its last event (p50, p99, max), events/s, and the
//! server's memory per idle subscription.
//!
//! Run: `cargo bench -p palisade --bench subscriptions [-- SUBSCRIBERS FINDINGS]`
//! (database `palisade_bench_subscriptions`, recreated on every run; override
//! the PostgreSQL server with `PALISADE_BENCH_PG`).
//!
//! Three runs: every subscriber watching the imported product (each receives
//! every event, one message per event); the same with `findingChangeBatches`,
//! which delivers what is ready in one message; and ten subscribers watching
//! the product while the others filter on other products (what filtering
//! and the per-event access check cost).

#![expect(clippy::print_stdout, reason = "a bench binary reports on stdout")]

mod support {
    pub mod server;
}

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use support::server::BenchServer;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const ADMIN_PASSWORD: &str = "bench-admin-password";

fn rss_kib(pid: u32, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn report(n: usize, tag: &str) -> Vec<u8> {
    let sev = ["Critical", "High", "Medium", "Low", "Info"];
    let findings: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "title": format!("{tag} finding {i}"),
                "severity": sev[i % 5],
                "description": format!("Finding {i} of the subscription benchmark."),
                "file_path": format!("src/module_{}.rs", i % 97),
                "line": i % 500 + 1,
            })
        })
        .collect();
    serde_json::to_vec(&json!({ "findings": findings })).unwrap_or_default()
}

async fn import(http: &reqwest::Client, base: &str, body: Vec<u8>) -> anyhow::Result<Value> {
    let form = reqwest::multipart::Form::new()
        .text("scan_type", "Generic Findings Import")
        .text("product_type_name", "Bench")
        .text("product_name", "Watched")
        .text("engagement_name", "CI")
        .text("auto_create_context", "true")
        .part(
            "file",
            reqwest::multipart::Part::bytes(body).file_name("report.json"),
        );
    let r = http
        .post(format!("{base}/api/v2/import-scan/"))
        .multipart(form)
        .send()
        .await?;
    anyhow::ensure!(r.status().as_u16() == 201, "import failed: {}", r.status());
    Ok(r.json().await?)
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(base: &str, token: &str, query: &str) -> anyhow::Result<Ws> {
    let url = format!("{}/graphql/ws", base.replace("http://", "ws://"));
    let mut req = url.into_client_request()?;
    req.headers_mut()
        .insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
    ws.send(Message::Text(
        json!({"type": "connection_init", "payload": {"token": token}})
            .to_string()
            .into(),
    ))
    .await?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.contains("connection_ack") => break,
            Some(Ok(Message::Text(t))) => anyhow::bail!("no ack: {t}"),
            Some(Ok(_)) => {}
            other => anyhow::bail!("connection closed: {other:?}"),
        }
    }
    ws.send(Message::Text(
        json!({"id": "1", "type": "subscribe", "payload": {"query": query}})
            .to_string()
            .into(),
    ))
    .await?;
    Ok(ws)
}

/// Counts `findingChanges` items (one per message, or many per batch
/// message) until `expected`, and answers when the last one arrived.
async fn receive(mut ws: Ws, expected: usize, batched: bool) -> anyhow::Result<Instant> {
    let mut seen = 0usize;
    while seen < expected {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                if batched {
                    // Each item carries one `"seq":`; no full parse needed.
                    seen += t.matches("\"seq\":").count();
                } else if t.contains("\"next\"") {
                    seen += 1;
                }
                if t.contains("\"errors\"") {
                    anyhow::bail!("subscription error: {t}");
                }
            }
            Some(Ok(_)) => {}
            other => anyhow::bail!("connection closed after {seen} events: {other:?}"),
        }
    }
    Ok(Instant::now())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

struct Run<'a> {
    label: &'a str,
    /// `{filter}` is replaced by each subscriber's filter.
    query: &'a str,
    batched: bool,
    /// How many subscribers watch the imported product; the others filter
    /// on a product that sees no change (they still check every event).
    watchers: Option<usize>,
}

#[expect(
    clippy::too_many_arguments,
    reason = "one measured run and everything it reports on"
)]
async fn run(
    base: &str,
    token: &str,
    http: &reqwest::Client,
    notes: &mut tokio::sync::mpsc::UnboundedReceiver<Instant>,
    server_pid: u32,
    subscribers: usize,
    findings: usize,
    product_id: i64,
    spec: &Run<'_>,
) -> anyhow::Result<()> {
    use base64::Engine as _;
    let before = rss_kib(server_pid, "VmRSS:").unwrap_or(0);
    let mut sockets = Vec::with_capacity(subscribers);
    let connected = Instant::now();
    let watchers = spec.watchers.unwrap_or(subscribers);
    for i in 0..subscribers {
        let filter = match spec.watchers {
            None => String::new(),
            Some(_) => {
                let product = if i < watchers {
                    product_id
                } else {
                    product_id + 1_000_000
                };
                let id = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(format!("Product:{product}"));
                format!("(filter: {{products: [\"{id}\"]}})")
            }
        };
        sockets.push(connect(base, token, &spec.query.replace("{filter}", &filter)).await?);
    }
    let connect_time = connected.elapsed();
    // Let every subscription reach the server's bus before the import.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(server_pid, "VmRSS:").unwrap_or(0);
    let per_sub = after.saturating_sub(before) as f64 / subscribers as f64;

    // The others stay connected (and keep filtering) until the run ends.
    let _idle = sockets.split_off(watchers.min(sockets.len()));
    let waiting: Vec<_> = sockets
        .into_iter()
        .map(|ws| tokio::spawn(receive(ws, findings, spec.batched)))
        .collect();
    while notes.try_recv().is_ok() {}
    let started = Instant::now();
    let outcome = import(http, base, report(findings, spec.label)).await?;
    let answered = started.elapsed();
    let created = outcome["statistics"]["after"]["total"]["total"]
        .as_u64()
        .unwrap_or(0);
    // The first notification after the import started is its commit.
    let commit = tokio::time::timeout(Duration::from_secs(5), notes.recv())
        .await
        .ok()
        .flatten()
        .unwrap_or(started + answered);
    let mut lasts = Vec::with_capacity(subscribers);
    for w in waiting {
        let at = tokio::time::timeout(Duration::from_secs(600), w).await???;
        lasts.push(at.saturating_duration_since(commit));
    }
    lasts.sort();
    let max = lasts.last().copied().unwrap_or_default();
    println!(
        "\n{} ({subscribers} subscribers, {findings} findings; {created} in the test)",
        spec.label
    );
    println!(
        "  subscribing:            {:.2} s for all ({:.1} KiB server memory per idle subscription)",
        connect_time.as_secs_f64(),
        per_sub
    );
    println!("  import request:         {:.2} s", answered.as_secs_f64());
    println!(
        "  commit → last event:    p50 {:.3} s, p99 {:.3} s, max {:.3} s",
        percentile(&lasts, 0.5).as_secs_f64(),
        percentile(&lasts, 0.99).as_secs_f64(),
        max.as_secs_f64()
    );
    println!(
        "  delivered:              {:.0} events/s ({} events)",
        (watchers * findings) as f64 / max.as_secs_f64().max(1e-9),
        watchers * findings
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse::<usize>().ok());
    let subscribers = args.next().unwrap_or(1000);
    let findings = args.next().unwrap_or(10_000);

    let server = std::env::var("PALISADE_BENCH_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
    let url = format!("{server}/palisade_bench_subscriptions");
    {
        let (admin, conn) =
            tokio_postgres::connect(&format!("{server}/postgres"), tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        admin
            .batch_execute("DROP DATABASE IF EXISTS palisade_bench_subscriptions WITH (FORCE)")
            .await?;
        admin
            .batch_execute("CREATE DATABASE palisade_bench_subscriptions")
            .await?;
    }
    let server = BenchServer::start(&url, &[("PALISADE_ADMIN_PASSWORD", ADMIN_PASSWORD)]).await?;
    let pid = server.pid();
    let base = server.base.clone();
    let result = async {
        let http = reqwest::Client::new();
        let login: Value = http
            .post(format!("{base}/graphql"))
            .json(&json!({"query": "mutation($p: String!) { login(username: \"admin\", password: $p) { token } }", "variables": {"p": ADMIN_PASSWORD}}))
            .send()
            .await?
            .json()
            .await?;
        let token = login["data"]["login"]["token"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("login failed: {login}"))?
            .to_owned();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::AUTHORIZATION, format!("Token {token}").parse()?);
        let http = reqwest::Client::builder().default_headers(headers).build()?;
        // The product exists before anyone subscribes.
        let seeded = import(&http, &base, report(1, "seed")).await?;
        let product_id = seeded["product_id"]
            .as_i64()
            .ok_or_else(|| anyhow::anyhow!("no product id: {seeded}"))?;

        let (pg, mut conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
        let (tx, mut notes) = tokio::sync::mpsc::unbounded_channel();
        let tx = Arc::new(tx);
        tokio::spawn(async move {
            let mut messages = futures::stream::poll_fn(move |cx| conn.poll_message(cx));
            while let Some(Ok(m)) = messages.next().await {
                if matches!(m, tokio_postgres::AsyncMessage::Notification(_)) {
                    let _ = tx.send(Instant::now());
                }
            }
        });
        pg.batch_execute("LISTEN palisade_events").await?;

        for spec in [
            Run {
                label: "one message per event",
                query: "subscription { findingChanges{filter} { seq kind findingId severity } }",
                batched: false,
                watchers: None,
            },
            Run {
                label: "batched (findingChangeBatches)",
                query: "subscription { findingChangeBatches{filter} { seq kind findingId severity } }",
                batched: true,
                watchers: None,
            },
            Run {
                label: "one message per event, subscribers filtered by product",
                query: "subscription { findingChanges{filter} { seq kind findingId severity } }",
                batched: false,
                watchers: Some(10),
            },
        ] {
            run(
                &base, &token, &http, &mut notes, pid, subscribers, findings, product_id, &spec,
            )
            .await?;
        }
        if let Some(kib) = rss_kib(pid, "VmHWM:") {
            println!("\npeak server memory (VmHWM): {:.1} MiB", kib as f64 / 1024.0);
        }
        Ok(())
    }
    .await;
    drop(server);
    result
}
