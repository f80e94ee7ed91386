//! The fixtures against their reference goldens: equal finding counts, at
//! least 98 % identity-field agreement, rejected files rejected; and detect
//! recognises them.

use palisade_plugin_osv::{Osv, SCAN_TYPE};
use palisade_plugin_sdk::testing::DetectCheck;

palisade_plugin_sdk::conformance_tests!(Osv, 0.98, DetectCheck {
    min_len: 16,
    cut: Some((32_768, 16_384)),
    ..DetectCheck::ACCEPTED
}, SCAN_TYPE => "osv-scan");
