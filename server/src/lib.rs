//! Palisade: a vulnerability management server.
//!
//! Security teams import scanner reports; Palisade turns them into
//! deduplicated findings in a product hierarchy and serves them over GraphQL.
//! Layers: `graphql` → `domain` → `db`; see `docs` in the repository.

pub mod app;
pub mod auth;
pub mod authz;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod events;
pub mod graphql;
pub mod import;
pub mod import_cli;
pub mod import_guard;
pub mod outbound;
pub mod plugins;
pub mod rest;
pub mod telemetry;
pub mod webhooks;
