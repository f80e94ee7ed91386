//! The fixtures against their reference goldens: equal finding counts, at
//! least 98 % identity-field agreement, rejected files rejected; and detect
//! recognises them.

use palisade_plugin_sdk::testing::DetectCheck;
use palisade_plugin_semgrep::{SCAN_TYPE, Semgrep};

palisade_plugin_sdk::conformance_tests!(Semgrep, 0.98, DetectCheck::ACCEPTED, SCAN_TYPE => "semgrep-json-report");
