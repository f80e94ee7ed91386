//! Sign-in and credential lifecycle (review findings 8, 15, 18 and 20):
//! attempt limits that hold under parallel load, no lockout of the right
//! password, client addresses behind proxies, password changes and
//! deactivation ending sessions, session management, API-token limits and
//! the single sign-on state bound to the browser.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::server::ADMIN_PASSWORD;
use crate::support::{TestDb, TestServer, gid, user_with_password};

const LOGIN: &str =
    "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }";

/// One sign-in: the error code (`None` on success) and the body.
async fn login_from(
    s: &TestServer,
    user: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> (Option<String>, Value) {
    login_with(&s.anonymous_http, &s.base, user, password, forwarded_for).await
}

async fn login_with(
    http: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> (Option<String>, Value) {
    let mut req = http
        .post(format!("{base}/graphql"))
        .header("accept", "application/graphql-response+json")
        .json(&json!({"query": LOGIN, "variables": {"u": user, "p": password}}));
    if let Some(xff) = forwarded_for {
        req = req.header("x-forwarded-for", xff);
    }
    let body: Value = req
        .send()
        .await
        .expect("login request")
        .json()
        .await
        .expect("json");
    let code = body["errors"][0]["extensions"]["code"]
        .as_str()
        .map(str::to_owned);
    (code, body)
}

/// Fires all `attempts` (user, forwarded-for) at once; counts the answers.
async fn parallel_wrong_logins(s: &TestServer, attempts: Vec<(String, Option<String>)>) -> Counts {
    let http = reqwest::Client::new();
    let futures = attempts.into_iter().map(|(user, xff)| {
        let http = http.clone();
        let base = s.base.clone();
        async move { login_with(&http, &base, &user, "wrong-password", xff.as_deref()).await }
    });
    let mut counts = Counts::default();
    for (code, body) in futures::future::join_all(futures).await {
        match code.as_deref() {
            Some("UNAUTHENTICATED") => counts.checked += 1,
            Some("RATE_LIMITED") => counts.limited += 1,
            _ => panic!("unexpected answer: {body}"),
        }
    }
    counts
}

#[derive(Debug, Default)]
struct Counts {
    /// Answered "wrong credentials": the password was verified.
    checked: usize,
    /// Refused before any verification.
    limited: usize,
}

async fn token_of(s: &TestServer, user: &str, password: &str) -> String {
    let (code, body) = login_from(s, user, password, None).await;
    assert_eq!(code, None, "{body}");
    body["data"]["login"]["token"]
        .as_str()
        .expect("token")
        .to_owned()
}

const ME: &str = "{ me { username } }";

#[tokio::test]
async fn parallel_guesses_for_one_username_get_no_more_password_checks_than_the_budget() {
    let db = TestDb::new().await;
    // Every guess from its own address, so only the username's budget
    // stands between them and the password check; a long delay keeps the
    // budget from refilling during the burst, and a long queue keeps the
    // verification gate from refusing anything.
    let s = TestServer::start_with(
        &db.url,
        &[
            ("PALISADE_TRUSTED_PROXIES", "127.0.0.1"),
            ("PALISADE_LOGIN_DELAY_SECS", "600"),
            ("PALISADE_LOGIN_VERIFY_QUEUE", "1000"),
        ],
    )
    .await;
    let attempts = (0..400)
        .map(|i| {
            (
                "admin".to_owned(),
                Some(format!("198.18.{}.{}", i / 200, i % 200 + 1)),
            )
        })
        .collect();
    let counts = parallel_wrong_logins(&s, attempts).await;
    assert_eq!(counts.checked, 5, "{counts:?}");
    assert_eq!(counts.limited, 395, "{counts:?}");
}

#[tokio::test]
async fn parallel_guesses_from_one_address_get_no_more_password_checks_than_the_budget() {
    let db = TestDb::new().await;
    let s = TestServer::start_with(&db.url, &[("PALISADE_LOGIN_VERIFY_QUEUE", "1000")]).await;
    // Distinct usernames, one address: only the address's budget applies.
    let attempts = (0..400).map(|i| (format!("user{i}"), None)).collect();
    let counts = parallel_wrong_logins(&s, attempts).await;
    assert_eq!(counts.checked, 5, "{counts:?}");
    assert_eq!(counts.limited, 395, "{counts:?}");
}

#[tokio::test]
async fn password_checks_beyond_the_concurrency_bound_are_refused_at_once() {
    let db = TestDb::new().await;
    let s = TestServer::start_with(
        &db.url,
        &[
            ("PALISADE_TRUSTED_PROXIES", "127.0.0.1"),
            ("PALISADE_LOGIN_VERIFY_CONCURRENCY", "1"),
            ("PALISADE_LOGIN_VERIFY_QUEUE", "0"),
        ],
    )
    .await;
    // No username or address is over its budget: whatever is refused was
    // refused by the bound on verifications running at once.
    let attempts = (0..40)
        .map(|i| (format!("user{i}"), Some(format!("198.18.7.{}", i + 1))))
        .collect();
    let counts = parallel_wrong_logins(&s, attempts).await;
    assert!(counts.checked >= 1, "{counts:?}");
    assert!(
        counts.limited >= 1,
        "40 argon2 checks at once with one slot and no queue: {counts:?}"
    );
    // The refused attempts were not counted: a user can sign in right away.
    let (code, body) = login_from(&s, "admin", ADMIN_PASSWORD, Some("198.18.8.1")).await;
    assert_eq!(code, None, "{body}");
}

#[tokio::test]
async fn failed_guesses_from_anyone_do_not_lock_the_right_password_out() {
    let db = TestDb::new().await;
    let s = TestServer::start_with(
        &db.url,
        &[
            ("PALISADE_TRUSTED_PROXIES", "127.0.0.1"),
            ("PALISADE_LOGIN_DELAY_SECS", "5"),
        ],
    )
    .await;
    // An attacker spends the username's budget from five addresses.
    for i in 1..=5 {
        let (code, body) = login_from(
            &s,
            "admin",
            "not-the-password",
            Some(&format!("203.0.113.{i}")),
        )
        .await;
        assert_eq!(code.as_deref(), Some("UNAUTHENTICATED"), "{body}");
    }
    // The owner, elsewhere, is slowed down, not locked out for the window
    // (900 s by default): after the delay the right password signs in.
    let (code, body) = login_from(&s, "admin", ADMIN_PASSWORD, Some("192.0.2.10")).await;
    assert_eq!(code.as_deref(), Some("RATE_LIMITED"), "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or("");
    let wait: u64 = message
        .split("try again in ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a wait in {message}"));
    assert!(
        wait <= 5,
        "the first delay is the configured one: {message}"
    );
    tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(200)).await;
    let (code, body) = login_from(&s, "admin", ADMIN_PASSWORD, Some("192.0.2.10")).await;
    assert_eq!(code, None, "the right password after the delay: {body}");
}

#[tokio::test]
async fn ipv6_clients_cannot_escape_the_address_budget_within_their_64() {
    let db = TestDb::new().await;
    let s = TestServer::start_with(&db.url, &[("PALISADE_TRUSTED_PROXIES", "127.0.0.1")]).await;
    for i in 1..=5 {
        let (code, body) = login_from(
            &s,
            &format!("victim{i}"),
            "wrong-password",
            Some(&format!("2001:db8:0:1:{i:x}::{i:x}")),
        )
        .await;
        assert_eq!(code.as_deref(), Some("UNAUTHENTICATED"), "{body}");
    }
    // Another address of the same /64: the same budget, spent.
    let (code, body) = login_from(
        &s,
        "victim6",
        "wrong-password",
        Some("2001:db8:0:1:ffff:ffff:ffff:fffe"),
    )
    .await;
    assert_eq!(code.as_deref(), Some("RATE_LIMITED"), "{body}");
    // Another /64: its own budget.
    let (code, body) = login_from(&s, "victim7", "wrong-password", Some("2001:db8:0:2::1")).await;
    assert_eq!(code.as_deref(), Some("UNAUTHENTICATED"), "{body}");
}

#[tokio::test]
async fn forwarded_for_names_the_client_only_behind_a_trusted_proxy() {
    // Behind a trusted proxy: every client gets its own address budget.
    let db = TestDb::new().await;
    let s = TestServer::start_with(&db.url, &[("PALISADE_TRUSTED_PROXIES", "127.0.0.0/8")]).await;
    for i in 1..=5 {
        let (code, _) =
            login_from(&s, &format!("u{i}"), "wrong-password", Some("203.0.113.1")).await;
        assert_eq!(code.as_deref(), Some("UNAUTHENTICATED"));
    }
    let (code, _) = login_from(&s, "u6", "wrong-password", Some("203.0.113.1")).await;
    assert_eq!(code.as_deref(), Some("RATE_LIMITED"), "same client, spent");
    // A client that put a spoofed entry in front: the proxy's own entry
    // (the rightmost) is what counts.
    let (code, _) = login_from(&s, "u7", "wrong-password", Some("203.0.113.9, 203.0.113.1")).await;
    assert_eq!(code.as_deref(), Some("RATE_LIMITED"), "spoofed left entry");
    let (code, _) = login_from(&s, "u8", "wrong-password", Some("203.0.113.2")).await;
    assert_eq!(code.as_deref(), Some("UNAUTHENTICATED"), "another client");

    // From a peer that is not a trusted proxy, the header is ignored: a
    // client cannot reset its budget by inventing addresses.
    let db2 = TestDb::new().await;
    let s2 = TestServer::start_with(&db2.url, &[("PALISADE_TRUSTED_PROXIES", "10.0.0.0/8")]).await;
    for i in 1..=5 {
        let (code, _) = login_from(
            &s2,
            &format!("u{i}"),
            "wrong-password",
            Some(&format!("203.0.113.{i}")),
        )
        .await;
        assert_eq!(code.as_deref(), Some("UNAUTHENTICATED"));
    }
    let (code, _) = login_from(&s2, "u6", "wrong-password", Some("203.0.113.99")).await;
    assert_eq!(code.as_deref(), Some("RATE_LIMITED"), "the peer's budget");
}

#[tokio::test]
async fn invalid_login_and_token_settings_stop_the_server_naming_the_variable() {
    for (var, value) in [
        ("PALISADE_TRUSTED_PROXIES", "10.0.0.0/33"),
        ("PALISADE_TRUSTED_PROXIES", "proxy.example"),
        ("PALISADE_API_TOKEN_MAX_LIFETIME_DAYS", "0"),
        ("PALISADE_LOGIN_VERIFY_CONCURRENCY", "0"),
        ("PALISADE_LOGIN_DELAY_SECS", "soon"),
    ] {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade-under-test"))
            .arg("serve")
            .env("PALISADE_DATABASE_URL", "postgres://postgres@127.0.0.1:1/x")
            .env(var, value)
            .output()
            .await
            .expect("run");
        assert!(!out.status.success(), "{var}={value} must be rejected");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(var), "{var}={value}: {err}");
    }
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    user_with_password(&db, "carol", "old-password-1", false).await;
    let here = token_of(&s, "carol", "old-password-1").await;
    let stolen = token_of(&s, "carol", "old-password-1").await;
    const CHANGE: &str = "mutation($c: String!, $n: String!) { changePassword(current: $c, new: $n) { revokedSessions } }";

    let r = s
        .gql_as(&here)
        .query(CHANGE, json!({"c": "a-wrong-guess", "n": "new-password-2"}))
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert!(r.error_message().contains("current"), "{}", r.body);
    let r = s
        .gql_as(&here)
        .query(CHANGE, json!({"c": "old-password-1", "n": "short"}))
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert!(r.error_message().starts_with("new"), "{}", r.body);

    let d = s
        .gql_as(&here)
        .ok(
            CHANGE,
            json!({"c": "old-password-1", "n": "new-password-2"}),
        )
        .await;
    assert_eq!(d["changePassword"]["revokedSessions"], 1);
    assert_eq!(
        s.gql_as(&stolen).query(ME, json!({})).await.status,
        401,
        "the other session ends"
    );
    assert_eq!(
        s.gql_as(&here).ok(ME, json!({})).await["me"]["username"],
        "carol"
    );
    let (code, _) = login_from(&s, "carol", "old-password-1", None).await;
    assert_eq!(code.as_deref(), Some("UNAUTHENTICATED"));
    token_of(&s, "carol", "new-password-2").await;
}

#[tokio::test]
async fn the_command_line_password_change_ends_the_sessions() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    user_with_password(&db, "dave", "old-password-1", false).await;
    let session = token_of(&s, "dave", "old-password-1").await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade-under-test"))
        .args(["user", "passwd", "dave"])
        .env("PALISADE_DATABASE_URL", &db.url)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(b"new-password-2\n").await.expect("write");
    }
    let out = child.wait_with_output().await.expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(s.gql_as(&session).query(ME, json!({})).await.status, 401);
    token_of(&s, "dave", "new-password-2").await;
}

const SESSIONS: &str = "query($u: ID) { sessions(user: $u) { id current revokedAt } }";
const REVOKE: &str = "mutation($id: ID!) { revokeSession(id: $id) { id revokedAt current } }";

#[tokio::test]
async fn sessions_can_be_listed_and_revoked_by_their_owner_and_superusers_only() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let erin_id = user_with_password(&db, "erin", "erin-password", false).await;
    user_with_password(&db, "frank", "frank-password", false).await;
    let laptop = token_of(&s, "erin", "erin-password").await;
    let phone = token_of(&s, "erin", "erin-password").await;
    let frank = token_of(&s, "frank", "frank-password").await;

    let list = s.gql_as(&laptop).ok(SESSIONS, json!({})).await["sessions"].clone();
    let list = list.as_array().expect("list").clone();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list.iter().filter(|x| x["current"] == true).count(), 1);
    let phone_session = list
        .iter()
        .find(|x| x["current"] == false)
        .expect("the other session")["id"]
        .clone();

    // Someone else's sessions look like nothing at all.
    let r = s
        .gql_as(&frank)
        .query(SESSIONS, json!({"u": gid("User", erin_id)}))
        .await;
    assert_eq!(r.error_code(), Some("NOT_FOUND"), "{}", r.body);
    let r = s
        .gql_as(&frank)
        .query(REVOKE, json!({"id": phone_session}))
        .await;
    assert_eq!(r.error_code(), Some("NOT_FOUND"), "{}", r.body);
    assert_eq!(
        s.gql_as(&phone).ok(ME, json!({})).await["me"]["username"],
        "erin"
    );

    // The owner ends the phone's session.
    let d = s
        .gql_as(&laptop)
        .ok(REVOKE, json!({"id": phone_session}))
        .await;
    assert!(!d["revokeSession"]["revokedAt"].is_null());
    assert_eq!(s.gql_as(&phone).query(ME, json!({})).await.status, 401);

    // A superuser sees and ends anyone's.
    let list = s
        .gql()
        .ok(SESSIONS, json!({"u": gid("User", erin_id)}))
        .await["sessions"]
        .clone();
    let list = list.as_array().expect("list").clone();
    assert_eq!(list.len(), 1, "{list:?}");
    s.gql().ok(REVOKE, json!({"id": list[0]["id"]})).await;
    assert_eq!(s.gql_as(&laptop).query(ME, json!({})).await.status, 401);
}

#[tokio::test]
async fn a_stolen_api_token_cannot_mint_more_api_tokens() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let api_token = crate::support::create_user(&db, "bot", false).await;
    let r = s
        .gql_as(&api_token)
        .query(
            "mutation { createApiToken(input: {name: \"more\"}) { token } }",
            json!({}),
        )
        .await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"), "{}", r.body);
    assert_eq!(
        db.count("api_tokens").await,
        2,
        "admin's session and bot's token only"
    );
}

#[tokio::test]
async fn api_token_lifetimes_are_capped_when_configured() {
    let db = TestDb::new().await;
    let s =
        TestServer::start_with(&db.url, &[("PALISADE_API_TOKEN_MAX_LIFETIME_DAYS", "30")]).await;
    const CREATE: &str = "mutation($e: DateTime) { createApiToken(input: {name: \"ci\", expiresAt: $e}) { apiToken { expiresAt } } }";
    let now = chrono::Utc::now();
    // No expiry asked: the longest allowed.
    let d = s.gql().ok(CREATE, json!({"e": null})).await;
    let expires: chrono::DateTime<chrono::Utc> = d["createApiToken"]["apiToken"]["expiresAt"]
        .as_str()
        .expect("an expiry")
        .parse()
        .expect("time");
    let days = (expires - now).num_hours() as f64 / 24.0;
    assert!((29.9..=30.1).contains(&days), "{days} days");
    // Within the limit: as asked.
    let ten = now + chrono::Duration::days(10);
    s.gql().ok(CREATE, json!({"e": ten.to_rfc3339()})).await;
    // Beyond: refused, naming the field and the setting.
    let r = s
        .gql()
        .query(
            CREATE,
            json!({"e": (now + chrono::Duration::days(31)).to_rfc3339()}),
        )
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
    assert!(r.error_message().contains("expiresAt"), "{}", r.body);
    assert!(
        r.error_message()
            .contains("PALISADE_API_TOKEN_MAX_LIFETIME_DAYS"),
        "{}",
        r.body
    );
}

const SET_ACTIVE: &str =
    "mutation($u: ID!, $a: Boolean!) { setUserActive(user: $u, active: $a) { username isActive } }";
const SET_SUPERUSER: &str = "mutation($u: ID!, $s: Boolean!) { setSuperuser(user: $u, superuser: $s) { username isSuperuser } }";

#[tokio::test]
async fn a_deactivated_user_loses_sessions_and_tokens_at_once() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let gina_id = user_with_password(&db, "gina", "gina-password", false).await;
    let session = token_of(&s, "gina", "gina-password").await;
    let api = palisade::domain::user::generate_token();
    db.client()
        .await
        .execute(
            "INSERT INTO api_tokens (user_id, name, prefix, token_hash) VALUES ($1, 'ci', $2, $3)",
            &[&gina_id, &api.prefix, &api.hash],
        )
        .await
        .expect("token");
    let gina = gid("User", gina_id);

    // Not for non-superusers, and never on oneself.
    let r = s
        .gql_as(&session)
        .query(SET_ACTIVE, json!({"u": gid("User", 1), "a": false}))
        .await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"), "{}", r.body);
    let admin_id = s.gql().ok("{ me { id } }", json!({})).await["me"]["id"].clone();
    let r = s
        .gql()
        .query(SET_ACTIVE, json!({"u": admin_id, "a": false}))
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);

    let d = s.gql().ok(SET_ACTIVE, json!({"u": gina, "a": false})).await;
    assert_eq!(d["setUserActive"]["isActive"], false);
    assert_eq!(s.gql_as(&session).query(ME, json!({})).await.status, 401);
    assert_eq!(s.gql_as(&api.secret).query(ME, json!({})).await.status, 401);
    let (code, _) = login_from(&s, "gina", "gina-password", None).await;
    assert_eq!(code.as_deref(), Some("UNAUTHENTICATED"));

    // Reactivated: the API token works again, the ended session does not.
    s.gql().ok(SET_ACTIVE, json!({"u": gina, "a": true})).await;
    assert_eq!(
        s.gql_as(&api.secret).ok(ME, json!({})).await["me"]["username"],
        "gina"
    );
    assert_eq!(s.gql_as(&session).query(ME, json!({})).await.status, 401);
}

#[tokio::test]
async fn superusers_can_be_demoted_by_others_but_never_by_themselves() {
    let db = TestDb::new().await;
    let s = TestServer::start(&db.url).await;
    let hank_id = user_with_password(&db, "hank", "hank-password", true).await;
    let hank = token_of(&s, "hank", "hank-password").await;
    assert!(
        s.gql_as(&hank)
            .query("{ users { id } }", json!({}))
            .await
            .error_code()
            .is_none()
    );
    let hank_gid = gid("User", hank_id);
    let r = s
        .gql_as(&hank)
        .query(SET_SUPERUSER, json!({"u": hank_gid, "s": false}))
        .await;
    assert_eq!(r.error_code(), Some("BAD_USER_INPUT"), "{}", r.body);
    let d = s
        .gql()
        .ok(SET_SUPERUSER, json!({"u": hank_gid, "s": false}))
        .await;
    assert_eq!(d["setSuperuser"]["isSuperuser"], false);
    let r = s.gql_as(&hank).query("{ users { id } }", json!({})).await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"), "{}", r.body);
    // And the demoted user cannot promote anyone back.
    let r = s
        .gql_as(&hank)
        .query(SET_SUPERUSER, json!({"u": hank_gid, "s": true}))
        .await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"), "{}", r.body);
    // Unknown users are NOT_FOUND.
    let r = s
        .gql()
        .query(SET_SUPERUSER, json!({"u": gid("User", 999_999), "s": true}))
        .await;
    assert_eq!(r.error_code(), Some("NOT_FOUND"), "{}", r.body);
}

/// The browser's first step: the provider URL and the cookie to keep.
async fn start_sso(s: &TestServer, http: &reqwest::Client) -> (String, String, String) {
    let r = http
        .get(format!("{}/auth/oidc/login", s.base))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 302);
    let set_cookie = r.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_owned();
    let to_provider = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let r = http.get(&to_provider).send().await.expect("authorize");
    let back = url::Url::parse(r.headers()["location"].to_str().expect("location")).expect("url");
    let query = back.query().unwrap_or("").to_owned();
    let cookie = set_cookie.split(';').next().unwrap_or("").to_owned();
    (set_cookie, cookie, query)
}

#[tokio::test]
async fn a_leaked_sso_callback_url_is_useless_without_the_browsers_cookie() {
    let provider = crate::oidc::start_provider().await;
    let db = TestDb::new().await;
    let s = crate::oidc::palisade_with(&db, &provider, None).await;
    *provider.state.claims.lock().expect("lock") =
        json!({"sub": "victim-1", "preferred_username": "victim"});
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let (set_cookie, cookie, callback_query) = start_sso(&s, &http).await;
    let attrs = set_cookie.to_ascii_lowercase();
    assert!(attrs.contains("httponly"), "{set_cookie}");
    assert!(attrs.contains("samesite=lax"), "{set_cookie}");
    assert!(
        !set_cookie.contains(callback_query.split("state=").nth(1).unwrap_or("-")),
        "the cookie holds a hash, not the state itself: {set_cookie}"
    );
    let callback = format!("{}/auth/oidc/callback?{callback_query}", s.base);

    // The attacker replays the URL: without the cookie, or with another one.
    let r = http.get(&callback).send().await.expect("replay");
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let r = http
        .get(&callback)
        .header("cookie", "palisade_oidc_state=00ff")
        .send()
        .await
        .expect("forged");
    assert_eq!(r.status(), 401);

    // The victim's own browser still finishes, and the answer is not cached.
    let r = http
        .get(&callback)
        .header("cookie", &cookie)
        .send()
        .await
        .expect("callback");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.expect("json");
    assert!(
        body["token"]
            .as_str()
            .is_some_and(|t| t.starts_with("pal_")),
        "{body}"
    );

    // Used once: the same browser cannot replay it either.
    let r = http
        .get(&callback)
        .header("cookie", &cookie)
        .send()
        .await
        .expect("again");
    assert_eq!(r.status(), 401);
}
