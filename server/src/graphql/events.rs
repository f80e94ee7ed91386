//! `findingChanges`: finding-change events over GraphQL subscriptions.
//!
//! Each event is checked against the subscriber's access when it is
//! delivered (`Finding_View` on its product, from the current policy), so a
//! membership revoked mid-subscription stops the flow at once. A client that
//! passes the last `seq` it saw first receives what it missed, from the
//! outbox table, then live events, without duplicates.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Json, Object, Subscription};
use chrono::{DateTime, Utc};
use futures::Stream;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use super::context::{Cx, Readable};
use super::error::{ApiError, ApiResult};
use super::finding::Finding;
use super::hierarchy::{Engagement, Product, ProductType, Test};
use super::ids::{self, Kind};
use super::user::User;
use crate::authz::{Authz, Object as AuthzObject, Permission, Subject};
use crate::db::Db;
use crate::db::models::hierarchy::{
    Engagement as EngagementRow, Product as ProductRow, ProductType as ProductTypeRow,
    Test as TestRow,
};
use crate::domain::severity::Severity;
use crate::events::{Event, EventBus, EventKind, Page};

/// Events read from the table per query while a subscriber catches up.
const REPLAY_PAGE: i64 = 2_000;

/// Which changes to receive; every list is "any of".
#[derive(InputObject, Default, Clone)]
pub struct FindingChangeFilter {
    /// Product types.
    pub product_types: Option<Vec<ID>>,
    /// Products.
    pub products: Option<Vec<ID>>,
    /// Engagements.
    pub engagements: Option<Vec<ID>>,
    /// Tests.
    pub tests: Option<Vec<ID>>,
    /// The finding's current severity.
    pub severities: Option<Vec<Severity>>,
    /// Event kinds.
    pub kinds: Option<Vec<EventKind>>,
}

#[derive(Clone, Default)]
struct Matcher {
    product_types: Option<Vec<i64>>,
    products: Option<Vec<i64>>,
    engagements: Option<Vec<i64>>,
    tests: Option<Vec<i64>>,
    severities: Option<Vec<Severity>>,
    kinds: Option<Vec<EventKind>>,
}

fn decode_all(ids_in: &Option<Vec<ID>>, kind: Kind) -> ApiResult<Option<Vec<i64>>> {
    ids_in
        .as_ref()
        .map(|v| v.iter().map(|i| ids::decode(i, kind)).collect())
        .transpose()
}

impl Matcher {
    fn new(f: &FindingChangeFilter) -> ApiResult<Matcher> {
        Ok(Matcher {
            product_types: decode_all(&f.product_types, Kind::ProductType)?,
            products: decode_all(&f.products, Kind::Product)?,
            engagements: decode_all(&f.engagements, Kind::Engagement)?,
            tests: decode_all(&f.tests, Kind::Test)?,
            severities: f.severities.clone(),
            kinds: f.kinds.clone(),
        })
    }

    fn matches(&self, e: &Event) -> bool {
        let any = |want: &Option<Vec<i64>>, have: Option<i64>| {
            want.as_ref()
                .is_none_or(|w| have.is_some_and(|h| w.contains(&h)))
        };
        any(&self.product_types, e.product_type_id)
            && any(&self.products, e.product_id)
            && any(&self.engagements, e.engagement_id)
            && any(&self.tests, e.test_id)
            && self
                .severities
                .as_ref()
                .is_none_or(|w| e.severity.is_some_and(|s| w.contains(&s)))
            && self
                .kinds
                .as_ref()
                .is_none_or(|w| w.iter().any(|k| k.as_str() == e.kind))
    }
}

fn may_read(authz: &Authz, subject: Subject, e: &Event) -> bool {
    match (e.product_id, e.product_type_id) {
        (Some(id), Some(product_type_id)) => authz.can(
            subject,
            Permission::Finding_View,
            AuthzObject::Product {
                id,
                product_type_id,
            },
        ),
        _ => subject.is_superuser,
    }
}

/// A hierarchy row the change points at, read straight from its table (a
/// subscription lives long: a loader's cache would serve stale rows), or
/// `None` when it is gone or the subscriber may not read it now.
async fn fresh<T: Readable + Fresh>(ctx: &Context<'_>, id: Option<i64>) -> ApiResult<Option<T>> {
    let cx = Cx::of(ctx)?;
    let Some(id) = id else {
        return Ok(None);
    };
    let row = {
        let mut conn = cx.conn().await?;
        T::find(&mut conn, id).await?
    };
    match row {
        Some(row) if row.may_read(&cx).await? => Ok(Some(row)),
        _ => Ok(None),
    }
}

/// The one-row read [`fresh`] uses.
trait Fresh: Sized {
    fn find(
        conn: &mut diesel_async::AsyncPgConnection,
        id: i64,
    ) -> impl Future<Output = diesel::QueryResult<Option<Self>>> + Send;
}

macro_rules! fresh_rows {
    ($($row:ty),*) => {$(
        impl Fresh for $row {
            async fn find(
                conn: &mut diesel_async::AsyncPgConnection,
                id: i64,
            ) -> diesel::QueryResult<Option<Self>> {
                <$row>::find(conn, id).await
            }
        }
    )*};
}

fresh_rows!(ProductTypeRow, ProductRow, EngagementRow, TestRow);

/// One change to a finding.
pub struct FindingChange(Arc<Event>);

#[Object]
impl FindingChange {
    /// Position in the change log; pass the last one seen as `afterSeq` to resume.
    async fn seq(&self) -> i64 {
        self.0.seq
    }

    /// What happened.
    async fn kind(&self) -> &str {
        &self.0.kind
    }

    /// The finding's id.
    async fn finding_id(&self) -> Option<ID> {
        self.0.finding_id.map(|i| ids::encode(Kind::Finding, i))
    }

    /// The finding as it is now (null once deleted).
    async fn finding(&self, ctx: &Context<'_>) -> ApiResult<Option<Finding>> {
        let cx = Cx::of(ctx)?;
        let Some(id) = self.0.finding_id else {
            return Ok(None);
        };
        // Straight from the table: a subscription lives long, a loader's
        // cache would serve stale rows.
        let mut conn = cx.conn().await?;
        Ok(crate::db::models::finding::Finding::find(&mut conn, id)
            .await?
            .filter(|f| cx.can_read_product(f.product_id) || cx.is_superuser())
            .map(Finding))
    }

    /// The product, as it is now (null once deleted).
    async fn product(&self, ctx: &Context<'_>) -> ApiResult<Option<Product>> {
        Ok(fresh::<ProductRow>(ctx, self.0.product_id)
            .await?
            .map(Product))
    }

    /// The product type, as it is now (null once deleted).
    async fn product_type(&self, ctx: &Context<'_>) -> ApiResult<Option<ProductType>> {
        Ok(fresh::<ProductTypeRow>(ctx, self.0.product_type_id)
            .await?
            .map(ProductType))
    }

    /// The engagement, as it is now (null once deleted).
    async fn engagement(&self, ctx: &Context<'_>) -> ApiResult<Option<Engagement>> {
        Ok(fresh::<EngagementRow>(ctx, self.0.engagement_id)
            .await?
            .map(Engagement))
    }

    /// The test, as it is now (null once deleted).
    async fn test(&self, ctx: &Context<'_>) -> ApiResult<Option<Test>> {
        Ok(fresh::<TestRow>(ctx, self.0.test_id).await?.map(Test))
    }

    /// Who made the change (null for the system or a deleted account).
    async fn actor(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let cx = Cx::of(ctx)?;
        let Some(id) = self.0.actor_id else {
            return Ok(None);
        };
        let mut conn = cx.conn().await?;
        Ok(crate::db::models::user::User::by_id(&mut conn, id)
            .await?
            .map(User))
    }

    /// The product's id.
    async fn product_id(&self) -> Option<ID> {
        self.0.product_id.map(|i| ids::encode(Kind::Product, i))
    }

    /// The product type's id.
    async fn product_type_id(&self) -> Option<ID> {
        self.0
            .product_type_id
            .map(|i| ids::encode(Kind::ProductType, i))
    }

    /// The engagement's id.
    async fn engagement_id(&self) -> Option<ID> {
        self.0
            .engagement_id
            .map(|i| ids::encode(Kind::Engagement, i))
    }

    /// The test's id.
    async fn test_id(&self) -> Option<ID> {
        self.0.test_id.map(|i| ids::encode(Kind::Test, i))
    }

    /// Who made the change.
    async fn actor_id(&self) -> Option<ID> {
        self.0.actor_id.map(|i| ids::encode(Kind::User, i))
    }

    /// The finding's severity now.
    async fn severity(&self) -> Option<&str> {
        self.0.severity.map(Severity::as_str)
    }

    /// Changed fields with their values before and after.
    async fn changes(&self) -> Json<serde_json::Value> {
        Json(serde_json::from_str(&self.0.changes).unwrap_or_default())
    }

    /// When it happened.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Events of one page that a subscriber will receive: contiguous runs of
/// indices into the page, so a page every event of which passes is one run
/// and its shared encoding is copied in one piece.
struct Chunk {
    page: Page,
    runs: VecDeque<Range<u32>>,
    /// A page of the bus, which every subscriber sees as the same `Arc` (its
    /// encoding is cached); table pages are this subscriber's own.
    shared: bool,
}

/// A contiguous run of one page's events, handed to the fast path.
pub(crate) struct Piece {
    pub page: Page,
    pub range: Range<u32>,
    pub shared: bool,
}

pub(crate) struct State {
    rx: tokio::sync::broadcast::Receiver<Page>,
    /// Events ready to send, oldest first, already checked and filtered.
    pending: VecDeque<Chunk>,
    /// Reading the table after `last` page by page (a resume, or a lag
    /// behind the in-memory buffer) until it is exhausted.
    catching_up: bool,
    /// Seqs missing between rows read from the table: a transaction still
    /// open may commit them later, and then they arrive live.
    skipped: std::collections::BTreeMap<i64, std::time::Instant>,
    /// Highest seq read from the table; live events at or below it were
    /// already read there, except the skipped ones.
    table_high: i64,
    /// Highest seq handed on (where a catch-up after a lag starts).
    last_seen: i64,
    db: Db,
    authz: Authz,
    subject: Subject,
    matcher: Matcher,
}

impl State {
    /// Checks the caller and the resume point and subscribes to the bus.
    async fn open(
        ctx: &Context<'_>,
        filter: Option<FindingChangeFilter>,
        after_seq: Option<i64>,
    ) -> Result<State, ApiError> {
        let cx = Cx::of(ctx)?;
        let bus = ctx
            .data::<EventBus>()
            .map_err(|_| ApiError::Internal("event bus missing".to_owned()))?;
        let matcher = Matcher::new(&filter.unwrap_or_default())?;
        // Subscribe before replaying so nothing falls between the two.
        let rx = bus.subscribe();
        let mut table_high = 0;
        if let Some(after) = after_seq {
            let after = after.max(0);
            let mut conn = cx.conn().await?;
            let pruned = crate::events::pruned_through(&mut conn).await?;
            if after < pruned {
                return Err(ApiError::EventsExpired { after, pruned });
            }
            table_high = after;
        }
        Ok(State {
            rx,
            pending: VecDeque::new(),
            catching_up: after_seq.is_some(),
            skipped: std::collections::BTreeMap::new(),
            table_high,
            last_seen: table_high,
            db: cx.db().clone(),
            authz: cx.authz().clone(),
            subject: cx.subject(),
            matcher,
        })
    }

    /// Waits until something is pending; `None` when the bus closed (or the
    /// table could not be read: the client resumes with `afterSeq`).
    async fn fill(&mut self) -> Option<()> {
        while self.pending.is_empty() {
            if self.catching_up {
                self.read_page().await?;
                continue;
            }
            match self.rx.recv().await {
                Ok(page) => self.accept_live(&page),
                Err(RecvError::Lagged(_)) => self.lagged(),
                Err(RecvError::Closed) => return None,
            }
        }
        Some(())
    }

    /// Takes in whatever else is ready without waiting for new events;
    /// `false` when nothing more is.
    async fn fill_more(&mut self) -> bool {
        if self.catching_up {
            return self.read_page().await.is_some();
        }
        match self.rx.try_recv() {
            Ok(page) => {
                self.accept_live(&page);
                true
            }
            Err(TryRecvError::Lagged(_)) => {
                self.lagged();
                true
            }
            Err(_) => false,
        }
    }

    fn pop_one(&mut self) -> Option<Arc<Event>> {
        let chunk = self.pending.front_mut()?;
        let run = chunk.runs.front_mut()?;
        let i = run.start;
        run.start += 1;
        let e = chunk.page.get(i as usize).cloned();
        if run.start >= run.end {
            chunk.runs.pop_front();
            if chunk.runs.is_empty() {
                self.pending.pop_front();
            }
        }
        e
    }

    /// The next event this subscriber may see.
    async fn next(&mut self) -> Option<Arc<Event>> {
        loop {
            self.fill().await?;
            if let Some(e) = self.pop_one() {
                return Some(e);
            }
        }
    }

    /// The next event, then whatever else is ready without waiting, up to `max`.
    async fn next_batch(&mut self, max: usize) -> Option<Vec<Arc<Event>>> {
        let mut out = vec![self.next().await?];
        while out.len() < max {
            if let Some(e) = self.pop_one() {
                out.push(e);
            } else if !self.fill_more().await {
                break;
            }
        }
        Some(out)
    }

    /// Like [`State::next_batch`], as runs of pages instead of single events.
    pub(crate) async fn next_pieces(&mut self, max: usize) -> Option<Vec<Piece>> {
        self.fill().await?;
        let mut out = Vec::new();
        let mut left = max.max(1);
        while left > 0 {
            let Some(chunk) = self.pending.front_mut() else {
                if self.fill_more().await {
                    continue;
                }
                break;
            };
            let Some(run) = chunk.runs.front_mut() else {
                self.pending.pop_front();
                continue;
            };
            let take = (run.len()).min(left);
            let end = run.start + u32::try_from(take).unwrap_or(u32::MAX);
            out.push(Piece {
                page: Arc::clone(&chunk.page),
                range: run.start..end,
                shared: chunk.shared,
            });
            left -= take;
            run.start = end;
            if run.start >= run.end {
                chunk.runs.pop_front();
                if chunk.runs.is_empty() {
                    self.pending.pop_front();
                }
            }
        }
        Some(out)
    }

    /// Queues the events of `page` for which `keep` holds and this subscriber
    /// may see, as runs.
    fn accept(
        &mut self,
        page: &Page,
        shared: bool,
        mut keep: impl FnMut(&mut Self, &Event) -> bool,
    ) {
        let mut runs: VecDeque<Range<u32>> = VecDeque::new();
        // One access decision per product and page: an import's events
        // share a product, so this is one policy lookup instead of thousands.
        let mut memo: Option<((i64, i64), bool)> = None;
        for (i, e) in page.iter().enumerate() {
            if !keep(self, e) || !self.matcher.matches(e) {
                continue;
            }
            let allowed = match (e.product_id, e.product_type_id) {
                (Some(p), Some(t)) => match memo {
                    Some((key, ok)) if key == (p, t) => ok,
                    _ => {
                        let ok = may_read(&self.authz, self.subject, e);
                        memo = Some(((p, t), ok));
                        ok
                    }
                },
                _ => may_read(&self.authz, self.subject, e),
            };
            if !allowed {
                continue;
            }
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            match runs.back_mut() {
                Some(r) if r.end == i => r.end = i + 1,
                _ => runs.push_back(i..i + 1),
            }
        }
        if !runs.is_empty() {
            self.pending.push_back(Chunk {
                page: Arc::clone(page),
                runs,
                shared,
            });
        }
    }

    fn accept_live(&mut self, page: &Page) {
        self.accept(page, true, |s, e| {
            if e.seq > s.table_high || s.skipped.remove(&e.seq).is_some() {
                s.last_seen = s.last_seen.max(e.seq);
                true
            } else {
                false
            }
        });
    }

    /// Fell behind the in-memory buffer: go on from the table.
    fn lagged(&mut self) {
        self.table_high = self.table_high.max(self.last_seen);
        self.catching_up = true;
    }

    async fn read_page(&mut self) -> Option<()> {
        let mut conn = self.db.conn().await.ok()?;
        let rows = crate::events::after(&mut conn, self.table_high, REPLAY_PAGE)
            .await
            .ok()?;
        if rows.len() < usize::try_from(REPLAY_PAGE).unwrap_or(usize::MAX) {
            self.catching_up = false;
        }
        let now = std::time::Instant::now();
        self.skipped
            .retain(|_, since| now.duration_since(*since) < crate::events::GAP_GRACE);
        for e in &rows {
            for missing in ((self.table_high + 1)..e.seq).take(10_000) {
                self.skipped.insert(missing, now);
            }
            self.table_high = e.seq;
            self.last_seen = self.last_seen.max(e.seq);
        }
        let page: Page = Arc::new(rows.into_iter().map(Arc::new).collect());
        self.accept(&page, false, |_, _| true);
        Some(())
    }
}

/// Subscriptions.
#[derive(Default)]
pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// Changes to findings you may read, as they commit, in order. With
    /// `afterSeq`, first the changes after it that are still kept (an
    /// `EVENTS_EXPIRED` error when some of them were pruned).
    async fn finding_changes(
        &self,
        ctx: &Context<'_>,
        filter: Option<FindingChangeFilter>,
        after_seq: Option<i64>,
    ) -> Result<impl Stream<Item = FindingChange> + use<>, ApiError> {
        let state = State::open(ctx, filter, after_seq).await?;
        let state = super::fanout::hand_over(ctx, state, None);
        Ok(futures::stream::unfold(state, |s| async move {
            let mut s = s?;
            let e = s.next().await?;
            Some((FindingChange(e), Some(s)))
        }))
    }

    /// The same changes as `findingChanges`, but each message carries every
    /// change that is ready (up to `maxBatch`, default 1000): an import of
    /// 100k findings arrives in a few hundred messages instead of 100k.
    async fn finding_change_batches(
        &self,
        ctx: &Context<'_>,
        filter: Option<FindingChangeFilter>,
        after_seq: Option<i64>,
        #[graphql(default = 1000, validator(minimum = 1, maximum = 10000))] max_batch: i32,
    ) -> Result<impl Stream<Item = Vec<FindingChange>> + use<>, ApiError> {
        let state = State::open(ctx, filter, after_seq).await?;
        let max = usize::try_from(max_batch).unwrap_or(1);
        let state = super::fanout::hand_over(ctx, state, Some(max));
        Ok(futures::stream::unfold(state, move |s| async move {
            let mut s = s?;
            let batch = s.next_batch(max).await?;
            Some((batch.into_iter().map(FindingChange).collect(), Some(s)))
        }))
    }
}
