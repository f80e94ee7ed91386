//! Severity is a typed value end to end: the database holds only the five
//! names (with the matching `numerical_severity`), text outside them is an
//! error on read rather than Info, and the migration that added the checks
//! refuses rows that break them instead of fixing them silently.

use serde_json::json;

use crate::hierarchy::{add_finding, build_tree};
use crate::support::rest::{IMPORT, import_form, rest_import};
use crate::support::{TestDb, TestServer};

const CHECK_UP: &str = include_str!("../../migrations/2026-12-07-000100_severity_checked/up.sql");
const CHECK_DOWN: &str =
    include_str!("../../migrations/2026-12-07-000100_severity_checked/down.sql");

/// The text of a failed statement's PostgreSQL error.
fn db_message(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.message().to_owned())
        .unwrap_or_else(|| e.to_string())
}

#[tokio::test]
async fn the_database_refuses_unknown_and_mismatched_severities() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let gql = s.gql();
    let tree = build_tree(&gql, "Typed").await;
    add_finding(&gql, &tree.test, "Open redirect", "High", json!({})).await;
    let c = db.client().await;

    let e = c
        .batch_execute("UPDATE findings SET severity = 'Severe'")
        .await
        .expect_err("unknown severity text");
    // Both checks refuse it; PostgreSQL names whichever it evaluates first.
    let message = db_message(&e);
    assert!(
        message.contains("findings_severity_check")
            || message.contains("findings_numerical_severity_matches"),
        "{message}"
    );
    let e = c
        .batch_execute("UPDATE findings SET numerical_severity = 'S4'")
        .await
        .expect_err("Info's key on a High finding");
    assert!(
        db_message(&e).contains("findings_numerical_severity_matches"),
        "{e}"
    );
    let e = c
        .batch_execute("UPDATE system_settings SET jira_minimum_severity = 'Urgent'")
        .await
        .expect_err("unknown Jira threshold");
    assert!(
        db_message(&e).contains("system_settings_jira_minimum_severity_check"),
        "{e}"
    );
    // A consistent change is still accepted.
    c.batch_execute("UPDATE findings SET severity = 'Low', numerical_severity = 'S3'")
        .await
        .expect("a valid pair");
}

#[tokio::test]
async fn the_migration_stops_on_rows_it_would_have_to_guess_about() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let gql = s.gql();
    let tree = build_tree(&gql, "Legacy").await;
    add_finding(&gql, &tree.test, "Weak TLS", "High", json!({})).await;
    add_finding(&gql, &tree.test, "Banner", "Info", json!({})).await;
    let c = db.client().await;

    // The state before the migration, with rows an older writer could leave.
    c.batch_execute(CHECK_DOWN).await.expect("down");
    c.batch_execute(
        "UPDATE findings SET numerical_severity = 'S3' WHERE severity = 'High'; \
         UPDATE system_settings SET jira_minimum_severity = 'Lowest'",
    )
    .await
    .expect("inconsistent rows");

    let e = c.batch_execute(CHECK_UP).await.expect_err("refused");
    let message = db_message(&e);
    // The list after the explanation names the bad pairs, and only them.
    let named = message.rsplit(": ").next().unwrap_or_default();
    assert_eq!(named, "High/S3", "{message}");
    let count: i64 = c
        .query_one(
            "SELECT count(*) FROM findings WHERE numerical_severity = 'S3'",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(count, 1, "nothing was converted behind the operator's back");

    c.batch_execute("UPDATE findings SET numerical_severity = 'S1' WHERE severity = 'High'")
        .await
        .expect("fix findings");
    let e = c.batch_execute(CHECK_UP).await.expect_err("still refused");
    assert!(db_message(&e).contains("Lowest"), "{e}");

    c.batch_execute("UPDATE system_settings SET jira_minimum_severity = 'Low'")
        .await
        .expect("fix settings");
    c.batch_execute(CHECK_UP).await.expect("clean rows migrate");
    let d = gql
        .ok(
            "{ findings(first: 10, orderBy: {field: SEVERITY}) { nodes { title severity numericalSeverity } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        d["findings"]["nodes"],
        json!([
            {"title": "Weak TLS", "severity": "HIGH", "numericalSeverity": "S1"},
            {"title": "Banner", "severity": "INFO", "numericalSeverity": "S4"},
        ])
    );
}

#[tokio::test]
async fn stored_text_outside_the_five_names_is_an_error_not_info() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let gql = s.gql();
    let tree = build_tree(&gql, "Drifted").await;
    let id = add_finding(&gql, &tree.test, "Odd", "Low", json!({})).await;
    let c = db.client().await;
    // Only a database whose checks were removed by hand can hold such a row.
    c.batch_execute(
        "ALTER TABLE findings DROP CONSTRAINT findings_severity_check; \
         ALTER TABLE findings DROP CONSTRAINT findings_numerical_severity_matches; \
         UPDATE findings SET severity = 'Severe'",
    )
    .await
    .expect("corrupt the row");

    let r = gql
        .query(
            "query($id: ID!) { finding(id: $id) { title severity } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(r.error_code(), Some("INTERNAL"), "{}", r.body);
    assert!(!r.body.to_string().contains("INFO"), "{}", r.body);

    let r = gql
        .query("{ findings(first: 5) { nodes { severity } } }", json!({}))
        .await;
    assert_eq!(r.error_code(), Some("INTERNAL"), "{}", r.body);

    // Updating the finding reads it first, and refuses too.
    let r = gql
        .query(
            "mutation($id: ID!) { updateFinding(input: {id: $id, title: \"Renamed\"}) { finding { title } } }",
            json!({"id": id}),
        )
        .await;
    assert!(r.error_code().is_some(), "{}", r.body);
    let title: String = c
        .query_one("SELECT title FROM findings", &[])
        .await
        .expect("title")
        .get(0);
    assert_eq!(title, "Odd");
}

#[tokio::test]
async fn rest_import_rejects_an_unknown_minimum_severity_by_name() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let token = s.admin_token.clone().expect("admin");
    let report = json!({"findings": [{"title": "t", "description": "d", "severity": "High"}]});
    let form = import_form(
        &[
            ("scan_type", "Generic Findings Import"),
            ("product_type_name", "Web"),
            ("product_name", "Shop"),
            ("engagement_name", "CI"),
            ("auto_create_context", "true"),
            ("minimum_severity", "Urgent"),
        ],
        serde_json::to_vec(&report).expect("json"),
        "report.json",
    );
    let r = rest_import(&s, IMPORT, Some(&token), form).await;
    assert_eq!(r.status, 400);
    let body = r.json();
    assert_eq!(
        body["minimum_severity"],
        json!(["\"Urgent\" is not a valid choice."])
    );
    let db_findings = db.count("findings").await;
    assert_eq!(db_findings, 0);
}
