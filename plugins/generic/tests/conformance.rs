//! Every fixture report conforms to its DefectDojo golden: equal finding
//! counts, at least 98 % identity-field agreement, rejected files rejected.

use std::path::PathBuf;

use palisade_plugin_generic::{Generic, SCAN_TYPE};
use palisade_plugin_sdk::testing::{self, DetectCheck};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/generic-findings-import")
}

palisade_plugin_sdk::conformance_tests!(Generic, 0.98, DetectCheck {
    // A head cut inside the report (past the first finding) is still recognised.
    cut: Some((2048, 2000)),
    ..DetectCheck::ACCEPTED
}, SCAN_TYPE => "generic-findings-import");

#[test]
fn fixtures_cover_both_formats_and_rejections() {
    let pairs = testing::golden_pairs(fixtures());
    assert!(
        pairs
            .iter()
            .any(|(r, _)| r.extension().is_some_and(|e| e == "csv"))
    );
    assert!(
        pairs
            .iter()
            .any(|(r, _)| r.extension().is_some_and(|e| e == "json"))
    );
    let rejected = pairs
        .iter()
        .filter(|(r, g)| {
            testing::compare_with_golden::<Generic>(SCAN_TYPE, r, g)
                .expected_error
                .is_some()
        })
        .count();
    assert!(rejected >= 2, "expected some files the parser must reject");
}

#[test]
fn one_fixture_in_detail() {
    let dir = fixtures();
    let c = testing::compare_with_golden::<Generic>(
        SCAN_TYPE,
        dir.join("generic_report3.json"),
        dir.join("generic_report3.json.golden.json"),
    );
    assert!(c.count_equal(), "{c}");
    assert_eq!(c.agreement(), 1.0, "{c}");
    testing::assert_conforms::<Generic>(
        SCAN_TYPE,
        dir.join("generic_report3.csv"),
        dir.join("generic_report3.csv.golden.json"),
        1.0,
    );
}
