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
    print_stats::<GitlabDeps>(DEPENDENCY, fixtures("gitlab-dependency-scanning-report"));
    print_stats::<GitlabDeps>(CONTAINER, fixtures("gitlab-container-scan"));
}
