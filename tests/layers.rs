//! coro-core's layers, bottom to top: `language` (what C++'s `<coroutine>`
//! and compiler give), `home` (which thread a woken thread-bound coroutine
//! runs on), `library` (tasks, generators, combinators, cancellation,
//! sync), then `scheduling` and `interop` side by side. Code imports only from
//! its own layer or the ones below, and names the layer it imports from
//! (never a crate-root re-export). ARCHITECTURE.md describes the same
//! picture; this test keeps it true.

use std::fs;
use std::path::{Path, PathBuf};

const LAYERS: &[(&str, u32)] = &[("language", 0), ("home", 1), ("library", 2), ("scheduling", 3), ("interop", 3)];

fn rank(layer: &str) -> Option<u32> {
    LAYERS.iter().find(|(name, _)| *name == layer).map(|(_, r)| *r)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::NAME` path in a line of code (comments left out).
fn crate_paths(line: &str) -> Vec<&str> {
    let code = line.split("//").next().unwrap_or("");
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        let end = after.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(after.len());
        // `$crate::` in a macro is the crate root as seen by the user.
        if !rest[..at].ends_with('$') {
            found.push(&after[..end]);
        }
        rest = &after[end..];
    }
    found
}

#[test]
fn each_layer_imports_only_from_itself_and_the_layers_below() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("coro-core/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let layer = rel.components().next().unwrap().as_os_str().to_str().unwrap();
        if layer == "lib.rs" {
            continue;
        }
        let own = rank(layer).unwrap_or_else(|| panic!("{} is in no layer: add its folder to LAYERS", rel.display()));
        for (n, line) in fs::read_to_string(file).unwrap().lines().enumerate() {
            for target in crate_paths(line) {
                let ok = match rank(target) {
                    Some(r) => target == layer || r < own,
                    None => false,
                };
                if !ok {
                    wrong.push(format!("{}:{}: crate::{target}  ({})", rel.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that go up a layer, sideways, or through a crate-root re-export:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_layer_check_sees_paths_in_code_and_not_in_comments() {
    assert_eq!(crate_paths("use crate::library::task::Task;"), ["library"]);
    assert_eq!(crate_paths("impl crate::language::awaiter::Awaiter for X {} // crate::home"), ["language"]);
    assert_eq!(crate_paths("/// see [`Task`](crate::Task)").len(), 0);
    assert_eq!(crate_paths("$crate::co_await!()").len(), 0);
}
