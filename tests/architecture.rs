//! The layering ARCHITECTURE.md promises, checked on the source: no two files of `src/` import
//! each other in a circle, the site model imports no module that works on it, and only the
//! edges (`http/`, `cli/`) know the web layer.
//!
//! Imports are read from `crate::` and `super::` paths in code (a file's tests, after its first
//! `#[cfg(test)]`, are left out), each resolved to the file that defines the module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Module = Vec<String>;

fn modules(root: &Path) -> BTreeMap<Module, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).unwrap().with_extension("");
                let mut module: Module = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if matches!(
                    module.last().map(String::as_str),
                    Some("mod" | "lib" | "main")
                ) {
                    module.pop();
                }
                out.insert(module, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    out
}

/// The code of a file without comments and without its tests.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (&s[..end], &s[end..])
}

/// Every path a `crate::` or `super::` use names, expanded through `{...}` groups.
fn paths(code: &str, here: &Module) -> Vec<Module> {
    fn walk(mut rest: &str, mut base: Module, out: &mut Vec<Module>) -> usize {
        let start = rest.len();
        loop {
            rest = rest.trim_start();
            if let Some(group) = rest.strip_prefix('{') {
                // A group: each item continues `base`.
                let mut inner = group;
                loop {
                    inner = inner.trim_start();
                    if let Some(after) = inner.strip_prefix('}') {
                        return start - after.len();
                    }
                    let used = walk(inner, base.clone(), out);
                    inner = inner[used..].trim_start();
                    inner = inner.strip_prefix(',').unwrap_or(inner);
                    if used == 0 && !inner.starts_with('}') {
                        return start - inner.len();
                    }
                }
            }
            let (name, after) = ident(rest);
            if name.is_empty() {
                out.push(base);
                return start - rest.len();
            }
            if name != "self" {
                base.push(name.to_string());
            }
            rest = after;
            match rest.strip_prefix("::") {
                Some(next) => rest = next,
                None => {
                    out.push(base);
                    return start - rest.len();
                }
            }
        }
    }
    let mut out = Vec::new();
    for (i, _) in code.match_indices("::") {
        let before = &code[..i];
        let root: Module = if before.ends_with("crate")
            && !before[..before.len() - 5].ends_with(|c: char| c.is_alphanumeric() || c == '_')
        {
            Vec::new()
        } else if before.ends_with("super")
            && !before[..before.len() - 5].ends_with(|c: char| c.is_alphanumeric() || c == '_')
        {
            here[..here.len().saturating_sub(1)].to_vec()
        } else {
            continue;
        };
        walk(&code[i + 2..], root, &mut out);
    }
    out
}

fn imports(files: &BTreeMap<Module, String>) -> BTreeMap<Module, BTreeSet<Module>> {
    let resolve = |path: &Module| {
        (1..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|m| files.contains_key(m))
    };
    files
        .iter()
        .map(|(module, text)| {
            let targets = paths(&code(text), module)
                .iter()
                .filter_map(resolve)
                .filter(|t| t != module)
                .collect();
            (module.clone(), targets)
        })
        .collect()
}

/// The strongly connected sets of more than one file (Tarjan).
fn circles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct State<'a> {
        edges: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        out: Vec<Vec<Module>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a Module) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        for w in &s.edges[v] {
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.stack.contains(&w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut set = Vec::new();
            while let Some(w) = s.stack.pop() {
                set.push(w.clone());
                if w == v {
                    break;
                }
            }
            if set.len() > 1 {
                s.out.push(set);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
}

fn name(m: &Module) -> String {
    format!("src/{}", m.join("/"))
}

fn src_imports() -> BTreeMap<Module, BTreeSet<Module>> {
    imports(&modules(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src")))
}

#[test]
fn no_two_files_import_each_other_in_a_circle() {
    let found: Vec<String> = circles(&src_imports())
        .iter()
        .map(|set| set.iter().map(name).collect::<Vec<_>>().join(" ↔ "))
        .collect();
    assert!(found.is_empty(), "import circles:\n{}", found.join("\n"));
}

#[test]
fn the_site_model_and_the_domains_stay_below_loading_and_the_web() {
    let edges = src_imports();
    let under = |m: &Module, top: &str| m.first().is_some_and(|f| f == top);
    let mut wrong = Vec::new();
    for (from, targets) in &edges {
        for to in targets {
            let loading = under(to, "config")
                && !matches!(
                    to.get(1).map(String::as_str),
                    // Leaf types the config folder also holds: device profiles and payload
                    // formats, connection settings, secrets, error positions.
                    Some(
                        "profile"
                            | "line_profile"
                            | "payload"
                            | "library"
                            | "mqtt"
                            | "influx"
                            | "secret"
                            | "error"
                    )
                );
            let web = under(to, "http") || under(to, "cli");
            let from_domain = ["site", "energy", "rules", "billing", "report", "store"]
                .iter()
                .any(|top| under(from, top));
            if from_domain && (loading || web)
                || under(from, "site") && !under(to, "site") && {
                    // The site model holds only leaf types.
                    let leaf = ["quantity", "decimal", "time"].iter().any(|t| under(to, t))
                        || to.iter().any(|p| p.ends_with("_settings"))
                        || matches!(
                            to.join("/").as_str(),
                            "energy/category"
                                | "energy/coefficients"
                                | "energy/formula"
                                | "rules/calendar"
                                | "billing/tariff"
                                | "billing/tenant"
                                | "collect/modbus/url"
                                | "collect/dlt645/frame"
                                | "collect/dlt645/data"
                                | "collect/cjt188/frame"
                                | "collect/mqtt/topic"
                        )
                        || under(to, "config") && !loading;
                    !leaf
                }
            {
                wrong.push(format!("{} imports {}", name(from), name(to)));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_reader_finds_grouped_and_relative_imports() {
    let here: Module = vec!["a".into(), "b".into()];
    let found = paths(
        "use crate::x::{y::{One, Two}, z};\nuse super::c::D;\nlet v = crate::q::f(1);",
        &here,
    );
    let found: Vec<String> = found.iter().map(|m| m.join("/")).collect();
    for want in ["x/y/One", "x/y/Two", "x/z", "a/c/D", "q/f"] {
        assert!(found.iter().any(|f| f == want), "{want} in {found:?}");
    }
    let mut files = BTreeMap::new();
    files.insert(vec!["a".to_string()], "use crate::b::X;".to_string());
    files.insert(vec!["b".to_string()], "use crate::a::Y;".to_string());
    files.insert(vec!["c".to_string()], "use crate::a::Z;".to_string());
    let circles = circles(&imports(&files));
    assert_eq!(circles.len(), 1);
    assert_eq!(circles[0].len(), 2);
}
