//! The threat model as tests: each test names the attack it shows failing,
//! against the real server over HTTP and WebSocket.

mod import_target;
mod limits;
