//! `GET /files/{id}`: the download of an attached file, for whoever may read
//! the object it is attached to (the same credentials as the API). A file
//! the caller may not read answers 404 exactly like a missing one.
//!
//! Uploaded content is never rendered as a page of this origin: only PNG,
//! JPEG, GIF and WebP images whose bytes are of that format are served
//! inline (reports and the dashboard show them); everything else is an
//! `application/octet-stream` attachment, and every answer forbids sniffing
//! and scripts.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::authz::{Object, Permission};
use crate::db::models::file::{FileParent, StoredFile};
use crate::graphql::ids::{self, Kind};

fn status(code: StatusCode, message: &'static str) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response()
}

/// The image type `content` really is, if it is one served inline.
fn inline_image(content: &[u8]) -> Option<&'static str> {
    if content.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if content.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if content.starts_with(b"GIF87a") || content.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if content.len() >= 12 && &content[..4] == b"RIFF" && &content[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// `filename*` of a Content-Disposition header (RFC 6266/5987).
fn disposition(kind: &str, name: &str) -> HeaderValue {
    let mut encoded = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    HeaderValue::from_str(&format!("{kind}; filename*=UTF-8''{encoded}"))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// The download handler.
pub async fn download(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let principal = match crate::auth::authenticate_header(&state.db, value).await {
        Ok(Some(p)) => p,
        Ok(None)
        | Err(crate::auth::AuthError::InvalidToken | crate::auth::AuthError::Malformed) => {
            return status(StatusCode::UNAUTHORIZED, "authentication required");
        }
        Err(crate::auth::AuthError::Db(e)) => {
            tracing::error!(error = %e, "authentication lookup failed");
            return status(
                StatusCode::SERVICE_UNAVAILABLE,
                "the credential store is unavailable",
            );
        }
    };
    let not_found = || status(StatusCode::NOT_FOUND, "no such file");
    let Ok(n) = ids::decode(&async_graphql::ID(id), Kind::File) else {
        return not_found();
    };
    let mut conn = match state.db.conn().await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "no database connection for a download");
            return status(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is unavailable",
            );
        }
    };
    let file = match StoredFile::find(&mut conn, n).await {
        Ok(Some(f)) => f,
        Ok(None) => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, "reading a file");
            return status(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the file could not be read",
            );
        }
    };
    let product =
        match crate::db::models::hierarchy::Product::by_ids(&mut conn, &[file.product_id]).await {
            Ok(rows) => rows.into_iter().next(),
            Err(e) => {
                tracing::error!(error = %e, "reading a file's product");
                return status(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the file could not be read",
                );
            }
        };
    let Some(product) = product else {
        return not_found();
    };
    let permission = match file.parent() {
        Some(FileParent::Finding(_)) => Permission::Finding_View,
        Some(FileParent::Test(_)) => Permission::Test_View,
        Some(FileParent::RiskAcceptance(_)) => Permission::Engagement_View,
        _ => Permission::Engagement_View,
    };
    let object = Object::Product {
        id: product.id,
        product_type_id: product.product_type_id,
    };
    if !state.authz.can(principal.subject(), permission, object) {
        return not_found();
    }
    let content = match StoredFile::content(&mut conn, n).await {
        Ok(Some(c)) => c,
        Ok(None) => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, "reading a file's content");
            return status(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the file could not be read",
            );
        }
    };
    let (content_type, kind) = match inline_image(&content) {
        Some(t) if file.content_type.eq_ignore_ascii_case(t) => (t, "inline"),
        _ => ("application/octet-stream", "attachment"),
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition(kind, &file.name)),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; sandbox"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-cache"),
            ),
            (
                header::ETAG,
                HeaderValue::from_str(&format!("\"{}\"", file.sha256))
                    .unwrap_or_else(|_| HeaderValue::from_static("\"\"")),
            ),
        ],
        content,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_images_are_inline() {
        assert_eq!(inline_image(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(inline_image(b"GIF89a..."), Some("image/gif"));
        assert_eq!(inline_image(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(inline_image(b"<svg onload=alert(1)>"), None);
        assert_eq!(inline_image(b"<html>"), None);
    }

    #[test]
    fn names_are_percent_encoded() {
        assert_eq!(
            disposition("attachment", "a b\"é.txt"),
            "attachment; filename*=UTF-8''a%20b%22%C3%A9.txt"
        );
    }
}
