//! GraphQL over HTTP (GET and POST, both media types, the spec's status
//! codes), GraphiQL for browsers, and the WebSocket endpoint.

use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource, MultipartOptions};
use async_graphql::parser::types::OperationType;
use async_graphql::{Data, ServerError};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::body::Body;
use axum::extract::{RawQuery, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use futures::TryStreamExt;

use super::context::RequestContext;
use super::loaders::Loaders;
use crate::app::AppState;
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
fn request_error(status: StatusCode, media: MediaType, message: &str, code: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code } }]
    });
    let status = if media == MediaType::Json && status == StatusCode::BAD_REQUEST {
        // application/json clients expect 200 for GraphQL errors, but a
        // request that could not even be read is still a 400 there.
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    json_response(status, media, &body)
}

fn json_response(status: StatusCode, media: MediaType, body: &serde_json::Value) -> Response {
    let ct = match media {
        MediaType::GraphqlResponse => GRAPHQL_RESPONSE,
        MediaType::Json => JSON,
    };
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
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

/// Whether `request`'s selected operation is a mutation (or a subscription).
fn operation_type(request: &async_graphql::Request) -> Option<OperationType> {
    let doc = async_graphql::parser::parse_query(&request.query).ok()?;
    let op = match &request.operation_name {
        Some(name) => {
            doc.operations
                .iter()
                .find(|(n, _)| n.is_some_and(|n| n.as_str() == name))?
                .1
        }
        None => doc.operations.iter().next()?.1,
    };
    Some(op.node.ty)
}

async fn execute(state: &AppState, media: MediaType, request: async_graphql::Request) -> Response {
    let counter = QueryCounter::default();
    let ctx = RequestContext {
        db: state.db.clone(),
        loaders: Loaders::new(&state.db, Some(&counter)),
        actor_id: None,
    };
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
    let body = serde_json::to_value(&response).unwrap_or_else(|_| serde_json::json!({}));
    json_response(status, media, &body)
}

/// `GET /graphql`: GraphiQL for browsers, queries (never mutations) for clients.
pub async fn graphql_get(
    State(state): State<AppState>,
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
        operation_type(&request),
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
    execute(&state, media, request).await
}

/// `POST /graphql`: JSON bodies and multipart uploads.
pub async fn graphql_post(
    State(state): State<AppState>,
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
    let limit = usize::try_from(state.config.http.max_upload_bytes).unwrap_or(usize::MAX);
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > state.config.http.max_upload_bytes
    {
        return too_large(media, state.config.http.max_upload_bytes);
    }
    match content_type.as_deref().map(|c| {
        c.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }) {
        Some(ct) if ct == JSON || ct == "application/graphql+json" => {}
        Some(ct) if ct == "multipart/form-data" => {}
        Some(other) => {
            return request_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                media,
                &format!(
                    "unsupported Content-Type `{other}`; send application/json or multipart/form-data"
                ),
                "BAD_USER_INPUT",
            );
        }
        None => {
            return request_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                media,
                "Content-Type is required",
                "BAD_USER_INPUT",
            );
        }
    }
    // Bodies without a Content-Length are counted as they stream in.
    let exceeded = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = exceeded.clone();
    let mut seen: u64 = 0;
    let max = state.config.http.max_upload_bytes;
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
                return too_large(media, state.config.http.max_upload_bytes);
            }
            Err(_) if exceeded.load(std::sync::atomic::Ordering::Relaxed) => {
                return too_large(media, state.config.http.max_upload_bytes);
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
    execute(&state, media, request).await
}

fn too_large(media: MediaType, limit: u64) -> Response {
    request_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        media,
        &format!(
            "the request body is larger than the limit of {limit} bytes (PALISADE_MAX_UPLOAD_BYTES)"
        ),
        "BAD_USER_INPUT",
    )
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

/// `GET /graphql/ws`: subscriptions over `graphql-transport-ws` or legacy `graphql-ws`.
pub async fn graphql_ws(
    State(state): State<AppState>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let schema = state.schema.clone();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            let mut data = Data::default();
            data.insert(RequestContext {
                db: state.db.clone(),
                loaders: Loaders::new(&state.db, None),
                actor_id: None,
            });
            GraphQLWebSocket::new(socket, schema, protocol)
                .with_data(data)
                .serve()
        })
}
