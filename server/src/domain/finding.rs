//! Findings: creation with derived fields, status normalisation and the
//! validation rules of the API, deletion with duplicate re-pointing.
//!
//! The writes ([`create`], [`update`], [`edit_tags`], [`delete`]) each run
//! in one transaction that also records the change in the outbox, so a
//! change and its event commit together.

use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use super::severity::Severity;
use super::sla::SlaDays;
use super::tag::TagEdit;
use super::{DomainError, check_len, check_opt_len, normalize_tags};
use crate::db::models::finding::{Finding, FindingChanges, NewFinding, VulnerabilityId};
use crate::db::models::hierarchy::Test;
use crate::events::{EventKind, EventScope, Outbox};

/// The status flags of a finding (domain.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Status {
    /// Still present and needing attention.
    pub active: bool,
    /// Confirmed by a person.
    pub verified: bool,
    /// Not a real issue.
    pub false_p: bool,
    /// Outside the test's scope.
    pub out_of_scope: bool,
    /// Deliberately accepted.
    pub risk_accepted: bool,
    /// Fixed.
    pub is_mitigated: bool,
    /// Repeats an older finding.
    pub duplicate: bool,
}

impl Status {
    /// The flags of a finding row.
    pub fn of(f: &Finding) -> Status {
        Status {
            active: f.active,
            verified: f.verified,
            false_p: f.false_p,
            out_of_scope: f.out_of_scope,
            risk_accepted: f.risk_accepted,
            is_mitigated: f.is_mitigated,
            duplicate: f.duplicate,
        }
    }
}

/// A requested change of status flags; `None` keeps a flag.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusChange {
    /// New `active`.
    pub active: Option<bool>,
    /// New `verified`.
    pub verified: Option<bool>,
    /// New `false_p`.
    pub false_p: Option<bool>,
    /// New `out_of_scope`.
    pub out_of_scope: Option<bool>,
    /// New `risk_accepted`.
    pub risk_accepted: Option<bool>,
    /// New `is_mitigated`.
    pub is_mitigated: Option<bool>,
}

impl StatusChange {
    /// Whether any flag is requested.
    pub fn is_empty(&self) -> bool {
        self.active.is_none()
            && self.verified.is_none()
            && self.false_p.is_none()
            && self.out_of_scope.is_none()
            && self.risk_accepted.is_none()
            && self.is_mitigated.is_none()
    }
}

/// The outcome of [`apply_status`]: the final flags and what happened to the
/// mitigation stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusOutcome {
    /// Final flags.
    pub status: Status,
    /// `Some(true)`: stamp `mitigated`/`mitigated_by` now (if empty);
    /// `Some(false)`: clear them; `None`: leave them.
    pub stamp_mitigated: Option<bool>,
}

/// Applies a requested status change with the normalisation rules of
/// domain.md §2 and rejects the combinations the API forbids.
pub fn apply_status(before: Status, change: StatusChange) -> Result<StatusOutcome, DomainError> {
    let mut s = before;
    let requested_active = change.active;
    if let Some(v) = change.active {
        s.active = v;
    }
    if let Some(v) = change.verified {
        s.verified = v;
    }
    if let Some(v) = change.false_p {
        s.false_p = v;
    }
    if let Some(v) = change.out_of_scope {
        s.out_of_scope = v;
    }
    if let Some(v) = change.risk_accepted {
        s.risk_accepted = v;
    }
    if let Some(v) = change.is_mitigated {
        s.is_mitigated = v;
    }

    // Explicit contradictions in one request are the caller's mistake.
    if s.duplicate && (change.active == Some(true) || change.verified == Some(true)) {
        return Err(invalid(
            "active",
            "a duplicate cannot be active or verified",
        ));
    }
    if change.false_p == Some(true) && change.verified == Some(true) {
        return Err(invalid("verified", "a false positive cannot be verified"));
    }
    if change.risk_accepted == Some(true) && change.active == Some(true) {
        return Err(invalid(
            "riskAccepted",
            "an active finding cannot be risk accepted",
        ));
    }

    let mut stamp = None;
    // Reactivation clears the closing flags.
    if requested_active == Some(true) && !before.active {
        s.false_p = false;
        s.out_of_scope = false;
        s.is_mitigated = false;
        s.risk_accepted = false;
        stamp = Some(false);
    }
    // False positive and out of scope imply mitigated and inactive.
    if (s.false_p && !before.false_p) || (s.out_of_scope && !before.out_of_scope) {
        s.is_mitigated = true;
        s.active = false;
        s.verified = false;
    }
    // Accepting a risk takes the finding out of the open list.
    if s.risk_accepted && !before.risk_accepted {
        s.active = false;
    }
    if s.is_mitigated && !before.is_mitigated {
        s.active = false;
        stamp = Some(true);
    } else if !s.is_mitigated && before.is_mitigated {
        stamp = Some(false);
    }
    if s.false_p {
        s.verified = false;
    }
    Ok(StatusOutcome {
        status: s,
        stamp_mitigated: stamp,
    })
}

fn invalid(field: &str, message: &str) -> DomainError {
    DomainError::Invalid {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

/// A manual finding as a person enters it.
#[derive(Debug, Clone, Default)]
pub struct FindingInput {
    /// Title (required).
    pub title: String,
    /// Severity (required).
    pub severity: Option<Severity>,
    /// Description (required).
    pub description: String,
    /// Finding date (defaults to today).
    pub date: Option<NaiveDate>,
    /// How to fix.
    pub mitigation: Option<String>,
    /// Consequences.
    pub impact: Option<String>,
    /// Links.
    pub references: Option<String>,
    /// Steps to reproduce.
    pub steps_to_reproduce: Option<String>,
    /// Primary CWE.
    pub cwe: Option<i32>,
    /// CVE/GHSA ids.
    pub vulnerability_ids: Vec<String>,
    /// CVSS v3 vector.
    pub cvssv3: Option<String>,
    /// CVSS v3 score.
    pub cvssv3_score: Option<f64>,
    /// File path.
    pub file_path: Option<String>,
    /// Line.
    pub line: Option<i32>,
    /// Component.
    pub component_name: Option<String>,
    /// Component version.
    pub component_version: Option<String>,
    /// Whether there are locations (for the static/dynamic rule).
    pub has_locations: bool,
    /// Initial status.
    pub active: Option<bool>,
    /// Initial verified flag.
    pub verified: Option<bool>,
    /// Tags.
    pub tags: Vec<String>,
    /// Service.
    pub service: Option<String>,
}

fn blank_to_none(v: Option<String>) -> Option<String> {
    v.and_then(|s| if s.trim().is_empty() { None } else { Some(s) })
}

/// Validates vulnerability ids and puts them in canonical (upper-case) form.
pub fn normalize_vulnerability_ids(ids: &[String]) -> Result<Vec<String>, DomainError> {
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        let t = id.trim();
        if t.is_empty() {
            continue;
        }
        check_len("vulnerabilityIds", t, 50, true)?;
        let t = t.to_uppercase();
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

fn validate_common(input: &FindingInput) -> Result<(), DomainError> {
    check_len("title", &input.title, 511, true)?;
    check_len("description", &input.description, 1_000_000, true)?;
    check_opt_len("filePath", input.file_path.as_deref(), 4000)?;
    check_opt_len("componentName", input.component_name.as_deref(), 500)?;
    check_opt_len("componentVersion", input.component_version.as_deref(), 100)?;
    check_opt_len("cvssv3", input.cvssv3.as_deref(), 117)?;
    check_opt_len("service", input.service.as_deref(), 200)?;
    if let Some(c) = input.cwe
        && c < 0
    {
        return Err(invalid("cwe", "must be a positive CWE number"));
    }
    if let Some(l) = input.line
        && l < 0
    {
        return Err(invalid("line", "must not be negative"));
    }
    if let Some(s) = input.cvssv3_score
        && !(0.0..=10.0).contains(&s)
    {
        return Err(invalid("cvssv3Score", "must be between 0 and 10"));
    }
    Ok(())
}

/// Creates a finding in `test` with its derived fields (numerical severity,
/// static/dynamic, SLA dates) and its vulnerability ids, and records its
/// `created` event.
pub async fn create(
    conn: &mut AsyncPgConnection,
    test: &Test,
    input: FindingInput,
    reporter: Option<i64>,
    today: NaiveDate,
) -> Result<Finding, DomainError> {
    conn.transaction::<_, DomainError, _>(async |c| {
        let row = insert(c, test, input, reporter, today).await?;
        let scope = EventScope::of_finding(&row, reporter);
        Outbox::record(
            c,
            EventKind::Created,
            &scope,
            Some(row.id),
            &serde_json::json!({}),
        )
        .await?;
        Ok(row)
    })
    .await
}

async fn insert(
    conn: &mut AsyncPgConnection,
    test: &Test,
    input: FindingInput,
    reporter: Option<i64>,
    today: NaiveDate,
) -> Result<Finding, DomainError> {
    validate_common(&input)?;
    let severity = input
        .severity
        .ok_or_else(|| invalid("severity", "is required"))?;
    let tags = normalize_tags(&input.tags)?;
    let vulnerability_ids = normalize_vulnerability_ids(&input.vulnerability_ids)?;
    let date = input.date.unwrap_or(today);
    let sla = SlaDays::for_product(conn, test.product_id).await?;
    let file_path = blank_to_none(input.file_path);
    let static_finding = file_path.is_some();
    let active = input.active.unwrap_or(true);
    let verified = input.verified.unwrap_or(false);
    let new = NewFinding {
        test_id: test.id,
        engagement_id: test.engagement_id,
        product_id: test.product_id,
        title: input.title.trim().to_owned(),
        date: Some(date),
        severity,
        numerical_severity: severity.numerical().to_owned(),
        description: input.description,
        mitigation: input.mitigation,
        impact: input.impact,
        references: input.references,
        steps_to_reproduce: input.steps_to_reproduce,
        cwe: input.cwe.unwrap_or(0),
        cve: vulnerability_ids.first().cloned(),
        cvssv3: blank_to_none(input.cvssv3),
        cvssv3_score: input.cvssv3_score.map(|s| s as f32),
        active,
        verified,
        sla_start_date: None,
        sla_expiration_date: sla.expiration(severity, date),
        file_path,
        line: input.line,
        component_name: blank_to_none(input.component_name),
        component_version: blank_to_none(input.component_version),
        reporter_id: reporter,
        static_finding,
        dynamic_finding: !static_finding,
        service: blank_to_none(input.service),
        tags,
        // Set by imports or by later updates, never on creation by hand.
        severity_justification: None,
        param: None,
        payload: None,
        vuln_id_from_tool: None,
        unique_id_from_tool: None,
        cvssv4: None,
        cvssv4_score: None,
        epss_score: None,
        epss_percentile: None,
        false_p: false,
        out_of_scope: false,
        risk_accepted: false,
        under_review: false,
        is_mitigated: false,
        mitigated: None,
        mitigated_by_id: None,
        nb_occurences: None,
        fix_available: None,
        fix_version: None,
        planned_remediation_date: None,
        planned_remediation_version: None,
        hash_code: None,
    };
    let finding = Finding::create(conn, &new).await?;
    if !vulnerability_ids.is_empty() {
        VulnerabilityId::replace(conn, finding.id, &vulnerability_ids).await?;
    }
    Ok(finding)
}

/// A requested edit of a finding; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct FindingUpdate {
    /// New title.
    pub title: Option<String>,
    /// New severity.
    pub severity: Option<Severity>,
    /// New description.
    pub description: Option<String>,
    /// New date.
    pub date: Option<NaiveDate>,
    /// New mitigation text.
    pub mitigation: Option<String>,
    /// New impact text.
    pub impact: Option<String>,
    /// New references.
    pub references: Option<String>,
    /// New CWE.
    pub cwe: Option<i32>,
    /// New vulnerability ids (replacing).
    pub vulnerability_ids: Option<Vec<String>>,
    /// New component.
    pub component_name: Option<String>,
    /// New component version.
    pub component_version: Option<String>,
    /// New file path.
    pub file_path: Option<String>,
    /// New line.
    pub line: Option<i32>,
    /// New planned remediation date.
    pub planned_remediation_date: Option<NaiveDate>,
    /// Status flags.
    pub status: StatusChange,
    /// New tags (replacing).
    pub tags: Option<Vec<String>>,
}

fn not_found(id: i64) -> DomainError {
    DomainError::NotFound {
        kind: "Finding",
        id: id.to_string(),
    }
}

/// Records what changed between `before` and `after`, if anything did.
async fn record_diff(
    conn: &mut AsyncPgConnection,
    before: &Finding,
    after: &Finding,
    actor: Option<i64>,
) -> Result<(), DomainError> {
    let (kind, changes) = crate::events::diff(before, after);
    if changes.as_object().is_some_and(|m| !m.is_empty()) {
        let scope = EventScope::of_finding(after, actor);
        Outbox::record(conn, kind, &scope, Some(after.id), &changes).await?;
    }
    Ok(())
}

/// Edits finding `id`, normalising its status and recomputing its SLA
/// deadline, and records what changed. The row is locked first, so the
/// edit and its event start from the committed state.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: i64,
    update: FindingUpdate,
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Finding, DomainError> {
    conn.transaction::<_, DomainError, _>(async |c| {
        let existing = Finding::find_for_update(c, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let row = apply_update(c, &existing, update, actor, now).await?;
        record_diff(c, &existing, &row, actor).await?;
        Ok(row)
    })
    .await
}

/// Adds or removes tags of finding `id` and records the change; concurrent
/// edits wait for each other, so none is lost.
pub async fn edit_tags(
    conn: &mut AsyncPgConnection,
    id: i64,
    edit: &TagEdit,
    actor: Option<i64>,
) -> Result<Finding, DomainError> {
    conn.transaction::<_, DomainError, _>(async |c| {
        let existing = Finding::find_for_update(c, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let changes = FindingChanges {
            tags: Some(edit.apply(&existing.tags)),
            ..FindingChanges::default()
        };
        let row = Finding::update(c, id, &changes)
            .await?
            .ok_or_else(|| not_found(id))?;
        record_diff(c, &existing, &row, actor).await?;
        Ok(row)
    })
    .await
}

/// Sets or clears custom field values of finding `id` (already checked
/// against their definitions) and records the change.
pub async fn set_custom_fields(
    conn: &mut AsyncPgConnection,
    id: i64,
    values: &std::collections::BTreeMap<i64, Option<serde_json::Value>>,
    actor: Option<i64>,
) -> Result<Finding, DomainError> {
    conn.transaction::<_, DomainError, _>(async |c| {
        let existing = Finding::find_for_update(c, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let changes = FindingChanges {
            custom_fields: Some(super::custom_field::merged(&existing.custom_fields, values)),
            ..FindingChanges::default()
        };
        let row = Finding::update(c, id, &changes)
            .await?
            .ok_or_else(|| not_found(id))?;
        record_diff(c, &existing, &row, actor).await?;
        Ok(row)
    })
    .await
}

/// Deletes finding `id` and records its `deleted` event; its duplicates
/// are handed to the oldest of them.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    id: i64,
    actor: Option<i64>,
) -> Result<(), DomainError> {
    conn.transaction::<_, DomainError, _>(async |c| {
        let existing = Finding::find_for_update(c, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let scope = EventScope::of_finding(&existing, actor);
        Outbox::record(
            c,
            EventKind::Deleted,
            &scope,
            Some(existing.id),
            &serde_json::json!({}),
        )
        .await?;
        remove(c, &existing).await
    })
    .await
}

/// Applies an edit to `existing` (normalising status, recomputing the SLA).
async fn apply_update(
    conn: &mut AsyncPgConnection,
    existing: &Finding,
    update: FindingUpdate,
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Finding, DomainError> {
    if let Some(t) = &update.title {
        check_len("title", t, 511, true)?;
    }
    if let Some(d) = &update.description {
        check_len("description", d, 1_000_000, true)?;
    }
    check_opt_len("filePath", update.file_path.as_deref(), 4000)?;
    check_opt_len("componentName", update.component_name.as_deref(), 500)?;
    check_opt_len("componentVersion", update.component_version.as_deref(), 100)?;
    let before = Status::of(existing);
    let mut changes = FindingChanges {
        title: update.title.map(|t| t.trim().to_owned()),
        description: update.description,
        date: update.date,
        mitigation: update.mitigation.map(Some),
        impact: update.impact.map(Some),
        references: update.references.map(Some),
        cwe: update.cwe,
        file_path: update.file_path.map(|v| blank_to_none(Some(v))),
        line: update.line.map(Some),
        component_name: update.component_name.map(|v| blank_to_none(Some(v))),
        component_version: update.component_version.map(|v| blank_to_none(Some(v))),
        planned_remediation_date: update.planned_remediation_date.map(Some),
        tags: match update.tags {
            Some(t) => Some(normalize_tags(&t)?),
            None => None,
        },
        ..FindingChanges::default()
    };
    let severity = update.severity.unwrap_or(existing.severity);
    if update.severity.is_some() {
        changes.severity = Some(severity);
        changes.numerical_severity = Some(severity.numerical().to_owned());
    }
    if update.severity.is_some() || update.date.is_some() {
        let sla = SlaDays::for_product(conn, existing.product_id).await?;
        let start = existing
            .sla_start_date
            .unwrap_or(update.date.unwrap_or(existing.date));
        changes.sla_expiration_date = Some(sla.expiration(severity, start));
    }
    if !update.status.is_empty() {
        let outcome = apply_status(before, update.status)?;
        let s = outcome.status;
        changes.active = Some(s.active);
        changes.verified = Some(s.verified);
        changes.false_p = Some(s.false_p);
        changes.out_of_scope = Some(s.out_of_scope);
        changes.risk_accepted = Some(s.risk_accepted);
        changes.is_mitigated = Some(s.is_mitigated);
        match outcome.stamp_mitigated {
            Some(true) => {
                changes.mitigated = Some(Some(existing.mitigated.unwrap_or(now)));
                changes.mitigated_by_id = Some(existing.mitigated_by_id.or(actor));
            }
            Some(false) => {
                changes.mitigated = Some(None);
                changes.mitigated_by_id = Some(None);
            }
            None => {}
        }
        if s != before {
            changes.last_status_update = Some(now);
        }
    }
    if let Some(ids) = &update.vulnerability_ids {
        let ids = normalize_vulnerability_ids(ids)?;
        changes.cve = Some(ids.first().cloned());
        VulnerabilityId::replace(conn, existing.id, &ids).await?;
    }
    Finding::update(conn, existing.id, &changes)
        .await?
        .ok_or_else(|| not_found(existing.id))
}

/// Deletes a finding. Its duplicates are handed to the oldest of them, which
/// becomes the new original, so no duplicate is left pointing nowhere.
async fn remove(conn: &mut AsyncPgConnection, finding: &Finding) -> Result<(), DomainError> {
    let heir = crate::db::models::finding::first_duplicate_of(conn, finding.id).await?;
    if let Some(heir) = heir {
        Finding::update(
            conn,
            heir,
            &FindingChanges {
                duplicate: Some(false),
                duplicate_finding_id: Some(None),
                ..FindingChanges::default()
            },
        )
        .await?;
        Finding::repoint_duplicates(conn, finding.id, Some(heir)).await?;
    }
    Finding::delete(conn, finding.id).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> Status {
        Status {
            active: true,
            ..Status::default()
        }
    }

    #[test]
    fn false_positive_closes_and_unverifies() {
        let before = Status {
            verified: true,
            ..open()
        };
        let out = apply_status(
            before,
            StatusChange {
                false_p: Some(true),
                ..Default::default()
            },
        )
        .expect("valid");
        assert!(!out.status.active && !out.status.verified && out.status.is_mitigated);
        assert_eq!(out.stamp_mitigated, Some(true));
    }

    #[test]
    fn reactivation_clears_closing_flags() {
        let before = Status {
            false_p: true,
            is_mitigated: true,
            ..Status::default()
        };
        let out = apply_status(
            before,
            StatusChange {
                active: Some(true),
                ..Default::default()
            },
        )
        .expect("valid");
        assert!(out.status.active && !out.status.false_p && !out.status.is_mitigated);
        assert_eq!(out.stamp_mitigated, Some(false));
    }

    #[test]
    fn forbidden_combinations_are_rejected() {
        let dup = Status {
            duplicate: true,
            ..Status::default()
        };
        assert!(
            apply_status(
                dup,
                StatusChange {
                    active: Some(true),
                    ..Default::default()
                }
            )
            .is_err()
        );
        assert!(
            apply_status(
                open(),
                StatusChange {
                    false_p: Some(true),
                    verified: Some(true),
                    ..Default::default()
                }
            )
            .is_err()
        );
        assert!(
            apply_status(
                open(),
                StatusChange {
                    risk_accepted: Some(true),
                    active: Some(true),
                    ..Default::default()
                }
            )
            .is_err()
        );
    }

    #[test]
    fn risk_acceptance_deactivates() {
        let out = apply_status(
            open(),
            StatusChange {
                risk_accepted: Some(true),
                ..Default::default()
            },
        )
        .expect("valid");
        assert!(!out.status.active && out.status.risk_accepted);
    }

    #[test]
    fn mitigation_stamps_once() {
        let out = apply_status(
            open(),
            StatusChange {
                is_mitigated: Some(true),
                ..Default::default()
            },
        )
        .expect("valid");
        assert!(!out.status.active);
        assert_eq!(out.stamp_mitigated, Some(true));
        let out = apply_status(
            out.status,
            StatusChange {
                is_mitigated: Some(false),
                ..Default::default()
            },
        )
        .expect("valid");
        assert_eq!(out.stamp_mitigated, Some(false));
    }
}
