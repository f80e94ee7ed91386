//! Finding groups over the findings an import created.

use diesel::pg::Pg;
use diesel::sql_types::{Array, BigInt, Nullable, Text};
use diesel::{QueryResult, sql_query};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// Creates (or extends) finding groups: (group name, finding id) pairs. Two statements.
pub async fn group_findings(
    conn: &mut AsyncPgConnection,
    test_id: i64,
    product_id: i64,
    actor: Option<i64>,
    names: &[String],
    finding_ids: &[i64],
) -> QueryResult<()> {
    if names.is_empty() {
        return Ok(());
    }
    let mut distinct: Vec<&str> = names.iter().map(String::as_str).collect();
    distinct.sort_unstable();
    distinct.dedup();
    sql_query(
        "INSERT INTO finding_groups (test_id, product_id, name, creator_id) \
         SELECT $1, $2, unnest($3), $4 ON CONFLICT (test_id, name) DO NOTHING",
    )
    .into_boxed::<Pg>()
    .bind::<BigInt, _>(test_id)
    .bind::<BigInt, _>(product_id)
    .bind::<Array<Text>, _>(distinct)
    .bind::<Nullable<BigInt>, _>(actor)
    .execute(conn)
    .await?;
    sql_query(
        "INSERT INTO finding_group_findings (finding_group_id, finding_id) \
         SELECT g.id, x.f FROM unnest($2, $3) AS x(n, f) \
         JOIN finding_groups g ON g.test_id = $1 AND g.name = x.n ON CONFLICT DO NOTHING",
    )
    .into_boxed::<Pg>()
    .bind::<BigInt, _>(test_id)
    .bind::<Array<Text>, _>(names)
    .bind::<Array<BigInt>, _>(finding_ids)
    .execute(conn)
    .await?;
    Ok(())
}
