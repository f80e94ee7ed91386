//! Palisade parser plugin for Dependency-Track's Finding Packaging Format
//! ("Dependency Track Finding Packaging Format (FPF) Export"), a JSON export:
//! `{"version": "1.0", "meta": {"application": "Dependency-Track", ...},
//! "project": {...}, "findings": [{"component", "vulnerability", "analysis",
//! "matrix"}]}`. Each entry of `findings` becomes one finding; its `matrix`
//! ("project:component:vulnerability" UUIDs) identifies it across imports.

use palisade_plugin_sdk::json::{array_at, bool_at, f64_at, parse_json_value, str_at, string_at};
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff;
use palisade_plugin_sdk::text::join_non_empty;
use serde_json::Value;

/// The scan type this plugin handles (DefectDojo's name).
pub const SCAN_TYPE: &str = "Dependency Track Finding Packaging Format (FPF) Export";

/// The alias keys Dependency-Track writes for a vulnerability's other ids.
const ALIAS_KEYS: &[&str] = &[
    "cveId",
    "ghsaId",
    "osvId",
    "snykId",
    "sonatypeId",
    "gsdId",
    "vulnDbId",
    "internalId",
];

/// CWE-1035 ("Using Components with Known Vulnerabilities"): the weakness of
/// a vulnerable component when Dependency-Track names no CWE of its own.
const KNOWN_VULNERABLE_COMPONENT_CWE: u32 = 1035;

/// The Dependency-Track FPF parser.
pub struct DependencyTrack;

impl Parser for DependencyTrack {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "dependency-track".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "Dependency-Track Finding Packaging Format (FPF) JSON export"
                    .to_owned(),
                file_kinds: vec!["json".to_owned()],
                dedupe: DedupeSetting::new(
                    DedupeAlgorithm::UniqueIdFromToolOrHashCode,
                    &["component_name", "component_version", "vulnerability_ids"],
                ),
            }],
        }
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        let ours = candidates.iter().any(|c| c == SCAN_TYPE) && looks_like(head);
        ours.then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        if scan_type != SCAN_TYPE {
            return Err(ParseError::new(format!(
                "the dependency-track plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
        parse_report(report)
    }
}

palisade_plugin_sdk::export_parser!(DependencyTrack);

/// Says whether a head is an FPF export: JSON whose `meta.application` is
/// Dependency-Track (a CycloneDX BOM exported by Dependency-Track names it as
/// a tool, so the BOM marker rules a head out).
pub fn looks_like(head: &[u8]) -> bool {
    let has = |k: &[u8]| sniff::contains(head, k);
    if !palisade_plugin_sdk::json::starts_like_json(head) || has(b"\"bomFormat\"") {
        return false;
    }
    let app = sniff::find(head, b"\"application\"").is_some_and(|p| {
        let rest = &head[p + 13..head.len().min(p + 40)];
        sniff::contains(rest, b"\"Dependency-Track\"")
    });
    app || (has(b"\"findings\"") && has(b"\"matrix\"") && has(b"\"vulnerability\""))
}

/// Parses an FPF export.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let doc = parse_json_value(report)?;
    let Some(obj) = doc.as_object() else {
        return Err(ParseError::new(
            "not a Dependency-Track FPF export: expected a JSON object at the top level",
        ));
    };
    let findings = match obj.get("findings") {
        Some(Value::Array(a)) => a,
        Some(Value::Null) => return Ok(Vec::new()),
        Some(_) => return Err(ParseError::new("\"findings\" must be a list").at_path("/findings")),
        // An export of a project without findings may omit the key.
        None if obj.contains_key("meta") || obj.contains_key("project") => return Ok(Vec::new()),
        None => {
            return Err(ParseError::new(
                "not a Dependency-Track FPF export: there is no \"findings\" list (nor \"meta\"/\"project\")",
            ));
        }
    };
    findings
        .iter()
        .enumerate()
        .map(|(i, f)| read_finding(f).map_err(|e| e.at_path(format!("/findings/{i}"))))
        .collect()
}

/// Dependency-Track's severity; UNASSIGNED falls back to the CVSS scores.
fn severity(v: &Value) -> Severity {
    if let Some(s) = str_at(v, "/severity").and_then(severity_from_word) {
        return s;
    }
    ["/cvssV3BaseScore", "/cvssV4Score", "/cvssV2BaseScore"]
        .iter()
        .find_map(|p| f64_at(v, p))
        .map_or(Severity::Info, |s| severity_from_cvss(s as f32))
}

/// Reads one entry of `findings`.
fn read_finding(f: &Value) -> Result<Finding, ParseError> {
    let c = f
        .get("component")
        .filter(|c| c.is_object())
        .ok_or_else(|| ParseError::new("a finding has no \"component\" object"))?;
    let v = f
        .get("vulnerability")
        .filter(|v| v.is_object())
        .ok_or_else(|| ParseError::new("a finding has no \"vulnerability\" object"))?;
    let name = string_at(c, "/name");
    let version = string_at(c, "/version");
    let purl = string_at(c, "/purl");
    let vuln_id = string_at(v, "/vulnId");
    let source = string_at(v, "/source");

    let mut ids: Vec<String> = vuln_id.iter().cloned().collect();
    for alias in array_at(v, "/aliases") {
        let by_source = alias
            .get("allBySource")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.values().filter_map(Value::as_str));
        for id in ALIAS_KEYS
            .iter()
            .filter_map(|k| str_at(alias, k))
            .chain(by_source)
        {
            let id = id.trim();
            if !id.is_empty() && !ids.iter().any(|x| x == id) {
                ids.push(id.to_owned());
            }
        }
    }

    let label = match (&name, &version) {
        (Some(n), Some(ver)) => format!("{n}:{ver}"),
        (Some(n), None) => n.clone(),
        _ => purl
            .clone()
            .unwrap_or_else(|| "unknown component".to_owned()),
    };
    let vuln_label = vuln_id.unwrap_or_else(|| "unknown vulnerability".to_owned());
    let title = match &source {
        Some(s) => format!("{label} affected by: {vuln_label} ({s})"),
        None => format!("{label} affected by: {vuln_label}"),
    };

    let mut cwes: Vec<u32> = Vec::new();
    let cwe_candidates = f64_at(v, "/cweId").into_iter().chain(
        array_at(v, "/cwes")
            .iter()
            .filter_map(|c| f64_at(c, "/cweId")),
    );
    for n in cwe_candidates {
        if n >= 1.0 && n <= f64::from(u32::MAX) {
            let n = n as u32;
            if !cwes.contains(&n) {
                cwes.push(n);
            }
        }
    }

    if cwes.is_empty() {
        cwes.push(KNOWN_VULNERABLE_COMPONENT_CWE);
    }

    let description = join_non_empty(
        [
            str_at(v, "/title").map(str::to_owned),
            str_at(v, "/description").map(str::to_owned),
            Some(format!(
                "Version {} of {} is affected by {vuln_label}{}.",
                version.as_deref().unwrap_or("(unknown)"),
                name.as_deref().unwrap_or("the component"),
                source
                    .as_deref()
                    .map(|s| format!(" as identified by {s}"))
                    .unwrap_or_default()
            )),
            purl.as_deref().map(|p| format!("Package URL: {p}")),
        ]
        .into_iter()
        .flatten(),
        "\n\n",
    )
    .unwrap_or_else(|| title.clone());

    let mitigation = join_non_empty(
        [
            str_at(v, "/recommendation").map(str::to_owned),
            str_at(c, "/latestVersion")
                .map(|l| format!("The latest version of the component is {l}.")),
        ]
        .into_iter()
        .flatten(),
        "\n\n",
    );

    let state = str_at(f, "/analysis/state")
        .unwrap_or("")
        .to_ascii_uppercase();
    let suppressed = bool_at(f, "/analysis/isSuppressed").unwrap_or(false);
    let false_p = state == "FALSE_POSITIVE";
    let not_affected = state == "NOT_AFFECTED" || state == "RESOLVED";
    let inactive = suppressed || false_p || not_affected;

    let cvssv3 = str_at(v, "/cvssV3Vector").and_then(|s| cvss3_from_str(s).ok());
    let cvssv4 =
        str_at(v, "/cvssV4Vector").and_then(|s| palisade_plugin_sdk::cvss4_from_str(s).ok());

    Ok(Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity: severity(v),
        description,
        mitigation,
        references: string_at(v, "/references"),
        severity_justification: str_at(f, "/analysis/detail").map(|d| format!("Analysis: {d}")),
        cwe: cwes.first().copied(),
        extra_cwes: cwes.iter().skip(1).copied().collect(),
        vulnerability_ids: ids,
        cvssv3_score: f64_at(v, "/cvssV3BaseScore")
            .map(|s| s as f32)
            .or_else(|| cvssv3.as_ref().map(palisade_plugin_sdk::Cvss3::base_score)),
        cvssv3: cvssv3.map(|c| c.vector()),
        cvssv4: cvssv4.map(|c| c.vector()),
        cvssv4_score: f64_at(v, "/cvssV4Score").map(|s| s as f32),
        epss_score: f64_at(v, "/epssScore").map(|s| s as f32),
        epss_percentile: f64_at(v, "/epssPercentile").map(|s| s as f32),
        file_path: purl,
        component_name: name,
        component_version: version,
        unique_id_from_tool: string_at(f, "/matrix"),
        vuln_id_from_tool: string_at(v, "/uuid"),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        false_p: false_p.then_some(true),
        is_mitigated: not_affected.then_some(true),
        active: inactive.then_some(false),
        ..Finding::default()
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        DependencyTrack::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    #[test]
    fn minimal_and_aliases() {
        let r = r#"{"meta":{"application":"Dependency-Track"},"findings":[
          {"component":{"name":"a","version":"1","purl":"pkg:npm/a@1"},
           "vulnerability":{"uuid":"u","vulnId":"GHSA-aaaa-bbbb-cccc","source":"GITHUB","severity":"UNASSIGNED",
             "cvssV3BaseScore":7.5,"cweId":79,"cwes":[{"cweId":79},{"cweId":80}],
             "aliases":[{"cveId":"CVE-2020-1","allBySource":{"OSV":"DSA-1"}}]},
           "analysis":{"state":"FALSE_POSITIVE","isSuppressed":true},"matrix":"p:c:u"},
          {"component":{"name":"b"},"vulnerability":{}}]}"#;
        let f = parse(r).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].title, "a:1 affected by: GHSA-aaaa-bbbb-cccc (GITHUB)");
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(
            f[0].vulnerability_ids,
            ["GHSA-aaaa-bbbb-cccc", "CVE-2020-1", "DSA-1"]
        );
        assert_eq!((f[0].cwe, f[0].extra_cwes.clone()), (Some(79), vec![80]));
        assert_eq!(f[0].unique_id_from_tool.as_deref(), Some("p:c:u"));
        assert_eq!((f[0].false_p, f[0].active), (Some(true), Some(false)));
        assert_eq!(f[1].severity, Severity::Info);
        assert!(f[1].vulnerability_ids.is_empty());
        assert_eq!(f[1].cwe, Some(1035));
    }

    #[test]
    fn empty_variants() {
        assert!(
            parse(r#"{"version":"1.0","meta":{},"findings":[]}"#)
                .unwrap()
                .is_empty()
        );
        assert!(
            parse(r#"{"version":"1.0","project":{},"findings":null}"#)
                .unwrap()
                .is_empty()
        );
        assert!(
            parse(r#"{"version":"1.0","project":{}}"#)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn wrong_inputs() {
        assert!(
            parse(r#"{"vulnerabilities":[]}"#)
                .unwrap_err()
                .message
                .contains("not a Dependency-Track")
        );
        assert!(parse(r#"{"findings":{}}"#).is_err());
        assert!(
            parse(r#"{"findings":[{"component":{}}]}"#)
                .unwrap_err()
                .message
                .contains("vulnerability")
        );
        assert!(parse(r#"{"findings":[1]}"#).is_err());
        assert!(parse("[]").is_err());
        assert!(parse(r#"{"findings":[{"#).is_err());
        assert!(parse(&"{\"a\":".repeat(100_000)).is_err());
        assert!(
            DependencyTrack::parse(SCAN_TYPE, b"{\"findings\":\"\xff\"}", &Options::default())
                .is_err()
        );
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        assert!(
            DependencyTrack::detect(
                &c,
                br#"{"version": "1.0", "meta" : {"application": "Dependency-Track", "#
            )
            .is_some()
        );
        assert!(DependencyTrack::detect(&c, br#"{"bomFormat":"CycloneDX","metadata":{"tools":[{"application": "Dependency-Track"}]}}"#).is_none());
        assert!(DependencyTrack::detect(&c, br#"{"findings": []}"#).is_none());
        assert!(DependencyTrack::detect(&c, b"<findings/>").is_none());
    }
}
