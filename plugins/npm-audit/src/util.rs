//! Small accessors over `serde_json::Value` by key (no JSON-pointer formatting,
//! so they stay cheap in per-finding loops).

use serde_json::Value;

/// The trimmed, non-empty string under `key`.
pub fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// [`s`] as an owned `String`.
pub fn so(v: &Value, key: &str) -> Option<String> {
    s(v, key).map(str::to_owned)
}

/// The array under `key` (empty when missing, null or not an array).
pub fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The number under `key` (numeric strings accepted).
pub fn num(v: &Value, key: &str) -> Option<f64> {
    match v.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(t) => t.trim().parse().ok().filter(|f: &f64| f.is_finite()),
        _ => None,
    }
}

/// The strings of the array under `key`, trimmed, blanks dropped.
pub fn strings<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a str> {
    arr(v, key)
        .iter()
        .filter_map(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Appends `**label:** value` as a line when `value` is present.
pub fn push_field(out: &mut String, label: &str, value: Option<&str>) {
    if let Some(value) = value.map(str::trim).filter(|t| !t.is_empty()) {
        out.push_str("**");
        out.push_str(label);
        out.push_str(":** ");
        out.push_str(value);
        out.push('\n');
    }
}

/// Whether `needle` occurs in `head`.
pub fn contains(head: &[u8], needle: &[u8]) -> bool {
    head.windows(needle.len()).any(|w| w == needle)
}
