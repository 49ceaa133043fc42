//! No import cycles between the modules of any workspace crate (issue 20).
//!
//! For every crate, every `crate::…` and `super::…` path in its sources
//! (comments skipped, `use` groups expanded) is resolved to the module it
//! names. A reference from module `a::x::…` to `a::y::…` is an edge `x → y`
//! between the siblings `x` and `y` under `a`; a module naming its own
//! ancestor or descendant is not an edge (a `mod.rs` re-exporting its
//! children, a child using its parent's types). Any strongly connected set
//! of two or more siblings is a cycle and fails the test, with one
//! `file:line` per edge so the reader sees what to move.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path inside a crate: `[]` is the crate root.
type ModPath = Vec<String>;

/// One reference: `from` names something inside `to`, at `site`.
#[derive(Debug, Clone)]
struct Reference {
    from: ModPath,
    to: ModPath,
    site: String,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a source file defines: `src/a/b.rs` and `src/a/b/mod.rs` are
/// `a::b`; `lib.rs` and `main.rs` are the root; `src/bin/x.rs` is its own
/// root (a separate crate: it may only name `coalition_*::…`).
fn module_of(src: &Path, file: &Path) -> Option<ModPath> {
    let rel = file.strip_prefix(src).ok()?;
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.first().is_some_and(|p| p == "bin") {
        return None;
    }
    let last = parts.pop()?;
    let stem = last.trim_end_matches(".rs");
    if !(stem == "mod" || (parts.is_empty() && (stem == "lib" || stem == "main"))) {
        parts.push(stem.to_string());
    }
    Some(parts)
}

/// The source with `//` and `/* */` comments blanked (newlines kept, so
/// line numbers stay right) and string literals emptied.
fn strip_comments(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if text[i..].starts_with("//") {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
        } else if text[i..].starts_with("/*") {
            let mut depth = 0;
            while i < bytes.len() {
                if text[i..].starts_with("/*") {
                    depth += 1;
                    i += 2;
                } else if text[i..].starts_with("*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if bytes[i] == b'\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
            }
        } else if bytes[i] == b'"' && !text[..i].ends_with('\'') {
            out.push('"');
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                if bytes[i] == b'\\' {
                    i += 1;
                } else if bytes[i] == b'\n' {
                    out.push('\n');
                }
                i += 1;
            }
            out.push('"');
            i += 1;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The identifier-and-`::` paths a path expression starting at `rest`
/// names, with `{a, b::{c, d}}` groups expanded.
fn expand(rest: &str) -> Vec<Vec<String>> {
    let rest = rest.trim_start();
    if let Some(group) = rest.strip_prefix('{') {
        let mut depth = 1;
        let mut items = Vec::new();
        let mut start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        items.push(&group[start..i]);
                        break;
                    }
                }
                ',' if depth == 1 => {
                    items.push(&group[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return items
            .into_iter()
            .filter(|item| !item.trim().is_empty())
            .flat_map(expand)
            .collect();
    }
    let ident: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if ident.is_empty() {
        return vec![Vec::new()];
    }
    let after = &rest[ident.len()..];
    match after.trim_start().strip_prefix("::") {
        Some(more) => expand(more)
            .into_iter()
            .map(|mut tail| {
                tail.insert(0, ident.clone());
                tail
            })
            .collect(),
        None => vec![vec![ident]],
    }
}

/// Every `crate::`/`super::`/`self::` path in a file, resolved against the
/// file's module, as `(line, absolute path)`.
fn paths_in(module: &ModPath, text: &str) -> Vec<(usize, ModPath)> {
    let text = strip_comments(text);
    let mut out = Vec::new();
    for (at, _) in text.match_indices("::") {
        // The keyword just before this `::`.
        let head_start = text[..at]
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let head = &text[head_start..at];
        if head_start > 0 && text[..head_start].ends_with("::") {
            continue; // the middle of a longer path: counted from its start
        }
        if head_start > 0 && text[..head_start].ends_with('$') {
            continue; // `$crate::` in a macro: the invoking crate's path
        }
        let mut base: ModPath = match head {
            "crate" => Vec::new(),
            "self" => module.clone(),
            "super" => {
                // In `a/b.rs` (module `a::b`) `super` is `a`; in
                // `a/mod.rs` (module `a`) it is the root, as for `a/b.rs`'s
                // own children.
                let mut parent = module.clone();
                parent.pop();
                parent
            }
            _ => continue,
        };
        let mut rest = &text[at + 2..];
        // `super::super::…`
        while let Some(more) = rest.trim_start().strip_prefix("super::") {
            base.pop();
            rest = more;
        }
        let line = text[..at].matches('\n').count() + 1;
        for tail in expand(rest) {
            let mut path = base.clone();
            path.extend(tail.into_iter().filter(|s| s != "self"));
            out.push((line, path));
        }
    }
    out
}

/// The longest prefix of `path` that is a module of the crate.
fn resolve(modules: &BTreeSet<ModPath>, path: &ModPath) -> ModPath {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|prefix| modules.contains(prefix))
        .unwrap_or_default()
}

/// The references between modules of one crate's `src`.
fn references(src: &Path) -> Vec<Reference> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut modules = BTreeSet::new();
    let mut sources = Vec::new();
    for file in files {
        if let Some(module) = module_of(src, &file) {
            modules.insert(module.clone());
            sources.push((file, module));
        }
    }
    let mut out = Vec::new();
    for (file, module) in sources {
        let text = std::fs::read_to_string(&file).unwrap();
        for (line, path) in paths_in(&module, &text) {
            out.push(Reference {
                from: module.clone(),
                to: resolve(&modules, &path),
                site: format!("{}:{line}", file.display()),
            });
        }
    }
    out
}

/// The sibling edge a reference makes, if any: `(parent, from, to)`.
fn sibling_edge(reference: &Reference) -> Option<(ModPath, String, String)> {
    let common = reference
        .from
        .iter()
        .zip(&reference.to)
        .take_while(|(a, b)| a == b)
        .count();
    let from = reference.from.get(common)?;
    let to = reference.to.get(common)?;
    Some((reference.from[..common].to_vec(), from.clone(), to.clone()))
}

/// The cycles among siblings, each as its edges' `from → to (site)` lines.
fn cycles(references: &[Reference]) -> Vec<Vec<String>> {
    // parent → from → to → first site
    let mut graphs: BTreeMap<ModPath, BTreeMap<String, BTreeMap<String, String>>> = BTreeMap::new();
    for reference in references {
        if let Some((parent, from, to)) = sibling_edge(reference) {
            graphs
                .entry(parent)
                .or_default()
                .entry(from)
                .or_default()
                .entry(to)
                .or_insert_with(|| reference.site.clone());
        }
    }
    let mut found = Vec::new();
    for (parent, graph) in &graphs {
        // Two siblings are in one cycle when each reaches the other.
        let reach = |start: &String| {
            let mut seen = BTreeSet::new();
            let mut stack = vec![start.clone()];
            while let Some(node) = stack.pop() {
                for next in graph.get(&node).into_iter().flat_map(|m| m.keys()) {
                    if seen.insert(next.clone()) {
                        stack.push(next.clone());
                    }
                }
            }
            seen
        };
        let mut done = BTreeSet::new();
        for node in graph.keys() {
            if done.contains(node) {
                continue;
            }
            let from_node = reach(node);
            if !from_node.contains(node) {
                continue;
            }
            let component: BTreeSet<String> = from_node
                .into_iter()
                .filter(|other| reach(other).contains(node))
                .collect();
            let mut edges = Vec::new();
            for a in &component {
                for (b, site) in graph.get(a).into_iter().flatten() {
                    if component.contains(b) {
                        edges.push(format!("{}{a} → {b} ({site})", prefix(parent)));
                    }
                }
            }
            done.extend(component);
            found.push(edges);
        }
    }
    found
}

fn prefix(parent: &ModPath) -> String {
    parent.iter().map(|p| format!("{p}::")).collect()
}

fn workspace_crates() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let members = manifest
        .split("members = [")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .expect("the workspace manifest lists its members");
    members
        .split(',')
        .map(|m| m.trim().trim_matches('"'))
        .filter(|m| !m.is_empty())
        .map(|m| root.join(m))
        .collect()
}

#[test]
fn no_crate_has_an_import_cycle_between_its_modules() {
    let crates = workspace_crates();
    assert!(crates.len() >= 10, "members not parsed: {crates:?}");
    let mut all = Vec::new();
    let mut edges = 0;
    for dir in &crates {
        let references = references(&dir.join("src"));
        edges += references.iter().filter_map(sibling_edge).count();
        all.extend(cycles(&references));
    }
    // The scan sees the crates' structure, not nothing.
    assert!(edges > 100, "only {edges} references between modules found");
    assert!(all.is_empty(), "import cycles: {all:#?}");
}

fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_cycle_through_groups_and_super_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    write(src, "lib.rs", "mod a; mod b; mod c;\n");
    // a → b through a nested group, b → c through `super`, c → a in a
    // file below c: one cycle of three.
    write(src, "a.rs", "use crate::{x, b::{self, Thing}};\n");
    write(src, "b.rs", "fn f() { super::c::run(); }\n");
    write(src, "c/mod.rs", "mod inner;\n");
    write(src, "c/inner.rs", "use crate::a::Item;\n");
    let found = cycles(&references(src));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].len(), 3, "{found:#?}");
}

#[test]
fn comments_strings_parents_and_children_are_not_cycles() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    write(src, "lib.rs", "mod a; mod b; pub use a::A;\n");
    // b names a only in comments and a string; a's child uses its parent
    // and the parent its child; a uses b: no cycle.
    write(
        src,
        "b.rs",
        "// crate::a::A\n/* crate::a */\nconst S: &str = \"crate::a::A\";\n",
    );
    write(
        src,
        "a/mod.rs",
        "mod child; use child::C; use crate::b::S;\n",
    );
    write(src, "a/child.rs", "use super::A; use crate::a::B;\n");
    let references = references(src);
    assert!(cycles(&references).is_empty());
    // …and the one real edge is seen.
    let edges: Vec<_> = references.iter().filter_map(sibling_edge).collect();
    assert_eq!(edges, vec![(vec![], "a".to_string(), "b".to_string())]);
}
