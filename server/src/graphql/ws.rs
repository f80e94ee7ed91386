//! The connection loop of `GET /graphql/ws`: GraphQL subscriptions over
//! `graphql-transport-ws` and the legacy `graphql-ws` protocol.
//!
//! Our own loop rather than async-graphql's: finding-change subscriptions
//! that select only the change's fields are written by the shared encoder
//! ([`super::fanout`]), ready messages go out in one socket write, and the
//! connection follows the live policy: every operation gets a fresh request
//! context (its own loaders and read rights) for the principal authenticated
//! again at that moment, and the token is also checked periodically, so a
//! revoked token, a deactivated user or changed superuser rights close the
//! connection and its subscriptions.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::http::WebSocketProtocols as Protocols;
use async_graphql::{Data, Response};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::stream::{AbortHandle, BoxStream, SelectAll};
use futures::{FutureExt, SinkExt, StreamExt};
use serde::{Deserialize, Serialize};

use super::context::RequestContext;
use super::fanout::{Plan, Slot};
use super::loaders::Loaders;
use crate::app::AppState;
use crate::auth::{AuthError, Principal};

/// How long a client has to send `connection_init`.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Ready messages written before one flush.
const WRITE_BATCH: usize = 512;

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    ConnectionInit {
        payload: Option<serde_json::Value>,
    },
    #[serde(alias = "start")]
    Subscribe {
        id: String,
        payload: Box<async_graphql::Request>,
    },
    #[serde(alias = "stop")]
    Complete {
        id: String,
    },
    ConnectionTerminate,
    Ping {
        payload: Option<serde_json::Value>,
    },
    Pong {
        #[serde(rename = "payload")]
        _payload: Option<serde_json::Value>,
    },
}

#[derive(Serialize)]
struct Next<'a> {
    #[serde(rename = "type")]
    ty: &'a str,
    id: &'a str,
    payload: &'a Response,
}

/// What a subscription's stream hands the connection.
struct Out {
    id: Arc<str>,
    generation: u64,
    /// Messages to write; empty with `end`.
    texts: Vec<String>,
    /// The subscription is over (its `complete` was among the texts, or it
    /// was stopped).
    end: bool,
}

/// Subscriptions held per user (`None`: anonymous) over every connection of
/// this process, so opening more connections does not escape the per-user cap.
static PER_USER: std::sync::LazyLock<std::sync::Mutex<HashMap<Option<i64>, usize>>> =
    std::sync::LazyLock::new(Default::default);

/// One subscription's place in its user's count, given back on drop.
struct Ticket(Option<i64>);

impl Ticket {
    /// A place for `user`, or `None` when the user holds `max` already.
    fn take(user: Option<i64>, max: usize) -> Option<Ticket> {
        // A poisoned lock only means a panic while counting; the counts stay usable.
        let mut counts = PER_USER.lock().unwrap_or_else(|e| e.into_inner());
        let n = counts.entry(user).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Ticket(user))
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut counts = PER_USER.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = counts.get_mut(&self.0) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.0);
            }
        }
    }
}

/// One WebSocket connection.
pub struct Connection {
    state: AppState,
    protocol: Protocols,
    /// The client's address (sign-in limits).
    client: IpAddr,
    /// Credentials from the upgrade request, used when `connection_init`
    /// carries none.
    header: Option<String>,
    /// The credentials in use, re-checked every `reauth` period.
    credentials: Option<String>,
    /// Whether `connection_init` was accepted.
    initialised: bool,
    /// Who `connection_init` authenticated; any later change of who this
    /// is or of their superuser flag closes the connection, because open
    /// subscriptions hold the rights they started with.
    principal: Option<Principal>,
    subscriptions: HashMap<Arc<str>, (u64, AbortHandle, Ticket)>,
    /// The signed-in user, for the per-user subscription cap.
    user: Option<i64>,
    generation: u64,
    reauth: Duration,
}

enum Step {
    Continue,
    Send(String),
    /// A legacy `connection_error`, then the connection ends.
    Refuse(String),
    Close(u16, String),
    End,
}

impl Connection {
    /// A connection that has not been initialised yet.
    pub fn new(
        state: AppState,
        protocol: Protocols,
        client: IpAddr,
        header: Option<String>,
        reauth: Duration,
    ) -> Connection {
        Connection {
            state,
            protocol,
            client,
            header,
            credentials: None,
            initialised: false,
            principal: None,
            subscriptions: HashMap::new(),
            user: None,
            generation: 0,
            reauth,
        }
    }

    fn next_type(&self) -> &'static str {
        match self.protocol {
            Protocols::GraphQLWS => "next",
            Protocols::SubscriptionsTransportWS => "data",
        }
    }

    /// Serves the socket until either side closes it.
    pub async fn serve(mut self, socket: WebSocket) {
        let (mut sink, mut source) = socket.split();
        let mut streams: SelectAll<BoxStream<'static, Out>> = SelectAll::new();
        let init_deadline = tokio::time::sleep(INIT_TIMEOUT);
        tokio::pin!(init_deadline);
        let mut reauth =
            tokio::time::interval_at(tokio::time::Instant::now() + self.reauth, self.reauth);
        reauth.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let step = tokio::select! {
                incoming = source.next() => match incoming {
                    Some(Ok(Message::Text(text))) => self.on_text(text.as_str(), &mut streams).await,
                    Some(Ok(Message::Binary(_))) => {
                        Step::Close(4400, "binary messages are not part of the protocol".to_owned())
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => Step::Continue,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => Step::End,
                },
                Some(out) = streams.next(), if !streams.is_empty() => {
                    if self.write(&mut sink, &mut streams, out).await.is_err() {
                        Step::End
                    } else {
                        Step::Continue
                    }
                }
                _ = reauth.tick(), if self.credentials.is_some() => self.recheck().await,
                _ = &mut init_deadline, if !self.initialised => {
                    Step::Close(4408, "Connection initialisation timeout".to_owned())
                }
            };
            match step {
                Step::Continue => {}
                Step::Send(text) => {
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Step::Refuse(text) => {
                    let _ = sink.send(Message::Text(text.into())).await;
                    let _ = sink.send(Message::Close(None)).await;
                    break;
                }
                Step::Close(code, reason) => {
                    let _ = sink
                        .send(Message::Close(Some(CloseFrame {
                            code,
                            reason: reason.into(),
                        })))
                        .await;
                    break;
                }
                Step::End => break,
            }
        }
        for (_, (_, handle, _)) in self.subscriptions.drain() {
            handle.abort();
        }
    }

    /// Writes `out` and whatever else is ready, then flushes once.
    async fn write(
        &mut self,
        sink: &mut futures::stream::SplitSink<WebSocket, Message>,
        streams: &mut SelectAll<BoxStream<'static, Out>>,
        first: Out,
    ) -> Result<(), axum::Error> {
        let mut next = Some(first);
        let mut written = 0;
        while let Some(out) = next.take() {
            if out.end
                && self
                    .subscriptions
                    .get(&out.id)
                    .is_some_and(|(g, _, _)| *g == out.generation)
            {
                self.subscriptions.remove(&out.id);
            }
            for text in out.texts {
                sink.feed(Message::Text(text.into())).await?;
                written += 1;
            }
            if written < WRITE_BATCH && !streams.is_empty() {
                next = streams.next().now_or_never().flatten();
            }
        }
        sink.flush().await
    }

    async fn on_text(
        &mut self,
        text: &str,
        streams: &mut SelectAll<BoxStream<'static, Out>>,
    ) -> Step {
        let message: ClientMessage = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(e) => return Step::Close(4400, format!("invalid message: {e}")),
        };
        match message {
            ClientMessage::ConnectionInit { payload } => {
                self.init(payload.unwrap_or_default()).await
            }
            ClientMessage::Subscribe { id, payload } => self.subscribe(id, *payload, streams).await,
            ClientMessage::Complete { id } => match self.subscriptions.remove(id.as_str()) {
                Some((_, handle, _)) => {
                    handle.abort();
                    Step::Send(complete_message(&id))
                }
                None => Step::Continue,
            },
            ClientMessage::ConnectionTerminate => Step::End,
            ClientMessage::Ping { payload } => Step::Send(match payload {
                Some(p) => serde_json::json!({"type": "pong", "payload": p}).to_string(),
                None => "{\"type\":\"pong\"}".to_owned(),
            }),
            ClientMessage::Pong { .. } => Step::Continue,
        }
    }

    async fn init(&mut self, payload: serde_json::Value) -> Step {
        if self.initialised {
            return match self.protocol {
                Protocols::GraphQLWS => {
                    Step::Close(4429, "Too many initialisation requests".to_owned())
                }
                Protocols::SubscriptionsTransportWS => {
                    Step::Refuse(connection_error("Too many initialisation requests"))
                }
            };
        }
        let value =
            super::http::init_payload_authorization(&payload).or_else(|| self.header.clone());
        match crate::auth::authenticate_header(&self.state.db, value.as_deref()).await {
            Ok(principal) => {
                self.user = principal.as_ref().map(|p| p.user_id);
                self.initialised = true;
                self.principal = principal;
                self.credentials = value;
                Step::Send("{\"type\":\"connection_ack\"}".to_owned())
            }
            Err(e) => match self.protocol {
                Protocols::GraphQLWS => Step::Close(4403, format!("Forbidden: {e}")),
                Protocols::SubscriptionsTransportWS => {
                    Step::Refuse(connection_error(&e.to_string()))
                }
            },
        }
    }

    /// Authenticates the connection's credentials again. `Ok` with the
    /// principal as it is now, when it still matches the one of
    /// `connection_init`; `Err` with the close to send otherwise (a revoked
    /// token, a deactivated user, changed superuser rights).
    async fn reauthenticate(&self) -> Result<Option<Principal>, Step> {
        if self.credentials.is_none() {
            return Ok(None);
        }
        match crate::auth::authenticate_header(&self.state.db, self.credentials.as_deref()).await {
            Ok(Some(now)) => match &self.principal {
                Some(then) if same_rights(then, &now) => Ok(Some(now)),
                _ => Err(Step::Close(
                    4403,
                    "Forbidden: the account's rights changed; connect again".to_owned(),
                )),
            },
            Ok(None) => Ok(None),
            Err(AuthError::Db(e)) => {
                tracing::warn!(error = %e, "could not re-check a WebSocket connection's token");
                Ok(self.principal.clone())
            }
            Err(e) => Err(Step::Close(4403, format!("Forbidden: {e}"))),
        }
    }

    /// The periodic check: closes the connection when the token or the
    /// account changed since `connection_init`.
    async fn recheck(&mut self) -> Step {
        match self.reauthenticate().await {
            Ok(_) => Step::Continue,
            Err(close) => close,
        }
    }

    /// Session data for one operation: a fresh context, so read rights and
    /// loader caches are those of now, not of the connection's start.
    fn operation_data(&self, principal: Option<Principal>) -> Arc<Data> {
        let mut data = Data::default();
        data.insert(RequestContext::new(
            self.state.db.clone(),
            Loaders::new(&self.state.db, None),
            self.state.authz.clone(),
            principal,
            Some(self.client),
        ));
        Arc::new(data)
    }

    async fn subscribe(
        &mut self,
        id: String,
        request: async_graphql::Request,
        streams: &mut SelectAll<BoxStream<'static, Out>>,
    ) -> Step {
        if !self.initialised {
            return match self.protocol {
                Protocols::GraphQLWS => Step::Close(4401, "Unauthorized".to_owned()),
                Protocols::SubscriptionsTransportWS => {
                    Step::Close(1011, "The handshake is not completed.".to_owned())
                }
            };
        }
        let id: Arc<str> = Arc::from(id);
        if self.subscriptions.contains_key(&id) {
            return Step::Close(4409, format!("Subscriber for {id} already exists"));
        }
        let limits = &self.state.config.graphql;
        if self.subscriptions.len() >= limits.ws_max_subscriptions_per_connection {
            return Step::Send(self.limit_error(
                &id,
                &format!(
                    "this connection holds {} subscriptions, the most allowed \
                     (PALISADE_WS_MAX_SUBSCRIPTIONS_PER_CONNECTION); complete one first",
                    self.subscriptions.len()
                ),
            ));
        }
        let Some(ticket) = Ticket::take(self.user, limits.ws_max_subscriptions_per_user) else {
            return Step::Send(self.limit_error(
                &id,
                &format!(
                    "you hold {} subscriptions over all connections, the most allowed \
                     (PALISADE_WS_MAX_SUBSCRIPTIONS_PER_USER); complete one first",
                    limits.ws_max_subscriptions_per_user
                ),
            ));
        };
        let session = match self.reauthenticate().await {
            Ok(principal) => self.operation_data(principal),
            Err(close) => return close,
        };
        let plan = Plan::of(&request);
        let slot = plan.as_ref().map(|_| Slot::default());
        let request = match &slot {
            Some(s) => request.data(s.clone()),
            None => request,
        };
        let responses = self
            .state
            .schema
            .execute_stream_with_session_data(request, session);
        let phase = Phase::Start {
            responses,
            plan,
            slot,
        };
        let next_type = self.next_type();
        let sub_id = Arc::clone(&id);
        let messages = futures::stream::unfold(phase, move |phase| {
            let id = Arc::clone(&sub_id);
            async move { phase.step(&id, next_type).await }
        });
        let (messages, handle) = futures::stream::abortable(messages);
        self.generation += 1;
        let generation = self.generation;
        self.subscriptions
            .insert(Arc::clone(&id), (generation, handle, ticket));
        let end_id = Arc::clone(&id);
        streams.push(
            messages
                .map(move |texts| Out {
                    id: Arc::clone(&id),
                    generation,
                    texts,
                    end: false,
                })
                .chain(futures::stream::once(async move {
                    Out {
                        id: end_id,
                        generation,
                        texts: Vec::new(),
                        end: true,
                    }
                }))
                .boxed(),
        );
        Step::Continue
    }
}

impl Connection {
    /// The `error` message refusing subscription `id` over a cap; the
    /// connection and its other subscriptions go on.
    fn limit_error(&self, id: &str, message: &str) -> String {
        let error = serde_json::json!({"message": message, "extensions": {"code": "RATE_LIMITED"}});
        let payload = match self.protocol {
            Protocols::GraphQLWS => serde_json::json!([error]),
            Protocols::SubscriptionsTransportWS => error,
        };
        serde_json::json!({"type": "error", "id": id, "payload": payload}).to_string()
    }
}

/// Whether two authentications of one connection carry the same rights:
/// the same token of the same user, with the same superuser flag.
fn same_rights(a: &Principal, b: &Principal) -> bool {
    a.user_id == b.user_id && a.token_id == b.token_id && a.is_superuser == b.is_superuser
}

fn complete_message(id: &str) -> String {
    format!(
        "{{\"type\":\"complete\",\"id\":{}}}",
        serde_json::to_string(id).unwrap_or_default()
    )
}

fn connection_error(message: &str) -> String {
    serde_json::json!({"type": "connection_error", "payload": {"message": message}}).to_string()
}

/// Where one subscription's stream is.
enum Phase {
    /// Waiting for the executor: an error response, or (for a planned
    /// subscription) the resolver's handover.
    Start {
        responses: BoxStream<'static, Response>,
        plan: Option<Plan>,
        slot: Option<Slot>,
    },
    /// Responses of the GraphQL executor.
    General(BoxStream<'static, Response>),
    /// Written by the shared encoder.
    Fast {
        plan: Plan,
        handover: Box<super::fanout::Handover>,
    },
    Done,
}

impl Phase {
    async fn step(self, id: &str, next_type: &'static str) -> Option<(Vec<String>, Phase)> {
        let complete = || vec![complete_message(id)];
        let next = |r: &Response| {
            serde_json::to_string(&Next {
                ty: next_type,
                id,
                payload: r,
            })
            .unwrap_or_default()
        };
        match self {
            Phase::Start {
                mut responses,
                plan,
                slot,
            } => match responses.next().await {
                Some(r) => Some((vec![next(&r)], Phase::General(responses))),
                None => match (plan, slot.and_then(|s| s.take())) {
                    (Some(plan), Some(handover)) => {
                        let fast = Phase::Fast {
                            plan,
                            handover: Box::new(handover),
                        };
                        Box::pin(fast.step(id, next_type)).await
                    }
                    _ => Some((complete(), Phase::Done)),
                },
            },
            Phase::General(mut responses) => match responses.next().await {
                Some(r) => Some((vec![next(&r)], Phase::General(responses))),
                None => Some((complete(), Phase::Done)),
            },
            Phase::Fast { plan, mut handover } => {
                let batched = handover.max_batch.is_some();
                let max = handover.max_batch.unwrap_or(WRITE_BATCH);
                match handover.state.next_pieces(max).await {
                    Some(pieces) => {
                        let texts = plan.messages(next_type, id, &pieces, batched);
                        Some((texts, Phase::Fast { plan, handover }))
                    }
                    None => Some((complete(), Phase::Done)),
                }
            }
            Phase::Done => None,
        }
    }
}
