//! CSV exports: any bytes read as a table or give a ParseError.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_plugin_sdk::csv::read_csv;

fuzz_target!(|data: &[u8]| {
    if let Ok(table) = read_csv(data) {
        let headers = table.headers().to_vec();
        for row in table.rows() {
            for h in &headers {
                let _ = row.get(h);
            }
        }
    }
});
