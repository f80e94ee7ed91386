//! The single sign-on endpoints.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};

use super::oidc::OidcError;
use crate::app::AppState;

fn error(status: StatusCode, e: &OidcError) -> Response {
    (status, Json(serde_json::json!({"error": e.to_string()}))).into_response()
}

fn status_of(e: &OidcError) -> StatusCode {
    match e {
        OidcError::Disabled => StatusCode::NOT_FOUND,
        OidcError::State | OidcError::Refused(_) | OidcError::Token(_) => StatusCode::UNAUTHORIZED,
        OidcError::Provider(_) => StatusCode::BAD_GATEWAY,
        OidcError::Config(_) | OidcError::Db(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `GET /auth/oidc/login`: redirects to the identity provider.
pub async fn oidc_login(State(state): State<AppState>) -> Response {
    let Some(oidc) = &state.oidc else {
        return error(StatusCode::NOT_FOUND, &OidcError::Disabled);
    };
    match oidc.begin(&state.db).await {
        Ok(url) => (StatusCode::FOUND, [(header::LOCATION, url)]).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "single sign-on could not start");
            error(status_of(&e), &e)
        }
    }
}

/// `GET /auth/oidc/callback?code=…&state=…`: finishes the sign-in and
/// answers a session token as JSON.
pub async fn oidc_callback(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(oidc) = &state.oidc else {
        return error(StatusCode::NOT_FOUND, &OidcError::Disabled);
    };
    if let Some(err) = params.get("error") {
        let e = OidcError::Refused(err.clone());
        return error(status_of(&e), &e);
    }
    let (Some(code), Some(login_state)) = (params.get("code"), params.get("state")) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": "the callback needs `code` and `state`"})),
        )
            .into_response();
    };
    let signed_in = match oidc.complete(&state.db, code, login_state).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "single sign-on failed");
            return error(status_of(&e), &e);
        }
    };
    if let Err(e) = state.authz.reload(&state.db).await {
        tracing::warn!(error = %e, "policy reload after sign-on failed");
    }
    match super::issue_session(
        &state.db,
        signed_in.user.id,
        state.config.auth.session_ttl_secs,
    )
    .await
    {
        Ok((token, expires_at)) => {
            tracing::info!(user = %signed_in.user.username, created = signed_in.created, "signed in through single sign-on");
            Json(serde_json::json!({
                "token": token.secret,
                "expiresAt": expires_at,
                "username": signed_in.user.username,
                "created": signed_in.created,
                "groups": signed_in.groups,
            }))
            .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "issuing a session failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(serde_json::json!({"error": "could not issue a session"})),
            )
                .into_response()
        }
    }
}
