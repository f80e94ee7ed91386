//! Every fixture report conforms to its DefectDojo golden: equal finding
//! counts and at least 98 % identity-field agreement.

use std::path::PathBuf;

use palisade_plugin_gitlab_deps::{CONTAINER, DEPENDENCY, GitlabDeps};
use palisade_plugin_sdk::{Parser, testing};

fn fixtures(slug: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(slug)
}

#[test]
fn dependency_fixtures_conform() {
    testing::assert_dir_conforms::<GitlabDeps>(
        DEPENDENCY,
        fixtures("gitlab-dependency-scanning-report"),
        0.98,
    );
}

#[test]
fn container_fixtures_conform() {
    testing::assert_dir_conforms::<GitlabDeps>(CONTAINER, fixtures("gitlab-container-scan"), 0.98);
}

#[test]
fn detect_recognises_every_fixture_as_its_own_type() {
    let candidates = [DEPENDENCY.to_owned(), CONTAINER.to_owned()];
    for (slug, scan_type) in [
        ("gitlab-dependency-scanning-report", DEPENDENCY),
        ("gitlab-container-scan", CONTAINER),
    ] {
        for (report, golden) in testing::golden_pairs(fixtures(slug)) {
            let golden: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&golden).expect("golden")).expect("json");
            if golden.get("error").is_some() {
                continue; // reports the reference rejects need not be recognised
            }
            let bytes = std::fs::read(&report).expect("report");
            if bytes.len() < 16 {
                continue; // `null` and friends carry no signature
            }
            let head = &bytes[..bytes.len().min(256 * 1024)];
            assert_eq!(
                GitlabDeps::detect(&candidates, head).as_deref(),
                Some(scan_type),
                "{}",
                report.display()
            );
        }
    }
}
