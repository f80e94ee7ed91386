//! Palisade parser plugin for Checkmarx reports, scan type "Checkmarx Scan".
//!
//! Two formats share the scan type:
//! - the CxSAST XML report (`<CxXMLResults>` with `<Query>` and `<Result>`
//!   elements; see [`xml_report`]): results are aggregated per CWE,
//!   severity and sink file, as the reference does by default, or one finding
//!   per result with the option `mode=detailed`;
//! - the Checkmarx JSON report (`scanResults` with `sast`, `sca` and
//!   `kics` engines; see [`json_report`]): one finding per vulnerability.

use palisade_plugin_sdk::prelude::*;

pub mod json_report;
pub mod xml_report;

/// The scan type this plugin handles.
pub const SCAN_TYPE: &str = "Checkmarx Scan";

/// The Checkmarx parser.
pub struct Checkmarx;

impl Parser for Checkmarx {
    fn info() -> PluginInfo {
        PluginInfo::single(
            "checkmarx",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "Checkmarx CxSAST XML report or Checkmarx JSON report",
                &["xml", "json"],
                DedupeSetting::hash_code(&["cwe", "severity", "file_path"]).requiring_cwe(),
            ),
        )
    }

    fn detect(_candidates: &[String], head: &[u8]) -> Option<String> {
        (xml_report::looks_like(head) || json_report::looks_like(head))
            .then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        _scan_type: &str,
        report: &[u8],
        options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        let detailed = options
            .get("mode")
            .is_some_and(|m| m.eq_ignore_ascii_case("detailed"));
        if palisade_plugin_sdk::json::starts_like_json(report) {
            json_report::parse(report)
        } else if report.iter().all(u8::is_ascii_whitespace) {
            Err(ParseError::new(
                "the report is empty: expected a CxSAST XML report (<CxXMLResults>) \
                 or a Checkmarx JSON report",
            ))
        } else {
            xml_report::parse(report, detailed)
        }
    }
}

palisade_plugin_sdk::export_parser!(Checkmarx);

#[cfg(test)]
mod tests;
