//! Palisade parser plugin for Trufflehog JSON reports (`trufflehog --json`).
//!
//! Trufflehog writes one JSON object per line. Two layouts exist:
//! - v2 (Python): `reason`, `path`, `commitHash`, `commit` (the message),
//!   `date`, `branch`, `stringsFound`, `diff`;
//! - v3 (Go): `DetectorName`, `Verified`, `Raw`, `Redacted`, `ExtraData`,
//!   `StructuredData` and `SourceMetadata.Data.<Source>` holding the
//!   location (`file`, `line`, `commit`, `email`, `repository`, `timestamp`,
//!   `link`, ...).
//!
//! Repeats of one secret are merged into one finding with an occurrence
//! count: in v2 the same rule in the same file (v2 has no line numbers), in
//! v3 the same detector and secret at the same file, line and commit. The
//! first line decides the layout; every rule is listed in `FORMAT.md`.
//! Raw secret values never reach titles or descriptions.

use palisade_plugin_sdk::findings::Collector;
use palisade_plugin_sdk::json::{starts_like_json, string_at, u64_at, value_to_string};
use palisade_plugin_sdk::markdown::push_block_field;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::secret::mask;
use palisade_plugin_sdk::sniff::contains;
use serde_json::Value;

/// The one scan type this plugin handles.
pub const SCAN_TYPE: &str = "Trufflehog Scan";

/// CWE-798: Use of Hard-coded Credentials.
const CWE_HARD_CODED_CREDENTIALS: u32 = 798;

/// The Trufflehog parser.
pub struct Trufflehog;

impl Parser for Trufflehog {
    fn info() -> PluginInfo {
        PluginInfo::single(
            "trufflehog",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "Trufflehog v2 or v3 secret-scanning report (JSON lines)",
                &["json"],
                DedupeSetting::hash_code(&["title", "description", "line"]),
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

palisade_plugin_sdk::export_parser!(Trufflehog);

/// A JSON object (the first of the lines) with Trufflehog v2 or v3 keys.
/// Trufflehog3 and the "hog" scanners write JSON arrays, so an array is not ours.
fn looks_like(head: &[u8]) -> bool {
    if !starts_like_json(head) {
        return false;
    }
    let first = palisade_plugin_sdk::sniff::first_byte(head);
    if first != Some(b'{') {
        return false;
    }
    let v3 = contains(head, b"\"SourceMetadata\"") && contains(head, b"\"DetectorName\"");
    // v2 lines start with the commit's diff, which can be long: its keys
    // before the diff are enough when `reason`/`stringsFound` are cut off.
    let v2 = contains(head, b"\"commitHash\"")
        && ((contains(head, b"\"stringsFound\"") && contains(head, b"\"reason\""))
            || (contains(head, b"\"branch\"") && contains(head, b"\"diff\"")));
    v3 || v2
}

type Key = (String, String, String, String);

/// Splits like Python's `bytes.splitlines`: on `\n`, `\r\n` and `\r`, with no
/// empty piece after a final line break.
fn split_lines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        match rest.find(['\n', '\r']) {
            None => {
                out.push(rest);
                break;
            }
            Some(i) => {
                out.push(&rest[..i]);
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
            }
        }
    }
    out
}

/// Parses a whole report (JSON lines). The first line decides the version for
/// every line: `SourceMetadata` -> v3, `path` -> v2, anything else -> no findings.
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = palisade_plugin_sdk::json::utf8_text(report)?;
    let lines = split_lines(text);
    let parse_line = |n: usize, line: &str| -> Result<Value, ParseError> {
        palisade_plugin_sdk::json::parse_json_value(line.as_bytes()).map_err(|e| {
            ParseError::new(format!(
                "not a readable Trufflehog report (one JSON object per line): line {}: {}",
                n + 1,
                e.message
            ))
            .at(u32::try_from(n + 1).unwrap_or(u32::MAX), 1)
        })
    };
    let Some(first) = lines.first() else {
        return Ok(Vec::new());
    };
    let first = parse_line(0, first)?;
    let v3 = first.get("SourceMetadata").is_some();
    if !v3 && first.get("path").is_none() {
        return Ok(Vec::new());
    }
    let mut out: Collector<Key> = Collector::new();
    for (n, line) in lines.iter().enumerate() {
        let value = parse_line(n, line)?;
        if !value.is_object() {
            return Err(ParseError::new(format!(
                "line {} is not a JSON object",
                n + 1
            )));
        }
        let (key, finding) = if v3 {
            secret_v3(&value)
        } else {
            secret_v2(&value)
        }
        .map_err(|e| e.at(u32::try_from(n + 1).unwrap_or(u32::MAX), 1))?;
        // Repeats are one finding: descriptions joined, occurrences counted.
        out.add(key, finding, "\n\n***\n\n");
    }
    Ok(out.into_findings())
}

fn base_finding(title: &str, severity: Severity, description: &str) -> Finding {
    Finding {
        title: truncate_chars(title, 511).to_owned(),
        severity,
        description: clean(description),
        cwe: Some(CWE_HARD_CODED_CREDENTIALS),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        nb_occurences: Some(1),
        ..Finding::default()
    }
}

/// Trufflehog v2: regex or entropy hits in a commit's diff.
fn secret_v2(v: &Value) -> Result<(Key, Finding), ParseError> {
    let text = |key: &str| -> Result<&str, ParseError> {
        v.get(key).and_then(Value::as_str).ok_or_else(|| {
            ParseError::new(format!("a Trufflehog v2 line without a \"{key}\" string"))
        })
    };
    let reason = text("reason")?;
    let path = text("path")?;
    let commit_hash = text("commitHash")?;
    let date = text("date")?;
    let branch = text("branch")?;
    let Some(Value::Array(strings)) = v.get("stringsFound") else {
        return Err(ParseError::new(
            "a Trufflehog v2 line without a \"stringsFound\" list",
        ));
    };
    // The reference's words, matched exactly and case-sensitively.
    let severity = if reason == "High Entropy" {
        Severity::Info
    } else if ["Oauth", "AWS", "Heroku"]
        .iter()
        .any(|k| reason.contains(k))
    {
        Severity::Critical
    } else if reason == "Generic Secret" {
        Severity::Medium
    } else {
        Severity::High
    };
    let title = format!("Hard Coded {reason} in: {path}");
    let mut desc = String::new();
    push_block_field(&mut desc, "Commit", string_at(v, "commit").as_deref());
    push_block_field(&mut desc, "Commit Hash", Some(commit_hash));
    push_block_field(&mut desc, "Commit Date", Some(date));
    push_block_field(&mut desc, "Branch", Some(branch));
    push_block_field(&mut desc, "Reason", Some(reason));
    push_block_field(&mut desc, "Path", Some(path));
    let found: Vec<String> = strings
        .iter()
        .filter_map(value_to_string)
        .map(|s| mask(&s))
        .collect();
    if !found.is_empty() {
        push_block_field(&mut desc, "Strings Found (masked)", Some(&found.join("\n")));
    }
    let mut f = base_finding(&title, severity, &desc);
    f.file_path = non_empty(Some(path));
    // The merge key: path and reason.
    let key = (
        path.to_owned(),
        reason.to_owned(),
        String::new(),
        String::new(),
    );
    Ok((key, f))
}

/// The first source's location object in `SourceMetadata.Data`, e.g. `Git`,
/// `Github`, `Filesystem`, whichever source Trufflehog scanned.
/// The shapes the reference relies on: `SourceMetadata` and the source's
/// data are objects, and the text it joins into its merge key is text.
fn check_v3_shapes(v: &Value) -> Result<(), ParseError> {
    let bad = |what: &str| {
        Err(ParseError::new(format!(
            "a Trufflehog v3 line whose {what}"
        )))
    };
    match v.get("SourceMetadata") {
        None | Some(Value::Object(_)) => {}
        Some(_) => return bad("SourceMetadata is not an object"),
    }
    if let Some(Value::Object(data)) = v.pointer("/SourceMetadata/Data")
        && let Some(source) = data.values().next()
    {
        let Value::Object(source) = source else {
            return bad("source data is not an object");
        };
        for key in ["file", "commit"] {
            if source.get(key).is_some_and(|x| !x.is_string()) {
                return bad(&format!("source \"{key}\" is not a string"));
            }
        }
    }
    if v.get("DetectorName").is_some_and(|d| !d.is_string()) {
        return bad("\"DetectorName\" is not a string");
    }
    Ok(())
}

fn source_location(v: &Value) -> Option<(&str, &serde_json::Map<String, Value>)> {
    let data = v.get("SourceMetadata")?.get("Data")?.as_object()?;
    data.iter()
        .find_map(|(k, d)| d.as_object().map(|o| (k.as_str(), o)))
}

fn key_values(v: Option<&Value>) -> Option<String> {
    let obj = v?.as_object()?;
    let lines: Vec<String> = obj
        .iter()
        .filter_map(|(k, val)| {
            let s = match val {
                Value::String(s) => s.clone(),
                Value::Null => return None,
                other => other.to_string(),
            };
            Some(format!("- {k}: {}", truncate_chars(&s, 500)))
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// Trufflehog v3: detector hits, possibly verified against the live service.
fn secret_v3(v: &Value) -> Result<(Key, Finding), ParseError> {
    check_v3_shapes(v)?;
    let detector = v
        .get("DetectorName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let verified = v.get("Verified").and_then(Value::as_bool).unwrap_or(false);
    let text_or_empty = |key: &str| -> Result<String, ParseError> {
        match v.get(key) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(ParseError::new(format!(
                "a Trufflehog v3 line whose \"{key}\" is not a string"
            ))),
        }
    };
    let raw_all = text_or_empty("Raw")? + &text_or_empty("RawV2")?;
    let (source, loc) = match source_location(v) {
        Some((s, o)) => (Some(s), Some(o)),
        None => (None, None),
    };
    let loc_str = |k: &str| {
        loc.and_then(|o| o.get(k))
            .and_then(value_to_string)
            .and_then(|s| non_empty_str(&s))
    };
    let file = loc_str("file");
    let line = loc
        .and_then(|o| o.get("line"))
        .and_then(|l| u64_at(l, ""))
        .and_then(|n| u32::try_from(n).ok())
        .filter(|&n| n > 0);
    let raw = string_at(v, "Raw").unwrap_or_default();
    let redacted = non_empty(string_at(v, "Redacted").as_deref());
    // The reference's rule: verified or cloud/OAuth detectors are Critical,
    // PrivateKey High, Generic Secret Medium, and every other detector Critical.
    let severity = if verified {
        Severity::Critical
    } else if detector == "PrivateKey" {
        Severity::High
    } else if detector == "Generic Secret" {
        Severity::Medium
    } else {
        Severity::Critical
    };
    let title = format!(
        "Hard Coded {detector} secret in: {}",
        file.as_deref().unwrap_or("")
    );
    let mut desc = String::new();
    push_block_field(
        &mut desc,
        "Source",
        string_at(v, "SourceName")
            .or_else(|| source.map(str::to_owned))
            .as_deref(),
    );
    push_block_field(&mut desc, "Repository", loc_str("repository").as_deref());
    push_block_field(&mut desc, "Link", loc_str("link").as_deref());
    push_block_field(&mut desc, "Commit Hash", loc_str("commit").as_deref());
    push_block_field(&mut desc, "Commit Date", loc_str("timestamp").as_deref());
    push_block_field(&mut desc, "Committer", loc_str("email").as_deref());
    push_block_field(&mut desc, "Reason", Some(&detector));
    push_block_field(
        &mut desc,
        "Verified",
        Some(if verified { "yes" } else { "no" }),
    );
    push_block_field(&mut desc, "Path", file.as_deref());
    push_block_field(&mut desc, "Line", line.map(|l| l.to_string()).as_deref());
    // `Redacted` is Trufflehog's own safe rendering; use it only if it
    // really differs from the raw secret, and only its first line.
    let contents = match &redacted {
        Some(r) if *r != raw => r.lines().next().map(|l| truncate_chars(l, 200).to_owned()),
        _ if !raw.is_empty() => Some(mask(&raw)),
        _ => None,
    };
    push_block_field(&mut desc, "Contents", contents.as_deref());
    push_block_field(
        &mut desc,
        "Extra Data",
        key_values(v.get("ExtraData")).as_deref(),
    );
    push_block_field(
        &mut desc,
        "Structured Data",
        key_values(v.get("StructuredData")).as_deref(),
    );
    let mut f = base_finding(&title, severity, &desc);
    f.file_path = file.clone();
    f.line = line;
    f.verified = Some(verified);
    f.extra.push(("detector".to_owned(), detector.clone()));
    let key = (
        format!("{}{detector}", file.unwrap_or_default()),
        line.unwrap_or(0).to_string(),
        loc_str("commit").unwrap_or_default(),
        raw_all,
    );
    Ok((key, f))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        parse_report(report.as_bytes())
    }

    #[test]
    fn empty_and_foreign_first_lines_have_no_findings() {
        assert!(parse("").unwrap().is_empty());
        // The first line decides: neither SourceMetadata nor path -> nothing.
        assert!(parse(r#"{"vulnerabilities":[]}"#).unwrap().is_empty());
        assert!(parse(r#"[{"rule":{}}]"#).unwrap().is_empty());
        assert!(parse("{\"reason\":").is_err());
        // Every line is JSON, blank ones included.
        let v3 = r#"{"SourceMetadata":{"Data":{}},"DetectorName":"AWS"}"#;
        assert!(parse(&format!("{v3}\n\n{v3}")).is_err());
        assert_eq!(
            parse(&format!("{v3}\r\n{v3}\r\n")).unwrap()[0].nb_occurences,
            Some(2)
        );
    }

    #[test]
    fn v3_severity_rules() {
        let sev = |detector: &str, verified: bool| {
            parse(&format!(
                r#"{{"SourceMetadata":{{"Data":{{"Git":{{"file":"f","line":3,"commit":"c"}}}}}},"DetectorName":"{detector}","Verified":{verified},"Raw":"r"}}"#
            ))
            .unwrap()[0]
                .severity
        };
        assert_eq!(sev("Slack", true), Severity::Critical);
        assert_eq!(sev("Slack", false), Severity::Critical);
        assert_eq!(sev("PrivateKey", false), Severity::High);
        assert_eq!(sev("Generic Secret", false), Severity::Medium);
        assert_eq!(sev("PrivateKey", true), Severity::Critical);
    }

    #[test]
    fn v3_location_and_merge_key() {
        let l = |commit: &str| {
            format!(
                r#"{{"SourceMetadata":{{"Data":{{"Filesystem":{{"file":"a.env","line":7,"commit":"{commit}"}}}}}},"DetectorName":"AWS","Verified":true,"Raw":"AKIAXXXX","RawV2":"","Redacted":"AKIAXXXX"}}"#
            )
        };
        let f = parse(&format!("{}\n{}\n{}\n", l("c1"), l("c1"), l("c2"))).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].nb_occurences, Some(2));
        assert_eq!(
            (f[0].file_path.as_deref(), f[0].line),
            (Some("a.env"), Some(7))
        );
        assert_eq!(f[0].title, "Hard Coded AWS secret in: a.env");
        assert!(!f[0].description.contains("AKIAXXXX"));
        // Without source data there is no file or line.
        let f =
            parse(r#"{"SourceMetadata":{},"DetectorName":"Slack","Raw":"xoxb-123456789012345"}"#)
                .unwrap();
        assert_eq!((f[0].file_path.clone(), f[0].line), (None, None));
        assert!(!f[0].description.contains("xoxb-123456789012345"));
        assert!(parse(r#"{"SourceMetadata":{},"DetectorName":"S","RawV2":null}"#).is_err());
        for bad in [
            r#"{"SourceMetadata":null,"DetectorName":"S"}"#,
            r#"{"SourceMetadata":{"Data":{"Git":null}},"DetectorName":"S"}"#,
            r#"{"SourceMetadata":{"Data":{"Git":{"file":null}}},"DetectorName":"S"}"#,
            r#"{"SourceMetadata":{"Data":{"Git":{"commit":null}}},"DetectorName":"S"}"#,
            r#"{"SourceMetadata":{},"DetectorName":null}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    const V2: &str = r#"{"reason":"Generic Secret","path":"a.py","branch":"main","commit":"m","commitHash":"h","date":"d","stringsFound":["secret = 'abcdefabcdefabcdefabcdef'"]}"#;

    #[test]
    fn v2_severity_merge_and_required_keys() {
        let f = parse(&format!(
            "{V2}\n{}\n{}\n{}\n{}\n{}",
            V2.replace("\"h\"", "\"h2\""),
            V2.replace("Generic Secret", "RSA private key").replace(
                "secret = 'abcdefabcdefabcdefabcdef'",
                "-----BEGIN RSA PRIVATE KEY-----"
            ),
            V2.replace("Generic Secret", "High Entropy"),
            V2.replace("Generic Secret", "AWS API Key"),
            V2.replace("Generic Secret", "generic secret"),
        ))
        .unwrap();
        assert_eq!(f.len(), 5);
        assert_eq!(
            (f[0].severity, f[0].nb_occurences),
            (Severity::Medium, Some(2))
        );
        assert_eq!(f[0].title, "Hard Coded Generic Secret in: a.py");
        assert_eq!((f[0].file_path.as_deref(), f[0].line), (Some("a.py"), None));
        assert!(!f[0].description.contains("abcdefabcdefabcdefabcdef"));
        assert_eq!(f[1].severity, Severity::High);
        assert!(f[1].description.contains("-----BEGIN RSA PRIVATE KEY-----"));
        assert_eq!(f[2].severity, Severity::Info);
        assert_eq!(f[3].severity, Severity::Critical);
        // Exact words only.
        assert_eq!(f[4].severity, Severity::High);
        for key in ["reason", "commitHash", "date", "branch", "stringsFound"] {
            let v: Value = serde_json::from_str(V2).unwrap();
            let mut o = v.as_object().unwrap().clone();
            o.remove(key);
            assert!(
                parse(&format!("{V2}\n{}", Value::Object(o))).is_err(),
                "{key}"
            );
        }
    }

    #[test]
    fn malformed_inputs_are_errors() {
        assert!(parse_report(b"{\"reason\":\"\xff\"}").is_err());
        let deep = format!("{{\"a\":{}", "[".repeat(10_000));
        assert!(parse(&deep).is_err());
        let e = parse(&format!("{V2}\n{{oops")).unwrap_err();
        assert_eq!(e.location.unwrap().line, Some(2));
        // A pretty-printed object is not JSON lines.
        assert!(parse("{\n  \"DetectorName\": \"AWS\"\n}").is_err());
    }

    #[test]
    fn detect_is_strict() {
        let c = [SCAN_TYPE.to_owned()];
        assert!(
            Trufflehog::detect(&c, br#"{"SourceMetadata":{"Data":{}},"DetectorName":"AWS""#)
                .is_some()
        );
        assert!(
            Trufflehog::detect(
                &c,
                br#"{"branch":"x","commitHash":"y","reason":"r","stringsFound":["#
            )
            .is_some()
        );
        assert!(
            Trufflehog::detect(
                &c,
                br#"[{"commitHash":"y","reason":"r","stringsFound":[]}]"#
            )
            .is_none()
        );
        assert!(Trufflehog::detect(&c, br#"{"results":[]}"#).is_none());
    }
}
