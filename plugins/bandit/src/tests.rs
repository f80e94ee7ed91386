use super::*;

fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
    Bandit::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
}

const ONE: &str = r#"{"filename": "a.py", "issue_severity": "HIGH", "issue_text": "t", "line_number": 2,
    "test_id": "B602", "test_name": "subprocess_popen_with_shell_equals_true", "issue_confidence": "HIGH",
    "issue_cwe": {"id": 78, "link": "x"}, "code": "x = 1"}"#;

#[test]
fn results_and_identity_fields() {
    let f = parse(&format!(
        r#"{{"generated_at": "2020-12-30T10:03:39Z", "results": [{ONE}, {}, {}]}}"#,
        ONE.replace(r#""HIGH", "issue_text""#, r#""UNDEFINED", "issue_text""#),
        ONE.replace(r#""line_number": 2"#, r#""line_number": "7""#)
            .replace("MEDIUM", "LOW"),
    ))
    .unwrap();
    assert_eq!(f.len(), 3);
    // issue_cwe is not read by the reference.
    assert_eq!(
        (f[0].severity, f[0].cwe, f[0].line),
        (Severity::High, None, Some(2))
    );
    assert_eq!(
        f[0].vuln_id_from_tool.as_deref(),
        Some("subprocess_popen_with_shell_equals_true:B602")
    );
    assert_eq!(f[0].file_path.as_deref(), Some("a.py"));
    assert_eq!(f[0].date.as_deref(), Some("2020-12-30"));
    assert_eq!(f[1].severity, Severity::Info);
    assert_eq!(f[2].line, Some(7));
}

#[test]
fn required_fields() {
    for key in [
        "filename",
        "issue_severity",
        "issue_text",
        "line_number",
        "test_id",
        "test_name",
        "issue_confidence",
    ] {
        let v: serde_json::Value = serde_json::from_str(ONE).unwrap();
        let mut o = v.as_object().unwrap().clone();
        o.remove(key);
        let r = format!(
            r#"{{"generated_at": "2020-12-30T10:03:39Z", "results": [{}]}}"#,
            serde_json::Value::Object(o)
        );
        assert!(parse(&r).is_err(), "{key}");
    }
    // issue_text and line_number must be there, but may be null.
    let nulls = ONE
        .replace(r#""issue_text": "t""#, r#""issue_text": null"#)
        .replace(r#""line_number": 2"#, r#""line_number": null"#);
    let f = parse(&format!(
        r#"{{"generated_at": "2020-12-30T10:03:39Z", "results": [{nulls}]}}"#
    ))
    .unwrap();
    assert_eq!(f[0].line, None);
    // generated_at is needed as soon as there is a result.
    assert!(parse(&format!(r#"{{"results": [{ONE}]}}"#)).is_err());
    assert!(parse(r#"{"results": []}"#).unwrap().is_empty());
    assert!(parse(r#"{"generated_at": "", "results": []}"#).is_err());
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
}
