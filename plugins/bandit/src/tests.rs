use super::*;

fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
    Bandit::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
}

#[test]
fn results_with_missing_optional_fields() {
    let f = parse(
        r#"{"generated_at": "2020-12-30T10:03:39Z", "results": [
        {"filename": "a.py", "issue_severity": "HIGH", "issue_text": "t", "line_number": 2, "test_id": "B602",
         "test_name": "subprocess_popen_with_shell_equals_true", "issue_cwe": {"id": 78, "link": "x"}},
        {"issue_severity": "UNDEFINED"},
        {"issue_severity": "MEDIUM", "line_number": "7", "test_id": "B101"}
    ]}"#,
    )
    .unwrap();
    assert_eq!(f.len(), 3);
    assert_eq!(
        (f[0].severity, f[0].cwe, f[0].line),
        (Severity::High, Some(78), Some(2))
    );
    assert_eq!(
        f[0].vuln_id_from_tool.as_deref(),
        Some("subprocess_popen_with_shell_equals_true:B602")
    );
    assert_eq!(f[0].date.as_deref(), Some("2020-12-30"));
    assert_eq!(
        (f[1].severity, f[1].file_path.as_deref(), f[1].line),
        (Severity::Info, None, None)
    );
    assert!(!f[1].title.is_empty());
    assert_eq!(
        (f[2].line, f[2].vuln_id_from_tool.as_deref()),
        (Some(7), Some("B101"))
    );
}

#[test]
fn empty_report() {
    assert!(
        parse(r#"{"errors": [], "generated_at": "x", "metrics": {}, "results": []}"#)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn rejects_bad_input() {
    for bad in [
        "",
        "[]",
        "{\"results\": [",
        r#"{"version": "2.1.0", "runs": []}"#,
        r#"{"results": 3}"#,
    ] {
        assert!(parse(bad).is_err(), "{bad}");
    }
    let e =
        Bandit::parse(SCAN_TYPE, b"{\"results\": [\"\xff\"]}", &Options::default()).unwrap_err();
    assert!(e.message.to_lowercase().contains("utf-8"), "{}", e.message);
    let deep = format!("{{\"results\": {}{}}}", "[".repeat(5000), "]".repeat(5000));
    assert!(parse(&deep).is_err());
    assert!(Bandit::parse("SARIF", b"{}", &Options::default()).is_err());
}

#[test]
fn detect_is_strict() {
    let c = [SCAN_TYPE.to_owned()];
    assert!(
        Bandit::detect(
            &c,
            br#"{"errors": [], "generated_at": "x", "metrics": {"_totals": {"CONFIDENCE.HIGH": 0"#
        )
        .is_some()
    );
    assert!(Bandit::detect(&c, br#"{"results": [], "errors": []}"#).is_none());
    assert!(
        Bandit::detect(
            &c,
            br#"{"Golang errors": {}, "Issues": [{"rule_id": "G101"}]}"#
        )
        .is_none()
    );
    assert!(
        Bandit::detect(
            &["SARIF".to_owned()],
            br#"{"generated_at": "x", "results": [{"test_id": "B1"}]}"#
        )
        .is_none()
    );
}
