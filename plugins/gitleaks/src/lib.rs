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
//! is one finding with an occurrence count: it is one leak to rotate. Every
//! rule is listed in `FORMAT.md`.
//! Secret values never reach titles; descriptions show them masked.

use palisade_plugin_sdk::findings::Collector;
use palisade_plugin_sdk::json::{Object, TextList, json_error, starts_like_json, utf8_text};
use palisade_plugin_sdk::markdown::{push_block_field, push_field_display};
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::secret::{mask, mask_in};
use palisade_plugin_sdk::sniff::contains;
use serde::Deserialize;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "Gitleaks Scan";

/// CWE-798: Use of Hard-coded Credentials.
const CWE_HARD_CODED_CREDENTIALS: u32 = 798;

/// The Gitleaks parser.
pub struct Gitleaks;

impl Parser for Gitleaks {
    fn info() -> PluginInfo {
        PluginInfo::single(
            "gitleaks",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "Gitleaks secret-scanning JSON report (v7 or v8 layout)",
                &["json"],
                DedupeSetting::hash_code(&["title", "cwe", "line", "file_path", "description"]),
            ),
        )
    }

    fn detect(_candidates: &[String], head: &[u8]) -> Option<String> {
        looks_like(head).then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        _scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        parse_report(report)
    }
}

palisade_plugin_sdk::export_parser!(Gitleaks);

/// A JSON array whose objects carry Gitleaks' own keys, v8 or v7.
fn looks_like(head: &[u8]) -> bool {
    if !starts_like_json(head) {
        return false;
    }
    let first = palisade_plugin_sdk::sniff::first_byte(head);
    if first != Some(b'[') {
        return false;
    }
    let v8 = contains(head, b"\"RuleID\"")
        && (contains(head, b"\"StartLine\"") || contains(head, b"\"Secret\""));
    let v7 = contains(head, b"\"offender\"")
        && contains(head, b"\"rule\"")
        && contains(head, b"\"commitMessage\"");
    v8 || v7
}

/// One leak, v8 and v7 keys side by side (a report uses one set).
#[derive(Deserialize)]
struct Leak<'a> {
    // v8
    #[serde(rename = "RuleID", borrow, default)]
    rule_id: Option<Text<'a>>,
    #[serde(rename = "Description", borrow, default)]
    description: Text<'a>,
    #[serde(rename = "File", borrow, default)]
    file: Text<'a>,
    #[serde(rename = "StartLine", borrow, default)]
    start_line: Text<'a>,
    #[serde(rename = "Secret", borrow, default)]
    secret: Text<'a>,
    #[serde(rename = "Match", borrow, default)]
    matched: Text<'a>,
    #[serde(rename = "Message", borrow, default)]
    message: Text<'a>,
    #[serde(rename = "Commit", borrow, default)]
    commit: Text<'a>,
    #[serde(rename = "Date", borrow, default)]
    date: Text<'a>,
    #[serde(rename = "Author", borrow, default)]
    author: Text<'a>,
    #[serde(rename = "Email", borrow, default)]
    email: Text<'a>,
    #[serde(rename = "Entropy", borrow, default)]
    entropy: Text<'a>,
    #[serde(rename = "Fingerprint", borrow, default)]
    fingerprint: Text<'a>,
    #[serde(rename = "Link", borrow, default)]
    link: Text<'a>,
    #[serde(rename = "Tags", borrow, default)]
    tags: TextList<'a>,
    // v7
    #[serde(rename = "rule", borrow, default)]
    rule: Option<Text<'a>>,
    #[serde(rename = "offender", borrow, default)]
    offender: Option<Text<'a>>,
    #[serde(rename = "file", borrow, default)]
    file_v7: Text<'a>,
    #[serde(rename = "lineNumber", borrow, default)]
    line_number: Text<'a>,
    #[serde(rename = "commitMessage", borrow, default)]
    commit_message: Text<'a>,
    #[serde(rename = "commit", borrow, default)]
    commit_v7: Text<'a>,
    #[serde(rename = "date", borrow, default)]
    date_v7: Text<'a>,
    #[serde(rename = "author", borrow, default)]
    author_v7: Text<'a>,
    #[serde(rename = "email", borrow, default)]
    email_v7: Text<'a>,
    #[serde(rename = "repoURL", borrow, default)]
    repo_url: Text<'a>,
    #[serde(rename = "repo", borrow, default)]
    repo: Text<'a>,
    #[serde(rename = "leakURL", borrow, default)]
    leak_url: Text<'a>,
    #[serde(rename = "line", borrow, default)]
    line_v7: Text<'a>,
    #[serde(rename = "tags", borrow, default)]
    tags_v7: Text<'a>,
}

type Key = (String, String, String);

/// The keys a v7 leak must have (the reference fails without them).
const V7_REQUIRED: [&str; 9] = [
    "file",
    "rule",
    "commitMessage",
    "commit",
    "date",
    "author",
    "email",
    "line",
    "offender",
];

/// Python truthiness of a JSON value.
fn truthy(v: Option<&serde_json::Value>) -> bool {
    use serde_json::Value;
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|x| x != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

/// Parses a whole report.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = utf8_text(report)?;
    if palisade_plugin_sdk::sniff::first_byte(report) == Some(b'{') {
        return Err(ParseError::new(
            "not a Gitleaks report: expected a JSON array of leaks, found an object",
        ));
    }
    let leaks: Option<Vec<Object<Leak<'_>>>> = serde_json::from_str(text).map_err(|e| {
        let mut err = json_error(&e);
        err.message = format!(
            "not a Gitleaks report (a JSON array of leaks): {}",
            err.message
        );
        err
    })?;
    // The same items untyped, to tell missing keys from null ones as the reference does.
    let raw: Vec<serde_json::Value> = match palisade_plugin_sdk::json::parse_json_value(report)? {
        serde_json::Value::Array(items) => items,
        _ => Vec::new(),
    };
    let mut out: Collector<Key> = Collector::new();
    for (i, Object(leak)) in leaks.iter().flatten().enumerate() {
        let item = raw.get(i).unwrap_or(&serde_json::Value::Null);
        // A truthy "rule" is the old format; else a truthy "Description" the current one.
        if truthy(item.get("rule")) {
            if let Some(key) = V7_REQUIRED.iter().find(|k| item.get(**k).is_none()) {
                return Err(
                    ParseError::new(format!("a Gitleaks v7 leak without \"{key}\""))
                        .at_path(format!("/{i}")),
                );
            }
            // The reference joins these as text: they must be strings when present.
            let textual = V7_REQUIRED
                .iter()
                .filter(|k| **k != "rule")
                .chain(&["leakURL", "tags"]);
            if let Some(key) = textual
                .into_iter()
                .find(|k| item.get(**k).is_some_and(|v| !v.is_string()))
            {
                return Err(ParseError::new(format!(
                    "a Gitleaks v7 leak whose \"{key}\" is not a string"
                ))
                .at_path(format!("/{i}")));
            }
            let (key, finding) = leak_v7(leak);
            // The first leak of an offender at a file and line is kept as is.
            out.add_with(key, finding, |_, _| {});
        } else if truthy(item.get("Description")) {
            if !item.get("Secret").is_some_and(serde_json::Value::is_string) {
                return Err(ParseError::new(
                    "a Gitleaks leak without a \"Secret\" string (the reference fails on it)",
                )
                .at_path(format!("/{i}")));
            }
            let (key, finding) = leak_v8(leak);
            out.add(key, finding, "\n\n***\n\n");
        } else {
            return Err(ParseError::new(
                "format not recognised for Gitleaks: a leak has neither a \"rule\" (v7) nor a \
                 \"Description\" (v8)",
            )
            .at_path(format!("/{i}")));
        }
    }
    Ok(out.into_findings())
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

/// "Name <email>", either alone, or `None`.
fn author(name: &Text<'_>, email: &Text<'_>) -> Option<String> {
    match (name.get(), email.get()) {
        (Some(n), Some(e)) => Some(format!("{n} <{e}>")),
        (n, e) => n.or(e).map(str::to_owned),
    }
}

/// "Hard coded {what} found in {file}" (a missing file is written "None").
fn title_of(what: &str, file: Option<&str>) -> String {
    format!("Hard coded {what} found in {}", file.unwrap_or("None"))
}

/// Gitleaks v8: capitalised keys.
fn leak_v8(leak: &Leak<'_>) -> (Key, Finding) {
    let rule = leak
        .rule_id
        .as_ref()
        .and_then(Text::get)
        .unwrap_or_default();
    let what = leak.description.get().unwrap_or(rule);
    let file = leak.file.get();
    // A missing or zero StartLine is line 0, i.e. none.
    let line = leak.start_line.positive();
    let secret = leak.secret.get().unwrap_or_default();
    let title = title_of(what, file);
    let mut desc = String::with_capacity(256);
    push_block_field(&mut desc, "Secret", Some(&mask(secret)));
    push_block_field(
        &mut desc,
        "Match",
        leak.matched.get().map(|m| mask_in(m, secret)).as_deref(),
    );
    push_block_field(&mut desc, "File", file);
    push_field_display(&mut desc, "Line", line);
    push_block_field(&mut desc, "Commit message", leak.message.get());
    push_block_field(&mut desc, "Commit hash", leak.commit.get());
    push_block_field(&mut desc, "Commit date", leak.date.get());
    push_block_field(
        &mut desc,
        "Author",
        author(&leak.author, &leak.email).as_deref(),
    );
    push_block_field(&mut desc, "Rule Id", Some(rule));
    push_block_field(
        &mut desc,
        "Entropy",
        leak.entropy.get().filter(|e| *e != "0"),
    );
    push_block_field(
        &mut desc,
        "Fingerprint",
        leak.fingerprint
            .get()
            .map(|f| mask_in(f, secret))
            .as_deref(),
    );
    push_block_field(&mut desc, "Link", leak.link.get());
    let mut f = base_finding(&title, Severity::High, clean(&desc));
    f.file_path = file.map(str::to_owned);
    f.line = line;
    f.tags = leak.tags.texts().map(str::to_owned).collect();
    f.extra.push(("rule_id".to_owned(), rule.to_owned()));
    let key = (title, secret.to_owned(), line.unwrap_or(0).to_string());
    (key, f)
}

/// Gitleaks v7 and older: lower-case keys.
fn leak_v7(leak: &Leak<'_>) -> (Key, Finding) {
    let rule = leak.rule.as_ref().and_then(Text::get).unwrap_or("secret");
    let file = leak.file_v7.get();
    let line = leak.line_number.positive();
    let offender = leak
        .offender
        .as_ref()
        .and_then(Text::get)
        .unwrap_or_default();
    // These rules leak credentials to cloud and code-hosting accounts, whose
    // abuse is immediate; Gitleaks v7 itself gives no severity. The words are
    // matched as the reference matches them, case-sensitively.
    let severity = if ["Github", "AWS", "Heroku"].iter().any(|k| rule.contains(k)) {
        Severity::Critical
    } else {
        Severity::High
    };
    let title = format!("Hard Coded {rule}");
    let mut desc = String::with_capacity(256);
    push_block_field(&mut desc, "Commit message", leak.commit_message.get());
    push_block_field(&mut desc, "Commit hash", leak.commit_v7.get());
    push_block_field(&mut desc, "Commit date", leak.date_v7.get());
    push_block_field(
        &mut desc,
        "Author",
        author(&leak.author_v7, &leak.email_v7).as_deref(),
    );
    push_block_field(&mut desc, "Reason", Some(rule));
    push_block_field(&mut desc, "Path", file);
    push_field_display(&mut desc, "Line", line);
    push_block_field(
        &mut desc,
        "Repository",
        leak.repo_url.get().or_else(|| leak.repo.get()),
    );
    push_block_field(&mut desc, "Leak URL", leak.leak_url.get());
    push_block_field(&mut desc, "Secret", Some(&mask(offender)));
    push_block_field(
        &mut desc,
        "Line content",
        leak.line_v7.get().map(|l| mask_in(l, offender)).as_deref(),
    );
    let mut f = base_finding(&title, severity, clean(&desc));
    f.file_path = file.map(str::to_owned);
    f.line = line;
    f.tags = leak
        .tags_v7
        .get()
        .map(|t| t.split(',').filter_map(non_empty_str).collect())
        .unwrap_or_default();
    let key = (
        offender.to_owned(),
        file.unwrap_or_default().to_owned(),
        line.map_or_else(|| "None".to_owned(), |l| l.to_string()),
    );
    (key, f)
}

#[cfg(test)]
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
        let f = parse(r#"[{"RuleID":"generic-api-key","Description":"Generic API Key","Secret":"abcdefghijklmnopqrstuvwxyz"}]"#)
            .unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].title, "Hard coded Generic API Key found in None");
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].cwe, Some(798));
        assert_eq!((f[0].file_path.clone(), f[0].line), (None, None));
        assert!(!f[0].description.contains("abcdefghijklmnopqrstuvwxyz"));
        assert!(f[0].description.contains("abcd****"));
    }

    #[test]
    fn v8_same_secret_title_and_line_is_one_finding() {
        let leak = |c: &str, line: u32| {
            format!(
                r#"{{"RuleID":"r","Description":"AWS","Secret":"s3cr3t","Match":"k=s3cr3t","File":"a.tf","StartLine":{line},"Commit":"{c}","Tags":["t"]}}"#
            )
        };
        let f = parse(&format!(
            "[{},{},{},{}]",
            leak("a", 2),
            leak("b", 2),
            leak("c", 2),
            leak("d", 3)
        ))
        .unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].nb_occurences, Some(3));
        assert_eq!(
            (f[0].file_path.as_deref(), f[0].line),
            (Some("a.tf"), Some(2))
        );
        assert_eq!(f[0].tags, vec!["t".to_owned()]);
        assert!(!f[0].title.contains("s3cr3t"));
        assert!(!f[0].description.contains("s3cr3t"));
    }

    const V7: &str = r#"{"rule":"AWS Access Key","offender":"AKIAXXXXXXXXXXXXXXXX","file":"x.yml","lineNumber":3,
        "commitMessage":"m","commit":"c","date":"d","author":"a","email":"e","line":"k=AKIAXXXXXXXXXXXXXXXX","tags":"key, AWS"}"#;

    #[test]
    fn v7_severity_merge_and_tags() {
        let f = parse(&format!(
            "[{V7},{},{},{}]",
            V7.replace("commit\":\"c\"", "commit\":\"c2\""),
            V7.replace("AWS Access Key", "Slack")
                .replace("AKIAXXXXXXXXXXXXXXXX", "xoxb"),
            V7.replace("AWS Access Key", "github token")
                .replace("AKIAXXXXXXXXXXXXXXXX", "ghp"),
        ))
        .unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].title, "Hard Coded AWS Access Key");
        assert_eq!(f[0].severity, Severity::Critical);
        assert_eq!(f[0].nb_occurences, Some(1));
        assert_eq!(
            (f[0].file_path.as_deref(), f[0].line),
            (Some("x.yml"), Some(3))
        );
        assert_eq!(f[0].tags, vec!["key".to_owned(), "AWS".to_owned()]);
        assert_eq!(f[1].severity, Severity::High);
        // The reference's words are case-sensitive: "github" is not "Github".
        assert_eq!(f[2].severity, Severity::High);
        assert!(!f[0].description.contains("AKIAXXXXXXXXXXXXXXXX"));
        assert!(
            parse(&format!(
                "[{}]",
                V7.replace(r#""commit":"c""#, r#""commit":null"#)
            ))
            .is_err()
        );
        assert!(
            parse(&format!(
                "[{}]",
                V7.replace(r#""tags":"key, AWS""#, r#""tags":null"#)
            ))
            .is_err()
        );
        for key in V7_REQUIRED {
            let v: serde_json::Value = serde_json::from_str(V7).unwrap();
            let mut o = v.as_object().unwrap().clone();
            o.remove(key);
            if key == "rule" {
                continue;
            }
            assert!(
                parse(&format!("[{}]", serde_json::Value::Object(o))).is_err(),
                "{key}"
            );
        }
    }

    #[test]
    fn format_choice() {
        // RuleID alone is not enough: the reference needs a Description.
        assert!(parse(r#"[{"RuleID":"r","Secret":"s","File":"f"}]"#).is_err());
        assert!(parse(r#"[{"RuleID":"r","Description":"D","File":"f"}]"#).is_err());
        assert!(parse(r#"[{"RuleID":"r","Description":"D","Secret":null}]"#).is_err());
        let f = parse(r#"[{"RuleID":"r","Description":"D","StartLine":"12","Tags":"solo","Entropy":3.5,"File":"f","Secret":"s"}]"#)
            .unwrap();
        assert_eq!(f[0].line, Some(12));
        assert_eq!(f[0].tags, ["solo"]);
        assert!(f[0].description.contains("**Entropy:** 3.5"));
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
        // Arrays where leaks should be are not leaks (serde would read them as fields).
        assert!(parse(r#"[["generic-api-key", "x"]]"#).is_err());
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
    }
}
