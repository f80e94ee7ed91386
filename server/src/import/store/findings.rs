//! The `findings` rows: ids reserved up front, multi-row inserts of new
//! findings (with their ids, CWEs and found-by rows), and reimport's reads
//! and batched updates of existing ones.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::sql_types::{
    Array, BigInt, Bool, Date, Float4, Integer, Nullable, SmallInt, Text, Timestamptz,
};
use diesel::{QueryResult, QueryableByName, sql_query};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::IdRow;
use super::locations::insert_locations;
use crate::domain::severity::Severity;
use crate::import::prepare::PreparedFinding;

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
    service, tags, extra, custom_fields) \
    SELECT x.id, $1, $2, $3, $4, $5, x.title, x.date, x.severity, x.numerical_severity, \
    x.description, x.mitigation, x.impact, x.steps, x.justification, x.refs, x.param, \
    x.payload, x.cwe, x.cve, x.vid, x.uid, x.cvssv3, x.cvssv3_score, x.cvssv4, \
    x.cvssv4_score, x.epss, x.epss_pct, x.kev, x.active, x.verified, x.false_p, \
    x.duplicate_of IS NOT NULL, x.duplicate_of, x.oos, x.risk_accepted, x.is_mitigated, \
    x.mitigated, CASE WHEN x.is_mitigated THEN $4 END, x.sla, x.file_path, x.line, x.cn, x.cv, \
    x.static, x.dynamic, x.nb, x.fix_available, x.fix_version, x.hash_code, x.service, \
    COALESCE(string_to_array(NULLIF(x.tags, ''), ','), '{}'), COALESCE(x.extra::jsonb, '{}'), \
    COALESCE(x.custom_fields::jsonb, '{}') \
    FROM unnest($6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
    $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, \
    $40, $41, $42, $43, $44, $45, $46, $47, $48, $49, $50, $51, $52) AS x(id, title, date, severity, \
    numerical_severity, description, mitigation, impact, steps, justification, refs, param, \
    payload, cwe, cve, vid, uid, cvssv3, cvssv3_score, cvssv4, cvssv4_score, epss, epss_pct, \
    kev, active, verified, false_p, duplicate_of, oos, risk_accepted, is_mitigated, mitigated, \
    sla, file_path, line, cn, cv, static, dynamic, nb, fix_available, fix_version, hash_code, \
    service, tags, extra, custom_fields)";

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
        .bind::<Array<Nullable<Text>>, _>(col!(|r| r.finding.extra.as_deref()))
        .bind::<Array<Nullable<Text>>, _>(col!(|r| r
            .finding
            .custom_fields
            .as_ref()
            .map(|m| serde_json::Value::Object(m.clone()).to_string())));
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
    /// Custom field values, as JSON text.
    #[diesel(sql_type = Text)]
    pub custom_fields: String,
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
         duplicate, component_name, component_version, fix_available, fix_version, \
         custom_fields::text AS custom_fields \
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

/// Writes reimport's custom field values, `(finding id, whole object as
/// JSON text)`, in one statement.
pub async fn set_custom_fields(
    conn: &mut AsyncPgConnection,
    rows: &[(i64, String)],
) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    sql_query(
        "UPDATE findings f SET custom_fields = x.cf::jsonb \
         FROM unnest($1, $2) AS x(id, cf) WHERE f.id = x.id",
    )
    .bind::<Array<BigInt>, _>(rows.iter().map(|r| r.0).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(rows.iter().map(|r| r.1.as_str()).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}
