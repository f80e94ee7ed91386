//! Palisade parser plugin SDK.
//!
//! A plugin is a Rust crate built as a WebAssembly component. Implement
//! [`Parser`] on a unit struct and call [`export_parser!`] once; the SDK hides
//! the generated WIT bindings (the contract lives in `wit/`).
//!
//! ```ignore
//! use palisade_plugin_sdk::prelude::*;
//!
//! struct Demo;
//! impl Parser for Demo {
//!     fn info() -> PluginInfo { /* name, version, scan types */ }
//!     fn parse(scan_type: &str, report: &[u8], options: &Options) -> Result<Vec<Finding>, ParseError> {
//!         /* ... */
//!     }
//! }
//! export_parser!(Demo);
//! ```

mod convert;
mod types;

pub use types::*;

/// Everything a parser usually imports.
pub mod prelude {
    pub use crate::{
        DedupeAlgorithm, DedupeSetting, Endpoint, Finding, Options, ParseError, Parser,
        PluginInfo, ReportLocation, ScanTypeInfo, Severity, export_parser,
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
    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        let _ = (candidates, head);
        None
    }

    /// Parses one report of `scan_type`.
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
#[allow(unsafe_code, clippy::all, missing_docs)]
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
