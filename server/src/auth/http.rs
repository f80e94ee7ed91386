//! The single sign-on endpoints.
//!
//! The browser that starts a sign-in gets an HttpOnly cookie holding a hash
//! of the sign-in's `state`, and the callback is only honoured with it: a
//! callback URL seen by someone else (a log, a Referer, browser history) is
//! useless without the cookie. The callback's answer carries a session token
//! and is never cached.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use sha2::{Digest, Sha256};

use super::oidc::OidcError;
use crate::app::AppState;

/// The cookie binding a started sign-in to its browser.
const STATE_COOKIE: &str = "palisade_oidc_state";

fn error(status: StatusCode, e: &OidcError) -> Response {
    (status, Json(serde_json::json!({"error": e.to_string()}))).into_response()
}

fn state_hash(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}

/// The cookie's path and whether it needs `Secure`: those of the callback
/// URL, so the cookie goes back only to the callback.
fn cookie_scope(redirect_url: Option<&str>) -> (String, bool) {
    match redirect_url.and_then(|u| url::Url::parse(u).ok()) {
        Some(u) => (u.path().to_owned(), u.scheme() == "https"),
        None => ("/".to_owned(), false),
    }
}

fn state_cookie(value: &str, max_age: i64, redirect_url: Option<&str>) -> Option<HeaderValue> {
    let (path, secure) = cookie_scope(redirect_url);
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{STATE_COOKIE}={value}; Max-Age={max_age}; Path={path}; HttpOnly; SameSite=Lax{secure}"
    ))
    .ok()
}

/// Whether the request carries the cookie of the sign-in with `state`.
fn cookie_matches(headers: &HeaderMap, state: &str) -> bool {
    let want = state_hash(state);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == STATE_COOKIE)
        .any(|(_, value)| {
            // Equal length and every byte compared, whatever matches first.
            value.len() == want.len()
                && value
                    .bytes()
                    .zip(want.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        })
}

/// The callback's answers carry a session token or its failure: never stored
/// by a browser or proxy cache, and the binding cookie is cleared.
fn finish(mut resp: Response, redirect_url: Option<&str>) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if let Some(c) = state_cookie("", 0, redirect_url) {
        h.append(header::SET_COOKIE, c);
    }
    resp
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
        Ok((url, login_state)) => {
            let mut resp = (StatusCode::FOUND, [(header::LOCATION, url)]).into_response();
            let redirect = oidc.config().redirect_url.as_deref();
            // As long as the server keeps the state (ten minutes).
            if let Some(c) = state_cookie(&state_hash(&login_state), 600, redirect) {
                resp.headers_mut().insert(header::SET_COOKIE, c);
            }
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
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
    headers: HeaderMap,
) -> Response {
    let Some(oidc) = &state.oidc else {
        return error(StatusCode::NOT_FOUND, &OidcError::Disabled);
    };
    let redirect = oidc.config().redirect_url.clone();
    finish(
        callback(&state, oidc, &params, &headers).await,
        redirect.as_deref(),
    )
}

async fn callback(
    state: &AppState,
    oidc: &super::oidc::Oidc,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Response {
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
    // Checked before the state is used up, so a replayed URL does not spoil
    // the real browser's sign-in.
    if !cookie_matches(headers, login_state) {
        tracing::warn!("single sign-on callback without the browser's state cookie");
        return error(StatusCode::UNAUTHORIZED, &OidcError::State);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_cookie_of_this_state_matches() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=b; {STATE_COOKIE}={}", state_hash("s1")))
                .expect("value"),
        );
        assert!(cookie_matches(&h, "s1"));
        assert!(!cookie_matches(&h, "s2"));
        assert!(!cookie_matches(&HeaderMap::new(), "s1"));
    }

    #[test]
    fn the_cookie_is_scoped_to_the_callback() {
        let c = state_cookie("v", 600, Some("https://p.example/sso/auth/oidc/callback"))
            .expect("cookie");
        let c = c.to_str().expect("text");
        assert!(c.contains("Path=/sso/auth/oidc/callback"), "{c}");
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Secure"));
        let c = state_cookie("v", 0, Some("http://localhost/auth/oidc/callback")).expect("cookie");
        assert!(!c.to_str().expect("text").contains("Secure"));
    }
}
