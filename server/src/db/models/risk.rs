//! Risk acceptances (`risk_acceptances`) and the findings they accept
//! (`risk_acceptance_findings`; a finding is in at most one).

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{risk_acceptance_findings, risk_acceptances};

/// A risk acceptance row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = risk_acceptances, check_for_backend(Pg))]
pub struct RiskAcceptance {
    pub id: i64,
    pub engagement_id: i64,
    pub product_id: i64,
    pub name: String,
    pub recommendation: String,
    pub recommendation_details: Option<String>,
    pub decision: String,
    pub decision_details: Option<String>,
    pub accepted_by: Option<String>,
    pub owner_id: i64,
    pub expiration_date: Option<DateTime<Utc>>,
    pub expiration_date_warned: Option<DateTime<Utc>>,
    pub expiration_date_handled: Option<DateTime<Utc>>,
    pub reactivate_expired: bool,
    pub restart_sla_expired: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl RiskAcceptance {
    /// Whether its expiry has been handled.
    pub fn is_expired(&self) -> bool {
        self.expiration_date_handled.is_some()
    }
}

/// Insert form of [`RiskAcceptance`].
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = risk_acceptances)]
pub struct NewRiskAcceptance {
    pub engagement_id: i64,
    pub product_id: i64,
    pub name: String,
    pub recommendation: String,
    pub recommendation_details: Option<String>,
    pub decision: String,
    pub decision_details: Option<String>,
    pub accepted_by: Option<String>,
    pub owner_id: i64,
    pub expiration_date: Option<DateTime<Utc>>,
    pub reactivate_expired: bool,
    pub restart_sla_expired: bool,
}

/// Update form of [`RiskAcceptance`]; `None` keeps a column.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = risk_acceptances)]
pub struct RiskAcceptanceChanges {
    pub name: Option<String>,
    pub recommendation: Option<String>,
    pub recommendation_details: Option<Option<String>>,
    pub decision: Option<String>,
    pub decision_details: Option<Option<String>>,
    pub accepted_by: Option<Option<String>>,
    pub owner_id: Option<i64>,
    pub expiration_date: Option<Option<DateTime<Utc>>>,
    pub expiration_date_warned: Option<Option<DateTime<Utc>>>,
    pub expiration_date_handled: Option<Option<DateTime<Utc>>>,
    pub reactivate_expired: Option<bool>,
    pub restart_sla_expired: Option<bool>,
}

impl RiskAcceptance {
    /// Acceptances by id.
    pub async fn by_ids(
        conn: &mut AsyncPgConnection,
        ids: &[i64],
    ) -> QueryResult<Vec<RiskAcceptance>> {
        risk_acceptances::table
            .filter(risk_acceptances::id.eq_any(ids))
            .select(RiskAcceptance::as_select())
            .load(conn)
            .await
    }

    /// One acceptance, locked until the transaction ends.
    pub async fn lock(
        conn: &mut AsyncPgConnection,
        id: i64,
    ) -> QueryResult<Option<RiskAcceptance>> {
        risk_acceptances::table
            .find(id)
            .select(RiskAcceptance::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()
    }

    /// The acceptances of these engagements, oldest first.
    pub async fn for_engagements(
        conn: &mut AsyncPgConnection,
        ids: &[i64],
    ) -> QueryResult<Vec<RiskAcceptance>> {
        risk_acceptances::table
            .filter(risk_acceptances::engagement_id.eq_any(ids))
            .order(risk_acceptances::id.asc())
            .select(RiskAcceptance::as_select())
            .load(conn)
            .await
    }

    /// Inserts an acceptance.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        new: &NewRiskAcceptance,
    ) -> QueryResult<RiskAcceptance> {
        diesel::insert_into(risk_acceptances::table)
            .values(new)
            .returning(RiskAcceptance::as_select())
            .get_result(conn)
            .await
    }

    /// Applies changes.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        id: i64,
        changes: &RiskAcceptanceChanges,
    ) -> QueryResult<RiskAcceptance> {
        diesel::update(risk_acceptances::table.find(id))
            .set((changes, risk_acceptances::updated_at.eq(diesel::dsl::now)))
            .returning(RiskAcceptance::as_select())
            .get_result(conn)
            .await
    }

    /// Deletes an acceptance (its links go with it).
    pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<bool> {
        Ok(diesel::delete(risk_acceptances::table.find(id))
            .execute(conn)
            .await?
            > 0)
    }

    /// The ids of its findings, in id order.
    pub async fn finding_ids(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Vec<i64>> {
        risk_acceptance_findings::table
            .filter(risk_acceptance_findings::risk_acceptance_id.eq(id))
            .order(risk_acceptance_findings::finding_id.asc())
            .select(risk_acceptance_findings::finding_id)
            .load(conn)
            .await
    }

    /// The acceptance of each of these findings that has one.
    pub async fn of_findings(
        conn: &mut AsyncPgConnection,
        finding_ids: &[i64],
    ) -> QueryResult<Vec<(i64, i64)>> {
        risk_acceptance_findings::table
            .filter(risk_acceptance_findings::finding_id.eq_any(finding_ids))
            .select((
                risk_acceptance_findings::finding_id,
                risk_acceptance_findings::risk_acceptance_id,
            ))
            .load(conn)
            .await
    }

    /// Puts the findings into acceptance `id`, out of any other.
    pub async fn link(
        conn: &mut AsyncPgConnection,
        id: i64,
        finding_ids: &[i64],
    ) -> QueryResult<()> {
        Self::unlink(conn, finding_ids).await?;
        let rows: Vec<_> = finding_ids
            .iter()
            .map(|f| {
                (
                    risk_acceptance_findings::risk_acceptance_id.eq(id),
                    risk_acceptance_findings::finding_id.eq(*f),
                )
            })
            .collect();
        diesel::insert_into(risk_acceptance_findings::table)
            .values(rows)
            .execute(conn)
            .await?;
        Ok(())
    }

    /// Takes the findings out of their acceptances.
    pub async fn unlink(conn: &mut AsyncPgConnection, finding_ids: &[i64]) -> QueryResult<()> {
        diesel::delete(
            risk_acceptance_findings::table
                .filter(risk_acceptance_findings::finding_id.eq_any(finding_ids)),
        )
        .execute(conn)
        .await?;
        Ok(())
    }

    /// How many findings each of these acceptances holds.
    pub async fn counts(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<(i64, i64)>> {
        risk_acceptance_findings::table
            .filter(risk_acceptance_findings::risk_acceptance_id.eq_any(ids))
            .group_by(risk_acceptance_findings::risk_acceptance_id)
            .select((
                risk_acceptance_findings::risk_acceptance_id,
                diesel::dsl::count_star(),
            ))
            .load(conn)
            .await
    }
}
