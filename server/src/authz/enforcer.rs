//! The casbin policy built from the membership tables, and [`Authz`], the
//! handle every request checks with.
//!
//! casbin holds the model (`model.conf`) and the policy, and is the reference
//! for every decision. Its `enforce` evaluates a rhai matcher against each of
//! the ~300 policy lines, which costs far more than a request can spend per
//! check, so each load also compiles casbin's policy — read back from the
//! enforcer, not from the tables — into per-user role sets and per-role
//! permission masks, interpreted exactly as the matcher does. The fast path
//! answers from those; [`Authz::enforce_with_casbin`] asks casbin itself, and
//! the tests compare the two over the whole matrix.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, RwLock, Weak};

use casbin::{CoreApi, DefaultModel, Enforcer, MemoryAdapter, MgmtApi};

use super::AuthzError;
use super::permission::{self, Permission, PermissionSet, Role};
use crate::db::Db;
use crate::db::models::membership::PolicyRows;

/// The casbin model: RBAC with domains, see the comments in the file.
const MODEL: &str = include_str!("model.conf");

/// Domain of links that hold everywhere (global roles, superusers).
const ANY_DOMAIN: &str = "*";
/// Domain of requests on objects outside the product hierarchy.
const GLOBAL_DOMAIN: &str = "global";
/// Role name of superusers; its single policy line allows every action.
const SUPERUSER: &str = "superuser";
/// Policy scope usable in every domain.
const SCOPE_ANY: &str = "any";
/// Policy scope usable only on the global domain (by global roles).
const SCOPE_GLOBAL: &str = "global";

/// Who is asking: a user, and whether their row says superuser.
///
/// The flag is taken from the authenticated user so a freshly promoted
/// superuser does not wait for a reload; superusers in the policy are
/// honoured as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Subject {
    /// `users.id`.
    pub user_id: i64,
    /// `users.is_superuser`.
    pub is_superuser: bool,
}

impl Subject {
    /// An ordinary user.
    pub fn user(user_id: i64) -> Subject {
        Subject {
            user_id,
            is_superuser: false,
        }
    }

    /// A superuser.
    pub fn superuser(user_id: i64) -> Subject {
        Subject {
            user_id,
            is_superuser: true,
        }
    }

    fn casbin_name(self) -> String {
        format!("u:{}", self.user_id)
    }
}

/// What a permission is checked on.
///
/// Engagements, tests, findings, finding groups, risk acceptances, locations,
/// languages, technologies and API scan configurations resolve to their
/// product before the check (domain.md §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Object {
    /// Outside the hierarchy: only global roles (and superusers) count, e.g.
    /// `Product_Type_Add`.
    Global,
    /// A product type.
    ProductType(i64),
    /// A product; roles on its product type apply to it too.
    Product {
        /// `products.id`.
        id: i64,
        /// `products.product_type_id`.
        product_type_id: i64,
    },
    /// A user group (the `Group_*` permissions); the member's role in the
    /// group applies, and global roles.
    Group(i64),
}

impl Object {
    /// The casbin request's domain and parent domain.
    fn domains(self) -> (String, String) {
        match self {
            Object::Global => (GLOBAL_DOMAIN.to_owned(), GLOBAL_DOMAIN.to_owned()),
            Object::ProductType(id) => (pt_domain(id), pt_domain(id)),
            Object::Product {
                id,
                product_type_id,
            } => (format!("p:{id}"), pt_domain(product_type_id)),
            Object::Group(id) => (format!("grp:{id}"), format!("grp:{id}")),
        }
    }
}

fn pt_domain(id: i64) -> String {
    format!("pt:{id}")
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Object::Global => f.write_str("global"),
            Object::ProductType(id) => write!(f, "product type {id}"),
            Object::Product { id, .. } => write!(f, "product {id}"),
            Object::Group(id) => write!(f, "group {id}"),
        }
    }
}

/// Which ids a subject may read, for filtering lists in SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadableProducts {
    /// Every row: no filter needed (superusers, global roles).
    All,
    /// Only these ids, sorted ascending and without duplicates.
    Some(Vec<i64>),
}

impl ReadableProducts {
    /// Whether `id` is readable.
    pub fn contains(&self, id: i64) -> bool {
        match self {
            ReadableProducts::All => true,
            ReadableProducts::Some(ids) => ids.binary_search(&id).is_ok(),
        }
    }
}

/// A set of roles, one bit per `roles.id` (1..=5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct RoleSet(u8);

impl RoleSet {
    fn with(self, r: Role) -> RoleSet {
        // Role ids are 1..=5 by construction of the enum.
        RoleSet(self.0 | (1 << r.id()))
    }

    fn union(self, o: RoleSet) -> RoleSet {
        RoleSet(self.0 | o.0)
    }

    fn roles(self) -> impl Iterator<Item = Role> {
        Role::ALL
            .into_iter()
            .filter(move |r| self.0 & (1 << r.id()) != 0)
    }

    fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// What one subject (user or group) holds, as compiled from casbin's `g` lines.
#[derive(Debug, Clone, Default)]
struct Grants {
    superuser: bool,
    global: RoleSet,
    product_types: HashMap<i64, RoleSet>,
    products: HashMap<i64, RoleSet>,
    groups: HashMap<i64, RoleSet>,
}

impl Grants {
    fn merge(&mut self, o: &Grants) {
        self.superuser |= o.superuser;
        self.global = self.global.union(o.global);
        for (map, other) in [
            (&mut self.product_types, &o.product_types),
            (&mut self.products, &o.products),
            (&mut self.groups, &o.groups),
        ] {
            for (id, roles) in other {
                let e = map.entry(*id).or_default();
                *e = e.union(*roles);
            }
        }
    }
}

/// One loaded policy: the casbin enforcer and its compiled form.
struct State {
    enforcer: Enforcer,
    /// Users' effective grants, their groups' already merged in.
    users: HashMap<i64, Grants>,
    /// Permissions of each role combination in hierarchy domains (index:
    /// `RoleSet` bits).
    perms_any: Box<[PermissionSet; 64]>,
    /// The same on the global domain, where global-only lines also apply.
    perms_global: Box<[PermissionSet; 64]>,
    /// Products of each product type, sorted (list filters).
    products_by_type: HashMap<i64, Vec<i64>>,
}

/// Every permission; what the superuser line grants.
fn all_permissions() -> PermissionSet {
    PermissionSet::of(&permission::ALL)
}

/// The `p` lines: the role matrix plus the superuser wildcard.
fn policy_lines() -> Vec<Vec<String>> {
    let mut lines = Vec::new();
    for role in Role::ALL {
        for p in role.permissions() {
            lines.push(vec![role.name().into(), p.name().into(), SCOPE_ANY.into()]);
        }
        for p in role.global_extra_permissions() {
            lines.push(vec![
                role.name().into(),
                p.name().into(),
                SCOPE_GLOBAL.into(),
            ]);
        }
    }
    lines.push(vec![SUPERUSER.into(), "*".into(), SCOPE_ANY.into()]);
    lines
}

/// The `g` lines for the memberships in `rows`; inactive users get none.
fn grouping_lines(rows: &PolicyRows) -> Vec<Vec<String>> {
    let inactive: std::collections::HashSet<i64> = rows.inactive_users.iter().copied().collect();
    let role_name = |id: i16| Role::from_id(id).map(Role::name);
    // A BTreeSet drops duplicates (casbin rejects a batch holding one) and
    // makes the policy order deterministic.
    let mut lines = BTreeSet::new();
    let mut push = |sub: String, role: &str, dom: String| {
        lines.insert(vec![sub, role.to_owned(), dom]);
    };
    for id in &rows.superusers {
        push(format!("u:{id}"), SUPERUSER, ANY_DOMAIN.into());
    }
    for gr in &rows.global_roles {
        let Some(role) = role_name(gr.role_id) else {
            continue;
        };
        match (gr.user_id, gr.group_id) {
            (Some(u), _) if !inactive.contains(&u) => {
                push(format!("u:{u}"), role, ANY_DOMAIN.into())
            }
            (None, Some(g)) => push(format!("g:{g}"), role, ANY_DOMAIN.into()),
            _ => {}
        }
    }
    // The domains where each group holds a role: its members are linked to
    // it there. (A domain-matching function making one "*" link hold in
    // every domain was tried first; casbin then scans every domain on each
    // lookup and copies "*" into each new domain: 28 ms per enforce and 6 s
    // per load with 10,000 domains.)
    let mut group_domains: HashMap<i64, Vec<String>> = HashMap::new();
    for gr in &rows.global_roles {
        if let (None, Some(g)) = (gr.user_id, gr.group_id) {
            group_domains.entry(g).or_default().push(ANY_DOMAIN.into());
        }
    }
    for m in &rows.product_type_groups {
        group_domains
            .entry(m.group_id)
            .or_default()
            .push(pt_domain(m.product_type_id));
    }
    for m in &rows.product_groups {
        group_domains
            .entry(m.group_id)
            .or_default()
            .push(format!("p:{}", m.product_id));
    }
    for m in &rows.group_members {
        if inactive.contains(&m.user_id) {
            continue;
        }
        for dom in group_domains.get(&m.group_id).into_iter().flatten() {
            push(
                format!("u:{}", m.user_id),
                &format!("g:{}", m.group_id),
                dom.clone(),
            );
        }
        // The member's own role administers the group.
        if let Some(role) = role_name(m.role_id) {
            push(
                format!("u:{}", m.user_id),
                role,
                format!("grp:{}", m.group_id),
            );
        }
    }
    for m in &rows.product_type_members {
        if let (false, Some(role)) = (inactive.contains(&m.user_id), role_name(m.role_id)) {
            push(
                format!("u:{}", m.user_id),
                role,
                pt_domain(m.product_type_id),
            );
        }
    }
    for m in &rows.product_members {
        if let (false, Some(role)) = (inactive.contains(&m.user_id), role_name(m.role_id)) {
            push(
                format!("u:{}", m.user_id),
                role,
                format!("p:{}", m.product_id),
            );
        }
    }
    for m in &rows.product_type_groups {
        if let Some(role) = role_name(m.role_id) {
            push(
                format!("g:{}", m.group_id),
                role,
                pt_domain(m.product_type_id),
            );
        }
    }
    for m in &rows.product_groups {
        if let Some(role) = role_name(m.role_id) {
            push(
                format!("g:{}", m.group_id),
                role,
                format!("p:{}", m.product_id),
            );
        }
    }
    lines.into_iter().collect()
}

/// Splits `"u:42"` into `('u', 42)`.
fn parse_node(s: &str) -> Option<(&str, i64)> {
    let (kind, id) = s.split_once(':')?;
    Some((kind, id.parse().ok()?))
}

impl State {
    /// Builds the enforcer for `rows` and compiles it.
    async fn build(rows: &PolicyRows) -> Result<State, AuthzError> {
        let model = DefaultModel::from_str(MODEL).await?;
        let mut enforcer = Enforcer::new(model, MemoryAdapter::default()).await?;
        // The policy lives in the tables; the adapter needs no second copy.
        enforcer.enable_auto_save(false);
        enforcer.add_policies(policy_lines()).await?;
        let g = grouping_lines(rows);
        if !g.is_empty() {
            enforcer.add_grouping_policies(g).await?;
        }
        let mut products_by_type: HashMap<i64, Vec<i64>> = HashMap::new();
        for (id, pt) in &rows.products {
            products_by_type.entry(*pt).or_default().push(*id);
        }
        for ids in products_by_type.values_mut() {
            ids.sort_unstable();
        }
        let (perms_any, perms_global) = compile_permissions(&enforcer);
        let users = compile_grants(&enforcer);
        Ok(State {
            enforcer,
            users,
            perms_any,
            perms_global,
            products_by_type,
        })
    }

    /// The permissions `subject` holds on `object` (the fast path).
    fn permissions(&self, subject: Subject, object: Object) -> PermissionSet {
        if subject.is_superuser {
            return all_permissions();
        }
        let Some(g) = self.users.get(&subject.user_id) else {
            return PermissionSet::EMPTY;
        };
        if g.superuser {
            return all_permissions();
        }
        let roles = Self::roles_of(g, object);
        let table = if object == Object::Global {
            &self.perms_global
        } else {
            &self.perms_any
        };
        table[usize::from(roles.0 & 63)]
    }

    /// The roles a user's grants give on `object`, as the matcher sees them.
    fn roles_of(g: &Grants, object: Object) -> RoleSet {
        let get = |m: &HashMap<i64, RoleSet>, id| m.get(&id).copied().unwrap_or_default();
        match object {
            Object::Global => g.global,
            Object::ProductType(id) => g.global.union(get(&g.product_types, id)),
            Object::Product {
                id,
                product_type_id,
            } => g
                .global
                .union(get(&g.product_types, product_type_id))
                .union(get(&g.products, id)),
            Object::Group(id) => g.global.union(get(&g.groups, id)),
        }
    }

    fn is_superuser(&self, subject: Subject) -> bool {
        subject.is_superuser
            || self
                .users
                .get(&subject.user_id)
                .is_some_and(|g| g.superuser)
    }
}

/// Permission masks per role combination, from casbin's `p` lines.
fn compile_permissions(
    enforcer: &Enforcer,
) -> (Box<[PermissionSet; 64]>, Box<[PermissionSet; 64]>) {
    let mut any = [PermissionSet::EMPTY; 6];
    let mut global = [PermissionSet::EMPTY; 6];
    for line in enforcer.get_named_policy("p") {
        let [role, act, scope] = line.as_slice() else {
            continue;
        };
        // The superuser line is handled by Grants::superuser.
        let (Some(role), Some(p)) = (Role::from_name(role), Permission::from_name(act)) else {
            continue;
        };
        let i = usize::try_from(role.id()).unwrap_or(0);
        global[i] = global[i].with(p);
        if scope == SCOPE_ANY {
            any[i] = any[i].with(p);
        }
    }
    let mut perms_any = Box::new([PermissionSet::EMPTY; 64]);
    let mut perms_global = Box::new([PermissionSet::EMPTY; 64]);
    for bits in 0u8..64 {
        for role in RoleSet(bits).roles() {
            let i = usize::try_from(role.id()).unwrap_or(0);
            perms_any[usize::from(bits)] = perms_any[usize::from(bits)].union(any[i]);
            perms_global[usize::from(bits)] = perms_global[usize::from(bits)].union(global[i]);
        }
    }
    (perms_any, perms_global)
}

/// Users' effective grants from casbin's `g` lines: their own links plus
/// those of every group they are linked to.
fn compile_grants(enforcer: &Enforcer) -> HashMap<i64, Grants> {
    let mut users: HashMap<i64, Grants> = HashMap::new();
    let mut groups: HashMap<i64, Grants> = HashMap::new();
    // A membership is linked once per domain of the group; merging the
    // group's grants once covers them all.
    let mut memberships: BTreeSet<(i64, i64)> = BTreeSet::new();
    for line in enforcer.get_named_grouping_policy("g") {
        let [sub, role, dom] = line.as_slice() else {
            continue;
        };
        let Some((kind, id)) = parse_node(sub) else {
            continue;
        };
        let grants = match kind {
            "u" => users.entry(id).or_default(),
            "g" => groups.entry(id).or_default(),
            _ => continue,
        };
        if role == SUPERUSER {
            grants.superuser = true;
            continue;
        }
        if let Some(("g", group)) = parse_node(role) {
            if kind == "u" {
                memberships.insert((id, group));
            }
            continue;
        }
        let Some(role) = Role::from_name(role) else {
            continue;
        };
        if dom == ANY_DOMAIN {
            grants.global = grants.global.with(role);
            continue;
        }
        let Some((dkind, did)) = parse_node(dom) else {
            continue;
        };
        let map = match dkind {
            "pt" => &mut grants.product_types,
            "p" => &mut grants.products,
            "grp" => &mut grants.groups,
            _ => continue,
        };
        let e = map.entry(did).or_default();
        *e = e.with(role);
    }
    for (user, group) in memberships {
        if let Some(g) = groups.get(&group) {
            users.entry(user).or_default().merge(g);
        }
    }
    users
}

/// Shared state behind [`Authz`].
struct Inner {
    state: RwLock<Arc<State>>,
    /// Serialises reloads so an older snapshot never replaces a newer one.
    reload_lock: tokio::sync::Mutex<()>,
    /// How many policies have been loaded (tests wait on it).
    generation: std::sync::atomic::AtomicU64,
    /// The listener task, stopped when the last handle goes.
    listener: Mutex<Option<tokio::task::AbortHandle>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Ok(mut l) = self.listener.lock()
            && let Some(h) = l.take()
        {
            h.abort();
        }
    }
}

/// A handle that does not keep the policy alive (held by the listener).
pub(crate) struct WeakAuthz(Weak<Inner>);

impl WeakAuthz {
    /// The handle, unless every [`Authz`] is gone.
    pub(crate) fn upgrade(&self) -> Option<Authz> {
        self.0.upgrade().map(|inner| Authz { inner })
    }
}

/// The authorization handle: cheap to clone, shared by every request.
///
/// Checks read an immutable snapshot behind a read lock held for a few
/// nanoseconds; a reload builds a new snapshot and swaps it in.
#[derive(Clone)]
pub struct Authz {
    inner: Arc<Inner>,
}

impl fmt::Debug for Authz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authz")
            .field("generation", &self.generation())
            .finish_non_exhaustive()
    }
}

impl Authz {
    /// A handle whose policy is built from `rows` (no database, no listener).
    pub async fn from_rows(rows: &PolicyRows) -> Result<Authz, AuthzError> {
        let state = State::build(rows).await?;
        Ok(Authz {
            inner: Arc::new(Inner {
                state: RwLock::new(Arc::new(state)),
                reload_lock: tokio::sync::Mutex::new(()),
                generation: std::sync::atomic::AtomicU64::new(1),
                listener: Mutex::new(None),
            }),
        })
    }

    /// A handle loaded from the database, without a listener.
    pub async fn load(db: &Db) -> Result<Authz, AuthzError> {
        let rows = PolicyRows::load(&mut *db.conn().await?).await?;
        Authz::from_rows(&rows).await
    }

    /// Loads the policy and starts the listener that reloads it whenever a
    /// membership changes in any process (`NOTIFY palisade_authz`).
    pub async fn start(db_url: &str, db: Db) -> Result<Authz, AuthzError> {
        let authz = Authz::load(&db).await?;
        let weak = WeakAuthz(Arc::downgrade(&authz.inner));
        let handle = super::listener::spawn(db_url.to_owned(), db, weak);
        if let Ok(mut l) = authz.inner.listener.lock() {
            *l = Some(handle);
        }
        Ok(authz)
    }

    /// Rebuilds the policy from the membership tables.
    pub async fn reload(&self, db: &Db) -> Result<(), AuthzError> {
        let _serial = self.inner.reload_lock.lock().await;
        let rows = PolicyRows::load(&mut *db.conn().await?).await?;
        self.replace(&rows).await
    }

    /// Replaces the policy with one built from `rows`.
    pub async fn replace(&self, rows: &PolicyRows) -> Result<(), AuthzError> {
        let state = Arc::new(State::build(rows).await?);
        // A poisoned lock only means a panic elsewhere while swapping an Arc;
        // the value inside is still a complete snapshot.
        let mut slot = self.inner.state.write().unwrap_or_else(|e| e.into_inner());
        *slot = state;
        self.inner
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// How many policies this handle has loaded; grows by one per reload.
    pub fn generation(&self) -> u64 {
        self.inner
            .generation
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    fn snapshot(&self) -> Arc<State> {
        Arc::clone(&self.inner.state.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Whether `subject` holds `permission` on `object`.
    pub fn can(&self, subject: Subject, permission: Permission, object: Object) -> bool {
        self.permissions(subject, object).contains(permission)
    }

    /// `Ok` if `subject` holds `permission` on `object`, else
    /// [`AuthzError::Denied`].
    pub fn require(
        &self,
        subject: Subject,
        permission: Permission,
        object: Object,
    ) -> Result<(), AuthzError> {
        if self.can(subject, permission, object) {
            Ok(())
        } else {
            Err(AuthzError::Denied { permission, object })
        }
    }

    /// Every permission `subject` holds on `object`.
    pub fn permissions(&self, subject: Subject, object: Object) -> PermissionSet {
        self.inner
            .state
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .permissions(subject, object)
    }

    /// The highest role `subject` holds on `object` (by [`Role::rank`]);
    /// `Owner` for superusers, `None` without any role.
    pub fn max_role(&self, subject: Subject, object: Object) -> Option<Role> {
        let state = self.snapshot();
        if state.is_superuser(subject) {
            return Some(Role::Owner);
        }
        let g = state.users.get(&subject.user_id)?;
        State::roles_of(g, object).roles().max_by_key(|r| r.rank())
    }

    /// Whether `subject` may hand out `role` on `object`: nobody grants a role
    /// with a permission they lack themselves (so only owners make owners).
    ///
    /// This complements, not replaces, the `*_Manage_Members` check.
    pub fn can_grant(&self, subject: Subject, object: Object, role: Role) -> bool {
        PermissionSet::of(role.permissions()).is_subset(self.permissions(subject, object))
    }

    /// Whether `subject` may remove `member_user_id`'s membership of
    /// `object`: members may always leave; others need the object's
    /// `*_Member_Delete` permission.
    pub fn can_remove_member(&self, subject: Subject, member_user_id: i64, object: Object) -> bool {
        if subject.user_id == member_user_id {
            return true;
        }
        let permission = match object {
            Object::ProductType(_) => Permission::Product_Type_Member_Delete,
            Object::Product { .. } => Permission::Product_Member_Delete,
            Object::Group(_) => Permission::Group_Member_Delete,
            // Global roles are configuration: superusers only.
            Object::Global => return self.snapshot().is_superuser(subject),
        };
        self.can(subject, permission, object)
    }

    /// The products `subject` may view (`Product_View`), for SQL filters.
    pub fn readable_product_ids(&self, subject: Subject) -> ReadableProducts {
        let state = self.snapshot();
        let Some(g) = state.users.get(&subject.user_id) else {
            return if subject.is_superuser {
                ReadableProducts::All
            } else {
                ReadableProducts::Some(Vec::new())
            };
        };
        let view = Permission::Product_View;
        if state.is_superuser(subject) || state.perms_any[usize::from(g.global.0)].contains(view) {
            return ReadableProducts::All;
        }
        let grants_view =
            |r: &RoleSet| !r.is_empty() && state.perms_any[usize::from(r.0)].contains(view);
        let mut ids: Vec<i64> = g
            .products
            .iter()
            .filter(|(_, r)| grants_view(r))
            .map(|(id, _)| *id)
            .collect();
        for (pt, r) in &g.product_types {
            if grants_view(r)
                && let Some(products) = state.products_by_type.get(pt)
            {
                ids.extend_from_slice(products);
            }
        }
        ids.sort_unstable();
        ids.dedup();
        ReadableProducts::Some(ids)
    }

    /// The product types `subject` may view (`Product_Type_View`): those
    /// with a user or group role on the type itself, as DefectDojo lists
    /// them (a role on one product does not reveal its product type list).
    pub fn readable_product_type_ids(&self, subject: Subject) -> ReadableProducts {
        let state = self.snapshot();
        let Some(g) = state.users.get(&subject.user_id) else {
            return if subject.is_superuser {
                ReadableProducts::All
            } else {
                ReadableProducts::Some(Vec::new())
            };
        };
        let view = Permission::Product_Type_View;
        if state.is_superuser(subject) || state.perms_any[usize::from(g.global.0)].contains(view) {
            return ReadableProducts::All;
        }
        let mut ids: Vec<i64> = g
            .product_types
            .iter()
            .filter(|(_, r)| state.perms_any[usize::from(r.0)].contains(view))
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        ReadableProducts::Some(ids)
    }

    /// Asks casbin itself: the reference, about 200 µs a check against 50 ns
    /// for [`Authz::can`] (see `benches/authz.rs`).
    ///
    /// Tests and the benchmark compare it with the fast path.
    pub fn enforce_with_casbin(
        &self,
        subject: Subject,
        permission: Permission,
        object: Object,
    ) -> Result<bool, AuthzError> {
        if subject.is_superuser {
            return Ok(true);
        }
        let (dom, parent) = object.domains();
        let state = self.snapshot();
        Ok(state.enforcer.enforce((
            subject.casbin_name(),
            dom,
            parent,
            permission.name().to_owned(),
        ))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::models::membership::{
        GlobalRole, GroupMember, ProductGroup, ProductMember, ProductTypeGroup, ProductTypeMember,
    };

    // Fixture: product type 1 holds products 10 and 11; product type 2 holds 20.
    fn rows() -> PolicyRows {
        PolicyRows {
            products: vec![(10, 1), (11, 1), (20, 2)],
            ..PolicyRows::default()
        }
    }

    const P10: Object = Object::Product {
        id: 10,
        product_type_id: 1,
    };
    const P11: Object = Object::Product {
        id: 11,
        product_type_id: 1,
    };
    const P20: Object = Object::Product {
        id: 20,
        product_type_id: 2,
    };

    fn objects() -> Vec<Object> {
        vec![
            Object::Global,
            Object::ProductType(1),
            Object::ProductType(2),
            P10,
            P11,
            P20,
            Object::Group(7),
            Object::Group(8),
        ]
    }

    /// Fast path and casbin agree on every permission and object.
    fn assert_agrees(a: &Authz, s: Subject) {
        for o in objects() {
            for p in permission::ALL {
                let fast = a.can(s, p, o);
                let slow = a.enforce_with_casbin(s, p, o).expect("casbin enforce");
                assert_eq!(fast, slow, "{s:?} {p} {o}");
            }
        }
    }

    #[tokio::test]
    async fn product_member_sees_only_their_product() {
        let mut r = rows();
        r.product_members.push(ProductMember {
            id: 1,
            user_id: 1,
            product_id: 10,
            role_id: Role::Writer.id(),
        });
        let a = Authz::from_rows(&r).await.expect("policy");
        let u = Subject::user(1);
        assert!(a.can(u, Permission::Finding_Edit, P10));
        assert!(!a.can(u, Permission::Finding_Delete, P10));
        assert!(!a.can(u, Permission::Finding_View, P11));
        assert!(!a.can(u, Permission::Product_Type_View, Object::ProductType(1)));
        assert_eq!(a.readable_product_ids(u), ReadableProducts::Some(vec![10]));
        assert_eq!(
            a.readable_product_type_ids(u),
            ReadableProducts::Some(vec![])
        );
        assert_eq!(a.max_role(u, P10), Some(Role::Writer));
        assert_eq!(a.max_role(u, P11), None);
        assert_agrees(&a, u);
    }

    #[tokio::test]
    async fn product_type_role_extends_to_products_and_combines() {
        let mut r = rows();
        r.product_type_members.push(ProductTypeMember {
            id: 1,
            user_id: 1,
            product_type_id: 1,
            role_id: Role::Reader.id(),
        });
        r.product_members.push(ProductMember {
            id: 1,
            user_id: 1,
            product_id: 11,
            role_id: Role::Maintainer.id(),
        });
        let a = Authz::from_rows(&r).await.expect("policy");
        let u = Subject::user(1);
        assert!(a.can(u, Permission::Finding_View, P10));
        assert!(!a.can(u, Permission::Finding_Edit, P10));
        assert!(a.can(u, Permission::Finding_Delete, P11));
        assert!(!a.can(u, Permission::Finding_View, P20));
        assert_eq!(
            a.readable_product_ids(u),
            ReadableProducts::Some(vec![10, 11])
        );
        assert_eq!(
            a.readable_product_type_ids(u),
            ReadableProducts::Some(vec![1])
        );
        assert_eq!(a.max_role(u, P11), Some(Role::Maintainer));
        assert!(a.can_grant(u, P11, Role::Writer));
        assert!(!a.can_grant(u, P11, Role::Owner));
        assert!(!a.can_grant(u, P10, Role::Writer));
        assert!(a.can_remove_member(u, 2, P11));
        assert!(!a.can_remove_member(u, 2, P10));
        assert!(a.can_remove_member(u, 1, P10));
        assert!(!a.can_remove_member(u, 2, Object::Global));
        assert_agrees(&a, u);
    }

    #[tokio::test]
    async fn groups_and_global_roles() {
        let mut r = rows();
        r.group_members.push(GroupMember {
            id: 1,
            user_id: 1,
            group_id: 7,
            role_id: Role::Reader.id(),
        });
        r.group_members.push(GroupMember {
            id: 2,
            user_id: 2,
            group_id: 8,
            role_id: Role::Owner.id(),
        });
        r.product_type_groups.push(ProductTypeGroup {
            id: 1,
            group_id: 7,
            product_type_id: 2,
            role_id: Role::Owner.id(),
        });
        r.product_groups.push(ProductGroup {
            id: 1,
            group_id: 7,
            product_id: 10,
            role_id: Role::API_Importer.id(),
        });
        r.global_roles.push(GlobalRole {
            id: 1,
            user_id: None,
            group_id: Some(8),
            role_id: Role::Maintainer.id(),
        });
        r.global_roles.push(GlobalRole {
            id: 2,
            user_id: Some(3),
            group_id: None,
            role_id: Role::Reader.id(),
        });
        let a = Authz::from_rows(&r).await.expect("policy");
        let (u1, u2, u3) = (Subject::user(1), Subject::user(2), Subject::user(3));
        assert!(a.can(u1, Permission::Product_Delete, P20));
        assert!(a.can(u1, Permission::Import_Scan_Result, P10));
        assert!(!a.can(u1, Permission::Finding_Add, P10));
        assert!(!a.can(u1, Permission::Finding_View, P11));
        assert!(a.can(u1, Permission::Group_View, Object::Group(7)));
        assert!(!a.can(u1, Permission::Group_Edit, Object::Group(7)));
        assert!(!a.can(u1, Permission::Product_Type_Add, Object::Global));
        assert_eq!(
            a.readable_product_ids(u1),
            ReadableProducts::Some(vec![10, 20])
        );
        // u2 gets Maintainer everywhere through group 8's global role.
        assert!(a.can(u2, Permission::Finding_Delete, P11));
        assert!(!a.can(u2, Permission::Product_Delete, P11));
        assert!(a.can(u2, Permission::Product_Type_Add, Object::Global));
        assert!(a.can(u2, Permission::Group_Delete, Object::Group(8)));
        assert_eq!(a.readable_product_ids(u2), ReadableProducts::All);
        // A global Reader reads everything, creates nothing.
        assert!(a.can(u3, Permission::Finding_View, P20));
        assert!(!a.can(u3, Permission::Product_Type_Add, Object::Global));
        assert_eq!(a.readable_product_type_ids(u3), ReadableProducts::All);
        for s in [u1, u2, u3, Subject::user(4)] {
            assert_agrees(&a, s);
        }
    }

    #[tokio::test]
    async fn superusers_and_inactive_users() {
        let mut r = rows();
        r.superusers.push(9);
        r.inactive_users.push(5);
        r.product_members.push(ProductMember {
            id: 1,
            user_id: 5,
            product_id: 10,
            role_id: Role::Owner.id(),
        });
        let a = Authz::from_rows(&r).await.expect("policy");
        for s in [Subject::user(9), Subject::superuser(100)] {
            assert!(a.can(s, Permission::Product_Type_Add, Object::Global));
            assert!(a.can(s, Permission::Product_Delete, P20));
            assert_eq!(a.readable_product_ids(s), ReadableProducts::All);
            assert_eq!(a.max_role(s, P20), Some(Role::Owner));
            assert_agrees(&a, s);
        }
        let inactive = Subject::user(5);
        assert!(!a.can(inactive, Permission::Product_View, P10));
        assert!(
            a.require(inactive, Permission::Product_View, P10)
                .is_err_and(|e| matches!(e, AuthzError::Denied { .. }))
        );
        assert_agrees(&a, inactive);
    }

    #[test]
    fn policy_lines_cover_the_matrix() {
        let lines = policy_lines();
        let n: usize = Role::ALL.into_iter().map(|r| r.permissions().len()).sum();
        // Matrix + two global extras + the superuser line.
        assert_eq!(lines.len(), n + 2 + 1);
    }
}
