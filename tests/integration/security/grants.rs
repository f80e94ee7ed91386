//! Grants stay monotone, and roles reveal only what they cover (review
//! findings 2, 4, 5, 14, 16, 19 and the INFO items on private notes, test
//! types, the REST `lead` and `dedupeExplain`).
//!
//! The central test enumerates every way to hand out a role × every role a
//! caller can hold, and checks the effective permissions computed from the
//! membership tables with the permission spec: nobody ends up with a
//! permission they could not grant directly.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use base64::Engine;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::oidc::{Provider, palisade_with, sign_in, start_provider};
use crate::support::rest::{IMPORT, import_form, rest_import};
use crate::support::{Gql, TestDb, TestServer, create_user};

/// The permission spec. This is the spec (`docs/permissions.json`), not the
/// server's copy at server/src/authz/permissions.json: the expectations must
/// not follow the code under test.
const SPEC: &str = include_str!("../../../docs/permissions.json");

const ROLES: [&str; 5] = ["Reader", "API_Importer", "Writer", "Maintainer", "Owner"];

/// The role matrix of the spec.
struct Spec {
    by_id: HashMap<i16, String>,
    perms: HashMap<String, BTreeSet<String>>,
    global_extra: HashMap<String, BTreeSet<String>>,
}

fn names(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .expect("list")
        .iter()
        .map(|p| p.as_str().expect("name").to_owned())
        .collect()
}

impl Spec {
    fn load() -> Spec {
        let v: Value = serde_json::from_str(SPEC).expect("docs/permissions.json");
        let by_id = v["roles"]
            .as_object()
            .expect("roles")
            .iter()
            .map(|(name, id)| {
                (
                    i16::try_from(id.as_i64().expect("id")).expect("small"),
                    name.clone(),
                )
            })
            .collect();
        let perms = v["role_permissions"]
            .as_object()
            .expect("role_permissions")
            .iter()
            .map(|(r, p)| (r.clone(), names(p)))
            .collect();
        let global_extra = v["global_role_extra_permissions"]
            .as_object()
            .expect("global_role_extra_permissions")
            .iter()
            .map(|(r, p)| (r.clone(), names(p)))
            .collect();
        Spec {
            by_id,
            perms,
            global_extra,
        }
    }

    /// The permissions of a set of role ids, on the global object or not.
    fn of(&self, roles: &BTreeSet<i16>, global: bool) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for id in roles {
            let name = &self.by_id[id];
            out.extend(self.perms[name].iter().cloned());
            if global && let Some(extra) = self.global_extra.get(name) {
                out.extend(extra.iter().cloned());
            }
        }
        out
    }
}

fn gql_role(role: &str) -> &'static str {
    match role {
        "Reader" => "READER",
        "API_Importer" => "API_IMPORTER",
        "Writer" => "WRITER",
        "Maintainer" => "MAINTAINER",
        "Owner" => "OWNER",
        other => panic!("unknown role {other}"),
    }
}

/// The server's global id of `kind` number `id`.
fn gid(kind: &str, id: i64) -> Value {
    json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{id}")))
}

fn raw_id(gid: &Value) -> i64 {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(gid.as_str().expect("id"))
        .expect("base64");
    let text = String::from_utf8(bytes).expect("utf-8");
    text.rsplit(':').next().expect("n").parse().expect("number")
}

async fn user_id(db: &TestDb, username: &str) -> i64 {
    db.client()
        .await
        .query_one("SELECT id FROM users WHERE username = $1", &[&username])
        .await
        .expect("user")
        .get(0)
}

/// A user with an API token: (id, client).
async fn new_user(s: &TestServer, db: &TestDb, name: &str) -> (i64, Gql) {
    let token = create_user(db, name, false).await;
    (user_id(db, name).await, s.gql_as(&token))
}

async fn create_product_type(admin: &Gql, name: &str) -> i64 {
    raw_id(
        &admin
            .ok(
                "mutation($n: String!) { createProductType(input: {name: $n}) { productType { id } } }",
                json!({"n": name}),
            )
            .await["createProductType"]["productType"]["id"],
    )
}

async fn create_product(admin: &Gql, pt: i64, name: &str) -> i64 {
    raw_id(
        &admin
            .ok(
                "mutation($pt: ID!, $n: String!) { createProduct(input: {productType: $pt, name: $n, description: \"d\"}) { product { id } } }",
                json!({"pt": gid("ProductType", pt), "n": name}),
            )
            .await["createProduct"]["product"]["id"],
    )
}

async fn create_group(admin: &Gql, name: &str) -> i64 {
    raw_id(
        &admin
            .ok(
                "mutation($n: String!) { createGroup(input: {name: $n}) { id } }",
                json!({"n": name}),
            )
            .await["createGroup"]["id"],
    )
}

/// A product with one engagement, test and finding: (product, finding).
async fn product_with_finding(admin: &Gql, pt: i64, name: &str) -> (i64, i64) {
    let p = create_product(admin, pt, name).await;
    let e = admin
        .ok(
            "mutation($p: ID!) { createEngagement(input: {product: $p, name: \"e\"}) { engagement { id } } }",
            json!({"p": gid("Product", p)}),
        )
        .await["createEngagement"]["engagement"]["id"]
        .clone();
    let t = admin
        .ok(
            "mutation($e: ID!) { createTest(input: {engagement: $e, testType: \"Manual Code Review\"}) { test { id } } }",
            json!({"e": e}),
        )
        .await["createTest"]["test"]["id"]
        .clone();
    let f = admin
        .ok(
            "mutation($t: ID!, $n: String!) { createFinding(input: {test: $t, title: $n, severity: HIGH, description: \"d\"}) { finding { id } } }",
            json!({"t": t, "n": format!("{name} finding")}),
        )
        .await["createFinding"]["finding"]["id"]
        .clone();
    (p, raw_id(&f))
}

const SET_MEMBER: &str = "mutation($o: ID!, $u: ID!, $r: Role!) { setMember(input: {object: $o, user: $u, role: $r}) { role } }";
const SET_GROUP_ROLE: &str = "mutation($o: ID!, $g: ID!, $r: Role!) { setGroupRole(input: {object: $o, group: $g, role: $r}) { role } }";
const REMOVE_GROUP_ROLE: &str =
    "mutation($o: ID!, $g: ID!) { removeGroupRole(input: {object: $o, group: $g}) }";
const SET_GLOBAL_USER: &str =
    "mutation($u: ID!, $r: Role!) { setGlobalRole(input: {user: $u, role: $r}) }";
const SET_GLOBAL_GROUP: &str =
    "mutation($g: ID!, $r: Role!) { setGlobalRole(input: {group: $g, role: $r}) }";
const SET_GROUP_MEMBER: &str = "mutation($g: ID!, $u: ID!, $r: Role!) { setGroupMember(input: {group: $g, user: $u, role: $r}) { role } }";
const REMOVE_GROUP_MEMBER: &str =
    "mutation($g: ID!, $u: ID!) { removeGroupMember(input: {group: $g, user: $u}) }";

async fn admin_set_member(admin: &Gql, object: Value, user: i64, role: &str) {
    admin
        .ok(
            SET_MEMBER,
            json!({"o": object, "u": gid("User", user), "r": gql_role(role)}),
        )
        .await;
}

async fn admin_set_group_role(admin: &Gql, object: Value, group: i64, role: &str) {
    admin
        .ok(
            SET_GROUP_ROLE,
            json!({"o": object, "g": gid("Group", group), "r": gql_role(role)}),
        )
        .await;
}

async fn admin_set_group_member(admin: &Gql, group: i64, user: i64, role: &str) {
    admin
        .ok(
            SET_GROUP_MEMBER,
            json!({"g": gid("Group", group), "u": gid("User", user), "r": gql_role(role)}),
        )
        .await;
}

async fn admin_global_group(admin: &Gql, group: i64, role: &str) {
    admin
        .ok(
            SET_GLOBAL_GROUP,
            json!({"g": gid("Group", group), "r": gql_role(role)}),
        )
        .await;
}

async fn admin_global_user(admin: &Gql, user: i64, role: &str) {
    admin
        .ok(
            SET_GLOBAL_USER,
            json!({"u": gid("User", user), "r": gql_role(role)}),
        )
        .await;
}

/// What a permission is held on, as in the server's model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Obj {
    Global,
    ProductType(i64),
    Product(i64),
    Group(i64),
}

type Perms = BTreeMap<Obj, BTreeSet<String>>;

/// One caller's fixture: two product types, three products and groups with
/// roles up to Owner, locally managed.
struct World {
    pt1: i64,
    pt2: i64,
    p1: i64,
    p3: i64,
    /// Product → product type, for every product of the world.
    products: Vec<(i64, i64)>,
    /// name → id
    groups: BTreeMap<&'static str, i64>,
    group_names: BTreeMap<&'static str, String>,
}

impl World {
    fn objects(&self) -> Vec<Obj> {
        let mut v = vec![
            Obj::Global,
            Obj::ProductType(self.pt1),
            Obj::ProductType(self.pt2),
        ];
        v.extend(self.products.iter().map(|(p, _)| Obj::Product(*p)));
        v.extend(self.groups.values().map(|g| Obj::Group(*g)));
        v
    }
}

/// `user`'s effective permissions on every object of `world`, computed
/// from the membership tables with the spec (groups' roles reach their
/// members; product-type roles reach the type's products; global roles
/// reach everything).
async fn effective(c: &tokio_postgres::Client, spec: &Spec, user: i64, world: &World) -> Perms {
    let row = c
        .query_one(
            "SELECT is_superuser, is_active FROM users WHERE id = $1",
            &[&user],
        )
        .await
        .expect("user");
    let (superuser, active): (bool, bool) = (row.get(0), row.get(1));
    assert!(!superuser && active, "callers are plain active users");
    let global: BTreeSet<i16> = c
        .query(
            "SELECT role_id FROM global_roles WHERE user_id = $1 \
             OR group_id IN (SELECT group_id FROM group_members WHERE user_id = $1)",
            &[&user],
        )
        .await
        .expect("global")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let scoped = |sql: &'static str| async move {
        let mut m: BTreeMap<i64, BTreeSet<i16>> = BTreeMap::new();
        for r in c.query(sql, &[&user]).await.expect("roles") {
            m.entry(r.get(0)).or_default().insert(r.get(1));
        }
        m
    };
    let pt_roles = scoped(
        "SELECT product_type_id, role_id FROM product_type_members WHERE user_id = $1 \
         UNION ALL SELECT g.product_type_id, g.role_id FROM product_type_groups g \
         JOIN group_members m ON m.group_id = g.group_id WHERE m.user_id = $1",
    )
    .await;
    let p_roles = scoped(
        "SELECT product_id, role_id FROM product_members WHERE user_id = $1 \
         UNION ALL SELECT g.product_id, g.role_id FROM product_groups g \
         JOIN group_members m ON m.group_id = g.group_id WHERE m.user_id = $1",
    )
    .await;
    let grp_roles = scoped("SELECT group_id, role_id FROM group_members WHERE user_id = $1").await;
    let none = BTreeSet::new();
    let with =
        |a: &BTreeSet<i16>, b: &BTreeSet<i16>| -> BTreeSet<i16> { a.union(b).copied().collect() };
    let mut out = Perms::new();
    for o in world.objects() {
        let perms = match o {
            Obj::Global => spec.of(&global, true),
            Obj::ProductType(pt) => {
                spec.of(&with(&global, pt_roles.get(&pt).unwrap_or(&none)), false)
            }
            Obj::Product(p) => {
                let pt = world
                    .products
                    .iter()
                    .find(|(id, _)| *id == p)
                    .map(|(_, pt)| *pt)
                    .expect("product of the world");
                let roles = with(
                    &with(&global, pt_roles.get(&pt).unwrap_or(&none)),
                    p_roles.get(&p).unwrap_or(&none),
                );
                spec.of(&roles, false)
            }
            Obj::Group(g) => spec.of(&with(&global, grp_roles.get(&g).unwrap_or(&none)), false),
        };
        out.insert(o, perms);
    }
    out
}

/// The permissions in `after` beyond `allowed`, per object.
fn excess(after: &Perms, allowed: &Perms) -> Vec<String> {
    let empty = BTreeSet::new();
    after
        .iter()
        .filter_map(|(o, perms)| {
            let extra: Vec<&String> = perms.difference(allowed.get(o).unwrap_or(&empty)).collect();
            (!extra.is_empty()).then(|| format!("{o:?}: {extra:?}"))
        })
        .collect()
}

fn union(a: &Perms, b: &Perms) -> Perms {
    let mut out = a.clone();
    for (o, p) in b {
        out.entry(*o).or_default().extend(p.iter().cloned());
    }
    out
}

/// Where the caller holds their role before trying every grant path.
#[derive(Debug, Clone, Copy)]
enum Holds {
    Nothing,
    /// A user role on product 1.
    Product(&'static str),
    /// A user role on product type 1.
    ProductType(&'static str),
    /// A global user role.
    Global(&'static str),
    /// Membership (as Reader) of the team group, which holds the role on
    /// product type 1.
    ViaGroup(&'static str),
    /// The role administering the team group (which holds Writer on
    /// product 1).
    GroupAdmin(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Accomplice,
    Caller,
}

struct Shared<'a> {
    s: &'a TestServer,
    db: &'a TestDb,
    spec: &'a Spec,
    provider: &'a Provider,
    sign_on: &'a tokio::sync::Mutex<()>,
}

/// What one caller setup observed: violations, and how many grants went
/// through (a matrix that refuses everything proves nothing).
struct Observed {
    violations: Vec<String>,
    granted: usize,
    accomplice_owns_product: bool,
}

async fn run_setup(sh: &Shared<'_>, n: usize, holds: Holds) -> Observed {
    let admin = sh.s.gql();
    let prefix = format!("m{n}");
    let pt1 = create_product_type(&admin, &format!("{prefix}-pt1")).await;
    let pt2 = create_product_type(&admin, &format!("{prefix}-pt2")).await;
    let p1 = create_product(&admin, pt1, &format!("{prefix}-p1")).await;
    let p2 = create_product(&admin, pt1, &format!("{prefix}-p2")).await;
    let p3 = create_product(&admin, pt2, &format!("{prefix}-p3")).await;
    let mut groups = BTreeMap::new();
    let mut group_names = BTreeMap::new();
    for g in [
        "pt-owners",
        "p-owners",
        "global-owners",
        "plain",
        "self",
        "acc",
        "team",
    ] {
        let name = format!("{prefix}-{g}");
        groups.insert(g, create_group(&admin, &name).await);
        group_names.insert(g, name);
    }
    admin_set_group_role(
        &admin,
        gid("ProductType", pt1),
        groups["pt-owners"],
        "Owner",
    )
    .await;
    admin_set_group_role(&admin, gid("Product", p3), groups["p-owners"], "Owner").await;
    admin_global_group(&admin, groups["global-owners"], "Owner").await;
    let (caller, caller_gql) = new_user(sh.s, sh.db, &format!("{prefix}-caller")).await;
    let (acc, _) = new_user(sh.s, sh.db, &format!("{prefix}-acc")).await;
    let c = sh.db.client().await;
    // The caller also signs in through the identity provider.
    c.execute(
        "UPDATE users SET oidc_subject = $1 WHERE id = $2",
        &[
            &format!("{}|{prefix}-caller", sh.provider.state.issuer),
            &caller,
        ],
    )
    .await
    .expect("link the caller to the provider");
    admin_set_group_member(&admin, groups["self"], caller, "Reader").await;
    admin_set_group_member(&admin, groups["acc"], acc, "Reader").await;
    match holds {
        Holds::Nothing => {}
        Holds::Product(r) => admin_set_member(&admin, gid("Product", p1), caller, r).await,
        Holds::ProductType(r) => admin_set_member(&admin, gid("ProductType", pt1), caller, r).await,
        Holds::Global(r) => admin_global_user(&admin, caller, r).await,
        Holds::ViaGroup(r) => {
            admin_set_group_role(&admin, gid("ProductType", pt1), groups["team"], r).await;
            admin_set_group_member(&admin, groups["team"], caller, "Reader").await;
        }
        Holds::GroupAdmin(r) => {
            admin_set_group_role(&admin, gid("Product", p1), groups["team"], "Writer").await;
            admin_set_group_member(&admin, groups["team"], caller, r).await;
        }
    }
    let world = World {
        pt1,
        pt2,
        p1,
        p3,
        products: vec![(p1, pt1), (p2, pt1), (p3, pt2)],
        groups,
        group_names,
    };
    let caller_before = effective(&c, sh.spec, caller, &world).await;
    let acc_before = effective(&c, sh.spec, acc, &world).await;
    // The accomplice may end up with what either of them held; the caller
    // with nothing new.
    let acc_allowed = union(&acc_before, &caller_before);

    // Every grant path, on objects the caller holds a role on and on
    // foreign ones, every role; the accomplice first, as a caller demoting
    // themselves would weaken the rest of the matrix.
    let mut calls: Vec<(String, &'static str, Value)> = Vec::new();
    for who in [Who::Accomplice, Who::Caller] {
        let (user, own_group) = match who {
            Who::Accomplice => (acc, world.groups["acc"]),
            Who::Caller => (caller, world.groups["self"]),
        };
        for role in ROLES {
            let r = gql_role(role);
            for (kind, o) in [
                ("Product", world.p1),
                ("Product", world.p3),
                ("ProductType", world.pt1),
                ("ProductType", world.pt2),
            ] {
                calls.push((
                    format!("setMember({kind} {o}, {who:?}, {role})"),
                    SET_MEMBER,
                    json!({"o": gid(kind, o), "u": gid("User", user), "r": r}),
                ));
                calls.push((
                    format!("setGroupRole({kind} {o}, group of {who:?}, {role})"),
                    SET_GROUP_ROLE,
                    json!({"o": gid(kind, o), "g": gid("Group", own_group), "r": r}),
                ));
            }
            calls.push((
                format!("setGlobalRole({who:?}, {role})"),
                SET_GLOBAL_USER,
                json!({"u": gid("User", user), "r": r}),
            ));
            calls.push((
                format!("setGlobalRole(group of {who:?}, {role})"),
                SET_GLOBAL_GROUP,
                json!({"g": gid("Group", own_group), "r": r}),
            ));
            for g in ["pt-owners", "p-owners", "global-owners", "plain", "team"] {
                calls.push((
                    format!("setGroupMember({g}, {who:?}, {role})"),
                    SET_GROUP_MEMBER,
                    json!({"g": gid("Group", world.groups[g]), "u": gid("User", user), "r": r}),
                ));
            }
        }
    }
    let mut violations = Vec::new();
    let mut check = |what: &str, caller_after: &Perms, acc_after: &Perms| {
        for e in excess(caller_after, &caller_before) {
            violations.push(format!("{holds:?}: {what} gave the caller {e}"));
        }
        for e in excess(acc_after, &acc_allowed) {
            violations.push(format!("{holds:?}: {what} gave the accomplice {e}"));
        }
    };
    let mut granted = 0;
    let mut accomplice_owns_product = false;
    for (what, query, vars) in &calls {
        let r = caller_gql.query(query, vars.clone()).await;
        match r.error_code() {
            None => granted += 1,
            Some("FORBIDDEN" | "NOT_FOUND" | "BAD_USER_INPUT") => {}
            Some(other) => panic!("{holds:?}: {what}: unexpected {other}: {}", r.body),
        }
        let caller_after = effective(&c, sh.spec, caller, &world).await;
        let acc_after = effective(&c, sh.spec, acc, &world).await;
        check(what, &caller_after, &acc_after);
        accomplice_owns_product |= acc_after
            .get(&Obj::Product(world.p1))
            .is_some_and(|p| p.contains("Product_Delete"));
    }

    // The identity provider claims every locally managed group of the world.
    {
        let _one_at_a_time = sh.sign_on.lock().await;
        let claimed: Vec<&String> = world.group_names.values().collect();
        *sh.provider.state.claims.lock().expect("lock") = json!({
            "sub": format!("{prefix}-caller"),
            "preferred_username": format!("{prefix}-caller"),
            "groups": claimed,
        });
        let (status, body) = sign_in(sh.s).await;
        assert_eq!(status, 200, "{holds:?}: sign-on: {body}");
        assert_eq!(body["username"], format!("{prefix}-caller"), "{body}");
    }
    let caller_after = effective(&c, sh.spec, caller, &world).await;
    let acc_after = effective(&c, sh.spec, acc, &world).await;
    check("signing on with a groups claim", &caller_after, &acc_after);
    Observed {
        violations,
        granted,
        accomplice_owns_product,
    }
}

/// Issue #13 item 3: every grant path (user on product, user on product
/// type, group on product, group on product type, global user role, global
/// group role, group membership, OIDC group claim) × every role the caller
/// may hold (on a product, a product type, globally, through a group, or
/// administering a group): the caller ends with no permission they did not
/// hold, the accomplice with none the caller could not grant.
#[tokio::test]
async fn no_grant_path_reaches_a_permission_the_caller_could_not_grant() {
    let provider = start_provider().await;
    let db = TestDb::new().await;
    let s = palisade_with(&db, &provider, None).await;
    let spec = Spec::load();
    let sign_on = tokio::sync::Mutex::new(());
    let shared = Shared {
        s: &s,
        db: &db,
        spec: &spec,
        provider: &provider,
        sign_on: &sign_on,
    };
    let mut setups = vec![Holds::Nothing];
    for r in ROLES {
        setups.extend([
            Holds::Product(r),
            Holds::ProductType(r),
            Holds::Global(r),
            Holds::ViaGroup(r),
            Holds::GroupAdmin(r),
        ]);
    }
    let results: Vec<(Holds, Observed)> = futures::stream::iter(setups.into_iter().enumerate())
        .map(|(n, h)| {
            let shared = &shared;
            async move { (h, run_setup(shared, n, h).await) }
        })
        .buffer_unordered(3)
        .collect()
        .await;
    let mut violations = Vec::new();
    let mut granted = 0;
    for (holds, o) in &results {
        violations.extend(o.violations.iter().cloned());
        granted += o.granted;
        // Controls: an owner may hand out ownership, a reader may not.
        match holds {
            Holds::Product("Owner") | Holds::ProductType("Owner") | Holds::Global("Owner") => {
                assert!(
                    o.accomplice_owns_product,
                    "{holds:?}: an Owner could not make the accomplice Owner"
                );
            }
            Holds::Nothing | Holds::Product("Reader") => {
                assert!(!o.accomplice_owns_product, "{holds:?}");
            }
            _ => {}
        }
    }
    assert!(granted > 100, "only {granted} grants went through");
    assert!(
        violations.is_empty(),
        "{} escalations, e.g.:\n{}",
        violations.len(),
        violations
            .iter()
            .take(25)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Finding 2 as reproduced: a global Maintainer adds themselves to a group
/// holding a global Owner role (or Owner on a product type) and deletes a
/// product type refused a moment before.
#[tokio::test]
async fn global_maintainer_cannot_join_a_group_holding_owner() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let pt = create_product_type(&admin, "web").await;
    let admins = create_group(&admin, "admins").await;
    admin_global_group(&admin, admins, "Owner").await;
    let pt_owners = create_group(&admin, "web owners").await;
    admin_set_group_role(&admin, gid("ProductType", pt), pt_owners, "Owner").await;
    let plain = create_group(&admin, "plain").await;
    let (me, gql) = new_user(&s, &db, "mallory").await;
    admin_global_user(&admin, me, "Maintainer").await;

    let delete = "mutation($id: ID!) { deleteProductType(input: {id: $id}) { deletedId } }";
    let r = gql
        .query(delete, json!({"id": gid("ProductType", pt)}))
        .await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"), "{}", r.body);
    for group in [admins, pt_owners] {
        for role in ["Reader", "Maintainer"] {
            let r = gql
                .query(
                    SET_GROUP_MEMBER,
                    json!({"g": gid("Group", group), "u": gid("User", me), "r": gql_role(role)}),
                )
                .await;
            assert_eq!(r.error_code(), Some("FORBIDDEN"), "{}", r.body);
        }
    }
    let r = gql
        .query(delete, json!({"id": gid("ProductType", pt)}))
        .await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"), "{}", r.body);
    assert_eq!(db.count("group_members").await, 0);
    // A group holding nothing above the caller's own roles stays theirs to run.
    gql.ok(
        SET_GROUP_MEMBER,
        json!({"g": gid("Group", plain), "u": gid("User", me), "r": "MAINTAINER"}),
    )
    .await;
}

/// Finding 4: a product Maintainer may neither demote nor remove a group
/// holding Owner on the product; a group the caller cannot see answers like
/// a missing one.
#[tokio::test]
async fn maintainer_cannot_demote_or_remove_an_owner_group() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let pt = create_product_type(&admin, "web").await;
    let p = create_product(&admin, pt, "shop").await;
    let owners = create_group(&admin, "shop owners").await;
    let readers = create_group(&admin, "shop readers").await;
    admin_set_group_role(&admin, gid("Product", p), owners, "Owner").await;
    admin_set_group_role(&admin, gid("Product", p), readers, "Reader").await;
    // A global Reader sees every group, without any right to manage them.
    let (me, gql) = new_user(&s, &db, "maintainer").await;
    admin_set_member(&admin, gid("Product", p), me, "Maintainer").await;
    admin_global_user(&admin, me, "Reader").await;

    let r = gql
        .query(
            SET_GROUP_ROLE,
            json!({"o": gid("Product", p), "g": gid("Group", owners), "r": "READER"}),
        )
        .await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"), "{}", r.body);
    let r = gql
        .query(
            REMOVE_GROUP_ROLE,
            json!({"o": gid("Product", p), "g": gid("Group", owners)}),
        )
        .await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"), "{}", r.body);
    let role: i16 = db
        .client()
        .await
        .query_one(
            "SELECT role_id FROM product_groups WHERE group_id = $1",
            &[&owners],
        )
        .await
        .expect("still there")
        .get(0);
    assert_eq!(role, 4, "the group is still Owner");
    // Below Owner the Maintainer still manages group roles.
    gql.ok(
        SET_GROUP_ROLE,
        json!({"o": gid("Product", p), "g": gid("Group", readers), "r": "WRITER"}),
    )
    .await;

    // Without a global role the groups are invisible: like one that does
    // not exist.
    let (other, other_gql) = new_user(&s, &db, "maintainer2").await;
    admin_set_member(&admin, gid("Product", p), other, "Maintainer").await;
    let hidden = other_gql
        .query(
            REMOVE_GROUP_ROLE,
            json!({"o": gid("Product", p), "g": gid("Group", readers)}),
        )
        .await;
    let missing = other_gql
        .query(
            REMOVE_GROUP_ROLE,
            json!({"o": gid("Product", p), "g": gid("Group", 999_999)}),
        )
        .await;
    assert_eq!(hidden.error_code(), Some("NOT_FOUND"), "{}", hidden.body);
    assert_eq!(missing.error_code(), Some("NOT_FOUND"), "{}", missing.body);
    let id_of = |g: i64| gid("Group", g).as_str().expect("id").to_owned();
    assert_eq!(
        hidden.error_message().replace(&id_of(readers), "ID"),
        missing.error_message().replace(&id_of(999_999), "ID"),
    );
    assert_eq!(db.count("product_groups").await, 2);
}

/// Finding 4: a Maintainer inside a group may neither demote nor remove the
/// group's Owner.
#[tokio::test]
async fn group_maintainer_cannot_demote_or_remove_a_group_owner() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let g = create_group(&admin, "team").await;
    let (owner, _) = new_user(&s, &db, "owner").await;
    let (me, gql) = new_user(&s, &db, "maintainer").await;
    let (other, _) = new_user(&s, &db, "other").await;
    admin_set_group_member(&admin, g, owner, "Owner").await;
    admin_set_group_member(&admin, g, me, "Maintainer").await;
    admin_set_group_member(&admin, g, other, "Reader").await;
    let r = gql
        .query(
            SET_GROUP_MEMBER,
            json!({"g": gid("Group", g), "u": gid("User", owner), "r": "READER"}),
        )
        .await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"), "{}", r.body);
    let r = gql
        .query(
            REMOVE_GROUP_MEMBER,
            json!({"g": gid("Group", g), "u": gid("User", owner)}),
        )
        .await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"), "{}", r.body);
    let role: i16 = db
        .client()
        .await
        .query_one(
            "SELECT role_id FROM group_members WHERE user_id = $1",
            &[&owner],
        )
        .await
        .expect("still a member")
        .get(0);
    assert_eq!(role, 4);
    // Members below the caller's own role remain theirs to manage.
    gql.ok(
        SET_GROUP_MEMBER,
        json!({"g": gid("Group", g), "u": gid("User", other), "r": "WRITER"}),
    )
    .await;
    gql.ok(
        REMOVE_GROUP_MEMBER,
        json!({"g": gid("Group", g), "u": gid("User", other)}),
    )
    .await;
}

/// Finding 5: a group claim joins a group made by sign-on, or one the
/// operator mapped, never a group managed by hand of the same name.
#[tokio::test]
async fn oidc_claim_does_not_join_a_locally_managed_group() {
    let provider = start_provider().await;
    let db = TestDb::new().await;
    let s = palisade_with(&db, &provider, None).await;
    let admin = s.gql();
    let local = create_group(&admin, "Security Admins").await;
    admin_global_group(&admin, local, "Owner").await;
    *provider.state.claims.lock().expect("lock") = json!({
        "sub": "eve", "preferred_username": "eve", "groups": ["Security Admins", "dev"],
    });
    let (status, body) = sign_in(&s).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["groups"], json!(["dev"]));
    let eve = s.gql_as(body["token"].as_str().expect("token"));
    let d = eve.ok("{ groups { name } }", json!({})).await;
    assert_eq!(d["groups"], json!([{"name": "dev"}]));
    let r = eve
        .query(
            "mutation { createProductType(input: {name: \"mine\"}) { productType { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"), "{}", r.body);
    let eve_id = user_id(&db, "eve").await;
    let n: i64 = db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM group_members WHERE user_id = $1 AND group_id = $2",
            &[&eve_id, &local],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, 0);
}

/// Finding 5: an explicit mapping is the operator's consent to a locally
/// managed group.
#[tokio::test]
async fn oidc_claim_joins_a_local_group_only_when_mapped() {
    let provider = start_provider().await;
    let db = TestDb::new().await;
    let s = palisade_with(&db, &provider, Some("sec=Security Admins")).await;
    let admin = s.gql();
    create_group(&admin, "Security Admins").await;
    *provider.state.claims.lock().expect("lock") =
        json!({"sub": "sam", "preferred_username": "sam", "groups": ["sec"]});
    let (status, body) = sign_in(&s).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["groups"], json!(["Security Admins"]));
    // The claim gone, the mapped group is left again.
    *provider.state.claims.lock().expect("lock") =
        json!({"sub": "sam", "preferred_username": "sam", "groups": []});
    let (status, body) = sign_in(&s).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(db.count("group_members").await, 0);
}

/// Finding 14: a product-only Reader reaches the product type but neither
/// its members, its groups nor how many products it holds.
#[tokio::test]
async fn product_reader_sees_neither_members_nor_size_of_the_product_type() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let pt = create_product_type(&admin, "web").await;
    let p1 = create_product(&admin, pt, "shop").await;
    create_product(&admin, pt, "secret-project").await;
    let (boss, _) = new_user(&s, &db, "boss").await;
    admin_set_member(&admin, gid("ProductType", pt), boss, "Owner").await;
    let g = create_group(&admin, "web team").await;
    admin_set_group_role(&admin, gid("ProductType", pt), g, "Writer").await;
    let (reader, gql) = new_user(&s, &db, "reader").await;
    admin_set_member(&admin, gid("Product", p1), reader, "Reader").await;
    let q = "query($id: ID!) { product(id: $id) { productType { productCount members { user { username } } groupRoles { group { name } } } } }";
    let d = gql.ok(q, json!({"id": gid("Product", p1)})).await;
    assert_eq!(
        d["product"]["productType"],
        json!({"productCount": 1, "members": [], "groupRoles": []})
    );
    // A role on the type shows all of it.
    let (pt_reader_id, pt_reader) = new_user(&s, &db, "pt-reader").await;
    admin_set_member(&admin, gid("ProductType", pt), pt_reader_id, "Reader").await;
    let d = pt_reader.ok(q, json!({"id": gid("Product", p1)})).await;
    assert_eq!(d["product"]["productType"]["productCount"], 2);
    assert_eq!(
        d["product"]["productType"]["members"],
        json!([{"user": {"username": "boss"}}, {"user": {"username": "pt-reader"}}])
    );
    assert_eq!(
        d["product"]["productType"]["groupRoles"],
        json!([{"group": {"name": "web team"}}])
    );
}

/// Finding 16: member lists show other users' id and username only; their
/// e-mail, flags and sign-in times are for themselves and superusers.
#[tokio::test]
async fn member_lists_show_others_only_by_id_and_username() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let pt = create_product_type(&admin, "web").await;
    let p = create_product(&admin, pt, "shop").await;
    let (owner, _) = new_user(&s, &db, "owner").await;
    db.client()
        .await
        .execute(
            "UPDATE users SET email = 'owner@example.com', last_login = now() WHERE id = $1",
            &[&owner],
        )
        .await
        .expect("email");
    admin_set_member(&admin, gid("Product", p), owner, "Owner").await;
    let (reader, gql) = new_user(&s, &db, "reader").await;
    db.client()
        .await
        .execute(
            "UPDATE users SET email = 'reader@example.com' WHERE id = $1",
            &[&reader],
        )
        .await
        .expect("email");
    admin_set_member(&admin, gid("Product", p), reader, "Reader").await;
    let q = "query($id: ID!) { product(id: $id) { members { user { id username email firstName lastName isSuperuser isActive lastLogin createdAt } } } }";
    let d = gql.ok(q, json!({"id": gid("Product", p)})).await;
    let members = d["product"]["members"].as_array().expect("members");
    let of = |name: &str| {
        members
            .iter()
            .find(|m| m["user"]["username"] == name)
            .expect("member")["user"]
            .clone()
    };
    let o = of("owner");
    assert_eq!(o["id"], gid("User", owner));
    for field in [
        "email",
        "firstName",
        "lastName",
        "isSuperuser",
        "isActive",
        "lastLogin",
        "createdAt",
    ] {
        assert!(o[field].is_null(), "{field} of another user: {o}");
    }
    let me = of("reader");
    assert_eq!(me["email"], "reader@example.com");
    assert_eq!(me["isSuperuser"], false);
    // Superusers see everything.
    let d = admin.ok(q, json!({"id": gid("Product", p)})).await;
    let o = d["product"]["members"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["user"]["username"] == "owner")
        .expect("owner")["user"]
        .clone();
    assert_eq!(o["email"], "owner@example.com");
    assert!(o["lastLogin"].is_string(), "{o}");
}

/// Finding 16: a product type's groups do not open their member lists to
/// readers of the type who lack `Group_View` on the group.
#[tokio::test]
async fn group_members_need_group_view() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let pt = create_product_type(&admin, "web").await;
    let g = create_group(&admin, "web team").await;
    admin_set_group_role(&admin, gid("ProductType", pt), g, "Writer").await;
    let (member, member_gql) = new_user(&s, &db, "member").await;
    admin_set_group_member(&admin, g, member, "Reader").await;
    let (reader, gql) = new_user(&s, &db, "reader").await;
    admin_set_member(&admin, gid("ProductType", pt), reader, "Reader").await;
    let q = "query($id: ID!) { node(id: $id) { ... on ProductType { groupRoles { group { name members { user { username } } } } } } }";
    let d = gql.ok(q, json!({"id": gid("ProductType", pt)})).await;
    assert_eq!(
        d["node"]["groupRoles"],
        json!([{"group": {"name": "web team", "members": []}}])
    );
    let d = member_gql
        .ok(q, json!({"id": gid("ProductType", pt)}))
        .await;
    assert_eq!(
        d["node"]["groupRoles"][0]["group"]["members"],
        json!([{"user": {"username": "member"}}])
    );
}

/// Finding 16: `setMember` with an arbitrary user id is no directory: the
/// answer carries no details, and removal by someone who may not remove
/// answers the same for existing and missing users.
#[tokio::test]
async fn member_mutations_are_no_user_directory() {
    let db = TestDb::new().await;
    // The statement count is a test-only side channel of its own: off here.
    let s =
        TestServer::start_with(&db.url, &[("PALISADE_GRAPHQL_EXPOSE_QUERY_COUNT", "false")]).await;
    let admin = s.gql();
    let pt = create_product_type(&admin, "web").await;
    let p = create_product(&admin, pt, "shop").await;
    let (victim, _) = new_user(&s, &db, "victim").await;
    db.client()
        .await
        .execute(
            "UPDATE users SET email = 'victim@example.com', is_superuser = false WHERE id = $1",
            &[&victim],
        )
        .await
        .expect("email");
    let (me, gql) = new_user(&s, &db, "maintainer").await;
    admin_set_member(&admin, gid("Product", p), me, "Maintainer").await;
    let d = gql
        .ok(
            "mutation($o: ID!, $u: ID!) { setMember(input: {object: $o, user: $u, role: READER}) { user { username email isSuperuser lastLogin } } }",
            json!({"o": gid("Product", p), "u": gid("User", victim)}),
        )
        .await;
    assert_eq!(
        d["setMember"]["user"],
        json!({"username": "victim", "email": null, "isSuperuser": null, "lastLogin": null})
    );
    let missing = gql
        .query(
            SET_MEMBER,
            json!({"o": gid("Product", p), "u": gid("User", 999_999), "r": "READER"}),
        )
        .await;
    assert_eq!(missing.error_code(), Some("NOT_FOUND"), "{}", missing.body);

    let (reader, reader_gql) = new_user(&s, &db, "reader").await;
    admin_set_member(&admin, gid("Product", p), reader, "Reader").await;
    let remove = "mutation($o: ID!, $u: ID!) { removeMember(input: {object: $o, user: $u}) }";
    let existing = reader_gql
        .query(
            remove,
            json!({"o": gid("Product", p), "u": gid("User", victim)}),
        )
        .await;
    let missing = reader_gql
        .query(
            remove,
            json!({"o": gid("Product", p), "u": gid("User", 999_999)}),
        )
        .await;
    assert_eq!(
        existing.error_code(),
        Some("FORBIDDEN"),
        "{}",
        existing.body
    );
    assert_eq!(existing.body, missing.body);
}

async fn add_location(gql: &Gql, finding: i64, url: &str) -> crate::support::server::GqlResponse {
    gql.query(
        "mutation($f: ID!, $u: String!) { addFindingLocation(input: {finding: $f, url: $u}) { location { id url tags createdAt } } }",
        json!({"f": gid("Finding", finding), "u": url}),
    )
    .await
}

/// Finding 19: linking a URL another product already holds reveals neither
/// that product's tags on it nor, through its age, that it exists there.
#[tokio::test]
async fn shared_location_hides_other_products_tags_and_age() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let pt = create_product_type(&admin, "web").await;
    let (_, foreign_finding) = product_with_finding(&admin, pt, "partner").await;
    let (mine, my_finding) = product_with_finding(&admin, pt, "mine").await;
    let url = "https://partner-x.internal/";
    let d = add_location(&admin, foreign_finding, url).await;
    let location = d.data()["addFindingLocation"]["location"]["id"].clone();
    admin
        .ok(
            "mutation($id: ID!) { addTags(input: {id: $id, tags: [\"acquisition-target\"]}) { tags } }",
            json!({"id": location}),
        )
        .await;
    let (me, gql) = new_user(&s, &db, "writer").await;
    admin_set_member(&admin, gid("Product", mine), me, "Writer").await;
    let r = add_location(&gql, my_finding, url).await;
    assert_eq!(
        r.data()["addFindingLocation"]["location"],
        json!({"id": location, "url": "https://partner-x.internal", "tags": [], "createdAt": null})
    );
    let d = gql
        .ok(
            "query($id: ID!) { finding(id: $id) { locations { location { tags createdAt } } } }",
            json!({"id": gid("Finding", my_finding)}),
        )
        .await;
    assert_eq!(
        d["finding"]["locations"],
        json!([{"location": {"tags": [], "createdAt": null}}])
    );
    // A location of the caller's product alone shows everything.
    let r = add_location(&gql, my_finding, "https://mine.example/").await;
    let own = &r.data()["addFindingLocation"]["location"];
    assert!(own["createdAt"].is_string(), "{own}");
}

fn report_with_endpoint(title: &str, url: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"findings": [{
        "title": title, "description": "d", "severity": "High", "date": "2026-11-01",
        "endpoints": [url],
    }]}))
    .expect("json")
}

/// Finding 19: `apply_tags_to_endpoints` does not retag a location another
/// product shares (that needs `Location_Edit` on every referencing product,
/// as `addTags` asks); locations of the importer's product alone are tagged.
#[tokio::test]
async fn import_does_not_retag_a_shared_location() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let pt = create_product_type(&admin, "web").await;
    let (_, foreign_finding) = product_with_finding(&admin, pt, "partner").await;
    let mine = create_product(&admin, pt, "mine").await;
    let shared_url = "https://partner-x.internal/";
    add_location(&admin, foreign_finding, shared_url).await;
    let token = create_user(&db, "importer", false).await;
    let holder = user_id(&db, "importer").await;
    admin_set_member(&admin, gid("Product", mine), holder, "Writer").await;
    let fields = [
        ("scan_type", "Generic Findings Import"),
        ("product_name", "mine"),
        ("engagement_name", "ci"),
        ("auto_create_context", "true"),
        ("tags", "pwned"),
        ("apply_tags_to_endpoints", "true"),
    ];
    let (status, body) = rest_import(
        &s,
        IMPORT,
        Some(&token),
        import_form(
            &fields,
            report_with_endpoint("a", shared_url),
            "report.json",
        ),
    )
    .await
    .status_and_json();
    assert_eq!(status, 201, "{body}");
    let (status, body) = rest_import(
        &s,
        IMPORT,
        Some(&token),
        import_form(
            &fields,
            report_with_endpoint("b", "https://mine.example/"),
            "report.json",
        ),
    )
    .await
    .status_and_json();
    assert_eq!(status, 201, "{body}");
    let c = db.client().await;
    let tags = |host: &'static str| {
        let c = &c;
        async move {
            let row = c
                .query_one("SELECT tags FROM locations WHERE host = $1", &[&host])
                .await
                .expect("location");
            row.get::<_, Vec<String>>(0)
        }
    };
    assert!(tags("partner-x.internal").await.is_empty());
    assert_eq!(tags("mine.example").await, vec!["pwned".to_owned()]);
}

/// INFO: a private note is for its author, superusers and the product's
/// Maintainers and Owners, not for other Writers or Readers.
#[tokio::test]
async fn private_notes_are_for_their_author_and_the_product_maintainers() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let pt = create_product_type(&admin, "web").await;
    let (p, f) = product_with_finding(&admin, pt, "shop").await;
    let (author, author_gql) = new_user(&s, &db, "author").await;
    let (writer, writer_gql) = new_user(&s, &db, "writer").await;
    let (maintainer, maintainer_gql) = new_user(&s, &db, "maintainer").await;
    let (reader, reader_gql) = new_user(&s, &db, "reader").await;
    admin_set_member(&admin, gid("Product", p), author, "Writer").await;
    admin_set_member(&admin, gid("Product", p), writer, "Writer").await;
    admin_set_member(&admin, gid("Product", p), maintainer, "Maintainer").await;
    admin_set_member(&admin, gid("Product", p), reader, "Reader").await;
    let create = "mutation($p: ID!, $e: String!, $private: Boolean) { createNote(input: {parent: $p, entry: $e, private: $private}) { note { id } } }";
    let private = author_gql
        .ok(
            create,
            json!({"p": gid("Finding", f), "e": "the exploit works", "private": true}),
        )
        .await["createNote"]["note"]["id"]
        .clone();
    author_gql
        .ok(
            create,
            json!({"p": gid("Finding", f), "e": "triaged", "private": false}),
        )
        .await;
    let notes = "query($id: ID!) { finding(id: $id) { notes { entry } } }";
    let entries = |d: Value| -> Vec<String> {
        d["finding"]["notes"]
            .as_array()
            .expect("notes")
            .iter()
            .map(|n| n["entry"].as_str().expect("entry").to_owned())
            .collect()
    };
    let both = vec!["the exploit works".to_owned(), "triaged".to_owned()];
    for (who, g) in [
        ("author", &author_gql),
        ("maintainer", &maintainer_gql),
        ("superuser", &admin),
    ] {
        let mut got = entries(g.ok(notes, json!({"id": gid("Finding", f)})).await);
        got.sort();
        assert_eq!(got, both, "{who}");
    }
    for (who, g) in [("writer", &writer_gql), ("reader", &reader_gql)] {
        assert_eq!(
            entries(g.ok(notes, json!({"id": gid("Finding", f)})).await),
            vec!["triaged".to_owned()],
            "{who}"
        );
    }
    let r = reader_gql
        .query(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({"id": private}),
        )
        .await;
    assert_eq!(r.error_code(), Some("NOT_FOUND"), "{}", r.body);
}

/// INFO: test types are global; a Writer picks an existing one, only a
/// superuser adds a new one.
#[tokio::test]
async fn writers_cannot_create_global_test_types() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let pt = create_product_type(&admin, "web").await;
    let (p, _) = product_with_finding(&admin, pt, "shop").await;
    let e = admin
        .ok(
            "query($id: ID!) { product(id: $id) { engagements { edges { node { id } } } } }",
            json!({"id": gid("Product", p)}),
        )
        .await["product"]["engagements"]["edges"][0]["node"]["id"]
        .clone();
    let (me, gql) = new_user(&s, &db, "writer").await;
    admin_set_member(&admin, gid("Product", p), me, "Writer").await;
    let create = "mutation($e: ID!, $t: String!) { createTest(input: {engagement: $e, testType: $t}) { test { testType { name } } } }";
    let before = db.count("test_types").await;
    let r = gql
        .query(create, json!({"e": e, "t": "Totally Real Scanner"}))
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert_eq!(db.count("test_types").await, before);
    let d = gql
        .ok(create, json!({"e": e, "t": "Manual Code Review"}))
        .await;
    assert_eq!(
        d["createTest"]["test"]["testType"]["name"],
        "Manual Code Review"
    );
    admin
        .ok(create, json!({"e": e, "t": "Totally Real Scanner"}))
        .await;
    assert_eq!(db.count("test_types").await, before + 1);
}

/// INFO: the REST `lead` names a user who may read the product; anyone
/// else answers exactly like a user that does not exist.
#[tokio::test]
async fn rest_import_lead_must_read_the_product() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let pt = create_product_type(&admin, "web").await;
    let p = create_product(&admin, pt, "shop").await;
    let token = create_user(&db, "importer", false).await;
    let importer = user_id(&db, "importer").await;
    admin_set_member(&admin, gid("Product", p), importer, "Writer").await;
    let (colleague, _) = new_user(&s, &db, "colleague").await;
    admin_set_member(&admin, gid("Product", p), colleague, "Reader").await;
    let (stranger, _) = new_user(&s, &db, "stranger").await;
    let report = serde_json::to_vec(&json!({"findings": [{
        "title": "t", "description": "d", "severity": "High", "date": "2026-11-01"
    }]}))
    .expect("json");
    let import = |lead: i64, engagement: &'static str| {
        let lead = lead.to_string();
        let report = report.clone();
        let token = token.clone();
        let s = &s;
        async move {
            let fields = [
                ("scan_type", "Generic Findings Import"),
                ("product_name", "shop"),
                ("engagement_name", engagement),
                ("auto_create_context", "true"),
                ("lead", lead.as_str()),
            ];
            rest_import(
                s,
                IMPORT,
                Some(&token),
                import_form(&fields, report, "report.json"),
            )
            .await
            .status_and_json()
        }
    };
    let before = db.count("engagements").await;
    let (status, stranger_body) = import(stranger, "e1").await;
    assert_eq!(status, 400, "{stranger_body}");
    let (status, missing_body) = import(999_999, "e1").await;
    assert_eq!(status, 400, "{missing_body}");
    assert_eq!(
        stranger_body["lead"][0]
            .as_str()
            .expect("message")
            .replace(&stranger.to_string(), "N"),
        missing_body["lead"][0]
            .as_str()
            .expect("message")
            .replace("999999", "N"),
    );
    assert_eq!(db.count("engagements").await, before, "nothing stored");
    let (status, body) = import(colleague, "e2").await;
    assert_eq!(status, 201, "{body}");
    let lead: Option<i64> = db
        .client()
        .await
        .query_one("SELECT lead_id FROM engagements WHERE name = 'e2'", &[])
        .await
        .expect("engagement")
        .get(0);
    assert_eq!(lead, Some(colleague));
}

/// INFO: `dedupeExplain` names the stored duplicate only when the caller
/// may read it (a cross-product link fabricated in the data).
#[tokio::test]
async fn dedupe_explain_hides_a_foreign_duplicate() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let pt = create_product_type(&admin, "web").await;
    let (_, foreign) = product_with_finding(&admin, pt, "partner").await;
    let (mine, own) = product_with_finding(&admin, pt, "mine").await;
    db.client()
        .await
        .execute(
            "UPDATE findings SET duplicate = true, active = false, verified = false, \
             duplicate_finding_id = $1 WHERE id = $2",
            &[&foreign, &own],
        )
        .await
        .expect("fabricate the link");
    let (me, gql) = new_user(&s, &db, "reader").await;
    admin_set_member(&admin, gid("Product", mine), me, "Reader").await;
    let q = "query($id: ID!) { dedupeExplain(finding: $id) }";
    let d = gql.ok(q, json!({"id": gid("Finding", own)})).await;
    let explained = &d["dedupeExplain"];
    assert!(explained.is_object(), "{d}");
    let field = if explained.get("storedDuplicateFindingId").is_some() {
        "storedDuplicateFindingId"
    } else {
        "stored_duplicate_finding_id"
    };
    assert!(explained[field].is_null(), "{explained}");
    let d = admin.ok(q, json!({"id": gid("Finding", own)})).await;
    assert_eq!(d["dedupeExplain"][field], foreign, "{d}");
}
