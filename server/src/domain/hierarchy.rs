//! The product hierarchy: validation of product types, products, engagements
//! and tests. Deletes cascade in the database (domain.md §1).

use chrono::NaiveDate;

use super::{DomainError, check_len, check_opt_len};

/// Allowed `business_criticality` values.
pub const BUSINESS_CRITICALITY: [&str; 6] =
    ["very high", "high", "medium", "low", "very low", "none"];
/// Allowed `platform` values.
pub const PLATFORM: [&str; 5] = ["web service", "desktop", "iot", "mobile", "web"];
/// Allowed `lifecycle` values.
pub const LIFECYCLE: [&str; 3] = ["construction", "production", "retirement"];
/// Allowed `origin` values.
pub const ORIGIN: [&str; 6] = [
    "third party library",
    "purchased",
    "contractor",
    "internal",
    "open source",
    "outsourced",
];
/// Allowed engagement statuses.
pub const ENGAGEMENT_STATUS: [&str; 8] = [
    "Not Started",
    "Blocked",
    "Cancelled",
    "Completed",
    "In Progress",
    "On Hold",
    "Scheduled",
    "Waiting for Resource",
];
/// Allowed engagement types.
pub const ENGAGEMENT_TYPE: [&str; 2] = ["Interactive", "CI/CD"];

/// Checks that `value` is one of `allowed`.
pub fn check_choice(field: &str, value: Option<&str>, allowed: &[&str]) -> Result<(), DomainError> {
    match value {
        Some(v) if !allowed.contains(&v) => Err(DomainError::Invalid {
            field: field.to_owned(),
            message: format!("`{v}` is not one of: {}", allowed.join(", ")),
        }),
        _ => Ok(()),
    }
}

/// Validates a product type's name and description.
pub fn validate_product_type(
    name: Option<&str>,
    description: Option<&str>,
) -> Result<(), DomainError> {
    if let Some(n) = name {
        check_len("name", n, 255, true)?;
    }
    check_opt_len("description", description, 4000)
}

/// Validates a product's fields.
pub fn validate_product(
    name: Option<&str>,
    description: Option<&str>,
    business_criticality: Option<&str>,
    platform: Option<&str>,
    lifecycle: Option<&str>,
    origin: Option<&str>,
) -> Result<(), DomainError> {
    if let Some(n) = name {
        check_len("name", n, 255, true)?;
    }
    if let Some(d) = description {
        check_len("description", d, 4000, true)?;
    }
    check_choice(
        "businessCriticality",
        business_criticality,
        &BUSINESS_CRITICALITY,
    )?;
    check_choice("platform", platform, &PLATFORM)?;
    check_choice("lifecycle", lifecycle, &LIFECYCLE)?;
    check_choice("origin", origin, &ORIGIN)
}

/// Validates an engagement's fields.
pub fn validate_engagement(
    name: Option<&str>,
    description: Option<&str>,
    status: Option<&str>,
    engagement_type: Option<&str>,
    target_start: Option<NaiveDate>,
    target_end: Option<NaiveDate>,
) -> Result<(), DomainError> {
    check_opt_len("name", name, 300)?;
    check_opt_len("description", description, 2000)?;
    check_choice("status", status, &ENGAGEMENT_STATUS)?;
    check_choice("engagementType", engagement_type, &ENGAGEMENT_TYPE)?;
    if let (Some(s), Some(e)) = (target_start, target_end)
        && e < s
    {
        return Err(DomainError::Invalid {
            field: "targetEnd".to_owned(),
            message: format!("{e} is before targetStart {s}"),
        });
    }
    Ok(())
}

/// Validates a test's fields.
pub fn validate_test(
    title: Option<&str>,
    percent_complete: Option<i32>,
) -> Result<(), DomainError> {
    check_opt_len("title", title, 255)?;
    if let Some(p) = percent_complete
        && !(0..=100).contains(&p)
    {
        return Err(DomainError::Invalid {
            field: "percentComplete".to_owned(),
            message: "must be between 0 and 100".to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_name_the_allowed_values() {
        let err = validate_product(Some("p"), Some("d"), Some("urgent"), None, None, None)
            .expect_err("invalid");
        assert!(err.to_string().contains("businessCriticality"));
        assert!(err.to_string().contains("very high"));
    }

    #[test]
    fn engagement_end_before_start_is_rejected() {
        let s = NaiveDate::from_ymd_opt(2026, 5, 2);
        let e = NaiveDate::from_ymd_opt(2026, 5, 1);
        assert!(validate_engagement(None, None, None, None, s, e).is_err());
        assert!(validate_engagement(None, None, Some("In Progress"), Some("CI/CD"), e, s).is_ok());
    }
}
