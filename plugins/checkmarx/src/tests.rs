use super::*;

fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
    Checkmarx::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
}

const XML: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<CxXMLResults ScanStart="Sunday, February 25, 2018 11:35:52 AM">
  <Query id="594" cweId="89" name="SQL_Injection" Severity="High">
    <Result FileName="a/B.java" Line="3" FalsePositive="True" Severity="High" state="0">
      <Path SimilarityId="11"><PathNode><FileName>a/A.java</FileName><Line>1</Line></PathNode>
        <PathNode><FileName>a/B.java</FileName><Line>3</Line></PathNode></Path>
    </Result>
    <Result FileName="a/B.java" Line="9" FalsePositive="False" Severity="High" state="2">
      <Path SimilarityId="12"><PathNode><FileName>a/B.java</FileName><Line>9</Line></PathNode></Path>
    </Result>
  </Query>
  <Query id="595" cweId="89" name="Second_Order_SQL_Injection" Severity="High">
    <Result FileName="a/B.java" Line="4" Severity="High"><Path/></Result>
  </Query>
  <Query id="600" cweId="0" name="Odd" Severity="Information">
    <Result Severity="Weird"></Result>
  </Query>
</CxXMLResults>"#;

#[test]
fn xml_results_are_aggregated() {
    let f = parse(XML).unwrap();
    assert_eq!(f.len(), 2);
    assert_eq!(f[0].title, "SQL Injection (B.java)");
    assert_eq!((f[0].severity, f[0].cwe), (Severity::High, Some(89)));
    assert_eq!(f[0].file_path.as_deref(), Some("a/B.java"));
    assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some("594,595"));
    assert_eq!(f[0].nb_occurences, Some(3));
    assert_eq!((f[0].false_p, f[0].verified), (Some(false), Some(true)));
    assert_eq!(f[0].date.as_deref(), Some("2018-02-25"));
    assert_eq!(
        (f[1].severity, f[1].cwe, f[1].file_path.as_deref()),
        (Severity::Info, None, None)
    );
}

#[test]
fn xml_detailed_mode() {
    let opts = Options(vec![("mode".to_owned(), "detailed".to_owned())]);
    let f = Checkmarx::parse(SCAN_TYPE, XML.as_bytes(), &opts).unwrap();
    assert_eq!(f.len(), 4);
    assert_eq!(
        (f[0].line, f[0].unique_id_from_tool.as_deref()),
        (Some(3), Some("11None")),
        "the similarity id and path id run together, a missing one as None"
    );
}

#[test]
fn json_engines() {
    let f = parse(
        r#"{"reportHeader": {}, "scanResults": {
        "sast": {"languages": [{"languageName": "Java", "queries": [{"queryName": "SQL_Injection", "vulnerabilities": [
            {"id": "", "similarityId": -5, "severity": "HIGH", "cweId": 89, "state": "Not exploitable",
             "nodes": [{"fileName": "/a", "line": 1}, {"fileName": "/b", "line": 7}], "firstFoundDate": {"seconds": 0}}]}]}]},
        "sca": {"packages": [{"name": "Npm-jquery-ui-1.10.4", "vulnerabilities": [
            {"id": "x", "version": "1.10.4", "severity": "MEDIUM", "cveId": "CVE-2021-41184", "cwe": "79"}]}]},
        "kics": {"results": [{"name": "Dockerfile", "vulnerabilities": [{"id": "k", "severity": "INFO", "fileName": "/Dockerfile", "queryName": "Q"}]}]}
    }}"#,
    )
    .unwrap();
    assert_eq!(f.len(), 3);
    assert_eq!(
        (f[0].file_path.as_deref(), f[0].line),
        (Some("/b"), Some(7))
    );
    assert_eq!(f[0].unique_id_from_tool.as_deref(), Some("-5"));
    assert_eq!(
        (f[0].false_p, f[0].date.as_deref()),
        (Some(true), Some("1970-01-01"))
    );
    // The reference takes the last two dash parts as name and version.
    assert_eq!(f[1].component_name.as_deref(), Some("ui"));
    assert_eq!(f[1].vulnerability_ids, ["CVE-2021-41184"]);
    assert_eq!((f[1].severity, f[1].cwe), (Severity::Medium, Some(79)));
    assert_eq!(
        (f[2].severity, f[2].title.as_str()),
        (Severity::Info, "Dockerfile | Q")
    );
}

#[test]
fn empty_reports() {
    assert!(parse("<CxXMLResults/>").unwrap().is_empty());
    assert!(parse(r#"{"scanResults": {}}"#).unwrap().is_empty());
}

#[test]
fn rejects_bad_input() {
    for bad in [
        "",
        "[]",
        "{\"scanResults\": ",
        r#"{"version": "2.1.0", "runs": []}"#,
        "<CxXMLResults><Query>",
        "<OWASPZAPReport/>",
        "not xml at all",
        "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><CxXMLResults>&x;</CxXMLResults>",
    ] {
        let e = parse(bad).unwrap_err();
        assert!(!e.message.is_empty(), "{bad}");
    }
    assert!(
        Checkmarx::parse(
            SCAN_TYPE,
            b"<CxXMLResults a=\"\xff\"/>",
            &Options::default()
        )
        .is_err()
    );
    let deep = format!("{}{}", "<a>".repeat(5000), "</a>".repeat(5000));
    assert!(parse(&deep).is_err());
    let laughs = format!(
        "<!DOCTYPE r [<!ENTITY a \"{}\">{}]><CxXMLResults>&j;</CxXMLResults>",
        "x".repeat(100),
        (b'b'..=b'j')
            .map(|c| {
                let p = (c - 1) as char;
                format!(
                    "<!ENTITY {} \"{}\">",
                    c as char,
                    format!("&{p};").repeat(10)
                )
            })
            .collect::<String>()
    );
    assert!(parse(&laughs).is_err());
}

#[test]
fn detect_is_strict() {
    let c = [SCAN_TYPE.to_owned()];
    assert!(Checkmarx::detect(&c, XML.as_bytes()).is_some());
    assert!(
        Checkmarx::detect(
            &c,
            br#"{"reportId": "x", "reportHeader": {}, "executiveSummary": {}, "scanResults": {"#
        )
        .is_some()
    );
    // Checkmarx One's scan-results export is another scan type.
    assert!(
        Checkmarx::detect(
            &c,
            br#"{"reportCreationDate": "x", "reportHeader": {}, "scanResults": {"sast": {"resultsList": ["#
        )
        .is_none()
    );
    assert!(Checkmarx::detect(&c, b"<?xml version=\"1.0\"?><OWASPZAPReport>").is_none());
    assert!(Checkmarx::detect(&c, br#"{"results": [], "errors": []}"#).is_none());
}

#[test]
fn checkmarx_one_reports_are_not_claimed() {
    let c = [SCAN_TYPE.to_owned()];
    let ours = br#"{"reportId": 1, "reportHeader": {}, "executiveSummary": {}, "scanSummary": {}, "scanResults": {"sast": {"#;
    assert!(Checkmarx::detect(&c, ours).is_some());
    for head in [
        &br#"{"reportCreationDate": "x", "reportType": "scan", "reportHeader": {}, "scanResults": {"totalResults": 0}}"#[..],
        br#"{"reportHeader": {}, "executiveSummary": {}, "scanResults": {"resultsList": []}}"#,
        br#"{"reportHeader": {}, "executiveSummary": {}, "scanResults": null, "scaScanResults": {"packages": []}}"#,
        br#"{"reportHeader": {}, "scanSummary": {}, "scanResults": {}, "iacScanResults": {"technology": []}}"#,
        br#"{"results": [{"type": "sast", "similarityId": "1", "data": {"queryName": "q"}}]}"#,
        br#"{"scan": {"analyzer": {"id": "CxOne-SAST"}}, "vulnerabilities": []}"#,
    ] {
        assert!(Checkmarx::detect(&c, head).is_none(), "{}", String::from_utf8_lossy(head));
    }
}

#[test]
fn json_unique_ids_fall_back_to_the_similarity_id() {
    let f = parse(
        r#"{"scanResults": {"kics": {"results": [{"name": "G", "vulnerabilities": [
            {"id": "", "similarityId": "abc", "severity": "LOW", "fileName": "f", "line": 2},
            {"severity": "LOW"},
            {"id": "", "similarityId": "", "severity": "LOW"}]}]}}}"#,
    )
    .unwrap();
    let ids: Vec<Option<&str>> = f.iter().map(|f| f.unique_id_from_tool.as_deref()).collect();
    assert_eq!(ids, [Some("abc"), Some("None"), None]);
    assert_eq!((f[0].file_path.as_deref(), f[0].line), (Some("f"), Some(2)));
}

#[test]
fn xml_aggregation_keys_are_the_raw_texts_and_the_last_path_sink() {
    let xml = r#"<CxXMLResults ScanStart="Sunday, February 25, 2018 11:35:52 AM">
      <Query id="1" name="Q_A" cweId="79">
        <Result Severity="Info"><Path SimilarityId="1" PathId="1"><PathNode><FileName>a/x.js</FileName><Line>1</Line><Name>n</Name></PathNode></Path></Result>
        <Result Severity="Information"><Path SimilarityId="2" PathId="2"><PathNode><FileName>a/x.js</FileName><Line>2</Line><Name>n</Name></PathNode></Path></Result>
        <Result Severity="Info"><Path SimilarityId="3" PathId="3"><PathNode><FileName>a/y.js</FileName><Line>3</Line><Name>n</Name></PathNode></Path>
          <Path SimilarityId="4" PathId="4"><PathNode><FileName>a/x.js</FileName><Line>4</Line><Name>n</Name></PathNode></Path></Result>
      </Query>
      <Query id="2" name="Q_B" cweId="79">
        <Result Severity="Info"><Path SimilarityId="5" PathId="5"><PathNode><FileName>a/x.js</FileName><Line>5</Line><Name>n</Name></PathNode></Path></Result>
      </Query></CxXMLResults>"#;
    let f = parse(xml).unwrap();
    assert_eq!(f.len(), 2);
    assert_eq!(
        f[0].nb_occurences,
        Some(3),
        "the second path's sink x.js counts"
    );
    assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some("1,2"));
    assert_eq!(f[1].file_path.as_deref(), Some("a/x.js"));
}
