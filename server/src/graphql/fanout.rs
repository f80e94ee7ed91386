//! Shared encoding of finding-change subscriptions.
//!
//! A thousand subscribers to the same subscription would each run the
//! GraphQL executor over every event and serialise the result: ten million
//! executions for one 10k-finding import. When a subscription selects only
//! the change's own scalar fields (no `finding { … }`, no fragments or
//! directives), the WebSocket endpoint still lets async-graphql validate it,
//! parse its arguments and check the caller, but then takes the subscriber's
//! state over and writes the JSON itself: every page of the event bus is
//! encoded once per distinct selection, and each subscriber's messages copy
//! the runs of that encoding it may see. Access checks and filters stay per
//! subscriber (in [`super::events`]).

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::{Arc, LazyLock, Mutex, Weak};

use async_graphql::Context;
use async_graphql::parser::types::{DocumentOperations, OperationType, Selection};

use super::events::{Piece, State};
use super::ids::{self, Kind};
use crate::events::{Event, Page};

/// A field of `FindingChange` the shared encoder can write.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Field {
    Seq,
    Kind,
    FindingId,
    ProductId,
    ProductTypeId,
    EngagementId,
    TestId,
    ActorId,
    Severity,
    Changes,
    CreatedAt,
    Typename,
}

impl Field {
    fn by_name(name: &str) -> Option<Field> {
        Some(match name {
            "seq" => Field::Seq,
            "kind" => Field::Kind,
            "findingId" => Field::FindingId,
            "productId" => Field::ProductId,
            "productTypeId" => Field::ProductTypeId,
            "engagementId" => Field::EngagementId,
            "testId" => Field::TestId,
            "actorId" => Field::ActorId,
            "severity" => Field::Severity,
            "changes" => Field::Changes,
            "createdAt" => Field::CreatedAt,
            "__typename" => Field::Typename,
            _ => return None,
        })
    }

    /// Writes the value exactly as the `FindingChange` resolvers answer it.
    fn write(self, e: &Event, out: &mut String) {
        let id = |out: &mut String, kind: Kind, v: Option<i64>| match v {
            Some(v) => push_str(out, &ids::encode(kind, v).0),
            None => out.push_str("null"),
        };
        match self {
            Field::Seq => {
                let _ = write!(out, "{}", e.seq);
            }
            Field::Kind => push_str(out, &e.kind),
            Field::FindingId => id(out, Kind::Finding, e.finding_id),
            Field::ProductId => id(out, Kind::Product, e.product_id),
            Field::ProductTypeId => id(out, Kind::ProductType, e.product_type_id),
            Field::EngagementId => id(out, Kind::Engagement, e.engagement_id),
            Field::TestId => id(out, Kind::Test, e.test_id),
            Field::ActorId => id(out, Kind::User, e.actor_id),
            Field::Severity => match e.severity {
                Some(s) => push_str(out, s.as_str()),
                None => out.push_str("null"),
            },
            Field::Changes => {
                // Re-serialised rather than copied: the same normal form
                // (and the same `null` for unreadable text) as the resolver.
                let v: serde_json::Value = serde_json::from_str(&e.changes).unwrap_or_default();
                out.push_str(&serde_json::to_string(&v).unwrap_or_else(|_| "null".to_owned()));
            }
            Field::CreatedAt => push_str(out, &e.created_at.to_rfc3339()),
            Field::Typename => out.push_str("\"FindingChange\""),
        }
    }
}

fn push_str(out: &mut String, s: &str) {
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "null".to_owned()));
}

/// The JSON keys (already quoted) and fields a subscription writes, in order.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
struct Shape(Vec<(String, Field)>);

impl Shape {
    fn write(&self, e: &Event, out: &mut String) {
        out.push('{');
        for (i, (key, field)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(key);
            out.push(':');
            field.write(e, out);
        }
        out.push('}');
    }
}

/// One page encoded for one shape: the events' objects joined by commas,
/// with where each one ends.
struct Encoded {
    body: String,
    ends: Vec<usize>,
}

impl Encoded {
    fn of(shape: &Shape, page: &[Arc<Event>]) -> Encoded {
        let mut body = String::with_capacity(page.len() * 96);
        let mut ends = Vec::with_capacity(page.len());
        for e in page {
            if !body.is_empty() {
                body.push(',');
            }
            shape.write(e, &mut body);
            ends.push(body.len());
        }
        Encoded { body, ends }
    }

    fn start(&self, i: usize) -> usize {
        match i {
            0 => 0,
            _ => self.ends.get(i - 1).map_or(self.body.len(), |e| e + 1),
        }
    }

    /// Events `from..to`, comma-separated.
    fn run(&self, from: usize, to: usize) -> &str {
        let end = to
            .checked_sub(1)
            .and_then(|i| self.ends.get(i))
            .copied()
            .unwrap_or(0);
        self.body.get(self.start(from)..end).unwrap_or("")
    }
}

/// Pages of the bus kept encoded per shape; a page is found by identity.
const RECENT_PAGES: usize = 32;

/// What the subscribers of one shape share.
struct Shared {
    shape: Shape,
    recent: Mutex<VecDeque<(Page, Arc<Encoded>)>>,
}

impl Shared {
    fn encoded(&self, page: &Page) -> Arc<Encoded> {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, enc)) = recent.iter().find(|(p, _)| Arc::ptr_eq(p, page)) {
            return Arc::clone(enc);
        }
        // Encoded under the lock: the other subscribers of this shape want
        // the same page now and would only repeat the work.
        let enc = Arc::new(Encoded::of(&self.shape, page));
        recent.push_back((Arc::clone(page), Arc::clone(&enc)));
        if recent.len() > RECENT_PAGES {
            recent.pop_front();
        }
        enc
    }
}

static SHAPES: LazyLock<Mutex<HashMap<Shape, Weak<Shared>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn shared(shape: Shape) -> Arc<Shared> {
    let mut shapes = SHAPES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = shapes.get(&shape).and_then(Weak::upgrade) {
        return s;
    }
    if shapes.len() >= 64 {
        shapes.retain(|_, w| w.strong_count() > 0);
    }
    let s = Arc::new(Shared {
        shape: shape.clone(),
        recent: Mutex::new(VecDeque::new()),
    });
    shapes.insert(shape, Arc::downgrade(&s));
    s
}

/// How the WebSocket endpoint writes one subscription itself.
pub struct Plan {
    shared: Arc<Shared>,
    /// The root field's response key, quoted.
    root_key: String,
}

impl Plan {
    /// `Some` when `request` subscribes to `findingChanges` or
    /// `findingChangeBatches` selecting only the change's scalar fields;
    /// anything else goes through the GraphQL executor.
    pub fn of(request: &async_graphql::Request) -> Option<Plan> {
        let doc = async_graphql::parser::parse_query(&request.query).ok()?;
        let op = match (&doc.operations, request.operation_name.as_deref()) {
            (DocumentOperations::Single(op), _) => op,
            (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name)?,
            // One named operation is "multiple" to the parser.
            (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next()?,
            (DocumentOperations::Multiple(_), None) => return None,
        };
        if op.node.ty != OperationType::Subscription || !op.node.directives.is_empty() {
            return None;
        }
        let [root] = op.node.selection_set.node.items.as_slice() else {
            return None;
        };
        let Selection::Field(root) = &root.node else {
            return None;
        };
        let name = root.node.name.node.as_str();
        if !matches!(name, "findingChanges" | "findingChangeBatches")
            || !root.node.directives.is_empty()
        {
            return None;
        }
        let mut fields = Vec::new();
        for item in &root.node.selection_set.node.items {
            let Selection::Field(f) = &item.node else {
                return None;
            };
            let f = &f.node;
            if !f.arguments.is_empty()
                || !f.directives.is_empty()
                || !f.selection_set.node.items.is_empty()
            {
                return None;
            }
            let field = Field::by_name(f.name.node.as_str())?;
            let key = serde_json::to_string(f.response_key().node.as_str()).ok()?;
            // A repeated key merges in GraphQL; leave that to the executor.
            if fields.iter().any(|(k, _)| *k == key) {
                return None;
            }
            fields.push((key, field));
        }
        if fields.is_empty() {
            return None;
        }
        Some(Plan {
            shared: shared(Shape(fields)),
            root_key: serde_json::to_string(root.node.response_key().node.as_str()).ok()?,
        })
    }

    /// The protocol messages carrying `pieces` for subscription `id`: one
    /// per event, or one for all of them when `batched`.
    pub(crate) fn messages(
        &self,
        next_type: &str,
        id: &str,
        pieces: &[Piece],
        batched: bool,
    ) -> Vec<String> {
        let prefix = format!(
            "{{\"type\":\"{next_type}\",\"id\":{},\"payload\":{{\"data\":{{{}:",
            serde_json::to_string(id).unwrap_or_else(|_| "\"\"".to_owned()),
            self.root_key
        );
        const SUFFIX: &str = "}}}";
        let encodings: Vec<Option<Arc<Encoded>>> = pieces
            .iter()
            .map(|p| p.shared.then(|| self.shared.encoded(&p.page)))
            .collect();
        if batched {
            let size: usize = pieces
                .iter()
                .zip(&encodings)
                .map(|(p, enc)| match enc {
                    Some(enc) => enc.run(p.range.start as usize, p.range.end as usize).len(),
                    None => p.range.len() * 96,
                })
                .sum();
            let mut msg = String::with_capacity(prefix.len() + size + pieces.len() + 8);
            msg.push_str(&prefix);
            msg.push('[');
            let mut first = true;
            for (p, enc) in pieces.iter().zip(&encodings) {
                if !first {
                    msg.push(',');
                }
                first = false;
                let (from, to) = (p.range.start as usize, p.range.end as usize);
                match enc {
                    Some(enc) => msg.push_str(enc.run(from, to)),
                    None => {
                        for (k, e) in p.page.get(from..to).unwrap_or_default().iter().enumerate() {
                            if k > 0 {
                                msg.push(',');
                            }
                            self.shared.shape.write(e, &mut msg);
                        }
                    }
                }
            }
            msg.push(']');
            msg.push_str(SUFFIX);
            return vec![msg];
        }
        let mut out = Vec::new();
        for (p, enc) in pieces.iter().zip(&encodings) {
            for i in p.range.start as usize..p.range.end as usize {
                let mut msg = String::with_capacity(prefix.len() + 128);
                msg.push_str(&prefix);
                match enc {
                    Some(enc) => msg.push_str(enc.run(i, i + 1)),
                    None => {
                        if let Some(e) = p.page.get(i) {
                            self.shared.shape.write(e, &mut msg);
                        }
                    }
                }
                msg.push_str(SUFFIX);
                out.push(msg);
            }
        }
        out
    }
}

/// A subscriber's state as the resolver leaves it for the endpoint.
pub(crate) struct Handover {
    pub state: State,
    /// `findingChangeBatches`' `maxBatch`; `None` for one message per event.
    pub max_batch: Option<usize>,
}

/// Where the resolver of a planned subscription leaves its state.
#[derive(Clone, Default)]
pub struct Slot(Arc<Mutex<Option<Handover>>>);

impl Slot {
    pub(crate) fn take(&self) -> Option<Handover> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// In a planned subscription, parks `state` in the request's [`Slot`] and
/// answers `None` (the resolver's own stream then ends at once); otherwise
/// gives it back.
pub(crate) fn hand_over(
    ctx: &Context<'_>,
    state: State,
    max_batch: Option<usize>,
) -> Option<State> {
    match ctx.data_opt::<Slot>() {
        Some(slot) => {
            *slot.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(Handover { state, max_batch });
            None
        }
        None => Some(state),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(query: &str) -> Option<Plan> {
        Plan::of(&async_graphql::Request::new(query))
    }

    fn event(seq: i64) -> Arc<Event> {
        Arc::new(Event {
            seq,
            kind: "created".to_owned(),
            finding_id: Some(seq * 10),
            product_id: Some(1),
            product_type_id: Some(2),
            engagement_id: None,
            test_id: Some(3),
            actor_id: None,
            changes: "{\"b\": 1, \"a\": [true]}".to_owned(),
            severity: Some(crate::domain::severity::Severity::High),
            created_at: chrono::DateTime::from_timestamp(1_764_000_000, 0).unwrap_or_default(),
        })
    }

    #[test]
    fn only_plain_scalar_selections_are_planned() {
        assert!(plan("subscription { findingChanges { seq kind } }").is_some());
        assert!(plan("subscription S($a: Int) { x: findingChangeBatches(afterSeq: $a) { s: seq changes } }").is_some());
        for executor in [
            "subscription { findingChanges { seq finding { title } } }",
            "subscription { findingChanges { ... on FindingChange { seq } } }",
            "subscription { findingChanges { ...F } } fragment F on FindingChange { seq }",
            "subscription { findingChanges { seq @include(if: true) } }",
            "subscription { findingChanges { seq seq } }",
            "subscription { findingChanges { nope } }",
            "query { findingChanges { seq } }",
            "subscription A { findingChanges { seq } } subscription B { findingChanges { kind } }",
            "subscription {",
        ] {
            assert!(plan(executor).is_none(), "{executor}");
        }
        // Several operations: the named one decides.
        let named = "subscription A { findingChanges { seq } } subscription B { findingChanges { finding { id } } }";
        assert!(Plan::of(&async_graphql::Request::new(named).operation_name("A")).is_some());
        assert!(Plan::of(&async_graphql::Request::new(named).operation_name("B")).is_none());
    }

    #[test]
    fn messages_frame_runs_of_shared_and_private_pages() {
        let Some(p) =
            plan("subscription { all: findingChangeBatches { s: seq kind findingId changes } }")
        else {
            panic!("planned");
        };
        let page: Page = Arc::new((1..=4).map(event).collect());
        let own: Page = Arc::new(vec![event(9)]);
        let pieces = [
            Piece {
                page: Arc::clone(&page),
                range: 1..3,
                shared: true,
            },
            Piece {
                page: Arc::clone(&own),
                range: 0..1,
                shared: false,
            },
        ];
        let batch = p.messages("next", "7", &pieces, true);
        assert_eq!(batch.len(), 1);
        let v: serde_json::Value = serde_json::from_str(&batch[0]).unwrap_or_default();
        assert_eq!(v["type"], "next");
        assert_eq!(v["id"], "7");
        let items = v["payload"]["data"]["all"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let seqs: Vec<i64> = items.iter().filter_map(|e| e["s"].as_i64()).collect();
        assert_eq!(seqs, [2, 3, 9]);
        assert_eq!(
            items[0]["changes"],
            serde_json::json!({"a": [true], "b": 1})
        );
        assert_eq!(items[0]["findingId"], ids::encode(Kind::Finding, 20).0);
        // One message per event when not batched, legacy protocol naming.
        let single = p.messages("data", "x", &pieces, false);
        assert_eq!(single.len(), 3);
        let v: serde_json::Value = serde_json::from_str(&single[2]).unwrap_or_default();
        assert_eq!(v["type"], "data");
        assert_eq!(v["payload"]["data"]["all"]["s"], 9);
        // The shared page was encoded once and is found again by identity.
        let again = p.shared.encoded(&page);
        assert!(Arc::ptr_eq(&again, &p.shared.encoded(&page)));
    }
}
