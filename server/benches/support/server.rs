//! The real server for the benches that drive one over HTTP: `palisade
//! serve` on a free port, stopped with SIGTERM when dropped, so a bench that
//! fails half-way leaves no server behind.

use std::time::{Duration, Instant};

/// A running `palisade serve`.
pub struct BenchServer {
    child: std::process::Child,
    /// Its base URL, `http://127.0.0.1:<port>`.
    pub base: String,
}

impl BenchServer {
    /// Starts the server on `database_url` with extra environment `env` and
    /// waits (at most 60 s) until `/readyz` answers 200.
    pub async fn start(database_url: &str, env: &[(&str, &str)]) -> anyhow::Result<BenchServer> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_palisade"));
        cmd.arg("serve")
            .env("PALISADE_DATABASE_URL", database_url)
            .env("PALISADE_LISTEN", format!("127.0.0.1:{port}"))
            .env("PALISADE_LOG", "warn");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let server = BenchServer {
            child: cmd.spawn()?,
            base: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let ready = Instant::now();
        while !http
            .get(format!("{}/readyz", server.base))
            .send()
            .await
            .map(|r| r.status().is_success())
            .unwrap_or(false)
        {
            anyhow::ensure!(
                ready.elapsed() < Duration::from_secs(60),
                "server did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(server)
    }

    /// The server's process id.
    #[allow(dead_code, reason = "not every bench reads the server's memory")]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}
