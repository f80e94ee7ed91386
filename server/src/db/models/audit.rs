//! The permanent audit trail: a node's history is its rows of `audit_log`,
//! and for a finding also its events still in the replay window (retired
//! events move to `audit_log` with the same sequence numbers).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Jsonb, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::models::{Direction, PageQuery};

/// One entry of a history.
#[derive(Debug, Clone, QueryableByName)]
pub struct HistoryRow {
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
    #[diesel(sql_type = Timestamptz)]
    pub at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub actor_id: Option<i64>,
    #[diesel(sql_type = Text)]
    pub action: String,
    #[diesel(sql_type = Jsonb)]
    pub changes: serde_json::Value,
}

/// Whose history, and which entries of it.
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    /// `Finding`, `Test`, `Engagement`, `Product` or `ProductType`.
    pub kind: &'static str,
    pub id: i64,
    /// Only entries by this user.
    pub actor_id: Option<i64>,
    /// Only these actions (empty: all).
    pub actions: Vec<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The union of the two sources with the filters applied; `$1` kind, `$2`
/// id, `$3` actor, `$4` actions, `$5` from, `$6` to.
const ENTRIES: &str = "SELECT seq, at, actor_id, action, changes FROM ( \
       SELECT seq, created_at AS at, actor_id, kind AS action, changes FROM events \
       WHERE $1 = 'Finding' AND finding_id = $2 \
       UNION ALL \
       SELECT seq, at, actor_id, action, changes FROM audit_log \
       WHERE object_kind = $1 AND object_id = $2) h \
     WHERE ($3::bigint IS NULL OR actor_id = $3) \
       AND (cardinality($4::text[]) = 0 OR action = ANY($4)) \
       AND ($5::timestamptz IS NULL OR at >= $5) \
       AND ($6::timestamptz IS NULL OR at <= $6)";

impl HistoryQuery {
    /// One keyset page by `seq` (newest first when descending).
    pub async fn page(
        &self,
        conn: &mut AsyncPgConnection,
        page: &PageQuery,
    ) -> QueryResult<Vec<HistoryRow>> {
        let (cmp, order) = match page.direction {
            Direction::Desc => ("<", "DESC"),
            Direction::Asc => (">", "ASC"),
        };
        let after = page.after.as_ref().map(|(_, seq)| *seq);
        diesel::sql_query(format!(
            "SELECT * FROM ({ENTRIES}) e WHERE ($7::bigint IS NULL OR e.seq {cmp} $7) \
             ORDER BY e.seq {order} LIMIT $8"
        ))
        .bind::<Text, _>(self.kind)
        .bind::<BigInt, _>(self.id)
        .bind::<Nullable<BigInt>, _>(self.actor_id)
        .bind::<Array<Text>, _>(&self.actions)
        .bind::<Nullable<Timestamptz>, _>(self.from)
        .bind::<Nullable<Timestamptz>, _>(self.to)
        .bind::<Nullable<BigInt>, _>(after)
        .bind::<BigInt, _>(page.limit + 1)
        .load(conn)
        .await
    }

    /// How many entries match.
    pub async fn count(&self, conn: &mut AsyncPgConnection) -> QueryResult<i64> {
        let c: Count = diesel::sql_query(format!("SELECT count(*) AS n FROM ({ENTRIES}) e"))
            .bind::<Text, _>(self.kind)
            .bind::<BigInt, _>(self.id)
            .bind::<Nullable<BigInt>, _>(self.actor_id)
            .bind::<Array<Text>, _>(&self.actions)
            .bind::<Nullable<Timestamptz>, _>(self.from)
            .bind::<Nullable<Timestamptz>, _>(self.to)
            .get_result(conn)
            .await?;
        Ok(c.n)
    }
}

/// Makes `actor` the acting user of this connection's session, until set
/// again (what GraphQL mutations do on every connection they take).
pub async fn set_session_actor(conn: &mut AsyncPgConnection, actor: i64) -> QueryResult<()> {
    diesel::sql_query("SELECT set_config('palisade.actor', $1, false)")
        .bind::<Text, _>(actor.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Makes `actor` the acting user of the current transaction, for the audit
/// triggers (a no-op outside a transaction).
pub async fn set_actor(conn: &mut AsyncPgConnection, actor: Option<i64>) -> QueryResult<()> {
    diesel::sql_query("SELECT set_config('palisade.actor', $1, true)")
        .bind::<Text, _>(actor.map(|a| a.to_string()).unwrap_or_default())
        .execute(conn)
        .await?;
    Ok(())
}
