//! Custom fields over GraphQL: definitions (global, or of one product type)
//! and the values set on findings, products and engagements.
//!
//! Defining a field is a change of its product type (`Product_Type_Edit`,
//! so Maintainers and Owners; a global field needs it globally). Setting a
//! value is an edit of the object (`Finding_Edit`, `Product_Edit`,
//! `Engagement_Edit`). A field of a product type is visible to those who can
//! read the product type or one of its products; to anyone else it answers
//! like a missing one.

use std::collections::{BTreeMap, BTreeSet};

use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::context::Cx;
use super::error::{ApiError, ApiResult};
use super::finding::Finding;
use super::hierarchy::{Engagement, Product, ProductType};
use super::ids::{self, Kind};
use super::loaders::load_err;
use super::payload::{DeleteInput, DeletePayload};
use crate::authz::{Object as AuthzObject, Permission};
use crate::db::models::custom_field as model;
use crate::domain::custom_field::{self as rules, FieldInput, FieldKind, FieldPatch, Target};

/// Most values one `setCustomFields` call sets.
const MAX_VALUES: usize = 100;

/// What a custom field holds.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum CustomFieldKind {
    /// Free text.
    Text,
    /// A number.
    Number,
    /// True or false.
    Boolean,
    /// A date (`YYYY-MM-DD`).
    Date,
    /// One of the field's choices.
    SingleChoice,
    /// Any of the field's choices (a list).
    MultiChoice,
}

impl From<CustomFieldKind> for FieldKind {
    fn from(k: CustomFieldKind) -> Self {
        match k {
            CustomFieldKind::Text => FieldKind::Text,
            CustomFieldKind::Number => FieldKind::Number,
            CustomFieldKind::Boolean => FieldKind::Boolean,
            CustomFieldKind::Date => FieldKind::Date,
            CustomFieldKind::SingleChoice => FieldKind::SingleChoice,
            CustomFieldKind::MultiChoice => FieldKind::MultiChoice,
        }
    }
}

impl From<FieldKind> for CustomFieldKind {
    fn from(k: FieldKind) -> Self {
        match k {
            FieldKind::Text => CustomFieldKind::Text,
            FieldKind::Number => CustomFieldKind::Number,
            FieldKind::Boolean => CustomFieldKind::Boolean,
            FieldKind::Date => CustomFieldKind::Date,
            FieldKind::SingleChoice => CustomFieldKind::SingleChoice,
            FieldKind::MultiChoice => CustomFieldKind::MultiChoice,
        }
    }
}

/// The objects that carry custom fields.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum CustomFieldTarget {
    /// Findings.
    Finding,
    /// Products.
    Product,
    /// Engagements.
    Engagement,
}

impl From<CustomFieldTarget> for Target {
    fn from(t: CustomFieldTarget) -> Self {
        match t {
            CustomFieldTarget::Finding => Target::Finding,
            CustomFieldTarget::Product => Target::Product,
            CustomFieldTarget::Engagement => Target::Engagement,
        }
    }
}

impl From<Target> for CustomFieldTarget {
    fn from(t: Target) -> Self {
        match t {
            Target::Finding => CustomFieldTarget::Finding,
            Target::Product => CustomFieldTarget::Product,
            Target::Engagement => CustomFieldTarget::Engagement,
        }
    }
}

/// A typed field a team adds to findings, products or engagements.
#[derive(Clone)]
pub struct CustomField(pub model::CustomField);

#[Object]
impl CustomField {
    /// Global id.
    async fn id(&self) -> ID {
        ids::encode(Kind::CustomField, self.0.id)
    }
    /// Name, unique among the fields that apply in a product type.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What the field is for.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// What it holds.
    async fn kind(&self) -> CustomFieldKind {
        rules::kind_of(&self.0).into()
    }
    /// The choices of a choice field, in display order.
    async fn choices(&self) -> &[String] {
        &self.0.choices
    }
    /// The objects it is set on.
    async fn applies_to(&self) -> Vec<CustomFieldTarget> {
        rules::targets_of(&self.0)
            .into_iter()
            .map(Into::into)
            .collect()
    }
    /// The parser `extra` keys an import reads the finding's value from
    /// (the first one the finding has wins).
    async fn import_keys(&self) -> &[String] {
        &self.0.import_keys
    }
    /// Whether values can be set (an inactive field keeps its values).
    async fn active(&self) -> bool {
        self.0.active
    }
    /// The product type it belongs to; null for a global field.
    async fn product_type(&self, ctx: &Context<'_>) -> ApiResult<Option<ProductType>> {
        let Some(pt) = self.0.product_type_id else {
            return Ok(None);
        };
        let cx = Cx::of(ctx)?;
        if !cx.can_read_product_type(pt) {
            return Ok(None);
        }
        Ok(cx
            .loaders()
            .product_types
            .load_one(pt)
            .await
            .map_err(load_err)?
            .map(ProductType))
    }
    /// Created at.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// One value of a custom field on an object.
#[derive(SimpleObject)]
pub struct CustomFieldValue {
    /// The field.
    pub field: CustomField,
    /// The value: a string, number, boolean, `YYYY-MM-DD` date, or a list of
    /// choices.
    pub value: Json<Value>,
}

/// The values stored in an object's `custom_fields`, by field name.
pub async fn values_of(cx: &Cx<'_>, stored: &Value) -> ApiResult<Vec<CustomFieldValue>> {
    let Some(map) = stored.as_object() else {
        return Ok(Vec::new());
    };
    if map.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = map.keys().filter_map(|k| k.parse().ok()).collect();
    let defs = cx
        .loaders()
        .custom_fields
        .load_many(ids)
        .await
        .map_err(load_err)?;
    let mut out: Vec<CustomFieldValue> = map
        .iter()
        .filter_map(|(k, v)| {
            let def = defs.get(&k.parse::<i64>().ok()?)?;
            Some(CustomFieldValue {
                field: CustomField(def.clone()),
                value: Json(v.clone()),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        a.field
            .0
            .name
            .to_lowercase()
            .cmp(&b.field.0.name.to_lowercase())
    });
    Ok(out)
}

/// Whether the caller may see `field`: global ones always, a product
/// type's when they read the product type or one of its products.
async fn visible(cx: &Cx<'_>, field: &model::CustomField) -> ApiResult<bool> {
    let Some(pt) = field.product_type_id else {
        return Ok(true);
    };
    type_visible(cx, pt).await
}

/// The product types whose fields the caller sees (`None`: all of them):
/// those they read, and those of the products they read.
async fn visible_types(cx: &Cx<'_>) -> ApiResult<Option<Vec<i64>>> {
    let (Some(types), Some(products)) = (cx.readable_product_types(), cx.readable_products())
    else {
        return Ok(None);
    };
    let mut types: BTreeSet<i64> = types.iter().copied().collect();
    if !products.is_empty() {
        let rows = crate::db::models::hierarchy::Product::by_ids(&mut *cx.conn().await?, &products)
            .await?;
        types.extend(rows.iter().map(|p| p.product_type_id));
    }
    Ok(Some(types.into_iter().collect()))
}

/// Whether the caller sees the fields of product type `pt`.
async fn type_visible(cx: &Cx<'_>, pt: i64) -> ApiResult<bool> {
    if cx.can_read_product_type(pt) {
        return Ok(true);
    }
    Ok(visible_types(cx).await?.is_none_or(|t| t.contains(&pt)))
}

/// A product type whose fields the caller sees, or NOT_FOUND.
async fn seen_product_type(cx: &Cx<'_>, id: &ID) -> ApiResult<i64> {
    let pt = ids::decode(id, Kind::ProductType)?;
    let exists = cx
        .loaders()
        .product_types
        .load_one(pt)
        .await
        .map_err(load_err)?
        .is_some();
    let seen = type_visible(cx, pt).await?;
    if exists && seen {
        Ok(pt)
    } else {
        Err(ApiError::NotFound(format!("ProductType {}", id.0)))
    }
}

fn not_found(id: &ID) -> ApiError {
    ApiError::NotFound(format!("CustomField {}", id.0))
}

/// A field the caller may see, or NOT_FOUND.
async fn readable_field(cx: &Cx<'_>, id: &ID) -> ApiResult<model::CustomField> {
    let n = ids::decode(id, Kind::CustomField)?;
    match model::CustomField::find(&mut *cx.conn().await?, n).await? {
        Some(f) if visible(cx, &f).await? => Ok(f),
        _ => Err(not_found(id)),
    }
}

/// The authorization object defining a field in this scope is a change of.
fn scope_object(product_type_id: Option<i64>) -> AuthzObject {
    product_type_id.map_or(AuthzObject::Global, AuthzObject::ProductType)
}

/// Custom field queries.
#[derive(Default)]
pub struct CustomFieldQuery;

#[Object]
impl CustomFieldQuery {
    /// The fields the caller can see, by name: the global ones and those of
    /// `productType` (given), or of every product type they can see.
    async fn custom_fields(
        &self,
        ctx: &Context<'_>,
        product_type: Option<ID>,
        applies_to: Option<CustomFieldTarget>,
        #[graphql(default)] include_inactive: bool,
    ) -> ApiResult<Vec<CustomField>> {
        let cx = Cx::of(ctx)?;
        let scope: Option<Vec<i64>> = match &product_type {
            Some(id) => Some(vec![seen_product_type(&cx, id).await?]),
            None => visible_types(&cx).await?,
        };
        let rows =
            model::CustomField::list(&mut *cx.conn().await?, scope.as_deref(), include_inactive)
                .await?;
        let target = applies_to.map(Target::from);
        Ok(rows
            .into_iter()
            .filter(|f| target.is_none_or(|t| f.applies_to.iter().any(|a| a == t.as_str())))
            .map(CustomField)
            .collect())
    }

    /// One field.
    async fn custom_field(&self, ctx: &Context<'_>, id: ID) -> ApiResult<CustomField> {
        let cx = Cx::of(ctx)?;
        Ok(CustomField(readable_field(&cx, &id).await?))
    }
}

/// Input of `createCustomField`.
#[derive(InputObject)]
pub struct CreateCustomFieldInput {
    /// Name, unique among the fields that apply in a product type.
    pub name: String,
    /// What the field is for.
    pub description: Option<String>,
    /// What it holds (never changes).
    pub kind: CustomFieldKind,
    /// The choices of a choice field, in display order.
    #[graphql(default)]
    pub choices: Vec<String>,
    /// The objects it is set on.
    pub applies_to: Vec<CustomFieldTarget>,
    /// Parser `extra` keys an import reads a finding's value from.
    #[graphql(default)]
    pub import_keys: Vec<String>,
    /// The product type it belongs to; omitted, the field is global.
    pub product_type: Option<ID>,
}

/// Input of `updateCustomField`; omitted fields keep their value.
#[derive(InputObject)]
pub struct UpdateCustomFieldInput {
    /// The field.
    pub id: ID,
    /// New name.
    pub name: Option<String>,
    /// New description (empty clears it).
    pub description: Option<String>,
    /// New choices; a removed choice must not be any object's value.
    pub choices: Option<Vec<String>>,
    /// New objects it applies to; values on objects it stops applying to
    /// are removed.
    pub applies_to: Option<Vec<CustomFieldTarget>>,
    /// New import keys.
    pub import_keys: Option<Vec<String>>,
    /// False: values stay but can no longer be set.
    pub active: Option<bool>,
}

/// Result of a custom field definition mutation.
#[derive(SimpleObject)]
pub struct CustomFieldPayload {
    /// The field as it is now.
    pub custom_field: CustomField,
}

/// One value to set.
#[derive(InputObject)]
pub struct CustomFieldValueInput {
    /// The field.
    pub field: ID,
    /// The value (null, an empty text or an empty list clears it).
    pub value: Option<Json<Value>>,
}

/// Input of `setCustomFields`.
#[derive(InputObject)]
pub struct SetCustomFieldsInput {
    /// A finding, product or engagement.
    pub object: ID,
    /// The values to set or clear; fields not named keep theirs.
    pub values: Vec<CustomFieldValueInput>,
}

/// Result of `setCustomFields`: the object (one of the three) and its values.
#[derive(SimpleObject)]
pub struct SetCustomFieldsPayload {
    /// The finding, when the object is one.
    pub finding: Option<Finding>,
    /// The product, when the object is one.
    pub product: Option<Product>,
    /// The engagement, when the object is one.
    pub engagement: Option<Engagement>,
    /// Every custom value of the object now.
    pub custom_fields: Vec<CustomFieldValue>,
}

/// Checks the values for an object of `target` in `product_type_id`: each
/// field must be visible, active and apply there.
async fn checked_values(
    cx: &Cx<'_>,
    target: Target,
    product_type_id: i64,
    values: &[CustomFieldValueInput],
) -> ApiResult<BTreeMap<i64, Option<Value>>> {
    if values.len() > MAX_VALUES {
        return Err(ApiError::invalid(
            "values",
            format!("at most {MAX_VALUES} values per call"),
        ));
    }
    let mut ids_seen = Vec::with_capacity(values.len());
    for v in values {
        ids_seen.push(ids::decode(&v.field, Kind::CustomField)?);
    }
    let defs = cx
        .loaders()
        .custom_fields
        .load_many(ids_seen.iter().copied())
        .await
        .map_err(load_err)?;
    let mut out = BTreeMap::new();
    for (v, n) in values.iter().zip(ids_seen) {
        // Applying in the product type of an object the caller reads makes
        // the field visible to them: no further check.
        let def = match defs.get(&n) {
            Some(d) if rules::applies(d, target, product_type_id) => d,
            _ => return Err(not_found(&v.field)),
        };
        if !def.active {
            return Err(ApiError::invalid(
                &format!("customFields.{}", def.name),
                "the field is inactive",
            ));
        }
        if out.contains_key(&n) {
            return Err(ApiError::invalid(
                &format!("customFields.{}", def.name),
                "is given twice",
            ));
        }
        let value = v.value.as_ref().map_or(Value::Null, |j| j.0.clone());
        out.insert(n, rules::coerce(def, &value)?);
    }
    Ok(out)
}

/// Custom field mutations.
#[derive(Default)]
pub struct CustomFieldMutation;

#[Object]
impl CustomFieldMutation {
    /// Defines a custom field, global or of a product type.
    async fn create_custom_field(
        &self,
        ctx: &Context<'_>,
        input: CreateCustomFieldInput,
    ) -> ApiResult<CustomFieldPayload> {
        let cx = Cx::of(ctx)?;
        let product_type_id = match &input.product_type {
            Some(id) => Some(seen_product_type(&cx, id).await?),
            None => None,
        };
        cx.require(Permission::Product_Type_Edit, scope_object(product_type_id))?;
        let row = rules::create(
            &mut *cx.conn().await?,
            FieldInput {
                name: input.name,
                description: input.description,
                kind: input.kind.into(),
                choices: input.choices,
                applies_to: input.applies_to.into_iter().map(Into::into).collect(),
                import_keys: input.import_keys,
                product_type_id,
            },
            cx.actor_id(),
        )
        .await?;
        Ok(CustomFieldPayload {
            custom_field: CustomField(row),
        })
    }

    /// Changes a custom field's name, description, choices, objects, import
    /// keys or activity (its kind and scope stay).
    async fn update_custom_field(
        &self,
        ctx: &Context<'_>,
        input: UpdateCustomFieldInput,
    ) -> ApiResult<CustomFieldPayload> {
        let cx = Cx::of(ctx)?;
        let existing = readable_field(&cx, &input.id).await?;
        cx.require(
            Permission::Product_Type_Edit,
            scope_object(existing.product_type_id),
        )?;
        let row = rules::update(
            &mut *cx.conn().await?,
            &existing,
            FieldPatch {
                name: input.name,
                description: input.description,
                choices: input.choices,
                applies_to: input
                    .applies_to
                    .map(|t| t.into_iter().map(Into::into).collect()),
                import_keys: input.import_keys,
                active: input.active,
            },
        )
        .await?;
        Ok(CustomFieldPayload {
            custom_field: CustomField(row),
        })
    }

    /// Deletes a custom field and every value of it.
    async fn delete_custom_field(
        &self,
        ctx: &Context<'_>,
        input: DeleteInput,
    ) -> ApiResult<DeletePayload> {
        let cx = Cx::of(ctx)?;
        let existing = readable_field(&cx, &input.id).await?;
        cx.require(
            Permission::Product_Type_Edit,
            scope_object(existing.product_type_id),
        )?;
        rules::delete(&mut *cx.conn().await?, existing.id).await?;
        Ok(DeletePayload::of(input))
    }

    /// Sets or clears custom field values of a finding, product or
    /// engagement, all or none; the change is in the object's history.
    async fn set_custom_fields(
        &self,
        ctx: &Context<'_>,
        input: SetCustomFieldsInput,
    ) -> ApiResult<SetCustomFieldsPayload> {
        let cx = Cx::of(ctx)?;
        let (kind, _) = ids::decode_any(&input.object)?;
        let mut payload = SetCustomFieldsPayload {
            finding: None,
            product: None,
            engagement: None,
            custom_fields: Vec::new(),
        };
        let stored = match kind {
            Kind::Finding => {
                let f: crate::db::models::finding::Finding = cx.readable(&input.object).await?;
                let object = cx.product_object(f.product_id).await?;
                cx.require(Permission::Finding_Edit, object)?;
                let AuthzObject::Product {
                    product_type_id, ..
                } = object
                else {
                    return Err(ApiError::Internal("a product's object".into()));
                };
                let values =
                    checked_values(&cx, Target::Finding, product_type_id, &input.values).await?;
                let row = crate::domain::finding::set_custom_fields(
                    &mut *cx.conn().await?,
                    f.id,
                    &values,
                    cx.actor_id(),
                )
                .await?;
                let stored = row.custom_fields.clone();
                payload.finding = Some(Finding(row));
                stored
            }
            Kind::Product => {
                let p: crate::db::models::hierarchy::Product = cx.readable(&input.object).await?;
                let object = cx.product_object(p.id).await?;
                cx.require(Permission::Product_Edit, object)?;
                let values =
                    checked_values(&cx, Target::Product, p.product_type_id, &input.values).await?;
                let row = crate::db::models::hierarchy::Product::set_custom_fields(
                    &mut *cx.conn().await?,
                    p.id,
                    &rules::changes(&values),
                )
                .await?
                .ok_or_else(|| not_found(&input.object))?;
                let stored = row.custom_fields.clone();
                payload.product = Some(Product(row));
                stored
            }
            Kind::Engagement => {
                let e: crate::db::models::hierarchy::Engagement =
                    cx.readable(&input.object).await?;
                let object = cx.product_object(e.product_id).await?;
                cx.require(Permission::Engagement_Edit, object)?;
                let AuthzObject::Product {
                    product_type_id, ..
                } = object
                else {
                    return Err(ApiError::Internal("a product's object".into()));
                };
                let values =
                    checked_values(&cx, Target::Engagement, product_type_id, &input.values).await?;
                let row = crate::db::models::hierarchy::Engagement::set_custom_fields(
                    &mut *cx.conn().await?,
                    e.id,
                    &rules::changes(&values),
                )
                .await?
                .ok_or_else(|| not_found(&input.object))?;
                let stored = row.custom_fields.clone();
                payload.engagement = Some(Engagement(row));
                stored
            }
            _ => {
                return Err(ApiError::invalid(
                    "object",
                    "custom fields are set on findings, products and engagements",
                ));
            }
        };
        payload.custom_fields = values_of(&cx, &stored).await?;
        Ok(payload)
    }
}
