//! Zipped reports: the central-directory reader and the DEFLATE decoder,
//! which must stop at their output limits (zip bombs) instead of growing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_plugin_sdk::{inflate::inflate, zip};

const LIMIT: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    if let Ok(out) = inflate(data, LIMIT) {
        assert!(out.len() <= LIMIT, "inflate went past its limit");
    }
    if zip::is_zip(data)
        && let Ok(entries) = zip::entries(data)
    {
        let total: usize = entries.iter().map(|(_, b)| b.len()).sum();
        assert!(total <= zip::MAX_EXPANDED);
    }
});
