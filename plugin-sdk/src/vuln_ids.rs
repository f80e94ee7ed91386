//! Extracting advisory ids (CVE, GHSA) from scanners' text.
//!
//! Recognised forms, case-insensitive, returned upper-cased:
//! - `CVE-YYYY-NNNN`: "CVE", a four-digit year, four or more digits;
//! - `GHSA-xxxx-xxxx-xxxx`: "GHSA" and three groups of four letters or digits.
//!
//! An id must stand alone as a word: "XCVE-2021-1234" or "CVE-2021-1234a" are
//! not ids.

/// Finds every CVE and GHSA id in `text`, upper-cased and de-duplicated in order
/// of appearance.
pub fn find_vulnerability_ids(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let at_word_start = i == 0 || !is_word_byte(bytes[i - 1]);
        if at_word_start
            && bytes[i].is_ascii_alphabetic()
            && let Some(len) = match_id(&bytes[i..])
        {
            let id = text[i..i + len].to_ascii_uppercase();
            if !out.contains(&id) {
                out.push(id);
            }
            i += len;
            continue;
        }
        i += 1;
    }
    out
}

/// Says whether `text` (trimmed) is exactly one CVE or GHSA id.
pub fn is_vulnerability_id(text: &str) -> bool {
    let t = text.trim().as_bytes();
    match_id(t) == Some(t.len()) && !t.is_empty()
}

/// Upper-cases and trims `text` if it is a CVE or GHSA id.
pub fn normalize_vulnerability_id(text: &str) -> Option<String> {
    is_vulnerability_id(text).then(|| text.trim().to_ascii_uppercase())
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80
}

/// Returns the length of the id starting `s` when it is followed by a word end.
fn match_id(s: &[u8]) -> Option<usize> {
    let len = match_cve(s).or_else(|| match_ghsa(s))?;
    match s.get(len) {
        Some(&b) if is_word_byte(b) => None,
        _ => Some(len),
    }
}

fn match_cve(s: &[u8]) -> Option<usize> {
    if s.len() < 13 || !s[..4].eq_ignore_ascii_case(b"cve-") {
        return None;
    }
    if !s[4..8].iter().all(u8::is_ascii_digit) || s[8] != b'-' {
        return None;
    }
    let n = s[9..].iter().take_while(|b| b.is_ascii_digit()).count();
    (n >= 4).then_some(9 + n)
}

fn match_ghsa(s: &[u8]) -> Option<usize> {
    // GHSA-xxxx-xxxx-xxxx = 19 bytes.
    if s.len() < 19 || !s[..5].eq_ignore_ascii_case(b"ghsa-") {
        return None;
    }
    for g in 0..3 {
        let start = 5 + g * 5;
        if !s[start..start + 4].iter().all(u8::is_ascii_alphanumeric) {
            return None;
        }
        if g < 2 && s[start + 4] != b'-' {
            return None;
        }
    }
    Some(19)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cves_and_ghsas_in_order() {
        let t = "Fixes cve-2021-44228 (GHSA-jfh8-c2jp-5v3q) and CVE-2021-45046; \
                 dup CVE-2021-44228, long CVE-2019-1000005.";
        assert_eq!(
            find_vulnerability_ids(t),
            vec![
                "CVE-2021-44228",
                "GHSA-JFH8-C2JP-5V3Q",
                "CVE-2021-45046",
                "CVE-2019-1000005"
            ]
        );
    }

    #[test]
    fn requires_word_boundaries_and_shape() {
        for t in [
            "XCVE-2021-1234",
            "CVE-2021-1234a",
            "CVE-21-1234",
            "CVE-2021-123",
            "CVE-20211-1234",
            "GHSA-abc-defg-hijk",
            "GHSA-abcd-efgh-ijklm",
            "CVE 2021 1234",
            "",
        ] {
            assert!(find_vulnerability_ids(t).is_empty(), "{t:?}");
        }
        assert_eq!(
            find_vulnerability_ids("url/CVE-2020-0001.html"),
            vec!["CVE-2020-0001"]
        );
        assert_eq!(
            find_vulnerability_ids("éCVE-2020-0001 ü CVE-2020-0002"),
            vec!["CVE-2020-0002"]
        );
    }

    #[test]
    fn whole_string_check() {
        assert!(is_vulnerability_id("CVE-2021-44228"));
        assert!(is_vulnerability_id(" cve-2021-44228 "));
        assert!(is_vulnerability_id("GHSA-jfh8-c2jp-5v3q"));
        assert!(!is_vulnerability_id("CVE-2021-44228 extra"));
        assert!(!is_vulnerability_id("CVE-2021"));
        assert!(!is_vulnerability_id(""));
        assert_eq!(
            normalize_vulnerability_id("ghsa-jfh8-c2jp-5v3q").as_deref(),
            Some("GHSA-JFH8-C2JP-5V3Q")
        );
        assert_eq!(normalize_vulnerability_id("RHSA-2020:1234"), None);
    }
}
