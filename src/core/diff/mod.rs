//! The diff model: what changed between two states of the repository (revisions, task
//! branches, checkpoints, or the working tree), as files → hunks → lines with word-level
//! changes. Blocking work (git2 and diffing): front ends call it off their async threads.

mod blob;
pub mod files;
mod histogram;
mod intern;
pub mod json;
pub mod sides;
pub mod stream;
pub mod text;
pub mod unified;

use std::path::Path;

use git2::Repository;

use blob::{Blob, Objects};
use files::{read_worktree_file, Reader};
pub use files::{Detail, MAX_TEXT_BYTES};
pub use sides::{resolve, set_of, sides, DiffError, Side};

use crate::protocol::diff::DiffSet;

/// Computes the diff between two sides (one thread; [`stream`] spreads it over the cores).
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

/// The whole diff at `detail`, file after file on the caller's thread.
pub fn diff_with(
    repo: &Repository,
    from: &Side,
    to: &Side,
    detail: Detail,
) -> Result<DiffSet, DiffError> {
    let reader = Reader::new(repo)?.alone();
    let mut files = Vec::new();
    for e in files::entries(repo, from, to)? {
        files.extend(reader.file(&e, detail)?);
    }
    Ok(set_of(from, to, files))
}

/// The text of `path` on one side (what the diff viewer highlights, since a syntax highlighter
/// must read a file from its start): `None` when the path is not there, or the content is
/// binary or larger than [`MAX_TEXT_BYTES`]. Invalid UTF-8 is replaced, as in the diff.
pub fn file_text(repo: &Repository, side: &Side, path: &str) -> Result<Option<String>, DiffError> {
    let bytes = match side {
        Side::Tree { tree, .. } => {
            let tree = repo.find_tree(*tree).map_err(sides::git)?;
            let Ok(entry) = tree.get_path(Path::new(path)) else {
                return Ok(None);
            };
            if entry.kind() != Some(git2::ObjectType::Blob) {
                return Ok(None);
            }
            match Objects::new(repo)?.read(entry.id(), MAX_TEXT_BYTES)? {
                Blob::Bytes(b) => b.to_vec(),
                Blob::TooLarge(_) => return Ok(None),
            }
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
