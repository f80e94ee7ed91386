//! Migrations apply, revert and re-apply cleanly; the server creates its database.

use crate::support::{TestDb, TestServer};

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    let db = TestDb::unborn();
    assert!(
        palisade::db::create_database_if_missing(&db.url)
            .await
            .expect("create")
    );
    let up = palisade::db::run_migrations(&db.url).await.expect("up");
    assert!(!up.is_empty(), "a fresh database has migrations to apply");
    assert_eq!(
        db.count("sla_configurations").await,
        1,
        "the default SLA configuration is seeded"
    );
    let down = palisade::db::revert_all_migrations(&db.url)
        .await
        .expect("down");
    assert_eq!(down.len(), up.len());
    let c = db.client().await;
    let tables: i64 = c
        .query_one("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(tables, 0, "down migrations remove every table");
    let again = palisade::db::run_migrations(&db.url)
        .await
        .expect("up again");
    assert_eq!(again, up);
    assert!(
        palisade::db::run_migrations(&db.url)
            .await
            .expect("idempotent")
            .is_empty()
    );
}

#[tokio::test]
async fn serve_creates_and_migrates_a_missing_database() {
    let db = TestDb::unborn();
    let server = TestServer::start(&db.url).await;
    let r = server
        .http
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .expect("readyz");
    assert_eq!(r.status(), 200);
    assert_eq!(db.count("roles").await, 5);
}

#[tokio::test]
async fn migrate_command_reads_the_same_variables() {
    let db = TestDb::unborn();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade-under-test"))
        .arg("migrate")
        .env("PALISADE_DATABASE_URL", &db.url)
        .output()
        .await
        .expect("run migrate");
    assert!(
        out.status.success(),
        "migrate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("database is up to date"));
    assert_eq!(db.count("system_settings").await, 1);
}
