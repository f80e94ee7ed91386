//! The connection pool, with a per-request count of SQL statements.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel_async::pooled_connection::bb8::{Pool, PooledConnection};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures::FutureExt;

/// A pooled connection.
pub type DbConn = PooledConnection<'static, AsyncPgConnection>;

/// A failure to get a connection or run a statement.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The pool could not hand out a connection in time.
    #[error("database unavailable: {0}")]
    Pool(String),
    /// A statement failed.
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

tokio::task_local! {
    static COUNTER: QueryCounter;
}

/// Counts the SQL statements run by the task it is scoped to.
#[derive(Debug, Clone, Default)]
pub struct QueryCounter(Arc<AtomicUsize>);

impl QueryCounter {
    /// Runs `fut` with this counter receiving its statements.
    pub async fn scope<F: std::future::Future>(self, fut: F) -> F::Output {
        COUNTER.scope(self, fut).await
    }

    /// Statements counted so far.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    /// The counter of the current task, if any.
    pub fn current() -> Option<QueryCounter> {
        COUNTER.try_with(Clone::clone).ok()
    }
}

/// Diesel instrumentation that adds each started statement to the task's counter.
struct CountStatements;

impl Instrumentation for CountStatements {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { .. } = event {
            let _ = COUNTER.try_with(|c| c.0.fetch_add(1, Ordering::Relaxed));
        }
    }
}

/// The database handle shared by the whole server.
#[derive(Clone)]
pub struct Db {
    pool: Pool<AsyncPgConnection>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").finish_non_exhaustive()
    }
}

impl Db {
    /// Builds a pool of at most `size` connections to `url`.
    pub async fn connect(url: &str, size: u32) -> Result<Db, DbError> {
        Self::connect_with_timeout(url, size, 0).await
    }

    /// Builds a pool whose connections stop any statement running longer
    /// than `statement_timeout_ms` (0: no limit). Work that may legitimately
    /// run longer (imports) lifts it for its own transaction with
    /// [`Db::LIFT_STATEMENT_TIMEOUT`].
    pub async fn connect_with_timeout(
        url: &str,
        size: u32,
        statement_timeout_ms: u64,
    ) -> Result<Db, DbError> {
        let mut config = ManagerConfig::default();
        // A broken connection shows itself on first use; a ping per checkout
        // would be one more round trip on every request.
        config.recycling_method = RecyclingMethod::Fast;
        config.custom_setup = Box::new(move |url| {
            async move {
                let mut conn = AsyncPgConnection::establish(url).await?;
                if statement_timeout_ms > 0 {
                    // Set once per connection, so no request pays a round trip for it.
                    diesel_async::RunQueryDsl::execute(
                        diesel::sql_query(format!(
                            "SET statement_timeout = {statement_timeout_ms}"
                        )),
                        &mut conn,
                    )
                    .await
                    .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                }
                conn.set_instrumentation(CountStatements);
                Ok(conn)
            }
            .boxed()
        });
        let manager = AsyncDieselConnectionManager::new_with_config(url, config);
        let pool = Pool::builder()
            .max_size(size)
            .connection_timeout(std::time::Duration::from_secs(10))
            .build(manager)
            .await
            .map_err(|e| DbError::Pool(e.to_string()))?;
        Ok(Db { pool })
    }

    /// Run first inside a transaction, this lifts the pool's statement
    /// timeout until the transaction ends.
    pub const LIFT_STATEMENT_TIMEOUT: &'static str = "SET LOCAL statement_timeout = 0";

    /// A connection from the pool.
    pub async fn conn(&self) -> Result<DbConn, DbError> {
        self.pool
            .get_owned()
            .await
            .map_err(|e| DbError::Pool(e.to_string()))
    }
}
