//! The files `palisade plugin new` writes, as templates: `{{name}}`,
//! `{{struct}}`, `{{scan_type}}`, `{{ident}}`, `{{crate}}`, `{{target}}`,
//! `{{toolchain}}` and `{{version}}` are replaced by [`super::scaffold`].

/// `src/lib.rs` of a new plugin: a working parser for a small JSON format, with tests.
pub(super) const LIB_TEMPLATE: &str = r##"//! Palisade parser plugin `{{name}}`: reads "{{scan_type}}" reports.
//!
//! The report format this template reads (replace it with your scanner's):
//!
//! ```json
//! {"issues": [{"title": "SQL injection", "severity": "high", "file": "app.py", "line": 12, "cwe": 89}]}
//! ```

use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff;
use serde::Deserialize;

/// The plugin; all calls are associated functions (a fresh instance serves each call).
pub struct {{struct}};

/// The scan type this plugin reads.
pub const SCAN_TYPE: &str = "{{scan_type}}";

#[derive(Deserialize)]
struct Report {
    issues: Vec<Issue>,
}

// Unknown fields are ignored; optional ones default to `None`.
#[derive(Deserialize)]
struct Issue {
    title: String,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    line: Option<u32>,
    #[serde(default)]
    cwe: Option<u32>,
}

impl Parser for {{struct}} {
    fn info() -> PluginInfo {
        PluginInfo::single(
            "{{name}}",
            env!("CARGO_PKG_VERSION"),
            ScanTypeInfo::new(
                SCAN_TYPE,
                "Findings of the {{name}} scanner (JSON)",
                &["json"],
                DedupeSetting::hash_code(&["title", "cwe", "file_path", "line"]),
            ),
        )
    }

    // The SDK calls `detect` only when SCAN_TYPE is a candidate. `head` is the
    // report's first 256 KiB, cut anywhere, even inside a UTF-8 character: search
    // its bytes with `sniff`, never decode it. Be strict: a wrong "yes" sends
    // another tool's report here.
    fn detect(_candidates: &[String], head: &[u8]) -> Option<String> {
        let yes = sniff::starts_with_object(head)
            && sniff::value_start_after_key(head, b"\"issues\"") == Some(b'[');
        yes.then(|| SCAN_TYPE.to_owned())
    }

    fn parse(_scan_type: &str, report: &[u8], _options: &Options) -> Result<Vec<Finding>, ParseError> {
        // UTF-8 and JSON errors come back with their line and column.
        let report: Report = parse_json(report)?;
        report
            .issues
            .into_iter()
            .map(|issue| {
                Ok(Finding {
                    severity: severity(issue.severity.as_deref())?,
                    description: non_empty(issue.description.as_deref())
                        .unwrap_or_else(|| issue.title.clone()),
                    title: truncate_chars(&issue.title, 511).to_owned(),
                    cwe: issue.cwe,
                    file_path: issue.file,
                    line: issue.line,
                    static_finding: Some(true),
                    ..Finding::default()
                })
            })
            .collect()
    }
}

/// The scanner's severity word (the SDK's table: "high", "Moderate",
/// "warning"...); none given: Info. An unknown word is an error naming it:
/// guessing Info would hide a finding the scanner meant seriously.
fn severity(word: Option<&str>) -> Result<Severity, ParseError> {
    match word {
        None => Ok(Severity::Info),
        Some(w) => severity_from_word(w).ok_or_else(|| {
            ParseError::new(format!("unknown severity {w:?} in a {{scan_type}} report"))
        }),
    }
}

export_parser!({{struct}});

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"issues": [
        {"title": "SQL injection", "severity": "high", "file": "app.py", "line": 12, "cwe": 89},
        {"title": "Debug mode on", "severity": "Low", "tool": "ignored"},
        {"title": "No severity given"}
    ]}"#;

    fn parse(report: &[u8]) -> Result<Vec<Finding>, ParseError> {
        {{struct}}::parse(SCAN_TYPE, report, &Options::default())
    }

    #[test]
    fn parses_the_sample() {
        let findings = parse(SAMPLE.as_bytes()).expect("sample parses");
        assert_eq!(findings.len(), 3);
        assert_eq!(findings[0].severity, Severity::High);
        assert_eq!(findings[0].cwe, Some(89));
        assert_eq!(findings[0].line, Some(12));
        assert_eq!(findings[0].file_path.as_deref(), Some("app.py"));
        assert_eq!(findings[1].severity, Severity::Low);
        assert_eq!(findings[1].description, "Debug mode on");
        assert_eq!(findings[2].severity, Severity::Info);
    }

    #[test]
    fn an_unknown_severity_is_an_error_naming_it() {
        let error = parse(br#"{"issues": [{"title": "x", "severity": "spicy"}]}"#).expect_err("rejected");
        assert!(error.message.contains("\"spicy\""), "{}", error.message);
    }

    #[test]
    fn rejects_other_json_with_a_location() {
        for bad in [&b"{\"issues\": 3}"[..], b"{\"issues\": [{\"severity\": \"high\"}]}", b"[1, 2]", b"\xff"] {
            let error = parse(bad).expect_err("rejected");
            assert!(!error.message.is_empty());
            assert!(error.location.is_some(), "{}", error.message);
        }
    }

    #[test]
    fn detects_only_its_format() {
        let candidates = vec![SCAN_TYPE.to_owned()];
        let detect = |head: &[u8]| {{struct}}::detect(&candidates, head);
        assert_eq!(detect(SAMPLE.as_bytes()).as_deref(), Some(SCAN_TYPE));
        assert_eq!(detect(b"<xml/>"), None);
        assert_eq!(detect(b"{\"issues\": 3}"), None);
        assert_eq!(detect(b"[{\"issues\": []}]"), None);
        assert_eq!(detect(b""), None);
    }

    #[test]
    fn detects_a_head_cut_inside_a_utf8_character() {
        // A report longer than the head, whose head ends in the middle of "é" (2 bytes).
        let mut report = String::from("{\"issues\": [{\"title\": \"");
        while report.len() < sniff::HEAD_LEN + 10 {
            report.push('é');
        }
        report.push_str("\", \"severity\": \"low\"}]}");
        let mut cut = sniff::HEAD_LEN;
        if report.is_char_boundary(cut) {
            cut -= 1;
        }
        let head = &report.as_bytes()[..cut];
        assert!(std::str::from_utf8(head).is_err(), "the head must end mid-character");
        let candidates = vec![SCAN_TYPE.to_owned()];
        assert_eq!({{struct}}::detect(&candidates, head).as_deref(), Some(SCAN_TYPE));
        assert_eq!(parse(report.as_bytes()).expect("whole report parses").len(), 1);
    }
}
"##;

/// `README.md` of a new plugin: the author's path from here to a loaded component.
pub(super) const README_TEMPLATE: &str = r#"# Palisade plugin `{{name}}`

Scan types: **{{scan_type}}** (JSON).

Samples: the test sample in `src/lib.rs` is made up; add real reports (and say
where they came from) before relying on this parser.

## Build

The plugin is a WebAssembly component built for the Rust target `{{target}}`
(the one target it needs; `rust-toolchain.toml` names it with the toolchain
{{toolchain}}). If it is missing, `palisade plugin new` said so; add it with

```sh
rustup target add {{target}} --toolchain {{toolchain}}
```

Then:

```sh
cargo test                                          # native tests
cargo build --release --target {{target}}        # the component
palisade plugin inspect target/{{target}}/release/{{ident}}.wasm
palisade parse --scan-type "{{scan_type}}" report.json
```

## Load it into a server

Copy `target/{{target}}/release/{{ident}}.wasm` into the server's plugin
directory (`PALISADE_PLUGIN_DIR`, or `palisade serve --plugin-dir DIR`): the
server watches it and loads new or changed components while it runs (its log
says "plugin loaded from the plugin directory", or why not). `palisade parse
--plugin-dir DIR report.json` tries it without a server.

## The SDK

`vendor/palisade-plugin-sdk` is palisade-plugin-sdk {{version}}, written here by
`palisade plugin new`; `Cargo.toml` depends on it by version and path. Its
major.minor version is the plugin contract's: a plugin built with SDK
{{version}} loads into servers speaking that contract. See its README for the
helpers (`sniff`, `parse_json`, `severity_from_word`, CSV and XML readers, CVSS,
CWE, endpoints...).
"#;
