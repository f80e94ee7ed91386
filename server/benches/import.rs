//! Import engine benchmark: generated Generic Findings Import reports of 1k,
//! 10k and 100k findings, end to end (parse + persist) and persist only; a
//! 100k import into a product already holding 100k (half duplicates); a
//! reimport of 100k with 1 % changed. Prints findings/s and peak RSS.
//!
//! Run: `cargo bench -p palisade --bench import` (database
//! `palisade_bench_import`, recreated on every run; override the server with
//! `PALISADE_BENCH_PG`).

#![expect(clippy::print_stdout, reason = "a bench binary reports on stdout")]

use std::path::Path;
use std::time::Instant;

use palisade::db::Db;
use palisade::import::{
    AllowAll, DedupeSettings, ImportKind, ImportOutcome, ImportRequest, Importer, ReportSource,
    Source,
};
use palisade::plugins::{PluginConfig, PluginRegistry};
use serde_json::json;

const SCAN: &str = "Generic Findings Import";

/// A report of findings `from..to`; `variant` changes the description (and so the hash).
fn report(from: usize, to: usize) -> bytes::Bytes {
    let sev = ["Critical", "High", "Medium", "Low", "Info"];
    let findings: Vec<serde_json::Value> = (from..to)
        .map(|i| {
            json!({
                "title": format!("Vulnerable dependency {i} in package-{}", i % 977),
                "severity": sev[i % 5],
                "description": format!(
                    "Package package-{} version 1.{}.0 is affected by a flaw that lets an attacker \
                     do something unpleasant. Upgrade to a fixed release. Finding number {i}.",
                    i % 977, i % 13
                ),
                "cwe": 79 + (i % 50),
                "file_path": format!("services/svc-{}/package-lock.json", i % 31),
                "line": (i % 400) + 1,
                "component_name": format!("package-{}", i % 977),
                "component_version": format!("1.{}.0", i % 13),
                "vulnerability_ids": [format!("CVE-2026-{i:06}")],
                "unique_id_from_tool": format!("uid-{i}"),
                "mitigation": "Upgrade.",
            })
        })
        .collect();
    bytes::Bytes::from(json!({ "findings": findings }).to_string())
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn request(product: &str, body: bytes::Bytes) -> ImportRequest {
    ImportRequest {
        scan_type: Some(SCAN.to_owned()),
        report: ReportSource::Bytes(body),
        product_type_name: Some("Bench".to_owned()),
        product_name: Some(product.to_owned()),
        engagement_name: Some("ci".to_owned()),
        auto_create_context: true,
        ..ImportRequest::default()
    }
}

/// Writes out what earlier cases left dirty, so that a case is not charged
/// with the previous one's checkpoint (the server's PostgreSQL settings are
/// left as they are).
async fn settle(db: &Db) -> anyhow::Result<()> {
    use diesel_async::RunQueryDsl;
    let mut conn = db.conn().await?;
    diesel::sql_query("CHECKPOINT").execute(&mut *conn).await?;
    Ok(())
}

fn line(label: &str, n: usize, secs: f64, out: Option<&ImportOutcome>) {
    let extra = out.map_or(String::new(), |o| {
        let s = &o.statistics;
        format!(
            "  created {} (dup {}), closed {}, reactivated {}, untouched {}",
            s.created, s.duplicates, s.closed, s.reactivated, s.untouched
        )
    });
    println!(
        "{label:<44} {n:>7} findings {secs:>7.2} s {:>9.0} findings/s{extra}",
        n as f64 / secs
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // PALISADE_LOG=palisade::import=debug shows each import's steps.
    if let Ok(filter) = std::env::var("PALISADE_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .init();
    }
    let server = std::env::var("PALISADE_BENCH_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
    let url = format!("{server}/palisade_bench_import");
    {
        let (admin, conn) =
            tokio_postgres::connect(&format!("{server}/postgres"), tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        admin
            .batch_execute("DROP DATABASE IF EXISTS palisade_bench_import WITH (FORCE)")
            .await?;
        admin
            .batch_execute("CREATE DATABASE palisade_bench_import")
            .await?;
    }
    palisade::db::run_migrations(&url).await?;
    let db = Db::connect(&url, 4).await?;
    let plugins = tokio::task::spawn_blocking(|| {
        PluginRegistry::new(PluginConfig {
            cache_dir: Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-cache")),
            ..PluginConfig::default()
        })
    })
    .await??;
    let importer = Importer::new(
        db.clone(),
        plugins.clone(),
        std::sync::Arc::new(DedupeSettings::default()),
    );
    println!(
        "import engine benchmark (batch size {}; every case starts after a CHECKPOINT)",
        importer.settings().batch_size
    );

    // (a) into an empty product, end to end and persist only.
    let mut per_finding = Vec::new();
    let mut big_test = 0;
    for n in [1_000usize, 10_000, 100_000] {
        let body = report(0, n);
        let mb = body.len() as f64 / 1e6;
        settle(&db).await?;
        let t = Instant::now();
        let out = importer
            .run(
                ImportKind::Import,
                None,
                &AllowAll,
                &request(&format!("empty-{n}"), body.clone()),
                Source::Report,
            )
            .await?;
        let e2e = t.elapsed().as_secs_f64();
        line(
            &format!("(a) import, empty product, end to end ({mb:.0} MB)"),
            n,
            e2e,
            Some(&out),
        );
        if n == 100_000 {
            big_test = out.test_id;
        }
        let t = Instant::now();
        let parsed = plugins
            .parse(None, Some(SCAN), body, Default::default())
            .await?;
        let parse = t.elapsed().as_secs_f64();
        let req = request(&format!("persist-{n}"), bytes::Bytes::new());
        let t = Instant::now();
        importer
            .run(
                ImportKind::Import,
                None,
                &AllowAll,
                &req,
                Source::Parsed {
                    scan_type: SCAN.to_owned(),
                    findings: parsed.findings,
                },
            )
            .await?;
        let persist = t.elapsed().as_secs_f64();
        line("    parse only", n, parse, None);
        line("    persist only", n, persist, None);
        per_finding.push(e2e / n as f64);
    }
    if let (Some(first), Some(last)) = (per_finding.first(), per_finding.last()) {
        println!(
            "growth 1k -> 100k: time per finding x{:.2} (1.00 = linear)",
            last / first
        );
    }

    // (b) 100k into the product holding 100k: findings 50k..150k, half duplicates.
    let body = report(50_000, 150_000);
    settle(&db).await?;
    let t = Instant::now();
    let out = importer
        .run(
            ImportKind::Import,
            None,
            &AllowAll,
            &ImportRequest {
                engagement_name: Some("second".to_owned()),
                ..request("empty-100000", body)
            },
            Source::Report,
        )
        .await?;
    line(
        "(b) import into 100k product, 50% dupes",
        100_000,
        t.elapsed().as_secs_f64(),
        Some(&out),
    );

    // (c) reimport of the 100k test with 1 % changed: 1k gone, 1k new.
    let body = report(1_000, 101_000);
    settle(&db).await?;
    let t = Instant::now();
    let out = importer
        .run(
            ImportKind::Reimport,
            None,
            &AllowAll,
            &ImportRequest {
                test_id: Some(big_test),
                ..request("empty-100000", body)
            },
            Source::Report,
        )
        .await?;
    line(
        "(c) reimport 100k, 1% changed",
        100_000,
        t.elapsed().as_secs_f64(),
        Some(&out),
    );
    println!("peak RSS {:.0} MiB", peak_rss_mib());
    Ok(())
}
