use super::*;

fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    SonarQube::parse(SCAN_TYPE, report, &Options::default())
}

#[test]
fn api_issues_with_missing_optional_fields() {
    let f = parse(
        br#"{"paging": {}, "issues": [
        {"rule": "OWASP:UsingComponentWithKnownVulnerability", "severity": "BLOCKER", "type": "VULNERABILITY",
         "component": "app", "message": "Filename: lib:1.2 | Reference: CVE-2024-2529 | CVSS Score: 6.4 | Category: CWE-120 | Category: CWE-79 | x"},
        {"rule": "Web:T", "severity": "MINOR", "type": "BUG", "component": "app:a.html", "line": 59},
        {"rule": "ts:S1", "severity": "WEIRD", "type": "CODE_SMELL", "component": "app:b.ts"},
        {}
    ]}"#,
    )
    .unwrap();
    assert_eq!(f.len(), 4);
    assert_eq!(f[0].severity, Severity::Critical);
    assert_eq!(
        (
            f[0].component_name.as_deref(),
            f[0].component_version.as_deref()
        ),
        (Some("lib"), Some("1.2"))
    );
    assert_eq!(
        (f[0].cwe, f[0].extra_cwes.as_slice()),
        (Some(120), &[79][..])
    );
    assert_eq!(f[0].vulnerability_ids, ["CVE-2024-2529"]);
    assert_eq!(
        (f[1].severity, f[1].file_path.as_deref(), f[1].line),
        (Severity::Low, None, Some(59))
    );
    assert_eq!(
        (f[2].severity, f[2].file_path.as_deref()),
        (Severity::Info, Some("app:b.ts"))
    );
    assert!(!f[3].title.is_empty());
}

#[test]
fn hotspots_and_sonar_report() {
    let f = parse(br#"{"hotspots": [{"ruleKey": "r", "vulnerabilityProbability": "HIGH", "component": "c", "line": 4}]}"#).unwrap();
    assert_eq!((f[0].severity, f[0].line), (Severity::High, Some(4)));
    let f = parse(
        br#"{"sonarComponent": "x", "rules": {"py:S1": {"name": "N", "htmlDesc": "<p>see CWE-117 and CWE-532</p>"}},
        "issues": [{"rule": "py:S1", "severity": "CRITICAL", "component": "a.py", "line": 3, "message": "m1"},
                   {"rule": "py:S1", "severity": "CRITICAL", "component": "a.py", "line": 9, "message": "m2"},
                   {"rule": "py:S1", "severity": "MINOR", "component": "b.py"}]}"#,
    )
    .unwrap();
    assert_eq!(f.len(), 2);
    assert_eq!(
        (f[0].severity, f[0].cwe, f[0].nb_occurences),
        (Severity::High, Some(117), Some(2))
    );
    assert_eq!(f[0].title, "N");
}

#[test]
fn zipped_reports() {
    let f = parse(include_bytes!("../tests/data/deflated.zip")).unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].severity, f[0].line), (Severity::Medium, Some(3)));
    assert!(
        parse(include_bytes!("../tests/data/stored.zip"))
            .unwrap()
            .is_empty()
    );
    let c = [SCAN_TYPE.to_owned()];
    assert!(SonarQube::detect(&c, include_bytes!("../tests/data/deflated.zip")).is_some());
    // A damaged archive is an error, never a panic.
    let zip = include_bytes!("../tests/data/deflated.zip");
    for cut in [4, 30, 60, 100, zip.len() - 30] {
        let _ = parse(&zip[..cut]);
    }
    let mut bad = zip.to_vec();
    for b in bad.iter_mut().skip(40).take(40) {
        *b ^= 0x5a;
    }
    assert!(parse(&bad).is_err());
}

#[test]
fn empty_reports() {
    assert!(
        parse(br#"{"paging": {}, "issues": [], "components": []}"#)
            .unwrap()
            .is_empty()
    );
    assert!(parse(br#"{"hotspots": []}"#).unwrap().is_empty());
}

#[test]
fn rejects_bad_input() {
    for bad in [
        &b""[..],
        b"[]",
        b"{\"issues\": [",
        br#"{"version": "2.1.0", "runs": []}"#,
        b"<html><body>sonar</body></html>",
        b"<html><h2>Detail of the Detected Vulnerabilities</h2><table><tr>",
        b"PK\x03\x04garbage",
    ] {
        assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
    }
    let e = parse(b"{\"issues\": [\"\xff\"]}").unwrap_err();
    assert!(e.message.to_lowercase().contains("utf-8"), "{}", e.message);
    let deep = format!("{{\"issues\": {}{}}}", "[".repeat(5000), "]".repeat(5000));
    assert!(parse(deep.as_bytes()).is_err());
    assert!(SonarQube::parse("SARIF", b"{}", &Options::default()).is_err());
}

#[test]
fn detect_is_strict() {
    let c = [SCAN_TYPE.to_owned()];
    assert!(
        SonarQube::detect(
            &c,
            br#"{"total": 0, "paging": {}, "effortTotal": 0, "issues": []"#
        )
        .is_some()
    );
    assert!(SonarQube::detect(&c, br#"{"paging": {}, "hotspots": ["#).is_some());
    assert!(SonarQube::detect(&c, br#"{"issues": [{"rule": "x"}]}"#).is_none());
    assert!(SonarQube::detect(&c, br#"{"Golang errors": {}, "Issues": []}"#).is_none());
    assert!(
        SonarQube::detect(&["SARIF".to_owned()], br#"{"paging": {}, "hotspots": []}"#).is_none()
    );
}

#[test]
fn html_report_rows_are_aggregated() {
    let html = br#"<html><body><h2>Detail of the Detected Vulnerabilities</h2><table><thead><tr><th>Rule</th></tr></thead><tbody>
      <tr><td><a href="x">squid:S1</a></td><td>BLOCKER</td><td class="component">a.java</td><td>3</td><td>Title &#34;q&#34;</td><td>m1</td><td>k1</td></tr>
      <tr><td><a href="x">squid:S1</a></td><td>BLOCKER</td><td class="component">a.java</td><td>9</td><td>Title &#34;q&#34;</td><td>m2</td><td>k2</td></tr>
      <tr><td>squid:S2</td><td>MINOR</td><td>b.java</td><td>1</td><td></td><td>m3</td><td>k3</td></tr>
    </tbody></table><h3>Known Security Rules</h3><table><tbody>
      <tr><td><a href="https://x/coding_rules#rule_key=squid:S1">squid:S1</a></td><td><details><p>see CWE-798</p></details></td></tr>
    </tbody></table></body></html>"#;
    let f = parse(html).unwrap();
    assert_eq!(f.len(), 2);
    assert_eq!(f[0].title, "Title \"q\"");
    assert_eq!(
        (f[0].severity, f[0].cwe, f[0].nb_occurences),
        (Severity::Critical, Some(798), Some(2))
    );
    assert_eq!(
        (f[1].severity, f[1].cwe, f[1].title.as_str()),
        (Severity::Low, None, "squid:S2")
    );
    assert!(SonarQube::detect(&[SCAN_TYPE.to_owned()], html).is_some());
}
