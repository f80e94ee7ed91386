//! The rows around the findings: the environment, the test type, the test
//! itself (created on import, its meta updated on reimport) and the
//! engagement's end date.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz};
use diesel::{QueryResult, QueryableByName, sql_query};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::IdRow;

/// The id of the development environment named `name`, if there is one.
pub async fn environment_id(conn: &mut AsyncPgConnection, name: &str) -> QueryResult<Option<i64>> {
    let rows: Vec<IdRow> = sql_query("SELECT id FROM development_environments WHERE name = $1")
        .bind::<Text, _>(name)
        .load(conn)
        .await?;
    Ok(rows.into_iter().next().map(|r| r.id))
}

/// Creates the development environment `name`; its id.
pub async fn create_environment(
    conn: &mut AsyncPgConnection,
    name: &str,
) -> QueryResult<Option<i64>> {
    let rows: Vec<IdRow> =
        sql_query("INSERT INTO development_environments (name) VALUES ($1) RETURNING id")
            .bind::<Text, _>(name)
            .load(conn)
            .await?;
    Ok(rows.into_iter().next().map(|r| r.id))
}

#[derive(QueryableByName)]
struct TestTypeRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    name: String,
}

/// The test type (id, name) of an existing test.
pub async fn test_type_of(
    conn: &mut AsyncPgConnection,
    test_id: i64,
) -> QueryResult<(i64, String)> {
    let row: TestTypeRow = sql_query(
        "SELECT tt.id, tt.name FROM tests t JOIN test_types tt ON tt.id = t.test_type_id \
         WHERE t.id = $1",
    )
    .bind::<BigInt, _>(test_id)
    .get_result(conn)
    .await?;
    Ok((row.id, row.name))
}

/// A test an import creates.
#[derive(Debug, Clone, Copy)]
pub struct NewTest<'a> {
    pub engagement_id: i64,
    pub product_id: i64,
    pub test_type_id: i64,
    pub scan_type: &'a str,
    pub title: Option<&'a str>,
    /// Both its start and its end.
    pub scan_time: DateTime<Utc>,
    pub lead_id: Option<i64>,
    pub environment_id: Option<i64>,
    pub meta: TestMeta<'a>,
    pub tags: &'a [String],
}

/// The CI fields of a test (version, build, commit, branch or tag).
#[derive(Debug, Clone, Copy)]
pub struct TestMeta<'a> {
    pub version: Option<&'a str>,
    pub build_id: Option<&'a str>,
    pub commit_hash: Option<&'a str>,
    pub branch_tag: Option<&'a str>,
}

/// Creates the test; its id.
pub async fn insert_test(conn: &mut AsyncPgConnection, t: &NewTest<'_>) -> QueryResult<i64> {
    let row: IdRow = sql_query(
        "INSERT INTO tests (engagement_id, product_id, test_type_id, scan_type, title, \
         target_start, target_end, percent_complete, lead_id, environment_id, version, \
         build_id, commit_hash, branch_tag, tags) \
         VALUES ($1, $2, $3, $4, $5, $6, $6, 100, $7, $8, $9, $10, $11, $12, $13) \
         RETURNING id",
    )
    .bind::<BigInt, _>(t.engagement_id)
    .bind::<BigInt, _>(t.product_id)
    .bind::<BigInt, _>(t.test_type_id)
    .bind::<Text, _>(t.scan_type)
    .bind::<Nullable<Text>, _>(t.title)
    .bind::<Timestamptz, _>(t.scan_time)
    .bind::<Nullable<BigInt>, _>(t.lead_id)
    .bind::<Nullable<BigInt>, _>(t.environment_id)
    .bind::<Nullable<Text>, _>(t.meta.version)
    .bind::<Nullable<Text>, _>(t.meta.build_id)
    .bind::<Nullable<Text>, _>(t.meta.commit_hash)
    .bind::<Nullable<Text>, _>(t.meta.branch_tag)
    .bind::<Array<Text>, _>(t.tags)
    .get_result(conn)
    .await?;
    Ok(row.id)
}

/// Reimport's update of the test (§5.4 step 8): the end moves forward, the CI
/// fields given replace the stored ones, and `tags` (when `Some`) replaces
/// the test's tags.
pub async fn update_test_meta(
    conn: &mut AsyncPgConnection,
    test_id: i64,
    scan_time: DateTime<Utc>,
    meta: TestMeta<'_>,
    tags: Option<&[String]>,
) -> QueryResult<()> {
    sql_query(
        "UPDATE tests SET target_end = GREATEST(target_end, $2), \
         version = COALESCE(NULLIF($3, ''), version), \
         build_id = COALESCE(NULLIF($4, ''), build_id), \
         commit_hash = COALESCE(NULLIF($5, ''), commit_hash), \
         branch_tag = COALESCE(NULLIF($6, ''), branch_tag), \
         tags = CASE WHEN $7 THEN $8 ELSE tags END, percent_complete = 100 WHERE id = $1",
    )
    .bind::<BigInt, _>(test_id)
    .bind::<Timestamptz, _>(scan_time)
    .bind::<Nullable<Text>, _>(meta.version)
    .bind::<Nullable<Text>, _>(meta.build_id)
    .bind::<Nullable<Text>, _>(meta.commit_hash)
    .bind::<Nullable<Text>, _>(meta.branch_tag)
    .bind::<Bool, _>(tags.is_some())
    .bind::<Array<Text>, _>(tags.unwrap_or_default())
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves a CI/CD engagement's end to the scan date when that is later.
pub async fn extend_engagement(
    conn: &mut AsyncPgConnection,
    engagement_id: i64,
    scan_time: DateTime<Utc>,
) -> QueryResult<()> {
    sql_query("UPDATE engagements SET target_end = GREATEST(target_end, $2::date) WHERE id = $1")
        .bind::<BigInt, _>(engagement_id)
        .bind::<Timestamptz, _>(scan_time)
        .execute(conn)
        .await?;
    Ok(())
}
