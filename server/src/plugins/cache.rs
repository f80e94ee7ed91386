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
    let probe = tempfile::NamedTempFile::new_in(dir)?;
    #[cfg(unix)]
    check_private(dir, probe.path())?;
    drop(probe);
    Ok(())
}

/// Refuses a directory (one that already existed, typically) that someone
/// other than this process's user owns or may write into: a file planted
/// there would be run as native code. The owner of `probe`, a file this
/// process just created, is its effective user.
#[cfg(unix)]
fn check_private(dir: &Path, probe: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(dir)?;
    let me = std::fs::metadata(probe)?.uid();
    if meta.uid() != me {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "it is owned by uid {}, not by this process's user (uid {me})",
                meta.uid()
            ),
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "its mode {:o} lets other users write into it; make it 0700 (chmod 700)",
                meta.mode() & 0o7777
            ),
        ));
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_world_writable_cache_dir_is_refused() {
        let base = tempfile::tempdir().expect("tempdir");
        let dir = base.path().join("cache");
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let e = create_private_dir(&dir).expect_err("refused");
        assert!(e.to_string().contains("0700"), "{e}");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        create_private_dir(&dir).expect("a private directory is used");
    }
}
