//! Triage benchmark: bulk status actions through the real server. Seeds
//! 10,000 findings in one product (and 100,000 elsewhere, so the selection
//! is not the whole table), then times `closeFindings` and `reopenFindings`
//! over all 10,000, by filter and by an explicit id list, with a note.
//! Target: a bulk close of 10,000 findings in under 1 s.
//!
//! Run: `cargo bench -p palisade --bench triage` (database
//! `palisade_bench_triage`, recreated on every run; override the server with
//! `PALISADE_BENCH_PG`).

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

const TARGET: i64 = 10_000;
const OTHERS: i64 = 100_000;
const ROUNDS: usize = 5;

async fn seed(client: &tokio_postgres::Client) -> anyhow::Result<()> {
    client
        .batch_execute(&format!(
            "TRUNCATE product_types RESTART IDENTITY CASCADE;
             INSERT INTO product_types (name) VALUES ('bench');
             INSERT INTO products (name, description, product_type_id)
               SELECT 'product ' || g, 'bench', 1 FROM generate_series(1, 11) g;
             INSERT INTO engagements (product_id, name, target_start, target_end)
               SELECT id, 'ci', CURRENT_DATE, CURRENT_DATE FROM products;
             INSERT INTO test_types (name) VALUES ('Bench Scan') ON CONFLICT DO NOTHING;
             INSERT INTO tests (engagement_id, product_id, test_type_id, title, target_start, target_end)
               SELECT e.id, e.product_id, (SELECT id FROM test_types WHERE name = 'Bench Scan'), 'scan', now(), now() FROM engagements e;
             INSERT INTO findings (test_id, engagement_id, product_id, title, severity, numerical_severity, description, active, date)
               SELECT t.id, t.engagement_id, t.product_id, 'Finding ' || g,
                      (ARRAY['Critical','High','Medium','Low','Info'])[1 + g % 5],
                      (ARRAY['S0','S1','S2','S3','S4'])[1 + g % 5],
                      'A generated finding for the benchmark.', true, CURRENT_DATE - (g % 365)
               FROM tests t, generate_series(1, CASE WHEN t.product_id = 1 THEN {TARGET} ELSE {} END) g;
             ANALYZE;",
            OTHERS / 10
        ))
        .await?;
    Ok(())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn call(
    http: &reqwest::Client,
    url: &str,
    query: &str,
    input: &Value,
    field: &str,
) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let r = http
        .post(url)
        .json(&json!({"query": query, "variables": {"i": input}}))
        .send()
        .await?;
    let v: Value = r.json().await?;
    let took = t.elapsed();
    anyhow::ensure!(
        v["data"][field]["changed"] == json!(TARGET),
        "{field} did not change {TARGET} findings: {v}"
    );
    Ok(took)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let base = std::env::var("PALISADE_BENCH_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
    let url = format!("{base}/palisade_bench_triage");
    palisade::db::create_database_if_missing(&url).await?;
    palisade::db::run_migrations(&url).await?;
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    seed(&client).await?;
    let token = principal(&client, "bench-admin", true).await?;
    let ids: Vec<String> = client
        .query(
            "SELECT id FROM findings WHERE product_id = 1 ORDER BY id",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(format!("Finding:{}", r.get::<_, i64>(0)))
        })
        .collect();
    let product = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("Product:1");

    let server = BenchServer::start(&url, &[]).await?;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Token {token}").parse()?,
    );
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()?;
    let gql = format!("{}/graphql", server.base);
    let close = "mutation($i: CloseFindingsInput!) { closeFindings(input: $i) { changed } }";
    let reopen = "mutation($i: ReopenFindingsInput!) { reopenFindings(input: $i) { changed } }";
    let by_filter = json!({"filter": {"productIds": [product]}});
    let by_ids = json!({"ids": ids});
    let note = json!({"entry": "closed in bulk by the benchmark"});

    println!(
        "{:<52} {:>10} {:>10}",
        "bulk action over 10,000 findings", "median ms", "max ms"
    );
    for (name, selection, with_note) in [
        ("close + reopen, by filter", &by_filter, false),
        ("close + reopen, by 10,000 ids", &by_ids, false),
        ("close with a note + reopen, by filter", &by_filter, true),
    ] {
        let mut closes = Vec::new();
        let mut reopens = Vec::new();
        for _ in 0..ROUNDS {
            let mut input = json!({"selection": selection});
            if with_note {
                input["note"] = note.clone();
            }
            closes.push(call(&http, &gql, close, &input, "closeFindings").await?);
            let input = json!({"selection": selection});
            reopens.push(call(&http, &gql, reopen, &input, "reopenFindings").await?);
        }
        let max_c = closes.iter().max().copied().unwrap_or_default();
        let max_r = reopens.iter().max().copied().unwrap_or_default();
        println!(
            "{:<52} {:>10.0} {:>10.0}",
            format!("{name}: close"),
            median(closes).as_secs_f64() * 1e3,
            max_c.as_secs_f64() * 1e3
        );
        println!(
            "{:<52} {:>10.0} {:>10.0}",
            format!("{name}: reopen"),
            median(reopens).as_secs_f64() * 1e3,
            max_r.as_secs_f64() * 1e3
        );
    }
    Ok(())
}
