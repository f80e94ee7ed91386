//! Background imports on the `jobs` table.
//!
//! A job row carries the request; its report sits in `job_files` (bytea), so
//! any server process can run it and the upload commits atomically with the
//! job. Workers claim with `FOR UPDATE SKIP LOCKED`, refresh `locked_at` with
//! their progress, and requeue running jobs whose `locked_at` went stale (the
//! worker died), until `max_attempts` is reached.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Bytea, Integer, Interval, Nullable, Text, Timestamptz};
use diesel::{QueryableByName, sql_query};
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

use super::engine::{Importer, Job, Progress};
use super::request::{ImportError, ImportGuard, ImportKind, ImportRequest, ReportSource};
use crate::db::Db;
use crate::plugins::ParseOptions;

/// `jobs.kind` of queued imports and reimports.
pub const IMPORT_JOB_KIND: &str = "import_scan";
/// `jobs.kind` of queued reimports.
pub const REIMPORT_JOB_KIND: &str = "reimport_scan";

/// Builds the permission hook for a job's user when the job runs.
pub type GuardFactory = Arc<dyn Fn(Option<i64>) -> Box<dyn ImportGuard> + Send + Sync>;

#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    actor: Option<i64>,
    request: ImportRequest,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Per-user limits on what waits in the queue (queued or running jobs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueCaps {
    /// Jobs one user may have waiting or running.
    pub max_jobs: u64,
    /// Report bytes one user may have waiting or running.
    pub max_bytes: u64,
}

#[derive(QueryableByName)]
struct Usage {
    #[diesel(sql_type = BigInt)]
    jobs: i64,
    #[diesel(sql_type = BigInt)]
    bytes: i64,
}

/// Queues an import (or reimport) and returns the job id.
///
/// The report is read now (a path may not exist on the worker's machine) and
/// stored with the job in one transaction.
pub async fn enqueue_import(
    db: &Db,
    kind: ImportKind,
    actor_user_id: Option<i64>,
    req: &ImportRequest,
) -> Result<i64, ImportError> {
    insert_job(db, kind, actor_user_id, req, None).await
}

/// Queues an import for a caller: the target is resolved and `guard` asked
/// first (reading only), so a refused import is answered now and takes no
/// queue space; then the caller's queued jobs and bytes are held to `caps`
/// ([`ImportError::Busy`] beyond them).
pub async fn enqueue_import_checked(
    db: &Db,
    kind: ImportKind,
    actor_user_id: Option<i64>,
    req: &ImportRequest,
    guard: &dyn ImportGuard,
    caps: QueueCaps,
) -> Result<i64, ImportError> {
    super::engine::check_target(db, kind, req, guard).await?;
    insert_job(db, kind, actor_user_id, req, Some(caps)).await
}

async fn insert_job(
    db: &Db,
    kind: ImportKind,
    actor_user_id: Option<i64>,
    req: &ImportRequest,
    caps: Option<QueueCaps>,
) -> Result<i64, ImportError> {
    let report = super::engine::read_report(&req.report).await?;
    let size = u64::try_from(report.len()).unwrap_or(u64::MAX);
    if let Some(caps) = caps
        && size > caps.max_bytes
    {
        return Err(queue_full(caps));
    }
    let payload = serde_json::to_string(&Payload {
        actor: actor_user_id,
        request: req.clone(),
    })
    .map_err(|e| ImportError::invalid("request", e.to_string()))?;
    let job_kind = match kind {
        ImportKind::Import => IMPORT_JOB_KIND,
        ImportKind::Reimport => REIMPORT_JOB_KIND,
    };
    let file_name: String = req
        .file_name
        .clone()
        .unwrap_or_default()
        .chars()
        .take(255)
        .collect();
    let mut conn = db.conn().await?;
    let id = conn
        .transaction(async |c| {
            // Storing a report of hundreds of MiB may take longer than a request statement.
            sql_query(Db::LIFT_STATEMENT_TIMEOUT).execute(c).await?;
            if let (Some(caps), Some(user)) = (caps, actor_user_id) {
                // One user's concurrent enqueues count one after the other.
                sql_query("SELECT pg_advisory_xact_lock(727305, hashtext($1::text))")
                    .bind::<BigInt, _>(user)
                    .execute(c)
                    .await?;
                // octet_length reads the stored size without detoasting the data.
                let usage: Usage = sql_query(
                    "SELECT count(*)::bigint AS jobs, \
                     coalesce(sum(octet_length(f.data)), 0)::bigint AS bytes \
                     FROM jobs j LEFT JOIN job_files f ON f.job_id = j.id \
                     WHERE j.created_by_id = $1 AND j.status IN ('queued', 'running') \
                     AND j.kind IN ($2, $3)",
                )
                .bind::<BigInt, _>(user)
                .bind::<Text, _>(IMPORT_JOB_KIND)
                .bind::<Text, _>(REIMPORT_JOB_KIND)
                .get_result(c)
                .await?;
                let jobs = u64::try_from(usage.jobs).unwrap_or(0);
                let bytes = u64::try_from(usage.bytes).unwrap_or(0);
                if jobs >= caps.max_jobs || bytes.saturating_add(size) > caps.max_bytes {
                    return Err(queue_full(caps));
                }
            }
            let row: IdRow = sql_query(
                "INSERT INTO jobs (kind, payload, created_by_id) VALUES ($1, $2::jsonb, $3) \
                 RETURNING id",
            )
            .bind::<Text, _>(job_kind)
            .bind::<Text, _>(&payload)
            .bind::<Nullable<BigInt>, _>(actor_user_id)
            .get_result(c)
            .await?;
            sql_query("INSERT INTO job_files (job_id, file_name, data) VALUES ($1, $2, $3)")
                .bind::<BigInt, _>(row.id)
                .bind::<Text, _>(&file_name)
                .bind::<Bytea, _>(report.as_ref())
                .execute(c)
                .await?;
            Ok::<_, ImportError>(row.id)
        })
        .await?;
    Ok(id)
}

fn queue_full(caps: QueueCaps) -> ImportError {
    ImportError::Busy(format!(
        "too many background imports waiting: at most {} jobs and {} bytes of reports per \
         user (PALISADE_IMPORT_MAX_QUEUED_JOBS_PER_USER, PALISADE_IMPORT_MAX_QUEUED_BYTES_PER_USER); \
         retry when some have finished",
        caps.max_jobs, caps.max_bytes
    ))
}

/// A job's state as clients poll it.
#[derive(Debug, Clone, PartialEq, Serialize, QueryableByName)]
pub struct JobStatus {
    /// Job id.
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    /// `import_scan` or `reimport_scan`.
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// `queued`, `running`, `succeeded` or `failed`.
    #[diesel(sql_type = Text)]
    pub status: String,
    /// Attempts so far.
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    /// Attempts allowed.
    #[diesel(sql_type = Integer)]
    pub max_attempts: i32,
    /// Findings processed.
    #[diesel(sql_type = BigInt)]
    pub progress_done: i64,
    /// Findings to process, once the report is parsed.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub progress_total: Option<i64>,
    /// The last failure.
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
    /// The [`super::ImportOutcome`] as JSON, when succeeded.
    #[diesel(sql_type = Nullable<Text>)]
    pub result: Option<String>,
    /// Who queued it.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub created_by_id: Option<i64>,
    /// When it was queued.
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    /// When it finished.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub finished_at: Option<DateTime<Utc>>,
}

/// The state of a job; `None` if there is no such job.
pub async fn job_status(db: &Db, job_id: i64) -> Result<Option<JobStatus>, ImportError> {
    let mut conn = db.conn().await?;
    let rows: Vec<JobStatus> = sql_query(
        "SELECT id, kind, status, attempts, max_attempts, progress_done, progress_total, \
         last_error, result::text AS result, created_by_id, created_at, finished_at \
         FROM jobs WHERE id = $1",
    )
    .bind::<BigInt, _>(job_id)
    .load(&mut conn)
    .await?;
    Ok(rows.into_iter().next())
}

/// How workers run.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Concurrent workers in this process.
    pub workers: usize,
    /// Idle wait between polls for new jobs.
    pub poll_interval: Duration,
    /// A running job whose `locked_at` is older than this is considered abandoned.
    pub stale_after: Duration,
    /// How often a running job's progress and `locked_at` are written.
    pub heartbeat: Duration,
    /// Identifies this process in `locked_by`.
    pub name: String,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            workers: 1,
            poll_interval: Duration::from_secs(1),
            stale_after: Duration::from_secs(300),
            heartbeat: Duration::from_secs(2),
            name: format!("palisade-{}", std::process::id()),
        }
    }
}

/// Running workers; dropping it does not stop them, [`WorkerHandle::shutdown`] does.
pub struct WorkerHandle {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for WorkerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerHandle")
            .field("workers", &self.tasks.len())
            .finish()
    }
}

impl WorkerHandle {
    /// Stops claiming jobs and waits for the running ones to finish.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

struct Shared {
    db: Db,
    importer: Importer,
    guards: GuardFactory,
    config: WorkerConfig,
}

/// Starts `config.workers` workers that run queued imports until shut down.
pub fn spawn_workers(
    importer: Importer,
    guards: GuardFactory,
    config: WorkerConfig,
) -> WorkerHandle {
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let n = config.workers.max(1);
    let shared = Arc::new(Shared {
        db: importer.db().clone(),
        importer,
        guards,
        config,
    });
    let tasks = (0..n)
        .map(|i| {
            let shared = Arc::clone(&shared);
            let mut stop_rx = stop_rx.clone();
            tokio::spawn(async move {
                let me = format!("{}#{i}", shared.config.name);
                loop {
                    if *stop_rx.borrow() {
                        break;
                    }
                    let worked = match run_one(&shared, &me).await {
                        Ok(worked) => worked,
                        Err(e) => {
                            tracing::warn!(error = %e, "job worker could not poll the queue");
                            false
                        }
                    };
                    if !worked {
                        tokio::select! {
                            _ = tokio::time::sleep(shared.config.poll_interval) => {}
                            _ = stop_rx.changed() => {}
                        }
                    }
                }
            })
        })
        .collect();
    WorkerHandle { stop, tasks }
}

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    payload: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Integer)]
    max_attempts: i32,
}

#[derive(QueryableByName)]
struct FileRow {
    #[diesel(sql_type = Bytea)]
    data: Vec<u8>,
    #[diesel(sql_type = Text)]
    file_name: String,
}

/// Requeues abandoned jobs (or fails them when out of attempts).
pub async fn reclaim_stale(db: &Db, stale_after: Duration) -> Result<usize, ImportError> {
    let mut conn = db.conn().await?;
    let n = sql_query(
        "UPDATE jobs SET status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END, \
         finished_at = CASE WHEN attempts >= max_attempts THEN now() END, \
         last_error = 'the worker running this job stopped responding', \
         locked_by = NULL, locked_at = NULL, run_at = now() \
         WHERE status = 'running' AND locked_at < now() - $1",
    )
    .bind::<Interval, _>(
        diesel::data_types::PgInterval::from_microseconds(
            i64::try_from(stale_after.as_micros()).unwrap_or(i64::MAX),
        ),
    )
    .execute(&mut conn)
    .await?;
    Ok(n)
}

/// Claims and runs one job; `false` when the queue was empty.
async fn run_one(shared: &Shared, me: &str) -> Result<bool, ImportError> {
    reclaim_stale(&shared.db, shared.config.stale_after).await?;
    let claimed: Option<Claimed> = {
        let mut conn = shared.db.conn().await?;
        let rows: Vec<Claimed> = sql_query(
            "UPDATE jobs SET status = 'running', locked_by = $1, locked_at = now(), \
             attempts = attempts + 1 WHERE id = (SELECT id FROM jobs WHERE status = 'queued' \
             AND run_at <= now() AND kind IN ($2, $3) ORDER BY run_at, id \
             FOR UPDATE SKIP LOCKED LIMIT 1) \
             RETURNING id, kind, payload::text AS payload, attempts, max_attempts",
        )
        .bind::<Text, _>(me)
        .bind::<Text, _>(IMPORT_JOB_KIND)
        .bind::<Text, _>(REIMPORT_JOB_KIND)
        .load(&mut conn)
        .await?;
        rows.into_iter().next()
    };
    let Some(job) = claimed else {
        return Ok(false);
    };
    tracing::info!(job.id = job.id, job.kind = %job.kind, attempt = job.attempts, "import job started");
    let (tx, rx) = tokio::sync::watch::channel((0u64, 0u64));
    let heartbeat = tokio::spawn(heartbeat_loop(
        shared.db.clone(),
        job.id,
        rx,
        shared.config.heartbeat,
    ));
    let result = execute_job(shared, &job, &tx).await;
    heartbeat.abort();
    let mut conn = shared.db.conn().await?;
    match result {
        Ok(outcome) => {
            let json = serde_json::to_string(&outcome).unwrap_or_else(|_| "{}".to_owned());
            let (done, total) = *tx.borrow();
            sql_query(
                "UPDATE jobs SET status = 'succeeded', result = $2::jsonb, finished_at = now(), \
                 progress_done = $3, progress_total = $4, locked_at = NULL, last_error = NULL \
                 WHERE id = $1",
            )
            .bind::<BigInt, _>(job.id)
            .bind::<Text, _>(json)
            .bind::<BigInt, _>(i64::try_from(done).unwrap_or(i64::MAX))
            .bind::<BigInt, _>(i64::try_from(total).unwrap_or(i64::MAX))
            .execute(&mut conn)
            .await?;
            sql_query("DELETE FROM job_files WHERE job_id = $1")
                .bind::<BigInt, _>(job.id)
                .execute(&mut conn)
                .await?;
            tracing::info!(job.id = job.id, "import job succeeded");
        }
        Err(e) => {
            // Only infrastructure failures are worth another attempt.
            let retry = matches!(e, ImportError::Database(_) | ImportError::Unavailable(_))
                && job.attempts < job.max_attempts;
            let backoff = 5i64 * i64::from(job.attempts.max(1));
            sql_query(
                "UPDATE jobs SET status = $2, last_error = $3, locked_at = NULL, locked_by = NULL, \
                 run_at = now() + make_interval(secs => $4), \
                 finished_at = CASE WHEN $2 = 'failed' THEN now() END WHERE id = $1",
            )
            .bind::<BigInt, _>(job.id)
            .bind::<Text, _>(if retry { "queued" } else { "failed" })
            .bind::<Text, _>(public_error(&e))
            .bind::<BigInt, _>(backoff)
            .execute(&mut conn)
            .await?;
            if !retry {
                sql_query("DELETE FROM job_files WHERE job_id = $1")
                    .bind::<BigInt, _>(job.id)
                    .execute(&mut conn)
                    .await?;
            }
            tracing::warn!(job.id = job.id, error = %e, retry, "import job failed");
        }
    }
    Ok(true)
}

/// The text a job's owner sees for its failure: the database's own text
/// (constraint, table and column names) stays in the log.
fn public_error(e: &ImportError) -> String {
    match e {
        ImportError::Database(_) => {
            "the import failed in the database; nothing was stored".to_owned()
        }
        ImportError::Unavailable(_) => {
            "the database was unavailable; nothing was stored".to_owned()
        }
        other => other.to_string(),
    }
}

async fn execute_job(
    shared: &Shared,
    job: &Claimed,
    progress: &Progress,
) -> Result<super::ImportOutcome, ImportError> {
    let payload: Payload = serde_json::from_str(&job.payload)
        .map_err(|e| ImportError::invalid("job payload", e.to_string()))?;
    let kind = if job.kind == REIMPORT_JOB_KIND {
        ImportKind::Reimport
    } else {
        ImportKind::Import
    };
    // The creator's rights may have changed since the job was queued: ask
    // again before spending parser time on it.
    let guard = (shared.guards)(payload.actor);
    super::engine::check_target(&shared.db, kind, &payload.request, guard.as_ref()).await?;
    let file: FileRow = {
        let mut conn = shared.db.conn().await?;
        let rows: Vec<FileRow> =
            sql_query("SELECT data, file_name FROM job_files WHERE job_id = $1")
                .bind::<BigInt, _>(job.id)
                .load(&mut conn)
                .await?;
        rows.into_iter()
            .next()
            .ok_or_else(|| ImportError::invalid("job", "its report is missing"))?
    };
    let mut req = payload.request;
    req.report = ReportSource::Bytes(bytes::Bytes::from(file.data));
    let mut options = ParseOptions::default();
    if !file.file_name.is_empty() {
        options = options.with(ParseOptions::FILE_NAME, file.file_name);
    }
    let report = match &req.report {
        ReportSource::Bytes(b) => b.clone(),
        ReportSource::Path(_) => bytes::Bytes::new(),
    };
    let parsed = shared
        .importer
        .plugins()
        .parse_waiting(req.scan_type.as_deref(), report, options)
        .await?;
    let job = Job {
        kind,
        actor: payload.actor,
        guard: guard.as_ref(),
        req: &req,
        scan_type: &parsed.scan_type,
    };
    shared
        .importer
        .persist(&job, parsed.findings, Some(progress))
        .await
}

/// Writes progress and refreshes the lock until aborted.
async fn heartbeat_loop(
    db: Db,
    job_id: i64,
    mut rx: tokio::sync::watch::Receiver<(u64, u64)>,
    every: Duration,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            changed = rx.changed() => {
                if changed.is_err() {
                    return;
                }
                // Coalesce bursts of batch updates into one write per interval.
                tokio::time::sleep(every.min(Duration::from_millis(200))).await;
            }
        }
        let (done, total) = *rx.borrow_and_update();
        let Ok(mut conn) = db.conn().await else {
            continue;
        };
        let _ = sql_query(
            "UPDATE jobs SET locked_at = now(), progress_done = $2, \
             progress_total = NULLIF($3, 0) WHERE id = $1 AND status = 'running'",
        )
        .bind::<BigInt, _>(job_id)
        .bind::<BigInt, _>(i64::try_from(done).unwrap_or(i64::MAX))
        .bind::<BigInt, _>(i64::try_from(total).unwrap_or(i64::MAX))
        .execute(&mut conn)
        .await;
    }
}
