//! Report findings to rows: severity filter, request overrides, status
//! normalisation, column limits, locations and the hash (domain.md §5.3 step 2).

use chrono::{DateTime, NaiveDate, Utc};

use super::config::EffectiveDedupe;
use super::hash::{self, HashSubject};
use super::request::ImportRequest;
use crate::domain::custom_field::ImportField;
use crate::domain::location::UrlParts;
use crate::domain::severity::Severity;
use crate::domain::sla::SlaDays;
use crate::plugins::{self, HostEndpoint, HostFinding};

/// A report finding ready to be matched and written.
#[derive(Debug, Clone)]
pub struct PreparedFinding {
    pub title: String,
    pub severity: Severity,
    pub description: String,
    pub date: Option<NaiveDate>,
    pub mitigation: Option<String>,
    pub impact: Option<String>,
    pub steps_to_reproduce: Option<String>,
    pub severity_justification: Option<String>,
    pub references: Option<String>,
    pub param: Option<String>,
    pub payload: Option<String>,
    pub cwe: i32,
    pub extra_cwes: Vec<i32>,
    pub vulnerability_ids: Vec<String>,
    pub vuln_id_from_tool: Option<String>,
    pub unique_id_from_tool: Option<String>,
    pub cvssv3: Option<String>,
    pub cvssv3_score: Option<f32>,
    pub cvssv4: Option<String>,
    pub cvssv4_score: Option<f32>,
    pub epss_score: Option<f32>,
    pub epss_percentile: Option<f32>,
    pub known_exploited: bool,
    pub active: bool,
    pub verified: bool,
    pub false_p: bool,
    pub out_of_scope: bool,
    pub risk_accepted: bool,
    pub is_mitigated: bool,
    pub mitigated: Option<DateTime<Utc>>,
    pub sla_expiration_date: Option<NaiveDate>,
    pub file_path: Option<String>,
    pub line: Option<i32>,
    pub component_name: Option<String>,
    pub component_version: Option<String>,
    pub static_finding: bool,
    pub dynamic_finding: bool,
    pub nb_occurences: Option<i32>,
    pub fix_available: Option<bool>,
    pub fix_version: Option<String>,
    pub service: Option<String>,
    pub tags: Vec<String>,
    pub locations: Vec<UrlParts>,
    pub hash_code: String,
    pub extra: Option<String>,
    /// Custom field values read from `extra` by the fields' import keys.
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
}

impl PreparedFinding {
    /// Canonical location strings.
    pub fn endpoint_strings(&self) -> Vec<String> {
        self.locations.iter().map(UrlParts::canonical).collect()
    }

    /// The reimport sort key (§5.4 step 2): stable under scanner reordering.
    pub fn content_key(&self) -> (&str, &str, &str, Option<i32>, &str) {
        (
            &self.hash_code,
            self.unique_id_from_tool.as_deref().unwrap_or(""),
            self.file_path.as_deref().unwrap_or(""),
            self.line,
            &self.title,
        )
    }
}

/// Everything `prepare` needs besides the finding.
pub struct PrepareContext<'a> {
    pub request: &'a ImportRequest,
    pub dedupe: &'a EffectiveDedupe,
    pub sla: Option<&'a SlaDays>,
    pub today: NaiveDate,
    pub now: DateTime<Utc>,
    /// The custom fields imports fill in this product.
    pub custom_fields: &'a [ImportField],
}

fn cut(s: String, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_owned(),
        None => s,
    }
}

fn text(v: Option<String>, max: usize) -> Option<String> {
    v.filter(|s| !s.trim().is_empty()).map(|s| cut(s, max))
}

fn score(v: Option<f32>, max: f32) -> Option<f32> {
    v.filter(|s| s.is_finite() && (0.0..=max).contains(s))
}

fn severity_of(s: plugins::Severity) -> Severity {
    match s {
        plugins::Severity::Critical => Severity::Critical,
        plugins::Severity::High => Severity::High,
        plugins::Severity::Medium => Severity::Medium,
        plugins::Severity::Low => Severity::Low,
        plugins::Severity::Info => Severity::Info,
    }
}

/// A scanner's endpoint in the canonical URL form used for locations.
pub fn url_of(e: &HostEndpoint) -> Option<UrlParts> {
    let host = e.host.trim().to_lowercase();
    if host.is_empty() {
        return None;
    }
    let protocol = e.protocol.as_deref().unwrap_or("").trim().to_lowercase();
    let default = match protocol.as_str() {
        "http" => Some(80),
        "https" => Some(443),
        "ftp" => Some(21),
        "ssh" => Some(22),
        _ => None,
    };
    let path = match e.path.as_deref().unwrap_or("") {
        "" | "/" => String::new(),
        p if p.starts_with('/') => p.to_owned(),
        p => format!("/{p}"),
    };
    let parts = UrlParts {
        protocol: cut(protocol, 10),
        user_info: cut(e.userinfo.clone().unwrap_or_default(), 512),
        host: cut(host, 256),
        port: e.port.filter(|p| *p != 0 && Some(*p) != default),
        path: cut(path, 2048),
        query: cut(e.query.clone().unwrap_or_default(), 2048),
        fragment: cut(e.fragment.clone().unwrap_or_default(), 2048),
    };
    (parts.canonical().len() <= 2048).then_some(parts)
}

/// Lower-cases tags and makes them valid (no whitespace or commas), de-duplicated.
pub fn clean_tags<'a>(tags: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t: String = t
            .trim()
            .to_lowercase()
            .chars()
            .map(|c| {
                if c.is_whitespace() || c == ',' {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        let t = cut(t, 100);
        if !t.is_empty() && !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// Turns one report finding into a row; `None` when it is below `minimum_severity`.
pub fn prepare(f: HostFinding, cx: &PrepareContext<'_>) -> Option<PreparedFinding> {
    let req = cx.request;
    let severity = severity_of(f.severity);
    if let Some(min) = req.minimum_severity
        && severity.rank() < min.rank()
    {
        return None;
    }
    let mut vulnerability_ids: Vec<String> = Vec::new();
    for id in &f.vulnerability_ids {
        let t = id.trim();
        if !t.is_empty() && t.chars().count() <= 50 && !vulnerability_ids.iter().any(|v| v == t) {
            vulnerability_ids.push(t.to_owned());
        }
    }
    let cwe = f.cwe.and_then(|c| i32::try_from(c).ok()).unwrap_or(0);
    let mut extra_cwes: Vec<i32> = f
        .extra_cwes
        .iter()
        .filter_map(|c| i32::try_from(*c).ok())
        .filter(|c| *c != 0 && *c != cwe)
        .collect();
    extra_cwes.sort_unstable();
    extra_cwes.dedup();
    let locations: Vec<UrlParts> = {
        let mut seen = std::collections::HashSet::new();
        f.endpoints
            .iter()
            .filter_map(url_of)
            .filter(|u| seen.insert(u.canonical()))
            .collect()
    };
    let date = req
        .scan_date
        .or_else(|| {
            f.date
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d.get(..10).unwrap_or(d), "%Y-%m-%d").ok())
        })
        .unwrap_or(cx.today);
    let file_path = text(f.file_path, 4000);
    let (static_finding, dynamic_finding) = if file_path.is_some() {
        (true, false)
    } else {
        (
            f.static_finding.unwrap_or(false),
            f.dynamic_finding.unwrap_or(true),
        )
    };
    // Status: request overrides, then §2 normalisation.
    let mut active = req.active.or(f.active).unwrap_or(true);
    let mut verified = req.verified.or(f.verified).unwrap_or(false);
    let false_p = f.false_p.unwrap_or(false);
    let out_of_scope = f.out_of_scope.unwrap_or(false);
    let risk_accepted = f.risk_accepted.unwrap_or(false);
    let is_mitigated = f.is_mitigated.unwrap_or(false) || false_p || out_of_scope;
    if false_p || out_of_scope {
        active = false;
        verified = false;
    }
    if is_mitigated || risk_accepted {
        active = false;
    }
    let mitigated = if is_mitigated {
        Some(
            f.mitigated
                .as_deref()
                .and_then(|m| {
                    DateTime::parse_from_rfc3339(m)
                        .ok()
                        .map(|d| d.with_timezone(&Utc))
                        .or_else(|| {
                            NaiveDate::parse_from_str(m.get(..10).unwrap_or(m), "%Y-%m-%d")
                                .ok()
                                .and_then(|d| d.and_hms_opt(0, 0, 0))
                                .map(|d| d.and_utc())
                        })
                })
                .unwrap_or(cx.now),
        )
    } else {
        None
    };
    let service = text(req.service.clone().or(f.service), 200);
    let mut tags = clean_tags(&f.tags);
    if req.apply_tags_to_findings {
        for t in clean_tags(&req.tags) {
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
    }
    let custom_fields = if cx.custom_fields.is_empty() {
        None
    } else {
        ImportField::values_of(cx.custom_fields, &f.extra)
    };
    let extra = (!f.extra.is_empty()).then(|| {
        let map: serde_json::Map<String, serde_json::Value> = f
            .extra
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect();
        serde_json::Value::Object(map).to_string()
    });
    let mut p = PreparedFinding {
        title: cut(f.title.trim().to_owned(), 511),
        severity,
        description: f.description,
        date: Some(date),
        mitigation: text(f.mitigation, usize::MAX),
        impact: text(f.impact, usize::MAX),
        steps_to_reproduce: text(f.steps_to_reproduce, usize::MAX),
        severity_justification: text(f.severity_justification, usize::MAX),
        references: text(f.references, usize::MAX),
        param: text(f.param, usize::MAX),
        payload: text(f.payload, usize::MAX),
        cwe,
        extra_cwes,
        vulnerability_ids,
        vuln_id_from_tool: text(f.vuln_id_from_tool, 500),
        unique_id_from_tool: text(f.unique_id_from_tool, 500),
        cvssv3: text(f.cvssv3, 117),
        cvssv3_score: score(f.cvssv3_score, 10.0),
        cvssv4: text(f.cvssv4, 255),
        cvssv4_score: score(f.cvssv4_score, 10.0),
        epss_score: score(f.epss_score, 1.0),
        epss_percentile: score(f.epss_percentile, 1.0),
        known_exploited: f.known_exploited.unwrap_or(false),
        active,
        verified,
        false_p,
        out_of_scope,
        risk_accepted,
        is_mitigated,
        mitigated,
        sla_expiration_date: cx.sla.and_then(|s| s.expiration(severity, date)),
        file_path,
        line: f.line.and_then(|l| i32::try_from(l).ok()),
        component_name: text(f.component_name, 500),
        component_version: text(f.component_version, 100),
        static_finding,
        dynamic_finding,
        nb_occurences: f.nb_occurences.and_then(|n| i32::try_from(n).ok()),
        fix_available: f.fix_available,
        fix_version: text(f.fix_version, 100),
        service,
        tags,
        locations,
        hash_code: String::new(),
        extra,
        custom_fields,
    };
    p.hash_code = hash_of(&p, cx.dedupe).hash_code;
    Some(p)
}

/// The hash computation of a prepared finding.
pub fn hash_of(p: &PreparedFinding, dedupe: &EffectiveDedupe) -> hash::HashComputation {
    let endpoints = p.endpoint_strings();
    hash::compute(
        &HashSubject {
            title: &p.title,
            cwe: p.cwe,
            extra_cwes: &p.extra_cwes,
            vulnerability_ids: &p.vulnerability_ids,
            line: p.line,
            file_path: p.file_path.as_deref(),
            payload: p.payload.as_deref(),
            component_name: p.component_name.as_deref(),
            component_version: p.component_version.as_deref(),
            description: &p.description,
            endpoints: &endpoints,
            unique_id_from_tool: p.unique_id_from_tool.as_deref(),
            severity: p.severity.as_str(),
            vuln_id_from_tool: p.vuln_id_from_tool.as_deref(),
            mitigation: p.mitigation.as_deref(),
            service: p.service.as_deref(),
        },
        dedupe,
    )
}
