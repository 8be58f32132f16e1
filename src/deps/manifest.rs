//! Reading the dependencies a project declares: Cargo.toml and Cargo.lock, package.json and
//! package-lock.json, pyproject.toml (PEP 621 and Poetry) and requirements*.txt. Only what a
//! public registry serves is kept: path, git, URL and workspace dependencies are not
//! registry packages and are left out.

use serde::{Deserialize, Serialize};

/// The registry a dependency comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    /// crates.io.
    Cargo,
    /// The npm registry.
    Npm,
    /// PyPI.
    #[serde(rename = "pypi")]
    PyPI,
}

impl Ecosystem {
    pub fn name(self) -> &'static str {
        match self {
            Ecosystem::Cargo => "cargo",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPI => "pypi",
        }
    }

    pub fn registry(self) -> &'static str {
        match self {
            Ecosystem::Cargo => "crates.io",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPI => "PyPI",
        }
    }
}

impl std::fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One declared (or locked) dependency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    pub ecosystem: Ecosystem,
    /// The registry name (Cargo's `package = "…"` when the dependency is renamed).
    pub name: String,
    /// The requirement as written (`1.0`, `^4.17.1`, `>=2,<3`; empty: any version). A lock
    /// file's entry has its exact version here.
    pub requirement: String,
    /// Whether it comes from a lock file (an exact, resolved version).
    pub locked: bool,
    /// The manifest, relative to the repository root.
    pub manifest: String,
}

/// Whether a file name is a manifest or lock file this module reads.
pub fn is_manifest(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    matches!(
        file,
        "Cargo.toml" | "Cargo.lock" | "package.json" | "package-lock.json" | "pyproject.toml"
    ) || (file.starts_with("requirements") && file.ends_with(".txt"))
}

/// The registry dependencies `text` (the file at `path`) declares; an unreadable file is an
/// error naming it.
pub fn parse(path: &str, text: &str) -> Result<Vec<Dependency>, String> {
    let file = path.rsplit('/').next().unwrap_or(path);
    let mut out = Vec::new();
    let mut push = |ecosystem, name: &str, requirement: &str, locked| {
        out.push(Dependency {
            ecosystem,
            name: name.to_string(),
            requirement: requirement.trim().to_string(),
            locked,
            manifest: path.to_string(),
        })
    };
    let bad = |e: &dyn std::fmt::Display| format!("{path}: {e}");
    match file {
        "Cargo.toml" => {
            let doc: toml::Table = toml::from_str(text).map_err(|e| bad(&e))?;
            cargo_tables(&doc, &mut |name, req| {
                push(Ecosystem::Cargo, name, req, false)
            });
        }
        "Cargo.lock" => {
            let doc: toml::Table = toml::from_str(text).map_err(|e| bad(&e))?;
            for p in doc
                .get("package")
                .and_then(|p| p.as_array())
                .into_iter()
                .flatten()
            {
                let source = p.get("source").and_then(|s| s.as_str()).unwrap_or("");
                if let (Some(n), Some(v)) = (
                    p.get("name").and_then(|n| n.as_str()),
                    p.get("version").and_then(|v| v.as_str()),
                ) {
                    if source.contains("crates.io") {
                        push(Ecosystem::Cargo, n, v, true);
                    }
                }
            }
        }
        "package.json" => {
            let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(&e))?;
            for table in [
                "dependencies",
                "devDependencies",
                "optionalDependencies",
                "peerDependencies",
            ] {
                for (n, v) in doc
                    .get(table)
                    .and_then(|t| t.as_object())
                    .into_iter()
                    .flatten()
                {
                    let req = v.as_str().unwrap_or("");
                    if npm_registry_spec(req) {
                        push(Ecosystem::Npm, n, req, false);
                    }
                }
            }
        }
        "package-lock.json" => {
            let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(&e))?;
            npm_lock(&doc, &mut |n, v| push(Ecosystem::Npm, n, v, true));
        }
        "pyproject.toml" => {
            let doc: toml::Table = toml::from_str(text).map_err(|e| bad(&e))?;
            pyproject(&doc, &mut |n, r| push(Ecosystem::PyPI, n, r, false));
        }
        _ if is_manifest(path) => {
            for line in text.lines() {
                if let Some((n, r)) = pep508(line) {
                    let locked = r.starts_with("==") && !r.contains(',') && !r.contains('*');
                    push(Ecosystem::PyPI, &n, &r, locked);
                }
            }
        }
        _ => return Err(format!("{path}: not a manifest this check reads")),
    }
    out.sort_by(|a, b| (a.ecosystem, &a.name).cmp(&(b.ecosystem, &b.name)));
    out.dedup_by(|a, b| {
        a.ecosystem == b.ecosystem && a.name == b.name && a.requirement == b.requirement
    });
    Ok(out)
}

/// Every `[*dependencies]` table of a Cargo.toml, the target-specific ones and the
/// workspace's shared ones included.
fn cargo_tables(doc: &toml::Table, f: &mut dyn FnMut(&str, &str)) {
    let mut tables: Vec<&toml::Table> = Vec::new();
    for key in ["dependencies", "dev-dependencies", "build-dependencies"] {
        tables.extend(doc.get(key).and_then(|t| t.as_table()));
        if let Some(ws) = doc.get("workspace").and_then(|w| w.as_table()) {
            tables.extend(ws.get(key).and_then(|t| t.as_table()));
        }
        for (_, target) in doc
            .get("target")
            .and_then(|t| t.as_table())
            .into_iter()
            .flatten()
        {
            tables.extend(target.get(key).and_then(|t| t.as_table()));
        }
    }
    for table in tables {
        for (key, spec) in table {
            match spec {
                toml::Value::String(req) => f(key, req),
                toml::Value::Table(t) => {
                    let not_registry = ["path", "git", "workspace"]
                        .iter()
                        .any(|k| t.contains_key(*k))
                        || t.get("registry").is_some();
                    if not_registry {
                        continue;
                    }
                    let name = t.get("package").and_then(|p| p.as_str()).unwrap_or(key);
                    f(
                        name,
                        t.get("version").and_then(|v| v.as_str()).unwrap_or(""),
                    );
                }
                _ => {}
            }
        }
    }
}

/// Whether a package.json value names a registry version (not a URL, path, git or alias).
fn npm_registry_spec(req: &str) -> bool {
    let r = req.trim();
    !(r.contains(':') || r.contains('/') || r.starts_with('.'))
}

/// package-lock.json v2/v3 (`packages`) or v1 (`dependencies`).
fn npm_lock(doc: &serde_json::Value, f: &mut dyn FnMut(&str, &str)) {
    if let Some(packages) = doc.get("packages").and_then(|p| p.as_object()) {
        for (key, p) in packages {
            let Some(at) = key.rfind("node_modules/") else {
                continue;
            };
            let linked = p.get("link").and_then(|l| l.as_bool()).unwrap_or(false);
            let resolved = p.get("resolved").and_then(|r| r.as_str()).unwrap_or("");
            if linked || !(resolved.is_empty() || resolved.contains("registry")) {
                continue;
            }
            let name = p
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or(&key[at + "node_modules/".len()..]);
            if let Some(v) = p.get("version").and_then(|v| v.as_str()) {
                f(name, v);
            }
        }
    } else if let Some(deps) = doc.get("dependencies").and_then(|d| d.as_object()) {
        for (n, p) in deps {
            if let Some(v) = p.get("version").and_then(|v| v.as_str()) {
                if npm_registry_spec(v) {
                    f(n, v);
                }
            }
        }
    }
}

/// PEP 621 (`[project] dependencies`, `optional-dependencies`) and Poetry
/// (`[tool.poetry.*dependencies]`).
fn pyproject(doc: &toml::Table, f: &mut dyn FnMut(&str, &str)) {
    let project = doc.get("project").and_then(|p| p.as_table());
    let mut lines: Vec<&str> = Vec::new();
    if let Some(p) = project {
        lines.extend(
            p.get("dependencies")
                .and_then(|d| d.as_array())
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str()),
        );
        for (_, group) in p
            .get("optional-dependencies")
            .and_then(|o| o.as_table())
            .into_iter()
            .flatten()
        {
            lines.extend(
                group
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str()),
            );
        }
    }
    for line in lines {
        if let Some((n, r)) = pep508(line) {
            f(&n, &r);
        }
    }
    let poetry = doc
        .get("tool")
        .and_then(|t| t.get("poetry"))
        .and_then(|p| p.as_table());
    let Some(poetry) = poetry else { return };
    let mut tables: Vec<&toml::Table> = Vec::new();
    tables.extend(poetry.get("dependencies").and_then(|d| d.as_table()));
    tables.extend(poetry.get("dev-dependencies").and_then(|d| d.as_table()));
    for (_, g) in poetry
        .get("group")
        .and_then(|g| g.as_table())
        .into_iter()
        .flatten()
    {
        tables.extend(g.get("dependencies").and_then(|d| d.as_table()));
    }
    for t in tables {
        for (name, spec) in t {
            if name == "python" {
                continue;
            }
            let req = match spec {
                toml::Value::String(s) => s.as_str(),
                toml::Value::Table(t)
                    if !(t.contains_key("path")
                        || t.contains_key("git")
                        || t.contains_key("url")) =>
                {
                    t.get("version").and_then(|v| v.as_str()).unwrap_or("")
                }
                _ => continue,
            };
            f(name, &poetry_req(req));
        }
    }
}

/// Poetry's `^1.2`/`~1.2` are Cargo-like; PEP 440 has no `^`, so it is spelled out.
fn poetry_req(req: &str) -> String {
    let r = req.trim();
    if r == "*" {
        return String::new();
    }
    if let Some(v) = r.strip_prefix('^') {
        let parts: Vec<&str> = v.split('.').collect();
        let first = parts
            .iter()
            .position(|p| *p != "0")
            .unwrap_or(parts.len() - 1);
        let mut upper: Vec<u64> = parts[..=first]
            .iter()
            .map(|p| p.parse().unwrap_or(0))
            .collect();
        if let Some(last) = upper.last_mut() {
            *last += 1;
        }
        let upper: Vec<String> = upper.iter().map(|p| p.to_string()).collect();
        return format!(">={v},<{}", upper.join("."));
    }
    if r.starts_with(|c: char| c.is_ascii_digit()) {
        return format!("=={r}");
    }
    r.to_string()
}

/// A PEP 508 requirement line: the name (normalized) and its version specifier; `None` for
/// comments, options (`-r`, `-e`, `--index-url`), URLs and empty lines.
pub fn pep508(line: &str) -> Option<(String, String)> {
    let line = line.split(" #").next().unwrap_or("").trim();
    if line.is_empty()
        || line.starts_with('#')
        || line.starts_with('-')
        || line.contains("://")
        || line.contains(" @ ")
    {
        return None;
    }
    let line = line.split(';').next().unwrap_or("").trim();
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        .unwrap_or(line.len());
    let name = &line[..end];
    if name.is_empty() {
        return None;
    }
    let mut rest = line[end..].trim();
    if rest.starts_with('[') {
        rest = rest.split_once(']').map(|(_, r)| r.trim()).unwrap_or("");
    }
    let rest = rest.trim_start_matches('(').trim_end_matches(')').trim();
    Some((normalize_pypi(name), rest.replace(' ', "")))
}

/// PEP 503: lower case, runs of `-`, `_` and `.` become one `-`.
pub fn normalize_pypi(name: &str) -> String {
    let mut out = String::new();
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(deps: &[Dependency]) -> Vec<String> {
        deps.iter()
            .map(|d| format!("{} {}", d.name, d.requirement))
            .collect()
    }

    #[test]
    fn cargo_manifest_keeps_registry_dependencies_only() {
        let toml = r#"
[package]
name = "x"
[dependencies]
serde = { version = "1", features = ["derive"] }
local = { path = "../local" }
fromgit = { git = "https://example.invalid/x" }
renamed = { package = "toml", version = "0.9" }
anyhow = "1.0.80"
[target.'cfg(unix)'.dependencies]
libc = "0.2"
[dev-dependencies]
tempfile = "3"
"#;
        let d = parse("sub/Cargo.toml", toml).unwrap();
        assert_eq!(
            names(&d),
            [
                "anyhow 1.0.80",
                "libc 0.2",
                "serde 1",
                "tempfile 3",
                "toml 0.9"
            ]
        );
        assert!(d
            .iter()
            .all(|x| x.manifest == "sub/Cargo.toml" && !x.locked));
    }

    #[test]
    fn lock_files_and_python() {
        let lock = "version = 4\n[[package]]\nname = \"serde\"\nversion = \"1.0.228\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n[[package]]\nname = \"me\"\nversion = \"0.1.0\"\n";
        assert_eq!(
            names(&parse("Cargo.lock", lock).unwrap()),
            ["serde 1.0.228"]
        );
        let pkg = r#"{"dependencies":{"left-pad":"^1.1.0","mine":"file:../mine"},"devDependencies":{"jest":"29.0.0"}}"#;
        assert_eq!(
            names(&parse("package.json", pkg).unwrap()),
            ["jest 29.0.0", "left-pad ^1.1.0"]
        );
        let plock = r#"{"lockfileVersion":3,"packages":{"":{"name":"app"},"node_modules/left-pad":{"version":"1.1.0","resolved":"https://registry.npmjs.org/left-pad/-/left-pad-1.1.0.tgz"}}}"#;
        assert_eq!(
            names(&parse("package-lock.json", plock).unwrap()),
            ["left-pad 1.1.0"]
        );
        let req = "# pinned\nRequests[security] == 2.31.0 ; python_version > '3'\n-r other.txt\nflask>=2,<3\ngit+https://x/y\n";
        assert_eq!(
            names(&parse("requirements-dev.txt", req).unwrap()),
            ["flask >=2,<3", "requests ==2.31.0"]
        );
        let py = "[project]\ndependencies = [\"Django_Rest.framework>=3.14\"]\n[tool.poetry.dependencies]\npython = \"^3.11\"\nhttpx = \"^0.27\"\n";
        assert_eq!(
            names(&parse("pyproject.toml", py).unwrap()),
            ["django-rest-framework >=3.14", "httpx >=0.27,<0.28"]
        );
        assert!(parse("Cargo.toml", "[dependencies\n")
            .unwrap_err()
            .starts_with("Cargo.toml: "));
    }
}
