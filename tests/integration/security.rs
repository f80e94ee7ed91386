//! The threat model as tests: each module answers one class of attack from
//! the December 2026 security review, and each test names the attack it
//! shows failing, against the real server over HTTP and WebSocket.

mod grants;
mod import_target;
mod limits;
mod login;
mod matrix;
mod outbound;
mod websocket;
