//! Hostile test guest: `parse` spins forever; the host's CPU budget must stop it.

use palisade_plugin_sdk::prelude::*;

/// The plugin.
pub struct EndlessLoop;

impl Parser for EndlessLoop {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "endless-loop".to_owned(),
            version: "1.0.0".to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: "Endless Loop Test".to_owned(),
                description: "Never returns".to_owned(),
                file_kinds: vec!["text".to_owned()],
                dedupe: DedupeSetting::hash_code(&["title"]),
            }],
        }
    }

    fn parse(
        _scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        let mut counter = report.len() as u64;
        loop {
            // black_box keeps the optimiser from proving the loop useless.
            counter =
                std::hint::black_box(counter.wrapping_mul(6364136223846793005).wrapping_add(1));
            if counter == u64::MAX - 1 && std::hint::black_box(false) {
                break;
            }
        }
        Ok(Vec::new())
    }
}

export_parser!(EndlessLoop);
