//! Triage: the actions a person takes on one finding or on many at once:
//! status actions (close as fixed, false positive or out of scope; reopen;
//! verify), bulk edits (severity, tags, planned remediation) and deletes.
//!
//! An action over many findings is one transaction: every finding is locked,
//! checked and changed, or none is. Each changed finding gets one event, and
//! the optional note, in that same transaction. Findings already in the
//! requested state are counted as unchanged and get neither.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use super::finding::{Status, StatusChange, apply_status};
use super::normalize_tags;
use super::note::validate_entry;
use super::severity::Severity;
use super::sla::SlaPolicy;
use super::tag::TagEdit;
use super::{DomainError, check_len};
use crate::db::models::finding::{EditRows, Finding, StatusRows};
use crate::db::models::note::{Note, NoteType};
use crate::events::{EventKind, Outbox};

/// Why a finding is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// Fixed.
    Mitigated,
    /// Not a real issue.
    FalsePositive,
    /// Real, but outside what was tested.
    OutOfScope,
}

/// A status action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusAction {
    /// Close; `mitigated` backdates the fix (never into the future).
    Close {
        /// Why.
        reason: CloseReason,
        /// When it was fixed (default: now, or the date already recorded).
        mitigated: Option<DateTime<Utc>>,
    },
    /// Reopen a closed finding (not a duplicate: reset the duplicate first).
    Reopen,
    /// Set or clear `verified` (a false positive or duplicate cannot be verified).
    Verify(bool),
    /// Any change of flags, normalised by the status rules (a review's outcome).
    Set(StatusChange),
}

impl StatusAction {
    fn change(self) -> StatusChange {
        match self {
            StatusAction::Close { reason, .. } => StatusChange {
                active: Some(false),
                is_mitigated: Some(true),
                false_p: (reason == CloseReason::FalsePositive).then_some(true),
                out_of_scope: (reason == CloseReason::OutOfScope).then_some(true),
                ..StatusChange::default()
            },
            StatusAction::Reopen => StatusChange {
                active: Some(true),
                ..StatusChange::default()
            },
            StatusAction::Verify(v) => StatusChange {
                verified: Some(v),
                ..StatusChange::default()
            },
            StatusAction::Set(change) => change,
        }
    }

    /// The rule this action breaks on `f`, if any.
    fn refusal(self, f: &Finding) -> Option<&'static str> {
        match self {
            StatusAction::Reopen if f.duplicate => {
                Some("a duplicate cannot be reopened; reset it to an original first")
            }
            StatusAction::Verify(true) if f.duplicate => Some("a duplicate cannot be verified"),
            StatusAction::Verify(true) if f.false_p => Some("a false positive cannot be verified"),
            _ => None,
        }
    }
}

/// A note that goes with an action, added to every changed finding.
#[derive(Debug, Clone, Default)]
pub struct ActionNote {
    /// The text.
    pub entry: String,
    /// The name of an active note type.
    pub note_type: Option<String>,
    /// Only for its author, superusers and the product's Maintainers and Owners.
    pub private: bool,
}

impl ActionNote {
    /// Checks the text and the note type's name.
    pub fn validate(&self) -> Result<(), DomainError> {
        validate_entry(&self.entry)?;
        if let Some(t) = &self.note_type {
            check_len("noteType", t, 100, true)?;
        }
        Ok(())
    }

    /// The note's type, which must exist and be active.
    pub async fn note_type(
        &self,
        c: &mut AsyncPgConnection,
    ) -> Result<Option<NoteType>, DomainError> {
        match self.note_type.as_deref() {
            Some(name) => match NoteType::by_name(c, name.trim()).await? {
                Some(t) if t.is_active => Ok(Some(t)),
                Some(_) => Err(invalid("noteType", "this note type is not active")),
                None => Err(invalid("noteType", "no note type has this name")),
            },
            None => Ok(None),
        }
    }
}

/// Refuses a note of a single-note type on findings that already carry one.
pub async fn check_single(
    c: &mut AsyncPgConnection,
    note_type: Option<&NoteType>,
    finding_ids: &[i64],
) -> Result<(), DomainError> {
    let Some(t) = note_type.filter(|t| t.is_single) else {
        return Ok(());
    };
    let taken: Vec<i64> = NoteType::present_on(c, finding_ids, &[t.id])
        .await?
        .into_iter()
        .filter_map(|(f, _)| f)
        .collect();
    if taken.is_empty() {
        return Ok(());
    }
    Err(DomainError::Refused {
        finding_ids: taken,
        message: format!(
            "a finding takes one note of type `{}` and these have it",
            t.name
        ),
    })
}

/// What an action did.
#[derive(Debug, Clone, Default)]
pub struct TriageOutcome {
    /// The changed findings as they are now, in id order.
    pub changed: Vec<Finding>,
    /// Findings already in the requested state, left alone.
    pub unchanged: Vec<i64>,
}

fn invalid(field: &str, message: impl Into<String>) -> DomainError {
    DomainError::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// The row after `action`, or `None` when nothing changes.
pub(crate) fn next_state(
    before: &Finding,
    action: StatusAction,
    policy: SlaPolicy,
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Option<Finding>, DomainError> {
    let outcome = apply_status(Status::of(before), action.change())?;
    let s = outcome.status;
    if s == Status::of(before) {
        return Ok(None);
    }
    let mut after = before.clone();
    after.active = s.active;
    after.verified = s.verified;
    after.false_p = s.false_p;
    after.out_of_scope = s.out_of_scope;
    after.risk_accepted = s.risk_accepted;
    after.is_mitigated = s.is_mitigated;
    after.last_status_update = now;
    after.updated_at = now;
    match outcome.stamp_mitigated {
        Some(true) => {
            let when = match action {
                StatusAction::Close {
                    mitigated: Some(m), ..
                } => m,
                _ => before.mitigated.unwrap_or(now),
            };
            after.mitigated = Some(when);
            after.mitigated_by_id = actor.or(before.mitigated_by_id);
        }
        Some(false) => {
            after.mitigated = None;
            after.mitigated_by_id = None;
        }
        None => {}
    }
    // A reopened finding's clock starts again where the product says so.
    if !before.active && after.active && policy.restart_on_reactivation {
        let today: NaiveDate = now.date_naive();
        after.sla_start_date = Some(today);
        after.sla_expiration_date = policy.days.expiration(after.severity, today);
    }
    Ok(Some(after))
}

/// Locks the findings `ids` for the transaction; one gone meanwhile is
/// `NotFound`.
pub(crate) async fn lock_all(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
) -> Result<Vec<Finding>, DomainError> {
    let rows = Finding::lock_many(conn, ids).await?;
    if rows.len() != ids.len() {
        let found: BTreeSet<i64> = rows.iter().map(|r| r.id).collect();
        let missing = ids
            .iter()
            .find(|i| !found.contains(i))
            .copied()
            .unwrap_or(0);
        return Err(DomainError::NotFound {
            kind: "Finding",
            id: missing.to_string(),
        });
    }
    Ok(rows)
}

/// The SLA policies of the products of `rows`.
pub(crate) async fn policies_of(
    conn: &mut AsyncPgConnection,
    rows: &[Finding],
) -> Result<std::collections::HashMap<i64, SlaPolicy>, DomainError> {
    let products: Vec<i64> = rows
        .iter()
        .map(|r| r.product_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Ok(SlaPolicy::for_products(conn, &products).await?)
}

/// Refuses to close findings that lack a note of a type required on close
/// (neither already on the finding nor the action's own note).
pub(crate) async fn require_mandatory_notes(
    c: &mut AsyncPgConnection,
    closing: &[Finding],
    with_type: Option<i64>,
) -> Result<(), DomainError> {
    let required: Vec<NoteType> = NoteType::mandatory(c)
        .await?
        .into_iter()
        .filter(|t| Some(t.id) != with_type)
        .collect();
    if required.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = closing.iter().map(|f| f.id).collect();
    let type_ids: Vec<i64> = required.iter().map(|t| t.id).collect();
    let present: BTreeSet<(i64, i64)> = NoteType::present_on(c, &ids, &type_ids)
        .await?
        .into_iter()
        .filter_map(|(f, t)| Some((f?, t?)))
        .collect();
    for t in &required {
        let lacking: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|f| !present.contains(&(*f, t.id)))
            .collect();
        if !lacking.is_empty() {
            return Err(DomainError::Refused {
                finding_ids: lacking,
                message: format!(
                    "closing needs a note of type `{}` (on the finding or with the action)",
                    t.name
                ),
            });
        }
    }
    Ok(())
}

/// Records one event per changed finding: the hand-edit diff of `before`
/// and `after`, plus what `extra` adds to it.
async fn record_changes(
    conn: &mut AsyncPgConnection,
    actor: Option<i64>,
    before: &[&Finding],
    after: &[Finding],
    extra: impl Fn(&Finding, &Finding, &mut serde_json::Map<String, serde_json::Value>),
) -> Result<(), DomainError> {
    let mut kinds = Vec::with_capacity(after.len());
    let mut changes = Vec::with_capacity(after.len());
    for (b, a) in before.iter().zip(after) {
        let (kind, mut diff) = crate::events::diff(b, a);
        if let Some(map) = diff.as_object_mut() {
            extra(b, a, map);
        }
        kinds.push(kind);
        changes.push(diff.to_string());
    }
    let changed: Vec<&Finding> = after.iter().collect();
    Ok(Outbox::record_findings(conn, actor, &kinds, &changed, &changes).await?)
}

/// Applies `action` to the findings `ids` (each at most once; the caller has
/// checked it may write them), with `note` on each changed one.
///
/// Every finding is locked for the transaction; a finding gone meanwhile is
/// `NotFound`, a finding the action's rules refuse fails the whole call with
/// [`DomainError::Refused`] naming all of them.
pub async fn apply(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    action: StatusAction,
    note: Option<&ActionNote>,
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<TriageOutcome, DomainError> {
    if let StatusAction::Close {
        mitigated: Some(m), ..
    } = action
        && m > now
    {
        return Err(invalid("mitigated", "must not be in the future"));
    }
    if let Some(n) = note {
        n.validate()?;
    }
    conn.transaction::<_, DomainError, _>(async |c| {
        let note_type = match note {
            Some(n) => n.note_type(c).await?,
            None => None,
        };
        let note_type_id = note_type.as_ref().map(|t| t.id);
        let rows = lock_all(c, ids).await?;
        let refused: Vec<i64> = rows
            .iter()
            .filter(|r| action.refusal(r).is_some())
            .map(|r| r.id)
            .collect();
        if let Some(first) = refused
            .first()
            .and_then(|id| rows.iter().find(|r| r.id == *id))
            .and_then(|r| action.refusal(r))
        {
            return Err(DomainError::Refused {
                finding_ids: refused,
                message: first.to_owned(),
            });
        }
        let policies = policies_of(c, &rows).await?;
        let mut outcome = TriageOutcome::default();
        let mut before_rows: Vec<&Finding> = Vec::new();
        for row in &rows {
            let policy = policies.get(&row.product_id).copied().unwrap_or_default();
            match next_state(row, action, policy, actor, now)? {
                Some(after) => {
                    before_rows.push(row);
                    outcome.changed.push(after);
                }
                None => outcome.unchanged.push(row.id),
            }
        }
        if outcome.changed.is_empty() {
            return Ok(outcome);
        }
        if matches!(action, StatusAction::Close { .. }) {
            require_mandatory_notes(c, &outcome.changed, note_type_id).await?;
        }
        let changed_ids: Vec<i64> = outcome.changed.iter().map(|f| f.id).collect();
        check_single(c, note_type.as_ref(), &changed_ids).await?;
        let mut columns = StatusRows::default();
        for f in &outcome.changed {
            columns.push(f);
        }
        Finding::set_status_many(c, &columns).await?;
        let mut note_ids: std::collections::HashMap<i64, i64> = std::collections::HashMap::new();
        if let Some(n) = note {
            let targets: Vec<(i64, i64)> = outcome
                .changed
                .iter()
                .map(|f| (f.id, f.product_id))
                .collect();
            for r in Note::create_on_findings(c, &n.entry, actor, n.private, note_type_id, &targets)
                .await?
            {
                note_ids.insert(r.finding_id, r.id);
            }
        }
        record_changes(c, actor, &before_rows, &outcome.changed, |_, after, map| {
            if let Some(id) = note_ids.get(&after.id) {
                map.insert(
                    "note".to_owned(),
                    serde_json::json!({"before": null, "after": id}),
                );
            }
        })
        .await?;
        Ok(outcome)
    })
    .await
}

/// A change every selected finding gets; what it leaves `None` or empty
/// stays as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingPatch {
    /// New severity (the numerical severity and the SLA deadline follow).
    pub severity: Option<Severity>,
    /// Tags to add (normalised).
    pub add_tags: Vec<String>,
    /// Tags to remove (normalised).
    pub remove_tags: Vec<String>,
    /// New planned remediation date; `Some(None)` clears it.
    pub planned_remediation_date: Option<Option<NaiveDate>>,
}

impl FindingPatch {
    /// A patch with normalised tags; one that changes nothing is refused.
    pub fn new(
        severity: Option<Severity>,
        add_tags: &[String],
        remove_tags: &[String],
        planned_remediation_date: Option<Option<NaiveDate>>,
    ) -> Result<FindingPatch, DomainError> {
        let patch = FindingPatch {
            severity,
            add_tags: normalize_tags(add_tags)?,
            remove_tags: normalize_tags(remove_tags)?,
            planned_remediation_date,
        };
        if patch == FindingPatch::default() {
            return Err(invalid("patch", "names no change"));
        }
        if let Some(both) = patch
            .add_tags
            .iter()
            .find(|t| patch.remove_tags.contains(t))
        {
            return Err(invalid(
                "patch.removeTags",
                format!("`{both}` is both added and removed"),
            ));
        }
        Ok(patch)
    }

    /// `f` after this patch.
    fn applied(&self, f: &Finding, policy: SlaPolicy) -> Finding {
        let mut after = f.clone();
        if let Some(s) = self.severity
            && s != f.severity
        {
            after.severity = s;
            after.numerical_severity = s.numerical().to_owned();
            let start = f.sla_start_date.unwrap_or(f.date);
            after.sla_expiration_date = policy.days.expiration(s, start);
        }
        if !self.add_tags.is_empty() {
            after.tags = TagEdit::Add(self.add_tags.clone()).apply(&after.tags);
        }
        if !self.remove_tags.is_empty() {
            after.tags = TagEdit::Remove(self.remove_tags.clone()).apply(&after.tags);
        }
        if let Some(d) = self.planned_remediation_date {
            after.planned_remediation_date = d;
        }
        after
    }
}

/// Applies `patch` to the findings `ids` (the caller has checked it may
/// edit them) in one transaction, one event per changed finding.
pub async fn edit(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    patch: &FindingPatch,
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<TriageOutcome, DomainError> {
    conn.transaction::<_, DomainError, _>(async |c| {
        let rows = lock_all(c, ids).await?;
        let policies = policies_of(c, &rows).await?;
        let mut outcome = TriageOutcome::default();
        let mut before_rows: Vec<&Finding> = Vec::new();
        for row in &rows {
            let policy = policies.get(&row.product_id).copied().unwrap_or_default();
            let mut after = patch.applied(row, policy);
            let same = after.severity == row.severity
                && after.tags == row.tags
                && after.planned_remediation_date == row.planned_remediation_date
                && after.sla_expiration_date == row.sla_expiration_date;
            if same {
                outcome.unchanged.push(row.id);
            } else {
                after.updated_at = now;
                before_rows.push(row);
                outcome.changed.push(after);
            }
        }
        if outcome.changed.is_empty() {
            return Ok(outcome);
        }
        let mut columns = EditRows::default();
        for f in &outcome.changed {
            columns.push(f);
        }
        Finding::set_edits_many(c, &columns).await?;
        record_changes(
            c,
            actor,
            &before_rows,
            &outcome.changed,
            |before, after, map| {
                for (name, b, a) in [
                    (
                        "planned_remediation_date",
                        before.planned_remediation_date,
                        after.planned_remediation_date,
                    ),
                    (
                        "sla_expiration_date",
                        before.sla_expiration_date,
                        after.sla_expiration_date,
                    ),
                ] {
                    if b != a {
                        map.insert(
                            name.to_owned(),
                            serde_json::json!({"before": b, "after": a}),
                        );
                    }
                }
            },
        )
        .await?;
        Ok(outcome)
    })
    .await
}

/// Deletes the findings `ids` (the caller has checked it may) in one
/// transaction, each with its `deleted` event; surviving duplicates of a
/// deleted original go to the oldest of them.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    actor: Option<i64>,
) -> Result<usize, DomainError> {
    conn.transaction::<_, DomainError, _>(async |c| {
        let rows = lock_all(c, ids).await?;
        let kinds = vec![EventKind::Deleted; rows.len()];
        let changes = vec!["{}".to_owned(); rows.len()];
        let refs: Vec<&Finding> = rows.iter().collect();
        Outbox::record_findings(c, actor, &kinds, &refs, &changes).await?;
        Ok(Finding::delete_many(c, ids).await?)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sla::SlaDays;

    fn finding() -> Finding {
        let at = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        Finding {
            id: 1,
            test_id: 1,
            engagement_id: 1,
            product_id: 1,
            title: "t".into(),
            date: at.date_naive(),
            severity: Severity::High,
            numerical_severity: "S1".into(),
            description: "d".into(),
            mitigation: None,
            impact: None,
            steps_to_reproduce: None,
            severity_justification: None,
            references: None,
            url: None,
            param: None,
            payload: None,
            cwe: 0,
            cve: None,
            vuln_id_from_tool: None,
            unique_id_from_tool: None,
            cvssv3: None,
            cvssv3_score: None,
            cvssv4: None,
            cvssv4_score: None,
            epss_score: None,
            epss_percentile: None,
            known_exploited: false,
            ransomware_used: false,
            kev_date: None,
            active: true,
            verified: false,
            false_p: false,
            duplicate: false,
            duplicate_finding_id: None,
            out_of_scope: false,
            risk_accepted: false,
            under_review: false,
            under_defect_review: false,
            is_mitigated: false,
            mitigated: None,
            mitigated_by_id: None,
            last_status_update: at,
            last_reviewed: None,
            sla_start_date: None,
            sla_expiration_date: None,
            file_path: None,
            line: None,
            component_name: None,
            component_version: None,
            sast_source_object: None,
            sast_sink_object: None,
            sast_source_line: None,
            sast_source_file_path: None,
            reporter_id: None,
            static_finding: false,
            dynamic_finding: true,
            scanner_confidence: None,
            nb_occurences: None,
            publish_date: None,
            fix_available: None,
            fix_version: None,
            planned_remediation_date: None,
            planned_remediation_version: None,
            effort_for_fixing: None,
            hash_code: None,
            service: None,
            tags: vec![],
            custom_fields: serde_json::json!({}),
            created_at: at,
            updated_at: at,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn closing_stamps_who_and_when_and_backdates_on_request() {
        let close = |mitigated| StatusAction::Close {
            reason: CloseReason::Mitigated,
            mitigated,
        };
        let after = next_state(
            &finding(),
            close(None),
            SlaPolicy::default(),
            Some(7),
            now(),
        )
        .expect("valid")
        .expect("changed");
        assert!(!after.active && after.is_mitigated);
        assert_eq!(after.mitigated, Some(now()));
        assert_eq!(after.mitigated_by_id, Some(7));
        let earlier = now() - chrono::Duration::days(3);
        let after = next_state(
            &finding(),
            close(Some(earlier)),
            SlaPolicy::default(),
            Some(7),
            now(),
        )
        .expect("valid")
        .expect("changed");
        assert_eq!(after.mitigated, Some(earlier));
        // Closing what is closed changes nothing.
        assert!(
            next_state(&after, close(None), SlaPolicy::default(), Some(8), now())
                .expect("valid")
                .is_none()
        );
    }

    #[test]
    fn false_positive_and_out_of_scope_close_and_unverify() {
        let mut f = finding();
        f.verified = true;
        for reason in [CloseReason::FalsePositive, CloseReason::OutOfScope] {
            let action = StatusAction::Close {
                reason,
                mitigated: None,
            };
            let after = next_state(&f, action, SlaPolicy::default(), None, now())
                .expect("valid")
                .expect("changed");
            assert!(!after.active && !after.verified && after.is_mitigated);
            assert_eq!(after.false_p, reason == CloseReason::FalsePositive);
            assert_eq!(after.out_of_scope, reason == CloseReason::OutOfScope);
        }
    }

    #[test]
    fn reopening_clears_the_stamp_and_restarts_the_sla_only_when_the_product_says_so() {
        let mut closed = finding();
        closed.active = false;
        closed.is_mitigated = true;
        closed.false_p = true;
        closed.mitigated = Some(now());
        closed.mitigated_by_id = Some(7);
        closed.sla_expiration_date = closed.date.checked_add_days(chrono::Days::new(30));
        let keep = next_state(
            &closed,
            StatusAction::Reopen,
            SlaPolicy::default(),
            None,
            now(),
        )
        .expect("valid")
        .expect("changed");
        assert!(keep.active && !keep.is_mitigated && !keep.false_p);
        assert_eq!((keep.mitigated, keep.mitigated_by_id), (None, None));
        assert_eq!(keep.sla_expiration_date, closed.sla_expiration_date);
        let restart = SlaPolicy {
            days: SlaDays::default(),
            restart_on_reactivation: true,
        };
        let again = next_state(&closed, StatusAction::Reopen, restart, None, now())
            .expect("valid")
            .expect("changed");
        let today = now().date_naive();
        assert_eq!(again.sla_start_date, Some(today));
        assert_eq!(
            again.sla_expiration_date,
            today.checked_add_days(chrono::Days::new(30))
        );
    }

    #[test]
    fn a_patch_moves_the_deadline_with_the_severity_and_edits_tags_in_order() {
        let mut f = finding();
        f.tags = vec!["a".into(), "b".into()];
        f.sla_expiration_date = f.date.checked_add_days(chrono::Days::new(30));
        let patch = FindingPatch::new(
            Some(Severity::Critical),
            &["C".to_owned(), "a".to_owned()],
            &["b".to_owned()],
            None,
        )
        .expect("valid");
        let after = patch.applied(&f, SlaPolicy::default());
        assert_eq!(after.severity, Severity::Critical);
        assert_eq!(after.numerical_severity, "S0");
        assert_eq!(
            after.sla_expiration_date,
            f.date.checked_add_days(chrono::Days::new(7))
        );
        assert_eq!(after.tags, ["a", "c"]);
        assert!(FindingPatch::new(None, &[], &[], None).is_err());
        assert!(FindingPatch::new(None, &["x".to_owned()], &["X".to_owned()], None).is_err());
    }

    #[test]
    fn verification_refuses_false_positives_and_duplicates() {
        let mut fp = finding();
        fp.false_p = true;
        assert!(StatusAction::Verify(true).refusal(&fp).is_some());
        assert!(StatusAction::Verify(false).refusal(&fp).is_none());
        let mut dup = finding();
        dup.duplicate = true;
        assert!(StatusAction::Verify(true).refusal(&dup).is_some());
        assert!(StatusAction::Reopen.refusal(&dup).is_some());
        assert!(StatusAction::Reopen.refusal(&finding()).is_none());
    }
}
