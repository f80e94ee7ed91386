//! The fixtures against their reference goldens: equal finding counts, at
//! least 98 % identity-field agreement, rejected files rejected; and detect
//! recognises them.

use palisade_plugin_npm_audit::{NPM_AUDIT, NPM_AUDIT_V7, NpmAudit};
use palisade_plugin_sdk::testing::DetectCheck;

palisade_plugin_sdk::conformance_tests!(NpmAudit, 0.98, DetectCheck {
    min_len: 16,
    ..DetectCheck::ACCEPTED
}, NPM_AUDIT => "npm-audit-scan", NPM_AUDIT_V7 => "npm-audit-v7-scan");
