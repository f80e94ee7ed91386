//! Builds the built-in parser plugins (every crate under `plugins/`) into
//! WebAssembly components and embeds them as `BUILTIN_PLUGINS`.
//!
//! The nested cargo runs in `target/wasm`, a target directory of its own, so it
//! never waits for the lock the outer build holds. `PALISADE_SKIP_PLUGIN_BUILD=1`
//! embeds no plugin, for fast iteration on the server alone.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest_dir.clone());
    let out_dir = PathBuf::from(env("OUT_DIR"));

    for watched in ["plugins", "plugin-sdk", "build-support"] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    // Profile or member changes in the workspace manifest change the plugins too.
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("Cargo.toml").display()
    );
    println!("cargo:rerun-if-env-changed=PALISADE_SKIP_PLUGIN_BUILD");

    let skip = std::env::var("PALISADE_SKIP_PLUGIN_BUILD").is_ok_and(|v| v == "1" || v == "true");
    let built = if skip {
        println!(
            "cargo:warning=PALISADE_SKIP_PLUGIN_BUILD is set: no built-in plugins are embedded"
        );
        Vec::new()
    } else {
        let options = palisade_build_support::BuildOptions::default();
        match palisade_build_support::build_components_with(
            &workspace,
            "plugins",
            &out_dir.join("plugins"),
            &options,
        ) {
            Ok(report) => {
                // A debug build goes on without a broken plugin (someone may be
                // mid-edit in plugins/); a release build must ship all of them.
                let strict = std::env::var("PROFILE").is_ok_and(|p| p == "release");
                for (name, error) in &report.failed {
                    if strict {
                        eprintln!("error: built-in plugin `{name}`: {error}");
                    } else {
                        println!("cargo:warning=built-in plugin `{name}` left out: {error}");
                    }
                }
                if strict && !report.failed.is_empty() {
                    std::process::exit(1);
                }
                report.built
            }
            Err(e) => {
                eprintln!("error: building the built-in plugins failed: {e}");
                eprintln!(
                    "hint: set PALISADE_SKIP_PLUGIN_BUILD=1 to build the server without them"
                );
                std::process::exit(1);
            }
        }
    };

    // Components of plugins since removed (or now failing) must not linger
    // beside the current ones: the directory is this script's alone.
    if let Ok(entries) = std::fs::read_dir(out_dir.join("plugins")) {
        for entry in entries.flatten() {
            let path = entry.path();
            if !built.iter().any(|(_, p)| *p == path) {
                let _ = std::fs::remove_file(&path);
            }
        }
    }

    let mut code = String::from(
        "/// Built-in parser plugins: (crate directory name, component bytes).\n\
         pub static BUILTIN_PLUGINS: &[(&str, &[u8])] = &[\n",
    );
    for (name, path) in &built {
        // `{:?}` quotes and escapes both strings for Rust source.
        let _ = writeln!(
            code,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        );
    }
    code.push_str("];\n");
    embed_sdk(&workspace, &out_dir);

    let generated = out_dir.join("builtin_plugins.rs");
    if std::fs::read_to_string(&generated).ok().as_deref() != Some(code.as_str())
        && let Err(e) = std::fs::write(&generated, code)
    {
        eprintln!("error: writing {}: {e}", generated.display());
        std::process::exit(1);
    }
}

/// Writes `plugin_sdk.rs`: the palisade-plugin-sdk crate's packaged files (its
/// manifest's `include` list: manifest, README, `src/**/*.rs`, `wit/*.wit`),
/// its version, the workspace's `Cargo.lock` and this build's rustc version, so
/// `palisade plugin new` can write the SDK beside a plugin made anywhere.
fn embed_sdk(workspace: &Path, out_dir: &Path) {
    let sdk = workspace.join("plugin-sdk");
    let lock = workspace.join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let mut files = Vec::new();
    for name in ["Cargo.toml", "README.md"] {
        files.push(PathBuf::from(name));
    }
    for (dir, ext) in [("src", "rs"), ("wit", "wit")] {
        collect_files(&sdk, Path::new(dir), ext, &mut files);
    }
    files.sort();
    let manifest = std::fs::read_to_string(sdk.join("Cargo.toml")).unwrap_or_default();
    let version = manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or_else(|| {
            eprintln!("error: no version in plugin-sdk/Cargo.toml");
            std::process::exit(1)
        });
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let rustc_version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| v.split_whitespace().nth(1).map(str::to_owned))
        .unwrap_or_default();

    let mut code = String::from(
        "/// palisade-plugin-sdk's packaged files: (path in the crate, contents).\n\
         pub static SDK_FILES: &[(&str, &str)] = &[\n",
    );
    for rel in &files {
        let _ = writeln!(
            code,
            "    ({:?}, include_str!({:?})),",
            rel.to_string_lossy().replace('\\', "/"),
            sdk.join(rel).display().to_string()
        );
    }
    code.push_str("];\n");
    let _ = writeln!(
        code,
        "/// The embedded SDK's version (major.minor: the WIT contract's).\n\
         pub const SDK_VERSION: &str = {version:?};\n\
         /// The workspace's Cargo.lock: the dependency versions the SDK is tested with.\n\
         pub static WORKSPACE_LOCK: &str = include_str!({:?});\n\
         /// The rustc release this binary was built with (\"\" when unknown).\n\
         pub const BUILD_RUSTC: &str = {rustc_version:?};",
        lock.display().to_string()
    );
    let generated = out_dir.join("plugin_sdk.rs");
    if std::fs::read_to_string(&generated).ok().as_deref() != Some(code.as_str())
        && let Err(e) = std::fs::write(&generated, code)
    {
        eprintln!("error: writing {}: {e}", generated.display());
        std::process::exit(1);
    }
}

/// Adds the files under `root/rel` ending in `.ext`, recursively, as paths relative to `root`.
fn collect_files(root: &Path, rel: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(root.join(rel)) else {
        return;
    };
    for entry in entries.flatten() {
        let child = rel.join(entry.file_name());
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            collect_files(root, &child, ext, out);
        } else if child.extension().is_some_and(|e| e == ext) {
            out.push(child);
        }
    }
}

/// Reads a variable cargo always sets for build scripts.
fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        eprintln!("error: {name} is not set; run this through cargo");
        std::process::exit(1)
    })
}
