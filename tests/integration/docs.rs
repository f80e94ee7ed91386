//! The documents the code cites exist in the repository, and every section a
//! comment cites (`domain.md §5.3`) is a heading there.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The section numbers on a line after its first `domain.md`: `§4.2, §4.3`
/// gives `["4.2", "4.3"]`.
fn cited_sections(line: &str) -> Vec<String> {
    let Some(at) = line.find("domain.md") else {
        return Vec::new();
    };
    line[at..]
        .split('§')
        .skip(1)
        .map(|s| {
            s.chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect::<String>()
                .trim_end_matches('.')
                .to_owned()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// Whether `doc` has a heading numbered `section` (`## 5. …`, `### 5.3 …`).
fn has_section(doc: &str, section: &str) -> bool {
    doc.lines().any(|l| {
        let text = l.trim_start_matches('#');
        l.starts_with('#')
            && (text.trim_start().starts_with(&format!("{section}. "))
                || text.trim_start().starts_with(&format!("{section} ")))
    })
}

#[test]
fn every_cited_section_of_the_domain_document_exists() {
    let root = root();
    let domain = std::fs::read_to_string(root.join("docs/domain.md")).expect("docs/domain.md");
    assert!(root.join("docs/architecture.md").is_file());
    let mut files = Vec::new();
    for dir in ["server/src", "tests/integration", "plugin-sdk/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    let mut cited = 0;
    let mut missing = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("source file");
        for (n, line) in text.lines().enumerate() {
            if file.ends_with("docs.rs") {
                continue;
            }
            for section in cited_sections(line) {
                cited += 1;
                if !has_section(&domain, &section) {
                    missing.push(format!("{}:{}: §{section}", file.display(), n + 1));
                }
            }
            if line.contains("domain.md") && line.contains("\"Target resolution\"") {
                cited += 1;
                if !domain
                    .lines()
                    .any(|l| l.starts_with('#') && l.ends_with("Target resolution"))
                {
                    missing.push(format!("{}:{}: Target resolution", file.display(), n + 1));
                }
            }
        }
    }
    assert!(cited >= 19, "expected the code's citations, found {cited}");
    assert!(
        missing.is_empty(),
        "cited but not in docs/domain.md: {missing:#?}"
    );
}

#[test]
fn the_section_reader_understands_the_citation_forms() {
    assert_eq!(
        cited_sections("//! (domain.md §4.2, §4.3)."),
        ["4.2", "4.3"]
    );
    assert_eq!(cited_sections("(domain.md §4 and §5)."), ["4", "5"]);
    assert_eq!(cited_sections("domain.md §5.3 step 2"), ["5.3"]);
    assert!(cited_sections("no citation §5").is_empty());
    let doc = "## 5. Import\n### 5.3 Import\n#### Target resolution\n";
    assert!(has_section(doc, "5"));
    assert!(has_section(doc, "5.3"));
    assert!(!has_section(doc, "5.4"));
}
