//! Plain Rust mirrors of the WIT types, so parsers (and their native tests)
//! never touch generated bindings.

use std::fmt;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Severity {
    /// Exploitable now with grave consequences.
    Critical,
    /// Serious.
    High,
    /// Moderate.
    Medium,
    /// Minor.
    Low,
    /// Informational; no action needed by itself.
    #[default]
    Info,
}

impl Severity {
    /// The canonical spelling: "Critical", "High", "Medium", "Low", "Info".
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

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the server decides two findings are the same issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DedupeAlgorithm {
    /// Same hash over the setting's `hash_fields`.
    HashCode,
    /// Same `unique_id_from_tool` from the same scan type.
    UniqueIdFromTool,
    /// Either of the two.
    UniqueIdFromToolOrHashCode,
    /// DefectDojo's legacy rule.
    #[default]
    Legacy,
}

/// A scan type's deduplication default.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DedupeSetting {
    /// The algorithm.
    pub algorithm: DedupeAlgorithm,
    /// Hashed fields, in order (see the WIT for the allowed names).
    pub hash_fields: Vec<String>,
    /// Whether findings without a CWE may use `hash_fields`.
    pub allows_null_cwe: bool,
}

impl DedupeSetting {
    /// A `hash_code` setting over `fields` that allows findings without CWE.
    pub fn hash_code(fields: &[&str]) -> Self {
        DedupeSetting {
            algorithm: DedupeAlgorithm::HashCode,
            hash_fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            allows_null_cwe: true,
        }
    }

    /// The same setting, but findings without a CWE are not hashed on
    /// `hash_fields` (DefectDojo's `HASHCODE_ALLOWS_NULL_CWE = False`).
    pub fn requiring_cwe(mut self) -> Self {
        self.allows_null_cwe = false;
        self
    }

    /// A setting with the given algorithm and hash fields.
    pub fn new(algorithm: DedupeAlgorithm, fields: &[&str]) -> Self {
        DedupeSetting {
            algorithm,
            hash_fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            allows_null_cwe: true,
        }
    }
}

/// One report format a plugin handles.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScanTypeInfo {
    /// Exact scan type name, e.g. "Trivy Scan".
    pub name: String,
    /// One line for people.
    pub description: String,
    /// Accepted file kinds: "json", "xml", "csv", "sarif", "text".
    pub file_kinds: Vec<String>,
    /// Deduplication default.
    pub dedupe: DedupeSetting,
}

/// Who the plugin is and what it parses.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PluginInfo {
    /// Short unique name.
    pub name: String,
    /// Plugin version (semver).
    pub version: String,
    /// Scan types handled.
    pub scan_types: Vec<ScanTypeInfo>,
}

impl ScanTypeInfo {
    /// Saves a plugin the `to_owned` noise of building the struct by hand.
    pub fn new(name: &str, description: &str, file_kinds: &[&str], dedupe: DedupeSetting) -> Self {
        ScanTypeInfo {
            name: name.to_owned(),
            description: description.to_owned(),
            file_kinds: file_kinds.iter().map(|k| (*k).to_owned()).collect(),
            dedupe,
        }
    }
}

impl PluginInfo {
    /// A plugin with several scan types. Pass `env!("CARGO_PKG_VERSION")` as
    /// `version`: expanded in the plugin, it is the plugin's own version.
    pub fn new(name: &str, version: &str, scan_types: Vec<ScanTypeInfo>) -> Self {
        PluginInfo {
            name: name.to_owned(),
            version: version.to_owned(),
            scan_types,
        }
    }

    /// A plugin with one scan type, which is most of them.
    pub fn single(name: &str, version: &str, scan_type: ScanTypeInfo) -> Self {
        Self::new(name, version, vec![scan_type])
    }

    /// Whether `scan_type` is one this plugin declares; the SDK refuses the others.
    pub fn handles(&self, scan_type: &str) -> bool {
        self.scan_types.iter().any(|s| s.name == scan_type)
    }
}

/// A network location of a dynamic finding.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Endpoint {
    /// Scheme without "://".
    pub protocol: Option<String>,
    /// "user:password" part.
    pub userinfo: Option<String>,
    /// Host name or address.
    pub host: String,
    /// Port, when known.
    pub port: Option<u16>,
    /// Path with its leading "/".
    pub path: Option<String>,
    /// Query without "?".
    pub query: Option<String>,
    /// Fragment without "#".
    pub fragment: Option<String>,
}

/// One issue found by a scanner. Build it with struct update syntax:
/// `Finding { title, severity, description, ..Default::default() }`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Finding {
    /// Short summary (required).
    pub title: String,
    /// Severity (required).
    pub severity: Severity,
    /// Full explanation (required).
    pub description: String,
    /// How to fix.
    pub mitigation: Option<String>,
    /// Consequences.
    pub impact: Option<String>,
    /// Links, one per line.
    pub references: Option<String>,
    /// Steps to reproduce.
    pub steps_to_reproduce: Option<String>,
    /// Why this severity.
    pub severity_justification: Option<String>,
    /// Primary CWE number.
    pub cwe: Option<u32>,
    /// Further CWE numbers.
    pub extra_cwes: Vec<u32>,
    /// CVE/GHSA/... ids, primary first.
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
    /// Known exploited (KEV).
    pub known_exploited: Option<bool>,
    /// Source file.
    pub file_path: Option<String>,
    /// Line in `file_path`.
    pub line: Option<u32>,
    /// Vulnerable component.
    pub component_name: Option<String>,
    /// Its version.
    pub component_version: Option<String>,
    /// Whether a fix exists.
    pub fix_available: Option<bool>,
    /// The fixed version.
    pub fix_version: Option<String>,
    /// Scanner's id of this occurrence.
    pub unique_id_from_tool: Option<String>,
    /// Scanner's id of the issue kind.
    pub vuln_id_from_tool: Option<String>,
    /// Found in code.
    pub static_finding: Option<bool>,
    /// Found on a running system.
    pub dynamic_finding: Option<bool>,
    /// Network locations.
    pub endpoints: Vec<Endpoint>,
    /// Request parameter.
    pub param: Option<String>,
    /// Attack payload.
    pub payload: Option<String>,
    /// ISO date "YYYY-MM-DD".
    pub date: Option<String>,
    /// Service name.
    pub service: Option<String>,
    /// Labels.
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
    /// When mitigated (ISO date or date-time).
    pub mitigated: Option<String>,
    /// Occurrence count.
    pub nb_occurences: Option<u32>,
    /// Scanner-specific key/values.
    pub extra: Vec<(String, String)>,
}

/// A place in a report.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportLocation {
    /// 1-based line.
    pub line: Option<u32>,
    /// 1-based column.
    pub column: Option<u32>,
    /// JSON pointer or element path.
    pub path: Option<String>,
}

/// Why a report was rejected; the message is shown to the uploader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What was expected and what was found.
    pub message: String,
    /// Where, when known.
    pub location: Option<ReportLocation>,
}

impl ParseError {
    /// An error with no location.
    pub fn new(message: impl Into<String>) -> Self {
        ParseError {
            message: message.into(),
            location: None,
        }
    }

    /// Adds a line/column location.
    pub fn at(mut self, line: u32, column: u32) -> Self {
        let loc = self.location.get_or_insert_with(ReportLocation::default);
        loc.line = Some(line);
        loc.column = Some(column);
        self
    }

    /// Adds a document path (JSON pointer, element path).
    pub fn at_path(mut self, path: impl Into<String>) -> Self {
        self.location
            .get_or_insert_with(ReportLocation::default)
            .path = Some(path.into());
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(loc) = &self.location {
            if let Some(line) = loc.line {
                write!(f, " at line {line}")?;
                if let Some(col) = loc.column {
                    write!(f, ", column {col}")?;
                }
            }
            if let Some(path) = &loc.path {
                write!(f, " (at {path})")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

/// Import options passed to `parse` (key/value pairs; unknown keys ignored).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Options(pub Vec<(String, String)>);

impl Options {
    /// The value of `key`, if given.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Levels of the host's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Very detailed.
    Trace,
    /// Detailed.
    Debug,
    /// Normal.
    Info,
    /// Something odd in the report.
    Warn,
    /// Something failed.
    Error,
}
