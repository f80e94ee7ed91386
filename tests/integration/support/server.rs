//! The real `palisade` binary, started on a free port against a test database.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// A running server process, stopped with SIGTERM when dropped.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    child: Option<Child>,
    /// An HTTP client that sends the admin's session token on every request.
    pub http: reqwest::Client,
    /// An HTTP client without credentials.
    pub anonymous_http: reqwest::Client,
    /// The admin's session token, when the admin could sign in.
    pub admin_token: Option<String>,
}

/// The password of the `admin` the server creates on a fresh test database.
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

impl TestServer {
    /// Starts `palisade serve` on `database_url` with extra environment.
    pub async fn start_with(database_url: &str, env: &[(&str, &str)]) -> TestServer {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_palisade-under-test"));
        cmd.arg("serve")
            .env("PALISADE_DATABASE_URL", database_url)
            .env("PALISADE_LISTEN", format!("127.0.0.1:{port}"))
            .env("PALISADE_DATABASE_POOL_SIZE", "8")
            .env("PALISADE_GRAPHQL_EXPOSE_QUERY_COUNT", "true")
            .env("PALISADE_LOG", "warn")
            .env("PALISADE_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn palisade");
        let mut server = TestServer {
            base: format!("http://127.0.0.1:{port}"),
            child: Some(child),
            http: reqwest::Client::new(),
            anonymous_http: reqwest::Client::new(),
            admin_token: None,
        };
        server.wait_ready(Duration::from_secs(60)).await;
        if let Some(token) = server.login("admin", ADMIN_PASSWORD).await {
            server.http = authenticated_client(&token);
            server.admin_token = Some(token);
        }
        server
    }

    /// Signs in and returns the session token, or `None` when refused.
    pub async fn login(&self, username: &str, password: &str) -> Option<String> {
        let r = self
            .anonymous()
            .query(
                "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
                json!({"u": username, "p": password}),
            )
            .await;
        r.body["data"]["login"]["token"].as_str().map(str::to_owned)
    }

    /// A GraphQL client without credentials.
    pub fn anonymous(&self) -> Gql {
        Gql {
            url: format!("{}/graphql", self.base),
            http: self.anonymous_http.clone(),
        }
    }

    /// A GraphQL client sending `token`.
    pub fn gql_as(&self, token: &str) -> Gql {
        Gql {
            url: format!("{}/graphql", self.base),
            http: authenticated_client(token),
        }
    }

    /// Starts `palisade serve` on `database_url`.
    pub async fn start(database_url: &str) -> TestServer {
        Self::start_with(database_url, &[]).await
    }

    async fn wait_ready(&self, limit: Duration) {
        let start = Instant::now();
        loop {
            if let Ok(r) = self.http.get(format!("{}/readyz", self.base)).send().await
                && r.status().is_success()
            {
                return;
            }
            assert!(
                start.elapsed() < limit,
                "server did not become ready within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends SIGTERM and waits for the process to exit; returns its exit status.
    pub async fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        if let Some(pid) = child.id() {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
        tokio::time::timeout(Duration::from_secs(20), child.wait())
            .await
            .ok()?
            .ok()
    }

    /// A GraphQL client of this server.
    pub fn gql(&self) -> Gql {
        Gql {
            url: format!("{}/graphql", self.base),
            http: self.http.clone(),
        }
    }
}

/// A client that sends `Authorization: Bearer <token>` on every request.
pub fn authenticated_client(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("header value"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("client")
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(child) = &self.child
            && let Some(pid) = child.id()
        {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
    }
}

/// A GraphQL-over-HTTP client.
#[derive(Clone)]
pub struct Gql {
    url: String,
    http: reqwest::Client,
}

/// A GraphQL response.
#[derive(Debug)]
pub struct GqlResponse {
    /// HTTP status.
    pub status: u16,
    /// The whole body.
    pub body: Value,
}

impl GqlResponse {
    /// `data`, asserting there were no errors.
    pub fn data(&self) -> &Value {
        assert!(
            self.body.get("errors").is_none(),
            "unexpected errors: {}",
            self.body
        );
        &self.body["data"]
    }

    /// The first error's `extensions.code`.
    pub fn error_code(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["code"].as_str()
    }

    /// The first error's message.
    pub fn error_message(&self) -> &str {
        self.body["errors"][0]["message"].as_str().unwrap_or("")
    }

    /// SQL statements the request ran.
    pub fn sql_statements(&self) -> u64 {
        self.body["extensions"]["sqlStatements"]
            .as_u64()
            .expect("sqlStatements extension")
    }
}

impl Gql {
    /// POSTs a query with variables.
    pub async fn query(&self, query: &str, variables: Value) -> GqlResponse {
        let r = self
            .http
            .post(&self.url)
            .header("accept", "application/graphql-response+json")
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        let body: Value = r.json().await.expect("json body");
        GqlResponse { status, body }
    }

    /// POSTs a GraphQL multipart request (operations, map and file parts).
    pub async fn multipart(&self, form: reqwest::multipart::Form) -> GqlResponse {
        let r = self
            .http
            .post(&self.url)
            .header("accept", "application/graphql-response+json")
            .multipart(form)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        let body: Value = r.json().await.expect("json body");
        GqlResponse { status, body }
    }

    /// POSTs and returns `data`, asserting success.
    pub async fn ok(&self, query: &str, variables: Value) -> Value {
        let r = self.query(query, variables).await;
        assert_eq!(r.status, 200, "status for {query}: {}", r.body);
        r.data().clone()
    }
}
