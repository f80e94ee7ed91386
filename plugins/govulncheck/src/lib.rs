//! Palisade parser plugin for govulncheck's JSON output ("Govulncheck
//! Scanner"): `govulncheck -json` (v1: a stream, or an array, of messages
//! `{"config"}`, `{"progress"}`, `{"SBOM"}`, `{"osv": OSV record}`,
//! `{"finding": {"osv", "fixed_version", "trace"}}`) and the pre-1.0 object
//! (`{"Calls", "Imports", "Requires", "Vulns"}`). One finding per
//! vulnerability (OSV record) reported. "Govulncheck Scanner V2" reads the
//! same stream by its `finding` messages instead: one finding per
//! vulnerability and module, rated by reachability.

use palisade_plugin_sdk::json::{get_array, get_str, get_string, utf8_text};
use palisade_plugin_sdk::markdown::push_field;
use palisade_plugin_sdk::prelude::*;
use palisade_plugin_sdk::sniff::contains;
use palisade_plugin_sdk::text::iso_date;
use serde_json::Value;

/// The scan type of one finding per OSV record.
pub const SCAN_TYPE: &str = "Govulncheck Scanner";
/// The scan type of one finding per reachable vulnerability and module.
pub const SCAN_TYPE_V2: &str = "Govulncheck Scanner V2";

/// The govulncheck parser.
pub struct Govulncheck;

impl Parser for Govulncheck {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "govulncheck",
            env!("CARGO_PKG_VERSION"),
            vec![
                ScanTypeInfo::new(
                    SCAN_TYPE,
                    "govulncheck -json output (Go vulnerability database findings)",
                    &["json"],
                    DedupeSetting::new(
                        DedupeAlgorithm::UniqueIdFromTool,
                        &["title", "cwe", "line", "file_path", "description"],
                    ),
                ),
                ScanTypeInfo::new(
                    SCAN_TYPE_V2,
                    "govulncheck -json output, one finding per vulnerable module \
                                  with severity from reachability",
                    &["json"],
                    DedupeSetting::new(
                        DedupeAlgorithm::UniqueIdFromTool,
                        &["title", "cwe", "line", "file_path", "description"],
                    ),
                ),
            ],
        )
    }

    fn detect(candidates: &[String], head: &[u8]) -> Option<String> {
        // Both scan types read the same reports; the first one is preferred.
        let scan_type = [SCAN_TYPE, SCAN_TYPE_V2]
            .into_iter()
            .find(|t| candidates.iter().any(|c| c == t))?;
        let yes = palisade_plugin_sdk::json::starts_like_json(head)
            && !contains(head, b"\"runs\"")
            && ((contains(head, b"\"config\"")
                && (contains(head, b"\"govulncheck\"")
                    || contains(head, b"\"protocol_version\"")))
                || (contains(head, b"\"Calls\"") && contains(head, b"\"Imports\"")));
        yes.then(|| scan_type.to_owned())
    }

    fn parse(
        scan_type: &str,
        report: &[u8],
        _options: &Options,
    ) -> Result<Vec<Finding>, ParseError> {
        let text = utf8_text(report)?;
        let data = load(text)?;
        if scan_type == SCAN_TYPE_V2 {
            return v2(&data);
        }
        match data {
            Value::Object(data) => {
                if data.contains_key("runs") {
                    return Err(ParseError::new(
                        "this is a SARIF report (govulncheck -format sarif); import govulncheck's \
                         JSON output (govulncheck -json) instead, or use the SARIF scan type",
                    ));
                }
                legacy(&data)
            }
            Value::Array(messages) => {
                // The reference looks for "osv" in each message; a number,
                // boolean or null cannot be searched.
                if messages
                    .iter()
                    .any(|m| matches!(m, Value::Number(_) | Value::Bool(_) | Value::Null))
                {
                    return Err(ParseError::new(
                        "not a govulncheck report: the messages must be JSON objects",
                    ));
                }
                stream(&messages)
            }
            // A lone scalar holds no vulnerabilities.
            _ => Ok(Vec::new()),
        }
    }
}

/// Reads the report as the reference does: one JSON document, or else a
/// stream of documents gathered line by line (lines are added to a buffer
/// until it parses; a tail that never parses is dropped).
fn load(text: &str) -> Result<Value, ParseError> {
    if let Ok(whole) = serde_json::from_str::<Value>(text) {
        return Ok(whole);
    }
    let mut messages = Vec::new();
    let mut buf = String::new();
    // Parsing the buffer after every line is quadratic in a message's lines;
    // a buffer can only parse when its brackets balance outside strings, so
    // the parse is tried only then (the same messages, read in linear time).
    let mut shape = Shape::default();
    for line in text.split_inclusive('\n') {
        if line.trim().is_empty() {
            continue;
        }
        buf.push_str(line);
        shape.feed(line.as_bytes());
        if !shape.balanced() {
            continue;
        }
        if let Ok(v) = serde_json::from_str::<Value>(&buf) {
            messages.push(v);
            buf.clear();
            shape = Shape::default();
        }
    }
    if messages.is_empty() {
        return Err(ParseError::new(
            "not govulncheck JSON: expected govulncheck -json output (a stream of config, osv \
             and finding messages)",
        ));
    }
    Ok(Value::Array(messages))
}

/// Bracket depth and string state of the text fed so far.
#[derive(Default)]
struct Shape {
    depth: i64,
    in_string: bool,
    escaped: bool,
}

impl Shape {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
            } else {
                match b {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => self.depth -= 1,
                    _ => {}
                }
            }
        }
    }

    /// Whether the text could be one complete JSON value (valid JSON always is balanced).
    fn balanced(&self) -> bool {
        self.depth == 0 && !self.in_string
    }
}

fn missing(what: &str) -> ParseError {
    ParseError::new(format!("an OSV record has no {what}"))
}

/// govulncheck 1.x: one finding per `osv` message, in report order (no merging).
fn stream(messages: &[Value]) -> Result<Vec<Finding>, ParseError> {
    // The trace frames of each OSV id's findings, in report order, gathered once.
    let mut frames: std::collections::HashMap<&str, Vec<&Value>> = std::collections::HashMap::new();
    for f in messages.iter().filter_map(|m| m.get("finding")) {
        if let Some(id) = f.get("osv").and_then(Value::as_str) {
            frames.entry(id).or_default().extend(get_array(f, "trace"));
        }
    }
    messages
        .iter()
        .filter_map(|m| m.get("osv"))
        .map(|osv| {
            let id = osv.get("id").and_then(Value::as_str).unwrap_or_default();
            osv_finding(osv, frames.get(id).map_or(&[], Vec::as_slice))
        })
        .collect()
}

/// The finding of one OSV record; `traces` are the frames of its findings.
fn osv_finding(osv: &Value, traces: &[&Value]) -> Result<Finding, ParseError> {
    let id = osv
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| missing("\"id\""))?;
    let alias = get_array(osv, "aliases")
        .first()
        .and_then(Value::as_str)
        .ok_or_else(|| missing(&format!("alias ({id}): the first alias is its identifier")))?;
    let affected = get_array(osv, "affected")
        .first()
        .ok_or_else(|| missing(&format!("\"affected\" entry ({id})")))?;
    let module = affected
        .get("package")
        .and_then(|p| get_str(p, "name"))
        .ok_or_else(|| missing(&format!("affected package name ({id})")))?;
    let ranges = affected
        .get("ranges")
        .and_then(Value::as_array)
        .ok_or_else(|| missing(&format!("affected ranges ({id})")))?;
    let db_specific = osv
        .get("database_specific")
        .ok_or_else(|| missing(&format!("\"database_specific\" ({id})")))?;
    let events = || ranges.iter().flat_map(|r| get_array(r, "events"));
    let fixed = events().find_map(|e| e.get("fixed")).map(value_text);
    let introduced = events().find_map(|e| e.get("introduced")).map(value_text);
    // The first import path, when the record names one, is the file path.
    let path = affected
        .get("ecosystem_specific")
        .map(|e| get_array(e, "imports"))
        .and_then(|i| i.first())
        .and_then(|i| get_str(i, "path"))
        .filter(|p| !p.is_empty());
    // The version: the first traced frame with one among this record's
    // findings, else the first "introduced" version of its ranges.
    let version = traces
        .iter()
        .find_map(|t| t.get("version"))
        .map(value_text)
        .filter(|v| !v.is_empty())
        .or(introduced)
        .filter(|v| !v.is_empty());
    let title = match path {
        Some(p) => format!("{id} - {module} - {p}"),
        None => format!("{id} - {module}"),
    };
    let db_url = get_str(db_specific, "url");

    let mut description = String::new();
    push_field(&mut description, "Summary", get_str(osv, "summary"));
    if let Some(details) = get_str(osv, "details") {
        description.push_str(details);
        description.push_str("\n\n");
    }
    push_field(&mut description, "Module", Some(module));
    push_field(&mut description, "Version", version.as_deref());
    push_field(&mut description, "Package", path);
    push_field(&mut description, "Fixed version", fixed.as_deref());
    let frames: Vec<String> = traces
        .iter()
        .map(|t| {
            let func = get_str(t, "function").unwrap_or("");
            let pkg = get_str(t, "package")
                .or_else(|| get_str(t, "module"))
                .unwrap_or("");
            match t.get("position") {
                Some(p) => format!(
                    "- {pkg}.{func} ({}:{})",
                    get_str(p, "filename").unwrap_or("?"),
                    p.get("line").map_or_else(String::new, Value::to_string)
                ),
                None => format!("- {pkg}.{func}"),
            }
        })
        .collect();
    if !frames.is_empty() {
        description.push_str("**Traces:**\n");
        description.push_str(&frames.join("\n"));
        description.push('\n');
    }
    let mut refs: Vec<String> = get_array(osv, "references")
        .iter()
        .filter_map(|r| {
            let url = get_str(r, "url")?;
            Some(format!("{}: {url}", get_str(r, "type").unwrap_or("WEB")))
        })
        .collect();
    if let Some(u) = db_url {
        refs.push(format!("Database: {u}"));
    }
    Ok(Finding {
        title,
        // The Go database rates nothing: Info, unless a pipeline added a
        // severity word to the record.
        severity: get_str(osv, "severity")
            .and_then(severity_from_word)
            .unwrap_or(Severity::Info),
        description: clean_string(description),
        impact: get_string(osv, "details"),
        mitigation: fixed
            .as_ref()
            .map(|f| format!("Upgrade {module} to version {f} or later.")),
        references: (!refs.is_empty()).then(|| refs.join("\n")),
        vulnerability_ids: vec![alias.to_owned()],
        file_path: path.map(str::to_owned),
        component_name: Some(module.to_owned()),
        component_version: version,
        fix_available: Some(fixed.is_some()),
        fix_version: fixed,
        unique_id_from_tool: Some(id.to_owned()),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        date: get_str(osv, "published")
            .and_then(iso_date)
            .map(str::to_owned),
        ..Finding::default()
    })
}

/// A JSON value as text (strings without quotes).
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// How far govulncheck traced a vulnerability, from least to most reachable.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Module,
    Package,
    Symbol,
}

impl Level {
    /// The level of a trace's first frame (the vulnerable sink).
    fn of(sink: &Value) -> Level {
        if sink.get("function").is_some() {
            Level::Symbol
        } else if sink.get("package").is_some() {
            Level::Package
        } else {
            Level::Module
        }
    }

    fn name(self) -> &'static str {
        match self {
            Level::Module => "module",
            Level::Package => "package",
            Level::Symbol => "symbol",
        }
    }

    /// Called symbols are High, imported packages Low, required modules Info.
    fn severity(self) -> Severity {
        match self {
            Level::Module => Severity::Info,
            Level::Package => Severity::Low,
            Level::Symbol => Severity::High,
        }
    }
}

/// The module a trace's first frame names ("Unknown" when none).
fn sink_module(sink: &Value) -> &str {
    get_str(sink, "module").unwrap_or("Unknown")
}

/// One vulnerable module of one vulnerability, gathered over its findings.
struct Group<'a> {
    osv: Option<&'a str>,
    module: String,
    version: String,
    level: Level,
    fixed: String,
    traces: Vec<&'a [Value]>,
}

/// "Govulncheck Scanner V2": one finding per (OSV id, module) among the
/// `finding` messages, the module and version from each trace's first frame,
/// severity from the most reachable level seen. Only the streaming format
/// has findings; an object (SARIF aside) or a scalar holds none.
fn v2(data: &Value) -> Result<Vec<Finding>, ParseError> {
    let messages = match data {
        Value::Array(m) => m,
        Value::Object(o) if o.contains_key("runs") => {
            return Err(ParseError::new(
                "this is a SARIF report (govulncheck -format sarif); import govulncheck's \
                 JSON output (govulncheck -json) instead, or use the SARIF scan type",
            ));
        }
        _ => return Ok(Vec::new()),
    };
    let mut records: std::collections::HashMap<&str, &Value> = std::collections::HashMap::new();
    for m in messages {
        if let Some(osv) = m.get("osv") {
            let id = osv
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| missing("\"id\""))?;
            records.insert(id, osv);
        }
    }
    let empty_frame = Value::Object(serde_json::Map::new());
    let mut groups: Vec<Group<'_>> = Vec::new();
    // (OSV id, module) -> position in `groups`.
    let mut index: std::collections::HashMap<(Option<&str>, &str), usize> =
        std::collections::HashMap::new();
    for f in messages.iter().filter_map(|m| m.get("finding")) {
        let osv = f.get("osv").and_then(Value::as_str);
        let trace: &[Value] = f
            .get("trace")
            .and_then(Value::as_array)
            .filter(|t| !t.is_empty())
            .map_or(&[], Vec::as_slice);
        let sink = trace.first().unwrap_or(&empty_frame);
        let module = sink_module(sink).to_owned();
        let level = Level::of(sink);
        let fixed = get_str(f, "fixed_version").unwrap_or("");
        let at = match index.get(&(osv, module.as_str())) {
            Some(&at) => at,
            None => {
                index.insert((osv, sink_module(sink)), groups.len());
                groups.push(Group {
                    osv,
                    module,
                    version: get_str(sink, "version").unwrap_or("").to_owned(),
                    level,
                    fixed: fixed.to_owned(),
                    traces: Vec::new(),
                });
                groups.len() - 1
            }
        };
        if let Some(g) = groups.get_mut(at) {
            g.level = g.level.max(level);
            if g.fixed.is_empty() {
                g.fixed = fixed.to_owned();
            }
            if trace.len() > 1 || sink.get("function").is_some() {
                g.traces.push(trace);
            }
        }
    }
    Ok(groups
        .into_iter()
        .map(|g| v2_finding(&g, g.osv.and_then(|id| records.get(id).copied())))
        .collect())
}

fn v2_finding(g: &Group<'_>, osv: Option<&Value>) -> Finding {
    let id = g.osv.unwrap_or("None");
    let alias = osv
        .map(|o| get_array(o, "aliases"))
        .and_then(|a| a.first())
        .and_then(Value::as_str);
    let db_url = osv
        .and_then(|o| o.get("database_specific"))
        .and_then(|d| get_str(d, "url"));
    let version = Some(g.version.as_str()).filter(|v| !v.is_empty());
    let fixed = Some(g.fixed.as_str()).filter(|v| !v.is_empty());
    let mut description = String::new();
    push_field(
        &mut description,
        "Summary",
        Some(osv.and_then(|o| get_str(o, "summary")).unwrap_or("Unknown")),
    );
    push_field(&mut description, "Vulnerable module", Some(&g.module));
    push_field(&mut description, "Version", version);
    push_field(
        &mut description,
        "Reachability",
        Some(&format!(
            "{} ({} severity)",
            g.level.name(),
            g.level.severity()
        )),
    );
    if let Some(details) = osv.and_then(|o| get_str(o, "details")) {
        push_field(&mut description, "Details", Some(details));
    }
    for trace in &g.traces {
        let frames: Vec<String> = trace
            .iter()
            .map(|t| {
                let symbol = [get_str(t, "package"), get_str(t, "function")]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(".");
                match t.get("position") {
                    Some(p) => format!(
                        "- {symbol} ({}:{})",
                        get_str(p, "filename").unwrap_or("?"),
                        p.get("line").map_or_else(String::new, Value::to_string)
                    ),
                    None => format!("- {symbol}"),
                }
            })
            .collect();
        description.push_str("**Trace:**\n");
        description.push_str(&frames.join("\n"));
        description.push('\n');
    }
    let mut refs: Vec<String> = osv
        .map(|o| get_array(o, "references"))
        .unwrap_or(&[])
        .iter()
        .filter_map(|r| {
            let url = get_str(r, "url")?;
            Some(format!("{}: {url}", get_str(r, "type").unwrap_or("WEB")))
        })
        .collect();
    if let Some(u) = db_url {
        refs.push(format!("Database: {u}"));
    }
    Finding {
        title: format!("{id} - {}", g.module),
        severity: g.level.severity(),
        description: clean_string(description),
        mitigation: fixed.map(|f| format!("Upgrade {} to version {f} or later.", g.module)),
        references: (!refs.is_empty()).then(|| refs.join("\n")),
        vulnerability_ids: alias.map(str::to_owned).into_iter().collect(),
        component_name: Some(g.module.clone()),
        component_version: version.map(str::to_owned),
        fix_available: Some(fixed.is_some()),
        fix_version: fixed.map(str::to_owned),
        unique_id_from_tool: Some(format!("{id}:{}", g.module)),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        ..Finding::default()
    }
}

/// govulncheck before 1.0: `{"Calls": {"Functions": {id: {"CallSites":
/// [{"Parent", "Pos"}]}}}, "Requires": {"Modules": {id: {"Version"}}},
/// "Vulns": [{"OSV", "RequireSink", "CallSink"}]}`. Consecutive entries with
/// the same first alias are one finding.
fn legacy(data: &serde_json::Map<String, Value>) -> Result<Vec<Finding>, ParseError> {
    let Some(vulns) = data.get("Vulns") else {
        return Err(ParseError::new(
            "not a govulncheck report: the object has no \"Vulns\" (nor is it a stream of \
             govulncheck messages)",
        ));
    };
    let vulns = match vulns {
        Value::Null => return Ok(Vec::new()),
        Value::Array(v) => v,
        _ => return Err(ParseError::new("\"Vulns\" is not a list")),
    };
    let alias_of = |v: &Value| -> Result<String, ParseError> {
        v.get("OSV")
            .map(|o| get_array(o, "aliases"))
            .and_then(|a| a.first())
            .map(value_text)
            .ok_or_else(|| ParseError::new("a Vulns entry has no OSV alias"))
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < vulns.len() {
        let alias = alias_of(&vulns[i])?;
        let mut end = i + 1;
        while end < vulns.len() && alias_of(&vulns[end])? == alias {
            end += 1;
        }
        out.push(legacy_group(data, &alias, &vulns[i..end])?);
        i = end;
    }
    Ok(out)
}

fn legacy_group(
    data: &serde_json::Map<String, Value>,
    alias: &str,
    group: &[Value],
) -> Result<Finding, ParseError> {
    let bad = |what: &str| ParseError::new(format!("Vulns entry for {alias}: {what}"));
    let first = group.first().ok_or_else(|| bad("empty group"))?;
    let osv = first.get("OSV").ok_or_else(|| bad("no OSV"))?;
    let id = osv
        .get("id")
        .map(value_text)
        .ok_or_else(|| bad("no OSV id"))?;
    let affected = get_array(osv, "affected")
        .first()
        .ok_or_else(|| bad("no affected entry"))?;
    let module = affected
        .get("package")
        .and_then(|p| p.get("name"))
        .map(value_text)
        .ok_or_else(|| bad("no affected package name"))?;
    let sink = first
        .get("RequireSink")
        .map(value_text)
        .ok_or_else(|| bad("no RequireSink"))?;
    let version = data
        .get("Requires")
        .and_then(|r| r.get("Modules"))
        .and_then(|m| m.get(&sink))
        .and_then(|m| m.get("Version"))
        .map(value_text)
        .ok_or_else(|| bad(&format!("required module {sink} has no Version")))?;
    let reference = get_array(osv, "references")
        .first()
        .and_then(|r| r.get("url"))
        .map(value_text)
        .ok_or_else(|| bad("no reference url"))?;
    let mut symbols: Vec<String> = Vec::new();
    let mut places: Vec<String> = Vec::new();
    for v in group {
        let osv = v.get("OSV").ok_or_else(|| bad("no OSV"))?;
        let names = get_array(osv, "affected")
            .first()
            .and_then(|a| a.get("ecosystem_specific"))
            .map(|e| get_array(e, "imports"))
            .and_then(|i| i.first())
            .and_then(|i| i.get("symbols"))
            .and_then(Value::as_array)
            .ok_or_else(|| bad("no imported symbols"))?;
        symbols.extend(names.iter().map(value_text));
        let call = v.get("CallSink").ok_or_else(|| bad("no CallSink"))?;
        places.extend(call_sites(data, call).map_err(|e| bad(&e))?);
    }
    symbols.sort();
    symbols.dedup();
    places.sort();
    places.dedup();
    Ok(Finding {
        title: id.clone(),
        severity: Severity::Info,
        description: format!("Vulnerable functions: {}", symbols.join("; ")),
        impact: (!places.is_empty()).then(|| places.join("; ")),
        references: Some(reference),
        vulnerability_ids: vec![alias.to_owned()],
        component_name: Some(module),
        component_version: Some(version),
        unique_id_from_tool: Some(id),
        static_finding: Some(true),
        dynamic_finding: Some(false),
        ..Finding::default()
    })
}

/// The call sites of the function a vulnerable call chain starts from: follow
/// each function's first call site's parent up to the entry (parent 1).
fn call_sites(data: &serde_json::Map<String, Value>, node: &Value) -> Result<Vec<String>, String> {
    let functions = data
        .get("Calls")
        .and_then(|c| c.get("Functions"))
        .ok_or("the report has no Calls.Functions")?;
    let sites = |n: &str| -> Result<&Vec<Value>, String> {
        functions
            .get(n)
            .and_then(|f| f.get("CallSites"))
            .and_then(Value::as_array)
            .ok_or_else(|| format!("function {n} has no CallSites"))
    };
    let mut node = value_text(node);
    // A chain longer than the function table loops; the reference never ends.
    for _ in 0..=functions.as_object().map_or(0, serde_json::Map::len) {
        let parent = sites(&node)?
            .first()
            .and_then(|c| c.get("Parent"))
            .ok_or_else(|| format!("function {node} has no call site"))?;
        if parent.as_i64() == Some(1) {
            return Ok(sites(&node)?
                .iter()
                .map(|c| {
                    let pos = c.get("Pos");
                    let field = |k: &str| {
                        pos.and_then(|p| p.get(k))
                            .map_or_else(String::new, value_text)
                    };
                    format!(
                        "{}:{}:{}",
                        field("Filename"),
                        field("Line"),
                        field("Column")
                    )
                })
                .collect());
        }
        node = value_text(parent);
    }
    Err("the call chain loops".to_owned())
}

palisade_plugin_sdk::export_parser!(Govulncheck);

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(report: &str) -> Result<Vec<Finding>, ParseError> {
        Govulncheck::parse(SCAN_TYPE, report.as_bytes(), &Options::default())
    }

    #[test]
    fn empty_reports() {
        assert!(
            parse(r#"[{"config": {"scanner_name": "govulncheck"}}, {"progress": {}}]"#)
                .unwrap()
                .is_empty()
        );
        assert!(
            parse("{\"config\": {}}\n{\"progress\": {}}\n")
                .unwrap()
                .is_empty()
        );
        assert!(
            parse(r#"{"Calls": {}, "Imports": {}, "Vulns": null}"#)
                .unwrap()
                .is_empty()
        );
        assert!(parse("42").unwrap().is_empty());
    }

    const STREAM: &str = r#"{
  "config": {"scanner_name": "govulncheck"}
}
{
  "osv": {"id": "GO-2021-0001", "aliases": ["CVE-2021-1234", "GHSA-a"], "severity": "High",
    "database_specific": {"url": "https://pkg.go.dev/vuln/GO-2021-0001"},
    "affected": [{"package": {"name": "m"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.0"}]}],
                  "ecosystem_specific": {"imports": [{"path": "m/p", "symbols": ["F"]}]}}]}
}
{"osv": {"id": "GO-2021-0002", "aliases": ["GHSA-b"], "database_specific": {}, "affected": [{"package": {"name": "n"},
  "ranges": [{"events": [{"introduced": "1.0.0"}]}]}]}}
{"osv": {"id": "GO-2021-0002", "aliases": ["GHSA-b"], "database_specific": {}, "affected": [{"package": {"name": "n"},
  "ranges": [{"events": [{"introduced": "1.0.0"}]}]}]}}
{"finding": {"osv": "GO-2021-0001", "fixed_version": "v1.2.0", "trace": [{"module": "m"}, {"module": "m", "version": "v1.1.0", "package": "m/q"}]}}
{"finding": {"osv": "GO-2021-0001", "trace": [{"module": "m", "version": "v9"}]}}
{"truncated": 
"#;

    #[test]
    fn stream_one_finding_per_osv_message() {
        let f = parse(STREAM).unwrap();
        // Every osv message is a finding, repeated ones too.
        assert_eq!(f.len(), 3);
        // Title and file path from the record's first import path, not the trace.
        assert_eq!(f[0].title, "GO-2021-0001 - m - m/p");
        assert_eq!(f[0].file_path.as_deref(), Some("m/p"));
        assert_eq!(f[0].component_name.as_deref(), Some("m"));
        // The first traced frame with a version.
        assert_eq!(
            (f[0].severity, f[0].component_version.as_deref()),
            (Severity::High, Some("v1.1.0"))
        );
        assert_eq!(f[0].vulnerability_ids, ["CVE-2021-1234"]);
        assert_eq!(f[0].unique_id_from_tool.as_deref(), Some("GO-2021-0001"));
        assert_eq!(f[0].fix_version.as_deref(), Some("1.2.0"));
        // No import path, no finding: the first introduced version.
        assert_eq!(f[1].title, "GO-2021-0002 - n");
        assert_eq!(
            (f[1].severity, f[1].file_path.as_deref()),
            (Severity::Info, None)
        );
        assert_eq!(f[1].component_version.as_deref(), Some("1.0.0"));
        assert_eq!(f[1].vulnerability_ids, ["GHSA-b"]);
    }

    #[test]
    fn stream_rejections() {
        // No alias, no affected package or no database_specific: unreadable for the reference.
        for osv in [
            r#"{"id": "GO-1", "aliases": [], "database_specific": {}, "affected": [{"package": {"name": "n"}, "ranges": []}]}"#,
            r#"{"id": "GO-1", "aliases": ["A"], "database_specific": {}, "affected": []}"#,
            r#"{"id": "GO-1", "aliases": ["A"], "affected": [{"package": {"name": "n"}, "ranges": []}]}"#,
        ] {
            assert!(parse(&format!("[{{\"osv\": {osv}}}]")).is_err(), "{osv}");
        }
        assert!(parse("[1, 2]").is_err());
    }

    const LEGACY: &str = r#"{"Calls": {"Functions": {
        "1": {"CallSites": [{"Parent": 0}]},
        "2": {"CallSites": [{"Parent": 1, "Pos": {"Filename": "main.go", "Line": 3, "Column": 2}}]},
        "3": {"CallSites": [{"Parent": 2}]}}},
      "Requires": {"Modules": {"5": {"Version": "v1.0.0"}}},
      "Vulns": [
        {"OSV": {"id": "GO-2022-0001", "aliases": ["CVE-2022-1"], "references": [{"url": "r"}],
          "affected": [{"package": {"name": "m"}, "ecosystem_specific": {"imports": [{"symbols": ["A"]}]}}]},
         "RequireSink": 5, "CallSink": 3},
        {"OSV": {"id": "GO-2022-0001", "aliases": ["CVE-2022-1"], "references": [{"url": "r"}],
          "affected": [{"package": {"name": "m"}, "ecosystem_specific": {"imports": [{"symbols": ["B"]}]}}]},
         "RequireSink": 5, "CallSink": 2},
        {"OSV": {"id": "GO-2022-0002", "aliases": ["CVE-2022-2"], "references": [{"url": "r"}],
          "affected": [{"package": {"name": "m"}, "ecosystem_specific": {"imports": [{"symbols": ["C"]}]}}]},
         "RequireSink": 5, "CallSink": 2},
        {"OSV": {"id": "GO-2022-0001", "aliases": ["CVE-2022-1"], "references": [{"url": "r"}],
          "affected": [{"package": {"name": "m"}, "ecosystem_specific": {"imports": [{"symbols": ["A"]}]}}]},
         "RequireSink": 5, "CallSink": 2}]}"#;

    #[test]
    fn legacy_consecutive_entries_of_an_alias_merge() {
        let f = parse(LEGACY).unwrap();
        // The first two entries share an alias; the last one is not next to them.
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].title, "GO-2022-0001");
        assert_eq!(f[0].unique_id_from_tool.as_deref(), Some("GO-2022-0001"));
        assert_eq!(f[0].vulnerability_ids, ["CVE-2022-1"]);
        assert_eq!(
            (
                f[0].component_name.as_deref(),
                f[0].component_version.as_deref()
            ),
            (Some("m"), Some("v1.0.0"))
        );
        assert_eq!(f[0].description, "Vulnerable functions: A; B");
        assert_eq!(f[0].impact.as_deref(), Some("main.go:3:2"));
        assert_eq!(f[0].severity, Severity::Info);
        assert_eq!(f[1].vulnerability_ids, ["CVE-2022-2"]);
    }

    #[test]
    fn legacy_rejections() {
        assert!(parse(r#"{"Calls": {}, "Imports": {}}"#).is_err());
        assert!(parse(&LEGACY.replace("\"RequireSink\": 5", "\"RequireSink\": 6")).is_err());
    }

    #[test]
    fn sarif_empty_and_garbage_are_rejected() {
        let e = parse(r#"{"version": "2.1.0", "runs": []}"#).unwrap_err();
        assert!(e.message.contains("SARIF"));
        for r in ["", "  ", "{", r#"{"matches": []}"#, r#"{"a": 1}{"b": 2}"#] {
            assert!(parse(r).is_err(), "{r}");
        }
        assert!(Govulncheck::parse(SCAN_TYPE, b"{\"osv\":\"\xff\"}", &Options::default()).is_err());
        assert!(parse(&"[".repeat(5000)).is_err());
    }

    #[test]
    fn v2_one_finding_per_vulnerability_and_module() {
        let r = r#"{"osv": {"id": "GO-1", "aliases": ["CVE-1"], "database_specific": {}, "affected": []}}
{"osv": {"id": "GO-2", "aliases": [], "database_specific": {}, "affected": []}}
{"finding": {"osv": "GO-1", "trace": [{"module": "m", "version": "v1.0.0"}]}}
{"finding": {"osv": "GO-1", "fixed_version": "v1.1.0", "trace": [{"module": "m", "version": "v1.0.0", "package": "m/p", "function": "F"}, {"module": "main"}]}}
{"finding": {"osv": "GO-1", "trace": [{"module": "n", "version": "v2.0.0", "package": "n/p"}]}}
{"finding": {"osv": "GO-2", "trace": []}}
{"finding": {"osv": "GO-3", "trace": [{"module": "stdlib", "version": "v1.20.0"}]}}
"#;
        let v2 = |r: &str| Govulncheck::parse(SCAN_TYPE_V2, r.as_bytes(), &Options::default());
        let f = v2(r).unwrap();
        assert_eq!(f.len(), 4);
        // The most reachable level of the group rates it.
        assert_eq!(
            (f[0].title.as_str(), f[0].severity),
            ("GO-1 - m", Severity::High)
        );
        assert_eq!(f[0].unique_id_from_tool.as_deref(), Some("GO-1:m"));
        assert_eq!(f[0].vulnerability_ids, ["CVE-1"]);
        assert_eq!(
            (
                f[0].component_name.as_deref(),
                f[0].component_version.as_deref()
            ),
            (Some("m"), Some("v1.0.0"))
        );
        assert_eq!(f[0].fix_version.as_deref(), Some("v1.1.0"));
        assert_eq!(
            (f[1].title.as_str(), f[1].severity),
            ("GO-1 - n", Severity::Low)
        );
        // No trace: an unknown module; no alias: no id.
        assert_eq!(
            (f[2].title.as_str(), f[2].severity),
            ("GO-2 - Unknown", Severity::Info)
        );
        assert!(f[2].vulnerability_ids.is_empty());
        // A finding without its osv record still counts.
        assert_eq!(f[3].title, "GO-3 - stdlib");
        // The old object format has no finding messages.
        assert!(v2(r#"{"Vulns": []}"#).unwrap().is_empty());
        assert!(v2(r#"{"runs": []}"#).is_err());
    }

    #[test]
    fn detect_is_strict() {
        let both = [SCAN_TYPE_V2.to_owned(), SCAN_TYPE.to_owned()];
        let head = br#"[{"config": {"protocol_version": "v1.0.0", "scanner_name": "govulncheck""#;
        assert_eq!(Govulncheck::detect(&both, head).as_deref(), Some(SCAN_TYPE));
        let v2 = [SCAN_TYPE_V2.to_owned()];
        assert_eq!(
            Govulncheck::detect(&v2, head).as_deref(),
            Some(SCAN_TYPE_V2)
        );
        let c = [SCAN_TYPE.to_owned()];
        let d = |h: &str| Govulncheck::detect(&c, h.as_bytes());
        assert!(
            d(r#"[{"config": {"protocol_version": "v1.0.0", "scanner_name": "govulncheck""#)
                .is_some()
        );
        assert!(d(r#"{"Calls": {"Functions": {}}, "Imports": {"#).is_some());
        assert!(
            d(r#"{"runs": [{"tool": {"driver": {"name": "govulncheck"}}}], "config": 1}"#)
                .is_none()
        );
        assert!(d(r#"{"results": []}"#).is_none());
    }
}
