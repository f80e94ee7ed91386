//! GraphQL over HTTP (GET and POST, both media types, the spec's status
//! codes), GraphiQL for browsers, and the WebSocket endpoint.

use async_graphql::ServerError;
use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource, MultipartOptions};
use async_graphql::parser::types::OperationType;
use axum::body::Body;
use axum::extract::{ConnectInfo, RawQuery, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use futures::TryStreamExt;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::context::RequestContext;
use super::loaders::Loaders;
use crate::app::AppState;
use crate::auth::AuthError;
use crate::db::QueryCounter;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// Which response media type the client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    GraphqlResponse,
    Json,
}

fn negotiate(headers: &HeaderMap) -> Result<MediaType, Box<Response>> {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if accept.trim().is_empty() {
        return Ok(MediaType::Json);
    }
    let mut json = false;
    for part in accept.split(',') {
        let media = part.split(';').next().unwrap_or("").trim();
        match media {
            GRAPHQL_RESPONSE => return Ok(MediaType::GraphqlResponse),
            JSON | "application/*" | "*/*" => json = true,
            _ => {}
        }
    }
    if json {
        Ok(MediaType::Json)
    } else {
        Err(Box::new(
            (
                StatusCode::NOT_ACCEPTABLE,
                format!("this endpoint answers {GRAPHQL_RESPONSE} or {JSON}"),
            )
                .into_response(),
        ))
    }
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// A request-level error (the operation never ran) in the GraphQL shape.
///
/// The status is kept for both media types: application/json clients expect
/// 200 for GraphQL errors, but a request that could not even be read is still
/// a 4xx there.
fn request_error(status: StatusCode, media: MediaType, message: &str, code: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code } }]
    });
    match serde_json::to_vec(&body) {
        Ok(bytes) => json_response(status, media, bytes),
        // A `json!` literal of strings always serialises; stay total anyway.
        Err(_) => status.into_response(),
    }
}

/// An executed operation's response, serialised once, straight from the
/// executor's value (no intermediate `serde_json::Value`): `data` (left out
/// for a request error, as GraphQL over HTTP asks), `extensions`, `errors`.
#[derive(serde::Serialize)]
struct ResponseBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a async_graphql::Value>,
    #[serde(skip_serializing_if = "no_extensions")]
    extensions: &'a BTreeMap<String, async_graphql::Value>,
    #[serde(skip_serializing_if = "no_errors")]
    errors: &'a [ServerError],
}

fn no_extensions(e: &&BTreeMap<String, async_graphql::Value>) -> bool {
    e.is_empty()
}

fn no_errors(e: &&[ServerError]) -> bool {
    e.is_empty()
}

fn json_response(status: StatusCode, media: MediaType, bytes: Vec<u8>) -> Response {
    let ct = match media {
        MediaType::GraphqlResponse => GRAPHQL_RESPONSE,
        MediaType::Json => JSON,
    };
    let mut resp = (status, bytes).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(match ct {
            GRAPHQL_RESPONSE => "application/graphql-response+json; charset=utf-8",
            _ => "application/json; charset=utf-8",
        }),
    );
    resp
}

/// The `Authorization` header's value, if any.
fn authorization(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().map_err(|_| AuthError::Malformed))
        .transpose()
}

/// 401 with the reason, in the GraphQL error shape.
fn unauthenticated(media: MediaType, e: &AuthError) -> Response {
    let mut r = request_error(
        StatusCode::UNAUTHORIZED,
        media,
        &e.to_string(),
        "UNAUTHENTICATED",
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer, Token"),
    );
    r
}

/// The caller of a request, from its `Authorization` header.
///
/// Credentials that are present but wrong fail the whole request; none at
/// all leave resolvers to answer UNAUTHENTICATED (sign-in needs none).
async fn authenticate(
    state: &AppState,
    media: MediaType,
    headers: &HeaderMap,
    counter: &QueryCounter,
) -> Result<Option<crate::auth::Principal>, Response> {
    match authorization(headers) {
        Ok(value) => match counter
            .clone()
            .scope(crate::auth::authenticate_header(&state.db, value))
            .await
        {
            Ok(p) => Ok(p),
            Err(AuthError::Db(e)) => {
                tracing::error!(error = %e, "authentication lookup failed");
                Err(request_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    media,
                    "the credential store is unavailable",
                    "INTERNAL",
                ))
            }
            Err(e) => Err(unauthenticated(media, &e)),
        },
        Err(e) => Err(unauthenticated(media, &e)),
    }
}

async fn execute(
    state: &AppState,
    media: MediaType,
    request: async_graphql::Request,
    headers: &HeaderMap,
    addr: SocketAddr,
) -> Response {
    let counter = QueryCounter::default();
    let principal = match authenticate(state, media, headers, &counter).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let client = crate::auth::client::client_ip(&state.config.auth, addr.ip(), headers);
    execute_as(state, media, request, principal, counter, client).await
}

async fn execute_as(
    state: &AppState,
    media: MediaType,
    request: async_graphql::Request,
    principal: Option<crate::auth::Principal>,
    counter: QueryCounter,
    client: std::net::IpAddr,
) -> Response {
    let ctx = RequestContext::new(
        state.db.clone(),
        Loaders::new(&state.db, Some(&counter)),
        state.authz.clone(),
        principal,
        Some(client),
    );
    let request = request.data(ctx);
    let mut response = counter.clone().scope(state.schema.execute(request)).await;
    if state.config.graphql.expose_query_count {
        response.extensions.insert(
            "sqlStatements".to_owned(),
            async_graphql::Value::from(counter.get() as u64),
        );
    }
    let is_request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response
            .errors
            .iter()
            .all(|e: &ServerError| e.path.is_empty());
    let status = if media == MediaType::GraphqlResponse && is_request_error {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = ResponseBody {
        // The document was refused before execution began (it did not parse
        // or validate): GraphQL over HTTP answers without a `data` entry.
        data: (!is_request_error).then_some(&response.data),
        extensions: &response.extensions,
        errors: &response.errors,
    };
    match serde_json::to_vec(&body) {
        Ok(bytes) => json_response(status, media, bytes),
        Err(e) => {
            tracing::error!(error = %e, "cannot serialise a GraphQL response");
            request_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                media,
                "internal error",
                "INTERNAL",
            )
        }
    }
}

/// `GET /graphql`: GraphiQL for browsers, queries (never mutations) for clients.
pub async fn graphql_get(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    if query.is_empty() && wants_html(&headers) {
        return graphiql().await.into_response();
    }
    let media = match negotiate(&headers) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let request = match async_graphql::http::parse_query_string(&query) {
        Ok(r) if !r.query.trim().is_empty() => r,
        Ok(_) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                media,
                "the `query` parameter is missing",
                "BAD_USER_INPUT",
            );
        }
        Err(e) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                media,
                &format!("invalid request parameters: {e}"),
                "BAD_USER_INPUT",
            );
        }
    };
    if matches!(
        super::document::operation_type(&request.query, request.operation_name.as_deref()),
        Some(OperationType::Mutation | OperationType::Subscription)
    ) {
        let mut r = request_error(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            "mutations are only accepted over POST",
            "BAD_USER_INPUT",
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    execute(&state, media, request, &headers, addr).await
}

/// `POST /graphql`: JSON bodies and multipart uploads.
pub async fn graphql_post(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let media = match negotiate(&headers) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let multipart = match super::document::body_kind(content_type.as_deref()) {
        Ok(kind) => kind == super::document::BodyKind::Multipart,
        Err(e) => {
            return request_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                media,
                &e.to_string(),
                "BAD_USER_INPUT",
            );
        }
    };
    // A JSON document needs little room; only uploads get the large limit,
    // and only once the caller is known, so nobody without credentials makes
    // the server receive, spool or parse a large body.
    let upload = state.config.http.max_upload_bytes;
    let json_max = state.config.graphql.max_body_bytes;
    let (max, setting) = if multipart || upload <= json_max {
        (upload, "PALISADE_MAX_UPLOAD_BYTES")
    } else {
        (json_max, "PALISADE_GRAPHQL_MAX_BODY_BYTES")
    };
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > max
    {
        return too_large(media, max, setting);
    }
    let counter = QueryCounter::default();
    let principal = match authenticate(&state, media, &headers, &counter).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if multipart && principal.is_none() {
        return unauthenticated_upload(media);
    }
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    // Bodies without a Content-Length are counted as they stream in.
    let exceeded = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = exceeded.clone();
    let mut seen: u64 = 0;
    let stream = body
        .into_data_stream()
        .map_err(std::io::Error::other)
        .and_then(move |chunk| {
            seen += chunk.len() as u64;
            let over = seen > max;
            if over {
                flag.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            futures::future::ready(if over {
                Err(std::io::Error::other("request body over the limit"))
            } else {
                Ok(chunk)
            })
        });
    let reader = stream.into_async_read();
    let options = MultipartOptions::default()
        .max_file_size(limit)
        .max_num_files(16);
    let request =
        match async_graphql::http::receive_body(content_type.as_deref(), reader, options).await {
            Ok(r) => r,
            Err(async_graphql::ParseRequestError::PayloadTooLarge) => {
                return too_large(media, max, setting);
            }
            Err(_) if exceeded.load(std::sync::atomic::Ordering::Relaxed) => {
                return too_large(media, max, setting);
            }
            Err(e) => {
                return request_error(
                    StatusCode::BAD_REQUEST,
                    media,
                    &format!("invalid request body: {e}"),
                    "BAD_USER_INPUT",
                );
            }
        };
    let client = crate::auth::client::client_ip(&state.config.auth, addr.ip(), &headers);
    execute_as(&state, media, request, principal, counter, client).await
}

fn too_large(media: MediaType, limit: u64, setting: &str) -> Response {
    request_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        media,
        &format!("the request body is larger than the limit of {limit} bytes ({setting})"),
        "BAD_USER_INPUT",
    )
}

/// 401 for a multipart body sent without credentials (not read at all).
fn unauthenticated_upload(media: MediaType) -> Response {
    let mut r = request_error(
        StatusCode::UNAUTHORIZED,
        media,
        "multipart requests (uploads) need credentials: send an Authorization header",
        "UNAUTHENTICATED",
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer, Token"),
    );
    // The body was not read; the connection cannot carry another request.
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// The GraphiQL page.
pub async fn graphiql() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .title("Palisade GraphiQL")
            .finish(),
    )
}

/// `GET /graphql/ws`: subscriptions over `graphql-transport-ws` or legacy
/// `graphql-ws` (the connection loop is [`super::ws`]). Credentials come from
/// the upgrade request's `Authorization` header or from the `connection_init`
/// payload (`Authorization`, `authorization` or `token`); invalid ones close
/// the connection (4403), and so does a token revoked while it is open.
pub async fn graphql_ws(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let header_value = match authorization(&headers) {
        Ok(v) => v.map(str::to_owned),
        Err(e) => return unauthenticated(MediaType::Json, &e),
    };
    let protocol = headers
        .get(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|list| {
            list.split(',').find_map(|p| {
                p.trim()
                    .parse::<async_graphql::http::WebSocketProtocols>()
                    .ok()
            })
        });
    let Some(protocol) = protocol else {
        return request_error(
            StatusCode::BAD_REQUEST,
            MediaType::Json,
            "the Sec-WebSocket-Protocol header must name graphql-transport-ws or graphql-ws",
            "BAD_REQUEST",
        );
    };
    let reauth = std::time::Duration::from_secs(state.config.graphql.ws_reauth_secs);
    let client = crate::auth::client::client_ip(&state.config.auth, addr.ip(), &headers);
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        // Clients send small control messages: a 4 KiB read buffer instead of
        // the default 128 KiB keeps an idle subscription cheap, and a 1 MiB
        // message cap keeps a hostile client from parking 64 MiB.
        .read_buffer_size(4 * 1024)
        .max_message_size(1024 * 1024)
        .on_upgrade(move |socket| {
            super::ws::Connection::new(state, protocol, client, header_value, reauth).serve(socket)
        })
}

/// The credentials in a `connection_init` payload: an `Authorization` value,
/// or a bare token under `token`.
pub(crate) fn init_payload_authorization(payload: &serde_json::Value) -> Option<String> {
    let obj = payload.as_object()?;
    for key in ["Authorization", "authorization"] {
        if let Some(v) = obj.get(key).and_then(|v| v.as_str()) {
            return Some(v.to_owned());
        }
    }
    obj.get("token")
        .and_then(|v| v.as_str())
        .map(|t| format!("Token {t}"))
}
