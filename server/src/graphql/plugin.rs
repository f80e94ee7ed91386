//! Parser plugins over GraphQL: what is loaded, which plugin serves each scan
//! type, and uploads that are stored in the database and survive restarts.

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, Upload};
use std::io::Read;

use super::context::Cx;
use super::error::{ApiError, ApiResult};
use crate::db::models::plugin::StoredPlugin;
use crate::plugins::{
    ActiveScanType, DedupeAlgorithm, DedupeSetting, PluginError, PluginRegistry, PluginSource,
    PluginSummary,
};

/// Where a plugin comes from.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum ParserPluginSource {
    /// Compiled into the server.
    Builtin,
    /// A file in the plugin directory.
    Directory,
    /// Uploaded through the API.
    Uploaded,
}

impl From<PluginSource> for ParserPluginSource {
    fn from(s: PluginSource) -> Self {
        match s {
            PluginSource::Builtin => ParserPluginSource::Builtin,
            PluginSource::Directory => ParserPluginSource::Directory,
            PluginSource::Uploaded => ParserPluginSource::Uploaded,
        }
    }
}

/// Deduplication algorithms.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum DedupeAlgorithmKind {
    /// Same hash over the hash fields.
    HashCode,
    /// Same tool id from the same scan type.
    UniqueIdFromTool,
    /// Either.
    UniqueIdFromToolOrHashCode,
    /// DefectDojo's legacy rule.
    Legacy,
}

/// A scan type's deduplication setting.
#[derive(SimpleObject, Clone)]
pub struct Dedupe {
    /// The algorithm.
    pub algorithm: DedupeAlgorithmKind,
    /// Hashed fields, in order.
    pub hash_fields: Vec<String>,
    /// Whether findings without a CWE use the hash fields.
    pub allows_null_cwe: bool,
}

impl From<&DedupeSetting> for Dedupe {
    fn from(d: &DedupeSetting) -> Self {
        Dedupe {
            algorithm: match d.algorithm {
                DedupeAlgorithm::HashCode => DedupeAlgorithmKind::HashCode,
                DedupeAlgorithm::UniqueIdFromTool => DedupeAlgorithmKind::UniqueIdFromTool,
                DedupeAlgorithm::UniqueIdFromToolOrHashCode => {
                    DedupeAlgorithmKind::UniqueIdFromToolOrHashCode
                }
                DedupeAlgorithm::Legacy => DedupeAlgorithmKind::Legacy,
            },
            hash_fields: d.hash_fields.clone(),
            allows_null_cwe: d.allows_null_cwe,
        }
    }
}

/// A scan type as one plugin declares it.
#[derive(SimpleObject, Clone)]
pub struct PluginScanType {
    /// Exact scan type name.
    pub name: String,
    /// One line for people.
    pub description: String,
    /// Accepted file kinds.
    pub file_kinds: Vec<String>,
    /// Deduplication default.
    pub dedupe: Dedupe,
    /// Whether this plugin is the one parsing it now.
    pub active: bool,
    /// Other plugins claiming it (their ids).
    pub conflicts_with: Vec<String>,
}

/// A loaded (or failed) parser plugin.
#[derive(SimpleObject, Clone)]
pub struct ParserPlugin {
    /// `source:key`, e.g. `builtin:generic`.
    pub id: String,
    /// Where it comes from.
    pub source: ParserPluginSource,
    /// The plugin's name.
    pub name: String,
    /// Its version.
    pub version: Option<String>,
    /// The contract version it was built for.
    pub contract_version: Option<String>,
    /// Hex SHA-256 of the component.
    pub sha256: String,
    /// Whether it parses and detects.
    pub enabled: bool,
    /// Its scan types.
    pub scan_types: Vec<PluginScanType>,
    /// Why it failed to load, if it did.
    pub load_error: Option<String>,
}

impl From<PluginSummary> for ParserPlugin {
    fn from(s: PluginSummary) -> Self {
        ParserPlugin {
            id: s.id,
            source: s.source.into(),
            name: s.name,
            version: s.version,
            contract_version: s.contract_version,
            sha256: s.sha256,
            enabled: s.enabled,
            scan_types: s
                .scan_types
                .into_iter()
                .map(|t| PluginScanType {
                    name: t.name,
                    description: t.description,
                    file_kinds: t.file_kinds,
                    dedupe: Dedupe::from(&t.dedupe),
                    active: t.active,
                    conflicts_with: t.conflicts_with,
                })
                .collect(),
            load_error: s.load_error,
        }
    }
}

/// A scan type the server can import, with the plugin serving it.
#[derive(SimpleObject, Clone)]
pub struct ScanType {
    /// Exact name, as passed to imports.
    pub name: String,
    /// One line for people.
    pub description: String,
    /// Accepted file kinds.
    pub file_kinds: Vec<String>,
    /// Deduplication default.
    pub dedupe: Dedupe,
    /// Id of the plugin serving it.
    pub plugin_id: String,
    /// That plugin's name.
    pub plugin: String,
    /// That plugin's version.
    pub plugin_version: String,
}

impl From<ActiveScanType> for ScanType {
    fn from(a: ActiveScanType) -> Self {
        ScanType {
            dedupe: Dedupe::from(&a.dedupe),
            name: a.name,
            description: a.description,
            file_kinds: a.file_kinds,
            plugin_id: a.plugin_id,
            plugin: a.plugin,
            plugin_version: a.plugin_version,
        }
    }
}

fn registry<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a PluginRegistry> {
    ctx.data::<PluginRegistry>()
        .map_err(|_| ApiError::Internal("plugin registry missing".to_owned()))
}

/// The API error of a plugin failure: what the caller can change (scan
/// type, report) is BAD_USER_INPUT, a spent budget PARSER_LIMIT saying
/// which, a full queue RATE_LIMITED, and a broken plugin INTERNAL
/// (explained only in the log).
pub fn plugin_error(e: PluginError) -> ApiError {
    match e {
        PluginError::NotFound { .. } => ApiError::NotFound(e.to_string()),
        PluginError::Busy { .. } | PluginError::UserBusy { .. } => {
            ApiError::RateLimited(e.to_string())
        }
        PluginError::Timeout { .. } => {
            ApiError::ParserLimit(format!("parser timeout: {e}; nothing was stored"))
        }
        PluginError::MemoryLimit { .. } => {
            ApiError::ParserLimit(format!("parser memory limit: {e}; nothing was stored"))
        }
        PluginError::Internal(m) => ApiError::Internal(m),
        PluginError::Trap { .. } => ApiError::Internal(e.to_string()),
        other => ApiError::BadUserInput(other.to_string()),
    }
}

fn parse_id(id: &str) -> ApiResult<(PluginSource, String)> {
    let (source, key) = id.split_once(':').ok_or_else(|| {
        ApiError::invalid("id", format!("`{id}` is not a plugin id (source:name)"))
    })?;
    let source = match source {
        "builtin" => PluginSource::Builtin,
        "directory" => PluginSource::Directory,
        "uploaded" => PluginSource::Uploaded,
        other => {
            return Err(ApiError::invalid(
                "id",
                format!("unknown plugin source `{other}`"),
            ));
        }
    };
    Ok((source, key.to_owned()))
}

/// Plugin queries.
#[derive(Default)]
pub struct PluginQuery;

#[Object]
impl PluginQuery {
    /// Every parser plugin, loaded or not.
    async fn parser_plugins(&self, ctx: &Context<'_>) -> ApiResult<Vec<ParserPlugin>> {
        let _cx = Cx::of(ctx)?;
        Ok(registry(ctx)?
            .summaries()
            .into_iter()
            .map(ParserPlugin::from)
            .collect())
    }

    /// Every scan type that can be imported, sorted by name.
    async fn scan_types(&self, ctx: &Context<'_>) -> ApiResult<Vec<ScanType>> {
        let _cx = Cx::of(ctx)?;
        Ok(registry(ctx)?
            .scan_types()
            .into_iter()
            .map(ScanType::from)
            .collect())
    }
}

/// Input of `setParserPluginEnabled`.
#[derive(InputObject)]
pub struct SetParserPluginEnabledInput {
    /// Plugin id (`source:name`).
    pub id: String,
    /// Enable or disable it.
    pub enabled: bool,
}

/// Input of `removeParserPlugin`.
#[derive(InputObject)]
pub struct RemoveParserPluginInput {
    /// Plugin id (`source:name`).
    pub id: String,
}

/// Result of a plugin mutation.
#[derive(SimpleObject)]
pub struct ParserPluginPayload {
    /// The plugin as it is now (null after removal).
    pub plugin: Option<ParserPlugin>,
}

/// Plugin mutations (administrators).
#[derive(Default)]
pub struct PluginMutation;

#[Object]
impl PluginMutation {
    /// Uploads a parser plugin component (`.wasm`). It is compiled and checked
    /// before anything is stored; an upload with the name of an earlier one
    /// replaces it. Uploads are kept in the database and survive restarts.
    async fn install_parser_plugin(
        &self,
        ctx: &Context<'_>,
        file: Upload,
    ) -> ApiResult<ParserPluginPayload> {
        let cx = Cx::of(ctx)?;
        cx.require_superuser("install parser plugins")?;
        let registry = registry(ctx)?.clone();
        let limit = registry.config().limits.max_report_bytes;
        let value = file
            .value(ctx)
            .map_err(|e| ApiError::invalid("file", format!("cannot read the upload: {e}")))?;
        let mut bytes = Vec::new();
        value
            .into_read()
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| ApiError::invalid("file", format!("cannot read the upload: {e}")))?;
        if bytes.len() as u64 > limit {
            return Err(ApiError::invalid(
                "file",
                format!("the component is larger than {limit} bytes"),
            ));
        }
        let probe_registry = registry.clone();
        let (bytes, name, version) = tokio::task::spawn_blocking(move || {
            let loaded = probe_registry.engine().load("upload", &bytes)?;
            let info = loaded.info();
            Ok::<_, PluginError>((bytes, info.name.clone(), info.version.clone()))
        })
        .await
        .map_err(|e| ApiError::Internal(format!("plugin check failed: {e}")))?
        .map_err(plugin_error)?;
        let bytes = std::sync::Arc::new(bytes);
        let summary = registry
            .install(
                PluginSource::Uploaded,
                name.clone(),
                bytes.clone().as_ref().clone(),
            )
            .await
            .map_err(plugin_error)?;
        let mut conn = cx.conn().await?;
        StoredPlugin::replace(
            &mut conn,
            &name,
            &version,
            &summary.sha256,
            &bytes,
            cx.actor_id(),
        )
        .await?;
        tracing::info!(plugin.name = %name, plugin.version = %version, plugin.sha256 = %summary.sha256, "parser plugin installed");
        Ok(ParserPluginPayload {
            plugin: Some(summary.into()),
        })
    }

    /// Enables or disables a plugin. Uploaded plugins keep the setting across
    /// restarts; built-in and directory plugins until the next restart.
    async fn set_parser_plugin_enabled(
        &self,
        ctx: &Context<'_>,
        input: SetParserPluginEnabledInput,
    ) -> ApiResult<ParserPluginPayload> {
        let cx = Cx::of(ctx)?;
        cx.require_superuser("enable or disable parser plugins")?;
        let (source, key) = parse_id(&input.id)?;
        let summary = registry(ctx)?
            .set_enabled(source, &key, input.enabled)
            .map_err(plugin_error)?;
        if source == PluginSource::Uploaded {
            let mut conn = cx.conn().await?;
            StoredPlugin::set_enabled(&mut conn, &key, input.enabled).await?;
        }
        Ok(ParserPluginPayload {
            plugin: Some(summary.into()),
        })
    }

    /// Removes a plugin. An uploaded plugin is deleted for good; built-in and
    /// directory plugins come back on restart or when their file changes.
    async fn remove_parser_plugin(
        &self,
        ctx: &Context<'_>,
        input: RemoveParserPluginInput,
    ) -> ApiResult<ParserPluginPayload> {
        let cx = Cx::of(ctx)?;
        cx.require_superuser("remove parser plugins")?;
        let (source, key) = parse_id(&input.id)?;
        registry(ctx)?.remove(source, &key).map_err(plugin_error)?;
        if source == PluginSource::Uploaded {
            let mut conn = cx.conn().await?;
            StoredPlugin::delete(&mut conn, &key).await?;
        }
        Ok(ParserPluginPayload { plugin: None })
    }
}

/// A network location of a parsed finding.
#[derive(SimpleObject, Clone)]
pub struct ParsedEndpoint {
    /// Scheme.
    pub protocol: Option<String>,
    /// Host.
    pub host: String,
    /// Port.
    pub port: Option<i32>,
    /// Path.
    pub path: Option<String>,
    /// Query.
    pub query: Option<String>,
}

/// A finding as the parser reported it, before import.
#[derive(SimpleObject, Clone)]
pub struct ParsedFinding {
    /// Title.
    pub title: String,
    /// Severity.
    pub severity: crate::domain::severity::Severity,
    /// Description.
    pub description: String,
    /// How to fix.
    pub mitigation: Option<String>,
    /// Primary CWE.
    pub cwe: Option<i32>,
    /// CVE/GHSA ids.
    pub vulnerability_ids: Vec<String>,
    /// CVSS v3 vector.
    pub cvssv3: Option<String>,
    /// Source file.
    pub file_path: Option<String>,
    /// Line.
    pub line: Option<i32>,
    /// Component.
    pub component_name: Option<String>,
    /// Component version.
    pub component_version: Option<String>,
    /// Scanner's occurrence id.
    pub unique_id_from_tool: Option<String>,
    /// Scanner's issue-kind id.
    pub vuln_id_from_tool: Option<String>,
    /// Network locations.
    pub endpoints: Vec<ParsedEndpoint>,
    /// Tags.
    pub tags: Vec<String>,
}

impl From<crate::plugins::HostFinding> for ParsedFinding {
    fn from(f: crate::plugins::HostFinding) -> Self {
        use crate::domain::severity::Severity as S;
        use crate::plugins::Severity as P;
        ParsedFinding {
            title: f.title,
            severity: match f.severity {
                P::Critical => S::Critical,
                P::High => S::High,
                P::Medium => S::Medium,
                P::Low => S::Low,
                P::Info => S::Info,
            },
            description: f.description,
            mitigation: f.mitigation,
            cwe: f.cwe.and_then(|c| i32::try_from(c).ok()),
            vulnerability_ids: f.vulnerability_ids,
            cvssv3: f.cvssv3,
            file_path: f.file_path,
            line: f.line.and_then(|l| i32::try_from(l).ok()),
            component_name: f.component_name,
            component_version: f.component_version,
            unique_id_from_tool: f.unique_id_from_tool,
            vuln_id_from_tool: f.vuln_id_from_tool,
            endpoints: f
                .endpoints
                .into_iter()
                .map(|e| ParsedEndpoint {
                    protocol: e.protocol,
                    host: e.host,
                    port: e.port.map(i32::from),
                    path: e.path,
                    query: e.query,
                })
                .collect(),
            tags: f.tags,
        }
    }
}

/// Input of `previewReport`.
#[derive(InputObject)]
pub struct PreviewReportInput {
    /// Scan type; detected from the content when omitted.
    pub scan_type: Option<String>,
    /// The report.
    pub file: Upload,
}

/// What a report would import.
#[derive(SimpleObject)]
pub struct PreviewReportPayload {
    /// The scan type used (given or detected).
    pub scan_type: String,
    /// The plugin that parsed it.
    pub plugin: String,
    /// Number of findings.
    pub finding_count: i32,
    /// The first findings (at most `limit`).
    pub findings: Vec<ParsedFinding>,
}

/// Report preview.
#[derive(Default)]
pub struct PreviewMutation;

#[Object]
impl PreviewMutation {
    /// Parses a report through its plugin, under the sandbox limits, and shows
    /// what an import would create, without storing anything.
    async fn preview_report(
        &self,
        ctx: &Context<'_>,
        input: PreviewReportInput,
        #[graphql(default = 100, validator(minimum = 0, maximum = 1000))] limit: i32,
    ) -> ApiResult<PreviewReportPayload> {
        let cx = Cx::of(ctx)?;
        let registry = registry(ctx)?.clone();
        // A preview is a look, not an import: it gets a smaller budget.
        let max = registry
            .config()
            .limits
            .max_report_bytes
            .min(registry.config().preview_max_bytes);
        let value = input
            .file
            .value(ctx)
            .map_err(|e| ApiError::invalid("file", format!("cannot read the upload: {e}")))?;
        let file_name = value.filename.clone();
        let mut bytes = Vec::new();
        value
            .into_read()
            .take(max.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| ApiError::invalid("file", format!("cannot read the upload: {e}")))?;
        if bytes.len() as u64 > max {
            return Err(ApiError::invalid(
                "file",
                format!(
                    "the report is larger than {max} bytes, the preview limit \
                     (PALISADE_PLUGIN_PREVIEW_MAX_BYTES)"
                ),
            ));
        }
        let options = crate::plugins::ParseOptions::default()
            .with(crate::plugins::ParseOptions::FILE_NAME, file_name);
        let out = registry
            .parse(
                Some(cx.principal().user_id),
                input.scan_type.as_deref(),
                bytes,
                options,
            )
            .await
            .map_err(plugin_error)?;
        let total = out.findings.len();
        Ok(PreviewReportPayload {
            scan_type: out.scan_type,
            plugin: out.plugin,
            finding_count: i32::try_from(total).unwrap_or(i32::MAX),
            findings: out
                .findings
                .into_iter()
                .take(usize::try_from(limit).unwrap_or(0))
                .map(ParsedFinding::from)
                .collect(),
        })
    }
}
