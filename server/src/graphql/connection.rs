//! Cursor connections with keyset pagination (GitHub's conventions):
//! `edges { cursor node }`, `nodes`, `pageInfo` and a lazily counted `totalCount`.
//!
//! A list describes its query once as a [`Paged`] (one page, the count, a
//! row's cursor); [`paged`] runs it for every connection field.

use std::future::Future;
use std::sync::Arc;

use async_graphql::{Context, SimpleObject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDate;
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::context::Cx;
use super::error::{ApiError, ApiResult};
use crate::db::models::{Direction, PageQuery, SortKey};

/// The configured cap on `first`/`last`.
#[derive(Debug, Clone, Copy)]
pub struct PageLimits {
    /// Largest page.
    pub max_page_size: u32,
}

impl PageLimits {
    /// The schema's limits (100 when a schema was built without them).
    pub fn of(ctx: &Context<'_>) -> PageLimits {
        ctx.data_opt::<PageLimits>()
            .copied()
            .unwrap_or(PageLimits { max_page_size: 100 })
    }
}

/// Page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE_SIZE: i32 = 20;

/// Standard page information.
#[derive(Debug, Clone, SimpleObject)]
pub struct PageInfo {
    /// Whether rows follow the last edge.
    pub has_next_page: bool,
    /// Whether rows precede the first edge.
    pub has_previous_page: bool,
    /// Cursor of the first edge.
    pub start_cursor: Option<String>,
    /// Cursor of the last edge.
    pub end_cursor: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct CursorData {
    /// Text key.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    t: Option<String>,
    /// Date key ("none" sorts last).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    d: Option<String>,
    /// JSON key.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    j: Option<String>,
    /// Row id.
    i: i64,
}

/// Encodes a row's keyset position as an opaque cursor.
pub fn encode_cursor(key: &SortKey, id: i64) -> String {
    let data = match key {
        SortKey::None => CursorData {
            t: None,
            d: None,
            j: None,
            i: id,
        },
        SortKey::Text(t) => CursorData {
            t: Some(t.clone()),
            d: None,
            j: None,
            i: id,
        },
        SortKey::Date(d) => CursorData {
            t: None,
            d: Some(d.map_or_else(|| "none".to_owned(), |d| d.to_string())),
            j: None,
            i: id,
        },
        SortKey::Json(j) => CursorData {
            t: None,
            d: None,
            j: Some(j.clone()),
            i: id,
        },
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&data).unwrap_or_default())
}

fn decode_cursor(cursor: &str, arg: &str) -> ApiResult<(SortKey, i64)> {
    let bad = || ApiError::invalid(arg, "is not a cursor of this connection");
    let raw = URL_SAFE_NO_PAD
        .decode(cursor.as_bytes())
        .map_err(|_| bad())?;
    let data: CursorData = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let key = match (data.t, data.d, data.j) {
        (Some(t), None, None) => SortKey::Text(t),
        (None, Some(d), None) if d == "none" => SortKey::Date(None),
        (None, Some(d), None) => SortKey::Date(Some(
            NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| bad())?,
        )),
        // Checked here: the text is cast to jsonb in SQL.
        (None, None, Some(j)) if serde_json::from_str::<serde_json::Value>(&j).is_ok() => {
            SortKey::Json(j)
        }
        (None, None, None) => SortKey::None,
        _ => return Err(bad()),
    };
    Ok((key, data.i))
}

/// The pagination arguments of a connection field.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    /// Rows after this cursor.
    pub after: Option<String>,
    /// Rows before this cursor.
    pub before: Option<String>,
    /// First N rows.
    pub first: Option<i32>,
    /// Last N rows.
    pub last: Option<i32>,
}

/// A validated page request.
#[derive(Debug, Clone)]
pub struct Page {
    /// The keyset query.
    pub query: PageQuery,
    /// Walking backwards (`last`): rows come reversed and are flipped back.
    pub backward: bool,
    /// Whether a cursor was given (something precedes/follows).
    pub has_cursor: bool,
}

impl PageArgs {
    /// Validates the arguments against the cap and the sort direction.
    pub fn resolve(&self, limits: PageLimits, sort: Direction) -> ApiResult<Page> {
        let cap = i32::try_from(limits.max_page_size).unwrap_or(i32::MAX);
        if self.first.is_some() && self.last.is_some() {
            return Err(ApiError::BadUserInput(
                "pass either `first` or `last`, not both".to_owned(),
            ));
        }
        if self.last.is_some() && self.after.is_some()
            || self.first.is_some() && self.before.is_some()
        {
            return Err(ApiError::BadUserInput(
                "use `after` with `first` and `before` with `last`".to_owned(),
            ));
        }
        for (name, v) in [("first", self.first), ("last", self.last)] {
            if let Some(n) = v {
                if n < 0 {
                    return Err(ApiError::invalid(name, "must not be negative"));
                }
                if n > cap {
                    return Err(ApiError::invalid(
                        name,
                        format!("{n} is over the maximum page size of {cap}"),
                    ));
                }
            }
        }
        let backward = self.last.is_some() || self.before.is_some();
        let size = self
            .first
            .or(self.last)
            .unwrap_or(DEFAULT_PAGE_SIZE.min(cap));
        let (cursor, arg) = if backward {
            (&self.before, "before")
        } else {
            (&self.after, "after")
        };
        let after = cursor
            .as_deref()
            .map(|c| decode_cursor(c, arg))
            .transpose()?;
        let direction = match (sort, backward) {
            (d, false) => d,
            (Direction::Asc, true) => Direction::Desc,
            (Direction::Desc, true) => Direction::Asc,
        };
        Ok(Page {
            has_cursor: after.is_some(),
            query: PageQuery {
                after,
                limit: i64::from(size),
                direction,
            },
            backward,
        })
    }
}

impl Page {
    /// Trims the extra row, restores the order and computes page info.
    pub fn finish<T>(
        &self,
        mut rows: Vec<T>,
        cursor_of: impl Fn(&T) -> String,
    ) -> (Vec<(String, T)>, PageInfo) {
        let limit = usize::try_from(self.query.limit).unwrap_or(0);
        let more = rows.len() > limit;
        rows.truncate(limit);
        if self.backward {
            rows.reverse();
        }
        let edges: Vec<(String, T)> = rows.into_iter().map(|r| (cursor_of(&r), r)).collect();
        let info = PageInfo {
            has_next_page: if self.backward { self.has_cursor } else { more },
            has_previous_page: if self.backward { more } else { self.has_cursor },
            start_cursor: edges.first().map(|(c, _)| c.clone()),
            end_cursor: edges.last().map(|(c, _)| c.clone()),
        };
        (edges, info)
    }
}

/// Counts the rows of a connection when (and only when) `totalCount` is asked.
pub type Counter = Arc<dyn Fn() -> BoxFuture<'static, ApiResult<i64>> + Send + Sync>;

/// A filtered, sorted list that connections page through.
pub trait Paged: Clone + Send + Sync + 'static {
    /// The rows.
    type Row: Send;

    /// The sort direction `first`/`after` walk in.
    fn direction(&self) -> Direction {
        Direction::Asc
    }

    /// One page of rows (the keyset query asks for one more than shown).
    fn page(
        &self,
        conn: &mut AsyncPgConnection,
        page: &PageQuery,
    ) -> impl Future<Output = QueryResult<Vec<Self::Row>>> + Send;

    /// How many rows match, over all pages.
    fn count(&self, conn: &mut AsyncPgConnection) -> impl Future<Output = QueryResult<i64>> + Send;

    /// A row's cursor.
    fn cursor(&self, row: &Self::Row) -> String;
}

/// A resolved page: edges with cursors, page info and the lazy count.
pub struct PageOf<R> {
    /// Cursors and rows, in order.
    pub edges: Vec<(String, R)>,
    /// Where the page is.
    pub info: PageInfo,
    /// Counts the whole list on demand.
    pub counter: Counter,
}

/// Runs one page of `list` for a connection field.
pub async fn paged<L: Paged>(
    ctx: &Context<'_>,
    cx: &Cx<'_>,
    list: L,
    args: PageArgs,
) -> ApiResult<PageOf<L::Row>> {
    let page = args.resolve(PageLimits::of(ctx), list.direction())?;
    let mut conn = cx.conn().await?;
    let rows = list.page(&mut conn, &page.query).await?;
    drop(conn);
    let (edges, info) = page.finish(rows, |r| list.cursor(r));
    let db = cx.db().clone();
    let counter: Counter = Arc::new(move || {
        let db = db.clone();
        let list = list.clone();
        Box::pin(async move {
            let mut conn = db.conn().await?;
            Ok(list.count(&mut conn).await?)
        })
    });
    Ok(PageOf {
        edges,
        info,
        counter,
    })
}

/// Defines `<Name>Connection` and `<Name>Edge` for a node type.
macro_rules! connection {
    ($conn:ident, $edge:ident, $node:ty) => {
        /// An edge: a node and its cursor.
        #[derive(async_graphql::SimpleObject)]
        pub struct $edge {
            /// Opaque position of this node.
            pub cursor: String,
            /// The node.
            pub node: $node,
        }

        /// A page of nodes.
        pub struct $conn {
            pub edges: Vec<$edge>,
            pub page_info: $crate::graphql::connection::PageInfo,
            pub counter: $crate::graphql::connection::Counter,
        }

        #[async_graphql::Object]
        impl $conn {
            /// The page's edges.
            async fn edges(&self) -> &[$edge] {
                &self.edges
            }

            /// The page's nodes, without cursors.
            async fn nodes(&self) -> Vec<&$node> {
                self.edges.iter().map(|e| &e.node).collect()
            }

            /// Where this page is.
            async fn page_info(&self) -> &$crate::graphql::connection::PageInfo {
                &self.page_info
            }

            /// How many nodes match, over all pages.
            async fn total_count(&self) -> async_graphql::Result<i64> {
                Ok((self.counter)().await?)
            }
        }

        impl $conn {
            /// Builds the connection from a page of rows, wrapping each.
            pub fn from_page<R>(
                page: $crate::graphql::connection::PageOf<R>,
                wrap: impl Fn(R) -> $node,
            ) -> Self {
                $conn {
                    edges: page
                        .edges
                        .into_iter()
                        .map(|(cursor, row)| $edge {
                            cursor,
                            node: wrap(row),
                        })
                        .collect(),
                    page_info: page.info,
                    counter: page.counter,
                }
            }
        }
    };
}
pub(crate) use connection;

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: PageLimits = PageLimits { max_page_size: 100 };

    #[test]
    fn page_size_over_the_cap_is_an_error() {
        let args = PageArgs {
            first: Some(101),
            ..Default::default()
        };
        let err = args.resolve(LIMITS, Direction::Asc).expect_err("over cap");
        assert!(err.message().contains("maximum page size of 100"));
    }

    #[test]
    fn cursors_round_trip() {
        let c = encode_cursor(&SortKey::Text("S1".into()), 7);
        let args = PageArgs {
            first: Some(5),
            after: Some(c),
            ..Default::default()
        };
        let page = args.resolve(LIMITS, Direction::Asc).expect("valid");
        assert_eq!(page.query.after, Some((SortKey::Text("S1".into()), 7)));
        let d = encode_cursor(&SortKey::Date(None), 9);
        assert_eq!(
            decode_cursor(&d, "after").expect("valid"),
            (SortKey::Date(None), 9)
        );
        assert!(decode_cursor("garbage!", "after").is_err());
    }

    #[test]
    fn backward_pages_flip_direction_and_order() {
        let args = PageArgs {
            last: Some(2),
            ..Default::default()
        };
        let page = args.resolve(LIMITS, Direction::Asc).expect("valid");
        assert_eq!(page.query.direction, Direction::Desc);
        let (edges, info) = page.finish(vec![5, 4, 3], |n| n.to_string());
        assert_eq!(
            edges.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
            vec![4, 5]
        );
        assert!(info.has_previous_page);
        assert!(!info.has_next_page);
    }
}
