//! What the import reads before it writes: the system settings, and the
//! product's SLA under the product row lock.

use diesel::sql_types::{BigInt, Bool, Integer};
use diesel::{QueryResult, QueryableByName, sql_query};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::sla::SlaDays;

/// The system settings the import reads.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct ImportSystemSettings {
    #[diesel(sql_type = Bool)]
    pub enable_deduplication: bool,
    #[diesel(sql_type = Bool)]
    pub enable_finding_sla: bool,
    #[diesel(sql_type = Bool)]
    pub enable_finding_groups: bool,
    #[diesel(sql_type = Bool)]
    pub track_import_history: bool,
    #[diesel(sql_type = Bool)]
    pub false_positive_history: bool,
    #[diesel(sql_type = Bool)]
    pub retroactive_false_positive_history: bool,
}

pub async fn system_settings(conn: &mut AsyncPgConnection) -> QueryResult<ImportSystemSettings> {
    let rows: Vec<ImportSystemSettings> = sql_query(
        "SELECT enable_deduplication, enable_finding_sla, \
         enable_finding_groups, track_import_history, false_positive_history, \
         retroactive_false_positive_history FROM system_settings WHERE id = 1",
    )
    .load(conn)
    .await?;
    Ok(rows.into_iter().next().unwrap_or(ImportSystemSettings {
        enable_deduplication: true,
        enable_finding_sla: true,
        enable_finding_groups: true,
        track_import_history: true,
        false_positive_history: false,
        retroactive_false_positive_history: false,
    }))
}

#[derive(QueryableByName)]
struct SlaRow {
    #[diesel(sql_type = Integer)]
    critical: i32,
    #[diesel(sql_type = Integer)]
    high: i32,
    #[diesel(sql_type = Integer)]
    medium: i32,
    #[diesel(sql_type = Integer)]
    low: i32,
    #[diesel(sql_type = Bool)]
    enforce_critical: bool,
    #[diesel(sql_type = Bool)]
    enforce_high: bool,
    #[diesel(sql_type = Bool)]
    enforce_medium: bool,
    #[diesel(sql_type = Bool)]
    enforce_low: bool,
    #[diesel(sql_type = Bool)]
    restart_sla_on_reactivation: bool,
}

/// Locks the product row (serialises imports into one product) and reads its SLA.
pub async fn lock_product(
    conn: &mut AsyncPgConnection,
    product_id: i64,
) -> QueryResult<(SlaDays, bool)> {
    let rows: Vec<SlaRow> = sql_query(
        "SELECT s.critical, s.high, s.medium, s.low, s.enforce_critical, s.enforce_high, \
         s.enforce_medium, s.enforce_low, s.restart_sla_on_reactivation \
         FROM products p JOIN sla_configurations s ON s.id = p.sla_configuration_id \
         WHERE p.id = $1 FOR UPDATE OF p",
    )
    .bind::<BigInt, _>(product_id)
    .load(conn)
    .await?;
    let r = rows
        .into_iter()
        .next()
        .ok_or(diesel::result::Error::NotFound)?;
    Ok((
        SlaDays {
            critical: r.critical,
            high: r.high,
            medium: r.medium,
            low: r.low,
            enforce_critical: r.enforce_critical,
            enforce_high: r.enforce_high,
            enforce_medium: r.enforce_medium,
            enforce_low: r.enforce_low,
        },
        r.restart_sla_on_reactivation,
    ))
}
