//! CVSS vectors from reports: parsing, scoring and severity of v3 and v4.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_plugin_sdk::{Cvss3, Cvss4, cvss3_base_score};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(v) = Cvss3::parse(text) {
        let score = v.base_score();
        assert!((0.0..=10.0).contains(&score), "v3 score {score} out of range");
        let _ = v.severity();
        // The canonical vector reads back to the same metrics.
        assert_eq!(Cvss3::parse(&v.vector()).ok(), Some(v));
    }
    let _ = cvss3_base_score(text);
    if let Ok(v) = Cvss4::parse(text) {
        assert_eq!(Cvss4::parse(&v.vector()).ok(), Some(v));
    }
});
