//! End-to-end tests of Palisade: the real binary over HTTP and WebSocket,
//! against real PostgreSQL (one database per test).

mod support;

mod config;
mod conformance;
mod findings;
mod hierarchy;
mod http;
mod migrations;
mod plugins;
mod schema;
mod users;
