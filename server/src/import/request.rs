//! What callers pass in (requests, the permission hook) and get back (outcome, errors).

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::severity::Severity;
use crate::plugins::PluginError;

/// Where the report comes from. Plugins parse from bytes; a path is read before parsing.
#[derive(Debug, Clone)]
pub enum ReportSource {
    /// A file on this machine.
    Path(PathBuf),
    /// The report itself.
    Bytes(bytes::Bytes),
}

impl Default for ReportSource {
    fn default() -> Self {
        ReportSource::Bytes(bytes::Bytes::new())
    }
}

/// `group_by` options (domain.md §1.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupBy {
    /// `component_name`.
    #[serde(rename = "component_name")]
    ComponentName,
    /// `component_name+component_version`.
    #[serde(rename = "component_name+component_version")]
    ComponentNameVersion,
    /// `file_path`.
    #[serde(rename = "file_path")]
    FilePath,
    /// `finding_title`.
    #[serde(rename = "finding_title")]
    FindingTitle,
    /// `vuln_id_from_tool`.
    #[serde(rename = "vuln_id_from_tool")]
    VulnIdFromTool,
    /// `service` (Palisade's own: DefectDojo has no such option).
    #[serde(rename = "service")]
    Service,
}

impl GroupBy {
    /// Reads the REST spelling.
    pub fn parse(s: &str) -> Option<GroupBy> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }
}

/// An import or reimport request: every parameter of domain.md §5.1.
///
/// The same struct serves both: a reimport ([`super::Importer::run`]) additionally reads
/// `test_id`, `do_not_reactivate`, and defaults `close_old_findings` to true.
/// It serialises (without the report) into the job queue and `import_settings`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImportRequest {
    /// The parser key; `None` detects it from the report.
    pub scan_type: Option<String>,
    /// The report (not serialised: queued jobs keep it in `job_files`).
    #[serde(skip)]
    pub report: ReportSource,
    /// The uploaded file's name, passed to the plugin.
    pub file_name: Option<String>,
    /// Target product type by name (auto-create, or a check on `product_name`).
    pub product_type_name: Option<String>,
    /// Target product by name.
    pub product_name: Option<String>,
    /// Target engagement by name (the most recent one with that name).
    pub engagement_name: Option<String>,
    /// Target engagement by id (wins over names; a contradiction is an error).
    pub engagement_id: Option<i64>,
    /// Reimport: the test by id.
    pub test_id: Option<i64>,
    /// Title of a new test; for reimport also used to find the test.
    pub test_title: Option<String>,
    /// Create the product type, product and engagement when missing.
    pub auto_create_context: bool,
    /// `deduplication_on_engagement` of an auto-created engagement.
    pub deduplication_on_engagement: bool,
    /// `target_end` of an auto-created engagement (default today + 365 days).
    pub engagement_end_date: Option<NaiveDate>,
    /// Source code URI of an auto-created engagement.
    pub source_code_management_uri: Option<String>,
    /// Lead (user id) of the test and of an auto-created engagement.
    pub lead_id: Option<i64>,
    /// Findings less severe than this are skipped (default Info: keep all).
    pub minimum_severity: Option<Severity>,
    /// Overrides every finding's `active`; `None` keeps the parser's value.
    pub active: Option<bool>,
    /// Overrides every finding's `verified`; `None` keeps the parser's value.
    pub verified: Option<bool>,
    /// Overrides every finding's date; must not be in the future.
    pub scan_date: Option<NaiveDate>,
    /// Tags of the test (reimport: replaces them).
    pub tags: Vec<String>,
    /// Also put `tags` on every imported finding.
    pub apply_tags_to_findings: bool,
    /// Also put `tags` on the findings' locations.
    pub apply_tags_to_endpoints: bool,
    /// A location of the product linked to every imported finding.
    pub endpoint_to_add: Option<i64>,
    /// Test version (reimport: empty keeps the stored value).
    pub version: Option<String>,
    /// Build id.
    pub build_id: Option<String>,
    /// Branch or tag.
    pub branch_tag: Option<String>,
    /// Commit hash.
    pub commit_hash: Option<String>,
    /// Stamped on every finding (and so folded into the hash).
    pub service: Option<String>,
    /// Development environment name (default "Development").
    pub environment: Option<String>,
    /// Close findings absent from this report (default: false on import, true on reimport).
    pub close_old_findings: Option<bool>,
    /// Import: close old findings across the product instead of the engagement.
    pub close_old_findings_product_scope: bool,
    /// Reimport: leave mitigated findings closed when they reappear.
    pub do_not_reactivate: bool,
    /// Group findings into finding groups by this key.
    pub group_by: Option<GroupBy>,
    /// With `group_by`: also make groups of one finding (default true).
    pub create_finding_groups_for_all_findings: Option<bool>,
    /// Recorded in `import_settings` for the Jira integration.
    pub push_to_jira: bool,
}

/// Something the import will use or create, as the permission hook sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TargetPart {
    /// It exists.
    Existing {
        /// Its id.
        id: i64,
        /// Its name.
        name: String,
    },
    /// The import will create it.
    New {
        /// Its name.
        name: String,
    },
}

impl TargetPart {
    /// The id when it exists.
    pub fn id(&self) -> Option<i64> {
        match self {
            TargetPart::Existing { id, .. } => Some(*id),
            TargetPart::New { .. } => None,
        }
    }
}

/// The resolved target of an import, handed to [`ImportGuard::authorize`] before any write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedTarget {
    /// `import` or `reimport`.
    pub kind: ImportKind,
    /// The product type.
    pub product_type: TargetPart,
    /// The product.
    pub product: TargetPart,
    /// The engagement.
    pub engagement: TargetPart,
    /// Reimport: the test being reimported into.
    pub test: Option<TargetPart>,
}

/// A refusal from the permission hook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GuardDenied(pub String);

/// The caller's permission check, run inside the import's transaction with the
/// resolved target, before anything is written. An error aborts the import.
///
/// It is synchronous because the authorization policy is held in memory.
pub trait ImportGuard: Send + Sync {
    /// Allows or refuses the import into `target`.
    fn authorize(&self, target: &ResolvedTarget) -> Result<(), GuardDenied>;

    /// Whether the caller may see the product: one it may not see is
    /// answered exactly like a missing one, before any name is compared.
    fn product_visible(&self, _product_type_id: i64, _product_id: i64) -> bool {
        true
    }

    /// Whether the caller may see the product type (found by name for an
    /// auto-created product).
    fn product_type_visible(&self, _product_type_id: i64) -> bool {
        true
    }
}

/// A guard that allows everything (the CLI run by an operator, tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl ImportGuard for AllowAll {
    fn authorize(&self, _target: &ResolvedTarget) -> Result<(), GuardDenied> {
        Ok(())
    }
}

/// Import or reimport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    /// A new test.
    Import,
    /// Into an existing test.
    Reimport,
}

impl ImportKind {
    /// `import` or `reimport` (the `test_imports.import_type` value).
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Import => "import",
            ImportKind::Reimport => "reimport",
        }
    }
}

/// Status counts of one severity (a row of DefectDojo's statistics block).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    /// Active.
    pub active: i64,
    /// Verified.
    pub verified: i64,
    /// Duplicate.
    pub duplicate: i64,
    /// False positive.
    pub false_p: i64,
    /// Out of scope.
    pub out_of_scope: i64,
    /// Mitigated.
    pub is_mitigated: i64,
    /// Risk accepted.
    pub risk_accepted: i64,
    /// All.
    pub total: i64,
}

/// Counts of a test's findings by lowercase severity plus `total`.
pub type SeverityStats = BTreeMap<String, StatusCounts>;

/// Per-severity counts of what this import did (`critical`..`info`, `total`).
pub type ActionCounts = BTreeMap<String, i64>;

/// What the import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportStatistics {
    /// Findings created.
    pub created: usize,
    /// Existing findings re-opened (reimport).
    pub reactivated: usize,
    /// Findings closed (close_old_findings, or mitigated in the report).
    pub closed: usize,
    /// Existing findings seen again and left as they were (reimport).
    pub untouched: usize,
    /// Of the created findings, those marked duplicate.
    pub duplicates: usize,
    /// Report findings skipped below `minimum_severity`.
    pub skipped_below_minimum: usize,
    /// Reimport: the test's counts before.
    pub before: Option<SeverityStats>,
    /// The test's counts after.
    pub after: SeverityStats,
    /// Created / closed / reactivated / untouched by severity.
    pub delta: BTreeMap<String, ActionCounts>,
}

/// The result of an import or reimport.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOutcome {
    /// Import or reimport (a reimport whose test did not exist falls back to import).
    pub kind: ImportKind,
    /// The scan type, as the plugin spells it.
    pub scan_type: String,
    /// The test.
    pub test_id: i64,
    /// Its engagement.
    pub engagement_id: i64,
    /// Its product.
    pub product_id: i64,
    /// The product's type.
    pub product_type_id: i64,
    /// The `test_imports` row, when import history is on.
    pub test_import_id: Option<i64>,
    /// Whether dedupe finished before returning (always: it runs in the transaction).
    pub deduplication_complete: bool,
    /// The counts.
    pub statistics: ImportStatistics,
}

/// The kind of target object an import names: what [`ImportError::TargetNotFound`]
/// did not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// A product, by name.
    Product,
    /// An engagement, by id or by name in its product.
    Engagement,
    /// A test, by id or as the latest of a scan type in an engagement.
    Test,
}

impl TargetKind {
    /// The name messages use.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Product => "Product",
            TargetKind::Engagement => "Engagement",
            TargetKind::Test => "Test",
        }
    }
}

impl std::fmt::Display for TargetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an import failed; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The parser plugin failed or refused: unknown or undetected scan type,
    /// a report it rejected, or a spent budget (time, memory, output). The
    /// transports decide what each means to their callers.
    #[error(transparent)]
    Plugin(PluginError),
    /// The report file could not be read.
    #[error("cannot read the report {path}: {message}")]
    ReadReport {
        /// The path.
        path: String,
        /// The OS error.
        message: String,
    },
    /// A named or numbered target does not exist.
    #[error("{kind} {what} not found")]
    TargetNotFound {
        /// What was looked for.
        kind: TargetKind,
        /// The id or name asked for.
        what: String,
    },
    /// Ids and names (or parent names) point at different objects.
    #[error("ambiguous target: {0}")]
    AmbiguousTarget(String),
    /// The permission hook refused.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// A parameter is invalid.
    #[error("{field}: {message}")]
    InvalidParameter {
        /// The parameter.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    /// No connection.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A per-user or server-wide limit on queued or concurrent work is
    /// reached (the import queue's, or the plugin host's parse slots); the
    /// message names it. Nothing was stored.
    #[error("{0}")]
    Busy(String),
}

impl From<crate::db::DbError> for ImportError {
    fn from(e: crate::db::DbError) -> Self {
        match e {
            crate::db::DbError::Pool(m) => ImportError::Unavailable(m),
            crate::db::DbError::Query(q) => ImportError::Database(q),
        }
    }
}

/// A plugin error stays typed, except the host's admission limits, which
/// are the same condition as the queue's: [`ImportError::Busy`].
impl From<PluginError> for ImportError {
    fn from(e: PluginError) -> Self {
        match e {
            PluginError::Busy { .. } | PluginError::UserBusy { .. } => {
                ImportError::Busy(e.to_string())
            }
            other => ImportError::Plugin(other),
        }
    }
}

/// At most `max` characters in `v`, or an [`ImportError::InvalidParameter`]
/// naming `field`.
pub(crate) fn check_len(field: &'static str, v: &str, max: usize) -> Result<(), ImportError> {
    let n = v.chars().count();
    if n > max {
        return Err(ImportError::invalid(
            field,
            format!("is {n} characters long; at most {max} are allowed"),
        ));
    }
    Ok(())
}

impl ImportError {
    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> ImportError {
        ImportError::InvalidParameter {
            field,
            message: message.into(),
        }
    }
}
