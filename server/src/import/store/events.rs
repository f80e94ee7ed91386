//! The import's outbox events and the one `NOTIFY` that announces them.

use diesel::pg::Pg;
use diesel::sql_types::{Array, BigInt, Nullable, Text};
use diesel::{QueryResult, sql_query};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// Where events happened and who caused them.
#[derive(Debug, Clone, Copy)]
pub struct EventContext {
    pub product_type_id: i64,
    pub product_id: i64,
    pub engagement_id: i64,
    pub test_id: i64,
    pub actor: Option<i64>,
}

/// Writes outbox events (kind, finding, changes JSON) in one statement.
pub async fn insert_events(
    conn: &mut AsyncPgConnection,
    cx: &EventContext,
    kinds: &[&str],
    finding_ids: &[i64],
    changes: &[String],
) -> QueryResult<()> {
    if kinds.is_empty() {
        return Ok(());
    }
    sql_query(
        "INSERT INTO events (kind, finding_id, product_id, product_type_id, engagement_id, \
         test_id, actor_id, changes) \
         SELECT x.k, x.f, $4, $5, $6, $7, $8, x.c::jsonb FROM unnest($1, $2, $3) AS x(k, f, c)",
    )
    .into_boxed::<Pg>()
    .bind::<Array<Text>, _>(kinds)
    .bind::<Array<BigInt>, _>(finding_ids)
    .bind::<Array<Text>, _>(changes)
    .bind::<BigInt, _>(cx.product_id)
    .bind::<BigInt, _>(cx.product_type_id)
    .bind::<BigInt, _>(cx.engagement_id)
    .bind::<BigInt, _>(cx.test_id)
    .bind::<Nullable<BigInt>, _>(cx.actor)
    .execute(conn)
    .await?;
    Ok(())
}

/// `NOTIFY palisade_events` (delivered when the transaction commits).
pub async fn notify_events(conn: &mut AsyncPgConnection, payload: &str) -> QueryResult<()> {
    sql_query("SELECT pg_notify('palisade_events', $1)")
        .bind::<Text, _>(payload)
        .execute(conn)
        .await?;
    Ok(())
}
