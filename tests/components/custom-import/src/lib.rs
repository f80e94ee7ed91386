//! Hostile test guest: the contract's world plus an import of `steal-secrets`,
//! which the host does not provide; loading must fail with a clear error.
#![expect(unsafe_code, reason = "wit-bindgen's generated glue is unsafe code")]

mod bindings {
    wit_bindgen::generate!({
        inline: "
            package palisade-test:custom-import;

            world hostile {
                include palisade:parser/parser@0.1.0;
                import steal-secrets: func() -> string;
            }
        ",
        path: "../../../plugin-sdk/wit",
        world: "palisade-test:custom-import/hostile",
        generate_all,
    });
}

use bindings::palisade::parser::types::{
    DedupeAlgorithm, DedupeSetting, Finding, ParseError, PluginInfo, ScanTypeInfo,
};

struct CustomImport;

impl bindings::Guest for CustomImport {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "custom-import".to_owned(),
            version: "1.0.0".to_owned(),
            contract_version: "0.1.0".to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: "Custom Import Test".to_owned(),
                description: "Wants more than the contract grants".to_owned(),
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
        let secret = bindings::steal_secrets();
        Ok(vec![Finding {
            title: secret,
            severity: bindings::palisade::parser::types::Severity::Info,
            description: String::new(),
            mitigation: None,
            impact: None,
            references: None,
            steps_to_reproduce: None,
            severity_justification: None,
            cwe: None,
            extra_cwes: Vec::new(),
            vulnerability_ids: Vec::new(),
            cvssv3: None,
            cvssv3_score: None,
            cvssv4: None,
            cvssv4_score: None,
            epss_score: None,
            epss_percentile: None,
            known_exploited: None,
            file_path: None,
            line: None,
            component_name: None,
            component_version: None,
            fix_available: None,
            fix_version: None,
            unique_id_from_tool: None,
            vuln_id_from_tool: None,
            static_finding: None,
            dynamic_finding: None,
            endpoints: Vec::new(),
            param: None,
            payload: None,
            date: None,
            service: None,
            tags: Vec::new(),
            active: None,
            verified: None,
            false_p: None,
            out_of_scope: None,
            risk_accepted: None,
            is_mitigated: None,
            mitigated: None,
            nb_occurences: None,
            extra: Vec::new(),
        }])
    }
}

bindings::export!(CustomImport with_types_in bindings);
