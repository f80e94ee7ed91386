//! SLA deadlines: days per severity from the product's SLA configuration.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::severity::Severity;
use crate::db::schema::{products, sla_configurations};

/// The days and enforce flags of one SLA configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = sla_configurations, check_for_backend(diesel::pg::Pg))]
pub struct SlaDays {
    /// Days to fix a Critical finding.
    pub critical: i32,
    /// Days to fix a High finding.
    pub high: i32,
    /// Days to fix a Medium finding.
    pub medium: i32,
    /// Days to fix a Low finding.
    pub low: i32,
    /// Whether Critical findings get a deadline.
    pub enforce_critical: bool,
    /// Whether High findings get a deadline.
    pub enforce_high: bool,
    /// Whether Medium findings get a deadline.
    pub enforce_medium: bool,
    /// Whether Low findings get a deadline.
    pub enforce_low: bool,
}

impl Default for SlaDays {
    fn default() -> Self {
        SlaDays {
            critical: 7,
            high: 30,
            medium: 90,
            low: 120,
            enforce_critical: true,
            enforce_high: true,
            enforce_medium: true,
            enforce_low: true,
        }
    }
}

impl SlaDays {
    /// The deadline of a finding of `severity` whose SLA starts on `start`;
    /// `None` for Info and for severities that are not enforced.
    pub fn expiration(&self, severity: Severity, start: NaiveDate) -> Option<NaiveDate> {
        let (days, enforced) = match severity {
            Severity::Critical => (self.critical, self.enforce_critical),
            Severity::High => (self.high, self.enforce_high),
            Severity::Medium => (self.medium, self.enforce_medium),
            Severity::Low => (self.low, self.enforce_low),
            Severity::Info => return None,
        };
        enforced.then(|| start + Duration::days(i64::from(days)))
    }

    /// The SLA configuration of a product.
    pub async fn for_product(
        conn: &mut AsyncPgConnection,
        product_id: i64,
    ) -> QueryResult<SlaDays> {
        products::table
            .inner_join(sla_configurations::table)
            .filter(products::id.eq(product_id))
            .select(SlaDays::as_select())
            .first(conn)
            .await
    }
}

/// A product's SLA rules: its days, and whether a reopened finding's clock
/// starts again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SlaPolicy {
    /// Days per severity.
    pub days: SlaDays,
    /// A reactivated finding's SLA restarts on the day it is reopened.
    pub restart_on_reactivation: bool,
}

impl SlaPolicy {
    /// The policies of these products, by product id.
    pub async fn for_products(
        conn: &mut AsyncPgConnection,
        product_ids: &[i64],
    ) -> QueryResult<HashMap<i64, SlaPolicy>> {
        let rows: Vec<(i64, SlaDays, bool)> = products::table
            .inner_join(sla_configurations::table)
            .filter(products::id.eq_any(product_ids))
            .select((
                products::id,
                SlaDays::as_select(),
                sla_configurations::restart_sla_on_reactivation,
            ))
            .load(conn)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, days, restart)| {
                (
                    id,
                    SlaPolicy {
                        days,
                        restart_on_reactivation: restart,
                    },
                )
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn default_days_follow_the_domain() {
        let sla = SlaDays::default();
        assert_eq!(
            sla.expiration(Severity::Critical, day("2026-01-01")),
            Some(day("2026-01-08"))
        );
        assert_eq!(
            sla.expiration(Severity::High, day("2026-01-01")),
            Some(day("2026-01-31"))
        );
        assert_eq!(
            sla.expiration(Severity::Medium, day("2026-01-01")),
            Some(day("2026-04-01"))
        );
        assert_eq!(
            sla.expiration(Severity::Low, day("2026-01-01")),
            Some(day("2026-05-01"))
        );
        assert_eq!(sla.expiration(Severity::Info, day("2026-01-01")), None);
    }

    #[test]
    fn unenforced_severity_has_no_deadline() {
        let sla = SlaDays {
            enforce_high: false,
            ..SlaDays::default()
        };
        assert_eq!(sla.expiration(Severity::High, day("2026-01-01")), None);
    }
}
