//! Triage: status actions on one finding and on many, with DefectDojo's
//! status rules, notes, SLA restarts, per-product permission checks,
//! all-or-nothing bulk changes and one event per changed finding.

use serde_json::{Value, json};

use crate::hierarchy::{Tree, add_finding, build_tree};
use crate::support::{Gql, TestDb, TestServer, create_user, grant, user_id};

const FIELDS: &str = "id active verified falseP outOfScope isMitigated mitigated mitigatedBy { username } slaStartDate slaExpirationDate notes { entry noteType author { username } }";

async fn finding(gql: &Gql, id: &str) -> Value {
    gql.ok(
        &format!("query($id: ID!) {{ finding(id: $id) {{ {FIELDS} }} }}"),
        json!({"id": id}),
    )
    .await["finding"]
        .clone()
}

async fn act(gql: &Gql, mutation: &str, input: Value) -> crate::support::server::GqlResponse {
    gql.query(
        &format!(
            "mutation($i: {}Input!) {{ {mutation}(input: $i) {{ finding {{ {FIELDS} }} }} }}",
            input_type(mutation)
        ),
        json!({"i": input}),
    )
    .await
}

fn input_type(mutation: &str) -> &'static str {
    match mutation {
        "closeFinding" => "CloseFinding",
        "verifyFinding" => "VerifyFinding",
        _ => "FindingAction",
    }
}

#[tokio::test]
async fn status_actions_follow_the_status_rules_and_stamp_who_closed() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let gql = s.gql();
    db.client()
        .await
        .batch_execute(
            "INSERT INTO note_types (name) VALUES ('Closure');
             INSERT INTO note_types (name, is_active) VALUES ('Retired', false);",
        )
        .await
        .expect("note types");
    let t = build_tree(&gql, "Shop").await;
    let id = add_finding(
        &gql,
        &t.test,
        "SQL injection",
        "High",
        json!({"verified": true}),
    )
    .await;

    // Refusals change nothing.
    let r = act(
        &gql,
        "closeFinding",
        json!({"id": id, "note": {"entry": "x", "noteType": "Nope"}}),
    )
    .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert!(r.error_message().contains("noteType"), "{}", r.body);
    let r = act(
        &gql,
        "closeFinding",
        json!({"id": id, "note": {"entry": "x", "noteType": "Retired"}}),
    )
    .await;
    assert!(r.error_message().contains("not active"), "{}", r.body);
    let r = act(
        &gql,
        "closeFinding",
        json!({"id": id, "mitigated": "2999-01-01T00:00:00Z"}),
    )
    .await;
    assert!(r.error_message().contains("mitigated"), "{}", r.body);
    let f = finding(&gql, &id).await;
    assert_eq!(
        (f["active"].clone(), f["notes"].clone()),
        (json!(true), json!([]))
    );

    // Close with a backdated fix and a typed note.
    let r = act(
        &gql,
        "closeFinding",
        json!({"id": id, "mitigated": "2026-11-30T10:00:00Z", "note": {"entry": "fixed in 2.3", "noteType": "Closure"}}),
    )
    .await;
    let f = r.data()["closeFinding"]["finding"].clone();
    assert_eq!(f["active"], false);
    assert_eq!(f["isMitigated"], true);
    assert_eq!(f["verified"], true, "closing as fixed keeps verification");
    let at = |v: &Value| {
        chrono::DateTime::parse_from_rfc3339(v.as_str().expect("date")).expect("rfc3339")
    };
    assert_eq!(at(&f["mitigated"]), at(&json!("2026-11-30T10:00:00Z")));
    assert_eq!(f["mitigatedBy"]["username"], "admin");
    assert_eq!(
        f["notes"],
        json!([{"entry": "fixed in 2.3", "noteType": "Closure", "author": {"username": "admin"}}])
    );

    // Reopen clears the stamp.
    let r = act(&gql, "reopenFinding", json!({"id": id})).await;
    let f = r.data()["reopenFinding"]["finding"].clone();
    assert_eq!(
        (f["active"].clone(), f["isMitigated"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(
        (f["mitigated"].clone(), f["mitigatedBy"].clone()),
        (Value::Null, Value::Null)
    );

    // A false positive is closed and unverified, and cannot be verified.
    let r = act(&gql, "markFalsePositive", json!({"id": id})).await;
    let f = r.data()["markFalsePositive"]["finding"].clone();
    assert_eq!(
        (
            f["falseP"].clone(),
            f["active"].clone(),
            f["verified"].clone(),
            f["isMitigated"].clone()
        ),
        (json!(true), json!(false), json!(false), json!(true))
    );
    let r = act(&gql, "verifyFinding", json!({"id": id})).await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"));
    assert!(
        r.error_message().contains("false positive") && r.error_message().contains(&id),
        "{}",
        r.body
    );

    // Reopen, then out of scope; verify after a reopen works.
    act(&gql, "reopenFinding", json!({"id": id})).await.data();
    let f = act(&gql, "verifyFinding", json!({"id": id})).await.data()["verifyFinding"]["finding"]
        .clone();
    assert_eq!(
        (f["verified"].clone(), f["falseP"].clone()),
        (json!(true), json!(false))
    );
    let f =
        act(&gql, "markOutOfScope", json!({"id": id})).await.data()["markOutOfScope"]["finding"]
            .clone();
    assert_eq!(
        (
            f["outOfScope"].clone(),
            f["active"].clone(),
            f["verified"].clone()
        ),
        (json!(true), json!(false), json!(false))
    );

    // Each change is one event, with the closing actor, in order.
    let kinds: Vec<String> = db
        .client()
        .await
        .query(
            "SELECT kind FROM events WHERE finding_id = $1 AND kind <> 'created' ORDER BY seq",
            &[&crate::support::decode_gid(&id)],
        )
        .await
        .expect("events")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        kinds,
        [
            "mitigated",
            "reactivated",
            "false_positive",
            "reactivated",
            "status_changed",
            "mitigated"
        ]
    );
}

#[tokio::test]
async fn reopening_restarts_the_sla_only_where_the_configuration_says_so() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let gql = s.gql();
    let t = build_tree(&gql, "Shop").await;
    let id = add_finding(&gql, &t.test, "XSS", "High", json!({"date": "2026-01-01"})).await;
    let f = finding(&gql, &id).await;
    assert_eq!(f["slaExpirationDate"], "2026-01-31");
    act(&gql, "closeFinding", json!({"id": id})).await.data();
    let f = act(&gql, "reopenFinding", json!({"id": id})).await.data()["reopenFinding"]["finding"]
        .clone();
    assert_eq!(
        f["slaExpirationDate"], "2026-01-31",
        "no restart by default"
    );

    db.client()
        .await
        .batch_execute("UPDATE sla_configurations SET restart_sla_on_reactivation = true")
        .await
        .expect("restart on");
    act(&gql, "closeFinding", json!({"id": id})).await.data();
    let f = act(&gql, "reopenFinding", json!({"id": id})).await.data()["reopenFinding"]["finding"]
        .clone();
    let today = chrono::Utc::now().date_naive();
    assert_eq!(f["slaStartDate"], today.to_string());
    assert_eq!(
        f["slaExpirationDate"],
        (today + chrono::Duration::days(30)).to_string()
    );
}

struct Two {
    a: Tree,
    b: Tree,
    a_ids: Vec<String>,
    b_id: String,
    hidden_id: String,
}

async fn two_products(gql: &Gql) -> Two {
    let a = build_tree(gql, "Alpha").await;
    let b = build_tree(gql, "Beta").await;
    let hidden = build_tree(gql, "Secret project").await;
    let mut a_ids = Vec::new();
    for n in 0..3 {
        a_ids.push(add_finding(gql, &a.test, &format!("A{n}"), "Medium", json!({})).await);
    }
    let b_id = add_finding(gql, &b.test, "B0", "Low", json!({})).await;
    let hidden_id = add_finding(gql, &hidden.test, "H0", "Low", json!({})).await;
    Two {
        a,
        b,
        a_ids,
        b_id,
        hidden_id,
    }
}

const CLOSE_MANY: &str = "mutation($i: CloseFindingsInput!) { closeFindings(input: $i) { changed unchanged changedIds skippedIds } }";
const REOPEN_MANY: &str = "mutation($i: ReopenFindingsInput!) { reopenFindings(input: $i) { changed unchanged changedIds skippedIds } }";

async fn active_count(db: &TestDb) -> i64 {
    db.client()
        .await
        .query_one("SELECT count(*) FROM findings WHERE active", &[])
        .await
        .expect("count")
        .get(0)
}

#[tokio::test]
async fn bulk_actions_are_all_or_nothing_and_checked_per_product() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let w = two_products(&admin).await;
    let token = create_user(&db, "triager", false).await;
    let uid = user_id(&admin, "triager").await;
    grant(&admin, &w.a.product, &uid, "WRITER").await;
    grant(&admin, &w.b.product, &uid, "READER").await;
    let me = s.gql_as(&token);
    let mut mixed = w.a_ids[..2].to_vec();
    mixed.push(w.b_id.clone());

    // One readable but unwritable finding fails the whole call, naming it.
    let r = me
        .query(
            CLOSE_MANY,
            json!({"i": {"selection": {"ids": mixed}, "note": {"entry": "bulk"}}}),
        )
        .await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"), "{}", r.body);
    assert!(r.error_message().contains(&w.b_id), "{}", r.body);
    assert!(!r.error_message().contains(&w.a_ids[0]), "{}", r.body);
    assert_eq!(active_count(&db).await, 5, "nothing changed");

    // An unreadable finding answers exactly like a missing one.
    let missing = crate::support::gid("Finding", 999_999);
    let hidden = me
        .query(
            CLOSE_MANY,
            json!({"i": {"selection": {"ids": [w.a_ids[0], w.hidden_id]}}}),
        )
        .await;
    let absent = me
        .query(
            CLOSE_MANY,
            json!({"i": {"selection": {"ids": [w.a_ids[0], missing]}}}),
        )
        .await;
    assert_eq!(hidden.error_code(), Some("NOT_FOUND"));
    assert_eq!(absent.error_code(), Some("NOT_FOUND"));
    assert_eq!(
        hidden.error_message().replace(&w.hidden_id, "X"),
        absent.error_message().replace(&missing, "X")
    );
    assert!(
        !hidden.error_message().contains("Secret"),
        "{}",
        hidden.body
    );
    assert_eq!(active_count(&db).await, 5);

    // skipForbidden leaves the unwritable one out and reports it.
    let r = me
        .ok(
            CLOSE_MANY,
            json!({"i": {"selection": {"ids": mixed}, "skipForbidden": true, "note": {"entry": "bulk close"}}}),
        )
        .await["closeFindings"]
        .clone();
    assert_eq!(r["changed"], 2);
    assert_eq!(r["unchanged"], 0);
    assert_eq!(r["changedIds"], json!(w.a_ids[..2]));
    assert_eq!(r["skippedIds"], json!([w.b_id]));
    let f = finding(&admin, &w.a_ids[0]).await;
    assert_eq!(f["mitigatedBy"]["username"], "triager");
    assert_eq!(f["notes"][0]["entry"], "bulk close");
    assert_eq!(active_count(&db).await, 3);

    // By filter: what `findings` would list (readable only); closed ones are unchanged.
    let r = me
        .ok(
            CLOSE_MANY,
            json!({"i": {"selection": {"filter": {"severity": ["MEDIUM"]}}}}),
        )
        .await["closeFindings"]
        .clone();
    assert_eq!(
        (r["changed"].clone(), r["unchanged"].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(r["changedIds"], json!([w.a_ids[2]]));

    // One event per changed finding, in the same place, by the caller.
    let c = db.client().await;
    let rows = c
        .query(
            "SELECT e.finding_id, e.product_id, u.username FROM events e JOIN users u ON u.id = e.actor_id \
             WHERE e.kind = 'mitigated' ORDER BY e.seq",
            &[],
        )
        .await
        .expect("events");
    assert_eq!(rows.len(), 3);
    for (row, id) in rows.iter().zip(&w.a_ids) {
        assert_eq!(row.get::<_, i64>(0), crate::support::decode_gid(id));
        assert_eq!(
            row.get::<_, i64>(1),
            crate::support::decode_gid(&w.a.product)
        );
        assert_eq!(row.get::<_, String>(2), "triager");
    }

    // A rule refusing one finding refuses the call: nothing reopens.
    c.execute(
        "UPDATE findings SET duplicate = true, duplicate_finding_id = $1 WHERE id = $2",
        &[
            &crate::support::decode_gid(&w.a_ids[0]),
            &crate::support::decode_gid(&w.a_ids[1]),
        ],
    )
    .await
    .expect("make duplicate");
    let r = me
        .query(
            REOPEN_MANY,
            json!({"i": {"selection": {"filter": {"productIds": [w.a.product]}}}}),
        )
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert!(r.error_message().contains(&w.a_ids[1]), "{}", r.body);
    assert_eq!(active_count(&db).await, 2, "B0 and H0 only");
    let r = me
        .ok(
            REOPEN_MANY,
            json!({"i": {"selection": {"ids": [w.a_ids[0], w.a_ids[2]]}}}),
        )
        .await["reopenFindings"]
        .clone();
    assert_eq!(r["changed"], 2);
    assert_eq!(active_count(&db).await, 4);
}

#[tokio::test]
async fn a_selection_is_checked_before_anything_runs() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let gql = s.gql();
    let t = build_tree(&gql, "Big").await;
    let one = add_finding(&gql, &t.test, "one", "Low", json!({})).await;
    let r = gql
        .query(
            CLOSE_MANY,
            json!({"i": {"selection": {"ids": [one], "filter": {}}}}),
        )
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"));
    assert!(r.error_message().starts_with("selection"), "{}", r.body);
    let r = gql.query(CLOSE_MANY, json!({"i": {"selection": {}}})).await;
    assert!(r.error_message().starts_with("selection"), "{}", r.body);

    // 10,001 matching findings are refused whole.
    db.client()
        .await
        .batch_execute(
            "INSERT INTO findings (test_id, engagement_id, product_id, title, severity, numerical_severity, description, date)
             SELECT test_id, engagement_id, product_id, 'many ' || g, 'Low', 'S3', 'd', date
             FROM findings, generate_series(1, 10000) g",
        )
        .await
        .expect("many");
    let r = gql
        .query(
            CLOSE_MANY,
            json!({"i": {"selection": {"filter": {"testIds": [t.test]}}}}),
        )
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert!(r.error_message().contains("10000"), "{}", r.body);
    assert_eq!(active_count(&db).await, 10_001);
    // Exactly 10,000 is allowed.
    let r = gql
        .ok(
            CLOSE_MANY,
            json!({"i": {"selection": {"filter": {"testIds": [t.test], "search": "many"}}}}),
        )
        .await;
    assert_eq!(r["closeFindings"]["changed"], 10_000);
    assert_eq!(active_count(&db).await, 1);
}

#[tokio::test]
async fn bulk_edits_move_deadlines_and_tags_and_record_each_change() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let gql = s.gql();
    let t = build_tree(&gql, "Shop").await;
    let a = add_finding(
        &gql,
        &t.test,
        "A",
        "Low",
        json!({"date": "2026-01-01", "tags": ["web", "old"]}),
    )
    .await;
    let b = add_finding(
        &gql,
        &t.test,
        "B",
        "Critical",
        json!({"date": "2026-01-01", "tags": ["api"]}),
    )
    .await;
    const UPDATE: &str = "mutation($i: UpdateFindingsInput!) { updateFindings(input: $i) { changed unchanged changedIds } }";
    let r = gql
        .query(
            UPDATE,
            json!({"i": {"selection": {"ids": [a]}, "patch": {}}}),
        )
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"));
    assert!(r.error_message().starts_with("patch"), "{}", r.body);

    let r = gql
        .ok(
            UPDATE,
            json!({"i": {"selection": {"ids": [a, b]}, "patch": {"severity": "CRITICAL", "addTags": ["Triaged"], "removeTags": ["old"], "plannedRemediationDate": "2026-03-01"}}}),
        )
        .await["updateFindings"]
        .clone();
    assert_eq!(
        (r["changed"].clone(), r["unchanged"].clone()),
        (json!(2), json!(0))
    );
    let q = "query($id: ID!) { finding(id: $id) { severity tags slaExpirationDate plannedRemediationDate } }";
    let fa = gql.ok(q, json!({"id": a})).await["finding"].clone();
    assert_eq!(
        fa,
        json!({"severity": "CRITICAL", "tags": ["web", "triaged"], "slaExpirationDate": "2026-01-08", "plannedRemediationDate": "2026-03-01"})
    );
    let fb = gql.ok(q, json!({"id": b})).await["finding"].clone();
    assert_eq!(fb["tags"], json!(["api", "triaged"]));
    // The same patch again changes nothing.
    let r = gql
        .ok(
            UPDATE,
            json!({"i": {"selection": {"ids": [a, b]}, "patch": {"severity": "CRITICAL", "addTags": ["triaged"]}}}),
        )
        .await["updateFindings"]
        .clone();
    assert_eq!(
        (r["changed"].clone(), r["unchanged"].clone()),
        (json!(0), json!(2))
    );
    // null clears the planned date.
    gql.ok(
        UPDATE,
        json!({"i": {"selection": {"ids": [a]}, "patch": {"plannedRemediationDate": null}}}),
    )
    .await;
    assert_eq!(
        gql.ok(q, json!({"id": a})).await["finding"]["plannedRemediationDate"],
        Value::Null
    );

    let c = db.client().await;
    let rows = c
        .query(
            "SELECT kind, changes::text FROM events WHERE finding_id = $1 AND kind <> 'created' ORDER BY seq",
            &[&crate::support::decode_gid(&a)],
        )
        .await
        .expect("events");
    let events: Vec<(String, Value)> = rows
        .iter()
        .map(|r| {
            (
                r.get(0),
                serde_json::from_str(r.get::<_, &str>(1)).expect("json"),
            )
        })
        .collect();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].0, "severity_changed");
    assert_eq!(
        events[0].1["severity"],
        json!({"before": "Low", "after": "Critical"})
    );
    assert_eq!(
        events[0].1["sla_expiration_date"],
        json!({"before": "2026-05-01", "after": "2026-01-08"})
    );
    assert_eq!(
        events[0].1["tags"],
        json!({"before": ["web", "old"], "after": ["web", "triaged"]})
    );
    assert_eq!(
        events[1].1["planned_remediation_date"],
        json!({"before": "2026-03-01", "after": null})
    );
}

#[tokio::test]
async fn bulk_delete_hands_clusters_to_the_oldest_survivor_and_needs_the_delete_permission() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let admin = s.gql();
    let t = build_tree(&admin, "Shop").await;
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(add_finding(&admin, &t.test, &format!("F{n}"), "High", json!({})).await);
    }
    let raw: Vec<i64> = ids.iter().map(|i| crate::support::decode_gid(i)).collect();
    let c = db.client().await;
    // F1, F2 and F3 are duplicates of F0.
    c.execute(
        "UPDATE findings SET duplicate = true, active = false, duplicate_finding_id = $1 WHERE id = ANY($2)",
        &[&raw[0], &raw[1..].to_vec()],
    )
    .await
    .expect("cluster");
    const DELETE: &str = "mutation($i: DeleteFindingsInput!) { deleteFindings(input: $i) { deleted deletedIds skippedIds } }";

    // A Writer may edit but not delete: refused whole.
    let token = create_user(&db, "writer", false).await;
    let uid = user_id(&admin, "writer").await;
    grant(&admin, &t.product, &uid, "WRITER").await;
    let r = s
        .gql_as(&token)
        .query(DELETE, json!({"i": {"selection": {"ids": [ids[0]]}}}))
        .await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"), "{}", r.body);
    assert_eq!(db.count("findings").await, 4);

    // Deleting the original and the oldest duplicate: F2 becomes the original.
    let r = admin
        .ok(
            DELETE,
            json!({"i": {"selection": {"ids": [ids[1], ids[0]]}}}),
        )
        .await["deleteFindings"]
        .clone();
    assert_eq!(r["deleted"], 2);
    assert_eq!(r["deletedIds"], json!([ids[0], ids[1]]));
    let rows = c
        .query(
            "SELECT id, duplicate, duplicate_finding_id FROM findings ORDER BY id",
            &[],
        )
        .await
        .expect("rows");
    let left: Vec<(i64, bool, Option<i64>)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(left, [(raw[2], false, None), (raw[3], true, Some(raw[2]))]);
    let deleted: i64 = c
        .query_one("SELECT count(*) FROM events WHERE kind = 'deleted'", &[])
        .await
        .expect("events")
        .get(0);
    assert_eq!(deleted, 2);
}
