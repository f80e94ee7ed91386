//! Hostile test guest: `parse` allocates 16 MiB blocks until the host refuses.

use palisade_plugin_sdk::prelude::*;

/// The plugin.
pub struct MemoryBomb;

impl Parser for MemoryBomb {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "memory-bomb".to_owned(),
            version: "1.0.0".to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: "Memory Bomb Test".to_owned(),
                description: "Allocates without bound".to_owned(),
                file_kinds: vec!["text".to_owned()],
                dedupe: DedupeSetting::hash_code(&["title"]),
            }],
        }
    }

    fn parse(
        _scan_type: &str,
        _report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        let mut blocks: Vec<Vec<u8>> = Vec::new();
        loop {
            // Touch every block so no allocator trick can leave it unmapped.
            blocks.push(vec![0xA5; 16 << 20]);
            std::hint::black_box(&blocks);
            if blocks.len() == usize::MAX {
                break;
            }
        }
        Ok(Vec::new())
    }
}

export_parser!(MemoryBomb);
