//! Mapping scanners' severity words and CVSS scores onto [`Severity`].
//!
//! The word table, matched case-insensitively after trimming, with `_` and
//! `-` read as spaces:
//!
//! | words | severity |
//! |---|---|
//! | `critical`, `crit`, `very high`, `blocker` | Critical |
//! | `high`, `important`, `error` (SARIF level) | High |
//! | `medium`, `moderate`, `med`, `warning`, `warn` (SARIF level) | Medium |
//! | `low`, `note` (SARIF level), `minor` | Low |
//! | anything starting with `info` (`info`, `informational`, `information`...), `none`, `negligible`, `unknown`, `unspecified`, `debug` | Info |
//!
//! Anything else is `None`: the parser decides (often from a CVSS score with
//! [`severity_from_cvss`], otherwise Info). Words some tools use with a
//! different meaning than the table (SonarQube's `CRITICAL` means High there,
//! `MAJOR` means Medium) are the parser's business, not this table's.

use crate::{ParseError, Severity};

/// Maps a scanner's severity word to a [`Severity`], or `None` if the word is unknown.
///
/// See the module documentation for the table. Follows DefectDojo's rule that
/// anything starting with "info" or equal to "none" is Info.
pub fn severity_from_word(word: &str) -> Option<Severity> {
    let lower = word.trim().to_lowercase().replace(['_', '-'], " ");
    let w = lower.split_whitespace().collect::<Vec<_>>().join(" ");
    if w.starts_with("info") {
        return Some(Severity::Info);
    }
    let s = match w.as_str() {
        "critical" | "crit" | "very high" | "veryhigh" | "blocker" => Severity::Critical,
        "high" | "important" | "error" => Severity::High,
        "medium" | "moderate" | "med" | "warning" | "warn" => Severity::Medium,
        "low" | "note" | "minor" => Severity::Low,
        "none" | "negligible" | "unknown" | "unspecified" | "debug" => Severity::Info,
        _ => return None,
    };
    Some(s)
}

/// [`severity_from_word`] with DefectDojo's fallback: a missing or unknown word is Info.
pub fn severity_or_info(word: Option<&str>) -> Severity {
    word.and_then(severity_from_word).unwrap_or(Severity::Info)
}

/// Maps a CVSS v3 (or v4) base score to its qualitative severity band.
///
/// 9.0-10.0 Critical, 7.0-8.9 High, 4.0-6.9 Medium, 0.1-3.9 Low, 0.0 Info.
/// Scores above 10 count as Critical; negative and NaN scores as Info.
pub fn severity_from_cvss(score: f32) -> Severity {
    if score >= 9.0 {
        Severity::Critical
    } else if score >= 7.0 {
        Severity::High
    } else if score >= 4.0 {
        Severity::Medium
    } else if score >= 0.1 {
        Severity::Low
    } else {
        Severity::Info
    }
}

/// Parses a severity word with [`severity_from_word`]; unknown words are errors.
impl std::str::FromStr for Severity {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        severity_from_word(s).ok_or_else(|| {
            ParseError::new(format!(
                "unknown severity {s:?}: expected critical, high, medium, low or info"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_map_case_insensitively() {
        let cases = [
            ("Critical", Severity::Critical),
            ("CRITICAL", Severity::Critical),
            (" very_high ", Severity::Critical),
            ("Very-High", Severity::Critical),
            ("high", Severity::High),
            ("HIGH", Severity::High),
            ("Important", Severity::High),
            ("error", Severity::High),
            ("Medium", Severity::Medium),
            ("moderate", Severity::Medium),
            ("MODERATE", Severity::Medium),
            ("warning", Severity::Medium),
            ("low", Severity::Low),
            ("note", Severity::Low),
            ("info", Severity::Info),
            ("Informational", Severity::Info),
            ("INFORMATION", Severity::Info),
            ("info-only", Severity::Info),
            ("none", Severity::Info),
            ("None", Severity::Info),
            ("Negligible", Severity::Info),
            ("UNKNOWN", Severity::Info),
        ];
        for (word, want) in cases {
            assert_eq!(severity_from_word(word), Some(want), "{word}");
        }
    }

    #[test]
    fn unknown_words_are_none() {
        for w in ["", "  ", "bad", "5", "critical!", "hi", "nonesuch"] {
            assert_eq!(severity_from_word(w), None, "{w:?}");
        }
    }

    #[test]
    fn cvss_bands() {
        assert_eq!(severity_from_cvss(10.0), Severity::Critical);
        assert_eq!(severity_from_cvss(9.0), Severity::Critical);
        assert_eq!(severity_from_cvss(8.9), Severity::High);
        assert_eq!(severity_from_cvss(7.0), Severity::High);
        assert_eq!(severity_from_cvss(6.9), Severity::Medium);
        assert_eq!(severity_from_cvss(4.0), Severity::Medium);
        assert_eq!(severity_from_cvss(3.9), Severity::Low);
        assert_eq!(severity_from_cvss(0.1), Severity::Low);
        assert_eq!(severity_from_cvss(0.0), Severity::Info);
        assert_eq!(severity_from_cvss(-1.0), Severity::Info);
        assert_eq!(severity_from_cvss(f32::NAN), Severity::Info);
        assert_eq!(severity_from_cvss(11.0), Severity::Critical);
    }

    #[test]
    fn from_str() {
        assert_eq!("Moderate".parse::<Severity>().unwrap(), Severity::Medium);
        let err = "whatever".parse::<Severity>().unwrap_err();
        assert!(err.message.contains("whatever"));
    }
}
