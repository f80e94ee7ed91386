//! The plugin registry: every plugin from every source, which one serves each
//! scan type, detection, and the parse entry points the importer calls.
//!
//! # Sources and conflicts
//!
//! Plugins come from the binary (built-in), from the watched plugin directory,
//! and from uploads ([`PluginRegistry::install_bytes`]; persisting them is the
//! caller's job). When several enabled plugins claim one scan type, the winner is
//! chosen deterministically:
//!
//! 1. source: uploaded, then directory, then built-in (an operator's plugin
//!    overrides what shipped with the binary);
//! 2. then the highest plugin version (numeric `major.minor.patch`; a release
//!    beats a pre-release of the same numbers);
//! 3. then the plugin name, then the file or upload name, alphabetically.
//!
//! Summaries list, for each scan type of each plugin, whether it is the active
//! one and which other plugins claim it.

use std::cmp::Ordering as CmpOrdering;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::PluginError;
use super::config::PluginConfig;
use super::engine::{LoadedPlugin, MAX_COMPONENT_BYTES, PluginEngine, sha256_hex};
use super::types::{DedupeSetting, HostFinding};

/// How much of a report `detect` sees.
pub const DETECT_HEAD_BYTES: usize = 256 * 1024;

/// Scan types that are formats many tools write (SARIF) or a catch-all
/// (Generic Findings Import): during detection they yield to any other scan
/// type that also claims the report, so a tool's own plugin wins over the
/// generic one. DefectDojo has no detection (the user always names the scan
/// type); this is Palisade's rule.
pub const GENERIC_FORMATS: &[&str] = &["SARIF", "Generic Findings Import"];

/// Where a plugin comes from; later variants win scan-type conflicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PluginSource {
    /// Compiled into the server binary from `plugins/`.
    Builtin,
    /// A `.wasm` file in the configured plugin directory.
    Directory,
    /// Installed through the API (persisted by the caller).
    Uploaded,
}

impl std::fmt::Display for PluginSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PluginSource::Builtin => "built-in",
            PluginSource::Directory => "directory",
            PluginSource::Uploaded => "uploaded",
        })
    }
}

/// Import settings passed to `parse` as key/value pairs (unknown keys are ignored by plugins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseOptions(pub Vec<(String, String)>);

impl ParseOptions {
    /// The option key carrying the uploaded file's name.
    pub const FILE_NAME: &'static str = "file-name";

    /// Adds one option.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.push((key.into(), value.into()));
        self
    }
}

/// The result of parsing one report.
#[derive(Debug, Clone, Serialize)]
pub struct ParseOutput {
    /// The scan type the report was parsed as (given or detected), as the plugin spells it.
    pub scan_type: String,
    /// Name of the plugin that parsed it.
    pub plugin: String,
    /// That plugin's version.
    pub plugin_version: String,
    /// The findings, in report order.
    pub findings: Vec<HostFinding>,
}

/// One scan type of a plugin, as shown in summaries.
#[derive(Debug, Clone, Serialize)]
pub struct ScanTypeSummary {
    /// Scan type name.
    pub name: String,
    /// One-line description.
    pub description: String,
    /// Accepted file kinds.
    pub file_kinds: Vec<String>,
    /// Deduplication default.
    pub dedupe: DedupeSetting,
    /// Whether this plugin is the one parsing this scan type now.
    pub active: bool,
    /// Other enabled plugins claiming the same scan type (ids `source:name`).
    pub conflicts_with: Vec<String>,
}

/// What the registry knows about one installed plugin.
#[derive(Debug, Clone, Serialize)]
pub struct PluginSummary {
    /// `source:key`, e.g. `builtin:generic` or `directory:trivy.wasm`.
    pub id: String,
    /// Where it comes from.
    pub source: PluginSource,
    /// Built-in crate name, file name or upload name.
    pub key: String,
    /// The plugin's own name (the key when it failed to load).
    pub name: String,
    /// The plugin's version, when loaded.
    pub version: Option<String>,
    /// The contract version it was built against, when loaded.
    pub contract_version: Option<String>,
    /// Hex sha256 of the component bytes.
    pub sha256: String,
    /// Whether it takes part in parsing and detection.
    pub enabled: bool,
    /// Its scan types.
    pub scan_types: Vec<ScanTypeSummary>,
    /// Why it could not be loaded, if it could not.
    pub load_error: Option<String>,
}

/// The plugin that parses a scan type now, with the settings the importer needs.
#[derive(Debug, Clone, Serialize)]
pub struct ActiveScanType {
    /// Scan type name.
    pub name: String,
    /// One-line description.
    pub description: String,
    /// Accepted file kinds.
    pub file_kinds: Vec<String>,
    /// Deduplication default.
    pub dedupe: DedupeSetting,
    /// Id (`source:key`) of the plugin serving it.
    pub plugin_id: String,
    /// That plugin's name.
    pub plugin: String,
    /// That plugin's version.
    pub plugin_version: String,
}

/// What one pass over the plugin directory changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DirectoryChanges {
    /// Files loaded for the first time.
    pub added: Vec<String>,
    /// Files whose content changed and were reloaded.
    pub replaced: Vec<String>,
    /// Files that disappeared.
    pub removed: Vec<String>,
}

impl DirectoryChanges {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.replaced.is_empty() && self.removed.is_empty()
    }
}

type Key = (PluginSource, String);

/// Size and modification time of a plugin file, to notice changes cheaply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
}

struct Entry {
    sha256: String,
    enabled: bool,
    plugin: Result<Arc<LoadedPlugin>, String>,
    stamp: Option<FileStamp>,
}

#[derive(Default)]
struct State {
    entries: BTreeMap<Key, Entry>,
    /// Scan type → enabled loaded plugins claiming it, winner first.
    routes: BTreeMap<String, Vec<Key>>,
}

struct Inner {
    engine: PluginEngine,
    config: PluginConfig,
    state: RwLock<State>,
    /// Serialises directory passes (the watcher and explicit rescans).
    rescan: Mutex<()>,
    watching: AtomicBool,
    /// Admission of async parse and detect calls to the blocking pool.
    slots: super::limits::ParseSlots,
}

/// All plugins of the server; cheap to clone and safe to share between threads.
#[derive(Clone)]
pub struct PluginRegistry {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PluginRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginRegistry")
            .field("plugins", &self.read().entries.len())
            .finish_non_exhaustive()
    }
}

fn id(key: &Key) -> String {
    let source = match key.0 {
        PluginSource::Builtin => "builtin",
        PluginSource::Directory => "directory",
        PluginSource::Uploaded => "uploaded",
    };
    format!("{source}:{}", key.1)
}

impl PluginRegistry {
    /// Creates the engine and loads the built-in plugins and the plugin directory (without watching it).
    ///
    /// A plugin that fails to load is kept with its error (see
    /// [`PluginRegistry::summaries`]) and the others still load. This blocks
    /// while compiling (on a cold cache, ~200 ms per plugin spread over all
    /// cores): call it before serving or inside `spawn_blocking`.
    pub fn new(config: PluginConfig) -> Result<Self, PluginError> {
        let builtins: &[(&str, &[u8])] = if config.builtins {
            super::BUILTIN_PLUGINS
        } else {
            &[]
        };
        Self::with_builtins(config, builtins)
    }

    /// Like [`PluginRegistry::new`] with an explicit set of built-in components.
    pub fn with_builtins(
        config: PluginConfig,
        builtins: &[(&str, &[u8])],
    ) -> Result<Self, PluginError> {
        let engine = PluginEngine::new(&config)?;
        let slots = super::limits::ParseSlots::new(
            config.limits.effective_concurrency(),
            config.parse_queue,
            usize::try_from(config.parses_per_user).unwrap_or(usize::MAX),
        );
        let registry = PluginRegistry {
            inner: Arc::new(Inner {
                engine,
                config,
                state: RwLock::new(State::default()),
                rescan: Mutex::new(()),
                watching: AtomicBool::new(false),
                slots,
            }),
        };
        let items: Vec<(String, &[u8])> = builtins
            .iter()
            .map(|(name, bytes)| ((*name).to_owned(), *bytes))
            .collect();
        let loaded = registry.load_many(&items);
        {
            let mut state = registry.write();
            for ((name, bytes), plugin) in builtins.iter().zip(loaded) {
                if let Err(e) = &plugin {
                    tracing::error!(plugin = name, error = %e, "built-in plugin failed to load");
                }
                state.entries.insert(
                    (PluginSource::Builtin, (*name).to_owned()),
                    Entry {
                        sha256: sha256_hex(bytes),
                        enabled: true,
                        plugin: plugin.map(Arc::new).map_err(|e| e.to_string()),
                        stamp: None,
                    },
                );
            }
            state.recompute_routes();
        }
        if registry.inner.config.plugin_dir.is_some() {
            let changes = registry.rescan_directory()?;
            if !changes.added.is_empty() {
                tracing::info!(plugins = ?changes.added, "plugins loaded from the plugin directory");
            }
        }
        Ok(registry)
    }

    /// Loads components on all cores; compilation dominates a cold start.
    fn load_many(&self, items: &[(String, &[u8])]) -> Vec<Result<LoadedPlugin, PluginError>> {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(items.len().max(1));
        let chunk = items.len().div_ceil(threads).max(1);
        let engine = &self.inner.engine;
        std::thread::scope(|scope| {
            let handles: Vec<_> = items
                .chunks(chunk)
                .map(|chunk| {
                    scope.spawn(move || {
                        chunk
                            .iter()
                            .map(|(name, bytes)| engine.load(name, bytes))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .zip(items.chunks(chunk))
                .flat_map(|(handle, chunk)| {
                    handle.join().unwrap_or_else(|_| {
                        chunk
                            .iter()
                            .map(|(name, _)| {
                                Err(PluginError::Internal(format!("loading `{name}` panicked")))
                            })
                            .collect()
                    })
                })
                .collect()
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        // The state is replaced whole under the lock, so it is consistent even
        // if a holder panicked.
        self.inner.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.inner.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The configuration the registry was built with.
    pub fn config(&self) -> &PluginConfig {
        &self.inner.config
    }

    /// The engine (compile cache, limits, single calls).
    pub fn engine(&self) -> &PluginEngine {
        &self.inner.engine
    }

    /// Starts a thread that rescans the plugin directory every `watch_interval_ms`.
    ///
    /// Adding, replacing or removing a `.wasm` file takes effect within one
    /// interval. Does nothing without a plugin directory or when already watching;
    /// the thread ends when the last clone of the registry is dropped.
    pub fn watch_directory(&self) -> Result<(), PluginError> {
        if self.inner.config.plugin_dir.is_none()
            || self.inner.watching.swap(true, Ordering::SeqCst)
        {
            return Ok(());
        }
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let interval = Duration::from_millis(self.inner.config.watch_interval_ms.max(50));
        std::thread::Builder::new()
            .name("palisade-plugin-watch".to_owned())
            .spawn(move || {
                let mut last_error: Option<String> = None;
                loop {
                    std::thread::sleep(interval);
                    let Some(inner) = weak.upgrade() else { break };
                    let registry = PluginRegistry { inner };
                    match registry.rescan_directory() {
                        Ok(_) => last_error = None,
                        Err(e) => {
                            // Log a failing directory once, not every second.
                            let text = e.to_string();
                            if last_error.as_deref() != Some(text.as_str()) {
                                tracing::warn!(error = %text, "cannot scan the plugin directory");
                                last_error = Some(text);
                            }
                        }
                    }
                }
            })
            .map_err(|e| {
                PluginError::Internal(format!("starting the plugin directory watcher: {e}"))
            })?;
        Ok(())
    }

    /// Brings the directory plugins in line with the files now in the plugin directory.
    pub fn rescan_directory(&self) -> Result<DirectoryChanges, PluginError> {
        let Some(dir) = self.inner.config.plugin_dir.clone() else {
            return Ok(DirectoryChanges::default());
        };
        let _pass = self.inner.rescan.lock().unwrap_or_else(|p| p.into_inner());
        let files = list_wasm_files(&dir)?;
        let known: BTreeMap<String, (Option<FileStamp>, String)> = self
            .read()
            .entries
            .iter()
            .filter(|((source, _), _)| *source == PluginSource::Directory)
            .map(|((_, key), e)| (key.clone(), (e.stamp, e.sha256.clone())))
            .collect();

        let mut changes = DirectoryChanges::default();
        let mut updates: Vec<(String, Option<Entry>)> = Vec::new();
        for (name, (path, stamp)) in &files {
            let previous = known.get(name);
            if previous.is_some_and(|(s, _)| *s == Some(*stamp)) {
                continue;
            }
            if stamp.len > MAX_COMPONENT_BYTES as u64 {
                // Not read at all: a huge file in the directory must not exhaust memory.
                let error = PluginError::InvalidComponent {
                    plugin: name.clone(),
                    message: format!(
                        "it is {} bytes, more than the {} MiB a plugin may be",
                        stamp.len,
                        MAX_COMPONENT_BYTES >> 20
                    ),
                };
                tracing::warn!(file = %path.display(), error = %error, "plugin in the plugin directory refused");
                if previous.is_some() {
                    changes.replaced.push(name.clone());
                } else {
                    changes.added.push(name.clone());
                }
                updates.push((
                    name.clone(),
                    Some(Entry {
                        sha256: String::new(),
                        enabled: true,
                        plugin: Err(error.to_string()),
                        stamp: Some(*stamp),
                    }),
                ));
                continue;
            }
            let bytes = match std::fs::read(path) {
                Ok(bytes) => bytes,
                // Vanished or unreadable between listing and reading: next pass.
                Err(_) => continue,
            };
            let sha256 = sha256_hex(&bytes);
            if previous.is_some_and(|(_, sha)| *sha == sha256) {
                // Touched but identical: remember the new stamp only.
                updates.push((name.clone(), None));
                continue;
            }
            let plugin = self.inner.engine.load(name, &bytes);
            match &plugin {
                Ok(p) => {
                    tracing::info!(plugin = %p.info().name, file = %path.display(), "plugin loaded from the plugin directory")
                }
                // A half-copied file fails here and loads on the next pass, when its stamp changes.
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "plugin in the plugin directory failed to load")
                }
            }
            if previous.is_some() {
                changes.replaced.push(name.clone());
            } else {
                changes.added.push(name.clone());
            }
            updates.push((
                name.clone(),
                Some(Entry {
                    sha256,
                    enabled: true,
                    plugin: plugin.map(Arc::new).map_err(|e| e.to_string()),
                    stamp: Some(*stamp),
                }),
            ));
        }
        for name in known.keys() {
            if !files.contains_key(name) {
                changes.removed.push(name.clone());
            }
        }
        if updates.is_empty() && changes.removed.is_empty() {
            return Ok(changes);
        }

        let mut state = self.write();
        for (name, update) in updates {
            let key = (PluginSource::Directory, name.clone());
            let stamp = files.get(&name).map(|(_, s)| *s);
            match (update, state.entries.get_mut(&key)) {
                (None, Some(entry)) => entry.stamp = stamp,
                (None, None) => {}
                (Some(mut entry), previous) => {
                    // Replacing a file keeps the operator's enable/disable choice.
                    if let Some(previous) = previous {
                        entry.enabled = previous.enabled;
                    }
                    state.entries.insert(key, entry);
                }
            }
        }
        for name in &changes.removed {
            state
                .entries
                .remove(&(PluginSource::Directory, name.clone()));
            tracing::info!(file = %name, "plugin removed from the plugin directory");
        }
        state.recompute_routes();
        Ok(changes)
    }

    /// Installs (or replaces) a plugin from component bytes, e.g. an upload.
    ///
    /// The component is compiled, checked and asked for its info first; on any
    /// failure nothing is installed and the error says why. Replacing keeps the
    /// enabled flag. Another plugin of the same source with the same plugin name
    /// under a different `name` is a [`PluginError::Conflict`].
    pub fn install_bytes(
        &self,
        source: PluginSource,
        name: &str,
        bytes: &[u8],
    ) -> Result<PluginSummary, PluginError> {
        let plugin = self.inner.engine.load(name, bytes)?;
        let key = (source, name.to_owned());
        let mut state = self.write();
        if let Some((other, _)) = state.entries.iter().find(|((s, k), e)| {
            *s == source
                && *k != name
                && e.plugin
                    .as_ref()
                    .is_ok_and(|p| p.info().name == plugin.info().name)
        }) {
            return Err(PluginError::Conflict {
                plugin: plugin.info().name.clone(),
                other: format!("`{}`", id(other)),
                message: format!(
                    "a {source} plugin with the same name is already installed; replace or remove it instead"
                ),
            });
        }
        let enabled = state.entries.get(&key).is_none_or(|e| e.enabled);
        state.entries.insert(
            key.clone(),
            Entry {
                sha256: plugin.sha256().to_owned(),
                enabled,
                plugin: Ok(Arc::new(plugin)),
                stamp: None,
            },
        );
        state.recompute_routes();
        Ok(state.summary(&key))
    }

    /// Installs like [`PluginRegistry::install_bytes`] on the blocking pool (compiling takes ~200 ms).
    pub async fn install<B>(
        &self,
        source: PluginSource,
        name: String,
        bytes: B,
    ) -> Result<PluginSummary, PluginError>
    where
        B: AsRef<[u8]> + Send + 'static,
    {
        let registry = self.clone();
        tokio::task::spawn_blocking(move || registry.install_bytes(source, &name, bytes.as_ref()))
            .await
            .map_err(|e| PluginError::Internal(format!("install worker failed: {e}")))?
    }

    /// Removes a plugin; built-in and directory plugins come back on restart or rescan.
    pub fn remove(&self, source: PluginSource, name: &str) -> Result<(), PluginError> {
        let mut state = self.write();
        if state.entries.remove(&(source, name.to_owned())).is_none() {
            return Err(PluginError::NotFound {
                origin: source,
                name: name.to_owned(),
            });
        }
        state.recompute_routes();
        Ok(())
    }

    /// Enables or disables a plugin; a disabled plugin neither parses nor detects.
    pub fn set_enabled(
        &self,
        source: PluginSource,
        name: &str,
        enabled: bool,
    ) -> Result<PluginSummary, PluginError> {
        let key = (source, name.to_owned());
        let mut state = self.write();
        let Some(entry) = state.entries.get_mut(&key) else {
            return Err(PluginError::NotFound {
                origin: source,
                name: name.to_owned(),
            });
        };
        entry.enabled = enabled;
        state.recompute_routes();
        Ok(state.summary(&key))
    }

    /// Summaries of all installed plugins, by source and name.
    pub fn summaries(&self) -> Vec<PluginSummary> {
        let state = self.read();
        state.entries.keys().map(|key| state.summary(key)).collect()
    }

    /// The summary of one plugin.
    pub fn summary(&self, source: PluginSource, name: &str) -> Option<PluginSummary> {
        let key = (source, name.to_owned());
        let state = self.read();
        state
            .entries
            .contains_key(&key)
            .then(|| state.summary(&key))
    }

    /// The scan types enabled plugins handle, sorted.
    pub fn known_scan_types(&self) -> Vec<String> {
        self.read().routes.keys().cloned().collect()
    }

    /// Every scan type with the plugin serving it.
    pub fn scan_types(&self) -> Vec<ActiveScanType> {
        let state = self.read();
        state
            .routes
            .keys()
            .filter_map(|name| state.active(name))
            .collect()
    }

    /// The plugin serving `scan_type` (exact name, else a unique case-insensitive match).
    pub fn scan_type(&self, scan_type: &str) -> Option<ActiveScanType> {
        let state = self.read();
        let name = state.canonical(scan_type)?;
        state.active(&name)
    }

    /// Finds the plugin for `scan_type`, or says which scan types exist.
    fn route(&self, scan_type: &str) -> Result<(String, Arc<LoadedPlugin>), PluginError> {
        let state = self.read();
        let unknown = || PluginError::UnknownScanType {
            scan_type: scan_type.to_owned(),
            known: state.routes.keys().cloned().collect(),
        };
        let name = state.canonical(scan_type).ok_or_else(unknown)?;
        let plugin = state
            .routes
            .get(&name)
            .and_then(|keys| keys.first())
            .and_then(|key| state.entries.get(key))
            .and_then(|e| e.plugin.as_ref().ok())
            .ok_or_else(unknown)?;
        Ok((name, Arc::clone(plugin)))
    }

    /// Detects the scan type of a report from its first 256 KiB (blocking).
    ///
    /// Each enabled plugin is asked about the scan types it serves. Exactly one
    /// answer wins, after answers of [`GENERIC_FORMATS`] give way to any other;
    /// none is [`PluginError::NotRecognised`]; several are
    /// [`PluginError::Ambiguous`]. A plugin that fails while detecting is logged
    /// and counts as "no".
    pub fn detect_blocking(&self, report: &[u8]) -> Result<String, PluginError> {
        let head = &report[..report.len().min(DETECT_HEAD_BYTES)];
        let jobs: Vec<(Arc<LoadedPlugin>, Vec<String>)> = {
            let state = self.read();
            let mut by_plugin: BTreeMap<&Key, Vec<String>> = BTreeMap::new();
            for (scan_type, keys) in &state.routes {
                if let Some(winner) = keys.first() {
                    by_plugin.entry(winner).or_default().push(scan_type.clone());
                }
            }
            by_plugin
                .into_iter()
                .filter_map(|(key, candidates)| {
                    let plugin = state.entries.get(key)?.plugin.as_ref().ok()?;
                    Some((Arc::clone(plugin), candidates))
                })
                .collect()
        };
        let mut answers: BTreeMap<String, String> = BTreeMap::new();
        for (plugin, candidates) in jobs {
            match self.inner.engine.detect(&plugin, &candidates, head) {
                Ok(Some(scan_type)) if candidates.contains(&scan_type) => {
                    answers.insert(scan_type, plugin.info().name.clone());
                }
                Ok(Some(scan_type)) => tracing::warn!(
                    plugin = %plugin.info().name,
                    answer = %scan_type,
                    "plugin detected a scan type it does not serve; ignored"
                ),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(plugin = %plugin.info().name, error = %e, "plugin failed while detecting")
                }
            }
        }
        // A report in a generic format written by a tool with a plugin of its
        // own goes to that plugin: the most specific answer wins.
        if answers.len() > 1
            && answers
                .keys()
                .any(|s| !GENERIC_FORMATS.contains(&s.as_str()))
        {
            answers.retain(|scan_type, _| !GENERIC_FORMATS.contains(&scan_type.as_str()));
        }
        let mut answers = answers.into_iter();
        match (answers.next(), answers.next()) {
            (None, _) => Err(PluginError::NotRecognised),
            (Some((scan_type, _)), None) => Ok(scan_type),
            (Some(first), Some(second)) => Err(PluginError::Ambiguous {
                candidates: [first, second].into_iter().chain(answers).collect(),
            }),
        }
    }

    /// Detects the scan type of a report off the async executor.
    pub async fn detect<R>(&self, report: R) -> Result<String, PluginError>
    where
        R: AsRef<[u8]> + Send + 'static,
    {
        let permit = self.inner.slots.acquire(true, None).await?;
        let registry = self.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            registry.detect_blocking(report.as_ref())
        })
        .await
        .map_err(|e| PluginError::Internal(format!("detection worker failed: {e}")))?
    }

    /// Parses a report (blocking): by `scan_type`, or detected when `None`.
    pub fn parse_blocking(
        &self,
        scan_type: Option<&str>,
        report: &[u8],
        options: &ParseOptions,
    ) -> Result<ParseOutput, PluginError> {
        let limit = self.inner.engine.limits().max_report_bytes;
        let size = u64::try_from(report.len()).unwrap_or(u64::MAX);
        if size > limit {
            return Err(PluginError::ReportTooLarge { size, limit });
        }
        let requested = match scan_type {
            Some(scan_type) => scan_type.to_owned(),
            None => self.detect_blocking(report)?,
        };
        let (scan_type, plugin) = self.route(&requested)?;
        let findings = self
            .inner
            .engine
            .parse(&plugin, &scan_type, report, &options.0)?;
        Ok(ParseOutput {
            scan_type,
            plugin: plugin.info().name.clone(),
            plugin_version: plugin.info().version.clone(),
            findings,
        })
    }

    /// Parses a report on the blocking pool, so the async executor never waits on a plugin.
    ///
    /// A parse slot is taken first (waiting as a future, not a thread); when
    /// all are busy and `PALISADE_PLUGIN_QUEUE` calls already wait, the call
    /// fails with [`PluginError::Busy`]. On behalf of a `user`, at most
    /// `PALISADE_PLUGIN_PARSES_PER_USER` of that user's calls run or wait
    /// ([`PluginError::UserBusy`] beyond).
    ///
    /// `report` may be an `Arc<[u8]>`, `bytes::Bytes` or `Vec<u8>`.
    pub async fn parse<R>(
        &self,
        user: Option<i64>,
        scan_type: Option<&str>,
        report: R,
        options: ParseOptions,
    ) -> Result<ParseOutput, PluginError>
    where
        R: AsRef<[u8]> + Send + 'static,
    {
        self.parse_admitted(true, user, scan_type, report, options)
            .await
    }

    /// Like [`PluginRegistry::parse`], but waits for a slot however long the
    /// queue: for background workers, whose number is bounded already.
    pub async fn parse_waiting<R>(
        &self,
        scan_type: Option<&str>,
        report: R,
        options: ParseOptions,
    ) -> Result<ParseOutput, PluginError>
    where
        R: AsRef<[u8]> + Send + 'static,
    {
        self.parse_admitted(false, None, scan_type, report, options)
            .await
    }

    async fn parse_admitted<R>(
        &self,
        bounded: bool,
        user: Option<i64>,
        scan_type: Option<&str>,
        report: R,
        options: ParseOptions,
    ) -> Result<ParseOutput, PluginError>
    where
        R: AsRef<[u8]> + Send + 'static,
    {
        let permit = self.inner.slots.acquire(bounded, user).await?;
        let registry = self.clone();
        let scan_type = scan_type.map(str::to_owned);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            registry.parse_blocking(scan_type.as_deref(), report.as_ref(), &options)
        })
        .await
        .map_err(|e| PluginError::Internal(format!("parse worker failed: {e}")))?
    }
}

impl State {
    /// Rebuilds the scan type → plugins table from the enabled, loaded entries.
    fn recompute_routes(&mut self) {
        let mut routes: BTreeMap<String, Vec<Key>> = BTreeMap::new();
        for (key, entry) in &self.entries {
            let Ok(plugin) = &entry.plugin else { continue };
            if !entry.enabled {
                continue;
            }
            for scan_type in &plugin.info().scan_types {
                routes
                    .entry(scan_type.name.clone())
                    .or_default()
                    .push(key.clone());
            }
        }
        for keys in routes.values_mut() {
            keys.sort_by(|a, b| self.rank(a, b));
        }
        self.routes = routes;
    }

    /// Orders two claimants of a scan type, winner first (see the module docs).
    fn rank(&self, a: &Key, b: &Key) -> CmpOrdering {
        let info = |k: &Key| {
            self.entries
                .get(k)
                .and_then(|e| e.plugin.as_ref().ok())
                .map(|p| (p.info().version.clone(), p.info().name.clone()))
                .unwrap_or_default()
        };
        let (va, na) = info(a);
        let (vb, nb) = info(b);
        b.0.cmp(&a.0)
            .then_with(|| compare_versions(&vb, &va))
            .then_with(|| na.cmp(&nb))
            .then_with(|| a.1.cmp(&b.1))
    }

    /// The scan type name as plugins spell it: exact, else a unique case-insensitive match.
    fn canonical(&self, scan_type: &str) -> Option<String> {
        if self.routes.contains_key(scan_type) {
            return Some(scan_type.to_owned());
        }
        let mut matches = self
            .routes
            .keys()
            .filter(|name| name.eq_ignore_ascii_case(scan_type.trim()));
        match (matches.next(), matches.next()) {
            (Some(name), None) => Some(name.clone()),
            _ => None,
        }
    }

    fn active(&self, scan_type: &str) -> Option<ActiveScanType> {
        let key = self.routes.get(scan_type)?.first()?;
        let plugin = self.entries.get(key)?.plugin.as_ref().ok()?;
        let info = plugin.info();
        let st = info.scan_types.iter().find(|s| s.name == scan_type)?;
        Some(ActiveScanType {
            name: st.name.clone(),
            description: st.description.clone(),
            file_kinds: st.file_kinds.clone(),
            dedupe: st.dedupe.clone(),
            plugin_id: id(key),
            plugin: info.name.clone(),
            plugin_version: info.version.clone(),
        })
    }

    /// The summary of an installed entry (callers check that `key` exists).
    fn summary(&self, key: &Key) -> PluginSummary {
        let Some(entry) = self.entries.get(key) else {
            return PluginSummary {
                id: id(key),
                source: key.0,
                key: key.1.clone(),
                name: key.1.clone(),
                version: None,
                contract_version: None,
                sha256: String::new(),
                enabled: false,
                scan_types: Vec::new(),
                load_error: Some("not installed".to_owned()),
            };
        };
        match &entry.plugin {
            Ok(plugin) => {
                let info = plugin.info();
                PluginSummary {
                    id: id(key),
                    source: key.0,
                    key: key.1.clone(),
                    name: info.name.clone(),
                    version: Some(info.version.clone()),
                    contract_version: Some(info.contract_version.clone()),
                    sha256: entry.sha256.clone(),
                    enabled: entry.enabled,
                    scan_types: info
                        .scan_types
                        .iter()
                        .map(|st| {
                            let claimants = self
                                .routes
                                .get(&st.name)
                                .map(Vec::as_slice)
                                .unwrap_or_default();
                            ScanTypeSummary {
                                name: st.name.clone(),
                                description: st.description.clone(),
                                file_kinds: st.file_kinds.clone(),
                                dedupe: st.dedupe.clone(),
                                active: claimants.first() == Some(key),
                                conflicts_with: claimants
                                    .iter()
                                    .filter(|k| *k != key)
                                    .map(id)
                                    .collect(),
                            }
                        })
                        .collect(),
                    load_error: None,
                }
            }
            Err(error) => PluginSummary {
                id: id(key),
                source: key.0,
                key: key.1.clone(),
                name: key.1.clone(),
                version: None,
                contract_version: None,
                sha256: entry.sha256.clone(),
                enabled: entry.enabled,
                scan_types: Vec::new(),
                load_error: Some(error.clone()),
            },
        }
    }
}

/// Lists `*.wasm` files directly in `dir` with their stamps; a missing directory is empty.
fn list_wasm_files(dir: &Path) -> Result<BTreeMap<String, (PathBuf, FileStamp)>, PluginError> {
    let io = |source| PluginError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(io(e)),
    };
    let mut files = BTreeMap::new();
    for entry in entries {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        if path.extension().is_none_or(|ext| ext != "wasm") {
            continue;
        }
        // Follows symlinks, so a link to a component counts as the component.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        files.insert(
            entry.file_name().to_string_lossy().into_owned(),
            (
                path,
                FileStamp {
                    len: meta.len(),
                    modified: meta.modified().ok(),
                },
            ),
        );
    }
    Ok(files)
}

/// Compares plugin versions numerically (`1.10.0` > `1.9.3`); a release beats its pre-releases.
fn compare_versions(a: &str, b: &str) -> CmpOrdering {
    let split = |v: &str| {
        let (core, pre) = v.split_once('-').unwrap_or((v, ""));
        let core = core.split('+').next().unwrap_or(core);
        let numbers: Vec<u64> = core.split('.').map(|p| p.parse().unwrap_or(0)).collect();
        (numbers, pre.to_owned())
    };
    let (na, pa) = split(a.trim());
    let (nb, pb) = split(b.trim());
    na.cmp(&nb)
        .then_with(|| match (pa.is_empty(), pb.is_empty()) {
            (true, false) => CmpOrdering::Greater,
            (false, true) => CmpOrdering::Less,
            _ => pa.cmp(&pb),
        })
        .then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(compare_versions("1.10.0", "1.9.3"), CmpOrdering::Greater);
        assert_eq!(
            compare_versions("1.0.0", "1.0.0-rc.1"),
            CmpOrdering::Greater
        );
        assert_eq!(compare_versions("0.2.0", "0.10.0"), CmpOrdering::Less);
        assert_eq!(compare_versions("1.0.0", "1.0.0"), CmpOrdering::Equal);
    }

    #[test]
    fn sources_rank_uploaded_first() {
        assert!(PluginSource::Uploaded > PluginSource::Directory);
        assert!(PluginSource::Directory > PluginSource::Builtin);
    }
}
