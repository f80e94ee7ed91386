//! Dedupe candidates: the existing findings in scope sharing a key with a
//! batch of new ones.

use diesel::pg::Pg;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Text};
use diesel::{QueryResult, QueryableByName, sql_query};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::locations::locations_of;
use crate::import::dedupe::DedupeItem;

#[derive(QueryableByName)]
struct CandidateRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    test_type_id: i64,
    #[diesel(sql_type = BigInt)]
    engagement_id: i64,
    #[diesel(sql_type = Bool)]
    engagement_scoped: bool,
    #[diesel(sql_type = Nullable<Text>)]
    hash_code: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    unique_id_from_tool: Option<String>,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Integer)]
    cwe: i32,
    #[diesel(sql_type = Nullable<Integer>)]
    line: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    file_path: Option<String>,
    #[diesel(sql_type = Bool)]
    static_finding: bool,
    #[diesel(sql_type = Bool)]
    active: bool,
    #[diesel(sql_type = Bool)]
    mitigated: bool,
    #[diesel(sql_type = Bool)]
    false_p: bool,
    #[diesel(sql_type = Bool)]
    out_of_scope: bool,
    #[diesel(sql_type = Bool)]
    has_locations: bool,
}

/// Keys of one batch of new findings.
#[derive(Debug, Default)]
pub struct CandidateKeys {
    pub hashes: Vec<String>,
    pub uids: Vec<String>,
    pub titles: Vec<String>,
    pub cwes: Vec<i32>,
}

/// Non-duplicate findings in scope sharing a key with the batch, with their
/// locations when any has some. Two statements at most.
pub async fn candidates(
    conn: &mut AsyncPgConnection,
    engagement_scope: Option<i64>,
    product_id: i64,
    keys: CandidateKeys,
    with_locations: bool,
) -> QueryResult<Vec<DedupeItem>> {
    let mut sql = String::from(
        "SELECT f.id, t.test_type_id, f.engagement_id, \
         e.deduplication_on_engagement AS engagement_scoped, f.hash_code, \
         f.unique_id_from_tool, f.title, f.cwe, f.line, f.file_path, f.static_finding, \
         f.active, (f.is_mitigated OR f.mitigated IS NOT NULL) AS mitigated, f.false_p, \
         f.out_of_scope, EXISTS (SELECT 1 FROM location_finding_refs r WHERE r.finding_id = f.id) \
         AS has_locations \
         FROM findings f JOIN tests t ON t.id = f.test_id \
         JOIN engagements e ON e.id = f.engagement_id WHERE ",
    );
    // Always product-scoped, so the product's digest indexes serve both scopes.
    sql.push_str("f.product_id = $1 AND ($2::bigint IS NULL OR f.engagement_id = $2)");
    sql.push_str(" AND NOT f.duplicate AND (");
    let mut q = String::new();
    let mut n = 2;
    let mut binds_h = None;
    let mut binds_u = None;
    let mut binds_t = None;
    let mut binds_c = None;
    // The digest matches the expression index; the key itself weeds out collisions.
    let digest = |col: &str, n: usize| {
        format!(
            "(hashtextextended(f.{col}, 0) = ANY(ARRAY(SELECT hashtextextended(k, 0) \
             FROM unnest(${n}::text[]) AS k)) AND f.{col} = ANY(${n}))"
        )
    };
    if !keys.hashes.is_empty() {
        n += 1;
        q = digest("hash_code", n);
        binds_h = Some(keys.hashes);
    }
    let push = |q: &mut String, c: String| {
        if !q.is_empty() {
            q.push_str(" OR ");
        }
        q.push_str(&c);
    };
    if !keys.uids.is_empty() {
        n += 1;
        push(&mut q, digest("unique_id_from_tool", n));
        binds_u = Some(keys.uids);
    }
    if !keys.titles.is_empty() {
        n += 1;
        push(&mut q, format!("f.title = ANY(${n})"));
        binds_t = Some(keys.titles);
    }
    if !keys.cwes.is_empty() {
        n += 1;
        push(&mut q, format!("(f.cwe <> 0 AND f.cwe = ANY(${n}))"));
        binds_c = Some(keys.cwes);
    }
    if q.is_empty() {
        return Ok(Vec::new());
    }
    sql.push_str(&q);
    sql.push_str(") ORDER BY f.id");
    let mut query = sql_query(sql)
        .into_boxed::<Pg>()
        .bind::<BigInt, _>(product_id)
        .bind::<Nullable<BigInt>, _>(engagement_scope);
    if let Some(v) = binds_h {
        query = query.bind::<Array<Text>, _>(v);
    }
    if let Some(v) = binds_u {
        query = query.bind::<Array<Text>, _>(v);
    }
    if let Some(v) = binds_t {
        query = query.bind::<Array<Text>, _>(v);
    }
    if let Some(v) = binds_c {
        query = query.bind::<Array<Integer>, _>(v);
    }
    let rows: Vec<CandidateRow> = query.load(conn).await?;
    let with_locs: Vec<i64> = if with_locations {
        rows.iter()
            .filter(|r| r.has_locations)
            .map(|r| r.id)
            .collect()
    } else {
        Vec::new()
    };
    let mut locations = locations_of(conn, &with_locs).await?;
    Ok(rows
        .into_iter()
        .map(|r| DedupeItem {
            id: r.id,
            test_type_id: r.test_type_id,
            engagement_id: r.engagement_id,
            engagement_scoped: r.engagement_scoped,
            hash_code: r.hash_code,
            unique_id_from_tool: r.unique_id_from_tool,
            title: r.title,
            cwe: r.cwe,
            line: r.line,
            file_path: r.file_path,
            static_finding: r.static_finding,
            active: r.active,
            mitigated: r.mitigated,
            false_p: r.false_p,
            out_of_scope: r.out_of_scope,
            locations: locations.remove(&r.id).unwrap_or_default(),
        })
        .collect())
}
