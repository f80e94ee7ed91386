//! Memberships: who holds which role on a product type, a product, a group or
//! globally, and the snapshot of them that the authorization policy is built
//! from.
//!
//! Every write runs `NOTIFY palisade_authz` in its own transaction (a savepoint
//! when the caller already has one), so each server process reloads its policy
//! exactly when the change commits; see `crate::authz::listener`.

use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{
    global_roles, group_members, groups, product_groups, product_members, product_type_groups,
    product_type_members, products, users,
};

/// The channel that carries "memberships changed" notifications.
pub const AUTHZ_CHANNEL: &str = "palisade_authz";

/// Queues a policy-reload notification, delivered when the surrounding
/// transaction commits.
///
/// Call it from any other write that changes what the policy depends on (a
/// user's superuser or active flag, a product moving to another product type,
/// a product created or deleted).
pub async fn notify_authz(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query(include_str!("membership_notify.sql"))
        .execute(conn)
        .await
        .map(drop)
}

/// Defines a membership row type for a (member, object, role) table, with its
/// set/remove/list queries. The four scoped tables differ only in names.
macro_rules! scoped_membership {
    (
        $(#[$meta:meta])*
        $ty:ident, $table:ident, $member:ident, $object:ident
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
        #[diesel(table_name = $table, check_for_backend(diesel::pg::Pg))]
        pub struct $ty {
            pub id: i64,
            pub $member: i64,
            pub $object: i64,
            pub role_id: i16,
        }

        impl $ty {
            /// Gives the member `role_id` on the object, adding the membership
            /// or changing its role, and notifies the policy listeners.
            pub async fn set(
                conn: &mut AsyncPgConnection,
                $member: i64,
                $object: i64,
                role_id: i16,
            ) -> QueryResult<$ty> {
                conn.transaction(async |c| {
                    let row = diesel::insert_into($table::table)
                        .values((
                            $table::$member.eq($member),
                            $table::$object.eq($object),
                            $table::role_id.eq(role_id),
                        ))
                        .on_conflict(($table::$member, $table::$object))
                        .do_update()
                        .set($table::role_id.eq(excluded($table::role_id)))
                        .returning($ty::as_select())
                        .get_result(c)
                        .await?;
                    notify_authz(c).await?;
                    Ok(row)
                })
                .await
            }

            /// Removes the membership; false if there was none (then nothing
            /// is notified).
            pub async fn remove(
                conn: &mut AsyncPgConnection,
                $member: i64,
                $object: i64,
            ) -> QueryResult<bool> {
                conn.transaction(async |c| {
                    let n = diesel::delete(
                        $table::table
                            .filter($table::$member.eq($member))
                            .filter($table::$object.eq($object)),
                    )
                    .execute(c)
                    .await?;
                    if n > 0 {
                        notify_authz(c).await?;
                    }
                    Ok(n > 0)
                })
                .await
            }

            /// The memberships on one object, by id.
            pub async fn for_object(
                conn: &mut AsyncPgConnection,
                $object: i64,
            ) -> QueryResult<Vec<$ty>> {
                $table::table
                    .filter($table::$object.eq($object))
                    .order($table::id)
                    .select($ty::as_select())
                    .load(conn)
                    .await
            }

            /// Every row of the table (policy construction).
            pub async fn all(conn: &mut AsyncPgConnection) -> QueryResult<Vec<$ty>> {
                $table::table
                    .order($table::id)
                    .select($ty::as_select())
                    .load(conn)
                    .await
            }
        }
    };
}

scoped_membership!(
    /// A user's role on a product type (and through it on its products).
    ProductTypeMember, product_type_members, user_id, product_type_id
);
scoped_membership!(
    /// A user's role on one product.
    ProductMember, product_members, user_id, product_id
);
scoped_membership!(
    /// A group's role on a product type; every member of the group holds it.
    ProductTypeGroup, product_type_groups, group_id, product_type_id
);
scoped_membership!(
    /// A group's role on one product; every member of the group holds it.
    ProductGroup, product_groups, group_id, product_id
);
scoped_membership!(
    /// A user's membership of a group, with their role for administering it.
    GroupMember, group_members, user_id, group_id
);

/// A global role: held by a user or by a group, it applies to every product
/// type and product.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = global_roles, check_for_backend(diesel::pg::Pg))]
pub struct GlobalRole {
    pub id: i64,
    pub user_id: Option<i64>,
    pub group_id: Option<i64>,
    pub role_id: i16,
}

impl GlobalRole {
    /// Gives a user a global role (replacing theirs) and notifies.
    pub async fn set_for_user(
        conn: &mut AsyncPgConnection,
        user_id: i64,
        role_id: i16,
    ) -> QueryResult<GlobalRole> {
        conn.transaction(async |c| {
            let row = diesel::insert_into(global_roles::table)
                .values((
                    global_roles::user_id.eq(user_id),
                    global_roles::role_id.eq(role_id),
                ))
                .on_conflict(global_roles::user_id)
                .do_update()
                .set(global_roles::role_id.eq(excluded(global_roles::role_id)))
                .returning(GlobalRole::as_select())
                .get_result(c)
                .await?;
            notify_authz(c).await?;
            Ok(row)
        })
        .await
    }

    /// Gives a group a global role (replacing its own) and notifies.
    pub async fn set_for_group(
        conn: &mut AsyncPgConnection,
        group_id: i64,
        role_id: i16,
    ) -> QueryResult<GlobalRole> {
        conn.transaction(async |c| {
            let row = diesel::insert_into(global_roles::table)
                .values((
                    global_roles::group_id.eq(group_id),
                    global_roles::role_id.eq(role_id),
                ))
                .on_conflict(global_roles::group_id)
                .do_update()
                .set(global_roles::role_id.eq(excluded(global_roles::role_id)))
                .returning(GlobalRole::as_select())
                .get_result(c)
                .await?;
            notify_authz(c).await?;
            Ok(row)
        })
        .await
    }

    /// Removes a user's global role; false if they had none.
    pub async fn remove_for_user(conn: &mut AsyncPgConnection, user_id: i64) -> QueryResult<bool> {
        conn.transaction(async |c| {
            let n = diesel::delete(global_roles::table.filter(global_roles::user_id.eq(user_id)))
                .execute(c)
                .await?;
            if n > 0 {
                notify_authz(c).await?;
            }
            Ok(n > 0)
        })
        .await
    }

    /// Removes a group's global role; false if it had none.
    pub async fn remove_for_group(
        conn: &mut AsyncPgConnection,
        group_id: i64,
    ) -> QueryResult<bool> {
        conn.transaction(async |c| {
            let n = diesel::delete(global_roles::table.filter(global_roles::group_id.eq(group_id)))
                .execute(c)
                .await?;
            if n > 0 {
                notify_authz(c).await?;
            }
            Ok(n > 0)
        })
        .await
    }

    /// Every global role (policy construction).
    pub async fn all(conn: &mut AsyncPgConnection) -> QueryResult<Vec<GlobalRole>> {
        global_roles::table
            .order(global_roles::id)
            .select(GlobalRole::as_select())
            .load(conn)
            .await
    }
}

/// Everything the authorization policy is built from, read in one snapshot.
#[derive(Debug, Clone, Default)]
pub struct PolicyRows {
    /// Active superusers.
    pub superusers: Vec<i64>,
    /// Inactive users: their memberships grant nothing.
    pub inactive_users: Vec<i64>,
    /// Global roles of users and groups.
    pub global_roles: Vec<GlobalRole>,
    /// Group memberships.
    pub group_members: Vec<GroupMember>,
    /// Users' product-type roles.
    pub product_type_members: Vec<ProductTypeMember>,
    /// Users' product roles.
    pub product_members: Vec<ProductMember>,
    /// Groups' product-type roles.
    pub product_type_groups: Vec<ProductTypeGroup>,
    /// Groups' product roles.
    pub product_groups: Vec<ProductGroup>,
    /// `(product id, product type id)` of every product, to expand
    /// product-type roles into product ids for list filters.
    pub products: Vec<(i64, i64)>,
}

impl PolicyRows {
    /// Reads every table in one read-only repeatable-read transaction, so the
    /// policy never mixes two states of the memberships.
    pub async fn load(conn: &mut AsyncPgConnection) -> QueryResult<PolicyRows> {
        conn.build_transaction()
            .read_only()
            .repeatable_read()
            .run(async |c| {
                let superusers = users::table
                    .filter(users::is_superuser.eq(true))
                    .filter(users::is_active.eq(true))
                    .select(users::id)
                    .load(c)
                    .await?;
                let inactive_users = users::table
                    .filter(users::is_active.eq(false))
                    .select(users::id)
                    .load(c)
                    .await?;
                Ok(PolicyRows {
                    superusers,
                    inactive_users,
                    global_roles: GlobalRole::all(c).await?,
                    group_members: GroupMember::all(c).await?,
                    product_type_members: ProductTypeMember::all(c).await?,
                    product_members: ProductMember::all(c).await?,
                    product_type_groups: ProductTypeGroup::all(c).await?,
                    product_groups: ProductGroup::all(c).await?,
                    products: products::table
                        .select((products::id, products::product_type_id))
                        .load(c)
                        .await?,
                })
            })
            .await
    }
}

/// A user group: members share the group's roles.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = groups, check_for_backend(diesel::pg::Pg))]
pub struct Group {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub social_provider: Option<String>,
}

impl Group {
    /// Creates a group.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        name: &str,
        description: &str,
        social_provider: Option<&str>,
    ) -> QueryResult<Group> {
        diesel::insert_into(groups::table)
            .values((
                groups::name.eq(name),
                groups::description.eq(description),
                groups::social_provider.eq(social_provider),
            ))
            .returning(Group::as_select())
            .get_result(conn)
            .await
    }

    /// A group by id.
    pub async fn by_id(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<Group>> {
        groups::table
            .find(id)
            .select(Group::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// A group by exact name.
    pub async fn by_name(conn: &mut AsyncPgConnection, name: &str) -> QueryResult<Option<Group>> {
        groups::table
            .filter(groups::name.eq(name))
            .select(Group::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// Groups by ids, or all when `ids` is `None`, by name.
    pub async fn list(
        conn: &mut AsyncPgConnection,
        ids: Option<&[i64]>,
    ) -> QueryResult<Vec<Group>> {
        let mut q = groups::table.into_boxed();
        if let Some(ids) = ids {
            q = q.filter(groups::id.eq_any(ids.to_vec()));
        }
        q.order(groups::name)
            .select(Group::as_select())
            .load(conn)
            .await
    }

    /// Ids of the groups `user_id` belongs to.
    pub async fn ids_of_member(
        conn: &mut AsyncPgConnection,
        user_id: i64,
    ) -> QueryResult<Vec<i64>> {
        group_members::table
            .filter(group_members::user_id.eq(user_id))
            .select(group_members::group_id)
            .load(conn)
            .await
    }

    /// Deletes a group (the trigger notifies the policy listeners).
    pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<bool> {
        Ok(diesel::delete(groups::table.find(id)).execute(conn).await? > 0)
    }
}
