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
use std::borrow::Cow;

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
    description: Field<'a>,
    #[serde(rename = "File", borrow, default)]
    file: Text<'a>,
    #[serde(rename = "StartLine", borrow, default)]
    start_line: Text<'a>,
    #[serde(rename = "Secret", borrow, default)]
    secret: Field<'a>,
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
    rule: Field<'a>,
    #[serde(rename = "offender", borrow, default)]
    offender: Field<'a>,
    #[serde(rename = "file", borrow, default)]
    file_v7: Field<'a>,
    #[serde(rename = "lineNumber", borrow, default)]
    line_number: Text<'a>,
    #[serde(rename = "commitMessage", borrow, default)]
    commit_message: Field<'a>,
    #[serde(rename = "commit", borrow, default)]
    commit_v7: Field<'a>,
    #[serde(rename = "date", borrow, default)]
    date_v7: Field<'a>,
    #[serde(rename = "author", borrow, default)]
    author_v7: Field<'a>,
    #[serde(rename = "email", borrow, default)]
    email_v7: Field<'a>,
    #[serde(rename = "repoURL", borrow, default)]
    repo_url: Text<'a>,
    #[serde(rename = "repo", borrow, default)]
    repo: Text<'a>,
    #[serde(rename = "leakURL", borrow, default)]
    leak_url: Field<'a>,
    #[serde(rename = "line", borrow, default)]
    line_v7: Field<'a>,
    #[serde(rename = "tags", borrow, default)]
    tags_v7: Field<'a>,
}

/// The merge key, borrowing from the report where it can.
type Key<'a> = (Cow<'a, str>, Cow<'a, str>, Cow<'a, str>);

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

/// A leak's field read as [`Text`], also remembering what the JSON held:
/// the reference tests keys for presence, truthiness and being strings, which
/// a `Text` alone cannot tell (a number reads as text, `null` as missing).
#[derive(Default)]
struct Field<'a> {
    text: Text<'a>,
    kind: Kind,
    /// Python truthiness of the value.
    truthy: bool,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Kind {
    #[default]
    Missing,
    String,
    /// `null`, a number, a boolean, an array or an object.
    Other,
}

impl Field<'_> {
    fn get(&self) -> Option<&str> {
        self.text.get()
    }

    fn present(&self) -> bool {
        self.kind != Kind::Missing
    }

    fn is_string(&self) -> bool {
        self.kind == Kind::String
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Field<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl FieldVisitor {
    fn field<'a>(text: Option<Cow<'a, str>>, kind: Kind, truthy: bool) -> Field<'a> {
        Field {
            text: Text(text),
            kind,
            truthy,
        }
    }
}

// The text read exactly as `Text` reads it.
impl<'de> serde::de::Visitor<'de> for FieldVisitor {
    type Value = Field<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Self::field(
            Some(Cow::Borrowed(v)),
            Kind::String,
            !v.is_empty(),
        ))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Self::field(
            Some(Cow::Owned(v.to_owned())),
            Kind::String,
            !v.is_empty(),
        ))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        let truthy = !v.is_empty();
        Ok(Self::field(Some(Cow::Owned(v)), Kind::String, truthy))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Self::field(
            Some(Cow::Owned(v.to_string())),
            Kind::Other,
            v != 0,
        ))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Self::field(
            Some(Cow::Owned(v.to_string())),
            Kind::Other,
            v != 0,
        ))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Self::field(
            Some(Cow::Owned(v.to_string())),
            Kind::Other,
            v != 0.0,
        ))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        let text = if v { "true" } else { "false" };
        Ok(Self::field(Some(Cow::Borrowed(text)), Kind::Other, v))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Self::field(None, Kind::Other, false))
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Self::field(None, Kind::Other, false))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut any = false;
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
            any = true;
        }
        Ok(Self::field(None, Kind::Other, any))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut any = false;
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {
            any = true;
        }
        Ok(Self::field(None, Kind::Other, any))
    }
}

/// The field of a v7 leak named by its JSON key.
fn v7_field<'l, 'a>(leak: &'l Leak<'a>, key: &str) -> Option<&'l Field<'a>> {
    Some(match key {
        "file" => &leak.file_v7,
        "rule" => &leak.rule,
        "commitMessage" => &leak.commit_message,
        "commit" => &leak.commit_v7,
        "date" => &leak.date_v7,
        "author" => &leak.author_v7,
        "email" => &leak.email_v7,
        "line" => &leak.line_v7,
        "offender" => &leak.offender,
        "leakURL" => &leak.leak_url,
        "tags" => &leak.tags_v7,
        _ => return None,
    })
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
    let mut out: Collector<Key> = Collector::new();
    for (i, Object(leak)) in leaks.iter().flatten().enumerate() {
        // A truthy "rule" is the old format; else a truthy "Description" the current one.
        if leak.rule.truthy {
            let field = |k: &str| v7_field(leak, k);
            if let Some(key) = V7_REQUIRED
                .iter()
                .find(|k| !field(k).is_some_and(Field::present))
            {
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
                .find(|k| field(k).is_some_and(|v| v.present() && !v.is_string()))
            {
                return Err(ParseError::new(format!(
                    "a Gitleaks v7 leak whose \"{key}\" is not a string"
                ))
                .at_path(format!("/{i}")));
            }
            // The first leak of an offender at a file and line is kept as is
            // (later ones build nothing).
            out.insert_with(key_v7(leak), || leak_v7(leak));
        } else if leak.description.truthy {
            if !leak.secret.is_string() {
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
fn leak_v8<'a>(leak: &Leak<'a>) -> (Key<'a>, Finding) {
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
    let mut f = base_finding(&title, Severity::High, clean_string(desc));
    f.file_path = file.map(str::to_owned);
    f.line = line;
    f.tags = leak.tags.texts().map(str::to_owned).collect();
    f.extra.push(("rule_id".to_owned(), rule.to_owned()));
    let key = (
        Cow::Owned(title),
        Cow::Owned(secret.to_owned()),
        Cow::Owned(line.unwrap_or(0).to_string()),
    );
    (key, f)
}

/// A v7 leak's merge key: offender, file and line.
fn key_v7<'a>(leak: &Leak<'a>) -> Key<'a> {
    let text = |t: &Text<'a>| match &t.0 {
        Some(Cow::Borrowed(s)) => Cow::Borrowed(s.trim()),
        Some(Cow::Owned(s)) => Cow::Owned(s.trim().to_owned()),
        None => Cow::Borrowed(""),
    };
    (
        text(&leak.offender.text),
        text(&leak.file_v7.text),
        leak.line_number
            .positive()
            .map_or(Cow::Borrowed("None"), |l| Cow::Owned(l.to_string())),
    )
}

/// Gitleaks v7 and older: lower-case keys.
fn leak_v7(leak: &Leak<'_>) -> Finding {
    let rule = leak.rule.get().unwrap_or("secret");
    let file = leak.file_v7.get();
    let line = leak.line_number.positive();
    let offender = leak.offender.get().unwrap_or_default();
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
        author(&leak.author_v7.text, &leak.email_v7.text).as_deref(),
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
    let mut f = base_finding(&title, severity, clean_string(desc));
    f.file_path = file.map(str::to_owned);
    f.line = line;
    f.tags = leak
        .tags_v7
        .get()
        .map(|t| t.split(',').filter_map(non_empty_str).collect())
        .unwrap_or_default();
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        parse_report(report.as_bytes())
    }

    #[test]
    fn keys_are_tested_as_the_reference_tests_them() {
        // Python truthiness picks the layout: 0, "", [] and {} are false.
        for rule in ["0", "\"\"", "[]", "{}", "-0.0", "false", "null"] {
            let f = parse(&format!(
                r#"[{{"rule":{rule},"Description":"D","Secret":"s"}}]"#
            ))
            .unwrap();
            assert_eq!(f[0].title, "Hard coded D found in None", "{rule}");
        }
        let v7 = |extra: &str| {
            format!(
                r#"[{{"rule":[0],"file":"f","commitMessage":"m","commit":"c","date":"d","author":"a","email":"e","offender":"o"{extra}}}]"#
            )
        };
        // A null required key is present; a missing one rejects.
        assert!(parse(&v7(r#","line":null"#)).is_err());
        assert!(parse(&v7("")).is_err());
        assert!(parse(&v7(r#","line":"l""#)).is_ok());
        assert!(parse(&v7(r#","line":"l","leakURL":null"#)).is_err());
        assert!(parse(&v7(r#","line":"l","tags":["t"]"#)).is_err());
        assert!(parse(r#"[{"Description":"D","Secret":5}]"#).is_err());
        assert!(parse(r#"[{"Description":[1],"Secret":""}]"#).is_ok());
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
