//! Palisade parser plugin for OWASP Dependency-Check XML reports
//! ("Dependency Check Scan").
//!
//! The report is `<analysis><projectInfo><reportDate/></projectInfo>
//! <dependencies><dependency>...<vulnerabilities><vulnerability/>
//! <suppressedVulnerability/></vulnerabilities></dependency></dependencies></analysis>`.
//! Each (suppressed) vulnerability of each dependency becomes one finding;
//! suppressed ones are reported as mitigated and inactive so that a re-import
//! closes them instead of losing them.

use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::purl;
use palisade_plugin_sdk::xml::{Node, child, child_text, children, descendants, root_element_is};

/// The scan type this plugin handles (DefectDojo's name).
pub const SCAN_TYPE: &str = "Dependency Check Scan";

/// The root element of every Dependency-Check XML report.
const ROOT: &str = "analysis";

/// CWE-1035 ("Using Components with Known Vulnerabilities"), the weakness of a
/// vulnerable dependency when the report names no CWE of its own.
const KNOWN_VULNERABLE_COMPONENT_CWE: u32 = 1035;

/// The Dependency-Check XML parser.
pub struct DependencyCheck;

impl Parser for DependencyCheck {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "dependency-check".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "OWASP Dependency-Check XML report".to_owned(),
                file_kinds: vec!["xml".to_owned()],
                dedupe: DedupeSetting::hash_code(&["title", "cwe", "file_path"]),
            }],
        }
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        // The root is a generic <analysis>: require Dependency-Check's schema
        // namespace too.
        let ours = candidates.iter().any(|c| c == SCAN_TYPE)
            && root_element_is(head, ROOT)
            && palisade_plugin_sdk::sniff::contains_ignore_ascii_case(head, b"DependencyCheck");
        ours.then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        if scan_type != SCAN_TYPE {
            return Err(ParseError::new(format!(
                "the dependency-check plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
        parse_report(report)
    }
}

palisade_plugin_sdk::export_parser!(DependencyCheck);

/// Parses a whole Dependency-Check XML report.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = xml_text(report)?;
    let doc = parse_xml(&text)?;
    let root = doc.root_element();
    if root.tag_name().name() != ROOT {
        return Err(ParseError::new(format!(
            "not a Dependency-Check XML report: the root element is <{}>, expected <{ROOT}>",
            root.tag_name().name()
        )));
    }
    let date = child(root, "projectInfo").and_then(|p| child_text(p, "reportDate"));
    let mut findings = Vec::new();
    for deps in children(root, "dependencies") {
        for dep in children(deps, "dependency") {
            let component = Component::of(dep);
            for vulns in children(dep, "vulnerabilities") {
                for v in vulns.children().filter(Node::is_element) {
                    let suppressed = match v.tag_name().name() {
                        "vulnerability" => false,
                        "suppressedVulnerability" => true,
                        _ => continue,
                    };
                    let mut f = vulnerability_finding(v, &component, suppressed);
                    f.date.clone_from(&date);
                    findings.push(f);
                }
            }
        }
    }
    Ok(findings)
}

/// What a finding says about the vulnerable dependency.
struct Component {
    /// The report's file name, e.g. "app.ear: dom4j-2.1.1.jar".
    file_name: Option<String>,
    name: Option<String>,
    version: Option<String>,
    purl: Option<String>,
}

impl Component {
    fn of(dep: Node<'_, '_>) -> Self {
        let file_name = child_text(dep, "fileName");
        // A package URL is the most precise identity (nested <identifiers>
        // appear in some reports, hence descendants).
        let purl = child(dep, "identifiers")
            .into_iter()
            .flat_map(|ids| descendants(ids, "package"))
            .filter_map(|p| child_text(p, "id"))
            .find(|id| id.starts_with("pkg:"));
        if let Some((name, version)) = purl.as_deref().and_then(purl::name_and_version) {
            return Component {
                file_name,
                name: Some(name),
                version,
                purl,
            };
        }
        // Otherwise: the collected product/version evidence, then the file name
        // ("dom4j-2.1.1.jar" -> dom4j, 2.1.1).
        let evidence = |kind: &str| {
            child(dep, "evidenceCollected")
                .into_iter()
                .flat_map(|e| children(e, "evidence"))
                .filter(|e| e.attribute("type") == Some(kind))
                .max_by_key(|e| confidence_rank(e.attribute("confidence")))
                .and_then(|e| child_text(e, "value"))
        };
        let from_file = file_name.as_deref().and_then(name_version_from_file);
        let name = evidence("product").or_else(|| from_file.as_ref().map(|f| f.0.clone()));
        let version = from_file.and_then(|f| f.1).or_else(|| {
            evidence("version").filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        });
        Component {
            file_name,
            name,
            version,
            purl,
        }
    }

    /// "name:version", or the file name when neither is known.
    fn label(&self) -> String {
        match (&self.name, &self.version) {
            (Some(n), Some(v)) => format!("{n}:{v}"),
            (Some(n), None) => n.clone(),
            _ => self
                .file_name
                .clone()
                .unwrap_or_else(|| "unknown dependency".to_owned()),
        }
    }
}

/// Orders Dependency-Check's evidence confidences.
fn confidence_rank(c: Option<&str>) -> u8 {
    match c.map(str::to_ascii_uppercase).as_deref() {
        Some("HIGHEST") => 4,
        Some("HIGH") => 3,
        Some("MEDIUM") => 2,
        Some("LOW") => 1,
        _ => 0,
    }
}

/// Splits the last ": "-separated part of a file name like "dom4j-2.1.1.jar"
/// into ("dom4j", Some("2.1.1")); a name without a version gives (stem, None).
fn name_version_from_file(file_name: &str) -> Option<(String, Option<String>)> {
    let last = file_name.rsplit(": ").next().unwrap_or(file_name).trim();
    let stem = [
        ".jar", ".war", ".ear", ".js", ".dll", ".exe", ".zip", ".nupkg", ".whl", ".gem",
    ]
    .iter()
    .find_map(|ext| last.strip_suffix(ext))
    .unwrap_or(last);
    if stem.is_empty() {
        return None;
    }
    let split = stem
        .char_indices()
        .filter(|&(i, c)| c == '-' && stem[i + 1..].starts_with(|d: char| d.is_ascii_digit()))
        .map(|(i, _)| i)
        .next();
    Some(match split {
        Some(i) if i > 0 => (stem[..i].to_owned(), Some(stem[i + 1..].to_owned())),
        _ => (stem.to_owned(), None),
    })
}

/// Reads the severity: the scanner's own word, else CVSS v3, else CVSS v2.
fn severity(v: Node<'_, '_>) -> Severity {
    let word = child_text(v, "severity")
        .or_else(|| child(v, "cvssV3").and_then(|c| child_text(c, "baseSeverity")))
        .or_else(|| child(v, "cvssV2").and_then(|c| child_text(c, "severity")));
    if let Some(s) = word.as_deref().and_then(severity_from_word) {
        return s;
    }
    let score = child(v, "cvssV3")
        .and_then(|c| child_text(c, "baseScore"))
        .or_else(|| child(v, "cvssV2").and_then(|c| child_text(c, "score")))
        .or_else(|| child_text(v, "cvssScore"))
        .and_then(|s| s.parse::<f32>().ok());
    score.map_or(Severity::Info, severity_from_cvss)
}

/// The CWEs of a vulnerability: `<cwe>` (old schema) or `<cwes><cwe>`.
///
/// Returns `None` when the report names no readable CWE at all (the caller
/// then uses CWE-1035); `Some(vec![])` when it names only CWE-0 placeholders.
fn cwes(v: Node<'_, '_>) -> Option<Vec<u32>> {
    let texts: Vec<String> = child_text(v, "cwe")
        .into_iter()
        .chain(
            child(v, "cwes")
                .into_iter()
                .flat_map(|c| children(c, "cwe"))
                .filter_map(|c| palisade_plugin_sdk::xml::text(c)),
        )
        .collect();
    let mut found = false;
    let mut out = Vec::new();
    for t in &texts {
        let digits = t.trim().strip_prefix("CWE-").unwrap_or(t.trim());
        let num: String = digits.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(n) = num.parse::<u32>() {
            found = true;
            if n > 0 && !out.contains(&n) {
                out.push(n);
            }
        }
    }
    found.then_some(out)
}

/// A CVSS v3 vector from Dependency-Check's spelled-out metrics.
fn cvss3_vector(c: Node<'_, '_>) -> Option<String> {
    let letter = |name: &str| {
        child_text(c, name)
            .and_then(|v| v.chars().next())
            .map(|ch| ch.to_ascii_uppercase())
    };
    let mut vector = format!(
        "CVSS:{}",
        match child_text(c, "version").as_deref() {
            Some("3.0") => "3.0",
            _ => "3.1",
        }
    );
    for (metric, field) in [
        ("AV", "attackVector"),
        ("AC", "attackComplexity"),
        ("PR", "privilegesRequired"),
        ("UI", "userInteraction"),
        ("S", "scope"),
        ("C", "confidentialityImpact"),
        ("I", "integrityImpact"),
        ("A", "availabilityImpact"),
    ] {
        vector.push_str(&format!("/{metric}:{}", letter(field)?));
    }
    cvss3_from_str(&vector).ok().map(|c| c.vector())
}

/// Reads one `<vulnerability>` or `<suppressedVulnerability>`.
fn vulnerability_finding(v: Node<'_, '_>, component: &Component, suppressed: bool) -> Finding {
    let name = child_text(v, "name").unwrap_or_else(|| "unnamed vulnerability".to_owned());
    let label = component.label();
    let cwes = cwes(v);
    let (cwe, extra_cwes) = match cwes {
        None => (Some(KNOWN_VULNERABLE_COMPONENT_CWE), Vec::new()),
        Some(list) => (
            list.first().copied(),
            list.iter().skip(1).copied().collect(),
        ),
    };
    let vulnerability_ids = palisade_plugin_sdk::vuln_ids::normalize_vulnerability_id(&name)
        .into_iter()
        .collect();

    let mut description = child_text(v, "description").unwrap_or_else(|| name.clone());
    if let Some(source) = v.attribute("source") {
        description.push_str(&format!("\n\n**Source:** {source}"));
    }
    if let Some(purl) = &component.purl {
        description.push_str(&format!("\n**Package:** {purl}"));
    }
    if let Some(file) = &component.file_name {
        description.push_str(&format!("\n**File:** {file}"));
    }

    let references = child(v, "references")
        .into_iter()
        .flat_map(|r| children(r, "reference"))
        .filter_map(|r| {
            let url = child_text(r, "url");
            let name = child_text(r, "name");
            let source = child_text(r, "source");
            let body = match (name, url) {
                (Some(n), Some(u)) if n == u => u,
                (Some(n), Some(u)) => format!("{n}: {u}"),
                (Some(x), None) | (None, Some(x)) => x,
                (None, None) => return None,
            };
            Some(match source {
                Some(s) => format!("- [{s}] {body}"),
                None => format!("- {body}"),
            })
        })
        .collect::<Vec<_>>();

    let mut mitigation = format!("Update {label} to a version that is not affected by {name}.");
    let mut tags = Vec::new();
    if suppressed {
        let note = child_text(v, "notes");
        mitigation = format!(
            "This vulnerability is suppressed in the Dependency-Check configuration: {}\n{mitigation}",
            note.as_deref().unwrap_or("no reason given")
        );
        tags.push("suppressed".to_owned());
        if note.is_none() {
            tags.push("no_suppression_document".to_owned());
        }
    }

    let cvss = child(v, "cvssV3");
    Finding {
        title: truncate_chars(&format!("{label} | {name}"), 511).to_owned(),
        severity: severity(v),
        description,
        mitigation: Some(mitigation),
        references: (!references.is_empty()).then(|| references.join("\n")),
        cwe,
        extra_cwes,
        vulnerability_ids,
        cvssv3: cvss.and_then(cvss3_vector),
        cvssv3_score: cvss
            .and_then(|c| child_text(c, "baseScore"))
            .and_then(|s| s.parse().ok()),
        file_path: component.file_name.clone(),
        component_name: component.name.clone(),
        component_version: component.version.clone(),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        tags,
        active: suppressed.then_some(false),
        is_mitigated: suppressed.then_some(true),
        ..Finding::default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        DependencyCheck::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    const HEAD: &str = r#"<?xml version="1.0"?><analysis xmlns="https://jeremylong.github.io/DependencyCheck/dependency-check.2.5.xsd">"#;

    #[test]
    fn file_names() {
        assert_eq!(
            name_version_from_file("a.ear: dom4j-2.1.1.jar"),
            Some(("dom4j".into(), Some("2.1.1".into())))
        );
        assert_eq!(
            name_version_from_file("commons-io-2.4.jar"),
            Some(("commons-io".into(), Some("2.4".into())))
        );
        assert_eq!(
            name_version_from_file("jquery.js"),
            Some(("jquery".into(), None))
        );
    }

    #[test]
    fn minimal_vulnerability_defaults() {
        let r = format!(
            "{HEAD}<dependencies><dependency><fileName>x-1.0.jar</fileName><vulnerabilities>\
             <vulnerability><name>CVE-2020-1234</name><severity>moderate</severity></vulnerability>\
             <vulnerability><name>GHSA-aaaa-bbbb-cccc</name><cvssV3><baseScore>9.1</baseScore></cvssV3>\
             <cwes><cwe>CWE-79</cwe><cwe>CWE-80</cwe></cwes></vulnerability>\
             <suppressedVulnerability><name>weird</name><notes>ok</notes></suppressedVulnerability>\
             </vulnerabilities></dependency></dependencies></analysis>"
        );
        let f = parse(&r).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].title, "x:1.0 | CVE-2020-1234");
        assert_eq!(f[0].severity, Severity::Medium);
        assert_eq!(f[0].cwe, Some(1035));
        assert_eq!(f[0].vulnerability_ids, ["CVE-2020-1234"]);
        assert_eq!(f[1].severity, Severity::Critical);
        assert_eq!((f[1].cwe, f[1].extra_cwes.clone()), (Some(79), vec![80]));
        assert_eq!(f[2].severity, Severity::Info);
        assert_eq!(f[2].is_mitigated, Some(true));
        assert_eq!(f[2].active, Some(false));
        assert!(f[2].vulnerability_ids.is_empty());
    }

    #[test]
    fn purl_identity_wins() {
        let r = format!(
            "{HEAD}<dependencies><dependency><fileName>f.jar</fileName><identifiers>\
             <package><id>pkg:maven/org.a/b@1.2</id></package></identifiers><vulnerabilities>\
             <vulnerability><name>CVE-2020-1234</name><severity>HIGH</severity><cwe>CWE-00 x</cwe></vulnerability>\
             </vulnerabilities></dependency></dependencies></analysis>"
        );
        let f = parse(&r).unwrap();
        assert_eq!(f[0].component_name.as_deref(), Some("org.a:b"));
        assert_eq!(f[0].component_version.as_deref(), Some("1.2"));
        assert_eq!(f[0].cwe, None);
    }

    #[test]
    fn empty_and_wrong_inputs() {
        assert!(
            parse(&format!("{HEAD}<dependencies/></analysis>"))
                .unwrap()
                .is_empty()
        );
        assert!(parse(&format!("{HEAD}</analysis>")).unwrap().is_empty());
        let e = parse("<OWASPZAPReport/>").unwrap_err();
        assert!(e.message.contains("not a Dependency-Check"), "{e}");
        assert!(parse(&HEAD[..40]).is_err());
        assert!(parse("{}").is_err());
        assert!(
            DependencyCheck::parse(SCAN_TYPE, b"<analysis>\xff</analysis>", &Options::default())
                .is_err()
        );
        let deep = format!(
            "{HEAD}{}{}</analysis>",
            "<a>".repeat(50_000),
            "</a>".repeat(50_000)
        );
        let _ = parse(&deep);
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        assert_eq!(
            DependencyCheck::detect(&c, HEAD.as_bytes()).as_deref(),
            Some(SCAN_TYPE)
        );
        assert_eq!(
            DependencyCheck::detect(&c, b"<analysis><x/></analysis>"),
            None
        );
        assert_eq!(
            DependencyCheck::detect(&c, b"<bom xmlns=\"http://cyclonedx.org\"/>"),
            None
        );
    }
}
