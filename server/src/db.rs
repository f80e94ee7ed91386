//! PostgreSQL access: the connection pool, embedded migrations, the diesel
//! schema and the models (the only place that builds SQL).

pub mod models;
pub mod pool;
pub mod schema;

pub use pool::{Db, DbConn, DbError, QueryCounter};

use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// The migrations in `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

/// Errors of database setup (creation and migration).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The URL does not parse as a PostgreSQL URL.
    #[error("PALISADE_DATABASE_URL is not a valid PostgreSQL URL: {0}")]
    InvalidUrl(String),
    /// PostgreSQL could not be reached or refused a statement.
    #[error("cannot reach PostgreSQL at {target}: {source}")]
    Connect {
        /// host:port/database, without credentials.
        target: String,
        /// The driver's error.
        source: tokio_postgres::Error,
    },
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migration(String),
}

/// Splits a database URL into the server part and the database name.
fn split_url(url: &str) -> Result<(String, String), SetupError> {
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e: tokio_postgres::Error| SetupError::InvalidUrl(e.to_string()))?;
    let name = config
        .get_dbname()
        .ok_or_else(|| SetupError::InvalidUrl("the URL names no database".to_owned()))?
        .to_owned();
    let base = match url.rfind('/') {
        Some(i) if url[..i].contains("://") && i > url.find("://").unwrap_or(0) + 2 => &url[..i],
        _ => {
            return Err(SetupError::InvalidUrl(
                "the URL names no database".to_owned(),
            ));
        }
    };
    let query = url.find('?').map(|q| &url[q..]).unwrap_or("");
    Ok((format!("{base}/postgres{query}"), name))
}

/// A printable form of the URL without credentials.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}{}", &url[..s + 3], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

/// Creates the database named in `url` when it does not exist yet.
pub async fn create_database_if_missing(url: &str) -> Result<bool, SetupError> {
    let (admin_url, name) = split_url(url)?;
    let target = redact_url(url);
    let (client, connection) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
        .await
        .map_err(|source| SetupError::Connect {
            target: target.clone(),
            source,
        })?;
    let driver = tokio::spawn(connection);
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .map_err(|source| SetupError::Connect {
            target: target.clone(),
            source,
        })?
        .is_some();
    let mut created = false;
    if !exists {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        match client
            .batch_execute(&format!("CREATE DATABASE {quoted}"))
            .await
        {
            Ok(()) => created = true,
            // Another process created it between our check and our statement.
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) => {}
            Err(source) => return Err(SetupError::Connect { target, source }),
        }
    }
    drop(client);
    let _ = driver.await;
    Ok(created)
}

/// Applies every pending migration; returns the versions applied.
pub async fn run_migrations(url: &str) -> Result<Vec<String>, SetupError> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn: AsyncConnectionWrapper<AsyncPgConnection> =
            diesel::Connection::establish(&url)
                .map_err(|e| SetupError::Migration(format!("cannot connect: {e}")))?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| SetupError::Migration(e.to_string()))?;
        Ok(applied.iter().map(|v| v.to_string()).collect())
    })
    .await
    .map_err(|e| SetupError::Migration(format!("migration task failed: {e}")))?
}

/// Reverts every applied migration (used by tests and `palisade migrate --revert-all`).
pub async fn revert_all_migrations(url: &str) -> Result<Vec<String>, SetupError> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn: AsyncConnectionWrapper<AsyncPgConnection> =
            diesel::Connection::establish(&url)
                .map_err(|e| SetupError::Migration(format!("cannot connect: {e}")))?;
        let reverted = conn
            .revert_all_migrations(MIGRATIONS)
            .map_err(|e| SetupError::Migration(e.to_string()))?;
        Ok(reverted.iter().map(|v| v.to_string()).collect())
    })
    .await
    .map_err(|e| SetupError::Migration(format!("migration task failed: {e}")))?
}

/// The newest migration version compiled into this binary.
pub fn latest_migration_version() -> Option<String> {
    use diesel::migration::MigrationSource;
    let migrations: Vec<Box<dyn diesel::migration::Migration<diesel::pg::Pg>>> =
        MIGRATIONS.migrations().ok()?;
    migrations
        .iter()
        .map(|m| m.name().version().to_string())
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_url_keeps_credentials_and_options() {
        let (admin, name) =
            split_url("postgres://u:p@127.0.0.1:5432/palisade?sslmode=disable").expect("parses");
        assert_eq!(
            admin,
            "postgres://u:p@127.0.0.1:5432/postgres?sslmode=disable"
        );
        assert_eq!(name, "palisade");
    }

    #[test]
    fn url_without_database_is_rejected() {
        assert!(split_url("postgres://127.0.0.1:5432").is_err());
    }

    #[test]
    fn redaction_hides_password() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://h:5432/db"
        );
    }
}
