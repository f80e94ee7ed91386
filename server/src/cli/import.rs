//! `palisade import`: uploads a report to a Palisade server through the
//! DefectDojo-compatible endpoint as a background job, shows its progress on
//! standard error, and prints the import's result as JSON.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};

/// Arguments of `palisade import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The report file.
    pub file: PathBuf,
    /// The server, e.g. `https://palisade.example.com`.
    #[arg(
        long,
        env = "PALISADE_SERVER",
        value_name = "PALISADE_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    pub server: String,
    /// An API token (never logged).
    #[arg(
        long,
        env = "PALISADE_TOKEN",
        value_name = "PALISADE_TOKEN",
        hide_env_values = true
    )]
    pub token: String,
    /// The scan type; detected by the server when omitted.
    #[arg(long)]
    pub scan_type: Option<String>,
    /// Reimport into this test id instead of importing a new test.
    #[arg(long)]
    pub reimport_test: Option<i64>,
    /// Target engagement id.
    #[arg(long)]
    pub engagement: Option<i64>,
    /// Product type name.
    #[arg(long)]
    pub product_type_name: Option<String>,
    /// Product name.
    #[arg(long)]
    pub product_name: Option<String>,
    /// Engagement name.
    #[arg(long)]
    pub engagement_name: Option<String>,
    /// Create the product type, product and engagement when missing.
    #[arg(long)]
    pub auto_create_context: bool,
    /// Any other DefectDojo form field, as `name=value` (repeatable).
    #[arg(long = "field", value_name = "NAME=VALUE")]
    pub fields: Vec<String>,
    /// Give up waiting after this many seconds.
    #[arg(long, default_value_t = 3600)]
    pub timeout: u64,
}

fn bar(done: i64, total: Option<i64>) -> String {
    match total {
        Some(t) if t > 0 => {
            let width = 30usize;
            let filled = usize::try_from((done.min(t) * width as i64) / t).unwrap_or(0);
            format!(
                "[{}{}] {done}/{t} findings",
                "#".repeat(filled),
                "-".repeat(width - filled)
            )
        }
        _ => format!("parsing… {done} findings"),
    }
}

impl ImportArgs {
    /// Runs the upload and waits for the job.
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let bytes = tokio::fs::read(&self.file)
            .await
            .with_context(|| format!("cannot read {}", self.file.display()))?;
        let name = self
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "report".to_owned());
        let mut form = reqwest::multipart::Form::new().text("async", "true").part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name),
        );
        let mut add = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                form = std::mem::take(&mut form).text(k.to_owned(), v);
            }
        };
        add("scan_type", self.scan_type.clone());
        add("test", self.reimport_test.map(|t| t.to_string()));
        add("engagement", self.engagement.map(|t| t.to_string()));
        add("product_type_name", self.product_type_name.clone());
        add("product_name", self.product_name.clone());
        add("engagement_name", self.engagement_name.clone());
        if self.auto_create_context {
            add("auto_create_context", Some("true".to_owned()));
        }
        for f in &self.fields {
            let Some((k, v)) = f.split_once('=') else {
                bail!("--field `{f}` is not NAME=VALUE");
            };
            add(k, Some(v.to_owned()));
        }
        let base = self.server.trim_end_matches('/');
        let endpoint = if self.reimport_test.is_some() {
            "reimport-scan"
        } else {
            "import-scan"
        };
        let http = reqwest::Client::new();
        let auth = format!("Token {}", self.token);
        let resp = http
            .post(format!("{base}/api/v2/{endpoint}/"))
            .header(reqwest::header::AUTHORIZATION, &auth)
            .multipart(form)
            .send()
            .await
            .with_context(|| format!("cannot reach {base}"))?;
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        if status != reqwest::StatusCode::ACCEPTED {
            bail!("the server refused the import ({status}): {body}");
        }
        let job = body["job_id"].as_i64().context("no job id in the answer")?;
        let deadline = std::time::Instant::now() + Duration::from_secs(self.timeout);
        let mut err = std::io::stderr().lock();
        loop {
            let j: serde_json::Value = http
                .get(format!("{base}/api/v2/jobs/{job}/"))
                .header(reqwest::header::AUTHORIZATION, &auth)
                .send()
                .await?
                .json()
                .await?;
            let done = j["progress_done"].as_i64().unwrap_or(0);
            let total = j["progress_total"].as_i64();
            write!(
                err,
                "\rjob {job} {:<10} {}",
                j["status"].as_str().unwrap_or("?"),
                bar(done, total)
            )?;
            err.flush()?;
            match j["status"].as_str() {
                Some("succeeded") => {
                    writeln!(err)?;
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "{}", serde_json::to_string_pretty(&j["result"])?)?;
                    return Ok(ExitCode::SUCCESS);
                }
                Some("failed") => {
                    writeln!(err)?;
                    bail!(
                        "the import failed: {}",
                        j["last_error"].as_str().unwrap_or("unknown error")
                    );
                }
                _ => {}
            }
            if std::time::Instant::now() > deadline {
                writeln!(err)?;
                bail!("job {job} still {} after {} s", j["status"], self.timeout);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bar_fills_with_progress() {
        assert!(super::bar(0, Some(10)).starts_with("[----"));
        assert!(super::bar(10, Some(10)).contains("##############################] 10/10"));
        assert_eq!(super::bar(5, None), "parsing… 5 findings");
    }
}
