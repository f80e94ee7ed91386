//! Product types, products, engagements, test types and tests.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::{Direction, PageQuery, like_pattern};
use crate::db::schema::{engagements, product_types, products, test_types, tests};

/// A product type (an "organization").
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = product_types, check_for_backend(diesel::pg::Pg))]
pub struct ProductType {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub critical_product: bool,
    pub key_product: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Insert form of [`ProductType`].
#[derive(Debug, Insertable)]
#[diesel(table_name = product_types)]
pub struct NewProductType<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub critical_product: bool,
    pub key_product: bool,
}

/// Update form of [`ProductType`]; `None` keeps a column.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = product_types)]
pub struct ProductTypeChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub critical_product: Option<bool>,
    pub key_product: Option<bool>,
}

/// A product (an "asset").
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = products, check_for_backend(diesel::pg::Pg))]
pub struct Product {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub product_type_id: i64,
    pub sla_configuration_id: i64,
    pub business_criticality: Option<String>,
    pub platform: Option<String>,
    pub lifecycle: Option<String>,
    pub origin: Option<String>,
    pub user_records: Option<i32>,
    pub external_audience: bool,
    pub internet_accessible: bool,
    pub tags: Vec<String>,
    pub enable_product_tag_inheritance: bool,
    pub enable_simple_risk_acceptance: bool,
    pub enable_full_risk_acceptance: bool,
    pub disable_sla_breach_notifications: bool,
    pub prod_numeric_grade: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Custom field values by definition id.
    pub custom_fields: serde_json::Value,
}

/// Insert form of [`Product`].
#[derive(Debug, Insertable)]
#[diesel(table_name = products)]
pub struct NewProduct<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub product_type_id: i64,
    pub sla_configuration_id: i64,
    pub business_criticality: Option<&'a str>,
    pub platform: Option<&'a str>,
    pub lifecycle: Option<&'a str>,
    pub origin: Option<&'a str>,
    pub user_records: Option<i32>,
    pub external_audience: bool,
    pub internet_accessible: bool,
    pub tags: Vec<String>,
    pub enable_simple_risk_acceptance: bool,
    pub enable_full_risk_acceptance: bool,
}

/// Update form of [`Product`].
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = products)]
pub struct ProductChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub sla_configuration_id: Option<i64>,
    pub business_criticality: Option<Option<String>>,
    pub platform: Option<Option<String>>,
    pub lifecycle: Option<Option<String>>,
    pub origin: Option<Option<String>>,
    pub user_records: Option<Option<i32>>,
    pub external_audience: Option<bool>,
    pub internet_accessible: Option<bool>,
    pub tags: Option<Vec<String>>,
    pub enable_simple_risk_acceptance: Option<bool>,
    pub enable_full_risk_acceptance: Option<bool>,
}

/// An engagement: a period of testing of one product.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = engagements, check_for_backend(diesel::pg::Pg))]
pub struct Engagement {
    pub id: i64,
    pub product_id: i64,
    pub name: Option<String>,
    pub description: Option<String>,
    pub version: Option<String>,
    pub target_start: NaiveDate,
    pub target_end: NaiveDate,
    pub lead_id: Option<i64>,
    pub active: bool,
    pub status: String,
    pub engagement_type: String,
    pub build_id: Option<String>,
    pub commit_hash: Option<String>,
    pub branch_tag: Option<String>,
    pub source_code_management_uri: Option<String>,
    pub deduplication_on_engagement: bool,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Custom field values by definition id.
    pub custom_fields: serde_json::Value,
}

/// Insert form of [`Engagement`].
#[derive(Debug, Insertable)]
#[diesel(table_name = engagements)]
pub struct NewEngagement<'a> {
    pub product_id: i64,
    pub name: Option<&'a str>,
    pub description: Option<&'a str>,
    pub version: Option<&'a str>,
    pub target_start: NaiveDate,
    pub target_end: NaiveDate,
    pub lead_id: Option<i64>,
    pub active: bool,
    pub status: &'a str,
    pub engagement_type: &'a str,
    pub build_id: Option<&'a str>,
    pub commit_hash: Option<&'a str>,
    pub branch_tag: Option<&'a str>,
    pub source_code_management_uri: Option<&'a str>,
    pub deduplication_on_engagement: bool,
    pub tags: Vec<String>,
}

/// Update form of [`Engagement`].
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = engagements)]
pub struct EngagementChanges {
    pub name: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub version: Option<Option<String>>,
    pub target_start: Option<NaiveDate>,
    pub target_end: Option<NaiveDate>,
    pub active: Option<bool>,
    pub status: Option<String>,
    pub engagement_type: Option<String>,
    pub build_id: Option<Option<String>>,
    pub commit_hash: Option<Option<String>>,
    pub branch_tag: Option<Option<String>>,
    pub source_code_management_uri: Option<Option<String>>,
    pub deduplication_on_engagement: Option<bool>,
    pub tags: Option<Vec<String>>,
}

/// A kind of test (one per scanner).
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = test_types, check_for_backend(diesel::pg::Pg))]
pub struct TestType {
    pub id: i64,
    pub name: String,
    pub static_tool: bool,
    pub dynamic_tool: bool,
    pub active: bool,
    pub dynamically_generated: bool,
}

/// A test: one scan (or manual test) inside an engagement.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = tests, check_for_backend(diesel::pg::Pg))]
pub struct Test {
    pub id: i64,
    pub engagement_id: i64,
    pub product_id: i64,
    pub test_type_id: i64,
    pub scan_type: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub target_start: DateTime<Utc>,
    pub target_end: DateTime<Utc>,
    pub percent_complete: Option<i32>,
    pub lead_id: Option<i64>,
    pub environment_id: Option<i64>,
    pub version: Option<String>,
    pub build_id: Option<String>,
    pub commit_hash: Option<String>,
    pub branch_tag: Option<String>,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Insert form of [`Test`].
#[derive(Debug, Insertable)]
#[diesel(table_name = tests)]
pub struct NewTest<'a> {
    pub engagement_id: i64,
    pub product_id: i64,
    pub test_type_id: i64,
    pub scan_type: Option<&'a str>,
    pub title: Option<&'a str>,
    pub description: Option<&'a str>,
    pub target_start: DateTime<Utc>,
    pub target_end: DateTime<Utc>,
    pub percent_complete: Option<i32>,
    pub environment_id: Option<i64>,
    pub version: Option<&'a str>,
    pub build_id: Option<&'a str>,
    pub commit_hash: Option<&'a str>,
    pub branch_tag: Option<&'a str>,
    pub tags: Vec<String>,
}

/// Update form of [`Test`].
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = tests)]
pub struct TestChanges {
    pub title: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub target_start: Option<DateTime<Utc>>,
    pub target_end: Option<DateTime<Utc>>,
    pub percent_complete: Option<Option<i32>>,
    pub version: Option<Option<String>>,
    pub build_id: Option<Option<String>>,
    pub commit_hash: Option<Option<String>>,
    pub branch_tag: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
}

macro_rules! by_ids {
    ($ty:ident, $table:ident) => {
        impl $ty {
            /// Rows with these ids (missing ids are simply absent).
            pub async fn by_ids(
                conn: &mut AsyncPgConnection,
                ids: &[i64],
            ) -> QueryResult<Vec<$ty>> {
                $table::table
                    .filter($table::id.eq_any(ids))
                    .select($ty::as_select())
                    .load(conn)
                    .await
            }

            /// One row by id.
            pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<$ty>> {
                $table::table
                    .find(id)
                    .select($ty::as_select())
                    .first(conn)
                    .await
                    .optional()
            }

            /// One row by id, locked until the transaction ends (read-modify-write).
            pub async fn find_for_update(
                conn: &mut AsyncPgConnection,
                id: i64,
            ) -> QueryResult<Option<$ty>> {
                $table::table
                    .find(id)
                    .select($ty::as_select())
                    .for_update()
                    .first(conn)
                    .await
                    .optional()
            }

            /// Deletes the row (children cascade); whether it existed.
            pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<bool> {
                Ok(diesel::delete($table::table.find(id)).execute(conn).await? > 0)
            }
        }
    };
}

by_ids!(ProductType, product_types);
by_ids!(Product, products);
by_ids!(Engagement, engagements);
by_ids!(Test, tests);
by_ids!(TestType, test_types);

/// Applies a keyset page over `id` to a boxed query.
macro_rules! page_by_id {
    ($query:expr, $table:ident, $page:expr) => {{
        let mut q = $query;
        if let Some((_, after)) = &$page.after {
            q = match $page.direction {
                Direction::Asc => q.filter($table::id.gt(*after)),
                Direction::Desc => q.filter($table::id.lt(*after)),
            };
        }
        q = match $page.direction {
            Direction::Asc => q.order($table::id.asc()),
            Direction::Desc => q.order($table::id.desc()),
        };
        q.limit($page.limit + 1)
    }};
}

/// Filters shared by the list queries of the hierarchy.
#[derive(Debug, Clone, Default)]
pub struct HierarchyFilter {
    /// Only rows under these products (access control and user filters).
    pub product_ids: Option<Vec<i64>>,
    /// Only children of this parent.
    pub parent_id: Option<i64>,
    /// Case-insensitive substring of the name.
    pub name_contains: Option<String>,
    /// Rows carrying all these tags.
    pub tags: Vec<String>,
}

impl ProductType {
    /// Inserts a product type.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        new: &NewProductType<'_>,
    ) -> QueryResult<ProductType> {
        diesel::insert_into(product_types::table)
            .values(new)
            .returning(ProductType::as_select())
            .get_result(conn)
            .await
    }

    /// Applies changes.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        id: i64,
        changes: &ProductTypeChanges,
    ) -> QueryResult<Option<ProductType>> {
        diesel::update(product_types::table.find(id))
            .set((changes, product_types::updated_at.eq(diesel::dsl::now)))
            .returning(ProductType::as_select())
            .get_result(conn)
            .await
            .optional()
    }

    fn filtered(
        filter: &HierarchyFilter,
        readable_type_ids: Option<&[i64]>,
    ) -> product_types::BoxedQuery<'static, diesel::pg::Pg> {
        let mut q = product_types::table.into_boxed();
        if let Some(ids) = readable_type_ids {
            q = q.filter(product_types::id.eq_any(ids.to_vec()));
        }
        if let Some(n) = &filter.name_contains {
            q = q.filter(product_types::name.ilike(like_pattern(n)));
        }
        q
    }

    /// A page of product types.
    pub async fn page(
        conn: &mut AsyncPgConnection,
        filter: &HierarchyFilter,
        readable_type_ids: Option<&[i64]>,
        page: &PageQuery,
    ) -> QueryResult<Vec<ProductType>> {
        page_by_id!(
            Self::filtered(filter, readable_type_ids),
            product_types,
            page
        )
        .select(ProductType::as_select())
        .load(conn)
        .await
    }

    /// How many product types match.
    pub async fn count(
        conn: &mut AsyncPgConnection,
        filter: &HierarchyFilter,
        readable_type_ids: Option<&[i64]>,
    ) -> QueryResult<i64> {
        Self::filtered(filter, readable_type_ids)
            .count()
            .get_result(conn)
            .await
    }
}

impl Product {
    /// Merges `set` into the row's custom field values and removes the
    /// `remove` keys, in one statement (concurrent writers lose nothing).
    pub async fn set_custom_fields(
        conn: &mut AsyncPgConnection,
        id: i64,
        (set, remove): &(serde_json::Value, Vec<String>),
    ) -> QueryResult<Option<Product>> {
        use diesel::sql_types::{Array, Jsonb, Text};
        diesel::update(products::table.find(id))
            .set(
                products::custom_fields.eq(diesel::dsl::sql::<Jsonb>("(custom_fields || ")
                    .bind::<Jsonb, _>(set)
                    .sql(") - ")
                    .bind::<Array<Text>, _>(remove)),
            )
            .returning(Product::as_select())
            .get_result(conn)
            .await
            .optional()
    }

    /// Inserts a product.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        new: &NewProduct<'_>,
    ) -> QueryResult<Product> {
        diesel::insert_into(products::table)
            .values(new)
            .returning(Product::as_select())
            .get_result(conn)
            .await
    }

    /// Applies changes.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        id: i64,
        changes: &ProductChanges,
    ) -> QueryResult<Option<Product>> {
        diesel::update(products::table.find(id))
            .set((changes, products::updated_at.eq(diesel::dsl::now)))
            .returning(Product::as_select())
            .get_result(conn)
            .await
            .optional()
    }

    fn filtered(filter: &HierarchyFilter) -> products::BoxedQuery<'static, diesel::pg::Pg> {
        let mut q = products::table.into_boxed();
        if let Some(ids) = &filter.product_ids {
            q = q.filter(products::id.eq_any(ids.clone()));
        }
        if let Some(p) = filter.parent_id {
            q = q.filter(products::product_type_id.eq(p));
        }
        if let Some(n) = &filter.name_contains {
            q = q.filter(products::name.ilike(like_pattern(n)));
        }
        if !filter.tags.is_empty() {
            q = q.filter(products::tags.contains(filter.tags.clone()));
        }
        q
    }

    /// A page of products.
    pub async fn page(
        conn: &mut AsyncPgConnection,
        filter: &HierarchyFilter,
        page: &PageQuery,
    ) -> QueryResult<Vec<Product>> {
        page_by_id!(Self::filtered(filter), products, page)
            .select(Product::as_select())
            .load(conn)
            .await
    }

    /// How many products match.
    pub async fn count(conn: &mut AsyncPgConnection, filter: &HierarchyFilter) -> QueryResult<i64> {
        Self::filtered(filter).count().get_result(conn).await
    }

    /// Locks the product row for the rest of the transaction (serialises imports).
    pub async fn lock(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<i64>> {
        products::table
            .find(id)
            .select(products::id)
            .for_update()
            .first(conn)
            .await
            .optional()
    }
}

impl Engagement {
    /// Merges `set` into the row's custom field values and removes the
    /// `remove` keys, in one statement (concurrent writers lose nothing).
    pub async fn set_custom_fields(
        conn: &mut AsyncPgConnection,
        id: i64,
        (set, remove): &(serde_json::Value, Vec<String>),
    ) -> QueryResult<Option<Engagement>> {
        use diesel::sql_types::{Array, Jsonb, Text};
        diesel::update(engagements::table.find(id))
            .set(
                engagements::custom_fields.eq(diesel::dsl::sql::<Jsonb>("(custom_fields || ")
                    .bind::<Jsonb, _>(set)
                    .sql(") - ")
                    .bind::<Array<Text>, _>(remove)),
            )
            .returning(Engagement::as_select())
            .get_result(conn)
            .await
            .optional()
    }

    /// Inserts an engagement.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        new: &NewEngagement<'_>,
    ) -> QueryResult<Engagement> {
        diesel::insert_into(engagements::table)
            .values(new)
            .returning(Engagement::as_select())
            .get_result(conn)
            .await
    }

    /// Applies changes.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        id: i64,
        changes: &EngagementChanges,
    ) -> QueryResult<Option<Engagement>> {
        diesel::update(engagements::table.find(id))
            .set((changes, engagements::updated_at.eq(diesel::dsl::now)))
            .returning(Engagement::as_select())
            .get_result(conn)
            .await
            .optional()
    }

    fn filtered(filter: &HierarchyFilter) -> engagements::BoxedQuery<'static, diesel::pg::Pg> {
        let mut q = engagements::table.into_boxed();
        if let Some(ids) = &filter.product_ids {
            q = q.filter(engagements::product_id.eq_any(ids.clone()));
        }
        if let Some(p) = filter.parent_id {
            q = q.filter(engagements::product_id.eq(p));
        }
        if let Some(n) = &filter.name_contains {
            q = q.filter(engagements::name.ilike(like_pattern(n)));
        }
        if !filter.tags.is_empty() {
            q = q.filter(engagements::tags.contains(filter.tags.clone()));
        }
        q
    }

    /// A page of engagements.
    pub async fn page(
        conn: &mut AsyncPgConnection,
        filter: &HierarchyFilter,
        page: &PageQuery,
    ) -> QueryResult<Vec<Engagement>> {
        page_by_id!(Self::filtered(filter), engagements, page)
            .select(Engagement::as_select())
            .load(conn)
            .await
    }

    /// How many engagements match.
    pub async fn count(conn: &mut AsyncPgConnection, filter: &HierarchyFilter) -> QueryResult<i64> {
        Self::filtered(filter).count().get_result(conn).await
    }
}

impl TestType {
    /// A test type by exact name.
    pub async fn by_name(
        conn: &mut AsyncPgConnection,
        name: &str,
    ) -> QueryResult<Option<TestType>> {
        test_types::table
            .filter(test_types::name.eq(name))
            .select(TestType::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// Finds a test type by name, creating it (marked as generated) when missing.
    pub async fn find_or_create(
        conn: &mut AsyncPgConnection,
        name: &str,
        generated: bool,
    ) -> QueryResult<TestType> {
        diesel::insert_into(test_types::table)
            .values((
                test_types::name.eq(name),
                test_types::dynamically_generated.eq(generated),
            ))
            .on_conflict(test_types::name)
            .do_nothing()
            .execute(conn)
            .await?;
        test_types::table
            .filter(test_types::name.eq(name))
            .select(TestType::as_select())
            .first(conn)
            .await
    }
}

impl Test {
    /// Inserts a test.
    pub async fn create(conn: &mut AsyncPgConnection, new: &NewTest<'_>) -> QueryResult<Test> {
        diesel::insert_into(tests::table)
            .values(new)
            .returning(Test::as_select())
            .get_result(conn)
            .await
    }

    /// Applies changes.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        id: i64,
        changes: &TestChanges,
    ) -> QueryResult<Option<Test>> {
        diesel::update(tests::table.find(id))
            .set((changes, tests::updated_at.eq(diesel::dsl::now)))
            .returning(Test::as_select())
            .get_result(conn)
            .await
            .optional()
    }

    fn filtered(filter: &HierarchyFilter) -> tests::BoxedQuery<'static, diesel::pg::Pg> {
        let mut q = tests::table.into_boxed();
        if let Some(ids) = &filter.product_ids {
            q = q.filter(tests::product_id.eq_any(ids.clone()));
        }
        if let Some(p) = filter.parent_id {
            q = q.filter(tests::engagement_id.eq(p));
        }
        if let Some(n) = &filter.name_contains {
            q = q.filter(tests::title.ilike(like_pattern(n)));
        }
        if !filter.tags.is_empty() {
            q = q.filter(tests::tags.contains(filter.tags.clone()));
        }
        q
    }

    /// A page of tests.
    pub async fn page(
        conn: &mut AsyncPgConnection,
        filter: &HierarchyFilter,
        page: &PageQuery,
    ) -> QueryResult<Vec<Test>> {
        page_by_id!(Self::filtered(filter), tests, page)
            .select(Test::as_select())
            .load(conn)
            .await
    }

    /// How many tests match.
    pub async fn count(conn: &mut AsyncPgConnection, filter: &HierarchyFilter) -> QueryResult<i64> {
        Self::filtered(filter).count().get_result(conn).await
    }
}

/// Counts children per parent id, for the `…Count` fields' loaders.
pub async fn count_children(
    conn: &mut AsyncPgConnection,
    kind: ChildKind,
    parent_ids: &[i64],
) -> QueryResult<Vec<(i64, i64)>> {
    use diesel::dsl::count_star;
    let ids = parent_ids.to_vec();
    match kind {
        ChildKind::ProductsOfType => {
            products::table
                .filter(products::product_type_id.eq_any(ids))
                .group_by(products::product_type_id)
                .select((products::product_type_id, count_star()))
                .load(conn)
                .await
        }
        ChildKind::EngagementsOfProduct => {
            engagements::table
                .filter(engagements::product_id.eq_any(ids))
                .group_by(engagements::product_id)
                .select((engagements::product_id, count_star()))
                .load(conn)
                .await
        }
        ChildKind::TestsOfEngagement => {
            tests::table
                .filter(tests::engagement_id.eq_any(ids))
                .group_by(tests::engagement_id)
                .select((tests::engagement_id, count_star()))
                .load(conn)
                .await
        }
    }
}

/// Which parent→children count [`count_children`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChildKind {
    /// Products per product type.
    ProductsOfType,
    /// Engagements per product.
    EngagementsOfProduct,
    /// Tests per engagement.
    TestsOfEngagement,
}
