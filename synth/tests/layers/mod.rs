//! The module layering of `synth/src`: reads the sources, extracts every `crate::<module>` edge and fails on an
//! edge that goes up or sideways in [`LAYERS`], or on a cycle, so the crate stays a DAG.
//!
//! Part of the `synth` test binary (`mod layers;` in `tests/synth.rs`) rather than a binary of its own: one
//! integration binary per crate.

use std::collections::{BTreeMap, BTreeSet};

/// The modules of `synth/src`, lowest layer first. A module may use modules of lower layers only: not its own
/// layer (so `validate`, `check` and `render` stay independent of each other) and not a higher one. The crate
/// root (`lib.rs`) is above every layer; an item it defines (`StringEnum`) may not be used by any module.
const LAYERS: &[&[&str]] =
    &[&["diag", "value"], &["schema"], &["template"], &["stack"], &["doc"], &["validate", "check", "render"], &["app"]];

/// The crate root, as a node of the graph.
const ROOT: &str = "lib";

/// A use of one module by another, with where it is written (`value.rs:656`).
#[derive(Debug)]
struct Edge {
    from: String,
    to: String,
    at: String,
}

/// Every problem of the layering of `files` (file name → source, `lib.rs` included), in a stable order.
fn problems(files: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    let Some(lib) = files.get("lib.rs") else { return vec!["no lib.rs".to_owned()] };
    let declared = declared_modules(lib);
    let layer_of: BTreeMap<&str, usize> =
        LAYERS.iter().enumerate().flat_map(|(i, ms)| ms.iter().map(move |m| (*m, i))).collect();
    for m in &declared {
        if !layer_of.contains_key(m.as_str()) {
            out.push(format!("module {m:?} is declared in lib.rs but has no layer in LAYERS: place it there"));
        }
    }
    for m in layer_of.keys() {
        if !declared.contains(*m) {
            out.push(format!("module {m:?} is in LAYERS but not declared in lib.rs"));
        }
    }
    for file in files.keys().filter(|f| *f != "lib.rs") {
        let m = file.trim_end_matches(".rs");
        if !declared.contains(m) {
            out.push(format!("{file} is not declared as a module in lib.rs"));
        }
    }
    let items = root_items(lib);
    let mut edges = Vec::new();
    for (file, src) in files.iter().filter(|(f, _)| *f != "lib.rs") {
        edges.extend(edges_of(file, src, &declared, &items));
    }
    for e in &edges {
        let (Some(&from), to) = (layer_of.get(e.from.as_str()), layer_of.get(e.to.as_str())) else { continue };
        match to {
            None => out.push(format!(
                "{}: {} uses an item defined in the crate root; move the item into a module of a lower layer",
                e.at, e.from
            )),
            Some(&to) if to == from => out.push(format!(
                "{}: {} uses {}, a module of its own layer {from}; modules of one layer must not depend on each other",
                e.at, e.from, e.to
            )),
            Some(&to) if to > from => out.push(format!(
                "{}: {} (layer {from}) uses {} (layer {to}): modules may depend on lower layers only",
                e.at, e.from, e.to
            )),
            Some(_) => {}
        }
    }
    out.extend(cycles(&edges).into_iter().map(|c| format!("module cycle among {}", c.join(", "))));
    out
}

/// The `mod <name>;` declarations of `lib.rs`.
fn declared_modules(lib: &str) -> BTreeSet<String> {
    lib.lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("pub ").unwrap_or(l).strip_prefix("mod "))
        .filter_map(|rest| rest.strip_suffix(';'))
        .map(str::to_owned)
        .collect()
}

/// The items `lib.rs` re-exports, each with the module it comes from (`Val` → `value`).
fn root_items(lib: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let code = strip_comments(lib);
    for stmt in code.split(';') {
        let Some(path) = stmt.trim().strip_prefix("pub use ") else { continue };
        let Some((module, rest)) = path.split_once("::") else { continue };
        for item in rest.split(|c: char| !is_ident(c)).filter(|i| !i.is_empty()) {
            out.insert(item.to_owned(), module.trim().to_owned());
        }
    }
    out
}

/// The modules `src` (the source of module `file`) uses through `crate::` paths, `use crate::{..}` groups
/// included, and through `super::` in its own top level (which names the crate root). Comments are skipped.
fn edges_of(file: &str, src: &str, modules: &BTreeSet<String>, items: &BTreeMap<String, String>) -> Vec<Edge> {
    let from = file.trim_end_matches(".rs");
    let mut out = Vec::new();
    let mut add = |name: &str, line: usize| {
        // `crate::Val` names the re-export: the edge goes to the module behind it, or to the root itself.
        let to = if modules.contains(name) { name } else { items.get(name).map_or(ROOT, String::as_str) };
        if to != from {
            out.push(Edge { from: from.to_owned(), to: to.to_owned(), at: format!("{file}:{line}") });
        }
    };
    let code = strip_comments(src);
    for (i, line) in code.lines().enumerate() {
        if line.starts_with("use super::") || line.starts_with("pub use super::") {
            add(ROOT, i + 1);
        }
    }
    let mut rest = code.as_str();
    let mut offset = 0;
    while let Some(pos) = rest.find("crate::") {
        let before = code[..offset + pos].chars().next_back();
        let after = &rest[pos + "crate::".len()..];
        let line = code[..offset + pos].matches('\n').count() + 1;
        if !before.is_some_and(|c| is_ident(c) || c == '$') {
            if let Some(group) = after.strip_prefix('{') {
                for name in group_heads(group) {
                    add(name, line);
                }
            } else {
                add(ident(after), line);
            }
        }
        offset += pos + "crate::".len();
        rest = after;
    }
    out
}

/// The first segment of each path of a `{a::X, b::{Y, Z}, C}` group (the text after the `{`): `a`, `b`, `C`.
fn group_heads(group: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut expect_head = true;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => expect_head = true,
            c if expect_head && is_ident(c) => {
                out.push(ident(&group[i..]));
                expect_head = false;
            }
            _ => {}
        }
    }
    out
}

fn ident(s: &str) -> &str {
    let end = s.find(|c: char| !is_ident(c)).unwrap_or(s.len());
    &s[..end]
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The source with whole-line comments (`//`, `///`, `//!`) blanked, keeping line numbers. A doc link to
/// another module is not a dependency of the code.
fn strip_comments(src: &str) -> String {
    src.lines().map(|l| if l.trim_start().starts_with("//") { "" } else { l }).collect::<Vec<_>>().join("\n")
}

/// The modules of each cycle of the graph, each group once: a strongly connected component of more than one
/// module (every module of it reaches every other). Groups, not single cycles, because one upward edge closes a
/// cycle through every path back down, and listing each would bury the edge to fix.
fn cycles(edges: &[Edge]) -> BTreeSet<Vec<String>> {
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in edges {
        graph.entry(&e.from).or_default().insert(&e.to);
    }
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from];
        while let Some(m) = todo.pop() {
            for next in graph.get(m).into_iter().flatten() {
                if seen.insert(*next) {
                    todo.push(next);
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&str, BTreeSet<&str>> = graph.keys().map(|m| (*m, reach(m))).collect();
    let mut out = BTreeSet::new();
    for (m, from_m) in &reachable {
        let group: Vec<String> = from_m
            .iter()
            .filter(|n| *n == m || reachable.get(*n).is_some_and(|r| r.contains(m)))
            .map(|n| (*n).to_owned())
            .collect();
        if group.len() > 1 {
            out.insert(group);
        }
    }
    out
}

fn sources() -> BTreeMap<String, String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            out.insert(name, std::fs::read_to_string(&path).unwrap());
        }
    }
    out
}

#[test]
fn synth_src_is_a_dag_in_layer_order() {
    let files = sources();
    assert!(files.len() > 5, "read only {} files from synth/src", files.len());
    assert_eq!(problems(&files), Vec::<String>::new());
}

/// The real sources with `code` appended to `file`; asserts the exact problems found. `{line}` in `expected`
/// stands for the line number of the appended code.
fn check(file: &str, code: &str, expected: &[&str]) {
    let mut files = sources();
    let src = files.get_mut(file).unwrap();
    if !src.ends_with('\n') {
        src.push('\n');
    }
    let line = src.lines().count() + 1;
    src.push_str(code);
    let expected: Vec<String> = expected.iter().map(|e| e.replace("{line}", &line.to_string())).collect();
    assert_eq!(problems(&files), expected);
}

#[test]
fn an_upward_use_is_found_with_the_cycle_it_makes() {
    check(
        "value.rs",
        "use crate::validate::MAX_RESOURCES;",
        &[
            "value.rs:{line}: value (layer 0) uses validate (layer 5): modules may depend on lower layers only",
            "module cycle among doc, stack, template, validate, value",
        ],
    );
}

#[test]
fn a_use_within_one_layer_is_found() {
    check(
        "check.rs",
        "fn f(d: &Doc) -> String { crate::render::render(d) }",
        &[
            "check.rs:{line}: check uses render, a module of its own layer 5; modules of one layer must not depend on each other",
        ],
    );
}

#[test]
fn grouped_uses_and_root_re_exports_are_followed() {
    check(
        "template.rs",
        "use crate::{stack::Stack, value::Val};",
        &[
            "template.rs:{line}: template (layer 2) uses stack (layer 3): modules may depend on lower layers only",
            "module cycle among stack, template",
        ],
    );
    check(
        "schema.rs",
        "use crate::Doc;",
        &[
            "schema.rs:{line}: schema (layer 1) uses doc (layer 4): modules may depend on lower layers only",
            "module cycle among doc, schema, stack, template",
        ],
    );
    check(
        "value.rs",
        "fn f<T: crate::StringEnum>() {}",
        &[
            "value.rs:{line}: value uses an item defined in the crate root; move the item into a module of a lower layer",
        ],
    );
    check(
        "diag.rs",
        "use super::Val;",
        &["diag.rs:{line}: diag uses an item defined in the crate root; move the item into a module of a lower layer"],
    );
}

#[test]
fn comments_are_not_dependencies() {
    check("value.rs", "/// Used by [`crate::app::App`].\n// crate::stack::Stack\nfn f() {}", &[]);
}

#[test]
fn a_new_module_must_be_placed_in_a_layer() {
    let mut files = sources();
    files.get_mut("lib.rs").unwrap().push_str("\nmod extra;\n");
    files.insert("extra.rs".to_owned(), "//! Extra.\n".to_owned());
    files.insert("stray.rs".to_owned(), "//! Stray.\n".to_owned());
    assert_eq!(
        problems(&files),
        [
            "module \"extra\" is declared in lib.rs but has no layer in LAYERS: place it there",
            "stray.rs is not declared as a module in lib.rs",
        ]
    );
}
