//! Per-request DataLoaders: every parent, child list and count a resolver
//! needs is batched into one statement per kind, whatever the page size.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};

use crate::db::models::custom_field::CustomField;
use crate::db::models::file::{FileParent, StoredFile};
use crate::db::models::finding::{Finding, VulnerabilityId};
use crate::db::models::finding_group::{FindingGroup, GroupSummary};
use crate::db::models::hierarchy::{
    ChildKind, Engagement, Product, ProductType, Test, TestType, count_children,
};
use crate::db::models::location::{FindingLocation, Location};
use crate::db::models::note::{Note, NoteParent, NoteType};
use crate::db::models::risk::RiskAcceptance;
use crate::db::models::user::User;
use crate::db::{Db, QueryCounter};

/// A loader failure, shared between the waiting resolvers.
pub type LoadError = Arc<String>;

/// A loader failure as the API reports it (logged, shown generically).
pub fn load_err(e: LoadError) -> super::error::ApiError {
    super::error::ApiError::Internal(Arc::unwrap_or_clone(e))
}

/// A row loader over `db`.
fn rows<T>(db: &Db) -> RowLoader<T> {
    RowLoader {
        db: db.clone(),
        _t: std::marker::PhantomData,
    }
}

/// Loads rows of one table by id.
pub struct RowLoader<T> {
    db: Db,
    _t: std::marker::PhantomData<fn() -> T>,
}

macro_rules! row_loader {
    ($ty:ty) => {
        impl Loader<i64> for RowLoader<$ty> {
            type Value = $ty;
            type Error = LoadError;

            async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, $ty>, LoadError> {
                let mut conn = self.db.conn().await.map_err(|e| Arc::new(e.to_string()))?;
                let rows = <$ty>::by_ids(&mut conn, keys)
                    .await
                    .map_err(|e| Arc::new(e.to_string()))?;
                Ok(rows.into_iter().map(|r| (r.id, r)).collect())
            }
        }
    };
}

row_loader!(ProductType);
row_loader!(Product);
row_loader!(Engagement);
row_loader!(Test);
row_loader!(TestType);
row_loader!(Finding);
row_loader!(Location);
row_loader!(Note);
row_loader!(NoteType);
row_loader!(User);
row_loader!(FindingGroup);
row_loader!(CustomField);
row_loader!(RiskAcceptance);

/// How many findings each risk acceptance holds.
pub struct AcceptanceCountLoader(Db);

impl Loader<i64> for AcceptanceCountLoader {
    type Value = i64;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, i64>, LoadError> {
        let mut conn = self.0.conn().await.map_err(|e| Arc::new(e.to_string()))?;
        let rows = RiskAcceptance::counts(&mut conn, keys)
            .await
            .map_err(|e| Arc::new(e.to_string()))?;
        Ok(rows.into_iter().collect())
    }
}

/// The risk acceptance of each finding that is in one.
pub struct AcceptanceOfFindingLoader(Db);

impl Loader<i64> for AcceptanceOfFindingLoader {
    type Value = i64;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, i64>, LoadError> {
        let mut conn = self.0.conn().await.map_err(|e| Arc::new(e.to_string()))?;
        let rows = RiskAcceptance::of_findings(&mut conn, keys)
            .await
            .map_err(|e| Arc::new(e.to_string()))?;
        Ok(rows.into_iter().collect())
    }
}

/// Attached files per finding, test or engagement.
pub struct FilesLoader(Db);

impl Loader<FileParent> for FilesLoader {
    type Value = Vec<StoredFile>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[FileParent],
    ) -> Result<HashMap<FileParent, Vec<StoredFile>>, LoadError> {
        let mut conn = self.0.conn().await.map_err(|e| Arc::new(e.to_string()))?;
        let rows = StoredFile::for_parents(&mut conn, keys)
            .await
            .map_err(|e| Arc::new(e.to_string()))?;
        let mut out: HashMap<FileParent, Vec<StoredFile>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for f in rows {
            if let Some(p) = f.parent() {
                out.entry(p).or_default().push(f);
            }
        }
        Ok(out)
    }
}

/// The group of each finding that has one.
pub struct GroupOfFindingLoader(Db);

impl Loader<i64> for GroupOfFindingLoader {
    type Value = i64;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, i64>, LoadError> {
        let mut conn = self.0.conn().await.map_err(|e| Arc::new(e.to_string()))?;
        let rows = FindingGroup::of_findings(&mut conn, keys)
            .await
            .map_err(|e| Arc::new(e.to_string()))?;
        Ok(rows
            .into_iter()
            .map(|m| (m.finding_id, m.finding_group_id))
            .collect())
    }
}

/// Member totals per finding group (an empty group has none).
pub struct GroupSummaryLoader(Db);

impl Loader<i64> for GroupSummaryLoader {
    type Value = GroupSummary;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, GroupSummary>, LoadError> {
        let mut conn = self.0.conn().await.map_err(|e| Arc::new(e.to_string()))?;
        let rows = FindingGroup::summaries(&mut conn, keys)
            .await
            .map_err(|e| Arc::new(e.to_string()))?;
        Ok(rows.into_iter().map(|r| (r.id, r)).collect())
    }
}

/// Earlier versions per note, oldest first.
pub struct NoteHistoryLoader(Db);

impl Loader<i64> for NoteHistoryLoader {
    type Value = Vec<crate::db::models::note::NoteVersion>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[i64],
    ) -> Result<HashMap<i64, Vec<crate::db::models::note::NoteVersion>>, LoadError> {
        let mut conn = self.0.conn().await.map_err(|e| Arc::new(e.to_string()))?;
        let rows = crate::db::models::note::NoteVersion::for_notes(&mut conn, keys)
            .await
            .map_err(|e| Arc::new(e.to_string()))?;
        let mut out: HashMap<i64, Vec<crate::db::models::note::NoteVersion>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for v in rows {
            out.entry(v.note_id).or_default().push(v);
        }
        Ok(out)
    }
}

/// Reviewers (user ids) per finding.
pub struct ReviewersLoader(Db);

impl Loader<i64> for ReviewersLoader {
    type Value = Vec<i64>;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Vec<i64>>, LoadError> {
        let mut conn = self.0.conn().await.map_err(|e| Arc::new(e.to_string()))?;
        let rows = crate::db::models::review::reviewers_of(&mut conn, keys)
            .await
            .map_err(|e| Arc::new(e.to_string()))?;
        let mut out: HashMap<i64, Vec<i64>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for (f, u) in rows {
            out.entry(f).or_default().push(u);
        }
        Ok(out)
    }
}

/// Review columns per finding.
pub struct ReviewStateLoader(Db);

impl Loader<i64> for ReviewStateLoader {
    type Value = crate::db::models::review::ReviewState;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[i64],
    ) -> Result<HashMap<i64, crate::db::models::review::ReviewState>, LoadError> {
        let mut conn = self.0.conn().await.map_err(|e| Arc::new(e.to_string()))?;
        let rows = crate::db::models::review::states(&mut conn, keys)
            .await
            .map_err(|e| Arc::new(e.to_string()))?;
        Ok(rows.into_iter().map(|r| (r.finding_id, r)).collect())
    }
}

/// Finding groups per test, by name.
pub struct TestGroupsLoader(Db);

impl Loader<i64> for TestGroupsLoader {
    type Value = Vec<FindingGroup>;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Vec<FindingGroup>>, LoadError> {
        let mut conn = self.0.conn().await.map_err(|e| Arc::new(e.to_string()))?;
        let rows = FindingGroup::for_tests(&mut conn, keys)
            .await
            .map_err(|e| Arc::new(e.to_string()))?;
        let mut out: HashMap<i64, Vec<FindingGroup>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for g in rows {
            out.entry(g.test_id).or_default().push(g);
        }
        Ok(out)
    }
}

/// Vulnerability ids per finding.
pub struct VulnerabilityIdsLoader(Db);

impl Loader<i64> for VulnerabilityIdsLoader {
    type Value = Vec<String>;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Vec<String>>, LoadError> {
        let mut conn = self.0.conn().await.map_err(|e| Arc::new(e.to_string()))?;
        let rows = VulnerabilityId::for_findings(&mut conn, keys)
            .await
            .map_err(|e| Arc::new(e.to_string()))?;
        let mut out: HashMap<i64, Vec<String>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for r in rows {
            out.entry(r.finding_id)
                .or_default()
                .push(r.vulnerability_id);
        }
        Ok(out)
    }
}

/// Locations (with link status) per finding.
pub struct FindingLocationsLoader(Db);

impl Loader<i64> for FindingLocationsLoader {
    type Value = Vec<FindingLocation>;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Vec<FindingLocation>>, LoadError> {
        let mut conn = self.0.conn().await.map_err(|e| Arc::new(e.to_string()))?;
        let rows = Location::for_findings(&mut conn, keys)
            .await
            .map_err(|e| Arc::new(e.to_string()))?;
        let mut out: HashMap<i64, Vec<FindingLocation>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for r in rows {
            out.entry(r.finding_id).or_default().push(r);
        }
        Ok(out)
    }
}

/// Notes per parent.
pub struct NotesLoader(Db);

impl Loader<NoteParent> for NotesLoader {
    type Value = Vec<Note>;
    type Error = LoadError;

    async fn load(&self, keys: &[NoteParent]) -> Result<HashMap<NoteParent, Vec<Note>>, LoadError> {
        let mut conn = self.0.conn().await.map_err(|e| Arc::new(e.to_string()))?;
        let rows = Note::for_parents(&mut conn, keys)
            .await
            .map_err(|e| Arc::new(e.to_string()))?;
        let mut out: HashMap<NoteParent, Vec<Note>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for n in rows {
            let parent = match (n.finding_id, n.test_id, n.engagement_id) {
                (Some(f), _, _) => NoteParent::Finding(f),
                (_, Some(t), _) => NoteParent::Test(t),
                (_, _, Some(e)) => NoteParent::Engagement(e),
                _ => continue,
            };
            out.entry(parent).or_default().push(n);
        }
        Ok(out)
    }
}

/// Child counts per parent (products per type, engagements per product, tests per engagement).
pub struct ChildCountLoader(Db);

impl Loader<(ChildKind, i64)> for ChildCountLoader {
    type Value = i64;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[(ChildKind, i64)],
    ) -> Result<HashMap<(ChildKind, i64), i64>, LoadError> {
        let mut conn = self.0.conn().await.map_err(|e| Arc::new(e.to_string()))?;
        let mut out: HashMap<(ChildKind, i64), i64> = keys.iter().map(|k| (*k, 0)).collect();
        for kind in [
            ChildKind::ProductsOfType,
            ChildKind::EngagementsOfProduct,
            ChildKind::TestsOfEngagement,
        ] {
            let ids: Vec<i64> = keys
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, id)| *id)
                .collect();
            if ids.is_empty() {
                continue;
            }
            for (parent, n) in count_children(&mut conn, kind, &ids)
                .await
                .map_err(|e| Arc::new(e.to_string()))?
            {
                out.insert((kind, parent), n);
            }
        }
        Ok(out)
    }
}

/// Finding counts per test.
pub struct TestFindingCountLoader(Db);

impl Loader<i64> for TestFindingCountLoader {
    type Value = i64;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, i64>, LoadError> {
        let mut conn = self.0.conn().await.map_err(|e| Arc::new(e.to_string()))?;
        let mut out: HashMap<i64, i64> = keys.iter().map(|k| (*k, 0)).collect();
        for (t, n) in Finding::count_by_test(&mut conn, keys)
            .await
            .map_err(|e| Arc::new(e.to_string()))?
        {
            out.insert(t, n);
        }
        Ok(out)
    }
}

/// A per-request loader that caches what it loaded (and what was fed to it).
pub type Dl<L> = DataLoader<L, HashMapCache>;

/// All loaders of one request.
pub struct Loaders {
    pub product_types: Dl<RowLoader<ProductType>>,
    pub products: Dl<RowLoader<Product>>,
    pub engagements: Dl<RowLoader<Engagement>>,
    pub tests: Dl<RowLoader<Test>>,
    pub test_types: Dl<RowLoader<TestType>>,
    pub findings: Dl<RowLoader<Finding>>,
    pub locations: Dl<RowLoader<Location>>,
    pub notes_by_id: Dl<RowLoader<Note>>,
    pub note_types: Dl<RowLoader<NoteType>>,
    pub users: Dl<RowLoader<User>>,
    pub finding_groups: Dl<RowLoader<FindingGroup>>,
    pub custom_fields: Dl<RowLoader<CustomField>>,
    pub files: Dl<FilesLoader>,
    pub risk_acceptances: Dl<RowLoader<RiskAcceptance>>,
    pub acceptance_of_finding: Dl<AcceptanceOfFindingLoader>,
    pub acceptance_counts: Dl<AcceptanceCountLoader>,
    pub group_of_finding: Dl<GroupOfFindingLoader>,
    pub group_summaries: Dl<GroupSummaryLoader>,
    pub test_groups: Dl<TestGroupsLoader>,
    pub reviewers: Dl<ReviewersLoader>,
    pub note_history: Dl<NoteHistoryLoader>,
    pub review_states: Dl<ReviewStateLoader>,
    pub vulnerability_ids: Dl<VulnerabilityIdsLoader>,
    pub finding_locations: Dl<FindingLocationsLoader>,
    pub notes: Dl<NotesLoader>,
    pub child_counts: Dl<ChildCountLoader>,
    pub test_finding_counts: Dl<TestFindingCountLoader>,
}

impl Loaders {
    /// Fresh loaders for one request. Batches run in spawned tasks; they carry
    /// the request's statement counter along so counting stays per request.
    pub fn new(db: &Db, counter: Option<&QueryCounter>) -> Loaders {
        let counter = counter.cloned();
        fn make<L: Send + Sync + 'static>(loader: L, counter: &Option<QueryCounter>) -> Dl<L> {
            let counter = counter.clone();
            DataLoader::with_cache(
                loader,
                move |fut| {
                    let counter = counter.clone();
                    tokio::spawn(async move {
                        match counter {
                            Some(c) => c.scope(fut).await,
                            None => fut.await,
                        }
                    })
                },
                HashMapCache::default(),
            )
        }
        Loaders {
            product_types: make(rows(db), &counter),
            products: make(rows(db), &counter),
            engagements: make(rows(db), &counter),
            tests: make(rows(db), &counter),
            test_types: make(rows(db), &counter),
            findings: make(rows(db), &counter),
            locations: make(rows(db), &counter),
            notes_by_id: make(rows(db), &counter),
            note_types: make(rows(db), &counter),
            users: make(rows(db), &counter),
            finding_groups: make(rows(db), &counter),
            custom_fields: make(rows(db), &counter),
            files: make(FilesLoader(db.clone()), &counter),
            risk_acceptances: make(rows(db), &counter),
            acceptance_of_finding: make(AcceptanceOfFindingLoader(db.clone()), &counter),
            acceptance_counts: make(AcceptanceCountLoader(db.clone()), &counter),
            group_of_finding: make(GroupOfFindingLoader(db.clone()), &counter),
            group_summaries: make(GroupSummaryLoader(db.clone()), &counter),
            test_groups: make(TestGroupsLoader(db.clone()), &counter),
            reviewers: make(ReviewersLoader(db.clone()), &counter),
            note_history: make(NoteHistoryLoader(db.clone()), &counter),
            review_states: make(ReviewStateLoader(db.clone()), &counter),
            vulnerability_ids: make(VulnerabilityIdsLoader(db.clone()), &counter),
            finding_locations: make(FindingLocationsLoader(db.clone()), &counter),
            notes: make(NotesLoader(db.clone()), &counter),
            child_counts: make(ChildCountLoader(db.clone()), &counter),
            test_finding_counts: make(TestFindingCountLoader(db.clone()), &counter),
        }
    }
}
