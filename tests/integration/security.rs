//! The threat model as tests: each module answers one class of attack from
//! the December 2026 security review.

mod matrix;
