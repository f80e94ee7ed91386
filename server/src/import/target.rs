//! Finding (or planning to create) the product type, product, engagement and
//! test of an import (domain.md §5.1 "Target resolution").

use chrono::{Duration, NaiveDate};
use diesel::sql_types::{BigInt, Bool, Date, Nullable, Text};
use diesel::{QueryResult, QueryableByName, sql_query};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::request::{
    ImportError, ImportKind, ImportRequest, ResolvedTarget, TargetKind, TargetPart,
};

#[derive(Debug, Clone, QueryableByName)]
struct EngagementRow {
    #[diesel(sql_type = BigInt)]
    engagement_id: i64,
    #[diesel(sql_type = Nullable<Text>)]
    engagement_name: Option<String>,
    #[diesel(sql_type = BigInt)]
    product_id: i64,
    #[diesel(sql_type = Text)]
    product_name: String,
    #[diesel(sql_type = BigInt)]
    product_type_id: i64,
    #[diesel(sql_type = Text)]
    product_type_name: String,
}

#[derive(Debug, Clone, QueryableByName)]
struct ProductRow {
    #[diesel(sql_type = BigInt)]
    product_id: i64,
    #[diesel(sql_type = Text)]
    product_name: String,
    #[diesel(sql_type = BigInt)]
    product_type_id: i64,
    #[diesel(sql_type = Text)]
    product_type_name: String,
}

#[derive(Debug, Clone, QueryableByName)]
struct IdName {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
}

#[derive(Debug, Clone, QueryableByName)]
struct TestRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    engagement_id: i64,
    #[diesel(sql_type = Nullable<Text>)]
    title: Option<String>,
}

/// The ids the import writes into, after creation of anything missing.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: ImportKind,
    pub product_type_id: i64,
    pub product_id: i64,
    pub engagement_id: i64,
    pub engagement_scoped: bool,
    pub engagement_ci: bool,
    pub test_id: Option<i64>,
}

const ENGAGEMENT_SQL: &str = "SELECT e.id AS engagement_id, e.name AS engagement_name, \
    p.id AS product_id, p.name AS product_name, pt.id AS product_type_id, \
    pt.name AS product_type_name FROM engagements e JOIN products p ON p.id = e.product_id \
    JOIN product_types pt ON pt.id = p.product_type_id WHERE e.id = $1";

async fn engagement_by_id(
    conn: &mut AsyncPgConnection,
    id: i64,
) -> QueryResult<Option<EngagementRow>> {
    let rows: Vec<EngagementRow> = sql_query(ENGAGEMENT_SQL)
        .bind::<BigInt, _>(id)
        .load(conn)
        .await?;
    Ok(rows.into_iter().next())
}

fn mismatch(what: &str, given: &str, actual: &str) -> ImportError {
    ImportError::AmbiguousTarget(format!(
        "{what} `{given}` does not match the target's {what} `{actual}`"
    ))
}

fn check_names(req: &ImportRequest, row: &EngagementRow) -> Result<(), ImportError> {
    if let Some(n) = req.product_name.as_deref()
        && n != row.product_name
    {
        return Err(mismatch("product_name", n, &row.product_name));
    }
    if let Some(n) = req.product_type_name.as_deref()
        && n != row.product_type_name
    {
        return Err(mismatch("product_type_name", n, &row.product_type_name));
    }
    if let Some(n) = req.engagement_name.as_deref()
        && Some(n) != row.engagement_name.as_deref()
    {
        return Err(mismatch(
            "engagement_name",
            n,
            row.engagement_name.as_deref().unwrap_or(""),
        ));
    }
    Ok(())
}

fn existing(id: i64, name: impl Into<String>) -> TargetPart {
    TargetPart::Existing {
        id,
        name: name.into(),
    }
}

fn nonblank(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// What the target resolution found, before anything is created.
struct Plan {
    product_type: TargetPart,
    product: TargetPart,
    engagement: TargetPart,
    test_id: Option<i64>,
    /// Names that exist but that the caller may not see: they cannot be
    /// created, and the answer must not tell them apart from free names.
    hidden_product_type: bool,
    hidden_product: bool,
}

/// Finds the target and asks the guard, reading only.
///
/// Every object found is checked for visibility (`guard`) before any message
/// can mention it, and an invisible one answers exactly like a missing one.
/// `scan_type` is `None` when it is not known yet (before parsing): a
/// reimport's test is then not looked up by scan type.
async fn plan(
    conn: &mut AsyncPgConnection,
    kind: ImportKind,
    req: &ImportRequest,
    scan_type: Option<&str>,
    guard: &dyn super::ImportGuard,
) -> Result<Option<Plan>, ImportError> {
    let mut test: Option<TargetPart> = None;
    let mut test_id = None;
    let mut row: Option<EngagementRow> = None;
    let mut hidden_product_type = false;
    let mut hidden_product = false;
    if kind == ImportKind::Reimport
        && let Some(tid) = req.test_id
    {
        let missing = || ImportError::TargetNotFound {
            kind: TargetKind::Test,
            what: tid.to_string(),
        };
        let rows: Vec<TestRow> =
            sql_query("SELECT id, engagement_id, title FROM tests WHERE id = $1")
                .bind::<BigInt, _>(tid)
                .load(conn)
                .await?;
        let t = rows.into_iter().next().ok_or_else(missing)?;
        let r = engagement_by_id(conn, t.engagement_id)
            .await?
            .ok_or_else(missing)?;
        if !guard.product_visible(r.product_type_id, r.product_id) {
            return Err(missing());
        }
        if let Some(e) = req.engagement_id
            && e != t.engagement_id
        {
            return Err(ImportError::AmbiguousTarget(format!(
                "test {tid} is not in engagement {e}"
            )));
        }
        check_names(req, &r)?;
        test = Some(existing(t.id, t.title.unwrap_or_default()));
        test_id = Some(t.id);
        row = Some(r);
    } else if let Some(eid) = req.engagement_id {
        let r = engagement_by_id(conn, eid)
            .await?
            .filter(|r| guard.product_visible(r.product_type_id, r.product_id))
            .ok_or(ImportError::TargetNotFound {
                kind: TargetKind::Engagement,
                what: eid.to_string(),
            })?;
        check_names(req, &r)?;
        row = Some(r);
    }

    let (product_type, product, engagement) = if let Some(r) = &row {
        (
            existing(r.product_type_id, &r.product_type_name),
            existing(r.product_id, &r.product_name),
            existing(
                r.engagement_id,
                r.engagement_name.clone().unwrap_or_default(),
            ),
        )
    } else {
        let pname = nonblank(&req.product_name).ok_or_else(|| {
            ImportError::invalid(
                "product_name",
                "give an engagement id, or product_name and engagement_name",
            )
        })?;
        let ename = nonblank(&req.engagement_name).ok_or_else(|| {
            ImportError::invalid(
                "engagement_name",
                "give an engagement id, or product_name and engagement_name",
            )
        })?;
        let rows: Vec<ProductRow> = sql_query(
            "SELECT p.id AS product_id, p.name AS product_name, pt.id AS product_type_id, \
             pt.name AS product_type_name FROM products p \
             JOIN product_types pt ON pt.id = p.product_type_id WHERE p.name = $1",
        )
        .bind::<Text, _>(pname)
        .load(conn)
        .await?;
        let found = rows.into_iter().next();
        if found
            .as_ref()
            .is_some_and(|p| !guard.product_visible(p.product_type_id, p.product_id))
        {
            hidden_product = true;
        }
        match found.filter(|_| !hidden_product) {
            Some(p) => {
                if let Some(n) = nonblank(&req.product_type_name)
                    && n != p.product_type_name
                {
                    return Err(mismatch("product_type_name", n, &p.product_type_name));
                }
                let es: Vec<IdName> = sql_query(
                    "SELECT id, name FROM engagements WHERE product_id = $1 AND name = $2 \
                     ORDER BY created_at DESC, id DESC LIMIT 1",
                )
                .bind::<BigInt, _>(p.product_id)
                .bind::<Text, _>(ename)
                .load(conn)
                .await?;
                let engagement = match es.into_iter().next() {
                    Some(e) => existing(e.id, e.name.unwrap_or_default()),
                    None if req.auto_create_context => TargetPart::New {
                        name: ename.to_owned(),
                    },
                    None => {
                        return Err(ImportError::TargetNotFound {
                            kind: TargetKind::Engagement,
                            what: format!("`{ename}` in product `{pname}`"),
                        });
                    }
                };
                (
                    existing(p.product_type_id, p.product_type_name),
                    existing(p.product_id, p.product_name),
                    engagement,
                )
            }
            None if req.auto_create_context => {
                let ptname = nonblank(&req.product_type_name).ok_or_else(|| {
                    ImportError::invalid(
                        "product_type_name",
                        format!("is required to create the product `{pname}`"),
                    )
                })?;
                let pts: Vec<IdName> =
                    sql_query("SELECT id, name FROM product_types WHERE name = $1")
                        .bind::<Text, _>(ptname)
                        .load(conn)
                        .await?;
                let pt = match pts.into_iter().next() {
                    Some(pt) if guard.product_type_visible(pt.id) => existing(pt.id, ptname),
                    found => {
                        // A product type the caller cannot see is presented to
                        // the guard as one to create, so the answer is the
                        // same as for a free name.
                        hidden_product_type = found.is_some();
                        TargetPart::New {
                            name: ptname.to_owned(),
                        }
                    }
                };
                (
                    pt,
                    TargetPart::New {
                        name: pname.to_owned(),
                    },
                    TargetPart::New {
                        name: ename.to_owned(),
                    },
                )
            }
            None => {
                return Err(ImportError::TargetNotFound {
                    kind: TargetKind::Product,
                    what: format!("`{pname}`"),
                });
            }
        }
    };

    if kind == ImportKind::Reimport
        && test.is_none()
        && let Some(scan_type) = scan_type
    {
        if let Some(eid) = engagement.id() {
            let mut sql = String::from(
                "SELECT id, engagement_id, title FROM tests WHERE engagement_id = $1 AND scan_type = $2",
            );
            if nonblank(&req.test_title).is_some() {
                sql.push_str(" AND title = $3");
            } else {
                sql.push_str(" AND $3::text IS NULL");
            }
            sql.push_str(" ORDER BY created_at DESC, id DESC LIMIT 1");
            let rows: Vec<TestRow> = sql_query(sql)
                .bind::<BigInt, _>(eid)
                .bind::<Text, _>(scan_type)
                .bind::<Nullable<Text>, _>(nonblank(&req.test_title))
                .load(conn)
                .await?;
            if let Some(t) = rows.into_iter().next() {
                test = Some(existing(t.id, t.title.unwrap_or_default()));
                test_id = Some(t.id);
            }
        }
        if test.is_none() {
            if req.auto_create_context {
                return Ok(None);
            }
            return Err(ImportError::TargetNotFound {
                kind: TargetKind::Test,
                what: format!("of scan type `{scan_type}` in the target engagement"),
            });
        }
    }

    let resolved = ResolvedTarget {
        kind,
        product_type: product_type.clone(),
        product: product.clone(),
        engagement: engagement.clone(),
        test,
    };
    guard
        .authorize(&resolved)
        .map_err(|d| ImportError::PermissionDenied(d.0))?;
    Ok(Some(Plan {
        product_type,
        product,
        engagement,
        test_id,
        hidden_product_type,
        hidden_product,
    }))
}

/// Resolves the target and asks the guard without writing or locking
/// anything: the check run before a report is parsed or queued.
///
/// A reimport's test is only looked up by id here: finding it by scan type
/// needs the plugin's spelling of the scan type, known after parsing, and
/// the permissions asked do not depend on which test of the engagement it is.
pub async fn preflight(
    conn: &mut AsyncPgConnection,
    kind: ImportKind,
    req: &ImportRequest,
    guard: &dyn super::ImportGuard,
) -> Result<(), ImportError> {
    plan(conn, kind, req, None, guard).await.map(drop)
}

/// Resolves the target, asks the guard, then creates what is missing.
///
/// Returns `None` for a reimport whose test does not exist while
/// `auto_create_context` is set: the caller falls back to an import.
pub async fn resolve(
    conn: &mut AsyncPgConnection,
    kind: ImportKind,
    req: &ImportRequest,
    scan_type: &str,
    actor: Option<i64>,
    guard: &dyn super::ImportGuard,
    today: NaiveDate,
) -> Result<Option<Target>, ImportError> {
    if req.auto_create_context
        && let Some(name) = nonblank(&req.product_name)
    {
        // Two imports auto-creating one product (or engagement) must not both create it.
        sql_query("SELECT pg_advisory_xact_lock(727301, hashtext($1))")
            .bind::<Text, _>(name)
            .execute(conn)
            .await?;
        if let Some(pt) = nonblank(&req.product_type_name) {
            // Nor one product type (a lock in its own key space, taken second,
            // so the order is the same in every import).
            sql_query("SELECT pg_advisory_xact_lock(727303, hashtext($1))")
                .bind::<Text, _>(pt)
                .execute(conn)
                .await?;
        }
    }
    let Some(Plan {
        product_type,
        product,
        engagement,
        test_id,
        hidden_product_type,
        hidden_product,
    }) = plan(conn, kind, req, Some(scan_type), guard).await?
    else {
        return Ok(None);
    };
    // Only a caller who could create the name gets here; the name is taken
    // by something they cannot see, which must not be written into.
    if hidden_product_type {
        return Err(ImportError::invalid(
            "product_type_name",
            "this name cannot be used; choose another one",
        ));
    }
    if hidden_product {
        return Err(ImportError::invalid(
            "product_name",
            "this name cannot be used; choose another one",
        ));
    }

    // Nothing was written so far; create what is missing.
    let product_type_id = match &product_type {
        TargetPart::Existing { id, .. } => *id,
        TargetPart::New { name } => {
            super::request::check_len("product_type_name", name, 255)?;
            let rows: Vec<IdName> = sql_query(
                "WITH i AS (INSERT INTO product_types (name) VALUES ($1) \
                 ON CONFLICT (name) DO NOTHING RETURNING id, name) \
                 SELECT id, name FROM i UNION ALL \
                 SELECT id, name FROM product_types WHERE name = $1",
            )
            .bind::<Text, _>(name)
            .load(conn)
            .await?;
            rows.into_iter()
                .next()
                .map(|r| r.id)
                .ok_or(diesel::result::Error::NotFound)?
        }
    };
    let product_id = match &product {
        TargetPart::Existing { id, .. } => *id,
        TargetPart::New { name } => {
            super::request::check_len("product_name", name, 255)?;
            let rows: Vec<IdName> = sql_query(
                "INSERT INTO products (name, description, product_type_id) VALUES ($1, $1, $2) \
                 RETURNING id, name",
            )
            .bind::<Text, _>(name)
            .bind::<BigInt, _>(product_type_id)
            .load(conn)
            .await?;
            rows.into_iter()
                .next()
                .map(|r| r.id)
                .ok_or(diesel::result::Error::NotFound)?
        }
    };
    let engagement_id = match &engagement {
        TargetPart::Existing { id, .. } => *id,
        TargetPart::New { name } => {
            super::request::check_len("engagement_name", name, 300)?;
            let end = req
                .engagement_end_date
                .unwrap_or(today + Duration::days(365));
            let rows: Vec<IdName> = sql_query(
                "INSERT INTO engagements (product_id, name, target_start, target_end, lead_id, \
                 status, engagement_type, deduplication_on_engagement, source_code_management_uri) \
                 VALUES ($1, $2, $3, $4, $5, 'In Progress', 'CI/CD', $6, $7) RETURNING id, name",
            )
            .bind::<BigInt, _>(product_id)
            .bind::<Text, _>(name)
            .bind::<Date, _>(today)
            .bind::<Date, _>(end)
            .bind::<Nullable<BigInt>, _>(req.lead_id.or(actor))
            .bind::<Bool, _>(req.deduplication_on_engagement)
            .bind::<Nullable<Text>, _>(nonblank(&req.source_code_management_uri))
            .load(conn)
            .await?;
            rows.into_iter()
                .next()
                .map(|r| r.id)
                .ok_or(diesel::result::Error::NotFound)?
        }
    };
    #[derive(QueryableByName)]
    struct Flags {
        #[diesel(sql_type = Bool)]
        deduplication_on_engagement: bool,
        #[diesel(sql_type = Bool)]
        ci: bool,
    }
    let flags: Vec<Flags> = sql_query(
        "SELECT deduplication_on_engagement, engagement_type = 'CI/CD' AS ci \
         FROM engagements WHERE id = $1",
    )
    .bind::<BigInt, _>(engagement_id)
    .load(conn)
    .await?;
    let flags = flags
        .into_iter()
        .next()
        .ok_or(diesel::result::Error::NotFound)?;
    Ok(Some(Target {
        kind,
        product_type_id,
        product_id,
        engagement_id,
        engagement_scoped: flags.deduplication_on_engagement,
        engagement_ci: flags.ci,
        test_id,
    }))
}
