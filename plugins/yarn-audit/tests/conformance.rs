//! The fixtures against their reference goldens: equal finding counts, at
//! least 98 % identity-field agreement, rejected files rejected; and detect
//! recognises them.

use palisade_plugin_sdk::testing::DetectCheck;
use palisade_plugin_yarn_audit::{SCAN_TYPE, YarnAudit};

palisade_plugin_sdk::conformance_tests!(YarnAudit, 0.98, DetectCheck {
    min_len: 16,
    // npm 6's layout: detected as `NPM Audit Scan`, parsed here when named
    skip: |_, b| b.trim_ascii_start().starts_with(b"{\n  \"actions\"") || b.starts_with(b"{\"actions\""),
    cut: Some((32_768, 16_384)),
    ..DetectCheck::ACCEPTED
}, SCAN_TYPE => "yarn-audit-scan");
