//! The hallucinated-dependency check: the dependencies a change adds or changes in its
//! manifests (between a base commit and a commit or the working tree), each looked up in its
//! registry. A package or version the registry does not have is named; an answer that could
//! not be had is `unknown`, never assumed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::manifest::{self, Dependency, Ecosystem};
use super::registry::{Answer, Lookup, Registries};
use crate::config::HallucinationCheck;

/// What the registry's answer means for one dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Exists,
    /// The registry has no such package.
    MissingPackage,
    /// The package exists, but no published version satisfies the requirement.
    MissingVersion,
    /// Only yanked versions satisfy it (it exists, but should not be newly used).
    Yanked,
    /// No answer (offline and nothing cached).
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckedDep {
    pub dependency: Dependency,
    /// `added` or `changed`.
    pub change: String,
    pub verdict: Verdict,
    /// What was found, in words (with where the answer came from when not live).
    pub detail: String,
}

impl CheckedDep {
    /// `crates.io serde-hallucinated "1"` — how a finding names the dependency.
    pub fn label(&self) -> String {
        let d = &self.dependency;
        let req = if d.requirement.is_empty() {
            String::new()
        } else {
            format!(" {}", d.requirement)
        };
        format!(
            "{} {}{req} ({})",
            d.ecosystem.registry(),
            d.name,
            d.manifest
        )
    }
}

/// The check of one change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepsReport {
    pub mode: HallucinationCheck,
    /// What the change was compared with.
    pub base: String,
    /// The manifests the change touches.
    pub manifests: Vec<String>,
    pub checked: Vec<CheckedDep>,
    /// Manifests that could not be read (named, with why).
    pub errors: Vec<String>,
}

impl DepsReport {
    pub fn missing(&self) -> Vec<&CheckedDep> {
        self.with(&[Verdict::MissingPackage, Verdict::MissingVersion])
    }

    pub fn unknown(&self) -> Vec<&CheckedDep> {
        self.with(&[Verdict::Unknown])
    }

    pub fn with(&self, verdicts: &[Verdict]) -> Vec<&CheckedDep> {
        self.checked
            .iter()
            .filter(|c| verdicts.contains(&c.verdict))
            .collect()
    }
}

/// The tree a change ends at.
pub enum Target<'a> {
    /// A commit (a QA run's).
    Commit(&'a str),
    /// The working tree, untracked files included (`overlord-tui deps check`).
    WorkingTree,
}

/// What a change does to the manifests.
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// Each dependency added or changed, with `added` or `changed`.
    pub deps: Vec<(Dependency, String)>,
    /// The manifests it touches.
    pub manifests: Vec<String>,
    /// The ones that could not be read, with why.
    pub errors: Vec<String>,
}

/// The dependencies `target` adds or changes since `base` (a revision).
pub fn changed_dependencies(root: &Path, base: &str, target: Target<'_>) -> Result<Change, String> {
    let repo = git2::Repository::open(root).map_err(|e| format!("{}: {e}", root.display()))?;
    let base_tree = repo
        .revparse_single(base)
        .and_then(|o| o.peel_to_tree())
        .map_err(|e| format!("{base}: {}", e.message()))?;
    // The changed paths: (new path, old path), deleted ones left out.
    let (changed, target_tree): (Vec<(PathBuf, PathBuf)>, _) = match target {
        Target::Commit(c) => {
            let tree = repo
                .revparse_single(c)
                .and_then(|o| o.peel_to_tree())
                .map_err(|e| format!("{c}: {}", e.message()))?;
            // Only the directories that differ are read (`git::tree_diff`).
            let changes = crate::git::tree_diff::tree_changes(&repo, &base_tree, &tree)
                .map_err(|e| e.to_string())?;
            let changed = changes
                .into_iter()
                .filter(|c| !c.deleted())
                .map(|c| (PathBuf::from(&c.path), PathBuf::from(c.path)))
                .collect();
            (changed, Some(tree))
        }
        Target::WorkingTree => {
            let mut opts = git2::DiffOptions::new();
            opts.include_untracked(true).recurse_untracked_dirs(true);
            let diff = repo
                .diff_tree_to_workdir_with_index(Some(&base_tree), Some(&mut opts))
                .map_err(|e| e.message().to_string())?;
            let changed = diff
                .deltas()
                .filter(|d| d.status() != git2::Delta::Deleted)
                .filter_map(|d| {
                    let new = d.new_file().path()?.to_path_buf();
                    let old = d
                        .old_file()
                        .path()
                        .map_or_else(|| new.clone(), Path::to_path_buf);
                    Some((new, old))
                })
                .collect();
            (changed, None)
        }
    };
    let blob_text = |tree: &git2::Tree, path: &Path| -> Option<String> {
        let entry = tree.get_path(path).ok()?;
        let blob = repo.find_blob(entry.id()).ok()?;
        Some(String::from_utf8_lossy(blob.content()).into_owned())
    };
    let mut out = Vec::new();
    let mut manifests = Vec::new();
    let mut errors = Vec::new();
    for (path, old_path) in &changed {
        let path = path.as_path();
        let shown = path.to_string_lossy().replace('\\', "/");
        if !manifest::is_manifest(&shown) {
            continue;
        }
        manifests.push(shown.clone());
        let new_text = match &target_tree {
            Some(t) => blob_text(t, path),
            None => std::fs::read_to_string(root.join(path)).ok(),
        };
        let Some(new_text) = new_text else {
            errors.push(format!("{shown}: cannot be read"));
            continue;
        };
        let new = match manifest::parse(&shown, &new_text) {
            Ok(d) => d,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let old = blob_text(&base_tree, old_path)
            .and_then(|t| manifest::parse(&shown, &t).ok())
            .unwrap_or_default();
        for d in new {
            let before: Vec<&Dependency> = old
                .iter()
                .filter(|o| o.ecosystem == d.ecosystem && o.name == d.name)
                .collect();
            if before.is_empty() {
                out.push((d, "added".to_string()));
            } else if !before.iter().any(|o| o.requirement == d.requirement) {
                out.push((d, "changed".to_string()));
            }
        }
    }
    Ok(Change {
        deps: out,
        manifests,
        errors,
    })
}

/// Looks every dependency up and judges it.
pub fn check_change(
    registries: &Registries,
    mode: HallucinationCheck,
    base: &str,
    change: Change,
) -> DepsReport {
    let Change {
        deps,
        manifests,
        errors,
    } = change;
    let mut wanted: Vec<(Ecosystem, String)> = deps
        .iter()
        .map(|(d, _)| (d.ecosystem, d.name.clone()))
        .collect();
    wanted.sort();
    wanted.dedup();
    let answers: BTreeMap<(Ecosystem, String), Lookup> = wanted
        .iter()
        .cloned()
        .zip(registries.lookup_all(&wanted))
        .collect();
    let checked = deps
        .into_iter()
        .map(|(dependency, change)| {
            let lookup = &answers[&(dependency.ecosystem, dependency.name.clone())];
            let (verdict, detail) = judge(&dependency, lookup);
            CheckedDep {
                dependency,
                change,
                verdict,
                detail,
            }
        })
        .collect();
    DepsReport {
        mode,
        base: base.to_string(),
        manifests,
        checked,
        errors,
    }
}

/// One dependency against its registry's answer.
pub fn judge(d: &Dependency, lookup: &Lookup) -> (Verdict, String) {
    let from = lookup.provenance();
    let reg = d.ecosystem.registry();
    let p = match lookup.answer() {
        None => return (Verdict::Unknown, format!("unknown{from}")),
        Some(Answer::Missing) => {
            return (
                Verdict::MissingPackage,
                format!("{} does not exist on {reg}{from}", d.name),
            )
        }
        Some(Answer::Found(p)) => p,
    };
    let latest = p
        .latest
        .as_deref()
        .map(|l| format!(", latest {l}"))
        .unwrap_or_default();
    if d.requirement.is_empty() {
        return (Verdict::Exists, format!("exists{latest}{from}"));
    }
    let Some(matching) = p.matching(d.ecosystem, &d.requirement) else {
        return (
            Verdict::Exists,
            format!(
                "exists{latest}; the requirement {:?} was not checked (not a version range){from}",
                d.requirement
            ),
        );
    };
    if matching.is_empty() {
        return (
            Verdict::MissingVersion,
            format!(
                "{} exists on {reg} but no version matches {}{latest}{from}",
                d.name, d.requirement
            ),
        );
    }
    if matching.iter().all(|m| m.yanked) {
        let v: Vec<&str> = matching.iter().map(|m| m.version.as_str()).collect();
        return (
            Verdict::Yanked,
            format!(
                "only yanked versions match ({}){latest}{from}",
                v.join(", ")
            ),
        );
    }
    let deprecated = matching
        .iter()
        .rev()
        .find_map(|m| m.deprecated.as_deref())
        .map(|d| format!("; deprecated: {d}"))
        .unwrap_or_default();
    (
        Verdict::Exists,
        format!(
            "exists ({} matching version(s){latest}){deprecated}{from}",
            matching.len()
        ),
    )
}
