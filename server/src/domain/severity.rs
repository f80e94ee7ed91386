//! Severity: the five levels, their sort keys and how scanner input maps to them.

use std::fmt;

use async_graphql::Enum;
use serde::{Deserialize, Serialize};

/// How serious a finding is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Enum, Serialize, Deserialize,
)]
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

    /// Reads a stored or user-given severity: exact names case-insensitively,
    /// anything starting with "info" and "none" as Info; nothing else.
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
    fn numerical_severity_sorts_most_severe_first() {
        let mut v: Vec<_> = Severity::ALL.iter().rev().map(|s| s.numerical()).collect();
        v.sort();
        assert_eq!(v, vec!["S0", "S1", "S2", "S3", "S4"]);
        assert!(Severity::Critical.rank() > Severity::Info.rank());
    }
}
