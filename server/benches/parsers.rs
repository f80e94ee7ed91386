//! Parse throughput of every built-in parser plugin on a ~50 MB report.
//!
//! For each scan type the registry serves (all 44; one without fixtures of
//! its own borrows a sibling scan type's of the same plugin), the largest
//! fixture that parses without error (preferring one with findings) is scaled
//! up by repeating its findings: the elements of the main findings array
//! (JSON: the array of objects with the most bytes), the lines of JSON Lines,
//! the repeated child elements with the most bytes (XML), or the data rows
//! (CSV). When a format cannot be scaled safely (HTML, concatenated JSON, or a
//! scaled report the plugin rejects), the original file is parsed enough
//! times to total ~50 MB instead, marked "(xN)" in the format column.
//! Each report is parsed through the registry on one thread.
//!
//! Run with `cargo bench -p palisade --bench parsers [-- FILTER] [--mb N]`;
//! FILTER keeps scan types whose name contains it (case-insensitive).
//! Targets: JSON >= 50 MB/s, XML >= 20 MB/s.

#![expect(clippy::print_stdout, reason = "a bench binary reports on stdout")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use palisade::plugins::{ParseOptions, PluginConfig, PluginLimits, PluginRegistry};
use serde_json::Value;

const DEFAULT_MB: usize = 50;
const JSON_TARGET: f64 = 50.0;
const XML_TARGET: f64 = 20.0;

/// How a report was built for the measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    JsonLines,
    Xml,
    Html,
    Csv,
    Other,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::JsonLines => "jsonl",
            Format::Xml => "xml",
            Format::Html => "html",
            Format::Csv => "csv",
            Format::Other => "other",
        }
    }

    fn target(self) -> Option<f64> {
        match self {
            Format::Json | Format::JsonLines => Some(JSON_TARGET),
            Format::Xml => Some(XML_TARGET),
            Format::Html | Format::Csv | Format::Other => None,
        }
    }
}

/// A report to measure: the bytes, and how many times to parse them.
struct Workload {
    format: Format,
    bytes: Vec<u8>,
    repeats: usize,
}

fn main() {
    let mut filter: Option<String> = None;
    let mut mb = DEFAULT_MB;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--mb" {
            mb = args
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(DEFAULT_MB);
        } else if !arg.starts_with("--") {
            filter = Some(arg.to_lowercase());
        }
    }
    let target_bytes = mb * 1_000_000;

    let config = PluginConfig {
        plugin_dir: None,
        builtins: true,
        limits: PluginLimits {
            // wasm32 tops out at 4 GiB; a DOM of a 50 MB report needs a few hundred MB.
            memory_limit: 4 << 30,
            cpu_timeout: Duration::from_secs(600),
            max_findings: 100_000_000,
            max_report_bytes: 2 << 30,
            concurrency: 1,
        },
        ..PluginConfig::default()
    };
    let registry = match PluginRegistry::new(config) {
        Ok(r) => r,
        Err(e) => {
            println!("cannot start the plugin host: {e}");
            return;
        }
    };
    let fixtures = fixtures_by_scan_type(&registry);
    if fixtures.is_empty() {
        println!("no fixture of a known scan type under tests/fixtures; nothing to measure");
        return;
    }
    println!(
        "parser throughput, ~{mb} MB per scan type, one thread (targets: JSON >= {JSON_TARGET} MB/s, XML >= {XML_TARGET} MB/s)"
    );
    println!(
        "{:<50} {:<10} {:>7} {:>8} {:>8} {:>10}  fixture / verdict",
        "scan type", "format", "MB", "seconds", "MB/s", "findings"
    );
    let options = ParseOptions::default();
    for (scan_type, files) in &fixtures {
        if filter
            .as_ref()
            .is_some_and(|f| !scan_type.to_lowercase().contains(f))
        {
            continue;
        }
        // The largest fixture that parses with findings, else the largest that parses.
        let parsed: Vec<(&PathBuf, Vec<u8>, usize)> = files
            .iter()
            .filter_map(|path| {
                let bytes = std::fs::read(path).ok()?;
                let out = registry
                    .parse_blocking(Some(scan_type), &bytes, &options)
                    .ok()?;
                Some((path, bytes, out.findings.len()))
            })
            .collect();
        let chosen = parsed
            .iter()
            .position(|(_, _, count)| *count > 0)
            .or((!parsed.is_empty()).then_some(0));
        let Some((source, original, count)) = chosen.and_then(|i| parsed.into_iter().nth(i)) else {
            println!("{scan_type:<50} no fixture parses without error; skipped");
            continue;
        };
        let file_name = source
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut work = scale(&original, target_bytes);
        // A scaled report the plugin rejects (e.g. duplicate ids) falls back to repeats.
        if work.repeats == 1
            && let Err(e) = registry.parse_blocking(Some(scan_type), &work.bytes, &options)
        {
            println!(
                "  ({scan_type}: scaled report rejected: {e}; parsing the original repeatedly)"
            );
            work = repeat_original(&original, work.format, target_bytes);
        }
        let total = work.bytes.len() * work.repeats;
        let started = Instant::now();
        let mut findings = 0;
        let mut failed = None;
        for _ in 0..work.repeats {
            match registry.parse_blocking(Some(scan_type), &work.bytes, &options) {
                Ok(out) => findings += out.findings.len(),
                Err(e) => {
                    failed = Some(e.to_string());
                    break;
                }
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let megabytes = total as f64 / 1e6;
        let rate = megabytes / seconds.max(1e-9);
        let format = if work.repeats > 1 {
            format!("{} (x{})", work.format.name(), work.repeats)
        } else {
            work.format.name().to_owned()
        };
        let verdict = match (&failed, work.format.target()) {
            (Some(e), _) => format!("FAILED: {e}"),
            (None, Some(t)) if rate >= t => "ok".to_owned(),
            (None, Some(t)) => format!("BELOW {t} MB/s"),
            (None, None) => String::new(),
        };
        println!(
            "{scan_type:<50} {format:<10} {megabytes:>7.1} {seconds:>8.2} {rate:>8.1} {findings:>10}  {file_name} ({count} findings) {verdict}"
        );
    }
    println!(
        "(findings: plugins that merge duplicate findings, as DefectDojo's parsers do, report fewer than were repeated)"
    );
}

/// For each scan type the registry knows: its fixture reports with a golden
/// that is not an error, largest first.
fn fixtures_by_scan_type(registry: &PluginRegistry) -> BTreeMap<String, Vec<PathBuf>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(|p| p.join("tests").join("fixtures"))
        .unwrap_or_default();
    let mut goldens = Vec::new();
    collect_goldens(&root, &mut goldens);
    let mut by_type: BTreeMap<String, Vec<(u64, PathBuf)>> = BTreeMap::new();
    for golden in goldens {
        let Ok(text) = std::fs::read(&golden) else {
            continue;
        };
        let Ok(value) = serde_json::from_slice::<Value>(&text) else {
            continue;
        };
        if value.get("error").is_some() {
            continue;
        }
        let Some(active) = value
            .get("scan_type")
            .and_then(Value::as_str)
            .and_then(|s| registry.scan_type(s))
        else {
            continue;
        };
        let Some(report) = golden
            .to_str()
            .and_then(|g| g.strip_suffix(".golden.json"))
            .map(PathBuf::from)
        else {
            continue;
        };
        let Ok(meta) = std::fs::metadata(&report) else {
            continue;
        };
        by_type
            .entry(active.name)
            .or_default()
            .push((meta.len(), report));
    }
    // A scan type without fixtures of its own (one that reads a sibling's
    // format another way, e.g. "Anchore Grype detailed") is measured on the
    // fixtures of a sibling scan type of the same plugin.
    let scan_types = registry.scan_types();
    for st in &scan_types {
        if by_type.contains_key(&st.name) {
            continue;
        }
        let sibling = scan_types
            .iter()
            .filter(|o| o.plugin_id == st.plugin_id && o.name != st.name)
            .find_map(|o| by_type.get(&o.name).cloned());
        if let Some(files) = sibling {
            by_type.insert(st.name.clone(), files);
        }
    }
    by_type
        .into_iter()
        .map(|(scan_type, mut files)| {
            files.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            (scan_type, files.into_iter().map(|(_, p)| p).collect())
        })
        .collect()
}

fn collect_goldens(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.filter_map(Result::ok).map(|e| e.path()) {
        if path.is_dir() {
            collect_goldens(&path, out);
        } else if path.to_str().is_some_and(|p| p.ends_with(".golden.json")) {
            out.push(path);
        }
    }
}

/// Builds a report of about `target` bytes from `original`, or falls back to repeats.
fn scale(original: &[u8], target: usize) -> Workload {
    let body = original.strip_prefix(b"\xef\xbb\xbf").unwrap_or(original);
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let (format, scaled) = match first {
        Some(b'{' | b'[') => match serde_json::from_slice::<Value>(body) {
            Ok(value) => (Format::Json, scale_json(value, body.len(), target)),
            Err(_) => match scale_json_lines(body, target) {
                Some(bytes) => (Format::JsonLines, Some(bytes)),
                None => (Format::Json, None),
            },
        },
        Some(b'<') if looks_like_html(body) => (Format::Html, None),
        Some(b'<') => (Format::Xml, scale_xml(body, target)),
        Some(_) if looks_like_csv(body) => (Format::Csv, scale_csv(body, target)),
        _ => (Format::Other, None),
    };
    match scaled {
        Some(bytes) => Workload {
            format,
            bytes,
            repeats: 1,
        },
        None => repeat_original(original, format, target),
    }
}

fn repeat_original(original: &[u8], format: Format, target: usize) -> Workload {
    Workload {
        format,
        bytes: original.to_vec(),
        repeats: target.div_ceil(original.len().max(1)).max(1),
    }
}

/// How many copies of a `unit`-byte block bring a `size`-byte report to `target`.
fn copies(size: usize, unit: usize, target: usize) -> usize {
    if unit == 0 {
        return 1;
    }
    (target.saturating_sub(size) / unit).max(1) + 1
}

/// Repeats the elements of the array of objects with the most bytes.
fn scale_json(mut value: Value, size: usize, target: usize) -> Option<Vec<u8>> {
    let mut best: Option<(usize, Vec<PathStep>)> = None;
    find_main_array(&value, &mut Vec::new(), &mut best);
    let (bytes, path) = best?;
    let array = walk_mut(&mut value, &path)?;
    let n = copies(size, bytes, target);
    let items = std::mem::take(array);
    let mut repeated = Vec::with_capacity(items.len() * n);
    for _ in 0..n {
        repeated.extend(items.iter().cloned());
    }
    *array = repeated;
    serde_json::to_vec(&value).ok()
}

#[derive(Clone)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn find_main_array(v: &Value, path: &mut Vec<PathStep>, best: &mut Option<(usize, Vec<PathStep>)>) {
    match v {
        Value::Array(items) => {
            if items.iter().any(Value::is_object) {
                let bytes: usize = items
                    .iter()
                    .map(|i| serde_json::to_vec(i).map_or(0, |b| b.len()))
                    .sum();
                if best.as_ref().is_none_or(|(b, _)| bytes > *b) {
                    *best = Some((bytes, path.clone()));
                }
            }
            for (i, item) in items.iter().enumerate() {
                path.push(PathStep::Index(i));
                find_main_array(item, path, best);
                path.pop();
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                path.push(PathStep::Key(k.clone()));
                find_main_array(item, path, best);
                path.pop();
            }
        }
        _ => {}
    }
}

fn walk_mut<'a>(mut v: &'a mut Value, path: &[PathStep]) -> Option<&'a mut Vec<Value>> {
    for step in path {
        v = match step {
            PathStep::Key(k) => v.get_mut(k.as_str())?,
            PathStep::Index(i) => v.get_mut(*i)?,
        };
    }
    v.as_array_mut()
}

/// Repeats all lines of a JSON Lines report (when every non-empty line is JSON).
fn scale_json_lines(body: &[u8], target: usize) -> Option<Vec<u8>> {
    let all_json = body
        .split(|&b| b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .all(|l| serde_json::from_slice::<Value>(l).is_ok());
    if !all_json {
        return None;
    }
    let mut block = body.to_vec();
    if !block.ends_with(b"\n") {
        block.push(b'\n');
    }
    Some(block.repeat(copies(0, block.len(), target)))
}

/// Repeats the run of same-named sibling elements (below the root) with the most bytes.
fn scale_xml(body: &[u8], target: usize) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(body).ok()?;
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(text, options).ok()?;
    // (bytes, start of the first, end of the last) of the best sibling group.
    let mut best: Option<(usize, usize, usize)> = None;
    for parent in doc.descendants().filter(roxmltree::Node::is_element) {
        let mut groups: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
        for child in parent.children().filter(roxmltree::Node::is_element) {
            let r = child.range();
            let g = groups
                .entry(child.tag_name().name())
                .or_insert((0, r.start, r.end));
            g.0 += r.len();
            g.2 = r.end;
        }
        for g in groups.into_values() {
            if best.is_none_or(|b| g.0 > b.0) {
                best = Some(g);
            }
        }
    }
    let (_, start, end) = best?;
    let block = text.get(start..end)?;
    let n = copies(text.len(), block.len() + 1, target);
    let mut out = String::with_capacity(text.len() + block.len() * n);
    out.push_str(&text[..end]);
    for _ in 1..n {
        out.push('\n');
        out.push_str(block);
    }
    out.push_str(&text[end..]);
    Some(out.into_bytes())
}

fn looks_like_html(body: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&body[..body.len().min(1024)]).to_lowercase();
    head.contains("<!doctype html") || head.contains("<html")
}

fn looks_like_csv(body: &[u8]) -> bool {
    let Some(first_line) = body.split(|&b| b == b'\n').next() else {
        return false;
    };
    first_line.contains(&b',') && std::str::from_utf8(body).is_ok()
}

/// Repeats everything after the header line.
fn scale_csv(body: &[u8], target: usize) -> Option<Vec<u8>> {
    let header_end = body.iter().position(|&b| b == b'\n')? + 1;
    let (header, rows) = body.split_at(header_end);
    if rows.trim_ascii().is_empty() {
        return None;
    }
    let mut block = rows.to_vec();
    if !block.ends_with(b"\n") {
        block.push(b'\n');
    }
    let mut out = header.to_vec();
    out.extend(block.repeat(copies(header.len(), block.len(), target)));
    Some(out)
}
