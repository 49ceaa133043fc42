//! The node's layers import one way only (issue 20): HTTP → replication →
//! submission → engine → store and ledger. Read from the sources, so an
//! import back up (the engine holding the replication, replication calling
//! the HTTP handlers) fails here, not in a review.

use std::path::{Path, PathBuf};

/// Each layer's files, and the modules of this crate it must not name.
const LAYERS: &[(&str, &[&str])] = &[
    ("engine", &["http", "replication", "submission"]),
    ("store", &["http", "replication", "submission", "engine"]),
    ("store.rs", &["http", "replication", "submission", "engine"]),
    (
        "config.rs",
        &["http", "replication", "submission", "engine"],
    ),
    (
        "audit_sources.rs",
        &["http", "replication", "submission", "engine"],
    ),
    ("submission.rs", &["http", "replication"]),
    ("replication", &["http"]),
];

fn files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            files(&entry.unwrap().path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

/// `crate::MODULE` references outside comments, as `file:line: text`.
fn references(file: &Path, module: &str) -> Vec<String> {
    let needle = format!("crate::{module}");
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .filter(|(_, line)| {
            line.match_indices(&needle).any(|(at, _)| {
                // `crate::http` but not `crate::http_body`.
                !line[at + needle.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
            })
        })
        .map(|(n, line)| format!("{}:{}: {}", file.display(), n + 1, line.trim()))
        .collect()
}

#[test]
fn each_layer_imports_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    let mut scanned = 0;
    for (layer, forbidden) in LAYERS {
        let mut layer_files = Vec::new();
        files(&src.join(layer), &mut layer_files);
        for file in &layer_files {
            scanned += 1;
            for module in *forbidden {
                violations.extend(references(file, module));
            }
        }
    }
    assert!(
        scanned >= 10,
        "only {scanned} files scanned: did a layer move?"
    );
    assert!(
        violations.is_empty(),
        "imports up the layers: {violations:#?}"
    );
}

#[test]
fn the_scan_finds_an_import_back_up() {
    // The check itself: a file naming a higher layer is reported, a
    // comment or a longer name is not.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("engine.rs");
    std::fs::write(
        &file,
        "// crate::replication drives this\nuse crate::http_body::X;\nuse crate::replication::Replication;\n",
    )
    .unwrap();
    assert_eq!(references(&file, "replication").len(), 1);
    assert!(references(&file, "http").is_empty());
}
