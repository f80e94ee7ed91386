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
//! v3 the same detector and secret at the same file and line.
//! Raw secret values never reach titles or descriptions.

use palisade_plugin_sdk::findings::Collector;
use palisade_plugin_sdk::json::{
    json_stream, starts_like_json, string_at, u64_at, value_to_string,
};
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
        PluginInfo {
            name: "trufflehog".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "Trufflehog v2 or v3 secret-scanning report (JSON lines)".to_owned(),
                file_kinds: vec!["json".to_owned()],
                dedupe: DedupeSetting::hash_code(&["title", "description", "line"]),
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
                "the trufflehog plugin parses only {SCAN_TYPE:?}, not {scan_type:?}"
            )));
        }
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

type Key = (String, String, u32, String);

/// Parses a whole report (JSON lines; blank lines ignored).
pub fn parse_report(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
    let text = palisade_plugin_sdk::json::utf8_text(report)?;
    let mut out: Collector<Key> = Collector::new();
    // A stream of JSON values: one per line as Trufflehog writes them, but
    // pretty-printed objects (e.g. piped through `jq`) read just as well.
    for (n, item) in json_stream::<Value>(text).enumerate() {
        let value = item.map_err(|mut e| {
            e.message = format!(
                "not a readable Trufflehog report (one JSON object per line): {}",
                e.message
            );
            e
        })?;
        let nth = n + 1;
        if !value.is_object() {
            return Err(ParseError::new(format!(
                "not a Trufflehog report: JSON value #{nth} is not an object \
                 (Trufflehog writes one object per line; a JSON array is another scanner's format)"
            )));
        }
        let (key, finding) = if value.get("SourceMetadata").is_some()
            || value.get("DetectorName").is_some()
        {
            secret_v3(&value)
        } else if value.get("stringsFound").is_some() || value.get("reason").is_some() {
            secret_v2(&value)
        } else {
            return Err(ParseError::new(format!(
                "not a Trufflehog report: object #{nth} has neither \"DetectorName\"/\"SourceMetadata\" (v3) \
                 nor \"reason\"/\"stringsFound\" (v2)"
            )));
        };
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
fn secret_v2(v: &Value) -> (Key, Finding) {
    let reason =
        non_empty(string_at(v, "reason").as_deref()).unwrap_or_else(|| "secret".to_owned());
    let path = non_empty(string_at(v, "path").as_deref());
    let lower = reason.to_ascii_lowercase();
    // Cloud and OAuth credentials give immediate account access; generic and
    // entropy hits are often noise, so they rank lower than named key types.
    let severity = if ["aws", "heroku", "oauth"].iter().any(|k| lower.contains(k)) {
        Severity::Critical
    } else if lower.contains("generic") || lower.contains("entropy") {
        Severity::Medium
    } else {
        Severity::High
    };
    let title = match &path {
        Some(p) => format!("Hard Coded {reason} in: {p}"),
        None => format!("Hard Coded {reason}"),
    };
    let mut desc = String::new();
    push_block_field(&mut desc, "Commit", string_at(v, "commit").as_deref());
    push_block_field(
        &mut desc,
        "Commit Hash",
        string_at(v, "commitHash").as_deref(),
    );
    push_block_field(&mut desc, "Commit Date", string_at(v, "date").as_deref());
    push_block_field(&mut desc, "Branch", string_at(v, "branch").as_deref());
    push_block_field(&mut desc, "Reason", Some(&reason));
    push_block_field(&mut desc, "Path", path.as_deref());
    let found: Vec<String> = match v.get("stringsFound") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(value_to_string)
            .map(|s| mask(&s))
            .collect(),
        Some(other) => value_to_string(other)
            .map(|s| vec![mask(&s)])
            .unwrap_or_default(),
        None => Vec::new(),
    };
    if !found.is_empty() {
        push_block_field(&mut desc, "Strings Found (masked)", Some(&found.join("\n")));
    }
    let mut f = base_finding(&title, severity, &desc);
    f.file_path = path.clone();
    let key = (title, path.unwrap_or_default(), 0, String::new());
    (key, f)
}

/// The first source's location object in `SourceMetadata.Data`, e.g. `Git`,
/// `Github`, `Filesystem`, whichever source Trufflehog scanned.
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
fn secret_v3(v: &Value) -> (Key, Finding) {
    let detector =
        non_empty(string_at(v, "DetectorName").as_deref()).unwrap_or_else(|| "Unknown".to_owned());
    let verified = v.get("Verified").and_then(Value::as_bool).unwrap_or(false);
    let (source, loc) = match source_location(v) {
        Some((s, o)) => (Some(s), Some(o)),
        None => (None, None),
    };
    let loc_str = |k: &str| {
        loc.and_then(|o| o.get(k))
            .and_then(value_to_string)
            .and_then(|s| non_empty_str(&s))
    };
    let file = loc_str("file").or_else(|| loc_str("path"));
    let line = loc
        .and_then(|o| o.get("line"))
        .and_then(|l| u64_at(l, ""))
        .and_then(|n| u32::try_from(n).ok())
        .filter(|&n| n > 0);
    let raw = string_at(v, "Raw").unwrap_or_default();
    let redacted = non_empty(string_at(v, "Redacted").as_deref());
    // A verified secret works right now: anyone holding it has access.
    let severity = if verified {
        Severity::Critical
    } else {
        Severity::High
    };
    let title = match &file {
        Some(f) => format!("Hard Coded {detector} secret in: {f}"),
        None => format!("Hard Coded {detector} secret"),
    };
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
    f.extra.push(("detector".to_owned(), detector));
    let key = (title, file.unwrap_or_default(), line.unwrap_or(0), raw);
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
    fn empty_report_has_no_findings() {
        assert!(parse("").unwrap().is_empty());
        assert!(parse("\n\n").unwrap().is_empty());
    }

    #[test]
    fn v3_minimal_and_unverified() {
        let f = parse(r#"{"DetectorName":"Slack","Verified":false,"Raw":"xoxb-123456789012345"}"#)
            .unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].file_path, None);
        assert!(!f[0].description.contains("xoxb-123456789012345"));
    }

    #[test]
    fn v3_filesystem_source_and_repeats() {
        let l = r#"{"SourceMetadata":{"Data":{"Filesystem":{"file":"a.env","line":7}}},"DetectorName":"AWS","Verified":true,"Raw":"AKIAXXXX","Redacted":"AKIAXXXX"}"#;
        let f = parse(&format!("{l}\n{l}\n")).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].nb_occurences, Some(2));
        assert_eq!(f[0].file_path.as_deref(), Some("a.env"));
        assert_eq!(f[0].line, Some(7));
        assert_eq!(f[0].severity, Severity::Critical);
        assert!(!f[0].description.contains("AKIAXXXX"));
    }

    #[test]
    fn v2_severity_and_merge() {
        let f = parse(
            "{\"reason\":\"Generic Secret\",\"path\":\"a.py\",\"stringsFound\":[\"secret = 'abcdefabcdefabcdefabcdef'\"]}\n\
             {\"reason\":\"Generic Secret\",\"path\":\"a.py\",\"stringsFound\":[\"x\"]}\n\
             {\"reason\":\"RSA private key\",\"path\":\"k\",\"stringsFound\":[\"-----BEGIN RSA PRIVATE KEY-----\"]}",
        )
        .unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].severity, Severity::Medium);
        assert_eq!(f[0].nb_occurences, Some(2));
        assert!(!f[0].description.contains("abcdefabcdefabcdefabcdef"));
        assert_eq!(f[1].severity, Severity::High);
        assert!(f[1].description.contains("-----BEGIN RSA PRIVATE KEY-----"));
    }

    #[test]
    fn pretty_printed_objects_are_read_too() {
        let f = parse("{\n  \"DetectorName\": \"AWS\",\n  \"Raw\": \"x\"\n}\n{\n  \"DetectorName\": \"Slack\"\n}\n").unwrap();
        assert_eq!(f.len(), 2);
    }

    #[test]
    fn malformed_inputs_are_errors() {
        assert!(parse("{\"reason\":").is_err());
        assert!(parse("[{\"rule\":{}}]").is_err());
        assert!(parse("{\"vulnerabilities\":[]}").is_err());
        assert!(parse_report(b"{\"reason\":\"\xff\"}").is_err());
        let deep = format!("{{\"a\":{}", "[".repeat(10_000));
        assert!(parse(&deep).is_err());
        let e = parse("{\"reason\":\"r\"}\n{oops").unwrap_err();
        assert_eq!(e.location.unwrap().line, Some(2));
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
