//! Notes the import leaves on findings it closes, reactivates or skips.

use diesel::sql_types::{Array, BigInt, Nullable, Text};
use diesel::{QueryResult, sql_query};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::IdRow;

/// Adds one note per (finding, entry).
pub async fn insert_notes(
    conn: &mut AsyncPgConnection,
    product_id: i64,
    actor: Option<i64>,
    finding_ids: &[i64],
    entry: &str,
) -> QueryResult<()> {
    if finding_ids.is_empty() {
        return Ok(());
    }
    sql_query(
        "INSERT INTO notes (entry, author_id, finding_id, product_id) \
         SELECT $1, $2, unnest($3), $4",
    )
    .bind::<Text, _>(entry)
    .bind::<Nullable<BigInt>, _>(actor)
    .bind::<Array<BigInt>, _>(finding_ids)
    .bind::<BigInt, _>(product_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Findings among `ids` that already carry a note with this text.
pub async fn with_note(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    entry: &str,
) -> QueryResult<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<IdRow> = sql_query(
        "SELECT DISTINCT finding_id AS id FROM notes WHERE finding_id = ANY($1) AND entry = $2",
    )
    .bind::<Array<BigInt>, _>(ids)
    .bind::<Text, _>(entry)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}
