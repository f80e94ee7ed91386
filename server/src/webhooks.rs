//! Outgoing webhooks: finding-change events POSTed as JSON, signed with
//! HMAC-SHA256, retried with exponential backoff, with a delivery log.
//!
//! Every process's dispatcher sees every event (through the [`EventBus`])
//! and records a delivery per matching webhook; the unique
//! `(webhook_id, event_seq)` key makes the first insert win, so an event
//! reaches a webhook once however many processes run. Deliveries are claimed
//! with `FOR UPDATE SKIP LOCKED` and a lease, and their retry state is in the
//! table, so a restart loses nothing and repeats nothing that succeeded.
//! A webhook failing for [`DISABLE_AFTER`] is switched off and a
//! `webhook_disabled` event tells its owner.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Text, Timestamptz};
use diesel::{QueryableByName, sql_query};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::Db;
use crate::events::{Event, EventBus};

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
    /// Who registered it.
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

/// Changes a webhook; re-enabling clears its failure clock.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: i64,
    url: Option<&str>,
    kinds: Option<&[String]>,
    active: Option<bool>,
) -> diesel::QueryResult<Option<Webhook>> {
    Ok(sql_query(format!(
        "UPDATE webhooks SET url = COALESCE($2, url), kinds = COALESCE($3, kinds), \
         active = COALESCE($4, active), \
         failing_since = CASE WHEN $4 THEN NULL ELSE failing_since END \
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind::<BigInt, _>(id)
    .bind::<Nullable<Text>, _>(url)
    .bind::<Nullable<Array<Text>>, _>(kinds)
    .bind::<Nullable<Bool>, _>(active)
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

/// Starts the dispatcher and the delivery worker of this process.
pub fn start(db: Db, bus: &EventBus, poll: Duration) {
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
    tokio::spawn(async move {
        let http = match reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "webhook client could not start");
                return;
            }
        };
        loop {
            match deliver_due(&db, &http).await {
                Ok(0) => tokio::time::sleep(poll).await,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "webhook delivery loop failed");
                    tokio::time::sleep(poll).await;
                }
            }
        }
    });
}

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    webhook_id: i64,
    #[diesel(sql_type = BigInt)]
    event_seq: i64,
    #[diesel(sql_type = Integer)]
    attempts: i32,
}

/// Marks a delivery failed without sending it.
async fn give_up(conn: &mut AsyncPgConnection, id: i64, reason: &str) -> diesel::QueryResult<()> {
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

/// Claims due deliveries and makes one attempt each; returns how many.
async fn deliver_due(db: &Db, http: &reqwest::Client) -> Result<usize, crate::db::DbError> {
    let mut conn = db.conn().await?;
    let q = |e| crate::db::DbError::Query(e);
    let claimed: Vec<Claimed> = sql_query(format!(
        "UPDATE webhook_deliveries SET locked_until = now() + make_interval(secs => {LEASE_SECS}) \
         WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' \
           AND next_attempt_at <= now() AND (locked_until IS NULL OR locked_until < now()) \
           ORDER BY next_attempt_at, id LIMIT 20 FOR UPDATE SKIP LOCKED) \
         RETURNING id, webhook_id, event_seq, attempts"
    ))
    .load(&mut conn)
    .await
    .map_err(q)?;
    let n = claimed.len();
    for d in claimed {
        let Some(hook) = by_id(&mut conn, d.webhook_id).await.map_err(q)? else {
            continue;
        };
        if !hook.active {
            // Switched off since the delivery was recorded: log, do not send.
            give_up(&mut conn, d.id, "the webhook is disabled")
                .await
                .map_err(q)?;
            continue;
        }
        let events = crate::events::after(&mut conn, d.event_seq - 1, 1)
            .await
            .map_err(q)?;
        let Some(event) = events.into_iter().find(|e| e.seq == d.event_seq) else {
            give_up(&mut conn, d.id, "the event is no longer kept")
                .await
                .map_err(q)?;
            continue;
        };
        let body = serde_json::to_vec(&body(&event)).unwrap_or_default();
        let ts = Utc::now().timestamp();
        let result = http
            .post(&hook.url)
            .header("content-type", "application/json")
            .header("x-palisade-event", &event.kind)
            .header("x-palisade-delivery", d.id.to_string())
            .header("x-palisade-timestamp", ts.to_string())
            .header("x-palisade-signature", signature(&hook.secret, ts, &body))
            .body(body)
            .send()
            .await;
        let (ok, status, error) = match result {
            Ok(r) if r.status().is_success() => (true, Some(i32::from(r.status().as_u16())), None),
            Ok(r) => (
                false,
                Some(i32::from(r.status().as_u16())),
                Some(format!("the receiver answered {}", r.status())),
            ),
            Err(e) => (false, None, Some(e.without_url().to_string())),
        };
        if ok {
            sql_query(
                "UPDATE webhook_deliveries SET status = 'succeeded', attempts = attempts + 1, \
                 last_status_code = $2, last_error = NULL, delivered_at = now(), locked_until = NULL WHERE id = $1",
            )
            .bind::<BigInt, _>(d.id)
            .bind::<Nullable<Integer>, _>(status)
            .execute(&mut conn)
            .await
            .map_err(q)?;
            sql_query("UPDATE webhooks SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL")
                .bind::<BigInt, _>(hook.id)
                .execute(&mut conn)
                .await
                .map_err(q)?;
            continue;
        }
        // 2, 4, 8 … seconds, capped.
        let backoff = (1i64 << d.attempts.clamp(0, 20).saturating_add(1)).min(MAX_BACKOFF_SECS);
        let failing_since = hook.failing_since.unwrap_or_else(Utc::now);
        let give_up = Utc::now() - failing_since
            >= chrono::Duration::from_std(DISABLE_AFTER).unwrap_or(chrono::Duration::MAX);
        sql_query(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, last_status_code = $2, last_error = $3, \
             next_attempt_at = now() + make_interval(secs => $4), locked_until = NULL, \
             status = CASE WHEN $5 THEN 'failed' ELSE 'pending' END WHERE id = $1",
        )
        .bind::<BigInt, _>(d.id)
        .bind::<Nullable<Integer>, _>(status)
        .bind::<Nullable<Text>, _>(error.as_deref())
        .bind::<diesel::sql_types::Double, _>(backoff as f64)
        .bind::<Bool, _>(give_up)
        .execute(&mut conn)
        .await
        .map_err(q)?;
        sql_query(
            "UPDATE webhooks SET failing_since = COALESCE(failing_since, now()) WHERE id = $1",
        )
        .bind::<BigInt, _>(hook.id)
        .execute(&mut conn)
        .await
        .map_err(q)?;
        if give_up && hook.active {
            disable(&mut conn, &hook).await.map_err(q)?;
        }
    }
    Ok(n)
}

/// Switches a failing webhook off and tells its owner with an event.
async fn disable(conn: &mut AsyncPgConnection, hook: &Webhook) -> diesel::QueryResult<()> {
    sql_query("UPDATE webhooks SET active = false WHERE id = $1")
        .bind::<BigInt, _>(hook.id)
        .execute(conn)
        .await?;
    sql_query(
        "INSERT INTO events (kind, product_id, product_type_id, actor_id, changes) \
         VALUES ('webhook_disabled', $1, $2, $3, $4::jsonb)",
    )
    .bind::<Nullable<BigInt>, _>(hook.product_id)
    .bind::<Nullable<BigInt>, _>(hook.product_type_id)
    .bind::<Nullable<BigInt>, _>(hook.created_by_id)
    .bind::<Text, _>(
        serde_json::json!({"webhook": {"id": hook.id, "name": hook.name, "url": hook.url, "failing_since": hook.failing_since}})
            .to_string(),
    )
    .execute(conn)
    .await?;
    sql_query("SELECT pg_notify('palisade_events', '')")
        .execute(conn)
        .await?;
    tracing::warn!(webhook = hook.id, "disabled a webhook failing for 24 h");
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
