//! The fixtures against their reference goldens: equal finding counts, at
//! least 98 % identity-field agreement, rejected files rejected; and detect
//! recognises them.

use palisade_plugin_sdk::testing::DetectCheck;
use palisade_plugin_sonarqube::{SCAN_TYPE, SonarQube};

palisade_plugin_sdk::conformance_tests!(SonarQube, 0.98, DetectCheck {
    skip: |name, _| name == "empty_zip.zip",
    ..DetectCheck::ACCEPTED
}, SCAN_TYPE => "sonarqube-scan");
