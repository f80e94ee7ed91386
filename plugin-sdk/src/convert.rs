//! Conversions between the SDK's types and the generated bindings.

use crate::bindings::palisade::parser::types as wit;
use crate::{
    DedupeAlgorithm, Endpoint, Finding, LogLevel, Options, ParseError, Parser, PluginInfo, Severity,
};

/// Entry point behind the exported `info`.
pub fn info<P: Parser>() -> wit::PluginInfo {
    let PluginInfo {
        name,
        version,
        scan_types,
    } = P::info();
    wit::PluginInfo {
        name,
        version,
        contract_version: crate::CONTRACT_VERSION.to_owned(),
        scan_types: scan_types
            .into_iter()
            .map(|s| wit::ScanTypeInfo {
                name: s.name,
                description: s.description,
                file_kinds: s.file_kinds,
                dedupe: wit::DedupeSetting {
                    algorithm: match s.dedupe.algorithm {
                        DedupeAlgorithm::HashCode => wit::DedupeAlgorithm::HashCode,
                        DedupeAlgorithm::UniqueIdFromTool => wit::DedupeAlgorithm::UniqueIdFromTool,
                        DedupeAlgorithm::UniqueIdFromToolOrHashCode => {
                            wit::DedupeAlgorithm::UniqueIdFromToolOrHashCode
                        }
                        DedupeAlgorithm::Legacy => wit::DedupeAlgorithm::Legacy,
                    },
                    hash_fields: s.dedupe.hash_fields,
                    allows_null_cwe: s.dedupe.allows_null_cwe,
                },
            })
            .collect(),
    }
}

/// Entry point behind the exported `detect`.
#[expect(
    clippy::needless_pass_by_value,
    reason = "mirrors the generated Guest signature"
)]
pub fn detect<P: Parser>(candidates: Vec<String>, head: Vec<u8>) -> Option<String> {
    // The host asks every plugin; one that handles none of the candidates
    // need not look at the head.
    let info = P::info();
    if !candidates.iter().any(|c| info.handles(c)) {
        return None;
    }
    P::detect(&candidates, &head)
}

/// Refuses a scan type `P` does not declare, so no plugin checks it itself.
pub(crate) fn check_scan_type<P: Parser>(scan_type: &str) -> Result<(), ParseError> {
    let info = P::info();
    if info.handles(scan_type) {
        return Ok(());
    }
    let declared: Vec<String> = info
        .scan_types
        .iter()
        .map(|s| format!("{:?}", s.name))
        .collect();
    Err(ParseError::new(format!(
        "the {} plugin parses only {}, not {scan_type:?}",
        info.name,
        declared.join(" or ")
    )))
}

/// Entry point behind the exported `parse`.
#[expect(
    clippy::needless_pass_by_value,
    reason = "mirrors the generated Guest signature"
)]
pub fn parse<P: Parser>(
    scan_type: String,
    report: Vec<u8>,
    options: Vec<(String, String)>,
) -> Result<Vec<wit::Finding>, wit::ParseError> {
    let options = Options(options);
    match check_scan_type::<P>(&scan_type).and_then(|()| P::parse(&scan_type, &report, &options)) {
        Ok(findings) => {
            drop(report);
            Ok(findings.into_iter().map(finding).collect())
        }
        Err(e) => Err(wit::ParseError {
            message: e.message,
            location: e.location.map(|l| wit::ReportLocation {
                line: l.line,
                column: l.column,
                path: l.path,
            }),
        }),
    }
}

fn severity(s: Severity) -> wit::Severity {
    match s {
        Severity::Critical => wit::Severity::Critical,
        Severity::High => wit::Severity::High,
        Severity::Medium => wit::Severity::Medium,
        Severity::Low => wit::Severity::Low,
        Severity::Info => wit::Severity::Info,
    }
}

fn endpoint(e: Endpoint) -> wit::Endpoint {
    wit::Endpoint {
        protocol: e.protocol,
        userinfo: e.userinfo,
        host: e.host,
        port: e.port,
        path: e.path,
        query: e.query,
        fragment: e.fragment,
    }
}

fn finding(f: Finding) -> wit::Finding {
    wit::Finding {
        title: f.title,
        severity: severity(f.severity),
        description: f.description,
        mitigation: f.mitigation,
        impact: f.impact,
        references: f.references,
        steps_to_reproduce: f.steps_to_reproduce,
        severity_justification: f.severity_justification,
        cwe: f.cwe,
        extra_cwes: f.extra_cwes,
        vulnerability_ids: f.vulnerability_ids,
        cvssv3: f.cvssv3,
        cvssv3_score: f.cvssv3_score,
        cvssv4: f.cvssv4,
        cvssv4_score: f.cvssv4_score,
        epss_score: f.epss_score,
        epss_percentile: f.epss_percentile,
        known_exploited: f.known_exploited,
        file_path: f.file_path,
        line: f.line,
        component_name: f.component_name,
        component_version: f.component_version,
        fix_available: f.fix_available,
        fix_version: f.fix_version,
        unique_id_from_tool: f.unique_id_from_tool,
        vuln_id_from_tool: f.vuln_id_from_tool,
        static_finding: f.static_finding,
        dynamic_finding: f.dynamic_finding,
        endpoints: f.endpoints.into_iter().map(endpoint).collect(),
        param: f.param,
        payload: f.payload,
        date: f.date,
        service: f.service,
        tags: f.tags,
        active: f.active,
        verified: f.verified,
        false_p: f.false_p,
        out_of_scope: f.out_of_scope,
        risk_accepted: f.risk_accepted,
        is_mitigated: f.is_mitigated,
        mitigated: f.mitigated,
        nb_occurences: f.nb_occurences,
        extra: f.extra,
    }
}

impl From<LogLevel> for wit::LogLevel {
    fn from(l: LogLevel) -> Self {
        match l {
            LogLevel::Trace => wit::LogLevel::Trace,
            LogLevel::Debug => wit::LogLevel::Debug,
            LogLevel::Info => wit::LogLevel::Info,
            LogLevel::Warn => wit::LogLevel::Warn,
            LogLevel::Error => wit::LogLevel::Error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DedupeSetting, ScanTypeInfo};

    struct Two;

    impl Parser for Two {
        fn info() -> PluginInfo {
            let st = |n: &str| ScanTypeInfo::new(n, "", &["json"], DedupeSetting::default());
            PluginInfo::new("two", "1", vec![st("A Scan"), st("B Scan")])
        }
        fn detect(_: &[String], _: &[u8]) -> Option<String> {
            Some("A Scan".to_owned())
        }
        fn parse(_: &str, _: &[u8], _: &Options) -> Result<Vec<Finding>, ParseError> {
            Ok(vec![Finding::default()])
        }
    }

    #[test]
    fn scan_types_not_declared_are_refused() {
        assert!(check_scan_type::<Two>("B Scan").is_ok());
        let e = check_scan_type::<Two>("Other").unwrap_err();
        assert_eq!(
            e.message,
            r#"the two plugin parses only "A Scan" or "B Scan", not "Other""#
        );
        assert!(parse::<Two>("Other".to_owned(), vec![], vec![]).is_err());
        assert_eq!(
            parse::<Two>("A Scan".to_owned(), vec![], vec![])
                .map(|f| f.len())
                .ok(),
            Some(1)
        );
    }

    #[test]
    fn detect_skips_plugins_of_other_scan_types() {
        assert_eq!(
            detect::<Two>(vec!["Other".to_owned()], b"{}".to_vec()),
            None
        );
        assert_eq!(
            detect::<Two>(
                vec!["Other".to_owned(), "B Scan".to_owned()],
                b"{}".to_vec()
            )
            .as_deref(),
            Some("A Scan")
        );
    }
}
