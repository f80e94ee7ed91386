//! Imports over GraphQL: `importScan`, `reimportScan`, background jobs,
//! import history and `dedupeExplain`.

use std::io::Read;
use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject, Upload};
use chrono::{DateTime, NaiveDate, Utc};

use super::context::Cx;
use super::error::{ApiError, ApiResult};
use super::finding::Finding;
use super::hierarchy::Test;
use super::ids::{self, Kind};
use crate::authz::AuthzGuard;
use crate::authz::Subject;
use crate::db::models::test_import as history;
use crate::domain::severity::Severity as DomainSeverity;
use crate::import::{
    DedupeSettings, GroupBy, ImportError, ImportKind, ImportOutcome, ImportRequest, ReportSource,
};
use crate::plugins::PluginRegistry;

/// How findings are grouped into finding groups.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum GroupByInput {
    /// By component name.
    ComponentName,
    /// By component name and version.
    ComponentNameVersion,
    /// By file path.
    FilePath,
    /// By title.
    FindingTitle,
    /// By the tool's vulnerability id.
    VulnIdFromTool,
    /// By service.
    Service,
}

impl From<GroupByInput> for GroupBy {
    fn from(g: GroupByInput) -> Self {
        match g {
            GroupByInput::ComponentName => GroupBy::ComponentName,
            GroupByInput::ComponentNameVersion => GroupBy::ComponentNameVersion,
            GroupByInput::FilePath => GroupBy::FilePath,
            GroupByInput::FindingTitle => GroupBy::FindingTitle,
            GroupByInput::VulnIdFromTool => GroupBy::VulnIdFromTool,
            GroupByInput::Service => GroupBy::Service,
        }
    }
}

/// Input of `importScan` and `reimportScan`: DefectDojo's import parameters.
#[derive(InputObject)]
pub struct ImportScanInput {
    /// The report.
    pub file: Upload,
    /// The scan type, e.g. "Trivy Scan"; detected from the report when omitted.
    pub scan_type: Option<String>,
    /// Target engagement (wins over names).
    pub engagement: Option<ID>,
    /// Reimport: the test to reimport into.
    pub test: Option<ID>,
    /// Target product type by name.
    pub product_type_name: Option<String>,
    /// Target product by name.
    pub product_name: Option<String>,
    /// Target engagement by name.
    pub engagement_name: Option<String>,
    /// Title of the test.
    pub test_title: Option<String>,
    /// Create the product type, product and engagement when missing.
    #[graphql(default = false)]
    pub auto_create_context: bool,
    /// Deduplicate within the engagement instead of the product (new engagements).
    #[graphql(default = false)]
    pub deduplication_on_engagement: bool,
    /// End date of an auto-created engagement.
    pub engagement_end_date: Option<NaiveDate>,
    /// Findings below this severity are skipped.
    pub minimum_severity: Option<DomainSeverity>,
    /// Overrides every finding's active flag.
    pub active: Option<bool>,
    /// Overrides every finding's verified flag.
    pub verified: Option<bool>,
    /// The scan's date (default: the parser's or today).
    pub scan_date: Option<NaiveDate>,
    /// Tags of the test.
    pub tags: Option<Vec<String>>,
    /// Also tag every imported finding.
    #[graphql(default = false)]
    pub apply_tags_to_findings: bool,
    /// Also tag the findings' locations.
    #[graphql(default = false)]
    pub apply_tags_to_endpoints: bool,
    /// A location of the product to link to every imported finding.
    pub endpoint_to_add: Option<ID>,
    /// An API scan configuration of the product, for API-connector parsers
    /// (DefectDojo's `api_scan_configuration`). This server has no such
    /// parsers and so no configurations: any id is refused.
    pub api_scan_configuration: Option<ID>,
    /// Version scanned.
    pub version: Option<String>,
    /// CI build id.
    pub build_id: Option<String>,
    /// Branch or tag.
    pub branch_tag: Option<String>,
    /// Commit hash.
    pub commit_hash: Option<String>,
    /// Service the findings belong to.
    pub service: Option<String>,
    /// Development environment (default "Development").
    pub environment: Option<String>,
    /// Close findings absent from this report (default: false on import, true on reimport).
    pub close_old_findings: Option<bool>,
    /// Import: close old findings across the whole product.
    #[graphql(default = false)]
    pub close_old_findings_product_scope: bool,
    /// Reimport: leave mitigated findings closed when they reappear.
    #[graphql(default = false)]
    pub do_not_reactivate: bool,
    /// Group findings.
    pub group_by: Option<GroupByInput>,
    /// With `groupBy`: also make groups of one finding.
    pub create_finding_groups_for_all_findings: Option<bool>,
    /// Record that the findings should go to Jira.
    #[graphql(default = false)]
    pub push_to_jira: bool,
    /// Source code URI of an auto-created engagement.
    pub source_code_management_uri: Option<String>,
    /// Run in the background: the payload carries a job to poll.
    #[graphql(name = "async", default = false)]
    pub run_async: bool,
}

/// What an import did.
#[derive(SimpleObject)]
pub struct ImportStatistics {
    /// Findings created.
    pub created: i32,
    /// Findings re-opened.
    pub reactivated: i32,
    /// Findings closed.
    pub closed: i32,
    /// Findings seen again, unchanged.
    pub untouched: i32,
    /// Created findings marked duplicate.
    pub duplicates: i32,
    /// Report findings skipped below the minimum severity.
    pub skipped_below_minimum: i32,
    /// DefectDojo's statistics block: `before`, `after` and `delta` by severity.
    pub detail: Json<serde_json::Value>,
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl From<&crate::import::ImportStatistics> for ImportStatistics {
    fn from(s: &crate::import::ImportStatistics) -> Self {
        ImportStatistics {
            created: count(s.created),
            reactivated: count(s.reactivated),
            closed: count(s.closed),
            untouched: count(s.untouched),
            duplicates: count(s.duplicates),
            skipped_below_minimum: count(s.skipped_below_minimum),
            detail: Json(serde_json::json!({
                "before": s.before, "after": s.after, "delta": s.delta,
            })),
        }
    }
}

/// The result of `importScan`/`reimportScan`.
pub struct ImportPayload {
    outcome: Option<ImportOutcome>,
    job: Option<crate::import::JobStatus>,
}

#[Object]
impl ImportPayload {
    /// The test the findings went into (null for a queued import).
    async fn test(&self, ctx: &Context<'_>) -> ApiResult<Option<Test>> {
        let cx = Cx::of(ctx)?;
        match &self.outcome {
            Some(o) => cx.readable_id(o.test_id).await.map(|t| Some(Test(t))),
            None => Ok(None),
        }
    }

    /// The scan type used.
    async fn scan_type(&self) -> Option<&str> {
        self.outcome.as_ref().map(|o| o.scan_type.as_str())
    }

    /// What happened (null for a queued import).
    async fn statistics(&self) -> Option<ImportStatistics> {
        self.outcome.as_ref().map(|o| (&o.statistics).into())
    }

    /// The history entry of this import.
    async fn test_import(&self, ctx: &Context<'_>) -> ApiResult<Option<TestImport>> {
        let cx = Cx::of(ctx)?;
        let Some(id) = self.outcome.as_ref().and_then(|o| o.test_import_id) else {
            return Ok(None);
        };
        let mut conn = cx.conn().await?;
        Ok(history::TestImport::by_id(&mut conn, id)
            .await?
            .map(TestImport))
    }

    /// The background job, for `async: true`.
    async fn job(&self) -> Option<Job> {
        self.job.clone().map(Job)
    }
}

/// A background import.
#[derive(Clone)]
pub struct Job(pub crate::import::JobStatus);

/// A job's state.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum JobState {
    /// Waiting for a worker.
    Queued,
    /// Running.
    Running,
    /// Done.
    Succeeded,
    /// Failed for good (see `lastError`).
    Failed,
}

#[Object]
impl Job {
    /// Global id.
    async fn id(&self) -> ID {
        ids::encode(Kind::Job, self.0.id)
    }

    /// `import_scan` or `reimport_scan`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }

    /// Its state.
    async fn state(&self) -> JobState {
        match self.0.status.as_str() {
            "running" => JobState::Running,
            "succeeded" => JobState::Succeeded,
            "failed" => JobState::Failed,
            _ => JobState::Queued,
        }
    }

    /// Attempts so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }

    /// Findings processed.
    async fn progress_done(&self) -> i64 {
        self.0.progress_done
    }

    /// Findings to process, once known.
    async fn progress_total(&self) -> Option<i64> {
        self.0.progress_total
    }

    /// Why the last attempt failed.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }

    /// When it was queued.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it finished.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }

    /// The test, once the import succeeded.
    async fn test(&self, ctx: &Context<'_>) -> ApiResult<Option<Test>> {
        let cx = Cx::of(ctx)?;
        let Some(outcome) = job_outcome(&self.0) else {
            return Ok(None);
        };
        cx.readable_id(outcome.test_id).await.map(|t| Some(Test(t)))
    }

    /// What the import did, once it succeeded.
    async fn statistics(&self) -> Option<ImportStatistics> {
        job_outcome(&self.0).map(|o| (&o.statistics).into())
    }
}

fn job_outcome(job: &crate::import::JobStatus) -> Option<ImportOutcome> {
    job.result
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
}

/// What an import did to one finding.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum ImportAction {
    /// Created.
    Created,
    /// Closed.
    Closed,
    /// Reactivated.
    Reactivated,
    /// Seen again, unchanged.
    Untouched,
}

/// One finding's action in an import.
pub struct TestImportFindingAction {
    finding_id: i64,
    action: ImportAction,
}

#[Object]
impl TestImportFindingAction {
    /// The finding.
    async fn finding(&self, ctx: &Context<'_>) -> ApiResult<Finding> {
        let cx = Cx::of(ctx)?;
        cx.readable_id(self.finding_id).await.map(Finding)
    }

    /// What happened to it.
    async fn action(&self) -> ImportAction {
        self.action
    }
}

/// An entry of a test's import history.
pub struct TestImport(pub history::TestImport);

#[Object]
impl TestImport {
    /// Global id.
    async fn id(&self) -> ID {
        ids::encode(Kind::TestImport, self.0.id)
    }

    /// `import` or `reimport`.
    async fn import_type(&self) -> &str {
        &self.0.import_type
    }

    /// When it ran.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Version scanned.
    async fn version(&self) -> Option<&str> {
        self.0.version.as_deref()
    }

    /// CI build id.
    async fn build_id(&self) -> Option<&str> {
        self.0.build_id.as_deref()
    }

    /// Commit hash.
    async fn commit_hash(&self) -> Option<&str> {
        self.0.commit_hash.as_deref()
    }

    /// Branch or tag.
    async fn branch_tag(&self) -> Option<&str> {
        self.0.branch_tag.as_deref()
    }

    /// The parameters the import ran with.
    async fn settings(&self) -> Json<serde_json::Value> {
        Json(serde_json::from_str(&self.0.import_settings).unwrap_or_default())
    }

    /// Per-finding actions, optionally only one kind.
    #[graphql(complexity = "first.max(1) as usize * child_complexity")]
    async fn actions(
        &self,
        ctx: &Context<'_>,
        action: Option<ImportAction>,
        #[graphql(default = 100, validator(minimum = 1, maximum = 1000))] first: i32,
    ) -> ApiResult<Vec<TestImportFindingAction>> {
        let cx = Cx::of(ctx)?;
        let code = action.map(|a| match a {
            ImportAction::Created => "N",
            ImportAction::Closed => "C",
            ImportAction::Reactivated => "R",
            ImportAction::Untouched => "U",
        });
        let mut conn = cx.conn().await?;
        let rows =
            history::TestImport::actions(&mut conn, self.0.id, code, i64::from(first)).await?;
        Ok(rows
            .into_iter()
            .map(|(finding_id, a)| TestImportFindingAction {
                finding_id,
                action: match a.as_str() {
                    "N" => ImportAction::Created,
                    "C" => ImportAction::Closed,
                    "R" => ImportAction::Reactivated,
                    _ => ImportAction::Untouched,
                },
            })
            .collect())
    }
}

/// The import history of a test, newest first.
pub async fn test_imports_of(cx: &Cx<'_>, test_id: i64) -> ApiResult<Vec<TestImport>> {
    let mut conn = cx.conn().await?;
    Ok(history::TestImport::for_test(&mut conn, test_id)
        .await?
        .into_iter()
        .map(TestImport)
        .collect())
}

/// The API error of an import failure.
pub fn import_error(e: ImportError) -> ApiError {
    match e {
        ImportError::PermissionDenied(m) => ApiError::Forbidden(m),
        ImportError::Database(e) => ApiError::Internal(e.to_string()),
        ImportError::Unavailable(m) => ApiError::Internal(m),
        ImportError::TargetNotFound { kind, what } => ApiError::NotFound(format!("{kind} {what}")),
        ImportError::Busy(m) => ApiError::RateLimited(m),
        ImportError::Plugin(p) => super::plugin::plugin_error(p),
        other => ApiError::BadUserInput(other.to_string()),
    }
}

fn services<'a>(ctx: &'a Context<'_>) -> ApiResult<(&'a PluginRegistry, &'a Arc<DedupeSettings>)> {
    let plugins = ctx
        .data::<PluginRegistry>()
        .map_err(|_| ApiError::Internal("plugins missing".to_owned()))?;
    let dedupe = ctx
        .data::<Arc<DedupeSettings>>()
        .map_err(|_| ApiError::Internal("dedupe settings missing".to_owned()))?;
    Ok((plugins, dedupe))
}

async fn build_request(
    ctx: &Context<'_>,
    cx: &Cx<'_>,
    input: ImportScanInput,
    kind: ImportKind,
) -> ApiResult<(ImportRequest, bool)> {
    let value = input
        .file
        .value(ctx)
        .map_err(|e| ApiError::invalid("file", format!("cannot read the upload: {e}")))?;
    let file_name = value.filename.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        let mut buf = Vec::new();
        value.into_read().read_to_end(&mut buf).map(|_| buf)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| ApiError::invalid("file", format!("cannot read the upload: {e}")))?;
    if let Some(id) = &input.api_scan_configuration {
        return Err(ApiError::invalid(
            "apiScanConfiguration",
            format!("API scan configuration `{}` does not exist", id.as_str()),
        ));
    }
    let engagement_id = match &input.engagement {
        Some(id) => {
            let e: crate::db::models::hierarchy::Engagement = cx.readable(id).await?;
            Some(e.id)
        }
        None => None,
    };
    let test_id = match (&input.test, kind) {
        (Some(id), ImportKind::Reimport) => Some(
            cx.readable::<crate::db::models::hierarchy::Test>(id)
                .await?
                .id,
        ),
        (Some(_), ImportKind::Import) => {
            return Err(ApiError::invalid(
                "test",
                "only a reimport targets an existing test",
            ));
        }
        (None, _) => None,
    };
    let req = ImportRequest {
        scan_type: input.scan_type,
        report: ReportSource::Bytes(bytes.into()),
        file_name: Some(file_name),
        product_type_name: input.product_type_name,
        product_name: input.product_name,
        engagement_name: input.engagement_name,
        engagement_id,
        test_id,
        test_title: input.test_title,
        auto_create_context: input.auto_create_context,
        deduplication_on_engagement: input.deduplication_on_engagement,
        engagement_end_date: input.engagement_end_date,
        source_code_management_uri: input.source_code_management_uri,
        lead_id: cx.actor_id(),
        minimum_severity: input.minimum_severity,
        active: input.active,
        verified: input.verified,
        scan_date: input.scan_date,
        tags: input.tags.unwrap_or_default(),
        apply_tags_to_findings: input.apply_tags_to_findings,
        apply_tags_to_endpoints: input.apply_tags_to_endpoints,
        endpoint_to_add: input
            .endpoint_to_add
            .as_ref()
            .map(|id| ids::decode(id, Kind::Location))
            .transpose()?,
        version: input.version,
        build_id: input.build_id,
        branch_tag: input.branch_tag,
        commit_hash: input.commit_hash,
        service: input.service,
        environment: input.environment,
        close_old_findings: input.close_old_findings,
        close_old_findings_product_scope: input.close_old_findings_product_scope,
        do_not_reactivate: input.do_not_reactivate,
        group_by: input.group_by.map(GroupBy::from),
        create_finding_groups_for_all_findings: input.create_finding_groups_for_all_findings,
        push_to_jira: input.push_to_jira,
    };
    Ok((req, input.run_async))
}

async fn run_import(
    ctx: &Context<'_>,
    input: ImportScanInput,
    kind: ImportKind,
) -> ApiResult<ImportPayload> {
    let cx = Cx::of(ctx)?;
    let (req, run_async) = build_request(ctx, &cx, input, kind).await?;
    let guard = AuthzGuard {
        authz: cx.authz().clone(),
        subject: cx.subject(),
    };
    if run_async {
        let caps = ctx
            .data::<Arc<crate::config::Config>>()
            .map_err(|_| ApiError::Internal("configuration missing".to_owned()))?
            .import
            .queue_caps();
        let id =
            crate::import::enqueue_import_checked(cx.db(), kind, cx.actor_id(), &req, &guard, caps)
                .await
                .map_err(import_error)?;
        let job = crate::import::job_status(cx.db(), id)
            .await
            .map_err(import_error)?;
        return Ok(ImportPayload { outcome: None, job });
    }
    let importer = ctx
        .data::<crate::import::Importer>()
        .map_err(|_| ApiError::Internal("importer missing".to_owned()))?;
    let outcome = importer
        .run(
            kind,
            cx.actor_id(),
            &guard,
            &req,
            crate::import::Source::Report,
        )
        .await
        .map_err(import_error)?;
    // A product created by the import extends its type's roles: see it now.
    if let Err(e) = cx.authz().reload(cx.db()).await {
        tracing::warn!(error = %e, "policy reload after an import failed");
    }
    Ok(ImportPayload {
        outcome: Some(outcome),
        job: None,
    })
}

/// The job `id` when the caller queued it (superusers see every job).
pub async fn visible_job(
    db: &crate::db::Db,
    subject: Subject,
    id: i64,
) -> Result<Option<crate::import::JobStatus>, ImportError> {
    Ok(crate::import::job_status(db, id)
        .await?
        .filter(|j| subject.is_superuser || j.created_by_id == Some(subject.user_id)))
}

/// Import queries.
#[derive(Default)]
pub struct ImportQuery;

#[Object]
impl ImportQuery {
    /// A background import you queued.
    async fn job(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Job> {
        let cx = Cx::of(ctx)?;
        let job_id = ids::decode(&id, Kind::Job)?;
        visible_job(cx.db(), cx.subject(), job_id)
            .await
            .map_err(import_error)?
            .map(Job)
            .ok_or_else(|| ApiError::NotFound(format!("Job {}", id.0)))
    }

    /// Why a finding is, or is not, a duplicate: the algorithm and where its
    /// setting came from, the hashed fields with their values, the hash, and
    /// the original it was matched with.
    async fn dedupe_explain(
        &self,
        ctx: &Context<'_>,
        finding: ID,
    ) -> ApiResult<Json<crate::import::DedupeExplanation>> {
        let cx = Cx::of(ctx)?;
        let f: crate::db::models::finding::Finding = cx.readable(&finding).await?;
        let (plugins, dedupe) = services(ctx)?;
        let mut conn = cx.conn().await?;
        let mut explanation = crate::import::dedupe_explain(&mut conn, Some(plugins), dedupe, f.id)
            .await
            .map_err(import_error)?
            .ok_or_else(|| ApiError::NotFound(format!("Finding {}", finding.0)))?;
        drop(conn);
        // The stored link is whatever the data says, not bound to the
        // product: name it only if the caller could read the finding.
        for id in [
            &mut explanation.stored_duplicate_finding_id,
            &mut explanation.original_finding_id,
        ] {
            if let Some(other) = *id {
                match cx
                    .readable_id::<crate::db::models::finding::Finding>(other)
                    .await
                {
                    Ok(_) => {}
                    Err(ApiError::NotFound(_)) => *id = None,
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(Json(explanation))
    }
}

/// Import mutations.
#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// Imports a report into a new test. Needs `Import_Scan_Result` on the
    /// product (and the right to create whatever `autoCreateContext` creates).
    async fn import_scan(
        &self,
        ctx: &Context<'_>,
        input: ImportScanInput,
    ) -> ApiResult<ImportPayload> {
        run_import(ctx, input, ImportKind::Import).await
    }

    /// Reimports a report into an existing test: new findings are created,
    /// missing ones closed, reappearing ones reactivated.
    async fn reimport_scan(
        &self,
        ctx: &Context<'_>,
        input: ImportScanInput,
    ) -> ApiResult<ImportPayload> {
        run_import(ctx, input, ImportKind::Reimport).await
    }
}
