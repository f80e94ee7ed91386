//! The threat model as tests (issue #13): each submodule covers one area of
//! the December 2026 security review, each test one threat.

mod grants;
