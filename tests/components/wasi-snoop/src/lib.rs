//! Hostile test guest built for wasm32-wasip2: tries everything WASI offers and
//! reports what it got as one finding per probe (title `probe: result`).
//!
//! The host grants nothing, so every probe must come back empty or denied.
#![expect(
    clippy::print_stdout,
    reason = "printing to stdout is one of the probes"
)]

use palisade_plugin_sdk::prelude::*;

/// The plugin.
pub struct WasiSnoop;

fn probe_results() -> Vec<(String, String)> {
    let env: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
    let args: Vec<String> = std::env::args().collect();
    let file = match std::fs::read_to_string("/etc/passwd") {
        Ok(text) => format!("read {} bytes", text.len()),
        Err(e) => format!("denied ({e})"),
    };
    let dir = match std::fs::read_dir(".") {
        Ok(entries) => format!("listed {} entries", entries.count()),
        Err(e) => format!("denied ({e})"),
    };
    let net = match std::net::TcpStream::connect("127.0.0.1:5432") {
        Ok(_) => "connected".to_owned(),
        Err(e) => format!("denied ({e})"),
    };
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(u64::MAX);
    println!("snoop says hello on stdout");
    eprintln!("snoop says hello on stderr");
    vec![
        ("env".to_owned(), format!("{} variables", env.len())),
        ("args".to_owned(), format!("{} arguments", args.len())),
        ("file".to_owned(), file),
        ("dir".to_owned(), dir),
        ("net".to_owned(), net),
        ("clock".to_owned(), format!("{clock} s since epoch")),
    ]
}

impl Parser for WasiSnoop {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "wasi-snoop".to_owned(),
            version: "1.0.0".to_owned(),
            scan_types: vec![ScanTypeInfo {
                name: "Wasi Snoop Test".to_owned(),
                description: "Probes the sandbox".to_owned(),
                file_kinds: vec!["text".to_owned()],
                dedupe: DedupeSetting::hash_code(&["title"]),
            }],
        }
    }

    fn parse(
        _scan_type: &str,
        _report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        Ok(probe_results()
            .into_iter()
            .map(|(probe, result)| Finding {
                title: format!("{probe}: {result}"),
                description: result,
                ..Finding::default()
            })
            .collect())
    }
}

export_parser!(WasiSnoop);
