//! Users and tokens from the command line, and the bootstrap administrator.
//! Only hashes are stored.

use std::process::Stdio;

use tokio::io::AsyncWriteExt;

use crate::support::{TestDb, TestServer};

async fn palisade(db: &TestDb, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade-under-test"))
        .args(args)
        .env("PALISADE_DATABASE_URL", &db.url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.as_bytes())
        .await
        .expect("write stdin");
    drop(input);
    child.wait_with_output().await.expect("wait")
}

#[tokio::test]
async fn users_and_tokens_from_the_command_line() {
    let db = TestDb::new().await;
    let out = palisade(
        &db,
        &["user", "create", "alice", "--email", "alice@example.com"],
        "s3cret-passw0rd\n",
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = db.client().await;
    let row = c
        .query_one(
            "SELECT password_hash, email, is_superuser FROM users WHERE username = 'alice'",
            &[],
        )
        .await
        .expect("user");
    let hash: String = row.get(0);
    assert!(
        hash.starts_with("$argon2id$"),
        "argon2id hash stored, got {hash}"
    );
    assert!(!hash.contains("s3cret"));
    assert_eq!(row.get::<_, String>(1), "alice@example.com");
    assert!(!row.get::<_, bool>(2));

    let out = palisade(&db, &["user", "create", "alice"], "another-password\n").await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    let out = palisade(&db, &["user", "create", "bob"], "short\n").await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8"));

    let out = palisade(&db, &["user", "passwd", "alice"], "a-new-passw0rd\n").await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let new_hash: String = c
        .query_one(
            "SELECT password_hash FROM users WHERE username = 'alice'",
            &[],
        )
        .await
        .expect("user")
        .get(0);
    assert_ne!(hash, new_hash);

    let out = palisade(
        &db,
        &["token", "create", "--user", "alice", "--name", "ci"],
        "",
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        token.starts_with("pal_") && token.len() == 44,
        "token printed: {token}"
    );
    let rows = c
        .query("SELECT token_hash, prefix, name FROM api_tokens", &[])
        .await
        .expect("tokens");
    assert_eq!(rows.len(), 1);
    let stored: Vec<u8> = rows[0].get(0);
    assert_eq!(stored.len(), 32, "a SHA-256 is stored");
    assert!(
        !String::from_utf8_lossy(&stored).contains(&token[4..]),
        "the token itself is not stored"
    );
    assert!(token.starts_with(&rows[0].get::<_, String>(1)));
    let out = palisade(&db, &["token", "create", "--user", "nobody"], "").await;
    assert!(!out.status.success());
}

#[tokio::test]
async fn serve_bootstraps_an_admin_once() {
    let db = TestDb::new().await;
    let mut s = TestServer::start_with(
        &db.url,
        &[("PALISADE_ADMIN_PASSWORD", "bootstrap-passw0rd")],
    )
    .await;
    let c = db.client().await;
    let row = c
        .query_one(
            "SELECT is_superuser, password_hash FROM users WHERE username = 'admin'",
            &[],
        )
        .await
        .expect("admin");
    assert!(row.get::<_, bool>(0));
    assert!(row.get::<_, String>(1).starts_with("$argon2id$"));
    s.stop().await;
    // A second start does not create another one.
    let _s =
        TestServer::start_with(&db.url, &[("PALISADE_ADMIN_PASSWORD", "other-passw0rd")]).await;
    assert_eq!(db.count("users").await, 1);
}
