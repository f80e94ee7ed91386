//! Every fixture report conforms to its DefectDojo golden: equal finding
//! counts and at least 98 % identity-field agreement.

use std::path::PathBuf;

use palisade_plugin_osv::{Osv, SCAN_TYPE};
use palisade_plugin_sdk::{Parser, testing};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/osv-scan")
}

#[test]
fn every_fixture_conforms() {
    testing::assert_dir_conforms::<Osv>(SCAN_TYPE, fixtures(), 0.98);
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
                Osv::detect(&candidates, head).as_deref(),
                Some(SCAN_TYPE),
                "{} cut at {cut}",
                report.display()
            );
        }
    }
}
