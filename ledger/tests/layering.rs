//! The ledger is the I/O-free layer (issue 20): neither it nor any
//! workspace crate it depends on may depend on the runtime, storage,
//! network or replication crates, on the node, or on the prover. Read from
//! the manifests, so a dependency added anywhere below the ledger fails
//! here before it compiles into every wallet and auditor.

use std::collections::BTreeSet;
use std::path::Path;

/// Crates the ledger's closure must not name.
const FORBIDDEN: &[&str] = &[
    "tokio",
    "rocksdb",
    "axum",
    "hyper",
    "openraft",
    "reqwest",
    "coalition-node",
    "coalition-prover",
    "coalition-prover-service",
];

/// `(name, folder)` of the workspace crates named `coalition-*`.
fn crate_dir(name: &str) -> Option<&'static str> {
    Some(match name {
        "coalition-core" => "core",
        "coalition-circuits" => "circuits",
        "coalition-verifier" => "verifier",
        "coalition-params" => "params",
        "coalition-ledger" => "ledger",
        _ => return None,
    })
}

/// The names in a manifest's `[dependencies]` table (not dev or build).
fn dependencies(manifest: &str) -> Vec<String> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == "[dependencies]";
            continue;
        }
        if inside && !line.is_empty() && !line.starts_with('#') {
            let name = line
                .split(['.', '=', ' '])
                .next()
                .unwrap_or_default()
                .to_string();
            out.push(name);
        }
    }
    out
}

#[test]
fn the_ledger_and_everything_below_it_stay_free_of_io() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut seen = BTreeSet::new();
    let mut queue = vec!["coalition-ledger".to_string()];
    while let Some(name) = queue.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let dir = crate_dir(&name)
            .unwrap_or_else(|| panic!("{name} is a workspace crate the ledger may not use"));
        let manifest = std::fs::read_to_string(root.join(dir).join("Cargo.toml")).unwrap();
        for dep in dependencies(&manifest) {
            assert!(
                !FORBIDDEN.contains(&dep.as_str()),
                "{name} depends on {dep}: the ledger layer must stay free of I/O"
            );
            if dep.starts_with("coalition-") {
                queue.push(dep);
            }
        }
    }
    // The parser sees what it should: the ledger's own direct dependencies.
    assert!(seen.contains("coalition-verifier") && seen.contains("coalition-core"));
    let node = std::fs::read_to_string(root.join("node/Cargo.toml")).unwrap();
    assert!(dependencies(&node).contains(&"rocksdb".to_string()));
}
