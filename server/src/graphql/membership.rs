//! Roles: members and groups of product types and products, groups and
//! their members, and global roles.
//!
//! Every change is checked twice: the object's `*_Manage_Members` (or group)
//! permission, and [`Authz::can_grant`](crate::authz::Authz::can_grant) so
//! nobody hands out a role above their own. Grants stay monotone: the role
//! a member or group holds now counts as well as the new one (only those who
//! may grant Owner change or remove an Owner), and a group membership counts
//! as a grant of every role the group holds. After a change this process
//! reloads its policy before answering; other processes follow on the
//! database notification.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};

use super::context::{Cx, forbidden};
use super::error::{ApiError, ApiResult};
use super::ids::{self, Kind};
use super::payload::{DeleteInput, DeletePayload};
use super::user::User;
use crate::authz::{Object as AuthzObject, Permission, Role as AuthzRole};
use crate::db::models::hierarchy::{Product as ProductRow, ProductType as ProductTypeRow};
use crate::db::models::membership::{
    GlobalRole, Group as GroupRow, GroupMember, ProductGroup, ProductMember, ProductTypeGroup,
    ProductTypeMember,
};
use crate::db::models::user::User as UserRow;

/// A role, as in DefectDojo.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    /// Imports scan results and views.
    ApiImporter,
    /// Edits findings, engagements and tests.
    Writer,
    /// Writer plus deletes and member management.
    Maintainer,
    /// Everything, including deleting and granting ownership.
    Owner,
    /// Views.
    Reader,
}

impl From<Role> for AuthzRole {
    fn from(r: Role) -> Self {
        match r {
            Role::ApiImporter => AuthzRole::API_Importer,
            Role::Writer => AuthzRole::Writer,
            Role::Maintainer => AuthzRole::Maintainer,
            Role::Owner => AuthzRole::Owner,
            Role::Reader => AuthzRole::Reader,
        }
    }
}

impl Role {
    fn from_id(id: i16) -> ApiResult<Role> {
        Ok(match AuthzRole::from_id(id) {
            Some(AuthzRole::API_Importer) => Role::ApiImporter,
            Some(AuthzRole::Writer) => Role::Writer,
            Some(AuthzRole::Maintainer) => Role::Maintainer,
            Some(AuthzRole::Owner) => Role::Owner,
            Some(AuthzRole::Reader) => Role::Reader,
            None => return Err(ApiError::Internal(format!("unknown role id {id}"))),
        })
    }
}

/// A user's role on an object.
#[derive(SimpleObject)]
pub struct Member {
    /// The user.
    pub user: User,
    /// Their role.
    pub role: Role,
}

/// A group's role on an object.
#[derive(SimpleObject)]
pub struct GroupRole {
    /// The group.
    pub group: Group,
    /// Its role.
    pub role: Role,
}

/// A user group.
#[derive(Clone)]
pub struct Group(pub GroupRow);

#[Object]
impl Group {
    /// Global id.
    async fn id(&self) -> ID {
        ids::encode(Kind::Group, self.0.id)
    }

    /// Unique name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What the group is for.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// The members and their roles in administering the group (empty
    /// without `Group_View` on this group).
    #[graphql(complexity = "super::LIST_WEIGHT * child_complexity")]
    async fn members(&self, ctx: &Context<'_>) -> ApiResult<Vec<Member>> {
        let cx = Cx::of(ctx)?;
        // A group is reachable through the roles it holds on a product type,
        // which says nothing about seeing who belongs to it.
        if !cx.can(Permission::Group_View, AuthzObject::Group(self.0.id)) {
            return Ok(Vec::new());
        }
        let mut conn = cx.conn().await?;
        let rows = GroupMember::for_object(&mut conn, self.0.id).await?;
        members_of(&cx, rows.into_iter().map(|m| (m.user_id, m.role_id))).await
    }
}

async fn members_of(cx: &Cx<'_>, rows: impl Iterator<Item = (i64, i16)>) -> ApiResult<Vec<Member>> {
    let rows: Vec<(i64, i16)> = rows.collect();
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut conn = cx.conn().await?;
    let users = UserRow::by_ids(&mut conn, &ids).await?;
    let mut out = Vec::with_capacity(rows.len());
    for (user_id, role_id) in rows {
        if let Some(u) = users.iter().find(|u| u.id == user_id) {
            out.push(Member {
                user: User(u.clone()),
                role: Role::from_id(role_id)?,
            });
        }
    }
    Ok(out)
}

async fn group_roles_of(
    cx: &Cx<'_>,
    rows: impl Iterator<Item = (i64, i16)>,
) -> ApiResult<Vec<GroupRole>> {
    let rows: Vec<(i64, i16)> = rows.collect();
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut conn = cx.conn().await?;
    let groups = GroupRow::list(&mut conn, Some(&ids)).await?;
    let mut out = Vec::with_capacity(rows.len());
    for (group_id, role_id) in rows {
        if let Some(g) = groups.iter().find(|g| g.id == group_id) {
            out.push(GroupRole {
                group: Group(g.clone()),
                role: Role::from_id(role_id)?,
            });
        }
    }
    Ok(out)
}

/// The user members of a product type (its readers may list them; a
/// reader of one of its products only reaches the type, not its members).
pub async fn product_type_members(cx: &Cx<'_>, product_type_id: i64) -> ApiResult<Vec<Member>> {
    if !cx.can_read_product_type(product_type_id) {
        return Ok(Vec::new());
    }
    let mut conn = cx.conn().await?;
    let rows = ProductTypeMember::for_object(&mut conn, product_type_id).await?;
    drop(conn);
    members_of(cx, rows.into_iter().map(|m| (m.user_id, m.role_id))).await
}

/// The user members of a product.
pub async fn product_members(cx: &Cx<'_>, product_id: i64) -> ApiResult<Vec<Member>> {
    let mut conn = cx.conn().await?;
    let rows = ProductMember::for_object(&mut conn, product_id).await?;
    drop(conn);
    members_of(cx, rows.into_iter().map(|m| (m.user_id, m.role_id))).await
}

/// The groups holding roles on a product type (`Product_Type_Group_View`).
pub async fn product_type_groups(cx: &Cx<'_>, product_type_id: i64) -> ApiResult<Vec<GroupRole>> {
    if !cx.can_read_product_type(product_type_id)
        || !cx.can(
            Permission::Product_Type_Group_View,
            AuthzObject::ProductType(product_type_id),
        )
    {
        return Ok(Vec::new());
    }
    let mut conn = cx.conn().await?;
    let rows = ProductTypeGroup::for_object(&mut conn, product_type_id).await?;
    drop(conn);
    group_roles_of(cx, rows.into_iter().map(|m| (m.group_id, m.role_id))).await
}

/// The groups holding roles on a product (`Product_Group_View`).
pub async fn product_groups(cx: &Cx<'_>, product_id: i64) -> ApiResult<Vec<GroupRole>> {
    let object = cx.product_object(product_id).await?;
    if !cx.can(Permission::Product_Group_View, object) {
        return Ok(Vec::new());
    }
    let mut conn = cx.conn().await?;
    let rows = ProductGroup::for_object(&mut conn, product_id).await?;
    drop(conn);
    group_roles_of(cx, rows.into_iter().map(|m| (m.group_id, m.role_id))).await
}

/// Input of `setProductTypeMember` and `setProductMember`.
#[derive(InputObject)]
pub struct SetMemberInput {
    /// The product type or product.
    pub object: ID,
    /// The user.
    pub user: ID,
    /// The role to give.
    pub role: Role,
}

/// Input of `removeProductTypeMember` and `removeProductMember`.
#[derive(InputObject)]
pub struct RemoveMemberInput {
    /// The product type or product.
    pub object: ID,
    /// The user.
    pub user: ID,
}

/// Input of the group-role mutations.
#[derive(InputObject)]
pub struct SetGroupRoleInput {
    /// The product type or product.
    pub object: ID,
    /// The group.
    pub group: ID,
    /// The role to give.
    pub role: Role,
}

/// Input of the group-role removals.
#[derive(InputObject)]
pub struct RemoveGroupRoleInput {
    /// The product type or product.
    pub object: ID,
    /// The group.
    pub group: ID,
}

/// Input of `setGroupMember`.
#[derive(InputObject)]
pub struct SetGroupMemberInput {
    /// The group.
    pub group: ID,
    /// The user.
    pub user: ID,
    /// Their role in administering the group.
    pub role: Role,
}

/// Input of `removeGroupMember`.
#[derive(InputObject)]
pub struct RemoveGroupMemberInput {
    /// The group.
    pub group: ID,
    /// The user.
    pub user: ID,
}

/// Input of `createGroup`.
#[derive(InputObject)]
pub struct CreateGroupInput {
    /// Unique name.
    pub name: String,
    /// What the group is for.
    pub description: Option<String>,
}

/// Input of `setGlobalRole`: exactly one of `user` and `group`.
#[derive(InputObject)]
pub struct SetGlobalRoleInput {
    /// The user.
    pub user: Option<ID>,
    /// The group.
    pub group: Option<ID>,
    /// The role; null removes the global role.
    pub role: Option<Role>,
}

/// The object a membership mutation targets, readable by the caller.
enum Target {
    ProductType(i64),
    Product(i64, i64),
}

impl Target {
    fn object(&self) -> AuthzObject {
        match *self {
            Target::ProductType(id) => AuthzObject::ProductType(id),
            Target::Product(id, product_type_id) => AuthzObject::Product {
                id,
                product_type_id,
            },
        }
    }
}

async fn target(cx: &Cx<'_>, id: &ID) -> ApiResult<Target> {
    let (kind, n) = ids::decode_any(id)?;
    match kind {
        Kind::ProductType => {
            cx.readable_id::<ProductTypeRow>(n).await?;
            Ok(Target::ProductType(n))
        }
        Kind::Product => {
            let p: ProductRow = cx.readable_id(n).await?;
            Ok(Target::Product(p.id, p.product_type_id))
        }
        other => Err(ApiError::invalid(
            "object",
            format!(
                "roles are held on product types and products, not on a {}",
                other.name()
            ),
        )),
    }
}

/// The user's own role on the target, if they are a member.
async fn current_role(
    conn: &mut crate::db::DbConn,
    target: &Target,
    user_id: i64,
) -> ApiResult<Option<i16>> {
    let role = match *target {
        Target::ProductType(pt) => ProductTypeMember::for_object(conn, pt)
            .await?
            .into_iter()
            .find(|m| m.user_id == user_id)
            .map(|m| m.role_id),
        Target::Product(p, _) => ProductMember::for_object(conn, p)
            .await?
            .into_iter()
            .find(|m| m.user_id == user_id)
            .map(|m| m.role_id),
    };
    Ok(role)
}

/// A group's current role on the target, if it holds one.
async fn current_group_role(
    conn: &mut crate::db::DbConn,
    target: &Target,
    group_id: i64,
) -> ApiResult<Option<i16>> {
    let role = match *target {
        Target::ProductType(pt) => ProductTypeGroup::for_object(conn, pt)
            .await?
            .into_iter()
            .find(|m| m.group_id == group_id)
            .map(|m| m.role_id),
        Target::Product(p, _) => ProductGroup::for_object(conn, p)
            .await?
            .into_iter()
            .find(|m| m.group_id == group_id)
            .map(|m| m.role_id),
    };
    Ok(role)
}

/// A user's current role in administering a group, if they are a member.
async fn current_group_member_role(
    conn: &mut crate::db::DbConn,
    group_id: i64,
    user_id: i64,
) -> ApiResult<Option<i16>> {
    Ok(GroupMember::for_object(conn, group_id)
        .await?
        .into_iter()
        .find(|m| m.user_id == user_id)
        .map(|m| m.role_id))
}

/// What a group holds, read from the tables rather than the policy
/// snapshot so a role granted a moment ago in another process counts.
struct GroupHoldings {
    /// Whether it holds a global role.
    global: bool,
    /// Its roles on product types and products.
    scoped: Vec<(AuthzObject, i16)>,
}

async fn group_holdings(
    conn: &mut diesel_async::AsyncPgConnection,
    group_id: i64,
) -> ApiResult<GroupHoldings> {
    use crate::db::schema::{global_roles, product_groups, product_type_groups, products};
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let global: i64 = global_roles::table
        .filter(global_roles::group_id.eq(group_id))
        .count()
        .get_result(conn)
        .await?;
    let types: Vec<(i64, i16)> = product_type_groups::table
        .filter(product_type_groups::group_id.eq(group_id))
        .select((
            product_type_groups::product_type_id,
            product_type_groups::role_id,
        ))
        .load(conn)
        .await?;
    let prods: Vec<(i64, i64, i16)> = product_groups::table
        .inner_join(products::table)
        .filter(product_groups::group_id.eq(group_id))
        .select((
            products::id,
            products::product_type_id,
            product_groups::role_id,
        ))
        .load(conn)
        .await?;
    let mut scoped: Vec<(AuthzObject, i16)> = types
        .into_iter()
        .map(|(pt, r)| (AuthzObject::ProductType(pt), r))
        .collect();
    scoped.extend(prods.into_iter().map(|(id, product_type_id, r)| {
        (
            AuthzObject::Product {
                id,
                product_type_id,
            },
            r,
        )
    }));
    Ok(GroupHoldings {
        global: global > 0,
        scoped,
    })
}

/// Refuses to change who belongs to `group_id` unless the caller could grant
/// every role the group holds directly: a membership hands all of them to
/// the member, whatever their role in administering the group. Groups with a
/// global role are configuration, like global roles themselves: superusers
/// only.
async fn check_group_grants(cx: &Cx<'_>, group_id: i64) -> ApiResult<()> {
    if cx.is_superuser() {
        return Ok(());
    }
    let mut conn = cx.conn().await?;
    let holdings = group_holdings(&mut conn, group_id).await?;
    drop(conn);
    if holdings.global {
        return Err(ApiError::Forbidden(
            "change the members of a group holding a global role (superusers only)".to_owned(),
        ));
    }
    for (object, role_id) in holdings.scoped {
        let Some(role) = AuthzRole::from_id(role_id) else {
            continue;
        };
        // The message names neither the object nor the role: the caller may
        // not be able to read the object the group holds it on.
        if !cx.authz().can_grant(cx.subject(), object, role) {
            return Err(ApiError::Forbidden(
                "change the members of a group holding roles above your own".to_owned(),
            ));
        }
    }
    Ok(())
}

async fn existing_user(cx: &Cx<'_>, id: &ID) -> ApiResult<UserRow> {
    let user_id = ids::decode(id, Kind::User)?;
    let mut conn = cx.conn().await?;
    UserRow::by_id(&mut conn, user_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("User {}", id.0)))
}

/// The group `id` if the caller may see it: superusers and global roles see
/// every group, others the groups they belong to.
async fn visible_group(cx: &Cx<'_>, id: &ID) -> ApiResult<GroupRow> {
    let group_id = ids::decode(id, Kind::Group)?;
    let not_found = || ApiError::NotFound(format!("Group {}", id.0));
    if !cx.can(Permission::Group_View, AuthzObject::Group(group_id)) {
        return Err(not_found());
    }
    let mut conn = cx.conn().await?;
    GroupRow::by_id(&mut conn, group_id)
        .await?
        .ok_or_else(not_found)
}

fn check_grant(cx: &Cx<'_>, object: AuthzObject, role: AuthzRole) -> ApiResult<()> {
    if cx.authz().can_grant(cx.subject(), object, role) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "grant the {} role on {object} (above your own)",
            role.name()
        )))
    }
}

fn db_err(e: diesel::result::Error) -> ApiError {
    ApiError::from(e)
}

/// Queries about groups and roles.
#[derive(Default)]
pub struct MembershipQuery;

#[Object]
impl MembershipQuery {
    /// Groups the caller may see (all of them for superusers and global roles).
    #[graphql(complexity = "super::LIST_WEIGHT * child_complexity")]
    async fn groups(&self, ctx: &Context<'_>) -> ApiResult<Vec<Group>> {
        let cx = Cx::of(ctx)?;
        let mut conn = cx.conn().await?;
        let rows = if cx.can(Permission::Group_View, AuthzObject::Global) {
            GroupRow::list(&mut conn, None).await?
        } else {
            // Membership alone is not enough: an API_Importer member holds no Group_View.
            let ids: Vec<i64> = GroupRow::ids_of_member(&mut conn, cx.principal().user_id)
                .await?
                .into_iter()
                .filter(|id| cx.can(Permission::Group_View, AuthzObject::Group(*id)))
                .collect();
            GroupRow::list(&mut conn, Some(&ids)).await?
        };
        Ok(rows.into_iter().map(Group).collect())
    }

    /// One group.
    async fn group(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Group> {
        let cx = Cx::of(ctx)?;
        visible_group(&cx, &id).await.map(Group)
    }
}

/// Member and group mutations.
#[derive(Default)]
pub struct MembershipMutation;

#[Object]
impl MembershipMutation {
    /// Gives a user a role on a product type or product (adding or changing
    /// the membership). Needs `*_Manage_Members` there, and only those who
    /// hold every permission of a role may grant it (only owners make owners).
    async fn set_member(&self, ctx: &Context<'_>, input: SetMemberInput) -> ApiResult<Member> {
        let cx = Cx::of(ctx)?;
        let target = target(&cx, &input.object).await?;
        let object = target.object();
        let manage = match target {
            Target::ProductType(_) => Permission::Product_Type_Manage_Members,
            Target::Product(..) => Permission::Product_Manage_Members,
        };
        cx.require(manage, object)?;
        let role = AuthzRole::from(input.role);
        check_grant(&cx, object, role)?;
        let user = existing_user(&cx, &input.user).await?;
        let mut conn = cx.conn().await?;
        // Changing an owner's membership is itself owner business.
        let current = current_role(&mut conn, &target, user.id).await?;
        if let Some(r) = current.and_then(AuthzRole::from_id) {
            check_grant(&cx, object, r)?;
        }
        let row_role = match target {
            Target::ProductType(pt) => {
                ProductTypeMember::set(&mut conn, user.id, pt, role.id())
                    .await
                    .map_err(db_err)?
                    .role_id
            }
            Target::Product(p, _) => {
                ProductMember::set(&mut conn, user.id, p, role.id())
                    .await
                    .map_err(db_err)?
                    .role_id
            }
        };
        drop(conn);
        cx.reload_policy().await?;
        Ok(Member {
            user: User(user),
            role: Role::from_id(row_role)?,
        })
    }

    /// Removes a user's role on a product type or product. Members may always
    /// leave; removing others needs `*_Member_Delete`, and removing an owner
    /// needs the right to grant ownership.
    async fn remove_member(&self, ctx: &Context<'_>, input: RemoveMemberInput) -> ApiResult<bool> {
        let cx = Cx::of(ctx)?;
        let target = target(&cx, &input.object).await?;
        let object = target.object();
        // Only the id: loading the user before the check would tell anyone
        // who may read the object which user ids exist.
        let user_id = ids::decode(&input.user, Kind::User)?;
        if !cx.authz().can_remove_member(cx.subject(), user_id, object) {
            return Err(forbidden(
                match target {
                    Target::ProductType(_) => Permission::Product_Type_Member_Delete,
                    Target::Product(..) => Permission::Product_Member_Delete,
                },
                object,
            ));
        }
        let mut conn = cx.conn().await?;
        let current = current_role(&mut conn, &target, user_id).await?;
        if user_id != cx.principal().user_id
            && let Some(r) = current.and_then(AuthzRole::from_id)
        {
            check_grant(&cx, object, r)?;
        }
        let removed = match target {
            Target::ProductType(pt) => ProductTypeMember::remove(&mut conn, user_id, pt).await,
            Target::Product(p, _) => ProductMember::remove(&mut conn, user_id, p).await,
        }
        .map_err(db_err)?;
        drop(conn);
        if removed {
            cx.reload_policy().await?;
        }
        Ok(removed)
    }

    /// Gives a group a role on a product type or product.
    async fn set_group_role(
        &self,
        ctx: &Context<'_>,
        input: SetGroupRoleInput,
    ) -> ApiResult<GroupRole> {
        let cx = Cx::of(ctx)?;
        let target = target(&cx, &input.object).await?;
        let object = target.object();
        let role = AuthzRole::from(input.role);
        let (add, add_owner) = match target {
            Target::ProductType(_) => (
                Permission::Product_Type_Group_Add,
                Permission::Product_Type_Group_Add_Owner,
            ),
            Target::Product(..) => (
                Permission::Product_Group_Add,
                Permission::Product_Group_Add_Owner,
            ),
        };
        cx.require(add, object)?;
        if role.is_owner() {
            cx.require(add_owner, object)?;
        }
        check_grant(&cx, object, role)?;
        let group = visible_group(&cx, &input.group).await?;
        let mut conn = cx.conn().await?;
        // Demoting a group that holds Owner is owner business, as for users.
        if let Some(r) = current_group_role(&mut conn, &target, group.id)
            .await?
            .and_then(AuthzRole::from_id)
        {
            check_grant(&cx, object, r)?;
        }
        let role_id = match target {
            Target::ProductType(pt) => {
                ProductTypeGroup::set(&mut conn, group.id, pt, role.id())
                    .await
                    .map_err(db_err)?
                    .role_id
            }
            Target::Product(p, _) => {
                ProductGroup::set(&mut conn, group.id, p, role.id())
                    .await
                    .map_err(db_err)?
                    .role_id
            }
        };
        drop(conn);
        cx.reload_policy().await?;
        Ok(GroupRole {
            group: Group(group),
            role: Role::from_id(role_id)?,
        })
    }

    /// Removes a group's role on a product type or product (the group must
    /// be visible; removing an Owner group needs the right to grant Owner).
    async fn remove_group_role(
        &self,
        ctx: &Context<'_>,
        input: RemoveGroupRoleInput,
    ) -> ApiResult<bool> {
        let cx = Cx::of(ctx)?;
        let target = target(&cx, &input.object).await?;
        let object = target.object();
        cx.require(
            match target {
                Target::ProductType(_) => Permission::Product_Type_Group_Delete,
                Target::Product(..) => Permission::Product_Group_Delete,
            },
            object,
        )?;
        let group = visible_group(&cx, &input.group).await?;
        let mut conn = cx.conn().await?;
        if let Some(r) = current_group_role(&mut conn, &target, group.id)
            .await?
            .and_then(AuthzRole::from_id)
        {
            check_grant(&cx, object, r)?;
        }
        let removed = match target {
            Target::ProductType(pt) => ProductTypeGroup::remove(&mut conn, group.id, pt).await,
            Target::Product(p, _) => ProductGroup::remove(&mut conn, group.id, p).await,
        }
        .map_err(db_err)?;
        drop(conn);
        if removed {
            cx.reload_policy().await?;
        }
        Ok(removed)
    }

    /// Creates a user group (superusers only, as other configuration).
    async fn create_group(&self, ctx: &Context<'_>, input: CreateGroupInput) -> ApiResult<Group> {
        let cx = Cx::of(ctx)?;
        cx.require_superuser("create groups")?;
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 255 {
            return Err(ApiError::invalid("name", "must be 1 to 255 characters"));
        }
        let mut conn = cx.conn().await?;
        if GroupRow::by_name(&mut conn, name).await?.is_some() {
            return Err(ApiError::invalid(
                "name",
                format!("a group named `{name}` exists"),
            ));
        }
        let row = GroupRow::create(
            &mut conn,
            name,
            input.description.as_deref().unwrap_or(""),
            None,
        )
        .await
        .map_err(db_err)?;
        Ok(Group(row))
    }

    /// Deletes a group (`Group_Delete`: its owners, or superusers).
    async fn delete_group(
        &self,
        ctx: &Context<'_>,
        input: DeleteInput,
    ) -> ApiResult<DeletePayload> {
        let cx = Cx::of(ctx)?;
        let group = visible_group(&cx, &input.id).await?;
        cx.require(Permission::Group_Delete, AuthzObject::Group(group.id))?;
        let mut conn = cx.conn().await?;
        let deleted = GroupRow::delete(&mut conn, group.id).await?;
        drop(conn);
        cx.reload_policy().await?;
        if !deleted {
            return Err(ApiError::NotFound(format!("Group {}", input.id.0)));
        }
        Ok(DeletePayload::of(input))
    }

    /// Adds a user to a group or changes their role in it. Besides
    /// `Group_Manage_Members`, the caller must be able to grant every role
    /// the group holds (a member holds them all), and the member's current
    /// role if it is above their own.
    async fn set_group_member(
        &self,
        ctx: &Context<'_>,
        input: SetGroupMemberInput,
    ) -> ApiResult<Member> {
        let cx = Cx::of(ctx)?;
        let group = visible_group(&cx, &input.group).await?;
        let object = AuthzObject::Group(group.id);
        cx.require(Permission::Group_Manage_Members, object)?;
        let role = AuthzRole::from(input.role);
        if role.is_owner() {
            cx.require(Permission::Group_Add_Owner, object)?;
        }
        check_grant(&cx, object, role)?;
        check_group_grants(&cx, group.id).await?;
        let user = existing_user(&cx, &input.user).await?;
        let mut conn = cx.conn().await?;
        if let Some(r) = current_group_member_role(&mut conn, group.id, user.id)
            .await?
            .and_then(AuthzRole::from_id)
        {
            check_grant(&cx, object, r)?;
        }
        let row = GroupMember::set(&mut conn, user.id, group.id, role.id())
            .await
            .map_err(db_err)?;
        drop(conn);
        cx.reload_policy().await?;
        Ok(Member {
            user: User(user),
            role: Role::from_id(row.role_id)?,
        })
    }

    /// Removes a user from a group (members may always leave). Removing
    /// someone else needs `Group_Member_Delete`, the right to grant their
    /// current role, and to grant every role the group holds.
    async fn remove_group_member(
        &self,
        ctx: &Context<'_>,
        input: RemoveGroupMemberInput,
    ) -> ApiResult<bool> {
        let cx = Cx::of(ctx)?;
        let group = visible_group(&cx, &input.group).await?;
        let object = AuthzObject::Group(group.id);
        let user_id = ids::decode(&input.user, Kind::User)?;
        if !cx.authz().can_remove_member(cx.subject(), user_id, object) {
            return Err(forbidden(Permission::Group_Member_Delete, object));
        }
        if user_id != cx.principal().user_id {
            check_group_grants(&cx, group.id).await?;
        }
        let mut conn = cx.conn().await?;
        if user_id != cx.principal().user_id
            && let Some(r) = current_group_member_role(&mut conn, group.id, user_id)
                .await?
                .and_then(AuthzRole::from_id)
        {
            check_grant(&cx, object, r)?;
        }
        let removed = GroupMember::remove(&mut conn, user_id, group.id)
            .await
            .map_err(db_err)?;
        drop(conn);
        if removed {
            cx.reload_policy().await?;
        }
        Ok(removed)
    }

    /// Sets or clears the global role of a user or group (superusers only).
    async fn set_global_role(
        &self,
        ctx: &Context<'_>,
        input: SetGlobalRoleInput,
    ) -> ApiResult<Option<Role>> {
        let cx = Cx::of(ctx)?;
        cx.require_superuser("set global roles")?;
        let mut conn = cx.conn().await?;
        let result = match (&input.user, &input.group) {
            (Some(u), None) => {
                let user = existing_user(&cx, u).await?;
                match input.role {
                    Some(r) => {
                        GlobalRole::set_for_user(&mut conn, user.id, AuthzRole::from(r).id())
                            .await
                            .map_err(db_err)?;
                    }
                    None => {
                        GlobalRole::remove_for_user(&mut conn, user.id)
                            .await
                            .map_err(db_err)?;
                    }
                }
                input.role
            }
            (None, Some(g)) => {
                let group = visible_group(&cx, g).await?;
                match input.role {
                    Some(r) => {
                        GlobalRole::set_for_group(&mut conn, group.id, AuthzRole::from(r).id())
                            .await
                            .map_err(db_err)?;
                    }
                    None => {
                        GlobalRole::remove_for_group(&mut conn, group.id)
                            .await
                            .map_err(db_err)?;
                    }
                }
                input.role
            }
            _ => {
                return Err(ApiError::invalid(
                    "user",
                    "give exactly one of `user` and `group`",
                ));
            }
        };
        drop(conn);
        cx.reload_policy().await?;
        Ok(result)
    }
}
