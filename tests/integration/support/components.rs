//! The guests of `tests/components` (hostile and helper plugins), built once
//! per test process by palisade-build-support (a nested cargo).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use super::TestServer;

/// The component built from `tests/components/<name>`.
pub fn component(name: &str) -> &'static [u8] {
    static BUILT: OnceLock<BTreeMap<String, Vec<u8>>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the tests crate is inside the workspace");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("components");
        let options = palisade_build_support::BuildOptions {
            wasip2_crates: vec!["wasi-snoop".to_owned()],
            cargo: Some(PathBuf::from(env!("CARGO"))),
            ..Default::default()
        };
        let report = palisade_build_support::build_components_with(
            workspace,
            "tests/components",
            &out,
            &options,
        )
        .expect("building the test components");
        assert!(
            report.failed.is_empty(),
            "test components failed: {:?}",
            report.failed
        );
        report
            .built
            .into_iter()
            .map(|(name, path)| {
                (
                    name,
                    std::fs::read(path).expect("reading a built component"),
                )
            })
            .collect()
    });
    built
        .get(name)
        .unwrap_or_else(|| panic!("no test component `{name}`"))
}

/// Installs the component `name` as an uploaded plugin (file `file_name`)
/// through GraphQL, as the admin; returns its first scan type.
pub async fn install(s: &TestServer, name: &str, file_name: &str) -> String {
    let form = Form::new()
        .text(
            "operations",
            json!({"query": "mutation($file: Upload!) { installParserPlugin(file: $file) { plugin { scanTypes { name } } } }", "variables": {"file": null}}).to_string(),
        )
        .text("map", json!({"0": ["variables.file"]}).to_string())
        .part("0", Part::bytes(component(name)).file_name(file_name.to_owned()));
    let d: Value = s
        .http
        .post(format!("{}/graphql", s.base))
        .multipart(form)
        .send()
        .await
        .expect("install")
        .json()
        .await
        .expect("json");
    d["data"]["installParserPlugin"]["plugin"]["scanTypes"][0]["name"]
        .as_str()
        .unwrap_or_else(|| panic!("installed: {d}"))
        .to_owned()
}
