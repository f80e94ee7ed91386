use super::*;

fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
    Semgrep::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
}

#[test]
fn cli_results_are_merged_per_rule_file_and_line() {
    let f = parse(
        r#"{"results": [
        {"check_id": "a.b", "path": "x.py", "start": {"line": 3}, "extra": {"message": "m", "severity": "ERROR",
          "fingerprint": "requires login", "metadata": {"cwe": ["CWE-78: OS", "CWE-77"], "references": ["https://r"]}}},
        {"check_id": "a.b", "path": "x.py", "start": {"line": 3}, "extra": {"message": "m2", "severity": "INFO", "metadata": {}}},
        {"check_id": "a.b", "path": "x.py", "start": {"line": 4}, "extra": {"message": "m", "severity": "warning", "fingerprint": "fp", "metadata": {}}},
        {"check_id": "d", "path": "y", "start": {"line": 1}, "extra": {"message": "m", "severity": "low", "metadata": {"cwe": "CWE-352: CSRF"}}}
    ], "errors": []}"#,
    )
    .unwrap();
    assert_eq!(f.len(), 3, "repeated result merged");
    assert_eq!(f[0].nb_occurences, Some(2));
    assert_eq!((f[0].severity, f[0].cwe), (Severity::High, Some(78)));
    assert_eq!(f[0].unique_id_from_tool, None);
    assert_eq!(f[0].references.as_deref(), Some("https://r"));
    assert_eq!(
        (f[1].severity, f[1].file_path.as_deref(), f[1].line),
        (Severity::Medium, Some("x.py"), Some(4))
    );
    assert_eq!(f[1].unique_id_from_tool.as_deref(), Some("fp"));
    assert_eq!((f[2].severity, f[2].cwe), (Severity::Low, Some(352)));
}

#[test]
fn fields_the_reference_needs_are_required() {
    let good = r#"{"check_id": "c", "path": "p", "start": {"line": 1}, "extra": {"message": "m", "severity": "ERROR", "metadata": {}}}"#;
    assert_eq!(
        parse(&format!(r#"{{"results": [{good}]}}"#)).unwrap().len(),
        1
    );
    for (from, to) in [
        (r#""severity": "ERROR""#, r#""severity": "weird""#),
        (r#""severity": "ERROR""#, r#""sev": "ERROR""#),
        (r#", "metadata": {}"#, ""),
        (r#""message": "m""#, r#""msg": "m""#),
        (r#""path": "p""#, r#""file": "p""#),
        (r#""check_id": "c""#, r#""rule": "c""#),
        (r#""start": {"line": 1}"#, r#""start": {}"#),
    ] {
        let bad = good.replace(from, to);
        assert!(
            parse(&format!(r#"{{"results": [{bad}]}}"#)).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn objects_with_neither_list_have_no_findings() {
    assert!(
        parse(r#"{"version": "2.1.0", "runs": []}"#)
            .unwrap()
            .is_empty()
    );
    assert!(parse(r#"{"results": null}"#).is_err());
}

#[test]
fn supply_chain_listing() {
    let f = parse(
        r#"{"vulns": [{"title": "T", "repositoryId": "12", "advisory": {"severity": "CRITICAL",
        "references": {"cveIds": ["CVE-2023-1"], "cweIds": ["CWE-639: x"]}},
        "dependencyFileLocation": {"path": "package-lock.json", "startLine": "22"}}], "hasMore": false}"#,
    )
    .unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::Critical);
    assert_eq!((f[0].cwe, f[0].line), (Some(639), Some(22)));
    assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some("12"));
}

#[test]
fn empty_report() {
    assert!(
        parse(r#"{"results": [], "errors": []}"#)
            .unwrap()
            .is_empty()
    );
    assert!(
        parse(r#"{"vulns": [], "hasMore": false}"#)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn rejects_bad_input() {
    for bad in ["", "[]", "{\"results\": [", r#"{"results": {"a": 1}}"#] {
        assert!(parse(bad).is_err(), "{bad}");
    }
    let e =
        Semgrep::parse(SCAN_TYPE, b"{\"results\": [\"\xff\"]}", &Options::default()).unwrap_err();
    assert!(e.message.to_lowercase().contains("utf-8"), "{}", e.message);
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    assert!(parse(&deep).is_err());
}

#[test]
fn detect_is_strict() {
    let c = [SCAN_TYPE.to_owned()];
    assert!(Semgrep::detect(&c, br#"{"results": [], "errors": []}"#).is_some());
    assert!(Semgrep::detect(&c, br#"{"results": [{"check_id": "x", "extra": {"#).is_some());
    assert!(Semgrep::detect(&c, br#"{"results": [], "errors": [], "metrics": {}}"#).is_none());
    assert!(Semgrep::detect(&c, br#"{"errors": [], "generated_at": "x", "results": [{"code": "1", "test_id": "B101"}]}"#).is_none());
    assert!(Semgrep::detect(&c, br#"{"version": "2.1.0", "runs": []}"#).is_none());
}
