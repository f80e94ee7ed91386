//! Extracting CWE numbers from scanners' text.
//!
//! Scanners write CWEs as "CWE-79", "cwe_79", "CWE:79", "CWE 79", "CWE-079" or
//! just "79". [`parse_cwe`] reads one such value; [`find_cwes`] finds every
//! "CWE" mention in free text (plain numbers are not searched for there: in
//! prose they are too ambiguous).

/// Reads one CWE value such as "CWE-79", "cwe_79", "CWE:79", "CWE-79: Cross-site
/// Scripting" or plain "79", returning its number.
///
/// Returns `None` for text that is not a CWE, and for CWE 0 (which some tools
/// use to mean "no CWE").
pub fn parse_cwe(text: &str) -> Option<u32> {
    let t = text.trim();
    let (digits, rest) = match strip_cwe_prefix(t) {
        Some(after) => take_digits(after),
        // A plain number must be the whole value.
        None => (t, ""),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if rest.chars().next().is_some_and(|c| c.is_alphanumeric()) {
        return None;
    }
    digits.parse::<u32>().ok().filter(|&n| n != 0)
}

/// Finds every CWE mentioned as "CWE-nnn" (or "CWE_nnn", "CWE:nnn", "CWE nnn")
/// in `text`, de-duplicated in order of appearance.
pub fn find_cwes(text: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i + 3 <= bytes.len() {
        let at_word_start = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if at_word_start && bytes[i..i + 3].eq_ignore_ascii_case(b"cwe") {
            // Byte positions of ASCII matches are char boundaries.
            let after = &text[i + 3..];
            if let Some(after) = strip_separator(after) {
                let (digits, rest) = take_digits(after);
                let ends_word = !rest.chars().next().is_some_and(|c| c.is_alphanumeric());
                if !digits.is_empty()
                    && ends_word
                    && let Ok(n) = digits.parse::<u32>()
                    && n != 0
                    && !out.contains(&n)
                {
                    out.push(n);
                }
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    out
}

/// Strips a leading "CWE" (any case) and one optional separator.
fn strip_cwe_prefix(t: &str) -> Option<&str> {
    let head = t.get(..3)?;
    if !head.eq_ignore_ascii_case("cwe") {
        return None;
    }
    strip_separator(&t[3..])
}

/// Strips one separator ("-", "_", ":", " ", "#", or "- " etc.) before the digits.
fn strip_separator(s: &str) -> Option<&str> {
    let s2 = s.trim_start_matches(['-', '_', ':', '#', '=']);
    if s.len() - s2.len() > 1 {
        return None;
    }
    let s3 = s2.trim_start_matches(' ');
    if s3.starts_with(|c: char| c.is_ascii_digit()) {
        Some(s3)
    } else {
        None
    }
}

/// Splits the leading ASCII digits off `s`.
fn take_digits(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s.split_at(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_spellings() {
        for s in [
            "CWE-79",
            "cwe-79",
            "cwe_79",
            "CWE:79",
            "CWE 79",
            "CWE- 79",
            "CWE-079",
            "79",
            " 79 ",
            "CWE-79: Improper Neutralization",
            "CWE-79 (XSS)",
        ] {
            assert_eq!(parse_cwe(s), Some(79), "{s:?}");
        }
    }

    #[test]
    fn rejects_non_cwes() {
        for s in [
            "",
            "CWE",
            "CWE-",
            "CWE-abc",
            "79abc",
            "7 9",
            "-79",
            "0",
            "CWE-0",
            "CVE-2021-1",
            "CWE-79x",
            "CWE--79",
            "99999999999",
        ] {
            assert_eq!(parse_cwe(s), None, "{s:?}");
        }
    }

    #[test]
    fn finds_in_text() {
        let t = "Relates to CWE-79 and cwe_89; see also CWE:79, CWE 22 and CWE-1321.";
        assert_eq!(find_cwes(t), vec![79, 89, 22, 1321]);
    }

    #[test]
    fn find_requires_word_boundaries() {
        assert_eq!(find_cwes("XCWE-79 CWE-80abc CWE-81"), vec![81]);
        assert_eq!(find_cwes("no cwe here, only 79"), Vec::<u32>::new());
        assert_eq!(find_cwes(""), Vec::<u32>::new());
        assert_eq!(find_cwes("ends with CWE"), Vec::<u32>::new());
    }

    #[test]
    fn find_handles_unicode_around() {
        assert_eq!(find_cwes("é CWE-20 ü, ÇWE-1 CWE-787"), vec![20, 787]);
    }
}
