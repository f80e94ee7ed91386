//! Test guest: one finding per non-empty line after the `ECHO` header line.
//!
//! Line syntax: `SEVERITY TITLE`, e.g. `high SQL injection`. A line `!reject`
//! makes the parse fail with a located error.

use palisade_plugin_sdk::prelude::*;

/// The plugin.
pub struct Echo;

const SCAN_TYPE: &str = "Echo Test";

impl Parser for Echo {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "echo".to_owned(),
            version: option_env!("ECHO_VERSION").unwrap_or("1.0.0").to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: SCAN_TYPE.to_owned(),
                description: "Lines echoed back as findings (host tests)".to_owned(),
                file_kinds: vec!["text".to_owned()],
                dedupe: DedupeSetting::hash_code(&["title", "severity"]),
            }],
        }
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        (head.starts_with(b"ECHO\n") && candidates.iter().any(|c| c == SCAN_TYPE))
            .then(|| SCAN_TYPE.to_owned())
    }

    fn parse(
        _scan_type: &str,
        report: &[u8],
        options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        let text =
            std::str::from_utf8(report).map_err(|e| ParseError::new(format!("not UTF-8: {e}")))?;
        let mut lines = text.lines();
        if lines.next() != Some("ECHO") {
            return Err(ParseError::new("expected the header line `ECHO`").at(1, 1));
        }
        let mut findings = Vec::new();
        for (i, line) in lines.enumerate() {
            let line_no = u32::try_from(i + 2).unwrap_or(u32::MAX);
            if line.trim().is_empty() {
                continue;
            }
            if line == "!reject" {
                return Err(ParseError::new("rejected on request").at(line_no, 1));
            }
            let (severity, title) = line.split_once(' ').unwrap_or(("info", line));
            findings.push(Finding {
                title: title.to_owned(),
                severity: match severity {
                    "critical" => Severity::Critical,
                    "high" => Severity::High,
                    "medium" => Severity::Medium,
                    "low" => Severity::Low,
                    _ => Severity::Info,
                },
                description: format!(
                    "line {line_no} of {}",
                    options.get("file-name").unwrap_or("the report")
                ),
                line: Some(line_no),
                cwe: Some(79),
                vulnerability_ids: vec!["CVE-2024-0001".to_owned()],
                endpoints: vec![Endpoint {
                    protocol: Some("https".to_owned()),
                    host: "example.com".to_owned(),
                    port: Some(443),
                    path: Some("/login".to_owned()),
                    ..Endpoint::default()
                }],
                ..Finding::default()
            });
        }
        Ok(findings)
    }
}

export_parser!(Echo);
