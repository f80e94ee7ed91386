//! The outbox's write side: every writer (finding and note edits, imports,
//! webhooks) records its events here, in its own transaction, so an event
//! exists exactly when its change committed.
//!
//! Rows go to the `events` table; a `NOTIFY` on [`EVENTS_CHANNEL`] wakes the
//! listeners when the transaction commits (see the module above).

use diesel::pg::Pg;
use diesel::sql_query;
use diesel::sql_types::{Array, BigInt, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::EVENTS_CHANNEL;
use crate::db::models::finding::Finding;

/// What happened to a finding (or, for `webhook_disabled`, to a webhook).
///
/// The GraphQL values are the stored words (`created`, `note_added`, …), so
/// a kind reads the same in filters, in `FindingChange.kind`, in webhook
/// payloads and in the `events` table.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[graphql(name = "FindingChangeKind", rename_items = "snake_case")]
pub enum EventKind {
    /// Created by hand or by an import.
    Created,
    /// An import found it again after it had been closed.
    Reactivated,
    /// Closed as fixed.
    Mitigated,
    /// Imported as a duplicate of an older finding.
    Duplicate,
    /// Edited (fields or tags).
    Updated,
    /// A note was added.
    NoteAdded,
    /// Deleted.
    Deleted,
    /// Its risk was accepted.
    RiskAccepted,
    /// Marked a false positive.
    FalsePositive,
    /// Its severity changed.
    SeverityChanged,
    /// Its active or verified flag changed.
    StatusChanged,
    /// A webhook was switched off (failing, or its creator lost access).
    WebhookDisabled,
    /// Its risk acceptance ended: removed, deleted, or taken back by hand.
    RiskUnaccepted,
    /// Its risk acceptance expired.
    RiskExpired,
}

impl EventKind {
    /// Every kind, in declaration order.
    pub const ALL: [EventKind; 14] = [
        EventKind::Created,
        EventKind::Reactivated,
        EventKind::Mitigated,
        EventKind::Duplicate,
        EventKind::Updated,
        EventKind::NoteAdded,
        EventKind::Deleted,
        EventKind::RiskAccepted,
        EventKind::FalsePositive,
        EventKind::SeverityChanged,
        EventKind::StatusChanged,
        EventKind::WebhookDisabled,
        EventKind::RiskUnaccepted,
        EventKind::RiskExpired,
    ];

    /// The stored word.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Reactivated => "reactivated",
            EventKind::Mitigated => "mitigated",
            EventKind::Duplicate => "duplicate",
            EventKind::Updated => "updated",
            EventKind::NoteAdded => "note_added",
            EventKind::Deleted => "deleted",
            EventKind::RiskAccepted => "risk_accepted",
            EventKind::FalsePositive => "false_positive",
            EventKind::SeverityChanged => "severity_changed",
            EventKind::StatusChanged => "status_changed",
            EventKind::WebhookDisabled => "webhook_disabled",
            EventKind::RiskUnaccepted => "risk_unaccepted",
            EventKind::RiskExpired => "risk_expired",
        }
    }

    /// The kind a stored word names, if any.
    pub fn parse(word: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == word)
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where events happened and who caused them; subscribers and webhooks
/// filter on these ids, and access is checked on the product (type).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventScope {
    /// The product type; for an event about a finding, `None` means "its
    /// product's", looked up when the event is written.
    pub product_type_id: Option<i64>,
    /// The product.
    pub product_id: Option<i64>,
    /// The engagement.
    pub engagement_id: Option<i64>,
    /// The test.
    pub test_id: Option<i64>,
    /// Who made the change.
    pub actor: Option<i64>,
}

impl EventScope {
    /// The place of a finding, changed by `actor`.
    pub fn of_finding(f: &Finding, actor: Option<i64>) -> EventScope {
        EventScope {
            product_type_id: None,
            product_id: Some(f.product_id),
            engagement_id: Some(f.engagement_id),
            test_id: Some(f.test_id),
            actor,
        }
    }
}

/// Rows per statement of [`Outbox::record_batch`] (fewer, larger statements
/// are faster; this keeps each under PostgreSQL's limits comfortably).
const BATCH_CHUNK: usize = 50_000;

/// The single writer of the `events` table.
pub struct Outbox;

impl Outbox {
    /// Records one event in the caller's transaction and queues the
    /// notification for its commit.
    pub async fn record(
        conn: &mut AsyncPgConnection,
        kind: EventKind,
        scope: &EventScope,
        finding_id: Option<i64>,
        changes: &serde_json::Value,
    ) -> diesel::QueryResult<()> {
        sql_query(
            "INSERT INTO events (kind, finding_id, product_id, product_type_id, engagement_id, \
             test_id, actor_id, changes) \
             VALUES ($1, $2, $3, COALESCE($4, (SELECT product_type_id FROM products \
               WHERE id = $3 AND $2::bigint IS NOT NULL)), $5, $6, $7, $8::jsonb)",
        )
        .bind::<Text, _>(kind.as_str())
        .bind::<Nullable<BigInt>, _>(finding_id)
        .bind::<Nullable<BigInt>, _>(scope.product_id)
        .bind::<Nullable<BigInt>, _>(scope.product_type_id)
        .bind::<Nullable<BigInt>, _>(scope.engagement_id)
        .bind::<Nullable<BigInt>, _>(scope.test_id)
        .bind::<Nullable<BigInt>, _>(scope.actor)
        .bind::<Text, _>(changes.to_string())
        .execute(conn)
        .await?;
        Self::notify(conn, "").await
    }

    /// Records many events of one scope (an import's), one finding each,
    /// in few statements; `changes` holds JSON texts. The caller sends one
    /// [`Outbox::notify`] when done.
    pub async fn record_batch(
        conn: &mut AsyncPgConnection,
        scope: &EventScope,
        kinds: &[EventKind],
        finding_ids: &[i64],
        changes: &[String],
    ) -> diesel::QueryResult<()> {
        let n = kinds.len().min(finding_ids.len()).min(changes.len());
        let mut start = 0;
        while start < n {
            let end = (start + BATCH_CHUNK).min(n);
            let words: Vec<&str> = kinds[start..end].iter().map(|k| k.as_str()).collect();
            sql_query(
                "INSERT INTO events (kind, finding_id, product_id, product_type_id, \
                 engagement_id, test_id, actor_id, changes) \
                 SELECT x.k, x.f, $4, $5, $6, $7, $8, x.c::jsonb FROM unnest($1, $2, $3) AS x(k, f, c)",
            )
            .into_boxed::<Pg>()
            .bind::<Array<Text>, _>(words)
            .bind::<Array<BigInt>, _>(&finding_ids[start..end])
            .bind::<Array<Text>, _>(&changes[start..end])
            .bind::<Nullable<BigInt>, _>(scope.product_id)
            .bind::<Nullable<BigInt>, _>(scope.product_type_id)
            .bind::<Nullable<BigInt>, _>(scope.engagement_id)
            .bind::<Nullable<BigInt>, _>(scope.test_id)
            .bind::<Nullable<BigInt>, _>(scope.actor)
            .execute(conn)
            .await?;
            start = end;
        }
        Ok(())
    }

    /// Records one event per finding, each in its finding's own place (a bulk
    /// action may span products), in few statements, and queues one
    /// notification for the commit. `changes` holds JSON texts.
    pub async fn record_findings(
        conn: &mut AsyncPgConnection,
        actor: Option<i64>,
        kinds: &[EventKind],
        findings: &[&Finding],
        changes: &[String],
    ) -> diesel::QueryResult<()> {
        let n = kinds.len().min(findings.len()).min(changes.len());
        if n == 0 {
            return Ok(());
        }
        let mut start = 0;
        while start < n {
            let end = (start + BATCH_CHUNK).min(n);
            let part = &findings[start..end];
            let words: Vec<&str> = kinds[start..end].iter().map(|k| k.as_str()).collect();
            let ids: Vec<i64> = part.iter().map(|f| f.id).collect();
            let products: Vec<i64> = part.iter().map(|f| f.product_id).collect();
            let engagements: Vec<i64> = part.iter().map(|f| f.engagement_id).collect();
            let tests: Vec<i64> = part.iter().map(|f| f.test_id).collect();
            sql_query(
                "INSERT INTO events (kind, finding_id, product_id, product_type_id, \
                 engagement_id, test_id, actor_id, changes) \
                 SELECT x.k, x.f, x.p, p.product_type_id, x.e, x.t, $7, x.c::jsonb \
                 FROM unnest($1, $2, $3, $4, $5, $6) WITH ORDINALITY AS x(k, f, p, e, t, c, n) \
                 JOIN products p ON p.id = x.p ORDER BY x.n",
            )
            .into_boxed::<Pg>()
            .bind::<Array<Text>, _>(words)
            .bind::<Array<BigInt>, _>(ids)
            .bind::<Array<BigInt>, _>(products)
            .bind::<Array<BigInt>, _>(engagements)
            .bind::<Array<BigInt>, _>(tests)
            .bind::<Array<Text>, _>(&changes[start..end])
            .bind::<Nullable<BigInt>, _>(actor)
            .execute(conn)
            .await?;
            start = end;
        }
        Self::notify(conn, "").await
    }

    /// `NOTIFY` the listeners, delivered when the transaction commits.
    pub async fn notify(conn: &mut AsyncPgConnection, payload: &str) -> diesel::QueryResult<()> {
        sql_query("SELECT pg_notify($1, $2)")
            .bind::<Text, _>(EVENTS_CHANNEL)
            .bind::<Text, _>(payload)
            .execute(conn)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_words() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EventKind::parse("nonsense"), None);
    }
}
