//! The import's SQL: set-based statements over UNNEST-ed arrays, so the number
//! of statements grows with the number of batches, never with findings.
//!
//! Raw SQL lives here rather than in `db/models` because every statement is
//! shaped by the import's batching and only the engine uses it.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::sql_types::{
    Array, BigInt, Bool, Date, Float4, Integer, Nullable, SmallInt, Text, Timestamptz,
};
use diesel::{QueryResult, QueryableByName, sql_query};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::dedupe::DedupeItem;
use super::prepare::PreparedFinding;
use super::request::{SeverityStats, StatusCounts};
use crate::domain::location::UrlParts;
use crate::domain::severity::Severity;
use crate::domain::sla::SlaDays;

/// The system settings the import reads.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct ImportSystemSettings {
    #[diesel(sql_type = Bool)]
    pub enable_deduplication: bool,
    #[diesel(sql_type = Bool)]
    pub enable_finding_sla: bool,
    #[diesel(sql_type = Bool)]
    pub enable_finding_groups: bool,
    #[diesel(sql_type = Bool)]
    pub track_import_history: bool,
    #[diesel(sql_type = Bool)]
    pub false_positive_history: bool,
    #[diesel(sql_type = Bool)]
    pub retroactive_false_positive_history: bool,
}

pub async fn system_settings(conn: &mut AsyncPgConnection) -> QueryResult<ImportSystemSettings> {
    let rows: Vec<ImportSystemSettings> = sql_query(
        "SELECT enable_deduplication, enable_finding_sla, \
         enable_finding_groups, track_import_history, false_positive_history, \
         retroactive_false_positive_history FROM system_settings WHERE id = 1",
    )
    .load(conn)
    .await?;
    Ok(rows.into_iter().next().unwrap_or(ImportSystemSettings {
        enable_deduplication: true,
        enable_finding_sla: true,
        enable_finding_groups: true,
        track_import_history: true,
        false_positive_history: false,
        retroactive_false_positive_history: false,
    }))
}

#[derive(QueryableByName)]
struct SlaRow {
    #[diesel(sql_type = Integer)]
    critical: i32,
    #[diesel(sql_type = Integer)]
    high: i32,
    #[diesel(sql_type = Integer)]
    medium: i32,
    #[diesel(sql_type = Integer)]
    low: i32,
    #[diesel(sql_type = Bool)]
    enforce_critical: bool,
    #[diesel(sql_type = Bool)]
    enforce_high: bool,
    #[diesel(sql_type = Bool)]
    enforce_medium: bool,
    #[diesel(sql_type = Bool)]
    enforce_low: bool,
    #[diesel(sql_type = Bool)]
    restart_sla_on_reactivation: bool,
}

/// Locks the product row (serialises imports into one product) and reads its SLA.
pub async fn lock_product(
    conn: &mut AsyncPgConnection,
    product_id: i64,
) -> QueryResult<(SlaDays, bool)> {
    let rows: Vec<SlaRow> = sql_query(
        "SELECT s.critical, s.high, s.medium, s.low, s.enforce_critical, s.enforce_high, \
         s.enforce_medium, s.enforce_low, s.restart_sla_on_reactivation \
         FROM products p JOIN sla_configurations s ON s.id = p.sla_configuration_id \
         WHERE p.id = $1 FOR UPDATE OF p",
    )
    .bind::<BigInt, _>(product_id)
    .load(conn)
    .await?;
    let r = rows
        .into_iter()
        .next()
        .ok_or(diesel::result::Error::NotFound)?;
    Ok((
        SlaDays {
            critical: r.critical,
            high: r.high,
            medium: r.medium,
            low: r.low,
            enforce_critical: r.enforce_critical,
            enforce_high: r.enforce_high,
            enforce_medium: r.enforce_medium,
            enforce_low: r.enforce_low,
        },
        r.restart_sla_on_reactivation,
    ))
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Reserves `n` finding ids, increasing; taken under the product lock, they
/// are larger than any id of a committed finding of the product.
pub async fn allocate_ids(conn: &mut AsyncPgConnection, n: usize) -> QueryResult<Vec<i64>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let rows: Vec<IdRow> =
        sql_query("SELECT nextval('findings_id_seq') AS id FROM generate_series(1, $1) ORDER BY 1")
            .bind::<BigInt, _>(i64::try_from(n).unwrap_or(i64::MAX))
            .load(conn)
            .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

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

/// Where new findings go and who writes them.
#[derive(Debug, Clone, Copy)]
pub struct RowContext {
    pub test_id: i64,
    pub engagement_id: i64,
    pub product_id: i64,
    pub test_type_id: i64,
    pub actor: Option<i64>,
    pub now: DateTime<Utc>,
}

/// One new finding: its pre-allocated id and the original it duplicates.
#[derive(Debug, Clone, Copy)]
pub struct NewRow<'a> {
    pub id: i64,
    pub duplicate_of: Option<i64>,
    /// The original was found by another test type: record this one too.
    pub found_by_new_type: bool,
    pub finding: &'a PreparedFinding,
}

/// The status a location reference takes from its finding (§1.6).
pub fn reference_status(active: bool, f: &PreparedFinding, duplicate: bool) -> &'static str {
    if f.false_p {
        "FalsePositive"
    } else if f.out_of_scope {
        "OutOfScope"
    } else if f.risk_accepted {
        "RiskAccepted"
    } else if duplicate || !active || f.is_mitigated {
        "Mitigated"
    } else {
        "Active"
    }
}

const INSERT_FINDINGS: &str = "INSERT INTO findings (id, test_id, engagement_id, product_id, \
    reporter_id, last_reviewed, title, date, severity, numerical_severity, description, \
    mitigation, impact, steps_to_reproduce, severity_justification, \"references\", param, \
    payload, cwe, cve, vuln_id_from_tool, unique_id_from_tool, cvssv3, cvssv3_score, cvssv4, \
    cvssv4_score, epss_score, epss_percentile, known_exploited, active, verified, false_p, \
    duplicate, duplicate_finding_id, out_of_scope, risk_accepted, is_mitigated, mitigated, \
    mitigated_by_id, sla_expiration_date, file_path, line, component_name, component_version, \
    static_finding, dynamic_finding, nb_occurences, fix_available, fix_version, hash_code, \
    service, tags, extra) \
    SELECT x.id, $1, $2, $3, $4, $5, x.title, x.date, x.severity, x.numerical_severity, \
    x.description, x.mitigation, x.impact, x.steps, x.justification, x.refs, x.param, \
    x.payload, x.cwe, x.cve, x.vid, x.uid, x.cvssv3, x.cvssv3_score, x.cvssv4, \
    x.cvssv4_score, x.epss, x.epss_pct, x.kev, x.active, x.verified, x.false_p, \
    x.duplicate_of IS NOT NULL, x.duplicate_of, x.oos, x.risk_accepted, x.is_mitigated, \
    x.mitigated, CASE WHEN x.is_mitigated THEN $4 END, x.sla, x.file_path, x.line, x.cn, x.cv, \
    x.static, x.dynamic, x.nb, x.fix_available, x.fix_version, x.hash_code, x.service, \
    COALESCE(string_to_array(NULLIF(x.tags, ''), ','), '{}'), COALESCE(x.extra::jsonb, '{}') \
    FROM unnest($6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
    $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, \
    $40, $41, $42, $43, $44, $45, $46, $47, $48, $49, $50, $51) AS x(id, title, date, severity, \
    numerical_severity, description, mitigation, impact, steps, justification, refs, param, \
    payload, cwe, cve, vid, uid, cvssv3, cvssv3_score, cvssv4, cvssv4_score, epss, epss_pct, \
    kev, active, verified, false_p, duplicate_of, oos, risk_accepted, is_mitigated, mitigated, \
    sla, file_path, line, cn, cv, static, dynamic, nb, fix_available, fix_version, hash_code, \
    service, tags, extra)";

/// Inserts one batch of new findings and their vulnerability ids, CWEs,
/// found-by rows and locations (at most eight statements). Takes the
/// connection shared so that batches can be pipelined: the next batch is
/// built and sent while PostgreSQL still works on this one.
pub async fn insert_findings(
    conn: &AsyncPgConnection,
    cx: &RowContext,
    rows: &[NewRow<'_>],
    location_tags: &[String],
) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    macro_rules! col {
        ($e:expr) => {
            rows.iter().map($e).collect::<Vec<_>>()
        };
    }
    let dup = |r: &NewRow<'_>| r.duplicate_of.is_some();
    let q = sql_query(INSERT_FINDINGS)
        .into_boxed::<Pg>()
        .bind::<BigInt, _>(cx.test_id)
        .bind::<BigInt, _>(cx.engagement_id)
        .bind::<BigInt, _>(cx.product_id)
        .bind::<Nullable<BigInt>, _>(cx.actor)
        .bind::<Timestamptz, _>(cx.now)
        .bind::<Array<BigInt>, _>(col!(|r| r.id))
        .bind::<Array<Text>, _>(col!(|r| r.finding.title.as_str()))
        .bind::<Array<Nullable<Date>>, _>(col!(|r| r.finding.date))
        .bind::<Array<Text>, _>(col!(|r| r.finding.severity))
        .bind::<Array<Text>, _>(col!(|r| r.finding.severity.numerical()))
        .bind::<Array<Text>, _>(col!(|r| r.finding.description.as_str()))
        .bind::<Array<Nullable<Text>>, _>(col!(|r| r.finding.mitigation.as_deref()))
        .bind::<Array<Nullable<Text>>, _>(col!(|r| r.finding.impact.as_deref()))
        .bind::<Array<Nullable<Text>>, _>(col!(|r| r.finding.steps_to_reproduce.as_deref()))
        .bind::<Array<Nullable<Text>>, _>(col!(|r| r.finding.severity_justification.as_deref()))
        .bind::<Array<Nullable<Text>>, _>(col!(|r| r.finding.references.as_deref()))
        .bind::<Array<Nullable<Text>>, _>(col!(|r| r.finding.param.as_deref()))
        .bind::<Array<Nullable<Text>>, _>(col!(|r| r.finding.payload.as_deref()))
        .bind::<Array<Integer>, _>(col!(|r| r.finding.cwe))
        .bind::<Array<Nullable<Text>>, _>(col!(
            |r| <[String]>::first(&r.finding.vulnerability_ids).map(String::as_str)
        ))
        .bind::<Array<Nullable<Text>>, _>(col!(|r| r.finding.vuln_id_from_tool.as_deref()))
        .bind::<Array<Nullable<Text>>, _>(col!(|r| r.finding.unique_id_from_tool.as_deref()))
        .bind::<Array<Nullable<Text>>, _>(col!(|r| r.finding.cvssv3.as_deref()))
        .bind::<Array<Nullable<Float4>>, _>(col!(|r| r.finding.cvssv3_score))
        .bind::<Array<Nullable<Text>>, _>(col!(|r| r.finding.cvssv4.as_deref()))
        .bind::<Array<Nullable<Float4>>, _>(col!(|r| r.finding.cvssv4_score))
        .bind::<Array<Nullable<Float4>>, _>(col!(|r| r.finding.epss_score))
        .bind::<Array<Nullable<Float4>>, _>(col!(|r| r.finding.epss_percentile))
        .bind::<Array<Bool>, _>(col!(|r| r.finding.known_exploited))
        .bind::<Array<Bool>, _>(col!(|r| r.finding.active && !dup(r)))
        .bind::<Array<Bool>, _>(col!(|r| r.finding.verified && !dup(r)))
        .bind::<Array<Bool>, _>(col!(|r| r.finding.false_p))
        .bind::<Array<Nullable<BigInt>>, _>(col!(|r| r.duplicate_of))
        .bind::<Array<Bool>, _>(col!(|r| r.finding.out_of_scope))
        .bind::<Array<Bool>, _>(col!(|r| r.finding.risk_accepted))
        .bind::<Array<Bool>, _>(col!(|r| r.finding.is_mitigated))
        .bind::<Array<Nullable<Timestamptz>>, _>(col!(|r| r.finding.mitigated))
        .bind::<Array<Nullable<Date>>, _>(col!(|r| r.finding.sla_expiration_date))
        .bind::<Array<Nullable<Text>>, _>(col!(|r| r.finding.file_path.as_deref()))
        .bind::<Array<Nullable<Integer>>, _>(col!(|r| r.finding.line))
        .bind::<Array<Nullable<Text>>, _>(col!(|r| r.finding.component_name.as_deref()))
        .bind::<Array<Nullable<Text>>, _>(col!(|r| r.finding.component_version.as_deref()))
        .bind::<Array<Bool>, _>(col!(|r| r.finding.static_finding))
        .bind::<Array<Bool>, _>(col!(|r| r.finding.dynamic_finding))
        .bind::<Array<Nullable<Integer>>, _>(col!(|r| r.finding.nb_occurences))
        .bind::<Array<Nullable<Bool>>, _>(col!(|r| r.finding.fix_available))
        .bind::<Array<Nullable<Text>>, _>(col!(|r| r.finding.fix_version.as_deref()))
        .bind::<Array<Text>, _>(col!(|r| r.finding.hash_code.as_str()))
        .bind::<Array<Nullable<Text>>, _>(col!(|r| r.finding.service.as_deref()))
        .bind::<Array<Text>, _>(col!(|r| r.finding.tags.join(",")))
        .bind::<Array<Nullable<Text>>, _>(col!(|r| r.finding.extra.as_deref()));
    q.execute(&mut { conn }).await?;

    // Vulnerability ids, in report order.
    let mut v_ids = Vec::new();
    let mut v_pos = Vec::new();
    let mut v_val = Vec::new();
    let mut c_ids = Vec::new();
    let mut c_val = Vec::new();
    for r in rows {
        for (i, v) in r.finding.vulnerability_ids.iter().enumerate() {
            v_ids.push(r.id);
            v_pos.push(i16::try_from(i).unwrap_or(i16::MAX));
            v_val.push(v.as_str());
        }
        for c in &r.finding.extra_cwes {
            c_ids.push(r.id);
            c_val.push(format!("CWE-{c}"));
        }
    }
    if !v_ids.is_empty() {
        sql_query(
            "INSERT INTO finding_vulnerability_ids (finding_id, position, vulnerability_id) \
             SELECT * FROM unnest($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .into_boxed::<Pg>()
        .bind::<Array<BigInt>, _>(v_ids)
        .bind::<Array<SmallInt>, _>(v_pos)
        .bind::<Array<Text>, _>(v_val)
        .execute(&mut { conn })
        .await?;
    }
    if !c_ids.is_empty() {
        sql_query(
            "INSERT INTO finding_cwes (finding_id, cwe) SELECT * FROM unnest($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .into_boxed::<Pg>()
        .bind::<Array<BigInt>, _>(c_ids)
        .bind::<Array<Text>, _>(c_val)
        .execute(&mut { conn })
        .await?;
    }
    // found_by: an original each time another test type finds it again (a
    // finding is found by its own test's type, which needs no row).
    let mut found: Vec<i64> = rows
        .iter()
        .filter(|r| r.found_by_new_type)
        .filter_map(|r| r.duplicate_of)
        .collect();
    found.sort_unstable();
    found.dedup();
    if !found.is_empty() {
        sql_query(
            "INSERT INTO finding_found_by (finding_id, test_type_id) SELECT unnest($1), $2 \
         ON CONFLICT DO NOTHING",
        )
        .into_boxed::<Pg>()
        .bind::<Array<BigInt>, _>(found)
        .bind::<BigInt, _>(cx.test_type_id)
        .execute(&mut { conn })
        .await?;
    }
    insert_locations(conn, cx, rows, location_tags).await
}

async fn insert_locations(
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

#[derive(QueryableByName)]
struct ClosedRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    severity: Severity,
    #[diesel(sql_type = Bool)]
    was_active: bool,
    #[diesel(sql_type = Bool)]
    was_risk_accepted: bool,
}

/// A finding closed by the import, with what it was before.
#[derive(Debug, Clone)]
pub struct Closed {
    pub id: i64,
    pub severity: Severity,
    pub was_active: bool,
    pub was_risk_accepted: bool,
}

/// Which findings `close_old_findings` (import) may close.
pub struct CloseScope<'a> {
    pub test_id: i64,
    pub test_type_id: i64,
    /// `engagement_id = ` or, with product scope, `product_id = `.
    pub engagement_id: Option<i64>,
    pub product_id: i64,
    pub service: Option<&'a str>,
    /// Keys of the report's non-mitigated findings (excluded from closing).
    pub keep_hashes: Vec<String>,
    pub keep_uids: Vec<String>,
}

fn closed(rows: Vec<ClosedRow>) -> Vec<Closed> {
    rows.into_iter()
        .map(|r| Closed {
            id: r.id,
            severity: r.severity,
            was_active: r.was_active,
            was_risk_accepted: r.was_risk_accepted,
        })
        .collect()
}

/// Closes old findings of the same test type outside the new test (§5.3 step 5).
pub async fn close_old(
    conn: &mut AsyncPgConnection,
    scope: CloseScope<'_>,
    mitigated_at: DateTime<Utc>,
    actor: Option<i64>,
) -> QueryResult<Vec<Closed>> {
    let scope_cond = if scope.engagement_id.is_some() {
        "f.engagement_id = $1"
    } else {
        "f.product_id = $1"
    };
    let service_cond = if scope.service.is_some() {
        "f.service = $4"
    } else {
        "(f.service IS NULL OR f.service = '' OR $4::text IS NOT NULL)"
    };
    let sql = format!(
        "WITH c AS (SELECT f.id, f.active, f.risk_accepted FROM findings f \
         JOIN tests t ON t.id = f.test_id \
         WHERE {scope_cond} AND t.test_type_id = $2 AND f.test_id <> $3 \
         AND (f.active OR f.risk_accepted) AND {service_cond} \
         AND NOT COALESCE(f.hash_code = ANY($5), false) \
         AND NOT COALESCE(f.unique_id_from_tool = ANY($6), false) FOR UPDATE OF f) \
         UPDATE findings f SET active = false, is_mitigated = true, risk_accepted = false, \
         mitigated = COALESCE(f.mitigated, $7), mitigated_by_id = $8, last_status_update = now() \
         FROM c WHERE f.id = c.id \
         RETURNING f.id, f.severity, c.active AS was_active, c.risk_accepted AS was_risk_accepted"
    );
    let rows: Vec<ClosedRow> = sql_query(sql)
        .bind::<BigInt, _>(scope.engagement_id.unwrap_or(scope.product_id))
        .bind::<BigInt, _>(scope.test_type_id)
        .bind::<BigInt, _>(scope.test_id)
        .bind::<Nullable<Text>, _>(scope.service)
        .bind::<Array<Text>, _>(scope.keep_hashes)
        .bind::<Array<Text>, _>(scope.keep_uids)
        .bind::<Timestamptz, _>(mitigated_at)
        .bind::<Nullable<BigInt>, _>(actor)
        .load(conn)
        .await?;
    Ok(closed(rows))
}

/// Mitigates these findings unless already mitigated (reimport's `to_mitigate`).
///
/// The special flags are not written, so values set meanwhile survive.
pub async fn mitigate(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    mitigated_at: DateTime<Utc>,
    actor: Option<i64>,
) -> QueryResult<Vec<Closed>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<ClosedRow> = sql_query(
        "WITH c AS (SELECT id, active, risk_accepted FROM findings \
         WHERE id = ANY($1) AND NOT is_mitigated FOR UPDATE) \
         UPDATE findings f SET active = false, is_mitigated = true, \
         mitigated = COALESCE(f.mitigated, $2), mitigated_by_id = $3, last_status_update = now() \
         FROM c WHERE f.id = c.id \
         RETURNING f.id, f.severity, c.active AS was_active, c.risk_accepted AS was_risk_accepted",
    )
    .bind::<Array<BigInt>, _>(ids)
    .bind::<Timestamptz, _>(mitigated_at)
    .bind::<Nullable<BigInt>, _>(actor)
    .load(conn)
    .await?;
    Ok(closed(rows))
}

/// Drops the risk acceptance links of findings that were closed.
pub async fn remove_risk_acceptance(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    sql_query("DELETE FROM risk_acceptance_findings WHERE finding_id = ANY($1)")
        .bind::<Array<BigInt>, _>(ids)
        .execute(conn)
        .await?;
    Ok(())
}

/// An existing finding as reimport matches it.
#[derive(Debug, Clone, QueryableByName)]
pub struct Original {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub hash_code: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub unique_id_from_tool: Option<String>,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Text)]
    pub severity: Severity,
    #[diesel(sql_type = Bool)]
    pub active: bool,
    #[diesel(sql_type = Bool)]
    pub verified: bool,
    #[diesel(sql_type = Bool)]
    pub is_mitigated: bool,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub mitigated: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub mitigated_by_id: Option<i64>,
    #[diesel(sql_type = Bool)]
    pub false_p: bool,
    #[diesel(sql_type = Bool)]
    pub out_of_scope: bool,
    #[diesel(sql_type = Bool)]
    pub risk_accepted: bool,
    #[diesel(sql_type = Bool)]
    pub duplicate: bool,
    #[diesel(sql_type = Nullable<Text>)]
    pub component_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub component_version: Option<String>,
    #[diesel(sql_type = Nullable<Bool>)]
    pub fix_available: Option<bool>,
    #[diesel(sql_type = Nullable<Text>)]
    pub fix_version: Option<String>,
}

/// The test's findings with the same service (§5.4 step 1), oldest first.
pub async fn originals(
    conn: &mut AsyncPgConnection,
    test_id: i64,
    service: Option<&str>,
) -> QueryResult<Vec<Original>> {
    let cond = if service.is_some() {
        "service = $2"
    } else {
        "(service IS NULL OR service = '' OR $2::text IS NOT NULL)"
    };
    sql_query(format!(
        "SELECT id, hash_code, unique_id_from_tool, title, severity, active, verified, \
         is_mitigated, mitigated, mitigated_by_id, false_p, out_of_scope, risk_accepted, \
         duplicate, component_name, component_version, fix_available, fix_version \
         FROM findings WHERE test_id = $1 AND {cond} ORDER BY id"
    ))
    .bind::<BigInt, _>(test_id)
    .bind::<Nullable<Text>, _>(service)
    .load(conn)
    .await
}

/// The full new state of an existing finding changed by reimport.
#[derive(Debug, Clone)]
pub struct FindingUpdate {
    pub id: i64,
    pub active: bool,
    pub verified: bool,
    pub is_mitigated: bool,
    pub mitigated: Option<DateTime<Utc>>,
    pub mitigated_by_id: Option<i64>,
    pub false_p: bool,
    pub out_of_scope: bool,
    pub risk_accepted: bool,
    pub fix_available: Option<bool>,
    pub fix_version: Option<String>,
    pub component_name: Option<String>,
    pub component_version: Option<String>,
    pub sla_start_date: Option<NaiveDate>,
}

/// Writes reimport's changes to existing findings in one statement.
pub async fn update_findings(
    conn: &mut AsyncPgConnection,
    updates: &[FindingUpdate],
) -> QueryResult<()> {
    if updates.is_empty() {
        return Ok(());
    }
    macro_rules! col {
        ($e:expr) => {
            updates.iter().map($e).collect::<Vec<_>>()
        };
    }
    sql_query(
        "UPDATE findings f SET active = x.active, verified = x.verified, \
         is_mitigated = x.is_mitigated, mitigated = x.mitigated, mitigated_by_id = x.mby, \
         false_p = x.false_p, out_of_scope = x.oos, risk_accepted = x.ra, \
         fix_available = x.fa, fix_version = x.fv, component_name = x.cn, \
         component_version = x.cv, sla_start_date = COALESCE(x.sla, f.sla_start_date), \
         last_status_update = now() \
         FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         AS x(id, active, verified, is_mitigated, mitigated, mby, false_p, oos, ra, fa, fv, cn, cv, sla) \
         WHERE f.id = x.id",
    )
    .into_boxed::<Pg>()
    .bind::<Array<BigInt>, _>(col!(|u| u.id))
    .bind::<Array<Bool>, _>(col!(|u| u.active))
    .bind::<Array<Bool>, _>(col!(|u| u.verified))
    .bind::<Array<Bool>, _>(col!(|u| u.is_mitigated))
    .bind::<Array<Nullable<Timestamptz>>, _>(col!(|u| u.mitigated))
    .bind::<Array<Nullable<BigInt>>, _>(col!(|u| u.mitigated_by_id))
    .bind::<Array<Bool>, _>(col!(|u| u.false_p))
    .bind::<Array<Bool>, _>(col!(|u| u.out_of_scope))
    .bind::<Array<Bool>, _>(col!(|u| u.risk_accepted))
    .bind::<Array<Nullable<Bool>>, _>(col!(|u| u.fix_available))
    .bind::<Array<Nullable<Text>>, _>(col!(|u| u.fix_version.as_deref()))
    .bind::<Array<Nullable<Text>>, _>(col!(|u| u.component_name.as_deref()))
    .bind::<Array<Nullable<Text>>, _>(col!(|u| u.component_version.as_deref()))
    .bind::<Array<Nullable<Date>>, _>(col!(|u| u.sla_start_date))
    .execute(conn)
    .await?;
    Ok(())
}

/// Creates the `test_imports` row.
pub async fn insert_test_import(
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

/// Records N/C/R/U actions of one import.
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

#[derive(QueryableByName)]
struct StatsRow {
    #[diesel(sql_type = Text)]
    severity: Severity,
    #[diesel(sql_type = BigInt)]
    active: i64,
    #[diesel(sql_type = BigInt)]
    verified: i64,
    #[diesel(sql_type = BigInt)]
    duplicate: i64,
    #[diesel(sql_type = BigInt)]
    false_p: i64,
    #[diesel(sql_type = BigInt)]
    out_of_scope: i64,
    #[diesel(sql_type = BigInt)]
    is_mitigated: i64,
    #[diesel(sql_type = BigInt)]
    risk_accepted: i64,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// DefectDojo's statistics block over a test's findings.
pub async fn test_stats(conn: &mut AsyncPgConnection, test_id: i64) -> QueryResult<SeverityStats> {
    let rows: Vec<StatsRow> = sql_query(
        "SELECT severity, count(*) FILTER (WHERE active) AS active, \
         count(*) FILTER (WHERE verified) AS verified, \
         count(*) FILTER (WHERE duplicate) AS duplicate, \
         count(*) FILTER (WHERE false_p) AS false_p, \
         count(*) FILTER (WHERE out_of_scope) AS out_of_scope, \
         count(*) FILTER (WHERE is_mitigated) AS is_mitigated, \
         count(*) FILTER (WHERE risk_accepted) AS risk_accepted, count(*) AS total \
         FROM findings WHERE test_id = $1 GROUP BY severity",
    )
    .bind::<BigInt, _>(test_id)
    .load(conn)
    .await?;
    let mut out = SeverityStats::new();
    for s in ["critical", "high", "medium", "low", "info", "total"] {
        out.insert(s.to_owned(), StatusCounts::default());
    }
    for r in rows {
        let c = StatusCounts {
            active: r.active,
            verified: r.verified,
            duplicate: r.duplicate,
            false_p: r.false_p,
            out_of_scope: r.out_of_scope,
            is_mitigated: r.is_mitigated,
            risk_accepted: r.risk_accepted,
            total: r.total,
        };
        for key in [r.severity.key(), "total"] {
            let e = out.entry(key.to_owned()).or_default();
            e.active += c.active;
            e.verified += c.verified;
            e.duplicate += c.duplicate;
            e.false_p += c.false_p;
            e.out_of_scope += c.out_of_scope;
            e.is_mitigated += c.is_mitigated;
            e.risk_accepted += c.risk_accepted;
            e.total += c.total;
        }
    }
    Ok(out)
}

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
