//! Finding templates (`finding_templates`).
//!
//! Read and written with SQL of their own: the table is newer than the
//! generated schema's last regeneration.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// A finding template.
#[derive(Debug, Clone, QueryableByName)]
pub struct FindingTemplate {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Nullable<Integer>)]
    pub cwe: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    pub severity: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub description: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub mitigation: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub impact: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub references: Option<String>,
    #[diesel(sql_type = Array<Text>)]
    pub vulnerability_ids: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    pub tags: Vec<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub creator_id: Option<i64>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_used: Option<DateTime<Utc>>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
}

/// The columns a template is written with.
#[derive(Debug, Clone, Default)]
pub struct TemplateFields {
    pub title: String,
    pub cwe: Option<i32>,
    pub severity: Option<String>,
    pub description: Option<String>,
    pub mitigation: Option<String>,
    pub impact: Option<String>,
    pub references: Option<String>,
    pub vulnerability_ids: Vec<String>,
    pub tags: Vec<String>,
}

const COLUMNS: &str = "id, title, cwe, severity, description, mitigation, impact, \"references\", \
     vulnerability_ids, tags, creator_id, last_used, created_at, updated_at";

impl FindingTemplate {
    /// Templates whose title contains `search` (all without it), by title.
    pub async fn list(
        conn: &mut AsyncPgConnection,
        search: Option<&str>,
        limit: i64,
    ) -> QueryResult<Vec<FindingTemplate>> {
        let pattern = search.map(|s| {
            let escaped = s
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        diesel::sql_query(format!(
            "SELECT {COLUMNS} FROM finding_templates \
             WHERE $1::text IS NULL OR title ILIKE $1 ORDER BY title, id LIMIT $2"
        ))
        .bind::<Nullable<Text>, _>(pattern)
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await
    }

    /// One template.
    pub async fn find(
        conn: &mut AsyncPgConnection,
        id: i64,
    ) -> QueryResult<Option<FindingTemplate>> {
        let rows: Vec<FindingTemplate> = diesel::sql_query(format!(
            "SELECT {COLUMNS} FROM finding_templates WHERE id = $1"
        ))
        .bind::<BigInt, _>(id)
        .load(conn)
        .await?;
        Ok(rows.into_iter().next())
    }

    /// Inserts a template.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        f: &TemplateFields,
        creator: Option<i64>,
    ) -> QueryResult<FindingTemplate> {
        diesel::sql_query(format!(
            "INSERT INTO finding_templates (title, cwe, severity, description, mitigation, impact, \
             \"references\", vulnerability_ids, tags, creator_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {COLUMNS}"
        ))
        .bind::<Text, _>(&f.title)
        .bind::<Nullable<Integer>, _>(f.cwe)
        .bind::<Nullable<Text>, _>(f.severity.as_deref())
        .bind::<Nullable<Text>, _>(f.description.as_deref())
        .bind::<Nullable<Text>, _>(f.mitigation.as_deref())
        .bind::<Nullable<Text>, _>(f.impact.as_deref())
        .bind::<Nullable<Text>, _>(f.references.as_deref())
        .bind::<Array<Text>, _>(&f.vulnerability_ids)
        .bind::<Array<Text>, _>(&f.tags)
        .bind::<Nullable<BigInt>, _>(creator)
        .get_result(conn)
        .await
    }

    /// Replaces a template's fields.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        id: i64,
        f: &TemplateFields,
    ) -> QueryResult<Option<FindingTemplate>> {
        let rows: Vec<FindingTemplate> = diesel::sql_query(format!(
            "UPDATE finding_templates SET title = $2, cwe = $3, severity = $4, description = $5, \
             mitigation = $6, impact = $7, \"references\" = $8, vulnerability_ids = $9, tags = $10 \
             WHERE id = $1 RETURNING {COLUMNS}"
        ))
        .bind::<BigInt, _>(id)
        .bind::<Text, _>(&f.title)
        .bind::<Nullable<Integer>, _>(f.cwe)
        .bind::<Nullable<Text>, _>(f.severity.as_deref())
        .bind::<Nullable<Text>, _>(f.description.as_deref())
        .bind::<Nullable<Text>, _>(f.mitigation.as_deref())
        .bind::<Nullable<Text>, _>(f.impact.as_deref())
        .bind::<Nullable<Text>, _>(f.references.as_deref())
        .bind::<Array<Text>, _>(&f.vulnerability_ids)
        .bind::<Array<Text>, _>(&f.tags)
        .load(conn)
        .await?;
        Ok(rows.into_iter().next())
    }

    /// Deletes a template; whether it existed.
    pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<bool> {
        let n = diesel::sql_query("DELETE FROM finding_templates WHERE id = $1")
            .bind::<BigInt, _>(id)
            .execute(conn)
            .await?;
        Ok(n > 0)
    }

    /// Records that the template was just applied.
    pub async fn mark_used(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<usize> {
        diesel::sql_query("UPDATE finding_templates SET last_used = now() WHERE id = $1")
            .bind::<BigInt, _>(id)
            .execute(conn)
            .await
    }
}
