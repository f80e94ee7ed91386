//! Rows and the queries over them, one module per area. Each query is an
//! associated async fn taking a connection; the domain composes them.

pub mod audit;
pub mod custom_field;
pub mod file;
pub mod finding;
pub mod finding_group;
pub mod hierarchy;
pub mod location;
pub mod membership;
pub mod note;
pub mod plugin;
pub mod review;
pub mod risk;
pub mod template;
pub mod test_import;
pub mod user;

/// An ILIKE pattern matching `s` anywhere, with `\`, `%` and `_` escaped.
pub(crate) fn like_pattern(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Keyset position: the sort key of the last row seen and its id.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    /// No secondary key: order by id alone.
    None,
    /// A text key (title, numerical severity).
    Text(String),
    /// A date key; `None` sorts after every date.
    Date(Option<chrono::NaiveDate>),
    /// A JSON key (a custom field value; `{}` when the row has none).
    Json(String),
}

/// Which way a page walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
}

/// A page request in keyset form, already validated by the caller.
#[derive(Debug, Clone)]
pub struct PageQuery {
    /// Rows after this position (in walking order).
    pub after: Option<(SortKey, i64)>,
    /// Rows to return; the query asks for one more to know if a next page exists.
    pub limit: i64,
    /// Walking order (flipped by the caller for `last`/`before`).
    pub direction: Direction,
}

/// The newest migration applied to the database, if the table exists.
pub async fn applied_migration_version(
    conn: &mut diesel_async::AsyncPgConnection,
) -> diesel::QueryResult<Option<String>> {
    use diesel::sql_types::{Nullable, Text};
    use diesel_async::RunQueryDsl;

    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = Nullable<Text>)]
        version: Option<String>,
    }
    let rows: Vec<Row> =
        diesel::sql_query("SELECT max(version)::text AS version FROM __diesel_schema_migrations")
            .load(conn)
            .await?;
    Ok(rows.into_iter().next().and_then(|r| r.version))
}
