//! The two sides of a comparison — revisions, task branches, checkpoints or the working tree —
//! resolved from what a user or front end names, and the diff's errors.

use git2::{Oid, Repository};

use crate::protocol::diff::{DiffSet, FileDiff};
use crate::protocol::suggest;

#[derive(Debug, Clone, thiserror::Error)]
pub enum DiffError {
    #[error("unknown revision, task or checkpoint '{name}'{}", .suggestion.as_ref().map(|s| format!(" — did you mean {s}?")).unwrap_or_default())]
    Unknown {
        name: String,
        suggestion: Option<String>,
    },
    #[error("'{0}' is not a valid revision name (no '..', spaces or control characters)")]
    BadName(String),
    #[error("{0}")]
    Git(String),
}

pub(super) fn git(e: git2::Error) -> DiffError {
    DiffError::Git(e.message().to_string())
}

/// One side of a comparison.
#[derive(Debug, Clone)]
pub enum Side {
    /// A commit's tree (or the empty tree for a repository with no commits yet).
    Tree {
        label: String,
        commit: Option<Oid>,
        tree: Oid,
    },
    WorkTree,
}

impl Side {
    pub fn label(&self) -> String {
        match self {
            Side::Tree { label, .. } => label.clone(),
            Side::WorkTree => "working tree".into(),
        }
    }

    pub fn id(&self) -> String {
        match self {
            Side::Tree {
                commit: Some(c), ..
            } => c.to_string(),
            Side::Tree { tree, .. } => tree.to_string(),
            Side::WorkTree => "working tree".into(),
        }
    }
}

/// Refuses names git would misread or that could smuggle terminal control sequences.
fn check_name(name: &str) -> Result<(), DiffError> {
    if name.is_empty()
        || name.contains("..")
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(DiffError::BadName(name.escape_debug().to_string()));
    }
    Ok(())
}

fn empty_tree(repo: &Repository) -> Result<Oid, DiffError> {
    repo.treebuilder(None).and_then(|b| b.write()).map_err(git)
}

fn tree_side(label: &str, obj: git2::Object<'_>) -> Result<Side, DiffError> {
    let commit = obj.peel_to_commit().ok().map(|c| c.id());
    let tree = obj.peel_to_tree().map_err(git)?.id();
    Ok(Side::Tree {
        label: label.to_string(),
        commit,
        tree,
    })
}

/// Task branches named `session/<session>/task/<task>` (or, for `integration`, the
/// sessions' integration branches), newest commit first.
fn task_branches(repo: &Repository, task: &str) -> Vec<(String, Oid)> {
    let suffix = if task == "integration" {
        "/integration".to_string()
    } else {
        format!("/task/{task}")
    };
    let mut found: Vec<(String, Oid, i64)> = Vec::new();
    if let Ok(branches) = repo.branches(Some(git2::BranchType::Local)) {
        for (b, _) in branches.flatten() {
            let Ok(Some(name)) = b.name() else { continue };
            if name.starts_with("session/") && name.ends_with(&suffix) {
                if let Ok(c) = b.get().peel_to_commit() {
                    found.push((name.to_string(), c.id(), c.time().seconds()));
                }
            }
        }
    }
    found.sort_by_key(|(_, _, t)| std::cmp::Reverse(*t));
    found.into_iter().map(|(n, o, _)| (n, o)).collect()
}

/// Resolves a revision, a checkpoint name (`checkpoint/20261121-001` or `20261121-001`), a
/// task id (its newest `session/*/task/<id>` branch) or `integration` (the newest
/// `session/*/integration`).
pub fn resolve(repo: &Repository, name: &str) -> Result<Side, DiffError> {
    check_name(name)?;
    if let Ok(obj) = repo.revparse_single(name) {
        return tree_side(name, obj);
    }
    for candidate in [
        format!("refs/tags/checkpoint/{name}"),
        format!("checkpoint/{name}"),
    ] {
        if let Ok(obj) = repo.revparse_single(&candidate) {
            return tree_side(name, obj);
        }
    }
    if let Some((branch, oid)) = task_branches(repo, name).into_iter().next() {
        let obj = repo.find_object(oid, None).map_err(git)?;
        return tree_side(&branch, obj);
    }
    let mut known: Vec<String> = Vec::new();
    if let Ok(refs) = repo.references() {
        for r in refs.flatten() {
            if let Some(s) = r.shorthand() {
                known.push(s.to_string());
            }
        }
    }
    Err(DiffError::Unknown {
        name: name.to_string(),
        suggestion: suggest(name, known.iter().map(String::as_str)),
    })
}

/// What `overlord-tui diff [FROM] [TO]` compares:
/// - nothing: HEAD (or the empty tree) against the working tree;
/// - a task id alone: the task branch against where it forked from `HEAD`;
/// - anything else alone: it against the working tree;
/// - two: the first against the second.
pub fn sides(
    repo: &Repository,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(Side, Side), DiffError> {
    match (from, to) {
        (None, _) => {
            let head = match repo.head().ok().and_then(|h| h.peel_to_commit().ok()) {
                Some(c) => Side::Tree {
                    label: "HEAD".into(),
                    commit: Some(c.id()),
                    tree: c.tree_id(),
                },
                None => Side::Tree {
                    label: "(no commits)".into(),
                    commit: None,
                    tree: empty_tree(repo)?,
                },
            };
            Ok((head, Side::WorkTree))
        }
        (Some(a), None) => {
            check_name(a)?;
            if repo.revparse_single(a).is_err() {
                if let Some((branch, tip)) = task_branches(repo, a).into_iter().next() {
                    let head = repo.head().ok().and_then(|h| h.target()).ok_or_else(|| {
                        DiffError::Git("HEAD has no commit to compare the task with".into())
                    })?;
                    let base = repo.merge_base(head, tip).map_err(git)?;
                    let base_obj = repo.find_object(base, None).map_err(git)?;
                    let tip_obj = repo.find_object(tip, None).map_err(git)?;
                    return Ok((
                        tree_side(&format!("{branch} base"), base_obj)?,
                        tree_side(&branch, tip_obj)?,
                    ));
                }
            }
            Ok((resolve(repo, a)?, Side::WorkTree))
        }
        (Some(a), Some(b)) => Ok((resolve(repo, a)?, resolve(repo, b)?)),
    }
}

/// The set of `files` between `from` and `to`.
pub fn set_of(from: &Side, to: &Side, files: Vec<FileDiff>) -> DiffSet {
    DiffSet {
        from: from.label(),
        to: to.label(),
        from_id: from.id(),
        to_id: to.id(),
        files,
    }
}
