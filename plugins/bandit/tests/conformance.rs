//! The fixtures against their reference goldens: equal finding counts, at
//! least 98 % identity-field agreement, rejected files rejected; and detect
//! recognises them.

use palisade_plugin_bandit::{Bandit, SCAN_TYPE};
use palisade_plugin_sdk::testing::DetectCheck;

palisade_plugin_sdk::conformance_tests!(Bandit, 0.98, DetectCheck::ACCEPTED, SCAN_TYPE => "bandit-scan");
