//! Value conversions shared by the JSON and CSV readers.

use palisade_plugin_sdk::prelude::*;

/// Reads a severity: a known word, or a numeric CVSS-like score.
pub fn severity(raw: &str) -> Option<Severity> {
    severity_from_word(raw).or_else(|| {
        raw.trim()
            .parse::<f32>()
            .ok()
            .filter(|s| (0.0..=10.0).contains(s))
            .map(severity_from_cvss)
    })
}

/// Reads a boolean written as true/false, yes/no, 1/0 (any case).
pub fn boolean(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Some(true),
        "false" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// Normalises a date to "YYYY-MM-DD": accepts ISO dates and date-times,
/// "MM/DD/YYYY", and "DD/MM/YYYY" when the first number cannot be a month.
pub fn date(raw: &str) -> Option<String> {
    let t = raw.trim();
    let (y, m, d) = if let Some(iso) = t.get(..10).filter(|s| s.as_bytes().get(4) == Some(&b'-')) {
        let mut parts = iso.split('-');
        let y: u32 = parts.next()?.parse().ok()?;
        let m: u32 = parts.next()?.parse().ok()?;
        let d: u32 = parts.next()?.parse().ok()?;
        (y, m, d)
    } else {
        let mut parts = t.split(['/', '.', '-']);
        let a: u32 = parts.next()?.trim().parse().ok()?;
        let b: u32 = parts.next()?.trim().parse().ok()?;
        let y: u32 = parts.next()?.trim().get(..4)?.parse().ok()?;
        if a > 12 { (y, b, a) } else { (y, a, b) }
    };
    ((1..=12).contains(&m) && (1..=31).contains(&d) && (1900..=9999).contains(&y))
        .then(|| format!("{y:04}-{m:02}-{d:02}"))
}

/// Says whether text could be a date for a lenient date reader (the
/// reference's): it holds a digit or a month name. Blank text, "N/A" or
/// "unknown" cannot.
pub fn could_be_date(raw: &str) -> bool {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let lower = raw.to_ascii_lowercase();
    raw.bytes().any(|b| b.is_ascii_digit()) || MONTHS.iter().any(|m| lower.contains(m))
}

/// Normalises a date-time: ISO date-times are kept (trimmed), other dates
/// become "YYYY-MM-DD"; `None` when unreadable.
pub fn date_time(raw: &str) -> Option<String> {
    let t = raw.trim();
    if t.len() > 10 && t.as_bytes().get(4) == Some(&b'-') && t.as_bytes().get(10) == Some(&b'T') {
        date(t).map(|_| t.to_owned())
    } else {
        date(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities() {
        assert_eq!(severity("Critical"), Some(Severity::Critical));
        assert_eq!(severity("informational"), Some(Severity::Info));
        assert_eq!(severity("7.5"), Some(Severity::High));
        assert_eq!(severity("11"), None);
        assert_eq!(severity("urgent"), None);
    }

    #[test]
    fn dates() {
        assert_eq!(date("2021-01-06").as_deref(), Some("2021-01-06"));
        assert_eq!(date("2024-01-24T11:02:11Z").as_deref(), Some("2024-01-24"));
        assert_eq!(date("01/30/2018").as_deref(), Some("2018-01-30"));
        assert_eq!(date("28/02/2021").as_deref(), Some("2021-02-28"));
        assert_eq!(date("1/2/2021").as_deref(), Some("2021-01-02"));
        assert_eq!(date("13/13/2021"), None);
        assert_eq!(date("yesterday"), None);
        assert_eq!(date(""), None);
        assert_eq!(
            date_time("2024-02-24T11:02:11Z").as_deref(),
            Some("2024-02-24T11:02:11Z")
        );
        assert_eq!(date_time("28/03/2021").as_deref(), Some("2021-03-28"));
    }

    #[test]
    fn possible_dates() {
        assert!(could_be_date("2021-01-06"));
        assert!(could_be_date("January"));
        assert!(!could_be_date(""));
        assert!(!could_be_date("N/A"));
        assert!(!could_be_date("unknown"));
    }

    #[test]
    fn booleans() {
        assert_eq!(boolean("TRUE"), Some(true));
        assert_eq!(boolean(" False "), Some(false));
        assert_eq!(boolean("maybe"), None);
    }
}
