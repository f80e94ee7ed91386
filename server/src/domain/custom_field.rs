//! Custom fields: typed values a team adds to findings, products and
//! engagements, defined globally or for one product type.
//!
//! A value is stored in the object's `custom_fields` JSON object under the
//! definition's id: text as a string, a number as a number, a boolean, a
//! date as `YYYY-MM-DD`, a single choice as one of the choices, multiple
//! choices as an array in the definition's order. A field's kind never
//! changes (stored values would stop fitting it); its choices may grow, and
//! shrink only by choices no value uses. Deleting a definition removes its
//! values everywhere in the same transaction.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{Map, Value};

use super::{DomainError, check_len};
use crate::db::models::custom_field::{CustomField, CustomFieldColumns};

/// Longest text value.
pub const MAX_TEXT: usize = 10_000;
/// Most choices of one field.
const MAX_CHOICES: usize = 200;
/// Most import keys of one field.
const MAX_IMPORT_KEYS: usize = 20;

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Free text.
    Text,
    /// A number.
    Number,
    /// Yes or no.
    Boolean,
    /// A calendar date.
    Date,
    /// One of the choices.
    SingleChoice,
    /// Any of the choices.
    MultiChoice,
}

impl FieldKind {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Number => "number",
            FieldKind::Boolean => "boolean",
            FieldKind::Date => "date",
            FieldKind::SingleChoice => "single_choice",
            FieldKind::MultiChoice => "multi_choice",
        }
    }

    /// The kind of a stored word.
    pub fn parse(s: &str) -> Option<FieldKind> {
        [
            FieldKind::Text,
            FieldKind::Number,
            FieldKind::Boolean,
            FieldKind::Date,
            FieldKind::SingleChoice,
            FieldKind::MultiChoice,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    fn has_choices(self) -> bool {
        matches!(self, FieldKind::SingleChoice | FieldKind::MultiChoice)
    }
}

/// The objects that carry custom fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// Findings.
    Finding,
    /// Products.
    Product,
    /// Engagements.
    Engagement,
}

impl Target {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Finding => "finding",
            Target::Product => "product",
            Target::Engagement => "engagement",
        }
    }

    /// The table whose rows carry the values.
    pub fn table(self) -> &'static str {
        match self {
            Target::Finding => "findings",
            Target::Product => "products",
            Target::Engagement => "engagements",
        }
    }

    fn parse(s: &str) -> Option<Target> {
        [Target::Finding, Target::Product, Target::Engagement]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// The kind of a definition (text for a word this version does not know).
pub fn kind_of(field: &CustomField) -> FieldKind {
    FieldKind::parse(&field.kind).unwrap_or(FieldKind::Text)
}

/// The objects a definition applies to.
pub fn targets_of(field: &CustomField) -> Vec<Target> {
    field
        .applies_to
        .iter()
        .filter_map(|t| Target::parse(t))
        .collect()
}

/// Whether `field` may hold a value on a `target` of product type
/// `product_type_id`.
pub fn applies(field: &CustomField, target: Target, product_type_id: i64) -> bool {
    field.product_type_id.is_none_or(|p| p == product_type_id)
        && field.applies_to.iter().any(|t| t == target.as_str())
}

fn invalid(field: &str, message: impl Into<String>) -> DomainError {
    DomainError::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// A definition as a person writes it.
#[derive(Debug, Clone)]
pub struct FieldInput {
    /// Shown name, unique in its scope.
    pub name: String,
    /// What the field is for.
    pub description: Option<String>,
    /// What it holds.
    pub kind: FieldKind,
    /// The choices of a choice field, in display order.
    pub choices: Vec<String>,
    /// The objects it is set on.
    pub applies_to: Vec<Target>,
    /// Parser `extra` keys an import reads the value from (first present wins).
    pub import_keys: Vec<String>,
    /// The product type it belongs to (`None`: global).
    pub product_type_id: Option<i64>,
}

/// Changes to a definition; `None` keeps a value.
#[derive(Debug, Clone, Default)]
pub struct FieldPatch {
    /// New name.
    pub name: Option<String>,
    /// New description (empty clears it).
    pub description: Option<String>,
    /// New choices (choice fields; a removed choice must be unused).
    pub choices: Option<Vec<String>>,
    /// New objects it applies to.
    pub applies_to: Option<Vec<Target>>,
    /// New import keys.
    pub import_keys: Option<Vec<String>>,
    /// Whether it can be set (an inactive field keeps its values, read-only).
    pub active: Option<bool>,
}

fn clean_choices(kind: FieldKind, choices: &[String]) -> Result<Vec<String>, DomainError> {
    if !kind.has_choices() {
        if choices.is_empty() {
            return Ok(Vec::new());
        }
        return Err(invalid("choices", "only choice fields have choices"));
    }
    let mut out: Vec<String> = Vec::new();
    for c in choices {
        let c = c.trim();
        check_len("choices", c, 200, true)?;
        if out.iter().any(|o| o.eq_ignore_ascii_case(c)) {
            return Err(invalid("choices", format!("`{c}` is given twice")));
        }
        out.push(c.to_owned());
    }
    if out.is_empty() {
        return Err(invalid(
            "choices",
            "a choice field needs at least one choice",
        ));
    }
    if out.len() > MAX_CHOICES {
        return Err(invalid("choices", format!("at most {MAX_CHOICES} choices")));
    }
    Ok(out)
}

fn clean_targets(targets: &[Target]) -> Result<Vec<String>, DomainError> {
    let mut t = targets.to_vec();
    t.sort();
    t.dedup();
    if t.is_empty() {
        return Err(invalid("appliesTo", "name at least one kind of object"));
    }
    Ok(t.into_iter().map(|t| t.as_str().to_owned()).collect())
}

fn clean_keys(keys: &[String], targets: &[String]) -> Result<Vec<String>, DomainError> {
    let mut out: Vec<String> = Vec::new();
    for k in keys {
        let k = k.trim();
        check_len("importKeys", k, 200, true)?;
        if !out.iter().any(|o| o == k) {
            out.push(k.to_owned());
        }
    }
    if out.len() > MAX_IMPORT_KEYS {
        return Err(invalid(
            "importKeys",
            format!("at most {MAX_IMPORT_KEYS} keys"),
        ));
    }
    if !out.is_empty() && !targets.iter().any(|t| t == Target::Finding.as_str()) {
        return Err(invalid(
            "importKeys",
            "only a field that applies to findings is filled by imports",
        ));
    }
    Ok(out)
}

fn clean_name(name: &str) -> Result<String, DomainError> {
    let name = name.trim();
    check_len("name", name, 100, true)?;
    Ok(name.to_owned())
}

fn clean_description(d: Option<String>) -> Result<Option<String>, DomainError> {
    let d = d.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty());
    if let Some(d) = &d {
        check_len("description", d, 4000, false)?;
    }
    Ok(d)
}

async fn check_name(
    conn: &mut AsyncPgConnection,
    product_type_id: Option<i64>,
    name: &str,
    except: Option<i64>,
) -> Result<(), DomainError> {
    if CustomField::name_clashes(conn, product_type_id, name, except).await? {
        let message = if product_type_id.is_some() {
            "a custom field of this product type or a global one has this name"
        } else {
            "a custom field of this name exists"
        };
        return Err(DomainError::Conflict(message.to_owned()));
    }
    Ok(())
}

fn not_found(id: i64) -> DomainError {
    DomainError::NotFound {
        kind: "CustomField",
        id: id.to_string(),
    }
}

/// Creates a definition.
pub async fn create(
    conn: &mut AsyncPgConnection,
    input: FieldInput,
    creator: Option<i64>,
) -> Result<CustomField, DomainError> {
    let name = clean_name(&input.name)?;
    let applies_to = clean_targets(&input.applies_to)?;
    let columns = CustomFieldColumns {
        product_type_id: input.product_type_id,
        choices: clean_choices(input.kind, &input.choices)?,
        import_keys: clean_keys(&input.import_keys, &applies_to)?,
        description: clean_description(input.description)?,
        kind: input.kind.as_str().to_owned(),
        applies_to,
        active: true,
        name,
    };
    conn.transaction::<_, DomainError, _>(async |c| {
        check_name(c, columns.product_type_id, &columns.name, None).await?;
        Ok(CustomField::create(c, &columns, creator).await?)
    })
    .await
}

/// Changes a definition. Values of an object kind the field no longer
/// applies to are removed.
pub async fn update(
    conn: &mut AsyncPgConnection,
    existing: &CustomField,
    patch: FieldPatch,
) -> Result<CustomField, DomainError> {
    let kind = kind_of(existing);
    let name = match &patch.name {
        Some(n) => clean_name(n)?,
        None => existing.name.clone(),
    };
    let applies_to = match &patch.applies_to {
        Some(t) => clean_targets(t)?,
        None => existing.applies_to.clone(),
    };
    let choices = match &patch.choices {
        Some(c) => clean_choices(kind, c)?,
        None => existing.choices.clone(),
    };
    let import_keys = clean_keys(
        patch.import_keys.as_ref().unwrap_or(&existing.import_keys),
        &applies_to,
    )?;
    let description = match patch.description {
        Some(d) => clean_description(Some(d))?,
        None => existing.description.clone(),
    };
    let columns = CustomFieldColumns {
        product_type_id: existing.product_type_id,
        name,
        description,
        kind: existing.kind.clone(),
        choices,
        applies_to,
        import_keys,
        active: patch.active.unwrap_or(existing.active),
    };
    conn.transaction::<_, DomainError, _>(async |c| {
        if !columns.name.eq_ignore_ascii_case(&existing.name) {
            check_name(c, columns.product_type_id, &columns.name, Some(existing.id)).await?;
        }
        let removed: Vec<&String> = existing
            .choices
            .iter()
            .filter(|old| !columns.choices.contains(old))
            .collect();
        for choice in removed {
            for target in [Target::Finding, Target::Product, Target::Engagement] {
                let n = CustomField::uses_of_choice(c, target.table(), existing.id, choice).await?;
                if n > 0 {
                    return Err(invalid(
                        "choices",
                        format!("`{choice}` is the value of {n} {}s", target.as_str()),
                    ));
                }
            }
        }
        for target in [Target::Finding, Target::Product, Target::Engagement] {
            let had = existing.applies_to.iter().any(|t| t == target.as_str());
            let has = columns.applies_to.iter().any(|t| t == target.as_str());
            if had && !has {
                CustomField::strip_values(c, target.table(), existing.id).await?;
            }
        }
        CustomField::update(c, existing.id, &columns)
            .await?
            .ok_or_else(|| not_found(existing.id))
    })
    .await
}

/// Deletes a definition and every value of it.
pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> Result<(), DomainError> {
    conn.transaction::<_, DomainError, _>(async |c| {
        for target in [Target::Finding, Target::Product, Target::Engagement] {
            CustomField::strip_values(c, target.table(), id).await?;
        }
        if CustomField::delete(c, id).await? {
            Ok(())
        } else {
            Err(not_found(id))
        }
    })
    .await
}

fn choice_of(choices: &[String], s: &str) -> Option<String> {
    let s = s.trim();
    choices
        .iter()
        .find(|c| c.as_str() == s)
        .or_else(|| choices.iter().find(|c| c.eq_ignore_ascii_case(s)))
        .cloned()
}

/// Checks a value a person gives for `field`: `None` clears it (JSON null,
/// an empty text or an empty list of choices).
pub fn coerce(field: &CustomField, value: &Value) -> Result<Option<Value>, DomainError> {
    let label = format!("customFields.{}", field.name);
    let wrong = |what: &str| invalid(&label, format!("takes {what}"));
    if value.is_null() {
        return Ok(None);
    }
    match kind_of(field) {
        FieldKind::Text => {
            let s = value.as_str().ok_or_else(|| wrong("a text"))?;
            if s.trim().is_empty() {
                return Ok(None);
            }
            check_len(&label, s, MAX_TEXT, false)?;
            Ok(Some(Value::String(s.to_owned())))
        }
        FieldKind::Number => match value {
            Value::Number(n) if n.as_f64().is_some_and(f64::is_finite) => {
                Ok(Some(Value::Number(n.clone())))
            }
            _ => Err(wrong("a number")),
        },
        FieldKind::Boolean => match value {
            Value::Bool(b) => Ok(Some(Value::Bool(*b))),
            _ => Err(wrong("true or false")),
        },
        FieldKind::Date => {
            let s = value.as_str().ok_or_else(|| wrong("a date (YYYY-MM-DD)"))?;
            let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| wrong("a date (YYYY-MM-DD)"))?;
            Ok(Some(Value::String(d.to_string())))
        }
        FieldKind::SingleChoice => {
            let s = value.as_str().ok_or_else(|| wrong("one of its choices"))?;
            let c = choice_of(&field.choices, s)
                .ok_or_else(|| invalid(&label, format!("`{s}` is not one of its choices")))?;
            Ok(Some(Value::String(c)))
        }
        FieldKind::MultiChoice => {
            let items = value
                .as_array()
                .ok_or_else(|| wrong("a list of its choices"))?;
            let mut picked: Vec<String> = Vec::new();
            for item in items {
                let s = item
                    .as_str()
                    .ok_or_else(|| wrong("a list of its choices"))?;
                let c = choice_of(&field.choices, s)
                    .ok_or_else(|| invalid(&label, format!("`{s}` is not one of its choices")))?;
                if !picked.contains(&c) {
                    picked.push(c);
                }
            }
            Ok(ordered_choices(&field.choices, &picked))
        }
    }
}

fn ordered_choices(choices: &[String], picked: &[String]) -> Option<Value> {
    if picked.is_empty() {
        return None;
    }
    Some(Value::Array(
        choices
            .iter()
            .filter(|c| picked.contains(c))
            .map(|c| Value::String(c.clone()))
            .collect(),
    ))
}

/// A field an import fills: its id, kind, choices and the report keys.
#[derive(Debug, Clone)]
pub struct ImportField {
    /// The definition.
    pub id: i64,
    /// What it holds.
    pub kind: FieldKind,
    /// Its choices.
    pub choices: Vec<String>,
    /// The `extra` keys to read, first present wins.
    pub keys: Vec<String>,
}

impl ImportField {
    /// The active definitions among `fields` that apply to findings and
    /// name import keys.
    pub fn of(fields: &[CustomField]) -> Vec<ImportField> {
        fields
            .iter()
            .filter(|f| {
                f.active
                    && !f.import_keys.is_empty()
                    && f.applies_to.iter().any(|t| t == Target::Finding.as_str())
            })
            .map(|f| ImportField {
                id: f.id,
                kind: kind_of(f),
                choices: f.choices.clone(),
                keys: f.import_keys.clone(),
            })
            .collect()
    }

    /// The value a report's text gives, read leniently (numbers and dates
    /// as scanners write them, yes/no words, choices in any case); `None`
    /// when it does not fit, so the report's raw text stays only in `extra`.
    pub fn read(&self, raw: &str) -> Option<Value> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        match self.kind {
            FieldKind::Text => {
                let cut = match raw.char_indices().nth(MAX_TEXT) {
                    Some((i, _)) => &raw[..i],
                    None => raw,
                };
                Some(Value::String(cut.to_owned()))
            }
            FieldKind::Number => {
                if let Ok(i) = raw.parse::<i64>() {
                    return Some(Value::from(i));
                }
                raw.parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
            }
            FieldKind::Boolean => match raw.to_ascii_lowercase().as_str() {
                "true" | "yes" | "y" | "1" | "on" => Some(Value::Bool(true)),
                "false" | "no" | "n" | "0" | "off" => Some(Value::Bool(false)),
                _ => None,
            },
            FieldKind::Date => {
                let day = raw.get(..10).unwrap_or(raw);
                NaiveDate::parse_from_str(day, "%Y-%m-%d")
                    .ok()
                    .map(|d| Value::String(d.to_string()))
            }
            FieldKind::SingleChoice => choice_of(&self.choices, raw).map(Value::String),
            FieldKind::MultiChoice => {
                let picked: Vec<String> = raw
                    .split([',', ';', '|'])
                    .filter_map(|s| choice_of(&self.choices, s))
                    .collect();
                ordered_choices(&self.choices, &picked)
            }
        }
    }

    /// The custom-field object an import writes for a finding with these
    /// `extra` values (`None`: no field found a value).
    pub fn values_of(
        fields: &[ImportField],
        extra: &[(String, String)],
    ) -> Option<Map<String, Value>> {
        let mut out = Map::new();
        for f in fields {
            let found = f
                .keys
                .iter()
                .find_map(|k| extra.iter().find(|(ek, _)| ek == k))
                .and_then(|(_, v)| f.read(v));
            if let Some(v) = found {
                out.insert(f.id.to_string(), v);
            }
        }
        (!out.is_empty()).then_some(out)
    }
}

/// `current` with `values` applied (`None` removes a value): the object to
/// store. Keys are definition ids.
pub fn merged(current: &Value, values: &BTreeMap<i64, Option<Value>>) -> Value {
    let mut map = current.as_object().cloned().unwrap_or_default();
    for (id, v) in values {
        match v {
            Some(v) => {
                map.insert(id.to_string(), v.clone());
            }
            None => {
                map.remove(&id.to_string());
            }
        }
    }
    Value::Object(map)
}

/// `values` as one SQL change: the object to merge in and the keys to
/// remove (for a write that needs no read first).
pub fn changes(values: &BTreeMap<i64, Option<Value>>) -> (Value, Vec<String>) {
    let mut set = Map::new();
    let mut remove = Vec::new();
    for (id, v) in values {
        match v {
            Some(v) => {
                set.insert(id.to_string(), v.clone());
            }
            None => remove.push(id.to_string()),
        }
    }
    (Value::Object(set), remove)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use serde_json::json;

    fn field(kind: FieldKind, choices: &[&str]) -> CustomField {
        CustomField {
            id: 7,
            product_type_id: None,
            name: "Team".into(),
            description: None,
            kind: kind.as_str().into(),
            choices: choices.iter().map(|c| (*c).to_owned()).collect(),
            applies_to: vec!["finding".into()],
            import_keys: vec![],
            active: true,
            creator_id: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn values_are_checked_against_the_kind() {
        let n = field(FieldKind::Number, &[]);
        assert_eq!(coerce(&n, &json!(3.5)).ok(), Some(Some(json!(3.5))));
        assert!(coerce(&n, &json!("3")).is_err());
        let d = field(FieldKind::Date, &[]);
        assert_eq!(
            coerce(&d, &json!("2026-12-08")).ok(),
            Some(Some(json!("2026-12-08")))
        );
        assert!(coerce(&d, &json!("08/12/2026")).is_err());
        let b = field(FieldKind::Boolean, &[]);
        assert!(coerce(&b, &json!("yes")).is_err());
        let t = field(FieldKind::Text, &[]);
        assert_eq!(coerce(&t, &json!("  ")).ok(), Some(None));
        assert_eq!(coerce(&t, &Value::Null).ok(), Some(None));
    }

    #[test]
    fn choices_are_canonical_and_ordered() {
        let s = field(FieldKind::SingleChoice, &["Red", "Blue"]);
        assert_eq!(coerce(&s, &json!("blue")).ok(), Some(Some(json!("Blue"))));
        let err = coerce(&s, &json!("green")).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("customFields.Team: `green` is not one of its choices")
        );
        let m = field(FieldKind::MultiChoice, &["a", "b", "c"]);
        assert_eq!(
            coerce(&m, &json!(["c", "A", "c"])).ok(),
            Some(Some(json!(["a", "c"])))
        );
        assert_eq!(coerce(&m, &json!([])).ok(), Some(None));
    }

    #[test]
    fn imports_read_scanner_text_leniently() {
        let f = |kind, choices: &[&str]| ImportField {
            id: 3,
            kind,
            choices: choices.iter().map(|c| (*c).to_owned()).collect(),
            keys: vec!["k".into()],
        };
        assert_eq!(f(FieldKind::Number, &[]).read(" 42 "), Some(json!(42)));
        assert_eq!(f(FieldKind::Number, &[]).read("4.5"), Some(json!(4.5)));
        assert_eq!(f(FieldKind::Number, &[]).read("NaN"), None);
        assert_eq!(f(FieldKind::Boolean, &[]).read("Yes"), Some(json!(true)));
        assert_eq!(
            f(FieldKind::Date, &[]).read("2026-03-04T10:00:00Z"),
            Some(json!("2026-03-04"))
        );
        assert_eq!(
            f(FieldKind::MultiChoice, &["x", "y"]).read("Y; z, x"),
            Some(json!(["x", "y"]))
        );
        assert_eq!(f(FieldKind::SingleChoice, &["x"]).read("q"), None);
        let fields = vec![ImportField {
            keys: vec!["missing".into(), "k".into()],
            ..f(FieldKind::Text, &[])
        }];
        let extra = vec![("k".to_owned(), "v".to_owned())];
        assert_eq!(
            ImportField::values_of(&fields, &extra).map(Value::Object),
            Some(json!({"3": "v"}))
        );
        assert_eq!(ImportField::values_of(&fields, &[]), None);
    }

    #[test]
    fn merging_sets_and_clears() {
        let mut values = BTreeMap::new();
        values.insert(1, Some(json!(2)));
        values.insert(5, None);
        assert_eq!(
            merged(&json!({"5": "x", "9": true}), &values),
            json!({"1": 2, "9": true})
        );
    }
}
