//! Palisade parser plugin for OWASP Dependency-Check XML reports
//! ("Dependency Check Scan").
//!
//! The report is `<analysis><projectInfo><reportDate/></projectInfo>
//! <dependencies><dependency>...<vulnerabilities><vulnerability/>
//! <suppressedVulnerability/></vulnerabilities></dependency></dependencies></analysis>`.
//! Each (suppressed) vulnerability of each dependency becomes one finding;
//! suppressed ones are reported as mitigated and inactive so that a re-import
//! closes them instead of losing them. Every rule is listed in `FORMAT.md`.

use palisade_plugin_sdk::prelude::*;
use std::collections::HashSet;

use palisade_plugin_sdk::cvss::Cvss3;
use palisade_plugin_sdk::purl;
use palisade_plugin_sdk::xml::{
    Node, child, child_text, children, descendants, element_path, root_element_is,
};

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
        PluginInfo::single(
            "dependency-check",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "OWASP Dependency-Check XML report",
                &["xml"],
                DedupeSetting::hash_code(&["title", "cwe", "file_path"]),
            ),
        )
    }

    fn detect(_candidates: &[String], head: &[u8]) -> Option<String> {
        // The root is a generic <analysis>: require Dependency-Check's schema
        // namespace too.
        let ours = root_element_is(head, ROOT)
            && palisade_plugin_sdk::sniff::contains_ignore_ascii_case(head, b"DependencyCheck");
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

palisade_plugin_sdk::export_parser!(DependencyCheck);

/// Parses a whole Dependency-Check XML report.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = xml_text(report)?;
    let doc = parse_xml(&text)?;
    let root = doc.root_element();
    let ns = root.tag_name().namespace();
    let date = child(root, "projectInfo").and_then(|p| child_text(p, "reportDate"));
    let mut findings = Vec::new();
    let mut seen = HashSet::new();
    let Some(deps) = child(root, "dependencies") else {
        return Ok(findings);
    };
    for dep in children(deps, "dependency") {
        let Some(vulns) = child(dep, "vulnerabilities") else {
            continue;
        };
        let list: Vec<Node<'_, '_>> = children(vulns, "vulnerability")
            .chain(children(vulns, "suppressedVulnerability"))
            .collect();
        if list.is_empty() {
            continue;
        }
        let Some(file_name) = child(dep, "fileName").map(raw_text) else {
            return Err(
                ParseError::new("a dependency with vulnerabilities has no <fileName>")
                    .at_path(element_path(dep)),
            );
        };
        let component = Component::of(dep, &file_name)?;
        // The reference appends a list of related files (those with a name) to
        // every description of the dependency.
        let has_related = child(dep, "relatedDependencies").is_some_and(|r| {
            children(r, "relatedDependency")
                .any(|d| child(d, "fileName").is_some_and(|f| !raw_text(f).is_empty()))
        });
        for v in list {
            let mut f = vulnerability_finding(v, &component, &file_name, ns, has_related)?;
            f.date.clone_from(&date);
            // The reference merges on (title, cwe, file path), keeping the first.
            let key = (f.title.clone(), f.cwe, file_name.to_lowercase());
            if seen.insert(key) {
                findings.push(f);
            }
        }
    }
    Ok(findings)
}

/// The text of an element as written (untrimmed), empty when it has none.
fn raw_text(n: Node<'_, '_>) -> String {
    n.text().unwrap_or("").to_owned()
}

/// What a finding says about the vulnerable dependency.
struct Component {
    name: String,
    version: Option<String>,
    purl: Option<String>,
}

impl Component {
    /// The dependency's identity, by the reference's order of preference.
    fn of(dep: Node<'_, '_>, file_name: &str) -> Result<Self, ParseError> {
        if let Some(ids) = child(dep, "identifiers") {
            if let Some(package) = descendants(ids, "package").next() {
                let Some(id) = child(package, "id").map(|n| raw_text(n).trim().to_owned()) else {
                    return Err(ParseError::new("a <package> identifier has no <id>")
                        .at_path(element_path(package)));
                };
                let Some(p) = purl::parse(&id) else {
                    return Err(ParseError::new(format!(
                        "the package identifier {id:?} is not a package URL"
                    ))
                    .at_path(element_path(package)));
                };
                // packageurl-python 0.17's normalisation, which the reference
                // applies when it reads the purl.
                let name_folds = matches!(
                    p.kind.as_str(),
                    "bitbucket"
                        | "github"
                        | "pypi"
                        | "gitlab"
                        | "composer"
                        | "luarocks"
                        | "oci"
                        | "npm"
                        | "alpm"
                        | "apk"
                        | "bitnami"
                        | "hex"
                        | "pub"
                );
                let namespace_folds = matches!(
                    p.kind.as_str(),
                    "bitbucket"
                        | "github"
                        | "pypi"
                        | "gitlab"
                        | "composer"
                        | "luarocks"
                        | "qpkg"
                        | "alpm"
                        | "apk"
                        | "hex"
                );
                let mut base = if name_folds {
                    p.name.to_lowercase()
                } else {
                    p.name
                };
                match p.kind.as_str() {
                    "pypi" | "hackage" => base = base.replace('_', "-"),
                    "pub" => {
                        base = base
                            .chars()
                            .map(|c| {
                                if c.is_ascii_lowercase() || c.is_ascii_digit() {
                                    c
                                } else {
                                    '_'
                                }
                            })
                            .collect();
                    }
                    _ => {}
                }
                let fold_ns = |ns: String| match p.kind.as_str() {
                    "cpan" => ns.to_uppercase(),
                    _ if namespace_folds => ns.to_lowercase(),
                    _ => ns,
                };
                let version = match p.kind.as_str() {
                    "huggingface" | "oci" => p.version.map(|v| v.to_lowercase()),
                    _ => p.version,
                };
                let name = match p.namespace {
                    Some(ns) => format!("{}:{base}", fold_ns(ns)),
                    None => base,
                };
                return Ok(Component {
                    name,
                    version,
                    purl: Some(id),
                });
            }
            let identifier = |kind: &str| {
                descendants(ids, "identifier").find(|i| i.attribute("type") == Some(kind))
            };
            // An identifier element only counts when it has children (Python
            // element truthiness in the reference).
            if let Some(cpe) = identifier("cpe").filter(|n| n.children().any(|c| c.is_element())) {
                let text = child(cpe, "name").map(raw_text).unwrap_or_default();
                let Some([vendor, product, version]) = cpe_fields(text.trim()) else {
                    return Err(ParseError::new(format!("{text:?} is not a CPE name"))
                        .at_path(element_path(cpe)));
                };
                // The reference keeps the CPE's values as written ("*", "-" included).
                let name = format!("{vendor}:{product}");
                return Ok(Component {
                    name,
                    version: Some(version),
                    purl: None,
                });
            }
            if let Some(maven) = identifier("maven") {
                let text = child(maven, "name").map(raw_text).unwrap_or_default();
                let parts: Vec<&str> = text.split(':').collect();
                if let [group, artifact, version] = parts[..] {
                    return Ok(Component {
                        name: format!("{group}:{artifact}"),
                        version: Some(version.to_owned()),
                        purl: None,
                    });
                }
            }
        }
        if let Some(evidence) = child(dep, "evidenceCollected") {
            let first = |kind: &str| {
                descendants(evidence, "evidence").find(|e| e.attribute("type") == Some(kind))
            };
            if let Some(product) = first("product") {
                let value = child(product, "value").map(raw_text);
                return Ok(Component {
                    name: value.unwrap_or_else(|| file_name.to_owned()),
                    version: first("version")
                        .and_then(|v| child(v, "value"))
                        .map(raw_text),
                    purl: None,
                });
            }
        }
        Ok(Component {
            name: file_name.to_owned(),
            version: None,
            purl: None,
        })
    }
}

/// The vendor, product and version of a CPE 2.2 URI (`cpe:/a:v:p:1.0`) or
/// CPE 2.3 string (`cpe:2.3:a:v:p:1.0:*:...`), as written; backslash-escaped
/// colons stay inside a field. Missing trailing fields are empty.
fn cpe_fields(cpe: &str) -> Option<[String; 3]> {
    let rest = cpe
        .strip_prefix("cpe:2.3:")
        .or_else(|| cpe.strip_prefix("cpe:/"))?;
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                current.push(c);
                if let Some(n) = chars.next() {
                    current.push(n);
                }
            }
            ':' => fields.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    fields.push(current);
    let field = |i: usize| fields.get(i).cloned().unwrap_or_default();
    Some([field(1), field(2), field(3)])
}

/// Maps a spelled-out CVSS v3 metric value to its letter, as the reference's table does.
fn metric_letter(field: &str, value: &str) -> Option<&'static str> {
    let letter = match (field, value) {
        ("attackVector", "NETWORK" | "N") => "N",
        ("attackVector", "ADJACENT" | "A") => "A",
        ("attackVector", "LOCAL" | "L") => "L",
        ("attackVector", "PHYSICAL" | "P") => "P",
        ("attackComplexity", "LOW" | "L") => "L",
        ("attackComplexity", "HIGH" | "H") => "H",
        ("userInteraction", "NONE" | "N") => "N",
        ("userInteraction", "REQUIRED" | "R") => "R",
        ("scope", "UNCHANGED" | "U") => "U",
        ("scope", "CHANGED" | "C") => "C",
        (
            "privilegesRequired"
            | "confidentialityImpact"
            | "integrityImpact"
            | "availabilityImpact",
            v,
        ) => match v {
            "NONE" | "N" => "N",
            "LOW" | "L" => "L",
            "HIGH" | "H" => "H",
            _ => return None,
        },
        _ => return None,
    };
    Some(letter)
}

/// The CVSS v3 rating built from `<cvssV3>`'s metric elements, when every one is known.
fn cvss3(c: Node<'_, '_>, root_ns: Option<&str>) -> Option<Cvss3> {
    let mut parts = Vec::new();
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
        let value = child(c, field).map(raw_text)?;
        parts.push(format!("{metric}:{}", metric_letter(field, &value)?));
    }
    // The reference looks the version up without the namespace, so a
    // namespaced report is always read as 3.1.
    let version = match root_ns {
        None => child_text(c, "version").unwrap_or_else(|| "3.1".to_owned()),
        Some(_) => "3.1".to_owned(),
    };
    cvss3_from_str(&format!("CVSS:{version}/{}", parts.join("/"))).ok()
}

/// The severity and CVSS v3 rating of a vulnerability (see FORMAT.md).
fn severity_and_cvss(
    v: Node<'_, '_>,
    root_ns: Option<&str>,
) -> Result<(Severity, Option<Cvss3>), ParseError> {
    let mut word = child(v, "severity").map(raw_text);
    let mut rating = None;
    if let Some(c) = child(v, "cvssV3") {
        if let Some(r) = cvss3(c, root_ns) {
            word = Some(match r.base_score() {
                s if s <= 0.0 => "None".to_owned(),
                s => severity_from_cvss(s).as_str().to_owned(),
            });
            rating = Some(r);
        }
    } else if let Some(c) = child(v, "cvssV2") {
        let Some(s) = child(c, "severity") else {
            return Err(ParseError::new("a <cvssV2> has no <severity>").at_path(element_path(c)));
        };
        word = Some(raw_text(s));
    }
    let severity = match word
        .as_deref()
        .map(|w| w.trim().to_ascii_lowercase())
        .as_deref()
    {
        Some("info") => Severity::Info,
        Some("low") => Severity::Low,
        Some("moderate" | "medium") => Severity::Medium,
        Some("high") => Severity::High,
        Some("critical") => Severity::Critical,
        _ => Severity::Medium,
    };
    Ok((severity, rating))
}

/// The CWEs of a vulnerability: `<cwes><cwe>` when present, else the old `<cwe>`.
fn cwes(v: Node<'_, '_>) -> Vec<u32> {
    let texts: Vec<String> = match child(v, "cwes") {
        Some(list) => children(list, "cwe").map(raw_text).collect(),
        None => child(v, "cwe").map(raw_text).into_iter().collect(),
    };
    texts
        .iter()
        .filter_map(|t| {
            let digits = t.strip_prefix("CWE-").unwrap_or(t);
            let num: String = digits.chars().take_while(char::is_ascii_digit).collect();
            num.parse::<u32>().ok()
        })
        .collect()
}

/// Reads one `<vulnerability>` or `<suppressedVulnerability>`.
fn vulnerability_finding(
    v: Node<'_, '_>,
    component: &Component,
    file_name: &str,
    root_ns: Option<&str>,
    has_related: bool,
) -> Result<Finding, ParseError> {
    let suppressed = v.tag_name().name() == "suppressedVulnerability";
    let Some(name) = child(v, "name").map(raw_text) else {
        return Err(ParseError::new("a vulnerability has no <name>").at_path(element_path(v)));
    };
    let source = v.attribute("source");
    let description = child(v, "description").map(raw_text);
    let Some(mut description) = description.or_else(|| {
        // Without a description, only a suppressed vulnerability with nothing
        // appended to it survives in the reference.
        (suppressed && source.is_none() && !has_related)
            .then(|| "No description provided.".to_owned())
    }) else {
        return Err(
            ParseError::new(format!("vulnerability {name:?} has no <description>"))
                .at_path(element_path(v)),
        );
    };
    if let Some(source) = source {
        description.push_str(&format!("\n**Source:** {source}"));
    }
    if !suppressed {
        description.push_str(&format!("\n**Filepath:** {file_name}"));
    }
    if let Some(purl) = &component.purl {
        description.push_str(&format!("\n**Package:** {purl}"));
    }
    let cwes = cwes(v);
    let (cwe, extra_cwes) = match cwes.first() {
        None => (KNOWN_VULNERABLE_COMPONENT_CWE, Vec::new()),
        Some(&first) => (first, cwes[1..].to_vec()),
    };
    let vulnerability_ids = if name.starts_with("CVE") {
        vec![name.chars().take(28).collect()]
    } else {
        Vec::new()
    };
    let references = child(v, "references")
        .into_iter()
        .flat_map(|r| children(r, "reference"))
        .map(|r| {
            let source = child_text(r, "source").unwrap_or_default();
            let url = child_text(r, "url").unwrap_or_default();
            match child_text(r, "name") {
                Some(n) if n != url => {
                    format!("**Source:** {source}\n**URL:** {url}\n**Name:** {n}\n")
                }
                _ => format!("**Source:** {source}\n**URL:** {url}\n"),
            }
        })
        .collect::<Vec<_>>();
    let version_label = component.version.as_deref().unwrap_or("None");
    let label = format!("{}:{version_label}", component.name);
    let mut mitigation =
        format!("Update {label} to at least the version recommended in the description");
    let mut tags = Vec::new();
    if suppressed {
        let notes = descendants(v, "notes").next().map(raw_text);
        if notes.is_none() {
            tags.push("no_suppression_document".to_owned());
        }
        mitigation = format!(
            "**This vulnerability is mitigated and/or suppressed:** {}\n{mitigation}",
            notes
                .as_deref()
                .unwrap_or("Document on why we are suppressing this vulnerability is missing!")
        );
        tags.push("suppressed".to_owned());
    }
    let (severity, rating) = severity_and_cvss(v, root_ns)?;
    Ok(Finding {
        title: truncate_chars(&format!("{label} | {name}"), 511).to_owned(),
        severity,
        description,
        mitigation: Some(mitigation),
        references: (!references.is_empty()).then(|| references.join("\n")),
        cwe: Some(cwe),
        extra_cwes,
        vulnerability_ids,
        cvssv3: rating.as_ref().map(Cvss3::vector),
        cvssv3_score: rating.as_ref().map(Cvss3::base_score),
        file_path: Some(file_name.to_owned()),
        component_name: Some(component.name.clone()),
        component_version: component.version.clone(),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        tags,
        active: suppressed.then_some(false),
        is_mitigated: suppressed.then_some(true),
        ..Finding::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        DependencyCheck::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    const HEAD: &str = r#"<?xml version="1.0"?><analysis xmlns="https://jeremylong.github.io/DependencyCheck/dependency-check.2.5.xsd">"#;

    fn dep(inner: &str, vulns: &str) -> String {
        format!(
            "{HEAD}<projectInfo><reportDate>2024-01-02T03:04:05Z</reportDate></projectInfo>\
             <dependencies><dependency><fileName>x-1.0.jar</fileName>{inner}<vulnerabilities>{vulns}\
             </vulnerabilities></dependency></dependencies></analysis>"
        )
    }

    fn vuln(name: &str, extra: &str) -> String {
        format!(
            "<vulnerability><name>{name}</name><description>d</description>{extra}</vulnerability>"
        )
    }

    #[test]
    fn severity_cwe_and_ids() {
        let r = dep(
            "",
            &[
                vuln("CVE-2020-1234", "<severity>moderate</severity>"),
                vuln("GHSA-aaaa-bbbb-cccc", "<severity>HIGH</severity><cwes><cwe>CWE-79</cwe><cwe>80</cwe></cwes>"),
                vuln("CVE-2021-1111 plus a long tail of words", "<severity>weird</severity><cwe>CWE-22 Path</cwe>"),
                vuln("NPM-1", ""),
                // cvssV3 metrics replace the severity word.
                vuln("CVE-2022-1", "<severity>LOW</severity><cvssV3><attackVector>NETWORK</attackVector>\
                    <attackComplexity>LOW</attackComplexity><privilegesRequired>NONE</privilegesRequired>\
                    <userInteraction>NONE</userInteraction><scope>UNCHANGED</scope><confidentialityImpact>HIGH</confidentialityImpact>\
                    <integrityImpact>HIGH</integrityImpact><availabilityImpact>HIGH</availabilityImpact></cvssV3>"),
                // An unknown metric word leaves the severity word alone.
                vuln("CVE-2022-2", "<severity>LOW</severity><cvssV3><attackVector>ADJACENT_NETWORK</attackVector></cvssV3>"),
                vuln("CVE-2022-3", "<cvssV2><severity>HIGH</severity></cvssV2>"),
            ]
            .concat(),
        );
        let f = parse(&r).unwrap();
        assert_eq!(f.len(), 7);
        assert_eq!((f[0].severity, f[0].cwe), (Severity::Medium, Some(1035)));
        assert_eq!(f[0].vulnerability_ids, ["CVE-2020-1234"]);
        assert_eq!(f[0].file_path.as_deref(), Some("x-1.0.jar"));
        assert_eq!(f[0].date.as_deref(), Some("2024-01-02T03:04:05Z"));
        assert_eq!(f[1].severity, Severity::High);
        assert_eq!((f[1].cwe, f[1].extra_cwes.clone()), (Some(79), vec![80]));
        assert!(f[1].vulnerability_ids.is_empty());
        assert_eq!(f[2].severity, Severity::Medium);
        assert_eq!(f[2].cwe, Some(22));
        assert_eq!(f[2].vulnerability_ids, ["CVE-2021-1111 plus a long ta"]);
        assert_eq!(f[3].severity, Severity::Medium);
        assert_eq!(f[4].severity, Severity::Critical);
        assert!(f[4].cvssv3.as_deref().unwrap().starts_with("CVSS:3.1/AV:N"));
        assert_eq!(f[5].severity, Severity::Low);
        assert_eq!(f[6].severity, Severity::High);
        // Without identifiers the file name is the component.
        assert_eq!(f[0].component_name.as_deref(), Some("x-1.0.jar"));
        assert_eq!(f[0].component_version, None);
    }

    #[test]
    fn component_identity_order() {
        let one = |inner: &str| {
            let f = parse(&dep(inner, &vuln("CVE-2020-1", ""))).unwrap();
            (f[0].component_name.clone(), f[0].component_version.clone())
        };
        let s = |x: &str| Some(x.to_owned());
        assert_eq!(
            one(
                "<identifiers><vulnerabilityIds/><package><id>pkg:npm/%40scope/b@1.2</id></package></identifiers>"
            ),
            (s("@scope:b"), s("1.2"))
        );
        assert_eq!(
            one("<identifiers><package><id>pkg:pypi/req</id></package></identifiers>"),
            (s("req"), None)
        );
        assert_eq!(
            one("<identifiers><package><id>pkg:pypi/Django_Rest@3.1</id></package></identifiers>"),
            (s("django-rest"), s("3.1"))
        );
        assert_eq!(
            one(
                "<identifiers><package><id>pkg:composer/Symfony/Http_Kernel@5.0</id></package></identifiers>"
            ),
            (s("symfony:http_kernel"), s("5.0"))
        );
        // npm names fold, npm scopes do not.
        assert_eq!(
            one(
                "<identifiers><package><id>pkg:npm/%40MyScope/Left-Pad@1.0.0</id></package></identifiers>"
            ),
            (s("@MyScope:left-pad"), s("1.0.0"))
        );
        assert_eq!(
            one(
                "<identifiers><identifier type=\"cpe\"><name>cpe:/a:apache:struts:2.3.1</name></identifier>\
                 <identifier type=\"maven\"><name>g:a:9</name></identifier></identifiers>"
            ),
            (s("apache:struts"), s("2.3.1"))
        );
        assert_eq!(
            one(
                "<identifiers><identifier type=\"cpe\"><name>cpe:2.3:a:jquery:jquery:*:*:*:*:*:*:*:*</name></identifier></identifiers>"
            ),
            (s("jquery:jquery"), s("*"))
        );
        assert!(cpe_fields("cpe:2.3:a:foo\\:bar:baz:1.0").is_some_and(|f| f[0] == "foo\\:bar"));
        assert_eq!(
            one(
                "<identifiers><identifier type=\"maven\"><name>org.g:art:9.1</name></identifier></identifiers>"
            ),
            (s("org.g:art"), s("9.1"))
        );
        assert_eq!(
            one(
                "<evidenceCollected><evidence type=\"vendor\"><value>v</value></evidence>\
                 <evidence type=\"product\"><value>jquery</value></evidence>\
                 <evidence type=\"version\"><value>3.1.1</value></evidence></evidenceCollected>"
            ),
            (s("jquery"), s("3.1.1"))
        );
        assert!(
            parse(&dep(
                "<identifiers><package><id>not a purl</id></package></identifiers>",
                &vuln("CVE-1", "")
            ))
            .is_err()
        );
    }

    #[test]
    fn merge_and_suppression() {
        let r = dep(
            "<relatedDependencies><relatedDependency><fileName>y.jar</fileName></relatedDependency></relatedDependencies>",
            &[
                vuln("CVE-2020-1", "<severity>low</severity>"),
                vuln("CVE-2020-1", "<severity>high</severity>"),
                vuln("CVE-2020-1", "<severity>high</severity><cwe>CWE-20</cwe>"),
                "<suppressedVulnerability><name>CVE-2020-9</name><description>d</description><severity>high</severity></suppressedVulnerability>"
                    .to_owned(),
            ]
            .concat(),
        );
        let f = parse(&r).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].severity, Severity::Low);
        assert_eq!(f[1].cwe, Some(20));
        assert_eq!((f[2].is_mitigated, f[2].active), (Some(true), Some(false)));
        assert_eq!(f[2].tags, ["no_suppression_document", "suppressed"]);
    }

    #[test]
    fn reference_rejections() {
        let no_file = format!(
            "{HEAD}<dependencies><dependency><vulnerabilities>{}</vulnerabilities></dependency></dependencies></analysis>",
            vuln("CVE-1", "")
        );
        assert!(parse(&no_file).unwrap_err().message.contains("fileName"));
        assert!(
            parse(&dep(
                "",
                "<vulnerability><name>CVE-1</name></vulnerability>"
            ))
            .is_err()
        );
        assert!(
            parse(&dep(
                "",
                "<vulnerability><description>d</description></vulnerability>"
            ))
            .is_err()
        );
        // A dependency without vulnerabilities needs no file name.
        let quiet = format!("{HEAD}<dependencies><dependency/></dependencies></analysis>");
        assert!(parse(&quiet).unwrap().is_empty());
        // A suppressed vulnerability may lack a description, unless related
        // files are listed after it.
        let suppressed = "<suppressedVulnerability><name>CVE-1</name></suppressedVulnerability>";
        assert_eq!(parse(&dep("", suppressed)).unwrap().len(), 1);
        let related = "<relatedDependencies><relatedDependency><fileName>y.jar</fileName></relatedDependency></relatedDependencies>";
        assert!(parse(&dep(related, suppressed)).is_err());
    }

    #[test]
    fn empty_and_wrong_inputs() {
        assert!(
            parse(&format!("{HEAD}<dependencies/></analysis>"))
                .unwrap()
                .is_empty()
        );
        assert!(parse(&format!("{HEAD}</analysis>")).unwrap().is_empty());
        // Like the reference, another root just has no dependencies.
        assert!(parse("<OWASPZAPReport/>").unwrap().is_empty());
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
