//! Authorization against real PostgreSQL: the role matrix as
//! `permissions.json` states it, groups, global roles, revocation, and the
//! NOTIFY-based sync between processes.
//!
//! Each test gets its own database from the shared harness
//! ([`crate::support::TestDb`]), dropped at the end, even on panic.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use palisade::authz::{Authz, Object, Permission, ReadableProducts, Role, Subject};
use palisade::db::Db;
use palisade::db::models::membership::{
    GlobalRole, GroupMember, ProductGroup, ProductMember, ProductTypeGroup, ProductTypeMember,
};

use crate::support::TestDb;

/// The shared test database with a pool and a direct SQL client, plus the
/// fixture inserts these tests need.
struct AuthzDb {
    url: String,
    db: Db,
    sql: tokio_postgres::Client,
    /// Dropped last: drops the database.
    _base: TestDb,
}

impl AuthzDb {
    async fn new() -> AuthzDb {
        let base = TestDb::new().await;
        AuthzDb {
            url: base.url.clone(),
            db: base.pool(4).await,
            sql: base.client().await,
            _base: base,
        }
    }

    async fn id(&self, query: &str, name: &str) -> i64 {
        self.sql
            .query_one(query, &[&name])
            .await
            .expect("fixture insert")
            .get(0)
    }

    async fn user(&self, name: &str) -> i64 {
        self.id(
            "INSERT INTO users (username) VALUES ($1) RETURNING id",
            name,
        )
        .await
    }

    async fn group(&self, name: &str) -> i64 {
        self.id("INSERT INTO groups (name) VALUES ($1) RETURNING id", name)
            .await
    }

    async fn product_type(&self, name: &str) -> i64 {
        self.id(
            "INSERT INTO product_types (name) VALUES ($1) RETURNING id",
            name,
        )
        .await
    }

    async fn product(&self, name: &str, product_type: i64) -> Object {
        let id: i64 = self
            .sql
            .query_one(
                "INSERT INTO products (name, description, product_type_id) \
                 VALUES ($1, '', $2) RETURNING id",
                &[&name, &product_type],
            )
            .await
            .expect("product")
            .get(0);
        Object::Product {
            id,
            product_type_id: product_type,
        }
    }
}

/// The matrix as `permissions.json` states it, independent of the Rust tables.
struct Spec {
    role_permissions: BTreeMap<String, Vec<String>>,
    global_extra: BTreeMap<String, Vec<String>>,
    all: Vec<String>,
}

impl Spec {
    fn load() -> Spec {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../server/src/authz/permissions.json"))
                .expect("json");
        let list = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .expect("list")
                .iter()
                .map(|s| s.as_str().expect("name").to_owned())
                .collect()
        };
        let map = |v: &serde_json::Value| -> BTreeMap<String, Vec<String>> {
            v.as_object()
                .expect("object")
                .iter()
                .map(|(k, v)| (k.clone(), list(v)))
                .collect()
        };
        Spec {
            role_permissions: map(&v["role_permissions"]),
            global_extra: map(&v["global_role_extra_permissions"]),
            all: v["permissions"]
                .as_object()
                .expect("permissions")
                .keys()
                .cloned()
                .collect(),
        }
    }

    fn allows(&self, role: Role, p: Permission) -> bool {
        self.role_permissions[role.name()]
            .iter()
            .any(|n| n == p.name())
    }

    /// The representative set: every View, add/edit/delete of engagement,
    /// test and finding, imports, product edit/delete, member management and
    /// every `*_Add_Owner`.
    fn representative(&self) -> Vec<Permission> {
        let picked = |n: &str| {
            n.ends_with("_View")
                || n.ends_with("_Add_Owner")
                || n.contains("Member")
                || n.contains("_Group_")
                || [
                    "Engagement_Add",
                    "Engagement_Edit",
                    "Engagement_Delete",
                    "Test_Add",
                    "Test_Edit",
                    "Test_Delete",
                    "Finding_Add",
                    "Finding_Edit",
                    "Finding_Delete",
                    "Import_Scan_Result",
                    "Product_Edit",
                    "Product_Delete",
                    "Product_Type_Add",
                ]
                .contains(&n)
        };
        self.all
            .iter()
            .filter(|n| picked(n))
            .map(|n| Permission::from_name(n).expect("known permission"))
            .collect()
    }
}

/// How the subject of one matrix row gets its role.
#[derive(Debug, Clone, Copy)]
enum Grant {
    None,
    Superuser,
    ProductMember(Role),
    ProductTypeMember(Role),
    ProductGroup(Role),
    ProductTypeGroup(Role),
    Global(Role),
    GlobalGroup(Role),
}

#[tokio::test]
async fn matrix_matches_permissions_json() {
    let t = AuthzDb::new().await;
    let spec = Spec::load();
    let pt_own = t.product_type("own type").await;
    let pt_foreign = t.product_type("foreign type").await;
    let own = t.product("own", pt_own).await;
    let sibling = t.product("sibling", pt_own).await;
    let foreign = t.product("foreign", pt_foreign).await;
    let Object::Product { id: own_id, .. } = own else {
        unreachable!()
    };

    let mut grants = vec![Grant::None, Grant::Superuser];
    for r in Role::ALL {
        grants.extend([
            Grant::ProductMember(r),
            Grant::ProductTypeMember(r),
            Grant::ProductGroup(r),
            Grant::ProductTypeGroup(r),
            Grant::Global(r),
            Grant::GlobalGroup(r),
        ]);
    }
    let mut subjects = Vec::new();
    for (i, g) in grants.iter().enumerate() {
        let user = t.user(&format!("user{i}")).await;
        let mut c = t.db.conn().await.expect("conn");
        let group = || async {
            let gid = t.group(&format!("group{i}")).await;
            GroupMember::set(
                &mut t.db.conn().await.expect("conn"),
                user,
                gid,
                Role::Reader.id(),
            )
            .await
            .expect("group member");
            gid
        };
        let subject = match *g {
            Grant::None => Subject::user(user),
            Grant::Superuser => {
                t.sql
                    .execute(
                        "UPDATE users SET is_superuser = TRUE WHERE id = $1",
                        &[&user],
                    )
                    .await
                    .expect("superuser");
                Subject::user(user)
            }
            Grant::ProductMember(r) => {
                ProductMember::set(&mut c, user, own_id, r.id())
                    .await
                    .expect("pm");
                Subject::user(user)
            }
            Grant::ProductTypeMember(r) => {
                ProductTypeMember::set(&mut c, user, pt_own, r.id())
                    .await
                    .expect("ptm");
                Subject::user(user)
            }
            Grant::ProductGroup(r) => {
                let gid = group().await;
                ProductGroup::set(&mut c, gid, own_id, r.id())
                    .await
                    .expect("pg");
                Subject::user(user)
            }
            Grant::ProductTypeGroup(r) => {
                let gid = group().await;
                ProductTypeGroup::set(&mut c, gid, pt_own, r.id())
                    .await
                    .expect("ptg");
                Subject::user(user)
            }
            Grant::Global(r) => {
                GlobalRole::set_for_user(&mut c, user, r.id())
                    .await
                    .expect("global");
                Subject::user(user)
            }
            Grant::GlobalGroup(r) => {
                let gid = group().await;
                GlobalRole::set_for_group(&mut c, gid, r.id())
                    .await
                    .expect("global group");
                Subject::user(user)
            }
        };
        subjects.push((*g, subject));
    }

    let authz = Authz::load(&t.db).await.expect("policy");
    let perms = spec.representative();
    assert!(
        perms.len() >= 40,
        "representative set too small: {}",
        perms.len()
    );
    let mut checked = 0usize;
    for (grant, subject) in &subjects {
        // Expected access to (own product, sibling in own type, foreign
        // product, own type, foreign type, global) per permissions.json.
        let expect = |p: Permission| -> [bool; 6] {
            let has = |r: Role| spec.allows(r, p);
            match *grant {
                Grant::None => [false; 6],
                Grant::Superuser => [true; 6],
                Grant::ProductMember(r) | Grant::ProductGroup(r) => {
                    [has(r), false, false, false, false, false]
                }
                Grant::ProductTypeMember(r) | Grant::ProductTypeGroup(r) => {
                    [has(r), has(r), false, has(r), false, false]
                }
                Grant::Global(r) | Grant::GlobalGroup(r) => {
                    let extra = spec
                        .global_extra
                        .get(r.name())
                        .is_some_and(|l| l.iter().any(|n| n == p.name()));
                    [has(r), has(r), has(r), has(r), has(r), has(r) || extra]
                }
            }
        };
        for &p in &perms {
            let objects = [
                own,
                sibling,
                foreign,
                Object::ProductType(pt_own),
                Object::ProductType(pt_foreign),
                Object::Global,
            ];
            let want = expect(p);
            for (o, want) in objects.into_iter().zip(want) {
                assert_eq!(authz.can(*subject, p, o), want, "{grant:?} {p} on {o}");
                assert_eq!(
                    authz.enforce_with_casbin(*subject, p, o).expect("casbin"),
                    want,
                    "casbin: {grant:?} {p} on {o}"
                );
                assert_eq!(authz.require(*subject, p, o).is_ok(), want);
                checked += 1;
            }
        }
        // The list filter agrees with Product_View.
        let readable = authz.readable_product_ids(*subject);
        for o in [own, sibling, foreign] {
            let Object::Product { id, .. } = o else {
                unreachable!()
            };
            assert_eq!(
                readable.contains(id),
                authz.can(*subject, Permission::Product_View, o),
                "{grant:?} readable {id}"
            );
        }
    }
    assert!(checked > 5_000, "only {checked} checks");
}

#[tokio::test]
async fn groups_global_roles_and_max_role() {
    let t = AuthzDb::new().await;
    let pt = t.product_type("pt").await;
    let p1 = t.product("p1", pt).await;
    let p2 = t.product("p2", pt).await;
    let other_pt = t.product_type("other").await;
    let p3 = t.product("p3", other_pt).await;
    let Object::Product { id: p1_id, .. } = p1 else {
        unreachable!()
    };
    let alice = t.user("alice").await;
    let team = t.group("team").await;
    {
        let mut c = t.db.conn().await.expect("conn");
        GroupMember::set(&mut c, alice, team, Role::Maintainer.id())
            .await
            .expect("gm");
        ProductTypeGroup::set(&mut c, team, pt, Role::Reader.id())
            .await
            .expect("ptg");
        ProductMember::set(&mut c, alice, p1_id, Role::Owner.id())
            .await
            .expect("pm");
        GlobalRole::set_for_group(&mut c, team, Role::API_Importer.id())
            .await
            .expect("global");
    }
    let authz = Authz::load(&t.db).await.expect("policy");
    let a = Subject::user(alice);
    // Roles combine: Owner on p1, Reader on p2 via the group, API_Importer
    // everywhere via the group's global role.
    assert!(authz.can(a, Permission::Product_Delete, p1));
    assert!(authz.can(a, Permission::Note_Add, p2));
    assert!(authz.can(a, Permission::Import_Scan_Result, p2));
    assert!(authz.can(a, Permission::Import_Scan_Result, p3));
    assert!(!authz.can(a, Permission::Note_Add, p3));
    assert!(!authz.can(a, Permission::Product_Type_Add, Object::Global));
    assert!(authz.can(a, Permission::Group_Manage_Members, Object::Group(team)));
    assert!(!authz.can(a, Permission::Group_Add_Owner, Object::Group(team)));
    assert_eq!(authz.max_role(a, p1), Some(Role::Owner));
    assert_eq!(authz.max_role(a, p2), Some(Role::API_Importer));
    assert_eq!(authz.max_role(a, p3), Some(Role::API_Importer));
    assert!(authz.can_grant(a, p1, Role::Owner));
    assert!(!authz.can_grant(a, p2, Role::Writer));
    assert_eq!(authz.readable_product_ids(a), ReadableProducts::All);
    assert_eq!(authz.readable_product_type_ids(a), ReadableProducts::All);
}

#[tokio::test]
async fn revocation_takes_effect_on_reload() {
    let t = AuthzDb::new().await;
    let pt = t.product_type("pt").await;
    let p = t.product("p", pt).await;
    let p_other = t.product("q", pt).await;
    let Object::Product { id: pid, .. } = p else {
        unreachable!()
    };
    let bob = t.user("bob").await;
    let team = t.group("team").await;
    let b = Subject::user(bob);
    let mut c = t.db.conn().await.expect("conn");
    ProductMember::set(&mut c, bob, pid, Role::Writer.id())
        .await
        .expect("pm");
    GroupMember::set(&mut c, bob, team, Role::Reader.id())
        .await
        .expect("gm");
    ProductTypeGroup::set(&mut c, team, pt, Role::Reader.id())
        .await
        .expect("ptg");
    let authz = Authz::load(&t.db).await.expect("policy");
    assert!(authz.can(b, Permission::Finding_Edit, p));
    assert!(authz.can(b, Permission::Finding_View, p_other));

    // Downgrade, then remove: each is visible only after a reload.
    ProductMember::set(&mut c, bob, pid, Role::Reader.id())
        .await
        .expect("downgrade");
    assert!(authz.can(b, Permission::Finding_Edit, p));
    authz.reload(&t.db).await.expect("reload");
    assert!(!authz.can(b, Permission::Finding_Edit, p));
    assert!(authz.can(b, Permission::Finding_View, p));

    assert!(
        ProductMember::remove(&mut c, bob, pid)
            .await
            .expect("remove")
    );
    assert!(
        !ProductMember::remove(&mut c, bob, pid)
            .await
            .expect("remove again")
    );
    assert!(
        GroupMember::remove(&mut c, bob, team)
            .await
            .expect("leave group")
    );
    authz.reload(&t.db).await.expect("reload");
    assert!(
        authz
            .require(b, Permission::Finding_View, p)
            .is_err_and(|e| e.to_string().contains("Finding_View"))
    );
    assert!(!authz.can(b, Permission::Finding_View, p_other));
    assert_eq!(
        authz.readable_product_ids(b),
        ReadableProducts::Some(vec![])
    );

    // Deactivating a user voids their memberships.
    ProductTypeMember::set(&mut c, bob, pt, Role::Owner.id())
        .await
        .expect("ptm");
    authz.reload(&t.db).await.expect("reload");
    assert!(authz.can(b, Permission::Product_Delete, p));
    t.sql
        .execute("UPDATE users SET is_active = FALSE WHERE id = $1", &[&bob])
        .await
        .expect("deactivate");
    authz.reload(&t.db).await.expect("reload");
    assert!(!authz.can(b, Permission::Product_View, p));
}

/// Waits until `cond` holds, at most `limit`.
async fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cond().then(|| start.elapsed())
}

#[tokio::test]
async fn notify_keeps_two_processes_in_sync() {
    let t = AuthzDb::new().await;
    let pt = t.product_type("pt").await;
    let p = t.product("p", pt).await;
    let carol = t.user("carol").await;
    let c_sub = Subject::user(carol);

    // Two "processes": separate pools, separate listeners.
    let db_a = Db::connect(&t.url, 2).await.expect("pool a");
    let db_b = Db::connect(&t.url, 2).await.expect("pool b");
    let a = Authz::start(&t.url, db_a.clone()).await.expect("start a");
    let b = Authz::start(&t.url, db_b).await.expect("start b");
    assert!(!a.can(c_sub, Permission::Product_View, p));
    // Let both listeners subscribe (they reload once when they have).
    eventually(Duration::from_secs(5), || {
        a.generation() >= 2 && b.generation() >= 2
    })
    .await
    .expect("listeners subscribed");

    // A change made through process A's connection reaches both.
    ProductTypeMember::set(
        &mut db_a.conn().await.expect("conn"),
        carol,
        pt,
        Role::Writer.id(),
    )
    .await
    .expect("grant");
    let took = eventually(Duration::from_secs(2), || {
        a.can(c_sub, Permission::Finding_Add, p) && b.can(c_sub, Permission::Finding_Add, p)
    })
    .await
    .expect("grant reached both processes within 2 s");
    eprintln!("grant propagated in {took:?}");

    // Revocation from a third connection (another process entirely).
    ProductTypeMember::remove(&mut t.db.conn().await.expect("conn"), carol, pt)
        .await
        .expect("revoke");
    eventually(Duration::from_secs(2), || {
        !a.can(c_sub, Permission::Product_View, p) && !b.can(c_sub, Permission::Product_View, p)
    })
    .await
    .expect("revocation reached both processes within 2 s");

    // A rolled-back change notifies nobody.
    let before = b.generation();
    let mut c = t.db.conn().await.expect("conn");
    let rolled_back: Result<(), diesel::result::Error> = {
        use diesel_async::AsyncConnection;
        c.transaction(async |c| {
            GlobalRole::set_for_user(c, carol, Role::Owner.id()).await?;
            Err(diesel::result::Error::RollbackTransaction)
        })
        .await
    };
    assert!(rolled_back.is_err());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(b.generation(), before);
    assert!(!b.can(c_sub, Permission::Product_View, p));
}

#[tokio::test]
async fn listener_reconnects_after_losing_its_connection() {
    let t = AuthzDb::new().await;
    let pt = t.product_type("pt").await;
    let p = t.product("p", pt).await;
    let dave = t.user("dave").await;
    let d = Subject::user(dave);
    let a = Authz::start(&t.url, t.db.clone()).await.expect("start");
    eventually(Duration::from_secs(5), || a.generation() >= 2)
        .await
        .expect("listener subscribed");

    // Kill the listening backend; while it is gone, grant a role.
    let killed = t
        .sql
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
            &[],
        )
        .await
        .expect("terminate");
    assert_eq!(killed, 1, "one listener backend");
    ProductTypeMember::set(
        &mut t.db.conn().await.expect("conn"),
        dave,
        pt,
        Role::Reader.id(),
    )
    .await
    .expect("grant");
    // The reconnect reloads, so even a notification sent while nobody
    // listened is not lost.
    eventually(Duration::from_secs(5), || {
        a.can(d, Permission::Product_View, p)
    })
    .await
    .expect("listener came back and reloaded");
}
