//! Severity: the five levels, their sort keys, how user input maps to them and
//! how they are stored.
//!
//! The `findings.severity` column holds the canonical spelling ("Critical" …
//! "Info"). Both sides check it: the database has a CHECK constraint (and a
//! second one tying `numerical_severity` to it), and reading a row turns the
//! text into [`Severity`] with [`Severity::from_stored`], which fails on
//! anything else instead of guessing Info.

use std::fmt;

use async_graphql::Enum;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;
use serde::{Deserialize, Serialize};

// Variants are declared most severe first, so the derived `Ord` sorts Critical
// before Info (like `numerical_severity`); `rank` is for "at least as severe".
// (A `//` comment: the `///` below is the GraphQL enum's description.)
/// How serious a finding is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Enum,
    Serialize,
    Deserialize,
    AsExpression,
    FromSqlRow,
)]
#[diesel(sql_type = Text)]
pub enum Severity {
    /// S0.
    Critical,
    /// S1.
    High,
    /// S2.
    Medium,
    /// S3.
    Low,
    /// S4.
    Info,
}

impl Severity {
    /// All levels, most severe first.
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "Critical",
            Severity::High => "High",
            Severity::Medium => "Medium",
            Severity::Low => "Low",
            Severity::Info => "Info",
        }
    }

    /// `numerical_severity`, which sorts most severe first.
    pub fn numerical(self) -> &'static str {
        match self {
            Severity::Critical => "S0",
            Severity::High => "S1",
            Severity::Medium => "S2",
            Severity::Low => "S3",
            Severity::Info => "S4",
        }
    }

    /// The ranking number (Critical 4 … Info 0).
    pub fn rank(self) -> u8 {
        match self {
            Severity::Critical => 4,
            Severity::High => 3,
            Severity::Medium => 2,
            Severity::Low => 1,
            Severity::Info => 0,
        }
    }

    /// The lower-case key of DefectDojo's statistics blocks (`critical` … `info`).
    pub fn key(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }

    /// Reads the stored spelling and nothing else: the exact, case-sensitive
    /// names of [`Severity::as_str`]. Anything else is an error naming the text.
    pub fn from_stored(s: &str) -> Result<Severity, UnknownSeverity> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownSeverity(s.to_owned()))
    }

    /// Reads a user-given severity: exact names case-insensitively, anything
    /// starting with "info" and "none" as Info; nothing else.
    pub fn parse(s: &str) -> Option<Severity> {
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "critical" => Some(Severity::Critical),
            "high" => Some(Severity::High),
            "medium" => Some(Severity::Medium),
            "low" => Some(Severity::Low),
            "none" => Some(Severity::Info),
            _ if t.starts_with("info") => Some(Severity::Info),
            _ => None,
        }
    }
}

/// Text that is not one of the five stored severity names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity {0:?}: expected Critical, High, Medium, Low or Info")]
pub struct UnknownSeverity(pub String);

impl ToSql<Text, Pg> for Severity {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <str as ToSql<Text, Pg>>::to_sql(self.as_str(), out)
    }
}

impl FromSql<Text, Pg> for Severity {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        let text = std::str::from_utf8(value.as_bytes())?;
        Ok(Severity::from_stored(text)?)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_the_importer() {
        assert_eq!(Severity::parse("HIGH"), Some(Severity::High));
        assert_eq!(Severity::parse("Informational"), Some(Severity::Info));
        assert_eq!(Severity::parse("none"), Some(Severity::Info));
        assert_eq!(Severity::parse("moderate"), None);
    }

    #[test]
    fn stored_names_round_trip_and_nothing_else_reads() {
        for s in Severity::ALL {
            assert_eq!(Severity::from_stored(s.as_str()), Ok(s));
        }
        // The lenient user-input spellings are not stored spellings.
        for text in [
            "high",
            "HIGH",
            "Informational",
            "none",
            "",
            "Severe",
            " High",
        ] {
            let err = Severity::from_stored(text).expect_err(text);
            assert_eq!(err, UnknownSeverity(text.to_owned()));
            assert!(err.to_string().contains(&format!("{text:?}")), "{err}");
        }
    }

    #[test]
    fn ord_and_rank_agree_on_most_severe_first() {
        let mut v = vec![
            Severity::Low,
            Severity::Critical,
            Severity::Info,
            Severity::High,
        ];
        v.sort();
        assert_eq!(
            v,
            vec![
                Severity::Critical,
                Severity::High,
                Severity::Low,
                Severity::Info
            ]
        );
        assert!(Severity::ALL.windows(2).all(|w| w[0].rank() > w[1].rank()));
        let keys: Vec<_> = Severity::ALL.iter().map(|s| s.key()).collect();
        assert_eq!(keys, ["critical", "high", "medium", "low", "info"]);
    }

    #[test]
    fn numerical_severity_sorts_most_severe_first() {
        let mut v: Vec<_> = Severity::ALL.iter().rev().map(|s| s.numerical()).collect();
        v.sort();
        assert_eq!(v, vec!["S0", "S1", "S2", "S3", "S4"]);
        assert!(Severity::Critical.rank() > Severity::Info.rank());
    }
}
