//! Builds Palisade parser plugin crates into WebAssembly components.
//!
//! `server/build.rs` (built-in plugins) and the server's tests (hostile guests)
//! call [`build_components`]: it runs one nested `cargo build` for every crate
//! found under a directory of the workspace, in a target directory of its own
//! (`<workspace>/target/wasm`) so the outer build's lock is never contended, then
//! turns each core module into a component with `wit-component`.
//!
//! Crates built for `wasm32-unknown-unknown` (the default) have no WASI imports;
//! crates that must be built for `wasm32-wasip2` (to test the host's WASI sandbox)
//! are already components and are copied as they are.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Target triple of plugins built without WASI.
pub const TARGET_UNKNOWN: &str = "wasm32-unknown-unknown";
/// Target triple of plugins built against WASI 0.2 (already components).
pub const TARGET_WASIP2: &str = "wasm32-wasip2";

/// Everything that can stop a plugin build.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A file or directory could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A crate's `Cargo.toml` has no `[package] name`.
    #[error("{} has no [package] name", .0.display())]
    NoPackageName(PathBuf),
    /// The nested `cargo build` failed; its diagnostics went to stderr.
    #[error("nested cargo build failed: {0}")]
    Cargo(String),
    /// Cargo built no `.wasm` for a crate (is it a `cdylib`?).
    #[error(
        "cargo built no .wasm for crate `{0}`; is it a cdylib (crate-type = [\"cdylib\", \"rlib\"])?"
    )]
    NoArtifact(String),
    /// A core module could not be turned into a component.
    #[error("could not make a component of `{krate}`: {message}")]
    Componentize {
        /// Crate whose module failed.
        krate: String,
        /// The encoder's explanation.
        message: String,
    },
}

/// Options of a plugin build; [`BuildOptions::default`] is what `server/build.rs` uses.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Cargo profile, `wasm` by default (declared in the workspace `Cargo.toml`).
    pub profile: String,
    /// Target triple; [`TARGET_UNKNOWN`] unless a crate needs WASI.
    pub target: String,
    /// Crate directory names (under the scanned directory) built for
    /// [`TARGET_WASIP2`] instead of `target`.
    pub wasip2_crates: Vec<String>,
    /// The cargo to run; `$CARGO` (set by cargo for build scripts), else `cargo`.
    pub cargo: Option<PathBuf>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            profile: "wasm".to_owned(),
            target: TARGET_UNKNOWN.to_owned(),
            wasip2_crates: Vec::new(),
            cargo: None,
        }
    }
}

/// One crate found under the scanned directory.
#[derive(Debug, Clone)]
pub struct PluginCrate {
    /// Directory name, which also names the output `<dir>.wasm`.
    pub dir_name: String,
    /// Cargo package name, passed to `-p`.
    pub package: String,
    /// Path of the crate's `Cargo.toml`.
    pub manifest: PathBuf,
}

/// Lists the crates (directories holding a `Cargo.toml`) directly under `workspace_root/crate_dirs`.
///
/// `crate_dirs` is a directory relative to the workspace root, such as
/// `"plugins"`; a trailing `/*` is accepted and ignored. A missing directory
/// gives an empty list, so a workspace without plugins still builds.
pub fn find_crates(
    workspace_root: &Path,
    crate_dirs: &str,
) -> Result<Vec<PluginCrate>, BuildError> {
    let dir = workspace_root.join(crate_dirs.trim_end_matches("/*").trim_end_matches('/'));
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(BuildError::Io {
                what: format!("reading {}", dir.display()),
                source,
            });
        }
    };
    let mut crates = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| BuildError::Io {
            what: format!("reading {}", dir.display()),
            source,
        })?;
        let manifest = entry.path().join("Cargo.toml");
        if !manifest.is_file() {
            // A directory being created (no manifest yet) is not a crate yet.
            continue;
        }
        let text = std::fs::read_to_string(&manifest).map_err(|source| BuildError::Io {
            what: format!("reading {}", manifest.display()),
            source,
        })?;
        let package =
            package_name(&text).ok_or_else(|| BuildError::NoPackageName(manifest.clone()))?;
        crates.push(PluginCrate {
            dir_name: entry.file_name().to_string_lossy().into_owned(),
            package,
            manifest,
        });
    }
    crates.sort_by(|a, b| a.dir_name.cmp(&b.dir_name));
    Ok(crates)
}

/// Reads `name = "..."` from the `[package]` table of a manifest.
///
/// A line-based reader is enough for the manifests of this workspace and
/// keeps a TOML parser out of every build script that uses this crate.
fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if !in_package {
            continue;
        }
        let Some(rest) = line.strip_prefix("name") else {
            continue;
        };
        let Some(value) = rest.trim_start().strip_prefix('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"').trim_matches('\'');
        if !value.is_empty() {
            return Some(value.to_owned());
        }
    }
    None
}

/// What [`build_components_with`] produced: the components built and the crates that failed.
#[derive(Debug, Default)]
pub struct BuildReport {
    /// `(crate directory name, component path)`, sorted by name.
    pub built: Vec<(String, PathBuf)>,
    /// `(crate directory name, error)` of crates that did not build.
    pub failed: Vec<(String, BuildError)>,
}

/// Builds every crate under `workspace_root/crate_dirs` and writes `<out_dir>/<crate>.wasm` components.
///
/// Returns `(crate directory name, component path)` pairs sorted by name, or
/// the first failure. The nested build uses the `wasm` profile, target
/// `wasm32-unknown-unknown` and the target directory `<workspace_root>/target/wasm`.
pub fn build_components(
    workspace_root: &Path,
    crate_dirs: &str,
    out_dir: &Path,
) -> Result<Vec<(String, PathBuf)>, BuildError> {
    let report = build_components_with(
        workspace_root,
        crate_dirs,
        out_dir,
        &BuildOptions::default(),
    )?;
    match report.failed.into_iter().next() {
        Some((_, error)) => Err(error),
        None => Ok(report.built),
    }
}

/// Builds like [`build_components`] with explicit [`BuildOptions`], reporting failures per crate.
///
/// Cargo runs with `--keep-going`, so one broken crate does not stop the
/// others; an `Err` means nothing could be attempted at all.
pub fn build_components_with(
    workspace_root: &Path,
    crate_dirs: &str,
    out_dir: &Path,
    options: &BuildOptions,
) -> Result<BuildReport, BuildError> {
    // Cargo reports canonical manifest paths; compare like with like.
    let workspace_root = &workspace_root
        .canonicalize()
        .map_err(|source| BuildError::Io {
            what: format!("resolving {}", workspace_root.display()),
            source,
        })?;
    let crates = find_crates(workspace_root, crate_dirs)?;
    let mut report = BuildReport::default();
    if crates.is_empty() {
        return Ok(report);
    }
    std::fs::create_dir_all(out_dir).map_err(|source| BuildError::Io {
        what: format!("creating {}", out_dir.display()),
        source,
    })?;
    let target_dir = workspace_root.join("target").join("wasm");

    // One cargo invocation per target: cargo schedules all crates of a target together.
    let mut by_target: BTreeMap<&str, Vec<&PluginCrate>> = BTreeMap::new();
    for krate in &crates {
        let target = if options.wasip2_crates.contains(&krate.dir_name) {
            TARGET_WASIP2
        } else {
            options.target.as_str()
        };
        by_target.entry(target).or_default().push(krate);
    }

    for (target, crates) in by_target {
        let (artifacts, failure) =
            cargo_build(options, workspace_root, &target_dir, target, &crates)?;
        for krate in crates {
            let Some(wasm) = artifacts.get(&krate.manifest) else {
                let error = match &failure {
                    Some(message) => BuildError::Cargo(format!(
                        "crate `{}` did not build ({message}); see cargo's errors above",
                        krate.package
                    )),
                    None => BuildError::NoArtifact(krate.package.clone()),
                };
                report.failed.push((krate.dir_name.clone(), error));
                continue;
            };
            match component_of(krate, target, wasm, out_dir) {
                Ok(out) => report.built.push((krate.dir_name.clone(), out)),
                Err(error) => report.failed.push((krate.dir_name.clone(), error)),
            }
        }
    }
    report.built.sort();
    Ok(report)
}

/// Reads a built module, componentizes it when needed and writes `<out_dir>/<dir>.wasm`.
fn component_of(
    krate: &PluginCrate,
    target: &str,
    wasm: &Path,
    out_dir: &Path,
) -> Result<PathBuf, BuildError> {
    let bytes = std::fs::read(wasm).map_err(|source| BuildError::Io {
        what: format!("reading {}", wasm.display()),
        source,
    })?;
    let component = if target == TARGET_WASIP2 {
        // rustc's wasm-component-ld already produced a component.
        bytes
    } else {
        componentize(&krate.package, &bytes)?
    };
    let out = out_dir.join(format!("{}.wasm", krate.dir_name));
    write_if_changed(&out, &component)?;
    Ok(out)
}

/// Turns a core module built with `wit-bindgen` into a component.
pub fn componentize(krate: &str, core: &[u8]) -> Result<Vec<u8>, BuildError> {
    let mut encoder = wit_component::ComponentEncoder::default();
    encoder
        .module(core)
        .map_err(|e| BuildError::Componentize {
            krate: krate.to_owned(),
            message: format!("{e:#}"),
        })?
        .validate(true)
        .encode()
        .map_err(|e| BuildError::Componentize {
            krate: krate.to_owned(),
            message: format!("{e:#}"),
        })
}

/// Writes `bytes` unless the file already holds them, so `include_bytes!` users
/// are not rebuilt when nothing changed.
fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<(), BuildError> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    std::fs::write(path, bytes).map_err(|source| BuildError::Io {
        what: format!("writing {}", path.display()),
        source,
    })
}

/// Environment variables of the outer build that must not reach the nested one.
///
/// The outer cargo (or clippy) sets these for the build script; inherited, they
/// would redirect the nested build's output (`CARGO_TARGET_DIR`,
/// `CARGO_BUILD_TARGET`), change its flags (`CARGO_ENCODED_RUSTFLAGS`) or
/// replace rustc by a driver that emits no code (`RUSTC_WORKSPACE_WRAPPER` is
/// clippy-driver under `cargo clippy`).
fn is_leaking_var(name: &str) -> bool {
    const KEEP: &[&str] = &[
        "CARGO_HOME",
        "CARGO_MAKEFLAGS", // shares the outer jobserver: no more than -j jobs in total
        "CARGO_NET_",
        "CARGO_HTTP_",
        "CARGO_REGISTRIES_",
        "CARGO_REGISTRY_",
        "CARGO_TERM_",
    ];
    const DROP: &[&str] = &[
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "RUSTC_LINKER",
        "TARGET",
        "HOST",
        "OUT_DIR",
        "OPT_LEVEL",
        "PROFILE",
        "DEBUG",
        "NUM_JOBS",
        "CLIPPY_ARGS",
        "CLIPPY_CONF_DIR",
    ];
    if name.starts_with("CARGO") || name.starts_with("__CARGO") {
        return !KEEP.iter().any(|keep| name.starts_with(keep));
    }
    DROP.contains(&name)
}

/// Runs the nested `cargo build` and maps each crate manifest to its `.wasm` artifact.
/// Installs a missing wasm target with rustup, so that the README's first
/// command works on a fresh machine whose toolchain lacks it. Best effort:
/// when it cannot, the nested cargo build reports the missing target itself.
#[expect(
    clippy::print_stdout,
    reason = "cargo reads build-script warnings from standard output"
)]
fn ensure_target_installed(workspace_root: &Path, target: &str) {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| OsString::from("rustc"));
    let libdir = Command::new(&rustc)
        .current_dir(workspace_root)
        .args(["--print", "target-libdir", "--target", target])
        .output();
    let present = match libdir {
        Ok(out) if out.status.success() => {
            let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            Path::new(&dir).join("libcore.rlib").exists()
                || std::fs::read_dir(&dir).is_ok_and(|mut d| {
                    d.any(|e| {
                        e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("libcore-"))
                    })
                })
        }
        _ => false,
    };
    if present {
        return;
    }
    println!(
        "cargo:warning=installing the Rust target {target} with rustup (needed for the parser plugins)"
    );
    let status = Command::new("rustup")
        .current_dir(workspace_root)
        .args(["target", "add", target])
        .status();
    if !status.is_ok_and(|s| s.success()) {
        println!("cargo:warning=could not install {target}; run `rustup target add {target}`");
    }
}

fn cargo_build(
    options: &BuildOptions,
    workspace_root: &Path,
    target_dir: &Path,
    target: &str,
    crates: &[&PluginCrate],
) -> Result<(BTreeMap<PathBuf, PathBuf>, Option<String>), BuildError> {
    ensure_target_installed(workspace_root, target);
    let profile = options.profile.as_str();
    let cargo = options
        .cargo
        .clone()
        .map(OsString::from)
        .or_else(|| std::env::var_os("CARGO"))
        .unwrap_or_else(|| OsString::from("cargo"));
    let mut cmd = Command::new(cargo);
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(is_leaking_var) {
            cmd.env_remove(&name);
        }
    }
    cmd.current_dir(workspace_root)
        .arg("build")
        .arg("--profile")
        .arg(profile)
        .arg("--target")
        .arg(target)
        .arg("--target-dir")
        .arg(target_dir)
        .arg("--message-format=json-render-diagnostics")
        // Build what can be built: one broken plugin must not hide the others.
        .arg("--keep-going");
    for krate in crates {
        cmd.arg("-p").arg(&krate.package);
    }
    // JSON messages come on stdout; cargo's progress and rendered diagnostics
    // go to stderr, which a build script's caller shows on failure.
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child = cmd.spawn().map_err(|source| BuildError::Io {
        what: "starting cargo".to_owned(),
        source,
    })?;
    let mut artifacts = BTreeMap::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|source| BuildError::Io {
                what: "reading cargo's output".to_owned(),
                source,
            })?;
            if let Some((manifest, wasm)) = wasm_artifact(&line) {
                artifacts.insert(manifest, wasm);
            }
        }
    }
    let status = child.wait().map_err(|source| BuildError::Io {
        what: "waiting for cargo".to_owned(),
        source,
    })?;
    let failure = (!status.success())
        .then(|| format!("`cargo build --target {target}` exited with {status}"));
    Ok((artifacts, failure))
}

/// Extracts `(manifest path, .wasm file)` from one `compiler-artifact` JSON message.
fn wasm_artifact(line: &str) -> Option<(PathBuf, PathBuf)> {
    let message: serde_json::Value = serde_json::from_str(line).ok()?;
    if message.get("reason")?.as_str()? != "compiler-artifact" {
        return None;
    }
    let manifest = PathBuf::from(message.get("manifest_path")?.as_str()?);
    let wasm = message
        .get("filenames")?
        .as_array()?
        .iter()
        .filter_map(|f| f.as_str())
        .find(|f| f.ends_with(".wasm"))?;
    Some((manifest, PathBuf::from(wasm)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_package_name() {
        let manifest = "[package]\nname = \"palisade-plugin-generic\"\nversion.workspace = true\n\n[lib]\nname = \"x\"\n";
        assert_eq!(
            package_name(manifest).as_deref(),
            Some("palisade-plugin-generic")
        );
        assert_eq!(package_name("[lib]\nname = \"x\"\n"), None);
    }

    #[test]
    fn filters_outer_build_variables() {
        assert!(is_leaking_var("CARGO_TARGET_DIR"));
        assert!(is_leaking_var("CARGO_ENCODED_RUSTFLAGS"));
        assert!(is_leaking_var("CARGO_BUILD_TARGET"));
        assert!(is_leaking_var("RUSTC_WORKSPACE_WRAPPER"));
        assert!(is_leaking_var("CARGO"));
        assert!(!is_leaking_var("CARGO_MAKEFLAGS"));
        assert!(!is_leaking_var("CARGO_HOME"));
        assert!(!is_leaking_var("PATH"));
    }
}
