//! Palisade parser plugin for Dependency-Track's Finding Packaging Format
//! ("Dependency Track Finding Packaging Format (FPF) Export"), a JSON export:
//! `{"version": "1.0", "meta": {"application": "Dependency-Track", ...},
//! "project": {...}, "findings": [{"component", "vulnerability", "analysis",
//! "matrix"}]}`. Each entry of `findings` becomes one finding; its `matrix`
//! ("project:component:vulnerability" UUIDs) identifies it across imports.
//! Every rule is listed in `FORMAT.md`.

use palisade_plugin_sdk::json::{array_at, f64_at, parse_json_value, str_at};
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff;
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
];

/// CWE-1035 ("Using Components with Known Vulnerabilities"): the weakness of
/// a vulnerable component when Dependency-Track names no CWE of its own.
const KNOWN_VULNERABLE_COMPONENT_CWE: u32 = 1035;

/// The Dependency-Track FPF parser.
pub struct DependencyTrack;

impl Parser for DependencyTrack {
    fn info() -> PluginInfo {
        PluginInfo::single(
            "dependency-track",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "Dependency-Track Finding Packaging Format (FPF) JSON export",
                &["json"],
                DedupeSetting::new(
                    DedupeAlgorithm::UniqueIdFromToolOrHashCode,
                    &["component_name", "component_version", "vulnerability_ids"],
                ),
            ),
        )
    }

    fn detect(_candidates: &[String], head: &[u8]) -> Option<String> {
        let ours = looks_like(head);
        ours.then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        _scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
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
    // A missing, null or empty findings list means no findings (the reference
    // accepts any object here).
    let findings = match obj.get("findings") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(other) if !truthy(other) => return Ok(Vec::new()),
        Some(_) => return Err(ParseError::new("\"findings\" must be a list").at_path("/findings")),
    };
    findings
        .iter()
        .enumerate()
        .map(|(i, f)| read_finding(f).map_err(|e| e.at_path(format!("/findings/{i}"))))
        .collect()
}

/// Python truthiness of a JSON value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Dependency-Track's severity word; anything unmapped (UNASSIGNED) is Info.
fn severity(word: &str) -> Severity {
    let w = word.to_lowercase();
    match w.as_str() {
        "critical" => Severity::Critical,
        "high" => Severity::High,
        "medium" => Severity::Medium,
        "low" => Severity::Low,
        _ => Severity::Info,
    }
}

/// A JSON value as the reference prints it in text.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Reads one entry of `findings`.
fn read_finding(f: &Value) -> Result<Finding, ParseError> {
    let required = |obj: &Value, key: &str, what: &str| -> Result<Value, ParseError> {
        obj.get(key)
            .cloned()
            .ok_or_else(|| ParseError::new(format!("missing \"{key}\" in {what}")))
    };
    let v = required(f, "vulnerability", "a finding")?;
    let vuln_id_value = required(&v, "vulnId", "a vulnerability")?;
    let source = text(Some(&required(&v, "source", "a vulnerability")?));
    let c = required(f, "component", "a finding")?;
    let name = text(Some(&required(&c, "name", "a component")?));
    let version = text(c.get("version"));
    let purl = text(c.get("purl"));
    let vuln_id = text(Some(&vuln_id_value));
    let severity_word = match v.get("severity") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(ParseError::new(
                "a vulnerability's \"severity\" is missing or not a string",
            ));
        }
    };

    // The vulnId and the aliases of known sources, as a set.
    let mut ids: Vec<String> = vuln_id.iter().cloned().collect();
    for alias in array_at(&v, "/aliases") {
        for key in ALIAS_KEYS {
            if let Some(id) = text(alias.get(*key))
                && !ids.contains(&id)
            {
                ids.push(id);
            }
        }
    }

    let name_label = name.as_deref().unwrap_or("None");
    let vuln_label = vuln_id.as_deref().unwrap_or("None");
    let title = format!(
        "{name_label}:{} affected by: {vuln_label} ({})",
        version.as_deref().unwrap_or(""),
        source.as_deref().unwrap_or("None")
    );

    // Only vulnerability.cweId names the CWE; CWE-1035 otherwise.
    let cwe = match v.get("cweId") {
        None | Some(Value::Null) => KNOWN_VULNERABLE_COMPONENT_CWE,
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
        // Kept as is by the reference: only a number names a CWE.
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        Some(_) => 0,
    };

    let component_description = match &version {
        Some(ver) => format!("Version {ver} of the {name_label} component"),
        None => format!("The {name_label} component"),
    };
    let mut description = format!(
        "You are using a component with a known vulnerability. {component_description} is \
         affected by the vulnerability with an id of {vuln_label} as identified by {}.",
        source.as_deref().unwrap_or("None")
    );
    if let Some(p) = &purl {
        description.push_str(&format!("\nThe purl of the affected component is: {p}."));
    }
    for (key, label) in [
        ("title", "Vulnerability Title"),
        ("subtitle", "Vulnerability Subtitle"),
        ("description", "Vulnerability Description"),
    ] {
        if let Some(t) = text(v.get(key)) {
            description.push_str(&format!("\n{label}: {t}"));
        }
    }
    if let Some(d) = f
        .get("analysis")
        .and_then(|a| a.get("detail"))
        .filter(|d| truthy(d))
    {
        description.push_str(&format!(
            "\nAudit Detail: {}",
            text(Some(d)).unwrap_or_default()
        ));
    }
    let false_p = str_at(f, "/analysis/state") == Some("FALSE_POSITIVE");

    let cvssv3 = str_at(&v, "/cvssV3Vector").and_then(|s| cvss3_from_str(s).ok());
    let cvssv4 =
        str_at(&v, "/cvssV4Vector").and_then(|s| palisade_plugin_sdk::cvss4_from_str(s).ok());
    let references = match v.get("references") {
        Some(Value::Array(list)) => {
            let lines: Vec<String> = list.iter().filter_map(|r| text(Some(r))).collect();
            (!lines.is_empty()).then(|| lines.join("\n"))
        }
        other => text(other).filter(|r| !r.is_empty()),
    };
    // The vulnerability's own matrix wins over the finding's.
    let unique = text(v.get("matrix")).or_else(|| text(f.get("matrix")));

    Ok(Finding {
        title: truncate_chars(&title, 511).to_owned(),
        severity: severity(&severity_word),
        description,
        references,
        cwe: Some(cwe),
        vulnerability_ids: ids,
        cvssv3_score: f64_at(&v, "/cvssV3BaseScore")
            .map(|s| s as f32)
            .or_else(|| cvssv3.as_ref().map(palisade_plugin_sdk::Cvss3::base_score))
            .filter(|s| *s != 0.0),
        cvssv3: cvssv3.map(|c| c.vector()),
        // Computed from the vector, as the reference does (a 0.0 score is left out).
        cvssv4_score: cvssv4
            .as_ref()
            .map(palisade_plugin_sdk::Cvss4::base_score)
            .filter(|s| *s != 0.0),
        cvssv4: cvssv4.map(|c| c.vector()),
        epss_score: f64_at(&v, "/epssScore")
            .map(|s| s as f32)
            .filter(|s| *s != 0.0),
        epss_percentile: f64_at(&v, "/epssPercentile")
            .map(|s| s as f32)
            .filter(|s| *s != 0.0),
        // The reference stores the purl as the file path ("unknown" without one).
        file_path: Some(purl.unwrap_or_else(|| "unknown".to_owned())),
        component_name: name,
        component_version: version,
        unique_id_from_tool: unique,
        vuln_id_from_tool: text(v.get("uuid")),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        false_p: false_p.then_some(true),
        is_mitigated: false_p.then_some(true),
        active: false_p.then_some(false),
        ..Finding::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        DependencyTrack::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    #[test]
    fn fields_and_aliases() {
        let r = r#"{"meta":{"application":"Dependency-Track"},"findings":[
          {"component":{"name":"a","version":"1","purl":"pkg:npm/a@1"},
           "vulnerability":{"uuid":"u","vulnId":"GHSA-aaaa-bbbb-cccc","source":"GITHUB","severity":"HIGH",
             "cvssV3BaseScore":7.5,"cweId":79,"cwes":[{"cweId":79},{"cweId":80}],
             "aliases":[{"cveId":"CVE-2020-1","internalId":"I-1","allBySource":{"OSV":"DSA-1"}},{"snykId":"SNYK-1"}]},
           "analysis":{"state":"FALSE_POSITIVE","isSuppressed":true},"matrix":"p:c:u"},
          {"component":{"name":"b","version":null},"vulnerability":{"vulnId":"X-1","source":"INTERNAL",
             "severity":"UNASSIGNED","cvssV3BaseScore":9.8,"matrix":"own"},"matrix":"outer"},
          {"component":{"name":"c"},"vulnerability":{"vulnId":"Y","source":"NVD","severity":"informational","cweId":null}}]}"#;
        let f = parse(r).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].title, "a:1 affected by: GHSA-aaaa-bbbb-cccc (GITHUB)");
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(
            f[0].vulnerability_ids,
            ["GHSA-aaaa-bbbb-cccc", "CVE-2020-1", "SNYK-1"]
        );
        // Only vulnerability.cweId names the CWE.
        assert_eq!((f[0].cwe, f[0].extra_cwes.clone()), (Some(79), vec![]));
        assert_eq!(f[0].file_path.as_deref(), Some("pkg:npm/a@1"));
        assert_eq!(f[0].unique_id_from_tool.as_deref(), Some("p:c:u"));
        assert_eq!(f[0].vuln_id_from_tool.as_deref(), Some("u"));
        assert_eq!((f[0].false_p, f[0].active), (Some(true), Some(false)));
        // UNASSIGNED is Info whatever the score; no purl gives "unknown".
        assert_eq!(f[1].severity, Severity::Info);
        assert_eq!(f[1].file_path.as_deref(), Some("unknown"));
        assert_eq!(f[1].component_version, None);
        assert_eq!(f[1].unique_id_from_tool.as_deref(), Some("own"));
        assert_eq!(f[1].cwe, Some(1035));
        assert_eq!((f[2].severity, f[2].cwe), (Severity::Info, Some(1035)));
    }

    #[test]
    fn empty_variants() {
        for r in [
            r#"{"version":"1.0","meta":{},"findings":[]}"#,
            r#"{"version":"1.0","project":{},"findings":null}"#,
            r#"{"version":"1.0","project":{}}"#,
            r#"{}"#,
            r#"{"vulnerabilities":[]}"#,
        ] {
            assert!(parse(r).unwrap().is_empty(), "{r}");
        }
    }

    #[test]
    fn wrong_inputs() {
        assert!(parse(r#"{"findings":{"a":1}}"#).is_err());
        for (r, needle) in [
            (
                r#"{"findings":[{"component":{"name":"a"}}]}"#,
                "vulnerability",
            ),
            (
                r#"{"findings":[{"component":{"name":"a"},"vulnerability":{"source":"NVD","severity":"LOW"}}]}"#,
                "vulnId",
            ),
            (
                r#"{"findings":[{"component":{"name":"a"},"vulnerability":{"vulnId":"X","severity":"LOW"}}]}"#,
                "source",
            ),
            (
                r#"{"findings":[{"vulnerability":{"vulnId":"X","source":"NVD","severity":"LOW"}}]}"#,
                "component",
            ),
            (
                r#"{"findings":[{"component":{},"vulnerability":{"vulnId":"X","source":"NVD","severity":"LOW"}}]}"#,
                "name",
            ),
            (
                r#"{"findings":[{"component":{"name":"a"},"vulnerability":{"vulnId":"X","source":"NVD"}}]}"#,
                "severity",
            ),
        ] {
            let e = parse(r).unwrap_err();
            assert!(e.message.contains(needle), "{r}: {e}");
        }
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
