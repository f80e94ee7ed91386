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

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::ParseError;

/// Deserialises a JSON report into `T`, with report-friendly errors.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ParseError> {
    let text = utf8_text(bytes)?;
    serde_json::from_str(text).map_err(|e| json_error(&e))
}

/// Deserialises a JSON report into `T` borrowing from the report: strings
/// without escapes are not copied (see [`Text`]). Same errors as [`parse_json`].
pub fn parse_json_borrowed<'a, T: serde::Deserialize<'a>>(
    bytes: &'a [u8],
) -> Result<T, ParseError> {
    let text = utf8_text(bytes)?;
    serde_json::from_str(text).map_err(|e| json_error(&e))
}

/// Deserialises a JSON report whose top level must be an object into `T`,
/// borrowing from the report (see [`Object`]).
pub fn parse_json_object<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, ParseError> {
    parse_json_borrowed::<Object<T>>(bytes).map(|o| o.0)
}

/// Deserialises a JSON report whose top level must be an array of objects,
/// each into `T`, borrowing from the report (see [`Object`]).
pub fn parse_json_objects<'a, T: serde::Deserialize<'a>>(
    bytes: &'a [u8],
) -> Result<Vec<T>, ParseError> {
    parse_json_borrowed::<Vec<Object<T>>>(bytes)
        .map(|items| items.into_iter().map(|o| o.0).collect())
}

/// A JSON object read as `T`, and nothing else: serde's derived structs also
/// accept an array of their fields in order, which would let garbage such as
/// `[[[]]]` read as a report with findings.
#[derive(Debug, Clone, PartialEq)]
pub struct Object<T>(pub T);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Object<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(std::marker::PhantomData<T>);

        impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for ObjectVisitor<T> {
            type Value = Object<T>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Object)
            }
        }

        deserializer.deserialize_map(ObjectVisitor(std::marker::PhantomData))
    }
}

/// For `#[serde(deserialize_with = "objects")]` on a `Vec<T>` field: an array
/// whose items must be JSON objects (see [`Object`]).
pub fn objects<'de, T, D>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    <Vec<Object<T>> as serde::Deserialize>::deserialize(deserializer)
        .map(|items| items.into_iter().map(|o| o.0).collect())
}

/// [`objects`] for an `Option<Vec<T>>` field (`null` is `None`; add
/// `default` for a missing key).
pub fn optional_objects<'de, T, D>(deserializer: D) -> Result<Option<Vec<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    <Option<Vec<Object<T>>> as serde::Deserialize>::deserialize(deserializer)
        .map(|items| items.map(|items| items.into_iter().map(|o| o.0).collect()))
}

/// For `#[serde(default, deserialize_with = "present")]` on an
/// `Option<Option<T>>` field: `None` when the key is missing, `Some(None)`
/// when it is `null`, so a parser can tell "no such key" (another format)
/// from "nothing found".
pub fn present<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
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
    matches!(crate::sniff::first_byte(head), Some(b'{' | b'['))
}

/// Follows a JSON pointer, the leading "/" optional. Walks the segments
/// itself so that the usual pointer (no `~` escapes) allocates nothing: the
/// accessors run for every field of every finding.
fn at<'a>(value: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.is_empty() {
        return Some(value);
    }
    let path = pointer.strip_prefix('/').unwrap_or(pointer);
    if path.contains('~') {
        return value.pointer(&format!("/{path}"));
    }
    path.split('/').try_fold(value, |v, segment| match v {
        Value::Object(map) => map.get(segment),
        Value::Array(items) => {
            // RFC 6901: an index is digits without a leading zero.
            let valid = !segment.is_empty()
                && segment.bytes().all(|b| b.is_ascii_digit())
                && (segment == "0" || !segment.starts_with('0'));
            items.get(segment.parse::<usize>().ok().filter(|_| valid)?)
        }
        _ => None,
    })
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

/// The trimmed, non-blank string under `key` of an object (by key, with no
/// pointer to format: cheap in per-finding loops).
pub fn get_str<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// [`get_str`], owned.
pub fn get_string(value: &Value, key: &str) -> Option<String> {
    get_str(value, key).map(str::to_owned)
}

/// The array under `key` (empty when missing, null or not an array).
pub fn get_array<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The number under `key`; numeric strings count, non-finite numbers do not.
pub fn get_f64(value: &Value, key: &str) -> Option<f64> {
    match value.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(t) => t.trim().parse().ok().filter(|f: &f64| f.is_finite()),
        _ => None,
    }
}

/// The strings of the array under `key`, trimmed, blanks and non-strings skipped.
pub fn get_strs<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a str> {
    get_array(value, key)
        .iter()
        .filter_map(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// A JSON value read leniently as text, for typed report structs: a string
/// (borrowed from the report unless it has escapes), a number or a boolean as
/// written; `null`, arrays and objects read as missing, skipped without
/// building anything. Scanners change types between versions, and typed
/// structs of these are several times faster than a [`Value`] tree.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Text<'a>(pub Option<Cow<'a, str>>);

impl<'a> Text<'a> {
    /// The text trimmed, `None` when missing or blank.
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref().map(str::trim).filter(|t| !t.is_empty())
    }

    /// [`Text::get`], owned.
    pub fn owned(&self) -> Option<String> {
        self.get().map(str::to_owned)
    }

    /// The text as a positive line or count number (`None` for 0, negatives and words).
    pub fn positive(&self) -> Option<u32> {
        self.get()?.parse::<u32>().ok().filter(|&n| n > 0)
    }

    /// The text as a finite number.
    pub fn number(&self) -> Option<f64> {
        self.get()?.parse::<f64>().ok().filter(|f| f.is_finite())
    }
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> serde::de::Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Borrowed(v))))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_owned()))))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v))))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Borrowed(if v { "true" } else { "false" }))))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Text(None))
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Text(None))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(Text(None))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(Text(None))
    }
}

/// A JSON array read leniently as a list of [`Text`]; a lone scalar is a
/// list of one, and `null` or an object an empty list.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TextList<'a>(pub Vec<Text<'a>>);

impl TextList<'_> {
    /// The items' texts, trimmed, blanks and non-scalars skipped.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(Text::get)
    }
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for TextList<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextListVisitor)
    }
}

struct TextListVisitor;

impl TextListVisitor {
    fn one<'de, E>(item: Result<Text<'de>, E>) -> Result<TextList<'de>, E> {
        item.map(|t| TextList(vec![t]))
    }
}

impl<'de> serde::de::Visitor<'de> for TextListVisitor {
    type Value = TextList<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON array")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element::<Text<'de>>()? {
            items.push(item);
        }
        Ok(TextList(items))
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Self::one(TextVisitor.visit_borrowed_str(v))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Self::one(TextVisitor.visit_str(v))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
        Self::one(TextVisitor.visit_string(v))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Self::one(TextVisitor.visit_u64(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Self::one(TextVisitor.visit_i64(v))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Self::one(TextVisitor.visit_f64(v))
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Self::one(TextVisitor.visit_bool(v))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(TextList::default())
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(TextList::default())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        TextVisitor.visit_map(map).map(|_| TextList::default())
    }
}

/// A JSON value read exactly as a [`Value`] tree would hold it, but with
/// strings borrowed from the report: for typed report structs ported from
/// `Value` code that must keep its handling of unexpected types (a number is
/// not a string for [`Loose::as_str`], and error messages print the value as
/// JSON). Anything but a string is built as a [`Value`], which scanners
/// rarely make us do.
#[derive(Debug, Clone, PartialEq)]
pub enum Loose<'a> {
    /// A JSON string (borrowed unless it has escapes).
    Str(Cow<'a, str>),
    /// Any other JSON value, `null` included.
    Other(Value),
}

impl Loose<'_> {
    /// The string, untrimmed, like [`Value::as_str`]; `None` for anything else.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Loose::Str(s) => Some(s),
            Loose::Other(_) => None,
        }
    }

    /// The value as a [`Value`] (for messages that print it as JSON).
    pub fn to_value(&self) -> Value {
        match self {
            Loose::Str(s) => Value::String(s.clone().into_owned()),
            Loose::Other(v) => v.clone(),
        }
    }

    /// Whether this is JSON `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Loose::Other(Value::Null))
    }
}

impl std::fmt::Display for Loose<'_> {
    /// As [`Value`]'s `Display`: compact JSON.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Loose::Str(_) => self.to_value().fmt(f),
            Loose::Other(v) => v.fmt(f),
        }
    }
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for Loose<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseVisitor)
    }
}

struct LooseVisitor;

impl<'de> serde::de::Visitor<'de> for LooseVisitor {
    type Value = Loose<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Owned(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Loose::Other(Value::from(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Loose::Other(Value::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        // As serde_json's own Value visitor: non-finite numbers are null.
        Ok(Loose::Other(Value::from(v)))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Loose::Other(Value::Bool(v)))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Loose::Other(Value::Null))
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Loose::Other(Value::Null))
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        serde::Deserialize::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
            .map(Loose::Other)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        serde::Deserialize::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            .map(Loose::Other)
    }
}

/// An object key: borrowed from the report unless it has escapes (which
/// are decoded, so `"m\u0073g"` is `msg`, as in a [`Value`] tree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Key<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> serde::de::Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Walks an object's entries for a hand-written `visit_map`: `field` gets
/// each key and the map to read its value from, and returns `false` for a
/// key it does not read (the value is then skipped without building
/// anything). Unlike derived structs, a repeated key is not an error: the
/// caller simply overwrites, so the last one wins, as in a [`Value`] tree.
pub fn for_each_field<'de, A, F>(mut map: A, mut field: F) -> Result<(), A::Error>
where
    A: serde::de::MapAccess<'de>,
    F: FnMut(&str, &mut A) -> Result<bool, A::Error>,
{
    while let Some(key) = map.next_key::<Key<'de>>()? {
        if !field(&key.0, &mut map)? {
            map.next_value::<serde::de::IgnoredAny>()?;
        }
    }
    Ok(())
}

/// A struct read from a JSON object's entries by a hand-written visitor
/// (see [`for_each_field`] and [`loose_object!`](crate::loose_object)).
pub trait FromMap<'de>: Sized {
    /// Reads the struct from the object's entries.
    fn from_map<A: serde::de::MapAccess<'de>>(map: A) -> Result<Self, A::Error>;
}

/// Any JSON value: `Some` when it is an object (read as `T`); anything else
/// is skipped without building anything and reads as `None`, for ports of
/// `Value` code where `value.get(key)` on a non-object simply finds nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct MaybeObject<T>(pub Option<T>);

impl<'de, T: FromMap<'de>> serde::Deserialize<'de> for MaybeObject<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);

        impl<'de, T: FromMap<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = MaybeObject<T>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                T::from_map(map).map(|t| MaybeObject(Some(t)))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(MaybeObject(None))
            }

            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(MaybeObject(None))
            }

            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(MaybeObject(None))
            }

            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(MaybeObject(None))
            }

            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(MaybeObject(None))
            }

            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(MaybeObject(None))
            }

            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(MaybeObject(None))
            }
        }

        deserializer.deserialize_any(V(std::marker::PhantomData))
    }
}

/// A JSON value expected to be an array of objects: the items (`None` for
/// one that is not an object), or anything else as a [`Loose`] value so the
/// caller can reject it as the `Value` code did.
#[derive(Debug, Clone, PartialEq)]
pub enum Items<'a, T> {
    /// An array; each object item read as `T`.
    List(Vec<Option<T>>),
    /// Anything but an array (`null` included).
    Other(Loose<'a>),
}

impl<'de: 'a, 'a, T: FromMap<'de>> serde::Deserialize<'de> for Items<'a, T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);

        impl<'de, T: FromMap<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = Items<'de, T>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while let Some(MaybeObject(item)) = seq.next_element::<MaybeObject<T>>()? {
                    items.push(item);
                }
                Ok(Items::List(items))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                LooseVisitor.visit_map(map).map(Items::Other)
            }

            crate::visit_scalars_as_loose!(Items::Other);
        }

        deserializer.deserialize_any(V(std::marker::PhantomData))
    }
}

/// Writes a hand-written visitor's scalar methods (strings, booleans,
/// numbers, `null`) as "the value as a [`Loose`], passed to `$wrap`": for
/// visitors that read arrays or objects their own way and keep any other
/// value for the error message, as a `Value` tree would have held it.
///
/// ```
/// use palisade_plugin_sdk::json::Loose;
/// use palisade_plugin_sdk::deps::serde::de::{self, Deserializer, SeqAccess, Visitor};
///
/// enum Ids<'a> {
///     List(usize),
///     Other(Loose<'a>),
/// }
///
/// struct V;
/// impl<'de> Visitor<'de> for V {
///     type Value = Ids<'de>;
///     fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str("a list")
///     }
///     fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
///         let mut n = 0;
///         while seq.next_element::<de::IgnoredAny>()?.is_some() {
///             n += 1;
///         }
///         Ok(Ids::List(n))
///     }
///     palisade_plugin_sdk::visit_scalars_as_loose!(Ids::Other);
/// }
///
/// let mut d = palisade_plugin_sdk::deps::serde_json::Deserializer::from_str("\"x\"");
/// assert!(matches!(d.deserialize_any(V), Ok(Ids::Other(Loose::Str(s))) if s == "x"));
/// ```
#[macro_export]
macro_rules! visit_scalars_as_loose {
    ($wrap:expr) => {
        fn visit_borrowed_str<E>(self, v: &'de str) -> ::std::result::Result<Self::Value, E> {
            ::std::result::Result::Ok(($wrap)($crate::json::Loose::Str(
                ::std::borrow::Cow::Borrowed(v),
            )))
        }
        fn visit_str<E>(self, v: &str) -> ::std::result::Result<Self::Value, E> {
            ::std::result::Result::Ok(($wrap)($crate::json::Loose::Str(
                ::std::borrow::Cow::Owned(v.to_owned()),
            )))
        }
        fn visit_string<E>(
            self,
            v: ::std::string::String,
        ) -> ::std::result::Result<Self::Value, E> {
            ::std::result::Result::Ok(($wrap)($crate::json::Loose::Str(
                ::std::borrow::Cow::Owned(v),
            )))
        }
        fn visit_bool<E>(self, v: bool) -> ::std::result::Result<Self::Value, E> {
            ::std::result::Result::Ok(($wrap)($crate::json::Loose::Other(
                $crate::deps::serde_json::Value::Bool(v),
            )))
        }
        fn visit_i64<E>(self, v: i64) -> ::std::result::Result<Self::Value, E> {
            ::std::result::Result::Ok(($wrap)($crate::json::Loose::Other(
                $crate::deps::serde_json::Value::from(v),
            )))
        }
        fn visit_u64<E>(self, v: u64) -> ::std::result::Result<Self::Value, E> {
            ::std::result::Result::Ok(($wrap)($crate::json::Loose::Other(
                $crate::deps::serde_json::Value::from(v),
            )))
        }
        fn visit_f64<E>(self, v: f64) -> ::std::result::Result<Self::Value, E> {
            ::std::result::Result::Ok(($wrap)($crate::json::Loose::Other(
                $crate::deps::serde_json::Value::from(v),
            )))
        }
        fn visit_unit<E>(self) -> ::std::result::Result<Self::Value, E> {
            ::std::result::Result::Ok(($wrap)($crate::json::Loose::Other(
                $crate::deps::serde_json::Value::Null,
            )))
        }
    };
}

/// Declares a struct of `Option<Loose>` fields read from a JSON object by
/// key, a repeated key keeping the last value (as a `Value` tree does) and
/// other keys skipped: `loose_object!(Issue { details = "details", rule = "rule_id" });`
#[macro_export]
macro_rules! loose_object {
    ($(#[$meta:meta])* $name:ident { $($field:ident = $key:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Default)]
        struct $name<'a> {
            $($field: ::std::option::Option<$crate::json::Loose<'a>>,)*
        }

        impl<'de> $crate::json::FromMap<'de> for $name<'de> {
            fn from_map<A: $crate::deps::serde::de::MapAccess<'de>>(
                map: A,
            ) -> ::std::result::Result<Self, A::Error> {
                let mut item = Self::default();
                $crate::json::for_each_field(map, |key, map| {
                    let slot = match key {
                        $($key => &mut item.$field,)*
                        _ => return Ok(false),
                    };
                    *slot = Some(map.next_value()?);
                    Ok(true)
                })?;
                Ok(item)
            }
        }
    };
}

/// Reads a stream of JSON values, each as `T`: JSON Lines (one value per
/// line, blank lines allowed) and values pretty-printed one after another
/// alike. Each error says where the broken value is.
pub fn json_stream<'a, T>(text: &'a str) -> impl Iterator<Item = Result<T, ParseError>> + 'a
where
    T: serde::Deserialize<'a> + 'a,
{
    serde_json::Deserializer::from_str(text)
        .into_iter::<T>()
        .map(|item| item.map_err(|e| json_error(&e)))
}

#[cfg(test)]
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
    fn pointers_follow_rfc_6901() {
        let v: Value =
            serde_json::json!({"a": [{"b": "x"}, {"b": "y"}], "c/d": {"e~f": "z"}, "": "root key"});
        assert_eq!(str_at(&v, "/a/1/b"), Some("y"));
        assert_eq!(str_at(&v, "a/0/b"), Some("x"));
        assert_eq!(str_at(&v, "/a/01/b"), None);
        assert_eq!(str_at(&v, "/a/-/b"), None);
        assert_eq!(str_at(&v, "/a/9/b"), None);
        assert_eq!(str_at(&v, "/c~1d/e~0f"), Some("z"));
        assert_eq!(str_at(&v, "/"), Some("root key"));
        assert!(at(&v, "").is_some_and(Value::is_object));
        assert_eq!(str_at(&v, "/a/0/b/c"), None);
    }

    #[test]
    fn key_accessors() {
        let v: Value = serde_json::json!({
            "s": " a ", "blank": " ", "n": 1.5, "ns": "2", "inf": "inf",
            "list": [" x ", 1, "", "y"], "obj": {}
        });
        assert_eq!(get_str(&v, "s"), Some("a"));
        assert_eq!(get_str(&v, "blank"), None);
        assert_eq!(get_str(&v, "n"), None);
        assert_eq!(get_string(&v, "s").as_deref(), Some("a"));
        assert_eq!(get_f64(&v, "n"), Some(1.5));
        assert_eq!(get_f64(&v, "ns"), Some(2.0));
        assert_eq!(get_f64(&v, "inf"), None);
        assert_eq!(get_f64(&v, "missing"), None);
        assert_eq!(get_array(&v, "list").len(), 4);
        assert!(get_array(&v, "obj").is_empty());
        assert_eq!(get_strs(&v, "list").collect::<Vec<_>>(), ["x", "y"]);
        assert_eq!(get_str(&Value::Null, "s"), None);
    }

    #[test]
    fn borrowed_parsing_and_present_keys() {
        #[derive(Debug, serde::Deserialize)]
        struct Doc<'a> {
            #[serde(borrow, default, deserialize_with = "present")]
            list: Option<Option<Vec<Text<'a>>>>,
        }
        let d: Doc<'_> = parse_json_borrowed(br#"{"list": ["a"]}"#).unwrap();
        assert_eq!(d.list.unwrap().unwrap().len(), 1);
        let d: Doc<'_> = parse_json_borrowed(br#"{"list": null}"#).unwrap();
        assert_eq!(d.list, Some(None));
        let d: Doc<'_> = parse_json_borrowed(b"{}").unwrap();
        assert_eq!(d.list, None);
        let e = parse_json_borrowed::<Doc<'_>>(br#"{"list": {}}"#).unwrap_err();
        assert!(e.message.starts_with("unexpected JSON content"), "{e}");
        assert!(parse_json_borrowed::<Doc<'_>>(b"{\"list\": [\"\xff\"]}").is_err());
    }

    #[test]
    fn objects_only() {
        #[derive(Debug, serde::Deserialize)]
        struct Item<'a> {
            #[serde(borrow, default)]
            name: Text<'a>,
        }
        #[derive(Debug, serde::Deserialize)]
        struct Doc<'a> {
            #[serde(borrow, default, deserialize_with = "optional_objects")]
            items: Option<Vec<Item<'a>>>,
            #[serde(borrow, default, deserialize_with = "objects")]
            more: Vec<Item<'a>>,
        }
        let d: Doc<'_> = parse_json_object(br#"{"items": [{"name": "a"}], "more": [{}]}"#).unwrap();
        assert_eq!(d.items.unwrap()[0].name.get(), Some("a"));
        assert_eq!(d.more.len(), 1);
        let d: Doc<'_> = parse_json_object(br#"{"items": null}"#).unwrap();
        assert!(d.items.is_none() && d.more.is_empty());
        // Derived structs would take these arrays as their fields in order.
        assert!(parse_json_object::<Doc<'_>>(br#"[[{"name": "a"}]]"#).is_err());
        assert!(parse_json_object::<Doc<'_>>(br#"{"items": [["a"]]}"#).is_err());
        assert!(parse_json_object::<Doc<'_>>(br#"{"more": [[]]}"#).is_err());
        let items: Vec<Item<'_>> = parse_json_objects(br#"[{"name": "x"}, {}]"#).unwrap();
        assert_eq!(items.len(), 2);
        assert!(parse_json_objects::<Item<'_>>(br#"[["x"]]"#).is_err());
        let e = parse_json_object::<Doc<'_>>(b"[]").unwrap_err();
        assert!(e.message.contains("expected a JSON object"), "{e}");
    }

    #[test]
    fn lenient_text() {
        #[derive(serde::Deserialize)]
        struct Row<'a> {
            #[serde(borrow, default)]
            a: Text<'a>,
            #[serde(borrow, default)]
            b: Text<'a>,
            #[serde(borrow, default)]
            c: Text<'a>,
            #[serde(borrow, default)]
            d: Text<'a>,
            #[serde(borrow, default)]
            missing: Text<'a>,
        }
        let text = r#"{"a": " x ", "b": 12, "c": [1, {"k": 2}], "d": "a\"b", "other": {}}"#;
        let row: Row<'_> = serde_json::from_str(text).unwrap();
        assert_eq!(row.a.get(), Some("x"));
        assert!(matches!(row.a.0, Some(Cow::Borrowed(_))));
        assert_eq!(row.b.get(), Some("12"));
        assert_eq!(row.b.positive(), Some(12));
        assert_eq!(row.b.number(), Some(12.0));
        assert_eq!(row.c.get(), None);
        assert_eq!(row.d.owned().as_deref(), Some("a\"b"));
        assert_eq!(row.missing.get(), None);
        let n: Text<'_> = serde_json::from_str("-3").unwrap();
        assert_eq!((n.get(), n.positive()), (Some("-3"), None));
        let t: Text<'_> = serde_json::from_str("true").unwrap();
        assert_eq!(t.get(), Some("true"));
        let z: Text<'_> = serde_json::from_str("null").unwrap();
        assert_eq!(z, Text(None));
        let list: TextList<'_> = serde_json::from_str(r#"[" a ", 2, null, [3], ""]"#).unwrap();
        assert_eq!(list.texts().collect::<Vec<_>>(), ["a", "2"]);
        let one: TextList<'_> = serde_json::from_str(r#""solo""#).unwrap();
        assert_eq!(one.texts().collect::<Vec<_>>(), ["solo"]);
        let none: TextList<'_> = serde_json::from_str(r#"{"a": [1]}"#).unwrap();
        assert!(none.0.is_empty());
    }

    #[test]
    fn loose_values_are_value_like() {
        let l: Vec<Loose<'_>> = serde_json::from_str(
            r#"["a", "b\"c", 1, -2, 1.0, true, null, [1], {"z": 1, "a": [2]}]"#,
        )
        .unwrap();
        assert!(matches!(&l[0], Loose::Str(Cow::Borrowed("a"))));
        assert_eq!(l[1].as_str(), Some("b\"c"));
        assert_eq!(l[2].as_str(), None);
        let shown: Vec<String> = l.iter().map(ToString::to_string).collect();
        let values: Vec<Value> = serde_json::from_str(
            r#"["a", "b\"c", 1, -2, 1.0, true, null, [1], {"z": 1, "a": [2]}]"#,
        )
        .unwrap();
        let expected: Vec<String> = values.iter().map(ToString::to_string).collect();
        assert_eq!(shown, expected);
        assert!(l[6].is_null());
        assert_eq!(l.iter().map(Loose::to_value).collect::<Vec<_>>(), values);
    }

    #[test]
    fn fields_last_key_wins() {
        struct Doc(Option<String>, usize);
        impl<'de> serde::Deserialize<'de> for Doc {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = Doc;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("an object")
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        map: A,
                    ) -> Result<Doc, A::Error> {
                        let mut doc = Doc(None, 0);
                        for_each_field(map, |k, m| {
                            doc.1 += 1;
                            Ok(match k {
                                "a" => {
                                    doc.0 =
                                        m.next_value::<Loose<'_>>()?.as_str().map(str::to_owned);
                                    true
                                }
                                _ => false,
                            })
                        })?;
                        Ok(doc)
                    }
                }
                d.deserialize_map(V)
            }
        }
        let d: Doc = serde_json::from_str(r#"{"a": "x", "b": {"c": [1]}, "\u0061": "y"}"#).unwrap();
        assert_eq!((d.0.as_deref(), d.1), (Some("y"), 3));
    }

    #[test]
    fn items_and_loose_objects() {
        crate::loose_object!(Item { a = "a", b = "b" });
        let i: Items<'_, Item<'_>> =
            serde_json::from_str(r#"[{"a": "x", "a": 1, "c": [2]}, 3, null, {"b": "y"}]"#).unwrap();
        let Items::List(items) = i else { panic!() };
        assert_eq!(items.len(), 4);
        let first = items[0].as_ref().unwrap();
        assert_eq!(first.a.as_ref().unwrap().to_string(), "1");
        assert!(first.b.is_none() && items[1].is_none() && items[2].is_none());
        assert_eq!(
            items[3].as_ref().unwrap().b.as_ref().unwrap().as_str(),
            Some("y")
        );
        let i: Items<'_, Item<'_>> = serde_json::from_str(r#"{"a": [1]}"#).unwrap();
        assert!(matches!(i, Items::Other(l) if l.to_string() == r#"{"a":[1]}"#));
        let i: Items<'_, Item<'_>> = serde_json::from_str("null").unwrap();
        assert!(matches!(i, Items::Other(l) if l.is_null()));
    }

    #[test]
    fn streams_of_values() {
        let text = "{\"a\":1}\n\n  {\"a\":2}\n{\n  \"a\": 3\n}\n";
        let values: Vec<Value> = json_stream(text).collect::<Result<_, _>>().unwrap();
        assert_eq!(values.len(), 3);
        assert_eq!(values[2]["a"], 3);
        assert_eq!(json_stream::<Value>("").count(), 0);
        let mut broken = json_stream::<Value>("{\"a\":1}\n{\"a\":");
        assert!(broken.next().unwrap().is_ok());
        let e = broken.next().unwrap().unwrap_err();
        assert!(e.message.contains("ends unexpectedly"), "{e}");
        assert_eq!(e.location.unwrap().line, Some(2));
    }

    #[test]
    fn sniffing() {
        assert!(starts_like_json(b"  \n{\"a\":1}"));
        assert!(starts_like_json(b"\xEF\xBB\xBF["));
        assert!(!starts_like_json(b"<?xml"));
        assert!(!starts_like_json(b""));
    }
}
