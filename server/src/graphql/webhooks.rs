//! Webhooks over GraphQL: registered globally (superusers), per product type
//! (`Product_Type_Edit`) or per product (`Product_Configure_Notifications`).

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::context::Cx;
use super::error::{ApiError, ApiResult};
use super::hierarchy::{Product, ProductType};
use super::ids::{self, Kind};
use super::payload::{DeleteInput, DeletePayload};
use crate::authz::{Object as AuthzObject, Permission};
use crate::db::models::hierarchy::{Product as ProductRow, ProductType as ProductTypeRow};
use crate::events::EventKind;
use crate::webhooks::{self as model, NewWebhook};

/// A registered webhook (never its secret).
pub struct Webhook(pub model::Webhook);

/// One delivery attempt record.
#[derive(SimpleObject)]
pub struct WebhookDelivery {
    /// Delivery id (sent as `X-Palisade-Delivery`).
    pub id: i64,
    /// The event's `seq`.
    pub event_seq: i64,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: i32,
    /// The next attempt, while pending.
    pub next_attempt_at: DateTime<Utc>,
    /// Last HTTP status received.
    pub last_status_code: Option<i32>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it succeeded.
    pub delivered_at: Option<DateTime<Utc>>,
}

#[Object]
impl Webhook {
    /// Global id.
    async fn id(&self) -> ID {
        ids::encode(Kind::Webhook, self.0.id)
    }
    /// Label.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Target URL.
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// Event kinds sent (empty: all).
    async fn kinds(&self) -> Vec<EventKind> {
        self.0
            .kinds
            .iter()
            .filter_map(|k| EventKind::parse(k))
            .collect()
    }
    /// Whether deliveries are made.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Since when every attempt has failed.
    async fn failing_since(&self) -> Option<DateTime<Utc>> {
        self.0.failing_since
    }
    /// The product type it is limited to.
    async fn product_type(&self, ctx: &Context<'_>) -> ApiResult<Option<ProductType>> {
        let cx = Cx::of(ctx)?;
        match self.0.product_type_id {
            Some(id) => cx.readable_id(id).await.map(|t| Some(ProductType(t))),
            None => Ok(None),
        }
    }
    /// The product it is limited to.
    async fn product(&self, ctx: &Context<'_>) -> ApiResult<Option<Product>> {
        let cx = Cx::of(ctx)?;
        match self.0.product_id {
            Some(id) => cx.readable_id(id).await.map(|p| Some(Product(p))),
            None => Ok(None),
        }
    }
    /// The delivery log, newest first.
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50, validator(minimum = 1, maximum = 500))] first: i32,
    ) -> ApiResult<Vec<WebhookDelivery>> {
        let cx = Cx::of(ctx)?;
        let mut conn = cx.conn().await?;
        Ok(model::deliveries(&mut conn, self.0.id, i64::from(first))
            .await?
            .into_iter()
            .map(|d| WebhookDelivery {
                id: d.id,
                event_seq: d.event_seq,
                status: d.status,
                attempts: d.attempts,
                next_attempt_at: d.next_attempt_at,
                last_status_code: d.last_status_code,
                last_error: d.last_error,
                delivered_at: d.delivered_at,
            })
            .collect())
    }
}

/// The stored words of event kinds.
fn words(kinds: Vec<EventKind>) -> Vec<String> {
    kinds.into_iter().map(|k| k.as_str().to_owned()).collect()
}

/// Whether the caller manages webhooks at this scope.
async fn may_manage(
    cx: &Cx<'_>,
    product_type_id: Option<i64>,
    product_id: Option<i64>,
) -> ApiResult<()> {
    match (product_type_id, product_id) {
        (_, Some(p)) => {
            cx.readable_id::<ProductRow>(p).await?;
            cx.require_product(Permission::Product_Configure_Notifications, p)
                .await
        }
        (Some(pt), None) => {
            cx.readable_id::<ProductTypeRow>(pt).await?;
            cx.require(Permission::Product_Type_Edit, AuthzObject::ProductType(pt))
        }
        (None, None) => cx.require_superuser("manage global webhooks"),
    }
}

/// Input of `createWebhook`.
#[derive(InputObject)]
pub struct CreateWebhookInput {
    /// Label.
    pub name: String,
    /// `http(s)://` URL receiving the POSTs.
    pub url: String,
    /// HMAC key; generated (and returned once) when omitted.
    pub secret: Option<String>,
    /// Limit to a product type.
    pub product_type: Option<ID>,
    /// Limit to a product.
    pub product: Option<ID>,
    /// Only these event kinds.
    pub kinds: Option<Vec<EventKind>>,
}

/// Result of `updateWebhook`.
#[derive(SimpleObject)]
pub struct WebhookPayload {
    /// The webhook as it is now.
    pub webhook: Webhook,
}

/// Result of `createWebhook`.
#[derive(SimpleObject)]
pub struct CreateWebhookPayload {
    /// The webhook.
    pub webhook: Webhook,
    /// The signing secret, shown this once.
    pub secret: String,
}

/// Input of `updateWebhook`.
#[derive(InputObject)]
pub struct UpdateWebhookInput {
    /// The webhook.
    pub id: ID,
    /// New URL.
    pub url: Option<String>,
    /// New kinds.
    pub kinds: Option<Vec<EventKind>>,
    /// Switch on or off (on again after an automatic disable).
    pub active: Option<bool>,
}

/// Refuses URLs that are not `http(s)` or that lead into the server's own
/// network (loopback, private, link-local, metadata, ...) unless the
/// operator allowed them; delivery checks again at connect time.
async fn check_url(ctx: &Context<'_>, url: &str) -> ApiResult<()> {
    use crate::outbound::DestinationError;
    let allow = ctx
        .data::<std::sync::Arc<crate::config::Config>>()
        .map(|c| c.outbound.allow.clone())
        .unwrap_or_default();
    match crate::outbound::Policy::new(allow).check_url(url).await {
        Ok(()) => Ok(()),
        Err(DestinationError::Refused(r)) => {
            let addr = r.addr.to_string();
            let how = if r.host.trim_matches(['[', ']']) == addr {
                "points to"
            } else {
                "resolves to"
            };
            Err(ApiError::invalid(
                "url",
                format!(
                    "the webhook URL {how} {addr}, {}; set PALISADE_OUTBOUND_ALLOW to allow it",
                    r.class
                ),
            ))
        }
        Err(DestinationError::Unresolvable) => Err(ApiError::invalid(
            "url",
            "the webhook URL's host name could not be resolved",
        )),
        Err(DestinationError::InvalidUrl) => {
            Err(ApiError::invalid("url", "must be an absolute http(s) URL"))
        }
    }
}

async fn manageable(cx: &Cx<'_>, id: &ID) -> ApiResult<model::Webhook> {
    let n = ids::decode(id, Kind::Webhook)?;
    let mut conn = cx.conn().await?;
    let hook = model::by_id(&mut conn, n)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Webhook {}", id.0)))?;
    drop(conn);
    match may_manage(cx, hook.product_type_id, hook.product_id).await {
        Ok(()) => Ok(hook),
        // Webhooks one may not manage do not exist for them.
        Err(_) => Err(ApiError::NotFound(format!("Webhook {}", id.0))),
    }
}

/// Webhook queries.
#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// The webhooks you manage.
    #[graphql(complexity = "super::LIST_WEIGHT * child_complexity")]
    async fn webhooks(&self, ctx: &Context<'_>) -> ApiResult<Vec<Webhook>> {
        let cx = Cx::of(ctx)?;
        let mut conn = cx.conn().await?;
        let all = model::all(&mut conn).await?;
        drop(conn);
        let mut out = Vec::new();
        for h in all {
            if may_manage(&cx, h.product_type_id, h.product_id)
                .await
                .is_ok()
            {
                out.push(Webhook(h));
            }
        }
        Ok(out)
    }
}

/// Webhook mutations.
#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Registers a webhook.
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookInput,
    ) -> ApiResult<CreateWebhookPayload> {
        let cx = Cx::of(ctx)?;
        let product_type_id = input
            .product_type
            .as_ref()
            .map(|i| ids::decode(i, Kind::ProductType))
            .transpose()?;
        let product_id = input
            .product
            .as_ref()
            .map(|i| ids::decode(i, Kind::Product))
            .transpose()?;
        if product_type_id.is_some() && product_id.is_some() {
            return Err(ApiError::invalid(
                "product",
                "give a product type or a product, not both",
            ));
        }
        may_manage(&cx, product_type_id, product_id).await?;
        check_url(ctx, &input.url).await?;
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(ApiError::invalid("name", "must be 1 to 200 characters"));
        }
        let secret = match input.secret {
            Some(s) if s.len() >= 16 && s.len() <= 200 => s,
            Some(_) => return Err(ApiError::invalid("secret", "must be 16 to 200 characters")),
            None => crate::domain::user::generate_token().secret,
        };
        let mut conn = cx.conn().await?;
        let hook = model::create(
            &mut conn,
            &NewWebhook {
                name: name.to_owned(),
                url: input.url,
                secret: secret.clone(),
                product_type_id,
                product_id,
                kinds: words(input.kinds.unwrap_or_default()),
                created_by_id: cx.actor_id(),
            },
        )
        .await?;
        Ok(CreateWebhookPayload {
            webhook: Webhook(hook),
            secret,
        })
    }

    /// Changes a webhook.
    async fn update_webhook(
        &self,
        ctx: &Context<'_>,
        input: UpdateWebhookInput,
    ) -> ApiResult<WebhookPayload> {
        let cx = Cx::of(ctx)?;
        let hook = manageable(&cx, &input.id).await?;
        if let Some(u) = &input.url {
            check_url(ctx, u).await?;
        }
        let mut conn = cx.conn().await?;
        model::update(
            &mut conn,
            hook.id,
            input.url.as_deref(),
            input.kinds.map(words).as_deref(),
            input.active,
            // From now on it delivers on behalf of the caller.
            cx.actor_id(),
        )
        .await?
        .map(|hook| WebhookPayload {
            webhook: Webhook(hook),
        })
        .ok_or_else(|| ApiError::NotFound(format!("Webhook {}", input.id.0)))
    }

    /// Deletes a webhook and its delivery log.
    async fn delete_webhook(
        &self,
        ctx: &Context<'_>,
        input: DeleteInput,
    ) -> ApiResult<DeletePayload> {
        let cx = Cx::of(ctx)?;
        let hook = manageable(&cx, &input.id).await?;
        let mut conn = cx.conn().await?;
        if !model::delete(&mut conn, hook.id).await? {
            return Err(ApiError::NotFound(format!("Webhook {}", input.id.0)));
        }
        Ok(DeletePayload::of(input))
    }
}
