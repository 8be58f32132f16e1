//! What a JavaScript/TypeScript project's root says about it: `package.json` (its scripts,
//! dependencies, `packageManager` and `workspaces`), its lockfiles and config files, read
//! from a commit's tree or from a directory.

use std::path::Path;

use serde_json::Value;

use super::pm::PackageManager;
use crate::core::qa::format::Format;

/// A Node project as its root files describe it.
#[derive(Debug, Clone)]
pub struct NodeProject {
    pub manifest: Value,
    /// The names of the files at the root.
    pub files: Vec<String>,
    pub pm: PackageManager,
}

/// The test runners Overlord reads per test.
pub const RUNNERS: [&str; 6] = ["jest", "vitest", "mocha", "ava", "node --test", "tap"];

impl NodeProject {
    /// From `package.json`'s text and the root's file names; `None` when it is not JSON.
    pub fn parse(manifest: &str, files: Vec<String>) -> Option<NodeProject> {
        let manifest: Value = serde_json::from_str(manifest).ok()?;
        if !manifest.is_object() {
            return None;
        }
        let pm = PackageManager::detect(&manifest, |f| files.iter().any(|n| n == f));
        Some(NodeProject {
            manifest,
            files,
            pm,
        })
    }

    /// The project in a directory (a worktree).
    pub fn read_dir(dir: &Path) -> Option<NodeProject> {
        let text = std::fs::read_to_string(dir.join("package.json")).ok()?;
        let files = std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .collect();
        NodeProject::parse(&text, files)
    }

    /// The project in a commit's tree (git objects only).
    pub fn read_commit(root: &Path, commit: &str) -> Option<NodeProject> {
        let repo = git2::Repository::open(root).ok()?;
        let tree = repo
            .find_commit(git2::Oid::from_str(commit).ok()?)
            .ok()?
            .tree()
            .ok()?;
        let blob = tree
            .get_name("package.json")?
            .to_object(&repo)
            .ok()?
            .peel_to_blob()
            .ok()?;
        let files = tree
            .iter()
            .filter_map(|e| e.name().map(str::to_string))
            .collect();
        NodeProject::parse(std::str::from_utf8(blob.content()).ok()?, files)
    }

    pub fn has_file(&self, name: &str) -> bool {
        self.files.iter().any(|f| f == name)
    }

    /// A script of package.json (`test`, `build`); npm's placeholder test script is none.
    pub fn script(&self, name: &str) -> Option<&str> {
        let s = self.manifest.get("scripts")?.get(name)?.as_str()?.trim();
        let placeholder = name == "test" && s.contains("Error: no test specified");
        (!s.is_empty() && !placeholder).then_some(s)
    }

    /// Whether a package is among the dependencies (any kind).
    pub fn depends_on(&self, package: &str) -> bool {
        [
            "dependencies",
            "devDependencies",
            "optionalDependencies",
            "peerDependencies",
        ]
        .iter()
        .any(|k| self.manifest.get(k).and_then(|d| d.get(package)).is_some())
    }

    /// Whether there is anything to install.
    pub fn has_dependencies(&self) -> bool {
        self.workspaces()
            || ["dependencies", "devDependencies", "optionalDependencies"]
                .iter()
                .any(|k| {
                    self.manifest
                        .get(k)
                        .and_then(Value::as_object)
                        .is_some_and(|d| !d.is_empty())
                })
    }

    /// A workspace root (npm/yarn `workspaces`, `pnpm-workspace.yaml`).
    pub fn workspaces(&self) -> bool {
        self.manifest.get("workspaces").is_some() || self.has_file("pnpm-workspace.yaml")
    }

    /// The test runner the `test` script (or, failing that, the dependencies) names.
    pub fn runner(&self) -> Option<&'static str> {
        let script = self.script("test").unwrap_or("");
        let words: Vec<&str> = script
            .split(|c: char| c.is_whitespace() || matches!(c, '&' | ';' | '|' | '(' | ')'))
            .collect();
        if script.contains("node --test") || script.contains("node --experimental-test") {
            return Some("node --test");
        }
        RUNNERS
            .iter()
            .find(|r| words.contains(r))
            .or_else(|| RUNNERS.iter().find(|r| self.depends_on(r)))
            .copied()
    }

    /// A TypeScript project that can be type-checked: a `tsconfig.json` and `typescript`.
    pub fn typescript(&self) -> bool {
        self.has_file("tsconfig.json") && self.depends_on("typescript")
    }

    /// The linter the project uses, with the command and the format its output is read in.
    pub fn linter(&self) -> Option<(&'static str, &'static str, Format)> {
        let biome = self.depends_on("@biomejs/biome")
            || self.has_file("biome.json")
            || self.has_file("biome.jsonc");
        if biome {
            Some(("biome", "biome lint --reporter=json .", Format::Biome))
        } else if self.depends_on("eslint") {
            Some(("eslint", "eslint -f json .", Format::Eslint))
        } else if self.depends_on("oxlint") {
            Some(("oxlint", "oxlint -f json", Format::Oxlint))
        } else {
            None
        }
    }
}
