//! XML reports: decoding (BOM, UTF-16, declared encodings) and parsing under
//! the SDK's limits (no external entities, capped expansion).
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_plugin_sdk::xml::{descendants, parse_xml, xml_text};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = xml_text(data)
        && let Ok(doc) = parse_xml(&text)
    {
        // Walking the tree touches every node the plugins may read.
        let _ = descendants(doc.root_element(), "item").count();
    }
});
