//! Every fixture report conforms to its DefectDojo golden: equal finding
//! counts, at least 98 % identity-field agreement, rejected files rejected.
//!
//! Two known reference errors are allowed for, and checked to be the only
//! disagreements where they occur (see the crate README):
//! - the reference keeps CxSAST's severity word "Information" verbatim,
//!   which is not a severity; we report Info;
//! - the reference cuts Checkmarx One SCA package names at the last dash
//!   ("Npm-jquery-ui-1.10.4" gives "ui"); we report "jquery-ui".

use std::path::PathBuf;

use palisade_plugin_checkmarx::{Checkmarx, SCAN_TYPE};
use palisade_plugin_sdk::testing::{self, DetectCheck};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/checkmarx-scan")
}

/// Files whose only disagreements with the golden are the "Information"
/// severity word.
const INFORMATION_WORD: [&str; 2] = [
    "many_aggregated_findings.xml",
    "multiple_findings_same_query_id.xml",
];

#[test]
fn every_fixture_conforms() {
    let mut failures = String::new();
    for (report, golden) in testing::golden_pairs(fixtures()) {
        let name = report
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let c = testing::compare_with_golden::<Checkmarx>(SCAN_TYPE, &report, &golden);
        if INFORMATION_WORD.contains(&name.as_str()) {
            let only_information = c.disagreements.iter().all(|d| {
                d.field == "severity"
                    && d.golden.trim_matches('"') == "Information"
                    && d.ours.trim_matches('"') == "Info"
            });
            if !c.count_equal() || !only_information {
                failures.push_str(&c.to_string());
            }
        } else if !c.conforms(0.98) {
            failures.push_str(&c.to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "reports that do not conform:\n{failures}"
    );
}

#[test]
fn the_other_fixtures_pass_the_standard_harness() {
    // The standard harness over a copy of the directory without the two
    // "Information" files.
    let tmp = std::env::temp_dir().join(format!("checkmarx-fixtures-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    for (report, golden) in testing::golden_pairs(fixtures()) {
        let name = report
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if INFORMATION_WORD.contains(&name) {
            continue;
        }
        for p in [&report, &golden] {
            std::fs::copy(p, tmp.join(p.file_name().expect("name"))).expect("copy");
        }
    }
    testing::assert_dir_conforms::<Checkmarx>(SCAN_TYPE, &tmp, 0.98);
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn detect_recognises_every_accepted_fixture() {
    testing::assert_dir_detected::<Checkmarx>(SCAN_TYPE, fixtures(), &DetectCheck::ACCEPTED);
}

#[test]
fn summary() {
    testing::print_dir_agreement::<Checkmarx>(SCAN_TYPE, fixtures());
}

#[test]
fn sample_report_differs_only_in_component_names() {
    let dir = fixtures();
    let c = testing::compare_with_golden::<Checkmarx>(
        SCAN_TYPE,
        dir.join("sample_report.json"),
        dir.join("sample_report.json.golden.json"),
    );
    assert!(c.count_equal(), "{c}");
    for d in &c.disagreements {
        assert!(
            d.field == "component_name" || d.field == "component_version",
            "unexpected disagreement {d:?}"
        );
    }
}
