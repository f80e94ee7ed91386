//! Closing findings: `close_old_findings` on import, and the findings a
//! reimport no longer reports.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz};
use diesel::{QueryResult, QueryableByName, sql_query};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::severity::Severity;

#[derive(QueryableByName)]
struct ClosedRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    severity: Severity,
    #[diesel(sql_type = Bool)]
    was_active: bool,
    #[diesel(sql_type = Bool)]
    was_risk_accepted: bool,
}

/// A finding closed by the import, with what it was before.
#[derive(Debug, Clone)]
pub struct Closed {
    pub id: i64,
    pub severity: Severity,
    pub was_active: bool,
    pub was_risk_accepted: bool,
}

/// Which findings `close_old_findings` (import) may close.
pub struct CloseScope<'a> {
    pub test_id: i64,
    pub test_type_id: i64,
    /// `engagement_id = ` or, with product scope, `product_id = `.
    pub engagement_id: Option<i64>,
    pub product_id: i64,
    pub service: Option<&'a str>,
    /// Keys of the report's non-mitigated findings (excluded from closing).
    pub keep_hashes: Vec<String>,
    pub keep_uids: Vec<String>,
}

fn closed(rows: Vec<ClosedRow>) -> Vec<Closed> {
    rows.into_iter()
        .map(|r| Closed {
            id: r.id,
            severity: r.severity,
            was_active: r.was_active,
            was_risk_accepted: r.was_risk_accepted,
        })
        .collect()
}

/// Closes old findings of the same test type outside the new test (§5.3 step 5).
pub async fn close_old(
    conn: &mut AsyncPgConnection,
    scope: CloseScope<'_>,
    mitigated_at: DateTime<Utc>,
    actor: Option<i64>,
) -> QueryResult<Vec<Closed>> {
    let scope_cond = if scope.engagement_id.is_some() {
        "f.engagement_id = $1"
    } else {
        "f.product_id = $1"
    };
    let service_cond = if scope.service.is_some() {
        "f.service = $4"
    } else {
        "(f.service IS NULL OR f.service = '' OR $4::text IS NOT NULL)"
    };
    let sql = format!(
        "WITH c AS (SELECT f.id, f.active, f.risk_accepted FROM findings f \
         JOIN tests t ON t.id = f.test_id \
         WHERE {scope_cond} AND t.test_type_id = $2 AND f.test_id <> $3 \
         AND (f.active OR f.risk_accepted) AND {service_cond} \
         AND NOT COALESCE(f.hash_code = ANY($5), false) \
         AND NOT COALESCE(f.unique_id_from_tool = ANY($6), false) FOR UPDATE OF f) \
         UPDATE findings f SET active = false, is_mitigated = true, risk_accepted = false, \
         mitigated = COALESCE(f.mitigated, $7), mitigated_by_id = $8, last_status_update = now() \
         FROM c WHERE f.id = c.id \
         RETURNING f.id, f.severity, c.active AS was_active, c.risk_accepted AS was_risk_accepted"
    );
    let rows: Vec<ClosedRow> = sql_query(sql)
        .bind::<BigInt, _>(scope.engagement_id.unwrap_or(scope.product_id))
        .bind::<BigInt, _>(scope.test_type_id)
        .bind::<BigInt, _>(scope.test_id)
        .bind::<Nullable<Text>, _>(scope.service)
        .bind::<Array<Text>, _>(scope.keep_hashes)
        .bind::<Array<Text>, _>(scope.keep_uids)
        .bind::<Timestamptz, _>(mitigated_at)
        .bind::<Nullable<BigInt>, _>(actor)
        .load(conn)
        .await?;
    Ok(closed(rows))
}

/// Mitigates these findings unless already mitigated (reimport's `to_mitigate`).
///
/// The special flags are not written, so values set meanwhile survive.
pub async fn mitigate(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    mitigated_at: DateTime<Utc>,
    actor: Option<i64>,
) -> QueryResult<Vec<Closed>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<ClosedRow> = sql_query(
        "WITH c AS (SELECT id, active, risk_accepted FROM findings \
         WHERE id = ANY($1) AND NOT is_mitigated FOR UPDATE) \
         UPDATE findings f SET active = false, is_mitigated = true, \
         mitigated = COALESCE(f.mitigated, $2), mitigated_by_id = $3, last_status_update = now() \
         FROM c WHERE f.id = c.id \
         RETURNING f.id, f.severity, c.active AS was_active, c.risk_accepted AS was_risk_accepted",
    )
    .bind::<Array<BigInt>, _>(ids)
    .bind::<Timestamptz, _>(mitigated_at)
    .bind::<Nullable<BigInt>, _>(actor)
    .load(conn)
    .await?;
    Ok(closed(rows))
}

/// Drops the risk acceptance links of findings that were closed.
pub async fn remove_risk_acceptance(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    sql_query("DELETE FROM risk_acceptance_findings WHERE finding_id = ANY($1)")
        .bind::<Array<BigInt>, _>(ids)
        .execute(conn)
        .await?;
    Ok(())
}
