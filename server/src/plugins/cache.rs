//! On-disk cache of compiled components, keyed by content hash and engine configuration.
//!
//! Compiling a parser with Cranelift takes hundreds of milliseconds; loading
//! the cached native code takes well under one. The key combines the sha256 of
//! the component bytes with `Engine::precompile_compatibility_hash`, so a new
//! wasmtime version or engine setting (epoch, fuel) never reuses stale code.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use wasmtime::Engine;

/// A directory of `.cwasm` files, or nothing when it cannot be used.
#[derive(Debug, Clone)]
pub(crate) struct CompileCache {
    dir: Option<PathBuf>,
    engine_key: String,
}

impl CompileCache {
    /// Opens (creating it if needed) the cache in `dir`; an unusable directory disables caching.
    pub(crate) fn open(engine: &Engine, dir: &Path) -> Self {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = format!("{:016x}", hasher.finish());
        let dir = match create_private_dir(dir) {
            Ok(()) => Some(dir.to_path_buf()),
            Err(e) => {
                tracing::warn!(
                    cache.dir = %dir.display(),
                    error = %e,
                    "plugin compile cache disabled: directory unusable; every start recompiles"
                );
                None
            }
        };
        CompileCache { dir, engine_key }
    }

    /// The file holding the compiled form of the component whose sha256 is `sha256`.
    pub(crate) fn path_for(&self, sha256: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|dir| dir.join(format!("{sha256}-{}.cwasm", self.engine_key)))
    }

    /// Writes `compiled` to `path` atomically, so readers never see half a file.
    pub(crate) fn store(&self, path: &Path, compiled: &[u8]) -> std::io::Result<()> {
        let dir = path.parent().unwrap_or_else(|| Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(compiled)?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Creates `dir` readable and writable by the owner only: it holds native code the server will run.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)?;
    // Probe writability now rather than failing on every load.
    tempfile::NamedTempFile::new_in(dir).map(drop)
}
