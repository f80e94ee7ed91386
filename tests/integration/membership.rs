//! Access control over the real server: grants, group and global roles, and
//! leak tests reaching for a foreign product's data through every relation.
//! The role × operation matrix over the whole API is `security::matrix`.

use serde_json::{Value, json};

use crate::support::{Gql, TestDb, TestServer, create_user};

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
