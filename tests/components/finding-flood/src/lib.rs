//! Hostile test guest: `parse` returns as many findings as the report says (5000 by default),
//! and `detect` claims `ECHO` and `FLOOD` reports so detection can be made ambiguous.

use palisade_plugin_sdk::prelude::*;

/// The plugin.
pub struct FindingFlood;

const SCAN_TYPE: &str = "Finding Flood Test";

impl Parser for FindingFlood {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "finding-flood".to_owned(),
            version: "1.0.0".to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "Returns a flood of findings".to_owned(),
                file_kinds: vec!["text".to_owned()],
                dedupe: DedupeSetting::hash_code(&["title"]),
            }],
        }
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        ((head.starts_with(b"FLOOD") || head.starts_with(b"ECHO\n"))
            && candidates.iter().any(|c| c == SCAN_TYPE))
        .then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        _scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        let count = std::str::from_utf8(report)
            .ok()
            .and_then(|t| t.trim().trim_start_matches("FLOOD").trim().parse().ok())
            .unwrap_or(5000_usize);
        Ok((0..count)
            .map(|i| Finding {
                title: format!("finding {i}"),
                description: "flood".to_owned(),
                ..Finding::default()
            })
            .collect())
    }
}

export_parser!(FindingFlood);
