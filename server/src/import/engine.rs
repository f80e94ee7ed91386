//! The import and reimport algorithms (domain.md §5.3, §5.4) in one transaction.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz};
use diesel::{QueryableByName, sql_query};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures::{FutureExt as _, StreamExt as _};
use serde_json::json;

use super::config::{DedupeSettings, EffectiveDedupe};
use super::dedupe::{CandidatePool, DedupeItem, find_original};
use super::prepare::{PrepareContext, PreparedFinding, clean_tags, prepare};
use super::request::{
    GroupBy, ImportError, ImportGuard, ImportKind, ImportOutcome, ImportRequest, ImportStatistics,
    ReportSource,
};
use super::store::{self, CandidateKeys, CloseScope, Closed, FindingUpdate, NewRow, RowContext};
use super::target::{self, Target};
use crate::db::Db;
use crate::domain::severity::Severity;
use crate::events::{EventKind, EventScope, Outbox};
use crate::plugins::{DedupeAlgorithm, HostFinding, ParseOptions, ParseOutput, PluginRegistry};

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

/// Parses the request's report with the plugin of its scan type (detected
/// when absent), counted against `actor`'s share of parse slots.
pub async fn parse_report(
    plugins: &PluginRegistry,
    actor_user_id: Option<i64>,
    req: &ImportRequest,
) -> Result<ParseOutput, ImportError> {
    let report = read_report(&req.report).await?;
    let mut options = ParseOptions::default();
    if let Some(name) = &req.file_name {
        options = options.with(ParseOptions::FILE_NAME, name.clone());
    }
    let parsed = match actor_user_id {
        Some(user) => {
            plugins
                .parse_for_user(user, req.scan_type.as_deref(), report, options)
                .await
        }
        None => {
            plugins
                .parse(req.scan_type.as_deref(), report, options)
                .await
        }
    };
    Ok(parsed?)
}

/// Resolves the target and asks `guard` without writing anything: run
/// before a report is parsed or queued, so a caller without the right to
/// import spends no parser time and no queue space.
pub async fn check_target(
    db: &Db,
    kind: ImportKind,
    req: &ImportRequest,
    guard: &dyn ImportGuard,
) -> Result<(), ImportError> {
    let mut conn = db.conn().await?;
    target::preflight(&mut conn, kind, req, guard).await
}

/// Imports a report into a new test (domain.md §5.3).
///
/// Parses first, then writes everything in one transaction; on any error
/// nothing is left behind. `guard` sees the resolved target before any write.
#[tracing::instrument(skip_all, fields(scan_type = ?req.scan_type))]
pub async fn import_scan(
    db: &Db,
    plugins: &PluginRegistry,
    settings: &DedupeSettings,
    actor_user_id: Option<i64>,
    guard: &dyn ImportGuard,
    req: ImportRequest,
) -> Result<ImportOutcome, ImportError> {
    check_target(db, ImportKind::Import, &req, guard).await?;
    let parsed = parse_report(plugins, actor_user_id, &req).await?;
    run(
        db,
        Some(plugins),
        settings,
        actor_user_id,
        guard,
        ImportKind::Import,
        &req,
        &parsed.scan_type,
        parsed.findings,
        None,
    )
    .await
}

/// Reimports a report into an existing test (domain.md §5.4).
///
/// The test is `req.test_id`, or the most recent test of the scan type (and
/// `test_title`) in the target engagement; without one, `auto_create_context`
/// falls back to an import with `close_old_findings=false`.
#[tracing::instrument(skip_all, fields(scan_type = ?req.scan_type, test.id = ?req.test_id))]
pub async fn reimport_scan(
    db: &Db,
    plugins: &PluginRegistry,
    settings: &DedupeSettings,
    actor_user_id: Option<i64>,
    guard: &dyn ImportGuard,
    req: ImportRequest,
) -> Result<ImportOutcome, ImportError> {
    check_target(db, ImportKind::Reimport, &req, guard).await?;
    let parsed = parse_report(plugins, actor_user_id, &req).await?;
    run(
        db,
        Some(plugins),
        settings,
        actor_user_id,
        guard,
        ImportKind::Reimport,
        &req,
        &parsed.scan_type,
        parsed.findings,
        None,
    )
    .await
}

/// Import of already parsed findings (persist only). `plugins` supplies the
/// scan type's declared dedupe setting; without it the reference table is used.
#[expect(
    clippy::too_many_arguments,
    reason = "mirrors import_scan plus the parse output"
)]
pub async fn import_findings(
    db: &Db,
    plugins: Option<&PluginRegistry>,
    settings: &DedupeSettings,
    actor_user_id: Option<i64>,
    guard: &dyn ImportGuard,
    req: &ImportRequest,
    scan_type: &str,
    findings: Vec<HostFinding>,
) -> Result<ImportOutcome, ImportError> {
    run(
        db,
        plugins,
        settings,
        actor_user_id,
        guard,
        ImportKind::Import,
        req,
        scan_type,
        findings,
        None,
    )
    .await
}

/// Reimport of already parsed findings (persist only); see [`import_findings`].
#[expect(
    clippy::too_many_arguments,
    reason = "mirrors reimport_scan plus the parse output"
)]
pub async fn reimport_findings(
    db: &Db,
    plugins: Option<&PluginRegistry>,
    settings: &DedupeSettings,
    actor_user_id: Option<i64>,
    guard: &dyn ImportGuard,
    req: &ImportRequest,
    scan_type: &str,
    findings: Vec<HostFinding>,
) -> Result<ImportOutcome, ImportError> {
    run(
        db,
        plugins,
        settings,
        actor_user_id,
        guard,
        ImportKind::Reimport,
        req,
        scan_type,
        findings,
        None,
    )
    .await
}

/// Everything one run needs, shared by its steps.
struct Run<'a> {
    plugins: Option<&'a PluginRegistry>,
    settings: &'a DedupeSettings,
    actor: Option<i64>,
    guard: &'a dyn ImportGuard,
    req: &'a ImportRequest,
    scan_type: &'a str,
    progress: Option<&'a Progress>,
    now: DateTime<Utc>,
}

#[expect(
    clippy::too_many_arguments,
    reason = "internal entry shared by the public ones and jobs"
)]
pub(crate) async fn run(
    db: &Db,
    plugins: Option<&PluginRegistry>,
    settings: &DedupeSettings,
    actor: Option<i64>,
    guard: &dyn ImportGuard,
    kind: ImportKind,
    req: &ImportRequest,
    scan_type: &str,
    findings: Vec<HostFinding>,
    progress: Option<&Progress>,
) -> Result<ImportOutcome, ImportError> {
    let now = Utc::now();
    validate(req, now.date_naive())?;
    let r = Run {
        plugins,
        settings,
        actor,
        guard,
        req,
        scan_type,
        progress,
        now,
    };
    let mut conn = db.conn().await?;
    let started = std::time::Instant::now();
    let outcome = conn
        .transaction(async |c| {
            // A large import runs longer than any request statement may.
            sql_query(Db::LIFT_STATEMENT_TIMEOUT).execute(c).await?;
            execute(c, &r, kind, findings).await
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

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

#[derive(QueryableByName)]
struct TestTypeRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    name: String,
}

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
    let rows: Vec<IdRow> = sql_query("SELECT id FROM development_environments WHERE name = $1")
        .bind::<Text, _>(name)
        .load(c)
        .await?;
    if let Some(r) = rows.into_iter().next() {
        return Ok(Some(r.id));
    }
    if !req.auto_create_context {
        return Err(ImportError::invalid(
            "environment",
            format!("environment `{name}` does not exist"),
        ));
    }
    check_len("environment", name, 200)?;
    let rows: Vec<IdRow> =
        sql_query("INSERT INTO development_environments (name) VALUES ($1) RETURNING id")
            .bind::<Text, _>(name)
            .load(c)
            .await?;
    Ok(rows.into_iter().next().map(|r| r.id))
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
    };
    Some(name.chars().take(255).collect())
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
    fn action(&mut self, id: i64, action: &'static str, severity: Severity) {
        self.ids.push(id);
        self.actions.push(action);
        let bucket = match action {
            "N" => "created",
            "C" => "closed",
            "R" => "reactivated",
            _ => "untouched",
        };
        let counts = self.delta.entry(bucket.to_owned()).or_default();
        *counts.entry(severity.key().to_owned()).or_default() += 1;
        *counts.entry("total".to_owned()).or_default() += 1;
    }

    fn event(&mut self, kind: EventKind, id: i64, changes: &serde_json::Value) {
        self.event_kinds.push(kind);
        self.event_ids.push(id);
        self.event_changes.push(changes.to_string());
    }
}

async fn execute(
    c: &mut AsyncPgConnection,
    r: &Run<'_>,
    requested_kind: ImportKind,
    findings: Vec<HostFinding>,
) -> Result<ImportOutcome, ImportError> {
    let req = r.req;
    let today = r.now.date_naive();
    let mut phases = Phases::start();
    let sys = store::system_settings(c).await?;
    let (mut target, close_default) = match target::resolve(
        c,
        requested_kind,
        req,
        r.scan_type,
        r.actor,
        r.guard,
        today,
    )
    .await?
    {
        Some(t) => {
            let close = requested_kind == ImportKind::Reimport;
            (t, close)
        }
        // Reimport without a test and with auto-create: a plain import.
        None => (
            target::resolve(
                c,
                ImportKind::Import,
                req,
                r.scan_type,
                r.actor,
                r.guard,
                today,
            )
            .await?
            .ok_or(ImportError::TargetNotFound {
                kind: "Test",
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
    let test_type: TestTypeRow = match target.test_id {
        Some(tid) => {
            sql_query(
                "SELECT tt.id, tt.name FROM tests t JOIN test_types tt ON tt.id = t.test_type_id \
             WHERE t.id = $1",
            )
            .bind::<BigInt, _>(tid)
            .get_result(c)
            .await?
        }
        None => {
            let tt = crate::db::models::hierarchy::TestType::find_or_create(c, r.scan_type, true)
                .await?;
            if !tt.active {
                return Err(ImportError::invalid(
                    "scan_type",
                    format!("test type `{}` is inactive", tt.name),
                ));
            }
            TestTypeRow {
                id: tt.id,
                name: tt.name,
            }
        }
    };
    let dedupe = r.settings.resolve(r.plugins, &test_type.name, r.scan_type);
    let scan_time = req
        .scan_date
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .unwrap_or(r.now);
    let test_tags = clean_tags(&req.tags);

    let cx = PrepareContext {
        request: req,
        dedupe: &dedupe,
        sla: sys.enable_finding_sla.then_some(&sla),
        today,
        now: r.now,
    };
    let reported = findings.len();
    let mut prepared: Vec<PreparedFinding> = findings
        .into_iter()
        .filter_map(|f| prepare(f, &cx))
        .collect();
    let skipped = reported - prepared.len();
    if let Some(location_id) = req.endpoint_to_add {
        let added = store::product_location(c, target.product_id, location_id)
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
    phases.mark("target and prepare");
    let total = prepared.len() as u64;
    if let Some(p) = r.progress {
        let _ = p.send((0, total));
    }

    let test_id = match target.test_id {
        Some(id) => id,
        None => {
            let id: IdRow = sql_query(
                "INSERT INTO tests (engagement_id, product_id, test_type_id, scan_type, title, \
                 target_start, target_end, percent_complete, lead_id, environment_id, version, \
                 build_id, commit_hash, branch_tag, tags) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6, 100, $7, $8, $9, $10, $11, $12, $13) \
                 RETURNING id",
            )
            .bind::<BigInt, _>(target.engagement_id)
            .bind::<BigInt, _>(target.product_id)
            .bind::<BigInt, _>(test_type.id)
            .bind::<Text, _>(r.scan_type)
            .bind::<Nullable<Text>, _>(req.test_title.as_deref())
            .bind::<Timestamptz, _>(scan_time)
            .bind::<Nullable<BigInt>, _>(req.lead_id.or(r.actor))
            .bind::<Nullable<BigInt>, _>(environment)
            .bind::<Nullable<Text>, _>(req.version.as_deref())
            .bind::<Nullable<Text>, _>(req.build_id.as_deref())
            .bind::<Nullable<Text>, _>(req.commit_hash.as_deref())
            .bind::<Nullable<Text>, _>(req.branch_tag.as_deref())
            .bind::<Array<Text>, _>(&test_tags)
            .get_result(c)
            .await?;
            target.test_id = Some(id.id);
            id.id
        }
    };
    let rows_cx = RowContext {
        test_id,
        engagement_id: target.engagement_id,
        product_id: target.product_id,
        test_type_id: test_type.id,
        actor: r.actor,
        now: r.now,
    };
    let location_tags: Vec<String> = if req.apply_tags_to_endpoints {
        test_tags.clone()
    } else {
        Vec::new()
    };

    let mut ledger = Ledger::default();
    let mut stats = ImportStatistics {
        skipped_below_minimum: skipped,
        ..ImportStatistics::default()
    };
    let mut created: Vec<(i64, usize)> = Vec::new();
    let new_findings: Vec<PreparedFinding>;

    if target.kind == ImportKind::Import {
        fp_history(c, &sys, &target, &dedupe, &mut prepared, &mut ledger).await?;
        let dup_of = persist_new(
            c,
            r,
            &rows_cx,
            &target,
            &dedupe,
            &sys,
            &prepared,
            &location_tags,
            0,
        )
        .await?;
        for (i, (id, dup)) in dup_of.iter().enumerate() {
            created.push((*id, i));
            record_created(&mut ledger, &mut stats, *id, *dup, &prepared[i]);
        }
        new_findings = prepared;
        phases.mark("dedupe and insert");
        if close_old {
            let scope = CloseScope {
                test_id,
                test_type_id: test_type.id,
                engagement_id: (!req.close_old_findings_product_scope)
                    .then_some(target.engagement_id),
                product_id: target.product_id,
                service: req.service.as_deref(),
                keep_hashes: new_findings
                    .iter()
                    .filter(|f| !f.is_mitigated && keeps_hash(dedupe.algorithm))
                    .map(|f| f.hash_code.clone())
                    .collect(),
                keep_uids: new_findings
                    .iter()
                    .filter(|f| !f.is_mitigated && keeps_uid(dedupe.algorithm))
                    .filter_map(|f| f.unique_id_from_tool.clone())
                    .collect(),
            };
            let closed = store::close_old(c, scope, scan_time, r.actor).await?;
            finish_closed(
                c,
                r,
                &target,
                &mut ledger,
                &mut stats,
                &closed,
                "This finding has been automatically closed as it is not present anymore in recent scans.",
            )
            .await?;
        }
    } else {
        stats.before = Some(store::test_stats(c, test_id).await?);
        prepared.sort_by(|a, b| a.content_key().cmp(&b.content_key()));
        let outcome = reimport_match(
            c,
            r,
            &target,
            &test_type.name,
            &dedupe,
            restart_sla,
            prepared,
            &mut ledger,
            &mut stats,
        )
        .await?;
        let mut outcome = outcome;
        fp_history(
            c,
            &sys,
            &target,
            &dedupe,
            &mut outcome.new_findings,
            &mut ledger,
        )
        .await?;
        let dup_of = persist_new(
            c,
            r,
            &rows_cx,
            &target,
            &dedupe,
            &sys,
            &outcome.new_findings,
            &location_tags,
            outcome.matched,
        )
        .await?;
        for (i, (id, dup)) in dup_of.iter().enumerate() {
            created.push((*id, i));
            record_created(&mut ledger, &mut stats, *id, *dup, &outcome.new_findings[i]);
        }
        new_findings = outcome.new_findings;
        if close_old {
            let closed = store::mitigate(c, &outcome.to_mitigate, scan_time, r.actor).await?;
            let note = format!("Mitigated by {} re-upload.", test_type.name);
            finish_closed(c, r, &target, &mut ledger, &mut stats, &closed, &note).await?;
        }
    }

    phases.mark("match, insert and close");
    // Finding groups over the findings this import created.
    if let Some(g) = req.group_by.filter(|_| sys.enable_finding_groups) {
        let mut pairs: Vec<(String, i64)> = created
            .iter()
            .filter_map(|(id, i)| group_name(g, &new_findings[*i]).map(|n| (n, *id)))
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

    // Test and engagement meta (§5.3 step 6, §5.4 step 8).
    if target.kind == ImportKind::Reimport {
        sql_query(
            "UPDATE tests SET target_end = GREATEST(target_end, $2), \
             version = COALESCE(NULLIF($3, ''), version), \
             build_id = COALESCE(NULLIF($4, ''), build_id), \
             commit_hash = COALESCE(NULLIF($5, ''), commit_hash), \
             branch_tag = COALESCE(NULLIF($6, ''), branch_tag), \
             tags = CASE WHEN $7 THEN $8 ELSE tags END, percent_complete = 100 WHERE id = $1",
        )
        .bind::<BigInt, _>(test_id)
        .bind::<Timestamptz, _>(scan_time)
        .bind::<Nullable<Text>, _>(req.version.as_deref())
        .bind::<Nullable<Text>, _>(req.build_id.as_deref())
        .bind::<Nullable<Text>, _>(req.commit_hash.as_deref())
        .bind::<Nullable<Text>, _>(req.branch_tag.as_deref())
        .bind::<Bool, _>(!req.tags.is_empty())
        .bind::<Array<Text>, _>(&test_tags)
        .execute(c)
        .await?;
    }
    if target.engagement_ci {
        sql_query(
            "UPDATE engagements SET target_end = GREATEST(target_end, $2::date) WHERE id = $1",
        )
        .bind::<BigInt, _>(target.engagement_id)
        .bind::<Timestamptz, _>(scan_time)
        .execute(c)
        .await?;
    }

    // History.
    let test_import_id = if sys.track_import_history {
        let mut settings = serde_json::to_value(req).unwrap_or_else(|_| json!({}));
        if let Some(o) = settings.as_object_mut() {
            o.insert("scan_type".to_owned(), json!(r.scan_type));
            o.insert("close_old_findings".to_owned(), json!(close_old));
            o.insert(
                "dedupe".to_owned(),
                json!({"algorithm": super::config::algorithm_name(dedupe.algorithm), "hash_fields": dedupe.hash_fields, "source": dedupe.source}),
            );
        }
        let id = store::insert_test_import(
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
        store::insert_actions(c, id, &ledger.ids, &ledger.actions).await?;
        Some(id)
    } else {
        None
    };

    phases.mark("groups, meta and history");
    // Outbox events, then one NOTIFY delivered at commit.
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

    phases.mark("events");
    stats.after = store::test_stats(c, test_id).await?;
    phases.mark("statistics");
    stats.delta = std::mem::take(&mut ledger.delta);
    if let Some(p) = r.progress {
        let _ = p.send((total, total));
    }
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

fn keeps_hash(a: DedupeAlgorithm) -> bool {
    !matches!(a, DedupeAlgorithm::UniqueIdFromTool)
}

fn keeps_uid(a: DedupeAlgorithm) -> bool {
    matches!(
        a,
        DedupeAlgorithm::UniqueIdFromTool | DedupeAlgorithm::UniqueIdFromToolOrHashCode
    )
}

fn record_created(
    ledger: &mut Ledger,
    stats: &mut ImportStatistics,
    id: i64,
    dup: Option<i64>,
    f: &PreparedFinding,
) {
    stats.created += 1;
    ledger.action(id, "N", f.severity);
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
        ledger.action(f.id, "C", f.severity);
        ledger.event(
            EventKind::Mitigated,
            f.id,
            &json!({"before": {"active": f.was_active, "is_mitigated": false}, "after": {"active": false, "is_mitigated": true}}),
        );
    }
    Ok(())
}

/// Allocates ids, dedupes and inserts new findings in batches; returns
/// `(id, duplicate_of)` per finding, in input order.
#[expect(clippy::too_many_arguments, reason = "internal step")]
async fn persist_new(
    c: &mut AsyncPgConnection,
    r: &Run<'_>,
    rows_cx: &RowContext,
    target: &Target,
    dedupe: &EffectiveDedupe,
    sys: &store::ImportSystemSettings,
    findings: &[PreparedFinding],
    location_tags: &[String],
    progress_base: u64,
) -> Result<Vec<(i64, Option<i64>)>, ImportError> {
    let mut phases = Phases::start();
    let ids = store::allocate_ids(c, findings.len()).await?;
    let mut dup_of: Vec<Option<i64>> = vec![None; findings.len()];
    let mut other_type = vec![false; findings.len()];
    let batch = r.settings.batch_size.max(1);
    let algorithm = dedupe.algorithm;
    let mut pool: Option<CandidatePool> = None;
    if sys.enable_deduplication && !findings.is_empty() {
        let with_locations = algorithm == DedupeAlgorithm::Legacy
            || (algorithm != DedupeAlgorithm::UniqueIdFromTool
                && !r.settings.endpoint_fields.is_empty());
        let mut found = CandidatePool::default();
        // All candidate queries run before the first insert, so they see only older findings.
        for chunk in findings.chunks(batch) {
            let mut keys = CandidateKeys::default();
            let mut seen_h = HashSet::new();
            let mut seen_u = HashSet::new();
            let mut seen_t = HashSet::new();
            let mut seen_c = HashSet::new();
            for f in chunk {
                if keeps_hash(algorithm)
                    && algorithm != DedupeAlgorithm::Legacy
                    && seen_h.insert(f.hash_code.as_str())
                {
                    keys.hashes.push(f.hash_code.clone());
                }
                if keeps_uid(algorithm)
                    && let Some(u) = &f.unique_id_from_tool
                    && seen_u.insert(u.as_str())
                {
                    keys.uids.push(u.clone());
                }
                if algorithm == DedupeAlgorithm::Legacy {
                    if seen_t.insert(f.title.as_str()) {
                        keys.titles.push(f.title.clone());
                    }
                    if f.cwe != 0 && seen_c.insert(f.cwe) {
                        keys.cwes.push(f.cwe);
                    }
                }
            }
            let scope = target.engagement_scoped.then_some(target.engagement_id);
            for cand in store::candidates(c, scope, target.product_id, keys, with_locations).await?
            {
                found.push(cand);
            }
        }
        pool = Some(found);
        phases.mark("candidates");
    }
    let mut done = progress_base;
    let mut record = |n: usize| {
        done += n as u64;
        if let Some(p) = r.progress {
            p.send_modify(|v| v.0 = done);
        }
    };
    // Two batches in flight on the one connection: PostgreSQL runs the
    // statements in order, while the next batch's arrays are built and
    // sent instead of after each answer.
    let shared: &AsyncPgConnection = c;
    let mut chunks = (0..findings.len())
        .step_by(batch)
        .zip(findings.chunks(batch));
    let mut inflight = futures::stream::FuturesOrdered::new();
    loop {
        while inflight.len() < 2 {
            let Some((start, chunk)) = chunks.next() else {
                break;
            };
            // Deduplicated batch by batch, while PostgreSQL inserts the
            // previous one (candidates were all read before any insert).
            if let Some(pool) = pool.as_mut() {
                let end = start + chunk.len();
                let found = dedupe_batch(
                    pool,
                    chunk,
                    &ids[start..end],
                    rows_cx,
                    target,
                    algorithm,
                    &r.settings.endpoint_fields,
                );
                for (k, (orig, other)) in found.into_iter().enumerate() {
                    dup_of[start + k] = orig;
                    other_type[start + k] = other;
                }
            }
            let rows: Vec<NewRow<'_>> = chunk
                .iter()
                .enumerate()
                .map(|(k, f)| NewRow {
                    id: ids[start + k],
                    duplicate_of: dup_of[start + k],
                    found_by_new_type: other_type[start + k],
                    finding: f,
                })
                .collect();
            inflight.push_back(insert_batch(shared, rows_cx, rows, location_tags));
            // Polled once now so its statements are sent before the next
            // batch is deduplicated.
            if let Some(Some(n)) = inflight.next().now_or_never() {
                record(n?);
            }
        }
        let Some(n) = inflight.next().await else {
            break;
        };
        record(n?);
    }
    phases.mark("insert");
    Ok(ids.into_iter().zip(dup_of).collect())
}

/// For each finding of one batch: the original it duplicates, and whether
/// that original's test has another type (so it is found by a new one).
/// Findings that are not duplicates join `pool` for the ones after them.
fn dedupe_batch(
    pool: &mut CandidatePool,
    batch: &[PreparedFinding],
    ids: &[i64],
    rows_cx: &RowContext,
    target: &Target,
    algorithm: DedupeAlgorithm,
    endpoint_fields: &[String],
) -> Vec<(Option<i64>, bool)> {
    let mut out = Vec::with_capacity(batch.len());
    for (f, &id) in batch.iter().zip(ids) {
        let item = DedupeItem {
            id,
            test_type_id: rows_cx.test_type_id,
            engagement_id: target.engagement_id,
            engagement_scoped: target.engagement_scoped,
            hash_code: Some(f.hash_code.clone()),
            unique_id_from_tool: f.unique_id_from_tool.clone(),
            title: f.title.clone(),
            cwe: f.cwe,
            line: f.line,
            file_path: f.file_path.clone(),
            static_finding: f.static_finding,
            active: f.active,
            mitigated: f.is_mitigated,
            false_p: f.false_p,
            out_of_scope: f.out_of_scope,
            locations: f.locations.clone(),
        };
        let candidates = pool.candidates_for(&item, algorithm);
        match find_original(&item, &candidates, algorithm, endpoint_fields, None) {
            Some(orig) => {
                let other = candidates
                    .iter()
                    .find(|c| c.id == orig)
                    .is_none_or(|c| c.test_type_id != rows_cx.test_type_id);
                out.push((Some(orig), other));
            }
            None => {
                pool.push(item);
                out.push((None, false));
            }
        }
    }
    out
}

async fn insert_batch(
    conn: &AsyncPgConnection,
    cx: &RowContext,
    rows: Vec<NewRow<'_>>,
    location_tags: &[String],
) -> diesel::QueryResult<usize> {
    store::insert_findings(conn, cx, &rows, location_tags).await?;
    Ok(rows.len())
}

/// Reimport's matching result.
struct ReimportMatch {
    new_findings: Vec<PreparedFinding>,
    to_mitigate: Vec<i64>,
    matched: u64,
}

#[expect(clippy::too_many_arguments, reason = "internal step")]
async fn reimport_match(
    c: &mut AsyncPgConnection,
    r: &Run<'_>,
    target: &Target,
    test_type_name: &str,
    dedupe: &EffectiveDedupe,
    restart_sla: bool,
    prepared: Vec<PreparedFinding>,
    ledger: &mut Ledger,
    stats: &mut ImportStatistics,
) -> Result<ReimportMatch, ImportError> {
    let req = r.req;
    let test_id = target.test_id.unwrap_or_default();
    let originals = store::originals(c, test_id, req.service.as_deref()).await?;
    let algorithm = dedupe.algorithm;
    let mut by_hash: HashMap<&str, usize> = HashMap::new();
    let mut by_uid: HashMap<&str, usize> = HashMap::new();
    let mut by_title: HashMap<(String, &str), usize> = HashMap::new();
    // Originals are sorted by id: the first entry of a key is the oldest.
    for (i, o) in originals.iter().enumerate() {
        if let Some(h) = &o.hash_code {
            by_hash.entry(h.as_str()).or_insert(i);
        }
        if let Some(u) = &o.unique_id_from_tool {
            by_uid.entry(u.as_str()).or_insert(i);
        }
        by_title
            .entry((o.title.to_lowercase(), o.severity.as_str()))
            .or_insert(i);
    }
    let mut new_h: HashSet<String> = HashSet::new();
    let mut new_u: HashSet<String> = HashSet::new();
    let mut new_t: HashSet<(String, &'static str)> = HashSet::new();
    let mut processed = vec![false; originals.len()];
    let mut seen = vec![false; originals.len()];
    let mut new_findings = Vec::new();
    let mut updates: Vec<FindingUpdate> = Vec::new();
    let mut reactivated: Vec<i64> = Vec::new();
    let mut skip_note: Vec<i64> = Vec::new();
    let mut matched = 0u64;
    let today = r.now.date_naive();

    // Vulnerability ids and CWEs of every processed finding, as the report has them now.
    let mut reported_ids: Vec<(i64, Vec<String>, Vec<i32>)> = Vec::new();
    for mut p in prepared {
        let hash = || by_hash.get(p.hash_code.as_str()).copied();
        let uid = || {
            p.unique_id_from_tool
                .as_deref()
                .and_then(|u| by_uid.get(u).copied())
        };
        let found = match algorithm {
            DedupeAlgorithm::HashCode => hash(),
            DedupeAlgorithm::UniqueIdFromTool => uid(),
            DedupeAlgorithm::UniqueIdFromToolOrHashCode => match (hash(), uid()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            DedupeAlgorithm::Legacy => by_title
                .get(&(p.title.to_lowercase(), p.severity.as_str()))
                .copied(),
        };
        let Some(oi) = found else {
            // Repeats inside one report match the finding created for the first.
            let repeat = match algorithm {
                DedupeAlgorithm::HashCode => new_h.contains(&p.hash_code),
                DedupeAlgorithm::UniqueIdFromTool => p
                    .unique_id_from_tool
                    .as_ref()
                    .is_some_and(|u| new_u.contains(u)),
                DedupeAlgorithm::UniqueIdFromToolOrHashCode => {
                    new_h.contains(&p.hash_code)
                        || p.unique_id_from_tool
                            .as_ref()
                            .is_some_and(|u| new_u.contains(u))
                }
                DedupeAlgorithm::Legacy => {
                    new_t.contains(&(p.title.to_lowercase(), p.severity.as_str()))
                }
            };
            if !repeat {
                new_h.insert(p.hash_code.clone());
                if let Some(u) = &p.unique_id_from_tool {
                    new_u.insert(u.clone());
                }
                new_t.insert((p.title.to_lowercase(), p.severity.as_str()));
                new_findings.push(p);
            }
            continue;
        };
        matched += 1;
        if processed[oi] {
            continue;
        }
        processed[oi] = true;
        let o = &originals[oi];
        reported_ids.push((
            o.id,
            std::mem::take(&mut p.vulnerability_ids),
            std::mem::take(&mut p.extra_cwes),
        ));
        let component_name = o.component_name.clone().or(p.component_name.clone());
        let component_version = o.component_version.clone().or(p.component_version.clone());
        let fix_changed = p.fix_available != o.fix_available || p.fix_version != o.fix_version;
        let comp_changed =
            component_name != o.component_name || component_version != o.component_version;
        let base = FindingUpdate {
            id: o.id,
            active: o.active,
            verified: o.verified,
            is_mitigated: o.is_mitigated,
            mitigated: o.mitigated,
            mitigated_by_id: o.mitigated_by_id,
            false_p: o.false_p,
            out_of_scope: o.out_of_scope,
            risk_accepted: o.risk_accepted,
            fix_available: p.fix_available,
            fix_version: p.fix_version.clone(),
            component_name,
            component_version,
            sla_start_date: None,
        };
        if o.false_p || o.out_of_scope || o.risk_accepted {
            let same = (p.false_p, p.out_of_scope, p.risk_accepted)
                == (o.false_p, o.out_of_scope, o.risk_accepted);
            if same || (o.risk_accepted && !o.active) {
                seen[oi] = true;
                stats.untouched += 1;
                ledger.action(o.id, "U", o.severity);
            }
            continue;
        }
        seen[oi] = true;
        if o.is_mitigated {
            if p.is_mitigated || req.do_not_reactivate {
                if req.do_not_reactivate && !p.is_mitigated {
                    skip_note.push(o.id);
                }
                if fix_changed || comp_changed {
                    updates.push(base);
                }
                stats.untouched += 1;
                ledger.action(o.id, "U", o.severity);
            } else {
                let verified = !o.duplicate && r.req.verified.unwrap_or(o.verified);
                updates.push(FindingUpdate {
                    active: !o.duplicate,
                    verified,
                    is_mitigated: false,
                    mitigated: None,
                    mitigated_by_id: None,
                    sla_start_date: restart_sla.then_some(today),
                    ..base
                });
                reactivated.push(o.id);
                stats.reactivated += 1;
                ledger.action(o.id, "R", o.severity);
                ledger.event(
                    EventKind::Reactivated,
                    o.id,
                    &json!({"before": {"active": o.active, "is_mitigated": true}, "after": {"active": !o.duplicate, "is_mitigated": false}}),
                );
            }
        } else if p.is_mitigated {
            updates.push(FindingUpdate {
                active: false,
                is_mitigated: true,
                mitigated: p.mitigated.or(Some(r.now)),
                mitigated_by_id: r.actor,
                ..base
            });
            stats.closed += 1;
            ledger.action(o.id, "C", o.severity);
            ledger.event(
                EventKind::Mitigated,
                o.id,
                &json!({"before": {"active": o.active, "is_mitigated": false}, "after": {"active": false, "is_mitigated": true}}),
            );
        } else if p.false_p || p.out_of_scope || p.risk_accepted {
            let closes = p.false_p || p.out_of_scope;
            updates.push(FindingUpdate {
                active: false,
                verified: o.verified && !p.false_p,
                false_p: p.false_p,
                out_of_scope: p.out_of_scope,
                risk_accepted: p.risk_accepted,
                is_mitigated: o.is_mitigated || closes,
                mitigated: if closes {
                    o.mitigated.or(Some(r.now))
                } else {
                    o.mitigated
                },
                mitigated_by_id: if closes {
                    o.mitigated_by_id.or(r.actor)
                } else {
                    o.mitigated_by_id
                },
                ..base
            });
            stats.untouched += 1;
            ledger.action(o.id, "U", o.severity);
        } else {
            if fix_changed || comp_changed {
                updates.push(base);
            }
            stats.untouched += 1;
            ledger.action(o.id, "U", o.severity);
        }
    }
    for chunk in updates.chunks(r.settings.batch_size.max(1)) {
        store::update_findings(c, chunk).await?;
    }
    for chunk in reported_ids.chunks(r.settings.batch_size.max(1)) {
        store::reconcile_ids(c, chunk).await?;
    }
    let note = format!("Re-activated by {test_type_name} re-upload.");
    store::insert_notes(c, target.product_id, r.actor, &reactivated, &note).await?;
    store::set_reference_status(c, &reactivated, "Active").await?;
    let skip_entry = format!(
        "Finding has skipped reactivation from {test_type_name} re-upload with user decision do_not_reactivate."
    );
    let already = store::with_note(c, &skip_note, &skip_entry).await?;
    let skip_note: Vec<i64> = skip_note
        .into_iter()
        .filter(|id| !already.contains(id))
        .collect();
    store::insert_notes(c, target.product_id, r.actor, &skip_note, &skip_entry).await?;
    let to_mitigate: Vec<i64> = originals
        .iter()
        .zip(&seen)
        .filter(|(o, s)| !**s && !o.is_mitigated)
        .map(|(o, _)| o.id)
        .collect();
    if let Some(p) = r.progress {
        p.send_modify(|v| v.0 = matched);
    }
    Ok(ReimportMatch {
        new_findings,
        to_mitigate,
        matched,
    })
}
