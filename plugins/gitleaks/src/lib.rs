//! Palisade parser plugin for Gitleaks JSON reports.
//!
//! Gitleaks writes a JSON array of leaks (or `null` when it found none). Two
//! layouts exist:
//! - v7 and older: lower-case keys (`rule`, `offender`, `file`, `lineNumber`,
//!   `commit`, `commitMessage`, `tags` as a comma-separated string);
//! - v8: capitalised keys (`RuleID`, `Description`, `Secret`, `Match`, `File`,
//!   `StartLine`, `Commit`, `Tags` as an array).
//!
//! The same secret found on the same line of the same file in several commits
//! is one finding with an occurrence count: it is one leak to rotate.
//! Secret values never reach titles; descriptions show them masked.

use std::collections::HashMap;

use palisade_plugin_sdk::json::{starts_like_json, string_at, u64_at};
use palisade_plugin_sdk::prelude::*;
use serde_json::Value;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "Gitleaks Scan";

/// CWE-798: Use of Hard-coded Credentials.
const CWE_HARD_CODED_CREDENTIALS: u32 = 798;

/// The Gitleaks parser.
pub struct Gitleaks;

impl Parser for Gitleaks {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "gitleaks".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "Gitleaks secret-scanning JSON report (v7 or v8 layout)".to_owned(),
                file_kinds: vec!["json".to_owned()],
                dedupe: DedupeSetting::hash_code(&[
                    "title",
                    "cwe",
                    "line",
                    "file_path",
                    "description",
                ]),
            }],
        }
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        if !candidates.iter().any(|c| c == SCAN_TYPE) {
            return None;
        }
        looks_like(head).then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        if scan_type != SCAN_TYPE {
            return Err(ParseError::new(format!(
                "the gitleaks plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
        parse_report(report)
    }
}

palisade_plugin_sdk::export_parser!(Gitleaks);

fn contains(head: &[u8], needle: &[u8]) -> bool {
    head.windows(needle.len()).any(|w| w == needle)
}

/// A JSON array whose objects carry Gitleaks' own keys, v8 or v7.
fn looks_like(head: &[u8]) -> bool {
    if !starts_like_json(head) {
        return false;
    }
    let first = head
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(head)
        .iter()
        .find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'[') {
        return false;
    }
    let v8 = contains(head, b"\"RuleID\"")
        && (contains(head, b"\"StartLine\"") || contains(head, b"\"Secret\""));
    let v7 = contains(head, b"\"offender\"")
        && contains(head, b"\"rule\"")
        && contains(head, b"\"commitMessage\"");
    v8 || v7
}

/// Parses a whole report.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let value = palisade_plugin_sdk::json::parse_json_value(report)?;
    let leaks = match &value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(a) => a,
        Value::Object(_) => {
            return Err(ParseError::new(
                "not a Gitleaks report: expected a JSON array of leaks, found an object",
            ));
        }
        _ => {
            return Err(ParseError::new(
                "not a Gitleaks report: expected a JSON array of leaks",
            ));
        }
    };
    let mut out: Vec<Finding> = Vec::new();
    let mut seen: HashMap<(String, String, u32, String), usize> = HashMap::new();
    for (i, leak) in leaks.iter().enumerate() {
        let path = format!("/{i}");
        if !leak.is_object() {
            return Err(
                ParseError::new("expected each Gitleaks leak to be a JSON object").at_path(path),
            );
        }
        let (key, finding) = if leak.get("RuleID").is_some() {
            leak_v8(leak)
        } else if leak.get("rule").is_some() || leak.get("offender").is_some() {
            leak_v7(leak)
        } else {
            return Err(ParseError::new(
                "not a Gitleaks leak: it has neither \"RuleID\" (v8) nor \"rule\"/\"offender\" (v7)",
            )
            .at_path(path));
        };
        match seen.get(&key) {
            Some(&idx) => {
                let existing = &mut out[idx];
                existing.nb_occurences = Some(existing.nb_occurences.unwrap_or(1) + 1);
                existing.description.push_str("\n\n***\n\n");
                existing.description.push_str(&finding.description);
            }
            None => {
                seen.insert(key, out.len());
                out.push(finding);
            }
        }
    }
    Ok(out)
}

/// A masked form of a secret: enough to recognise it, not enough to use it.
fn mask(secret: &str) -> String {
    // PEM headers are not secret and tell the reader which kind of key leaked.
    let t = secret.trim();
    if t.starts_with("-----BEGIN") && t.ends_with("-----") && !t.contains('\n') {
        return t.to_owned();
    }
    let n = secret.chars().count();
    if n >= 16 {
        let prefix: String = secret.chars().take(4).collect();
        format!("{prefix}**** ({n} characters, masked)")
    } else if n == 0 {
        String::new()
    } else {
        format!("**** ({n} characters, masked)")
    }
}

/// `text` with every occurrence of `secret` masked.
fn mask_in(text: &str, secret: &str) -> String {
    if secret.is_empty() || secret == "REDACTED" || mask(secret) == secret {
        return text.to_owned();
    }
    text.replace(secret, "****")
}

fn line_of(v: &Value, key: &str) -> Option<u32> {
    u64_at(v, key)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|&n| n > 0)
}

fn push_field(desc: &mut String, label: &str, value: Option<&str>) {
    if let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) {
        if v.contains('\n') {
            desc.push_str(&format!("**{label}:**\n```\n{v}\n```\n"));
        } else {
            desc.push_str(&format!("**{label}:** {v}\n"));
        }
    }
}

fn base_finding(title: &str, severity: Severity, description: String) -> Finding {
    Finding {
        title: truncate_chars(title, 511).to_owned(),
        severity,
        description,
        cwe: Some(CWE_HARD_CODED_CREDENTIALS),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        nb_occurences: Some(1),
        ..Finding::default()
    }
}

/// Gitleaks v8: capitalised keys.
fn leak_v8(leak: &Value) -> ((String, String, u32, String), Finding) {
    let rule = string_at(leak, "RuleID").unwrap_or_default();
    let what = non_empty(string_at(leak, "Description").as_deref()).unwrap_or_else(|| rule.clone());
    let file = non_empty(string_at(leak, "File").as_deref());
    let line = line_of(leak, "StartLine");
    let secret = string_at(leak, "Secret").unwrap_or_default();
    let title = match &file {
        Some(f) => format!("Hard coded {what} found in {f}"),
        None => format!("Hard coded {what}"),
    };
    let mut desc = String::new();
    push_field(&mut desc, "Secret", Some(&mask(&secret)));
    push_field(
        &mut desc,
        "Match",
        string_at(leak, "Match")
            .map(|m| mask_in(&m, &secret))
            .as_deref(),
    );
    push_field(&mut desc, "File", file.as_deref());
    push_field(&mut desc, "Line", line.map(|l| l.to_string()).as_deref());
    push_field(
        &mut desc,
        "Commit message",
        string_at(leak, "Message").as_deref(),
    );
    push_field(
        &mut desc,
        "Commit hash",
        string_at(leak, "Commit").as_deref(),
    );
    push_field(&mut desc, "Commit date", string_at(leak, "Date").as_deref());
    let author = author(leak, "Author", "Email");
    push_field(&mut desc, "Author", author.as_deref());
    push_field(&mut desc, "Rule Id", Some(&rule));
    push_field(
        &mut desc,
        "Entropy",
        string_at(leak, "Entropy").filter(|e| e != "0").as_deref(),
    );
    push_field(
        &mut desc,
        "Fingerprint",
        string_at(leak, "Fingerprint")
            .map(|f| mask_in(&f, &secret))
            .as_deref(),
    );
    push_field(&mut desc, "Link", string_at(leak, "Link").as_deref());
    let mut f = base_finding(&title, Severity::High, clean(&desc));
    f.file_path = file.clone();
    f.line = line;
    f.tags = leak
        .get("Tags")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str())
                .filter_map(non_empty_str)
                .collect()
        })
        .unwrap_or_default();
    f.extra.push(("rule_id".to_owned(), rule));
    let key = (title, file.unwrap_or_default(), line.unwrap_or(0), secret);
    (key, f)
}

fn author(leak: &Value, name_key: &str, email_key: &str) -> Option<String> {
    let name = non_empty(string_at(leak, name_key).as_deref());
    let email = non_empty(string_at(leak, email_key).as_deref());
    match (name, email) {
        (Some(n), Some(e)) => Some(format!("{n} <{e}>")),
        (n, e) => n.or(e),
    }
}

/// Gitleaks v7 and older: lower-case keys.
fn leak_v7(leak: &Value) -> ((String, String, u32, String), Finding) {
    let rule = non_empty(string_at(leak, "rule").as_deref()).unwrap_or_else(|| "secret".to_owned());
    let file = non_empty(string_at(leak, "file").as_deref());
    let line = line_of(leak, "lineNumber");
    let offender = string_at(leak, "offender").unwrap_or_default();
    // These rules leak credentials to cloud and code-hosting accounts, whose
    // abuse is immediate; Gitleaks v7 itself gives no severity.
    let lower = rule.to_ascii_lowercase();
    let severity = if ["github", "aws", "heroku"]
        .iter()
        .any(|k| lower.contains(k))
    {
        Severity::Critical
    } else {
        Severity::High
    };
    let title = match &file {
        Some(f) => format!("Hard coded {rule} found in {f}"),
        None => format!("Hard coded {rule}"),
    };
    let mut desc = String::new();
    push_field(
        &mut desc,
        "Commit message",
        string_at(leak, "commitMessage").as_deref(),
    );
    push_field(
        &mut desc,
        "Commit hash",
        string_at(leak, "commit").as_deref(),
    );
    push_field(&mut desc, "Commit date", string_at(leak, "date").as_deref());
    push_field(
        &mut desc,
        "Author",
        author(leak, "author", "email").as_deref(),
    );
    push_field(&mut desc, "Reason", Some(&rule));
    push_field(&mut desc, "Path", file.as_deref());
    push_field(&mut desc, "Line", line.map(|l| l.to_string()).as_deref());
    push_field(
        &mut desc,
        "Repository",
        string_at(leak, "repoURL")
            .or_else(|| string_at(leak, "repo"))
            .as_deref(),
    );
    push_field(&mut desc, "Leak URL", string_at(leak, "leakURL").as_deref());
    push_field(&mut desc, "Secret", Some(&mask(&offender)));
    push_field(
        &mut desc,
        "Line content",
        string_at(leak, "line")
            .map(|l| mask_in(&l, &offender))
            .as_deref(),
    );
    let mut f = base_finding(&title, severity, clean(&desc));
    f.file_path = file.clone();
    f.line = line;
    f.tags = string_at(leak, "tags")
        .map(|t| t.split(',').filter_map(non_empty_str).collect())
        .unwrap_or_default();
    let key = (title, file.unwrap_or_default(), line.unwrap_or(0), offender);
    (key, f)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        parse_report(report.as_bytes())
    }

    #[test]
    fn null_and_empty_array_have_no_findings() {
        assert!(parse("null").unwrap().is_empty());
        assert!(parse(" [ ] ").unwrap().is_empty());
    }

    #[test]
    fn v8_minimal_leak_without_optional_fields() {
        let f = parse(r#"[{"RuleID":"generic-api-key","Secret":"abcdefghijklmnopqrstuvwxyz"}]"#)
            .unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].title, "Hard coded generic-api-key");
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].cwe, Some(798));
        assert_eq!(f[0].line, None);
        assert!(!f[0].description.contains("abcdefghijklmnopqrstuvwxyz"));
        assert!(f[0].description.contains("abcd****"));
    }

    #[test]
    fn v8_same_secret_in_several_commits_is_one_finding() {
        let leak = |c: &str| {
            format!(
                r#"{{"RuleID":"r","Description":"AWS","Secret":"s3cr3t","Match":"k=s3cr3t","File":"a.tf","StartLine":2,"Commit":"{c}","Tags":["t"]}}"#
            )
        };
        let f = parse(&format!("[{},{},{}]", leak("a"), leak("b"), leak("c"))).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].nb_occurences, Some(3));
        assert_eq!(f[0].tags, vec!["t".to_owned()]);
        assert!(!f[0].title.contains("s3cr3t"));
        assert!(!f[0].description.contains("s3cr3t"));
    }

    #[test]
    fn v7_severity_and_tags() {
        let f = parse(
            r#"[{"rule":"AWS Access Key","offender":"AKIAXXXXXXXXXXXXXXXX","file":"x.yml","lineNumber":3,"commitMessage":"m","tags":"key, AWS"},
                {"rule":"Slack","offender":"xoxb","file":"y"}]"#,
        )
        .unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].severity, Severity::Critical);
        assert_eq!(f[0].line, Some(3));
        assert_eq!(f[0].tags, vec!["key".to_owned(), "AWS".to_owned()]);
        assert_eq!(f[1].severity, Severity::High);
        assert!(!f[0].description.contains("AKIAXXXXXXXXXXXXXXXX"));
    }

    #[test]
    fn pem_headers_are_shown_as_they_are_not_secret() {
        let f = parse(r#"[{"RuleID":"RSA-PK","Description":"RSA private key","Secret":"-----BEGIN RSA PRIVATE KEY-----","Match":"-----BEGIN RSA PRIVATE KEY-----","File":"k.pem","StartLine":1}]"#).unwrap();
        assert!(f[0].description.contains("-----BEGIN RSA PRIVATE KEY-----"));
    }

    #[test]
    fn malformed_inputs_are_errors() {
        assert!(parse("[{\"RuleID\":").is_err());
        assert!(parse("{\"vulnerabilities\":[]}").is_err());
        assert!(parse("[1]").is_err());
        assert!(parse("[{\"name\":\"x\"}]").is_err());
        assert!(parse("\"x\"").is_err());
        assert!(parse_report(b"[\xff]").is_err());
        let deep = "[".repeat(10_000);
        assert!(parse(&deep).is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        assert!(Gitleaks::detect(&c, br#"[{"RuleID":"x","StartLine":1"#).is_some());
        assert!(
            Gitleaks::detect(
                &c,
                br#"[{"line":"","offender":"x","rule":"r","commitMessage":"m"}]"#
            )
            .is_some()
        );
        assert!(Gitleaks::detect(&c, br#"{"RuleID":"x","StartLine":1}"#).is_none());
        assert!(Gitleaks::detect(&c, br#"[{"SourceMetadata":{}}]"#).is_none());
        assert!(Gitleaks::detect(&[], br#"[{"RuleID":"x","StartLine":1}]"#).is_none());
    }
}
