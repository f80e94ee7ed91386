//! Risk acceptance (domain.md §8): a named, owned decision about findings of
//! one engagement, with an expiry and what happens then.
//!
//! Accepting a finding sets `risk_accepted` and takes it out of the open
//! list (`active=false`); a duplicate is skipped unless it is accepted
//! already. Unaccepting (removing it, deleting the acceptance, expiry with
//! `reactivate_expired`, or taking back a simple acceptance) clears
//! `risk_accepted` and reopens the finding unless it is mitigated, a false
//! positive or out of scope. Every finding whose state changes gets one
//! event with `risk_acceptance: {before, after}` in the same transaction;
//! a call that would touch a finding it may not lands nothing.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use super::finding::StatusChange;
use super::triage::{StatusAction, TriageOutcome, lock_all, next_state, policies_of};
use super::{DomainError, check_len};
use crate::db::models::finding::{Finding, StatusRows};
use crate::db::models::risk::{NewRiskAcceptance, RiskAcceptance, RiskAcceptanceChanges};
use crate::events::Outbox;

/// Days an acceptance lasts when nobody says (`risk_acceptance_form_default_days`).
pub const DEFAULT_DAYS: i64 = 180;

/// A recommendation or decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Accept the risk.
    Accept,
    /// Avoid it (stop doing what causes it).
    Avoid,
    /// Mitigate it (reduce it).
    Mitigate,
    /// Fix it.
    Fix,
    /// Transfer it (insurance, a vendor).
    Transfer,
}

impl Decision {
    /// The stored letter.
    pub fn code(self) -> &'static str {
        match self {
            Decision::Accept => "A",
            Decision::Avoid => "V",
            Decision::Mitigate => "M",
            Decision::Fix => "F",
            Decision::Transfer => "T",
        }
    }

    /// The decision a stored letter names (Accept for one this version does not know).
    pub fn of_code(code: &str) -> Decision {
        match code.trim() {
            "V" => Decision::Avoid,
            "M" => Decision::Mitigate,
            "F" => Decision::Fix,
            "T" => Decision::Transfer,
            _ => Decision::Accept,
        }
    }
}

/// An acceptance as a person writes it.
#[derive(Debug, Clone)]
pub struct AcceptanceInput {
    /// Name.
    pub name: String,
    /// The user who owns the decision.
    pub owner_id: i64,
    /// What the security team recommends.
    pub recommendation: Decision,
    /// Why.
    pub recommendation_details: Option<String>,
    /// What was decided.
    pub decision: Decision,
    /// Why.
    pub decision_details: Option<String>,
    /// Who accepted it (free text: may be someone without an account).
    pub accepted_by: Option<String>,
    /// When it ends; `None` takes the default of 180 days.
    pub expiration_date: Option<DateTime<Utc>>,
    /// On expiry, reopen its findings.
    pub reactivate_expired: bool,
    /// On expiry, restart their SLA.
    pub restart_sla_expired: bool,
}

/// Changes to an acceptance; `None` keeps a value.
#[derive(Debug, Clone, Default)]
pub struct AcceptancePatch {
    /// New name.
    pub name: Option<String>,
    /// New owner.
    pub owner_id: Option<i64>,
    /// New recommendation.
    pub recommendation: Option<Decision>,
    /// New recommendation details (empty clears).
    pub recommendation_details: Option<String>,
    /// New decision.
    pub decision: Option<Decision>,
    /// New decision details (empty clears).
    pub decision_details: Option<String>,
    /// New "accepted by" (empty clears).
    pub accepted_by: Option<String>,
    /// New expiry (of an acceptance that has not expired).
    pub expiration_date: Option<DateTime<Utc>>,
    /// New reactivate-on-expiry flag.
    pub reactivate_expired: Option<bool>,
    /// New restart-SLA-on-expiry flag.
    pub restart_sla_expired: Option<bool>,
}

fn invalid(field: &str, message: impl Into<String>) -> DomainError {
    DomainError::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

fn not_found(id: i64) -> DomainError {
    DomainError::NotFound {
        kind: "RiskAcceptance",
        id: id.to_string(),
    }
}

fn text(field: &str, v: Option<String>, max: usize) -> Result<Option<String>, DomainError> {
    let v = v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    if let Some(s) = &v {
        check_len(field, s, max, false)?;
    }
    Ok(v)
}

fn future(expiry: DateTime<Utc>, now: DateTime<Utc>) -> Result<DateTime<Utc>, DomainError> {
    if expiry <= now {
        return Err(invalid("expirationDate", "must be in the future"));
    }
    Ok(expiry)
}

/// The row after accepting (`accept`) or unaccepting `f`, or `None` when
/// it does not change. `restart_sla` starts an unaccepted finding's SLA
/// clock again today.
fn next(
    f: &Finding,
    accept: bool,
    restart_sla: bool,
    policy: super::sla::SlaPolicy,
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Option<Finding>, DomainError> {
    let change = if accept {
        StatusChange {
            risk_accepted: Some(true),
            ..StatusChange::default()
        }
    } else {
        let closed = f.is_mitigated || f.false_p || f.out_of_scope || f.duplicate;
        StatusChange {
            risk_accepted: Some(false),
            active: (!closed).then_some(true),
            ..StatusChange::default()
        }
    };
    let policy = super::sla::SlaPolicy {
        restart_on_reactivation: policy.restart_on_reactivation || restart_sla,
        ..policy
    };
    next_state(f, StatusAction::Set(change), policy, actor, now)
}

/// Writes the changed rows and one event each; `membership` tells each
/// finding's acceptance before and after.
async fn commit(
    c: &mut AsyncPgConnection,
    before: &[&Finding],
    after: &[Finding],
    membership: &HashMap<i64, (Option<i64>, Option<i64>)>,
    kind: Option<crate::events::EventKind>,
    actor: Option<i64>,
) -> Result<(), DomainError> {
    if after.is_empty() {
        return Ok(());
    }
    let mut columns = StatusRows::default();
    for f in after {
        columns.push(f);
    }
    Finding::set_status_many(c, &columns).await?;
    let mut kinds = Vec::with_capacity(after.len());
    let mut changes = Vec::with_capacity(after.len());
    for (b, a) in before.iter().zip(after) {
        let (k, mut diff) = crate::events::diff(b, a);
        if let (Some(map), Some((was, now))) = (diff.as_object_mut(), membership.get(&a.id))
            && was != now
        {
            map.insert(
                "risk_acceptance".to_owned(),
                serde_json::json!({"before": was, "after": now}),
            );
        }
        kinds.push(kind.unwrap_or(k));
        changes.push(diff.to_string());
    }
    let changed: Vec<&Finding> = after.iter().collect();
    Ok(Outbox::record_findings(c, actor, &kinds, &changed, &changes).await?)
}

/// Accepts `rows` into acceptance `ra` (links and flags), skipping
/// duplicates that are not accepted already.
async fn accept_into(
    c: &mut AsyncPgConnection,
    ra: &RiskAcceptance,
    rows: &[Finding],
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<TriageOutcome, DomainError> {
    let outside: Vec<i64> = rows
        .iter()
        .filter(|f| f.engagement_id != ra.engagement_id)
        .map(|f| f.id)
        .collect();
    if !outside.is_empty() {
        return Err(DomainError::Refused {
            finding_ids: outside,
            message: "a risk acceptance takes findings of its own engagement only".to_owned(),
        });
    }
    let ids: Vec<i64> = rows.iter().map(|f| f.id).collect();
    let was: HashMap<i64, i64> = RiskAcceptance::of_findings(c, &ids)
        .await?
        .into_iter()
        .collect();
    let policies = policies_of(c, rows).await?;
    let mut outcome = TriageOutcome::default();
    let mut before: Vec<&Finding> = Vec::new();
    let mut linked: Vec<i64> = Vec::new();
    let mut membership = HashMap::new();
    let mut relinked_only: Vec<&Finding> = Vec::new();
    for f in rows {
        if f.duplicate && !f.risk_accepted {
            outcome.unchanged.push(f.id);
            continue;
        }
        let moved = was.get(&f.id) != Some(&ra.id);
        if moved {
            linked.push(f.id);
            membership.insert(f.id, (was.get(&f.id).copied(), Some(ra.id)));
        }
        let policy = policies.get(&f.product_id).copied().unwrap_or_default();
        match next(f, true, false, policy, actor, now)? {
            Some(after) => {
                before.push(f);
                outcome.changed.push(after);
            }
            None if moved => relinked_only.push(f),
            None => outcome.unchanged.push(f.id),
        }
    }
    if !linked.is_empty() {
        RiskAcceptance::link(c, ra.id, &linked).await?;
    }
    commit(c, &before, &outcome.changed, &membership, None, actor).await?;
    // Accepted already, but moved between acceptances: the move is the change.
    if !relinked_only.is_empty() {
        let same: Vec<Finding> = relinked_only.iter().map(|f| (*f).clone()).collect();
        let mut kinds = Vec::new();
        let mut changes = Vec::new();
        for f in &same {
            let (was, now) = membership.get(&f.id).copied().unwrap_or((None, None));
            kinds.push(crate::events::EventKind::Updated);
            changes.push(
                serde_json::json!({"risk_acceptance": {"before": was, "after": now}}).to_string(),
            );
        }
        let refs: Vec<&Finding> = same.iter().collect();
        Outbox::record_findings(c, actor, &kinds, &refs, &changes).await?;
        outcome.changed.extend(same);
    }
    outcome.changed.sort_by_key(|f| f.id);
    Ok(outcome)
}

/// Unaccepts `rows` (taking them out of their acceptances when `unlink`).
async fn unaccept(
    c: &mut AsyncPgConnection,
    rows: &[Finding],
    unlink: bool,
    restart_sla: bool,
    kind: Option<crate::events::EventKind>,
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<TriageOutcome, DomainError> {
    let ids: Vec<i64> = rows.iter().map(|f| f.id).collect();
    let was: HashMap<i64, i64> = RiskAcceptance::of_findings(c, &ids)
        .await?
        .into_iter()
        .collect();
    if unlink {
        RiskAcceptance::unlink(c, &ids).await?;
    }
    let policies = policies_of(c, rows).await?;
    let mut outcome = TriageOutcome::default();
    let mut before: Vec<&Finding> = Vec::new();
    let mut membership = HashMap::new();
    for f in rows {
        if unlink && let Some(ra) = was.get(&f.id) {
            membership.insert(f.id, (Some(*ra), None));
        }
        let policy = policies.get(&f.product_id).copied().unwrap_or_default();
        match next(f, false, restart_sla, policy, actor, now)? {
            Some(after) => {
                before.push(f);
                outcome.changed.push(after);
            }
            None => outcome.unchanged.push(f.id),
        }
    }
    commit(c, &before, &outcome.changed, &membership, kind, actor).await?;
    Ok(outcome)
}

/// Checks and fills the columns of a new acceptance.
fn columns(
    input: AcceptanceInput,
    engagement_id: i64,
    product_id: i64,
    now: DateTime<Utc>,
) -> Result<NewRiskAcceptance, DomainError> {
    let name = input.name.trim().to_owned();
    check_len("name", &name, 300, true)?;
    let expiry = match input.expiration_date {
        Some(d) => future(d, now)?,
        None => now + Duration::days(DEFAULT_DAYS),
    };
    Ok(NewRiskAcceptance {
        engagement_id,
        product_id,
        name,
        recommendation: input.recommendation.code().to_owned(),
        recommendation_details: text(
            "recommendationDetails",
            input.recommendation_details,
            100_000,
        )?,
        decision: input.decision.code().to_owned(),
        decision_details: text("decisionDetails", input.decision_details, 100_000)?,
        accepted_by: text("acceptedBy", input.accepted_by, 200)?,
        owner_id: input.owner_id,
        expiration_date: Some(expiry),
        reactivate_expired: input.reactivate_expired,
        restart_sla_expired: input.restart_sla_expired,
    })
}

/// Creates an acceptance in engagement `engagement_id` (of `product_id`)
/// and accepts the findings `ids` (of that engagement) into it.
pub async fn create(
    conn: &mut AsyncPgConnection,
    engagement_id: i64,
    product_id: i64,
    input: AcceptanceInput,
    ids: &[i64],
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(RiskAcceptance, TriageOutcome), DomainError> {
    let new = columns(input, engagement_id, product_id, now)?;
    conn.transaction::<_, DomainError, _>(async |c| {
        let ra = RiskAcceptance::create(c, &new).await?;
        let rows = lock_all(c, ids).await?;
        let outcome = accept_into(c, &ra, &rows, actor, now).await?;
        Ok((ra, outcome))
    })
    .await
}

/// Changes an acceptance's fields.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: i64,
    patch: AcceptancePatch,
    now: DateTime<Utc>,
) -> Result<RiskAcceptance, DomainError> {
    let name = match patch.name {
        Some(n) => {
            let n = n.trim().to_owned();
            check_len("name", &n, 300, true)?;
            Some(n)
        }
        None => None,
    };
    let opt = |field: &str,
               v: Option<String>,
               max: usize|
     -> Result<Option<Option<String>>, DomainError> {
        match v {
            Some(v) => Ok(Some(text(field, Some(v), max)?)),
            None => Ok(None),
        }
    };
    let changes = RiskAcceptanceChanges {
        name,
        owner_id: patch.owner_id,
        recommendation: patch.recommendation.map(|d| d.code().to_owned()),
        recommendation_details: opt(
            "recommendationDetails",
            patch.recommendation_details,
            100_000,
        )?,
        decision: patch.decision.map(|d| d.code().to_owned()),
        decision_details: opt("decisionDetails", patch.decision_details, 100_000)?,
        accepted_by: opt("acceptedBy", patch.accepted_by, 200)?,
        expiration_date: match patch.expiration_date {
            Some(d) => Some(Some(future(d, now)?)),
            None => None,
        },
        reactivate_expired: patch.reactivate_expired,
        restart_sla_expired: patch.restart_sla_expired,
        ..RiskAcceptanceChanges::default()
    };
    conn.transaction::<_, DomainError, _>(async |c| {
        let ra = RiskAcceptance::lock(c, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        if changes.expiration_date.is_some() && ra.is_expired() {
            return Err(invalid(
                "expirationDate",
                "the acceptance has expired; reinstate it with a new date",
            ));
        }
        // A new date gets a new heads-up.
        let changes = RiskAcceptanceChanges {
            expiration_date_warned: changes.expiration_date.map(|_| None),
            ..changes
        };
        Ok(RiskAcceptance::update(c, id, &changes).await?)
    })
    .await
}

/// Accepts the findings `ids` into acceptance `id` (out of any other).
pub async fn add(
    conn: &mut AsyncPgConnection,
    id: i64,
    ids: &[i64],
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<TriageOutcome, DomainError> {
    conn.transaction::<_, DomainError, _>(async |c| {
        let ra = RiskAcceptance::lock(c, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        if ra.is_expired() {
            return Err(invalid(
                "id",
                "the acceptance has expired; reinstate it before adding findings",
            ));
        }
        let rows = lock_all(c, ids).await?;
        accept_into(c, &ra, &rows, actor, now).await
    })
    .await
}

/// Takes the findings `ids` out of acceptance `id` and unaccepts them; a
/// finding not in it fails the call.
pub async fn remove(
    conn: &mut AsyncPgConnection,
    id: i64,
    ids: &[i64],
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<TriageOutcome, DomainError> {
    conn.transaction::<_, DomainError, _>(async |c| {
        RiskAcceptance::lock(c, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let members: BTreeSet<i64> = RiskAcceptance::finding_ids(c, id)
            .await?
            .into_iter()
            .collect();
        let strangers: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|f| !members.contains(f))
            .collect();
        if !strangers.is_empty() {
            return Err(DomainError::Refused {
                finding_ids: strangers,
                message: "these findings are not in the risk acceptance".to_owned(),
            });
        }
        let rows = lock_all(c, ids).await?;
        unaccept(c, &rows, true, false, None, actor, now).await
    })
    .await
}

/// Expires acceptance `id` now: with `reactivate_expired` its findings are
/// unaccepted (their SLA restarting with `restart_sla_expired`); they stay
/// linked, so the acceptance shows what it covered.
pub async fn expire(
    conn: &mut AsyncPgConnection,
    id: i64,
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(RiskAcceptance, TriageOutcome), DomainError> {
    conn.transaction::<_, DomainError, _>(async |c| {
        let ra = RiskAcceptance::lock(c, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        if ra.is_expired() {
            return Err(invalid("id", "the acceptance has expired already"));
        }
        let ids = RiskAcceptance::finding_ids(c, id).await?;
        let rows = lock_all(c, &ids).await?;
        let outcome = if ra.reactivate_expired {
            let accepted: Vec<Finding> = rows.into_iter().filter(|f| f.risk_accepted).collect();
            unaccept(
                c,
                &accepted,
                false,
                ra.restart_sla_expired,
                Some(crate::events::EventKind::RiskExpired),
                actor,
                now,
            )
            .await?
        } else {
            TriageOutcome {
                changed: Vec::new(),
                unchanged: ids,
            }
        };
        let ra = RiskAcceptance::update(
            c,
            id,
            &RiskAcceptanceChanges {
                expiration_date: Some(Some(now)),
                expiration_date_handled: Some(Some(now)),
                ..RiskAcceptanceChanges::default()
            },
        )
        .await?;
        Ok((ra, outcome))
    })
    .await
}

/// Gives an expired acceptance a new expiry (default: 180 days from now)
/// and accepts its findings that are open again.
pub async fn reinstate(
    conn: &mut AsyncPgConnection,
    id: i64,
    expiration: Option<DateTime<Utc>>,
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(RiskAcceptance, TriageOutcome), DomainError> {
    let expiry = match expiration {
        Some(d) => future(d, now)?,
        None => now + Duration::days(DEFAULT_DAYS),
    };
    conn.transaction::<_, DomainError, _>(async |c| {
        let ra = RiskAcceptance::lock(c, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        if !ra.is_expired() {
            return Err(invalid("id", "only an expired acceptance is reinstated"));
        }
        let ra = RiskAcceptance::update(
            c,
            id,
            &RiskAcceptanceChanges {
                expiration_date: Some(Some(expiry)),
                expiration_date_handled: Some(None),
                expiration_date_warned: Some(None),
                ..RiskAcceptanceChanges::default()
            },
        )
        .await?;
        let ids = RiskAcceptance::finding_ids(c, id).await?;
        let rows: Vec<Finding> = lock_all(c, &ids)
            .await?
            .into_iter()
            .filter(|f| f.active)
            .collect();
        let outcome = accept_into(c, &ra, &rows, actor, now).await?;
        Ok((ra, outcome))
    })
    .await
}

/// Deletes acceptance `id`, unaccepting its findings.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    id: i64,
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<TriageOutcome, DomainError> {
    conn.transaction::<_, DomainError, _>(async |c| {
        RiskAcceptance::lock(c, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let ids = RiskAcceptance::finding_ids(c, id).await?;
        let rows = lock_all(c, &ids).await?;
        let outcome = unaccept(c, &rows, true, false, None, actor, now).await?;
        RiskAcceptance::delete(c, id).await?;
        Ok(outcome)
    })
    .await
}

/// Simple acceptance (no acceptance object): sets or clears the flag of
/// the findings `ids`, whose products allow it (the caller checks).
pub async fn set_simple(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    accept: bool,
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<TriageOutcome, DomainError> {
    conn.transaction::<_, DomainError, _>(async |c| {
        let rows = lock_all(c, ids).await?;
        if accept {
            let dupes: Vec<i64> = rows
                .iter()
                .filter(|f| f.duplicate && !f.risk_accepted)
                .map(|f| f.id)
                .collect();
            if !dupes.is_empty() {
                return Err(DomainError::Refused {
                    finding_ids: dupes,
                    message: "a duplicate's risk is accepted on its original".to_owned(),
                });
            }
            let policies = policies_of(c, &rows).await?;
            let mut outcome = TriageOutcome::default();
            let mut before: Vec<&Finding> = Vec::new();
            for f in &rows {
                let policy = policies.get(&f.product_id).copied().unwrap_or_default();
                match next(f, true, false, policy, actor, now)? {
                    Some(after) => {
                        before.push(f);
                        outcome.changed.push(after);
                    }
                    None => outcome.unchanged.push(f.id),
                }
            }
            commit(c, &before, &outcome.changed, &HashMap::new(), None, actor).await?;
            Ok(outcome)
        } else {
            unaccept(c, &rows, true, false, None, actor, now).await
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_round_trip_through_their_letters() {
        for d in [
            Decision::Accept,
            Decision::Avoid,
            Decision::Mitigate,
            Decision::Fix,
            Decision::Transfer,
        ] {
            assert_eq!(Decision::of_code(d.code()), d);
        }
    }
}
