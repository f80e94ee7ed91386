//! JSON reports: any bytes either parse or give a ParseError, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_plugin_sdk::json::{parse_json_value, starts_like_json, utf8_text};

fuzz_target!(|data: &[u8]| {
    let _ = starts_like_json(data);
    let _ = utf8_text(data);
    if let Ok(v) = parse_json_value(data) {
        // What parsed serialises again: the value is well formed.
        assert!(palisade_plugin_sdk::deps::serde_json::to_vec(&v).is_ok());
    }
});
