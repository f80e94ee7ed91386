//! Palisade parser plugin for Anchore Grype's JSON report (`grype -o json`):
//! `{"matches": [{"vulnerability", "relatedVulnerabilities", "matchDetails",
//! "artifact"}], "source", "distro", "descriptor"}`. One finding per match.

use palisade_plugin_sdk::markdown::push_field;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use serde::Deserialize;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "Anchore Grype";

/// The Anchore Grype parser.
pub struct Grype;

#[derive(Deserialize)]
struct Report {
    matches: Option<Vec<Match>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Match {
    vulnerability: Vuln,
    #[serde(rename = "relatedVulnerabilities")]
    related: Option<Vec<Vuln>>,
    /// A list in current Grype, a single object in old versions.
    #[serde(rename = "matchDetails")]
    match_details: Option<serde_json::Value>,
    artifact: Artifact,
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
        PluginInfo {
            name: "grype".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "Anchore Grype JSON report (grype -o json)".to_owned(),
                file_kinds: vec!["json".to_owned()],
                dedupe: DedupeSetting::hash_code(&[
                    "title",
                    "severity",
                    "component_name",
                    "component_version",
                ]),
            }],
        }
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        let yes = candidates.iter().any(|c| c == SCAN_TYPE)
            && palisade_plugin_sdk::json::starts_like_json(head)
            && contains(head, b"\"matches\"")
            && ((first_key_is(head, b"matches")
                && contains(head, b"\"vulnerability\"")
                && contains(head, b"\"severity\""))
                || contains(head, b"\"matchDetails\"")
                || contains(head, b"\"relatedVulnerabilities\"")
                || (contains(head, b"\"descriptor\"") && contains(head, b"\"grype\"")));
        yes.then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        if scan_type != SCAN_TYPE {
            return Err(ParseError::new(format!(
                "the grype plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
        let report: Report = parse_json(report)?;
        let matches = report.matches.ok_or_else(|| {
            ParseError::new(
                "not an Anchore Grype report: the top-level \"matches\" array is missing",
            )
        })?;
        Ok(matches.iter().map(finding).collect())
    }
}

/// The first CVSS v3 entry of the vulnerability, else of a related one.
fn cvss3(m: &Match) -> Option<(&str, Option<f64>)> {
    std::iter::once(&m.vulnerability)
        .chain(m.related.iter().flatten())
        .flat_map(|v| v.cvss.iter().flatten())
        .find_map(|c| {
            let v3 = ne(c.version.as_ref()).is_some_and(|v| v.starts_with('3'));
            let vector = ne(c.vector.as_ref())?;
            (v3 || vector.starts_with("CVSS:3"))
                .then(|| (vector, c.metrics.as_ref().and_then(|m| m.base_score)))
        })
        .or_else(|| {
            let old = m.vulnerability.cvss_v3_old.as_ref()?;
            Some((ne(old.vector.as_ref())?, old.base_score))
        })
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
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
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

fn finding(m: &Match) -> Finding {
    let v = &m.vulnerability;
    let a = &m.artifact;
    let id = ne(v.id.as_ref());
    let name = ne(a.name.as_ref());
    let version = ne(a.version.as_ref());
    let title = no_nul(&match (id, name, version) {
        (Some(id), Some(n), Some(ver)) => format!("{id} in {n}:{ver}"),
        (Some(id), Some(n), None) => format!("{id} in {n}"),
        (Some(id), None, _) => id.to_owned(),
        (None, Some(n), _) => format!("Vulnerability in {n}"),
        (None, None, _) => "Grype vulnerability".to_owned(),
    });

    let mut ids: Vec<String> = id.map(str::to_owned).into_iter().collect();
    for r in m.related.iter().flatten() {
        if let Some(rid) = ne(r.id.as_ref())
            && !ids.iter().any(|x| x == rid)
        {
            ids.push(rid.to_owned());
        }
    }

    let fixes: Vec<&str> = v
        .fix
        .iter()
        .flat_map(|f| f.versions.iter().flatten())
        .map(|x| x.trim())
        .filter(|x| !x.is_empty())
        .collect();
    let fix_state = v.fix.as_ref().and_then(|f| ne(f.state.as_ref()));

    let mut description = String::new();
    let mut line = |label: &str, value: Option<&str>| push_field(&mut description, label, value);
    line("Vulnerability", id);
    line("Package", name);
    line("Installed version", version);
    line("Package type", ne(a.kind.as_ref()));
    line("Package URL", ne(a.purl.as_ref()));
    line("Vulnerability namespace", ne(v.namespace.as_ref()));
    line("Description", ne(v.description.as_ref()));
    for r in m.related.iter().flatten() {
        if ne(r.description.as_ref()) != ne(v.description.as_ref()) {
            line(
                "Related vulnerability description",
                ne(r.description.as_ref()),
            );
        }
    }
    let matchers = matchers(m.match_details.as_ref());
    if !matchers.is_empty() {
        line("Matcher", Some(&matchers.join(", ")));
    }
    line("Fix state", fix_state);

    let mut refs: Vec<&str> = Vec::new();
    for r in std::iter::once(v).chain(m.related.iter().flatten()) {
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

    let (cvssv3, cvssv3_score) = match cvss3(m) {
        Some((vector, score)) => match palisade_plugin_sdk::Cvss3::parse(vector) {
            Ok(parsed) => (
                Some(parsed.vector()),
                score.map(|s| s as f32).or(Some(parsed.base_score())),
            ),
            Err(_) => (None, None),
        },
        None => (None, None),
    };
    let epss = v.epss.iter().flatten().next();

    Finding {
        title,
        severity: ne(v.severity.as_ref())
            .and_then(severity_from_word)
            .unwrap_or(Severity::Info),
        description: clean(&description),
        mitigation: (!fixes.is_empty())
            .then(|| format!("Upgrade to version: {}", fixes.join(", "))),
        references: (!refs.is_empty()).then(|| refs.join("\n")),
        vulnerability_ids: ids,
        cvssv3,
        cvssv3_score,
        epss_score: epss.and_then(|e| e.epss).map(|x| x as f32),
        epss_percentile: epss.and_then(|e| e.percentile).map(|x| x as f32),
        file_path: a
            .locations
            .iter()
            .flatten()
            .find_map(|l| ne(l.path.as_ref()))
            .map(str::to_owned),
        component_name: name.map(no_nul),
        component_version: version.map(no_nul),
        fix_available: Some(!fixes.is_empty()),
        fix_version: fixes.first().map(|x| (*x).to_owned()),
        vuln_id_from_tool: id.map(str::to_owned),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        tags: ne(a.kind.as_ref()).map(str::to_owned).into_iter().collect(),
        ..Finding::default()
    }
}

palisade_plugin_sdk::export_parser!(Grype);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        Grype::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    #[test]
    fn empty_report() {
        assert!(parse(r#"{"matches": []}"#).unwrap().is_empty());
    }

    #[test]
    fn minimal_match_and_unusual_severities() {
        let f = parse(
            r#"{"matches": [
                {"vulnerability": {"id": "CVE-2020-1", "severity": "Negligible"}, "artifact": {"name": "a"}},
                {"vulnerability": {"id": "CVE-2020-2", "severity": "Unknown"}, "artifact": {}},
                {"vulnerability": {"id": "GHSA-aaaa-bbbb-cccc", "severity": "Critical"},
                 "relatedVulnerabilities": [{"id": "CVE-2020-3"}, {"id": "GHSA-aaaa-bbbb-cccc"}],
                 "artifact": {"name": "b", "version": "1", "locations": [{"path": "/x"}]}}]}"#,
        )
        .unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(
            (f[0].severity, f[1].severity),
            (Severity::Info, Severity::Info)
        );
        assert_eq!(f[0].title, "CVE-2020-1 in a");
        assert_eq!(
            f[2].vulnerability_ids,
            ["GHSA-aaaa-bbbb-cccc", "CVE-2020-3"]
        );
        assert_eq!(f[2].file_path.as_deref(), Some("/x"));
        assert_eq!(f[2].severity, Severity::Critical);
    }

    #[test]
    fn malformed_and_foreign_input_is_rejected() {
        for r in [
            "",
            "[]",
            "{",
            r#"{"matches": [{"vulnerability": "#,
            r#"{"Results": []}"#,
            "null",
        ] {
            assert!(parse(r).is_err(), "{r}");
        }
        assert!(Grype::parse(SCAN_TYPE, b"{\"matches\":[\"\xff\"]}", &Options::default()).is_err());
        assert!(parse(&"[".repeat(5000)).is_err());
        assert!(Grype::parse("Trivy Scan", b"{}", &Options::default()).is_err());
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
