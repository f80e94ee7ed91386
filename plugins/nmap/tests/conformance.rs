//! Every fixture report conforms to its DefectDojo golden: equal finding
//! counts, at least 98 % identity-field agreement, rejected files rejected;
//! and detect recognises every accepted fixture.

use std::path::PathBuf;

use palisade_plugin_nmap::Nmap;
use palisade_plugin_sdk::{Parser, testing};

fn fixtures(slug: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(slug)
}

#[test]
fn nmap_scan_conforms() {
    testing::assert_dir_conforms::<Nmap>("Nmap Scan", fixtures("nmap-scan"), 0.98);
}

#[test]
fn nmap_scan_detected() {
    let candidates = ["Nmap Scan".to_owned()];
    for (report, golden) in testing::golden_pairs(fixtures("nmap-scan")) {
        let golden_text = std::fs::read_to_string(&golden).expect("golden");
        if golden_text.contains("\"error\"") {
            continue;
        }
        let bytes = std::fs::read(&report).expect("report");
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let head = &bytes[..bytes.len().min(256 * 1024)];
        assert_eq!(
            <Nmap as Parser>::detect(&candidates, head).as_deref(),
            Some("Nmap Scan"),
            "{}",
            report.display()
        );
    }
}

#[test]
fn agreement_summary() {
    // Run with --nocapture to see per-file agreement.
    for slug in ["nmap-scan"] {
        for (report, golden) in testing::golden_pairs(fixtures(slug)) {
            let g: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&golden).expect("golden"))
                    .expect("json");
            let st = g
                .get("scan_type")
                .and_then(|v| v.as_str())
                .unwrap_or("Nmap Scan")
                .to_owned();
            let c = testing::compare_with_golden::<Nmap>(&st, &report, &golden);
            eprintln!(
                "AGREEMENT {slug} {} golden={} ours={} count_equal={} agreement={:.4} rejected={}",
                report
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default(),
                c.golden_count,
                c.our_count,
                c.count_equal(),
                c.agreement(),
                c.expected_error.is_some()
            );
        }
    }
}
