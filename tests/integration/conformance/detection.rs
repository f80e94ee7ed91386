//! Content detection through the registry (`detect_blocking`) over every
//! fixture report: each report of a served scan type is recognised as exactly
//! that scan type (a SARIF log written by a tool with a plugin of its own, such
//! as Snyk Code, goes to that plugin: SARIF and Generic Findings Import give way
//! to a more specific answer); reports of scan types no plugin serves
//! (Checkmarx One and other near relatives of served formats among them) are
//! not recognised, unless written in a served format (Mayhem's SARIF is
//! SARIF); foreign files and the reports without any content (empty, `null`,
//! `[]`, `{"findings": []}`) are not recognised at all. The counts per fixture
//! folder are printed, and every served scan type must be recognised at least once.

use std::fmt::Write as _;

use palisade::plugins::PluginError;

use super::{fixtures, registry};

/// Files no plugin may claim: (label, bytes).
fn foreign_files() -> Vec<(&'static str, Vec<u8>)> {
    let readme = b"# My project\n\nA small tool that does things.\n\n## Usage\n\n\
        ```sh\ncargo run -- --help\n```\n\nSee LICENSE for terms; report issues on the tracker.\n"
        .to_vec();
    // A PNG signature and IHDR chunk followed by bytes that are neither text nor a report.
    let mut png =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0\x1f\xf3\xffa".to_vec();
    png.extend((0u32..4096).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    vec![
        ("README text", readme),
        ("PNG-like binary", png),
        ("`{}`", b"{}".to_vec()),
        ("`[]`", b"[]".to_vec()),
        ("empty file", Vec::new()),
    ]
}

/// The fixtures that carry no sign of their format, each checked by
/// [`contentless`]: what any tool (or none) could have written, so no plugin
/// may claim them; like the foreign files, they must not be recognised. Every
/// other fixture of a served scan type must be recognised as that type, so a
/// new empty report is either recognised by its structure or listed here.
const CONTENTLESS: &[&str] = &[
    "aws-inspector2-scan/aws_inspector2_zero_vul.json", // {"findings": []}
    "gitleaks-scan/no_findings.json",                   // null
    "govulncheck-scanner/empty.json",                   // empty file
    "hackerone-cases/bug_bounty_zero.json",             // {"findings": []}
    "nuclei-scan/empty.jsonl",                          // empty file
    "nuclei-scan/no_findings.json",                     // empty file
    "osv-scan/no_findings.json",                        // empty file
    "pip-audit-scan/empty.json",                        // []
    "pip-audit-scan/empty_new.json",                    // {"dependencies": []}
    "prowler-scan/prowler_zero_vul.json",               // []
    "semgrep-pro-json-report/no_vuln.json",             // {"findings": []}
    "sonarqube-scan/empty_zip.zip",                     // a zip of one empty folder
    "tfsec-scan/no_findings.json",                      // {"results": null}
    "trivy-scan/legacy_no_vuln.json",                   // null
];

/// Whether a report carries no sign of its format at all: empty; the JSON
/// `null`, `[]` or `{}`; a JSON object with one member and that member empty
/// (such as `{"results": null}`: one generic key many tools write); or a zip archive
/// holding only folders.
fn contentless(bytes: &[u8]) -> bool {
    let body = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    if body.trim_ascii().is_empty() || zip_of_folders_only(body) {
        return true;
    }
    let empty = |v: &serde_json::Value| match v {
        serde_json::Value::Null => true,
        serde_json::Value::Array(a) => a.is_empty(),
        serde_json::Value::Object(o) => o.is_empty(),
        _ => false,
    };
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(o)) => o.len() <= 1 && o.values().all(empty),
        Ok(v) => empty(&v),
        Err(_) => false,
    }
}

/// Whether `bytes` is a zip archive whose local entries are all folders.
fn zip_of_folders_only(bytes: &[u8]) -> bool {
    let mut at = 0usize;
    let mut entries = 0;
    while bytes.get(at..at + 4) == Some(b"PK\x03\x04".as_slice()) {
        let u16_at = |o: usize| {
            bytes
                .get(at + o..at + o + 2)
                .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
        };
        let (Some(name_len), Some(extra_len)) = (u16_at(26), u16_at(28)) else {
            return false;
        };
        let Some(name) = bytes.get(at + 30..at + 30 + name_len) else {
            return false;
        };
        if !name.ends_with(b"/") {
            return false;
        }
        entries += 1;
        at += 30 + name_len + extra_len;
    }
    entries > 0
}

/// Fixtures saved under one scan type whose bytes are exactly another
/// format: yarn's `--json` summary object is npm 6's audit report, so
/// detection must name the format the file is written in.
const WRITTEN_IN: &[(&str, &str)] = &[
    ("yarn-audit-scan/issue_6495.json", "NPM Audit Scan"),
    (
        "yarn-audit-scan/issue_6495_multi_cwe_fabricated.json",
        "NPM Audit Scan",
    ),
];

/// Folders of scan types no plugin serves whose reports are written in a
/// format a plugin does serve: detection names that format.
const FOLDERS_WRITTEN_IN: &[(&str, &str)] = &[("mayhem-sarif-report/", "SARIF")];

/// Served scan types that read the same report format as a sibling scan type,
/// only differently (Grype "detailed": no merging of repeats; Govulncheck V2:
/// the reference's second parser of govulncheck's JSON): detection answers the
/// sibling, so these are only ever chosen by name.
const NAME_ONLY: &[&str] = &["Anchore Grype detailed", "Govulncheck Scanner V2"];

/// Per folder: files checked, and how many came out as expected.
#[derive(Default)]
struct Tally {
    expected_type: String,
    checked: usize,
    right: usize,
}

/// What detection said, for messages.
fn outcome(result: &Result<String, PluginError>) -> String {
    match result {
        Ok(scan_type) => format!("detected as `{scan_type}`"),
        Err(PluginError::NotRecognised) => "not recognised".to_owned(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn detection_names_the_right_scan_type_or_nothing() {
    let registry = registry();
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut tallies: std::collections::BTreeMap<String, Tally> = Default::default();
    for fixture in fixtures() {
        let Some(named) = fixture.scan_type() else {
            continue;
        };
        let failed_before = failures.len();
        let checked_before = checked;
        let bytes = std::fs::read(&fixture.report).expect("read report");
        let listed = CONTENTLESS.contains(&fixture.name().as_str());
        if listed != contentless(&bytes) {
            failures.push(format!(
                "{}: {} (keep CONTENTLESS to the reports without any sign of their format)",
                fixture.name(),
                if listed {
                    "listed as contentless but has content"
                } else {
                    "has no content but is not listed in CONTENTLESS"
                }
            ));
        }
        match registry.scan_type(named) {
            Some(active) if listed => {
                checked += 1;
                let result = registry.detect_blocking(&bytes);
                if !matches!(result, Err(PluginError::NotRecognised)) {
                    failures.push(format!(
                        "{} (a `{}` report without content): {}, expected not recognised",
                        fixture.name(),
                        active.name,
                        outcome(&result)
                    ));
                }
            }
            Some(active) => {
                // Only real reports: not files the parser must reject, nor
                // samples DefectDojo's own tests do not use.
                let in_unit_tests = fixture
                    .golden
                    .get("in_unit_tests")
                    .and_then(|v| v.as_bool());
                if fixture.expects_error() || in_unit_tests == Some(false) {
                    continue;
                }
                checked += 1;
                let expected = WRITTEN_IN
                    .iter()
                    .find(|(file, _)| fixture.name() == *file)
                    .map_or(active.name.as_str(), |(_, format)| *format);
                let result = registry.detect_blocking(&bytes);
                if result.as_deref().ok() != Some(expected) {
                    failures.push(format!(
                        "{} (a `{expected}` report): {}",
                        fixture.name(),
                        outcome(&result)
                    ));
                }
            }
            None => {
                checked += 1;
                let result = registry.detect_blocking(&bytes);
                let written_in = FOLDERS_WRITTEN_IN
                    .iter()
                    .find(|(folder, _)| fixture.name().starts_with(folder))
                    .map(|(_, format)| *format);
                match written_in {
                    Some(format) if result.as_deref().ok() != Some(format) => {
                        failures.push(format!(
                            "{} (a `{named}` report written in `{format}`): {}",
                            fixture.name(),
                            outcome(&result)
                        ));
                    }
                    Some(_) => {}
                    None if !matches!(result, Err(PluginError::NotRecognised)) => {
                        failures.push(format!(
                            "{} (a `{named}` report, a scan type no plugin serves): {}, expected not recognised",
                            fixture.name(),
                            outcome(&result)
                        ));
                    }
                    None => {}
                }
            }
        }
        if checked > checked_before {
            let folder = fixture
                .name()
                .split('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            let tally = tallies.entry(folder).or_default();
            tally.checked += 1;
            tally.right += usize::from(failures.len() == failed_before);
            if tally.expected_type.is_empty() {
                tally.expected_type = registry
                    .scan_type(named)
                    .map_or_else(|| "(not served)".to_owned(), |a| a.name);
            }
        }
    }
    // Counts per folder, then: every served scan type is recognised at least once.
    eprintln!(
        "{:<55} {:>7} {:>7}",
        "fixture folder (scan type)", "files", "right"
    );
    for (folder, t) in &tallies {
        eprintln!(
            "{:<55} {:>7} {:>7}",
            format!("{folder} ({})", t.expected_type),
            t.checked,
            t.right
        );
    }
    let served = registry.scan_types();
    for name in NAME_ONLY {
        if !served.iter().any(|st| st.name == *name) {
            failures.push(format!("NAME_ONLY lists `{name}`, which no plugin serves"));
        }
    }
    let mut recognised_types = 0;
    for st in &served {
        let recognised = tallies
            .values()
            .any(|t| t.expected_type == st.name && t.right > 0);
        recognised_types += usize::from(recognised);
        if !recognised && !NAME_ONLY.contains(&st.name.as_str()) {
            failures.push(format!(
                "`{}`: no fixture of it is detected as it (add a report to tests/fixtures)",
                st.name
            ));
        }
    }
    eprintln!(
        "{recognised_types} of {} served scan types recognised from their fixtures \
         ({} are chosen by name only: {})",
        served.len(),
        NAME_ONLY.len(),
        NAME_ONLY.join(", ")
    );
    for (label, bytes) in foreign_files() {
        checked += 1;
        let result = registry.detect_blocking(&bytes);
        if !matches!(result, Err(PluginError::NotRecognised)) {
            failures.push(format!(
                "{label}: {}, expected not recognised",
                outcome(&result)
            ));
        }
    }
    if failures.is_empty() {
        eprintln!("detection: {checked} files, all as expected");
        return;
    }
    let mut message = format!(
        "detection is wrong for {} of {checked} files (fix the plugin's `detect`; it sees the \
         first 256 KiB):\n",
        failures.len()
    );
    for f in &failures {
        let _ = writeln!(message, "  {f}");
    }
    panic!("{message}");
}
