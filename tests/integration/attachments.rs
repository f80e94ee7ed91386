//! Attachments: files on findings, tests and engagements, stored in
//! PostgreSQL, listed on their object and downloaded over HTTP by those who
//! may read the object (a file of an object you may not read is a 404 like a
//! missing one), attached and removed by those who may edit it, and kept in
//! the object's history.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::hierarchy::{add_finding, build_tree};
use crate::support::server::authenticated_client;
use crate::support::{Gql, TestDb, TestServer, create_user, grant, user_id};

const ATTACH: &str = "mutation($o: ID!, $file: Upload!, $n: String) { attachFile(input: {object: $o, file: $file, name: $n}) { file { id name contentType size sha256 url uploadedBy { username } } } }";
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

/// `attachFile` as `token`, with the multipart upload of `bytes`.
async fn attach(
    s: &TestServer,
    token: &str,
    object: &str,
    file_name: &str,
    mime: &str,
    bytes: &[u8],
    name: Option<&str>,
) -> Value {
    let form = Form::new()
        .text(
            "operations",
            json!({"query": ATTACH, "variables": {"o": object, "file": null, "n": name}})
                .to_string(),
        )
        .text("map", json!({"0": ["variables.file"]}).to_string())
        .part(
            "0",
            Part::bytes(bytes.to_vec())
                .file_name(file_name.to_owned())
                .mime_str(mime)
                .expect("mime"),
        );
    authenticated_client(token)
        .post(format!("{}/graphql", s.base))
        .multipart(form)
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json")
}

fn code(v: &Value) -> Option<&str> {
    v["errors"][0]["extensions"]["code"].as_str()
}

async fn files(gql: &Gql, node: &str) -> Value {
    gql.ok(
        "query($id: ID!) { node(id: $id) { ... on Finding { files { name size } } ... on Test { files { name size } } ... on Engagement { files { name size } } } }",
        json!({"id": node}),
    )
    .await["node"]["files"]
    .clone()
}

#[tokio::test]
async fn files_are_attached_listed_downloaded_and_removed_under_the_object_rules() {
    let db = TestDb::new().await;
    let s = TestServer::start_with(&db.url, &[("PALISADE_MAX_ATTACHMENT_BYTES", "4096")]).await;
    let admin = s.gql();
    let t = build_tree(&admin, "Shop").await;
    let f = add_finding(&admin, &t.test, "XSS in search", "High", json!({})).await;
    let writer = create_user(&db, "writer", false).await;
    let reader = create_user(&db, "reader", false).await;
    let outsider = create_user(&db, "outsider", false).await;
    grant(
        &admin,
        &t.product,
        &user_id(&admin, "writer").await,
        "WRITER",
    )
    .await;
    grant(
        &admin,
        &t.product,
        &user_id(&admin, "reader").await,
        "READER",
    )
    .await;

    // A Writer attaches a screenshot; the name loses its directories.
    let v = attach(
        &s,
        &writer,
        &f,
        "C:\\shots\\proof.png",
        "image/png",
        PNG,
        None,
    )
    .await;
    assert!(v.get("errors").is_none(), "{v}");
    let shot = v["data"]["attachFile"]["file"].clone();
    assert_eq!(shot["name"], "proof.png");
    assert_eq!(shot["contentType"], "image/png");
    assert_eq!(shot["size"], PNG.len());
    assert_eq!(shot["uploadedBy"]["username"], "writer");
    let digest = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(PNG))
    };
    assert_eq!(shot["sha256"], digest.as_str());
    // HTML is kept as uploaded but never served as a page.
    let v = attach(
        &s,
        &writer,
        &f,
        "page.html",
        "text/html",
        b"<script>alert(1)</script>",
        Some("../evil.html"),
    )
    .await;
    let page = v["data"]["attachFile"]["file"].clone();
    assert_eq!(page["name"], "evil.html", "{v}");

    // Readers see the list and download; the image is inline, the page an
    // attachment of unknown type with scripts off.
    let reader_gql = s.gql_as(&reader);
    assert_eq!(
        files(&reader_gql, &f).await,
        json!([{"name": "proof.png", "size": PNG.len()}, {"name": "evil.html", "size": 25}])
    );
    let get = |token: Option<&str>, url: &Value| {
        let client = match token {
            Some(t) => authenticated_client(t),
            None => reqwest::Client::new(),
        };
        let url = format!("{}{}", s.base, url.as_str().expect("url"));
        async move { client.get(url).send().await.expect("get") }
    };
    let r = get(Some(&reader), &shot["url"]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(
        r.headers()["content-disposition"],
        "inline; filename*=UTF-8''proof.png"
    );
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.bytes().await.expect("body").as_ref(), PNG);
    let r = get(Some(&reader), &page["url"]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .expect("header")
            .starts_with("attachment;")
    );
    assert_eq!(
        r.headers()["content-security-policy"],
        "default-src 'none'; sandbox"
    );
    // Outsiders get what a missing file gets; without credentials, 401.
    let r = get(Some(&outsider), &shot["url"]).await;
    assert_eq!(r.status(), 404);
    let missing = get(Some(&outsider), &json!("/files/RmlsZTo5OTk5")).await;
    assert_eq!(missing.status(), 404);
    assert_eq!(
        r.text().await.expect("body"),
        missing.text().await.expect("body")
    );
    assert_eq!(get(None, &shot["url"]).await.status(), 401);

    // Attaching is an edit: Readers are refused, outsiders see nothing.
    let v = attach(&s, &reader, &f, "x.txt", "text/plain", b"x", None).await;
    assert_eq!(code(&v), Some("FORBIDDEN"), "{v}");
    let v = attach(&s, &outsider, &f, "x.txt", "text/plain", b"x", None).await;
    assert_eq!(code(&v), Some("NOT_FOUND"), "{v}");
    // Too large or empty: refused with the limit named, nothing stored.
    let v = attach(
        &s,
        &writer,
        &f,
        "big.bin",
        "application/octet-stream",
        &[7u8; 5000],
        None,
    )
    .await;
    assert_eq!(code(&v), Some("BAD_USER_INPUT"), "{v}");
    assert!(
        v.to_string().contains("PALISADE_MAX_ATTACHMENT_BYTES"),
        "{v}"
    );
    let v = attach(&s, &writer, &f, "empty.txt", "text/plain", b"", None).await;
    assert_eq!(code(&v), Some("BAD_USER_INPUT"), "{v}");
    assert_eq!(files(&admin, &f).await.as_array().map(Vec::len), Some(2));

    // Tests and engagements carry files too.
    let eng = admin
        .ok(
            "query($id: ID!) { node(id: $id) { ... on Test { engagement { id } } } }",
            json!({"id": t.test}),
        )
        .await["node"]["engagement"]["id"]
        .as_str()
        .expect("engagement")
        .to_owned();
    for object in [&t.test, &eng] {
        let v = attach(
            &s,
            &writer,
            object,
            "scope.txt",
            "text/plain",
            b"in scope: *.shop",
            None,
        )
        .await;
        assert!(v.get("errors").is_none(), "{v}");
        assert_eq!(
            files(&reader_gql, object).await,
            json!([{"name": "scope.txt", "size": 16}])
        );
    }

    // Removing is an edit too; afterwards the download is gone.
    let del = "mutation($id: ID!) { deleteFile(input: {id: $id}) { deletedId } }";
    let r = reader_gql.query(del, json!({"id": page["id"]})).await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"), "{}", r.body);
    s.gql_as(&writer).ok(del, json!({"id": page["id"]})).await;
    assert_eq!(get(Some(&reader), &page["url"]).await.status(), 404);

    // Both changes are in the finding's history, with who made them.
    let h = admin
        .ok(
            "query($id: ID!) { node(id: $id) { ... on Finding { history(filter: {actions: [\"file_added\", \"file_removed\"]}) { nodes { action actor { username } changes } } } } }",
            json!({"id": f}),
        )
        .await;
    let entries = h["node"]["history"]["nodes"].clone();
    assert_eq!(entries[0]["action"], "file_removed", "{entries}");
    assert_eq!(entries[0]["changes"]["file"]["name"], "evil.html");
    assert_eq!(entries[0]["actor"]["username"], "writer");
    assert_eq!(entries.as_array().map(Vec::len), Some(3), "{entries}");
    assert_eq!(entries[2]["changes"]["file"]["sha256"], digest.as_str());
}
