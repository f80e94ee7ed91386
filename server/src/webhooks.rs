//! Outgoing webhooks: finding-change events POSTed as JSON, signed with
//! HMAC-SHA256, retried with exponential backoff, with a delivery log.
//!
//! Every process's dispatcher sees every event (through the [`EventBus`])
//! and records a delivery per matching webhook; the unique
//! `(webhook_id, event_seq)` key makes the first insert win, so an event
//! reaches a webhook once however many processes run. Deliveries are claimed
//! with `FOR UPDATE SKIP LOCKED` and a lease, and their retry state is in the
//! table, so a restart loses nothing and repeats nothing that succeeded.
//! A webhook failing for [`DISABLE_AFTER`], or whose creator may no longer
//! manage it, is switched off and a `webhook_disabled` event tells its owner.
//!
//! Deliveries go out through the shared [`Outbound`] client (destination
//! checks at connect time, no redirects). Each webhook has at most one
//! delivery in flight, up to [`DeliveryConfig::concurrency`] webhooks are
//! served at once, and a failure backs off the whole webhook, so a slow or
//! dead receiver delays nobody else's deliveries.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Text, Timestamptz};
use diesel::{QueryableByName, sql_query};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::authz::{Authz, Object, Permission, Subject};
use crate::db::{Db, DbError};
use crate::events::{Event, EventBus};
use crate::outbound::{FailureClass, Outbound};

/// How long a webhook may keep failing before it is disabled.
pub const DISABLE_AFTER: Duration = Duration::from_secs(24 * 3600);
/// Longest wait between two attempts.
const MAX_BACKOFF_SECS: i64 = 3600;
/// How long a claimed delivery is reserved for its worker.
const LEASE_SECS: i64 = 60;

/// A registered webhook.
#[derive(Debug, Clone, QueryableByName)]
pub struct Webhook {
    /// Id.
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    /// Label.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Where events go.
    #[diesel(sql_type = Text)]
    pub url: String,
    /// HMAC key.
    #[diesel(sql_type = Text)]
    pub secret: String,
    /// Only events of this product type.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub product_type_id: Option<i64>,
    /// Only events of this product.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub product_id: Option<i64>,
    /// Only these event kinds (empty: all).
    #[diesel(sql_type = Array<Text>)]
    pub kinds: Vec<String>,
    /// Whether deliveries are made.
    #[diesel(sql_type = Bool)]
    pub active: bool,
    /// Since when every attempt failed.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub failing_since: Option<DateTime<Utc>>,
    /// Who registered it (or changed it last): deliveries stop when this
    /// user may no longer manage the webhook.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub created_by_id: Option<i64>,
    /// When.
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

impl Webhook {
    /// Whether `e` goes to this webhook.
    pub fn wants(&self, e: &Event) -> bool {
        self.active
            && self
                .product_type_id
                .is_none_or(|p| e.product_type_id == Some(p))
            && self.product_id.is_none_or(|p| e.product_id == Some(p))
            && (self.kinds.is_empty() || self.kinds.contains(&e.kind))
    }
}

const COLUMNS: &str = "id, name, url, secret, product_type_id, product_id, kinds, active, \
    failing_since, created_by_id, created_at";

/// What a new webhook is.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    /// Label.
    pub name: String,
    /// Target URL.
    pub url: String,
    /// HMAC key.
    pub secret: String,
    /// Scope: product type.
    pub product_type_id: Option<i64>,
    /// Scope: product.
    pub product_id: Option<i64>,
    /// Kinds.
    pub kinds: Vec<String>,
    /// Creator.
    pub created_by_id: Option<i64>,
}

/// Registers a webhook.
pub async fn create(conn: &mut AsyncPgConnection, w: &NewWebhook) -> diesel::QueryResult<Webhook> {
    sql_query(format!(
        "INSERT INTO webhooks (name, url, secret, product_type_id, product_id, kinds, created_by_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
    ))
    .bind::<Text, _>(&w.name)
    .bind::<Text, _>(&w.url)
    .bind::<Text, _>(&w.secret)
    .bind::<Nullable<BigInt>, _>(w.product_type_id)
    .bind::<Nullable<BigInt>, _>(w.product_id)
    .bind::<Array<Text>, _>(&w.kinds)
    .bind::<Nullable<BigInt>, _>(w.created_by_id)
    .get_result(conn)
    .await
}

/// Every webhook, by id.
pub async fn all(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Vec<Webhook>> {
    sql_query(format!("SELECT {COLUMNS} FROM webhooks ORDER BY id"))
        .load(conn)
        .await
}

/// One webhook.
pub async fn by_id(conn: &mut AsyncPgConnection, id: i64) -> diesel::QueryResult<Option<Webhook>> {
    Ok(
        sql_query(format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1"))
            .bind::<BigInt, _>(id)
            .load(conn)
            .await?
            .into_iter()
            .next(),
    )
}

/// Changes a webhook. Re-enabling it or pointing it elsewhere clears its
/// failure clock and backoff; whoever changes it becomes the user it
/// delivers for (see [`Webhook::created_by_id`]), so a manager can revive a
/// webhook whose creator lost access.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: i64,
    url: Option<&str>,
    kinds: Option<&[String]>,
    active: Option<bool>,
    actor_id: Option<i64>,
) -> diesel::QueryResult<Option<Webhook>> {
    Ok(sql_query(format!(
        "UPDATE webhooks SET url = COALESCE($2, url), kinds = COALESCE($3, kinds), \
         active = COALESCE($4, active), \
         failing_since = CASE WHEN $4 OR $2 IS NOT NULL THEN NULL ELSE failing_since END, \
         next_attempt_at = CASE WHEN $4 OR $2 IS NOT NULL THEN NULL ELSE next_attempt_at END, \
         created_by_id = COALESCE($5, created_by_id) \
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind::<BigInt, _>(id)
    .bind::<Nullable<Text>, _>(url)
    .bind::<Nullable<Array<Text>>, _>(kinds)
    .bind::<Nullable<Bool>, _>(active)
    .bind::<Nullable<BigInt>, _>(actor_id)
    .load(conn)
    .await?
    .into_iter()
    .next())
}

/// Deletes a webhook and its log.
pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> diesel::QueryResult<bool> {
    Ok(sql_query("DELETE FROM webhooks WHERE id = $1")
        .bind::<BigInt, _>(id)
        .execute(conn)
        .await?
        > 0)
}

/// One delivery of one event to one webhook.
#[derive(Debug, Clone, QueryableByName)]
pub struct Delivery {
    /// Id (also sent as `X-Palisade-Delivery`, for receivers to drop repeats).
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    /// The webhook.
    #[diesel(sql_type = BigInt)]
    pub webhook_id: i64,
    /// The event.
    #[diesel(sql_type = BigInt)]
    pub event_seq: i64,
    /// `pending`, `succeeded` or `failed`.
    #[diesel(sql_type = Text)]
    pub status: String,
    /// Attempts made.
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    /// The next attempt.
    #[diesel(sql_type = Timestamptz)]
    pub next_attempt_at: DateTime<Utc>,
    /// Last HTTP status received.
    #[diesel(sql_type = Nullable<Integer>)]
    pub last_status_code: Option<i32>,
    /// Why the last attempt failed.
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
    /// When it succeeded.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub delivered_at: Option<DateTime<Utc>>,
    /// When it was recorded.
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

const DELIVERY_COLUMNS: &str = "id, webhook_id, event_seq, status, attempts, next_attempt_at, \
    last_status_code, last_error, delivered_at, created_at";

/// A webhook's deliveries, newest first.
pub async fn deliveries(
    conn: &mut AsyncPgConnection,
    webhook_id: i64,
    limit: i64,
) -> diesel::QueryResult<Vec<Delivery>> {
    sql_query(format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2"
    ))
    .bind::<BigInt, _>(webhook_id)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// `sha256=<hex>` of HMAC-SHA256 over `"{timestamp}.{body}"`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = ring::hmac::Context::with_key(&key);
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!("sha256={}", hex::encode(ctx.sign().as_ref()))
}

/// The JSON body of an event.
pub fn body(e: &Event) -> serde_json::Value {
    serde_json::json!({
        "seq": e.seq,
        "kind": e.kind,
        "finding_id": e.finding_id,
        "product_id": e.product_id,
        "product_type_id": e.product_type_id,
        "engagement_id": e.engagement_id,
        "test_id": e.test_id,
        "actor_id": e.actor_id,
        "severity": e.severity,
        "changes": serde_json::from_str::<serde_json::Value>(&e.changes).unwrap_or_default(),
        "created_at": e.created_at,
    })
}

/// Events per delivery-recording statement.
const DISPATCH_BATCH: usize = 5_000;

/// Records one pending delivery per (wanting webhook, event), in one statement.
async fn record_deliveries(db: &Db, hooks: &[Webhook], events: &[Arc<Event>]) {
    let (mut hook_ids, mut seqs) = (Vec::new(), Vec::new());
    for e in events {
        for w in hooks.iter().filter(|w| w.wants(e)) {
            hook_ids.push(w.id);
            seqs.push(e.seq);
        }
    }
    if hook_ids.is_empty() {
        return;
    }
    let r = match db.conn().await {
        Ok(mut c) => sql_query(
            "INSERT INTO webhook_deliveries (webhook_id, event_seq) \
             SELECT * FROM unnest($1::bigint[], $2::bigint[]) ON CONFLICT DO NOTHING",
        )
        .bind::<Array<BigInt>, _>(&hook_ids)
        .bind::<Array<BigInt>, _>(&seqs)
        .execute(&mut c)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(err) = r {
        tracing::warn!(error = %err, "recording webhook deliveries failed");
    }
}

/// How this process's delivery worker runs.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// How often an idle worker looks for due deliveries.
    pub poll: Duration,
    /// Deliveries in flight at once (never more than one per webhook).
    pub concurrency: usize,
}

/// Starts the dispatcher and the delivery worker of this process.
pub fn start(db: Db, bus: &EventBus, authz: Authz, outbound: Outbound, config: DeliveryConfig) {
    let mut rx = bus.subscribe();
    let start_seq = bus.delivered();
    let dispatch_db = db.clone();
    tokio::spawn(async move {
        use tokio::sync::broadcast::error::{RecvError, TryRecvError};
        let mut hooks: Arc<Vec<Webhook>> = Arc::new(Vec::new());
        let mut loaded = std::time::Instant::now() - Duration::from_secs(3600);
        // Highest seq dispatched: after falling behind the in-memory buffer
        // the dispatcher reads on from the table instead of skipping events.
        let mut high = start_seq;
        loop {
            let mut batch: Vec<Arc<Event>> = Vec::new();
            let mut lagged = false;
            match rx.recv().await {
                Ok(page) => batch.extend(page.iter().cloned()),
                Err(RecvError::Lagged(_)) => lagged = true,
                Err(RecvError::Closed) => return,
            }
            while !lagged && batch.len() < DISPATCH_BATCH {
                match rx.try_recv() {
                    Ok(page) => batch.extend(page.iter().cloned()),
                    Err(TryRecvError::Lagged(_)) => lagged = true,
                    Err(_) => break,
                }
            }
            if loaded.elapsed() > Duration::from_secs(2) {
                if let Ok(mut c) = dispatch_db.conn().await
                    && let Ok(list) = all(&mut c).await
                {
                    hooks = Arc::new(list);
                }
                loaded = std::time::Instant::now();
            }
            high = batch.iter().map(|e| e.seq).fold(high, i64::max);
            record_deliveries(&dispatch_db, &hooks, &batch).await;
            if lagged {
                tracing::info!(
                    after = high,
                    "webhook dispatcher fell behind; reading events from the table"
                );
                loop {
                    let page = match dispatch_db.conn().await {
                        Ok(mut c) => crate::events::after(&mut c, high, DISPATCH_BATCH as i64)
                            .await
                            .unwrap_or_default(),
                        Err(_) => Vec::new(),
                    };
                    let Some(last) = page.last().map(|e| e.seq) else {
                        break;
                    };
                    high = last;
                    let page: Vec<Arc<Event>> = page.into_iter().map(Arc::new).collect();
                    record_deliveries(&dispatch_db, &hooks, &page).await;
                    if page.len() < DISPATCH_BATCH {
                        break;
                    }
                }
                // What the buffer still holds may come again: the unique
                // (webhook, event) key keeps one delivery each.
            }
        }
    });
    let worker = Arc::new(Worker {
        db,
        authz,
        outbound,
    });
    tokio::spawn(worker.run(config));
}

/// Deliveries sent by one webhook run before its slot goes to the next
/// webhook in line.
const DELIVERIES_PER_RUN: usize = 20;
/// How long a webhook whose run hit a database error waits before another.
const ERROR_PAUSE_SECS: i64 = 5;

/// The delivery side: webhooks are claimed (leased) one at a time, so each
/// has at most one delivery in flight across all processes, and up to
/// `concurrency` of them are served at once. A failure puts the whole
/// webhook into backoff (`webhooks.next_attempt_at`), not just the delivery:
/// a dead receiver costs one attempt per backoff period, however many
/// events queue up for it, and never holds up other webhooks.
struct Worker {
    db: Db,
    authz: Authz,
    outbound: Outbound,
}

#[derive(QueryableByName)]
struct ClaimedHook {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

#[derive(QueryableByName)]
struct Due {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    event_seq: i64,
    #[diesel(sql_type = Integer)]
    attempts: i32,
}

#[derive(QueryableByName)]
struct Creator {
    #[diesel(sql_type = Bool)]
    is_active: bool,
    #[diesel(sql_type = Bool)]
    is_superuser: bool,
    #[diesel(sql_type = Nullable<BigInt>)]
    product_type_id: Option<i64>,
}

impl Worker {
    async fn run(self: Arc<Self>, config: DeliveryConfig) {
        let slots = Arc::new(tokio::sync::Semaphore::new(config.concurrency.max(1)));
        loop {
            // Claim only when a slot is free, and only as many as are free.
            match slots.clone().acquire_owned().await {
                Ok(p) => drop(p),
                Err(_) => return,
            }
            let free = i64::try_from(slots.available_permits()).unwrap_or(1);
            let claimed = match self.claim(free).await {
                Ok(ids) => ids,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming webhook deliveries failed");
                    tokio::time::sleep(config.poll).await;
                    continue;
                }
            };
            if claimed.is_empty() {
                tokio::time::sleep(config.poll).await;
                continue;
            }
            for hook_id in claimed {
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    return;
                };
                let me = self.clone();
                tokio::spawn(async move {
                    let pause = match me.serve(hook_id).await {
                        Ok(()) => None,
                        Err(e) => {
                            tracing::warn!(webhook = hook_id, error = %e, "webhook delivery failed");
                            Some(ERROR_PAUSE_SECS)
                        }
                    };
                    me.release(hook_id, pause).await;
                    drop(slot);
                });
            }
        }
    }

    /// Leases up to `n` webhooks that have a due delivery and are not in
    /// backoff, oldest waiting delivery first. Disabled webhooks with
    /// deliveries left are claimed too, to close those deliveries.
    async fn claim(&self, n: i64) -> Result<Vec<i64>, DbError> {
        let mut conn = self.db.conn().await?;
        let rows: Vec<ClaimedHook> = sql_query(format!(
            "UPDATE webhooks SET locked_until = now() + make_interval(secs => {LEASE_SECS}) \
             WHERE id IN (SELECT w.id FROM webhooks w \
               WHERE (w.locked_until IS NULL OR w.locked_until < now()) \
                 AND (NOT w.active OR w.next_attempt_at IS NULL OR w.next_attempt_at <= now()) \
                 AND EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = w.id \
                   AND d.status = 'pending' AND d.next_attempt_at <= now()) \
               ORDER BY (SELECT min(d.id) FROM webhook_deliveries d \
                 WHERE d.webhook_id = w.id AND d.status = 'pending') \
               LIMIT $1 FOR UPDATE SKIP LOCKED) \
             RETURNING id"
        ))
        .bind::<BigInt, _>(n)
        .load(&mut conn)
        .await
        .map_err(DbError::Query)?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    /// Ends a webhook's lease (or keeps it `pause` seconds after an error).
    async fn release(&self, hook_id: i64, pause: Option<i64>) {
        let r = match self.db.conn().await {
            Ok(mut c) => sql_query(
                "UPDATE webhooks SET locked_until = CASE WHEN $2 > 0 \
                 THEN now() + make_interval(secs => $2) END WHERE id = $1",
            )
            .bind::<BigInt, _>(hook_id)
            .bind::<diesel::sql_types::Double, _>(pause.unwrap_or(0) as f64)
            .execute(&mut c)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = r {
            // The lease runs out by itself.
            tracing::warn!(webhook = hook_id, error = %e, "releasing a webhook failed");
        }
    }

    /// Whether the webhook's creator still holds the right to manage it; a
    /// webhook acts for its creator, so it stops when they lose that right.
    async fn creator_may_manage(
        &self,
        conn: &mut AsyncPgConnection,
        hook: &Webhook,
    ) -> diesel::QueryResult<bool> {
        let Some(user_id) = hook.created_by_id else {
            return Ok(false);
        };
        let creator: Option<Creator> = sql_query(
            "SELECT u.is_active, u.is_superuser, \
             (SELECT product_type_id FROM products WHERE id = $2) AS product_type_id \
             FROM users u WHERE u.id = $1",
        )
        .bind::<BigInt, _>(user_id)
        .bind::<Nullable<BigInt>, _>(hook.product_id)
        .load(conn)
        .await?
        .into_iter()
        .next();
        let Some(c) = creator.filter(|c| c.is_active) else {
            return Ok(false);
        };
        let subject = Subject {
            user_id,
            is_superuser: c.is_superuser,
        };
        Ok(match (hook.product_type_id, hook.product_id) {
            (_, Some(id)) => c.product_type_id.is_some_and(|product_type_id| {
                self.authz.can(
                    subject,
                    Permission::Product_Configure_Notifications,
                    Object::Product {
                        id,
                        product_type_id,
                    },
                )
            }),
            (Some(pt), None) => self.authz.can(
                subject,
                Permission::Product_Type_Edit,
                Object::ProductType(pt),
            ),
            (None, None) => c.is_superuser,
        })
    }

    /// Sends a leased webhook's due deliveries in order, one at a time,
    /// until none is due, one fails, or the run's share is used.
    async fn serve(&self, hook_id: i64) -> Result<(), DbError> {
        let q = DbError::Query;
        let mut conn = self.db.conn().await?;
        let Some(hook) = by_id(&mut conn, hook_id).await.map_err(q)? else {
            return Ok(());
        };
        if !hook.active {
            // Switched off since the deliveries were recorded: log, do not send.
            close_pending(&mut conn, hook.id, "webhook disabled")
                .await
                .map_err(q)?;
            return Ok(());
        }
        if !self.creator_may_manage(&mut conn, &hook).await.map_err(q)? {
            close_pending(&mut conn, hook.id, "creator lost access")
                .await
                .map_err(q)?;
            disable(&mut conn, &hook, "creator_lost_access")
                .await
                .map_err(q)?;
            return Ok(());
        }
        for _ in 0..DELIVERIES_PER_RUN {
            let due: Option<Due> = sql_query(
                "SELECT id, event_seq, attempts FROM webhook_deliveries \
                 WHERE webhook_id = $1 AND status = 'pending' AND next_attempt_at <= now() \
                 ORDER BY id LIMIT 1",
            )
            .bind::<BigInt, _>(hook.id)
            .load(&mut conn)
            .await
            .map_err(q)?
            .into_iter()
            .next();
            let Some(d) = due else {
                return Ok(());
            };
            sql_query(format!(
                "UPDATE webhooks SET locked_until = now() + make_interval(secs => {LEASE_SECS}) \
                 WHERE id = $1"
            ))
            .bind::<BigInt, _>(hook.id)
            .execute(&mut conn)
            .await
            .map_err(q)?;
            let event = crate::events::after(&mut conn, d.event_seq - 1, 1)
                .await
                .map_err(q)?
                .into_iter()
                .find(|e| e.seq == d.event_seq);
            let Some(event) = event else {
                close_one(&mut conn, d.id, "event expired")
                    .await
                    .map_err(q)?;
                continue;
            };
            let body = serde_json::to_vec(&body(&event)).unwrap_or_default();
            let headers = delivery_headers(&hook, &event, d.id, &body);
            // No pooled connection is held while the receiver takes its time.
            drop(conn);
            let result = self
                .outbound
                .send(reqwest::Method::POST, &hook.url, headers, body)
                .await;
            conn = self.db.conn().await?;
            let (status, failure) = match result {
                Ok(r) => (
                    Some(i32::from(r.status.as_u16())),
                    FailureClass::of_status(r.status),
                ),
                Err(class) => (None, Some(class)),
            };
            let Some(failure) = failure else {
                sql_query(
                    "UPDATE webhook_deliveries SET status = 'succeeded', attempts = attempts + 1, \
                     last_status_code = $2, last_error = NULL, delivered_at = now(), \
                     locked_until = NULL WHERE id = $1",
                )
                .bind::<BigInt, _>(d.id)
                .bind::<Nullable<Integer>, _>(status)
                .execute(&mut conn)
                .await
                .map_err(q)?;
                sql_query(
                    "UPDATE webhooks SET failing_since = NULL, next_attempt_at = NULL \
                     WHERE id = $1 AND (failing_since IS NOT NULL OR next_attempt_at IS NOT NULL)",
                )
                .bind::<BigInt, _>(hook.id)
                .execute(&mut conn)
                .await
                .map_err(q)?;
                continue;
            };
            self.record_failure(&mut conn, &hook, &d, status, failure)
                .await
                .map_err(q)?;
            return Ok(());
        }
        Ok(())
    }

    /// Puts the delivery and its whole webhook into backoff; disables a
    /// webhook that has failed for [`DISABLE_AFTER`].
    async fn record_failure(
        &self,
        conn: &mut AsyncPgConnection,
        hook: &Webhook,
        d: &Due,
        status: Option<i32>,
        failure: FailureClass,
    ) -> diesel::QueryResult<()> {
        // 2, 4, 8 … seconds, capped.
        let backoff = (1i64 << d.attempts.clamp(0, 20).saturating_add(1)).min(MAX_BACKOFF_SECS);
        let failing_since = hook.failing_since.unwrap_or_else(Utc::now);
        let exhausted = Utc::now() - failing_since
            >= chrono::Duration::from_std(DISABLE_AFTER).unwrap_or(chrono::Duration::MAX);
        sql_query(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, last_status_code = $2, \
             last_error = $3, next_attempt_at = now() + make_interval(secs => $4), \
             locked_until = NULL, status = CASE WHEN $5 THEN 'failed' ELSE 'pending' END \
             WHERE id = $1",
        )
        .bind::<BigInt, _>(d.id)
        .bind::<Nullable<Integer>, _>(status)
        .bind::<Text, _>(failure.to_string())
        .bind::<diesel::sql_types::Double, _>(backoff as f64)
        .bind::<Bool, _>(exhausted)
        .execute(conn)
        .await?;
        sql_query(
            "UPDATE webhooks SET failing_since = COALESCE(failing_since, now()), \
             next_attempt_at = now() + make_interval(secs => $2) WHERE id = $1",
        )
        .bind::<BigInt, _>(hook.id)
        .bind::<diesel::sql_types::Double, _>(backoff as f64)
        .execute(conn)
        .await?;
        if exhausted {
            disable(conn, hook, "failing").await?;
        }
        Ok(())
    }
}

/// The signed headers of one delivery attempt.
fn delivery_headers(
    hook: &Webhook,
    event: &Event,
    delivery_id: i64,
    body: &[u8],
) -> reqwest::header::HeaderMap {
    use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
    let ts = Utc::now().timestamp();
    let mut h = HeaderMap::new();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let mut put = |name: &'static str, value: String| {
        // Event kinds and numbers are ASCII; a value that is not is left out.
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    };
    put("x-palisade-event", event.kind.clone());
    put("x-palisade-delivery", delivery_id.to_string());
    put("x-palisade-timestamp", ts.to_string());
    put("x-palisade-signature", signature(&hook.secret, ts, body));
    h
}

/// Marks one delivery failed without sending it.
async fn close_one(conn: &mut AsyncPgConnection, id: i64, reason: &str) -> diesel::QueryResult<()> {
    sql_query(
        "UPDATE webhook_deliveries SET status = 'failed', last_error = $2, locked_until = NULL \
         WHERE id = $1",
    )
    .bind::<BigInt, _>(id)
    .bind::<Text, _>(reason)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Marks every pending delivery of a webhook failed without sending it.
async fn close_pending(
    conn: &mut AsyncPgConnection,
    hook_id: i64,
    reason: &str,
) -> diesel::QueryResult<()> {
    sql_query(
        "UPDATE webhook_deliveries SET status = 'failed', last_error = $2, locked_until = NULL \
         WHERE webhook_id = $1 AND status = 'pending'",
    )
    .bind::<BigInt, _>(hook_id)
    .bind::<Text, _>(reason)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Switches a webhook off and tells its owners with a `webhook_disabled`
/// event saying why (`failing` for 24 h, or `creator_lost_access`).
async fn disable(
    conn: &mut AsyncPgConnection,
    hook: &Webhook,
    reason: &str,
) -> diesel::QueryResult<()> {
    let changed = sql_query("UPDATE webhooks SET active = false WHERE id = $1 AND active")
        .bind::<BigInt, _>(hook.id)
        .execute(conn)
        .await?;
    if changed == 0 {
        // Another process got there first and told the owners.
        return Ok(());
    }
    crate::events::Outbox::record(
        conn,
        crate::events::EventKind::WebhookDisabled,
        &crate::events::EventScope {
            product_type_id: hook.product_type_id,
            product_id: hook.product_id,
            actor: hook.created_by_id,
            ..Default::default()
        },
        None,
        &serde_json::json!({"webhook": {"id": hook.id, "name": hook.name, "url": hook.url, "failing_since": hook.failing_since}, "reason": reason}),
    )
    .await?;
    tracing::warn!(webhook = hook.id, reason, "disabled a webhook");
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn signatures_cover_timestamp_and_body() {
        let a = super::signature("s3cret", 1700000000, b"{}");
        assert!(a.starts_with("sha256=") && a.len() == 7 + 64);
        assert_ne!(a, super::signature("s3cret", 1700000001, b"{}"));
        assert_ne!(a, super::signature("other", 1700000000, b"{}"));
        assert_ne!(a, super::signature("s3cret", 1700000000, b"{ }"));
    }
}
