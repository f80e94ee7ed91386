//! Access control over the real server: every role (and none, and superuser)
//! × every guarded operation × (own product, product in own product type,
//! foreign product), with the expectation read from permissions.json; and
//! leak tests reaching for a foreign product's data through every relation.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use crate::support::{Gql, TestDb, TestServer};

/// Creates a user with an API token straight in the database; returns the
/// token.
pub async fn create_user(db: &TestDb, username: &str, superuser: bool) -> String {
    let c = db.client().await;
    let id: i64 = c
        .query_one(
            "INSERT INTO users (username, is_superuser) VALUES ($1, $2) RETURNING id",
            &[&username, &superuser],
        )
        .await
        .expect("insert user")
        .get(0);
    let token = palisade::domain::user::generate_token();
    c.execute(
        "INSERT INTO api_tokens (user_id, name, prefix, token_hash) VALUES ($1, 'test', $2, $3)",
        &[&id, &token.prefix, &token.hash],
    )
    .await
    .expect("insert token");
    token.secret
}

/// The role matrix as permissions.json states it.
struct Matrix {
    roles: HashMap<String, HashSet<String>>,
}

impl Matrix {
    fn load() -> Matrix {
        let text = include_str!("../../server/src/authz/permissions.json");
        let v: Value = serde_json::from_str(text).expect("permissions.json");
        let roles = v["role_permissions"]
            .as_object()
            .expect("role_permissions")
            .iter()
            .map(|(role, perms)| {
                (
                    role.clone(),
                    perms
                        .as_array()
                        .expect("list")
                        .iter()
                        .map(|p| p.as_str().expect("name").to_owned())
                        .collect(),
                )
            })
            .collect();
        Matrix { roles }
    }

    fn has(&self, role: Option<&str>, perm: &str) -> bool {
        role.and_then(|r| self.roles.get(r))
            .is_some_and(|p| p.contains(perm))
    }
}

/// GraphQL enum spelling of a role.
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Allowed,
    Forbidden,
    NotFound,
}

fn outcome(r: &crate::support::server::GqlResponse) -> Outcome {
    match r.error_code() {
        None => Outcome::Allowed,
        Some("FORBIDDEN") => Outcome::Forbidden,
        Some("NOT_FOUND") => Outcome::NotFound,
        Some(other) => panic!("unexpected {other}: {}", r.body),
    }
}

/// One product and its children, made by the admin.
#[derive(Debug, Clone)]
struct Place {
    product_type: Value,
    product: Value,
    engagement: Value,
    test: Value,
    finding: Value,
}

async fn id_of(admin: &Gql, query: &str, vars: Value, path: &[&str]) -> Value {
    let d = admin.ok(query, vars).await;
    let mut v = &d;
    for p in path {
        v = &v[p];
    }
    assert!(v.is_string(), "no id at {path:?} in {d}");
    v.clone()
}

async fn product_type(admin: &Gql, name: &str) -> Value {
    id_of(
        admin,
        "mutation($n: String!) { createProductType(input: {name: $n}) { productType { id } } }",
        json!({"n": name}),
        &["createProductType", "productType", "id"],
    )
    .await
}

async fn product(admin: &Gql, pt: &Value, name: &str) -> Value {
    id_of(
        admin,
        "mutation($pt: ID!, $n: String!) { createProduct(input: {productType: $pt, name: $n, description: \"d\"}) { product { id } } }",
        json!({"pt": pt, "n": name}),
        &["createProduct", "product", "id"],
    )
    .await
}

async fn engagement(admin: &Gql, product: &Value) -> Value {
    id_of(
        admin,
        "mutation($p: ID!) { createEngagement(input: {product: $p, name: \"e\"}) { engagement { id } } }",
        json!({"p": product}),
        &["createEngagement", "engagement", "id"],
    )
    .await
}

async fn test(admin: &Gql, engagement: &Value) -> Value {
    id_of(
        admin,
        "mutation($e: ID!) { createTest(input: {engagement: $e, testType: \"Manual Code Review\"}) { test { id } } }",
        json!({"e": engagement}),
        &["createTest", "test", "id"],
    )
    .await
}

async fn finding(admin: &Gql, test: &Value, title: &str) -> Value {
    id_of(
        admin,
        "mutation($t: ID!, $title: String!) { createFinding(input: {test: $t, title: $title, severity: HIGH, description: \"d\"}) { finding { id } } }",
        json!({"t": test, "title": title}),
        &["createFinding", "finding", "id"],
    )
    .await
}

async fn place(admin: &Gql, pt: &Value, name: &str) -> Place {
    let p = product(admin, pt, name).await;
    let e = engagement(admin, &p).await;
    let t = test(admin, &e).await;
    let f = finding(admin, &t, &format!("{name} finding")).await;
    Place {
        product_type: pt.clone(),
        product: p,
        engagement: e,
        test: t,
        finding: f,
    }
}

async fn set_member(admin: &Gql, object: &Value, user: &Value, role: &str) {
    admin
        .ok(
            "mutation($o: ID!, $u: ID!, $r: Role!) { setMember(input: {object: $o, user: $u, role: $r}) { role } }",
            json!({"o": object, "u": user, "r": gql_role(role)}),
        )
        .await;
}

async fn user_id(admin: &Gql, username: &str) -> Value {
    let d = admin
        .ok(
            "query($u: String) { users(usernameContains: $u) { id username } }",
            json!({"u": username}),
        )
        .await;
    d["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["username"] == username)
        .expect("user")["id"]
        .clone()
}

/// The guarded operations: name, the permissions it needs, whether it is
/// checked on the product type (else on the product).
const OPS: &[(&str, &[&str], bool)] = &[
    ("view product", &["Product_View"], false),
    ("view finding", &["Finding_View"], false),
    ("edit product", &["Product_Edit"], false),
    ("delete product", &["Product_Delete"], false),
    ("add engagement", &["Engagement_Add"], false),
    ("edit engagement", &["Engagement_Edit"], false),
    ("delete engagement", &["Engagement_Delete"], false),
    ("add test", &["Test_Add"], false),
    ("edit test", &["Test_Edit"], false),
    ("delete test", &["Test_Delete"], false),
    ("add finding", &["Finding_Add"], false),
    ("edit finding", &["Finding_Edit"], false),
    ("accept risk", &["Finding_Edit", "Risk_Acceptance"], false),
    ("delete finding", &["Finding_Delete"], false),
    ("add note", &["Note_Add"], false),
    ("add location", &["Location_Add"], false),
    ("tag finding", &["Finding_Edit"], false),
    ("add product member", &["Product_Manage_Members"], false),
    ("add product", &["Product_Type_Add_Product"], true),
    ("edit product type", &["Product_Type_Edit"], true),
    (
        "add product type member",
        &["Product_Type_Manage_Members"],
        true,
    ),
];

/// Runs one operation as `g` against `place`; the admin makes any fresh
/// object a destructive operation consumes.
async fn run(op: &str, g: &Gql, admin: &Gql, place: &Place, member_target: &Value) -> Outcome {
    let q = |query: &'static str, vars: Value| {
        let g = g.clone();
        async move { outcome(&g.query(query, vars).await) }
    };
    match op {
        "view product" => {
            q("query($id: ID!) { product(id: $id) { id } }", json!({"id": place.product})).await
        }
        "view finding" => {
            q("query($id: ID!) { finding(id: $id) { id title } }", json!({"id": place.finding}))
                .await
        }
        "edit product" => {
            q("mutation($id: ID!) { updateProduct(input: {id: $id, description: \"changed\"}) { product { id } } }", json!({"id": place.product})).await
        }
        "delete product" => {
            // A fresh product in the same place, with the same memberships.
            let fresh = product(admin, &place.product_type, &format!("doomed {}", uuid::Uuid::new_v4())).await;
            copy_members(admin, &place.product, &fresh).await;
            q("mutation($id: ID!) { deleteProduct(input: {id: $id}) { deletedId } }", json!({"id": fresh})).await
        }
        "add engagement" => {
            q("mutation($p: ID!) { createEngagement(input: {product: $p, name: \"new\"}) { engagement { id } } }", json!({"p": place.product})).await
        }
        "edit engagement" => {
            q("mutation($id: ID!) { updateEngagement(input: {id: $id, description: \"x\"}) { engagement { id } } }", json!({"id": place.engagement})).await
        }
        "delete engagement" => {
            let fresh = engagement(admin, &place.product).await;
            q("mutation($id: ID!) { deleteEngagement(input: {id: $id}) { deletedId } }", json!({"id": fresh})).await
        }
        "add test" => {
            q("mutation($e: ID!) { createTest(input: {engagement: $e, testType: \"Manual Code Review\"}) { test { id } } }", json!({"e": place.engagement})).await
        }
        "edit test" => {
            q("mutation($id: ID!) { updateTest(input: {id: $id, description: \"x\"}) { test { id } } }", json!({"id": place.test})).await
        }
        "delete test" => {
            let fresh = test(admin, &place.engagement).await;
            q("mutation($id: ID!) { deleteTest(input: {id: $id}) { deletedId } }", json!({"id": fresh})).await
        }
        "add finding" => {
            q("mutation($t: ID!) { createFinding(input: {test: $t, title: \"by hand\", severity: LOW, description: \"d\"}) { finding { id } } }", json!({"t": place.test})).await
        }
        "edit finding" => {
            q("mutation($id: ID!) { updateFinding(input: {id: $id, mitigation: \"patch\"}) { finding { id } } }", json!({"id": place.finding})).await
        }
        "accept risk" => {
            let fresh = finding(admin, &place.test, "risky").await;
            q("mutation($id: ID!) { updateFinding(input: {id: $id, riskAccepted: true}) { finding { id } } }", json!({"id": fresh})).await
        }
        "delete finding" => {
            let fresh = finding(admin, &place.test, "doomed").await;
            q("mutation($id: ID!) { deleteFinding(input: {id: $id}) { deletedId } }", json!({"id": fresh})).await
        }
        "add note" => {
            q("mutation($p: ID!) { createNote(input: {parent: $p, entry: \"seen\"}) { note { id } } }", json!({"p": place.finding})).await
        }
        "add location" => {
            q("mutation($f: ID!) { addFindingLocation(input: {finding: $f, url: \"https://example.com/a\"}) { location { id } } }", json!({"f": place.finding})).await
        }
        "tag finding" => {
            q("mutation($id: ID!) { addTags(input: {id: $id, tags: [\"triaged\"]}) { tags } }", json!({"id": place.finding})).await
        }
        "add product member" => {
            q("mutation($o: ID!, $u: ID!) { setMember(input: {object: $o, user: $u, role: READER}) { role } }", json!({"o": place.product, "u": member_target})).await
        }
        "add product" => {
            q("mutation($pt: ID!, $n: String!) { createProduct(input: {productType: $pt, name: $n, description: \"d\"}) { product { id } } }", json!({"pt": place.product_type, "n": uuid::Uuid::new_v4().to_string()})).await
        }
        "edit product type" => {
            q("mutation($id: ID!) { updateProductType(input: {id: $id, description: \"x\"}) { productType { id } } }", json!({"id": place.product_type})).await
        }
        "add product type member" => {
            q("mutation($o: ID!, $u: ID!) { setMember(input: {object: $o, user: $u, role: READER}) { role } }", json!({"o": place.product_type, "u": member_target})).await
        }
        other => panic!("unknown operation {other}"),
    }
}

async fn copy_members(admin: &Gql, from: &Value, to: &Value) {
    let d = admin
        .ok(
            "query($id: ID!) { product(id: $id) { members { user { id } role } } }",
            json!({"id": from}),
        )
        .await;
    for m in d["product"]["members"].as_array().expect("members") {
        admin
            .ok(
                "mutation($o: ID!, $u: ID!, $r: Role!) { setMember(input: {object: $o, user: $u, role: $r}) { role } }",
                json!({"o": to, "u": m["user"]["id"], "r": m["role"]}),
            )
            .await;
    }
}

#[tokio::test]
async fn every_role_on_every_operation_in_every_scope() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let matrix = Matrix::load();
    let pt_a = product_type(&admin, "A").await;
    let pt_b = product_type(&admin, "B").await;
    let target_token = create_user(&db, "target", false).await;
    drop(target_token);
    let member_target = user_id(&admin, "target").await;

    struct Scenario {
        label: String,
        token: String,
        place: Place,
        product_role: Option<String>,
        pt_role: Option<String>,
        superuser: bool,
    }
    let mut scenarios = Vec::new();
    let foreign = place(&admin, &pt_b, "foreign").await;
    for role in ["Reader", "API_Importer", "Writer", "Maintainer", "Owner"] {
        // Role on one product: that product is "own".
        let own = place(&admin, &pt_a, &format!("own {role}")).await;
        let token = create_user(&db, &format!("prod_{role}"), false).await;
        let uid = user_id(&admin, &format!("prod_{role}")).await;
        set_member(&admin, &own.product, &uid, role).await;
        scenarios.push(Scenario {
            label: format!("{role} on the product"),
            token: token.clone(),
            place: own,
            product_role: Some(role.to_owned()),
            pt_role: None,
            superuser: false,
        });
        scenarios.push(Scenario {
            label: format!("{role} elsewhere, foreign product"),
            token,
            place: foreign.clone(),
            product_role: None,
            pt_role: None,
            superuser: false,
        });
        // Role on a product type: its products inherit it.
        let pt = product_type(&admin, &format!("type {role}")).await;
        let inherited = place(&admin, &pt, &format!("inherited {role}")).await;
        let token = create_user(&db, &format!("pt_{role}"), false).await;
        let uid = user_id(&admin, &format!("pt_{role}")).await;
        set_member(&admin, &pt, &uid, role).await;
        scenarios.push(Scenario {
            label: format!("{role} on the product type"),
            token,
            place: inherited,
            product_role: Some(role.to_owned()),
            pt_role: Some(role.to_owned()),
            superuser: false,
        });
    }
    let nobody = create_user(&db, "nobody", false).await;
    scenarios.push(Scenario {
        label: "no role".to_owned(),
        token: nobody,
        place: place(&admin, &pt_a, "nobody's").await,
        product_role: None,
        pt_role: None,
        superuser: false,
    });
    let root = create_user(&db, "root", true).await;
    scenarios.push(Scenario {
        label: "superuser".to_owned(),
        token: root,
        place: place(&admin, &pt_a, "root's").await,
        product_role: None,
        pt_role: None,
        superuser: true,
    });

    let mut failures = Vec::new();
    let mut checked = 0;
    for sc in &scenarios {
        let g = s.gql_as(&sc.token);
        for (op, perms, on_type) in OPS {
            let role = if *on_type {
                sc.pt_role.as_deref()
            } else {
                sc.product_role.as_deref()
            };
            let view = if *on_type {
                "Product_Type_View"
            } else {
                "Product_View"
            };
            let expected = if sc.superuser || perms.iter().all(|p| matrix.has(role, p)) {
                Outcome::Allowed
            } else if matrix.has(role, view) {
                Outcome::Forbidden
            } else {
                Outcome::NotFound
            };
            let got = run(op, &g, &admin, &sc.place, &member_target).await;
            checked += 1;
            if got != expected {
                failures.push(format!(
                    "{} / {op}: expected {expected:?}, got {got:?}",
                    sc.label
                ));
            }
        }
    }
    assert!(checked >= 17 * OPS.len());
    assert!(
        failures.is_empty(),
        "{} of {checked} cases wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn nobody_can_grant_above_their_own_role() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let pt = product_type(&admin, "T").await;
    let p = product(&admin, &pt, "P").await;
    let token = create_user(&db, "maint", false).await;
    let maint = user_id(&admin, "maint").await;
    create_user(&db, "other", false).await;
    let other = user_id(&admin, "other").await;
    set_member(&admin, &p, &maint, "Maintainer").await;
    let g = s.gql_as(&token);
    let set = |role: &'static str, user: Value| {
        let g = g.clone();
        let p = p.clone();
        async move {
            g.query(
                "mutation($o: ID!, $u: ID!, $r: Role!) { setMember(input: {object: $o, user: $u, role: $r}) { role } }",
                json!({"o": p, "u": user, "r": role}),
            )
            .await
        }
    };
    assert_eq!(
        outcome(&set("MAINTAINER", other.clone()).await),
        Outcome::Allowed
    );
    let r = set("OWNER", other.clone()).await;
    assert_eq!(outcome(&r), Outcome::Forbidden, "{}", r.body);
    assert!(r.error_message().contains("Owner"));
    // Nor promote themselves.
    assert_eq!(
        outcome(&set("OWNER", maint.clone()).await),
        Outcome::Forbidden
    );
    // An owner's membership is owner business.
    set_member(&admin, &p, &other, "Owner").await;
    assert_eq!(
        outcome(&set("READER", other.clone()).await),
        Outcome::Forbidden
    );
    let r = g
        .query(
            "mutation($o: ID!, $u: ID!) { removeMember(input: {object: $o, user: $u}) }",
            json!({"o": p, "u": other}),
        )
        .await;
    assert_eq!(outcome(&r), Outcome::Forbidden);
    // Anyone may leave.
    let r = g
        .query(
            "mutation($o: ID!, $u: ID!) { removeMember(input: {object: $o, user: $u}) }",
            json!({"o": p, "u": maint}),
        )
        .await;
    assert_eq!(r.data()["removeMember"], true);
    let r = g
        .query(
            "query($id: ID!) { product(id: $id) { id } }",
            json!({"id": p}),
        )
        .await;
    assert_eq!(
        outcome(&r),
        Outcome::NotFound,
        "access ends with the membership"
    );
}

#[tokio::test]
async fn group_roles_and_global_roles_grant_access() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let pt = product_type(&admin, "T").await;
    let p = product(&admin, &pt, "P").await;
    let token = create_user(&db, "grouped", false).await;
    let uid = user_id(&admin, "grouped").await;
    let g = s.gql_as(&token);
    let view = "query($id: ID!) { product(id: $id) { id } }";
    assert_eq!(
        outcome(&g.query(view, json!({"id": p})).await),
        Outcome::NotFound
    );

    let group = admin
        .ok(
            "mutation { createGroup(input: {name: \"auditors\"}) { id } }",
            json!({}),
        )
        .await["createGroup"]["id"]
        .clone();
    admin
        .ok(
            "mutation($g: ID!, $u: ID!) { setGroupMember(input: {group: $g, user: $u, role: READER}) { role } }",
            json!({"g": group, "u": uid}),
        )
        .await;
    admin
        .ok(
            "mutation($o: ID!, $g: ID!) { setGroupRole(input: {object: $o, group: $g, role: READER}) { role } }",
            json!({"o": pt, "g": group}),
        )
        .await;
    assert_eq!(
        outcome(&g.query(view, json!({"id": p})).await),
        Outcome::Allowed
    );
    // Reader through the group: no edits.
    let r = g
        .query(
            "mutation($id: ID!) { updateProduct(input: {id: $id, description: \"x\"}) { product { id } } }",
            json!({"id": p}),
        )
        .await;
    assert_eq!(outcome(&r), Outcome::Forbidden);
    admin
        .ok(
            "mutation($o: ID!, $g: ID!) { removeGroupRole(input: {object: $o, group: $g}) }",
            json!({"o": pt, "g": group}),
        )
        .await;
    assert_eq!(
        outcome(&g.query(view, json!({"id": p})).await),
        Outcome::NotFound
    );

    // A global Maintainer sees everything and may create product types.
    admin
        .ok(
            "mutation($u: ID!) { setGlobalRole(input: {user: $u, role: MAINTAINER}) }",
            json!({"u": uid}),
        )
        .await;
    assert_eq!(
        outcome(&g.query(view, json!({"id": p})).await),
        Outcome::Allowed
    );
    let r = g
        .query(
            "mutation { createProductType(input: {name: \"mine\"}) { productType { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(outcome(&r), Outcome::Allowed, "{}", r.body);
    // Only superusers hand out global roles or make groups.
    let r = g
        .query(
            "mutation($u: ID!) { setGlobalRole(input: {user: $u, role: OWNER}) }",
            json!({"u": uid}),
        )
        .await;
    assert_eq!(outcome(&r), Outcome::Forbidden);
    let r = g
        .query(
            "mutation { createGroup(input: {name: \"x\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(outcome(&r), Outcome::Forbidden);
}

#[tokio::test]
async fn a_foreign_products_data_does_not_leak_through_any_relation() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let pt_own = product_type(&admin, "own type").await;
    let pt_foreign = product_type(&admin, "foreign type").await;
    let own = place(&admin, &pt_own, "own").await;
    let foreign = place(&admin, &pt_foreign, "secret").await;
    // A foreign note, a shared location and a duplicate link across products.
    let note = admin
        .ok(
            "mutation($p: ID!) { createNote(input: {parent: $p, entry: \"secret note\"}) { note { id } } }",
            json!({"p": foreign.finding}),
        )
        .await["createNote"]["note"]["id"]
        .clone();
    for f in [&own.finding, &foreign.finding] {
        admin
            .ok(
                "mutation($f: ID!) { addFindingLocation(input: {finding: $f, url: \"https://shared.example.com/\"}) { location { id } } }",
                json!({"f": f}),
            )
            .await;
    }
    let c = db.client().await;
    c.execute(
        "UPDATE findings SET duplicate = true, active = false, duplicate_finding_id = (SELECT id FROM findings WHERE title = 'secret finding') WHERE title = 'own finding'",
        &[],
    )
    .await
    .expect("link");

    let token = create_user(&db, "reader", false).await;
    let uid = user_id(&admin, "reader").await;
    set_member(&admin, &own.product, &uid, "Reader").await;
    let g = s.gql_as(&token);

    // Single objects: NOT_FOUND exactly as for missing ids.
    for (query, id) in [
        (
            "query($id: ID!) { product(id: $id) { id } }",
            &foreign.product,
        ),
        (
            "query($id: ID!) { productType(id: $id) { id } }",
            &foreign.product_type,
        ),
        (
            "query($id: ID!) { engagement(id: $id) { id } }",
            &foreign.engagement,
        ),
        ("query($id: ID!) { test(id: $id) { id } }", &foreign.test),
        (
            "query($id: ID!) { finding(id: $id) { id } }",
            &foreign.finding,
        ),
        ("query($id: ID!) { node(id: $id) { id } }", &foreign.finding),
        ("query($id: ID!) { node(id: $id) { id } }", &note),
    ] {
        let r = g.query(query, json!({"id": id})).await;
        assert_eq!(r.error_code(), Some("NOT_FOUND"), "{query}: {}", r.body);
        assert!(!r.body.to_string().contains("secret"), "{}", r.body);
    }
    let d = g
        .ok(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({"ids": [foreign.product, foreign.finding, own.finding, note]}),
        )
        .await;
    assert_eq!(d["nodes"][0], Value::Null);
    assert_eq!(d["nodes"][1], Value::Null);
    assert_eq!(d["nodes"][2]["id"], own.finding);
    assert_eq!(d["nodes"][3], Value::Null);

    // Lists and counts, including searches that would match the secret.
    let d = g
        .ok(
            "{ productTypes { totalCount edges { node { name } } }
               products { totalCount edges { node { name } } }
               engagements { totalCount }
               tests { totalCount }
               findings { totalCount edges { node { title duplicateFinding { id } locations { location { url } } notes { entry } } } }
               secret: findings(filter: {search: \"secret\"}) { totalCount edges { node { id } } } }",
            json!({}),
        )
        .await;
    let text = d.to_string();
    assert!(
        !text.contains("secret finding") && !text.contains("secret note"),
        "{text}"
    );
    assert_eq!(
        d["productTypes"]["totalCount"], 0,
        "no role on any type: {text}"
    );
    assert_eq!(d["products"]["totalCount"], 1);
    assert_eq!(d["engagements"]["totalCount"], 1);
    assert_eq!(d["tests"]["totalCount"], 1);
    assert_eq!(d["findings"]["totalCount"], 1);
    assert_eq!(d["secret"]["totalCount"], 0);
    let own_finding = &d["findings"]["edges"][0]["node"];
    assert_eq!(own_finding["title"], "own finding");
    assert_eq!(
        own_finding["duplicateFinding"],
        Value::Null,
        "the original is foreign"
    );
    assert_eq!(
        own_finding["locations"][0]["location"]["url"],
        "https://shared.example.com"
    );

    // The product's own type is named, but its other products stay hidden.
    let d = g
        .ok(
            "query($id: ID!) { product(id: $id) { productType { name products { totalCount } } } }",
            json!({"id": own.product}),
        )
        .await;
    assert_eq!(d["product"]["productType"]["name"], "own type");
    assert_eq!(d["product"]["productType"]["products"]["totalCount"], 1);

    // Writes to foreign objects answer like missing ones too.
    let r = g
        .query(
            "mutation($id: ID!) { updateFinding(input: {id: $id, title: \"pwned\"}) { finding { id } } }",
            json!({"id": foreign.finding}),
        )
        .await;
    assert_eq!(r.error_code(), Some("NOT_FOUND"));
    let r = g
        .query(
            "mutation($p: ID!) { createNote(input: {parent: $p, entry: \"hi\"}) { note { id } } }",
            json!({"p": foreign.finding}),
        )
        .await;
    assert_eq!(r.error_code(), Some("NOT_FOUND"));
}
