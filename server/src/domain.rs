//! Business rules, independent of GraphQL and HTTP: the hierarchy, findings
//! and their status rules, severities, SLA and deduplication.

pub mod custom_field;
pub mod duplicate;
pub mod finding;
pub mod finding_group;
pub mod hierarchy;
pub mod location;
pub mod note;
pub mod review;
pub mod risk;
pub mod severity;
pub mod sla;
pub mod tag;
pub mod template;
pub mod triage;
pub mod user;

use crate::db::DbError;

/// Errors of domain operations; each names the bad input.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The object does not exist (or the caller may not see it).
    #[error("{kind} {id} not found")]
    NotFound {
        /// Object kind, e.g. "Product".
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    /// An input value is invalid.
    #[error("{field}: {message}")]
    Invalid {
        /// The input field, e.g. "name".
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The write conflicts with existing data (a unique name, say).
    #[error("{0}")]
    Conflict(String),
    /// The action is not allowed on these findings (a rule of their status);
    /// nothing was changed.
    #[error("{message}: findings {finding_ids:?}")]
    Refused {
        /// The findings the rule refuses.
        finding_ids: Vec<i64>,
        /// The rule.
        message: String,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for DomainError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                DomainError::Conflict(format!(
                    "already exists ({})",
                    info.constraint_name().unwrap_or("unique constraint")
                ))
            }
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info) => {
                DomainError::Conflict(format!(
                    "still referenced or references a missing object ({})",
                    info.constraint_name().unwrap_or("foreign key")
                ))
            }
            Error::DatabaseError(DatabaseErrorKind::CheckViolation, info) => DomainError::Invalid {
                field: info.constraint_name().unwrap_or("input").to_owned(),
                message: "violates a consistency rule".to_owned(),
            },
            other => DomainError::Db(DbError::Query(other)),
        }
    }
}

/// Checks a required string's length in characters.
pub fn check_len(field: &str, value: &str, max: usize, required: bool) -> Result<(), DomainError> {
    if required && value.trim().is_empty() {
        return Err(DomainError::Invalid {
            field: field.to_owned(),
            message: "must not be empty".to_owned(),
        });
    }
    let n = value.chars().count();
    if n > max {
        return Err(DomainError::Invalid {
            field: field.to_owned(),
            message: format!("is {n} characters long; at most {max} are allowed"),
        });
    }
    Ok(())
}

/// Checks an optional string's length.
pub fn check_opt_len(field: &str, value: Option<&str>, max: usize) -> Result<(), DomainError> {
    value.map_or(Ok(()), |v| check_len(field, v, max, false))
}

/// Lower-cases, trims and de-duplicates tags, keeping their first order.
pub fn normalize_tags(tags: &[String]) -> Result<Vec<String>, DomainError> {
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for t in tags {
        let t = t.trim().to_lowercase();
        if t.is_empty() {
            continue;
        }
        check_len("tags", &t, 100, true)?;
        if t.contains(',') || t.chars().any(char::is_whitespace) {
            return Err(DomainError::Invalid {
                field: "tags".to_owned(),
                message: format!("tag `{t}` contains a comma or whitespace"),
            });
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_normalised() {
        let tags = normalize_tags(&["Prod".into(), " prod ".into(), "".into(), "PCI".into()])
            .expect("valid");
        assert_eq!(tags, vec!["prod", "pci"]);
        assert!(normalize_tags(&["a b".into()]).is_err());
    }

    #[test]
    fn lengths_are_counted_in_characters() {
        assert!(check_len("name", "ééé", 3, true).is_ok());
        assert!(check_len("name", "éééé", 3, true).is_err());
        assert!(check_len("name", "  ", 3, true).is_err());
    }
}
