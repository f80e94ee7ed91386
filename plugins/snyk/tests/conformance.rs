//! The fixtures against their reference goldens: equal finding counts, at
//! least 98 % identity-field agreement, rejected files rejected; and detect
//! recognises them.

use palisade_plugin_sdk::testing::DetectCheck;
use palisade_plugin_snyk::{SCAN_TYPE, Snyk};

palisade_plugin_sdk::conformance_tests!(Snyk, 0.98, DetectCheck {
    skip_rejected: false,
    cut: Some((32_768, 16_384)),
    ..DetectCheck::ACCEPTED
}, SCAN_TYPE => "snyk-scan");
