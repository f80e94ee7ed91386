//! DefectDojo's statistics block over a test's findings.

use diesel::sql_types::{BigInt, Text};
use diesel::{QueryResult, QueryableByName, sql_query};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::severity::Severity;
use crate::import::request::{SeverityStats, StatusCounts};

#[derive(QueryableByName)]
struct StatsRow {
    #[diesel(sql_type = Text)]
    severity: Severity,
    #[diesel(sql_type = BigInt)]
    active: i64,
    #[diesel(sql_type = BigInt)]
    verified: i64,
    #[diesel(sql_type = BigInt)]
    duplicate: i64,
    #[diesel(sql_type = BigInt)]
    false_p: i64,
    #[diesel(sql_type = BigInt)]
    out_of_scope: i64,
    #[diesel(sql_type = BigInt)]
    is_mitigated: i64,
    #[diesel(sql_type = BigInt)]
    risk_accepted: i64,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// DefectDojo's statistics block over a test's findings.
pub async fn test_stats(conn: &mut AsyncPgConnection, test_id: i64) -> QueryResult<SeverityStats> {
    let rows: Vec<StatsRow> = sql_query(
        "SELECT severity, count(*) FILTER (WHERE active) AS active, \
         count(*) FILTER (WHERE verified) AS verified, \
         count(*) FILTER (WHERE duplicate) AS duplicate, \
         count(*) FILTER (WHERE false_p) AS false_p, \
         count(*) FILTER (WHERE out_of_scope) AS out_of_scope, \
         count(*) FILTER (WHERE is_mitigated) AS is_mitigated, \
         count(*) FILTER (WHERE risk_accepted) AS risk_accepted, count(*) AS total \
         FROM findings WHERE test_id = $1 GROUP BY severity",
    )
    .bind::<BigInt, _>(test_id)
    .load(conn)
    .await?;
    let mut out = SeverityStats::new();
    for s in ["critical", "high", "medium", "low", "info", "total"] {
        out.insert(s.to_owned(), StatusCounts::default());
    }
    for r in rows {
        let c = StatusCounts {
            active: r.active,
            verified: r.verified,
            duplicate: r.duplicate,
            false_p: r.false_p,
            out_of_scope: r.out_of_scope,
            is_mitigated: r.is_mitigated,
            risk_accepted: r.risk_accepted,
            total: r.total,
        };
        for key in [r.severity.key(), "total"] {
            let e = out.entry(key.to_owned()).or_default();
            e.active += c.active;
            e.verified += c.verified;
            e.duplicate += c.duplicate;
            e.false_p += c.false_p;
            e.out_of_scope += c.out_of_scope;
            e.is_mitigated += c.is_mitigated;
            e.risk_accepted += c.risk_accepted;
            e.total += c.total;
        }
    }
    Ok(out)
}
