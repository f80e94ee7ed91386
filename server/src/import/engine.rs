//! The import and reimport algorithms (domain.md §5.3, §5.4), each in one
//! transaction, behind the [`Importer`] handle.
//!
//! An import runs in phases, each a function below: [`plan`] (settings,
//! target, product lock, test type, dedupe rule), [`prepare_all`],
//! [`ensure_test`], then [`import_new`] or [`reimport_into`] (the new
//! findings: [`insert`]; matching against the test: [`reimport`]), and
//! [`finish`] (groups, test meta, history, outbox, statistics). Every
//! statement is in [`super::store`] or `db::models`.

mod insert;
mod reimport;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::sql_query;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;

use super::config::{DedupeSettings, EffectiveDedupe};
use super::prepare::{PrepareContext, PreparedFinding, clean_tags, prepare};
use super::request::{
    GroupBy, ImportError, ImportGuard, ImportKind, ImportOutcome, ImportRequest, ImportStatistics,
    ReportSource, TargetKind, check_len,
};
use super::store::{self, CloseScope, Closed, ImportSystemSettings, RowContext};
use super::target::{self, Target};
use crate::db::Db;
use crate::db::models::test_import::TestImport;
use crate::domain::severity::Severity;
use crate::domain::sla::SlaDays;
use crate::events::{EventKind, EventScope, Outbox};
use crate::plugins::{HostFinding, ParseOptions, ParseOutput, PluginRegistry};
use insert::{keeps_hash, keeps_uid, persist_new};
use reimport::reimport_match;

/// Logs how long each step of an import took (`PALISADE_LOG=palisade::import=debug`).
struct Phases(std::time::Instant);

impl Phases {
    fn start() -> Phases {
        Phases(std::time::Instant::now())
    }

    fn mark(&mut self, phase: &'static str) {
        let now = std::time::Instant::now();
        tracing::debug!(
            phase,
            ms = now.duration_since(self.0).as_secs_f64() * 1e3,
            "import step"
        );
        self.0 = now;
    }
}

/// Receives `(done, total)` while an import runs (the job queue's progress).
pub type Progress = tokio::sync::watch::Sender<(u64, u64)>;

/// The import engine: the database, the parser plugins and the operator's
/// deduplication settings, built once at start and shared (cheap to clone)
/// by the REST and GraphQL transports and the job workers.
#[derive(Clone)]
pub struct Importer {
    db: Db,
    plugins: PluginRegistry,
    settings: Arc<DedupeSettings>,
}

/// Where an import's findings come from.
pub enum Source {
    /// The request's report, parsed by the plugin of its scan type (detected
    /// when absent) after the target check, so a refused import costs no
    /// parser time.
    Report,
    /// Findings parsed elsewhere: only persisted.
    Parsed {
        /// The scan type they were parsed as.
        scan_type: String,
        /// The findings.
        findings: Vec<HostFinding>,
    },
}

impl Importer {
    /// The engine over `db`, parsing with `plugins` and deduplicating by
    /// `settings` (each scan type's declared setting unless overridden there).
    pub fn new(db: Db, plugins: PluginRegistry, settings: Arc<DedupeSettings>) -> Importer {
        Importer {
            db,
            plugins,
            settings,
        }
    }

    /// The database it writes to.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The parser plugins.
    pub fn plugins(&self) -> &PluginRegistry {
        &self.plugins
    }

    /// The deduplication settings.
    pub fn settings(&self) -> &DedupeSettings {
        &self.settings
    }

    /// Resolves the target and asks `guard` without writing anything: run
    /// before a report is parsed or queued, so a caller without the right to
    /// import spends no parser time and no queue space.
    pub async fn check_target(
        &self,
        kind: ImportKind,
        req: &ImportRequest,
        guard: &dyn ImportGuard,
    ) -> Result<(), ImportError> {
        check_target(&self.db, kind, req, guard).await
    }

    /// Parses the request's report with the plugin of its scan type (detected
    /// when absent), counted against `actor`'s share of parse slots when given.
    pub async fn parse(
        &self,
        actor: Option<i64>,
        req: &ImportRequest,
    ) -> Result<ParseOutput, ImportError> {
        let report = read_report(&req.report).await?;
        let parsed = self
            .plugins
            .parse(actor, req.scan_type.as_deref(), report, parse_options(req))
            .await?;
        Ok(parsed)
    }

    /// Imports (domain.md §5.3) or reimports (§5.4) `req` for `actor`.
    ///
    /// A reimport's test is `req.test_id`, or the most recent test of the scan
    /// type (and `test_title`) in the target engagement; without one,
    /// `auto_create_context` falls back to an import with
    /// `close_old_findings=false`. Everything is written in one transaction;
    /// on any error nothing is left behind. `guard` sees the resolved target
    /// before any write.
    #[tracing::instrument(skip_all, fields(kind = kind.as_str(), scan_type = ?req.scan_type, test.id = ?req.test_id))]
    pub async fn run(
        &self,
        kind: ImportKind,
        actor: Option<i64>,
        guard: &dyn ImportGuard,
        req: &ImportRequest,
        source: Source,
    ) -> Result<ImportOutcome, ImportError> {
        let (scan_type, findings) = match source {
            Source::Report => {
                self.check_target(kind, req, guard).await?;
                let parsed = self.parse(actor, req).await?;
                (parsed.scan_type, parsed.findings)
            }
            Source::Parsed {
                scan_type,
                findings,
            } => (scan_type, findings),
        };
        let job = Job {
            kind,
            actor,
            guard,
            req,
            scan_type: &scan_type,
        };
        self.persist(&job, findings, None).await
    }

    /// Writes parsed findings in one transaction, reporting progress to
    /// `progress` (the job queue's).
    pub(crate) async fn persist(
        &self,
        job: &Job<'_>,
        findings: Vec<HostFinding>,
        progress: Option<&Progress>,
    ) -> Result<ImportOutcome, ImportError> {
        let now = Utc::now();
        validate(job.req, now.date_naive())?;
        let r = Run {
            plugins: &self.plugins,
            settings: &self.settings,
            actor: job.actor,
            guard: job.guard,
            req: job.req,
            scan_type: job.scan_type,
            progress,
            now,
        };
        let mut conn = self.db.conn().await?;
        let started = std::time::Instant::now();
        let outcome = conn
            .transaction(async |c| {
                // A large import runs longer than any request statement may.
                sql_query(Db::LIFT_STATEMENT_TIMEOUT).execute(c).await?;
                crate::db::models::audit::set_actor(c, r.actor).await?;
                execute(c, &r, job.kind, findings).await
            })
            .await?;
        tracing::info!(
            test.id = outcome.test_id,
            created = outcome.statistics.created,
            duplicates = outcome.statistics.duplicates,
            closed = outcome.statistics.closed,
            duration_ms = started.elapsed().as_millis() as u64,
            "scan imported"
        );
        Ok(outcome)
    }
}

/// Who imports what, into what: one call's parameters besides its findings.
pub(crate) struct Job<'a> {
    pub kind: ImportKind,
    pub actor: Option<i64>,
    pub guard: &'a dyn ImportGuard,
    pub req: &'a ImportRequest,
    pub scan_type: &'a str,
}

fn parse_options(req: &ImportRequest) -> ParseOptions {
    let options = ParseOptions::default();
    match &req.file_name {
        Some(name) => options.with(ParseOptions::FILE_NAME, name.clone()),
        None => options,
    }
}

fn validate(req: &ImportRequest, today: NaiveDate) -> Result<(), ImportError> {
    if let Some(d) = req.scan_date
        && d > today
    {
        return Err(ImportError::invalid(
            "scan_date",
            "must not be in the future",
        ));
    }
    for (field, v, max) in [
        ("version", &req.version, 100),
        ("build_id", &req.build_id, 150),
        ("branch_tag", &req.branch_tag, 150),
        ("commit_hash", &req.commit_hash, 150),
        ("test_title", &req.test_title, 255),
        ("service", &req.service, 200),
        (
            "source_code_management_uri",
            &req.source_code_management_uri,
            600,
        ),
    ] {
        if let Some(v) = v {
            check_len(field, v, max)?;
        }
    }
    Ok(())
}

/// Reads the report (a path is read here, before any transaction).
pub async fn read_report(source: &ReportSource) -> Result<bytes::Bytes, ImportError> {
    match source {
        ReportSource::Bytes(b) => Ok(b.clone()),
        ReportSource::Path(p) => tokio::fs::read(p)
            .await
            .map(bytes::Bytes::from)
            .map_err(|e| ImportError::ReadReport {
                path: p.display().to_string(),
                message: e.to_string(),
            }),
    }
}

/// [`Importer::check_target`] for callers holding only the database (the
/// job queue checks a target before it stores a job).
pub async fn check_target(
    db: &Db,
    kind: ImportKind,
    req: &ImportRequest,
    guard: &dyn ImportGuard,
) -> Result<(), ImportError> {
    let mut conn = db.conn().await?;
    target::preflight(&mut conn, kind, req, guard).await
}

/// Everything one run needs, shared by its phases.
struct Run<'a> {
    plugins: &'a PluginRegistry,
    settings: &'a DedupeSettings,
    actor: Option<i64>,
    guard: &'a dyn ImportGuard,
    req: &'a ImportRequest,
    scan_type: &'a str,
    progress: Option<&'a Progress>,
    now: DateTime<Utc>,
}

/// What the first phase settles: where the findings go and by which rules.
struct Plan {
    sys: ImportSystemSettings,
    target: Target,
    close_old: bool,
    sla: SlaDays,
    restart_sla: bool,
    environment: Option<i64>,
    test_type_id: i64,
    test_type_name: String,
    dedupe: EffectiveDedupe,
    scan_time: DateTime<Utc>,
    test_tags: Vec<String>,
}

/// The findings an import created: (id, index into `findings`), and the
/// prepared findings they came from.
struct Created {
    ids: Vec<(i64, usize)>,
    findings: Vec<PreparedFinding>,
}

async fn execute(
    c: &mut AsyncPgConnection,
    r: &Run<'_>,
    requested_kind: ImportKind,
    findings: Vec<HostFinding>,
) -> Result<ImportOutcome, ImportError> {
    let mut phases = Phases::start();
    let mut plan = plan(c, r, requested_kind).await?;
    let (prepared, skipped) = prepare_all(c, r, &plan, findings).await?;
    phases.mark("target and prepare");
    let total = prepared.len() as u64;
    if let Some(p) = r.progress {
        let _ = p.send((0, total));
    }
    let test_id = ensure_test(c, r, &mut plan).await?;
    let mut ledger = Ledger::default();
    let mut stats = ImportStatistics {
        skipped_below_minimum: skipped,
        ..ImportStatistics::default()
    };
    let created = if plan.target.kind == ImportKind::Import {
        import_new(c, r, &plan, test_id, prepared, &mut ledger, &mut stats).await?
    } else {
        reimport_into(c, r, &plan, test_id, prepared, &mut ledger, &mut stats).await?
    };
    phases.mark("match, insert and close");
    let outcome = finish(c, r, &plan, test_id, &created, ledger, stats).await?;
    if let Some(p) = r.progress {
        let _ = p.send((total, total));
    }
    Ok(outcome)
}

/// Phase 1: the system settings, the target (created as needed, the guard
/// asked first), the product lock and SLA, the environment, the test type
/// and the deduplication rule.
async fn plan(
    c: &mut AsyncPgConnection,
    r: &Run<'_>,
    requested_kind: ImportKind,
) -> Result<Plan, ImportError> {
    let req = r.req;
    let today = r.now.date_naive();
    let sys = store::system_settings(c).await?;
    let resolve = async |c: &mut AsyncPgConnection, kind: ImportKind| {
        target::resolve(c, kind, req, r.scan_type, r.actor, r.guard, today).await
    };
    let (target, close_default) = match resolve(c, requested_kind).await? {
        Some(t) => (t, requested_kind == ImportKind::Reimport),
        // Reimport without a test and with auto-create: a plain import.
        None => (
            resolve(c, ImportKind::Import)
                .await?
                .ok_or(ImportError::TargetNotFound {
                    kind: TargetKind::Test,
                    what: r.scan_type.to_owned(),
                })?,
            false,
        ),
    };
    let close_old = if target.kind == ImportKind::Import && requested_kind == ImportKind::Reimport {
        false
    } else {
        req.close_old_findings.unwrap_or(close_default)
    };
    let (sla, restart_sla) = store::lock_product(c, target.product_id).await?;
    let environment = environment_id(c, req).await?;

    // The test type: the existing test's, or the scan type's (created on first use).
    let (test_type_id, test_type_name) = match target.test_id {
        Some(tid) => store::test_type_of(c, tid).await?,
        None => {
            let tt = crate::db::models::hierarchy::TestType::find_or_create(c, r.scan_type, true)
                .await?;
            if !tt.active {
                return Err(ImportError::invalid(
                    "scan_type",
                    format!("test type `{}` is inactive", tt.name),
                ));
            }
            (tt.id, tt.name)
        }
    };
    let dedupe = r
        .settings
        .resolve(Some(r.plugins), &test_type_name, r.scan_type);
    let scan_time = req
        .scan_date
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .unwrap_or(r.now);
    Ok(Plan {
        sys,
        target,
        close_old,
        sla,
        restart_sla,
        environment,
        test_type_id,
        test_type_name,
        dedupe,
        scan_time,
        test_tags: clean_tags(&req.tags),
    })
}

/// The request's environment, created with `auto_create_context`.
async fn environment_id(
    c: &mut AsyncPgConnection,
    req: &ImportRequest,
) -> Result<Option<i64>, ImportError> {
    let name = req
        .environment
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("Development");
    if let Some(id) = store::environment_id(c, name).await? {
        return Ok(Some(id));
    }
    if !req.auto_create_context {
        return Err(ImportError::invalid(
            "environment",
            format!("environment `{name}` does not exist"),
        ));
    }
    check_len("environment", name, 200)?;
    Ok(store::create_environment(c, name).await?)
}

/// Phase 2: normalised, hashed findings (those below `minimum_severity`
/// skipped, counted in the second value), each with `endpoint_to_add`.
async fn prepare_all(
    c: &mut AsyncPgConnection,
    r: &Run<'_>,
    plan: &Plan,
    findings: Vec<HostFinding>,
) -> Result<(Vec<PreparedFinding>, usize), ImportError> {
    let req = r.req;
    let fields = crate::db::models::custom_field::CustomField::list(
        c,
        Some(&[plan.target.product_type_id]),
        false,
    )
    .await?;
    let custom_fields = crate::domain::custom_field::ImportField::of(&fields);
    let cx = PrepareContext {
        request: req,
        dedupe: &plan.dedupe,
        sla: plan.sys.enable_finding_sla.then_some(&plan.sla),
        today: r.now.date_naive(),
        now: r.now,
        custom_fields: &custom_fields,
    };
    let reported = findings.len();
    let mut prepared: Vec<PreparedFinding> = findings
        .into_iter()
        .filter_map(|f| prepare(f, &cx))
        .collect();
    let skipped = reported - prepared.len();
    if let Some(location_id) = req.endpoint_to_add {
        let added = store::product_location(c, plan.target.product_id, location_id)
            .await?
            .ok_or_else(|| {
                ImportError::invalid(
                    "endpoint_to_add",
                    format!("location {location_id} is not a location of this product"),
                )
            })?;
        for f in &mut prepared {
            if !f.locations.contains(&added) {
                f.locations.push(added.clone());
            }
        }
    }
    Ok((prepared, skipped))
}

/// Phase 3: the test, created for an import.
async fn ensure_test(
    c: &mut AsyncPgConnection,
    r: &Run<'_>,
    plan: &mut Plan,
) -> Result<i64, ImportError> {
    if let Some(id) = plan.target.test_id {
        return Ok(id);
    }
    let req = r.req;
    let id = store::insert_test(
        c,
        &store::NewTest {
            engagement_id: plan.target.engagement_id,
            product_id: plan.target.product_id,
            test_type_id: plan.test_type_id,
            scan_type: r.scan_type,
            title: req.test_title.as_deref(),
            scan_time: plan.scan_time,
            lead_id: req.lead_id.or(r.actor),
            environment_id: plan.environment,
            meta: test_meta(req),
            tags: &plan.test_tags,
        },
    )
    .await?;
    plan.target.test_id = Some(id);
    Ok(id)
}

fn test_meta(req: &ImportRequest) -> store::TestMeta<'_> {
    store::TestMeta {
        version: req.version.as_deref(),
        build_id: req.build_id.as_deref(),
        commit_hash: req.commit_hash.as_deref(),
        branch_tag: req.branch_tag.as_deref(),
    }
}

fn rows_context(r: &Run<'_>, plan: &Plan, test_id: i64) -> RowContext {
    RowContext {
        test_id,
        engagement_id: plan.target.engagement_id,
        product_id: plan.target.product_id,
        test_type_id: plan.test_type_id,
        actor: r.actor,
        now: r.now,
    }
}

/// The tags new locations get: the test's with `apply_tags_to_endpoints`.
fn location_tags(r: &Run<'_>, plan: &Plan) -> Vec<String> {
    if r.req.apply_tags_to_endpoints {
        plan.test_tags.clone()
    } else {
        Vec::new()
    }
}

/// Phase 4 of an import (§5.3): false-positive history, the new findings
/// (deduplicated against the product), then `close_old_findings`.
async fn import_new(
    c: &mut AsyncPgConnection,
    r: &Run<'_>,
    plan: &Plan,
    test_id: i64,
    mut prepared: Vec<PreparedFinding>,
    ledger: &mut Ledger,
    stats: &mut ImportStatistics,
) -> Result<Created, ImportError> {
    let mut phases = Phases::start();
    let req = r.req;
    let target = &plan.target;
    let dedupe = &plan.dedupe;
    let rows_cx = rows_context(r, plan, test_id);
    fp_history(c, &plan.sys, target, dedupe, &mut prepared, ledger).await?;
    let dup_of = persist_new(
        c,
        r,
        &rows_cx,
        target,
        dedupe,
        &plan.sys,
        &prepared,
        &location_tags(r, plan),
        0,
    )
    .await?;
    let mut ids = Vec::with_capacity(dup_of.len());
    for (i, (id, dup)) in dup_of.iter().enumerate() {
        ids.push((*id, i));
        record_created(ledger, stats, *id, *dup, &prepared[i]);
    }
    phases.mark("dedupe and insert");
    if plan.close_old {
        let scope = CloseScope {
            test_id,
            test_type_id: plan.test_type_id,
            engagement_id: (!req.close_old_findings_product_scope).then_some(target.engagement_id),
            product_id: target.product_id,
            service: req.service.as_deref(),
            keep_hashes: prepared
                .iter()
                .filter(|f| !f.is_mitigated && keeps_hash(dedupe.algorithm))
                .map(|f| f.hash_code.clone())
                .collect(),
            keep_uids: prepared
                .iter()
                .filter(|f| !f.is_mitigated && keeps_uid(dedupe.algorithm))
                .filter_map(|f| f.unique_id_from_tool.clone())
                .collect(),
        };
        let closed = store::close_old(c, scope, plan.scan_time, r.actor).await?;
        finish_closed(
            c,
            r,
            target,
            ledger,
            stats,
            &closed,
            "This finding has been automatically closed as it is not present anymore in recent scans.",
        )
        .await?;
    }
    Ok(Created {
        ids,
        findings: prepared,
    })
}

/// Phase 4 of a reimport (§5.4): match the report against the test's
/// findings, then false-positive history and the unmatched ones as new
/// findings, then close what the report no longer has.
async fn reimport_into(
    c: &mut AsyncPgConnection,
    r: &Run<'_>,
    plan: &Plan,
    test_id: i64,
    mut prepared: Vec<PreparedFinding>,
    ledger: &mut Ledger,
    stats: &mut ImportStatistics,
) -> Result<Created, ImportError> {
    let target = &plan.target;
    let dedupe = &plan.dedupe;
    stats.before = Some(store::test_stats(c, test_id).await?);
    prepared.sort_by(|a, b| a.content_key().cmp(&b.content_key()));
    let mut outcome = reimport_match(
        c,
        r,
        target,
        &plan.test_type_name,
        dedupe,
        plan.restart_sla,
        prepared,
        ledger,
        stats,
    )
    .await?;
    fp_history(
        c,
        &plan.sys,
        target,
        dedupe,
        &mut outcome.new_findings,
        ledger,
    )
    .await?;
    let dup_of = persist_new(
        c,
        r,
        &rows_context(r, plan, test_id),
        target,
        dedupe,
        &plan.sys,
        &outcome.new_findings,
        &location_tags(r, plan),
        outcome.matched,
    )
    .await?;
    let mut ids = Vec::with_capacity(dup_of.len());
    for (i, (id, dup)) in dup_of.iter().enumerate() {
        ids.push((*id, i));
        record_created(ledger, stats, *id, *dup, &outcome.new_findings[i]);
    }
    if plan.close_old {
        let closed = store::mitigate(c, &outcome.to_mitigate, plan.scan_time, r.actor).await?;
        let note = format!("Mitigated by {} re-upload.", plan.test_type_name);
        finish_closed(c, r, target, ledger, stats, &closed, &note).await?;
    }
    Ok(Created {
        ids,
        findings: outcome.new_findings,
    })
}

/// Phase 5: finding groups, the test's and engagement's meta (§5.3 step 6,
/// §5.4 step 8), import history, the outbox events and their `NOTIFY`, and
/// the statistics.
async fn finish(
    c: &mut AsyncPgConnection,
    r: &Run<'_>,
    plan: &Plan,
    test_id: i64,
    created: &Created,
    mut ledger: Ledger,
    mut stats: ImportStatistics,
) -> Result<ImportOutcome, ImportError> {
    let mut phases = Phases::start();
    let req = r.req;
    let target = &plan.target;
    // Finding groups over the findings this import created.
    if let Some(g) = req.group_by.filter(|_| plan.sys.enable_finding_groups) {
        let mut pairs: Vec<(String, i64)> = created
            .ids
            .iter()
            .filter_map(|(id, i)| group_name(g, &created.findings[*i]).map(|n| (n, *id)))
            .collect();
        if !req.create_finding_groups_for_all_findings.unwrap_or(true) {
            let mut count: HashMap<String, usize> = HashMap::new();
            for (n, _) in &pairs {
                *count.entry(n.clone()).or_default() += 1;
            }
            pairs.retain(|(n, _)| count.get(n).copied().unwrap_or(0) >= 2);
        }
        let (names, ids): (Vec<String>, Vec<i64>) = pairs.into_iter().unzip();
        store::group_findings(c, test_id, target.product_id, r.actor, &names, &ids).await?;
    }

    if target.kind == ImportKind::Reimport {
        let tags = (!req.tags.is_empty()).then_some(plan.test_tags.as_slice());
        store::update_test_meta(c, test_id, plan.scan_time, test_meta(req), tags).await?;
    }
    if target.engagement_ci {
        store::extend_engagement(c, target.engagement_id, plan.scan_time).await?;
    }

    let test_import_id = if plan.sys.track_import_history {
        let mut settings = serde_json::to_value(req).unwrap_or_else(|_| json!({}));
        if let Some(o) = settings.as_object_mut() {
            o.insert("scan_type".to_owned(), json!(r.scan_type));
            o.insert("close_old_findings".to_owned(), json!(plan.close_old));
            o.insert(
                "dedupe".to_owned(),
                json!({"algorithm": super::config::algorithm_name(plan.dedupe.algorithm), "hash_fields": plan.dedupe.hash_fields, "source": plan.dedupe.source}),
            );
        }
        let id = TestImport::create(
            c,
            test_id,
            target.kind.as_str(),
            &settings,
            [
                req.version.as_deref(),
                req.build_id.as_deref(),
                req.commit_hash.as_deref(),
                req.branch_tag.as_deref(),
            ],
        )
        .await?;
        TestImport::insert_actions(c, id, &ledger.ids, &ledger.actions).await?;
        Some(id)
    } else {
        None
    };

    phases.mark("groups, meta and history");
    write_events(c, r, target, test_id, &ledger).await?;
    phases.mark("events");
    stats.after = store::test_stats(c, test_id).await?;
    phases.mark("statistics");
    stats.delta = std::mem::take(&mut ledger.delta);
    Ok(ImportOutcome {
        kind: target.kind,
        scan_type: r.scan_type.to_owned(),
        test_id,
        engagement_id: target.engagement_id,
        product_id: target.product_id,
        product_type_id: target.product_type_id,
        test_import_id,
        deduplication_complete: true,
        statistics: stats,
    })
}

/// Outbox events, then one NOTIFY delivered at commit.
async fn write_events(
    c: &mut AsyncPgConnection,
    r: &Run<'_>,
    target: &Target,
    test_id: i64,
    ledger: &Ledger,
) -> Result<(), ImportError> {
    let scope = EventScope {
        product_type_id: Some(target.product_type_id),
        product_id: Some(target.product_id),
        engagement_id: Some(target.engagement_id),
        test_id: Some(test_id),
        actor: r.actor,
    };
    Outbox::record_batch(
        c,
        &scope,
        &ledger.event_kinds,
        &ledger.event_ids,
        &ledger.event_changes,
    )
    .await?;
    Outbox::notify(
        c,
        &json!({"source": "import", "test_id": test_id, "product_id": target.product_id, "events": ledger.event_ids.len()})
            .to_string(),
    )
    .await?;
    Ok(())
}

fn group_name(g: GroupBy, f: &PreparedFinding) -> Option<String> {
    let name = match g {
        GroupBy::ComponentName => format!("Findings in: {}", f.component_name.as_deref()?),
        GroupBy::ComponentNameVersion => {
            if f.component_name.is_none() && f.component_version.is_none() {
                return None;
            }
            format!(
                "Findings in: {}:{}",
                f.component_name.as_deref().unwrap_or("None"),
                f.component_version.as_deref().unwrap_or("None")
            )
        }
        GroupBy::FilePath => format!("Findings in: Filepath {}", f.file_path.as_deref()?),
        GroupBy::FindingTitle => {
            if f.title.is_empty() {
                return None;
            }
            format!("Findings in: {}", f.title)
        }
        GroupBy::VulnIdFromTool => format!(
            "Findings in: Vulnerability ID {}",
            f.vuln_id_from_tool.as_deref()?
        ),
        GroupBy::Service => format!(
            "Findings in: Service {}",
            f.service.as_deref().filter(|s| !s.is_empty())?
        ),
    };
    Some(name.chars().take(255).collect())
}

/// What an import did to one finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Created,
    Closed,
    Reactivated,
    Untouched,
}

impl Action {
    /// The code import history stores (`test_import_action_sets.action`).
    fn code(self) -> &'static str {
        match self {
            Action::Created => "N",
            Action::Closed => "C",
            Action::Reactivated => "R",
            Action::Untouched => "U",
        }
    }

    /// Its key in the statistics' `delta`.
    fn bucket(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Closed => "closed",
            Action::Reactivated => "reactivated",
            Action::Untouched => "untouched",
        }
    }
}

/// What happened to findings, for history, events and statistics.
#[derive(Default)]
struct Ledger {
    ids: Vec<i64>,
    actions: Vec<&'static str>,
    event_kinds: Vec<EventKind>,
    event_ids: Vec<i64>,
    event_changes: Vec<String>,
    delta: BTreeMap<String, BTreeMap<String, i64>>,
}

impl Ledger {
    fn action(&mut self, id: i64, action: Action, severity: Severity) {
        self.ids.push(id);
        self.actions.push(action.code());
        let counts = self.delta.entry(action.bucket().to_owned()).or_default();
        *counts.entry(severity.key().to_owned()).or_default() += 1;
        *counts.entry("total".to_owned()).or_default() += 1;
    }

    fn event(&mut self, kind: EventKind, id: i64, changes: &serde_json::Value) {
        self.event_kinds.push(kind);
        self.event_ids.push(id);
        self.event_changes.push(changes.to_string());
    }
}

/// False-positive history (domain.md §4.6): only with deduplication off.
async fn fp_history(
    c: &mut AsyncPgConnection,
    sys: &store::ImportSystemSettings,
    target: &Target,
    dedupe: &EffectiveDedupe,
    findings: &mut [PreparedFinding],
    ledger: &mut Ledger,
) -> Result<(), ImportError> {
    if sys.enable_deduplication || !sys.false_positive_history {
        return Ok(());
    }
    let done = super::fp_history::apply(
        c,
        target.product_id,
        dedupe.algorithm,
        sys.retroactive_false_positive_history,
        findings,
    )
    .await?;
    let changes = json!({
        "false_p": {"before": false, "after": true},
        "active": {"before": true, "after": false},
    });
    for id in done.marked_existing {
        ledger.event(EventKind::FalsePositive, id, &changes);
    }
    Ok(())
}

fn record_created(
    ledger: &mut Ledger,
    stats: &mut ImportStatistics,
    id: i64,
    dup: Option<i64>,
    f: &PreparedFinding,
) {
    stats.created += 1;
    ledger.action(id, Action::Created, f.severity);
    match dup {
        Some(orig) => {
            stats.duplicates += 1;
            ledger.event(
                EventKind::Duplicate,
                id,
                &json!({"after": {"duplicate": true, "duplicate_finding_id": orig, "active": false, "severity": f.severity.as_str()}}),
            );
        }
        None => ledger.event(
            EventKind::Created,
            id,
            &json!({"after": {"active": f.active, "verified": f.verified, "severity": f.severity.as_str(), "is_mitigated": f.is_mitigated}}),
        ),
    }
}

async fn finish_closed(
    c: &mut AsyncPgConnection,
    r: &Run<'_>,
    target: &Target,
    ledger: &mut Ledger,
    stats: &mut ImportStatistics,
    closed: &[Closed],
    note: &str,
) -> Result<(), ImportError> {
    let ids: Vec<i64> = closed.iter().map(|c| c.id).collect();
    store::insert_notes(c, target.product_id, r.actor, &ids, note).await?;
    store::set_reference_status(c, &ids, "Mitigated").await?;
    let ra: Vec<i64> = closed
        .iter()
        .filter(|c| c.was_risk_accepted)
        .map(|c| c.id)
        .collect();
    store::remove_risk_acceptance(c, &ra).await?;
    for f in closed {
        stats.closed += 1;
        ledger.action(f.id, Action::Closed, f.severity);
        ledger.event(
            EventKind::Mitigated,
            f.id,
            &json!({"before": {"active": f.was_active, "is_mitigated": false}, "after": {"active": false, "is_mitigated": true}}),
        );
    }
    Ok(())
}
