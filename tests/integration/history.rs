//! The permanent audit trail: `history` on products, product types,
//! engagements, tests and findings says who changed what and when, filters
//! by actor, action and time, pages newest first, survives the event-replay
//! retention and outlives the objects it describes.

use std::time::Duration;

use serde_json::{Value, json};

use crate::hierarchy::{add_finding, build_tree};
use crate::support::{Gql, TestDb, TestServer, create_user};

const ENTRY: &str = "seq action changes actor { username }";

async fn history(gql: &Gql, node: &str, args: &str) -> Value {
    let d = gql
        .ok(
            &format!(
                "query($id: ID!) {{ node(id: $id) {{ ... on Product {{ history{args} {{ totalCount nodes {{ {ENTRY} }} pageInfo {{ hasNextPage endCursor }} }} }} \
                 ... on Finding {{ history{args} {{ totalCount nodes {{ {ENTRY} }} pageInfo {{ hasNextPage endCursor }} }} }} \
                 ... on Test {{ history{args} {{ totalCount nodes {{ {ENTRY} }} pageInfo {{ hasNextPage endCursor }} }} }} }} }}"
            ),
            json!({"id": node}),
        )
        .await;
    d["node"]["history"].clone()
}

fn actions(h: &Value) -> Vec<(String, Value)> {
    h["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| {
            (
                n["action"].as_str().expect("action").to_owned(),
                n["actor"]["username"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_change_is_in_the_history_of_its_node() {
    let db = TestDb::new().await;
    let s = TestServer::start_with(&db.url, &[("PALISADE_EVENT_RETENTION_SECS", "2")]).await;
    let admin = s.gql();
    let t = build_tree(&admin, "Shop").await;
    let f = add_finding(&admin, &t.test, "SQL injection", "High", json!({})).await;
    let writer = create_user(&db, "writer", false).await;
    let uid = admin
        .ok("{ users(usernameContains: \"writer\") { id } }", json!({}))
        .await["users"][0]["id"]
        .clone();
    admin
        .ok(
            "mutation($o: ID!, $u: ID!) { setMember(input: {object: $o, user: $u, role: MAINTAINER}) { role } }",
            json!({"o": t.product, "u": uid}),
        )
        .await;
    let w = s.gql_as(&writer);
    w.ok(
        "mutation($id: ID!) { updateProduct(input: {id: $id, description: \"the web shop\"}) { product { id } } }",
        json!({"id": t.product}),
    )
    .await;
    w.ok(
        "mutation($id: ID!) { closeFinding(input: {id: $id}) { finding { id } } }",
        json!({"id": f}),
    )
    .await;

    // The product: created, a member added, then edited, newest first, each
    // with its actor and values.
    let h = history(&admin, &t.product, "").await;
    assert_eq!(
        actions(&h),
        vec![
            ("updated".to_owned(), json!("writer")),
            ("member_added".to_owned(), json!("admin")),
            ("created".to_owned(), json!("admin")),
        ]
    );
    assert_eq!(
        h["nodes"][0]["changes"],
        json!({"description": {"before": "app", "after": "the web shop"}})
    );
    assert_eq!(h["nodes"][1]["changes"]["role"]["after"], "Maintainer");
    // Filters and pages.
    let by_writer = history(
        &admin,
        &t.product,
        &format!("(filter: {{actor: \"{}\"}})", uid.as_str().expect("id")),
    )
    .await;
    assert_eq!(by_writer["totalCount"], 1);
    let created = history(&admin, &t.product, "(filter: {actions: [\"created\"]})").await;
    assert_eq!(actions(&created).len(), 1);
    let future = history(
        &admin,
        &t.product,
        "(filter: {from: \"2999-01-01T00:00:00Z\"})",
    )
    .await;
    assert_eq!(future["totalCount"], 0);
    let first = history(&admin, &t.product, "(first: 2)").await;
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let rest = history(
        &admin,
        &t.product,
        &format!(
            "(first: 2, after: \"{}\")",
            first["pageInfo"]["endCursor"].as_str().expect("cursor")
        ),
    )
    .await;
    assert_eq!(actions(&rest), vec![("created".to_owned(), json!("admin"))]);
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);

    // The finding's changes outlive the replay window: once its events are
    // retired, the same entries (same seq) are read from the trail.
    let before = history(&admin, &f, "").await;
    assert_eq!(
        actions(&before),
        vec![
            ("mitigated".to_owned(), json!("writer")),
            ("created".to_owned(), json!("admin")),
        ]
    );
    let mut retired = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if db.count("events").await == 0 {
            retired = true;
            break;
        }
    }
    assert!(retired, "events were retired");
    let after = history(&admin, &f, "").await;
    assert_eq!(after["nodes"], before["nodes"]);

    // Someone who cannot read the product cannot reach its history.
    let stranger = create_user(&db, "stranger", false).await;
    let r = s
        .gql_as(&stranger)
        .query(
            "query($id: ID!) { product(id: $id) { history { totalCount } } }",
            json!({"id": t.product}),
        )
        .await;
    assert_eq!(r.error_code(), Some("NOT_FOUND"), "{}", r.body);

    // Deleting the test leaves its trail (and its deletion) behind.
    admin
        .ok(
            "mutation($id: ID!) { deleteTest(input: {id: $id}) { deletedId } }",
            json!({"id": t.test}),
        )
        .await;
    let test_id = crate::support::decode_gid(&t.test);
    let kept: Vec<String> = db
        .client()
        .await
        .query(
            "SELECT action FROM audit_log WHERE object_kind = 'Test' AND object_id = $1 ORDER BY seq",
            &[&test_id],
        )
        .await
        .expect("trail")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(kept.first().map(String::as_str), Some("created"));
    assert_eq!(kept.last().map(String::as_str), Some("deleted"));
}
