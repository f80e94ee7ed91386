//! Hostile test guest: implements the contract's world but says it was built
//! against contract 9.0.0, so the host must refuse it. Raw bindings: the SDK
//! would fill in the right version.
#![expect(unsafe_code, reason = "wit-bindgen's generated glue is unsafe code")]

mod bindings {
    wit_bindgen::generate!({
        world: "parser",
        path: "../../../plugin-sdk/wit",
    });
}

use bindings::palisade::parser::types::{
    DedupeAlgorithm, DedupeSetting, Finding, ParseError, PluginInfo, ScanTypeInfo,
};

struct WrongVersion;

impl bindings::Guest for WrongVersion {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "wrong-version".to_owned(),
            version: "1.0.0".to_owned(),
            contract_version: "9.0.0".to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: "Wrong Version Test".to_owned(),
                description: "Claims a contract from the future".to_owned(),
                file_kinds: vec!["text".to_owned()],
                dedupe: DedupeSetting {
                    algorithm: DedupeAlgorithm::Legacy,
                    hash_fields: Vec::new(),
                    allows_null_cwe: true,
                },
            }],
        }
    }

    fn detect(_candidates: Vec<String>, _head: Vec<u8>) -> Option<String> {
        None
    }

    fn parse(
        _scan_type: String,
        _report: Vec<u8>,
        _options: Vec<(String, String)>,
    ) -> Result<Vec<Finding>, ParseError> {
        Ok(Vec::new())
    }
}

bindings::export!(WrongVersion with_types_in bindings);
