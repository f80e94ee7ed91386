//! End-to-end tests of Palisade: the real binary over HTTP and WebSocket,
//! against real PostgreSQL (one database per test), plus the library-level
//! tests of authorization, the import engine and the plugin host, which share
//! the same database harness (`support::db`).

mod support;

mod attachments;
mod auth;
mod authz;
mod config;
mod conformance;
mod custom_fields;
mod docs;
mod duplicates;
mod events;
mod finding;
mod finding_group;
mod hierarchy;
mod history;
mod http;
mod import;
mod membership;
mod migrations;
mod note_types;
mod oidc;
mod plugin;
mod review;
mod risk;
mod schema;
mod security;
mod severity;
mod tag;
mod template;
mod triage;
mod user;
mod webhooks;
