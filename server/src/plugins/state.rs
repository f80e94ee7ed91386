//! The data of one plugin call's `Store`: limits, the guest's log, and a WASI
//! context that grants nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};
use wasmtime_wasi::{
    HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
};

use super::bindings::palisade::parser::{host, types as wit};
use super::limits::MemoryLimiter;

/// Log lines one call may write; the rest are counted and dropped so a chatty
/// plugin cannot flood the server's log.
const MAX_LOG_LINES: usize = 200;
/// Longest log line kept, in bytes.
const MAX_LOG_LINE: usize = 2048;
/// Bytes of stdout or stderr kept per call.
const MAX_CAPTURED_OUTPUT: usize = 64 * 1024;

/// Everything a call's `Store` holds.
pub(crate) struct HostState {
    pub(crate) plugin: Arc<str>,
    /// The CPU budget of this call, to report it on timeout.
    pub(crate) budget: Duration,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) log: GuestLog,
    /// Built on first use: SDK plugins never touch WASI, so they never pay for it.
    wasi: Option<WasiCtx>,
    table: ResourceTable,
    stdout: CapturedOutput,
    stderr: CapturedOutput,
}

impl HostState {
    /// Fresh state for one call of `plugin`.
    pub(crate) fn new(plugin: Arc<str>, memory_limit: u64) -> Self {
        HostState {
            plugin,
            budget: Duration::ZERO,
            limiter: MemoryLimiter::new(memory_limit),
            log: GuestLog::default(),
            wasi: None,
            table: ResourceTable::new(),
            stdout: CapturedOutput::default(),
            stderr: CapturedOutput::default(),
        }
    }

    /// Sends what the guest printed on stdout/stderr to the server's log.
    pub(crate) fn flush_output(&mut self) {
        for (stream, out) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let text = out.take();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                self.log.write(
                    &self.plugin,
                    wit::LogLevel::Info,
                    &format!("[{stream}] {line}"),
                );
            }
        }
        self.log.finish(&self.plugin);
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let (stdout, stderr) = (self.stdout.clone(), self.stderr.clone());
        let ctx = self.wasi.get_or_insert_with(|| {
            // No preopens, environment, arguments, stdin or network (the builder's
            // socket check denies every address); stdout/stderr go to the log and
            // the clocks are frozen so a parser cannot depend on the time.
            WasiCtxBuilder::new()
                .stdout(stdout)
                .stderr(stderr)
                .wall_clock(FrozenClock)
                .monotonic_clock(FrozenClock)
                .allow_ip_name_lookup(false)
                .allow_tcp(false)
                .allow_udp(false)
                .build()
        });
        WasiCtxView {
            ctx,
            table: &mut self.table,
        }
    }
}

impl wit::Host for HostState {}

impl host::Host for HostState {
    fn log(&mut self, level: wit::LogLevel, message: String) {
        let plugin = Arc::clone(&self.plugin);
        self.log.write(&plugin, level, &message);
    }
}

/// The guest's log lines of one call, forwarded to `tracing` with a cap.
#[derive(Debug, Default)]
pub(crate) struct GuestLog {
    lines: usize,
    dropped: usize,
    last_error: Option<String>,
}

impl GuestLog {
    fn write(&mut self, plugin: &str, level: wit::LogLevel, message: &str) {
        let message = truncate(message, MAX_LOG_LINE);
        if matches!(level, wit::LogLevel::Error) {
            // Kept to explain a trap that follows (e.g. a panic message logged by the SDK).
            self.last_error = Some(message.to_owned());
        }
        if self.lines >= MAX_LOG_LINES {
            self.dropped += 1;
            return;
        }
        self.lines += 1;
        match level {
            wit::LogLevel::Trace => tracing::trace!(plugin, "{message}"),
            wit::LogLevel::Debug => tracing::debug!(plugin, "{message}"),
            wit::LogLevel::Info => tracing::info!(plugin, "{message}"),
            wit::LogLevel::Warn => tracing::warn!(plugin, "{message}"),
            wit::LogLevel::Error => tracing::error!(plugin, "{message}"),
        }
    }

    fn finish(&mut self, plugin: &str) {
        if self.dropped > 0 {
            tracing::warn!(plugin, dropped = self.dropped, "plugin log lines dropped");
            self.dropped = 0;
        }
    }

    /// The last error-level line the guest logged in this call.
    pub(crate) fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A WASI stdout/stderr that keeps the first bytes and silently drops the rest.
///
/// wasmtime's `MemoryOutputPipe` traps the guest once full; a plugin that prints
/// too much should lose output, not crash.
#[derive(Debug, Clone, Default)]
struct CapturedOutput(Arc<Mutex<Vec<u8>>>);

impl CapturedOutput {
    fn push(&self, bytes: &[u8]) {
        let mut buf = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let room = MAX_CAPTURED_OUTPUT.saturating_sub(buf.len());
        buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn take(&self) -> String {
        let mut buf = self.0.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&std::mem::take(&mut *buf)).into_owned()
    }
}

impl IsTerminal for CapturedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for CapturedOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Always accept: excess is dropped in `push`.
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CapturedOutput {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for CapturedOutput {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.push(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// Wall and monotonic clocks stuck at zero.
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }

    fn now(&self) -> u64 {
        0
    }
}
