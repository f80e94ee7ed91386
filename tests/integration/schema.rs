//! The checked-in `schema.graphql` matches the code.

#[test]
fn schema_graphql_is_up_to_date() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema.graphql");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    let current = format!("{}\n", palisade::graphql::sdl().trim_end());
    assert!(
        checked_in == current,
        "schema.graphql is out of date with the code; regenerate it with\n\n    cargo run -p palisade -- schema > schema.graphql\n"
    );
}
