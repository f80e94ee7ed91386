//! The fixtures against their reference goldens: equal finding counts, at
//! least 98 % identity-field agreement, rejected files rejected; and detect
//! recognises them.

use palisade_plugin_sdk::testing::DetectCheck;
use palisade_plugin_trivy::{TRIVY, TRIVY_OPERATOR, Trivy};

palisade_plugin_sdk::conformance_tests!(Trivy, 0.98, DetectCheck {
    skip_rejected: false,
    min_len: 16,
    ..DetectCheck::ACCEPTED
}, TRIVY => "trivy-scan", TRIVY_OPERATOR => "trivy-operator-scan");
