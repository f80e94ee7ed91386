//! Every fixture report conforms to its DefectDojo golden: equal finding
//! counts, at least 98 % identity-field agreement, rejected files rejected.

use std::path::PathBuf;

use palisade_plugin_prowler::{Prowler, SCAN_TYPE};
use palisade_plugin_sdk::{Parser, testing};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/prowler-scan")
}

#[test]
fn every_fixture_conforms() {
    testing::assert_dir_conforms::<Prowler>(SCAN_TYPE, fixtures(), 0.98);
}

#[test]
fn detect_recognises_every_fixture_with_findings() {
    let candidates = [SCAN_TYPE.to_owned()];
    for (report, golden) in testing::golden_pairs(fixtures()) {
        let golden_text = std::fs::read_to_string(&golden).expect("golden");
        if golden_text.contains("\"error\"") || golden_text.contains("\"findings\": []") {
            continue;
        }
        let bytes = std::fs::read(&report).expect("report");
        let head = &bytes[..bytes.len().min(256 * 1024)];
        assert_eq!(
            Prowler::detect(&candidates, head).as_deref(),
            Some(SCAN_TYPE),
            "{}",
            report.display()
        );
    }
}

/// Prints per-file agreement (run with `--nocapture`); never fails by itself.
#[test]
fn agreement_summary() {
    for (report, golden) in testing::golden_pairs(fixtures()) {
        let c = testing::compare_with_golden::<Prowler>(SCAN_TYPE, &report, &golden);
        eprintln!(
            "{}: ours {} golden {} agreement {}/{} rejected {}",
            report.display(),
            c.our_count,
            c.golden_count,
            c.same,
            c.total,
            c.parse_error.is_some()
        );
    }
}
