//! `history` on every node: the permanent audit trail, newest first, with
//! who changed what and when (values before and after). Whoever can read
//! the node can read its history.

use async_graphql::{Context, ID, InputObject, Json, Object};
use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;

use super::connection::{PageArgs, Paged, connection, encode_cursor, paged};
use super::context::Cx;
use super::error::ApiResult;
use super::ids::{self, Kind};
use crate::db::models::audit::{HistoryQuery, HistoryRow};
use crate::db::models::{Direction, PageQuery, SortKey};

connection!(HistoryConnection, HistoryEdge, HistoryEntry);

/// One change of a node.
pub struct HistoryEntry(pub HistoryRow);

#[Object]
impl HistoryEntry {
    /// Position in the trail (entries of all nodes share one sequence).
    async fn seq(&self) -> i64 {
        self.0.seq
    }
    /// When.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// Who (null for the system, or an account since deleted: see `actorId`).
    async fn actor(&self, ctx: &Context<'_>) -> ApiResult<Option<super::user::User>> {
        super::user::User::by_id(ctx, self.0.actor_id).await
    }
    /// The acting user's id, kept when the account is gone.
    async fn actor_id(&self) -> Option<ID> {
        self.0.actor_id.map(|a| ids::encode(Kind::User, a))
    }
    /// What happened: `created`, `updated`, `deleted`, `member_added`,
    /// `member_changed`, `member_removed`, or a finding change kind
    /// (`mitigated`, `false_positive`, `note_added`, ...).
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// The changed values, `{field: {before, after}}`.
    async fn changes(&self) -> Json<&serde_json::Value> {
        Json(&self.0.changes)
    }
}

/// Which history entries to list; every given condition must hold.
#[derive(InputObject, Default)]
pub struct HistoryFilterInput {
    /// By this user.
    pub actor: Option<ID>,
    /// Any of these actions.
    pub actions: Option<Vec<String>>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// At or before.
    pub to: Option<DateTime<Utc>>,
}

#[derive(Clone)]
struct HistoryList(HistoryQuery);

impl Paged for HistoryList {
    type Row = HistoryRow;
    fn direction(&self) -> Direction {
        Direction::Desc
    }
    async fn page(
        &self,
        conn: &mut AsyncPgConnection,
        page: &PageQuery,
    ) -> QueryResult<Vec<HistoryRow>> {
        self.0.page(conn, page).await
    }
    async fn count(&self, conn: &mut AsyncPgConnection) -> QueryResult<i64> {
        self.0.count(conn).await
    }
    fn cursor(&self, row: &HistoryRow) -> String {
        encode_cursor(&SortKey::None, row.seq)
    }
}

/// The history of the node `kind` `id` (the caller has read it).
pub async fn history_of(
    ctx: &Context<'_>,
    kind: Kind,
    id: i64,
    filter: Option<HistoryFilterInput>,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<HistoryConnection> {
    let cx = Cx::of(ctx)?;
    let f = filter.unwrap_or_default();
    if let Some(list) = &f.actions
        && list.len() > 50
    {
        return Err(super::error::ApiError::invalid(
            "filter.actions",
            "at most 50 actions",
        ));
    }
    let object_kind = match kind {
        Kind::Finding => "Finding",
        Kind::Test => "Test",
        Kind::Engagement => "Engagement",
        Kind::Product => "Product",
        Kind::ProductType => "ProductType",
        Kind::RiskAcceptance => "RiskAcceptance",
        other => {
            return Err(super::error::ApiError::Internal(format!(
                "no history for {}",
                other.name()
            )));
        }
    };
    let query = HistoryQuery {
        kind: object_kind,
        id,
        actor_id: f
            .actor
            .as_ref()
            .map(|a| ids::decode(a, Kind::User))
            .transpose()?,
        actions: f.actions.unwrap_or_default(),
        from: f.from,
        to: f.to,
    };
    let args = PageArgs {
        after,
        first,
        ..PageArgs::default()
    };
    let page = paged(ctx, &cx, HistoryList(query), args).await?;
    Ok(HistoryConnection::from_page(page, HistoryEntry))
}
