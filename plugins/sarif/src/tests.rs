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
   "locations": [{"physicalLocation": {"artifactLocation": {"uri": "src/a.c"}, "region": {"startLine": 7}}},
                 {"physicalLocation": {"artifactLocation": {"uri": "b.c"}, "region": {"byteOffset": 3}}}],
   "partialFingerprints": {"z": "1", "a": "2"}},
  {"ruleId": "CVE-2021-44228-log4j", "message": {"text": "log4shell"}, "fingerprints": {"second": "x", "first": {"value": "y"}},
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
        {"level": "weird", "message": {"text": "a"}}, {"level": "none", "message": {"text": "b"}},
        {"message": {"text": "c"}}, {"level": "note", "message": {"text": "d"}}]}]}"#,
    )
    .unwrap();
    let sev: Vec<Severity> = f.iter().map(|f| f.severity).collect();
    assert_eq!(
        sev,
        [
            Severity::Medium,
            Severity::Medium,
            Severity::Medium,
            Severity::Info
        ]
    );
}

#[test]
fn only_failures_are_findings() {
    let f = parse(
        r#"{"runs": [{"tool": {"driver": {}}, "results": [
        {"kind": "fail", "message": {"text": "a"}}, {"kind": "review", "message": {"text": "b"}},
        {"kind": "open", "message": {"text": "c"}}, {"kind": "pass", "message": {"text": "d"}},
        {"message": {"text": "e"}}]}]}"#,
    )
    .unwrap();
    assert_eq!(f.len(), 2, "no version or $schema is needed either");
}

#[test]
fn security_severity_of_the_rule_overrides_the_level() {
    let f = parse(
        r#"{"runs": [{"tool": {"driver": {"rules": [
          {"id": "a", "properties": {"security-severity": "9.0"}},
          {"id": "b", "properties": {"security-severity": 6.5}},
          {"id": "c", "properties": {"security-severity": "high"}},
          {"id": "d", "properties": {"security-severity": "odd"}},
          {"id": "e", "properties": {"security-severity": "0.0"}}]}},
          "results": [
          {"ruleId": "a", "level": "note", "message": {"text": "m"}},
          {"ruleId": "b", "level": "error", "message": {"text": "m"}},
          {"ruleId": "c", "message": {"text": "m"}},
          {"ruleId": "d", "level": "error", "message": {"text": "m"}},
          {"ruleId": "e", "message": {"text": "m"}},
          {"ruleId": "zz", "level": "error", "message": {"text": "m"}, "properties": {"security-severity": "9.9"}}]}]}"#,
    )
    .unwrap();
    let sev: Vec<Severity> = f.iter().map(|f| f.severity).collect();
    assert_eq!(
        sev,
        [
            Severity::Critical,
            Severity::Medium,
            Severity::High,
            Severity::Info,
            Severity::Info,
            Severity::High
        ]
    );
}

#[test]
fn cwe_sources_in_order_of_precedence() {
    let f = parse(
        r#"{"runs": [{"tool": {"driver": {"rules": [
          {"id": "rel", "relationships": [{"target": {"id": "CWE-22"}}, {"target": {"id": "CWE-23"}}], "properties": {"tags": ["cwe-99"]}},
          {"id": "prop", "properties": {"cwe": ["CWE-89: x", "CWE-90"], "tags": ["cwe-99"]}},
          {"id": "tag", "properties": {"tags": ["external/cwe/cwe-79", "x"]}}]}},
          "results": [
          {"ruleId": "rel", "message": {"text": "m"}},
          {"ruleId": "prop", "message": {"text": "m"}},
          {"ruleId": "tag", "message": {"text": "m"}, "properties": {"cwe": "CWE-200"}},
          {"ruleId": "tag", "message": {"text": "m"}, "taxa": [{"id": "311", "toolComponent": {"name": "CWE"}}]}]}]}"#,
    )
    .unwrap();
    let cwes: Vec<Option<u32>> = f.iter().map(|f| f.cwe).collect();
    assert_eq!(cwes, [Some(23), Some(90), Some(200), Some(311)]);
}

#[test]
fn rules_come_from_every_extension_when_the_driver_has_none() {
    let f = parse(
        r#"{"runs": [{"tool": {"driver": {"name": "d"}, "extensions": [
          {"rules": [{"id": "a", "defaultConfiguration": {"level": "note"}}]},
          {"rules": [{"id": "b", "defaultConfiguration": {"level": "error"}}]}]},
          "results": [{"ruleId": "a", "message": {"text": "m"}}, {"ruleId": "b", "message": {"text": "m"}}]}]}"#,
    )
    .unwrap();
    assert_eq!(
        (f[0].severity, f[1].severity),
        (Severity::Info, Severity::High)
    );
}

#[test]
fn fingerprints_keep_the_highest_version_of_the_first_method() {
    let f = parse(
        r#"{"runs": [{"tool": {"driver": {}}, "results": [
          {"message": {"text": "m"}, "fingerprints": {"hash/v1": "old", "other/v0": "o", "hash/v2": "new"}},
          {"message": {"text": "m"}, "partialFingerprints": {"b/v1": "1", "a/v1": "2", "a/v3": "3"}}]}]}"#,
    )
    .unwrap();
    assert_eq!(f[0].unique_id_from_tool.as_deref(), Some("new"));
    assert_eq!(f[1].unique_id_from_tool.as_deref(), Some("a:3|b:1"));
}

#[test]
fn locations_need_a_uri_and_a_start_line() {
    for bad in [
        r#"{"runs": [{"tool": {"driver": {}}, "results": [{"message": {"text": "m"}, "locations": [{"physicalLocation": {"artifactLocation": {"index": 0}}}]}]}]}"#,
        r#"{"runs": [{"tool": {"driver": {}}, "results": [{"message": {"text": "m"}, "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a"}, "region": {"startColumn": 1}}}]}]}]}"#,
        r#"{"runs": [{"tool": {"driver": {}}, "results": [{"locations": []}]}]}"#,
    ] {
        assert!(parse(bad).is_err(), "{bad}");
    }
    let f = parse(
        r#"{"runs": [{"tool": {"driver": {}}, "results": [{"message": {"text": "m"}, "locations": [
          {"physicalLocation": {"artifactLocation": {"uri": "a"}}},
          {"logicalLocations": [{"name": "f"}]}]}]}]}"#,
    )
    .unwrap();
    assert_eq!(
        (
            f[0].file_path.as_deref(),
            f[0].line,
            f[1].file_path.as_deref()
        ),
        (Some("a"), None, None)
    );
}

#[test]
fn rejects_what_is_not_sarif() {
    for bad in [
        "",
        "[]",
        "{\"version\": \"2.1.0\", \"runs\": [",
        r#"{"version": "2.1.0", "runs": null}"#,
        r#"{"version": "2.1.0", "runs": {"a": 1}}"#,
        r#"{"runs": [{"results": []}]}"#,
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
}

#[test]
fn collapsed_titles_match_a_full_collapse() {
    let full = |t: &str| {
        palisade_plugin_sdk::text::truncate_with_ellipsis(
            &t.split_whitespace().collect::<Vec<_>>().join(" "),
            super::TITLE_CHARS,
        )
    };
    let long = "word\n\t ".repeat(60);
    for t in [
        "",
        "  a  b\n",
        "é ".repeat(150).as_str(),
        "x".repeat(151).as_str(),
        long.as_str(),
    ] {
        let short = palisade_plugin_sdk::text::truncate_with_ellipsis(
            &super::collapse_whitespace(t, super::TITLE_CHARS),
            super::TITLE_CHARS,
        );
        assert_eq!(short, full(t), "{t:?}");
    }
}
