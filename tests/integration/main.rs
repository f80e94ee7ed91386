//! End-to-end tests of Palisade: the real binary over HTTP and WebSocket,
//! against real PostgreSQL (one database per test).

mod support;

mod access;
mod auth;
mod config;
mod conformance;
mod docs;
mod events;
mod findings;
mod hierarchy;
mod http;
mod imports;
mod migrations;
mod oidc;
mod plugins;
mod schema;
mod security;
mod severity;
mod tag;
mod users;
mod webhooks;
