//! One synthetic report per FORMAT.md entry.

use palisade_plugin_prowler::{Prowler, SCAN_TYPE};
use palisade_plugin_sdk::{Finding, Options, ParseError, Parser, Severity};

fn parse_named(name: &str, report: &str) -> Result<Vec<Finding>, ParseError> {
    let opts = Options(vec![("file-name".to_owned(), name.to_owned())]);
    Prowler::parse(SCAN_TYPE, report.as_bytes(), &opts)
}

fn sev(f: &[Finding]) -> Vec<Severity> {
    f.iter().map(|x| x.severity).collect()
}

#[test]
fn ocsf_statuses_severities_and_merge() {
    let r = r#"[
      {"message":"A","severity":"High","status_code":"FAIL","cloud":{"provider":"aws","region":"eu-west-1"}},
      {"message":"A","severity":"High","status_code":"FAIL","cloud":{"provider":"aws","region":"eu-west-1"}},
      {"message":"A","severity":"High","status_code":"FAIL","cloud":{"provider":"aws","region":"us-east-1"}},
      {"message":"B","severity":"Moderate","status_code":"MANUAL"},
      {"message":"C","severity":"critical","status_code":"PASS"},
      {"message":"D","severity":"Critical"}
    ]"#;
    let f = parse_named("out.ocsf.JSON", r).expect("parses");
    // The first two share description and title; another region is another finding.
    assert_eq!(f.len(), 4);
    assert_eq!(f[0].title, "A");
    assert!(f[0].description.contains("**AWS Region** : eu-west-1"));
    assert_eq!(
        sev(&f),
        [
            Severity::High,
            Severity::High,
            Severity::Info,
            Severity::Critical
        ]
    );
}

#[test]
fn ocsf_kubernetes_pods_distinguish_findings() {
    let pod = |name: &str| {
        format!(
            r#"{{"message":"K","severity":"low","status_code":"FAIL","cloud":{{"provider":"kubernetes"}},
               "resources":[{{"data":{{"metadata":{{"name":"{name}","namespace":"ns"}}}}}}]}}"#
        )
    };
    let r = format!("[{},{},{}]", pod("a"), pod("b"), pod("a"));
    let f = parse_named("k.json", &r).expect("parses");
    assert_eq!(f.len(), 2);
    assert!(f[0].description.contains("**Pod Name** : a"));
    assert!(f[0].description.contains("**Cloud Type** : KUBERNETES"));
    assert_eq!(f[0].severity, Severity::Low);
}

#[test]
fn ocsf_rejections() {
    assert!(parse_named("a.json", r#"[{"message":"A","status_detail":null}]"#).is_err());
    assert!(parse_named("a.json", r#"[{"message":"A","finding_info":"x"}]"#).is_err());
    assert!(parse_named("a.json", r#"{"a":1}"#).is_err());
    assert!(parse_named("a.json", "{}").expect("parses").is_empty());
    assert!(
        parse_named("a.txt", "[{\"message\":\"A\"}]")
            .expect("no findings")
            .is_empty()
    );
}

#[test]
fn csv_rows_deduplicated_by_title_and_description() {
    let header = "PROVIDER;CHECK_ID;CHECK_TITLE;STATUS;STATUS_EXTENDED;SEVERITY;REGION;DESCRIPTION;COMPLIANCE\n";
    let r = format!(
        "{header}\
azure;c1;T1;FAIL;d1;high;r;x;CIS: 1 | ENS: 2\n\
azure;c1;T1;FAIL;d1;high;r;x;other\n\
azure;c1;T1;FAIL;d2;high;r;x;\n\
\n\
azure;c2;T2;PASS;d;critical;r;x;\n\
azure;c3;T3;MANUAL;d;Informational;r;x;\n"
    );
    let f = parse_named("out.csv", &r).expect("parses");
    assert_eq!(f.len(), 3);
    assert_eq!(f[0].references.as_deref(), Some("CIS: 1\nENS: 2"));
    assert_eq!(sev(&f), [Severity::High, Severity::High, Severity::Info]);
    assert_eq!(f[2].title, "T3");
}

#[test]
fn csv_short_row_rejects() {
    let r = "PROVIDER;CHECK_TITLE;STATUS;REGION\naws;T;FAIL\n";
    assert!(parse_named("out.csv", r).is_err());
}
