use super::*;

fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
    Sarif::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
}

const RULES: &str = r#"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "T", "rules": [
  {"id": "R1", "shortDescription": {"text": "short"}, "defaultConfiguration": {"level": "error"},
   "properties": {"tags": ["security", "external/cwe/cwe-79"]},
   "messageStrings": {"m": {"text": "Use of {0} in {1}."}}},
  {"id": "CVE-2021-44228-log4j", "properties": {"security-severity": "9.8"}}
]}},
 "artifacts": [{"location": {"uri": "src/a.c"}}],
 "results": [
  {"ruleId": "R1", "message": {"id": "m", "arguments": ["gets", "main"]},
   "locations": [{"physicalLocation": {"artifactLocation": {"index": 0}, "region": {"startLine": 7}}},
                 {"physicalLocation": {"artifactLocation": {"uri": "b.c"}, "region": {"byteOffset": 3}}}],
   "partialFingerprints": {"z": "1", "a": "2"}},
  {"ruleIndex": 1, "message": {"text": "log4shell"}, "fingerprints": {"second": "x", "first": {"value": "y"}},
   "suppressions": [{"kind": "inSource"}]},
  {"ruleId": "R1", "kind": "pass", "message": {"text": "ok"}},
  {"ruleId": "unknown", "level": "note", "message": {"text": "n"}, "properties": {"cwe": "CWE-200: exposure"}}
]}]}"#;

#[test]
fn results_rules_locations_and_fingerprints() {
    let f = parse(RULES).unwrap();
    assert_eq!(f.len(), 4);
    assert_eq!(f[0].title, "Use of gets in main.");
    assert_eq!(f[0].severity, Severity::High);
    assert_eq!(f[0].cwe, Some(79));
    assert_eq!(
        (f[0].file_path.as_deref(), f[0].line),
        (Some("src/a.c"), Some(7))
    );
    assert_eq!((f[1].file_path.as_deref(), f[1].line), (Some("b.c"), None));
    assert_eq!(f[0].unique_id_from_tool.as_deref(), Some("a:2|z:1"));
    assert_eq!(f[2].severity, Severity::Critical);
    assert_eq!(f[2].vulnerability_ids, ["CVE-2021-44228"]);
    assert_eq!(f[2].unique_id_from_tool.as_deref(), Some("x"));
    assert_eq!(
        f[2].vuln_id_from_tool.as_deref(),
        Some("CVE-2021-44228-log4j")
    );
    assert_eq!((f[2].active, f[2].false_p), (Some(false), Some(true)));
    assert_eq!(f[3].severity, Severity::Info);
    assert_eq!(f[3].cwe, Some(200));
    assert_eq!(f[3].file_path, None);
}

#[test]
fn empty_runs_and_no_results() {
    assert!(
        parse(r#"{"version": "2.1.0", "runs": []}"#)
            .unwrap()
            .is_empty()
    );
    assert!(
        parse(r#"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}}]}"#)
            .unwrap()
            .is_empty()
    );
    assert!(parse(r#"{"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": []}]}"#).unwrap().is_empty());
}

#[test]
fn unusual_levels_default_to_medium() {
    let f = parse(
        r#"{"version": "2.1.0", "runs": [{"tool": {"driver": {}}, "results": [
        {"level": "weird", "message": {"text": "a"}}, {"level": "none", "message": {}}]}]}"#,
    )
    .unwrap();
    assert_eq!(f[0].severity, Severity::Medium);
    assert_eq!(f[1].severity, Severity::Info);
    assert!(!f[1].title.is_empty());
}

#[test]
fn rejects_what_is_not_sarif() {
    for bad in [
        "",
        "[]",
        "{\"version\": \"2.1.0\", \"runs\": [",
        r#"{"results": [], "errors": []}"#,
        r#"{"version": "2.1.0"}"#,
        r#"{"version": "2.1.0", "runs": {"a": 1}}"#,
    ] {
        let e = parse(bad).unwrap_err();
        assert!(!e.message.is_empty(), "{bad}");
    }
    let e = Sarif::parse(
        SCAN_TYPE,
        b"{\"version\": \"2.1.0\", \"runs\": [\xff]}",
        &Options::default(),
    )
    .unwrap_err();
    assert!(e.message.to_lowercase().contains("utf-8"), "{}", e.message);
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    assert!(parse(&deep).is_err());
    assert!(Sarif::parse("Other", b"{}", &Options::default()).is_err());
}

#[test]
fn detect_is_strict() {
    let c = [SCAN_TYPE.to_owned()];
    assert!(Sarif::detect(&c, RULES.as_bytes()).is_some());
    assert!(Sarif::detect(&c, &RULES.as_bytes()[..60]).is_some());
    assert!(
        Sarif::detect(
            &c,
            br#"{"results": [{"check_id": "x"}], "version": "1.2.0"}"#
        )
        .is_none()
    );
    assert!(Sarif::detect(&c, br#"{"version": "15.0.4", "vulnerabilities": []}"#).is_none());
    assert!(Sarif::detect(&["Other".to_owned()], RULES.as_bytes()).is_none());
}
