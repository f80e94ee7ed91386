//! Test support: a database per test cloned from a migrated template, the real
//! server binary on a free port, and a GraphQL client.

pub mod db;
pub mod server;

pub use db::TestDb;
pub use server::{Gql, TestServer};
