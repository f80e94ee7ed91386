//! Host-side mirrors of the contract's types: plain Rust, serialisable, no wasmtime in sight.
//!
//! The importer, the GraphQL layer and the CLI see only these; the generated
//! binding types stay inside the plugin host.

use serde::{Serialize, Serializer};

use super::bindings::palisade::parser::types as wit;

/// How serious a finding is, spelled the way DefectDojo users know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Severity {
    /// Exploitable now with grave consequences.
    Critical,
    /// Serious.
    High,
    /// Moderate.
    Medium,
    /// Minor.
    Low,
    /// Informational.
    Info,
}

impl Severity {
    /// The canonical spelling: "Critical", "High", "Medium", "Low" or "Info".
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "Critical",
            Severity::High => "High",
            Severity::Medium => "Medium",
            Severity::Low => "Low",
            Severity::Info => "Info",
        }
    }
}

impl From<wit::Severity> for Severity {
    fn from(s: wit::Severity) -> Self {
        match s {
            wit::Severity::Critical => Severity::Critical,
            wit::Severity::High => Severity::High,
            wit::Severity::Medium => Severity::Medium,
            wit::Severity::Low => Severity::Low,
            wit::Severity::Info => Severity::Info,
        }
    }
}

/// How the server decides that two findings are the same issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DedupeAlgorithm {
    /// Same hash over the setting's hash fields.
    HashCode,
    /// Same `unique_id_from_tool` reported by the same scan type.
    UniqueIdFromTool,
    /// Either of the two above.
    UniqueIdFromToolOrHashCode,
    /// DefectDojo's legacy rule.
    Legacy,
}

impl From<wit::DedupeAlgorithm> for DedupeAlgorithm {
    fn from(a: wit::DedupeAlgorithm) -> Self {
        match a {
            wit::DedupeAlgorithm::HashCode => DedupeAlgorithm::HashCode,
            wit::DedupeAlgorithm::UniqueIdFromTool => DedupeAlgorithm::UniqueIdFromTool,
            wit::DedupeAlgorithm::UniqueIdFromToolOrHashCode => {
                DedupeAlgorithm::UniqueIdFromToolOrHashCode
            }
            wit::DedupeAlgorithm::Legacy => DedupeAlgorithm::Legacy,
        }
    }
}

/// The deduplication default a plugin declares for one scan type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DedupeSetting {
    /// The algorithm.
    pub algorithm: DedupeAlgorithm,
    /// Finding fields hashed for `hash_code`, in order.
    pub hash_fields: Vec<String>,
    /// Whether findings without a CWE may be hashed with `hash_fields`.
    pub allows_null_cwe: bool,
}

/// One report format a plugin handles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanTypeInfo {
    /// The scan type name users pass on import, e.g. "Trivy Scan".
    pub name: String,
    /// One line describing the format.
    pub description: String,
    /// Accepted file kinds, lower-case ("json", "xml", ...).
    pub file_kinds: Vec<String>,
    /// Deduplication default for findings of this scan type.
    pub dedupe: DedupeSetting,
}

/// What a plugin says about itself (`info`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginInfo {
    /// Short plugin name, e.g. "trivy".
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// The contract version it was built against.
    pub contract_version: String,
    /// Every scan type it parses.
    pub scan_types: Vec<ScanTypeInfo>,
}

impl From<wit::PluginInfo> for PluginInfo {
    fn from(i: wit::PluginInfo) -> Self {
        PluginInfo {
            name: i.name,
            version: i.version,
            contract_version: i.contract_version,
            scan_types: i
                .scan_types
                .into_iter()
                .map(|s| ScanTypeInfo {
                    name: s.name,
                    description: s.description,
                    file_kinds: s.file_kinds,
                    dedupe: DedupeSetting {
                        algorithm: s.dedupe.algorithm.into(),
                        hash_fields: s.dedupe.hash_fields,
                        allows_null_cwe: s.dedupe.allows_null_cwe,
                    },
                })
                .collect(),
        }
    }
}

/// A network location a dynamic finding was seen at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostEndpoint {
    /// URL scheme without "://".
    pub protocol: Option<String>,
    /// "user:password" part of a URL.
    pub userinfo: Option<String>,
    /// Host name or IP address.
    pub host: String,
    /// Port number.
    pub port: Option<u16>,
    /// Path with its leading "/".
    pub path: Option<String>,
    /// Query string without "?".
    pub query: Option<String>,
    /// Fragment without "#".
    pub fragment: Option<String>,
}

/// One finding as a plugin reported it, before the server normalises it.
///
/// Field names and meanings follow the WIT `finding` record; it serialises to
/// the JSON `palisade parse` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostFinding {
    /// Short summary.
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// Full explanation.
    pub description: String,
    /// How to fix it.
    pub mitigation: Option<String>,
    /// What an attacker gains.
    pub impact: Option<String>,
    /// Links and citations, one per line.
    pub references: Option<String>,
    /// Steps to reproduce.
    pub steps_to_reproduce: Option<String>,
    /// Why the scanner chose the severity.
    pub severity_justification: Option<String>,
    /// Primary CWE number.
    pub cwe: Option<u32>,
    /// Further CWE numbers.
    pub extra_cwes: Vec<u32>,
    /// CVE, GHSA and other advisory ids.
    pub vulnerability_ids: Vec<String>,
    /// CVSS v3 vector.
    pub cvssv3: Option<String>,
    /// CVSS v3 base score.
    pub cvssv3_score: Option<f32>,
    /// CVSS v4 vector.
    pub cvssv4: Option<String>,
    /// CVSS v4 score.
    pub cvssv4_score: Option<f32>,
    /// EPSS probability.
    pub epss_score: Option<f32>,
    /// EPSS percentile.
    pub epss_percentile: Option<f32>,
    /// Known to be exploited in the wild.
    pub known_exploited: Option<bool>,
    /// Source file of a static finding.
    pub file_path: Option<String>,
    /// 1-based line in `file_path`.
    pub line: Option<u32>,
    /// Vulnerable component.
    pub component_name: Option<String>,
    /// Its version.
    pub component_version: Option<String>,
    /// Whether a fix exists.
    pub fix_available: Option<bool>,
    /// The fixed version.
    pub fix_version: Option<String>,
    /// The scanner's id for this occurrence.
    pub unique_id_from_tool: Option<String>,
    /// The scanner's id for the kind of issue.
    pub vuln_id_from_tool: Option<String>,
    /// Found by reading code.
    pub static_finding: Option<bool>,
    /// Found by probing a running system.
    pub dynamic_finding: Option<bool>,
    /// Where on the network it was seen.
    pub endpoints: Vec<HostEndpoint>,
    /// Request parameter of a dynamic finding.
    pub param: Option<String>,
    /// Payload of a dynamic finding.
    pub payload: Option<String>,
    /// Date found, "YYYY-MM-DD".
    pub date: Option<String>,
    /// Service or application.
    pub service: Option<String>,
    /// Free-form labels.
    pub tags: Vec<String>,
    /// Status hint: active.
    pub active: Option<bool>,
    /// Status hint: verified.
    pub verified: Option<bool>,
    /// Status hint: false positive.
    pub false_p: Option<bool>,
    /// Status hint: out of scope.
    pub out_of_scope: Option<bool>,
    /// Status hint: risk accepted.
    pub risk_accepted: Option<bool>,
    /// Status hint: mitigated.
    pub is_mitigated: Option<bool>,
    /// When it was mitigated.
    pub mitigated: Option<String>,
    /// How many times the scanner saw it.
    pub nb_occurences: Option<u32>,
    /// Scanner-specific key/value pairs, printed as a JSON object.
    #[serde(serialize_with = "pairs_as_map")]
    pub extra: Vec<(String, String)>,
}

/// Serialises key/value pairs as a JSON object, keeping their order.
fn pairs_as_map<S: Serializer>(pairs: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(pairs.iter().map(|(k, v)| (k, v)))
}

impl From<wit::Finding> for HostFinding {
    fn from(f: wit::Finding) -> Self {
        HostFinding {
            title: f.title,
            severity: f.severity.into(),
            description: f.description,
            mitigation: f.mitigation,
            impact: f.impact,
            references: f.references,
            steps_to_reproduce: f.steps_to_reproduce,
            severity_justification: f.severity_justification,
            cwe: f.cwe,
            extra_cwes: f.extra_cwes,
            vulnerability_ids: f.vulnerability_ids,
            cvssv3: f.cvssv3,
            cvssv3_score: f.cvssv3_score,
            cvssv4: f.cvssv4,
            cvssv4_score: f.cvssv4_score,
            epss_score: f.epss_score,
            epss_percentile: f.epss_percentile,
            known_exploited: f.known_exploited,
            file_path: f.file_path,
            line: f.line,
            component_name: f.component_name,
            component_version: f.component_version,
            fix_available: f.fix_available,
            fix_version: f.fix_version,
            unique_id_from_tool: f.unique_id_from_tool,
            vuln_id_from_tool: f.vuln_id_from_tool,
            static_finding: f.static_finding,
            dynamic_finding: f.dynamic_finding,
            endpoints: f
                .endpoints
                .into_iter()
                .map(|e| HostEndpoint {
                    protocol: e.protocol,
                    userinfo: e.userinfo,
                    host: e.host,
                    port: e.port,
                    path: e.path,
                    query: e.query,
                    fragment: e.fragment,
                })
                .collect(),
            param: f.param,
            payload: f.payload,
            date: f.date,
            service: f.service,
            tags: f.tags,
            active: f.active,
            verified: f.verified,
            false_p: f.false_p,
            out_of_scope: f.out_of_scope,
            risk_accepted: f.risk_accepted,
            is_mitigated: f.is_mitigated,
            mitigated: f.mitigated,
            nb_occurences: f.nb_occurences,
            extra: f.extra,
        }
    }
}

/// Where in a report a plugin found a problem.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ReportLocation {
    /// 1-based line.
    pub line: Option<u32>,
    /// 1-based column.
    pub column: Option<u32>,
    /// Path inside the document (JSON pointer, XML path).
    pub path: Option<String>,
}

impl From<wit::ReportLocation> for ReportLocation {
    fn from(l: wit::ReportLocation) -> Self {
        ReportLocation {
            line: l.line,
            column: l.column,
            path: l.path,
        }
    }
}

impl std::fmt::Display for ReportLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(line) = self.line {
            parts.push(format!("line {line}"));
        }
        if let Some(column) = self.column {
            parts.push(format!("column {column}"));
        }
        if let Some(path) = &self.path {
            parts.push(format!("at {path}"));
        }
        f.write_str(&parts.join(", "))
    }
}
