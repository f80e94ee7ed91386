//! Palisade parser plugin for Tenable/Nessus exports, scan type "Tenable Scan".
//!
//! Two formats share the scan type:
//! - the `.nessus` XML export (`<NessusClientData_v2>`, also written by Tenable
//!   Web App Scanning), see [`xml_report`];
//! - the CSV exports of Nessus, Tenable.sc and Tenable WAS (columns such as
//!   `Plugin ID`/`Plugin`, `Risk`/`Severity`, `Host`/`IP Address`, `Port`, `Name`),
//!   see [`csv_report`].

use palisade_plugin_sdk::prelude::*;

pub mod csv_report;
pub mod xml_report;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "Tenable Scan";

/// The Tenable parser.
pub struct Tenable;

impl Parser for Tenable {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "tenable".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "Tenable Nessus / WAS / Tenable.sc exports (.nessus XML or CSV)"
                    .to_owned(),
                file_kinds: vec!["nessus".to_owned(), "xml".to_owned(), "csv".to_owned()],
                dedupe: DedupeSetting::hash_code(&[
                    "title",
                    "severity",
                    "vulnerability_ids",
                    "cwe",
                    "description",
                ]),
            }],
        }
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        if !candidates.iter().any(|c| c == SCAN_TYPE) {
            return None;
        }
        (xml_report::looks_like(head) || csv_report::looks_like(head)).then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        if scan_type != SCAN_TYPE {
            return Err(ParseError::new(format!(
                "the tenable plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
        let start = palisade_plugin_sdk::sniff::first_byte(report);
        match start {
            None => Err(ParseError::new(
                "the report is empty: expected a .nessus XML export or a Tenable CSV export",
            )),
            Some(b'<') => xml_report::parse(report),
            Some(_) => csv_report::parse(report),
        }
    }
}

palisade_plugin_sdk::export_parser!(Tenable);

/// Severity from Tenable's words ("None" is informational) or its 0-4 scale.
pub(crate) fn tenable_severity(value: &str) -> Option<Severity> {
    match value.trim() {
        "0" => Some(Severity::Info),
        "1" => Some(Severity::Low),
        "2" => Some(Severity::Medium),
        "3" => Some(Severity::High),
        "4" => Some(Severity::Critical),
        v if v.eq_ignore_ascii_case("none") => Some(Severity::Info),
        v => severity_from_word(v),
    }
}

/// An endpoint for a host name or URL and a Nessus port ("0" means "the host as a whole").
pub(crate) fn host_endpoint(
    host: &str,
    protocol: Option<&str>,
    port: Option<&str>,
) -> Option<Endpoint> {
    let mut e = endpoint_from_url(host)?;
    let port = port
        .and_then(|p| p.trim().parse::<u16>().ok())
        .filter(|p| *p != 0);
    if port.is_some() {
        e.port = port;
    }
    if e.protocol.is_none() {
        e.protocol = protocol
            .map(|p| p.trim().trim_end_matches('?').to_lowercase())
            .filter(|p| !p.is_empty())
            .map(|p| if p == "www" { "http".to_owned() } else { p });
    }
    e.path = None;
    Some(e)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(s: &[u8]) -> Result<Vec<Finding>, ParseError> {
        Tenable::parse(SCAN_TYPE, s, &Options::default())
    }

    #[test]
    fn empty_and_foreign_inputs() {
        assert!(parse(b"").is_err());
        assert!(parse(b"<nmaprun/>").is_err());
        assert!(parse(b"{\"a\":1}").is_err());
        assert!(parse(b"a,b\n1,2\n").is_err());
        assert!(parse(b"<NessusClientData_v2><Report>").is_err());
        assert!(parse(b"Plugin ID,Risk,Host,Port,Name\n1,\xff,h,1,n\n").is_err());
        assert!(Tenable::parse("Other", b"<x/>", &Options::default()).is_err());
        let deep = "<NessusClientData_v2>".to_owned() + &"<a>".repeat(5000);
        assert!(parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn valid_reports_without_findings() {
        assert_eq!(
            parse(b"<NessusClientData_v2><Report name=\"x\"/></NessusClientData_v2>").unwrap(),
            vec![]
        );
        assert_eq!(
            parse(b"Plugin ID,CVE,CVSS,Risk,Host,Protocol,Port,Name,Synopsis\n").unwrap(),
            vec![]
        );
    }

    #[test]
    fn xml_items_merge_per_plugin_and_keep_first_cve() {
        let r = br#"<NessusClientData_v2><Report>
          <ReportHost name="10.0.0.1"><HostProperties/>
            <ReportItem port="0" protocol="tcp" severity="4" pluginID="1" pluginName="P">
              <cve>CVE-2020-1</cve><cve>CVE-2020-2</cve><cwe>79</cwe></ReportItem>
            <ReportItem port="443" svc_name="https?" protocol="tcp" severity="weird" pluginID="2" pluginName="Q"/>
          </ReportHost>
          <ReportHost name="http://b.example/"><ReportItem port="8080" protocol="tcp" severity="4" pluginID="1" pluginName="P"/></ReportHost>
        </Report></NessusClientData_v2>"#;
        let f = parse(r).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].severity, Severity::Critical);
        assert_eq!(f[0].vulnerability_ids, ["CVE-2020-1"]);
        assert!(f[0].description.contains("CVE-2020-2"));
        assert_eq!(f[0].cwe, Some(79));
        assert_eq!(f[0].endpoints.len(), 2);
        assert_eq!(f[0].endpoints[0].port, None);
        assert_eq!(f[0].endpoints[1].host, "b.example");
        assert_eq!(f[0].endpoints[1].port, Some(8080));
        assert_eq!(f[1].severity, Severity::Info);
        assert_eq!(f[1].endpoints[0].protocol.as_deref(), Some("https"));
    }

    #[test]
    fn csv_rows_merge_per_port_and_skip_blank_rows() {
        let r = b"Plugin,Plugin Name,Severity,IP Address,Protocol,Port,CPE,CVE\n\
            1,P,Critical,1.1.1.1,TCP,1433,cpe:/a:microsoft:sql_server,CVE-2020-1234\n\
            1,P,Critical,2.2.2.2,TCP,1433,cpe:/a:microsoft:sql_server,CVE-2020-1234\n\
            ,,,,,,,\n";
        let f = parse(r).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].endpoints.len(), 2);
        assert_eq!(f[0].component_name.as_deref(), Some("sql_server"));
        assert_eq!(f[0].vulnerability_ids, ["CVE-2020-1234"]);
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        assert!(
            Tenable::detect(&c, b"<?xml version=\"1.0\" ?><NessusClientData_v2><Policy>").is_some()
        );
        assert!(
            Tenable::detect(
                &c,
                b"Plugin ID,CVE,CVSS,Risk,Host,Protocol,Port,Name,Synopsis,Description"
            )
            .is_some()
        );
        assert!(Tenable::detect(&c, b"Title,Severity,Description\n").is_none());
        assert!(Tenable::detect(&c, b"<nmaprun>").is_none());
    }
}
