//! Rooms with one job: no file under `src/` is over 800 lines, no function over 150 lines
//! (a one-line `match` arm does not count, so a dispatch of one-line calls may be longer),
//! and no two files under `src/` import each other, directly or in a loop.
//!
//! The import graph is between files. An edge is a `use` or a path (`crate::…`, `super::…`,
//! `self::…`, a child module's name) in a file's code; comments and strings do not count.
//! A path is followed through `pub use` re-exports to the file that defines the item, so a
//! facade `mod.rs` that only declares and re-exports its children hides no loop.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 800;
const MAX_FN_LINES: usize = 150;

type ModPath = Vec<String>;

struct SourceFile {
    path: PathBuf,
    module: ModPath,
    raw: String,
    /// The text with comments, strings and character literals blanked (lines kept).
    code: String,
}

fn source_files() -> Vec<SourceFile> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    walk(&src, &mut paths);
    paths.sort();
    let files: Vec<SourceFile> = paths
        .into_iter()
        .filter(|p| !p.ends_with("main.rs"))
        .map(|path| {
            let raw = std::fs::read_to_string(&path).unwrap();
            let rel = path.strip_prefix(&src).unwrap().with_extension("");
            let mut module: ModPath = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if module.last().is_some_and(|l| l == "mod" || l == "lib") {
                module.pop();
            }
            let code = strip(&raw);
            SourceFile {
                path,
                module,
                raw,
                code,
            }
        })
        .collect();
    assert!(files.len() > 50, "the layout moved: {} files", files.len());
    files
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Blanks comments, string literals (raw ones too) and character literals, keeping every
/// newline so line numbers still match.
fn strip(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let newlines = |from: usize, to: usize| "\n".repeat(text[from..to].matches('\n').count());
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            i = text[i..].find('\n').map_or(b.len(), |n| i + n);
            continue;
        }
        if b[i..].starts_with(b"/*") {
            let (mut depth, mut j) = (1, i + 2);
            while j < b.len() && depth > 0 {
                if b[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if b[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            out.push_str(&newlines(i, j));
            i = j;
            continue;
        }
        let word_before = i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        if !word_before {
            if let Some(end) = raw_string_end(text, i) {
                out.push_str("\"\"");
                out.push_str(&newlines(i, end));
                i = end;
                continue;
            }
        }
        if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(b.len());
            out.push_str("\"\"");
            out.push_str(&newlines(i, end));
            i = end;
            continue;
        }
        if b[i] == b'\'' {
            if let Some(len) = char_literal_len(&b[i..]) {
                out.push_str("' '");
                i += len;
                continue;
            }
        }
        let ch = text[i..].chars().next().unwrap();
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// `r"…"`, `r#"…"#`, `br"…"` starting at `i`: the index just past its end.
fn raw_string_end(text: &str, i: usize) -> Option<usize> {
    let rest = &text[i..];
    let rest = rest.strip_prefix('b').unwrap_or(rest);
    let after_r = rest.strip_prefix('r')?;
    let hashes = after_r.len() - after_r.trim_start_matches('#').len();
    if !after_r[hashes..].starts_with('"') {
        return None;
    }
    let start = text.len() - after_r.len() + hashes + 1;
    let close = format!("\"{}", "#".repeat(hashes));
    Some(
        text[start..]
            .find(&close)
            .map_or(text.len(), |n| start + n + close.len()),
    )
}

/// `'a'`, `'\n'`, `'\u{1F600}'`, `'é'` (not a lifetime): the literal's length in bytes.
fn char_literal_len(b: &[u8]) -> Option<usize> {
    if b.get(1) == Some(&b'\\') {
        let close = b.iter().skip(3).take(10).position(|&c| c == b'\'')?;
        return Some(close + 4);
    }
    (1..=4).find_map(|n| {
        let c = std::str::from_utf8(b.get(1..1 + n)?).ok()?;
        (b.get(1 + n) == Some(&b'\'') && c.chars().count() == 1).then_some(n + 2)
    })
}

/// The name of the function a line declares, if it declares one.
fn declared_fn(line: &str) -> Option<(&str, usize)> {
    let trimmed = line.trim_start();
    let mut rest = trimmed;
    if let Some(r) = rest.strip_prefix("pub") {
        rest = r.trim_start();
        if rest.starts_with('(') {
            rest = rest[rest.find(')')? + 1..].trim_start();
        }
    }
    for qualifier in ["const ", "async ", "unsafe "] {
        rest = rest.strip_prefix(qualifier).unwrap_or(rest).trim_start();
    }
    if rest.starts_with("extern ") {
        rest = rest["extern ".len()..].trim_start();
        if rest.starts_with('"') {
            rest = rest[1..][rest[1..].find('"')? + 1..].trim_start();
        }
    }
    let after = rest.strip_prefix("fn ")?;
    let name_len = after
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(after.len());
    let column = line.len() - rest.len();
    Some((&after[..name_len], column))
}

/// A one-line `match` arm: `pattern => call(…),` with its brackets balanced on the line.
fn one_line_arm(line: &str) -> bool {
    let t = line.trim();
    t.contains("=>")
        && t.ends_with(',')
        && t.matches('(').count() == t.matches(')').count()
        && t.matches('{').count() == t.matches('}').count()
}

/// (name, first line, lines counted) of every function with a body.
fn functions(code: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = code.split('\n').collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some((name, column)) = declared_fn(line) else {
            continue;
        };
        let mut depth = 0i32;
        let mut opened = false;
        let mut end = None;
        'scan: for (j, l) in lines.iter().enumerate().skip(i) {
            let part = if j == i { &l[column..] } else { l };
            for c in part.chars() {
                match c {
                    ';' if !opened && depth == 0 => break 'scan,
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => {
                        depth -= 1;
                        if opened && depth == 0 {
                            end = Some(j);
                            break 'scan;
                        }
                    }
                    _ => {}
                }
            }
        }
        if let Some(end) = end {
            let body = &lines[i..=end];
            let arms = body
                .iter()
                .skip(1)
                .take(body.len().saturating_sub(2))
                .filter(|l| one_line_arm(l))
                .count();
            out.push((name.to_string(), i + 1, body.len() - arms));
        }
    }
    out
}

/// `a::{b, c::{d, e as f}}` → `a::b`, `a::c::d`, `a::c::e as f`.
fn expand(tree: &str) -> Vec<String> {
    let tree: String = tree.split_whitespace().collect::<Vec<_>>().join(" ");
    let tree = tree
        .replace(" as ", "\u{1}")
        .replace(' ', "")
        .replace('\u{1}', " as ");
    let Some(open) = tree.find('{') else {
        return vec![tree];
    };
    if !tree.ends_with('}') {
        return vec![tree];
    }
    let prefix = tree[..open].trim_end_matches("::");
    let inner = &tree[open + 1..tree.len() - 1];
    let mut parts = Vec::new();
    let (mut depth, mut current) = (0, String::new());
    for c in inner.chars() {
        match c {
            ',' if depth == 0 => parts.push(std::mem::take(&mut current)),
            '{' => {
                depth += 1;
                current.push(c);
            }
            '}' => {
                depth -= 1;
                current.push(c);
            }
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand(p))
        .map(|e| {
            if prefix.is_empty() {
                e
            } else {
                format!("{prefix}::{e}")
            }
        })
        .collect()
}

/// Every `use …;` in the code: (is it `pub`, the use tree).
fn uses(code: &str) -> Vec<(bool, String)> {
    use_statements(code)
        .into_iter()
        .map(|(is_pub, tree, _)| (is_pub, tree))
        .collect()
}

/// Every `use …;` with the byte range of the statement from `use` to `;`.
fn use_statements(code: &str) -> Vec<(bool, String, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(n) = find_word(&code[from..], "use") {
        let at = from + n;
        let line_start = code[..at].rfind('\n').map_or(0, |n| n + 1);
        let lead = code[line_start..at].trim();
        let is_pub = lead.starts_with("pub");
        let statement_start = lead.is_empty() || is_pub;
        match code[at..].find(';') {
            Some(end) if statement_start => {
                let tree = code[at + 3..at + end].trim().to_string();
                out.push((is_pub, tree, at..at + end + 1));
                from = at + end + 1;
            }
            _ => from = at + 3,
        }
    }
    out
}

fn find_word(text: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(n) = text[from..].find(word) {
        let at = from + n;
        let ok_before = at == 0 || !is_ident(text.as_bytes()[at - 1]);
        let end = at + word.len();
        let ok_after = end >= text.len() || !is_ident(text.as_bytes()[end]);
        if ok_before && ok_after {
            return Some(at);
        }
        from = end;
    }
    None
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The code with its `use` statements blanked.
fn without_uses(code: &str) -> String {
    let mut out = code.to_string();
    for (_, _, range) in use_statements(code) {
        out.replace_range(range.clone(), &" ".repeat(range.len()));
    }
    out
}

/// Every path in code that starts at a module (`crate::`, `super::`, `self::` or one of
/// `children`): the whole `a::b::c` text.
fn paths(code: &str, children: &BTreeSet<String>) -> Vec<String> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts = is_ident(b[i]) && (i == 0 || !(is_ident(b[i - 1]) || b[i - 1] == b':'));
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < b.len() && (is_ident(b[j]) || (b[j] == b':' && b.get(j + 1) == Some(&b':'))) {
            j += if b[j] == b':' { 2 } else { 1 };
        }
        let path = code[i..j].trim_end_matches(':');
        let first = path.split("::").next().unwrap_or("");
        if path.contains("::")
            && (["crate", "super", "self"].contains(&first) || children.contains(first))
        {
            out.push(path.to_string());
        }
        i = j.max(i + 1);
    }
    out
}

struct Modules {
    known: BTreeSet<ModPath>,
    /// Per module: a re-exported name → the absolute path it stands for.
    reexports: BTreeMap<ModPath, BTreeMap<String, ModPath>>,
}

impl Modules {
    fn children(&self, of: &ModPath) -> BTreeSet<String> {
        self.known
            .iter()
            .filter(|m| m.len() == of.len() + 1 && m.starts_with(of))
            .map(|m| m.last().unwrap().clone())
            .collect()
    }

    /// A path as written in module `at`, made absolute (`None`: an outside crate).
    fn absolute(&self, at: &ModPath, path: &str) -> Option<ModPath> {
        let segs: Vec<&str> = path.split("::").collect();
        let mut base = at.clone();
        let rest = match segs[0] {
            "crate" => {
                base.clear();
                &segs[1..]
            }
            "self" => &segs[1..],
            "super" => {
                let ups = segs.iter().take_while(|s| **s == "super").count();
                base.truncate(base.len().saturating_sub(ups));
                &segs[ups..]
            }
            first if self.children(at).contains(first) => &segs[..],
            _ => return None,
        };
        base.extend(
            rest.iter()
                .filter(|s| !["*", "self", ""].contains(s))
                .map(|s| s.to_string()),
        );
        Some(base)
    }

    /// The file (module) that defines what an absolute path names, through re-exports.
    fn resolve(&self, path: &[String], depth: usize) -> Option<ModPath> {
        for len in (1..=path.len()).rev() {
            let module = path[..len].to_vec();
            if !self.known.contains(&module) {
                continue;
            }
            if let Some(target) = path
                .get(len)
                .and_then(|name| self.reexports.get(&module)?.get(name))
            {
                let mut next = target.clone();
                next.extend(path[len + 1..].iter().cloned());
                if depth < 20 && next != path {
                    return self.resolve(&next, depth + 1);
                }
            }
            return Some(module);
        }
        None
    }
}

fn import_graph(files: &[SourceFile]) -> BTreeMap<ModPath, BTreeSet<ModPath>> {
    let mut modules = Modules {
        known: files.iter().map(|f| f.module.clone()).collect(),
        reexports: BTreeMap::new(),
    };
    for f in files {
        for (is_pub, tree) in uses(&f.code) {
            if !is_pub {
                continue;
            }
            for item in expand(&tree) {
                let (path, alias) = match item.split_once(" as ") {
                    Some((p, a)) => (p.to_string(), Some(a.to_string())),
                    None => (item.clone(), None),
                };
                let last = path.rsplit("::").next().unwrap_or("");
                if last == "*" || last == "self" {
                    continue;
                }
                if let Some(abs) = modules.absolute(&f.module, &path) {
                    let name = alias.unwrap_or_else(|| last.to_string());
                    modules
                        .reexports
                        .entry(f.module.clone())
                        .or_default()
                        .insert(name, abs);
                }
            }
        }
    }
    let mut graph = BTreeMap::new();
    for f in files {
        let me = &f.module;
        let mut targets = BTreeSet::new();
        let mut add = |abs: ModPath, reexport: bool| {
            let Some(t) = modules.resolve(&abs, 0) else {
                return;
            };
            // A facade declaring or re-exporting its own children is not an import.
            let own_child = t.len() > me.len() && t.starts_with(me);
            if &t != me && !(reexport && own_child) {
                targets.insert(t);
            }
        };
        for (is_pub, tree) in uses(&f.code) {
            for item in expand(&tree) {
                let path = item.split(" as ").next().unwrap_or("");
                if let Some(abs) = modules.absolute(me, path) {
                    add(abs, is_pub);
                }
            }
        }
        let children = modules.children(me);
        for path in paths(&without_uses(&f.code), &children) {
            if let Some(abs) = modules.absolute(me, &path) {
                add(abs, false);
            }
        }
        graph.insert(me.clone(), targets);
    }
    graph
}

/// The strongly connected components with more than one file (Tarjan's algorithm).
fn loops(graph: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<Vec<ModPath>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<ModPath, BTreeSet<ModPath>>,
        index: BTreeMap<&'a ModPath, usize>,
        low: BTreeMap<&'a ModPath, usize>,
        stack: Vec<&'a ModPath>,
        on_stack: BTreeSet<&'a ModPath>,
        found: Vec<Vec<ModPath>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a ModPath) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.found
}

fn shown(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn no_file_under_src_is_over_800_lines() {
    let long: Vec<String> = source_files()
        .iter()
        .filter(|f| f.raw.lines().count() > MAX_FILE_LINES)
        .map(|f| format!("{} ({} lines)", shown(&f.path), f.raw.lines().count()))
        .collect();
    assert!(
        long.is_empty(),
        "files over {MAX_FILE_LINES} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn no_function_under_src_is_over_150_lines() {
    let mut long = Vec::new();
    let mut seen = 0;
    for f in source_files() {
        for (name, line, length) in functions(&f.code) {
            seen += 1;
            if length > MAX_FN_LINES {
                long.push(format!("{}:{line} {name} ({length} lines)", shown(&f.path)));
            }
        }
    }
    assert!(seen > 1000, "the function scan found only {seen} functions");
    assert!(
        long.is_empty(),
        "functions over {MAX_FN_LINES} lines (one-line match arms not counted):\n{}",
        long.join("\n")
    );
}

#[test]
fn no_two_files_under_src_import_each_other() {
    let files = source_files();
    let graph = import_graph(&files);
    let edges: usize = graph.values().map(BTreeSet::len).sum();
    assert!(edges > 200, "the import scan found only {edges} imports");
    let name = |m: &ModPath| {
        files
            .iter()
            .find(|f| &f.module == m)
            .map_or_else(|| m.join("::"), |f| shown(&f.path))
    };
    let report: Vec<String> = loops(&graph)
        .iter()
        .map(|component| {
            let mut lines = vec![component.iter().map(name).collect::<Vec<_>>().join(" ↔ ")];
            for a in component {
                for b in &graph[a] {
                    if component.contains(b) {
                        lines.push(format!("    {} → {}", name(a), name(b)));
                    }
                }
            }
            lines.join("\n")
        })
        .collect();
    assert!(report.is_empty(), "import loops:\n{}", report.join("\n"));
}

/// The scanners themselves, on code whose answer is known.
#[test]
fn the_layout_scanners_count_what_they_should() {
    let code = strip(
        "// fn commented() {\nfn a() {\n    let s = \"}\";\n    let c = '}';\n    match x {\n        1 => one(),\n        _ => other(),\n    }\n}\nfn b();\npub(crate) async fn c<'a>(x: &'a str) { r#\"{\"# }\n",
    );
    let fns = functions(&code);
    assert_eq!(
        fns,
        vec![("a".to_string(), 2, 6), ("c".to_string(), 11, 1)],
        "{code}"
    );
    assert_eq!(
        expand("crate::a::{b, c::{d, e as f}, self}"),
        vec![
            "crate::a::b",
            "crate::a::c::d",
            "crate::a::c::e as f",
            "crate::a::self"
        ]
    );
    let children: BTreeSet<String> = ["kid".to_string()].into();
    assert_eq!(
        paths(
            "x(crate::a::b(), super::c, kid::d, other::e, std::f)",
            &children
        ),
        vec!["crate::a::b", "super::c", "kid::d"]
    );
    assert_eq!(
        uses("use a::b;\npub use c::{d, e};\nlet used = 1; // use x;"),
        vec![(false, "a::b".to_string()), (true, "c::{d, e}".to_string())]
    );
    // A two-file loop through a re-export is found; a facade's re-export alone is not one.
    let m = |s: &str| -> ModPath { s.split("::").map(String::from).collect() };
    let graph: BTreeMap<ModPath, BTreeSet<ModPath>> = [
        (m("x"), [m("x::a")].into()),
        (m("x::a"), [m("x::b")].into()),
        (m("x::b"), [m("x::a")].into()),
        (m("y"), BTreeSet::new()),
    ]
    .into();
    assert_eq!(loops(&graph), vec![vec![m("x::a"), m("x::b")]]);
}

/// `docs/architecture.md`'s module map names every file under `src/`, and no file that is
/// gone: the map a newcomer reads is the layout as it is.
#[test]
fn the_module_map_names_every_file_under_src() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap();
    let map = doc
        .split("\n## Module map")
        .nth(1)
        .expect("docs/architecture.md has a \"## Module map\" section");
    let map = map.split("\n## ").next().unwrap_or(map);
    let named: BTreeSet<String> = map
        .lines()
        .filter_map(|l| l.strip_prefix("- `")?.split('`').next())
        .map(String::from)
        .collect();
    let mut on_disk = Vec::new();
    walk(&root.join("src"), &mut on_disk);
    let on_disk: BTreeSet<String> = on_disk
        .iter()
        .map(|p| {
            p.strip_prefix(root.join("src"))
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    let missing: Vec<_> = on_disk.difference(&named).collect();
    let gone: Vec<_> = named.difference(&on_disk).collect();
    assert!(
        missing.is_empty() && gone.is_empty(),
        "docs/architecture.md's module map: files it does not name {missing:?}, names of no file {gone:?}"
    );
}
