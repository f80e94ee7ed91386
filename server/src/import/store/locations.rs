//! Locations and their references to findings: reading a finding's
//! locations, inserting new ones, and reconciling the per-finding id lists.

use diesel::pg::Pg;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, SmallInt, Text};
use diesel::{QueryResult, QueryableByName, sql_query};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::findings::{NewRow, RowContext, reference_status};
use crate::domain::location::UrlParts;

#[derive(QueryableByName)]
struct LocationRow {
    #[diesel(sql_type = BigInt)]
    finding_id: i64,
    #[diesel(sql_type = Text)]
    protocol: String,
    #[diesel(sql_type = Text)]
    user_info: String,
    #[diesel(sql_type = Text)]
    host: String,
    #[diesel(sql_type = Nullable<Integer>)]
    port: Option<i32>,
    #[diesel(sql_type = Text)]
    path: String,
    #[diesel(sql_type = Text)]
    query: String,
    #[diesel(sql_type = Text)]
    fragment: String,
}

#[derive(QueryableByName)]
struct IdValue {
    #[diesel(sql_type = BigInt)]
    finding_id: i64,
    #[diesel(sql_type = SmallInt)]
    position: i16,
    #[diesel(sql_type = Text)]
    value: String,
}

/// What to change so the stored rows of one kind equal the wanted ones.
#[derive(Default)]
struct RowDiff {
    /// Rows to delete, by finding and value (their key).
    del_fid: Vec<i64>,
    del_val: Vec<String>,
    /// Rows to move to another position.
    move_fid: Vec<i64>,
    move_val: Vec<String>,
    move_to: Vec<i16>,
    add_fid: Vec<i64>,
    add_pos: Vec<i16>,
    add_val: Vec<String>,
    /// Findings whose list changed.
    changed: std::collections::HashSet<i64>,
}

fn diff_rows(have: Vec<IdValue>, want: &[(i64, Vec<String>)]) -> RowDiff {
    let mut d = RowDiff::default();
    let mut stored: std::collections::HashMap<(i64, String), i16> = have
        .into_iter()
        .map(|r| ((r.finding_id, r.value), r.position))
        .collect();
    for (fid, values) in want {
        let mut seen = std::collections::HashSet::new();
        for (i, v) in values.iter().enumerate() {
            // A report may repeat a value; its first position counts.
            if !seen.insert(v.as_str()) {
                continue;
            }
            let pos = i16::try_from(i).unwrap_or(i16::MAX);
            match stored.remove(&(*fid, v.clone())) {
                Some(p) if p == pos => {}
                Some(_) => {
                    d.move_fid.push(*fid);
                    d.move_val.push(v.clone());
                    d.move_to.push(pos);
                    d.changed.insert(*fid);
                }
                None => {
                    d.add_fid.push(*fid);
                    d.add_pos.push(pos);
                    d.add_val.push(v.clone());
                    d.changed.insert(*fid);
                }
            }
        }
    }
    for ((fid, value), _) in stored {
        d.del_fid.push(fid);
        d.del_val.push(value);
        d.changed.insert(fid);
    }
    d
}

/// Makes the stored vulnerability ids (and `cve`, the first of them) and
/// extra CWEs of matched findings those of the report (domain.md §5.4 step 6).
/// One read per kind; writes only where something changed.
pub async fn reconcile_ids(
    conn: &mut AsyncPgConnection,
    findings: &[(i64, Vec<String>, Vec<i32>)],
) -> QueryResult<()> {
    if findings.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = findings.iter().map(|f| f.0).collect();
    let have: Vec<IdValue> = sql_query(
        "SELECT finding_id, position, vulnerability_id::text AS value \
         FROM finding_vulnerability_ids WHERE finding_id = ANY($1)",
    )
    .bind::<Array<BigInt>, _>(&ids)
    .load(conn)
    .await?;
    let want: Vec<(i64, Vec<String>)> = findings.iter().map(|f| (f.0, f.1.clone())).collect();
    let d = diff_rows(have, &want);
    apply_diff(conn, "finding_vulnerability_ids", "vulnerability_id", &d).await?;
    if !d.changed.is_empty() {
        let (cve_ids, cves): (Vec<i64>, Vec<Option<&str>>) = findings
            .iter()
            .filter(|f| d.changed.contains(&f.0))
            .map(|f| (f.0, <[String]>::first(&f.1).map(String::as_str)))
            .unzip();
        sql_query(
            "UPDATE findings f SET cve = x.cve FROM unnest($1::bigint[], $2::text[]) AS x(id, cve) \
             WHERE f.id = x.id AND f.cve IS DISTINCT FROM x.cve",
        )
        .bind::<Array<BigInt>, _>(&cve_ids)
        .bind::<Array<Nullable<Text>>, _>(cves)
        .execute(conn)
        .await?;
    }
    let have: Vec<IdValue> = sql_query(
        "SELECT finding_id, 0::smallint AS position, cwe::text AS value \
         FROM finding_cwes WHERE finding_id = ANY($1)",
    )
    .bind::<Array<BigInt>, _>(&ids)
    .load(conn)
    .await?;
    let want: Vec<(i64, Vec<String>)> = findings
        .iter()
        .map(|f| (f.0, f.2.iter().map(|c| format!("CWE-{c}")).collect()))
        .collect();
    // CWEs have no order: every wanted one counts as position 0.
    let mut d = diff_rows(have, &want);
    d.move_fid.clear();
    d.move_val.clear();
    d.move_to.clear();
    apply_diff(conn, "finding_cwes", "cwe", &d).await
}

async fn apply_diff(
    conn: &mut AsyncPgConnection,
    table: &str,
    column: &str,
    d: &RowDiff,
) -> QueryResult<()> {
    if !d.del_fid.is_empty() {
        sql_query(format!(
            "DELETE FROM {table} t USING unnest($1::bigint[], $2::text[]) AS x(f, v) \
             WHERE t.finding_id = x.f AND t.{column} = x.v"
        ))
        .bind::<Array<BigInt>, _>(&d.del_fid)
        .bind::<Array<Text>, _>(&d.del_val)
        .execute(conn)
        .await?;
    }
    if !d.move_fid.is_empty() {
        sql_query(format!(
            "UPDATE {table} t SET position = x.pos \
             FROM unnest($1::bigint[], $2::text[], $3::smallint[]) AS x(f, v, pos) \
             WHERE t.finding_id = x.f AND t.{column} = x.v"
        ))
        .bind::<Array<BigInt>, _>(&d.move_fid)
        .bind::<Array<Text>, _>(&d.move_val)
        .bind::<Array<SmallInt>, _>(&d.move_to)
        .execute(conn)
        .await?;
    }
    if !d.add_fid.is_empty() {
        let positioned = table == "finding_vulnerability_ids";
        let sql = if positioned {
            format!(
                "INSERT INTO {table} (finding_id, position, {column}) \
                 SELECT * FROM unnest($1::bigint[], $2::smallint[], $3::text[]) ON CONFLICT DO NOTHING"
            )
        } else {
            format!(
                "INSERT INTO {table} (finding_id, {column}) \
                 SELECT f, v FROM unnest($1::bigint[], $2::smallint[], $3::text[]) AS x(f, p, v) \
                 ON CONFLICT DO NOTHING"
            )
        };
        sql_query(sql)
            .bind::<Array<BigInt>, _>(&d.add_fid)
            .bind::<Array<SmallInt>, _>(&d.add_pos)
            .bind::<Array<Text>, _>(&d.add_val)
            .execute(conn)
            .await?;
    }
    Ok(())
}

impl LocationRow {
    fn into_parts(self) -> UrlParts {
        UrlParts {
            protocol: self.protocol,
            user_info: self.user_info,
            host: self.host,
            port: self.port.and_then(|p| u16::try_from(p).ok()),
            path: self.path,
            query: self.query,
            fragment: self.fragment,
        }
    }
}

/// A location already referenced by `product_id` (what `endpoint_to_add` may name).
pub async fn product_location(
    conn: &mut AsyncPgConnection,
    product_id: i64,
    location_id: i64,
) -> QueryResult<Option<UrlParts>> {
    let rows: Vec<LocationRow> = sql_query(
        "SELECT l.id AS finding_id, l.protocol, l.user_info, l.host, l.port, l.path, l.query, \
         l.fragment FROM locations l JOIN location_product_refs r ON r.location_id = l.id \
         WHERE l.id = $1 AND r.product_id = $2",
    )
    .bind::<BigInt, _>(location_id)
    .bind::<BigInt, _>(product_id)
    .load(conn)
    .await?;
    Ok(rows.into_iter().next().map(LocationRow::into_parts))
}

/// The URL locations of findings, by finding id.
pub async fn locations_of(
    conn: &mut AsyncPgConnection,
    finding_ids: &[i64],
) -> QueryResult<std::collections::HashMap<i64, Vec<UrlParts>>> {
    let mut out: std::collections::HashMap<i64, Vec<UrlParts>> = Default::default();
    if finding_ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<LocationRow> = sql_query(
        "SELECT r.finding_id, l.protocol, l.user_info, l.host, l.port, l.path, l.query, \
         l.fragment FROM location_finding_refs r JOIN locations l ON l.id = r.location_id \
         WHERE r.finding_id = ANY($1) ORDER BY r.finding_id, l.id",
    )
    .bind::<Array<BigInt>, _>(finding_ids)
    .load(conn)
    .await?;
    for r in rows {
        out.entry(r.finding_id).or_default().push(r.into_parts());
    }
    Ok(out)
}

pub(super) async fn insert_locations(
    conn: &AsyncPgConnection,
    cx: &RowContext,
    rows: &[NewRow<'_>],
    location_tags: &[String],
) -> QueryResult<()> {
    let mut unique: std::collections::BTreeMap<String, &UrlParts> = Default::default();
    let mut ref_fid = Vec::new();
    let mut ref_hash = Vec::new();
    let mut ref_status = Vec::new();
    let mut ref_active = Vec::new();
    for r in rows {
        let dup = r.duplicate_of.is_some();
        for l in &r.finding.locations {
            let h = l.identity_hash();
            unique.entry(h.clone()).or_insert(l);
            let status = reference_status(r.finding.active && !dup, r.finding, dup);
            ref_fid.push(r.id);
            ref_active.push(status == "Active");
            ref_status.push(status);
            ref_hash.push(h);
        }
    }
    if unique.is_empty() {
        return Ok(());
    }
    let (hashes, parts): (Vec<String>, Vec<&UrlParts>) = unique.into_iter().unzip();
    // `apply_tags_to_endpoints` tags new locations and those only this
    // product references. A location shared with another product keeps its
    // tags: changing them changes that product's view, which `addTags` allows
    // only with `Location_Edit` on every referencing product, and the import
    // runs with the importer's rights on this product alone.
    sql_query(
        "INSERT INTO locations (identity_hash, location_value, protocol, user_info, host, port, \
         path, query, fragment, tags) \
         SELECT x.h, x.v, x.protocol, x.user_info, x.host, x.port, x.path, x.query, x.fragment, $10 \
         FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         AS x(h, v, protocol, user_info, host, port, path, query, fragment) \
         ON CONFLICT (identity_hash) DO UPDATE SET tags = ARRAY(SELECT DISTINCT unnest(locations.tags || EXCLUDED.tags)) \
         WHERE cardinality(EXCLUDED.tags) > 0 AND NOT EXISTS (SELECT 1 FROM location_product_refs r \
         WHERE r.location_id = locations.id AND r.product_id <> $11)",
    )
    .into_boxed::<Pg>()
    .bind::<Array<Text>, _>(hashes.clone())
    .bind::<Array<Text>, _>(parts.iter().map(|p| p.canonical()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(parts.iter().map(|p| p.protocol.as_str()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(parts.iter().map(|p| p.user_info.as_str()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(parts.iter().map(|p| p.host.as_str()).collect::<Vec<_>>())
    .bind::<Array<Nullable<Integer>>, _>(
        parts
            .iter()
            .map(|p| p.port.map(i32::from))
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Text>, _>(parts.iter().map(|p| p.path.as_str()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(parts.iter().map(|p| p.query.as_str()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(parts.iter().map(|p| p.fragment.as_str()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(location_tags)
    .bind::<BigInt, _>(cx.product_id)
    .execute(&mut { conn })
    .await?;
    sql_query(
        "INSERT INTO location_finding_refs (location_id, finding_id, status) \
         SELECT l.id, x.fid, x.status FROM unnest($1, $2, $3) AS x(fid, h, status) \
         JOIN locations l ON l.identity_hash = x.h \
         ON CONFLICT (finding_id, location_id) DO UPDATE SET status = EXCLUDED.status",
    )
    .into_boxed::<Pg>()
    .bind::<Array<BigInt>, _>(ref_fid)
    .bind::<Array<Text>, _>(ref_hash.clone())
    .bind::<Array<Text>, _>(ref_status)
    .execute(&mut { conn })
    .await?;
    sql_query(
        "INSERT INTO location_product_refs (location_id, product_id, status) \
         SELECT l.id, $1, CASE WHEN bool_or(x.active) THEN 'Active' ELSE 'Mitigated' END \
         FROM unnest($2, $3) AS x(h, active) JOIN locations l ON l.identity_hash = x.h \
         GROUP BY l.id \
         ON CONFLICT (product_id, location_id) DO UPDATE SET status = CASE \
         WHEN EXCLUDED.status = 'Active' THEN 'Active' ELSE location_product_refs.status END",
    )
    .into_boxed::<Pg>()
    .bind::<BigInt, _>(cx.product_id)
    .bind::<Array<Text>, _>(ref_hash)
    .bind::<Array<Bool>, _>(ref_active)
    .execute(&mut { conn })
    .await?;
    Ok(())
}

/// Sets the status of every location reference of these findings.
pub async fn set_reference_status(
    conn: &mut AsyncPgConnection,
    finding_ids: &[i64],
    status: &str,
) -> QueryResult<()> {
    if finding_ids.is_empty() {
        return Ok(());
    }
    sql_query("UPDATE location_finding_refs SET status = $2 WHERE finding_id = ANY($1)")
        .bind::<Array<BigInt>, _>(finding_ids)
        .bind::<Text, _>(status)
        .execute(conn)
        .await?;
    Ok(())
}
