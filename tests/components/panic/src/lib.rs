//! Hostile test guest: `parse` panics.

use palisade_plugin_sdk::prelude::*;

/// The plugin.
pub struct Panic;

impl Parser for Panic {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "panic".to_owned(),
            version: "1.0.0".to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: "Panic Test".to_owned(),
                description: "Panics on every report".to_owned(),
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
        let index = report.len() + 10;
        // An out-of-bounds index: a real bug, not an explicit panic!().
        let byte = report[std::hint::black_box(index)];
        Ok(vec![Finding {
            title: format!("{byte}"),
            ..Finding::default()
        }])
    }
}

export_parser!(Panic);
