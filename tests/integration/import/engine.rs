//! The import engine against real PostgreSQL and the real built-in plugins:
//! fixtures, every dedupe algorithm and scope, reimport, close_old_findings,
//! minimum severity, groups, atomicity, concurrency, statement counts and the
//! job queue.
//!
//! Each test gets its own database from the shared harness
//! ([`crate::support::TestDb`]).

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use palisade::db::{Db, QueryCounter};
use palisade::import::{
    self, AllowAll, DedupeOverride, DedupeSettings, GroupBy, GuardDenied, ImportError, ImportGuard,
    ImportKind, ImportOutcome, ImportRequest, Importer, ReportSource, ResolvedTarget, Source,
    TargetPart, WorkerConfig,
};
use palisade::plugins::{DedupeAlgorithm, PluginConfig, PluginError, PluginRegistry};
use serde_json::{Value, json};

use crate::support::TestDb;

/// The shared test database with a pool and a direct SQL client.
struct EngineDb {
    db: Db,
    sql: tokio_postgres::Client,
    /// Dropped last: drops the database.
    _base: TestDb,
}

impl EngineDb {
    async fn new() -> EngineDb {
        let base = TestDb::new().await;
        EngineDb {
            db: base.pool(6).await,
            sql: base.client().await,
            _base: base,
        }
    }

    async fn count(&self, sql: &str) -> i64 {
        self.sql
            .query_one(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .get(0)
    }
}

/// The built-in plugins, loaded once per test process.
fn registry() -> &'static PluginRegistry {
    static REGISTRY: OnceLock<PluginRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        PluginRegistry::new(PluginConfig {
            cache_dir: Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-cache")),
            plugin_dir: None,
            builtins: true,
            ..PluginConfig::default()
        })
        .expect("the plugin host starts")
    })
}

const GENERIC: &str = "Generic Findings Import";

fn finding(title: &str, severity: &str) -> Value {
    json!({"title": title, "severity": severity, "description": format!("About {title}")})
}

fn report(findings: &[Value]) -> bytes::Bytes {
    bytes::Bytes::from(json!({ "findings": findings }).to_string())
}

fn request(product: &str, engagement: &str, body: bytes::Bytes) -> ImportRequest {
    ImportRequest {
        scan_type: Some(GENERIC.to_owned()),
        report: ReportSource::Bytes(body),
        product_type_name: Some("Apps".to_owned()),
        product_name: Some(product.to_owned()),
        engagement_name: Some(engagement.to_owned()),
        auto_create_context: true,
        ..ImportRequest::default()
    }
}

/// The engine over `db` with the built-in plugins and `settings`.
fn engine(db: &Db, settings: &DedupeSettings) -> Importer {
    Importer::new(db.clone(), registry().clone(), Arc::new(settings.clone()))
}

/// Imports or reimports the request's report, without an actor.
async fn scan(
    db: &Db,
    settings: &DedupeSettings,
    kind: ImportKind,
    guard: &dyn ImportGuard,
    req: ImportRequest,
) -> Result<ImportOutcome, ImportError> {
    engine(db, settings)
        .run(kind, None, guard, &req, Source::Report)
        .await
}

async fn import(t: &EngineDb, settings: &DedupeSettings, req: ImportRequest) -> ImportOutcome {
    scan(&t.db, settings, ImportKind::Import, &AllowAll, req)
        .await
        .expect("import succeeds")
}

async fn reimport(t: &EngineDb, settings: &DedupeSettings, req: ImportRequest) -> ImportOutcome {
    scan(&t.db, settings, ImportKind::Reimport, &AllowAll, req)
        .await
        .expect("reimport succeeds")
}

fn with_algorithm(a: DedupeAlgorithm) -> DedupeSettings {
    let mut s = DedupeSettings::default();
    s.overrides.insert(
        GENERIC.to_owned(),
        DedupeOverride {
            algorithm: Some(a),
            ..DedupeOverride::default()
        },
    );
    s
}

/// (id, duplicate, duplicate_finding_id, active) of a test's findings in id order.
async fn rows(t: &EngineDb, test_id: i64) -> Vec<(i64, bool, Option<i64>, bool)> {
    t.sql
        .query(
            "SELECT id, duplicate, duplicate_finding_id, active FROM findings \
             WHERE test_id = $1 ORDER BY id",
            &[&test_id],
        )
        .await
        .expect("rows")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

#[tokio::test]
async fn real_fixtures_import_through_builtin_plugins() {
    let t = EngineDb::new().await;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let cases = [
        (GENERIC, "generic-findings-import/generic_report3.json"),
        ("Gosec Scanner", "gosec-scanner/many_vulns.json"),
        ("Nmap Scan", "nmap-scan/nmap_script_vulners.xml"),
        (
            "Semgrep JSON Report",
            "semgrep-json-report/close_old_findings_report_line31.json",
        ),
        (
            "Govulncheck Scanner",
            "govulncheck-scanner/many_vulns_new_version_custom_severity.json",
        ),
    ];
    let settings = DedupeSettings::default();
    for (i, (scan_type, file)) in cases.iter().enumerate() {
        let golden: Value = serde_json::from_slice(
            &std::fs::read(fixtures.join(format!("{file}.golden.json"))).expect("golden"),
        )
        .expect("golden json");
        let expected = golden["findings"].as_array().expect("findings").len();
        let scan = registry()
            .scan_type(scan_type)
            .unwrap_or_else(|| panic!("{scan_type} is built in"));
        let req = ImportRequest {
            scan_type: Some(scan.name.clone()),
            report: ReportSource::Path(fixtures.join(file)),
            file_name: Some(file.to_string()),
            ..request("fixtures", &format!("eng {i}"), bytes::Bytes::new())
        };
        let out = import(&t, &settings, req).await;
        assert_eq!(out.statistics.created, expected, "{file}");
        assert_eq!(out.scan_type, scan.name);
        let stored = t
            .count(&format!(
                "SELECT count(*) FROM findings WHERE test_id = {} AND length(hash_code) = 64",
                out.test_id
            ))
            .await;
        assert_eq!(stored as usize, expected, "{file}: every finding hashed");
        let actions = t
            .count(&format!(
                "SELECT count(*) FROM test_import_finding_actions WHERE test_import_id = {} AND action = 'N'",
                out.test_import_id.expect("history")
            ))
            .await;
        assert_eq!(actions as usize, expected);
        assert_eq!(out.statistics.after["total"].total as usize, expected);
    }
    // Nmap findings carry locations.
    assert!(t.count("SELECT count(*) FROM location_finding_refs").await > 0);
    assert!(t.count("SELECT count(*) FROM location_product_refs").await > 0);
    let events = t.count("SELECT count(*) FROM events").await;
    let findings = t.count("SELECT count(*) FROM findings").await;
    assert_eq!(events, findings, "one event per created finding");
}

#[tokio::test]
async fn hash_code_duplicates_point_at_the_oldest_original_across_the_product() {
    let t = EngineDb::new().await;
    let s = DedupeSettings::default();
    let body = report(&[
        finding("A", "High"),
        finding("B", "Low"),
        finding("A", "High"),
    ]);
    let first = import(&t, &s, request("p", "e1", body.clone())).await;
    let r1 = rows(&t, first.test_id).await;
    assert_eq!(first.statistics.duplicates, 1, "a repeat inside one report");
    assert_eq!(r1[2], (r1[2].0, true, Some(r1[0].0), false));
    let second = import(&t, &s, request("p", "e2", body)).await;
    assert_eq!(second.statistics.duplicates, 3);
    let r2 = rows(&t, second.test_id).await;
    assert_eq!(r2[0].2, Some(r1[0].0));
    assert_eq!(r2[1].2, Some(r1[1].0));
    assert_eq!(r2[2].2, Some(r1[0].0), "never a duplicate of a duplicate");
    assert!(r2.iter().all(|r| r.1 && !r.3));
    let dup_events = t
        .count("SELECT count(*) FROM events WHERE kind = 'duplicate'")
        .await;
    assert_eq!(dup_events, 4);

    // Explanation agrees with what was stored.
    let mut conn = t.db.conn().await.expect("conn");
    let ex = import::dedupe_explain(&mut conn, Some(registry()), &s, r2[1].0)
        .await
        .expect("explain")
        .expect("finding exists");
    assert_eq!(ex.algorithm, "hash_code");
    assert_eq!(ex.original_finding_id, Some(r1[1].0));
    assert_eq!(ex.stored_duplicate_finding_id, Some(r1[1].0));
    assert_eq!(ex.stored_hash.as_deref(), Some(ex.computed_hash.as_str()));
    let fields: Vec<&str> = ex.hash_parts.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["title", "cwe", "line", "file_path", "description"]);
    let orig = import::dedupe_explain(&mut conn, Some(registry()), &s, r1[0].0)
        .await
        .expect("explain")
        .expect("exists");
    assert_eq!(orig.original_finding_id, None);
}

#[tokio::test]
async fn engagement_scope_keeps_engagements_apart() {
    let t = EngineDb::new().await;
    let s = DedupeSettings::default();
    let body = report(&[finding("A", "High")]);
    let scoped = |e: &str| ImportRequest {
        deduplication_on_engagement: true,
        ..request("p", e, body.clone())
    };
    import(&t, &s, scoped("e1")).await;
    let second = import(&t, &s, scoped("e2")).await;
    assert_eq!(second.statistics.duplicates, 0);
    let third = import(&t, &s, scoped("e2")).await;
    assert_eq!(
        third.statistics.duplicates, 1,
        "inside one engagement it dedupes"
    );
    // A product-scope engagement does not match findings of a scoped one.
    let fourth = import(&t, &s, request("p", "e3", body)).await;
    assert_eq!(fourth.statistics.duplicates, 0);
}

#[tokio::test]
async fn unique_id_algorithms() {
    let t = EngineDb::new().await;
    let with_uid = |title: &str, uid: &str| {
        let mut f = finding(title, "Medium");
        f["unique_id_from_tool"] = json!(uid);
        f
    };
    let uid = with_algorithm(DedupeAlgorithm::UniqueIdFromTool);
    import(
        &t,
        &uid,
        request("u", "e1", report(&[with_uid("A", "1"), with_uid("B", "2")])),
    )
    .await;
    let out = import(
        &t,
        &uid,
        request(
            "u",
            "e2",
            report(&[with_uid("Other", "1"), with_uid("B", "3")]),
        ),
    )
    .await;
    let r = rows(&t, out.test_id).await;
    assert!(r[0].1, "same uid, different title: duplicate");
    assert!(!r[1].1, "same title, different uid: original");

    let either = with_algorithm(DedupeAlgorithm::UniqueIdFromToolOrHashCode);
    let out = import(
        &t,
        &either,
        request(
            "u",
            "e3",
            report(&[with_uid("B", "9"), with_uid("Z", "2"), with_uid("Y", "8")]),
        ),
    )
    .await;
    let r = rows(&t, out.test_id).await;
    assert!(r[0].1, "same hash (title B), different uid");
    assert!(r[1].1, "same uid 2, different hash");
    assert!(!r[2].1);
}

#[tokio::test]
async fn legacy_needs_static_match_or_location_subset() {
    let t = EngineDb::new().await;
    let s = with_algorithm(DedupeAlgorithm::Legacy);
    let code = |line: i64| {
        let mut f = finding("Hardcoded password", "High");
        f["file_path"] = json!("src/a.py");
        f["line"] = json!(line);
        f
    };
    let web = |urls: &[&str]| {
        let mut f = finding("XSS", "High");
        f["endpoints"] = json!(urls);
        f
    };
    import(
        &t,
        &s,
        request(
            "l",
            "e1",
            report(&[code(10), web(&["https://a.example/x"])]),
        ),
    )
    .await;
    let out = import(
        &t,
        &s,
        request(
            "l",
            "e2",
            report(&[
                code(10),
                code(11),
                web(&["https://a.example/x", "https://a.example/y"]),
                web(&["https://b.example/"]),
            ]),
        ),
    )
    .await;
    let r = rows(&t, out.test_id).await;
    assert!(r[0].1, "same file, line and hash");
    assert!(!r[1].1, "another line changes the legacy hash");
    assert!(r[2].1, "every old location is on the new finding");
    assert!(!r[3].1, "the old location is missing");
}

#[tokio::test]
async fn reimport_new_closed_reactivated_untouched_and_reorder() {
    let t = EngineDb::new().await;
    let s = DedupeSettings::default();
    let (a, b, c, d) = (
        finding("A", "High"),
        finding("B", "Medium"),
        finding("C", "Low"),
        finding("D", "Critical"),
    );
    let first = import(
        &t,
        &s,
        request("r", "e", report(&[a.clone(), b.clone(), c.clone()])),
    )
    .await;
    let re = |body| ImportRequest {
        test_id: Some(first.test_id),
        ..request("r", "e", body)
    };
    let out = reimport(&t, &s, re(report(&[b.clone(), c.clone(), d.clone()]))).await;
    assert_eq!(out.kind, ImportKind::Reimport);
    assert_eq!(out.test_id, first.test_id);
    let st = &out.statistics;
    assert_eq!(
        (st.created, st.closed, st.reactivated, st.untouched),
        (1, 1, 0, 2)
    );
    assert_eq!(st.delta["created"]["critical"], 1);
    assert_eq!(st.before.as_ref().expect("before")["total"].active, 3);
    assert_eq!(st.after["total"].active, 3);
    assert_eq!(st.after["total"].is_mitigated, 1);
    let note = t
        .count("SELECT count(*) FROM notes WHERE entry LIKE 'Mitigated by % re-upload.'")
        .await;
    assert_eq!(note, 1);

    // A comes back: reactivated; scanner order reversed changes nothing else.
    let out = reimport(
        &t,
        &s,
        re(report(&[d.clone(), c.clone(), b.clone(), a.clone()])),
    )
    .await;
    let st = &out.statistics;
    assert_eq!(
        (st.created, st.closed, st.reactivated, st.untouched),
        (0, 0, 1, 3)
    );
    let actions: Vec<(String, i64)> = t
        .sql
        .query(
            "SELECT action, count(*) FROM test_import_finding_actions \
             WHERE test_import_id = $1 GROUP BY action ORDER BY action",
            &[&out.test_import_id.expect("history")],
        )
        .await
        .expect("actions")
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get(1)))
        .collect();
    assert_eq!(actions, vec![("R".to_owned(), 1), ("U".to_owned(), 3)]);
    let kinds = t
        .count("SELECT count(*) FROM events WHERE kind IN ('reactivated', 'mitigated')")
        .await;
    assert_eq!(kinds, 2);

    // do_not_reactivate: A disappears, then returns and stays closed.
    reimport(&t, &s, re(report(&[b.clone(), c.clone(), d.clone()]))).await;
    let out = reimport(
        &t,
        &s,
        ImportRequest {
            do_not_reactivate: true,
            ..re(report(&[a.clone(), b.clone(), c.clone(), d.clone()]))
        },
    )
    .await;
    assert_eq!(out.statistics.reactivated, 0);
    assert_eq!(out.statistics.untouched, 4);
    let a_active: bool = t
        .sql
        .query_one(
            "SELECT active FROM findings WHERE test_id = $1 AND title = 'A'",
            &[&first.test_id],
        )
        .await
        .expect("A")
        .get(0);
    assert!(!a_active);
    assert_eq!(
        t.count("SELECT count(*) FROM notes WHERE entry LIKE '%do_not_reactivate%'")
            .await,
        1
    );
    assert_eq!(
        t.count(&format!(
            "SELECT count(*) FROM findings WHERE test_id = {}",
            first.test_id
        ))
        .await,
        4,
        "reimports never duplicated a finding"
    );
}

#[tokio::test]
async fn reimport_without_test_falls_back_to_import_only_with_auto_create() {
    let t = EngineDb::new().await;
    let s = DedupeSettings::default();
    let body = report(&[finding("A", "High")]);
    let err = scan(
        &t.db,
        &s,
        ImportKind::Reimport,
        &AllowAll,
        ImportRequest {
            auto_create_context: false,
            ..request("x", "e", body.clone())
        },
    )
    .await
    .expect_err("no product");
    assert!(matches!(err, ImportError::TargetNotFound { .. }), "{err}");
    let out = reimport(&t, &s, request("x", "e", body.clone())).await;
    assert_eq!(out.kind, ImportKind::Import);
    let again = reimport(&t, &s, request("x", "e", body)).await;
    assert_eq!(again.kind, ImportKind::Reimport);
    assert_eq!(
        again.test_id, out.test_id,
        "found by engagement and scan type"
    );
    assert_eq!(again.statistics.untouched, 1);
}

#[tokio::test]
async fn close_old_findings_in_engagement_and_product_scope() {
    let t = EngineDb::new().await;
    let s = DedupeSettings::default();
    import(
        &t,
        &s,
        request(
            "c",
            "e1",
            report(&[finding("A", "High"), finding("B", "High")]),
        ),
    )
    .await;
    let out = import(
        &t,
        &s,
        ImportRequest {
            close_old_findings: Some(true),
            ..request("c", "e1", report(&[finding("B", "High")]))
        },
    )
    .await;
    assert_eq!(out.statistics.closed, 1);
    let closed: (bool, bool) = t
        .sql
        .query_one(
            "SELECT active, is_mitigated FROM findings WHERE title = 'A'",
            &[],
        )
        .await
        .map(|r| (r.get(0), r.get(1)))
        .expect("A");
    assert_eq!(closed, (false, true));
    // Another engagement: engagement scope closes nothing, product scope closes B.
    let out = import(
        &t,
        &s,
        ImportRequest {
            close_old_findings: Some(true),
            ..request("c", "e2", report(&[finding("C", "High")]))
        },
    )
    .await;
    assert_eq!(out.statistics.closed, 0);
    let out = import(
        &t,
        &s,
        ImportRequest {
            close_old_findings: Some(true),
            close_old_findings_product_scope: true,
            ..request("c", "e3", report(&[finding("C", "High")]))
        },
    )
    .await;
    // B's original is closed; its duplicate is inactive already, and e2's C is
    // still reported.
    assert_eq!(out.statistics.closed, 1);
    let b_active = t
        .count("SELECT count(*) FROM findings WHERE title = 'B' AND active")
        .await;
    assert_eq!(b_active, 0);
}

#[tokio::test]
async fn minimum_severity_and_overrides() {
    let t = EngineDb::new().await;
    let s = DedupeSettings::default();
    let out = import(
        &t,
        &s,
        ImportRequest {
            minimum_severity: Some(palisade::domain::severity::Severity::High),
            verified: Some(true),
            active: Some(false),
            tags: vec!["CI".to_owned()],
            apply_tags_to_findings: true,
            service: Some("billing".to_owned()),
            ..request(
                "m",
                "e",
                report(&[
                    finding("A", "Critical"),
                    finding("B", "High"),
                    finding("C", "Low"),
                    finding("D", "Info"),
                ]),
            )
        },
    )
    .await;
    assert_eq!(out.statistics.created, 2);
    assert_eq!(out.statistics.skipped_below_minimum, 2);
    let n = t
        .count(
            "SELECT count(*) FROM findings WHERE verified AND NOT active AND service = 'billing' \
             AND tags @> ARRAY['ci']",
        )
        .await;
    assert_eq!(n, 2);
    assert_eq!(
        t.count("SELECT count(*) FROM tests WHERE tags @> ARRAY['ci']")
            .await,
        1
    );
}

#[tokio::test]
async fn group_by_component() {
    let t = EngineDb::new().await;
    let s = DedupeSettings::default();
    let comp = |title: &str, c: &str| {
        let mut f = finding(title, "High");
        f["component_name"] = json!(c);
        f
    };
    let body = report(&[
        comp("A", "lodash"),
        comp("B", "lodash"),
        comp("C", "react"),
        finding("D", "Low"),
    ]);
    import(
        &t,
        &s,
        ImportRequest {
            group_by: Some(GroupBy::ComponentName),
            ..request("g", "e1", body.clone())
        },
    )
    .await;
    assert_eq!(t.count("SELECT count(*) FROM finding_groups").await, 2);
    assert_eq!(
        t.count("SELECT count(*) FROM finding_group_findings").await,
        3
    );
    import(
        &t,
        &s,
        ImportRequest {
            group_by: Some(GroupBy::ComponentName),
            create_finding_groups_for_all_findings: Some(false),
            ..request("g", "e2", body)
        },
    )
    .await;
    assert_eq!(
        t.count("SELECT count(*) FROM finding_groups WHERE name = 'Findings in: react'")
            .await,
        1,
        "only the first import grouped a single finding"
    );
    assert_eq!(
        t.count("SELECT count(*) FROM finding_group_findings").await,
        5
    );
}

/// Records what it was shown and refuses new products.
struct NoNewProducts(Mutex<Vec<ResolvedTarget>>);

impl ImportGuard for NoNewProducts {
    fn authorize(&self, target: &ResolvedTarget) -> Result<(), GuardDenied> {
        self.0.lock().expect("lock").push(target.clone());
        match target.product {
            TargetPart::New { .. } => Err(GuardDenied("Product_Type_Add_Product".to_owned())),
            TargetPart::Existing { .. } => Ok(()),
        }
    }
}

async fn assert_empty(t: &EngineDb) {
    for table in [
        "product_types",
        "products",
        "engagements",
        "tests",
        "test_types",
        "findings",
        "events",
        "test_imports",
        "test_import_finding_actions",
        "locations",
        "notes",
    ] {
        assert_eq!(
            t.count(&format!("SELECT count(*) FROM {table}")).await,
            0,
            "{table} must stay empty"
        );
    }
}

#[tokio::test]
async fn failures_leave_nothing_behind() {
    let t = EngineDb::new().await;
    let s = DedupeSettings::default();
    let mut f = finding("A", "High");
    f["endpoints"] = json!(["https://a.example/"]);
    let body = report(&[f]);

    let guard = NoNewProducts(Mutex::new(Vec::new()));
    let err = scan(
        &t.db,
        &s,
        ImportKind::Import,
        &guard,
        request("new", "e", body.clone()),
    )
    .await
    .expect_err("guard refuses");
    assert!(
        matches!(err, ImportError::PermissionDenied(ref m) if m.contains("Product_Type_Add_Product"))
    );
    let seen = guard.0.lock().expect("lock").clone();
    assert_eq!(
        seen[0].product,
        TargetPart::New {
            name: "new".to_owned()
        }
    );
    assert_eq!(
        seen[0].product_type,
        TargetPart::New {
            name: "Apps".to_owned()
        }
    );
    assert_empty(&t).await;

    let err = scan(
        &t.db,
        &s,
        ImportKind::Import,
        &AllowAll,
        request(
            "new",
            "e",
            bytes::Bytes::from_static(b"{\"findings\": [{\"title\": 1"),
        ),
    )
    .await
    .expect_err("bad report");
    assert!(
        matches!(err, ImportError::Plugin(PluginError::Guest { .. })),
        "{err}"
    );
    assert_empty(&t).await;

    // A database error after the hierarchy was created (unknown lead user).
    let err = scan(
        &t.db,
        &s,
        ImportKind::Import,
        &AllowAll,
        ImportRequest {
            lead_id: Some(999_999),
            ..request("new", "e", body.clone())
        },
    )
    .await
    .expect_err("foreign key");
    assert!(matches!(err, ImportError::Database(_)), "{err}");
    assert_empty(&t).await;

    let err = scan(
        &t.db,
        &s,
        ImportKind::Import,
        &AllowAll,
        ImportRequest {
            scan_type: Some("No Such Scan".to_owned()),
            ..request("new", "e", body)
        },
    )
    .await
    .expect_err("unknown scan type");
    assert!(
        matches!(
            err,
            ImportError::Plugin(PluginError::UnknownScanType { .. })
        ),
        "{err}"
    );
    assert_empty(&t).await;
}

#[tokio::test]
async fn concurrent_imports_create_one_original_per_hash() {
    let t = EngineDb::new().await;
    let s = Arc::new(DedupeSettings::default());
    // The product exists, so both imports race only on dedupe.
    import(&t, &s, request("race", "setup", report(&[]))).await;
    let findings: Vec<Value> = (0..300)
        .map(|i| finding(&format!("F{i}"), "High"))
        .collect();
    let body = report(&findings);
    let mut tasks = Vec::new();
    for e in ["e1", "e2", "e3"] {
        let db = t.db.clone();
        let s = Arc::clone(&s);
        let req = request("race", e, body.clone());
        tasks.push(tokio::spawn(async move {
            scan(&db, &s, ImportKind::Import, &AllowAll, req).await
        }));
    }
    for task in tasks {
        task.await.expect("task").expect("import");
    }
    let originals = t
        .count("SELECT count(*) FROM findings WHERE NOT duplicate")
        .await;
    assert_eq!(originals, 300);
    let per_hash = t
        .count(
            "SELECT count(*) FROM (SELECT hash_code FROM findings WHERE NOT duplicate \
             GROUP BY hash_code HAVING count(*) > 1) x",
        )
        .await;
    assert_eq!(per_hash, 0);
    assert_eq!(
        t.count("SELECT count(*) FROM findings WHERE duplicate")
            .await,
        600
    );
}

#[tokio::test]
async fn statement_count_grows_with_batches_not_findings() {
    let t = EngineDb::new().await;
    let s = DedupeSettings {
        batch_size: 500,
        ..DedupeSettings::default()
    };
    let make = |n: usize| -> Vec<palisade::plugins::HostFinding> {
        let body = report(
            &(0..n)
                .map(|i| {
                    let mut f = finding(&format!("F{i}"), "High");
                    f["vulnerability_ids"] = json!([format!("CVE-2026-{i}")]);
                    f["endpoints"] = json!([format!("https://h{}.example/", i % 7)]);
                    f
                })
                .collect::<Vec<_>>(),
        );
        registry()
            .parse_blocking(Some(GENERIC), &body, &Default::default())
            .expect("parse")
            .findings
    };
    let mut counts = Vec::new();
    for (i, n) in [10usize, 2000].into_iter().enumerate() {
        let findings = make(n);
        let counter = QueryCounter::default();
        let req = request("q", &format!("e{i}"), bytes::Bytes::new());
        counter
            .clone()
            .scope(async {
                engine(&t.db, &s)
                    .run(
                        ImportKind::Import,
                        None,
                        &AllowAll,
                        &req,
                        Source::Parsed {
                            scan_type: GENERIC.to_owned(),
                            findings,
                        },
                    )
                    .await
                    .expect("import")
            })
            .await;
        counts.push((n.div_ceil(500), counter.get()));
    }
    let (b_small, small) = counts[0];
    let (b_large, large) = counts[1];
    // Per batch: one candidate query, one findings insert, vulnerability ids,
    // found_by and three location statements (+ the candidates' locations).
    let per_batch = 8;
    assert!(
        large <= small + per_batch * (b_large - b_small),
        "10 findings took {small} statements, 2,000 took {large}"
    );
    assert!(small < 40, "a small import takes {small} statements");
}

#[tokio::test]
async fn background_job_runs_and_reports_progress() {
    let t = EngineDb::new().await;
    let findings: Vec<Value> = (0..1200)
        .map(|i| finding(&format!("F{i}"), "Low"))
        .collect();
    let settings = Arc::new(DedupeSettings {
        batch_size: 300,
        ..DedupeSettings::default()
    });
    let job = import::enqueue_import(
        &t.db,
        ImportKind::Import,
        None,
        &request("jobs", "e", report(&findings)),
    )
    .await
    .expect("enqueue");
    let queued = import::job_status(&t.db, job)
        .await
        .expect("status")
        .expect("job");
    assert_eq!(queued.status, "queued");
    let workers = import::spawn_workers(
        Importer::new(t.db.clone(), registry().clone(), settings),
        Arc::new(|_| Box::new(AllowAll) as Box<dyn ImportGuard>),
        WorkerConfig {
            poll_interval: Duration::from_millis(50),
            heartbeat: Duration::from_millis(20),
            ..WorkerConfig::default()
        },
    );
    let status = wait_for(&t, job).await;
    workers.shutdown().await;
    assert_eq!(status.status, "succeeded", "{:?}", status.last_error);
    assert_eq!(
        (status.progress_done, status.progress_total),
        (1200, Some(1200))
    );
    let outcome: ImportOutcome =
        serde_json::from_str(status.result.as_deref().expect("result")).expect("outcome json");
    assert_eq!(outcome.statistics.created, 1200);
    assert_eq!(
        t.count("SELECT count(*) FROM job_files").await,
        0,
        "report removed"
    );
}

async fn wait_for(t: &EngineDb, job: i64) -> import::JobStatus {
    for _ in 0..600 {
        let s = import::job_status(&t.db, job)
            .await
            .expect("status")
            .expect("job");
        if s.status == "succeeded" || s.status == "failed" {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {job} did not finish");
}

#[tokio::test]
async fn abandoned_job_is_reclaimed() {
    let t = EngineDb::new().await;
    let job = import::enqueue_import(
        &t.db,
        ImportKind::Import,
        None,
        &request("crash", "e", report(&[finding("A", "High")])),
    )
    .await
    .expect("enqueue");
    // A worker claimed it and died an hour ago.
    t.sql
        .batch_execute(&format!(
            "UPDATE jobs SET status = 'running', attempts = 1, locked_by = 'dead#0', \
             locked_at = now() - interval '1 hour' WHERE id = {job}"
        ))
        .await
        .expect("simulate crash");
    let workers = import::spawn_workers(
        Importer::new(
            t.db.clone(),
            registry().clone(),
            Arc::new(DedupeSettings::default()),
        ),
        Arc::new(|_| Box::new(AllowAll) as Box<dyn ImportGuard>),
        WorkerConfig {
            poll_interval: Duration::from_millis(50),
            stale_after: Duration::from_secs(60),
            ..WorkerConfig::default()
        },
    );
    let status = wait_for(&t, job).await;
    workers.shutdown().await;
    assert_eq!(status.status, "succeeded");
    assert_eq!(status.attempts, 2);
    assert_eq!(t.count("SELECT count(*) FROM findings").await, 1);
}

#[tokio::test]
async fn deleting_findings_clears_their_rows_and_duplicate_links() {
    let t = EngineDb::new().await;
    let s = DedupeSettings::default();
    let mut a = finding("A", "High");
    a["vulnerability_ids"] = json!(["CVE-2026-0001"]);
    a["endpoints"] = json!(["https://a.example/login"]);
    let body = report(&[a, finding("B", "Low")]);
    let first = import(&t, &s, request("p", "e1", body.clone())).await;
    let second = import(&t, &s, request("p", "e2", body)).await;
    assert_eq!(second.statistics.duplicates, 2);
    let originals = rows(&t, first.test_id).await;
    let count_for = |table: &str, ids: &[(i64, bool, Option<i64>, bool)]| {
        let list = ids
            .iter()
            .map(|r| r.0.to_string())
            .collect::<Vec<_>>()
            .join(",");
        format!("SELECT count(*) FROM {table} WHERE finding_id IN ({list})")
    };
    assert_eq!(
        t.count(&count_for("finding_vulnerability_ids", &originals))
            .await,
        1
    );
    assert_eq!(
        t.count(&count_for("location_finding_refs", &originals))
            .await,
        1
    );
    // Found again by the same test type: implied by the original's own
    // test, so no row; another type's row is added by hand to see it go.
    assert_eq!(t.count(&count_for("finding_found_by", &originals)).await, 0);
    t.sql
        .execute(
            "INSERT INTO finding_found_by (finding_id, test_type_id) \
             SELECT $1, test_type_id FROM tests WHERE id = $2",
            &[&originals[0].0, &first.test_id],
        )
        .await
        .expect("found_by row");
    assert_eq!(t.count(&count_for("finding_found_by", &originals)).await, 1);

    // The first test goes (as a user deleting it would): its findings'
    // rows go with it, and the duplicates no longer point at them.
    t.sql
        .execute("DELETE FROM tests WHERE id = $1", &[&first.test_id])
        .await
        .expect("delete");
    for table in [
        "finding_vulnerability_ids",
        "location_finding_refs",
        "finding_found_by",
        "finding_cwes",
    ] {
        assert_eq!(t.count(&count_for(table, &originals)).await, 0, "{table}");
    }
    assert_eq!(
        t.count(&format!(
            "SELECT count(*) FROM findings WHERE test_id = {} AND duplicate_finding_id IS NOT NULL",
            second.test_id
        ))
        .await,
        0
    );
    // The import history still lists what each import did.
    assert_eq!(
        t.count(&format!(
            "SELECT count(*) FROM test_import_finding_actions a JOIN test_imports i ON i.id = a.test_import_id \
             WHERE i.test_id = {} AND a.action = 'N'",
            second.test_id
        ))
        .await,
        2
    );
}

#[tokio::test]
async fn false_positive_history_marks_matches_when_deduplication_is_off() {
    let t = EngineDb::new().await;
    let s = DedupeSettings::default();
    t.sql
        .batch_execute(
            "UPDATE system_settings SET enable_deduplication = false, false_positive_history = true",
        )
        .await
        .expect("settings");
    let body = report(&[finding("A", "High"), finding("B", "Low")]);
    let first = import(&t, &s, request("p", "e1", body.clone())).await;
    let r1 = rows(&t, first.test_id).await;
    t.sql
        .execute(
            "UPDATE findings SET false_p = true, active = false WHERE id = $1",
            &[&r1[0].0],
        )
        .await
        .expect("mark A");

    // A matches a false positive of the product: it arrives as one.
    let second = import(&t, &s, request("p", "e2", body.clone())).await;
    assert_eq!(second.statistics.duplicates, 0, "deduplication is off");
    let flags = |test: i64| {
        format!(
            "SELECT count(*) FROM findings WHERE test_id = {test} AND false_p AND NOT active AND NOT verified"
        )
    };
    assert_eq!(t.count(&flags(second.test_id)).await, 1);
    assert_eq!(
        t.count(&format!(
            "SELECT count(*) FROM findings WHERE test_id = {} AND title = 'B' AND active AND NOT false_p",
            second.test_id
        ))
        .await,
        1
    );
    // Another product knows nothing of it.
    let other = import(&t, &s, request("q", "e1", body.clone())).await;
    assert_eq!(t.count(&flags(other.test_id)).await, 0);

    // Retroactive: a report that calls B a false positive marks B everywhere in the product.
    t.sql
        .batch_execute("UPDATE system_settings SET retroactive_false_positive_history = true")
        .await
        .expect("settings");
    let mut b = finding("B", "Low");
    b["false_p"] = json!(true);
    let third = import(&t, &s, request("p", "e3", report(&[b]))).await;
    assert_eq!(t.count(&flags(third.test_id)).await, 1);
    assert_eq!(
        t.count("SELECT count(*) FROM findings f JOIN products p ON p.id = f.product_id WHERE p.name = 'p' AND f.title = 'B' AND (f.active OR NOT f.false_p)")
            .await,
        0,
        "every B of product p is a false positive now"
    );
    assert_eq!(
        t.count("SELECT count(*) FROM findings f JOIN products p ON p.id = f.product_id WHERE p.name = 'q' AND f.title = 'B' AND f.active")
            .await,
        1,
        "product q keeps its B"
    );
    assert_eq!(
        t.count("SELECT count(*) FROM events WHERE kind = 'false_positive'")
            .await,
        2,
        "one event per finding marked afterwards"
    );
}

#[tokio::test]
async fn endpoint_to_add_links_a_product_location_to_every_finding() {
    let t = EngineDb::new().await;
    let s = DedupeSettings::default();
    let mut a = finding("A", "High");
    a["endpoints"] = json!(["https://shop.example/login"]);
    import(&t, &s, request("p", "e1", report(&[a]))).await;
    let location: i64 = t
        .sql
        .query_one("SELECT id FROM locations WHERE host = 'shop.example'", &[])
        .await
        .expect("location")
        .get(0);

    let body = report(&[finding("B", "Low"), finding("C", "Medium")]);
    let out = import(
        &t,
        &s,
        ImportRequest {
            endpoint_to_add: Some(location),
            ..request("p", "e2", body.clone())
        },
    )
    .await;
    assert_eq!(
        t.count(&format!(
            "SELECT count(*) FROM location_finding_refs r JOIN findings f ON f.id = r.finding_id \
             WHERE f.test_id = {} AND r.location_id = {location}",
            out.test_id
        ))
        .await,
        2
    );

    // A location the product does not have is refused, and nothing is stored.
    let findings_before = t.count("SELECT count(*) FROM findings").await;
    let err = scan(
        &t.db,
        &s,
        ImportKind::Import,
        &AllowAll,
        ImportRequest {
            endpoint_to_add: Some(location),
            ..request("q", "e1", body)
        },
    )
    .await
    .expect_err("not a location of q");
    assert!(err.to_string().contains("endpoint_to_add"), "{err}");
    assert_eq!(
        t.count("SELECT count(*) FROM findings").await,
        findings_before
    );
    assert_eq!(
        t.count("SELECT count(*) FROM products WHERE name = 'q'")
            .await,
        0
    );
}

#[tokio::test]
async fn reimport_brings_vulnerability_ids_and_cwes_up_to_date() {
    let t = EngineDb::new().await;
    let s = DedupeSettings::default();
    let mut a = finding("A", "High");
    a["vulnerability_ids"] = json!(["CVE-2026-0001", "CVE-2026-0002"]);
    let first = import(&t, &s, request("p", "e", report(&[a.clone()]))).await;
    let mut again = a;
    again["vulnerability_ids"] = json!(["CVE-2026-0003", "CVE-2026-0001", "CVE-2026-0003"]);
    let out = reimport(
        &t,
        &s,
        ImportRequest {
            test_id: Some(first.test_id),
            ..request("p", "e", report(&[again]))
        },
    )
    .await;
    assert_eq!(out.statistics.untouched, 1);
    let id = rows(&t, first.test_id).await[0].0;
    let stored: Vec<String> = t
        .sql
        .query(
            "SELECT vulnerability_id FROM finding_vulnerability_ids WHERE finding_id = $1 ORDER BY position",
            &[&id],
        )
        .await
        .expect("ids")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(stored, ["CVE-2026-0003", "CVE-2026-0001"]);
    let cve: Option<String> = t
        .sql
        .query_one("SELECT cve::text FROM findings WHERE id = $1", &[&id])
        .await
        .expect("cve")
        .get(0);
    assert_eq!(cve.as_deref(), Some("CVE-2026-0003"), "cve is the first id");
}
