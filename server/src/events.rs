//! Finding-change events: the outbox (`events` rows written in the same
//! transaction as each change) fanned out to this process's subscribers.
//!
//! One task per process LISTENs on `palisade_events` and, on each
//! notification (and every few seconds, for notifications missed while
//! reconnecting), reads the rows after the last one it delivered, in `seq`
//! order, and broadcasts them. Several server processes on one database
//! therefore all see every change, whichever process made it.
//!
//! `seq` comes from a sequence, so a transaction that took a lower number may
//! commit after one that took a higher number. Numbers skipped by a read are
//! remembered as gaps and looked for again until [`GAP_GRACE`] has passed
//! (then they are taken as rolled back), so late commits are still delivered.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz};
use diesel::{OptionalExtension, QueryableByName, sql_query};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures::StreamExt;
use tokio::sync::broadcast;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::db::{Db, DbError};
use crate::domain::severity::Severity;

pub mod outbox;

pub use outbox::{EventKind, EventScope, Outbox};

/// The NOTIFY channel of the outbox.
pub const EVENTS_CHANNEL: &str = "palisade_events";
/// How long a skipped `seq` is waited for before it counts as rolled back.
pub const GAP_GRACE: Duration = Duration::from_secs(30);
/// Rows read per query.
const BATCH: i64 = 5000;
/// Pages of events buffered per process for slow subscribers; one that falls
/// further behind catches up from the table.
const CHANNEL_CAPACITY: usize = 1024;

/// Events broadcast together, in `seq` order (one read of the table): a
/// subscriber filters a page in a tight loop and wakes once for it.
pub type Page = Arc<Vec<Arc<Event>>>;
/// How often the table is read without a notification.
const POLL: Duration = Duration::from_secs(2);

/// One change to one finding.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct Event {
    /// Position in the outbox; increases with every event.
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
    /// What happened: an [`EventKind`]'s word (kept as text, so a kind
    /// written by a newer server never stops this one reading).
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// The finding.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub finding_id: Option<i64>,
    /// Its product.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub product_id: Option<i64>,
    /// Its product type.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub product_type_id: Option<i64>,
    /// Its engagement.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub engagement_id: Option<i64>,
    /// Its test.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub test_id: Option<i64>,
    /// Who made the change.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub actor_id: Option<i64>,
    /// Changed fields, `{"field": {"before": …, "after": …}}`, as JSON text.
    #[diesel(sql_type = Text)]
    pub changes: String,
    /// The finding's severity now (null once deleted).
    #[diesel(sql_type = Nullable<Text>)]
    pub severity: Option<Severity>,
    /// When it happened.
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT e.seq, e.kind, e.finding_id, e.product_id, e.product_type_id, \
    e.engagement_id, e.test_id, e.actor_id, e.changes::text AS changes, f.severity::text AS severity, e.created_at \
    FROM events e LEFT JOIN findings f ON f.id = e.finding_id";

/// Events after `seq`, oldest first (resuming subscribers, the fan-out).
pub async fn after(
    conn: &mut AsyncPgConnection,
    seq: i64,
    limit: i64,
) -> diesel::QueryResult<Vec<Event>> {
    sql_query(format!("{SELECT} WHERE e.seq > $1 ORDER BY e.seq LIMIT $2"))
        .bind::<BigInt, _>(seq)
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await
}

async fn by_seqs(conn: &mut AsyncPgConnection, seqs: &[i64]) -> diesel::QueryResult<Vec<Event>> {
    sql_query(format!("{SELECT} WHERE e.seq = ANY($1) ORDER BY e.seq"))
        .bind::<Array<BigInt>, _>(seqs)
        .load(conn)
        .await
}

/// The last `seq` written (0 on an empty outbox).
pub async fn head(conn: &mut AsyncPgConnection) -> diesel::QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Head {
        #[diesel(sql_type = BigInt)]
        seq: i64,
    }
    let h: Head = sql_query("SELECT COALESCE(max(seq), 0) AS seq FROM events")
        .get_result(conn)
        .await?;
    Ok(h.seq)
}

/// The highest `seq` that may have been pruned: events after it are all
/// still kept (0 when nothing was ever pruned).
pub async fn pruned_through(conn: &mut AsyncPgConnection) -> diesel::QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        pruned_through: i64,
    }
    let r: Option<Row> = sql_query("SELECT pruned_through FROM event_log WHERE id = 1")
        .get_result(conn)
        .await
        .optional()?;
    Ok(r.map_or(0, |r| r.pruned_through))
}

/// Rows deleted per statement while pruning, so no statement holds locks long.
const PRUNE_CHUNK: i64 = 10_000;

/// Retires events older than `retention` (keeping those a pending webhook
/// delivery still has to send): finding events move to the permanent audit
/// trail, the others go. Finished webhook deliveries as old are deleted.
/// Returns how many events were retired.
pub async fn prune(conn: &mut AsyncPgConnection, retention: Duration) -> diesel::QueryResult<u64> {
    #[derive(QueryableByName)]
    struct Pruned {
        #[diesel(sql_type = BigInt)]
        n: i64,
        #[diesel(sql_type = Nullable<BigInt>)]
        high: Option<i64>,
    }
    let secs = i64::try_from(retention.as_secs()).unwrap_or(i64::MAX);
    let mut total = 0u64;
    loop {
        // The watermark moves in the same statement as the delete, so a
        // resuming subscriber never sees a pruned range it is not told about.
        let p: Pruned = sql_query(
            "WITH gone AS ( \
               DELETE FROM events WHERE seq IN ( \
                 SELECT e.seq FROM events e \
                 WHERE e.created_at < now() - make_interval(secs => $1) \
                   AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d \
                                   WHERE d.event_seq = e.seq AND d.status = 'pending') \
                 ORDER BY e.created_at LIMIT $2) \
               RETURNING *), \
             kept AS ( \
               INSERT INTO audit_log (seq, at, actor_id, object_kind, object_id, product_id, action, changes) \
               SELECT seq, created_at, actor_id, 'Finding', finding_id, product_id, kind, changes \
               FROM gone WHERE finding_id IS NOT NULL), \
             mark AS ( \
               UPDATE event_log SET pruned_through = GREATEST(pruned_through, (SELECT max(seq) FROM gone)) \
               WHERE id = 1 AND EXISTS (SELECT 1 FROM gone)) \
             SELECT count(*) AS n, max(seq) AS high FROM gone",
        )
        .bind::<BigInt, _>(secs)
        .bind::<BigInt, _>(PRUNE_CHUNK)
        .get_result(conn)
        .await?;
        total += u64::try_from(p.n).unwrap_or(0);
        if p.n < PRUNE_CHUNK || p.high.is_none() {
            break;
        }
    }
    sql_query(
        "DELETE FROM webhook_deliveries WHERE status <> 'pending' \
         AND created_at < now() - make_interval(secs => $1)",
    )
    .bind::<BigInt, _>(secs)
    .execute(conn)
    .await?;
    Ok(total)
}

/// Prunes the outbox every so often (a quarter of the retention, at most
/// every 10 minutes); every process may run it, deletes are idempotent.
pub fn start_pruner(db: Db, retention: Duration) -> tokio::task::JoinHandle<()> {
    let every = (retention / 4).clamp(Duration::from_secs(1), Duration::from_secs(600));
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let result = match db.conn().await {
                Ok(mut c) => prune(&mut c, retention).await.map_err(DbError::Query),
                Err(e) => Err(e),
            };
            match result {
                Ok(0) => {}
                Ok(n) => tracing::debug!(events = n, "pruned events past the retention window"),
                Err(e) => tracing::warn!(error = %e, "pruning events failed"),
            }
        }
    })
}

/// This process's fan-out: subscribe to receive every new event once.
#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Page>,
    delivered: Arc<AtomicI64>,
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field(
                "delivered",
                &AtomicI64::load(&self.delivered, Ordering::Relaxed),
            )
            .field("subscribers", &self.tx.receiver_count())
            .finish()
    }
}

impl EventBus {
    /// Starts the listener; delivery begins with events written after now.
    pub async fn start(db_url: &str, db: Db) -> Result<EventBus, DbError> {
        let start = head(&mut *db.conn().await?).await.map_err(DbError::Query)?;
        let (tx, _) = broadcast::channel(CHANNEL_CAPACITY);
        let bus = EventBus {
            tx,
            delivered: Arc::new(AtomicI64::new(start)),
        };
        let task_bus = bus.clone();
        let url = db_url.to_owned();
        tokio::spawn(async move { task_bus.run(url, db).await });
        Ok(bus)
    }

    /// A receiver of every event delivered from now on, page by page.
    pub fn subscribe(&self) -> broadcast::Receiver<Page> {
        self.tx.subscribe()
    }

    /// The highest `seq` handed to subscribers so far.
    pub fn delivered(&self) -> i64 {
        AtomicI64::load(&self.delivered, Ordering::Relaxed)
    }

    async fn run(self, url: String, db: Db) {
        let mut backoff = Duration::from_millis(200);
        let mut cursor = Cursor {
            last: self.delivered(),
            gaps: BTreeMap::new(),
        };
        loop {
            match self.listen(&url, &db, &mut cursor).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "event listener lost its connection; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    async fn listen(&self, url: &str, db: &Db, cursor: &mut Cursor) -> Result<(), String> {
        let (client, mut connection) = tokio_postgres::connect(url, NoTls)
            .await
            .map_err(|e| e.to_string())?;
        let (wake_tx, mut wake) = tokio::sync::mpsc::unbounded_channel::<()>();
        let driver = tokio::spawn(async move {
            let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(Ok(msg)) = messages.next().await {
                if matches!(msg, AsyncMessage::Notification(_)) && wake_tx.send(()).is_err() {
                    return;
                }
            }
        });
        let result = async {
            client
                .batch_execute(&format!("LISTEN {EVENTS_CHANNEL}"))
                .await
                .map_err(|e| e.to_string())?;
            loop {
                self.drain(db, cursor).await.map_err(|e| e.to_string())?;
                tokio::select! {
                    woke = wake.recv() => {
                        if woke.is_none() {
                            return Err("notification connection closed".to_owned());
                        }
                        while wake.try_recv().is_ok() {}
                    }
                    () = tokio::time::sleep(POLL) => {}
                }
            }
        }
        .await;
        driver.abort();
        result
    }

    /// Reads what is new (and late gaps) and broadcasts it in `seq` order.
    async fn drain(&self, db: &Db, cursor: &mut Cursor) -> Result<(), DbError> {
        let mut conn = db.conn().await?;
        if !cursor.gaps.is_empty() {
            let now = Instant::now();
            cursor
                .gaps
                .retain(|_, since| now.duration_since(*since) < GAP_GRACE);
            let seqs: Vec<i64> = cursor.gaps.keys().copied().collect();
            let late: Vec<Arc<Event>> = by_seqs(&mut conn, &seqs)
                .await
                .map_err(DbError::Query)?
                .into_iter()
                .map(Arc::new)
                .collect();
            for e in &late {
                cursor.gaps.remove(&e.seq);
            }
            if !late.is_empty() {
                let _ = self.tx.send(Arc::new(late));
            }
        }
        loop {
            let rows = after(&mut conn, cursor.last, BATCH)
                .await
                .map_err(DbError::Query)?;
            let n = rows.len();
            let now = Instant::now();
            let mut page = Vec::with_capacity(n);
            for e in rows {
                // A huge jump is a rolled-back bulk import, not late commits.
                for missing in ((cursor.last + 1)..e.seq).take(10_000) {
                    cursor.gaps.insert(missing, now);
                }
                cursor.last = e.seq;
                page.push(Arc::new(e));
            }
            if !page.is_empty() {
                let _ = self.tx.send(Arc::new(page));
            }
            self.delivered.store(cursor.last, Ordering::Relaxed);
            if n < usize::try_from(BATCH).unwrap_or(usize::MAX) {
                return Ok(());
            }
        }
    }
}

struct Cursor {
    last: i64,
    gaps: BTreeMap<i64, Instant>,
}

/// What a hand edit changed, `{"field": {"before": …, "after": …}}`, and the
/// event kind that names it best.
pub fn diff(
    before: &crate::db::models::finding::Finding,
    after: &crate::db::models::finding::Finding,
) -> (EventKind, serde_json::Value) {
    let mut changes = serde_json::Map::new();
    let mut put = |name: &str, b: serde_json::Value, a: serde_json::Value| {
        if b != a {
            changes.insert(
                name.to_owned(),
                serde_json::json!({"before": b, "after": a}),
            );
        }
    };
    use serde_json::json;
    put("title", json!(before.title), json!(after.title));
    put("severity", json!(before.severity), json!(after.severity));
    put("active", json!(before.active), json!(after.active));
    put("verified", json!(before.verified), json!(after.verified));
    put("false_p", json!(before.false_p), json!(after.false_p));
    put(
        "out_of_scope",
        json!(before.out_of_scope),
        json!(after.out_of_scope),
    );
    put(
        "risk_accepted",
        json!(before.risk_accepted),
        json!(after.risk_accepted),
    );
    put(
        "is_mitigated",
        json!(before.is_mitigated),
        json!(after.is_mitigated),
    );
    put("duplicate", json!(before.duplicate), json!(after.duplicate));
    put("tags", json!(before.tags), json!(after.tags));
    put(
        "custom_fields",
        before.custom_fields.clone(),
        after.custom_fields.clone(),
    );
    // A false positive is also mitigated; its own kind says more.
    let kind = if !before.false_p && after.false_p {
        EventKind::FalsePositive
    } else if !before.is_mitigated && after.is_mitigated {
        EventKind::Mitigated
    } else if before.is_mitigated && !after.is_mitigated {
        EventKind::Reactivated
    } else if !before.risk_accepted && after.risk_accepted {
        EventKind::RiskAccepted
    } else if before.risk_accepted && !after.risk_accepted {
        EventKind::RiskUnaccepted
    } else if before.severity != after.severity {
        EventKind::SeverityChanged
    } else if before.active != after.active || before.verified != after.verified {
        EventKind::StatusChanged
    } else {
        EventKind::Updated
    };
    (kind, serde_json::Value::Object(changes))
}
