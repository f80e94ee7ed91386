//! Reimport's matching (§5.4): the report's findings against the test's, by
//! the scan type's algorithm, in memory over one read of the test; then the
//! updates, reactivations and notes in batches.

use std::collections::{HashMap, HashSet};

use diesel_async::AsyncPgConnection;
use serde_json::json;

use super::{Action, Ledger, Run};
use crate::events::EventKind;
use crate::import::config::EffectiveDedupe;
use crate::import::prepare::PreparedFinding;
use crate::import::request::{ImportError, ImportStatistics};
use crate::import::store::{self, FindingUpdate};
use crate::import::target::Target;
use crate::plugins::DedupeAlgorithm;

/// Reimport's matching result.
pub(super) struct ReimportMatch {
    /// Report findings that matched nothing: new findings of the test.
    pub(super) new_findings: Vec<PreparedFinding>,
    /// Active findings of the test the report no longer has.
    pub(super) to_mitigate: Vec<i64>,
    /// Report findings that matched one of the test's.
    pub(super) matched: u64,
}

#[expect(clippy::too_many_arguments, reason = "internal step")]
pub(super) async fn reimport_match(
    c: &mut AsyncPgConnection,
    r: &Run<'_>,
    target: &Target,
    test_type_name: &str,
    dedupe: &EffectiveDedupe,
    restart_sla: bool,
    prepared: Vec<PreparedFinding>,
    ledger: &mut Ledger,
    stats: &mut ImportStatistics,
) -> Result<ReimportMatch, ImportError> {
    let req = r.req;
    let test_id = target.test_id.unwrap_or_default();
    let originals = store::originals(c, test_id, req.service.as_deref()).await?;
    let algorithm = dedupe.algorithm;
    let mut by_hash: HashMap<&str, usize> = HashMap::new();
    let mut by_uid: HashMap<&str, usize> = HashMap::new();
    let mut by_title: HashMap<(String, &str), usize> = HashMap::new();
    // Originals are sorted by id: the first entry of a key is the oldest.
    for (i, o) in originals.iter().enumerate() {
        if let Some(h) = &o.hash_code {
            by_hash.entry(h.as_str()).or_insert(i);
        }
        if let Some(u) = &o.unique_id_from_tool {
            by_uid.entry(u.as_str()).or_insert(i);
        }
        by_title
            .entry((o.title.to_lowercase(), o.severity.as_str()))
            .or_insert(i);
    }
    let mut new_h: HashSet<String> = HashSet::new();
    let mut new_u: HashSet<String> = HashSet::new();
    let mut new_t: HashSet<(String, &'static str)> = HashSet::new();
    let mut processed = vec![false; originals.len()];
    let mut seen = vec![false; originals.len()];
    let mut new_findings = Vec::new();
    let mut updates: Vec<FindingUpdate> = Vec::new();
    let mut reactivated: Vec<i64> = Vec::new();
    let mut custom_updates: Vec<(i64, String)> = Vec::new();
    let mut skip_note: Vec<i64> = Vec::new();
    let mut matched = 0u64;
    let today = r.now.date_naive();

    // Vulnerability ids and CWEs of every processed finding, as the report has them now.
    let mut reported_ids: Vec<(i64, Vec<String>, Vec<i32>)> = Vec::new();
    for mut p in prepared {
        let hash = || by_hash.get(p.hash_code.as_str()).copied();
        let uid = || {
            p.unique_id_from_tool
                .as_deref()
                .and_then(|u| by_uid.get(u).copied())
        };
        let found = match algorithm {
            DedupeAlgorithm::HashCode => hash(),
            DedupeAlgorithm::UniqueIdFromTool => uid(),
            DedupeAlgorithm::UniqueIdFromToolOrHashCode => match (hash(), uid()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            DedupeAlgorithm::Legacy => by_title
                .get(&(p.title.to_lowercase(), p.severity.as_str()))
                .copied(),
        };
        let Some(oi) = found else {
            // Repeats inside one report match the finding created for the first.
            let repeat = match algorithm {
                DedupeAlgorithm::HashCode => new_h.contains(&p.hash_code),
                DedupeAlgorithm::UniqueIdFromTool => p
                    .unique_id_from_tool
                    .as_ref()
                    .is_some_and(|u| new_u.contains(u)),
                DedupeAlgorithm::UniqueIdFromToolOrHashCode => {
                    new_h.contains(&p.hash_code)
                        || p.unique_id_from_tool
                            .as_ref()
                            .is_some_and(|u| new_u.contains(u))
                }
                DedupeAlgorithm::Legacy => {
                    new_t.contains(&(p.title.to_lowercase(), p.severity.as_str()))
                }
            };
            if !repeat {
                new_h.insert(p.hash_code.clone());
                if let Some(u) = &p.unique_id_from_tool {
                    new_u.insert(u.clone());
                }
                new_t.insert((p.title.to_lowercase(), p.severity.as_str()));
                new_findings.push(p);
            }
            continue;
        };
        matched += 1;
        if processed[oi] {
            continue;
        }
        processed[oi] = true;
        let o = &originals[oi];
        if let Some(values) = p.custom_fields.take() {
            let before: serde_json::Value =
                serde_json::from_str(&o.custom_fields).unwrap_or_else(|_| json!({}));
            let mut after = before.as_object().cloned().unwrap_or_default();
            after.extend(values);
            let after = serde_json::Value::Object(after);
            if after != before {
                ledger.event(
                    EventKind::Updated,
                    o.id,
                    &json!({"custom_fields": {"before": before, "after": after}}),
                );
                custom_updates.push((o.id, after.to_string()));
            }
        }
        reported_ids.push((
            o.id,
            std::mem::take(&mut p.vulnerability_ids),
            std::mem::take(&mut p.extra_cwes),
        ));
        let component_name = o.component_name.clone().or(p.component_name.clone());
        let component_version = o.component_version.clone().or(p.component_version.clone());
        let fix_changed = p.fix_available != o.fix_available || p.fix_version != o.fix_version;
        let comp_changed =
            component_name != o.component_name || component_version != o.component_version;
        let base = FindingUpdate {
            id: o.id,
            active: o.active,
            verified: o.verified,
            is_mitigated: o.is_mitigated,
            mitigated: o.mitigated,
            mitigated_by_id: o.mitigated_by_id,
            false_p: o.false_p,
            out_of_scope: o.out_of_scope,
            risk_accepted: o.risk_accepted,
            fix_available: p.fix_available,
            fix_version: p.fix_version.clone(),
            component_name,
            component_version,
            sla_start_date: None,
        };
        if o.false_p || o.out_of_scope || o.risk_accepted {
            let same = (p.false_p, p.out_of_scope, p.risk_accepted)
                == (o.false_p, o.out_of_scope, o.risk_accepted);
            if same || (o.risk_accepted && !o.active) {
                seen[oi] = true;
                stats.untouched += 1;
                ledger.action(o.id, Action::Untouched, o.severity);
            }
            continue;
        }
        seen[oi] = true;
        if o.is_mitigated {
            if p.is_mitigated || req.do_not_reactivate {
                if req.do_not_reactivate && !p.is_mitigated {
                    skip_note.push(o.id);
                }
                if fix_changed || comp_changed {
                    updates.push(base);
                }
                stats.untouched += 1;
                ledger.action(o.id, Action::Untouched, o.severity);
            } else {
                let verified = !o.duplicate && r.req.verified.unwrap_or(o.verified);
                updates.push(FindingUpdate {
                    active: !o.duplicate,
                    verified,
                    is_mitigated: false,
                    mitigated: None,
                    mitigated_by_id: None,
                    sla_start_date: restart_sla.then_some(today),
                    ..base
                });
                reactivated.push(o.id);
                stats.reactivated += 1;
                ledger.action(o.id, Action::Reactivated, o.severity);
                ledger.event(
                    EventKind::Reactivated,
                    o.id,
                    &json!({"before": {"active": o.active, "is_mitigated": true}, "after": {"active": !o.duplicate, "is_mitigated": false}}),
                );
            }
        } else if p.is_mitigated {
            updates.push(FindingUpdate {
                active: false,
                is_mitigated: true,
                mitigated: p.mitigated.or(Some(r.now)),
                mitigated_by_id: r.actor,
                ..base
            });
            stats.closed += 1;
            ledger.action(o.id, Action::Closed, o.severity);
            ledger.event(
                EventKind::Mitigated,
                o.id,
                &json!({"before": {"active": o.active, "is_mitigated": false}, "after": {"active": false, "is_mitigated": true}}),
            );
        } else if p.false_p || p.out_of_scope || p.risk_accepted {
            let closes = p.false_p || p.out_of_scope;
            updates.push(FindingUpdate {
                active: false,
                verified: o.verified && !p.false_p,
                false_p: p.false_p,
                out_of_scope: p.out_of_scope,
                risk_accepted: p.risk_accepted,
                is_mitigated: o.is_mitigated || closes,
                mitigated: if closes {
                    o.mitigated.or(Some(r.now))
                } else {
                    o.mitigated
                },
                mitigated_by_id: if closes {
                    o.mitigated_by_id.or(r.actor)
                } else {
                    o.mitigated_by_id
                },
                ..base
            });
            stats.untouched += 1;
            ledger.action(o.id, Action::Untouched, o.severity);
        } else {
            if fix_changed || comp_changed {
                updates.push(base);
            }
            stats.untouched += 1;
            ledger.action(o.id, Action::Untouched, o.severity);
        }
    }
    for chunk in updates.chunks(r.settings.batch_size.max(1)) {
        store::update_findings(c, chunk).await?;
    }
    for chunk in custom_updates.chunks(r.settings.batch_size.max(1)) {
        store::set_custom_fields(c, chunk).await?;
    }
    for chunk in reported_ids.chunks(r.settings.batch_size.max(1)) {
        store::reconcile_ids(c, chunk).await?;
    }
    let note = format!("Re-activated by {test_type_name} re-upload.");
    store::insert_notes(c, target.product_id, r.actor, &reactivated, &note).await?;
    store::set_reference_status(c, &reactivated, "Active").await?;
    let skip_entry = format!(
        "Finding has skipped reactivation from {test_type_name} re-upload with user decision do_not_reactivate."
    );
    let already = store::with_note(c, &skip_note, &skip_entry).await?;
    let skip_note: Vec<i64> = skip_note
        .into_iter()
        .filter(|id| !already.contains(id))
        .collect();
    store::insert_notes(c, target.product_id, r.actor, &skip_note, &skip_entry).await?;
    let to_mitigate: Vec<i64> = originals
        .iter()
        .zip(&seen)
        .filter(|(o, s)| !**s && !o.is_mitigated)
        .map(|(o, _)| o.id)
        .collect();
    if let Some(p) = r.progress {
        p.send_modify(|v| v.0 = matched);
    }
    Ok(ReimportMatch {
        new_findings,
        to_mitigate,
        matched,
    })
}
