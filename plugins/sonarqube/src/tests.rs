use super::*;

fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    SonarQube::parse(SCAN_TYPE, report, &Options::default())
}

/// A complete Web API issue with the given type, severity and message.
fn issue(kind: &str, severity: &str, message: &str) -> String {
    format!(
        r#"{{"key":"k-{kind}","rule":"r:{kind}","severity":"{severity}","component":"p:src/a.java","project":"p",
            "line":7,"status":"OPEN","message":"{message}","type":"{kind}","scope":"MAIN",
            "impacts":[{{"softwareQuality":"SECURITY","severity":"LOW"}}]}}"#
    )
}

fn api(issues: &[String]) -> String {
    format!(
        r#"{{"paging":{{"pageIndex":1}},"components":[{{"key":"p"}}],"issues":[{}]}}"#,
        issues.join(",")
    )
}

#[test]
fn web_api_severities_are_the_legacy_ones() {
    let f = parse(
        api(&[
            issue("CODE_SMELL", "BLOCKER", "m"),
            issue("CODE_SMELL", "CRITICAL", "m"),
            issue("CODE_SMELL", "MAJOR", "m"),
            issue("CODE_SMELL", "MINOR", "m"),
            issue("CODE_SMELL", "INFO", "m"),
        ])
        .as_bytes(),
    )
    .unwrap();
    let sev: Vec<Severity> = f.iter().map(|f| f.severity).collect();
    assert_eq!(
        sev,
        [
            Severity::High,
            Severity::Critical,
            Severity::Medium,
            Severity::Low,
            Severity::Info
        ]
    );
    assert_eq!(
        (f[0].file_path.as_deref(), f[0].line),
        (Some("p:src/a.java"), Some(7))
    );
}

#[test]
fn web_api_issue_types() {
    let f = parse(
        api(&[
            issue("BUG", "MAJOR", "m"),
            issue(
                "VULNERABILITY",
                "CRITICAL",
                "Filename: lib:1.2:x | Reference: CVE-2024-2529 | References: CVE-2023-12345678 | Reference: GHSA-2345-6789-cfgh | CVSS Score: 6.4 | Category: CWE-120 | Category: CWE-79",
            ),
            issue("SECURITY_HOTSPOT", "MAJOR", "m"),
        ])
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(f.len(), 3, "an unknown type repeats the previous finding");
    assert_eq!((f[0].file_path.as_deref(), f[0].line), (None, Some(7)));
    let v = &f[1];
    assert_eq!(
        (v.component_name.as_deref(), v.component_version.as_deref()),
        (Some("lib"), Some("1.2"))
    );
    assert_eq!((v.cwe, v.extra_cwes.as_slice()), (Some(120), &[79][..]));
    assert_eq!(
        v.vulnerability_ids,
        ["CVE-2024-2529", "CVE-2023-1234567", "GHSA-2345-6789-cfgh"]
    );
    assert_eq!(f[2].title, f[1].title);
    assert!(parse(api(&[issue("SECURITY_HOTSPOT", "MAJOR", "m")]).as_bytes()).is_err());
}

#[test]
fn web_api_needs_the_fields_the_reference_reads() {
    let no_scope = issue("BUG", "MAJOR", "m").replace(r#","scope":"MAIN""#, "");
    assert!(parse(api(&[no_scope]).as_bytes()).is_err());
    let no_severity = issue("BUG", "MAJOR", "m").replace(r#""severity":"MAJOR","#, "");
    assert!(parse(api(&[no_severity]).as_bytes()).is_err());
}

#[test]
fn web_api_items_need_a_components_list() {
    let r = api(&[issue("BUG", "MAJOR", "m")]).replace(
        r#""components":[{"key":"p"}]"#,
        r#""components":{"key":"p"}"#,
    );
    assert!(parse(r.as_bytes()).is_err());
}

#[test]
fn hotspots_use_the_vulnerability_probability() {
    let r = br#"{"paging":{"total":1},"components":[{"key":"p"}],"hotspots":[
        {"key":"h","ruleKey":"r","vulnerabilityProbability":"HIGH","component":"p:a.py","project":"p",
         "securityCategory":"sql","status":"TO_REVIEW","message":"m","line":4}]}"#;
    let f = parse(r).unwrap();
    assert_eq!(
        (f[0].severity, f[0].line, f[0].file_path.as_deref()),
        (Severity::High, Some(4), Some("p:a.py"))
    );
}

#[test]
fn json_without_the_markers_has_no_findings() {
    for r in [
        &br#"{"paging": {}, "issues": [{"type":"BUG"}], "components": [{"key":"p"}]}"#[..],
        br#"{"paging": {"total":1}, "issues": [{"type":"BUG"}], "components": []}"#,
        br#"{"hotspots": [{"key":"h"}]}"#,
        br#"{"date":"d","projectName":"p","hotspotKeys":[],"rules":{},"issues":[{"rule":"x"}]}"#,
    ] {
        assert!(
            parse(r).unwrap().is_empty(),
            "{}",
            String::from_utf8_lossy(r)
        );
    }
}

fn sonar_report(issues: &str) -> String {
    format!(
        r#"{{"date":"2024","projectName":"p","hotspotKeys":["h"],"rules":{{
            "py:S1":{{"name":"N","htmlDesc":"<p>x CWE-1 in text</p><h2>See</h2><ul><li><a href='u'>MITRE, CWE-117</a></li><li><a>CWE-532</a></li></ul>"}},
            "py:S2":{{"name":"M","htmlDesc":"<p>no links</p>"}}}},"issues":[{issues}]}}"#
    )
}

fn report_issue(rule: &str, sev: &str, file: &str, line: u32, msg: &str) -> String {
    format!(
        r#"{{"key":"k{line}","rule":"{rule}","severity":"{sev}","component":"{file}","line":{line},"message":"{msg}","description":"T {rule}"}}"#
    )
}

#[test]
fn sonar_report_json_is_aggregated_per_cwe_title_description_and_file() {
    let issues = [
        report_issue("py:S1", "CRITICAL", "a.py", 3, "m1"),
        report_issue("py:S1", "MINOR", "a.py", 9, "m2"),
        report_issue("py:S1", "BLOCKER", "b.py", 1, "m3"),
        report_issue("py:S2", "high", "b.py", 1, "m4"),
        report_issue("py:S9", "odd", "b.py", 1, "m5"),
    ]
    .join(",");
    let f = parse(sonar_report(&issues).as_bytes()).unwrap();
    assert_eq!(f.len(), 4);
    assert_eq!(
        (f[0].severity, f[0].cwe, f[0].nb_occurences, f[0].line),
        (Severity::High, Some(117), Some(2), None)
    );
    assert_eq!(f[0].title, "T py:S1");
    assert_eq!(f[0].mitigation.as_deref(), Some("m1\n______\nm2"));
    assert_eq!(f[1].severity, Severity::Critical);
    assert_eq!((f[2].severity, f[2].cwe), (Severity::High, None));
    assert_eq!(f[3].severity, Severity::Info);
}

#[test]
fn sonar_report_issue_without_line_is_rejected() {
    let issue = r#"{"key":"k","rule":"py:S1","severity":"MAJOR","component":"a","message":"m","description":"d"}"#;
    assert!(parse(sonar_report(issue).as_bytes()).is_err());
    let no_title = r#"{"key":"k","rule":"py:S1","severity":"MAJOR","component":"a","line":1,"message":"m","description":null}"#;
    assert!(parse(sonar_report(no_title).as_bytes()).is_err());
}

#[test]
fn zipped_reports_are_web_api_exports() {
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
fn rejects_bad_input() {
    for bad in [&b""[..], b"[]", b"{\"issues\": [", b"PK\x03\x04garbage"] {
        assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
    }
    let e = parse(b"{\"issues\": [\"\xff\"]}").unwrap_err();
    assert!(e.message.to_lowercase().contains("utf-8"), "{}", e.message);
    let deep = format!("{{\"issues\": {}{}}}", "[".repeat(5000), "]".repeat(5000));
    assert!(parse(deep.as_bytes()).is_err());
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
}

#[test]
fn html_report_rows_are_aggregated() {
    let html = br#"<html><body><div class="detail"><h2>Detail of the Detected Vulnerabilities</h2><table><thead><tr><th>Rule</th></tr></thead><tbody>
      <tr><td><a href="x">squid:S1</a></td><td>BLOCKER</td><td class="component">a.java</td><td>3</td><td>Title &#34;q&#34;</td><td>m1</td><td>k1</td></tr>
      <tr><td><a href="x">squid:S1</a></td><td>BLOCKER</td><td class="component">a.java</td><td>9</td><td>Title &#34;q&#34;</td><td>m2</td><td>k2</td></tr>
      <tr><td><a>squid:S2</a></td><td>MINOR</td><td>b.java</td><td>1</td><td>T2</td><td>m3</td><td>k3</td></tr>
    </tbody></table></div><div class="detail"><h3>Known Security Rules</h3><table><tbody>
      <tr><td><a href="https://x/coding_rules#rule_key=squid:S1">squid:S1</a></td><td><details><p>see CWE-1</p><h2>See</h2><a href="u">CWE-798</a></details></td></tr>
    </tbody></table></div></body></html>"#;
    let f = parse(html).unwrap();
    assert_eq!(f.len(), 2);
    assert_eq!(f[0].title, "Title \"q\"");
    assert_eq!(
        (f[0].severity, f[0].cwe, f[0].nb_occurences),
        (Severity::Critical, Some(798), Some(2))
    );
    assert_eq!(
        (f[1].severity, f[1].cwe, f[1].file_path.as_deref()),
        (Severity::Low, None, Some("b.java"))
    );
    assert!(SonarQube::detect(&[SCAN_TYPE.to_owned()], html).is_some());
    assert!(
        parse(b"<html><body>sonar, no vulnerabilities</body></html>")
            .unwrap()
            .is_empty()
    );
}

#[test]
fn zipped_json_must_be_ascii() {
    assert!(parse(include_bytes!("../tests/data/non_ascii.zip")).is_err());
}
