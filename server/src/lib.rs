//! Palisade: a vulnerability management server.
//!
//! Security teams import scanner reports; Palisade turns them into
//! deduplicated findings in a product hierarchy and serves them over GraphQL.
//! Layers: `graphql` → `domain` → `db`, beside self-contained subsystems
//! (`import`, `plugins`, `authz`, `events`, `webhooks`). The repository's
//! `docs/architecture.md` maps the code; `docs/domain.md` holds the rules that
//! comments cite as `domain.md §n`.

pub mod app;
pub mod auth;
pub mod authz;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod events;
pub mod files;
pub mod graphql;
pub mod import;
pub mod outbound;
pub mod plugins;
pub mod rest;
pub mod router;
pub mod telemetry;
pub mod webhooks;
