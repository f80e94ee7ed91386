//! The README's "Supported scan types" section is generated from the registry
//! (`palisade plugin list --markdown`) and must not drift from it.

use std::path::Path;

use palisade::cli::plugin::scan_types_markdown;

use super::registry;

const START: &str = "<!-- scan-types:start -->";
const END: &str = "<!-- scan-types:end -->";
/// Set to 1 to rewrite the section in README.md instead of failing.
const UPDATE_VAR: &str = "PALISADE_UPDATE_README";

#[test]
fn readme_lists_the_supported_scan_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .join("README.md");
    let readme = std::fs::read_to_string(&path).expect("read README.md");
    let (Some(start), Some(end)) = (readme.find(START), readme.find(END)) else {
        panic!("README.md lacks the markers `{START}` and `{END}` around the supported scan types");
    };
    assert!(start < end, "README.md: `{START}` must come before `{END}`");
    let current = &readme[start + START.len()..end];
    let expected = format!("\n{}", scan_types_markdown(registry()));
    if current == expected {
        return;
    }
    if std::env::var(UPDATE_VAR).is_ok_and(|v| v == "1") {
        let updated = format!(
            "{}{expected}{}",
            &readme[..start + START.len()],
            &readme[end..]
        );
        std::fs::write(&path, updated).expect("write README.md");
        eprintln!("README.md: supported scan types updated");
        return;
    }
    panic!(
        "README.md's list of supported scan types is out of date with the built-in plugins.\n\
         Regenerate it with\n\
         \n    {UPDATE_VAR}=1 cargo test -p palisade-tests --test integration conformance::readme\n\
         \nor paste the output of `palisade plugin list --markdown` between `{START}` and `{END}`.\n\
         \nexpected section:\n{expected}\ncurrent section:\n{current}"
    );
}
