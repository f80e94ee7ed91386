//! The fixtures against their reference goldens: equal finding counts, at
//! least 98 % identity-field agreement, rejected files rejected; and detect
//! recognises them.

use palisade_plugin_acunetix::{Acunetix, SCAN_TYPE};
use palisade_plugin_sdk::testing::DetectCheck;

palisade_plugin_sdk::conformance_tests!(Acunetix, 0.98, DetectCheck {
    skip: |name, _| name == "acunetix360_zero_finding.json",
    ..DetectCheck::ACCEPTED
}, SCAN_TYPE => "acunetix-scan");
