//! Duplicate management by hand: `markDuplicate`, `resetDuplicate` and
//! `setOriginal` keep clusters flat and inside one product, write one event
//! per changed finding, and `Finding.duplicates` pages a cluster.

use serde_json::{Value, json};

use crate::hierarchy::{add_finding, build_tree};
use crate::support::{Gql, TestDb, TestServer};

const FIELDS: &str = "id title active verified duplicate duplicateFinding { title } duplicates(first: 10) { totalCount nodes { title } }";

async fn call(gql: &Gql, mutation: &str, input: Value) -> crate::support::server::GqlResponse {
    let ty = match mutation {
        "markDuplicate" => "MarkDuplicate",
        "resetDuplicate" => "ResetDuplicate",
        _ => "SetOriginal",
    };
    gql.query(
        &format!(
            "mutation($i: {ty}Input!) {{ {mutation}(input: $i) {{ finding {{ {FIELDS} }} }} }}"
        ),
        json!({"i": input}),
    )
    .await
}

async fn finding(gql: &Gql, id: &str) -> Value {
    gql.ok(
        &format!("query($id: ID!) {{ finding(id: $id) {{ {FIELDS} }} }}"),
        json!({"id": id}),
    )
    .await["finding"]
        .clone()
}

fn titles(f: &Value) -> Vec<&str> {
    f["duplicates"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["title"].as_str().expect("title"))
        .collect()
}

async fn event_kinds(db: &TestDb) -> Vec<(String, i64)> {
    db.client()
        .await
        .query(
            "SELECT kind, finding_id FROM events WHERE kind <> 'created' ORDER BY seq",
            &[],
        )
        .await
        .expect("events")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test]
async fn clusters_are_corrected_by_hand_and_stay_flat() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let gql = s.gql();
    let t = build_tree(&gql, "Shop").await;
    let other = build_tree(&gql, "Other").await;
    let a = add_finding(&gql, &t.test, "A", "High", json!({"verified": true})).await;
    let b = add_finding(&gql, &t.test, "B", "High", json!({"verified": true})).await;
    let c = add_finding(&gql, &t.test, "C", "High", json!({})).await;
    let x = add_finding(&gql, &other.test, "X", "High", json!({})).await;
    let id = |v: &str| crate::support::decode_gid(v);

    // Refusals: onto itself, across products; nothing changes.
    let r = call(&gql, "markDuplicate", json!({"id": b, "original": b})).await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
    let r = call(&gql, "markDuplicate", json!({"id": b, "original": x})).await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert!(r.error_message().contains("same product"), "{}", r.body);
    assert!(event_kinds(&db).await.is_empty());

    // B duplicates A: inactive, unverified, pointing at A.
    let r = call(&gql, "markDuplicate", json!({"id": b, "original": a})).await;
    let f = &r.data()["markDuplicate"]["finding"];
    assert_eq!(
        (
            f["active"].clone(),
            f["verified"].clone(),
            f["duplicate"].clone()
        ),
        (json!(false), json!(false), json!(true))
    );
    assert_eq!(f["duplicateFinding"]["title"], "A");
    // A is a duplicate now, so it cannot be an original for C.
    let r = call(&gql, "markDuplicate", json!({"id": c, "original": b})).await;
    assert!(
        r.error_message().contains("itself a duplicate"),
        "{}",
        r.body
    );
    // A becomes a duplicate of C: its duplicate B follows it (no chain).
    call(&gql, "markDuplicate", json!({"id": a, "original": c}))
        .await
        .data();
    let cf = finding(&gql, &c).await;
    assert_eq!(titles(&cf), ["A", "B"]);
    assert_eq!(cf["duplicates"]["totalCount"], 2);
    assert_eq!(
        finding(&gql, &b).await["duplicateFinding"]["title"],
        "C",
        "re-pointed, not chained"
    );

    // B becomes the original: C (the old original, active) and A point at
    // it, and B takes over C's open state.
    let r = call(&gql, "setOriginal", json!({"id": a, "newOriginal": b})).await;
    let f = &r.data()["setOriginal"]["finding"];
    assert_eq!(f["title"], "B");
    assert_eq!(
        (
            f["duplicate"].clone(),
            f["active"].clone(),
            f["duplicateFinding"].clone()
        ),
        (json!(false), json!(true), Value::Null)
    );
    assert_eq!(titles(f), ["A", "C"]);
    let cf = finding(&gql, &c).await;
    assert_eq!(
        (cf["duplicate"].clone(), cf["active"].clone()),
        (json!(true), json!(false))
    );
    // A finding outside the product cannot take the cluster over.
    let r = call(&gql, "setOriginal", json!({"id": a, "newOriginal": x})).await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);

    // Resetting A makes it its own, open original; resetting an original is refused.
    let r = call(&gql, "resetDuplicate", json!({"id": a})).await;
    let f = &r.data()["resetDuplicate"]["finding"];
    assert_eq!(
        (
            f["duplicate"].clone(),
            f["active"].clone(),
            f["duplicateFinding"].clone()
        ),
        (json!(false), json!(true), Value::Null)
    );
    let r = call(&gql, "resetDuplicate", json!({"id": a})).await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert_eq!(titles(&finding(&gql, &b).await), ["C"]);

    // One event per changed finding, with the kind of its change.
    let (a, b, c) = (id(&a), id(&b), id(&c));
    assert_eq!(
        event_kinds(&db).await,
        vec![
            ("duplicate".to_owned(), b),
            ("duplicate".to_owned(), a),
            ("updated".to_owned(), b),
            ("status_changed".to_owned(), b),
            ("duplicate".to_owned(), c),
            ("updated".to_owned(), a),
            ("status_changed".to_owned(), a),
        ]
    );
}
