//! Every fixture report conforms to its DefectDojo golden: equal finding
//! counts and at least 98 % identity-field agreement.

use std::path::PathBuf;

use palisade_plugin_sdk::{Parser, testing};
use palisade_plugin_trivy::{TRIVY, TRIVY_OPERATOR, Trivy};

fn fixtures(slug: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(slug)
}

#[test]
fn trivy_fixtures_conform() {
    testing::assert_dir_conforms::<Trivy>(TRIVY, fixtures("trivy-scan"), 0.98);
}

#[test]
fn trivy_operator_fixtures_conform() {
    testing::assert_dir_conforms::<Trivy>(TRIVY_OPERATOR, fixtures("trivy-operator-scan"), 0.98);
}

#[test]
fn detect_recognises_every_fixture_as_its_own_type() {
    let candidates = [TRIVY.to_owned(), TRIVY_OPERATOR.to_owned()];
    for (slug, scan_type) in [
        ("trivy-scan", TRIVY),
        ("trivy-operator-scan", TRIVY_OPERATOR),
    ] {
        for (report, _) in testing::golden_pairs(fixtures(slug)) {
            let bytes = std::fs::read(&report).expect("report");
            if bytes.len() < 16 {
                continue; // `null` and friends carry no signature
            }
            let head = &bytes[..bytes.len().min(256 * 1024)];
            assert_eq!(
                Trivy::detect(&candidates, head).as_deref(),
                Some(scan_type),
                "{}",
                report.display()
            );
        }
    }
}
