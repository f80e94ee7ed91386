//! The threat model as tests: each test names the attack it shows fails
//! (issue #13, the December 2026 security review).

mod outbound;
