//! Folding repeated findings into one: many scanners report the same issue
//! once per host, commit or path, while a person triaging wants one finding
//! with several endpoints and an occurrence count.

use std::collections::HashMap;
use std::collections::hash_map::{Entry, RandomState};
use std::hash::{BuildHasher, Hash};

use crate::Finding;

/// Findings in first-seen order; a finding added under a key already seen is
/// merged into the first one instead of being kept. `S` lets a hot parser
/// pick a faster hasher.
#[derive(Debug)]
pub struct Collector<K, S = RandomState> {
    findings: Vec<Finding>,
    index: HashMap<K, usize, S>,
}

impl<K, S: Default> Default for Collector<K, S> {
    fn default() -> Self {
        Self {
            findings: Vec::new(),
            index: HashMap::default(),
        }
    }
}

impl<K: Eq + Hash> Collector<K> {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<K: Eq + Hash, S: BuildHasher> Collector<K, S> {
    /// An empty collector sized for `capacity` findings, so large reports
    /// do not rehash.
    pub fn with_capacity_and_hasher(capacity: usize, hasher: S) -> Self {
        Self {
            findings: Vec::with_capacity(capacity),
            index: HashMap::with_capacity_and_hasher(capacity, hasher),
        }
    }

    /// Counts one more occurrence of the finding kept under `key` and
    /// returns it (to fold in more), or keeps `make()`'s finding and returns
    /// `None`. `make` runs only for new keys: repeats cost no finding.
    pub fn count_or_insert_with(
        &mut self,
        key: K,
        make: impl FnOnce() -> Finding,
    ) -> Option<&mut Finding> {
        match self.try_count_or_insert_with(key, || Ok::<_, std::convert::Infallible>(make())) {
            Ok(kept) => kept,
            Err(never) => match never {},
        }
    }

    /// [`Collector::count_or_insert_with`] for a finding that may fail to
    /// build; a repeat never fails.
    pub fn try_count_or_insert_with<E>(
        &mut self,
        key: K,
        make: impl FnOnce() -> Result<Finding, E>,
    ) -> Result<Option<&mut Finding>, E> {
        match self.index.entry(key) {
            Entry::Occupied(seen) => {
                let kept = self.findings.get_mut(*seen.get());
                if let Some(kept) = kept {
                    count_occurrence(kept);
                    return Ok(Some(kept));
                }
                Ok(None)
            }
            Entry::Vacant(slot) => {
                let finding = make()?;
                slot.insert(self.findings.len());
                self.findings.push(finding);
                Ok(None)
            }
        }
    }

    /// Keeps `make()`'s finding under `key` unless the key was seen, when
    /// nothing changes (no occurrence counted). `make` runs only for new
    /// keys. Returns whether the finding was new.
    pub fn insert_with(&mut self, key: K, make: impl FnOnce() -> Finding) -> bool {
        match self.index.entry(key) {
            Entry::Occupied(_) => false,
            Entry::Vacant(slot) => {
                slot.insert(self.findings.len());
                self.findings.push(make());
                true
            }
        }
    }

    /// Adds `finding` under `key`; when the key was seen, hands the finding
    /// already kept and the new one to `merge` instead. Returns whether the
    /// finding was new.
    pub fn add_with(
        &mut self,
        key: K,
        finding: Finding,
        merge: impl FnOnce(&mut Finding, Finding),
    ) -> bool {
        match self.index.entry(key) {
            Entry::Occupied(seen) => {
                if let Some(kept) = self.findings.get_mut(*seen.get()) {
                    merge(kept, finding);
                }
                false
            }
            Entry::Vacant(slot) => {
                slot.insert(self.findings.len());
                self.findings.push(finding);
                true
            }
        }
    }

    /// [`Collector::add_with`] with [`merge_occurrence`] and `separator`
    /// between the descriptions.
    pub fn add(&mut self, key: K, finding: Finding, separator: &str) -> bool {
        self.add_with(key, finding, |kept, new| {
            merge_occurrence(kept, new, separator);
        })
    }

    /// How many findings are kept.
    pub fn len(&self) -> usize {
        self.findings.len()
    }

    /// Whether no finding was added.
    pub fn is_empty(&self) -> bool {
        self.findings.is_empty()
    }

    /// The findings, in the order their keys were first seen.
    pub fn into_findings(self) -> Vec<Finding> {
        self.findings
    }
}

/// Counts one more occurrence in `kept` (a finding without a count is one).
pub fn count_occurrence(kept: &mut Finding) {
    kept.nb_occurences = Some(kept.nb_occurences.unwrap_or(1).saturating_add(1));
}

/// Folds another occurrence into `kept`: one more occurrence, the new
/// endpoints, and the new description after `separator` (when it differs).
pub fn merge_occurrence(kept: &mut Finding, other: Finding, separator: &str) {
    count_occurrence(kept);
    for e in other.endpoints {
        if !kept.endpoints.contains(&e) {
            kept.endpoints.push(e);
        }
    }
    if !other.description.is_empty() && other.description != kept.description {
        kept.description.push_str(separator);
        kept.description.push_str(&other.description);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Endpoint;

    fn finding(title: &str, host: &str, description: &str) -> Finding {
        Finding {
            title: title.to_owned(),
            description: description.to_owned(),
            endpoints: vec![Endpoint::from_host(host, None)],
            ..Finding::default()
        }
    }

    #[test]
    fn insert_with_keeps_the_first_untouched() {
        let mut c: Collector<&str> = Collector::new();
        assert!(c.insert_with("k", || finding("a", "h", "d1")));
        assert!(!c.insert_with("k", || unreachable!()));
        let f = c.into_findings();
        assert_eq!((f.len(), f[0].nb_occurences), (1, None));
    }

    #[test]
    fn repeats_fold_into_the_first_in_order() {
        let mut c = Collector::new();
        assert!(c.add("b", finding("B", "h1", "one"), "\n\n"));
        assert!(c.add("a", finding("A", "h1", "x"), "\n\n"));
        assert!(!c.add("b", finding("B", "h1", "one"), "\n\n"));
        assert!(!c.add("b", finding("B", "h2", "two"), "\n\n"));
        assert_eq!(c.len(), 2);
        let f = c.into_findings();
        assert_eq!(f[0].title, "B");
        assert_eq!(f[0].nb_occurences, Some(3));
        let hosts: Vec<&str> = f[0].endpoints.iter().map(|e| e.host.as_str()).collect();
        assert_eq!(hosts, ["h1", "h2"]);
        assert_eq!(f[0].description, "one\n\ntwo");
        assert_eq!(f[1].nb_occurences, None);
    }

    #[test]
    fn custom_merge_sees_both() {
        let mut c: Collector<u32> = Collector::default();
        assert!(c.is_empty());
        c.add_with(1, finding("A", "h", "d"), |_, _| unreachable!());
        c.add_with(1, finding("A2", "h", "d"), |kept, new| {
            kept.title.push_str(&new.title);
        });
        assert_eq!(c.into_findings()[0].title, "AA2");
    }

    #[test]
    fn repeats_are_counted_without_building() {
        let mut c = Collector::new();
        assert!(
            c.count_or_insert_with("k", || finding("A", "h", "d"))
                .is_none()
        );
        let kept = c.count_or_insert_with("k", || unreachable!()).unwrap();
        kept.description.push('+');
        let r: Result<_, &str> = c.try_count_or_insert_with("bad", || Err("no"));
        assert!(r.is_err());
        assert!(
            c.try_count_or_insert_with("k", || Err("no"))
                .unwrap()
                .is_some()
        );
        let f = c.into_findings();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].nb_occurences, Some(3));
        assert_eq!(f[0].description, "d+");
    }
}
