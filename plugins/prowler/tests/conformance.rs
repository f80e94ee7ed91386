//! The fixtures against their reference goldens: equal finding counts, at
//! least 98 % identity-field agreement, rejected files rejected; and detect
//! recognises them.

use palisade_plugin_prowler::{Prowler, SCAN_TYPE};
use palisade_plugin_sdk::testing::DetectCheck;

palisade_plugin_sdk::conformance_tests!(Prowler, 0.98, DetectCheck {
    skip_without_findings: true,
    ..DetectCheck::ACCEPTED
}, SCAN_TYPE => "prowler-scan");
