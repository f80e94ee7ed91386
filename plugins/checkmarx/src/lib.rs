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
        PluginInfo {
            name: "checkmarx".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "Checkmarx CxSAST XML report or Checkmarx JSON report".to_owned(),
                file_kinds: vec!["xml".to_owned(), "json".to_owned()],
                dedupe: DedupeSetting {
                    algorithm: DedupeAlgorithm::HashCode,
                    hash_fields: ["cwe", "severity", "file_path"]
                        .iter()
                        .map(|s| (*s).to_owned())
                        .collect(),
                    allows_null_cwe: false,
                },
            }],
        }
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        if !candidates.iter().any(|c| c == SCAN_TYPE) {
            return None;
        }
        (xml_report::looks_like(head) || json_report::looks_like(head))
            .then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        if scan_type != SCAN_TYPE {
            return Err(ParseError::new(format!(
                "the checkmarx plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
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

/// Checkmarx severities: High, Medium, Low, Info/Information, and Critical
/// in the JSON report.
pub(crate) fn severity(word: Option<&str>) -> Severity {
    word.and_then(severity_from_word).unwrap_or(Severity::Info)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
