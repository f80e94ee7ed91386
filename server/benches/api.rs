//! API benchmark: seeds 1,000,000 findings across 100 products, starts the
//! real server, and prints p50/p99 latency and requests/s for the main reads,
//! once as a superuser and once as a Reader of one product type (10 of the
//! 100 products): the difference is what authentication and access control
//! cost per request.
//!
//! Run: `cargo bench -p palisade --bench api` (add `-- --reseed` to rebuild
//! the data set; it is kept in the database `palisade_bench` between runs).

#![expect(clippy::print_stdout, reason = "a bench binary reports on stdout")]

mod support {
    pub mod server;
    pub mod token;
}

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use support::server::BenchServer;
use support::token::principal;

const PRODUCTS: i64 = 100;
const PER_PRODUCT: i64 = 10_000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

async fn seed(url: &str) -> anyhow::Result<()> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let t = Instant::now();
    client
        .batch_execute(&format!(
            "TRUNCATE product_types RESTART IDENTITY CASCADE;
             INSERT INTO product_types (name) SELECT 'type ' || g FROM generate_series(1, 10) g;
             INSERT INTO products (name, description, product_type_id)
               SELECT 'product ' || g, 'bench', 1 + (g - 1) / 10 FROM generate_series(1, {PRODUCTS}) g;
             INSERT INTO engagements (product_id, name, target_start, target_end)
               SELECT id, 'ci', CURRENT_DATE, CURRENT_DATE FROM products;
             INSERT INTO test_types (name) VALUES ('Bench Scan') ON CONFLICT DO NOTHING;
             INSERT INTO tests (engagement_id, product_id, test_type_id, title, target_start, target_end)
               SELECT e.id, e.product_id, (SELECT id FROM test_types WHERE name = 'Bench Scan'), 'scan', now(), now() FROM engagements e;
             INSERT INTO findings (test_id, engagement_id, product_id, title, severity, numerical_severity, description, active, date, tags)
               SELECT t.id, t.engagement_id, t.product_id,
                      'Finding ' || g || ' of product ' || t.product_id,
                      (ARRAY['Critical','High','Medium','Low','Info'])[1 + g % 5],
                      (ARRAY['S0','S1','S2','S3','S4'])[1 + g % 5],
                      'A generated finding for the benchmark.',
                      g % 3 <> 0,
                      CURRENT_DATE - (g % 365),
                      ARRAY['bench']
               FROM tests t, generate_series(1, {PER_PRODUCT}) g;
             INSERT INTO finding_vulnerability_ids (finding_id, position, vulnerability_id)
               SELECT id, 0, 'CVE-2026-' || id FROM findings;
             ANALYZE;"
        ))
        .await?;
    println!(
        "seeded {} findings in {:.1} s",
        PRODUCTS * PER_PRODUCT,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

struct Scenario {
    name: &'static str,
    body: Value,
}

async fn measure(
    client: &reqwest::Client,
    url: &str,
    s: &Scenario,
) -> anyhow::Result<(Duration, Duration, f64)> {
    let send = || async {
        let r = client.post(url).json(&s.body).send().await?;
        let status = r.status();
        let v: Value = r.json().await?;
        anyhow::ensure!(
            status.is_success() && v.get("errors").is_none(),
            "{} failed: {v}",
            s.name
        );
        Ok::<_, anyhow::Error>(())
    };
    for _ in 0..30 {
        send().await?;
    }
    let mut lat = Vec::with_capacity(500);
    for _ in 0..500 {
        let t = Instant::now();
        send().await?;
        lat.push(t.elapsed());
    }
    lat.sort();
    // Throughput: 8 concurrent clients for 4 seconds.
    let deadline = Instant::now() + Duration::from_secs(4);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = client.clone();
        let url = url.to_owned();
        let body = s.body.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                if client
                    .post(&url)
                    .json(&body)
                    .send()
                    .await
                    .and_then(|r| r.error_for_status())
                    .is_ok()
                {
                    n += 1;
                }
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await?;
    }
    Ok((
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        total as f64 / start.elapsed().as_secs_f64(),
    ))
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let reseed = std::env::args().any(|a| a == "--reseed");
    let base = std::env::var("PALISADE_BENCH_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
    let url = format!("{base}/palisade_bench");
    palisade::db::create_database_if_missing(&url).await?;
    palisade::db::run_migrations(&url).await?;
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let have: i64 = client
        .query_one("SELECT count(*) FROM findings", &[])
        .await?
        .get(0);
    if reseed || have != PRODUCTS * PER_PRODUCT {
        seed(&url).await?;
    } else {
        println!("reusing {have} seeded findings (pass --reseed to rebuild)");
    }
    let product_id: i64 = client
        .query_one("SELECT min(id) FROM products", &[])
        .await?
        .get(0);
    let deep_after: i64 = client
        .query_one(
            "SELECT id FROM findings ORDER BY id OFFSET 49999 LIMIT 1",
            &[],
        )
        .await?
        .get(0);
    let some_finding: i64 = client
        .query_one(
            "SELECT id FROM findings WHERE product_id = $1 ORDER BY id OFFSET 1234 LIMIT 1",
            &[&product_id],
        )
        .await?
        .get(0);
    let admin_token = principal(&client, "bench-admin", true).await?;
    let reader_token = principal(&client, "bench-reader", false).await?;
    client
        .batch_execute(
            "INSERT INTO product_type_members (user_id, product_type_id, role_id)
               SELECT id, (SELECT product_type_id FROM products ORDER BY id LIMIT 1), 5
               FROM users WHERE username = 'bench-reader'
             ON CONFLICT DO NOTHING;
             NOTIFY palisade_authz;",
        )
        .await?;
    let enc = |kind: &str, id: i64| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
    };
    let cursor =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{{\"i\":{deep_after}}}"));

    let server = BenchServer::start(&url, &[]).await?;
    let as_user = |token: &str| -> anyhow::Result<reqwest::Client> {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Token {token}").parse()?,
        );
        Ok(reqwest::Client::builder()
            .default_headers(headers)
            .build()?)
    };
    let principals = [
        ("superuser", as_user(&admin_token)?),
        ("reader of 10 products", as_user(&reader_token)?),
    ];
    let gql = format!("{}/graphql", server.base);

    let nested = "nodes { id title severity vulnerabilityIds tags test { title engagement { name product { name productType { name } } } } }";
    let scenarios = [
        Scenario {
            name: "(a) first page of 100, nested parents",
            body: json!({"query": format!("{{ findings(first: 100) {{ {nested} }} }}")}),
        },
        Scenario {
            name: "(b) filtered page (Critical|High, active, one product)",
            body: json!({"query": format!("query($p: ID!) {{ findings(first: 100, filter: {{severity: [CRITICAL, HIGH], active: true, productIds: [$p]}}) {{ {nested} }} }}"), "variables": {"p": enc("Product", product_id)}}),
        },
        Scenario {
            name: "(c) node(id)",
            body: json!({"query": "query($id: ID!) { node(id: $id) { id ... on Finding { title severity } } }", "variables": {"id": enc("Finding", some_finding)}}),
        },
        Scenario {
            name: "(d) deep page via cursor (page 500)",
            body: json!({"query": format!("query($c: String) {{ findings(first: 100, after: $c) {{ {nested} }} }}"), "variables": {"c": cursor}}),
        },
    ];
    for (who, client) in &principals {
        println!(
            "\nas {who}\n{:<58} {:>10} {:>10} {:>10}",
            "scenario", "p50 ms", "p99 ms", "req/s"
        );
        for s in &scenarios {
            let (p50, p99, rps) = measure(client, &gql, s).await?;
            println!(
                "{:<58} {:>10.2} {:>10.2} {:>10.0}",
                s.name,
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3,
                rps
            );
        }
    }
    if let Some(kib) = peak_rss_kib(server.pid()) {
        println!(
            "\npeak server memory (VmHWM): {:.1} MiB",
            kib as f64 / 1024.0
        );
    }
    Ok(())
}
