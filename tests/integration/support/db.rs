//! One PostgreSQL database per test, cloned from a template that is migrated
//! once per migration set, so tests run in parallel and start in milliseconds.
//! Every test that needs a database uses this harness: the server tests over
//! HTTP, and the library tests (authz, import engine) through [`TestDb::pool`].

use std::path::Path;

use sha2::{Digest, Sha256};
use tokio_postgres::NoTls;

/// The PostgreSQL server the tests use (override with PALISADE_TEST_PG).
pub fn server_url() -> String {
    std::env::var("PALISADE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// A hash of every migration file: a changed migration gets a fresh template.
fn migrations_hash() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("migrations directory") {
            let p = entry.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut h = Sha256::new();
    for f in files {
        h.update(f.to_string_lossy().as_bytes());
        h.update(std::fs::read(&f).expect("migration file"));
    }
    hex::encode(&h.finalize()[..8])
}

async fn admin() -> tokio_postgres::Client {
    let url = format!("{}/postgres", server_url());
    let (client, conn) = tokio_postgres::connect(&url, NoTls)
        .await
        .expect("PostgreSQL must run at 127.0.0.1:5432 (see .ci/run)");
    tokio::spawn(conn);
    client
}

/// A private, migrated database, dropped when the value is dropped.
pub struct TestDb {
    /// Its name.
    pub name: String,
    /// Its URL.
    pub url: String,
}

impl TestDb {
    /// A migrated database cloned from the template.
    pub async fn new() -> TestDb {
        let template = ensure_template().await;
        let name = format!("palisade_t_{}", uuid::Uuid::new_v4().simple());
        let client = admin().await;
        let mut attempt = 0;
        loop {
            match client
                .batch_execute(&format!(
                    "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""
                ))
                .await
            {
                Ok(()) => break,
                // Another test cloning the template at the same instant.
                Err(e)
                    if attempt < 20 && e.to_string().contains("being accessed by other users") =>
                {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(50 * attempt)).await;
                }
                Err(e) => panic!("cannot create test database: {e}"),
            }
        }
        TestDb {
            url: format!("{}/{name}", server_url()),
            name,
        }
    }

    /// An empty database name (not created): for tests of the server creating it.
    pub fn unborn() -> TestDb {
        let name = format!("palisade_t_{}", uuid::Uuid::new_v4().simple());
        TestDb {
            url: format!("{}/{name}", server_url()),
            name,
        }
    }

    /// A direct SQL connection to this database.
    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.url, NoTls)
            .await
            .expect("connect to test db");
        tokio::spawn(conn);
        client
    }

    /// A connection pool of `size` to this database, for tests that call the
    /// library directly.
    pub async fn pool(&self, size: u32) -> palisade::db::Db {
        palisade::db::Db::connect(&self.url, size)
            .await
            .expect("pool to test db")
    }

    /// Counts rows of a table.
    pub async fn count(&self, table: &str) -> i64 {
        let c = self.client().await;
        c.query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .expect("count")
            .get(0)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs outside any runtime guarantee: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let url = format!("{}/postgres", server_url());
                if let Ok((client, conn)) = tokio_postgres::connect(&url, NoTls).await {
                    tokio::spawn(conn);
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .await;
                }
            });
        })
        .join();
    }
}

/// Creates the migrated template once per migration set (serialised across
/// test processes with an advisory lock).
async fn ensure_template() -> String {
    let template = format!("palisade_tpl_{}", migrations_hash());
    let client = admin().await;
    client
        .batch_execute("SELECT pg_advisory_lock(727274)")
        .await
        .expect("advisory lock");
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&template])
        .await
        .expect("query")
        .is_some();
    if !exists {
        let building = format!("{template}_building");
        client
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"
            ))
            .await
            .expect("drop stale template");
        client
            .batch_execute(&format!("CREATE DATABASE \"{building}\""))
            .await
            .expect("create template");
        palisade::db::run_migrations(&format!("{}/{building}", server_url()))
            .await
            .expect("migrate template");
        // The migration connection may take a moment to go away.
        let mut attempt = 0;
        while let Err(e) = client
            .batch_execute(&format!(
                "ALTER DATABASE \"{building}\" RENAME TO \"{template}\""
            ))
            .await
        {
            attempt += 1;
            assert!(attempt < 50, "cannot rename the template: {e}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    client
        .batch_execute("SELECT pg_advisory_unlock(727274)")
        .await
        .expect("advisory unlock");
    template
}
