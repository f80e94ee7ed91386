//! Palisade parser plugin for Anchore Grype's JSON report (`grype -o json`):
//! `{"matches": [{"vulnerability", "relatedVulnerabilities", "matchDetails",
//! "artifact"}], "source", "distro", "descriptor"}`. One finding per match.

use palisade_plugin_sdk::findings::{Collector, count_occurrence};
use palisade_plugin_sdk::markdown::push_field;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use serde::Deserialize;

/// One finding per vulnerability and package version.
pub const SCAN_TYPE: &str = "Anchore Grype";
/// One finding per vulnerability, package version and file path.
pub const SCAN_TYPE_DETAILED: &str = "Anchore Grype detailed";

/// The Anchore Grype parser.
pub struct Grype;

#[derive(Deserialize)]
struct Report {
    /// Absent: no findings; present, it must be a list.
    #[serde(default, deserialize_with = "palisade_plugin_sdk::json::present")]
    matches: Option<Option<Vec<Match>>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Match {
    vulnerability: Option<Vuln>,
    #[serde(rename = "relatedVulnerabilities")]
    related: Option<Vec<Vuln>>,
    /// A list in current Grype, a single object in old versions.
    #[serde(rename = "matchDetails")]
    match_details: Option<serde_json::Value>,
    artifact: Option<Artifact>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Vuln {
    id: Option<String>,
    severity: Option<String>,
    namespace: Option<String>,
    description: Option<String>,
    #[serde(rename = "dataSource")]
    data_source: Option<String>,
    urls: Option<Vec<String>>,
    /// Older Grype versions call the URL list "links".
    links: Option<Vec<String>>,
    cvss: Option<Vec<Cvss>>,
    /// Old Grype versions: a single `{"baseScore", "vector"}` object.
    #[serde(rename = "cvssV3")]
    cvss_v3_old: Option<OldCvss>,
    fix: Option<Fix>,
    epss: Option<Vec<Epss>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Cvss {
    version: Option<String>,
    vector: Option<String>,
    metrics: Option<Metrics>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OldCvss {
    vector: Option<String>,
    #[serde(rename = "baseScore")]
    base_score: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Metrics {
    #[serde(rename = "baseScore")]
    base_score: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Fix {
    versions: Option<Vec<String>>,
    state: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Epss {
    cve: Option<String>,
    epss: Option<f64>,
    percentile: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Artifact {
    name: Option<String>,
    version: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    locations: Option<Vec<Location>>,
    purl: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Location {
    path: Option<String>,
}

fn ne(s: Option<&String>) -> Option<&str> {
    s.map(|x| x.trim()).filter(|x| !x.is_empty())
}

/// Drops NUL characters: some Java artifacts carry them in their version
/// (read from binaries), and they are never meaningful in text.
fn no_nul(s: &str) -> String {
    s.replace('\0', "")
}

impl Parser for Grype {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "grype",
            env!("CARGO_PKG_VERSION"),
            vec![
                ScanTypeInfo::new(
                    SCAN_TYPE,
                    "Anchore Grype JSON report (grype -o json)",
                    &["json"],
                    DedupeSetting::hash_code(&[
                        "title",
                        "severity",
                        "component_name",
                        "component_version",
                    ]),
                ),
                ScanTypeInfo::new(
                    SCAN_TYPE_DETAILED,
                    "Anchore Grype JSON report, one finding per vulnerable file path",
                    &["json"],
                    DedupeSetting::new(
                        DedupeAlgorithm::UniqueIdFromTool,
                        &["title", "cwe", "line", "file_path", "description"],
                    ),
                ),
            ],
        )
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        // Both scan types read the same reports; the aggregated one is preferred.
        let scan_type = [SCAN_TYPE, SCAN_TYPE_DETAILED]
            .into_iter()
            .find(|t| candidates.iter().any(|c| c == t))?;
        let yes = palisade_plugin_sdk::json::starts_like_json(head)
            && contains(head, b"\"matches\"")
            && ((first_key_is(head, b"matches")
                && contains(head, b"\"vulnerability\"")
                && contains(head, b"\"severity\""))
                || contains(head, b"\"matchDetails\"")
                || contains(head, b"\"relatedVulnerabilities\"")
                || (contains(head, b"\"descriptor\"") && contains(head, b"\"grype\"")));
        yes.then(|| scan_type.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        let detailed = scan_type == SCAN_TYPE_DETAILED;
        if !report.trim_ascii_start().starts_with(b"{") && !report.starts_with(b"\xEF\xBB\xBF{") {
            return Err(ParseError::new(
                "not an Anchore Grype report: expected a JSON object with a \"matches\" list",
            ));
        }
        let report: Report = parse_json(report)?;
        let matches = match report.matches {
            None => return Ok(Vec::new()),
            Some(None) => {
                return Err(ParseError::new(
                    "not an Anchore Grype report: \"matches\" is null, not a list",
                ));
            }
            Some(Some(m)) => m,
        };
        // Matches of one vulnerability in one package (name and version) are
        // one finding, however many locations grype found it in (in the
        // detailed scan type, one per file path too); the first match is
        // kept and the others counted.
        let mut findings: Collector<String> = Collector::new();
        for (i, m) in matches.iter().enumerate() {
            let mut f = finding(m).map_err(|e| ParseError::new(format!("match {i}: {e}")))?;
            let py = |v: Option<&str>| v.unwrap_or("None").to_owned();
            let mut key = format!(
                "{}|{}|{}",
                f.vuln_id_from_tool.as_deref().unwrap_or_default(),
                py(f.component_name.as_deref()),
                m.artifact
                    .as_ref()
                    .and_then(|a| a.version.as_deref())
                    .unwrap_or_default(),
            );
            if detailed {
                key = format!("{key}|{}", py(f.file_path.as_deref()));
                f.unique_id_from_tool = Some(key.replace('\0', ""));
            }
            findings.add_with(key, f, |kept, _| count_occurrence(kept));
        }
        Ok(findings.into_findings())
    }
}

/// The first CVSS v3 vector of the vulnerability, else of the first
/// related vulnerability (the reference looks no further).
fn cvss3<'a>(v: &'a Vuln, related: Option<&'a Vuln>) -> Option<(&'a str, Option<f64>)> {
    let first_v3 = |x: &'a Vuln| {
        x.cvss.iter().flatten().find_map(|c| {
            let vector = ne(c.vector.as_ref())?;
            vector
                .starts_with("CVSS:3")
                .then(|| (vector, c.metrics.as_ref().and_then(|m| m.base_score)))
        })
    };
    first_v3(v)
        .or_else(|| related.and_then(first_v3))
        .or_else(|| {
            let old = v.cvss_v3_old.as_ref()?;
            Some((ne(old.vector.as_ref())?, old.base_score))
        })
}

/// The EPSS entry for `id` in a list.
fn epss_for<'a>(id: Option<&str>, list: Option<&'a Vec<Epss>>) -> Option<&'a Epss> {
    list?
        .iter()
        .find(|e| e.cve.as_deref() == id && e.epss.is_some() && e.percentile.is_some())
}

/// The matcher name of one match detail.
fn matcher(d: &serde_json::Value) -> Option<&str> {
    d.get("matcher")?
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The matcher names of the match details (a list, or one object in old reports).
fn matchers(details: Option<&serde_json::Value>) -> Vec<&str> {
    let one = matcher;
    match details {
        Some(serde_json::Value::Array(items)) => items.iter().filter_map(one).collect(),
        Some(d) => one(d).into_iter().collect(),
        None => Vec::new(),
    }
}

/// Whether the first key of the top-level object is `key` (Grype writes
/// "matches" first).
fn first_key_is(head: &[u8], key: &[u8]) -> bool {
    let head = palisade_plugin_sdk::sniff::without_bom(head);
    let mut rest = head.iter().skip_while(|b| b.is_ascii_whitespace());
    if rest.next() != Some(&b'{') {
        return false;
    }
    let rest: Vec<u8> = rest
        .skip_while(|b| b.is_ascii_whitespace())
        .take(key.len() + 2)
        .copied()
        .collect();
    rest.len() == key.len() + 2
        && rest[0] == b'"'
        && &rest[1..=key.len()] == key
        && rest[key.len() + 1] == b'"'
}

fn finding(m: &Match) -> Result<Finding, String> {
    let v = m
        .vulnerability
        .as_ref()
        .ok_or("no \"vulnerability\" object")?;
    let a = m.artifact.as_ref().ok_or("no \"artifact\" object")?;
    if m.match_details.is_none() {
        return Err("no \"matchDetails\"".to_owned());
    }
    let raw_id = v.id.as_deref().ok_or("the vulnerability has no \"id\"")?;
    let raw_version = a
        .version
        .as_deref()
        .ok_or("the artifact has no \"version\"")?;
    let id = Some(raw_id).filter(|x| !x.is_empty());
    let name = a.name.as_deref();
    let title = no_nul(&format!(
        "{raw_id} in {}:{raw_version}",
        name.unwrap_or("None")
    ));
    let first_related = m.related.iter().flatten().next();

    let mut ids: Vec<String> = id.map(str::to_owned).into_iter().collect();
    for r in m.related.iter().flatten() {
        if let Some(rid) = r.id.as_deref().filter(|x| !x.is_empty()) {
            ids.push(rid.to_owned());
        }
    }

    let fixes: Vec<&str> = v
        .fix
        .iter()
        .flat_map(|f| f.versions.iter().flatten())
        .map(String::as_str)
        .collect();
    let fix_state = v.fix.as_ref().and_then(|f| ne(f.state.as_ref()));

    let mut description = String::new();
    let mut line = |label: &str, value: Option<&str>| push_field(&mut description, label, value);
    line("Vulnerability namespace", ne(v.namespace.as_ref()));
    line("Description", ne(v.description.as_ref()));
    if let Some(r) = first_related
        && ne(r.description.as_ref()) != ne(v.description.as_ref())
    {
        line(
            "Related vulnerability description",
            ne(r.description.as_ref()),
        );
    }
    let matchers = matchers(m.match_details.as_ref());
    if !matchers.is_empty() {
        line("Matcher", Some(&matchers.join(", ")));
    }
    line("Package URL", ne(a.purl.as_ref()));
    line("Package type", ne(a.kind.as_ref()));
    line("Fix state", fix_state);

    let mut refs: Vec<&str> = Vec::new();
    for r in std::iter::once(v).chain(first_related) {
        let urls = r
            .data_source
            .iter()
            .chain(r.urls.iter().flatten())
            .chain(r.links.iter().flatten());
        for u in urls.map(|u| u.trim()).filter(|u| !u.is_empty()) {
            if !refs.contains(&u) {
                refs.push(u);
            }
        }
    }

    let (cvssv3, cvssv3_score) = match cvss3(v, first_related) {
        Some((vector, score)) => match palisade_plugin_sdk::Cvss3::parse(vector) {
            Ok(parsed) => (
                Some(parsed.vector()),
                score.map(|s| s as f32).or(Some(parsed.base_score())),
            ),
            Err(_) => (None, None),
        },
        None => (None, None),
    };
    let epss = epss_for(id, v.epss.as_ref())
        .or_else(|| first_related.and_then(|r| epss_for(r.id.as_deref(), r.epss.as_ref())));

    let mut tags: Vec<String> = Vec::new();
    for t in matchers.iter().map(|m| m.replace("-matcher", "")) {
        if !tags.contains(&t) {
            tags.push(t);
        }
    }

    Ok(Finding {
        title,
        // Grype's words; "Negligible" and "Unknown" are Info.
        severity: ne(v.severity.as_ref())
            .and_then(severity_from_word)
            .unwrap_or(Severity::Info),
        description: clean_string(description),
        mitigation: (!fixes.is_empty())
            .then(|| format!("Upgrade to version: {}", fixes.join(", "))),
        references: (!refs.is_empty()).then(|| refs.join("\n")),
        vulnerability_ids: ids,
        cvssv3,
        cvssv3_score,
        epss_score: epss.and_then(|e| e.epss).map(|x| x as f32),
        epss_percentile: epss.and_then(|e| e.percentile).map(|x| x as f32),
        // Only the first location counts.
        file_path: a
            .locations
            .iter()
            .flatten()
            .next()
            .and_then(|l| l.path.as_deref())
            .filter(|p| !p.is_empty())
            .map(str::to_owned),
        component_name: name.map(str::to_owned),
        component_version: Some(no_nul(raw_version)),
        fix_available: Some(!fixes.is_empty()),
        // With several fix versions the reference keeps the last one.
        fix_version: fixes.last().map(|x| (*x).to_owned()),
        vuln_id_from_tool: Some(raw_id.to_owned()),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        tags,
        nb_occurences: Some(1),
        ..Finding::default()
    })
}

palisade_plugin_sdk::export_parser!(Grype);

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_plugin_sdk::testing::assert_rejects_foreign;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        Grype::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    #[test]
    fn empty_report() {
        assert!(parse(r#"{"matches": []}"#).unwrap().is_empty());
        // No matches key: nothing found (the reference reads an empty list).
        assert!(parse(r#"{"source": {}}"#).unwrap().is_empty());
    }

    fn one(id: &str, severity: &str, name: &str, version: &str, path: &str) -> String {
        format!(
            r#"{{"vulnerability": {{"id": "{id}", "severity": "{severity}", "fix": {{"versions": ["1.1", "2.1"]}},
                "epss": [{{"cve": "OTHER", "epss": 0.9, "percentile": 0.9}}, {{"cve": "{id}", "epss": 0.1, "percentile": 0.5}}]}},
               "relatedVulnerabilities": [{{"id": "CVE-2020-3"}}, {{"id": ""}}],
               "matchDetails": [{{"matcher": "java-matcher"}}],
               "artifact": {{"name": "{name}", "version": "{version}", "locations": [{{"path": "{path}"}}, {{"path": "/other"}}]}}}}"#
        )
    }

    #[test]
    fn matches_and_severities() {
        let r = format!(
            r#"{{"matches": [{}, {}, {}]}}"#,
            one("CVE-2020-1", "Negligible", "a", "1", ""),
            one("GHSA-aaaa-bbbb-cccc", "critical", "b", "1\\u0000", "/x"),
            one("CVE-2020-2", "Unknown", "c", "2", "/y"),
        );
        let f = parse(&r).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(
            (f[0].severity, f[2].severity),
            (Severity::Info, Severity::Info)
        );
        assert_eq!(f[0].title, "CVE-2020-1 in a:1");
        // Only the first location is the file path.
        assert_eq!(f[0].file_path, None);
        assert_eq!(
            f[1].vulnerability_ids,
            ["GHSA-aaaa-bbbb-cccc", "CVE-2020-3"]
        );
        assert_eq!(f[1].file_path.as_deref(), Some("/x"));
        assert_eq!(f[1].severity, Severity::Critical);
        assert_eq!(f[1].component_version.as_deref(), Some("1"));
        assert_eq!(
            f[1].vuln_id_from_tool.as_deref(),
            Some("GHSA-aaaa-bbbb-cccc")
        );
        assert_eq!(
            (f[1].fix_version.as_deref(), f[1].epss_score),
            (Some("2.1"), Some(0.1))
        );
        assert_eq!(f[1].tags, ["java"]);
    }

    #[test]
    fn repeated_vulnerability_in_one_package_is_one_finding() {
        let r = format!(
            r#"{{"matches": [{}, {}, {}, {}]}}"#,
            one("CVE-2020-1", "High", "a", "1", "/one"),
            one("CVE-2020-1", "High", "a", "1", "/two"),
            one("CVE-2020-1", "High", "a", "2", "/three"),
            one("CVE-2020-1", "High", "a", "1", "/four"),
        );
        let f = parse(&r).unwrap();
        assert_eq!(f.len(), 2);
        // The first match is kept, the others counted.
        assert_eq!(f[0].file_path.as_deref(), Some("/one"));
        assert_eq!(f[0].nb_occurences, Some(3));
        assert_eq!(
            (f[1].component_version.as_deref(), f[1].nb_occurences),
            (Some("2"), Some(1))
        );
    }

    #[test]
    fn detailed_keeps_one_finding_per_file_path() {
        let r = format!(
            r#"{{"matches": [{}, {}, {}]}}"#,
            one("CVE-2020-1", "High", "a", "1", "/one"),
            one("CVE-2020-1", "High", "a", "1", "/two"),
            one("CVE-2020-1", "High", "a", "1", "/one"),
        );
        let f = Grype::parse(SCAN_TYPE_DETAILED, r.as_bytes(), &Options::default()).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(
            f[0].unique_id_from_tool.as_deref(),
            Some("CVE-2020-1|a|1|/one")
        );
        assert_eq!(
            (f[0].nb_occurences, f[1].file_path.as_deref()),
            (Some(2), Some("/two"))
        );
        let both = [SCAN_TYPE_DETAILED.to_owned(), SCAN_TYPE.to_owned()];
        let head = br#"{"matches": [{"vulnerability": {}, "relatedVulnerabilities": ["#;
        assert_eq!(Grype::detect(&both, head).as_deref(), Some(SCAN_TYPE));
    }

    #[test]
    fn malformed_and_foreign_input_is_rejected() {
        let deep = "[".repeat(5000);
        assert_rejects_foreign::<Grype>(
            SCAN_TYPE,
            &[
                b"",
                b"[]",
                b"{",
                br#"{"matches": [{"vulnerability": "#,
                br#"{"matches": null}"#,
                b"null",
                // The reference needs the id, matchDetails, artifact and its version.
                br#"{"matches": [{"vulnerability": {"severity": "High"}, "matchDetails": [], "artifact": {"version": "1"}}]}"#,
                br#"{"matches": [{"vulnerability": {"id": "X"}, "artifact": {"version": "1"}}]}"#,
                br#"{"matches": [{"vulnerability": {"id": "X"}, "matchDetails": []}]}"#,
                br#"{"matches": [{"vulnerability": {"id": "X"}, "matchDetails": [], "artifact": {"name": "a"}}]}"#,
                b"{\"matches\":[\"\xff\"]}",
                deep.as_bytes(),
            ],
        );
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        assert!(
            Grype::detect(
                &c,
                br#"{"matches": [{"vulnerability": {}, "relatedVulnerabilities": ["#
            )
            .is_some()
        );
        assert!(
            Grype::detect(&c, br#"{"matches": [], "descriptor": {"name": "grype"}}"#).is_some()
        );
        assert!(Grype::detect(&c, br#"{"matches": []}"#).is_none());
        assert!(Grype::detect(&c, br#"{"SchemaVersion": 2, "Results": []}"#).is_none());
    }
}
