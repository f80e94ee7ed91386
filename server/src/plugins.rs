//! The WebAssembly plugin host: scanner-report parsers run as sandboxed components.
//!
//! A parser plugin implements the WIT world `palisade:parser/parser@0.1.0`
//! (`plugin-sdk/wit`). The host compiles each component once (cached on disk by
//! content hash), keeps a pre-linked instance per plugin, and runs every call
//! in a fresh `Store` under memory, CPU-time and output limits, with no file
//! system, network, environment or clock. Failures come back as [`PluginError`]
//! and never take the server down.
//!
//! Entry points: [`PluginRegistry`] (sources, conflicts, detection, parse),
//! [`PluginConfig`] (flattened into the server's configuration); the CLI
//! commands are in [`crate::cli::plugin`].

mod bindings;
mod cache;
mod config;
mod engine;
mod error;
mod limits;
mod registry;
mod state;
mod stored;
mod types;

pub use config::{PluginConfig, PluginLimits, parse_bytes, parse_seconds};
pub use engine::{
    CONTRACT_VERSION, CacheOutcome, LoadedPlugin, MAX_COMPONENT_BYTES, ParseTimings, PluginEngine,
    sha256_hex,
};
pub use error::PluginError;
pub use registry::{
    ActiveScanType, DETECT_HEAD_BYTES, DirectoryChanges, GENERIC_FORMATS, ParseOptions,
    ParseOutput, PluginRegistry, PluginSource, PluginSummary, ScanTypeSummary,
};
pub use stored::load_uploaded;
pub use types::{
    DedupeAlgorithm, DedupeSetting, HostEndpoint, HostFinding, PluginInfo, ReportLocation,
    ScanTypeInfo, Severity,
};

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_plugins.rs"));
}

pub use builtin::BUILTIN_PLUGINS;
