//! The fixtures against their reference goldens: equal finding counts, at
//! least 98 % identity-field agreement, rejected files rejected; and detect
//! recognises them.

use palisade_plugin_gosec::{Gosec, SCAN_TYPE};
use palisade_plugin_sdk::testing::DetectCheck;

palisade_plugin_sdk::conformance_tests!(Gosec, 0.98, DetectCheck::ACCEPTED, SCAN_TYPE => "gosec-scanner");
