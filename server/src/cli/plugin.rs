//! Command-line commands of the plugin host: `palisade parse` and `palisade plugin ...`.
//!
//! The server's CLI embeds [`ParseArgs`] and [`PluginArgs`] as subcommands and
//! calls their `run` with the plugin part of its configuration.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde::Serialize;
use wasmtime::component::types::ComponentItem;

use crate::plugins::{
    CONTRACT_VERSION, HostFinding, ParseOptions, PluginConfig, PluginEngine, PluginError,
    PluginRegistry, PluginSummary, sha256_hex,
};

mod templates;

use templates::{LIB_TEMPLATE, README_TEMPLATE};

/// Exit code of a report the plugin rejected or a plugin failure.
const EXIT_FAILED: u8 = 1;
/// Exit code of a scan type that cannot be resolved (unknown, undetected, ambiguous).
const EXIT_USAGE: u8 = 2;

/// `palisade parse`: parse one report file and print its findings as JSON.
#[derive(Debug, Clone, Args)]
pub struct ParseArgs {
    /// Scan type, e.g. "Generic Findings Import"; detected from the content when omitted.
    #[arg(long, short = 't', value_name = "SCAN_TYPE")]
    pub scan_type: Option<String>,

    /// The report file.
    pub file: PathBuf,

    /// Extra import option passed to the plugin (repeatable).
    #[arg(long = "option", short = 'o', value_name = "KEY=VALUE")]
    pub options: Vec<String>,

    /// Indent the JSON output.
    #[arg(long)]
    pub pretty: bool,
}

/// The JSON `palisade parse` prints.
#[derive(Serialize)]
struct ParsePrinted<'a> {
    scan_type: &'a str,
    findings: &'a [HostFinding],
}

impl ParseArgs {
    /// Parses the file and prints `{"scan_type": ..., "findings": [...]}` on stdout.
    ///
    /// Errors go to stderr with a non-zero exit: 2 when the scan type is unknown
    /// (the message lists the known ones), undetected or ambiguous; 1 when the
    /// report is rejected (with the plugin's reason and location) or a plugin fails.
    pub fn run(&self, config: &PluginConfig) -> anyhow::Result<ExitCode> {
        let registry = PluginRegistry::new(config.clone()).context("starting the plugin host")?;
        let limit = config.limits.max_report_bytes;
        let size = std::fs::metadata(&self.file)
            .with_context(|| format!("cannot read {}", self.file.display()))?
            .len();
        if size > limit {
            return Ok(fail(&PluginError::ReportTooLarge { size, limit }));
        }
        let report = std::fs::read(&self.file)
            .with_context(|| format!("cannot read {}", self.file.display()))?;

        let mut options = ParseOptions::default();
        if let Some(name) = self.file.file_name() {
            options = options.with(ParseOptions::FILE_NAME, name.to_string_lossy());
        }
        for option in &self.options {
            let (key, value) = option
                .split_once('=')
                .with_context(|| format!("option `{option}` is not KEY=VALUE"))?;
            options = options.with(key, value);
        }

        match registry.parse_blocking(self.scan_type.as_deref(), &report, &options) {
            Ok(output) => {
                let printed = ParsePrinted {
                    scan_type: &output.scan_type,
                    findings: &output.findings,
                };
                let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
                if self.pretty {
                    serde_json::to_writer_pretty(&mut stdout, &printed)?;
                } else {
                    serde_json::to_writer(&mut stdout, &printed)?;
                }
                writeln!(stdout)?;
                stdout.flush()?;
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Ok(fail(&e)),
        }
    }
}

/// Prints `e` on stderr and picks the exit code.
fn fail(e: &PluginError) -> ExitCode {
    eprintln!("error: {e}");
    match e {
        PluginError::UnknownScanType { .. }
        | PluginError::NotRecognised
        | PluginError::Ambiguous { .. } => ExitCode::from(EXIT_USAGE),
        _ => ExitCode::from(EXIT_FAILED),
    }
}

/// `palisade plugin`: manage and inspect parser plugins.
#[derive(Debug, Clone, Args)]
pub struct PluginArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: PluginCommand,
}

/// The `palisade plugin` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum PluginCommand {
    /// List the plugins (built-in and plugin directory) with their scan types.
    List {
        /// Print JSON instead of a table.
        #[arg(long, conflicts_with = "markdown")]
        json: bool,
        /// Print the active scan types as a Markdown table (the README's list).
        #[arg(long)]
        markdown: bool,
    },
    /// Show a component's info, imports, exports and sha256, and check that it loads.
    Inspect {
        /// The component file (`.wasm`).
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Create a new plugin crate that builds and passes its own test.
    New {
        /// Plugin name: lower-case letters, digits and '-'.
        name: String,
        /// Directory to create (default: plugins/NAME in the Palisade repository, else NAME).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Use this checkout of the palisade-plugin-sdk crate instead of the SDK
        /// this binary carries (outside the repository) or the repository's.
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
}

impl PluginArgs {
    /// Runs the subcommand; output on stdout, errors on stderr.
    pub fn run(&self, config: &PluginConfig) -> anyhow::Result<ExitCode> {
        match &self.command {
            PluginCommand::List { json, markdown } => list(config, *json, *markdown),
            PluginCommand::Inspect { file, json } => inspect(config, file, *json),
            PluginCommand::New { name, dir, sdk } => {
                // Default: plugins/NAME inside the Palisade repository, else ./NAME.
                let dir = dir.clone().unwrap_or_else(|| {
                    let in_repo = std::env::current_dir()
                        .ok()
                        .and_then(|cwd| find_palisade_workspace(&cwd.join("plugins").join(name)))
                        .is_some();
                    if in_repo {
                        Path::new("plugins").join(name)
                    } else {
                        PathBuf::from(name)
                    }
                });
                let made = scaffold(name, &dir, sdk.as_deref())?;
                let mut out = std::io::stdout().lock();
                writeln!(out, "created plugin `{name}` in {}", dir.display())?;
                for file in made
                    .files
                    .iter()
                    .filter(|f| !f.starts_with(dir.join("vendor")))
                {
                    writeln!(out, "  {}", file.display())?;
                }
                if made.files.iter().any(|f| f.starts_with(dir.join("vendor"))) {
                    writeln!(
                        out,
                        "  {} (palisade-plugin-sdk {})",
                        dir.join(VENDORED_SDK_DIR).display(),
                        sdk::SDK_VERSION
                    )?;
                }
                if let Some(advice) = made.toolchain.as_deref().and_then(target_advice) {
                    writeln!(out, "note: {advice}")?;
                }
                if made.toolchain.is_some() {
                    writeln!(
                        out,
                        "next: cd {} && cargo test && cargo build --release --target {PLUGIN_TARGET}",
                        dir.display()
                    )?;
                } else {
                    writeln!(
                        out,
                        "next: cargo test -p palisade-plugin-{name} (the server's build embeds it as a built-in plugin)"
                    )?;
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}

fn list(config: &PluginConfig, json: bool, markdown: bool) -> anyhow::Result<ExitCode> {
    let registry = PluginRegistry::new(config.clone()).context("starting the plugin host")?;
    let mut out = std::io::stdout().lock();
    if markdown {
        out.write_all(scan_types_markdown(&registry).as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    let summaries = registry.summaries();
    if json {
        serde_json::to_writer_pretty(&mut out, &summaries)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if summaries.is_empty() {
        writeln!(
            out,
            "no plugins (built-ins not embedded and no plugin directory)"
        )?;
    }
    for s in &summaries {
        write_summary(&mut out, s)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The scan types `registry` can import, as a Markdown table sorted by name (ignoring case):
/// scan type, plugin, accepted file kinds and description (the README's
/// "Supported scan types" section; `palisade plugin list --markdown`).
///
/// Plugin versions are left out so the text only changes when scan types do.
pub fn scan_types_markdown(registry: &PluginRegistry) -> String {
    let cell = |text: &str| {
        text.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .replace('|', "\\|")
    };
    let mut scan_types = registry.scan_types();
    scan_types.sort_by_cached_key(|st| (st.name.to_lowercase(), st.name.clone()));
    let mut out = format!(
        "{} scan types, each parsed by a WebAssembly plugin built into the server \
         (`palisade plugin list --markdown` prints this table).\n\n\
         | Scan type | Plugin | Files | Description |\n\
         |---|---|---|---|\n",
        scan_types.len()
    );
    for st in &scan_types {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            cell(&st.name),
            cell(&st.plugin),
            cell(&st.file_kinds.join(", ")),
            cell(&st.description),
        ));
    }
    out
}

fn write_summary(out: &mut impl Write, s: &PluginSummary) -> std::io::Result<()> {
    writeln!(
        out,
        "{} {} ({}, {}{})",
        s.name,
        s.version.as_deref().unwrap_or("?"),
        s.id,
        if s.enabled { "enabled" } else { "disabled" },
        if s.sha256.len() >= 12 {
            format!(", sha256 {}", &s.sha256[..12])
        } else {
            String::new()
        },
    )?;
    if let Some(error) = &s.load_error {
        writeln!(out, "  load error: {error}")?;
    }
    for st in &s.scan_types {
        let status = if st.active {
            "active".to_owned()
        } else {
            "shadowed".to_owned()
        };
        writeln!(out, "  - {} [{}] {}", st.name, status, st.description)?;
        if !st.conflicts_with.is_empty() {
            writeln!(
                out,
                "      also claimed by: {}",
                st.conflicts_with.join(", ")
            )?;
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct Inspection {
    file: PathBuf,
    size: usize,
    sha256: String,
    imports: Vec<(String, &'static str)>,
    exports: Vec<(String, &'static str)>,
    info: Option<crate::plugins::PluginInfo>,
    load_error: Option<String>,
}

fn item_kind(item: &ComponentItem) -> &'static str {
    match item {
        ComponentItem::ComponentFunc(_) => "func",
        ComponentItem::CoreFunc(_) => "core func",
        ComponentItem::Module(_) => "module",
        ComponentItem::Component(_) => "component",
        ComponentItem::ComponentInstance(_) => "instance",
        ComponentItem::Type(_) => "type",
        ComponentItem::Resource(_) => "resource",
    }
}

fn inspect(config: &PluginConfig, file: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let engine = PluginEngine::new(config).context("starting the plugin host")?;
    let label = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string());
    let mut inspection = Inspection {
        file: file.to_path_buf(),
        size: bytes.len(),
        sha256: sha256_hex(&bytes),
        imports: Vec::new(),
        exports: Vec::new(),
        info: None,
        load_error: None,
    };
    match engine.compile(&label, &bytes) {
        Ok((component, _)) => {
            let ty = component.component_type();
            let wasmtime = engine.wasmtime();
            inspection.imports = ty
                .imports(wasmtime)
                .map(|(n, e)| (n.to_owned(), item_kind(&e.ty)))
                .collect();
            inspection.exports = ty
                .exports(wasmtime)
                .map(|(n, e)| (n.to_owned(), item_kind(&e.ty)))
                .collect();
            match engine.load(&label, &bytes) {
                Ok(plugin) => inspection.info = Some(plugin.info().clone()),
                Err(e) => inspection.load_error = Some(e.to_string()),
            }
        }
        Err(e) => inspection.load_error = Some(e.to_string()),
    }

    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &inspection)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "file:     {} ({} bytes)",
            inspection.file.display(),
            inspection.size
        )?;
        writeln!(out, "sha256:   {}", inspection.sha256)?;
        for (name, kind) in &inspection.imports {
            writeln!(out, "import:   {name} ({kind})")?;
        }
        for (name, kind) in &inspection.exports {
            writeln!(out, "export:   {name} ({kind})")?;
        }
        if let Some(info) = &inspection.info {
            writeln!(
                out,
                "plugin:   {} {} (contract {})",
                info.name, info.version, info.contract_version
            )?;
            for st in &info.scan_types {
                writeln!(
                    out,
                    "scan type: {} [{}] dedupe {:?} on {}",
                    st.name,
                    st.file_kinds.join(", "),
                    st.dedupe.algorithm,
                    st.dedupe.hash_fields.join(", ")
                )?;
            }
            writeln!(
                out,
                "load:     ok (host speaks contract {}.{})",
                CONTRACT_VERSION.0, CONTRACT_VERSION.1
            )?;
        }
    }
    match &inspection.load_error {
        Some(error) => {
            eprintln!("error: {error}");
            Ok(ExitCode::from(EXIT_FAILED))
        }
        None => Ok(ExitCode::SUCCESS),
    }
}

/// The palisade-plugin-sdk sources, embedded at build time (`build.rs`).
pub mod sdk {
    include!(concat!(env!("OUT_DIR"), "/plugin_sdk.rs"));
}

/// The one Rust target a plugin is built for: it makes a component directly,
/// which the host loads (the SDK's README and the scaffold's name the same).
pub const PLUGIN_TARGET: &str = "wasm32-wasip2";

/// Where `plugin new` writes the SDK inside a plugin made outside the repository.
pub const VENDORED_SDK_DIR: &str = "vendor/palisade-plugin-sdk";

/// What [`scaffold`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scaffolded {
    /// Files written, the plugin's own first, then the SDK's (if written).
    pub files: Vec<PathBuf>,
    /// The rustup toolchain the plugin's `rust-toolchain.toml` names (`None` inside the workspace).
    pub toolchain: Option<String>,
}

/// Creates a plugin crate for `name` in `dir`.
///
/// Inside the Palisade workspace the crate inherits the workspace settings and
/// becomes a built-in plugin (`plugins/*` is a member glob), depending on the
/// workspace's SDK. Elsewhere it is a standalone crate with its own
/// `[workspace]`: the SDK this binary embeds is written into
/// `vendor/palisade-plugin-sdk` (unless `sdk` names a checkout of it) and the
/// plugin depends on it by version and path, so it builds offline now and from
/// crates.io once the path is dropped; the workspace's `Cargo.lock` pins the
/// dependency versions the SDK is tested with; `rust-toolchain.toml` names the
/// toolchain this binary was built with and [`PLUGIN_TARGET`].
pub fn scaffold(name: &str, dir: &Path, sdk: Option<&Path>) -> anyhow::Result<Scaffolded> {
    anyhow::ensure!(
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && name.starts_with(|c: char| c.is_ascii_lowercase()),
        "plugin name `{name}` must start with a lower-case letter and use only a-z, 0-9 and '-'"
    );
    anyhow::ensure!(
        !dir.exists() || dir.read_dir().is_ok_and(|mut d| d.next().is_none()),
        "{} already exists and is not empty",
        dir.display()
    );
    std::fs::create_dir_all(dir.join("src"))
        .with_context(|| format!("creating {}", dir.display()))?;
    let dir_abs = dir
        .canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))?;
    let workspace = find_palisade_workspace(&dir_abs);
    let sdk_given = sdk
        .map(|s| {
            s.canonicalize()
                .with_context(|| format!("resolving {}", s.display()))
        })
        .transpose()?;
    let version = sdk::SDK_VERSION;
    let krate = format!("palisade-plugin-{name}");
    let ident = name.replace('-', "_");
    let words: Vec<String> = name
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    let struct_name = words.concat();
    let scan_type = format!("{} Scan", words.join(" "));
    let toolchain = if sdk::BUILD_RUSTC.is_empty() {
        "stable".to_owned()
    } else {
        sdk::BUILD_RUSTC.to_owned()
    };

    let manifest = match &workspace {
        Some(ws) => {
            let sdk_abs = sdk_given.clone().unwrap_or_else(|| ws.join("plugin-sdk"));
            let sdk_rel = relative_path(&dir_abs, &sdk_abs).unwrap_or(sdk_abs);
            format!(
                r#"[package]
name = "{krate}"
description = "Palisade parser plugin: {scan_type}"
version = "0.1.0"
edition.workspace = true
rust-version.workspace = true
license.workspace = true
publish = false

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
palisade-plugin-sdk = {{ version = "{version}", path = "{sdk}" }}
serde.workspace = true
serde_json.workspace = true

[lints]
workspace = true
"#,
                sdk = sdk_rel.display()
            )
        }
        None => {
            let sdk_path = sdk_given
                .as_ref()
                .map_or_else(|| VENDORED_SDK_DIR.to_owned(), |p| p.display().to_string());
            format!(
                r#"[package]
name = "{krate}"
description = "Palisade parser plugin: {scan_type}"
version = "0.1.0"
edition = "2024"
rust-version = "1.95"
publish = false

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
# The SDK {version} that `palisade plugin new` wrote beside this crate; the major.minor
# version is the plugin contract's. Once palisade-plugin-sdk is on crates.io, the
# `path` can go (and vendor/ with it).
palisade-plugin-sdk = {{ version = "{version}", path = "{sdk_path}" }}
serde = {{ version = "1", features = ["derive"] }}

# The component: cargo build --release --target {PLUGIN_TARGET}
[profile.release]
opt-level = 3
strip = true

# A workspace of its own, so it builds wherever it is.
[workspace]
"#
            )
        }
    };

    let lib = LIB_TEMPLATE
        .replace("{{struct}}", &struct_name)
        .replace("{{name}}", name)
        .replace("{{scan_type}}", &scan_type)
        .replace("{{ident}}", &ident);
    let readme = README_TEMPLATE
        .replace("{{name}}", name)
        .replace("{{scan_type}}", &scan_type)
        .replace("{{crate}}", &krate)
        .replace("{{ident}}", &ident)
        .replace("{{target}}", PLUGIN_TARGET)
        .replace("{{toolchain}}", &toolchain)
        .replace("{{version}}", version);
    let readme = match &workspace {
        // Inside the repository the server's build makes and embeds the component.
        Some(_) => format!(
            "{}## Build\n\nThis crate is inside the Palisade workspace: `cargo test -p {krate}` runs its \
             tests, and the server's build embeds it as a built-in plugin.\n",
            &readme[..readme.find("## Build").unwrap_or(readme.len())]
        ),
        None => readme,
    };

    let mut written = Vec::new();
    let mut write = |rel: &Path, text: &str| -> anyhow::Result<()> {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
        Ok(())
    };
    write(Path::new("Cargo.toml"), &manifest)?;
    write(Path::new("src/lib.rs"), &lib)?;
    write(Path::new("README.md"), &readme)?;
    if workspace.is_some() {
        return Ok(Scaffolded {
            files: written,
            toolchain: None,
        });
    }
    write(
        Path::new("rust-toolchain.toml"),
        &format!(
            "# The toolchain this plugin is known to build with (the one `palisade` was\n\
             # built with) and the one target it needs: {PLUGIN_TARGET} makes the\n\
             # WebAssembly component the server loads.\n\
             [toolchain]\n\
             channel = \"{toolchain}\"\n\
             targets = [\"{PLUGIN_TARGET}\"]\n"
        ),
    )?;
    write(Path::new(".gitignore"), "/target\n")?;
    write(Path::new("Cargo.lock"), sdk::WORKSPACE_LOCK)?;
    if sdk_given.is_none() {
        let vendored = Path::new(VENDORED_SDK_DIR);
        for (rel, text) in sdk::SDK_FILES {
            write(&vendored.join(rel), text)?;
        }
    }
    Ok(Scaffolded {
        files: written,
        toolchain: Some(toolchain),
    })
}

/// Whether `target` is installed for `toolchain`, asked of rustup: `Ok(true)`
/// or `Ok(false)`, `Err` with the reason when rustup cannot tell (missing,
/// or the toolchain itself is not installed).
pub fn rustup_target_installed(toolchain: &str, target: &str) -> Result<bool, String> {
    let out = std::process::Command::new("rustup")
        .args(["target", "list", "--installed", "--toolchain", toolchain])
        .output()
        .map_err(|e| format!("rustup not found ({e})"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == target))
}

/// What a new plugin's author must run before `cargo build --target`, if anything.
fn target_advice(toolchain: &str) -> Option<String> {
    match rustup_target_installed(toolchain, PLUGIN_TARGET) {
        Ok(true) => None,
        Ok(false) => Some(format!(
            "the Rust target {PLUGIN_TARGET} is not installed for toolchain {toolchain}; run:\n  \
             rustup target add {PLUGIN_TARGET} --toolchain {toolchain}"
        )),
        Err(reason) if reason.starts_with("rustup not found") => Some(format!(
            "{reason}: install the Rust target {PLUGIN_TARGET} for your toolchain before building"
        )),
        Err(_) => Some(format!(
            "the Rust toolchain {toolchain} is not installed; run:\n  \
             rustup toolchain install {toolchain} --target {PLUGIN_TARGET}"
        )),
    }
}

/// The Palisade workspace root above `dir` (a directory with `plugin-sdk/` and a `[workspace]` manifest).
fn find_palisade_workspace(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().skip(1).find_map(|candidate| {
        let manifest = std::fs::read_to_string(candidate.join("Cargo.toml")).ok()?;
        (manifest.contains("[workspace]") && candidate.join("plugin-sdk").is_dir())
            .then(|| candidate.to_path_buf())
    })
}

/// `to` relative to `from` when both are absolute and share a prefix.
fn relative_path(from: &Path, to: &Path) -> Option<PathBuf> {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return None;
    }
    let mut rel = PathBuf::new();
    for _ in common..from.len() {
        rel.push("..");
    }
    for part in &to[common..] {
        rel.push(part);
    }
    Some(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn outside_the_repository_the_sdk_is_written_beside_the_plugin() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("acme");
        let made = scaffold("acme", &target, None).expect("scaffolded");
        assert!(made.toolchain.as_deref().is_some_and(|t| !t.is_empty()));

        let manifest = read(&target.join("Cargo.toml"));
        assert!(
            manifest.contains(&format!(
                r#"palisade-plugin-sdk = {{ version = "{}", path = "vendor/palisade-plugin-sdk" }}"#,
                sdk::SDK_VERSION
            )),
            "{manifest}"
        );
        assert!(manifest.contains("[workspace]"));
        // Every packaged SDK file is there, its manifest self-contained.
        for (rel, text) in sdk::SDK_FILES {
            assert_eq!(
                &read(&target.join(VENDORED_SDK_DIR).join(rel)),
                text,
                "{rel}"
            );
        }
        let sdk_manifest = read(&target.join(VENDORED_SDK_DIR).join("Cargo.toml"));
        assert!(!sdk_manifest.contains("workspace = true"), "{sdk_manifest}");
        assert!(sdk_manifest.contains(&format!("version = \"{}\"", sdk::SDK_VERSION)));
        assert!(
            target
                .join(VENDORED_SDK_DIR)
                .join("wit/parser.wit")
                .is_file()
        );
        assert!(target.join(VENDORED_SDK_DIR).join("src/lib.rs").is_file());
        assert!(target.join("Cargo.lock").is_file());

        // One target, named alike by the toolchain file, the README and the SDK's README.
        let toolchain = read(&target.join("rust-toolchain.toml"));
        assert!(
            toolchain.contains(&format!("targets = [\"{PLUGIN_TARGET}\"]")),
            "{toolchain}"
        );
        let readme = read(&target.join("README.md"));
        assert!(readme.contains(&format!("cargo build --release --target {PLUGIN_TARGET}")));
        let sdk_readme = read(&target.join(VENDORED_SDK_DIR).join("README.md"));
        assert!(sdk_readme.contains(&format!("cargo build --release --target {PLUGIN_TARGET}")));
        assert!(!sdk_readme.contains("--target wasm32-unknown-unknown\n"));

        // The template uses the SDK's helpers and reads the head as bytes.
        let lib = read(&target.join("src/lib.rs"));
        for helper in [
            "sniff::",
            "parse_json(",
            "severity_from_word",
            "PluginInfo::single(",
        ] {
            assert!(lib.contains(helper), "template lacks {helper}");
        }
        let detect = lib
            .split("fn detect(")
            .nth(1)
            .and_then(|rest| rest.split("fn parse(").next())
            .expect("a detect function");
        assert!(
            !detect.contains("from_utf8"),
            "detect must not decode the head"
        );
        assert!(!lib.contains("{{"), "placeholder left in the template");

        // A second run refuses to overwrite.
        assert!(scaffold("acme", &target, None).is_err());
        assert!(scaffold("Acme", &dir.path().join("x"), None).is_err());
    }

    #[test]
    fn inside_the_repository_it_uses_the_workspace_sdk() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[workspace]\nmembers = [\"plugins/*\"]\n",
        )
        .expect("write");
        std::fs::create_dir_all(dir.path().join("plugin-sdk")).expect("mkdir");
        let target = dir.path().join("plugins").join("acme-two");
        let made = scaffold("acme-two", &target, None).expect("scaffolded");
        assert_eq!(made.toolchain, None);
        let manifest = read(&target.join("Cargo.toml"));
        assert!(
            manifest.contains(&format!(
                r#"palisade-plugin-sdk = {{ version = "{}", path = "../../plugin-sdk" }}"#,
                sdk::SDK_VERSION
            )),
            "{manifest}"
        );
        assert!(!target.join("vendor").exists());
        assert!(!target.join("rust-toolchain.toml").exists());
        let lib = read(&target.join("src/lib.rs"));
        assert!(lib.contains("pub struct AcmeTwo;") && lib.contains("\"Acme Two Scan\""));
    }
}

#[cfg(test)]
mod target_check {
    use super::*;

    #[test]
    fn a_missing_toolchain_or_target_gets_the_exact_command() {
        let advice = target_advice("0.0.1-no-such-toolchain").expect("advice");
        if advice.starts_with("rustup not found") {
            assert!(advice.contains(PLUGIN_TARGET), "{advice}");
        } else {
            assert!(
                advice.contains(&format!(
                    "rustup toolchain install 0.0.1-no-such-toolchain --target {PLUGIN_TARGET}"
                )),
                "{advice}"
            );
        }
    }
}
