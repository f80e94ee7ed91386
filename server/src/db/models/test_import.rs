//! Import history: the `test_imports` row of each import or reimport and the
//! sets of findings it created, closed, reactivated or left untouched
//! (`test_import_action_sets`, read through `test_import_finding_actions`).
//! The import engine writes them; the GraphQL `history` reads them.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz};
use diesel::{QueryResult, QueryableByName, sql_query};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// A `test_imports` row.
#[derive(Debug, Clone, QueryableByName)]
pub struct TestImport {
    /// Id.
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    /// Its test.
    #[diesel(sql_type = BigInt)]
    pub test_id: i64,
    /// `import` or `reimport`.
    #[diesel(sql_type = Text)]
    pub import_type: String,
    /// Parameters, as JSON text.
    #[diesel(sql_type = Text)]
    pub import_settings: String,
    /// Version.
    #[diesel(sql_type = Nullable<Text>)]
    pub version: Option<String>,
    /// Build id.
    #[diesel(sql_type = Nullable<Text>)]
    pub build_id: Option<String>,
    /// Commit.
    #[diesel(sql_type = Nullable<Text>)]
    pub commit_hash: Option<String>,
    /// Branch or tag.
    #[diesel(sql_type = Nullable<Text>)]
    pub branch_tag: Option<String>,
    /// When.
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, test_id, import_type, import_settings::text AS import_settings, \
    version, build_id, commit_hash, branch_tag, created_at";

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

#[derive(QueryableByName)]
struct ActionRow {
    #[diesel(sql_type = BigInt)]
    finding_id: i64,
    #[diesel(sql_type = Text)]
    action: String,
}

impl TestImport {
    /// One row.
    pub async fn by_id(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<TestImport>> {
        Ok(
            sql_query(format!("SELECT {COLUMNS} FROM test_imports WHERE id = $1"))
                .bind::<BigInt, _>(id)
                .load(conn)
                .await?
                .into_iter()
                .next(),
        )
    }

    /// A test's rows, newest first.
    pub async fn for_test(
        conn: &mut AsyncPgConnection,
        test_id: i64,
    ) -> QueryResult<Vec<TestImport>> {
        sql_query(format!(
            "SELECT {COLUMNS} FROM test_imports WHERE test_id = $1 ORDER BY id DESC"
        ))
        .bind::<BigInt, _>(test_id)
        .load(conn)
        .await
    }

    /// (finding id, action code) of an import, by finding id.
    pub async fn actions(
        conn: &mut AsyncPgConnection,
        test_import_id: i64,
        action: Option<&str>,
        limit: i64,
    ) -> QueryResult<Vec<(i64, String)>> {
        let rows: Vec<ActionRow> = sql_query(
            "SELECT finding_id, action::text AS action FROM test_import_finding_actions \
             WHERE test_import_id = $1 AND ($2::text IS NULL OR action = $2) \
             ORDER BY finding_id LIMIT $3",
        )
        .bind::<BigInt, _>(test_import_id)
        .bind::<Nullable<Text>, _>(action)
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await?;
        Ok(rows.into_iter().map(|r| (r.finding_id, r.action)).collect())
    }

    /// Creates the `test_imports` row; its id.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        test_id: i64,
        kind: &str,
        settings: &serde_json::Value,
        meta: [Option<&str>; 4],
    ) -> QueryResult<i64> {
        let rows: Vec<IdRow> = sql_query(
            "INSERT INTO test_imports (test_id, import_type, import_settings, version, build_id, \
             commit_hash, branch_tag) VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7) RETURNING id",
        )
        .bind::<BigInt, _>(test_id)
        .bind::<Text, _>(kind)
        .bind::<Text, _>(settings.to_string())
        .bind::<Nullable<Text>, _>(meta[0])
        .bind::<Nullable<Text>, _>(meta[1])
        .bind::<Nullable<Text>, _>(meta[2])
        .bind::<Nullable<Text>, _>(meta[3])
        .load(conn)
        .await?;
        rows.into_iter()
            .next()
            .map(|r| r.id)
            .ok_or(diesel::result::Error::NotFound)
    }

    /// Records the N/C/R/U actions of one import: one row per action with
    /// its finding ids.
    pub async fn insert_actions(
        conn: &mut AsyncPgConnection,
        test_import_id: i64,
        ids: &[i64],
        actions: &[&str],
    ) -> QueryResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        // One row per action with its finding ids; a finding keeps its first
        // action in an import.
        let mut sets: std::collections::BTreeMap<&str, Vec<i64>> = Default::default();
        let mut seen = std::collections::HashSet::with_capacity(ids.len());
        for (id, action) in ids.iter().zip(actions) {
            if seen.insert(*id) {
                sets.entry(action).or_default().push(*id);
            }
        }
        let (names, lists): (Vec<&str>, Vec<String>) = sets
            .into_iter()
            .map(|(a, mut v)| {
                v.sort_unstable();
                let list = v.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
                (a, format!("{{{list}}}"))
            })
            .unzip();
        sql_query(
            "INSERT INTO test_import_action_sets (test_import_id, action, finding_ids) \
             SELECT $1, x.a, x.ids::bigint[] FROM unnest($2, $3) AS x(a, ids)",
        )
        .into_boxed::<Pg>()
        .bind::<BigInt, _>(test_import_id)
        .bind::<Array<Text>, _>(names)
        .bind::<Array<Text>, _>(lists)
        .execute(conn)
        .await?;
        Ok(())
    }
}
