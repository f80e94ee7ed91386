//! Plugin host figures: cold compile vs cached load, instantiation from the
//! pre-instance, and end-to-end parse throughput of a generated 100,000-finding
//! Generic Findings Import report through the built-in `generic` plugin.
//!
//! Run with `cargo bench -p palisade --bench plugin_host`; prints a table.
//! Targets: instantiation < 1 ms, throughput >= 80 MB/s.

#![expect(clippy::print_stdout, reason = "a bench binary reports on stdout")]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use palisade::plugins::{
    BUILTIN_PLUGINS, CacheOutcome, ParseTimings, PluginConfig, PluginEngine, PluginLimits,
};

const SCAN_TYPE: &str = "Generic Findings Import";
const FINDINGS: usize = 100_000;

fn main() {
    let Some((_, generic)) = BUILTIN_PLUGINS.iter().find(|(name, _)| *name == "generic") else {
        println!(
            "no built-in `generic` plugin (built with PALISADE_SKIP_PLUGIN_BUILD=1?); nothing to measure"
        );
        return;
    };
    let cache = tempfile::tempdir().expect("temp dir");
    let config = PluginConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        builtins: false,
        limits: PluginLimits {
            concurrency: 1,
            ..PluginLimits::default()
        },
        ..PluginConfig::default()
    };
    let engine = PluginEngine::new(&config).expect("engine");
    println!(
        "plugin host bench: generic plugin, {} KiB component",
        generic.len() / 1024
    );

    // Cold compile (Cranelift + write to the cache) vs load from the cache.
    let started = Instant::now();
    let (_, outcome) = engine.compile("generic", generic).expect("compiles");
    let cold = started.elapsed();
    assert_eq!(outcome, CacheOutcome::Miss);
    let cached = median(20, || {
        let started = Instant::now();
        let (_, outcome) = engine.compile("generic", generic).expect("loads");
        assert_eq!(outcome, CacheOutcome::Hit);
        started.elapsed()
    });
    let load = median(20, || {
        let started = Instant::now();
        engine.load("generic", generic).expect("loads");
        started.elapsed()
    });
    println!("  cold compile (cranelift + cache write) {:>10}", ms(cold));
    println!(
        "  cached load (deserialize_file)          {:>10}",
        ms(cached)
    );
    println!("  full load from cache (+ link, info())   {:>10}", ms(load));

    // Fresh store + instance from the pre-instance.
    let plugin = engine.load("generic", generic).expect("loads");
    const N: u32 = 2000;
    let started = Instant::now();
    for _ in 0..N {
        engine.instantiate(&plugin).expect("instantiates");
    }
    let per_instance = started.elapsed() / N;
    println!(
        "  instantiate (Store::new + pre.instantiate), mean of {N} {:>8}  (target < 1 ms: {})",
        us(per_instance),
        verdict(per_instance < Duration::from_millis(1))
    );

    // End-to-end parse: bytes in, host-side findings out.
    let report = generic_report(FINDINGS);
    let mb = report.len() as f64 / 1e6;
    println!("  report: {FINDINGS} findings, {mb:.1} MB of JSON");
    let mut runs: Vec<(Duration, ParseTimings)> = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let (findings, timings) = engine
            .parse_timed(&plugin, SCAN_TYPE, report.as_bytes(), &[])
            .expect("parses");
        let elapsed = started.elapsed();
        assert_eq!(findings.len(), FINDINGS);
        drop(findings);
        runs.push((elapsed, timings));
    }
    let instantiations: Vec<String> = runs.iter().map(|(_, t)| us(t.instantiate)).collect();
    runs.sort_by_key(|(elapsed, _)| *elapsed);
    let (best, timings) = runs[0];
    let (median_run, _) = runs[runs.len() / 2];
    let throughput = mb / best.as_secs_f64();
    println!(
        "  parse end to end: best {:>9}, median {:>9} -> {throughput:.0} MB/s (target >= 80 MB/s: {})",
        ms(best),
        ms(median_run),
        verdict(throughput >= 80.0)
    );
    println!(
        "    instantiate {} | guest call (copy in, parse, lift out) {} | host conversion {}",
        us(timings.instantiate),
        ms(timings.call),
        ms(timings.convert)
    );
    println!(
        "    per finding: {:.0} ns end to end, host conversion {:.0} ns; guest peak memory {} MiB",
        best.as_nanos() as f64 / FINDINGS as f64,
        timings.convert.as_nanos() as f64 / FINDINGS as f64,
        timings.guest_peak_memory >> 20
    );

    println!(
        "    instantiate inside each of the 3 parses: {}",
        instantiations.join(", ")
    );
    let after: Vec<String> = (0..5)
        .map(|_| {
            let started = Instant::now();
            engine.instantiate(&plugin).expect("instantiates");
            us(started.elapsed())
        })
        .collect();
    println!("    instantiate right after them: {}", after.join(", "));

    lift_overhead(&config);

    // Native baseline: the same bytes into a serde_json tree on the host.
    let native = median(3, || {
        let started = Instant::now();
        let value: serde_json::Value =
            serde_json::from_slice(report.as_bytes()).expect("valid JSON");
        std::hint::black_box(value);
        started.elapsed()
    });
    println!(
        "  native baseline (serde_json::Value, no plugin) {:>9} -> plugin path is {:.1}x",
        ms(native),
        best.as_secs_f64() / native.as_secs_f64()
    );
}

/// Host cost per finding with a guest that does almost nothing: the test
/// guest `finding-flood` returns N minimal findings, so the time is mostly
/// lifting them out of guest memory plus the conversion to host structs.
fn lift_overhead(config: &PluginConfig) {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace");
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-components");
    let options = palisade_build_support::BuildOptions {
        wasip2_crates: vec!["wasi-snoop".to_owned()],
        cargo: Some(std::path::PathBuf::from(env!("CARGO"))),
        ..Default::default()
    };
    let Ok(report) = palisade_build_support::build_components_with(
        workspace,
        "tests/components",
        &out,
        &options,
    ) else {
        println!("  (test components did not build; lift overhead not measured)");
        return;
    };
    let Some((_, path)) = report
        .built
        .iter()
        .find(|(name, _)| name == "finding-flood")
    else {
        println!("  (finding-flood did not build; lift overhead not measured)");
        return;
    };
    let bytes = std::fs::read(path).expect("component");
    let engine = PluginEngine::new(config).expect("engine");
    let flood = engine.load("finding-flood", &bytes).expect("loads");
    let input = format!("FLOOD {FINDINGS}");
    let (best, timings) = (0..3)
        .map(|_| {
            let started = Instant::now();
            let (findings, timings) = engine
                .parse_timed(&flood, "Finding Flood Test", input.as_bytes(), &[])
                .expect("parses");
            assert_eq!(findings.len(), FINDINGS);
            (started.elapsed(), timings)
        })
        .min_by_key(|(elapsed, _)| *elapsed)
        .expect("three runs");
    println!(
        "  host overhead per finding (finding-flood, {FINDINGS} minimal findings): {:.0} ns end to end ({:.0} ns guest call incl. lifting, {:.0} ns conversion)",
        best.as_nanos() as f64 / FINDINGS as f64,
        timings.call.as_nanos() as f64 / FINDINGS as f64,
        timings.convert.as_nanos() as f64 / FINDINGS as f64,
    );
}

/// A Generic Findings Import report with `n` realistic findings (~480 bytes each).
fn generic_report(n: usize) -> String {
    let severities = ["Critical", "High", "Medium", "Low", "Info"];
    let mut out = String::with_capacity(n * 520);
    out.push_str("{\"findings\": [\n");
    for i in 0..n {
        if i > 0 {
            out.push_str(",\n");
        }
        let _ = write!(
            out,
            r#"{{"title": "Use of vulnerable component lib{c} (finding {i})", "severity": "{sev}", "description": "The component lib{c} {i}.2.3 is affected by CVE-2024-{cve:05}. An attacker can exploit it remotely without authentication.", "mitigation": "Upgrade lib{c} to {fix}.0.0 or later.", "impact": "Remote code execution", "references": "https://nvd.nist.gov/vuln/detail/CVE-2024-{cve:05}", "cwe": {cwe}, "vulnerability_ids": "CVE-2024-{cve:05}", "file_path": "src/module{m}/file{i}.py", "line": {line}, "component_name": "lib{c}", "component_version": "{i}.2.3", "unique_id_from_tool": "id-{i}", "date": "2024-05-{day:02}"}}"#,
            c = i % 97,
            sev = severities[i % severities.len()],
            cve = i % 100_000,
            fix = i % 10 + 1,
            cwe = 20 + i % 900,
            m = i % 50,
            line = i % 5000 + 1,
            day = i % 28 + 1,
        );
    }
    out.push_str("\n]}\n");
    out
}

fn median(runs: usize, mut f: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..runs).map(|_| f()).collect();
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}
