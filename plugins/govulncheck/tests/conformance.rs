//! Every fixture report conforms to its DefectDojo golden: equal finding
//! counts and at least 98 % identity-field agreement.

use std::path::PathBuf;

use palisade_plugin_govulncheck::{Govulncheck, SCAN_TYPE};
use palisade_plugin_sdk::{Parser, testing};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/govulncheck-scanner")
}

#[test]
fn every_fixture_conforms() {
    testing::assert_dir_conforms::<Govulncheck>(SCAN_TYPE, fixtures(), 0.98);
}

#[test]
fn detect_recognises_every_fixture() {
    let candidates = [SCAN_TYPE.to_owned()];
    for (report, golden) in testing::golden_pairs(fixtures()) {
        let golden: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&golden).expect("golden")).expect("json");
        let bytes = std::fs::read(&report).expect("report");
        if golden.get("error").is_some() || bytes.len() < 16 {
            continue; // rejected or empty reports carry no signature
        }
        // A head cut mid-report (mid-token) is still recognised; small
        // reports are whole in any head.
        let cuts: &[usize] = if bytes.len() > 32_768 {
            &[256 * 1024, 16_384]
        } else {
            &[256 * 1024]
        };
        for &cut in cuts {
            let head = &bytes[..bytes.len().min(cut)];
            assert_eq!(
                Govulncheck::detect(&candidates, head).as_deref(),
                Some(SCAN_TYPE),
                "{} cut at {cut}",
                report.display()
            );
        }
    }
}

/// Prints per-file agreement (run with `--nocapture`); asserts nothing more
/// than the conformance tests do.
fn print_stats<P: palisade_plugin_sdk::Parser>(scan_type: &str, dir: PathBuf) {
    let (mut files, mut equal, mut same, mut total, mut rejected) = (0, 0, 0, 0, 0);
    for (report, golden) in testing::golden_pairs(dir) {
        let c = testing::compare_with_golden::<P>(scan_type, &report, &golden);
        files += 1;
        equal += usize::from(c.count_equal());
        if c.expected_error.is_some() {
            rejected += usize::from(c.parse_error.is_some());
        } else {
            same += c.same;
            total += c.total;
        }
        if !c.disagreements.is_empty() || !c.count_equal() || c.parse_error.is_some() {
            eprint!("{c}");
        }
    }
    let pct = if total == 0 {
        100.0
    } else {
        100.0 * same as f64 / total as f64
    };
    eprintln!(
        "STATS {scan_type}: files {files}, count-equal {equal}, fields {same}/{total} ({pct:.2}%), rejected {rejected}"
    );
}

#[test]
#[ignore = "prints per-file agreement; run with --ignored --nocapture"]
fn stats() {
    print_stats::<Govulncheck>(SCAN_TYPE, fixtures());
}
