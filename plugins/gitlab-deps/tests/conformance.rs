//! The fixtures against their reference goldens: equal finding counts, at
//! least 98 % identity-field agreement, rejected files rejected; and detect
//! recognises them.

use palisade_plugin_gitlab_deps::{CONTAINER, DEPENDENCY, GitlabDeps};
use palisade_plugin_sdk::testing::DetectCheck;

palisade_plugin_sdk::conformance_tests!(GitlabDeps, 0.98, DetectCheck {
    min_len: 16,
    ..DetectCheck::ACCEPTED
}, DEPENDENCY => "gitlab-dependency-scanning-report", CONTAINER => "gitlab-container-scan");
