//! The one error type of the plugin host.

use std::path::PathBuf;
use std::time::Duration;

use super::types::ReportLocation;

/// Why loading a plugin or parsing a report failed; every message names the plugin involved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PluginError {
    /// The plugin crashed (a WebAssembly trap: panic, bug, stack overflow).
    #[error("plugin `{plugin}` crashed: {message}")]
    Trap {
        /// Plugin name.
        plugin: String,
        /// What trapped, with the plugin's last error log line when there is one.
        message: String,
    },
    /// The plugin used up its CPU budget.
    #[error("plugin `{plugin}` did not finish within its CPU budget of {:.1} s", limit.as_secs_f64())]
    Timeout {
        /// Plugin name.
        plugin: String,
        /// The budget.
        limit: Duration,
    },
    /// The plugin tried to use more memory than allowed.
    #[error("plugin `{plugin}` needed more than its memory limit of {} MiB", limit / (1024 * 1024))]
    MemoryLimit {
        /// Plugin name.
        plugin: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The plugin returned more findings than allowed.
    #[error("plugin `{plugin}` returned {count} findings, more than the limit of {limit}")]
    OutputLimit {
        /// Plugin name.
        plugin: String,
        /// Findings returned.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The report is larger than allowed; no plugin saw it.
    #[error("the report is {size} bytes, more than the limit of {limit} bytes")]
    ReportTooLarge {
        /// Report size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The plugin rejected the report (a `parse-error` from the guest).
    #[error("plugin `{plugin}` rejected the report as {scan_type}: {message}{}", location.as_ref().map(|l| format!(" ({l})")).unwrap_or_default())]
    Guest {
        /// Plugin name.
        plugin: String,
        /// The scan type it was parsed as.
        scan_type: String,
        /// The plugin's explanation.
        message: String,
        /// Where in the report, when the plugin knows.
        location: Option<ReportLocation>,
    },
    /// The bytes are not a usable parser component.
    #[error("plugin `{plugin}` is not a valid parser component: {message}")]
    InvalidComponent {
        /// Plugin name (or its file/upload name when it could not be read).
        plugin: String,
        /// Why.
        message: String,
    },
    /// The component speaks another version of the contract.
    #[error("plugin `{plugin}` is incompatible with this server: {message}")]
    IncompatibleVersion {
        /// Plugin name.
        plugin: String,
        /// Why.
        message: String,
    },
    /// No enabled plugin handles the requested scan type.
    #[error("unknown scan type `{scan_type}`; known scan types: {}", if known.is_empty() { "none (no plugin is loaded)".to_owned() } else { known.join(", ") })]
    UnknownScanType {
        /// The requested scan type.
        scan_type: String,
        /// The scan types enabled plugins handle.
        known: Vec<String>,
    },
    /// No plugin recognised the report during detection.
    #[error(
        "report format not recognised: no enabled plugin claims it; name its scan type \
         (`--scan-type` on the command line, `scanType` in GraphQL, `scan_type` in the REST import)"
    )]
    NotRecognised,
    /// Several plugins recognised the report; the host does not guess.
    #[error("report format is ambiguous: it looks like {}; pass the scan type explicitly", candidates.iter().map(|(s, p)| format!("`{s}` (plugin `{p}`)")).collect::<Vec<_>>().join(", "))]
    Ambiguous {
        /// (scan type, plugin) pairs that answered.
        candidates: Vec<(String, String)>,
    },
    /// The operation would make two plugins of one source indistinguishable.
    #[error("plugin `{plugin}` conflicts with {other}: {message}")]
    Conflict {
        /// Plugin name.
        plugin: String,
        /// The plugin already installed.
        other: String,
        /// Why it is refused.
        message: String,
    },
    /// No plugin of that source and name is installed.
    #[error("no {origin} plugin named `{name}`")]
    NotFound {
        /// Where it was looked for.
        origin: super::PluginSource,
        /// The name asked for.
        name: String,
    },
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Every parse slot is taken and the queue of waiting calls is full.
    #[error(
        "the server is busy parsing other reports ({waiting} are waiting); retry shortly (PALISADE_PLUGIN_QUEUE)"
    )]
    Busy {
        /// Calls already waiting.
        waiting: usize,
    },
    /// The caller already has as many parses running or waiting as one
    /// user may.
    #[error(
        "you already have {limit} reports being parsed; retry when one finishes (PALISADE_PLUGIN_PARSES_PER_USER)"
    )]
    UserBusy {
        /// The per-user limit.
        limit: usize,
    },
    /// The host itself failed (engine set-up, a panicked worker thread).
    #[error("plugin host error: {0}")]
    Internal(String),
}

impl PluginError {
    /// The plugin this error is about, when it is about one.
    pub fn plugin(&self) -> Option<&str> {
        match self {
            PluginError::Trap { plugin, .. }
            | PluginError::Timeout { plugin, .. }
            | PluginError::MemoryLimit { plugin, .. }
            | PluginError::OutputLimit { plugin, .. }
            | PluginError::Guest { plugin, .. }
            | PluginError::InvalidComponent { plugin, .. }
            | PluginError::IncompatibleVersion { plugin, .. }
            | PluginError::Conflict { plugin, .. } => Some(plugin),
            _ => None,
        }
    }

    /// Whether the report (not the plugin or the host) is at fault, so the uploader should fix it.
    pub fn is_report_error(&self) -> bool {
        matches!(
            self,
            PluginError::Guest { .. }
                | PluginError::ReportTooLarge { .. }
                | PluginError::UnknownScanType { .. }
                | PluginError::NotRecognised
                | PluginError::Ambiguous { .. }
        )
    }
}
