//! Finding groups: named sets of findings of one test, made by an import's
//! `group_by` or by hand. A finding is in at most one group.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Date, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{finding_group_findings, finding_groups};

/// A finding group.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = finding_groups, check_for_backend(Pg))]
pub struct FindingGroup {
    pub id: i64,
    pub test_id: i64,
    pub product_id: i64,
    pub name: String,
    pub creator_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a group's members add up to.
#[derive(Debug, Clone, Default, QueryableByName)]
pub struct GroupSummary {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = BigInt)]
    pub findings: i64,
    /// The most severe member's numerical severity (`S0` … `S4`).
    #[diesel(sql_type = Nullable<Text>)]
    pub numerical_severity: Option<String>,
    #[diesel(sql_type = Bool)]
    pub any_active: bool,
    #[diesel(sql_type = Bool)]
    pub all_mitigated: bool,
    #[diesel(sql_type = Nullable<Date>)]
    pub sla_start_date: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Date>)]
    pub sla_expiration_date: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Date>)]
    pub oldest_date: Option<NaiveDate>,
}

/// A finding's group.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct Membership {
    #[diesel(sql_type = BigInt)]
    pub finding_id: i64,
    #[diesel(sql_type = BigInt)]
    pub finding_group_id: i64,
}

impl FindingGroup {
    /// The groups with these ids.
    pub async fn by_ids(
        conn: &mut AsyncPgConnection,
        ids: &[i64],
    ) -> QueryResult<Vec<FindingGroup>> {
        finding_groups::table
            .filter(finding_groups::id.eq_any(ids))
            .select(FindingGroup::as_select())
            .load(conn)
            .await
    }

    /// One group, locked until the transaction ends.
    pub async fn lock(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<FindingGroup>> {
        finding_groups::table
            .find(id)
            .select(FindingGroup::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()
    }

    /// The groups of these tests, by name.
    pub async fn for_tests(
        conn: &mut AsyncPgConnection,
        test_ids: &[i64],
    ) -> QueryResult<Vec<FindingGroup>> {
        finding_groups::table
            .filter(finding_groups::test_id.eq_any(test_ids))
            .order((finding_groups::name.asc(), finding_groups::id.asc()))
            .select(FindingGroup::as_select())
            .load(conn)
            .await
    }

    /// The group of each of these findings that has one.
    pub async fn of_findings(
        conn: &mut AsyncPgConnection,
        finding_ids: &[i64],
    ) -> QueryResult<Vec<Membership>> {
        diesel::sql_query(
            "SELECT finding_id, finding_group_id FROM finding_group_findings \
             WHERE finding_id = ANY($1)",
        )
        .bind::<Array<BigInt>, _>(finding_ids)
        .load(conn)
        .await
    }

    /// The member totals of these groups (groups without members are absent).
    pub async fn summaries(
        conn: &mut AsyncPgConnection,
        group_ids: &[i64],
    ) -> QueryResult<Vec<GroupSummary>> {
        diesel::sql_query(
            "SELECT m.finding_group_id AS id, count(*) AS findings, \
                    min(f.numerical_severity) AS numerical_severity, \
                    bool_or(f.active) AS any_active, bool_and(f.is_mitigated) AS all_mitigated, \
                    min(COALESCE(f.sla_start_date, f.date)) AS sla_start_date, \
                    min(f.sla_expiration_date) AS sla_expiration_date, \
                    min(f.date) AS oldest_date \
             FROM finding_group_findings m JOIN findings f ON f.id = m.finding_id \
             WHERE m.finding_group_id = ANY($1) GROUP BY m.finding_group_id",
        )
        .bind::<Array<BigInt>, _>(group_ids)
        .load(conn)
        .await
    }

    /// Inserts a group.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        test_id: i64,
        product_id: i64,
        name: &str,
        creator_id: Option<i64>,
    ) -> QueryResult<FindingGroup> {
        diesel::insert_into(finding_groups::table)
            .values((
                finding_groups::test_id.eq(test_id),
                finding_groups::product_id.eq(product_id),
                finding_groups::name.eq(name),
                finding_groups::creator_id.eq(creator_id),
            ))
            .returning(FindingGroup::as_select())
            .get_result(conn)
            .await
    }

    /// Renames a group.
    pub async fn rename(
        conn: &mut AsyncPgConnection,
        id: i64,
        name: &str,
    ) -> QueryResult<FindingGroup> {
        diesel::update(finding_groups::table.find(id))
            .set(finding_groups::name.eq(name))
            .returning(FindingGroup::as_select())
            .get_result(conn)
            .await
    }

    /// Deletes a group (its findings stay, ungrouped).
    pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<usize> {
        diesel::delete(finding_groups::table.find(id))
            .execute(conn)
            .await
    }

    /// Puts the findings into group `id`, taking them out of any other.
    pub async fn put(
        conn: &mut AsyncPgConnection,
        id: i64,
        finding_ids: &[i64],
    ) -> QueryResult<usize> {
        diesel::sql_query(
            "INSERT INTO finding_group_findings (finding_group_id, finding_id) \
             SELECT $1, unnest($2) \
             ON CONFLICT (finding_id) DO UPDATE SET finding_group_id = EXCLUDED.finding_group_id",
        )
        .bind::<BigInt, _>(id)
        .bind::<Array<BigInt>, _>(finding_ids)
        .execute(conn)
        .await?;
        Self::touch(conn, id).await
    }

    /// Takes the findings out of their groups.
    pub async fn take_out(conn: &mut AsyncPgConnection, finding_ids: &[i64]) -> QueryResult<usize> {
        diesel::delete(
            finding_group_findings::table
                .filter(finding_group_findings::finding_id.eq_any(finding_ids)),
        )
        .execute(conn)
        .await
    }

    /// The ids of a group's members, in id order.
    pub async fn member_ids(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Vec<i64>> {
        finding_group_findings::table
            .filter(finding_group_findings::finding_group_id.eq(id))
            .order(finding_group_findings::finding_id.asc())
            .select(finding_group_findings::finding_id)
            .load(conn)
            .await
    }

    async fn touch(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<usize> {
        diesel::update(finding_groups::table.find(id))
            .set(finding_groups::updated_at.eq(diesel::dsl::now))
            .execute(conn)
            .await
    }
}
