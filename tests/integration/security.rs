//! The threat model as tests: one submodule per area of the December 2026
//! security review, each test named after the threat it covers.

mod login;
mod websocket;
