//! Every Dependency-Track fixture conforms to its DefectDojo golden.

use std::path::PathBuf;

use palisade_plugin_dependency_track::{DependencyTrack, SCAN_TYPE};
use palisade_plugin_sdk::{Parser, testing};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/dependency-track-finding-packaging-format-fpf-export")
}

#[test]
fn every_fixture_conforms() {
    testing::assert_dir_conforms::<DependencyTrack>(SCAN_TYPE, fixtures(), 0.98);
}

#[test]
fn detect_recognises_every_accepted_fixture() {
    let candidates = [SCAN_TYPE.to_owned()];
    for (report, golden) in testing::golden_pairs(fixtures()) {
        let golden_text = std::fs::read_to_string(&golden).expect("golden");
        if golden_text.contains("\"error\"") {
            continue;
        }
        let bytes = std::fs::read(&report).expect("report");
        let head = &bytes[..bytes.len().min(256 * 1024)];
        assert_eq!(
            DependencyTrack::detect(&candidates, head).as_deref(),
            Some(SCAN_TYPE),
            "{}",
            report.display()
        );
    }
}

/// Prints per-file agreement (run with `--nocapture`); fails on nothing by itself.
#[test]
fn summary() {
    let (mut same, mut total, mut equal, mut files) = (0, 0, 0, 0);
    for (report, golden) in testing::golden_pairs(fixtures()) {
        let c = testing::compare_with_golden::<DependencyTrack>(SCAN_TYPE, &report, &golden);
        files += 1;
        equal += usize::from(c.count_equal());
        same += c.same;
        total += c.total;
        if !c.disagreements.is_empty() || !c.count_equal() {
            eprint!("{c}");
        }
    }
    eprintln!("SUMMARY {SCAN_TYPE}: {files} files, {equal} count-equal, agreement {same}/{total}");
}
