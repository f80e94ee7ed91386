//! Invalid configuration stops the server at start, naming the variable.

#[tokio::test]
async fn invalid_values_name_the_variable() {
    for (var, value) in [
        ("PALISADE_LISTEN", "not-an-address"),
        ("PALISADE_DATABASE_POOL_SIZE", "0"),
        ("PALISADE_LOG_FORMAT", "yaml"),
        ("PALISADE_GRAPHQL_MAX_PAGE_SIZE", "-3"),
    ] {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade-under-test"))
            .arg("serve")
            .env(var, value)
            .output()
            .await
            .expect("run");
        assert!(!out.status.success(), "{var}={value} must be rejected");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(var),
            "the error for {var}={value} must name it: {err}"
        );
    }
}

#[tokio::test]
async fn unreachable_database_fails_with_a_clear_message() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade-under-test"))
        .arg("migrate")
        .env(
            "PALISADE_DATABASE_URL",
            "postgres://postgres@127.0.0.1:1/palisade",
        )
        .output()
        .await
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot reach PostgreSQL"), "{err}");
    assert!(
        !err.contains("postgres@"),
        "credentials must not be printed: {err}"
    );
}

#[tokio::test]
async fn env_sample_lists_every_setting() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade-under-test"))
        .args(["serve", "--help"])
        .output()
        .await
        .expect("run");
    let help = String::from_utf8_lossy(&out.stdout);
    let sample = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../.env.sample"))
        .expect(".env.sample");
    let mut vars: Vec<&str> = help
        .split(|c: char| !(c.is_ascii_uppercase() || c == '_'))
        .filter(|w| w.starts_with("PALISADE_") && w.len() > "PALISADE_".len())
        .collect();
    vars.sort_unstable();
    vars.dedup();
    assert!(vars.len() >= 20, "help lists the variables: {help}");
    let missing: Vec<&&str> = vars.iter().filter(|v| !sample.contains(**v)).collect();
    assert!(missing.is_empty(), ".env.sample lacks {missing:?}");
}
