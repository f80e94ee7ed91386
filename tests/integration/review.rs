//! The review workflow: asking for a review names readers of the product,
//! "under review by me" lists what a reviewer must look at, and only the
//! people involved end a review, with a note and a status outcome.

use serde_json::{Value, json};

use crate::hierarchy::{add_finding, build_tree};
use crate::support::{TestDb, TestServer, create_user, grant, user_id};

const FIELDS: &str = "id active falseP underReview reviewers { username } reviewRequestedBy { username } lastReviewed lastReviewedBy { username } notes { entry author { username } }";

const REQUEST: &str = "mutation($i: RequestReviewInput!) { requestReview(input: $i) { finding { id underReview reviewers { username } reviewRequestedBy { username } } } }";
const CLEAR: &str = "mutation($i: ClearReviewInput!) { clearReview(input: $i) { finding { id } } }";

#[tokio::test]
async fn reviews_are_asked_of_readers_and_ended_by_those_involved() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let t = build_tree(&admin, "Shop").await;
    let f = add_finding(&admin, &t.test, "Open redirect", "Medium", json!({})).await;
    let writer = create_user(&db, "writer", false).await;
    let reviewer = create_user(&db, "reviewer", false).await;
    let _outsider = create_user(&db, "outsider", false).await;
    let writer_id = user_id(&admin, "writer").await;
    let reviewer_id = user_id(&admin, "reviewer").await;
    let outsider_id = user_id(&admin, "outsider").await;
    grant(&admin, &t.product, &writer_id, "WRITER").await;
    grant(&admin, &t.product, &reviewer_id, "WRITER").await;
    let writer = s.gql_as(&writer);
    let reviewer = s.gql_as(&reviewer);

    // Someone who cannot read the product answers like an unknown account;
    // nothing changes.
    let unknown = crate::support::gid("User", 999_999);
    for who in [&outsider_id, &json!(unknown)] {
        let r = writer
            .query(
                REQUEST,
                json!({"i": {"id": f, "reviewers": [who], "note": {"entry": "please"}}}),
            )
            .await;
        assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
        assert!(r.error_message().contains("reviewers"), "{}", r.body);
    }
    let r = writer
        .query(
            REQUEST,
            json!({"i": {"id": f, "reviewers": [], "note": {"entry": "please"}}}),
        )
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
    let before = admin
        .ok(
            &format!("query($id: ID!) {{ finding(id: $id) {{ {FIELDS} }} }}"),
            json!({"id": f}),
        )
        .await;
    assert_eq!(before["finding"]["underReview"], false);
    assert_eq!(before["finding"]["notes"], json!([]));

    // The writer asks the reviewer.
    let d = writer
        .ok(
            REQUEST,
            json!({"i": {"id": f, "reviewers": [reviewer_id], "note": {"entry": "is this exploitable?"}}}),
        )
        .await;
    let got = &d["requestReview"]["finding"];
    assert_eq!(got["underReview"], true);
    assert_eq!(got["reviewers"], json!([{"username": "reviewer"}]));
    assert_eq!(got["reviewRequestedBy"]["username"], "writer");

    // "Under review by me" lists it for the reviewer only.
    const MINE: &str = "{ findings(filter: {underReviewByMe: true}, first: 10) { nodes { id } } }";
    let mine = reviewer.ok(MINE, json!({})).await;
    assert_eq!(mine["findings"]["nodes"], json!([{"id": f}]));
    let theirs = writer.ok(MINE, json!({})).await;
    assert_eq!(theirs["findings"]["nodes"], json!([]));
    let by_id = admin
        .ok(
            "query($u: ID!) { findings(filter: {reviewer: $u}, first: 10) { totalCount } }",
            json!({"u": reviewer_id}),
        )
        .await;
    assert_eq!(by_id["findings"]["totalCount"], 1);

    // Only those involved end it: a writer on the product who was neither
    // asked nor asking is refused.
    let bystander = create_user(&db, "bystander", false).await;
    let bystander_id = user_id(&admin, "bystander").await;
    grant(&admin, &t.product, &bystander_id, "WRITER").await;
    let r = s
        .gql_as(&bystander)
        .query(
            CLEAR,
            json!({"i": {"id": f, "note": {"entry": "drive-by"}}}),
        )
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);

    // The reviewer ends it as a false positive, with a note.
    reviewer
        .ok(
            CLEAR,
            json!({"i": {"id": f, "note": {"entry": "not reachable"}, "outcome": {"falseP": true}}}),
        )
        .await;
    let after = admin
        .ok(
            &format!("query($id: ID!) {{ finding(id: $id) {{ {FIELDS} }} }}"),
            json!({"id": f}),
        )
        .await["finding"]
        .clone();
    assert_eq!(after["underReview"], false);
    assert_eq!(after["reviewers"], json!([]));
    assert_eq!(
        (after["active"].clone(), after["falseP"].clone()),
        (json!(false), json!(true))
    );
    assert_eq!(after["lastReviewedBy"]["username"], "reviewer");
    assert!(after["lastReviewed"].is_string());
    assert_eq!(
        after["notes"],
        json!([
            {"entry": "is this exploitable?", "author": {"username": "writer"}},
            {"entry": "not reachable", "author": {"username": "reviewer"}},
        ])
    );
    // A review that is over cannot be ended again.
    let r = reviewer
        .query(CLEAR, json!({"i": {"id": f, "note": {"entry": "again"}}}))
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);

    // Two events, each with who and what.
    let rows = db
        .client()
        .await
        .query(
            "SELECT e.kind, u.username, e.changes::text FROM events e JOIN users u ON u.id = e.actor_id \
             WHERE e.kind <> 'created' ORDER BY e.seq",
            &[],
        )
        .await
        .expect("events");
    assert_eq!(rows.len(), 2);
    let parse = |s: String| -> Value { serde_json::from_str(&s).expect("json") };
    let (kind, who, changes): (String, String, Value) =
        (rows[0].get(0), rows[0].get(1), parse(rows[0].get(2)));
    assert_eq!((kind.as_str(), who.as_str()), ("updated", "writer"));
    assert_eq!(
        changes["under_review"],
        json!({"before": false, "after": true})
    );
    let (kind, who, changes): (String, String, Value) =
        (rows[1].get(0), rows[1].get(1), parse(rows[1].get(2)));
    assert_eq!(
        (kind.as_str(), who.as_str()),
        ("false_positive", "reviewer")
    );
    assert_eq!(
        changes["under_review"],
        json!({"before": true, "after": false})
    );
    assert_eq!(changes["false_p"], json!({"before": false, "after": true}));
}
