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

use super::{
    CONTRACT_VERSION, HostFinding, ParseOptions, PluginConfig, PluginEngine, PluginError,
    PluginRegistry, PluginSummary, sha256_hex,
};

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
        /// Directory to create (default: plugins/NAME).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Path of the palisade-plugin-sdk crate (default: found from the target directory).
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
                let dir = dir
                    .clone()
                    .unwrap_or_else(|| Path::new("plugins").join(name));
                let created = scaffold(name, &dir, sdk.as_deref())?;
                let mut out = std::io::stdout().lock();
                writeln!(out, "created plugin `{name}` in {}", dir.display())?;
                for file in created {
                    writeln!(out, "  {}", file.display())?;
                }
                writeln!(out, "next: cd {} && cargo test", dir.display())?;
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
    info: Option<super::PluginInfo>,
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

/// Creates a plugin crate for `name` in `dir`; returns the files written.
///
/// Inside the Palisade workspace the crate inherits the workspace settings and
/// becomes a built-in plugin (`plugins/*` is a member glob); elsewhere it is a
/// standalone crate with its own `[workspace]`, a copy of the workspace
/// `Cargo.lock` when available (same dependency versions), and an absolute path to the SDK.
pub fn scaffold(name: &str, dir: &Path, sdk: Option<&Path>) -> anyhow::Result<Vec<PathBuf>> {
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
    let sdk = match (sdk, &workspace) {
        (Some(sdk), _) => sdk
            .canonicalize()
            .with_context(|| format!("resolving {}", sdk.display()))?,
        (None, Some(ws)) => ws.join("plugin-sdk"),
        (None, None) => {
            // The SDK beside the sources this binary was built from.
            let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugin-sdk");
            built_from
                .canonicalize()
                .context("palisade-plugin-sdk not found; pass --sdk PATH")?
        }
    };
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

    let manifest = match &workspace {
        Some(ws) => {
            let sdk_rel = relative_path(&dir_abs, &sdk).unwrap_or_else(|| sdk.clone());
            debug_assert!(ws.exists());
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
palisade-plugin-sdk = {{ path = "{sdk}" }}
serde.workspace = true
serde_json.workspace = true

[lints]
workspace = true
"#,
                sdk = sdk_rel.display()
            )
        }
        None => format!(
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
palisade-plugin-sdk = {{ path = "{sdk}" }}
serde = {{ version = "1", features = ["derive"] }}
serde_json = "1"

# Build the component with: cargo build --release --target wasm32-wasip2
[profile.release]
opt-level = 3
strip = true

# A workspace of its own, so it builds wherever it is.
[workspace]
"#,
            sdk = sdk.display()
        ),
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
        .replace("{{ident}}", &ident);

    let mut written = Vec::new();
    let mut write = |rel: &str, text: &str| -> anyhow::Result<()> {
        let path = dir.join(rel);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
        Ok(())
    };
    write("Cargo.toml", &manifest)?;
    write("src/lib.rs", &lib)?;
    write("README.md", &readme)?;
    if workspace.is_none() {
        let lock = sdk.join("../Cargo.lock");
        if let Ok(text) = std::fs::read_to_string(&lock) {
            write("Cargo.lock", &text)?;
        }
    }
    Ok(written)
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

const LIB_TEMPLATE: &str = r##"//! Palisade parser plugin `{{name}}`: reads "{{scan_type}}" reports.
//!
//! The report format this template reads (replace it with your scanner's):
//!
//! ```json
//! {"issues": [{"title": "SQL injection", "severity": "high", "file": "app.py", "line": 12, "cwe": 89}]}
//! ```

use palisade_plugin_sdk::prelude::*;
use serde::Deserialize;

/// The plugin; all calls are associated functions (a fresh instance serves each call).
pub struct {{struct}};

const SCAN_TYPE: &str = "{{scan_type}}";

#[derive(Deserialize)]
struct Report {
    issues: Vec<Issue>,
}

#[derive(Deserialize)]
struct Issue {
    title: String,
    severity: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    line: Option<u32>,
    #[serde(default)]
    cwe: Option<u32>,
}

/// The scanner's severity word as a [`Severity`] (the SDK's table: "high",
/// "moderate", "warning", "informational"...). An unknown word is an error that
/// names it: guessing Info would hide a finding the scanner meant seriously.
fn severity(word: &str) -> Result<Severity, ParseError> {
    severity_from_word(word)
        .ok_or_else(|| ParseError::new(format!("unknown severity {word:?} in a {{scan_type}} report")))
}

impl Parser for {{struct}} {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "{{name}}".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "Findings of the {{name}} scanner (JSON)".to_owned(),
                file_kinds: vec!["json".to_owned()],
                dedupe: DedupeSetting::hash_code(&["title", "cwe", "file_path", "line"]),
            }],
        }
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        // Strict on purpose: a wrong "yes" sends a report to the wrong parser.
        let text = std::str::from_utf8(head).ok()?;
        let looks_right = text.trim_start().starts_with('{') && text.contains("\"issues\"");
        (looks_right && candidates.iter().any(|c| c == SCAN_TYPE)).then(|| SCAN_TYPE.to_owned())
    }

    fn parse(_scan_type: &str, report: &[u8], _options: &Options) -> Result<Vec<Finding>, ParseError> {
        let report: Report = serde_json::from_slice(report).map_err(|e| {
            ParseError::new(format!("not a {{scan_type}} report: {e}"))
                .at(e.line() as u32, e.column() as u32)
        })?;
        report
            .issues
            .into_iter()
            .map(|issue| {
                Ok(Finding {
                    severity: severity(&issue.severity)?,
                    description: issue.description.clone().unwrap_or_else(|| issue.title.clone()),
                    title: issue.title,
                    cwe: issue.cwe,
                    file_path: issue.file,
                    line: issue.line,
                    static_finding: Some(true),
                    ..Finding::default()
                })
            })
            .collect()
    }
}

export_parser!({{struct}});

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"issues": [
        {"title": "SQL injection", "severity": "high", "file": "app.py", "line": 12, "cwe": 89},
        {"title": "Debug mode on", "severity": "low"}
    ]}"#;

    #[test]
    fn parses_the_sample() {
        let findings = {{struct}}::parse(SCAN_TYPE, SAMPLE.as_bytes(), &Options::default()).expect("sample parses");
        assert_eq!(findings.len(), 2);
        assert_eq!(findings[0].severity, Severity::High);
        assert_eq!(findings[0].cwe, Some(89));
        assert_eq!(findings[0].line, Some(12));
        assert_eq!(findings[1].severity, Severity::Low);
    }

    #[test]
    fn an_unknown_severity_is_an_error_naming_it() {
        let report = br#"{"issues": [{"title": "x", "severity": "spicy"}]}"#;
        let error = {{struct}}::parse(SCAN_TYPE, report, &Options::default()).expect_err("rejected");
        assert!(error.message.contains("\"spicy\""), "{}", error.message);
    }

    #[test]
    fn rejects_other_json_with_a_location() {
        let error = {{struct}}::parse(SCAN_TYPE, b"{\"issues\": 3}", &Options::default()).expect_err("rejected");
        assert!(error.message.contains("not a {{scan_type}} report"), "{}", error.message);
        assert!(error.location.is_some());
    }

    #[test]
    fn detects_only_its_format() {
        let candidates = vec![SCAN_TYPE.to_owned()];
        assert_eq!({{struct}}::detect(&candidates, SAMPLE.as_bytes()).as_deref(), Some(SCAN_TYPE));
        assert_eq!({{struct}}::detect(&candidates, b"<xml/>"), None);
    }
}
"##;

const README_TEMPLATE: &str = r#"# Palisade plugin `{{name}}`

Scan types: **{{scan_type}}** (JSON).

Samples: the test sample in `src/lib.rs` is made up; add real reports (and say
where they came from) before relying on this parser.

```sh
cargo test                                          # native tests
cargo build --release --target wasm32-wasip2        # the component
palisade plugin inspect target/wasm32-wasip2/release/{{ident}}.wasm
palisade parse --scan-type "{{scan_type}}" report.json
```

Inside the Palisade workspace (`plugins/{{name}}`), the server's build embeds
this crate (`{{crate}}`) as a built-in plugin automatically.
"#;
