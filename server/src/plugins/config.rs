//! Configuration of the plugin host: where plugins come from and the limits every call runs under.
//!
//! The server's `Config` embeds [`PluginConfig`] with `#[command(flatten)]`;
//! tests build it in code from [`PluginConfig::default`].

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args};

/// Where plugins come from and how they are sandboxed.
#[derive(Debug, Clone, Args)]
pub struct PluginConfig {
    /// Directory of extra plugin components (`*.wasm`), watched for changes.
    #[arg(long = "plugin-dir", env = "PALISADE_PLUGIN_DIR", value_name = "DIR")]
    pub plugin_dir: Option<PathBuf>,

    /// Directory of compiled plugins (default: the user cache directory, else ./.palisade/cache).
    ///
    /// It holds native code the server runs: it must be writable only by the server's user.
    #[arg(
        long = "plugin-cache-dir",
        env = "PALISADE_PLUGIN_CACHE_DIR",
        value_name = "DIR"
    )]
    pub cache_dir: Option<PathBuf>,

    /// Whether to load the plugins built into the binary.
    #[arg(long = "plugin-builtins", env = "PALISADE_PLUGIN_BUILTINS", default_value_t = true, action = ArgAction::Set, value_name = "BOOL")]
    pub builtins: bool,

    /// How often the plugin directory is checked for changes, in milliseconds.
    #[arg(
        long = "plugin-watch-interval-ms",
        env = "PALISADE_PLUGIN_WATCH_INTERVAL_MS",
        default_value_t = 1000,
        value_name = "MS"
    )]
    pub watch_interval_ms: u64,

    /// Parse calls that may wait for a free slot (`PALISADE_PLUGIN_CONCURRENCY`)
    /// before further requests are refused as busy (GraphQL `RATE_LIMITED`,
    /// REST 429). Background import workers always wait.
    #[arg(
        long = "plugin-queue",
        env = "PALISADE_PLUGIN_QUEUE",
        default_value_t = 16,
        value_name = "PALISADE_PLUGIN_QUEUE"
    )]
    pub parse_queue: usize,

    /// Parse calls one user may have running or waiting at once; more are
    /// refused as busy, so one account cannot take every slot and the whole
    /// queue. Background import workers are not counted.
    #[arg(
        long = "plugin-parses-per-user",
        env = "PALISADE_PLUGIN_PARSES_PER_USER",
        default_value_t = 4,
        value_parser = clap::value_parser!(u32).range(1..),
        value_name = "N"
    )]
    pub parses_per_user: u32,

    /// Largest report `previewReport` accepts, in bytes (suffixes accepted).
    #[arg(long = "plugin-preview-max-bytes", env = "PALISADE_PLUGIN_PREVIEW_MAX_BYTES", default_value = "16MiB", value_parser = parse_bytes, value_name = "PALISADE_PLUGIN_PREVIEW_MAX_BYTES")]
    pub preview_max_bytes: u64,

    /// Limits of each plugin call.
    #[command(flatten)]
    pub limits: PluginLimits,
}

impl Default for PluginConfig {
    fn default() -> Self {
        PluginConfig {
            plugin_dir: None,
            cache_dir: None,
            builtins: true,
            watch_interval_ms: 1000,
            parse_queue: 16,
            parses_per_user: 4,
            preview_max_bytes: 16 * 1024 * 1024,
            limits: PluginLimits::default(),
        }
    }
}

impl PluginConfig {
    /// The compile cache directory: the configured one, else `$XDG_CACHE_HOME/palisade/plugins`
    /// or `$HOME/.cache/palisade/plugins`, else `./.palisade/cache`.
    pub fn cache_dir(&self) -> PathBuf {
        if let Some(dir) = &self.cache_dir {
            return dir.clone();
        }
        let system = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|home| PathBuf::from(home).join(".cache"))
            });
        match system {
            Some(base) => base.join("palisade").join("plugins"),
            None => PathBuf::from(".palisade").join("cache"),
        }
    }
}

/// Limits every plugin call runs under.
#[derive(Debug, Clone, Args)]
pub struct PluginLimits {
    /// Memory a plugin instance may use, in bytes (suffixes KiB, MiB, GiB accepted).
    #[arg(long = "plugin-memory-limit", env = "PALISADE_PLUGIN_MEMORY_LIMIT", default_value = "536870912", value_parser = parse_bytes, value_name = "BYTES")]
    pub memory_limit: u64,

    /// Time a plugin call may run, in seconds (fractions accepted).
    ///
    /// Measured as wall time on the calling thread (epoch interruption), which
    /// equals CPU time for plugins since they cannot block on anything.
    #[arg(long = "plugin-cpu-timeout", env = "PALISADE_PLUGIN_CPU_TIMEOUT", default_value = "60", value_parser = parse_seconds, value_name = "SECONDS")]
    pub cpu_timeout: Duration,

    /// Findings one report may produce.
    #[arg(
        long = "plugin-max-findings",
        env = "PALISADE_PLUGIN_MAX_FINDINGS",
        default_value_t = 1_000_000,
        value_name = "N"
    )]
    pub max_findings: usize,

    /// Size of a report a plugin is given, in bytes (suffixes accepted).
    #[arg(long = "plugin-max-report-bytes", env = "PALISADE_PLUGIN_MAX_REPORT_BYTES", default_value = "536870912", value_parser = parse_bytes, value_name = "BYTES")]
    pub max_report_bytes: u64,

    /// Plugin calls running at once (0: one per CPU core); each may use `memory_limit`.
    #[arg(
        long = "plugin-concurrency",
        env = "PALISADE_PLUGIN_CONCURRENCY",
        default_value_t = 0,
        value_name = "N"
    )]
    pub concurrency: usize,
}

impl Default for PluginLimits {
    fn default() -> Self {
        PluginLimits {
            memory_limit: 512 * 1024 * 1024,
            cpu_timeout: Duration::from_secs(60),
            max_findings: 1_000_000,
            max_report_bytes: 512 * 1024 * 1024,
            concurrency: 0,
        }
    }
}

impl PluginLimits {
    /// The number of calls allowed at once, resolving 0 to the number of cores.
    pub fn effective_concurrency(&self) -> usize {
        if self.concurrency > 0 {
            self.concurrency
        } else {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        }
    }
}

/// Parses a byte count such as `536870912`, `64MiB`, `64M` or `1 GiB`.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '_')
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits
        .replace('_', "")
        .parse()
        .map_err(|_| format!("`{text}` is not a byte count (e.g. 536870912 or 512MiB)"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}` (use KiB, MiB or GiB)"
            ));
        }
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// Parses a positive number of seconds such as `60` or `0.5`.
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .trim()
        .trim_end_matches('s')
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 86_400.0) {
        return Err(format!("`{text}` must be between 0 and 86400 seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        plugins: PluginConfig,
    }

    #[test]
    fn byte_counts() {
        assert_eq!(parse_bytes("536870912"), Ok(536_870_912));
        assert_eq!(parse_bytes("64MiB"), Ok(64 << 20));
        assert_eq!(parse_bytes("2 GiB"), Ok(2 << 30));
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("3 parsecs").is_err());
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        let cli = Cli::parse_from(["palisade"]);
        let limits = cli.plugins.limits;
        let defaults = PluginLimits::default();
        assert_eq!(limits.memory_limit, defaults.memory_limit);
        assert_eq!(limits.cpu_timeout, defaults.cpu_timeout);
        assert_eq!(limits.max_findings, 1_000_000);
        assert_eq!(limits.max_report_bytes, 512 << 20);
        assert!(cli.plugins.builtins);
    }

    #[test]
    fn flags_override() {
        let cli = Cli::parse_from([
            "palisade",
            "--plugin-memory-limit",
            "64MiB",
            "--plugin-cpu-timeout",
            "2",
            "--plugin-builtins",
            "false",
        ]);
        assert_eq!(cli.plugins.limits.memory_limit, 64 << 20);
        assert_eq!(cli.plugins.limits.cpu_timeout, Duration::from_secs(2));
        assert!(!cli.plugins.builtins);
    }
}
