//! The fixtures against their reference goldens: equal finding counts, at
//! least 98 % identity-field agreement, rejected files rejected; and detect
//! recognises them.

use palisade_plugin_cargo_audit::{CargoAudit, SCAN_TYPE};
use palisade_plugin_sdk::testing::DetectCheck;

palisade_plugin_sdk::conformance_tests!(CargoAudit, 0.98, DetectCheck {
    min_len: 16,
    cut: Some((32_768, 16_384)),
    ..DetectCheck::ACCEPTED
}, SCAN_TYPE => "cargoaudit-scan");
