//! The index of routes: every HTTP endpoint and the layers around them. The
//! handlers live with their area (`graphql::http`, `rest`, `auth::http`);
//! the health probes are here.

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, State};
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use tower_http::trace::TraceLayer;

use crate::app::AppState;
use crate::db::{self, Db};
use crate::graphql;

/// All routes.
pub fn router(state: AppState) -> Router {
    let body_limit = usize::try_from(state.config.http.max_upload_bytes).unwrap_or(usize::MAX);
    Router::new()
        .route(
            "/graphql",
            get(graphql::http::graphql_get).post(graphql::http::graphql_post),
        )
        .route("/graphiql", get(graphql::http::graphiql))
        .route("/graphql/ws", get(graphql::http::graphql_ws))
        .route(
            "/api/v2/import-scan/",
            axum::routing::post(crate::rest::import_scan),
        )
        .route(
            "/api/v2/reimport-scan/",
            axum::routing::post(crate::rest::reimport_scan),
        )
        .route("/api/v2/jobs/{id}/", get(crate::rest::job))
        .route("/files/{id}", get(crate::files::download))
        .route("/auth/oidc/login", get(crate::auth::http::oidc_login))
        .route("/auth/oidc/callback", get(crate::auth::http::oidc_callback))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let path = req
                    .extensions()
                    .get::<MatchedPath>()
                    .map(MatchedPath::as_str)
                    .unwrap_or("unmatched");
                tracing::info_span!("http", http.method = %req.method(), http.route = path)
            }),
        )
        .with_state(state)
}

/// The process is alive.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers and every migration of this binary is applied.
async fn readyz(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(Duration::from_secs(3), check_ready(&state.db)).await {
        Ok(Ok(())) => Json(serde_json::json!({"status": "ready"})).into_response(),
        Ok(Err(reason)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "not ready", "reason": reason})),
        )
            .into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "not ready", "reason": "database did not answer within 3 s"})),
        )
            .into_response(),
    }
}

async fn check_ready(db: &Db) -> Result<(), String> {
    // Anyone may ask, so the driver's text (host, database and role names)
    // only goes to the log.
    let mut conn = db.conn().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness: database unreachable");
        "database unreachable".to_owned()
    })?;
    let applied = db::models::applied_migration_version(&mut conn)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "readiness: cannot read the migration table");
            "cannot read the migration table".to_owned()
        })?;
    let expected = db::latest_migration_version();
    if applied.is_some() && applied == expected {
        Ok(())
    } else {
        Err(format!(
            "migrations pending: database at {}, binary expects {}",
            applied.as_deref().unwrap_or("none"),
            expected.as_deref().unwrap_or("none")
        ))
    }
}
