use super::*;

fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
    GitlabSast::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
}

#[test]
fn vulnerabilities_with_missing_optional_fields() {
    let f = parse(
        r#"{"version": "15.0.4", "vulnerabilities": [
        {"id": "abc", "name": "XSS", "severity": "High", "location": {"file": "a.java", "start_line": 96},
         "identifiers": [{"type": "cwe", "name": "CWE-79", "value": "79"}, {"type": "cwe", "value": 89},
                         {"type": "cve", "value": "cve-2021-44228"}]},
        {"cve": "x.py:1:B501", "severity": "Unknown", "identifiers": [{"type": "bandit_test_id", "name": "Bandit Test ID B501"}]},
        {"severity": "None", "location": {}},
        {"cve": "k", "severity": "Critical", "identifiers": [{"type": "cwe", "name": "CWE-798", "value": "node_username"}]}
    ], "scan": {"type": "sast", "scanner": {"id": "x", "name": "Semgrep"}}}"#,
    )
    .unwrap();
    assert_eq!(f.len(), 4);
    assert_eq!(
        (f[0].severity, f[0].cwe, f[0].line),
        (Severity::High, Some(79), Some(96))
    );
    assert_eq!(f[0].unique_id_from_tool.as_deref(), Some("abc"));
    assert_eq!(
        f[0].vulnerability_ids,
        ["cve-2021-44228"],
        "kept as written"
    );
    assert_eq!(f[1].severity, Severity::Info);
    assert_eq!(f[1].title, "Bandit Test ID B501");
    assert_eq!(f[1].unique_id_from_tool.as_deref(), Some("x.py:1:B501"));
    assert_eq!(
        (f[2].severity, f[2].file_path.as_deref()),
        (Severity::Info, None)
    );
    assert!(!f[2].title.is_empty());
    assert_eq!((f[3].severity, f[3].cwe), (Severity::Critical, None));
}

#[test]
fn empty_report() {
    assert!(
        parse(r#"{"version": "2.3", "vulnerabilities": [], "remediations": []}"#)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn rejects_bad_input() {
    for bad in [
        "",
        "[]",
        "{\"vulnerabilities\": [",
        r#"{"version": "2.1.0", "runs": []}"#,
    ] {
        assert!(parse(bad).is_err(), "{bad}");
    }
    let e = GitlabSast::parse(
        SCAN_TYPE,
        b"{\"vulnerabilities\": [\"\xff\"]}",
        &Options::default(),
    )
    .unwrap_err();
    assert!(e.message.to_lowercase().contains("utf-8"), "{}", e.message);
    let deep = format!(
        "{{\"vulnerabilities\": {}{}}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    assert!(parse(&deep).is_err());
}

#[test]
fn detect_is_strict() {
    let c = [SCAN_TYPE.to_owned()];
    assert!(
        GitlabSast::detect(
            &c,
            br#"{"version": "15.0.4", "vulnerabilities": [{"id": "1", "category": "sast","#
        )
        .is_some()
    );
    assert!(
        GitlabSast::detect(
            &c,
            br#"{"version": "2.3", "vulnerabilities": [], "remediations": []}"#
        )
        .is_some()
    );
    assert!(GitlabSast::detect(&c, br#"{"version": "15.0.4", "vulnerabilities": [{"id": "1", "category": "dependency_scanning","#).is_none());
    assert!(
        GitlabSast::detect(
            &c,
            br#"{"vulnerabilities": [{"id": "1"}], "dependency_files": []}"#
        )
        .is_none()
    );
    assert!(GitlabSast::detect(&c, br#"{"version": "2.1.0", "runs": []}"#).is_none());
    // Checkmarx One's export in this schema is "Checkmarx One Scan".
    let cx_one = br#"{"scan": {"analyzer": {"id": "CxOne-SAST", "name": "Checkmarx",
        "vendor": {"name": "Checkmarx"}}, "type": "sast"}, "vulnerabilities": [{"category": "Checkmarx-sast"}]}"#;
    assert!(GitlabSast::detect(&c, cx_one).is_none());
}

#[test]
fn repeated_fingerprints_are_merged_and_end_line_is_used() {
    let f = parse(
        r#"{"version": "2.3", "vulnerabilities": [
        {"cve": "k", "severity": "Low", "location": {"file": "a", "start_line": 1, "end_line": 1}},
        {"cve": "other", "severity": "Low", "location": {"file": "b", "start_line": 3, "end_line": 9}},
        {"cve": "k", "severity": "High", "location": {"file": "a", "start_line": 52}}
    ]}"#,
    )
    .unwrap();
    assert_eq!(f.len(), 2);
    assert_eq!(
        (f[0].severity, f[0].line, f[0].nb_occurences),
        (Severity::High, Some(52), Some(2))
    );
    assert_eq!(f[1].line, Some(9));
    assert!(f[1].description.contains("3-9"));
}

#[test]
fn reports_of_the_shared_schema_are_read_whatever_their_type() {
    for r in [
        r#"{"vulnerabilities": []}"#,
        r#"{"version": "15.0.0", "vulnerabilities": [], "scan": {"type": "dependency_scanning"}}"#,
    ] {
        assert!(parse(r).unwrap().is_empty(), "{r}");
    }
}

#[test]
fn unique_ids_merge_even_when_null_and_the_last_cve_counts() {
    let f = parse(
        r#"{"version": "15.0.0", "vulnerabilities": [
        {"id": null, "severity": "High", "location": {"file": "a", "start_line": 3}},
        {"id": null, "severity": "Low", "location": {"file": "b", "start_line": 4, "end_line": null}},
        {"cve": "fp1", "severity": "Unknown", "location": {"file": "c", "start_line": 5, "end_line": 6},
         "identifiers": [{"type": "cve", "name": "x", "value": "CVE-2020-1"}, {"type": "CVE", "name": "y", "value": "CVE-2020-2"},
                         {"type": "cwe", "name": "CWE-79", "value": "79"}, {"type": "cwe", "name": "CWE-89", "value": 89}]}]}"#,
    )
    .unwrap();
    assert_eq!(f.len(), 2);
    assert_eq!(
        (f[0].severity, f[0].file_path.as_deref(), f[0].line),
        (Severity::Low, Some("b"), None),
        "the last of the null ids wins; an end_line key wins even when null"
    );
    assert_eq!(f[1].unique_id_from_tool.as_deref(), Some("fp1"));
    assert_eq!(f[1].vulnerability_ids, ["CVE-2020-2"]);
    assert_eq!(
        (f[1].cwe, f[1].line, f[1].severity),
        (Some(79), Some(6), Severity::Info)
    );
}

#[test]
fn checkmarx_one_exports_in_this_schema_are_not_claimed() {
    let c = [SCAN_TYPE.to_owned()];
    for head in [
        &br#"{"vulnerabilities": [{"id": "Q:/a.ts:4", "category": "Checkmarx-sast", "identifiers": [{"type": "cxOneScan"}], "location": {"file": "/a.ts", "start_line": 4}, "cve": "x"}], "scan": {"type": "sast"}}"#[..],
        br#"{"scan": {"analyzer": {"id": "CxOne-SAST", "name": "Checkmarx One"}, "type": "sast"}, "vulnerabilities": ["#,
        br#"{"scan": {"analyzer": {"id": "x", "url": "https://checkmarx.com/"}, "type": "sast"}, "vulnerabilities": ["#,
    ] {
        assert!(GitlabSast::detect(&c, head).is_none(), "{}", String::from_utf8_lossy(head));
    }
}
