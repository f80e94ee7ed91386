//! Findings, their vulnerability ids, and the filtered, keyset-paged lists.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Date, Jsonb, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::{Direction, PageQuery, SortKey, like_pattern};
use crate::db::schema::{
    finding_group_findings, finding_reviewers, finding_vulnerability_ids, findings,
    risk_acceptance_findings,
};
use crate::domain::severity::Severity;

/// A finding row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = findings, check_for_backend(Pg))]
pub struct Finding {
    pub id: i64,
    pub test_id: i64,
    pub engagement_id: i64,
    pub product_id: i64,
    pub title: String,
    pub date: NaiveDate,
    pub severity: Severity,
    pub numerical_severity: String,
    pub description: String,
    pub mitigation: Option<String>,
    pub impact: Option<String>,
    pub steps_to_reproduce: Option<String>,
    pub severity_justification: Option<String>,
    pub references: Option<String>,
    pub url: Option<String>,
    pub param: Option<String>,
    pub payload: Option<String>,
    pub cwe: i32,
    pub cve: Option<String>,
    pub vuln_id_from_tool: Option<String>,
    pub unique_id_from_tool: Option<String>,
    pub cvssv3: Option<String>,
    pub cvssv3_score: Option<f32>,
    pub cvssv4: Option<String>,
    pub cvssv4_score: Option<f32>,
    pub epss_score: Option<f32>,
    pub epss_percentile: Option<f32>,
    pub known_exploited: bool,
    pub ransomware_used: bool,
    pub kev_date: Option<NaiveDate>,
    pub active: bool,
    pub verified: bool,
    pub false_p: bool,
    pub duplicate: bool,
    pub duplicate_finding_id: Option<i64>,
    pub out_of_scope: bool,
    pub risk_accepted: bool,
    pub under_review: bool,
    pub under_defect_review: bool,
    pub is_mitigated: bool,
    pub mitigated: Option<DateTime<Utc>>,
    pub mitigated_by_id: Option<i64>,
    pub last_status_update: DateTime<Utc>,
    pub last_reviewed: Option<DateTime<Utc>>,
    pub sla_start_date: Option<NaiveDate>,
    pub sla_expiration_date: Option<NaiveDate>,
    pub file_path: Option<String>,
    pub line: Option<i32>,
    pub component_name: Option<String>,
    pub component_version: Option<String>,
    pub sast_source_object: Option<String>,
    pub sast_sink_object: Option<String>,
    pub sast_source_line: Option<i32>,
    pub sast_source_file_path: Option<String>,
    pub reporter_id: Option<i64>,
    pub static_finding: bool,
    pub dynamic_finding: bool,
    pub scanner_confidence: Option<i32>,
    pub nb_occurences: Option<i32>,
    pub publish_date: Option<NaiveDate>,
    pub fix_available: Option<bool>,
    pub fix_version: Option<String>,
    pub planned_remediation_date: Option<NaiveDate>,
    pub planned_remediation_version: Option<String>,
    pub effort_for_fixing: Option<String>,
    pub hash_code: Option<String>,
    pub service: Option<String>,
    pub tags: Vec<String>,
    /// Custom field values by definition id.
    pub custom_fields: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Insert form of [`Finding`]: everything a user or an import sets.
///
/// No `Default`: a finding has no default severity, so every insert names one.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = findings)]
pub struct NewFinding {
    pub test_id: i64,
    pub engagement_id: i64,
    pub product_id: i64,
    pub title: String,
    pub date: Option<NaiveDate>,
    pub severity: Severity,
    pub numerical_severity: String,
    pub description: String,
    pub mitigation: Option<String>,
    pub impact: Option<String>,
    pub steps_to_reproduce: Option<String>,
    pub severity_justification: Option<String>,
    pub references: Option<String>,
    pub param: Option<String>,
    pub payload: Option<String>,
    pub cwe: i32,
    pub cve: Option<String>,
    pub vuln_id_from_tool: Option<String>,
    pub unique_id_from_tool: Option<String>,
    pub cvssv3: Option<String>,
    pub cvssv3_score: Option<f32>,
    pub cvssv4: Option<String>,
    pub cvssv4_score: Option<f32>,
    pub epss_score: Option<f32>,
    pub epss_percentile: Option<f32>,
    pub active: bool,
    pub verified: bool,
    pub false_p: bool,
    pub out_of_scope: bool,
    pub risk_accepted: bool,
    pub under_review: bool,
    pub is_mitigated: bool,
    pub mitigated: Option<DateTime<Utc>>,
    pub mitigated_by_id: Option<i64>,
    pub sla_start_date: Option<NaiveDate>,
    pub sla_expiration_date: Option<NaiveDate>,
    pub file_path: Option<String>,
    pub line: Option<i32>,
    pub component_name: Option<String>,
    pub component_version: Option<String>,
    pub reporter_id: Option<i64>,
    pub static_finding: bool,
    pub dynamic_finding: bool,
    pub nb_occurences: Option<i32>,
    pub fix_available: Option<bool>,
    pub fix_version: Option<String>,
    pub planned_remediation_date: Option<NaiveDate>,
    pub planned_remediation_version: Option<String>,
    pub hash_code: Option<String>,
    pub service: Option<String>,
    pub tags: Vec<String>,
}

/// Update form of [`Finding`]; `None` keeps a column.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = findings)]
pub struct FindingChanges {
    pub title: Option<String>,
    pub date: Option<NaiveDate>,
    pub severity: Option<Severity>,
    pub numerical_severity: Option<String>,
    pub description: Option<String>,
    pub mitigation: Option<Option<String>>,
    pub impact: Option<Option<String>>,
    pub steps_to_reproduce: Option<Option<String>>,
    pub severity_justification: Option<Option<String>>,
    pub references: Option<Option<String>>,
    pub cwe: Option<i32>,
    pub cve: Option<Option<String>>,
    pub cvssv3: Option<Option<String>>,
    pub cvssv3_score: Option<Option<f32>>,
    pub file_path: Option<Option<String>>,
    pub line: Option<Option<i32>>,
    pub component_name: Option<Option<String>>,
    pub component_version: Option<Option<String>>,
    pub active: Option<bool>,
    pub verified: Option<bool>,
    pub false_p: Option<bool>,
    pub duplicate: Option<bool>,
    pub duplicate_finding_id: Option<Option<i64>>,
    pub out_of_scope: Option<bool>,
    pub risk_accepted: Option<bool>,
    pub under_review: Option<bool>,
    pub is_mitigated: Option<bool>,
    pub mitigated: Option<Option<DateTime<Utc>>>,
    pub mitigated_by_id: Option<Option<i64>>,
    pub last_status_update: Option<DateTime<Utc>>,
    pub sla_start_date: Option<Option<NaiveDate>>,
    pub sla_expiration_date: Option<Option<NaiveDate>>,
    pub planned_remediation_date: Option<Option<NaiveDate>>,
    pub planned_remediation_version: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub custom_fields: Option<serde_json::Value>,
}

/// Sort orders of finding lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingSort {
    /// Creation order.
    Id,
    /// Most severe first when ascending (numerical_severity).
    Severity,
    /// Finding date.
    Date,
    /// SLA expiration (findings without one last).
    SlaExpiration,
    /// Title.
    Title,
    /// The value of this custom field (findings without one last).
    Custom(i64),
}

/// Every filter of a finding list; `None`/empty means "no condition".
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    /// Only findings of these products (access control).
    pub readable_product_ids: Option<Vec<i64>>,
    pub product_type_ids: Vec<i64>,
    pub product_ids: Vec<i64>,
    pub engagement_ids: Vec<i64>,
    pub test_ids: Vec<i64>,
    pub ids: Option<Vec<i64>>,
    /// Any of these severities (empty: no filter).
    pub severities: Vec<Severity>,
    pub active: Option<bool>,
    pub verified: Option<bool>,
    pub false_p: Option<bool>,
    pub out_of_scope: Option<bool>,
    pub risk_accepted: Option<bool>,
    pub under_review: Option<bool>,
    pub is_mitigated: Option<bool>,
    pub duplicate: Option<bool>,
    pub cwes: Vec<i32>,
    pub vulnerability_id: Option<String>,
    pub component_name: Option<String>,
    pub component_version: Option<String>,
    pub file_path: Option<String>,
    pub tags: Vec<String>,
    pub date_from: Option<NaiveDate>,
    pub date_to: Option<NaiveDate>,
    pub sla_expiration_from: Option<NaiveDate>,
    pub sla_expiration_to: Option<NaiveDate>,
    /// Case-insensitive substring of title or description.
    pub search: Option<String>,
    /// In any of these finding groups (empty: no filter).
    pub finding_group_ids: Vec<i64>,
    /// In some finding group (true) or in none (false).
    pub in_finding_group: Option<bool>,
    /// Duplicates of this original.
    pub duplicate_of: Option<i64>,
    /// Under review, with this user among the reviewers.
    pub reviewer_id: Option<i64>,
    /// Conditions on custom field values.
    pub custom: Vec<CustomCondition>,
    /// In any of these risk acceptances (empty: no filter).
    pub risk_acceptance_ids: Vec<i64>,
}

/// A condition on the value of one custom field of a finding.
#[derive(Debug, Clone)]
pub struct CustomCondition {
    /// The field's definition.
    pub field_id: i64,
    /// What the value must satisfy.
    pub test: CustomTest,
}

/// What a custom field value must satisfy.
#[derive(Debug, Clone)]
pub enum CustomTest {
    /// Equal to this value; for a multiple-choice field, holding this choice
    /// (or, given a list, all of these).
    Equals(serde_json::Value),
    /// At least this (a number, or a date or text compared as text).
    Min(serde_json::Value),
    /// At most this.
    Max(serde_json::Value),
    /// A text containing this, in any case.
    Contains(String),
    /// Set (true) or not set (false).
    IsSet(bool),
}

/// The far-future date that stands for "no SLA expiration" when sorting.
pub const NO_SLA: NaiveDate = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

impl FindingFilter {
    fn query(&self) -> findings::BoxedQuery<'static, Pg> {
        use crate::db::schema::products;
        let mut q = findings::table.into_boxed();
        if let Some(ids) = &self.readable_product_ids {
            q = q.filter(findings::product_id.eq_any(ids.clone()));
        }
        if !self.product_type_ids.is_empty() {
            q = q.filter(
                findings::product_id.eq_any(
                    products::table
                        .filter(products::product_type_id.eq_any(self.product_type_ids.clone()))
                        .select(products::id),
                ),
            );
        }
        // A single id is written as `=`, not `= ANY(...)`: only then can
        // PostgreSQL walk the (parent, id) index in order and stop at the page end.
        match self.product_ids.as_slice() {
            [] => {}
            [one] => q = q.filter(findings::product_id.eq(*one)),
            many => q = q.filter(findings::product_id.eq_any(many.to_vec())),
        }
        match self.engagement_ids.as_slice() {
            [] => {}
            [one] => q = q.filter(findings::engagement_id.eq(*one)),
            many => q = q.filter(findings::engagement_id.eq_any(many.to_vec())),
        }
        match self.test_ids.as_slice() {
            [] => {}
            [one] => q = q.filter(findings::test_id.eq(*one)),
            many => q = q.filter(findings::test_id.eq_any(many.to_vec())),
        }
        if let Some(ids) = &self.ids {
            q = q.filter(findings::id.eq_any(ids.clone()));
        }
        if !self.severities.is_empty() {
            q = q.filter(findings::severity.eq_any(self.severities.clone()));
        }
        macro_rules! flag {
            ($field:ident) => {
                if let Some(v) = self.$field {
                    q = q.filter(findings::$field.eq(v));
                }
            };
        }
        flag!(active);
        flag!(verified);
        flag!(false_p);
        flag!(out_of_scope);
        flag!(risk_accepted);
        flag!(under_review);
        flag!(is_mitigated);
        flag!(duplicate);
        if !self.cwes.is_empty() {
            q = q.filter(findings::cwe.eq_any(self.cwes.clone()));
        }
        if let Some(v) = &self.vulnerability_id {
            q = q.filter(
                findings::id.eq_any(
                    finding_vulnerability_ids::table
                        .filter(finding_vulnerability_ids::vulnerability_id.eq(v.to_uppercase()))
                        .select(finding_vulnerability_ids::finding_id),
                ),
            );
        }
        if let Some(v) = &self.component_name {
            q = q.filter(findings::component_name.eq(v.clone()));
        }
        if let Some(v) = &self.component_version {
            q = q.filter(findings::component_version.eq(v.clone()));
        }
        if let Some(v) = &self.file_path {
            q = q.filter(findings::file_path.ilike(like_pattern(v)));
        }
        if !self.tags.is_empty() {
            q = q.filter(findings::tags.contains(self.tags.clone()));
        }
        if let Some(d) = self.date_from {
            q = q.filter(findings::date.ge(d));
        }
        if let Some(d) = self.date_to {
            q = q.filter(findings::date.le(d));
        }
        if let Some(d) = self.sla_expiration_from {
            q = q.filter(findings::sla_expiration_date.ge(d));
        }
        if let Some(d) = self.sla_expiration_to {
            q = q.filter(findings::sla_expiration_date.le(d));
        }
        if !self.finding_group_ids.is_empty() {
            q = q.filter(
                findings::id.eq_any(
                    finding_group_findings::table
                        .filter(
                            finding_group_findings::finding_group_id
                                .eq_any(self.finding_group_ids.clone()),
                        )
                        .select(finding_group_findings::finding_id),
                ),
            );
        }
        if let Some(grouped) = self.in_finding_group {
            let members = finding_group_findings::table.select(finding_group_findings::finding_id);
            q = if grouped {
                q.filter(findings::id.eq_any(members))
            } else {
                q.filter(diesel::dsl::not(diesel::dsl::exists(
                    finding_group_findings::table
                        .filter(finding_group_findings::finding_id.eq(findings::id)),
                )))
            };
        }
        if !self.risk_acceptance_ids.is_empty() {
            q = q.filter(
                findings::id.eq_any(
                    risk_acceptance_findings::table
                        .filter(
                            risk_acceptance_findings::risk_acceptance_id
                                .eq_any(self.risk_acceptance_ids.clone()),
                        )
                        .select(risk_acceptance_findings::finding_id),
                ),
            );
        }
        if let Some(o) = self.duplicate_of {
            q = q.filter(findings::duplicate_finding_id.eq(o));
        }
        if let Some(u) = self.reviewer_id {
            q = q.filter(
                findings::under_review.eq(true).and(
                    findings::id.eq_any(
                        finding_reviewers::table
                            .filter(finding_reviewers::user_id.eq(u))
                            .select(finding_reviewers::finding_id),
                    ),
                ),
            );
        }
        for c in &self.custom {
            let key = c.field_id.to_string();
            q = match &c.test {
                // Both containments can use the index of findings with
                // values; the second finds a choice among multiple choices.
                CustomTest::Equals(v) => q.filter(
                    diesel::dsl::sql::<Bool>(
                        "(findings.custom_fields <> '{}' AND (findings.custom_fields @> jsonb_build_object(",
                    )
                    .bind::<Text, _>(key.clone())
                    .sql(", ")
                    .bind::<Jsonb, _>(v.clone())
                    .sql(") OR findings.custom_fields @> jsonb_build_object(")
                    .bind::<Text, _>(key)
                    .sql(", jsonb_build_array(")
                    .bind::<Jsonb, _>(v.clone())
                    .sql("))))"),
                ),
                CustomTest::Min(v) | CustomTest::Max(v) => {
                    let op = if matches!(c.test, CustomTest::Min(_)) { ">=" } else { "<=" };
                    q.filter(
                        diesel::dsl::sql::<Bool>("(jsonb_typeof(findings.custom_fields -> ")
                            .bind::<Text, _>(key.clone())
                            .sql(") = jsonb_typeof(")
                            .bind::<Jsonb, _>(v.clone())
                            .sql(") AND findings.custom_fields -> ")
                            .bind::<Text, _>(key)
                            .sql(&format!(" {op} "))
                            .bind::<Jsonb, _>(v.clone())
                            .sql(")"),
                    )
                }
                CustomTest::Contains(s) => q.filter(
                    diesel::dsl::sql::<Bool>("(jsonb_typeof(findings.custom_fields -> ")
                        .bind::<Text, _>(key.clone())
                        .sql(") = 'string' AND findings.custom_fields ->> ")
                        .bind::<Text, _>(key)
                        .sql(" ILIKE ")
                        .bind::<Text, _>(like_pattern(s))
                        .sql(")"),
                ),
                CustomTest::IsSet(set) => q.filter(
                    diesel::dsl::sql::<Bool>(if *set {
                        "(findings.custom_fields ? "
                    } else {
                        "NOT (findings.custom_fields ? "
                    })
                    .bind::<Text, _>(key)
                    .sql(")"),
                ),
            };
        }
        if let Some(s) = &self.search {
            let p = like_pattern(s);
            q = q.filter(
                findings::title
                    .ilike(p.clone())
                    .or(findings::description.ilike(p)),
            );
        }
        q
    }
}

impl Finding {
    /// One finding.
    pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<Finding>> {
        findings::table
            .find(id)
            .select(Finding::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// One finding, locked until the transaction ends (read-modify-write).
    pub async fn find_for_update(
        conn: &mut AsyncPgConnection,
        id: i64,
    ) -> QueryResult<Option<Finding>> {
        findings::table
            .find(id)
            .select(Finding::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()
    }

    /// Findings with these ids.
    pub async fn by_ids(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<Finding>> {
        findings::table
            .filter(findings::id.eq_any(ids))
            .select(Finding::as_select())
            .load(conn)
            .await
    }

    /// Inserts one finding.
    pub async fn create(conn: &mut AsyncPgConnection, new: &NewFinding) -> QueryResult<Finding> {
        diesel::insert_into(findings::table)
            .values(new)
            .returning(Finding::as_select())
            .get_result(conn)
            .await
    }

    /// Applies changes.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        id: i64,
        changes: &FindingChanges,
    ) -> QueryResult<Option<Finding>> {
        diesel::update(findings::table.find(id))
            .set((changes, findings::updated_at.eq(diesel::dsl::now)))
            .returning(Finding::as_select())
            .get_result(conn)
            .await
            .optional()
    }

    /// Deletes a finding; duplicates pointing at it are re-pointed by the caller.
    pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<bool> {
        Ok(diesel::delete(findings::table.find(id))
            .execute(conn)
            .await?
            > 0)
    }

    /// How many findings match.
    pub async fn count(conn: &mut AsyncPgConnection, filter: &FindingFilter) -> QueryResult<i64> {
        filter.query().count().get_result(conn).await
    }

    /// A keyset page of matching findings in `sort` order.
    pub async fn page(
        conn: &mut AsyncPgConnection,
        filter: &FindingFilter,
        sort: FindingSort,
        page: &PageQuery,
    ) -> QueryResult<Vec<Finding>> {
        let mut q = filter.query();
        let desc = page.direction == Direction::Desc;
        let cmp = if desc { "<" } else { ">" };
        if let Some((key, after)) = &page.after {
            q = match (sort, key) {
                (FindingSort::Id, _) => {
                    if desc { q.filter(findings::id.lt(*after)) } else { q.filter(findings::id.gt(*after)) }
                }
                (FindingSort::Severity, SortKey::Text(v)) => q.filter(
                    diesel::dsl::sql::<Bool>(&format!("(findings.numerical_severity, findings.id) {cmp} ("))
                        .bind::<Text, _>(v.clone())
                        .sql(", ")
                        .bind::<BigInt, _>(*after)
                        .sql(")"),
                ),
                (FindingSort::Title, SortKey::Text(v)) => q.filter(
                    diesel::dsl::sql::<Bool>(&format!("(findings.title, findings.id) {cmp} ("))
                        .bind::<Text, _>(v.clone())
                        .sql(", ")
                        .bind::<BigInt, _>(*after)
                        .sql(")"),
                ),
                (FindingSort::Date, SortKey::Date(v)) => q.filter(
                    diesel::dsl::sql::<Bool>(&format!("(findings.date, findings.id) {cmp} ("))
                        .bind::<Nullable<Date>, _>(*v)
                        .sql(", ")
                        .bind::<BigInt, _>(*after)
                        .sql(")"),
                ),
                (FindingSort::SlaExpiration, SortKey::Date(v)) => q.filter(
                    diesel::dsl::sql::<Bool>(&format!(
                        "(COALESCE(findings.sla_expiration_date, DATE '9999-12-31'), findings.id) {cmp} ("
                    ))
                    .bind::<Date, _>(v.unwrap_or(NO_SLA))
                    .sql(", ")
                    .bind::<BigInt, _>(*after)
                    .sql(")"),
                ),
                (FindingSort::Custom(field), SortKey::Json(v)) => q.filter(
                    diesel::dsl::sql::<Bool>(&format!(
                        "(COALESCE(findings.custom_fields -> '{field}', '{{}}'::jsonb), findings.id) {cmp} ("
                    ))
                    .bind::<Text, _>(v.clone())
                    .sql("::jsonb, ")
                    .bind::<BigInt, _>(*after)
                    .sql(")"),
                ),
                // A cursor from another sort order: fall back to the id alone.
                (_, _) => {
                    if desc { q.filter(findings::id.lt(*after)) } else { q.filter(findings::id.gt(*after)) }
                }
            };
        }
        q = match (sort, desc) {
            (FindingSort::Id, false) => q.order(findings::id.asc()),
            (FindingSort::Id, true) => q.order(findings::id.desc()),
            (FindingSort::Severity, false) => {
                q.order((findings::numerical_severity.asc(), findings::id.asc()))
            }
            (FindingSort::Severity, true) => {
                q.order((findings::numerical_severity.desc(), findings::id.desc()))
            }
            (FindingSort::Title, false) => q.order((findings::title.asc(), findings::id.asc())),
            (FindingSort::Title, true) => q.order((findings::title.desc(), findings::id.desc())),
            (FindingSort::Date, false) => q.order((findings::date.asc(), findings::id.asc())),
            (FindingSort::Date, true) => q.order((findings::date.desc(), findings::id.desc())),
            (FindingSort::SlaExpiration, false) => q.order((
                diesel::dsl::sql::<Date>(
                    "COALESCE(findings.sla_expiration_date, DATE '9999-12-31')",
                )
                .asc(),
                findings::id.asc(),
            )),
            (FindingSort::SlaExpiration, true) => q.order((
                diesel::dsl::sql::<Date>(
                    "COALESCE(findings.sla_expiration_date, DATE '9999-12-31')",
                )
                .desc(),
                findings::id.desc(),
            )),
            // An object sorts after every value a field holds: missing values last.
            (FindingSort::Custom(field), false) => q.order((
                diesel::dsl::sql::<Jsonb>(&format!(
                    "COALESCE(findings.custom_fields -> '{field}', '{{}}'::jsonb)"
                ))
                .asc(),
                findings::id.asc(),
            )),
            (FindingSort::Custom(field), true) => q.order((
                diesel::dsl::sql::<Jsonb>(&format!(
                    "COALESCE(findings.custom_fields -> '{field}', '{{}}'::jsonb)"
                ))
                .desc(),
                findings::id.desc(),
            )),
        };
        q.limit(page.limit + 1)
            .select(Finding::as_select())
            .load(conn)
            .await
    }

    /// The keyset position of this row under `sort`.
    pub fn sort_key(&self, sort: FindingSort) -> SortKey {
        match sort {
            FindingSort::Id => SortKey::None,
            FindingSort::Severity => SortKey::Text(self.numerical_severity.clone()),
            FindingSort::Title => SortKey::Text(self.title.clone()),
            FindingSort::Date => SortKey::Date(Some(self.date)),
            FindingSort::SlaExpiration => SortKey::Date(self.sla_expiration_date),
            FindingSort::Custom(field) => SortKey::Json(
                self.custom_fields
                    .get(field.to_string())
                    .map_or_else(|| "{}".to_owned(), serde_json::Value::to_string),
            ),
        }
    }

    /// Counts findings per test, for `Test.findingCount`.
    pub async fn count_by_test(
        conn: &mut AsyncPgConnection,
        test_ids: &[i64],
    ) -> QueryResult<Vec<(i64, i64)>> {
        findings::table
            .filter(findings::test_id.eq_any(test_ids.to_vec()))
            .group_by(findings::test_id)
            .select((findings::test_id, diesel::dsl::count_star()))
            .load(conn)
            .await
    }

    /// The id and product of every finding matching `filter`, in id order,
    /// at most `limit` of them (a bulk action's selection).
    pub async fn targets(
        conn: &mut AsyncPgConnection,
        filter: &FindingFilter,
        limit: i64,
    ) -> QueryResult<Vec<(i64, i64)>> {
        filter
            .query()
            .order(findings::id.asc())
            .limit(limit)
            .select((findings::id, findings::product_id))
            .load(conn)
            .await
    }

    /// The findings with these ids, locked until the transaction ends; in id
    /// order, so two bulk actions over overlapping sets cannot deadlock.
    pub async fn lock_many(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<Finding>> {
        findings::table
            .filter(findings::id.eq_any(ids))
            .order(findings::id.asc())
            .select(Finding::as_select())
            .for_update()
            .load(conn)
            .await
    }

    /// Writes the status columns of many findings in one statement.
    pub async fn set_status_many(
        conn: &mut AsyncPgConnection,
        rows: &StatusRows,
    ) -> QueryResult<usize> {
        use diesel::sql_types::{Array, Timestamptz};
        if rows.id.is_empty() {
            return Ok(0);
        }
        diesel::sql_query(
            "UPDATE findings f SET active = v.active, verified = v.verified, false_p = v.false_p, \
             out_of_scope = v.out_of_scope, risk_accepted = v.risk_accepted, \
             is_mitigated = v.is_mitigated, mitigated = v.mitigated, \
             mitigated_by_id = v.mitigated_by_id, last_status_update = v.last_status_update, \
             sla_start_date = v.sla_start_date, sla_expiration_date = v.sla_expiration_date, \
             duplicate = v.duplicate, duplicate_finding_id = v.duplicate_finding_id, \
             updated_at = now() \
             FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
               AS v(id, active, verified, false_p, out_of_scope, risk_accepted, is_mitigated, \
                    mitigated, mitigated_by_id, last_status_update, sla_start_date, \
                    sla_expiration_date, duplicate, duplicate_finding_id) \
             WHERE f.id = v.id",
        )
        .bind::<Array<BigInt>, _>(&rows.id)
        .bind::<Array<Bool>, _>(&rows.active)
        .bind::<Array<Bool>, _>(&rows.verified)
        .bind::<Array<Bool>, _>(&rows.false_p)
        .bind::<Array<Bool>, _>(&rows.out_of_scope)
        .bind::<Array<Bool>, _>(&rows.risk_accepted)
        .bind::<Array<Bool>, _>(&rows.is_mitigated)
        .bind::<Array<Nullable<Timestamptz>>, _>(&rows.mitigated)
        .bind::<Array<Nullable<BigInt>>, _>(&rows.mitigated_by_id)
        .bind::<Array<Timestamptz>, _>(&rows.last_status_update)
        .bind::<Array<Nullable<Date>>, _>(&rows.sla_start_date)
        .bind::<Array<Nullable<Date>>, _>(&rows.sla_expiration_date)
        .bind::<Array<Bool>, _>(&rows.duplicate)
        .bind::<Array<Nullable<BigInt>>, _>(&rows.duplicate_finding_id)
        .execute(conn)
        .await
    }

    /// Writes the bulk-editable columns of many findings in one statement.
    pub async fn set_edits_many(
        conn: &mut AsyncPgConnection,
        rows: &EditRows,
    ) -> QueryResult<usize> {
        use diesel::sql_types::Array;
        if rows.id.is_empty() {
            return Ok(0);
        }
        // Tags travel as JSON texts: `unnest` would flatten a text[][].
        diesel::sql_query(
            "UPDATE findings f SET severity = v.severity, numerical_severity = v.numerical, \
             sla_expiration_date = v.sla, planned_remediation_date = v.planned, \
             tags = ARRAY(SELECT t.value FROM jsonb_array_elements_text(v.tags::jsonb) \
                          WITH ORDINALITY AS t(value, n) ORDER BY t.n), \
             updated_at = now() \
             FROM unnest($1, $2, $3, $4, $5, $6) AS v(id, severity, numerical, sla, planned, tags) \
             WHERE f.id = v.id",
        )
        .bind::<Array<BigInt>, _>(&rows.id)
        .bind::<Array<Text>, _>(&rows.severity)
        .bind::<Array<Text>, _>(&rows.numerical_severity)
        .bind::<Array<Nullable<Date>>, _>(&rows.sla_expiration_date)
        .bind::<Array<Nullable<Date>>, _>(&rows.planned_remediation_date)
        .bind::<Array<Text>, _>(&rows.tags_json)
        .execute(conn)
        .await
    }

    /// Deletes many findings. Duplicates of a deleted original that survive
    /// go to the oldest of them, which becomes the new original, as
    /// [`crate::domain::finding::delete`] does for one.
    pub async fn delete_many(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<usize> {
        use diesel::sql_types::Array;
        diesel::sql_query(
            "WITH gone AS (SELECT unnest($1) AS id), \
             heirs AS (SELECT f.duplicate_finding_id AS original, min(f.id) AS heir FROM findings f \
                       WHERE f.duplicate_finding_id IN (SELECT id FROM gone) \
                         AND f.id NOT IN (SELECT id FROM gone) \
                       GROUP BY f.duplicate_finding_id) \
             UPDATE findings f SET duplicate = (f.id <> h.heir), \
                    duplicate_finding_id = NULLIF(h.heir, f.id), updated_at = now() \
             FROM heirs h \
             WHERE f.duplicate_finding_id = h.original AND f.id NOT IN (SELECT id FROM gone)",
        )
        .bind::<Array<BigInt>, _>(ids)
        .execute(conn)
        .await?;
        diesel::delete(findings::table.filter(findings::id.eq_any(ids)))
            .execute(conn)
            .await
    }

    /// The ids of the duplicates of these originals, in id order.
    pub async fn duplicate_ids_of(
        conn: &mut AsyncPgConnection,
        originals: &[i64],
    ) -> QueryResult<Vec<i64>> {
        findings::table
            .filter(findings::duplicate_finding_id.eq_any(originals))
            .order(findings::id.asc())
            .select(findings::id)
            .load(conn)
            .await
    }

    /// Re-points duplicates of `from` to `to` (chains stay flat).
    pub async fn repoint_duplicates(
        conn: &mut AsyncPgConnection,
        from: i64,
        to: Option<i64>,
    ) -> QueryResult<usize> {
        match to {
            Some(to) => {
                diesel::update(findings::table.filter(findings::duplicate_finding_id.eq(from)))
                    .set(findings::duplicate_finding_id.eq(to))
                    .execute(conn)
                    .await
            }
            None => {
                diesel::update(findings::table.filter(findings::duplicate_finding_id.eq(from)))
                    .set((
                        findings::duplicate_finding_id.eq(None::<i64>),
                        findings::duplicate.eq(false),
                    ))
                    .execute(conn)
                    .await
            }
        }
    }
}

/// The status columns of many findings, column by column (one array per
/// column is what `unnest` takes).
#[derive(Debug, Clone, Default)]
pub struct StatusRows {
    pub id: Vec<i64>,
    pub active: Vec<bool>,
    pub verified: Vec<bool>,
    pub false_p: Vec<bool>,
    pub out_of_scope: Vec<bool>,
    pub risk_accepted: Vec<bool>,
    pub is_mitigated: Vec<bool>,
    pub mitigated: Vec<Option<DateTime<Utc>>>,
    pub mitigated_by_id: Vec<Option<i64>>,
    pub last_status_update: Vec<DateTime<Utc>>,
    pub sla_start_date: Vec<Option<NaiveDate>>,
    pub sla_expiration_date: Vec<Option<NaiveDate>>,
    pub duplicate: Vec<bool>,
    pub duplicate_finding_id: Vec<Option<i64>>,
}

impl StatusRows {
    /// Adds the status columns of `f`.
    pub fn push(&mut self, f: &Finding) {
        self.id.push(f.id);
        self.active.push(f.active);
        self.verified.push(f.verified);
        self.false_p.push(f.false_p);
        self.out_of_scope.push(f.out_of_scope);
        self.risk_accepted.push(f.risk_accepted);
        self.is_mitigated.push(f.is_mitigated);
        self.mitigated.push(f.mitigated);
        self.mitigated_by_id.push(f.mitigated_by_id);
        self.last_status_update.push(f.last_status_update);
        self.sla_start_date.push(f.sla_start_date);
        self.sla_expiration_date.push(f.sla_expiration_date);
        self.duplicate.push(f.duplicate);
        self.duplicate_finding_id.push(f.duplicate_finding_id);
    }
}

/// The bulk-editable columns of many findings, column by column.
#[derive(Debug, Clone, Default)]
pub struct EditRows {
    pub id: Vec<i64>,
    pub severity: Vec<String>,
    pub numerical_severity: Vec<String>,
    pub sla_expiration_date: Vec<Option<NaiveDate>>,
    pub planned_remediation_date: Vec<Option<NaiveDate>>,
    /// Each finding's tags as a JSON array text.
    pub tags_json: Vec<String>,
}

impl EditRows {
    /// Adds the editable columns of `f`.
    pub fn push(&mut self, f: &Finding) {
        self.id.push(f.id);
        self.severity.push(f.severity.as_str().to_owned());
        self.numerical_severity.push(f.numerical_severity.clone());
        self.sla_expiration_date.push(f.sla_expiration_date);
        self.planned_remediation_date
            .push(f.planned_remediation_date);
        self.tags_json
            .push(serde_json::Value::from(f.tags.clone()).to_string());
    }
}

/// A vulnerability id of a finding.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = finding_vulnerability_ids, check_for_backend(Pg))]
pub struct VulnerabilityId {
    pub finding_id: i64,
    pub position: i16,
    pub vulnerability_id: String,
}

impl VulnerabilityId {
    /// The ids of many findings, in their order.
    pub async fn for_findings(
        conn: &mut AsyncPgConnection,
        finding_ids: &[i64],
    ) -> QueryResult<Vec<VulnerabilityId>> {
        finding_vulnerability_ids::table
            .filter(finding_vulnerability_ids::finding_id.eq_any(finding_ids.to_vec()))
            .order((
                finding_vulnerability_ids::finding_id,
                finding_vulnerability_ids::position,
            ))
            .select(VulnerabilityId::as_select())
            .load(conn)
            .await
    }

    /// Replaces a finding's ids.
    pub async fn replace(
        conn: &mut AsyncPgConnection,
        finding_id: i64,
        ids: &[String],
    ) -> QueryResult<()> {
        diesel::delete(
            finding_vulnerability_ids::table
                .filter(finding_vulnerability_ids::finding_id.eq(finding_id)),
        )
        .execute(conn)
        .await?;
        if ids.is_empty() {
            return Ok(());
        }
        let rows: Vec<_> = ids
            .iter()
            .enumerate()
            .map(|(i, v)| {
                (
                    finding_vulnerability_ids::finding_id.eq(finding_id),
                    finding_vulnerability_ids::position.eq(i16::try_from(i).unwrap_or(i16::MAX)),
                    finding_vulnerability_ids::vulnerability_id.eq(v.as_str()),
                )
            })
            .collect();
        diesel::insert_into(finding_vulnerability_ids::table)
            .values(rows)
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        Ok(())
    }
}

/// The oldest duplicate of `original`, if any.
pub async fn first_duplicate_of(
    conn: &mut AsyncPgConnection,
    original: i64,
) -> QueryResult<Option<i64>> {
    findings::table
        .filter(findings::duplicate_finding_id.eq(original))
        .order(findings::id.asc())
        .select(findings::id)
        .first(conn)
        .await
        .optional()
}
