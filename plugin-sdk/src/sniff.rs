//! Byte-level checks for `detect`: a report's head may be cut anywhere, may
//! not be valid UTF-8 at the cut, and is searched many times per upload (once
//! per plugin), so these work on bytes and never parse.

use memchr::memmem;

/// How much of a report the host passes to `detect`: its first 256 KiB, cut
/// wherever that falls (inside a UTF-8 character, a JSON string, an XML tag).
pub const HEAD_LEN: usize = 256 * 1024;

/// The head without a UTF-8 byte-order mark.
pub fn without_bom(head: &[u8]) -> &[u8] {
    head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head)
}

/// The first byte that is not ASCII white space, after an optional byte-order mark.
pub fn first_byte(head: &[u8]) -> Option<u8> {
    without_bom(head)
        .iter()
        .copied()
        .find(|b| !b.is_ascii_whitespace())
}

/// Whether the head starts (after blanks) with a JSON object.
pub fn starts_with_object(head: &[u8]) -> bool {
    first_byte(head) == Some(b'{')
}

/// Whether the head starts (after blanks) with a JSON array.
pub fn starts_with_array(head: &[u8]) -> bool {
    first_byte(head) == Some(b'[')
}

/// Whether `needle` occurs anywhere in `head`.
pub fn contains(head: &[u8], needle: &[u8]) -> bool {
    memmem::find(head, needle).is_some()
}

/// Whether `needle` (ASCII) occurs in `head`, ignoring ASCII case.
pub fn contains_ignore_ascii_case(head: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || head
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Whether every one of `needles` occurs in `head`.
pub fn contains_all(head: &[u8], needles: &[&[u8]]) -> bool {
    needles.iter().all(|n| contains(head, n))
}

/// Whether at least one of `needles` occurs in `head`.
pub fn contains_any(head: &[u8], needles: &[&[u8]]) -> bool {
    needles.iter().any(|n| contains(head, n))
}

/// The offset of the first `needle` in `head`.
pub fn find(head: &[u8], needle: &[u8]) -> Option<usize> {
    memmem::find(head, needle)
}

/// The first byte after the first `"key"` and its colon, skipping blanks:
/// `b'"'` when the key's value is a string, `b'['` for an array, and so on.
/// `None` when the key is missing or its value is cut off.
pub fn value_start_after_key(head: &[u8], quoted_key: &[u8]) -> Option<u8> {
    let at = find(head, quoted_key)? + quoted_key.len();
    let mut rest = head[at..]
        .iter()
        .copied()
        .skip_while(u8::is_ascii_whitespace);
    if rest.next()? != b':' {
        return None;
    }
    rest.find(|b| !b.is_ascii_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bytes_skip_bom_and_blanks() {
        assert_eq!(first_byte(b"\xEF\xBB\xBF \n\t[1]"), Some(b'['));
        assert_eq!(first_byte(b"  "), None);
        assert_eq!(first_byte(b""), None);
        assert!(starts_with_object(b"\r\n{\"a\":1}"));
        assert!(!starts_with_object(b"[{}]"));
        assert!(starts_with_array(b"\xEF\xBB\xBF[{}]"));
        assert!(!starts_with_array(b"x["));
    }

    #[test]
    fn searching() {
        let head = br#"{"RuleID":"x","StartLine":3}"#;
        assert!(contains(head, b"\"RuleID\""));
        assert!(!contains(head, b"\"ruleid\""));
        assert!(!contains(b"", b"x"));
        assert!(contains_all(head, &[b"RuleID", b"StartLine"]));
        assert!(!contains_all(head, &[b"RuleID", b"Secret"]));
        assert!(contains_any(head, &[b"Secret", b"StartLine"]));
        assert!(!contains_any(head, &[b"Secret", b"Match"]));
        assert_eq!(find(head, b"StartLine"), Some(15));
        assert!(contains_ignore_ascii_case(
            b"X-Scanner: ACUNETIX360",
            b"acunetix"
        ));
        assert!(!contains_ignore_ascii_case(b"acunetiks", b"acunetix"));
    }

    #[test]
    fn value_kinds_after_keys() {
        let head = br#"{"banner" : "nginx", "list":[1], "cut": "#;
        assert_eq!(value_start_after_key(head, b"\"banner\""), Some(b'"'));
        assert_eq!(value_start_after_key(head, b"\"list\""), Some(b'['));
        assert_eq!(value_start_after_key(head, b"\"cut\""), None);
        assert_eq!(value_start_after_key(head, b"\"missing\""), None);
        assert_eq!(
            value_start_after_key(br#"["banner", 1]"#, b"\"banner\""),
            None
        );
    }
}
