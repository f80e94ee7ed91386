//! Cross-plugin checks of the built-in parser plugins, through the real WASM
//! host ([`PluginRegistry`]) rather than each plugin's native test harness:
//!
//! - every fixture report under `tests/fixtures/<slug>/` whose golden names a
//!   scan type the registry knows is parsed and compared with its golden by
//!   the rules of `conformance.py` (equal counts, rejected files rejected,
//!   identity fields agreeing overall at >= 98 %), using the SDK's port of its
//!   normalisation and pairing (`palisade_plugin_sdk::testing`);
//! - [`detection`]: content detection names the right scan type, and nothing
//!   for foreign files;
//! - [`hostile`]: truncated, foreign and hostile input is a parse error, never a crash;
//! - [`readme`]: the README's list of supported scan types matches the registry.
//!
//! None of these needs PostgreSQL. The set of plugins and fixture folders is
//! discovered at run time, so new plugins are picked up without edits here.

mod detection;
mod hostile;
mod readme;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use palisade::plugins::{ParseOptions, PluginConfig, PluginRegistry};
use palisade_plugin_sdk::testing::{FIELDS, Norm, norm, pair, score};
use serde_json::Value;

/// Overall share of identity fields that must agree with the goldens.
const MIN_AGREEMENT: f64 = 0.98;
/// How many non-conforming files the failure message details.
const WORST_SHOWN: usize = 30;
/// How many field disagreements are shown per file.
const DISAGREEMENTS_SHOWN: usize = 4;

/// The built-in plugins, loaded once per test process (compiled code is cached
/// under the cargo target directory, so later runs start fast).
pub(crate) fn registry() -> &'static PluginRegistry {
    static REGISTRY: OnceLock<PluginRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let config = PluginConfig {
            cache_dir: Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-cache")),
            plugin_dir: None,
            builtins: true,
            ..PluginConfig::default()
        };
        let registry = PluginRegistry::new(config).expect("the plugin host starts");
        let broken: Vec<String> = registry
            .summaries()
            .into_iter()
            .filter_map(|s| s.load_error.map(|e| format!("{}: {e}", s.id)))
            .collect();
        assert!(
            broken.is_empty(),
            "built-in plugins failed to load:\n{}",
            broken.join("\n")
        );
        registry
    })
}

/// `tests/fixtures`.
pub(crate) fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// One sample report with its reference golden.
pub(crate) struct Fixture {
    /// The report file.
    pub(crate) report: PathBuf,
    /// The parsed golden (`{"scan_type": .., "findings": [..]}` or `{"error": ..}`).
    pub(crate) golden: Value,
}

impl Fixture {
    /// The scan type the golden names.
    pub(crate) fn scan_type(&self) -> Option<&str> {
        self.golden.get("scan_type").and_then(Value::as_str)
    }

    /// Whether the golden says the report must be rejected.
    pub(crate) fn expects_error(&self) -> bool {
        self.golden.get("error").is_some()
    }

    /// The report path relative to `tests/fixtures`, for messages.
    pub(crate) fn name(&self) -> String {
        let dir = fixtures_dir();
        self.report
            .strip_prefix(&dir)
            .unwrap_or(&self.report)
            .display()
            .to_string()
    }
}

/// Every `<file>.golden.json` beside its `<file>` under `tests/fixtures/*/`
/// (recursively, as `conformance.py` walks), sorted by path.
pub(crate) fn fixtures() -> &'static [Fixture] {
    static FIXTURES: OnceLock<Vec<Fixture>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let mut goldens = Vec::new();
        let top = std::fs::read_dir(fixtures_dir()).expect("tests/fixtures exists");
        for entry in top.filter_map(Result::ok) {
            if entry.path().is_dir() {
                collect_goldens(&entry.path(), &mut goldens);
            }
        }
        goldens.sort();
        goldens
            .into_iter()
            .filter_map(|golden_path| {
                let name = golden_path.file_name()?.to_str()?;
                let report = golden_path.with_file_name(name.strip_suffix(".golden.json")?);
                if !report.is_file() {
                    return None;
                }
                let text = std::fs::read(&golden_path).expect("read golden");
                let golden = serde_json::from_slice(&text)
                    .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", golden_path.display()));
                Some(Fixture { report, golden })
            })
            .collect()
    })
}

fn collect_goldens(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.filter_map(Result::ok).map(|e| e.path()) {
        if path.is_dir() {
            collect_goldens(&path, out);
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".golden.json"))
        {
            out.push(path);
        }
    }
}

/// Parses a fixture through the registry as `scan_type`, with its file name as
/// the "file-name" option (as `palisade parse` does), into the JSON `palisade
/// parse` prints for each finding.
pub(crate) fn parse_fixture(fixture: &Fixture, scan_type: &str) -> Result<Vec<Value>, String> {
    let bytes = std::fs::read(&fixture.report).expect("read report");
    let mut options = ParseOptions::default();
    if let Some(name) = fixture.report.file_name() {
        options = options.with(ParseOptions::FILE_NAME, name.to_string_lossy());
    }
    let output = registry()
        .parse_blocking(Some(scan_type), &bytes, &options)
        .map_err(|e| e.to_string())?;
    output
        .findings
        .iter()
        .map(|f| serde_json::to_value(f).map_err(|e| format!("finding does not serialise: {e}")))
        .collect()
}

/// The outcome of one fixture, scored as `conformance.py` scores it.
struct FileResult {
    name: String,
    scan_type: String,
    expected_error: bool,
    parse_error: Option<String>,
    golden_count: usize,
    our_count: usize,
    /// Agreeing identity fields.
    same: usize,
    /// Compared identity fields plus 10 per missing or extra finding (or per
    /// golden finding when the parse failed).
    total: usize,
    disagreements: Vec<String>,
}

impl FileResult {
    /// Equal counts, or a rejection where the golden expects one.
    fn count_equal(&self) -> bool {
        if self.expected_error {
            self.parse_error.is_some()
        } else {
            self.parse_error.is_none() && self.golden_count == self.our_count
        }
    }

    fn agreement(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.same as f64 / self.total as f64
        }
    }

    fn describe(&self) -> String {
        let mut s = format!("{} [{}]: ", self.name, self.scan_type);
        if self.expected_error {
            match &self.parse_error {
                Some(_) => s.push_str("rejected as expected"),
                None => {
                    let _ = write!(
                        s,
                        "the golden expects a rejection, but it parsed into {} finding(s)",
                        self.our_count
                    );
                }
            }
            return s;
        }
        if let Some(e) = &self.parse_error {
            let _ = write!(
                s,
                "parse failed ({e}); the golden has {} finding(s)",
                self.golden_count
            );
            return s;
        }
        let _ = write!(
            s,
            "findings ours {} golden {}{}, fields {}/{} agree ({:.1}%)",
            self.our_count,
            self.golden_count,
            if self.count_equal() {
                ""
            } else {
                " <- counts differ"
            },
            self.same,
            self.total,
            100.0 * self.agreement()
        );
        for d in self.disagreements.iter().take(DISAGREEMENTS_SHOWN) {
            let _ = write!(s, "\n      {d}");
        }
        if self.disagreements.len() > DISAGREEMENTS_SHOWN {
            let _ = write!(
                s,
                "\n      ... {} more disagreement(s)",
                self.disagreements.len() - DISAGREEMENTS_SHOWN
            );
        }
        s
    }
}

/// Scores one parse result against its golden exactly as `conformance.py` does.
fn compare(fixture: &Fixture, scan_type: &str, result: Result<Vec<Value>, String>) -> FileResult {
    let golden: &[Value] = fixture
        .golden
        .get("findings")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let mut r = FileResult {
        name: fixture.name(),
        scan_type: scan_type.to_owned(),
        expected_error: fixture.expects_error(),
        parse_error: None,
        golden_count: golden.len(),
        our_count: 0,
        same: 0,
        total: 0,
        disagreements: Vec::new(),
    };
    let ours = match result {
        Ok(ours) => ours,
        Err(e) => {
            r.parse_error = Some(e);
            if !r.expected_error {
                r.total = golden.len().max(1) * FIELDS.len();
            }
            return r;
        }
    };
    r.our_count = ours.len();
    if r.expected_error {
        return r;
    }
    for (gi, oi) in pair(golden, &ours) {
        let (g, o) = (&golden[gi], &ours[oi]);
        let (same, total) = score(g, o);
        r.same += same;
        r.total += total;
        if same == total {
            continue;
        }
        for field in FIELDS {
            let (x, y) = (norm(field, g.get(field)), norm(field, o.get(field)));
            if x != y {
                let show = |n: Option<Norm>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
                r.disagreements.push(format!(
                    "golden #{gi} (ours #{oi}) {field}: ours {}, golden {}",
                    show(y),
                    show(x)
                ));
            }
        }
    }
    r.total += golden.len().abs_diff(ours.len()) * FIELDS.len();
    r
}

#[derive(Default)]
struct Row {
    files: usize,
    count_equal: usize,
    same: usize,
    total: usize,
}

#[test]
fn fixtures_match_goldens_through_the_wasm_host() {
    let registry = registry();
    let mut results = Vec::new();
    let mut unknown: BTreeMap<String, usize> = BTreeMap::new();
    for fixture in fixtures() {
        let Some(named) = fixture.scan_type() else {
            continue;
        };
        let Some(active) = registry.scan_type(named) else {
            *unknown.entry(named.to_owned()).or_default() += 1;
            continue;
        };
        let result = parse_fixture(fixture, &active.name);
        results.push(compare(fixture, &active.name, result));
    }

    let mut rows: BTreeMap<&str, Row> = BTreeMap::new();
    for r in &results {
        let row = rows.entry(&r.scan_type).or_default();
        row.files += 1;
        row.count_equal += usize::from(r.count_equal());
        row.same += r.same;
        row.total += r.total;
    }
    let pct = |same: usize, total: usize| {
        if total == 0 {
            100.0
        } else {
            100.0 * same as f64 / total as f64
        }
    };
    let mut table = format!(
        "{:<56} {:>5} {:>11} {:>9}\n",
        "scan type", "files", "count-equal", "agreement"
    );
    for (scan_type, row) in &rows {
        let _ = writeln!(
            table,
            "{scan_type:<56} {:>5} {:>11} {:>8.1}%",
            row.files,
            row.count_equal,
            pct(row.same, row.total)
        );
    }
    let files: usize = rows.values().map(|r| r.files).sum();
    let equal: usize = rows.values().map(|r| r.count_equal).sum();
    let same: usize = rows.values().map(|r| r.same).sum();
    let total: usize = rows.values().map(|r| r.total).sum();
    let overall = pct(same, total);
    let _ = writeln!(
        table,
        "conformance: files {equal}/{files} count-equal, fields {overall:.1}% agree, types {}",
        rows.len()
    );
    if !unknown.is_empty() {
        let _ = writeln!(
            table,
            "not checked (scan type unknown to the registry): {}",
            unknown
                .iter()
                .map(|(s, n)| format!("{s} ({n})"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    eprintln!("{table}");

    assert!(
        !results.is_empty(),
        "no fixture under {} names a scan type of the built-in plugins ({:?})",
        fixtures_dir().display(),
        registry.known_scan_types()
    );
    let mut bad: Vec<&FileResult> = results
        .iter()
        .filter(|r| !r.count_equal() || r.agreement() < MIN_AGREEMENT)
        .collect();
    let count_failures = bad.iter().filter(|r| !r.count_equal()).count();
    if count_failures == 0 && overall >= 100.0 * MIN_AGREEMENT {
        return;
    }
    // Worst first: wrong counts, then by lost identity fields.
    bad.sort_by(|a, b| {
        a.count_equal()
            .cmp(&b.count_equal())
            .then_with(|| (b.total - b.same).cmp(&(a.total - a.same)))
            .then_with(|| a.name.cmp(&b.name))
    });
    let mut message = format!(
        "the built-in plugins do not conform to the goldens: {count_failures} file(s) with a wrong \
         finding count or outcome, identity fields {overall:.1}% agree (need {:.0}%)\n{table}\nworst files:\n",
        100.0 * MIN_AGREEMENT
    );
    for r in bad.iter().take(WORST_SHOWN) {
        let _ = writeln!(message, "  {}", r.describe());
    }
    if bad.len() > WORST_SHOWN {
        let _ = writeln!(message, "  ... and {} more", bad.len() - WORST_SHOWN);
    }
    panic!("{message}");
}
