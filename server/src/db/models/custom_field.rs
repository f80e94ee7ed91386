//! Custom field definitions (`custom_fields`) and the values stored on
//! findings, products and engagements (their `custom_fields` objects).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// A custom field definition.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct CustomField {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub product_type_id: Option<i64>,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub description: Option<String>,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Array<Text>)]
    pub choices: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    pub applies_to: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    pub import_keys: Vec<String>,
    #[diesel(sql_type = Bool)]
    pub active: bool,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub creator_id: Option<i64>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
}

/// The columns a definition is written with.
#[derive(Debug, Clone, Default)]
pub struct CustomFieldColumns {
    pub product_type_id: Option<i64>,
    pub name: String,
    pub description: Option<String>,
    pub kind: String,
    pub choices: Vec<String>,
    pub applies_to: Vec<String>,
    pub import_keys: Vec<String>,
    pub active: bool,
}

const COLUMNS: &str = "id, product_type_id, name, description, kind, choices, applies_to, \
     import_keys, active, creator_id, created_at, updated_at";

/// The tables that carry values.
const VALUE_TABLES: [&str; 3] = ["findings", "products", "engagements"];

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

impl CustomField {
    /// Definitions in these scopes: global ones always, and those of
    /// `product_type_ids` (`None`: of every product type), by name.
    pub async fn list(
        conn: &mut AsyncPgConnection,
        product_type_ids: Option<&[i64]>,
        include_inactive: bool,
    ) -> QueryResult<Vec<CustomField>> {
        diesel::sql_query(format!(
            "SELECT {COLUMNS} FROM custom_fields \
             WHERE (product_type_id IS NULL OR $1::bigint[] IS NULL OR product_type_id = ANY($1)) \
               AND (active OR $2) \
             ORDER BY lower(name), id"
        ))
        .bind::<Nullable<Array<BigInt>>, _>(product_type_ids)
        .bind::<Bool, _>(include_inactive)
        .load(conn)
        .await
    }

    /// Definitions by id (any scope, active or not).
    pub async fn by_ids(
        conn: &mut AsyncPgConnection,
        ids: &[i64],
    ) -> QueryResult<Vec<CustomField>> {
        diesel::sql_query(format!(
            "SELECT {COLUMNS} FROM custom_fields WHERE id = ANY($1)"
        ))
        .bind::<Array<BigInt>, _>(ids)
        .load(conn)
        .await
    }

    /// One definition.
    pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<CustomField>> {
        Ok(Self::by_ids(conn, &[id]).await?.into_iter().next())
    }

    /// Whether a definition named `name` (any case) exists in the other
    /// scope level: among the global ones for a product type's field, among
    /// every product type's for a global one. `except` is the field itself.
    pub async fn name_clashes(
        conn: &mut AsyncPgConnection,
        product_type_id: Option<i64>,
        name: &str,
        except: Option<i64>,
    ) -> QueryResult<bool> {
        let rows: Vec<Count> = diesel::sql_query(
            "SELECT count(*) AS n FROM custom_fields \
             WHERE lower(name) = lower($1) AND id IS DISTINCT FROM $3 \
               AND CASE WHEN $2::bigint IS NULL THEN true \
                        ELSE product_type_id IS NULL OR product_type_id = $2 END",
        )
        .bind::<Text, _>(name)
        .bind::<Nullable<BigInt>, _>(product_type_id)
        .bind::<Nullable<BigInt>, _>(except)
        .load(conn)
        .await?;
        Ok(<[Count]>::first(&rows).is_some_and(|r| r.n > 0))
    }

    /// Inserts a definition.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        c: &CustomFieldColumns,
        creator: Option<i64>,
    ) -> QueryResult<CustomField> {
        diesel::sql_query(format!(
            "INSERT INTO custom_fields (product_type_id, name, description, kind, choices, \
             applies_to, import_keys, active, creator_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {COLUMNS}"
        ))
        .bind::<Nullable<BigInt>, _>(c.product_type_id)
        .bind::<Text, _>(&c.name)
        .bind::<Nullable<Text>, _>(c.description.as_deref())
        .bind::<Text, _>(&c.kind)
        .bind::<Array<Text>, _>(&c.choices)
        .bind::<Array<Text>, _>(&c.applies_to)
        .bind::<Array<Text>, _>(&c.import_keys)
        .bind::<Bool, _>(c.active)
        .bind::<Nullable<BigInt>, _>(creator)
        .get_result(conn)
        .await
    }

    /// Rewrites a definition's changeable columns (scope and kind stay).
    pub async fn update(
        conn: &mut AsyncPgConnection,
        id: i64,
        c: &CustomFieldColumns,
    ) -> QueryResult<Option<CustomField>> {
        let rows: Vec<CustomField> = diesel::sql_query(format!(
            "UPDATE custom_fields SET name = $2, description = $3, choices = $4, \
             applies_to = $5, import_keys = $6, active = $7 WHERE id = $1 RETURNING {COLUMNS}"
        ))
        .bind::<BigInt, _>(id)
        .bind::<Text, _>(&c.name)
        .bind::<Nullable<Text>, _>(c.description.as_deref())
        .bind::<Array<Text>, _>(&c.choices)
        .bind::<Array<Text>, _>(&c.applies_to)
        .bind::<Array<Text>, _>(&c.import_keys)
        .bind::<Bool, _>(c.active)
        .load(conn)
        .await?;
        Ok(rows.into_iter().next())
    }

    /// How many rows of `table` hold a value of field `id` that names
    /// `choice` (as the single choice or among the multiple ones).
    pub async fn uses_of_choice(
        conn: &mut AsyncPgConnection,
        table: &str,
        id: i64,
        choice: &str,
    ) -> QueryResult<i64> {
        let table = VALUE_TABLES
            .into_iter()
            .find(|t| *t == table)
            .unwrap_or("findings");
        let rows: Vec<Count> = diesel::sql_query(format!(
            "SELECT count(*) AS n FROM {table} WHERE custom_fields <> '{{}}' \
             AND (custom_fields -> $1) ? $2"
        ))
        .bind::<Text, _>(id.to_string())
        .bind::<Text, _>(choice)
        .load(conn)
        .await?;
        Ok(<[Count]>::first(&rows).map_or(0, |r| r.n))
    }

    /// Removes the values of field `id` from `table`'s rows.
    pub async fn strip_values(
        conn: &mut AsyncPgConnection,
        table: &str,
        id: i64,
    ) -> QueryResult<usize> {
        let table = VALUE_TABLES
            .into_iter()
            .find(|t| *t == table)
            .unwrap_or("findings");
        diesel::sql_query(format!(
            "UPDATE {table} SET custom_fields = custom_fields - $1 \
             WHERE custom_fields <> '{{}}' AND custom_fields ? $1"
        ))
        .bind::<Text, _>(id.to_string())
        .execute(conn)
        .await
    }

    /// Deletes a definition.
    pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<bool> {
        Ok(diesel::sql_query("DELETE FROM custom_fields WHERE id = $1")
            .bind::<BigInt, _>(id)
            .execute(conn)
            .await?
            > 0)
    }
}
