//! Risk acceptance over GraphQL (domain.md §8): full acceptances (a
//! `RiskAcceptance` of an engagement's findings, when the product enables
//! full acceptance), DefectDojo's bulk `acceptRisks` by vulnerability id, and
//! simple acceptance of selected findings (when the product enables it).
//! Every change takes `Risk_Acceptance` on the product.

use std::collections::BTreeSet;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;

use super::connection::PageArgs;
use super::context::{Cx, Readable};
use super::error::{ApiError, ApiResult};
use super::file::File;
use super::finding::triage::{FindingSelectionInput, select_targets};
use super::finding::{FindingConnection, FindingFilterInput, FindingOrder, scoped_findings};
use super::hierarchy::Engagement;
use super::ids::{self, Kind};
use super::loaders::load_err;
use super::payload::DeleteInput;
use super::user::User;
use crate::authz::{Permission, Subject};
use crate::db::models::finding::{Finding as FindingRow, FindingFilter};
use crate::db::models::hierarchy as hmodel;
use crate::db::models::risk as model;
use crate::domain::risk::{self as rules, AcceptanceInput, AcceptancePatch, Decision};
use crate::domain::triage::TriageOutcome;

/// Most findings one call accepts.
const MAX_FINDINGS: usize = 10_000;

/// A recommendation or decision about a risk.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum RiskDecision {
    /// Accept the risk.
    Accept,
    /// Avoid it.
    Avoid,
    /// Mitigate it.
    Mitigate,
    /// Fix it.
    Fix,
    /// Transfer it.
    Transfer,
}

impl From<RiskDecision> for Decision {
    fn from(d: RiskDecision) -> Self {
        match d {
            RiskDecision::Accept => Decision::Accept,
            RiskDecision::Avoid => Decision::Avoid,
            RiskDecision::Mitigate => Decision::Mitigate,
            RiskDecision::Fix => Decision::Fix,
            RiskDecision::Transfer => Decision::Transfer,
        }
    }
}

impl From<Decision> for RiskDecision {
    fn from(d: Decision) -> Self {
        match d {
            Decision::Accept => RiskDecision::Accept,
            Decision::Avoid => RiskDecision::Avoid,
            Decision::Mitigate => RiskDecision::Mitigate,
            Decision::Fix => RiskDecision::Fix,
            Decision::Transfer => RiskDecision::Transfer,
        }
    }
}

/// A decision about the risk of findings of one engagement.
pub struct RiskAcceptance(pub model::RiskAcceptance);

impl Readable for model::RiskAcceptance {
    const KIND: Kind = Kind::RiskAcceptance;
    async fn load(cx: &Cx<'_>, id: i64) -> ApiResult<Option<Self>> {
        cx.loaders()
            .risk_acceptances
            .load_one(id)
            .await
            .map_err(load_err)
    }
    async fn may_read(&self, cx: &Cx<'_>) -> ApiResult<bool> {
        Ok(cx.can_read_product(self.product_id))
    }
}

#[Object]
impl RiskAcceptance {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::RiskAcceptance, self.0.id)
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The engagement whose findings it accepts.
    async fn engagement(&self, ctx: &Context<'_>) -> ApiResult<Option<Engagement>> {
        let cx = Cx::of(ctx)?;
        Ok(cx
            .loaders()
            .engagements
            .load_one(self.0.engagement_id)
            .await
            .map_err(load_err)?
            .map(Engagement))
    }
    /// Who owns the decision.
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        User::by_id(ctx, Some(self.0.owner_id)).await
    }
    /// What the security team recommends.
    async fn recommendation(&self) -> RiskDecision {
        Decision::of_code(&self.0.recommendation).into()
    }
    /// Why.
    async fn recommendation_details(&self) -> Option<&str> {
        self.0.recommendation_details.as_deref()
    }
    /// What was decided.
    async fn decision(&self) -> RiskDecision {
        Decision::of_code(&self.0.decision).into()
    }
    /// Why.
    async fn decision_details(&self) -> Option<&str> {
        self.0.decision_details.as_deref()
    }
    /// Who accepted the risk (free text).
    async fn accepted_by(&self) -> Option<&str> {
        self.0.accepted_by.as_deref()
    }
    /// When it ends.
    async fn expiration_date(&self) -> Option<DateTime<Utc>> {
        self.0.expiration_date
    }
    /// When the "expiring soon" notice went out.
    async fn expiration_date_warned(&self) -> Option<DateTime<Utc>> {
        self.0.expiration_date_warned
    }
    /// When its expiry was handled.
    async fn expiration_date_handled(&self) -> Option<DateTime<Utc>> {
        self.0.expiration_date_handled
    }
    /// Whether it has expired.
    async fn is_expired(&self) -> bool {
        self.0.is_expired()
    }
    /// On expiry, its findings reopen.
    async fn reactivate_expired(&self) -> bool {
        self.0.reactivate_expired
    }
    /// On expiry, their SLA restarts.
    async fn restart_sla_expired(&self) -> bool {
        self.0.restart_sla_expired
    }
    /// How many findings it covers.
    async fn finding_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        let cx = Cx::of(ctx)?;
        Ok(cx
            .loaders()
            .acceptance_counts
            .load_one(self.0.id)
            .await
            .map_err(load_err)?
            .unwrap_or(0))
    }
    /// The findings it covers.
    #[graphql(complexity = "first.unwrap_or(20).max(1) as usize * child_complexity")]
    #[allow(clippy::too_many_arguments)]
    async fn findings(
        &self,
        ctx: &Context<'_>,
        filter: Option<FindingFilterInput>,
        order_by: Option<FindingOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<FindingConnection> {
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        scoped_findings(ctx, filter, order_by, args, |f| {
            f.risk_acceptance_ids = Some(vec![ids::encode(Kind::RiskAcceptance, self.0.id)]);
        })
        .await
    }
    /// Proof of the decision (attach with `attachFile`).
    async fn files(&self, ctx: &Context<'_>) -> ApiResult<Vec<File>> {
        super::file::files_of(
            ctx,
            crate::db::models::file::FileParent::RiskAcceptance(self.0.id),
        )
        .await
    }
    /// Who changed what and when, newest first.
    #[graphql(complexity = "first.unwrap_or(20).max(1) as usize * child_complexity")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        filter: Option<super::history::HistoryFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<super::history::HistoryConnection> {
        super::history::history_of(ctx, Kind::RiskAcceptance, self.0.id, filter, first, after).await
    }
    /// Created at.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Last changed at.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// The acceptances of an engagement, oldest first.
pub async fn of_engagement(
    ctx: &Context<'_>,
    engagement_id: i64,
) -> ApiResult<Vec<RiskAcceptance>> {
    let cx = Cx::of(ctx)?;
    let rows =
        model::RiskAcceptance::for_engagements(&mut *cx.conn().await?, &[engagement_id]).await?;
    Ok(rows.into_iter().map(RiskAcceptance).collect())
}

/// The acceptance a finding is in.
pub async fn of_finding(ctx: &Context<'_>, finding_id: i64) -> ApiResult<Option<RiskAcceptance>> {
    let cx = Cx::of(ctx)?;
    let Some(id) = cx
        .loaders()
        .acceptance_of_finding
        .load_one(finding_id)
        .await
        .map_err(load_err)?
    else {
        return Ok(None);
    };
    Ok(cx
        .loaders()
        .risk_acceptances
        .load_one(id)
        .await
        .map_err(load_err)?
        .map(RiskAcceptance))
}

/// Risk acceptance queries.
#[derive(Default)]
pub struct RiskQuery;

#[Object]
impl RiskQuery {
    /// One risk acceptance.
    async fn risk_acceptance(&self, ctx: &Context<'_>, id: ID) -> ApiResult<RiskAcceptance> {
        let cx = Cx::of(ctx)?;
        Ok(RiskAcceptance(cx.readable(&id).await?))
    }
}

/// Input of `createRiskAcceptance`.
#[derive(InputObject)]
pub struct CreateRiskAcceptanceInput {
    /// The engagement.
    pub engagement: ID,
    /// Name.
    pub name: String,
    /// The findings of the engagement it accepts.
    pub findings: Vec<ID>,
    /// Who owns the decision (default: the caller); must be able to read the product.
    pub owner: Option<ID>,
    /// What the security team recommends (default FIX).
    pub recommendation: Option<RiskDecision>,
    /// Why.
    pub recommendation_details: Option<String>,
    /// What was decided (default ACCEPT).
    pub decision: Option<RiskDecision>,
    /// Why.
    pub decision_details: Option<String>,
    /// Who accepted the risk (free text).
    pub accepted_by: Option<String>,
    /// When it ends (default: in 180 days); must be in the future.
    pub expiration_date: Option<DateTime<Utc>>,
    /// On expiry, reopen its findings (default true).
    pub reactivate_expired: Option<bool>,
    /// On expiry, restart their SLA (default false).
    pub restart_sla_expired: Option<bool>,
}

/// Input of `updateRiskAcceptance`; omitted fields keep their value.
#[derive(InputObject)]
pub struct UpdateRiskAcceptanceInput {
    /// The acceptance.
    pub id: ID,
    /// New name.
    pub name: Option<String>,
    /// New owner.
    pub owner: Option<ID>,
    /// New recommendation.
    pub recommendation: Option<RiskDecision>,
    /// New recommendation details (empty clears them).
    pub recommendation_details: Option<String>,
    /// New decision.
    pub decision: Option<RiskDecision>,
    /// New decision details (empty clears them).
    pub decision_details: Option<String>,
    /// New "accepted by" (empty clears it).
    pub accepted_by: Option<String>,
    /// New expiry, in the future.
    pub expiration_date: Option<DateTime<Utc>>,
    /// New reactivate-on-expiry flag.
    pub reactivate_expired: Option<bool>,
    /// New restart-SLA-on-expiry flag.
    pub restart_sla_expired: Option<bool>,
}

/// Input of `addToRiskAcceptance` and `removeFromRiskAcceptance`.
#[derive(InputObject)]
pub struct RiskAcceptanceFindingsInput {
    /// The acceptance.
    pub id: ID,
    /// The findings.
    pub findings: Vec<ID>,
}

/// Input of `reinstateRiskAcceptance`.
#[derive(InputObject)]
pub struct ReinstateRiskAcceptanceInput {
    /// The expired acceptance.
    pub id: ID,
    /// Its new expiry (default: in 180 days).
    pub expiration_date: Option<DateTime<Utc>>,
}

/// One risk of `acceptRisks`.
#[derive(InputObject)]
pub struct AcceptedRiskInput {
    /// The CVE, GHSA, ... whose findings are accepted.
    pub vulnerability_id: String,
    /// Why (the decision details).
    pub justification: String,
    /// Who accepted it (free text).
    pub accepted_by: String,
}

/// Input of `acceptRisks`: exactly one of `engagement` and `test`.
#[derive(InputObject)]
pub struct AcceptRisksInput {
    /// Accept in this engagement.
    pub engagement: Option<ID>,
    /// Accept in this test.
    pub test: Option<ID>,
    /// The risks; each becomes one acceptance of the open findings that carry it.
    pub risks: Vec<AcceptedRiskInput>,
    /// When they end (default: in 180 days).
    pub expiration_date: Option<DateTime<Utc>>,
}

/// Input of `acceptFindingsRisk` and `unacceptFindingsRisk`.
#[derive(InputObject)]
pub struct SimpleRiskInput {
    /// The findings.
    pub selection: FindingSelectionInput,
    /// Leave out findings the caller may not change instead of failing.
    #[graphql(default)]
    pub skip_forbidden: bool,
}

/// Result of a risk acceptance mutation.
#[derive(SimpleObject)]
pub struct RiskAcceptancePayload {
    /// The acceptance as it is now (none after a delete or a simple acceptance).
    pub risk_acceptance: Option<RiskAcceptance>,
    /// Findings whose state changed.
    pub changed: i32,
    /// Findings left as they were.
    pub unchanged: i32,
    /// The changed findings.
    pub changed_ids: Vec<ID>,
    /// Findings left out with `skipForbidden`.
    pub skipped_ids: Vec<ID>,
}

fn payload(
    ra: Option<model::RiskAcceptance>,
    o: &TriageOutcome,
    skipped: &[i64],
) -> RiskAcceptancePayload {
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    RiskAcceptancePayload {
        risk_acceptance: ra.map(RiskAcceptance),
        changed: count(o.changed.len()),
        unchanged: count(o.unchanged.len()),
        changed_ids: o
            .changed
            .iter()
            .map(|f| ids::encode(Kind::Finding, f.id))
            .collect(),
        skipped_ids: skipped
            .iter()
            .map(|f| ids::encode(Kind::Finding, *f))
            .collect(),
    }
}

/// Decodes finding ids; any the caller may not read answers like a missing one.
async fn readable_findings(cx: &Cx<'_>, list: &[ID]) -> ApiResult<Vec<i64>> {
    if list.len() > MAX_FINDINGS {
        return Err(ApiError::invalid(
            "findings",
            format!("at most {MAX_FINDINGS} findings per call"),
        ));
    }
    let mut out = BTreeSet::new();
    for id in list {
        out.insert(ids::decode(id, Kind::Finding)?);
    }
    let wanted: Vec<i64> = out.into_iter().collect();
    let rows = cx
        .loaders()
        .findings
        .load_many(wanted.iter().copied())
        .await
        .map_err(load_err)?;
    for id in &wanted {
        if !rows
            .get(id)
            .is_some_and(|f: &FindingRow| cx.can_read_product(f.product_id))
        {
            return Err(ApiError::NotFound(format!(
                "Finding {}",
                ids::encode(Kind::Finding, *id).0
            )));
        }
    }
    Ok(wanted)
}

/// An active user who can read the product, or a refusal that does not
/// tell whether the account exists.
async fn owner_of(cx: &Cx<'_>, id: Option<&ID>, product_id: i64) -> ApiResult<i64> {
    let Some(id) = id else {
        return cx
            .actor_id()
            .ok_or_else(|| ApiError::invalid("owner", "name the owner"));
    };
    let n = ids::decode(id, Kind::User)?;
    let user = cx.loaders().users.load_one(n).await.map_err(load_err)?;
    let object = cx.product_object(product_id).await?;
    let ok = user.is_some_and(|u| {
        u.is_active
            && cx.authz().can(
                Subject {
                    user_id: u.id,
                    is_superuser: u.is_superuser,
                },
                Permission::Engagement_View,
                object,
            )
    });
    if ok {
        Ok(n)
    } else {
        Err(ApiError::invalid(
            "owner",
            "not an active user who can read the product",
        ))
    }
}

/// The acceptance, readable and changeable by the caller.
async fn writable(cx: &Cx<'_>, id: &ID) -> ApiResult<model::RiskAcceptance> {
    let ra: model::RiskAcceptance = cx.readable(id).await?;
    cx.require_product(Permission::Risk_Acceptance, ra.product_id)
        .await?;
    Ok(ra)
}

/// The product of `product_id`, which must allow full acceptance.
async fn full_allowed(cx: &Cx<'_>, product_id: i64) -> ApiResult<()> {
    let p = cx
        .loaders()
        .products
        .load_one(product_id)
        .await
        .map_err(load_err)?
        .ok_or_else(|| ApiError::NotFound(format!("Product {product_id}")))?;
    if p.enable_full_risk_acceptance {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "engagement",
            "the product does not allow full risk acceptance (enableFullRiskAcceptance)",
        ))
    }
}

/// Risk acceptance mutations.
#[derive(Default)]
pub struct RiskMutation;

#[Object]
impl RiskMutation {
    /// Accepts the risk of findings of one engagement under a named decision.
    async fn create_risk_acceptance(
        &self,
        ctx: &Context<'_>,
        input: CreateRiskAcceptanceInput,
    ) -> ApiResult<RiskAcceptancePayload> {
        let cx = Cx::of(ctx)?;
        let e: hmodel::Engagement = cx.readable(&input.engagement).await?;
        cx.require_product(Permission::Risk_Acceptance, e.product_id)
            .await?;
        full_allowed(&cx, e.product_id).await?;
        let owner_id = owner_of(&cx, input.owner.as_ref(), e.product_id).await?;
        let findings = readable_findings(&cx, &input.findings).await?;
        let (ra, outcome) = rules::create(
            &mut *cx.conn().await?,
            e.id,
            e.product_id,
            AcceptanceInput {
                name: input.name,
                owner_id,
                recommendation: input.recommendation.map_or(Decision::Fix, Into::into),
                recommendation_details: input.recommendation_details,
                decision: input.decision.map_or(Decision::Accept, Into::into),
                decision_details: input.decision_details,
                accepted_by: input.accepted_by,
                expiration_date: input.expiration_date,
                reactivate_expired: input.reactivate_expired.unwrap_or(true),
                restart_sla_expired: input.restart_sla_expired.unwrap_or(false),
            },
            &findings,
            cx.actor_id(),
            Utc::now(),
        )
        .await?;
        Ok(payload(Some(ra), &outcome, &[]))
    }

    /// Changes an acceptance's fields.
    async fn update_risk_acceptance(
        &self,
        ctx: &Context<'_>,
        input: UpdateRiskAcceptanceInput,
    ) -> ApiResult<RiskAcceptancePayload> {
        let cx = Cx::of(ctx)?;
        let ra = writable(&cx, &input.id).await?;
        let owner_id = match &input.owner {
            Some(o) => Some(owner_of(&cx, Some(o), ra.product_id).await?),
            None => None,
        };
        let row = rules::update(
            &mut *cx.conn().await?,
            ra.id,
            AcceptancePatch {
                name: input.name,
                owner_id,
                recommendation: input.recommendation.map(Into::into),
                recommendation_details: input.recommendation_details,
                decision: input.decision.map(Into::into),
                decision_details: input.decision_details,
                accepted_by: input.accepted_by,
                expiration_date: input.expiration_date,
                reactivate_expired: input.reactivate_expired,
                restart_sla_expired: input.restart_sla_expired,
            },
            Utc::now(),
        )
        .await?;
        Ok(payload(Some(row), &TriageOutcome::default(), &[]))
    }

    /// Accepts more findings of the engagement into an acceptance.
    async fn add_to_risk_acceptance(
        &self,
        ctx: &Context<'_>,
        input: RiskAcceptanceFindingsInput,
    ) -> ApiResult<RiskAcceptancePayload> {
        let cx = Cx::of(ctx)?;
        let ra = writable(&cx, &input.id).await?;
        full_allowed(&cx, ra.product_id).await?;
        let findings = readable_findings(&cx, &input.findings).await?;
        let outcome = rules::add(
            &mut *cx.conn().await?,
            ra.id,
            &findings,
            cx.actor_id(),
            Utc::now(),
        )
        .await?;
        Ok(payload(Some(ra), &outcome, &[]))
    }

    /// Takes findings out of an acceptance; they are open again unless closed.
    async fn remove_from_risk_acceptance(
        &self,
        ctx: &Context<'_>,
        input: RiskAcceptanceFindingsInput,
    ) -> ApiResult<RiskAcceptancePayload> {
        let cx = Cx::of(ctx)?;
        let ra = writable(&cx, &input.id).await?;
        let findings = readable_findings(&cx, &input.findings).await?;
        let outcome = rules::remove(
            &mut *cx.conn().await?,
            ra.id,
            &findings,
            cx.actor_id(),
            Utc::now(),
        )
        .await?;
        Ok(payload(Some(ra), &outcome, &[]))
    }

    /// Ends an acceptance now, as its expiry would.
    async fn expire_risk_acceptance(
        &self,
        ctx: &Context<'_>,
        input: DeleteInput,
    ) -> ApiResult<RiskAcceptancePayload> {
        let cx = Cx::of(ctx)?;
        let ra = writable(&cx, &input.id).await?;
        let (row, outcome) =
            rules::expire(&mut *cx.conn().await?, ra.id, cx.actor_id(), Utc::now()).await?;
        Ok(payload(Some(row), &outcome, &[]))
    }

    /// Gives an expired acceptance a new expiry and accepts its open findings again.
    async fn reinstate_risk_acceptance(
        &self,
        ctx: &Context<'_>,
        input: ReinstateRiskAcceptanceInput,
    ) -> ApiResult<RiskAcceptancePayload> {
        let cx = Cx::of(ctx)?;
        let ra = writable(&cx, &input.id).await?;
        let (row, outcome) = rules::reinstate(
            &mut *cx.conn().await?,
            ra.id,
            input.expiration_date,
            cx.actor_id(),
            Utc::now(),
        )
        .await?;
        Ok(payload(Some(row), &outcome, &[]))
    }

    /// Deletes an acceptance; its findings are open again unless closed.
    async fn delete_risk_acceptance(
        &self,
        ctx: &Context<'_>,
        input: DeleteInput,
    ) -> ApiResult<RiskAcceptancePayload> {
        let cx = Cx::of(ctx)?;
        let ra = writable(&cx, &input.id).await?;
        let outcome =
            rules::delete(&mut *cx.conn().await?, ra.id, cx.actor_id(), Utc::now()).await?;
        Ok(payload(None, &outcome, &[]))
    }

    /// DefectDojo's `accept_risks`: for each vulnerability id, one acceptance
    /// of the open findings of the engagement (or test) that carry it.
    async fn accept_risks(
        &self,
        ctx: &Context<'_>,
        input: AcceptRisksInput,
    ) -> ApiResult<Vec<RiskAcceptance>> {
        let cx = Cx::of(ctx)?;
        let (engagement, test_id) = match (&input.engagement, &input.test) {
            (Some(e), None) => (cx.readable::<hmodel::Engagement>(e).await?, None),
            (None, Some(t)) => {
                let t: hmodel::Test = cx.readable(t).await?;
                let e = cx
                    .readable_id::<hmodel::Engagement>(t.engagement_id)
                    .await?;
                (e, Some(t.id))
            }
            _ => {
                return Err(ApiError::invalid(
                    "engagement",
                    "give engagement or test, not both",
                ));
            }
        };
        cx.require_product(Permission::Risk_Acceptance, engagement.product_id)
            .await?;
        full_allowed(&cx, engagement.product_id).await?;
        if input.risks.is_empty() || input.risks.len() > 100 {
            return Err(ApiError::invalid("risks", "give 1 to 100 risks"));
        }
        let owner = owner_of(&cx, None, engagement.product_id).await?;
        let now = Utc::now();
        let mut risks = Vec::with_capacity(input.risks.len());
        for r in input.risks {
            let vid = r.vulnerability_id.trim().to_owned();
            crate::domain::check_len("risks.vulnerabilityId", &vid, 50, true)?;
            risks.push((vid, r.justification, r.accepted_by));
        }
        let actor = cx.actor_id();
        let expiration = input.expiration_date;
        let mut conn = cx.conn().await?;
        // All acceptances or none.
        let rows = conn
            .transaction::<_, crate::domain::DomainError, _>(async |c| {
                let mut out = Vec::new();
                for (vid, justification, accepted_by) in risks {
                    let filter = FindingFilter {
                        engagement_ids: vec![engagement.id],
                        test_ids: test_id.into_iter().collect(),
                        vulnerability_id: Some(vid.clone()),
                        active: Some(true),
                        duplicate: Some(false),
                        ..FindingFilter::default()
                    };
                    let limit = i64::try_from(MAX_FINDINGS).unwrap_or(i64::MAX);
                    let found: Vec<i64> = FindingRow::targets(c, &filter, limit)
                        .await?
                        .into_iter()
                        .map(|(id, _)| id)
                        .collect();
                    let (ra, _) = rules::create(
                        c,
                        engagement.id,
                        engagement.product_id,
                        AcceptanceInput {
                            name: vid,
                            owner_id: owner,
                            recommendation: Decision::Accept,
                            recommendation_details: None,
                            decision: Decision::Accept,
                            decision_details: Some(justification),
                            accepted_by: Some(accepted_by),
                            expiration_date: expiration,
                            reactivate_expired: true,
                            restart_sla_expired: false,
                        },
                        &found,
                        actor,
                        now,
                    )
                    .await?;
                    out.push(ra);
                }
                Ok(out)
            })
            .await?;
        let out: Vec<RiskAcceptance> = rows.into_iter().map(RiskAcceptance).collect();
        Ok(out)
    }

    /// Simple acceptance: accepts the risk of the selected findings without
    /// an acceptance object (products with `enableSimpleRiskAcceptance`).
    async fn accept_findings_risk(
        &self,
        ctx: &Context<'_>,
        input: SimpleRiskInput,
    ) -> ApiResult<RiskAcceptancePayload> {
        simple(ctx, input, true).await
    }

    /// Takes back the risk acceptance of the selected findings (simple or
    /// full; they leave their acceptances and reopen unless closed).
    async fn unaccept_findings_risk(
        &self,
        ctx: &Context<'_>,
        input: SimpleRiskInput,
    ) -> ApiResult<RiskAcceptancePayload> {
        simple(ctx, input, false).await
    }
}

async fn simple(
    ctx: &Context<'_>,
    input: SimpleRiskInput,
    accept: bool,
) -> ApiResult<RiskAcceptancePayload> {
    let cx = Cx::of(ctx)?;
    let targets = select_targets(
        &cx,
        input.selection,
        Permission::Risk_Acceptance,
        input.skip_forbidden,
    )
    .await?;
    if accept {
        let rows = cx
            .loaders()
            .findings
            .load_many(targets.ids.iter().copied())
            .await
            .map_err(load_err)?;
        let products: BTreeSet<i64> = rows.values().map(|f| f.product_id).collect();
        let allowed = cx
            .loaders()
            .products
            .load_many(products)
            .await
            .map_err(load_err)?;
        let refused: Vec<i64> = targets
            .ids
            .iter()
            .copied()
            .filter(|id| {
                !rows
                    .get(id)
                    .and_then(|f| allowed.get(&f.product_id))
                    .is_some_and(|p| p.enable_simple_risk_acceptance)
            })
            .collect();
        if !refused.is_empty() {
            return Err(ApiError::from(crate::domain::DomainError::Refused {
                finding_ids: refused,
                message: "their products do not allow simple risk acceptance \
                          (enableSimpleRiskAcceptance)"
                    .to_owned(),
            }));
        }
    }
    let outcome = rules::set_simple(
        &mut *cx.conn().await?,
        &targets.ids,
        accept,
        cx.actor_id(),
        Utc::now(),
    )
    .await?;
    Ok(payload(None, &outcome, &targets.skipped))
}
