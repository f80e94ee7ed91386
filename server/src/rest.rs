//! DefectDojo-compatible REST endpoints, so an unchanged CI step imports into
//! Palisade: `POST /api/v2/import-scan/` and `POST /api/v2/reimport-scan/`
//! (multipart forms with DefectDojo's field names, defaults and response
//! shape), plus `GET /api/v2/jobs/{id}/` for background imports.
//!
//! Authentication is `Authorization: Token <key>` (or `Bearer`). Errors
//! follow Django REST framework: 401/403 with `{"detail": …}`, 400 with
//! `{"field": ["message"]}`. Unknown form fields are ignored, as DefectDojo
//! does. The report streams to a temporary file with the upload limit.

mod form;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use serde_json::{Value, json};

use form::{FieldError, Form, FormError};

use crate::app::AppState;
use crate::auth::{AuthError, Principal};
use crate::authz::AuthzGuard;
use crate::domain::severity::Severity;
use crate::import::{
    GroupBy, ImportError, ImportKind, ImportOutcome, ImportRequest, ReportSource, TargetKind,
};
use crate::plugins::PluginError;

/// An error answer: small enough to travel in `Result`s, a response at the end.
struct Rejection {
    status: StatusCode,
    body: Value,
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

fn detail(status: StatusCode, message: &str) -> Rejection {
    Rejection {
        status,
        body: json!({"detail": message}),
    }
}

impl From<FieldError> for Rejection {
    fn from(e: FieldError) -> Self {
        field_error(&e.field, e.message)
    }
}

fn form_rejection(e: FormError, limit: u64) -> Rejection {
    match e {
        FormError::NotMultipart => detail(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type in request: send multipart/form-data with a boundary.",
        ),
        FormError::TooLarge => too_large(limit),
        FormError::Malformed(m) => detail(
            StatusCode::BAD_REQUEST,
            &format!("Multipart form parse error - {m}"),
        ),
        FormError::Field(f) => f.into(),
        FormError::Spool(e) => {
            tracing::error!(error = %e, "spooling an upload failed");
            detail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The upload could not be stored; nothing was imported.",
            )
        }
    }
}

fn field_error(field: &str, message: impl Into<String>) -> Rejection {
    let mut body = serde_json::Map::new();
    body.insert(field.to_owned(), json!([message.into()]));
    Rejection {
        status: StatusCode::BAD_REQUEST,
        body: Value::Object(body),
    }
}

async fn principal(state: &AppState, headers: &HeaderMap) -> Result<Principal, Rejection> {
    let value = match headers.get(header::AUTHORIZATION) {
        None => {
            return Err(detail(
                StatusCode::UNAUTHORIZED,
                "Authentication credentials were not provided.",
            ));
        }
        Some(v) => v
            .to_str()
            .map_err(|_| detail(StatusCode::UNAUTHORIZED, "Invalid token header."))?,
    };
    match crate::auth::authenticate_header(&state.db, Some(value)).await {
        Ok(Some(p)) => Ok(p),
        Ok(None) | Err(AuthError::InvalidToken) => {
            Err(detail(StatusCode::UNAUTHORIZED, "Invalid token."))
        }
        Err(AuthError::Malformed) => Err(detail(
            StatusCode::UNAUTHORIZED,
            "Invalid token header. Use `Token <key>`.",
        )),
        Err(AuthError::Db(e)) => {
            tracing::error!(error = %e, "authentication lookup failed");
            Err(detail(
                StatusCode::SERVICE_UNAVAILABLE,
                "The credential store is unavailable.",
            ))
        }
    }
}

fn too_large(limit: u64) -> Rejection {
    detail(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!(
            "The upload is larger than the limit of {limit} bytes (PALISADE_MAX_UPLOAD_BYTES)."
        ),
    )
}

fn request_from(form: &Form, kind: ImportKind, actor: i64) -> Result<ImportRequest, Rejection> {
    let minimum_severity = match form.text("minimum_severity") {
        None => None,
        Some(v) => Some(Severity::parse(v).ok_or_else(|| {
            field_error(
                "minimum_severity",
                format!("\"{v}\" is not a valid choice."),
            )
        })?),
    };
    let group_by =
        match form.text("group_by") {
            None => None,
            Some(v) => Some(GroupBy::parse(v).ok_or_else(|| {
                field_error("group_by", format!("\"{v}\" is not a valid choice."))
            })?),
        };
    // API scan configurations belong to API-connector parsers, which this
    // server does not have: no id can name one (DefectDojo's answer for an
    // id that does not exist).
    if let Some(id) = form.id("api_scan_configuration")? {
        return Err(field_error(
            "api_scan_configuration",
            format!("Invalid pk \"{id}\" - object does not exist."),
        ));
    }
    let Some((file, file_name)) = &form.file else {
        return Err(field_error("file", "No file was submitted."));
    };
    Ok(ImportRequest {
        scan_type: form.string("scan_type"),
        report: ReportSource::Path(file.path().to_owned()),
        file_name: Some(file_name.clone()),
        product_type_name: form.string("product_type_name"),
        product_name: form.string("product_name"),
        engagement_name: form.string("engagement_name"),
        engagement_id: form.id("engagement")?,
        test_id: match kind {
            ImportKind::Reimport => form.id("test")?,
            ImportKind::Import => None,
        },
        test_title: form.string("test_title"),
        auto_create_context: form.bool("auto_create_context", false)?,
        deduplication_on_engagement: form.bool("deduplication_on_engagement", false)?,
        engagement_end_date: form.date("engagement_end_date")?,
        source_code_management_uri: form.string("source_code_management_uri"),
        lead_id: Some(form.id("lead")?.unwrap_or(actor)),
        minimum_severity,
        // Unset keeps what the scanner said.
        active: form.opt_bool("active")?,
        verified: form.opt_bool("verified")?,
        scan_date: form.date("scan_date")?,
        tags: form.tags(),
        apply_tags_to_findings: form.bool("apply_tags_to_findings", false)?,
        apply_tags_to_endpoints: form.bool("apply_tags_to_endpoints", false)?,
        endpoint_to_add: form.id("endpoint_to_add")?,
        version: form.string("version"),
        build_id: form.string("build_id"),
        branch_tag: form.string("branch_tag"),
        commit_hash: form.string("commit_hash"),
        service: form.string("service"),
        environment: form.string("environment"),
        close_old_findings: form.opt_bool("close_old_findings")?,
        close_old_findings_product_scope: form.bool("close_old_findings_product_scope", false)?,
        do_not_reactivate: form.bool("do_not_reactivate", false)?,
        group_by,
        create_finding_groups_for_all_findings: form
            .opt_bool("create_finding_groups_for_all_findings")?,
        push_to_jira: form.bool("push_to_jira", false)?,
    })
}

fn error_response(e: ImportError, kind: ImportKind) -> Rejection {
    match e {
        ImportError::TargetNotFound {
            kind: what_kind,
            what,
        } if kind == ImportKind::Reimport => detail(
            StatusCode::NOT_FOUND,
            &format!("{what_kind} {what} not found"),
        ),
        ImportError::PermissionDenied(m) => detail(StatusCode::FORBIDDEN, &m),
        ImportError::Plugin(e) => plugin_error_response(&e),
        ImportError::ReadReport { message, .. } => field_error("file", message),
        ImportError::TargetNotFound { kind, what } => {
            let field = match kind {
                TargetKind::Engagement => "engagement",
                TargetKind::Test => "test",
                TargetKind::Product => "product_name",
            };
            field_error(field, format!("{kind} {what} not found"))
        }
        ImportError::AmbiguousTarget(m) => field_error("non_field_errors", m),
        ImportError::InvalidParameter { field, message } => field_error(field, message),
        ImportError::Database(e) => {
            tracing::error!(error = %e, "import failed in the database");
            detail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The import failed; nothing was stored.",
            )
        }
        ImportError::Busy(m) => detail(StatusCode::TOO_MANY_REQUESTS, &m),
        ImportError::Unavailable(m) => {
            tracing::error!(error = %m, "import failed: database unavailable");
            detail(
                StatusCode::SERVICE_UNAVAILABLE,
                "The database is unavailable; nothing was stored.",
            )
        }
    }
}

/// A plugin failure as DefectDojo's client sees it: what is wrong with the
/// request names its field (`scan_type`, `file`); a spent budget is a 422
/// saying which; a broken plugin is a 500, explained only in the log.
fn plugin_error_response(e: &PluginError) -> Rejection {
    match e {
        PluginError::UnknownScanType { .. }
        | PluginError::NotRecognised
        | PluginError::Ambiguous { .. } => field_error("scan_type", e.to_string()),
        PluginError::Guest { .. }
        | PluginError::ReportTooLarge { .. }
        | PluginError::OutputLimit { .. } => field_error("file", e.to_string()),
        PluginError::Timeout { .. } => detail(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("Parser timeout: {e}. Nothing was stored."),
        ),
        PluginError::MemoryLimit { .. } => detail(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("Parser memory limit: {e}. Nothing was stored."),
        ),
        PluginError::Busy { .. } | PluginError::UserBusy { .. } => {
            detail(StatusCode::TOO_MANY_REQUESTS, &e.to_string())
        }
        _ => {
            tracing::error!(error = %e, "import failed in its parser plugin");
            detail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The parser plugin failed; nothing was stored.",
            )
        }
    }
}

/// DefectDojo's response body for a finished import.
fn outcome_body(req: &ImportRequest, o: &ImportOutcome) -> Value {
    json!({
        "scan_type": o.scan_type,
        "test": o.test_id,
        "test_id": o.test_id,
        "engagement": o.engagement_id,
        "engagement_id": o.engagement_id,
        "product_id": o.product_id,
        "product_type_id": o.product_type_id,
        "test_import_id": o.test_import_id,
        "deduplication_complete": o.deduplication_complete,
        "scan_date": req.scan_date,
        "minimum_severity": req.minimum_severity.map_or("Info", Severity::as_str),
        "active": req.active,
        "verified": req.verified,
        "tags": req.tags,
        "version": req.version,
        "build_id": req.build_id,
        "branch_tag": req.branch_tag,
        "commit_hash": req.commit_hash,
        "close_old_findings": req.close_old_findings.unwrap_or(o.kind == ImportKind::Reimport),
        "push_to_jira": req.push_to_jira,
        "statistics": {
            "before": o.statistics.before,
            "after": o.statistics.after,
            "delta": o.statistics.delta,
        },
        "pro": [],
    })
}

/// The answer to a `lead` that names no user the import may use: the same
/// for a missing user, an inactive one and one who cannot read the product.
fn unknown_lead(id: i64) -> Rejection {
    field_error(
        "lead",
        format!("Invalid pk \"{id}\" - object does not exist."),
    )
}

/// The lead named by the form, when it is not the importer: an active user,
/// else [`unknown_lead`]. Whether they may read the product is checked once
/// the target is resolved, by [`LeadGuard`].
async fn lead_subject(
    state: &AppState,
    req: &ImportRequest,
    actor: i64,
) -> Result<Option<crate::authz::Subject>, Rejection> {
    let Some(id) = req.lead_id.filter(|id| *id != actor) else {
        return Ok(None);
    };
    let unavailable = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "looking up an import's lead failed");
        detail(
            StatusCode::SERVICE_UNAVAILABLE,
            "The database is unavailable; nothing was stored.",
        )
    };
    let mut conn = state.db.conn().await.map_err(|e| unavailable(&e))?;
    match crate::db::models::user::User::by_id(&mut conn, id).await {
        Ok(Some(u)) if u.is_active => Ok(Some(crate::authz::Subject {
            user_id: u.id,
            is_superuser: u.is_superuser,
        })),
        Ok(_) => Err(unknown_lead(id)),
        Err(e) => Err(unavailable(&e)),
    }
}

/// The importer's guard, plus: the lead (when not the importer) must be able
/// to read the product the import goes into, so `lead` cannot attach any
/// account to a product or tell which user ids exist.
struct LeadGuard<'a> {
    inner: &'a AuthzGuard,
    lead: Option<crate::authz::Subject>,
    refused: std::sync::atomic::AtomicBool,
}

impl crate::import::ImportGuard for LeadGuard<'_> {
    // Visibility is the caller's, never the lead's: forward it, or the
    // defaults would let target resolution name hidden products.
    fn product_visible(&self, product_type_id: i64, product_id: i64) -> bool {
        self.inner.product_visible(product_type_id, product_id)
    }

    fn product_type_visible(&self, product_type_id: i64) -> bool {
        self.inner.product_type_visible(product_type_id)
    }

    fn authorize(
        &self,
        t: &crate::import::ResolvedTarget,
    ) -> Result<(), crate::import::GuardDenied> {
        use crate::authz::{Object, Permission};
        use crate::import::TargetPart;
        self.inner.authorize(t)?;
        let Some(lead) = self.lead else {
            return Ok(());
        };
        // A product about to be created is readable by whoever reads its
        // product type (or, for a new type, holds a global role).
        let object = match (&t.product_type, &t.product) {
            (TargetPart::Existing { id: pt, .. }, TargetPart::Existing { id, .. }) => {
                Object::Product {
                    id: *id,
                    product_type_id: *pt,
                }
            }
            (TargetPart::Existing { id: pt, .. }, TargetPart::New { .. }) => {
                Object::ProductType(*pt)
            }
            (TargetPart::New { .. }, _) => Object::Global,
        };
        if self.inner.authz.can(lead, Permission::Product_View, object) {
            return Ok(());
        }
        self.refused
            .store(true, std::sync::atomic::Ordering::SeqCst);
        Err(crate::import::GuardDenied("lead".to_owned()))
    }
}

async fn handle(state: AppState, headers: HeaderMap, body: Body, kind: ImportKind) -> Response {
    let p = match principal(&state, &headers).await {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let limit = state.config.http.max_upload_bytes;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let form = match form::read(content_type, body.into_data_stream(), limit).await {
        Ok(f) => f,
        Err(e) => return form_rejection(e, limit).into_response(),
    };
    let req = match request_from(&form, kind, p.user_id) {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    let run_async = match form.bool("async", false) {
        Ok(b) => b,
        Err(e) => return Rejection::from(e).into_response(),
    };
    // A background job runs later under its creator's guard alone, which
    // cannot vouch for another lead: such a lead needs a synchronous import.
    // Refused before any lookup so it tells nothing about the user.
    if run_async && req.lead_id.is_some_and(|l| l != p.user_id) {
        return field_error(
            "lead",
            "a lead other than yourself is accepted only with async=false",
        )
        .into_response();
    }
    let lead = match lead_subject(&state, &req, p.user_id).await {
        Ok(l) => l,
        Err(r) => return r.into_response(),
    };
    let authz_guard = AuthzGuard {
        authz: state.authz.clone(),
        subject: p.subject(),
    };
    if run_async {
        let caps = state.config.import.queue_caps();
        return match crate::import::enqueue_import_checked(
            &state.db,
            kind,
            Some(p.user_id),
            &req,
            &authz_guard,
            caps,
        )
        .await
        {
            Ok(id) => (
                StatusCode::ACCEPTED,
                Json(json!({"job_id": id, "status": "queued", "status_url": format!("/api/v2/jobs/{id}/")})),
            )
                .into_response(),
            Err(e) => error_response(e, kind).into_response(),
        };
    }
    let guard = LeadGuard {
        inner: &authz_guard,
        lead,
        refused: std::sync::atomic::AtomicBool::new(false),
    };
    let result = state
        .importer
        .run(
            kind,
            Some(p.user_id),
            &guard,
            &req,
            crate::import::Source::Report,
        )
        .await;
    drop(form);
    match result {
        Ok(o) => {
            if let Err(e) = state.authz.reload(&state.db).await {
                tracing::warn!(error = %e, "policy reload after an import failed");
            }
            (StatusCode::CREATED, Json(outcome_body(&req, &o))).into_response()
        }
        Err(ImportError::PermissionDenied(_))
            if guard.refused.load(std::sync::atomic::Ordering::SeqCst) =>
        {
            unknown_lead(req.lead_id.unwrap_or_default()).into_response()
        }
        Err(e) => error_response(e, kind).into_response(),
    }
}

/// `POST /api/v2/import-scan/`.
pub async fn import_scan(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(state, headers, body, ImportKind::Import).await
}

/// `POST /api/v2/reimport-scan/`.
pub async fn reimport_scan(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(state, headers, body, ImportKind::Reimport).await
}

/// `GET /api/v2/jobs/{id}/`: a background import's state and, once done,
/// the import's response body.
pub async fn job(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    let p = match principal(&state, &headers).await {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    match crate::graphql::import::visible_job(&state.db, p.subject(), id).await {
        Ok(Some(j)) => {
            let result: Option<Value> = j
                .result
                .as_deref()
                .and_then(|r| serde_json::from_str(r).ok());
            Json(json!({
                "id": j.id,
                "kind": j.kind,
                "status": j.status,
                "attempts": j.attempts,
                "progress_done": j.progress_done,
                "progress_total": j.progress_total,
                "last_error": j.last_error,
                "created": j.created_at,
                "finished": j.finished_at,
                "result": result,
            }))
            .into_response()
        }
        Ok(None) => detail(StatusCode::NOT_FOUND, "Not found.").into_response(),
        Err(e) => error_response(e, ImportKind::Import).into_response(),
    }
}
