//! Review requests on findings: who asked, who is asked, who last reviewed.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{finding_reviewers, findings};

/// The review columns of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable)]
pub struct ReviewState {
    pub finding_id: i64,
    pub review_requested_by_id: Option<i64>,
    pub last_reviewed_by_id: Option<i64>,
}

/// The review columns of these findings.
pub async fn states(
    conn: &mut AsyncPgConnection,
    finding_ids: &[i64],
) -> QueryResult<Vec<ReviewState>> {
    findings::table
        .filter(findings::id.eq_any(finding_ids))
        .select((
            findings::id,
            findings::review_requested_by_id,
            findings::last_reviewed_by_id,
        ))
        .load(conn)
        .await
}

/// (finding, reviewer) pairs of these findings, in reviewer order.
pub async fn reviewers_of(
    conn: &mut AsyncPgConnection,
    finding_ids: &[i64],
) -> QueryResult<Vec<(i64, i64)>> {
    finding_reviewers::table
        .filter(finding_reviewers::finding_id.eq_any(finding_ids))
        .order((finding_reviewers::finding_id, finding_reviewers::user_id))
        .select((finding_reviewers::finding_id, finding_reviewers::user_id))
        .load(conn)
        .await
}

/// Marks finding `id` under review by `reviewers`, asked by `requester`
/// (replacing any earlier reviewers).
pub async fn request(
    conn: &mut AsyncPgConnection,
    id: i64,
    requester: Option<i64>,
    reviewers: &[i64],
) -> QueryResult<()> {
    diesel::update(findings::table.find(id))
        .set((
            findings::under_review.eq(true),
            findings::review_requested_by_id.eq(requester),
            findings::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    diesel::delete(finding_reviewers::table.filter(finding_reviewers::finding_id.eq(id)))
        .execute(conn)
        .await?;
    diesel::sql_query(
        "INSERT INTO finding_reviewers (finding_id, user_id) SELECT $1, unnest($2) \
         ON CONFLICT DO NOTHING",
    )
    .bind::<BigInt, _>(id)
    .bind::<Array<BigInt>, _>(reviewers)
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends the review of finding `id`: reviewed by `reviewer` at `at`.
pub async fn clear(
    conn: &mut AsyncPgConnection,
    id: i64,
    reviewer: Option<i64>,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE findings SET under_review = false, last_reviewed = $2, \
         last_reviewed_by_id = $3, updated_at = now() WHERE id = $1",
    )
    .bind::<BigInt, _>(id)
    .bind::<Timestamptz, _>(at)
    .bind::<Nullable<BigInt>, _>(reviewer)
    .execute(conn)
    .await?;
    diesel::delete(finding_reviewers::table.filter(finding_reviewers::finding_id.eq(id)))
        .execute(conn)
        .await?;
    Ok(())
}
