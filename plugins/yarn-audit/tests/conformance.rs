//! Every fixture report conforms to its DefectDojo golden: equal finding
//! counts and at least 98 % identity-field agreement.

use std::path::PathBuf;

use palisade_plugin_sdk::{Parser, testing};
use palisade_plugin_yarn_audit::{SCAN_TYPE, YarnAudit};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/yarn-audit-scan")
}

#[test]
fn every_fixture_conforms() {
    testing::assert_dir_conforms::<YarnAudit>(SCAN_TYPE, fixtures(), 0.98);
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
        if bytes.trim_ascii_start().starts_with(b"{\n  \"actions\"")
            || bytes.starts_with(b"{\"actions\"")
        {
            continue; // npm 6's layout: detected as `NPM Audit Scan`, parsed here when named
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
                YarnAudit::detect(&candidates, head).as_deref(),
                Some(SCAN_TYPE),
                "{} cut at {cut}",
                report.display()
            );
        }
    }
}
