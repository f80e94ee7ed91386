//! Text clean-up helpers: whitespace, HTML descriptions, truncation, and
//! turning empty strings into `None` (the contract wants `none`, not "").

use std::borrow::Cow;

/// Tidies free text: unifies line endings, trims trailing spaces on each line,
/// collapses runs of blank lines into one, and trims the whole.
pub fn clean(text: &str) -> String {
    if is_clean(text) {
        return text.to_owned();
    }
    clean_lines(text)
}

/// [`clean`] of a string the caller built and owns: returned as it is when
/// there is nothing to tidy (most descriptions), so no copy is made.
pub fn clean_string(text: String) -> String {
    if is_clean(&text) {
        return text;
    }
    clean_lines(&text)
}

/// Whether [`clean`] would return `text` unchanged: no carriage return, no
/// whitespace at either end or before a line break, no two blank lines in a
/// row. One pass over the bytes, far cheaper than rebuilding line by line.
fn is_clean(text: &str) -> bool {
    let bytes = text.as_bytes();
    let (Some(first), Some(last)) = (text.chars().next(), text.chars().next_back()) else {
        return true;
    };
    if first.is_whitespace() || last.is_whitespace() || bytes.contains(&b'\r') {
        return false;
    }
    for (i, _) in text.match_indices('\n') {
        // `i > 0`: the text does not start with whitespace.
        match bytes[i - 1] {
            // A blank line is kept, but not two in a row.
            b'\n' => {
                if i >= 2 && bytes[i - 2] == b'\n' {
                    return false;
                }
            }
            b if b.is_ascii() => {
                if char::from(b).is_whitespace() {
                    return false;
                }
            }
            _ => {
                if text[..i]
                    .chars()
                    .next_back()
                    .is_some_and(char::is_whitespace)
                {
                    return false;
                }
            }
        }
    }
    true
}

fn clean_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = false;
    let unified: Cow<'_, str> = if text.contains('\r') {
        Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(text)
    };
    for line in unified.split('\n') {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run = true;
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if blank_run {
                out.push('\n');
            }
        }
        blank_run = false;
        out.push_str(line);
    }
    match out.len() - out.trim_start().len() {
        0 => out,
        n => out.split_off(n),
    }
}

/// Converts an HTML fragment to plain text.
///
/// Tags are removed; block elements (`p`, `div`, `br`, `li`, `tr`, headings...)
/// become line breaks and list items get a "- " prefix; `script` and `style`
/// contents and comments are dropped; entities are decoded. A `<` that does
/// not start a tag is kept. The result goes through [`clean`].
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&decode_entities(&rest[..lt]));
        let after = &rest[lt + 1..];
        if let Some(body) = after.strip_prefix("!--") {
            rest = body.find("-->").map_or("", |end| &body[end + 3..]);
            continue;
        }
        let starts_tag = after
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '!' || c == '?');
        let Some(gt) = starts_tag.then(|| after.find('>')).flatten() else {
            out.push('<');
            rest = after;
            continue;
        };
        let tag = &after[..gt];
        rest = &after[gt + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        match name.as_str() {
            "script" | "style" if !closing && !tag.ends_with('/') => {
                let close = format!("</{name}");
                rest = find_ci(rest, &close).map_or("", |i| {
                    rest[i..].find('>').map_or("", |g| &rest[i + g + 1..])
                });
            }
            "br" => out.push('\n'),
            "li" if !closing => out.push_str("\n- "),
            "p" => out.push_str("\n\n"),
            "div" | "tr" | "ul" | "ol" | "table" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6"
            | "pre" | "blockquote" | "section" | "article" | "header" | "footer" | "dd" | "dt" => {
                out.push('\n')
            }
            "td" | "th" if closing => out.push(' '),
            _ => {}
        }
    }
    out.push_str(&decode_entities(rest));
    clean(&out)
}

/// Finds `needle` (ASCII) in `hay` ignoring ASCII case.
fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    (0..h.len().saturating_sub(n.len()) + 1)
        .find(|&i| h.len() >= i + n.len() && h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// Decodes HTML character references: the XML five, `&nbsp;` and a few other
/// common named ones, and numeric `&#NN;` / `&#xHH;`. Unknown ones are kept.
pub fn decode_entities(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let decoded = after
            .find(';')
            .filter(|&semi| semi <= 10)
            .and_then(|semi| decode_entity(&after[..semi]).map(|c| (c, semi)));
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn decode_entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        return char::from_u32(code).filter(|&c| c != '\0');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "ndash" => '\u{2013}',
        "mdash" => '\u{2014}',
        "lsquo" => '\u{2018}',
        "rsquo" => '\u{2019}',
        "ldquo" => '\u{201C}',
        "rdquo" => '\u{201D}',
        "hellip" => '\u{2026}',
        "copy" => '\u{A9}',
        "reg" => '\u{AE}',
        "trade" => '\u{2122}',
        "bull" => '\u{2022}',
        "middot" => '\u{B7}',
        _ => return None,
    })
}

/// Returns at most the first `max_chars` characters of `text` (never splits a character).
pub fn truncate_chars(text: &str, max_chars: usize) -> &str {
    match text.char_indices().nth(max_chars) {
        Some((idx, _)) => &text[..idx],
        None => text,
    }
}

/// Like [`truncate_chars`], but ends a shortened text with "…" (counted in `max_chars`).
pub fn truncate_with_ellipsis(text: &str, max_chars: usize) -> String {
    if text.chars().nth(max_chars).is_none() {
        return text.to_owned();
    }
    let mut s = truncate_chars(text, max_chars.saturating_sub(1)).to_owned();
    s.push('\u{2026}');
    s
}

/// The date of an ISO 8601 date or date-time ("2024-03-01T10:00:00Z" gives
/// "2024-03-01"); `None` when the text does not start with `YYYY-MM-DD`.
pub fn iso_date(text: &str) -> Option<&str> {
    let date = text.trim_start().get(..10)?;
    let ok = date.bytes().enumerate().all(|(i, b)| match i {
        4 | 7 => b == b'-',
        _ => b.is_ascii_digit(),
    });
    ok.then_some(date)
}

/// Trims an optional string and returns it owned, or `None` when it is missing or blank.
pub fn non_empty(value: Option<&str>) -> Option<String> {
    value.and_then(non_empty_str)
}

/// Trims `value` and returns it owned, or `None` when it is blank.
pub fn non_empty_str(value: &str) -> Option<String> {
    let t = value.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// Joins the non-blank parts (each trimmed) with `sep`; `None` if all are blank.
pub fn join_non_empty<I, S>(parts: I, sep: &str) -> Option<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out = String::new();
    for p in parts {
        let p = p.as_ref().trim();
        if p.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push_str(sep);
        }
        out.push_str(p);
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_collapses_blank_lines() {
        assert_eq!(clean("  a  \r\n\r\n\r\n\n b\n\nc  \n\n"), "a\n\n b\n\nc");
        assert_eq!(clean(""), "");
        assert_eq!(clean(" \n \n "), "");
        assert_eq!(clean("one\ntwo"), "one\ntwo");
        assert_eq!(clean("x\r\ry"), "x\n\ny");
    }

    #[test]
    fn html_basic() {
        let html = "<p>Hello <b>world</b> &amp; friends</p><p>Line&nbsp;2<br/>Line 3</p>\
                    <ul><li>one</li><li>two &lt;3</li></ul>";
        assert_eq!(
            html_to_text(html),
            "Hello world & friends\n\nLine 2\nLine 3\n\n- one\n- two <3"
        );
    }

    #[test]
    fn html_drops_script_style_comments() {
        let html =
            "a<script type=\"x\">alert('<b>')</script>b<STYLE>p{}</STYLE>c<!-- <p>hidden</p> -->d";
        assert_eq!(html_to_text(html), "abcd");
        assert_eq!(html_to_text("x<!-- unterminated"), "x");
        assert_eq!(html_to_text("x<script>never closed"), "x");
    }

    #[test]
    fn html_keeps_stray_lt() {
        assert_eq!(html_to_text("a < b and 1<2 <"), "a < b and 1<2 <");
        assert_eq!(html_to_text("<td>a</td><td>b</td>"), "a b");
        assert_eq!(html_to_text("<unterminated"), "<unterminated");
    }

    #[test]
    fn entities() {
        assert_eq!(
            decode_entities("&#60;&#x3E;&#X41;&quot;&apos;&copy;"),
            "<>A\"'\u{a9}"
        );
        assert_eq!(decode_entities("&unknown; & &amp"), "&unknown; & &amp");
        assert_eq!(decode_entities("&#0;&#xFFFFFFFF;"), "&#0;&#xFFFFFFFF;");
        assert!(matches!(decode_entities("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn truncation() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("héllo", 10), "héllo");
        assert_eq!(truncate_chars("", 3), "");
        assert_eq!(truncate_chars("abc", 0), "");
        assert_eq!(truncate_with_ellipsis("abcdef", 4), "abc\u{2026}");
        assert_eq!(truncate_with_ellipsis("abcd", 4), "abcd");
        assert_eq!(truncate_with_ellipsis("日本語テキスト", 3), "日本\u{2026}");
    }

    #[test]
    fn iso_dates() {
        assert_eq!(iso_date("2024-03-01T10:00:00Z"), Some("2024-03-01"));
        assert_eq!(iso_date(" 2024-03-01"), Some("2024-03-01"));
        assert_eq!(iso_date("2024-3-1T10:00"), None);
        assert_eq!(iso_date("01/03/2024 10:00"), None);
        assert_eq!(iso_date("2024-03-0"), None);
        assert_eq!(iso_date("2024-03-01é"), Some("2024-03-01"));
        assert_eq!(iso_date("éééééx"), None);
    }

    #[test]
    fn empties() {
        assert_eq!(non_empty(None), None);
        assert_eq!(non_empty(Some("  ")), None);
        assert_eq!(non_empty(Some(" x ")).as_deref(), Some("x"));
        assert_eq!(non_empty_str("").as_deref(), None);
        assert_eq!(
            join_non_empty(["a", " ", " b "], "\n").as_deref(),
            Some("a\nb")
        );
        assert_eq!(join_non_empty(Vec::<String>::new(), ","), None);
    }
}

#[cfg(test)]
mod clean_fast_path {
    use super::{clean, clean_lines, clean_string, is_clean};

    #[test]
    fn clean_text_is_returned_as_it_is() {
        for t in ["", "a", "a\n\nb", "a b\nc", "é\nü", "x\n\ny\nz"] {
            assert!(is_clean(t), "{t:?}");
            assert_eq!(clean(t), t);
            assert_eq!(clean_string(t.to_owned()), t);
        }
        for t in [
            " a",
            "a ",
            "a\n",
            "\na",
            "a\r\nb",
            "a \nb",
            "a\t\nb",
            "a\n\n\nb",
            "a\u{a0}\nb",
            "a\u{3000}",
            "\u{2028}a",
            "a\n \nb",
        ] {
            assert!(!is_clean(t), "{t:?}");
            assert_eq!(clean(t), clean_lines(t), "{t:?}");
        }
    }

    #[test]
    fn the_fast_path_agrees_with_the_slow_one() {
        // Every string of up to five pieces from an alphabet of the cases
        // that matter: whatever `is_clean` accepts, the full clean-up keeps.
        const PIECES: &[&str] = &["a", " ", "\n", "\r", "\t", "\u{a0}", "é", "\u{2003}"];
        let mut stack = vec![String::new()];
        while let Some(s) = stack.pop() {
            if is_clean(&s) {
                assert_eq!(clean_lines(&s), s, "{s:?}");
            }
            assert_eq!(clean(&s), clean_lines(&s), "{s:?}");
            if s.chars().count() < 5 {
                for p in PIECES {
                    stack.push(format!("{s}{p}"));
                }
            }
        }
    }
}
