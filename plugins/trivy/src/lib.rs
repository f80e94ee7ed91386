//! Palisade parser plugin for Trivy's JSON reports: "Trivy Scan" (the `trivy`
//! CLI: images, file systems, repositories, Kubernetes clusters) and "Trivy
//! Operator Scan" (the custom resources of the in-cluster Trivy Operator).

use palisade_plugin_sdk::prelude::*;

pub mod operator;
pub mod trivy;

/// The `trivy` CLI's JSON report.
pub const TRIVY: &str = "Trivy Scan";
/// The Trivy Operator's custom resources.
pub const TRIVY_OPERATOR: &str = "Trivy Operator Scan";

/// The Trivy parser (both scan types).
pub struct Trivy;

impl Parser for Trivy {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "trivy",
            env!("CARGO_PKG_VERSION"),
            vec![
                ScanTypeInfo::new(
                    TRIVY,
                    "Trivy JSON report (vulnerabilities, misconfigurations, \
                                  secrets, licenses; image, fs, repo and k8s modes)",
                    &["json"],
                    DedupeSetting::hash_code(&[
                        "title",
                        "severity",
                        "vulnerability_ids",
                        "cwe",
                        "description",
                    ]),
                ),
                ScanTypeInfo::new(
                    TRIVY_OPERATOR,
                    "Trivy Operator resources (VulnerabilityReport, \
                                  ConfigAuditReport, ExposedSecretReport, \
                                  ClusterComplianceReport) as JSON",
                    &["json"],
                    DedupeSetting::hash_code(&[
                        "title",
                        "severity",
                        "vulnerability_ids",
                        "description",
                    ]),
                ),
            ],
        )
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        let wants = |t: &str| candidates.iter().any(|c| c == t);
        // The operator check comes first: its resources are unambiguous
        // (apiVersion aquasecurity.github.io), the CLI layouts less so.
        if wants(TRIVY_OPERATOR) && operator::looks_like(head) {
            return Some(TRIVY_OPERATOR.to_owned());
        }
        if wants(TRIVY) && !operator::looks_like(head) && trivy::looks_like(head) {
            return Some(TRIVY.to_owned());
        }
        None
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        match scan_type {
            TRIVY => trivy::parse(report),
            TRIVY_OPERATOR => operator::parse(report),
            other => Err(ParseError::new(format!(
                "the trivy plugin parses {TRIVY:?} and {TRIVY_OPERATOR:?}, not {other:?}"
            ))),
        }
    }
}

palisade_plugin_sdk::export_parser!(Trivy);

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(scan_type: &str, report: &str) -> Result<Vec<Finding>, ParseError> {
        Trivy::parse(scan_type, report.as_bytes(), &Options::default())
    }

    fn detect(head: &str) -> Option<String> {
        Trivy::detect(
            &[TRIVY.to_owned(), TRIVY_OPERATOR.to_owned()],
            head.as_bytes(),
        )
    }

    #[test]
    fn info_declares_both_scan_types() {
        let info = Trivy::info();
        let names: Vec<&str> = info.scan_types.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, [TRIVY, TRIVY_OPERATOR]);
        assert!(info.scan_types.iter().all(|s| s.dedupe.allows_null_cwe));
    }

    #[test]
    fn empty_reports_give_no_findings() {
        for r in ["null", "[]", r#"{"SchemaVersion": 2, "Results": []}"#] {
            assert!(parse(TRIVY, r).unwrap().is_empty(), "{r}");
        }
        assert!(
            parse(
                TRIVY_OPERATOR,
                r#"{"kind":"VulnerabilityReport","metadata":{"labels":{}},"report":{"vulnerabilities":[]}}"#
            )
            .unwrap()
            .is_empty()
        );
    }

    #[test]
    fn minimal_vulnerability_with_missing_optional_fields() {
        let f = parse(
            TRIVY,
            r#"{"SchemaVersion":2,"Results":[{"Target":"t","Vulnerabilities":[
                {"VulnerabilityID":"CVE-2020-1","PkgName":"p"},
                {"VulnerabilityID":"CVE-2020-2","PkgName":"p","Severity":"WEIRD"}]}]}"#,
        )
        .unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Info);
        assert_eq!(f[0].vulnerability_ids, ["CVE-2020-1"]);
        assert_eq!((f[0].file_path.as_deref(), f[0].cwe), (None, None));
    }

    #[test]
    fn several_targets_and_kinds() {
        let f = parse(
            TRIVY,
            r#"{"SchemaVersion":2,"Results":[
              {"Target":"img (alpine)","Class":"os-pkgs","Type":"alpine","Vulnerabilities":[
                {"VulnerabilityID":"CVE-2020-1","PkgName":"a","InstalledVersion":"1","Severity":"CRITICAL","CweIDs":["CWE-79"]}]},
              {"Target":"Dockerfile","Class":"config","Type":"dockerfile","Misconfigurations":[
                {"ID":"DS002","AVDID":"AVD-DS-0002","Title":"root","Severity":"HIGH"}]},
              {"Target":"app.env","Class":"secret","Secrets":[{"Title":"AWS","Severity":"HIGH","StartLine":3}]}]}"#,
        )
        .unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!((f[0].severity, f[0].cwe), (Severity::Critical, Some(79)));
        assert_eq!(f[0].file_path.as_deref(), Some("img (alpine)"));
        assert_eq!(f[1].vulnerability_ids, ["AVD-DS-0002"]);
        assert_eq!(
            (f[2].file_path.as_deref(), f[2].line),
            (Some("app.env"), Some(3))
        );
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for r in [
            "",
            "{",
            r#"{"SchemaVersion":2,"Results":[{"Target":"#,
            "42",
            r#"{"SchemaVersion":1,"Results":[]}"#,
            "{}",
            r#"{"matches":[]}"#,
        ] {
            assert!(parse(TRIVY, r).is_err(), "{r}");
        }
        assert!(Trivy::parse(TRIVY, b"{\"a\":\"\xff\"}", &Options::default()).is_err());
        let deep = "[".repeat(10_000);
        assert!(parse(TRIVY, &deep).is_err());
        assert!(parse(TRIVY_OPERATOR, &deep).is_err());
        assert!(parse(TRIVY_OPERATOR, r#"[["VulnerabilityReport"]]"#).is_err());
        assert!(
            parse(
                TRIVY_OPERATOR,
                r#"{"metadata":{"labels":{}},"report":{"vulnerabilities":[["CVE-1"]]}}"#
            )
            .is_err()
        );
        assert!(parse("Other", "{}").is_err());
    }

    #[test]
    fn detect_is_strict() {
        assert_eq!(
            detect(r#"{"SchemaVersion": 2, "ArtifactName": "x", "Results": ["#).as_deref(),
            Some(TRIVY)
        );
        assert_eq!(
            detect(r#"[{"Target": "debian", "Type": "debian", "Vulnerabilities": [{"#).as_deref(),
            Some(TRIVY)
        );
        assert_eq!(
            detect(
                r#"{"apiVersion": "aquasecurity.github.io/v1alpha1", "kind": "VulnerabilityReport""#
            )
            .as_deref(),
            Some(TRIVY_OPERATOR)
        );
        assert_eq!(
            detect(r#"{"matches": [], "source": {}, "distro": {}}"#),
            None
        );
        assert_eq!(
            detect(r#"{"vulnerabilities": [], "packageManager": "npm"}"#),
            None
        );
        assert_eq!(detect("<xml/>"), None);
    }
}
