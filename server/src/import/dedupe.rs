//! Choosing the original of a new finding among candidates (domain.md §4.2, §4.3).
//!
//! Pure: the engine loads candidates per batch and calls [`find_original`];
//! `dedupeExplain` calls it with a trace to say why each candidate was passed over.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::domain::location::UrlParts;
use crate::plugins::DedupeAlgorithm;

/// A finding as dedupe sees it (a new one or a stored candidate).
#[derive(Debug, Clone, Default)]
pub struct DedupeItem {
    /// Id (pre-allocated for new findings; smaller means older).
    pub id: i64,
    /// The test type of its test.
    pub test_type_id: i64,
    /// Its engagement.
    pub engagement_id: i64,
    /// Whether its engagement deduplicates only inside itself.
    pub engagement_scoped: bool,
    /// Hash code.
    pub hash_code: Option<String>,
    /// Tool's occurrence id.
    pub unique_id_from_tool: Option<String>,
    /// Title.
    pub title: String,
    /// Primary CWE.
    pub cwe: i32,
    /// Line.
    pub line: Option<i32>,
    /// File path.
    pub file_path: Option<String>,
    /// Static finding.
    pub static_finding: bool,
    /// Active.
    pub active: bool,
    /// `is_mitigated` or a `mitigated` timestamp.
    pub mitigated: bool,
    /// False positive.
    pub false_p: bool,
    /// Out of scope.
    pub out_of_scope: bool,
    /// URL locations.
    pub locations: Vec<UrlParts>,
}

impl DedupeItem {
    /// Mitigated in the sense of `set_duplicate`'s refusal: closed as fixed, not as FP/OOS.
    fn closed_as_fixed(&self) -> bool {
        !self.active && self.mitigated && !self.false_p && !self.out_of_scope
    }
}

/// Why a candidate was not chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// The candidate.
    pub finding_id: i64,
    /// Why.
    pub reason: String,
}

fn url_part(u: &UrlParts, part: &str) -> String {
    match part {
        "scheme" | "protocol" => u.protocol.clone(),
        "host" => u.host.clone(),
        "port" => u.port.map(|p| p.to_string()).unwrap_or_default(),
        "path" => u.path.clone(),
        "query" => u.query.clone(),
        "fragment" => u.fragment.clone(),
        "userinfo" | "user_info" => u.user_info.clone(),
        _ => String::new(),
    }
}

/// `DEDUPE_ALGO_ENDPOINT_FIELDS`: with locations on either side, one pair must agree.
fn endpoints_agree(a: &DedupeItem, b: &DedupeItem, fields: &[String]) -> bool {
    if fields.is_empty() || (a.locations.is_empty() && b.locations.is_empty()) {
        return true;
    }
    a.locations.iter().any(|x| {
        b.locations
            .iter()
            .any(|y| fields.iter().all(|f| url_part(x, f) == url_part(y, f)))
    })
}

/// The legacy rule's structural condition (§4.2).
fn legacy_structure(new: &DedupeItem, old: &DedupeItem) -> bool {
    if !new.locations.is_empty() && !old.locations.is_empty() {
        let mine: HashSet<String> = new.locations.iter().map(UrlParts::canonical).collect();
        return old.locations.iter().all(|l| mine.contains(&l.canonical()));
    }
    new.static_finding
        && new.file_path.as_deref().is_some_and(|p| !p.is_empty())
        && new.line == old.line
        && new.file_path == old.file_path
}

/// Whether `old` is a candidate key-wise under `algorithm`.
fn key_matches(new: &DedupeItem, old: &DedupeItem, algorithm: DedupeAlgorithm) -> bool {
    let hash = new.hash_code.is_some() && new.hash_code == old.hash_code;
    let uid = new.unique_id_from_tool.is_some()
        && new.unique_id_from_tool == old.unique_id_from_tool
        && new.test_type_id == old.test_type_id;
    match algorithm {
        DedupeAlgorithm::HashCode => hash,
        DedupeAlgorithm::UniqueIdFromTool => uid,
        DedupeAlgorithm::UniqueIdFromToolOrHashCode => hash || uid,
        DedupeAlgorithm::Legacy => new.title == old.title || (new.cwe != 0 && new.cwe == old.cwe),
    }
}

/// The original of `new` among `candidates` (any order), or `None`.
///
/// Candidates must already exclude findings marked duplicate. With `trace`,
/// every passed-over candidate is recorded with its reason.
pub fn find_original(
    new: &DedupeItem,
    candidates: &[&DedupeItem],
    algorithm: DedupeAlgorithm,
    endpoint_fields: &[String],
    mut trace: Option<&mut Vec<Rejection>>,
) -> Option<i64> {
    let mut sorted: Vec<&DedupeItem> = candidates.to_vec();
    sorted.sort_by_key(|c| c.id);
    let mut reject = |id: i64, reason: &str| {
        if let Some(t) = trace.as_deref_mut() {
            t.push(Rejection {
                finding_id: id,
                reason: reason.to_owned(),
            });
        }
    };
    for old in sorted {
        if old.id >= new.id {
            continue;
        }
        if !key_matches(new, old, algorithm) {
            reject(old.id, "its dedupe key differs");
            continue;
        }
        if old.engagement_id != new.engagement_id
            && (old.engagement_scoped || new.engagement_scoped)
        {
            reject(
                old.id,
                "it is in another engagement and one of the two engagements deduplicates on engagement only",
            );
            continue;
        }
        match algorithm {
            DedupeAlgorithm::Legacy => {
                if new.hash_code != old.hash_code {
                    reject(old.id, "legacy: same title or cwe but a different hash");
                    continue;
                }
                if !legacy_structure(new, old) {
                    reject(
                        old.id,
                        "legacy: locations differ, or not a static finding with the same file and line",
                    );
                    continue;
                }
            }
            DedupeAlgorithm::HashCode | DedupeAlgorithm::UniqueIdFromToolOrHashCode => {
                if !endpoints_agree(new, old, endpoint_fields) {
                    reject(old.id, "no pair of locations agrees on the endpoint fields");
                    continue;
                }
            }
            DedupeAlgorithm::UniqueIdFromTool => {}
        }
        if old.closed_as_fixed() && !new.mitigated {
            reject(
                old.id,
                "it is mitigated while the new finding is not (a regression stays a separate finding)",
            );
            continue;
        }
        return Some(old.id);
    }
    None
}

/// Candidates indexed by their keys, so each new finding only looks at its own.
#[derive(Debug, Default)]
pub struct CandidatePool {
    items: Vec<DedupeItem>,
    ids: HashSet<i64>,
    by_hash: HashMap<String, Vec<usize>>,
    by_uid: HashMap<String, Vec<usize>>,
    by_title: HashMap<String, Vec<usize>>,
    by_cwe: HashMap<i32, Vec<usize>>,
}

impl CandidatePool {
    /// Adds a candidate (ignored when its id is already present).
    pub fn push(&mut self, item: DedupeItem) {
        if !self.ids.insert(item.id) {
            return;
        }
        let i = self.items.len();
        if let Some(h) = &item.hash_code {
            self.by_hash.entry(h.clone()).or_default().push(i);
        }
        if let Some(u) = &item.unique_id_from_tool {
            self.by_uid.entry(u.clone()).or_default().push(i);
        }
        self.by_title.entry(item.title.clone()).or_default().push(i);
        if item.cwe != 0 {
            self.by_cwe.entry(item.cwe).or_default().push(i);
        }
        self.items.push(item);
    }

    /// The candidates sharing a key of `new` under `algorithm`.
    pub fn candidates_for(&self, new: &DedupeItem, algorithm: DedupeAlgorithm) -> Vec<&DedupeItem> {
        let mut idx: Vec<usize> = Vec::new();
        let hash = |idx: &mut Vec<usize>| {
            if let Some(v) = new.hash_code.as_ref().and_then(|h| self.by_hash.get(h)) {
                idx.extend(v);
            }
        };
        let uid = |idx: &mut Vec<usize>| {
            if let Some(v) = new
                .unique_id_from_tool
                .as_ref()
                .and_then(|u| self.by_uid.get(u))
            {
                idx.extend(v);
            }
        };
        match algorithm {
            DedupeAlgorithm::HashCode => hash(&mut idx),
            DedupeAlgorithm::UniqueIdFromTool => uid(&mut idx),
            DedupeAlgorithm::UniqueIdFromToolOrHashCode => {
                hash(&mut idx);
                uid(&mut idx);
            }
            DedupeAlgorithm::Legacy => {
                if let Some(v) = self.by_title.get(&new.title) {
                    idx.extend(v);
                }
                if let Some(v) = (new.cwe != 0).then(|| self.by_cwe.get(&new.cwe)).flatten() {
                    idx.extend(v);
                }
            }
        }
        idx.sort_unstable();
        idx.dedup();
        idx.into_iter().map(|i| &self.items[i]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: i64, hash: &str) -> DedupeItem {
        DedupeItem {
            id,
            test_type_id: 1,
            engagement_id: 1,
            hash_code: Some(hash.to_owned()),
            title: "t".to_owned(),
            active: true,
            ..DedupeItem::default()
        }
    }

    fn fields() -> Vec<String> {
        vec!["host".to_owned(), "path".to_owned()]
    }

    #[test]
    fn oldest_matching_candidate_wins() {
        let new = item(10, "h");
        let a = item(5, "h");
        let b = item(3, "h");
        let c = item(1, "x");
        let got = find_original(
            &new,
            &[&a, &b, &c],
            DedupeAlgorithm::HashCode,
            &fields(),
            None,
        );
        assert_eq!(got, Some(3));
        let newer = item(11, "h");
        assert_eq!(
            find_original(
                &item(2, "h"),
                &[&newer],
                DedupeAlgorithm::HashCode,
                &fields(),
                None
            ),
            None,
            "only an older finding can be the original"
        );
    }

    #[test]
    fn mitigated_original_is_not_reopened() {
        let new = item(10, "h");
        let mut old = item(5, "h");
        old.active = false;
        old.mitigated = true;
        let mut trace = Vec::new();
        let got = find_original(
            &new,
            &[&old],
            DedupeAlgorithm::HashCode,
            &fields(),
            Some(&mut trace),
        );
        assert_eq!(got, None);
        assert_eq!(trace.len(), 1);
    }

    #[test]
    fn engagement_scope_and_uid_test_type() {
        let mut new = item(10, "h");
        new.engagement_scoped = true;
        let mut other = item(5, "h");
        other.engagement_id = 2;
        assert_eq!(
            find_original(&new, &[&other], DedupeAlgorithm::HashCode, &fields(), None),
            None
        );
        let mut u_new = item(10, "a");
        u_new.unique_id_from_tool = Some("U1".to_owned());
        let mut u_old = item(4, "b");
        u_old.unique_id_from_tool = Some("U1".to_owned());
        u_old.test_type_id = 2;
        assert_eq!(
            find_original(
                &u_new,
                &[&u_old],
                DedupeAlgorithm::UniqueIdFromTool,
                &fields(),
                None
            ),
            None,
            "uid matches only within one test type"
        );
        u_old.test_type_id = 1;
        assert_eq!(
            find_original(
                &u_new,
                &[&u_old],
                DedupeAlgorithm::UniqueIdFromTool,
                &fields(),
                None
            ),
            Some(4)
        );
    }

    #[test]
    fn endpoint_fields_must_agree_when_locations_exist() {
        let mut new = item(10, "h");
        new.locations = vec![UrlParts::parse("https://a.example/x").expect("url")];
        let mut old = item(5, "h");
        old.locations = vec![UrlParts::parse("http://a.example/y").expect("url")];
        assert_eq!(
            find_original(&new, &[&old], DedupeAlgorithm::HashCode, &fields(), None),
            None
        );
        old.locations = vec![UrlParts::parse("http://a.example/x").expect("url")];
        assert_eq!(
            find_original(&new, &[&old], DedupeAlgorithm::HashCode, &fields(), None),
            Some(5),
            "scheme is not among the default endpoint fields"
        );
    }

    #[test]
    fn legacy_needs_static_location_match() {
        let mut new = item(10, "h");
        new.static_finding = true;
        new.file_path = Some("a.py".to_owned());
        new.line = Some(3);
        let mut old = item(5, "h");
        old.file_path = Some("a.py".to_owned());
        old.line = Some(4);
        assert_eq!(
            find_original(&new, &[&old], DedupeAlgorithm::Legacy, &fields(), None),
            None
        );
        old.line = Some(3);
        assert_eq!(
            find_original(&new, &[&old], DedupeAlgorithm::Legacy, &fields(), None),
            Some(5)
        );
    }
}
