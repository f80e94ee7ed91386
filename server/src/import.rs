//! The import engine: scanner reports into deduplicated findings, in one
//! transaction per import (domain.md §4 and §5).
//!
//! Entry points:
//! - [`Importer`]: the engine's handle, built once. [`Importer::run`] imports
//!   or reimports a request's report ([`Source::Report`]: parsed with the
//!   plugin of its scan type) or findings parsed elsewhere
//!   ([`Source::Parsed`]), writing the test, findings, duplicates, history and
//!   outbox events atomically.
//! - [`ImportGuard`]: the caller's permission check, called inside the
//!   transaction with the [`ResolvedTarget`] before anything is written.
//! - [`DedupeSettings`]: operator overrides of each scan type's algorithm and
//!   hash fields; [`dedupe_explain`] says why a finding is or is not a duplicate.
//! - [`enqueue_import`], [`job_status`], [`spawn_workers`]: the background queue.
//!
//! Data flow of one import: parse (outside the transaction, on the blocking
//! pool) → resolve the target and ask the guard → create what is missing →
//! lock the product row (serialises imports into one product, so two never
//! create two originals for one hash) → normalise and hash → reserve finding
//! ids → one candidate query per batch of keys → choose originals in memory →
//! multi-row inserts over UNNEST-ed arrays → close old findings → history,
//! events, `NOTIFY palisade_events` → commit.

mod config;
mod dedupe;
mod engine;
mod explain;
mod fp_history;
mod hash;
mod jobs;
mod prepare;
mod request;
mod store;
mod target;

pub use config::{
    ALLOWED_HASH_FIELDS, DedupeOverride, DedupeSettings, EffectiveDedupe, LEGACY_HASH_FIELDS,
    algorithm_name, parse_algorithm, reference_setting,
};
pub use dedupe::{CandidatePool, DedupeItem, Rejection, find_original};
pub use engine::{Importer, Progress, Source, check_target, read_report};
pub use explain::{DedupeExplanation, dedupe_explain, explain};
pub use hash::{HashComputation, HashPart, HashSubject, compute as compute_hash};
pub use jobs::{
    GuardFactory, IMPORT_JOB_KIND, JobStatus, QueueCaps, REIMPORT_JOB_KIND, WorkerConfig,
    WorkerHandle, enqueue_import, enqueue_import_checked, job_status, reclaim_stale, spawn_workers,
};
pub use request::{
    ActionCounts, AllowAll, GroupBy, GuardDenied, ImportError, ImportGuard, ImportKind,
    ImportOutcome, ImportRequest, ImportStatistics, ReportSource, ResolvedTarget, SeverityStats,
    StatusCounts, TargetKind, TargetPart,
};
