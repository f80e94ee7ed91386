//! One small synthetic report per FORMAT.md rule, asserting the identity
//! fields the reference gives.

use palisade_plugin_sdk::{Finding, Options, ParseError, Parser, Severity};
use palisade_plugin_trivy::{TRIVY, TRIVY_OPERATOR, Trivy};

fn parse(scan_type: &str, report: &str) -> Result<Vec<Finding>, ParseError> {
    Trivy::parse(scan_type, report.as_bytes(), &Options::default())
}

fn ids(f: &Finding) -> Vec<&str> {
    f.vulnerability_ids.iter().map(String::as_str).collect()
}

// ---- Trivy Scan ----

#[test]
fn legacy_array_and_null() {
    assert!(parse(TRIVY, "null").unwrap().is_empty());
    let f = parse(
        TRIVY,
        r#"[{"Target":"img","Type":"debian","Vulnerabilities":[{"VulnerabilityID":"CVE-1","PkgName":"a","Severity":"LOW"}]}]"#,
    )
    .unwrap();
    assert_eq!((f.len(), f[0].severity), (1, Severity::Low));
}

#[test]
fn unsupported_objects_are_rejected() {
    for r in [
        "{}",
        r#"{"SchemaVersion":3,"Results":[]}"#,
        r#"{"ClusterName":null}"#,
    ] {
        assert!(parse(TRIVY, r).is_err(), "{r}");
    }
    assert!(parse(TRIVY, r#"{"SchemaVersion":2,"Results":{}}"#).is_err());
}

#[test]
fn cluster_report_reads_all_three_lists() {
    let result = r#"{"Target":"t","Class":"config","Misconfigurations":[{"ID":"KSV001","AVDID":"AVD-KSV-0001","Severity":"HIGH"}]}"#;
    let r = format!(
        r#"{{"ClusterName":"c","Vulnerabilities":[{{"Namespace":"n","Kind":"Pod","Name":"p","Results":[{result}]}}],
            "Misconfigurations":[{{"Kind":"Pod","Results":[{result}]}}],"Resources":[{{"Namespace":"n","Results":[{result}]}}]}}"#
    );
    let f = parse(TRIVY, &r).unwrap();
    assert_eq!(f.len(), 3);
    assert_eq!(f[0].service.as_deref(), Some("n / Pod / p"));
    assert_eq!(ids(&f[2]), ["AVD-KSV-0001"]);
}

#[test]
fn cluster_resources_need_a_namespaced_entry_first() {
    let ok = r#"{"ClusterName":"c","Resources":[{"Namespace":"n","Kind":"Pod","Results":[]},{"Kind":"Node","Results":[]}]}"#;
    assert!(parse(TRIVY, ok).unwrap().is_empty());
    let bad = r#"{"ClusterName":"c","Resources":[{"Kind":"Node","Results":[]},{"Namespace":"n","Results":[]}]}"#;
    assert!(parse(TRIVY, bad).is_err());
    let other = r#"{"ClusterName":"c","Vulnerabilities":[{"Kind":"Node","Results":[]}]}"#;
    assert!(parse(TRIVY, other).unwrap().is_empty());
}

#[test]
fn results_without_target_and_bad_vulnerabilities_are_skipped() {
    let f = parse(
        TRIVY,
        r#"{"SchemaVersion":2,"Results":[{"Class":"os-pkgs","Vulnerabilities":[{"VulnerabilityID":"CVE-1","PkgName":"a","Severity":"LOW"}]},
          {"Target":"t","Vulnerabilities":[1,{"VulnerabilityID":"CVE-2","Severity":"LOW"},
            {"VulnerabilityID":"CVE-3","PkgName":"a","Severity":"high"},
            {"PkgName":"b","Severity":"HIGH"}]}]}"#,
    )
    .unwrap();
    assert_eq!(f.len(), 1, "only the entry without an id is kept");
    assert_eq!(ids(&f[0]), ["0"], "a missing id reads as 0");
}

#[test]
fn vulnerability_severity_falls_back_to_cvss_sources_in_order() {
    let f = parse(
        TRIVY,
        r#"{"SchemaVersion":2,"Results":[{"Target":"t","Vulnerabilities":[
          {"VulnerabilityID":"CVE-1","PkgName":"a","SeveritySource":"redhat","CVSS":{"nvd":{"V3Score":9.8},"redhat":{"V3Score":5.0}}},
          {"VulnerabilityID":"CVE-2","PkgName":"a","CVSS":{"ghsa":{"V3Vector":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}},
          {"VulnerabilityID":"CVE-3","PkgName":"a","CVSS":{"bitnami":{"V2Score":2.0}}},
          {"VulnerabilityID":"CVE-4","PkgName":"a","CVSS":{"nvd":{"V4Score":0.05}}},
          {"VulnerabilityID":"CVE-5","PkgName":"a","Severity":"MEDIUM","CVSS":{"nvd":{"V3Score":9.8}}},
          {"VulnerabilityID":"CVE-6","PkgName":"a"}]}]}"#,
    )
    .unwrap();
    let sev: Vec<Severity> = f.iter().map(|f| f.severity).collect();
    assert_eq!(
        sev,
        [
            Severity::Medium,
            Severity::Critical,
            Severity::Low,
            Severity::Low,
            Severity::Medium,
            Severity::Info
        ]
    );
}

#[test]
fn vulnerability_file_path_depends_on_class() {
    let r = |class: &str, pkg_path: &str| {
        format!(
            r#"{{"SchemaVersion":2,"Results":[{{"Target":"tgt","Class":"{class}","Vulnerabilities":[
              {{"VulnerabilityID":"CVE-1","PkgName":"a","InstalledVersion":"1","Severity":"LOW","CweIDs":["CWE-79","CWE-89"]{pkg_path}}}]}}]}}"#
        )
    };
    let path = |class: &str, p: &str| parse(TRIVY, &r(class, p)).unwrap()[0].file_path.clone();
    assert_eq!(path("os-pkgs", ""), Some("tgt".to_owned()));
    assert_eq!(
        path("lang-pkgs", r#","PkgPath":"app/x.jar""#),
        Some("app/x.jar".to_owned())
    );
    assert_eq!(
        path("config", r#","PkgPath":"app/x.jar""#),
        Some("tgt".to_owned())
    );
    assert_eq!(path("custom", r#","PkgPath":"app/x.jar""#), None);
    let f = &parse(TRIVY, &r("os-pkgs", "")).unwrap()[0];
    assert_eq!((f.cwe, &f.extra_cwes[..]), (Some(79), &[89][..]));
    assert_eq!(
        (f.component_name.as_deref(), f.component_version.as_deref()),
        (Some("a"), Some("1"))
    );
}

#[test]
fn misconfiguration_rules() {
    let f = parse(
        TRIVY,
        r#"{"SchemaVersion":2,"Results":[{"Target":"main.tf","Class":"config","Misconfigurations":[
          {"ID":"AVD-1","Title":"x"},
          {"ID":"DS002","AVDID":"AVD-DS-0002","Severity":"odd"},
          {"ID":"DS003","AVDID":null,"Severity":"CRITICAL"}]}]}"#,
    )
    .unwrap();
    assert_eq!(f.len(), 3);
    assert_eq!((f[0].severity, ids(&f[0])), (Severity::Low, vec!["AVD-1"]));
    assert_eq!(
        (f[1].severity, ids(&f[1])),
        (Severity::Info, vec!["AVD-DS-0002"])
    );
    assert_eq!((f[2].severity, ids(&f[2])), (Severity::Critical, vec![]));
    assert_eq!(f[0].file_path.as_deref(), Some("main.tf"));
}

#[test]
fn secrets_and_licenses_need_a_trivy_severity() {
    let f = parse(
        TRIVY,
        r#"{"SchemaVersion":2,"Results":[{"Target":".env","Class":"secret","Secrets":[{"Title":"AWS","Severity":"CRITICAL","StartLine":4}]},
          {"Target":"OS Packages","Class":"license","Licenses":[{"Name":"GPL-3.0","Severity":"HIGH","FilePath":"usr/share/x","PkgName":"x"}]}]}"#,
    )
    .unwrap();
    assert_eq!(f.len(), 2);
    assert_eq!(
        (f[0].file_path.as_deref(), f[0].line),
        (Some(".env"), Some(4))
    );
    assert_eq!(
        (f[1].severity, f[1].file_path.as_deref()),
        (Severity::High, Some("usr/share/x"))
    );
    for bad in [
        r#"{"SchemaVersion":2,"Results":[{"Target":"a","Secrets":[{"Title":"AWS","Severity":"high"}]}]}"#,
        r#"{"SchemaVersion":2,"Results":[{"Target":"a","Licenses":[{"Name":"MIT"}]}]}"#,
    ] {
        assert!(parse(TRIVY, bad).is_err(), "{bad}");
    }
}

// ---- Trivy Operator Scan ----

const LABELS: &str = r#""metadata":{"labels":{"trivy-operator.resource.namespace":"ns","trivy-operator.resource.kind":"ReplicaSet","trivy-operator.resource.name":"web","trivy-operator.container.name":"nginx"}}"#;

fn vuln_report(id: &str) -> String {
    format!(
        r#"{{"apiVersion":"aquasecurity.github.io/v1alpha1","kind":"VulnerabilityReport",{LABELS},"report":{{"vulnerabilities":[
          {{"vulnerabilityID":"{id}","resource":"libc","installedVersion":"1","severity":"HIGH","class":"os-pkgs","target":"img"}}]}}}}"#
    )
}

#[test]
fn operator_single_array_and_keyed_exports() {
    let single = vuln_report("CVE-1");
    assert_eq!(parse(TRIVY_OPERATOR, &single).unwrap().len(), 1);
    let array = format!("[{single},null,{}]", vuln_report("CVE-2"));
    assert_eq!(parse(TRIVY_OPERATOR, &array).unwrap().len(), 2);
    let keyed = format!(
        r#"{{"vulnerabilityreports.aquasecurity.github.io":[{single},{}],
             "configauditreports.aquasecurity.github.io":[{{{LABELS},"report":{{"checks":[{{"checkID":"KSV014","severity":"LOW","success":false}}]}}}}],
             "sbomreports.aquasecurity.github.io":[{single}]}}"#,
        vuln_report("CVE-3")
    );
    let f = parse(TRIVY_OPERATOR, &keyed).unwrap();
    assert_eq!(f.len(), 3, "SBOM reports are skipped");
    assert!(f.iter().any(|f| ids(f) == ["AVD-KSV-0014"]));
}

#[test]
fn operator_resources_without_labels_and_list_wrappers_give_nothing() {
    let list = format!(
        r#"{{"apiVersion":"v1","kind":"List","metadata":{{"resourceVersion":""}},"items":[{}]}}"#,
        vuln_report("CVE-1")
    );
    assert!(parse(TRIVY_OPERATOR, &list).unwrap().is_empty());
    assert!(
        parse(TRIVY_OPERATOR, r#"{"kind":"Pod"}"#)
            .unwrap()
            .is_empty()
    );
    assert!(
        parse(
            TRIVY_OPERATOR,
            r#"{"report":{"vulnerabilities":[{"severity":"HIGH"}]}}"#
        )
        .unwrap()
        .is_empty()
    );
}

#[test]
fn operator_vulnerability_fields() {
    let f = parse(
        TRIVY_OPERATOR,
        &format!(
            r#"{{{LABELS},"report":{{"vulnerabilities":[
              {{"vulnerabilityID":"CVE-1","resource":"a","installedVersion":"1","severity":"CRITICAL","class":"lang-pkgs","target":"img","packagePath":"app/pom.xml","score":9.1}},
              {{"vulnerabilityID":"GHSA-1","resource":"b","severity":"UNKNOWN","class":"secret","target":"img"}},
              {{"resource":"c","severity":"LOW"}}]}}}}"#
        ),
    )
    .unwrap();
    assert_eq!(f.len(), 3);
    assert_eq!(f[0].file_path.as_deref(), Some("app/pom.xml"));
    assert_eq!(
        (f[0].severity, f[0].cvssv3_score),
        (Severity::Critical, Some(9.1))
    );
    assert_eq!(
        (f[1].severity, f[1].file_path.as_deref()),
        (Severity::Info, None)
    );
    assert_eq!(ids(&f[1]), ["GHSA-1"]);
    assert_eq!(ids(&f[2]), ["0"]);
    assert_eq!(f[0].service.as_deref(), Some("ns/ReplicaSet/web/nginx"));
}

#[test]
fn operator_unknown_severity_rejects_the_report() {
    let r = format!(r#"{{{LABELS},"report":{{"secrets":[{{"title":"x","severity":"high"}}]}}}}"#);
    assert!(parse(TRIVY_OPERATOR, &r).is_err());
}

#[test]
fn operator_checks_include_passed_ones_and_secrets_have_paths() {
    let f = parse(
        TRIVY_OPERATOR,
        &format!(
            r#"{{{LABELS},"report":{{"checks":[
              {{"checkID":"KSV014","severity":"HIGH","success":false}},
              {{"checkID":"KCV0048","severity":"MEDIUM","success":true}},
              {{"severity":"LOW"}}],
              "secrets":[{{"target":"/etc/key","title":"key","severity":"CRITICAL","ruleID":"private-key"}}]}}}}"#
        ),
    )
    .unwrap();
    assert_eq!(f.len(), 4);
    assert_eq!(ids(&f[0]), ["AVD-KSV-0014"]);
    assert_eq!(ids(&f[1]), ["AVD-KCV-0048"]);
    assert!(f[2].vulnerability_ids.is_empty());
    assert_eq!(
        (f[3].file_path.as_deref(), f[3].severity),
        (Some("/etc/key"), Severity::Critical)
    );
}

#[test]
fn operator_compliance_detail_and_summary() {
    let r = format!(
        r#"{{"kind":"ClusterComplianceReport",{LABELS},
          "spec":{{"compliance":{{"controls":[{{"id":"1.1","description":"d","checks":[{{"id":"AVD-KSV-0001"}},{{"id":"KSV002"}}]}}]}}}},
          "status":{{"summary":{{"failCount":"2"}},
            "summaryReport":{{"controlCheck":[{{"id":"1.1","severity":"HIGH","totalFail":2}},{{"id":"1.2","severity":"LOW","totalFail":0}}]}},
            "detailReport":{{"description":"b","results":[{{"id":"5.1","severity":"MEDIUM","checks":[
              {{"checkID":"KSV041","success":false,"target":"x"}},
              {{"checkID":"KSV042","success":false,"severity":"CRITICAL"}},
              {{"checkID":"KSV043"}}]}}]}}}}}}"#
    );
    let f = parse(TRIVY_OPERATOR, &r).unwrap();
    assert_eq!(f.len(), 3);
    assert_eq!(
        (f[0].severity, ids(&f[0])),
        (Severity::Medium, vec!["AVD-KSV-0041"])
    );
    assert_eq!(f[1].severity, Severity::Critical);
    assert_eq!(
        (f[2].severity, ids(&f[2])),
        (Severity::High, vec!["AVD-KSV-0001", "KSV002"])
    );
    let no_fail = r.replace(r#""failCount":"2""#, r#""failCount":0"#);
    assert_eq!(parse(TRIVY_OPERATOR, &no_fail).unwrap().len(), 2);
    // Descriptions the reference concatenates are required.
    let no_detail_description = r.replace(r#""description":"b","#, "");
    assert!(parse(TRIVY_OPERATOR, &no_detail_description).is_err());
    let no_control_description = r.replace(r#""description":"d","#, "");
    assert!(parse(TRIVY_OPERATOR, &no_control_description).is_err());
}
