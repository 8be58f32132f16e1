//! The diff model: what changed between two states of the repository (revisions, task
//! branches, checkpoints, or the working tree), as files → hunks → lines with word-level
//! changes. Blocking work (git2 and diffing): front ends call it off their async threads.

pub mod text;
pub mod unified;

use std::path::Path;

use git2::{Delta, DiffFindOptions, DiffOptions, Oid, Repository};

use crate::protocol::diff::{DiffSet, FileContent, FileDiff, FileStatus};
use crate::protocol::suggest;

/// Files larger than this (either side) are summarized, not diffed line by line.
pub const MAX_TEXT_BYTES: u64 = 64 << 20;

#[derive(Debug, thiserror::Error)]
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

fn git(e: git2::Error) -> DiffError {
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
    fn label(&self) -> String {
        match self {
            Side::Tree { label, .. } => label.clone(),
            Side::WorkTree => "working tree".into(),
        }
    }

    fn id(&self) -> String {
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

fn blob_bytes(repo: &Repository, id: Oid) -> Result<Vec<u8>, DiffError> {
    if id.is_zero() {
        return Ok(Vec::new());
    }
    Ok(repo.find_blob(id).map_err(git)?.content().to_vec())
}

/// The size of a blob without loading it (the object database header only).
fn blob_size(repo: &Repository, id: Oid) -> u64 {
    if id.is_zero() {
        return 0;
    }
    repo.odb()
        .and_then(|odb| odb.read_header(id))
        .map(|(size, _)| size as u64)
        .unwrap_or(0)
}

/// Computes the diff between two sides.
pub fn diff(repo: &Repository, from: &Side, to: &Side) -> Result<DiffSet, DiffError> {
    diff_with(repo, from, to, Detail::Lines)
}

/// The files of the diff with their counts only (`diff --stat`): text files have no hunks,
/// so neither hunks nor word spans are computed.
pub fn diff_stat(repo: &Repository, from: &Side, to: &Side) -> Result<DiffSet, DiffError> {
    diff_with(repo, from, to, Detail::Counts)
}

/// The diff with its hunks but no word-level spans (a unified patch does not show them).
pub fn diff_patch(repo: &Repository, from: &Side, to: &Side) -> Result<DiffSet, DiffError> {
    diff_with(repo, from, to, Detail::Patch)
}

/// How much of each text file's diff is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detail {
    /// Hunks with the word-level spans of changed line pairs.
    Lines,
    /// Hunks only.
    Patch,
    /// The counts only.
    Counts,
}

fn diff_with(
    repo: &Repository,
    from: &Side,
    to: &Side,
    detail: Detail,
) -> Result<DiffSet, DiffError> {
    let Side::Tree { tree: old_tree, .. } = from else {
        return Err(DiffError::Git(
            "the working tree can only be the second side".into(),
        ));
    };
    let old_tree = repo.find_tree(*old_tree).map_err(git)?;
    let mut opts = DiffOptions::new();
    opts.context_lines(0).ignore_submodules(true);
    let mut d = match to {
        Side::Tree { tree, .. } => {
            let new_tree = repo.find_tree(*tree).map_err(git)?;
            repo.diff_tree_to_tree(Some(&old_tree), Some(&new_tree), Some(&mut opts))
        }
        Side::WorkTree => {
            opts.include_untracked(true).recurse_untracked_dirs(true);
            repo.diff_tree_to_workdir_with_index(Some(&old_tree), Some(&mut opts))
        }
    }
    .map_err(git)?;
    let mut find = DiffFindOptions::new();
    find.renames(true).for_untracked(true);
    d.find_similar(Some(&mut find)).map_err(git)?;

    let workdir = repo.workdir().map(Path::to_path_buf);
    let mut files = Vec::new();
    for delta in d.deltas() {
        let status = match delta.status() {
            Delta::Added | Delta::Untracked | Delta::Copied => FileStatus::Added,
            Delta::Deleted => FileStatus::Deleted,
            Delta::Modified | Delta::Typechange => FileStatus::Modified,
            Delta::Renamed => FileStatus::Renamed,
            _ => continue,
        };
        let path = |f: git2::DiffFile<'_>| f.path().map(|p| p.to_string_lossy().into_owned());
        let old_path = (status != FileStatus::Added)
            .then(|| path(delta.old_file()))
            .flatten();
        let new_path = (status != FileStatus::Deleted)
            .then(|| path(delta.new_file()))
            .flatten();
        let old_id = delta.old_file().id();
        let new_id = delta.new_file().id();
        let old_size = if status == FileStatus::Added {
            0
        } else {
            blob_size(repo, old_id)
        };
        let new_bytes_from_disk = matches!(to, Side::WorkTree) && status != FileStatus::Deleted;
        let new_size = if status == FileStatus::Deleted {
            0
        } else if new_bytes_from_disk {
            match (&workdir, &new_path) {
                (Some(w), Some(p)) => std::fs::symlink_metadata(w.join(p))
                    .map(|m| m.len())
                    .unwrap_or(0),
                _ => 0,
            }
        } else {
            blob_size(repo, new_id)
        };
        let content_of = |files: &mut Vec<FileDiff>, content: FileContent, additions, deletions| {
            files.push(FileDiff {
                old_path: old_path.clone(),
                new_path: new_path.clone(),
                status,
                additions,
                deletions,
                content,
            })
        };
        if old_size > MAX_TEXT_BYTES || new_size > MAX_TEXT_BYTES {
            content_of(
                &mut files,
                FileContent::TooLarge { old_size, new_size },
                0,
                0,
            );
            continue;
        }
        let old_bytes = if status == FileStatus::Added {
            Vec::new()
        } else {
            blob_bytes(repo, old_id)?
        };
        let new_bytes = if status == FileStatus::Deleted {
            Vec::new()
        } else if new_bytes_from_disk {
            match (&workdir, &new_path) {
                (Some(w), Some(p)) => read_worktree_file(&w.join(p)),
                _ => Vec::new(),
            }
        } else {
            blob_bytes(repo, new_id)?
        };
        if text::is_binary(&old_bytes) || text::is_binary(&new_bytes) {
            content_of(&mut files, FileContent::Binary { old_size, new_size }, 0, 0);
            continue;
        }
        let old_text = String::from_utf8_lossy(&old_bytes);
        let new_text = String::from_utf8_lossy(&new_bytes);
        let (hunks, additions, deletions) = match detail {
            Detail::Lines | Detail::Patch => {
                let t = if detail == Detail::Lines {
                    text::diff_text(&old_text, &new_text, text::CONTEXT)
                } else {
                    text::diff_lines(&old_text, &new_text, text::CONTEXT)
                };
                (t.hunks, t.additions, t.deletions)
            }
            Detail::Counts => {
                let (a, d) = text::count_changes(&old_text, &new_text);
                (Vec::new(), a, d)
            }
        };
        if additions == 0 && deletions == 0 && status == FileStatus::Modified {
            continue; // a mode-only or line-ending-identical change
        }
        content_of(
            &mut files,
            FileContent::Text { hunks },
            additions,
            deletions,
        );
    }
    Ok(DiffSet {
        from: from.label(),
        to: to.label(),
        from_id: from.id(),
        to_id: to.id(),
        files,
    })
}

/// A working-tree file's bytes; a symlink diffs as its target path, as git does.
fn read_worktree_file(path: &Path) -> Vec<u8> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::read_link(path)
            .map(|t| t.to_string_lossy().into_owned().into_bytes())
            .unwrap_or_default(),
        Ok(_) => std::fs::read(path).unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

/// The text of `path` on one side (what the diff viewer highlights, since a syntax highlighter
/// must read a file from its start): `None` when the path is not there, or the content is
/// binary or larger than [`MAX_TEXT_BYTES`]. Invalid UTF-8 is replaced, as in the diff.
pub fn file_text(repo: &Repository, side: &Side, path: &str) -> Result<Option<String>, DiffError> {
    let bytes = match side {
        Side::Tree { tree, .. } => {
            let tree = repo.find_tree(*tree).map_err(git)?;
            let Ok(entry) = tree.get_path(Path::new(path)) else {
                return Ok(None);
            };
            if entry.kind() != Some(git2::ObjectType::Blob)
                || blob_size(repo, entry.id()) > MAX_TEXT_BYTES
            {
                return Ok(None);
            }
            blob_bytes(repo, entry.id())?
        }
        Side::WorkTree => {
            let Some(w) = repo.workdir() else {
                return Ok(None);
            };
            let full = w.join(path);
            match std::fs::symlink_metadata(&full) {
                Ok(m) if m.len() <= MAX_TEXT_BYTES => read_worktree_file(&full),
                _ => return Ok(None),
            }
        }
    };
    if text::is_binary(&bytes) {
        return Ok(None);
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}
