//! The finding list: filters, order, keyset pages and the look-ahead
//! prefetch that loads a page's relations in one statement each.

use async_graphql::{Context, Enum, ID, InputObject, Json};
use chrono::NaiveDate;
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;

use super::Finding;
use crate::db::models::finding::{
    self as model, CustomCondition, CustomTest, FindingFilter, FindingSort,
};
use crate::db::models::{Direction, PageQuery};
use crate::domain::normalize_tags;
use crate::domain::severity::Severity;
use crate::graphql::connection::{PageArgs, Paged, connection, encode_cursor, paged};
use crate::graphql::context::Cx;
use crate::graphql::error::ApiResult;
use crate::graphql::ids::{self, Kind};
use crate::graphql::loaders::load_err;

connection!(FindingConnection, FindingEdge, Finding);

/// Finding sort fields.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum FindingOrderField {
    /// Creation order.
    #[default]
    Id,
    /// Severity (ascending = most severe first).
    Severity,
    /// Finding date.
    Date,
    /// SLA deadline (findings without one last).
    SlaExpiration,
    /// Title.
    Title,
    /// The value of the custom field named in `customField` (findings
    /// without a value last).
    CustomField,
}

/// Sort direction.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum OrderDirection {
    /// Ascending.
    #[default]
    Asc,
    /// Descending.
    Desc,
}

/// How to sort findings.
#[derive(InputObject, Clone, Debug, Default)]
pub struct FindingOrder {
    /// Field.
    pub field: FindingOrderField,
    /// Direction.
    #[graphql(default)]
    pub direction: OrderDirection,
    /// The custom field to sort by (with `field: CUSTOM_FIELD`).
    pub custom_field: Option<ID>,
}

/// A condition on one custom field's value; every operator given must hold.
#[derive(InputObject, Clone, Debug)]
pub struct CustomFieldCondition {
    /// The field.
    pub field: ID,
    /// Equal to this value; for a multiple-choice field, holding this choice
    /// (or every choice of a list).
    pub equals: Option<Json<serde_json::Value>>,
    /// At least this number (or date, or text, compared as text).
    pub min: Option<Json<serde_json::Value>>,
    /// At most this.
    pub max: Option<Json<serde_json::Value>>,
    /// A text value containing this, in any case.
    pub contains: Option<String>,
    /// Set (true) or unset (false).
    pub is_set: Option<bool>,
}

/// Most custom field conditions in one filter.
const MAX_CUSTOM_CONDITIONS: usize = 20;

fn custom_conditions(list: Option<Vec<CustomFieldCondition>>) -> ApiResult<Vec<CustomCondition>> {
    let list = list.unwrap_or_default();
    if list.len() > MAX_CUSTOM_CONDITIONS {
        return Err(crate::graphql::error::ApiError::invalid(
            "customFields",
            format!("at most {MAX_CUSTOM_CONDITIONS} conditions"),
        ));
    }
    let mut out = Vec::new();
    for c in list {
        let field_id = ids::decode(&c.field, Kind::CustomField)?;
        let scalar = |v: &Json<serde_json::Value>, op: &str| {
            if v.0.is_number() || v.0.is_string() {
                Ok(v.0.clone())
            } else {
                Err(crate::graphql::error::ApiError::invalid(
                    &format!("customFields.{op}"),
                    "takes a number, a date or a text",
                ))
            }
        };
        let before = out.len();
        if let Some(v) = &c.equals {
            if v.0.is_null() || v.0.is_object() {
                return Err(crate::graphql::error::ApiError::invalid(
                    "customFields.equals",
                    "takes a value (use isSet for a missing one)",
                ));
            }
            out.push(CustomCondition {
                field_id,
                test: CustomTest::Equals(v.0.clone()),
            });
        }
        if let Some(v) = &c.min {
            out.push(CustomCondition {
                field_id,
                test: CustomTest::Min(scalar(v, "min")?),
            });
        }
        if let Some(v) = &c.max {
            out.push(CustomCondition {
                field_id,
                test: CustomTest::Max(scalar(v, "max")?),
            });
        }
        if let Some(s) = c.contains {
            crate::domain::check_len("customFields.contains", &s, 500, true)?;
            out.push(CustomCondition {
                field_id,
                test: CustomTest::Contains(s),
            });
        }
        if let Some(b) = c.is_set {
            out.push(CustomCondition {
                field_id,
                test: CustomTest::IsSet(b),
            });
        }
        if out.len() == before {
            return Err(crate::graphql::error::ApiError::invalid(
                "customFields",
                "give equals, min, max, contains or isSet",
            ));
        }
    }
    Ok(out)
}

/// Finding list filters; every given condition must hold.
#[derive(InputObject, Clone, Debug, Default)]
pub struct FindingFilterInput {
    /// Any of these severities.
    pub severity: Option<Vec<Severity>>,
    /// Active flag.
    pub active: Option<bool>,
    /// Verified flag.
    pub verified: Option<bool>,
    /// False-positive flag.
    pub false_p: Option<bool>,
    /// Out-of-scope flag.
    pub out_of_scope: Option<bool>,
    /// Risk-accepted flag.
    pub risk_accepted: Option<bool>,
    /// Under-review flag.
    pub under_review: Option<bool>,
    /// Mitigated flag.
    pub is_mitigated: Option<bool>,
    /// Duplicate flag.
    pub duplicate: Option<bool>,
    /// In any of these product types.
    pub product_type_ids: Option<Vec<ID>>,
    /// In any of these products.
    pub product_ids: Option<Vec<ID>>,
    /// In any of these engagements.
    pub engagement_ids: Option<Vec<ID>>,
    /// In any of these tests.
    pub test_ids: Option<Vec<ID>>,
    /// Any of these CWEs.
    pub cwe: Option<Vec<i32>>,
    /// Carrying this vulnerability id (CVE, GHSA, ...).
    pub vulnerability_id: Option<String>,
    /// Exact component name.
    pub component_name: Option<String>,
    /// Exact component version.
    pub component_version: Option<String>,
    /// Substring of the file path.
    pub file_path: Option<String>,
    /// Carrying all these tags.
    pub tags: Option<Vec<String>>,
    /// Found on or after.
    pub date_from: Option<NaiveDate>,
    /// Found on or before.
    pub date_to: Option<NaiveDate>,
    /// SLA deadline on or after.
    pub sla_expiration_from: Option<NaiveDate>,
    /// SLA deadline on or before.
    pub sla_expiration_to: Option<NaiveDate>,
    /// Case-insensitive text in title or description.
    pub search: Option<String>,
    /// In any of these finding groups.
    pub finding_group_ids: Option<Vec<ID>>,
    /// In some finding group (true) or in none (false).
    pub in_finding_group: Option<bool>,
    /// Duplicates of this original finding.
    pub duplicate_of: Option<ID>,
    /// Under review, with this user among the reviewers.
    pub reviewer: Option<ID>,
    /// True: under review, with the caller among the reviewers (false: no condition).
    pub under_review_by_me: Option<bool>,
    /// Conditions on custom field values; all must hold.
    pub custom_fields: Option<Vec<CustomFieldCondition>>,
    /// In any of these risk acceptances.
    pub risk_acceptance_ids: Option<Vec<ID>>,
}

fn decode_all(list: &Option<Vec<ID>>, kind: Kind) -> ApiResult<Vec<i64>> {
    list.iter()
        .flatten()
        .map(|i| ids::decode(i, kind))
        .collect()
}

impl FindingFilterInput {
    pub(crate) fn into_filter(self, cx: &Cx<'_>) -> ApiResult<FindingFilter> {
        let readable = cx.readable_products();
        let reviewer = match (&self.reviewer, self.under_review_by_me) {
            (Some(_), Some(true)) => {
                return Err(crate::graphql::error::ApiError::invalid(
                    "reviewer",
                    "give reviewer or underReviewByMe, not both",
                ));
            }
            (Some(u), _) => Some(ids::decode(u, Kind::User)?),
            (None, Some(true)) => cx.actor_id(),
            (None, _) => None,
        };
        if let Some(s) = &self.search {
            crate::domain::check_len("search", s, 500, false)?;
        }
        Ok(FindingFilter {
            readable_product_ids: readable,
            product_type_ids: decode_all(&self.product_type_ids, Kind::ProductType)?,
            product_ids: decode_all(&self.product_ids, Kind::Product)?,
            engagement_ids: decode_all(&self.engagement_ids, Kind::Engagement)?,
            test_ids: decode_all(&self.test_ids, Kind::Test)?,
            ids: None,
            severities: self.severity.unwrap_or_default(),
            active: self.active,
            verified: self.verified,
            false_p: self.false_p,
            out_of_scope: self.out_of_scope,
            risk_accepted: self.risk_accepted,
            under_review: self.under_review,
            is_mitigated: self.is_mitigated,
            duplicate: self.duplicate,
            cwes: self.cwe.unwrap_or_default(),
            vulnerability_id: self
                .vulnerability_id
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty()),
            component_name: self.component_name,
            component_version: self.component_version,
            file_path: self.file_path,
            tags: normalize_tags(&self.tags.unwrap_or_default())?,
            date_from: self.date_from,
            date_to: self.date_to,
            sla_expiration_from: self.sla_expiration_from,
            sla_expiration_to: self.sla_expiration_to,
            search: self.search.filter(|s| !s.trim().is_empty()),
            finding_group_ids: decode_all(&self.finding_group_ids, Kind::FindingGroup)?,
            in_finding_group: self.in_finding_group,
            duplicate_of: self
                .duplicate_of
                .as_ref()
                .map(|i| ids::decode(i, Kind::Finding))
                .transpose()?,
            reviewer_id: reviewer,
            custom: custom_conditions(self.custom_fields)?,
            risk_acceptance_ids: decode_all(&self.risk_acceptance_ids, Kind::RiskAcceptance)?,
        })
    }
}

/// A `findings` connection below a parent object: `scope` pins the
/// caller's filter to the parent.
pub async fn scoped_findings(
    ctx: &Context<'_>,
    filter: Option<FindingFilterInput>,
    order_by: Option<FindingOrder>,
    args: PageArgs,
    scope: impl FnOnce(&mut FindingFilterInput),
) -> ApiResult<FindingConnection> {
    let cx = Cx::of(ctx)?;
    let mut f = filter.unwrap_or_default();
    scope(&mut f);
    findings_connection(ctx, &cx, f, order_by, args).await
}

/// Loads, in one statement per relation, everything the query selects below
/// the page's findings, so the per-finding resolvers only read the caches.
/// Batching by time alone would split a page into several batches whenever
/// resolving it takes longer than the loader's delay.
async fn prefetch<'r>(
    ctx: &Context<'_>,
    cx: &Cx<'_>,
    rows: impl Iterator<Item = &'r model::Finding>,
) -> ApiResult<()> {
    use std::collections::BTreeSet;
    let rows: Vec<&model::Finding> = rows.collect();
    let look = ctx.look_ahead();
    let node_sels = [look.field("nodes"), look.field("edges").field("node")];
    let selected = |path: &[&str]| {
        node_sels.iter().any(|s| {
            let mut f = s.field(path[0]);
            for p in &path[1..] {
                f = f.field(p);
            }
            f.exists()
        })
    };
    let l = cx.loaders();
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    l.findings
        .feed_many(rows.iter().map(|r| (r.id, (*r).clone())))
        .await;
    if selected(&["vulnerabilityIds"]) {
        l.vulnerability_ids
            .load_many(ids.iter().copied())
            .await
            .map_err(load_err)?;
    }
    if selected(&["locations"]) {
        l.finding_locations
            .load_many(ids.iter().copied())
            .await
            .map_err(load_err)?;
    }
    if selected(&["duplicateFinding"]) {
        let dups: BTreeSet<i64> = rows.iter().filter_map(|r| r.duplicate_finding_id).collect();
        l.findings.load_many(dups).await.map_err(load_err)?;
    }
    if selected(&["findingGroup"]) {
        let groups = l
            .group_of_finding
            .load_many(ids.iter().copied())
            .await
            .map_err(load_err)?;
        let gids: BTreeSet<i64> = groups.values().copied().collect();
        l.finding_groups
            .load_many(gids.iter().copied())
            .await
            .map_err(load_err)?;
        let totals = ["findingCount", "severity", "status", "slaStartDate"]
            .into_iter()
            .chain(["slaExpirationDate", "age"])
            .any(|f| selected(&["findingGroup", f]));
        if totals {
            l.group_summaries.load_many(gids).await.map_err(load_err)?;
        }
    }
    let mut engagement_ids: BTreeSet<i64> = BTreeSet::new();
    let mut product_ids: BTreeSet<i64> = BTreeSet::new();
    if selected(&["test"]) {
        let tests = l
            .tests
            .load_many(rows.iter().map(|r| r.test_id).collect::<BTreeSet<_>>())
            .await
            .map_err(load_err)?;
        if selected(&["test", "engagement"]) {
            engagement_ids.extend(tests.values().map(|t| t.engagement_id));
        }
        if selected(&["test", "testType"]) {
            l.test_types
                .load_many(
                    tests
                        .values()
                        .map(|t| t.test_type_id)
                        .collect::<BTreeSet<_>>(),
                )
                .await
                .map_err(load_err)?;
        }
    }
    if selected(&["engagement"]) {
        engagement_ids.extend(rows.iter().map(|r| r.engagement_id));
    }
    if !engagement_ids.is_empty() {
        let engagements = l
            .engagements
            .load_many(engagement_ids)
            .await
            .map_err(load_err)?;
        if selected(&["test", "engagement", "product"]) || selected(&["engagement", "product"]) {
            product_ids.extend(engagements.values().map(|e| e.product_id));
        }
    }
    if selected(&["product"]) {
        product_ids.extend(rows.iter().map(|r| r.product_id));
    }
    if !product_ids.is_empty() {
        let products = l.products.load_many(product_ids).await.map_err(load_err)?;
        let type_wanted = selected(&["test", "engagement", "product", "productType"])
            || selected(&["engagement", "product", "productType"])
            || selected(&["product", "productType"]);
        if type_wanted {
            l.product_types
                .load_many(
                    products
                        .values()
                        .map(|p| p.product_type_id)
                        .collect::<BTreeSet<_>>(),
                )
                .await
                .map_err(load_err)?;
        }
    }
    Ok(())
}

/// Runs a finding list query and builds its connection.
pub async fn findings_connection(
    ctx: &Context<'_>,
    cx: &Cx<'_>,
    filter: FindingFilterInput,
    order: Option<FindingOrder>,
    args: PageArgs,
) -> ApiResult<FindingConnection> {
    let order = order.unwrap_or_default();
    let sort = match order.field {
        FindingOrderField::Id => FindingSort::Id,
        FindingOrderField::Severity => FindingSort::Severity,
        FindingOrderField::Date => FindingSort::Date,
        FindingOrderField::SlaExpiration => FindingSort::SlaExpiration,
        FindingOrderField::Title => FindingSort::Title,
        FindingOrderField::CustomField => match &order.custom_field {
            Some(id) => FindingSort::Custom(ids::decode(id, Kind::CustomField)?),
            None => {
                return Err(crate::graphql::error::ApiError::invalid(
                    "orderBy.customField",
                    "name the custom field to sort by",
                ));
            }
        },
    };
    let dir = match order.direction {
        OrderDirection::Asc => Direction::Asc,
        OrderDirection::Desc => Direction::Desc,
    };
    let list = FindingListing {
        filter: filter.into_filter(cx)?,
        sort,
        direction: dir,
    };
    let page = paged(ctx, cx, list, args).await?;
    prefetch(ctx, cx, page.edges.iter().map(|(_, r)| r)).await?;
    Ok(FindingConnection::from_page(page, Finding))
}

/// Findings matching a filter, in one order.
#[derive(Clone)]
struct FindingListing {
    filter: FindingFilter,
    sort: FindingSort,
    direction: Direction,
}

impl Paged for FindingListing {
    type Row = model::Finding;
    fn direction(&self) -> Direction {
        self.direction
    }
    async fn page(
        &self,
        conn: &mut AsyncPgConnection,
        page: &PageQuery,
    ) -> QueryResult<Vec<model::Finding>> {
        model::Finding::page(conn, &self.filter, self.sort, page).await
    }
    async fn count(&self, conn: &mut AsyncPgConnection) -> QueryResult<i64> {
        model::Finding::count(conn, &self.filter).await
    }
    fn cursor(&self, row: &model::Finding) -> String {
        encode_cursor(&row.sort_key(self.sort), row.id)
    }
}
