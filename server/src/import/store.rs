//! The import's SQL: set-based statements over UNNEST-ed arrays, so the number
//! of statements grows with the number of batches, never with findings.
//!
//! Raw SQL lives here rather than in `db/models` because every statement is
//! shaped by the import's batching and only the engine uses it; the one table
//! others read too, `test_imports`, is [`crate::db::models::test_import`].
//! One module per table (or close group of tables) the import writes.

use diesel::QueryableByName;
use diesel::sql_types::BigInt;

mod candidates;
mod close;
mod context;
mod findings;
mod groups;
mod locations;
mod notes;
mod settings;
mod stats;

pub use candidates::{CandidateKeys, candidates};
pub use close::{CloseScope, Closed, close_old, mitigate, remove_risk_acceptance};
pub use context::{
    NewTest, TestMeta, create_environment, environment_id, extend_engagement, insert_test,
    test_type_of, update_test_meta,
};
pub use findings::{
    FindingUpdate, NewRow, RowContext, allocate_ids, insert_findings, originals, set_custom_fields,
    update_findings,
};
pub use groups::group_findings;
pub use locations::{locations_of, product_location, reconcile_ids, set_reference_status};
pub use notes::{insert_notes, with_note};
pub use settings::{ImportSystemSettings, lock_product, system_settings};
pub use stats::test_stats;

/// One `id` column, as `RETURNING id` and id lists give it.
#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}
