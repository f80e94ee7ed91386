//! Reading JSON reports safely, and small accessors for loosely typed JSON.
//!
//! [`parse_json`] checks UTF-8 first (a clear message beats serde's), skips a
//! UTF-8 byte-order mark, and maps serde_json's errors to a [`ParseError`]
//! with line and column. Deeply nested input fails on serde_json's recursion
//! limit (128 levels) instead of exhausting the stack.
//!
//! The `*_at` accessors take a JSON pointer ("/a/0/b"; the leading "/" may be
//! left out) and are forgiving about types, since scanners are not: numbers
//! may come as strings and strings as numbers.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::ParseError;

/// Deserialises a JSON report into `T`, with report-friendly errors.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ParseError> {
    let text = utf8_text(bytes)?;
    serde_json::from_str(text).map_err(|e| json_error(&e))
}

/// Parses a JSON report into a [`Value`] tree.
pub fn parse_json_value(bytes: &[u8]) -> Result<Value, ParseError> {
    parse_json(bytes)
}

/// Checks that `bytes` is UTF-8 and returns it as text without a leading byte-order mark.
///
/// The error names the line and column of the first invalid byte.
pub fn utf8_text(bytes: &[u8]) -> Result<&str, ParseError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let column = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
        ParseError::new(format!(
            "the report is not valid UTF-8 text (invalid byte at offset {}); \
             re-export it as UTF-8",
            e.valid_up_to()
        ))
        .at(to_u32(line), to_u32(column))
    })
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Maps a serde_json error to a [`ParseError`] with its location.
pub fn json_error(e: &serde_json::Error) -> ParseError {
    use serde_json::error::Category;
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let detail = full.strip_suffix(&suffix).unwrap_or(&full);
    let message = match e.classify() {
        Category::Eof => format!("the JSON ends unexpectedly (truncated report?): {detail}"),
        Category::Syntax if detail.contains("recursion limit") => {
            format!("the JSON is nested too deeply: {detail}")
        }
        Category::Syntax => format!("invalid JSON: {detail}"),
        Category::Data => format!("unexpected JSON content: {detail}"),
        Category::Io => format!("could not read the JSON: {detail}"),
    };
    let err = ParseError::new(message);
    if e.line() > 0 {
        err.at(to_u32(e.line()), to_u32(e.column()))
    } else {
        err
    }
}

/// Says whether a report head looks like JSON: its first non-blank byte
/// (after an optional byte-order mark) is `{` or `[`.
pub fn starts_like_json(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    matches!(
        head.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

fn at<'a>(value: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.is_empty() || pointer.starts_with('/') {
        value.pointer(pointer)
    } else {
        value.pointer(&format!("/{pointer}"))
    }
}

/// The string at `pointer`, trimmed; `None` when missing, not a string, or blank.
pub fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    at(value, pointer)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The value at `pointer` as text: strings trimmed, numbers and booleans
/// printed; `None` when missing, null, blank, an array or an object.
pub fn string_at(value: &Value, pointer: &str) -> Option<String> {
    value_to_string(at(value, pointer)?)
}

/// A scalar JSON value as text (strings trimmed); `None` for null, blank strings, arrays and objects.
pub fn value_to_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => {
            let t = s.trim();
            (!t.is_empty()).then(|| t.to_owned())
        }
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The non-negative integer at `pointer`, from a number or a numeric string.
pub fn u64_at(value: &Value, pointer: &str) -> Option<u64> {
    match at(value, pointer)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The number at `pointer`, from a number or a numeric string.
pub fn f64_at(value: &Value, pointer: &str) -> Option<f64> {
    match at(value, pointer)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok().filter(|f: &f64| f.is_finite()),
        _ => None,
    }
}

/// The boolean at `pointer`, from a boolean or the strings "true"/"false"
/// (any case), "yes"/"no", "1"/"0", or the numbers 1/0.
pub fn bool_at(value: &Value, pointer: &str) -> Option<bool> {
    match at(value, pointer)? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_u64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// The array at `pointer`, or an empty slice when missing or not an array.
pub fn array_at<'a>(value: &'a Value, pointer: &str) -> &'a [Value] {
    at(value, pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Doc {
        name: String,
        count: u32,
    }

    #[test]
    fn parses_typed_and_skips_bom() {
        let d: Doc = parse_json(b"\xEF\xBB\xBF{\"name\":\"x\",\"count\":2}").unwrap();
        assert_eq!(
            d,
            Doc {
                name: "x".into(),
                count: 2
            }
        );
    }

    #[test]
    fn invalid_utf8_has_clear_message_and_location() {
        let e = parse_json::<Value>(b"{\n  \"a\": \"\xff\"}").unwrap_err();
        assert!(e.message.contains("not valid UTF-8"), "{e}");
        let loc = e.location.unwrap();
        assert_eq!((loc.line, loc.column), (Some(2), Some(9)));
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let e = parse_json::<Value>(b"{\n\"a\": 1,\n\"b\" 2}").unwrap_err();
        assert!(e.message.starts_with("invalid JSON: expected `:`"), "{e}");
        assert!(!e.message.contains("at line"), "{e}");
        let loc = e.location.unwrap();
        assert_eq!(loc.line, Some(3));
        assert_eq!(loc.column, Some(5));
    }

    #[test]
    fn truncated_and_wrong_shape() {
        let e = parse_json::<Value>(b"{\"a\": [1, 2").unwrap_err();
        assert!(e.message.contains("ends unexpectedly"), "{e}");
        let e = parse_json::<Doc>(b"{\"name\": 5, \"count\": 1}").unwrap_err();
        assert!(
            e.message
                .starts_with("unexpected JSON content: invalid type"),
            "{e}"
        );
        let e = parse_json::<Value>(b"").unwrap_err();
        assert!(e.message.contains("ends unexpectedly"), "{e}");
    }

    #[test]
    fn deep_nesting_errors_instead_of_crashing() {
        let n = 100_000;
        let mut deep = vec![b'['; n];
        deep.extend(std::iter::repeat_n(b']', n));
        let e = parse_json::<Value>(&deep).unwrap_err();
        assert!(e.message.contains("nested too deeply"), "{e}");
        let mut deep_obj = b"{\"a\":".repeat(n);
        deep_obj.extend(std::iter::repeat_n(b'}', n));
        assert!(parse_json::<Value>(&deep_obj).is_err());
    }

    #[test]
    fn accessors() {
        let v: Value = serde_json::json!({
            "a": {"b": " text ", "blank": "  ", "n": 42, "ns": " 7 ", "f": "9.8",
                  "t": "TRUE", "one": 1, "no": "no", "list": [1, 2], "null": null}
        });
        assert_eq!(str_at(&v, "/a/b"), Some("text"));
        assert_eq!(str_at(&v, "a/b"), Some("text"));
        assert_eq!(str_at(&v, "/a/blank"), None);
        assert_eq!(str_at(&v, "/a/n"), None);
        assert_eq!(str_at(&v, "/missing"), None);
        assert_eq!(string_at(&v, "/a/n").as_deref(), Some("42"));
        assert_eq!(string_at(&v, "/a/t").as_deref(), Some("TRUE"));
        assert_eq!(string_at(&v, "/a/null"), None);
        assert_eq!(string_at(&v, "/a/list"), None);
        assert_eq!(u64_at(&v, "/a/n"), Some(42));
        assert_eq!(u64_at(&v, "/a/ns"), Some(7));
        assert_eq!(u64_at(&v, "/a/b"), None);
        assert_eq!(f64_at(&v, "/a/f"), Some(9.8));
        assert_eq!(f64_at(&v, "/a/n"), Some(42.0));
        assert_eq!(bool_at(&v, "/a/t"), Some(true));
        assert_eq!(bool_at(&v, "/a/one"), Some(true));
        assert_eq!(bool_at(&v, "/a/no"), Some(false));
        assert_eq!(bool_at(&v, "/a/b"), None);
        assert_eq!(array_at(&v, "/a/list").len(), 2);
        assert!(array_at(&v, "/a/b").is_empty());
        assert!(array_at(&v, "/nope").is_empty());
    }

    #[test]
    fn sniffing() {
        assert!(starts_like_json(b"  \n{\"a\":1}"));
        assert!(starts_like_json(b"\xEF\xBB\xBF["));
        assert!(!starts_like_json(b"<?xml"));
        assert!(!starts_like_json(b""));
    }
}
