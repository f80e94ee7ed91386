//! The wasmtime side of the host: one engine and linker, compiling (with the
//! disk cache), linking and checking components, and running single calls
//! under the limits.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Engine, Store, Trap};

use super::PluginError;
use super::bindings::{Parser, ParserPre};
use super::cache::CompileCache;
use super::config::{PluginConfig, PluginLimits};
use super::limits::{EpochTicker, Gate};
use super::state::HostState;
use super::types::{HostFinding, PluginInfo};

/// The contract version this host speaks (major, minor); patch levels are compatible.
pub const CONTRACT_VERSION: (u64, u64) = (0, 1);
/// Most CPU time `info` and `detect` may take.
const SHORT_CALL_BUDGET: Duration = Duration::from_secs(5);
/// Largest component accepted; real parsers are well under 1 MiB.
pub const MAX_COMPONENT_BYTES: usize = 64 << 20;
/// The contract's package, as plugins import it.
const CONTRACT_PACKAGE: &str = "palisade:parser";

/// Whether a compiled component came from the disk cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from the cache (no compilation).
    Hit,
    /// Compiled now and written to the cache.
    Miss,
    /// Compiled now; the cache is disabled or could not be written.
    Uncached,
}

/// One wasmtime engine with its linker, compile cache and limits, shared by all plugins.
pub struct PluginEngine {
    engine: Engine,
    linker: Linker<HostState>,
    cache: CompileCache,
    limits: PluginLimits,
    gate: Gate,
    _ticker: EpochTicker,
}

impl std::fmt::Debug for PluginEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginEngine")
            .field("cache", &self.cache)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// A component compiled, linked and described by its `info`, ready for calls.
pub struct LoadedPlugin {
    name: Arc<str>,
    info: PluginInfo,
    sha256: String,
    component: Component,
    pre: ParserPre<HostState>,
    imports: Vec<String>,
    cache: CacheOutcome,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("info", &self.info)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

impl LoadedPlugin {
    /// The plugin's self-description.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// Hex sha256 of the component bytes.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The component's import names (contract and WASI interfaces).
    pub fn imports(&self) -> &[String] {
        &self.imports
    }

    /// Whether the compiled code came from the disk cache.
    pub fn cache_outcome(&self) -> CacheOutcome {
        self.cache
    }

    /// The compiled component.
    pub fn component(&self) -> &Component {
        &self.component
    }
}

/// Hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl PluginEngine {
    /// Creates the engine (epoch interruption on), its linker, ticker and compile cache.
    pub fn new(config: &PluginConfig) -> Result<Self, PluginError> {
        let internal =
            |what: &str, e: wasmtime::Error| PluginError::Internal(format!("{what}: {e:#}"));
        let mut wasm = wasmtime::Config::new();
        wasm.wasm_component_model(true)
            // Epochs rather than fuel: the same deadline at a fraction of the cost
            // (measured when the host was designed: a 100k-finding parse took
            // about 570 ms with epochs against 700 ms with fuel).
            .epoch_interruption(true)
            .parallel_compilation(true);
        let engine = Engine::new(&wasm).map_err(|e| internal("creating the wasm engine", e))?;

        let mut linker = Linker::new(&engine);
        // Guests built for wasm32-wasip2 import WASI even when they never use it;
        // the context behind it grants nothing (see `HostState`).
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| internal("linking WASI", e))?;
        Parser::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| state)
            .map_err(|e| internal("linking the host interface", e))?;

        let ticker = EpochTicker::start(&engine)
            .map_err(|e| PluginError::Internal(format!("starting the epoch thread: {e}")))?;
        let cache = CompileCache::open(&engine, &config.cache_dir());
        Ok(PluginEngine {
            engine,
            linker,
            cache,
            gate: Gate::new(config.limits.effective_concurrency()),
            limits: config.limits.clone(),
            _ticker: ticker,
        })
    }

    /// The limits calls run under.
    pub fn limits(&self) -> &PluginLimits {
        &self.limits
    }

    /// The wasmtime engine.
    pub fn wasmtime(&self) -> &Engine {
        &self.engine
    }

    /// Compiles `bytes` into a component, through the disk cache; `label` names it in errors.
    pub fn compile(
        &self,
        label: &str,
        bytes: &[u8],
    ) -> Result<(Component, CacheOutcome), PluginError> {
        self.compile_hashed(label, bytes, &sha256_hex(bytes))
    }

    fn compile_hashed(
        &self,
        label: &str,
        bytes: &[u8],
        sha256: &str,
    ) -> Result<(Component, CacheOutcome), PluginError> {
        let invalid = |e: wasmtime::Error| PluginError::InvalidComponent {
            plugin: label.to_owned(),
            message: format!("{e:#}"),
        };
        let Some(path) = self.cache.path_for(sha256) else {
            return Ok((
                Component::from_binary(&self.engine, bytes).map_err(invalid)?,
                CacheOutcome::Uncached,
            ));
        };
        if path.is_file() {
            // SAFETY: wasmtime requires that a deserialized file hold code it
            // produced itself. Only this host writes the cache directory: it is
            // created owner-only (0700), files are written whole by an atomic
            // rename from `precompile_component` output, and the name carries
            // the engine's compatibility hash. wasmtime also checks the header,
            // its version and the engine settings before using the code.
            #[expect(unsafe_code, reason = "reading our own compile cache; see SAFETY")]
            let cached = unsafe { Component::deserialize_file(&self.engine, &path) };
            match cached {
                Ok(component) => return Ok((component, CacheOutcome::Hit)),
                Err(e) => {
                    tracing::warn!(plugin = label, cache.file = %path.display(), error = %e, "unusable compile cache entry; recompiling");
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let compiled = self.engine.precompile_component(bytes).map_err(invalid)?;
        if let Err(e) = self.cache.store(&path, &compiled) {
            tracing::warn!(plugin = label, cache.file = %path.display(), error = %e, "cannot write the compile cache");
            return Ok((
                Component::from_binary(&self.engine, bytes).map_err(invalid)?,
                CacheOutcome::Uncached,
            ));
        }
        // SAFETY: as above; the file was just written from `precompile_component`.
        #[expect(unsafe_code, reason = "reading our own compile cache; see SAFETY")]
        let component =
            unsafe { Component::deserialize_file(&self.engine, &path) }.map_err(invalid)?;
        Ok((component, CacheOutcome::Miss))
    }

    /// Compiles, links and checks a component, then asks it for its `info`.
    ///
    /// `label` (file or upload name) names the plugin in errors until its own
    /// name is known.
    pub fn load(&self, label: &str, bytes: &[u8]) -> Result<LoadedPlugin, PluginError> {
        if bytes.len() > MAX_COMPONENT_BYTES {
            return Err(PluginError::InvalidComponent {
                plugin: label.to_owned(),
                message: format!(
                    "it is {} bytes, more than the {} MiB a plugin may be",
                    bytes.len(),
                    MAX_COMPONENT_BYTES >> 20
                ),
            });
        }
        let sha256 = sha256_hex(bytes);
        let (component, cache) = self.compile_hashed(label, bytes, &sha256)?;
        let imports = self.check_imports(label, &component)?;
        let instance_pre =
            self.linker
                .instantiate_pre(&component)
                .map_err(|e| PluginError::InvalidComponent {
                    plugin: label.to_owned(),
                    message: format!("{e:#}"),
                })?;
        let pre = ParserPre::new(instance_pre).map_err(|e| PluginError::IncompatibleVersion {
            plugin: label.to_owned(),
            message: format!(
                "it does not implement the world `{CONTRACT_PACKAGE}/parser@{}.{}` (missing or different exports): {e:#}",
                CONTRACT_VERSION.0, CONTRACT_VERSION.1
            ),
        })?;

        let label_arc: Arc<str> = Arc::from(label);
        let info = {
            let _permit = self.gate.acquire();
            let mut store = self.store(Arc::clone(&label_arc), self.short_budget());
            let result = pre
                .instantiate(&mut store)
                .and_then(|parser| parser.call_info(&mut store));
            store.data_mut().flush_output();
            result.map_err(|e| self.classify(&label_arc, &e, store.data()))?
        };
        let info = PluginInfo::from(info);
        check_info(label, &info)?;
        Ok(LoadedPlugin {
            name: Arc::from(info.name.as_str()),
            info,
            sha256,
            component,
            pre,
            imports,
            cache,
        })
    }

    /// Rejects imports the host does not provide, naming them; returns all import names.
    fn check_imports(
        &self,
        label: &str,
        component: &Component,
    ) -> Result<Vec<String>, PluginError> {
        let ty = component.component_type();
        let names: Vec<String> = ty
            .imports(&self.engine)
            .map(|(name, _)| name.to_owned())
            .collect();
        let mut unsupported = Vec::new();
        for name in &names {
            if let Some(rest) = name
                .strip_prefix(CONTRACT_PACKAGE)
                .and_then(|r| r.strip_prefix('/'))
            {
                let (interface, version) = rest.split_once('@').unwrap_or((rest, ""));
                if !matches!(interface, "host" | "types") {
                    unsupported.push(name.clone());
                    continue;
                }
                if major_minor(version) != Some(CONTRACT_VERSION) {
                    return Err(PluginError::IncompatibleVersion {
                        plugin: label.to_owned(),
                        message: format!(
                            "it imports `{name}`, but this server speaks {CONTRACT_PACKAGE}@{}.{}",
                            CONTRACT_VERSION.0, CONTRACT_VERSION.1
                        ),
                    });
                }
            } else if !name.starts_with("wasi:") {
                unsupported.push(name.clone());
            }
        }
        if !unsupported.is_empty() {
            return Err(PluginError::InvalidComponent {
                plugin: label.to_owned(),
                message: format!(
                    "it imports {}, which the host does not provide (plugins may import only {CONTRACT_PACKAGE}/host and WASI 0.2)",
                    unsupported
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        Ok(names)
    }

    /// A fresh store for one call: memory limiter, CPU deadline, empty WASI.
    fn store(&self, plugin: Arc<str>, budget: Duration) -> Store<HostState> {
        let mut state = HostState::new(plugin, self.limits.memory_limit);
        state.budget = budget;
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        // What a call returns (the findings) is lifted out of the guest's memory,
        // so the memory limit already bounds it; wasmtime's default of 128 MiB
        // per call would reject the findings of large (~50 MB) reports.
        store.set_hostcall_fuel(usize::try_from(self.limits.memory_limit).unwrap_or(usize::MAX));
        store.set_epoch_deadline(EpochTicker::ticks(budget));
        store.epoch_deadline_trap();
        store
    }

    /// Turns a failed call into the error that says what happened.
    fn classify(&self, plugin: &str, err: &wasmtime::Error, state: &HostState) -> PluginError {
        let trap = err.downcast_ref::<Trap>().copied();
        if trap == Some(Trap::Interrupt) {
            return PluginError::Timeout {
                plugin: plugin.to_owned(),
                limit: state.budget,
            };
        }
        // A refused memory.grow surfaces as an allocator abort (a trap) or as an
        // instantiation error; either way the limiter saw it first.
        if state.limiter.hit() {
            return PluginError::MemoryLimit {
                plugin: plugin.to_owned(),
                limit: self.limits.memory_limit,
            };
        }
        let mut message = match trap {
            Some(trap) => trap.to_string(),
            None => format!("{err:#}"),
        };
        if let Some(last) = state.log.last_error() {
            message.push_str(&format!(" (its last error log: {last})"));
        }
        PluginError::Trap {
            plugin: plugin.to_owned(),
            message,
        }
    }

    /// The CPU budget of `info` and `detect`: they read at most 256 KiB, so a
    /// plugin stuck there must not hold up every auto-detected import for the
    /// whole parse budget.
    fn short_budget(&self) -> Duration {
        self.limits.cpu_timeout.min(SHORT_CALL_BUDGET)
    }

    /// Instantiates `plugin` in a fresh store and drops it (measures per-call overhead).
    pub fn instantiate(&self, plugin: &LoadedPlugin) -> Result<(), PluginError> {
        let mut store = self.store(Arc::clone(&plugin.name), self.short_budget());
        plugin
            .pre
            .instantiate(&mut store)
            .map(drop)
            .map_err(|e| self.classify(&plugin.name, &e, store.data()))
    }

    /// Asks `plugin` whether it recognises a report from its first bytes.
    pub fn detect(
        &self,
        plugin: &LoadedPlugin,
        candidates: &[String],
        head: &[u8],
    ) -> Result<Option<String>, PluginError> {
        let _permit = self.gate.acquire();
        let mut store = self.store(Arc::clone(&plugin.name), self.short_budget());
        let result = plugin
            .pre
            .instantiate(&mut store)
            .and_then(|parser| parser.call_detect(&mut store, candidates, head));
        store.data_mut().flush_output();
        result.map_err(|e| self.classify(&plugin.name, &e, store.data()))
    }

    /// Parses one report with `plugin` under the limits.
    #[tracing::instrument(skip_all, fields(plugin = %plugin.name, scan_type = %scan_type, report.bytes = report.len()))]
    pub fn parse(
        &self,
        plugin: &LoadedPlugin,
        scan_type: &str,
        report: &[u8],
        options: &[(String, String)],
    ) -> Result<Vec<HostFinding>, PluginError> {
        let (findings, timings) = self.parse_timed(plugin, scan_type, report, options)?;
        tracing::debug!(
            findings = findings.len(),
            duration_ms = (timings.instantiate + timings.call + timings.convert).as_millis() as u64,
            guest.peak_bytes = timings.guest_peak_memory,
            "report parsed"
        );
        Ok(findings)
    }

    /// Like [`PluginEngine::parse`], also saying where the time went.
    pub fn parse_timed(
        &self,
        plugin: &LoadedPlugin,
        scan_type: &str,
        report: &[u8],
        options: &[(String, String)],
    ) -> Result<(Vec<HostFinding>, ParseTimings), PluginError> {
        let size = u64::try_from(report.len()).unwrap_or(u64::MAX);
        if size > self.limits.max_report_bytes {
            return Err(PluginError::ReportTooLarge {
                size,
                limit: self.limits.max_report_bytes,
            });
        }
        let _permit = self.gate.acquire();
        let started = Instant::now();
        let mut store = self.store(Arc::clone(&plugin.name), self.limits.cpu_timeout);
        let parser = plugin
            .pre
            .instantiate(&mut store)
            .map_err(|e| self.classify(&plugin.name, &e, store.data()))?;
        let instantiated = Instant::now();
        let result = parser.call_parse(&mut store, scan_type, report, options);
        let called = Instant::now();
        store.data_mut().flush_output();
        let guest_peak_memory = store.data().limiter.peak();
        let findings = match result {
            Err(e) => return Err(self.classify(&plugin.name, &e, store.data())),
            Ok(Err(rejected)) => {
                return Err(PluginError::Guest {
                    plugin: plugin.name.to_string(),
                    scan_type: scan_type.to_owned(),
                    message: rejected.message,
                    location: rejected.location.map(Into::into),
                });
            }
            Ok(Ok(findings)) => findings,
        };
        // Dropping the store frees the guest's memory before the host copies grow.
        drop(store);
        if findings.len() > self.limits.max_findings {
            return Err(PluginError::OutputLimit {
                plugin: plugin.name.to_string(),
                count: findings.len(),
                limit: self.limits.max_findings,
            });
        }
        let converting = Instant::now();
        let findings: Vec<HostFinding> = findings.into_iter().map(HostFinding::from).collect();
        let timings = ParseTimings {
            instantiate: instantiated - started,
            call: called - instantiated,
            convert: converting.elapsed(),
            guest_peak_memory,
        };
        Ok((findings, timings))
    }
}

/// Where the time of one parse went (see [`PluginEngine::parse_timed`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct ParseTimings {
    /// Fresh store and instance from the pre-instance.
    pub instantiate: Duration,
    /// The guest call: copying the report in, the plugin's parse, lifting the findings out.
    pub call: Duration,
    /// Turning the lifted findings into [`HostFinding`]s.
    pub convert: Duration,
    /// Most linear memory the guest held, in bytes.
    pub guest_peak_memory: usize,
}

/// Parses "MAJOR.MINOR[.PATCH...]" into (major, minor).
fn major_minor(version: &str) -> Option<(u64, u64)> {
    let mut parts = version.trim().split(['.', '-', '+']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Checks what `info` returned: a compatible contract and a usable description.
fn check_info(label: &str, info: &PluginInfo) -> Result<(), PluginError> {
    let plugin = if info.name.is_empty() {
        label
    } else {
        &info.name
    };
    if major_minor(&info.contract_version) != Some(CONTRACT_VERSION) {
        return Err(PluginError::IncompatibleVersion {
            plugin: plugin.to_owned(),
            message: format!(
                "it was built against contract version `{}`, but this server speaks {}.{} ({CONTRACT_PACKAGE}@{}.{}.x); rebuild it with a matching palisade-plugin-sdk",
                info.contract_version,
                CONTRACT_VERSION.0,
                CONTRACT_VERSION.1,
                CONTRACT_VERSION.0,
                CONTRACT_VERSION.1
            ),
        });
    }
    let invalid = |message: String| PluginError::InvalidComponent {
        plugin: plugin.to_owned(),
        message,
    };
    if info.name.trim().is_empty() {
        return Err(invalid("its info() has an empty name".to_owned()));
    }
    if info.scan_types.is_empty() {
        return Err(invalid("its info() declares no scan type".to_owned()));
    }
    let mut seen = std::collections::BTreeSet::new();
    for scan_type in &info.scan_types {
        if scan_type.name.trim().is_empty() {
            return Err(invalid(
                "its info() declares a scan type with an empty name".to_owned(),
            ));
        }
        if !seen.insert(scan_type.name.as_str()) {
            return Err(invalid(format!(
                "its info() declares scan type `{}` twice",
                scan_type.name
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_versions() {
        assert_eq!(major_minor("0.1.0"), Some((0, 1)));
        assert_eq!(major_minor("0.1.7-beta"), Some((0, 1)));
        assert_eq!(major_minor("9.0.0"), Some((9, 0)));
        assert_eq!(major_minor("x"), None);
    }
}
