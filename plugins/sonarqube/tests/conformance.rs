//! Every fixture report conforms to its DefectDojo golden: equal finding
//! counts, at least 98 % identity-field agreement, rejected files rejected.

use std::path::PathBuf;

use palisade_plugin_sdk::{Parser, testing};
use palisade_plugin_sonarqube::{SCAN_TYPE, SonarQube};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/sonarqube-scan")
}

#[test]
fn every_fixture_conforms() {
    testing::assert_dir_conforms::<SonarQube>(SCAN_TYPE, fixtures(), 0.98);
}

#[test]
fn detect_recognises_every_accepted_fixture() {
    let candidates = [SCAN_TYPE.to_owned()];
    for (report, golden) in testing::golden_pairs(fixtures()) {
        let golden_text = std::fs::read_to_string(&golden).expect("golden");
        // An archive holding no report (empty_zip.zip) has nothing to
        // recognise it by; detect rightly declines it.
        if golden_text.contains("\"error\"") || report.ends_with("empty_zip.zip") {
            continue;
        }
        let bytes = std::fs::read(&report).expect("report");
        let head = &bytes[..bytes.len().min(256 * 1024)];
        assert_eq!(
            SonarQube::detect(&candidates, head).as_deref(),
            Some(SCAN_TYPE),
            "{}",
            report.display()
        );
    }
}

#[test]
fn summary() {
    for (report, golden) in testing::golden_pairs(fixtures()) {
        let c = testing::compare_with_golden::<SonarQube>(SCAN_TYPE, &report, &golden);
        eprintln!(
            "SUMMARY {} count_equal={} ours={} golden={} agreement={:.4} same={} total={} rejected={}",
            report
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default(),
            c.count_equal(),
            c.our_count,
            c.golden_count,
            c.agreement(),
            c.same,
            c.total,
            c.parse_error.is_some()
        );
    }
}
