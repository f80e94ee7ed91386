//! Palisade parser plugin SDK.
//!
//! A plugin is a Rust crate built as a WebAssembly component. Implement
//! [`Parser`] on a unit struct and call [`export_parser!`] once; the SDK hides
//! the generated WIT bindings (the contract lives in `wit/`).
//!
//! ```
//! use palisade_plugin_sdk::prelude::*;
//!
//! /// Reads "<severity>: <title>" lines.
//! struct Demo;
//!
//! impl Parser for Demo {
//!     fn info() -> PluginInfo {
//!         PluginInfo::single(
//!             "demo",
//!             env!("CARGO_PKG_VERSION"),
//!             ScanTypeInfo::new("Demo Scan", "One finding per line", &["txt"],
//!                 DedupeSetting::hash_code(&["title", "severity"])),
//!         )
//!     }
//!
//!     fn parse(_scan_type: &str, report: &[u8], _options: &Options) -> Result<Vec<Finding>, ParseError> {
//!         let text = std::str::from_utf8(report)
//!             .map_err(|e| ParseError::new(format!("not UTF-8: {e}")))?;
//!         let mut findings = Vec::new();
//!         for line in text.lines().filter(|l| !l.trim().is_empty()) {
//!             let (word, title) = line
//!                 .split_once(':')
//!                 .ok_or_else(|| ParseError::new(format!("no severity in {line:?}")))?;
//!             findings.push(Finding {
//!                 title: title.trim().to_owned(),
//!                 description: line.to_owned(),
//!                 // An unknown word is an error naming it, not a quiet Info.
//!                 severity: word.parse()?,
//!                 ..Finding::default()
//!             });
//!         }
//!         Ok(findings)
//!     }
//! }
//!
//! export_parser!(Demo);
//!
//! # fn main() {
//! let options = Options::default();
//! let found = Demo::parse("Demo Scan", b"high: SQL injection\nnote: banner", &options).unwrap();
//! assert_eq!(found[0].severity, Severity::High);
//! assert_eq!(found[1].severity, Severity::Low);
//! let error = Demo::parse("Demo Scan", b"spicy: x", &options).unwrap_err();
//! assert!(error.message.contains("\"spicy\""), "{}", error.message);
//! # }
//! ```
//!
//! Helpers, one module each: [`severity`] (scanner words and CVSS scores to
//! [`Severity`]), [`cwe`], [`vuln_ids`] (CVE/GHSA), [`cvss`] (v3.x and v4.0
//! parsing and scores), [`endpoint`] (URL to [`Endpoint`]), [`text`]
//! (clean-up, HTML to text, truncation), and safe readers for [`json`],
//! [`xml`] and [`csv`] reports and [`zip`] archives ([`inflate`]). For
//! `detect`, [`sniff`] searches a report's head. Shared by many plugins:
//! [`markdown`] (`**Label:** value` descriptions), [`findings`] (folding
//! repeated findings), [`cpe`] and [`purl`] (component names), [`secret`]
//! (masking leaked secrets). With the `testing` feature, `testing` parses
//! files natively and compares findings with reference goldens.

mod convert;
mod types;

pub mod cpe;
pub mod csv;
pub mod cvss;
pub mod cwe;
pub mod endpoint;
pub mod findings;
pub mod inflate;
pub mod json;
pub mod markdown;
pub mod purl;
pub mod pycsv;
pub mod secret;
pub mod severity;
pub mod sniff;
#[cfg(feature = "testing")]
pub mod testing;
pub mod text;
pub mod vuln_ids;
pub mod xml;
pub mod zip;

pub use types::*;

pub use cvss::{
    Cvss3, Cvss4, CvssError, cvss3_base_score, cvss3_from_str, cvss4_base_score, cvss4_from_str,
};
pub use cwe::{find_cwes, parse_cwe};
pub use endpoint::endpoint_from_url;
pub use json::parse_json;
pub use severity::{severity_from_cvss, severity_from_word, severity_or_info};
pub use text::{clean, clean_string, html_to_text, non_empty, non_empty_str, truncate_chars};
pub use vuln_ids::{find_vulnerability_ids, is_vulnerability_id};
pub use xml::{parse_xml, xml_text};

/// The crates the helpers build on, re-exported so plugins use the same versions.
pub mod deps {
    pub use ::csv;
    pub use roxmltree;
    pub use serde;
    pub use serde_json;
}

/// Everything a parser usually imports.
pub mod prelude {
    pub use crate::csv::read_csv;
    pub use crate::json::{Text, parse_json, str_at, string_at};
    pub use crate::text::{
        clean, clean_string, html_to_text, non_empty, non_empty_str, truncate_chars,
    };
    pub use crate::xml::{parse_xml, xml_text};
    pub use crate::{
        DedupeAlgorithm, DedupeSetting, Endpoint, Finding, LogLevel, Options, ParseError, Parser,
        PluginInfo, ReportLocation, ScanTypeInfo, Severity, cvss3_from_str, endpoint_from_url,
        export_parser, find_cwes, find_vulnerability_ids, log, parse_cwe, severity_from_cvss,
        severity_from_word, severity_or_info,
    };
}

/// The contract version this SDK implements (the WIT package version).
pub const CONTRACT_VERSION: &str = "0.1.0";

/// A scanner-report parser. All functions are associated: a fresh instance
/// of the plugin serves each call, so there is no state to keep.
pub trait Parser {
    /// Describes the plugin and the scan types it handles.
    fn info() -> PluginInfo;

    /// Returns the scan type (one of `candidates`) this report is, judged
    /// from its first bytes, or `None`. The default recognises nothing.
    /// The SDK calls it only when one of the plugin's scan types is among
    /// the candidates.
    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        let _ = (candidates, head);
        None
    }

    /// Parses one report of `scan_type`. Through the host, `scan_type` is
    /// always one the plugin declares: the SDK refuses the others.
    fn parse(scan_type: &str, report: &[u8], options: &Options)
    -> Result<Vec<Finding>, ParseError>;
}

/// Writes a line to the host's log (to standard error in native tests).
pub fn log(level: LogLevel, message: &str) {
    #[cfg(target_arch = "wasm32")]
    bindings::palisade::parser::host::log(level.into(), message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{level:?}] {message}");
}

#[doc(hidden)]
#[allow(
    unsafe_code,
    clippy::all,
    reason = "generated code, not ours to lint: wit-bindgen's glue (unsafe where it is built \
              for wasm32, where `cargo clippy` does not look) and its style"
)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "parser",
        path: "wit",
        pub_export_macro: true,
        export_macro_name: "__export_parser_bindings",
        default_bindings_module: "palisade_plugin_sdk::bindings",
    });
}

#[doc(hidden)]
pub mod __private {
    pub use crate::convert::{detect, info, parse};
}

/// Exports a [`Parser`] implementation as the plugin's entry points.
#[macro_export]
macro_rules! export_parser {
    ($parser:ty) => {
        #[doc(hidden)]
        struct __PalisadeParserExport;

        impl $crate::bindings::Guest for __PalisadeParserExport {
            fn info() -> $crate::bindings::palisade::parser::types::PluginInfo {
                $crate::__private::info::<$parser>()
            }
            fn detect(
                scan_type_candidates: ::std::vec::Vec<::std::string::String>,
                head: ::std::vec::Vec<u8>,
            ) -> ::std::option::Option<::std::string::String> {
                $crate::__private::detect::<$parser>(scan_type_candidates, head)
            }
            fn parse(
                scan_type: ::std::string::String,
                report: ::std::vec::Vec<u8>,
                options: ::std::vec::Vec<(::std::string::String, ::std::string::String)>,
            ) -> ::std::result::Result<
                ::std::vec::Vec<$crate::bindings::palisade::parser::types::Finding>,
                $crate::bindings::palisade::parser::types::ParseError,
            > {
                $crate::__private::parse::<$parser>(scan_type, report, options)
            }
        }

        $crate::bindings::__export_parser_bindings!(__PalisadeParserExport with_types_in $crate::bindings);
    };
}

#[cfg(test)]
mod robustness {
    //! Every helper survives arbitrary input without panicking.

    /// A tiny deterministic generator (xorshift), so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    const PIECES: &[&str] = &[
        "CWE-",
        "cve-2021-",
        "GHSA-",
        "1234",
        "79",
        ":",
        "/",
        "//",
        "[",
        "]",
        "@",
        "?",
        "#",
        "&",
        "&amp;",
        "&#x",
        ";",
        "<",
        ">",
        "<p>",
        "</",
        "<!--",
        "-->",
        "<script>",
        "<!DOCTYPE r [",
        "<!ENTITY a \"",
        "&a;",
        "\"",
        "'",
        "CVSS:3.1/",
        "AV:N",
        "CVSS:4.0/",
        "é",
        "日本",
        "\u{0}",
        " ",
        "\n",
        "\r\n",
        ",",
        "{",
        "}",
        "[1,",
        "\"k\":",
        "http://",
        "[::1]",
        ":99999",
        "0",
    ];

    fn random_text(rng: &mut Rng) -> String {
        let n = (rng.next() % 12) as usize;
        (0..n)
            .map(|_| PIECES[(rng.next() % PIECES.len() as u64) as usize])
            .collect()
    }

    #[test]
    fn helpers_never_panic() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let s = random_text(&mut rng);
            let _ = crate::severity_from_word(&s);
            let _ = crate::parse_cwe(&s);
            let _ = crate::find_cwes(&s);
            let _ = crate::find_vulnerability_ids(&s);
            let _ = crate::vuln_ids::is_vulnerability_id(&s);
            let _ = crate::cvss3_from_str(&s);
            let _ = crate::cvss4_from_str(&s);
            if let Some(e) = crate::endpoint_from_url(&s) {
                let _ = e.to_url();
            }
            let _ = crate::text::clean(&s);
            let _ = crate::text::html_to_text(&s);
            let _ = crate::text::truncate_chars(&s, 3);
            let _ = crate::text::truncate_with_ellipsis(&s, 3);
            let _ = crate::json::parse_json_value(s.as_bytes());
            let _ = crate::json::starts_like_json(s.as_bytes());
            let _ = crate::xml::parse_xml(&s);
            let _ = crate::xml::root_element_is(s.as_bytes(), "r");
            let _ = crate::csv::read_csv(s.as_bytes());
            // Raw bytes, cut at arbitrary places.
            let bytes = s.as_bytes();
            let cut = &bytes[..(rng.next() as usize) % (bytes.len() + 1)];
            let _ = crate::json::parse_json_value(cut);
            let _ = crate::xml::xml_text(cut);
            let _ = crate::csv::read_csv(cut);
        }
    }

    #[test]
    fn endpoint_round_trips() {
        let mut rng = Rng(42);
        let hosts = ["example.com", "10.0.0.1", "::1", "h-1.a.b"];
        let protos = [None, Some("http"), Some("https"), Some("ftp")];
        for _ in 0..2_000 {
            let e = crate::Endpoint {
                protocol: protos[(rng.next() % 4) as usize].map(str::to_owned),
                userinfo: rng.next().is_multiple_of(3).then(|| "u:p".to_owned()),
                host: hosts[(rng.next() % 4) as usize].to_owned(),
                port: rng
                    .next()
                    .is_multiple_of(2)
                    .then(|| (rng.next() % 65_536) as u16),
                path: rng.next().is_multiple_of(2).then(|| "/a/b".to_owned()),
                query: rng.next().is_multiple_of(2).then(|| "x=1".to_owned()),
                fragment: rng.next().is_multiple_of(2).then(|| "f".to_owned()),
            };
            if e.userinfo.is_some() && e.protocol.is_none() {
                continue;
            }
            assert_eq!(
                crate::endpoint_from_url(&e.to_url()).unwrap(),
                e,
                "{}",
                e.to_url()
            );
        }
    }
}
