//! Bad input through the WASM host: for every scan type, truncated reports,
//! other formats and hostile documents (deep nesting, huge strings, invalid
//! UTF-8, XML entity expansion) end in findings or in the plugin's own parse
//! error naming the problem; never in a trap, a timeout or the memory limit.

use std::fmt::Write as _;

use palisade::plugins::{ParseOptions, PluginError};

use super::{fixtures, registry};

/// Hostile documents every plugin must survive: (label, bytes).
fn hostile_inputs() -> Vec<(&'static str, Vec<u8>)> {
    const DEPTH: usize = 200_000;
    let mut deep_array = vec![b'['; DEPTH];
    deep_array.extend(std::iter::repeat_n(b']', DEPTH));
    let mut deep_object = b"{\"findings\":".repeat(DEPTH);
    deep_object.extend(std::iter::repeat_n(b'}', DEPTH));
    let mut deep_xml = b"<?xml version=\"1.0\"?>".to_vec();
    deep_xml.extend(b"<a>".repeat(DEPTH));
    deep_xml.extend(b"</a>".repeat(DEPTH));
    let mut laughs =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    let mut previous = "lol".to_owned();
    for level in 1..10 {
        let name = format!("lol{level}");
        let _ = writeln!(
            laughs,
            "<!ENTITY {name} \"{}\">",
            format!("&{previous};").repeat(10)
        );
        previous = name;
    }
    let _ = write!(laughs, "]>\n<report><issues>&{previous};</issues></report>");
    let huge = "A".repeat(16 << 20);
    vec![
        ("empty", Vec::new()),
        ("blank", b" \n\t\r\n".to_vec()),
        (
            "invalid UTF-8 JSON",
            b"{\"results\": [\"\xff\xfe\"]}".to_vec(),
        ),
        (
            "invalid UTF-8 XML",
            b"<?xml version=\"1.0\"?><report>\xc3\x28</report>".to_vec(),
        ),
        ("deeply nested JSON arrays", deep_array),
        ("deeply nested JSON objects", deep_object),
        ("deeply nested XML", deep_xml),
        ("XML entity expansion", laughs.into_bytes()),
        (
            "huge JSON string",
            format!("{{\"findings\": [{{\"title\": \"{huge}\", \"severity\": \"High\"}}]}}")
                .into_bytes(),
        ),
        (
            "huge XML text",
            format!("<?xml version=\"1.0\"?><report><item>{huge}</item></report>").into_bytes(),
        ),
        (
            "huge CSV field",
            format!("Title,Severity\n\"{huge}\",High\n").into_bytes(),
        ),
        ("NUL bytes", vec![0u8; 4096]),
    ]
}

/// `None` when `result` is acceptable for bad input: findings, or the
/// plugin's own parse error with a message; otherwise what went wrong.
fn misbehaviour(result: &Result<usize, PluginError>) -> Option<String> {
    match result {
        Ok(_) => None,
        Err(PluginError::Guest { message, .. }) if !message.trim().is_empty() => None,
        Err(e) => Some(e.to_string()),
    }
}

#[test]
fn bad_input_is_a_parse_error_never_a_crash() {
    let registry = registry();
    let options = ParseOptions::default();
    let parse = |scan_type: &str, bytes: &[u8]| {
        registry
            .parse_blocking(Some(scan_type), bytes, &options)
            .map(|out| out.findings.len())
    };
    let mut failures = Vec::new();
    let mut checked = 0;
    let hostile = hostile_inputs();
    for scan_type in registry.known_scan_types() {
        for (label, bytes) in &hostile {
            checked += 1;
            let result = parse(&scan_type, bytes);
            if let Some(problem) = misbehaviour(&result) {
                failures.push(format!("{scan_type}, {label}: {problem}"));
            }
            // A hostile document is never a report with findings.
            if let Ok(n @ 1..) = result
                && !label.starts_with("huge")
            {
                failures.push(format!("{scan_type}, {label}: {n} findings from garbage"));
            }
        }
    }
    // Every fixture cut short, read as its own scan type and as every other one.
    for fixture in fixtures() {
        let Some(named) = fixture.scan_type() else {
            continue;
        };
        let Some(active) = registry.scan_type(named) else {
            continue;
        };
        let bytes = std::fs::read(&fixture.report).expect("read report");
        for cut in [bytes.len() / 2, bytes.len().saturating_sub(3)] {
            checked += 1;
            if let Some(problem) = misbehaviour(&parse(&active.name, &bytes[..cut])) {
                failures.push(format!("{} cut at {cut}: {problem}", fixture.name()));
            }
        }
    }
    let known = registry.known_scan_types();
    for (i, fixture) in fixtures().iter().enumerate() {
        // One foreign scan type per fixture, rotating, keeps the run short.
        let other = &known[i % known.len()];
        if fixture.scan_type() == Some(other.as_str()) {
            continue;
        }
        let bytes = std::fs::read(&fixture.report).expect("read report");
        checked += 1;
        if let Some(problem) = misbehaviour(&parse(other, &bytes)) {
            failures.push(format!("{} read as {other}: {problem}", fixture.name()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} bad inputs crashed or stalled a plugin:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
    eprintln!("bad input: {checked} cases, every one findings or a parse error");
}
