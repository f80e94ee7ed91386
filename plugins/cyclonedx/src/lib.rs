//! Palisade parser plugin for CycloneDX SBOMs that carry vulnerabilities
//! ("CycloneDX Scan"), in JSON and XML.
//!
//! Two shapes exist:
//! - CycloneDX 1.4+ (JSON or XML): a BOM-level `vulnerabilities` list whose
//!   entries name the affected components through `affects[].ref` (a
//!   component's `bom-ref`);
//! - CycloneDX 1.0-1.3 XML with the vulnerability extension
//!   (`http://cyclonedx.org/schema/ext/vulnerability/1.0`): `v:vulnerability`
//!   elements inside a component, or at BOM level with a `ref` attribute.
//!
//! Each (vulnerability, affected component) pair becomes one finding.

use palisade_plugin_sdk::prelude::*;

pub mod json_bom;
pub mod xml_bom;

/// The scan type this plugin handles (DefectDojo's name).
pub const SCAN_TYPE: &str = "CycloneDX Scan";

/// The CycloneDX parser.
pub struct CycloneDx;

impl Parser for CycloneDx {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "cyclonedx".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "CycloneDX SBOM with vulnerabilities (JSON or XML)".to_owned(),
                file_kinds: vec!["json".to_owned(), "xml".to_owned()],
                dedupe: DedupeSetting::hash_code(&[
                    "vuln_id_from_tool",
                    "component_name",
                    "component_version",
                ]),
            }],
        }
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        if !candidates.iter().any(|c| c == SCAN_TYPE) {
            return None;
        }
        (json_bom::looks_like(head) || xml_bom::looks_like(head)).then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        if scan_type != SCAN_TYPE {
            return Err(ParseError::new(format!(
                "the cyclonedx plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
        if palisade_plugin_sdk::json::starts_like_json(report) {
            json_bom::parse(report)
        } else {
            xml_bom::parse(report)
        }
    }
}

palisade_plugin_sdk::export_parser!(CycloneDx);

/// A vulnerability rating, in the format-neutral form both readers produce.
#[derive(Debug, Default)]
pub(crate) struct Rating {
    pub(crate) severity: Option<String>,
    pub(crate) score: Option<f32>,
    pub(crate) method: Option<String>,
    pub(crate) vector: Option<String>,
}

/// The severity of a vulnerability from its ratings: the first rating that
/// states a severity word (CycloneDX tools list their own verdict first),
/// except OWASP Risk ratings, which rate business risk rather than the
/// vulnerability; else the highest CVSS score; else Info.
pub(crate) fn severity_of(ratings: &[Rating]) -> Severity {
    let is_owasp = |r: &Rating| {
        r.method
            .as_deref()
            .is_some_and(|m| m.to_ascii_uppercase().starts_with("OWASP"))
    };
    if let Some(s) = ratings
        .iter()
        .filter(|r| !is_owasp(r))
        .find_map(|r| r.severity.as_deref().and_then(severity_from_word))
    {
        return s;
    }
    ratings
        .iter()
        .filter(|r| !is_owasp(r))
        .filter_map(|r| r.score)
        .reduce(f32::max)
        .map(severity_from_cvss)
        .or_else(|| {
            ratings
                .iter()
                .find_map(|r| r.severity.as_deref().and_then(severity_from_word))
        })
        .unwrap_or(Severity::Info)
}

/// The CVSS v3 vector and score of the ratings, when one is a CVSS v3 rating.
pub(crate) fn cvss3_of(ratings: &[Rating]) -> (Option<String>, Option<f32>) {
    for r in ratings {
        let is_v3 = r.method.as_deref().is_some_and(|m| m.starts_with("CVSSv3"));
        let vector = r.vector.as_deref().and_then(|v| cvss3_from_str(v).ok());
        let is_v3 = is_v3 || r.vector.as_deref().is_some_and(|v| v.starts_with("CVSS:3"));
        if is_v3 && let Some(v) = vector {
            return (Some(v.vector()), r.score.or_else(|| Some(v.base_score())));
        }
    }
    (None, None)
}

/// The affected component of a finding.
#[derive(Debug, Clone, Default)]
pub(crate) struct Component {
    pub(crate) name: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) purl: Option<String>,
}

/// What both readers extract from one vulnerability.
#[derive(Debug, Default)]
pub(crate) struct Vuln {
    pub(crate) id: Option<String>,
    pub(crate) source: Option<String>,
    pub(crate) aliases: Vec<String>,
    pub(crate) ratings: Vec<Rating>,
    pub(crate) cwes: Vec<u32>,
    pub(crate) description: Option<String>,
    pub(crate) detail: Option<String>,
    pub(crate) recommendation: Option<String>,
    pub(crate) advisories: Vec<String>,
    /// The VEX analysis state ("not_affected", "false_positive", ...).
    pub(crate) state: Option<String>,
    pub(crate) analysis_detail: Option<String>,
    pub(crate) published: Option<String>,
}

/// Builds the finding for one vulnerability of one component.
pub(crate) fn finding(v: &Vuln, c: &Component) -> Finding {
    let id =
        v.id.clone()
            .unwrap_or_else(|| "unnamed vulnerability".to_owned());
    let label = match (&c.name, &c.version) {
        (Some(n), Some(ver)) => format!("{n}:{ver}"),
        (Some(n), None) => n.clone(),
        _ => c
            .purl
            .clone()
            .unwrap_or_else(|| "unknown component".to_owned()),
    };
    let mut vulnerability_ids: Vec<String> = Vec::new();
    for x in v.id.iter().chain(&v.aliases) {
        let x = x.trim();
        if !x.is_empty() && !vulnerability_ids.iter().any(|y| y == x) {
            vulnerability_ids.push(x.to_owned());
        }
    }
    let mut description = v.description.clone().unwrap_or_else(|| id.clone());
    if let Some(d) = &v.detail {
        description.push_str("\n\n");
        description.push_str(d);
    }
    if let Some(s) = &v.source {
        description.push_str(&format!("\n\n**Source:** {s}"));
    }
    if let Some(p) = &c.purl {
        description.push_str(&format!("\n**Package:** {p}"));
    }
    let (cvssv3, cvssv3_score) = cvss3_of(&v.ratings);

    let state = v.state.as_deref().unwrap_or("");
    let mitigated = matches!(
        state,
        "resolved" | "resolved_with_pedigree" | "not_affected" | "false_positive"
    );
    let mut mitigation = v.recommendation.clone();
    if mitigated {
        let note = format!(
            "This vulnerability is marked {state} in the SBOM: {}",
            v.analysis_detail.as_deref().unwrap_or("no detail given")
        );
        mitigation = Some(match mitigation {
            Some(m) => format!("{note}\n\n{m}"),
            None => note,
        });
    }

    Finding {
        title: truncate_chars(&format!("{label} | {id}"), 511).to_owned(),
        severity: severity_of(&v.ratings),
        description,
        mitigation,
        references: (!v.advisories.is_empty()).then(|| v.advisories.join("\n")),
        cwe: v.cwes.first().copied(),
        extra_cwes: v.cwes.iter().skip(1).copied().collect(),
        vulnerability_ids,
        cvssv3,
        cvssv3_score,
        component_name: c.name.clone(),
        component_version: c.version.clone(),
        vuln_id_from_tool: v.id.clone(),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        date: v.published.clone(),
        false_p: (state == "false_positive").then_some(true),
        is_mitigated: mitigated.then_some(true),
        active: mitigated.then_some(false),
        ..Finding::default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        CycloneDx::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    #[test]
    fn severity_rules() {
        let r = |s: Option<&str>, score: Option<f32>, m: Option<&str>| Rating {
            severity: s.map(Into::into),
            score,
            method: m.map(Into::into),
            vector: None,
        };
        assert_eq!(severity_of(&[]), Severity::Info);
        assert_eq!(
            severity_of(&[
                r(Some("low"), None, Some("OWASP")),
                r(Some("critical"), None, Some("CVSSv3"))
            ]),
            Severity::Critical
        );
        assert_eq!(
            severity_of(&[r(None, Some(5.0), None), r(None, Some(7.5), None)]),
            Severity::High
        );
        assert_eq!(
            severity_of(&[r(Some("unknown"), Some(0.0), None)]),
            Severity::Info
        );
        assert_eq!(
            severity_of(&[r(Some("banana"), None, None)]),
            Severity::Info
        );
    }

    #[test]
    fn json_minimal_and_nested_components() {
        let r = r#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[
            {"bom-ref":"a","name":"outer","components":[{"bom-ref":"b","name":"inner","version":"2"}]}],
            "vulnerabilities":[{"id":"CVE-2020-0001","affects":[{"ref":"b"},{"ref":"a"}],
            "ratings":[{"score":9.8,"method":"CVSSv31","vector":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
            "analysis":{"state":"false_positive"}},
            {"id":"X-1"}]}"#;
        let f = parse(r).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].title, "inner:2 | CVE-2020-0001");
        assert_eq!(f[0].severity, Severity::Critical);
        assert_eq!(f[0].cvssv3_score, Some(9.8));
        assert_eq!(f[0].false_p, Some(true));
        assert_eq!(f[1].component_name.as_deref(), Some("outer"));
        assert_eq!(f[2].component_name, None);
        assert_eq!(f[2].severity, Severity::Info);
    }

    #[test]
    fn json_without_vulnerabilities_is_empty() {
        assert!(
            parse(r#"{"bomFormat":"CycloneDX","specVersion":"1.4","components":[]}"#)
                .unwrap()
                .is_empty()
        );
        assert!(
            parse(r#"{"bomFormat":"CycloneDX","vulnerabilities":null}"#)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn wrong_inputs_are_rejected() {
        let e = parse(r#"{"vulnerabilities":[]}"#).unwrap_err();
        assert!(e.message.contains("bomFormat"), "{e}");
        assert!(parse(r#"{"bomFormat":"CycloneDX","vulnerabilities":[{"id":"#).is_err());
        assert!(parse(r#"{"bomFormat":"CycloneDX","vulnerabilities":{"a":1}}"#).is_err());
        assert!(
            parse("<OWASPZAPReport/>")
                .unwrap_err()
                .message
                .contains("not a CycloneDX")
        );
        assert!(parse("").is_err());
        assert!(
            CycloneDx::parse(SCAN_TYPE, b"{\"bomFormat\":\"\xff\"}", &Options::default()).is_err()
        );
        let deep = "[".repeat(100_000);
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn xml_14_and_extension() {
        let r = r#"<bom xmlns="http://cyclonedx.org/schema/bom/1.4"><components>
            <component bom-ref="r1"><name>n</name><version>1</version></component></components>
            <vulnerabilities><vulnerability><id>CVE-2021-1</id><ratings><rating><severity>high</severity></rating></ratings>
            <cwes><cwe>79</cwe></cwes><affects><target><ref>r1</ref></target></affects></vulnerability></vulnerabilities></bom>"#;
        let f = parse(r).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].severity, f[0].cwe), (Severity::High, Some(79)));
        assert_eq!(f[0].component_version.as_deref(), Some("1"));
        let old = r#"<bom xmlns="http://cyclonedx.org/schema/bom/1.2" xmlns:v="http://cyclonedx.org/schema/ext/vulnerability/1.0">
            <components><component><name>c</name><version>3</version><v:vulnerabilities>
            <v:vulnerability ref="x"><v:id>CVE-2021-2</v:id></v:vulnerability></v:vulnerabilities></component></components></bom>"#;
        let f = parse(old).unwrap();
        assert_eq!(f[0].component_name.as_deref(), Some("c"));
        assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some("CVE-2021-2"));
        assert!(
            parse("<bom xmlns=\"http://cyclonedx.org/schema/bom/1.4\"/>")
                .unwrap()
                .is_empty()
        );
        assert!(parse(&r[..100]).is_err());
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        assert!(CycloneDx::detect(&c, br#"{"bomFormat": "CycloneDX", "specVersion"#).is_some());
        assert!(
            CycloneDx::detect(
                &c,
                br#"<?xml version="1.0"?><bom xmlns="http://cyclonedx.org/schema/bom/1.2">"#
            )
            .is_some()
        );
        assert!(CycloneDx::detect(&c, br#"{"vulnerabilities": [], "components": []}"#).is_none());
        assert!(CycloneDx::detect(&c, b"<bom><x/></bom>").is_none());
        assert!(CycloneDx::detect(&c, br#"{"spdxVersion": "SPDX-2.3"}"#).is_none());
    }
}
