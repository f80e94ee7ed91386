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
//! Each (vulnerability, affected component) pair becomes one finding; the
//! full list of rules is in `FORMAT.md`.

use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::text::iso_date;

pub mod json_bom;
pub mod xml_bom;

/// The scan type this plugin handles (DefectDojo's name).
pub const SCAN_TYPE: &str = "CycloneDX Scan";

/// The CycloneDX parser.
pub struct CycloneDx;

impl Parser for CycloneDx {
    fn info() -> PluginInfo {
        PluginInfo::single(
            "cyclonedx",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "CycloneDX SBOM with vulnerabilities (JSON or XML)",
                &["json", "xml"],
                DedupeSetting::hash_code(&[
                    "vuln_id_from_tool",
                    "component_name",
                    "component_version",
                ]),
            ),
        )
    }

    fn detect(_candidates: &[String], head: &[u8]) -> Option<String> {
        (json_bom::looks_like(head) || xml_bom::looks_like(head)).then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        _scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
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
    pub(crate) method: Option<String>,
    pub(crate) vector: Option<String>,
}

/// Reads a severity word as the reference does: capitalised, `Unknown` and
/// `None` mean Info; words outside the usual scale fall back to Medium.
pub(crate) fn fix_severity(word: &str) -> Severity {
    severity_from_word(word).unwrap_or(Severity::Medium)
}

/// Applies the CVSS v3 ratings (those whose method is one of `methods`) in
/// order: each parsable vector replaces the vector and the severity (the
/// rating's own word when present, else the vector's base severity).
pub(crate) fn apply_cvss(
    ratings: &[Rating],
    methods: &[&str],
    severity: &mut Severity,
) -> (Option<String>, Option<f32>) {
    let mut out = (None, None);
    for r in ratings {
        if !r.method.as_deref().is_some_and(|m| methods.contains(&m)) {
            continue;
        }
        let Some(raw) = r.vector.as_deref().filter(|v| !v.is_empty()) else {
            continue;
        };
        let parsed = if raw.starts_with("CVSS:3") {
            cvss3_from_str(raw)
        } else {
            cvss3_from_str(&format!("CVSS:3.1/{raw}"))
        };
        let Ok(v) = parsed else { continue };
        *severity = match r.severity.as_deref().filter(|s| !s.is_empty()) {
            Some(word) => fix_severity(word),
            None => v.severity(),
        };
        out = (Some(v.vector()), Some(v.base_score()));
    }
    out
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
    /// `id` first, then the ids of `references`.
    pub(crate) vulnerability_ids: Vec<String>,
    pub(crate) severity: Severity,
    pub(crate) cvssv3: Option<String>,
    pub(crate) cvssv3_score: Option<f32>,
    pub(crate) cwes: Vec<u32>,
    pub(crate) description: Option<String>,
    pub(crate) recommendation: Option<String>,
    pub(crate) references: Option<String>,
    /// The VEX analysis state ("not_affected", "false_positive", ...).
    pub(crate) state: Option<String>,
    pub(crate) analysis_detail: Option<String>,
}

impl Vuln {
    /// Whether the analysis makes the finding inactive and adds a detail
    /// note while there is no recommendation to append it to.
    pub(crate) fn active_note_without_mitigation(&self) -> bool {
        let inactive = matches!(
            self.state.as_deref(),
            Some("resolved" | "resolved_with_pedigree" | "not_affected" | "false_positive")
        );
        inactive && self.analysis_detail.is_some() && self.recommendation.is_none()
    }
}

/// Builds the finding for one vulnerability of one component.
pub(crate) fn finding(v: &Vuln, c: &Component, date: Option<&str>) -> Finding {
    let id = v.id.as_deref().unwrap_or("None");
    let label = format!(
        "{}:{}",
        c.name.as_deref().unwrap_or("None"),
        c.version.as_deref().unwrap_or("None")
    );
    let mut description = v
        .description
        .clone()
        .unwrap_or_else(|| "Description was not provided.".to_owned());
    if let Some(p) = &c.purl {
        description.push_str(&format!("\n**Package:** {p}"));
    }
    let state = v.state.as_deref().unwrap_or("");
    let mitigated = matches!(
        state,
        "resolved" | "resolved_with_pedigree" | "not_affected"
    );
    let false_p = state == "false_positive";
    let mut mitigation = v.recommendation.clone();
    if (mitigated || false_p)
        && let Some(d) = &v.analysis_detail
    {
        let note = format!("\n**This vulnerability is mitigated and/or suppressed:** {d}\n");
        mitigation = Some(mitigation.unwrap_or_default() + &note);
    }

    Finding {
        title: truncate_chars(&format!("{label} | {id}"), 511).to_owned(),
        severity: v.severity,
        description,
        mitigation,
        references: v.references.clone(),
        cwe: v.cwes.first().copied(),
        extra_cwes: v.cwes.iter().skip(1).copied().collect(),
        vulnerability_ids: v.vulnerability_ids.clone(),
        cvssv3: v.cvssv3.clone(),
        cvssv3_score: v.cvssv3_score,
        component_name: c.name.clone(),
        component_version: c.version.clone(),
        vuln_id_from_tool: v.id.clone(),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        date: date.and_then(iso_date).map(str::to_owned),
        false_p: false_p.then_some(true),
        is_mitigated: mitigated.then_some(true),
        active: (mitigated || false_p).then_some(false),
        ..Finding::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        CycloneDx::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    fn json_bom(vulns: &str) -> String {
        format!(
            r#"{{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{{"timestamp":"2024-02-03T04:05:06Z"}},
            "components":[{{"bom-ref":"a","name":"outer","version":"1","components":[{{"bom-ref":"b","name":"inner"}}]}}],
            "vulnerabilities":[{vulns}]}}"#
        )
    }

    #[test]
    fn json_one_finding_per_affected_component() {
        let f = parse(&json_bom(
            r#"{"id":"CVE-2020-0001","affects":[{"ref":"b"},{"ref":"a"},{"ref":"zz"}],
                "references":[{"id":"GHSA-1"}],"cwes":[79,89]},
               {"id":"NO-AFFECTS"}"#,
        ))
        .unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].component_name.as_deref(), Some("inner"));
        assert_eq!(f[0].component_version, None);
        assert_eq!(f[1].component_version.as_deref(), Some("1"));
        assert_eq!(
            (f[2].component_name.clone(), f[2].component_version.clone()),
            (None, None)
        );
        assert_eq!(f[0].vulnerability_ids, ["CVE-2020-0001", "GHSA-1"]);
        assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some("CVE-2020-0001"));
        assert_eq!((f[0].cwe, f[0].extra_cwes.clone()), (Some(79), vec![89]));
        assert_eq!(f[0].severity, Severity::Medium);
        assert_eq!(f[0].date.as_deref(), Some("2024-02-03"));
    }

    #[test]
    fn json_severity_rules() {
        let sev = |ratings: &str| {
            parse(&json_bom(&format!(
                r#"{{"id":"X","affects":[{{"ref":"a"}}],"ratings":{ratings}}}"#
            )))
            .unwrap()[0]
                .severity
        };
        // The first rating's word, not the worst one.
        assert_eq!(
            sev(r#"[{"severity":"low"},{"severity":"critical"}]"#),
            Severity::Low
        );
        assert_eq!(sev(r#"[{"score":9.8}]"#), Severity::Medium);
        assert_eq!(sev(r#"[{"severity":"unknown"}]"#), Severity::Info);
        assert_eq!(sev(r#"[{"severity":"none"}]"#), Severity::Info);
        // CVSSv3/CVSSv31 ratings override: own word, else the vector's severity.
        let v = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
        assert_eq!(
            sev(&format!(
                r#"[{{"severity":"low"}},{{"method":"CVSSv31","vector":"{v}"}}]"#
            )),
            Severity::Critical
        );
        assert_eq!(
            sev(&format!(
                r#"[{{"severity":"low"}},{{"method":"CVSSv3","severity":"high","vector":"{v}"}}]"#
            )),
            Severity::High
        );
        // Other methods and unparsable vectors do not override.
        assert_eq!(
            sev(&format!(
                r#"[{{"severity":"low"}},{{"method":"CVSSv4","vector":"{v}"}}]"#
            )),
            Severity::Low
        );
        assert_eq!(
            sev(r#"[{"severity":"low"},{"method":"CVSSv3","vector":"junk"}]"#),
            Severity::Low
        );
        // A bare vector is read as CVSS 3.1.
        assert_eq!(
            sev(r#"[{"method":"CVSSv3","vector":"AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:L/A:N"}]"#),
            Severity::Medium
        );
    }

    #[test]
    fn json_analysis_states() {
        let f = parse(&json_bom(
            r#"{"id":"A","affects":[{"ref":"a"}],"analysis":{"state":"false_positive","detail":"d"}},
               {"id":"B","affects":[{"ref":"a"}],"analysis":{"state":"not_affected"}},
               {"id":"C","affects":[{"ref":"a"}],"analysis":{"state":"exploitable"}}"#,
        ))
        .unwrap();
        assert_eq!((f[0].false_p, f[0].active), (Some(true), Some(false)));
        assert!(
            f[0].mitigation
                .as_deref()
                .unwrap()
                .contains("suppressed:** d")
        );
        assert_eq!((f[1].is_mitigated, f[1].active), (Some(true), Some(false)));
        assert_eq!((f[2].is_mitigated, f[2].active), (None, None));
    }

    #[test]
    fn json_envelope_rules() {
        assert!(
            parse(r#"{"bomFormat":"CycloneDX","specVersion":"1.4","components":[]}"#)
                .unwrap()
                .is_empty()
        );
        // bomFormat is not required to parse.
        assert_eq!(
            parse(r#"{"components":[{"bom-ref":"a","name":"n"}],"vulnerabilities":[{"id":"X","affects":[{"ref":"a"}]}]}"#)
                .unwrap()
                .len(),
            1
        );
        assert!(parse(r#"{"bomFormat":"CycloneDX","vulnerabilities":null}"#).is_err());
        assert!(parse(r#"{"components":{"a":1},"vulnerabilities":[]}"#).is_err());
        for key in ["affects", "advisories", "ratings", "references"] {
            let r = format!(
                r#"{{"components":[{{"bom-ref":"a","name":"n"}}],"vulnerabilities":[{{"id":"X","affects":[{{"ref":"a"}}],"{key}":null}}]}}"#
            );
            assert!(parse(&r).is_err(), "{key}");
        }
        // Without affects, null ratings/references are never read.
        assert!(
            parse(r#"{"vulnerabilities":[{"id":"X","ratings":null,"references":null}]}"#)
                .unwrap()
                .is_empty()
        );
        assert!(parse(r#"[]"#).is_err());
        assert!(parse(&json_bom(r#"{"id":"X","affects":[{}]}"#)).is_err());
        let nameless = r#"{"components":[{"bom-ref":"a"}],"vulnerabilities":[{"id":"X","affects":[{"ref":"a"}]}]}"#;
        assert!(parse(nameless).unwrap_err().message.contains("name"));
        // metadata.component is not an addressable component.
        let meta = r#"{"metadata":{"component":{"bom-ref":"m","name":"app"}},"vulnerabilities":[{"id":"X","affects":[{"ref":"m"}]}]}"#;
        assert_eq!(parse(meta).unwrap()[0].component_name, None);
    }

    #[test]
    fn wrong_inputs_are_rejected() {
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

    const XML14: &str = r#"<bom xmlns="http://cyclonedx.org/schema/bom/1.4"><metadata><timestamp>2023-01-02T00:00:00Z</timestamp></metadata>
        <components><component bom-ref="r1"><name>n</name><version>1</version>
          <components><component bom-ref="nested"><name>deep</name></component></components></component></components>
        <vulnerabilities>
          <vulnerability><id>CVE-2021-1</id>
            <ratings><rating><method>OWASP</method></rating><rating><severity>high</severity></rating>
              <rating><method>CVSSv31</method><vector>AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N</vector></rating></ratings>
            <cwes><cwe>79</cwe><cwe>x1</cwe></cwes>
            <references><reference><id>GHSA-2</id></reference></references>
            <affects><target><ref>r1</ref></target><target><ref>nested</ref></target></affects></vulnerability>
          <vulnerability><id>CVE-2021-3</id><ratings><rating><severity>unknown</severity></rating></ratings>
            <analysis><state>not_affected</state></analysis>
            <affects><target><ref>r1</ref></target></affects></vulnerability>
        </vulnerabilities></bom>"#;

    #[test]
    fn xml_14_vulnerabilities() {
        let f = parse(XML14).unwrap();
        assert_eq!(f.len(), 3);
        // The first severity found, then the CVSSv31 vector's own severity.
        assert_eq!(f[0].severity, Severity::Medium);
        assert_eq!(f[0].cwe, Some(79));
        assert_eq!(f[0].vulnerability_ids, ["CVE-2021-1", "GHSA-2"]);
        assert_eq!(f[0].component_version.as_deref(), Some("1"));
        // Nested XML components are not indexed by the reference.
        assert_eq!(f[1].component_name, None);
        assert_eq!(f[2].severity, Severity::Info);
        assert_eq!(f[2].is_mitigated, Some(true));
        assert_eq!(f[0].date.as_deref(), Some("2023-01-02"));
        // Extension-namespace CWEs are read before the BOM namespace's ones.
        let mixed = XML14.replace(
            "<bom xmlns=\"http://cyclonedx.org/schema/bom/1.4\">",
            "<bom xmlns=\"http://cyclonedx.org/schema/bom/1.4\" xmlns:v=\"http://cyclonedx.org/schema/ext/vulnerability/1.0\">",
        )
        .replace("<cwes><cwe>79</cwe>", "<v:cwes><v:cwe>22</v:cwe></v:cwes><cwes><cwe>79</cwe>");
        assert_eq!(parse(&mixed).unwrap()[0].cwe, Some(22));
    }

    #[test]
    fn xml_rejections() {
        let no_sev = XML14.replace("<severity>unknown</severity>", "<method>x</method>");
        assert!(
            parse(&no_sev)
                .unwrap_err()
                .message
                .contains("no rating severity")
        );
        let no_ref = XML14.replace("<target><ref>nested</ref></target>", "<target/>");
        assert!(parse(&no_ref).is_err());
        let note = XML14.replace(
            "<state>not_affected</state>",
            "<state>not_affected</state><detail>why</detail>",
        );
        assert!(parse(&note).unwrap_err().message.contains("recommendation"));
        let with_rec = note.replace(
            "<analysis>",
            "<recommendation>upgrade</recommendation><analysis>",
        );
        assert!(parse(&with_rec).is_ok());
        assert!(parse("<bom xmlns=\"http://example.com/bom\"/>").is_err());
        assert!(parse(&XML14[..100]).is_err());
        assert!(parse(&XML14.replace("<cwe>79</cwe>", "<cwe/>")).is_err());
    }

    const EXT: &str = r#"<bom xmlns="http://cyclonedx.org/schema/bom/1.2" xmlns:v="http://cyclonedx.org/schema/ext/vulnerability/1.0">
        <components><component bom-ref="p1"><name>c</name><version>3</version><v:vulnerabilities>
          <v:vulnerability ref="p1"><v:id>CVE-2021-2</v:id><v:ratings><v:rating><v:severity>Low</v:severity></v:rating>
            <v:rating><v:method>CVSSv3</v:method><v:vector>AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H</v:vector></v:rating></v:ratings>
            <v:cwes><v:cwe>502</v:cwe></v:cwes></v:vulnerability></v:vulnerabilities></component></components>
        <v:vulnerabilities><v:vulnerability ref="p1"><v:id>CVE-2021-4</v:id><v:ratings><v:rating><v:severity>critical</v:severity>
          </v:rating><v:rating><v:method>CVSSv31</v:method><v:vector>AV:N/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N</v:vector></v:rating></v:ratings>
        </v:vulnerability></v:vulnerabilities></bom>"#;

    #[test]
    fn xml_vulnerability_extension() {
        let f = parse(EXT).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].component_name.as_deref(), Some("c"));
        assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some("CVE-2021-2"));
        assert_eq!(f[0].vulnerability_ids, ["CVE-2021-2"]);
        assert_eq!((f[0].severity, f[0].cwe), (Severity::Critical, Some(502)));
        // The extension only honours CVSSv3, not CVSSv31.
        assert_eq!(f[1].severity, Severity::Critical);
        assert_eq!(f[1].component_version.as_deref(), Some("3"));
        assert!(
            parse(&EXT.replace(
                "<v:vulnerability ref=\"p1\"><v:id>CVE-2021-4",
                "<v:vulnerability ref=\"zz\"><v:id>CVE-2021-4"
            ))
            .is_err()
        );
        assert!(
            parse(&EXT.replace(
                "<v:vulnerability ref=\"p1\"><v:id>CVE-2021-2",
                "<v:vulnerability><v:id>CVE-2021-2"
            ))
            .is_err()
        );
        assert!(
            parse("<bom xmlns=\"http://cyclonedx.org/schema/bom/1.4\"/>")
                .unwrap()
                .is_empty()
        );
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
