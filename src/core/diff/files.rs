//! The changed files of a comparison and one file's diff: the list git2's tree diff gives
//! (paths, blob ids, renames found), then each file read and diffed on its own, so that
//! [`super::stream`] can spread the files over threads.

use std::path::{Path, PathBuf};

use git2::{Delta, DiffFindOptions, DiffOptions, Oid, Repository};

use super::sides::{git, DiffError, Side};
use super::text;
use crate::protocol::diff::{FileContent, FileDiff, FileStatus};

/// Files larger than this (either side) are summarized, not diffed line by line.
pub const MAX_TEXT_BYTES: u64 = 64 << 20;

/// How much of each text file's diff is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Hunks with the word-level spans of changed line pairs.
    Lines,
    /// Hunks only (what a unified patch prints).
    Patch,
    /// The counts only (what `--stat` prints).
    Counts,
}

/// One changed file as the tree diff lists it: what to read to diff it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub status: FileStatus,
    pub old_path: Option<String>,
    pub new_path: Option<String>,
    old_id: Oid,
    new_id: Oid,
    /// The new side is the working tree's file, not a blob.
    new_from_disk: bool,
}

/// The changed files between two sides, in git's order, renames found.
pub fn entries(repo: &Repository, from: &Side, to: &Side) -> Result<Vec<Entry>, DiffError> {
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

    let mut out = Vec::with_capacity(d.deltas().len());
    for delta in d.deltas() {
        let status = match delta.status() {
            Delta::Added | Delta::Untracked | Delta::Copied => FileStatus::Added,
            Delta::Deleted => FileStatus::Deleted,
            Delta::Modified | Delta::Typechange => FileStatus::Modified,
            Delta::Renamed => FileStatus::Renamed,
            _ => continue,
        };
        let path = |f: git2::DiffFile<'_>| f.path().map(|p| p.to_string_lossy().into_owned());
        let (old_id, new_id) = (delta.old_file().id(), delta.new_file().id());
        let new_from_disk = matches!(to, Side::WorkTree) && status != FileStatus::Deleted;
        // The same blob on both sides (a mode-only change) has no lines to show.
        if status == FileStatus::Modified && !new_from_disk && old_id == new_id {
            continue;
        }
        out.push(Entry {
            status,
            old_path: (status != FileStatus::Added)
                .then(|| path(delta.old_file()))
                .flatten(),
            new_path: (status != FileStatus::Deleted)
                .then(|| path(delta.new_file()))
                .flatten(),
            old_id,
            new_id,
            new_from_disk,
        });
    }
    Ok(out)
}

/// Both sides of a file at least this large are read (inflated) on two threads when the
/// reader has the cores to itself.
const SPLIT_READ_MIN: u64 = 256 << 10;

/// Where one file's bytes come from: the repository and, for the working tree side, its top.
pub struct Reader<'r> {
    pub repo: &'r Repository,
    pub workdir: Option<PathBuf>,
    /// Read the two sides of a large file on two threads (no other thread is diffing).
    split: bool,
}

/// The path of a changed file's new side in the working tree.
fn disk_path(workdir: Option<&Path>, e: &Entry) -> Option<PathBuf> {
    Some(workdir?.join(e.new_path.as_ref()?))
}

/// The new side's bytes: the working tree's file, or the blob through `repo` (opened from
/// `git_dir` when not given: another thread's own handle).
fn new_bytes(
    repo: Option<&Repository>,
    git_dir: &Path,
    workdir: Option<&Path>,
    e: &Entry,
) -> Result<Vec<u8>, DiffError> {
    if e.status == FileStatus::Deleted {
        return Ok(Vec::new());
    }
    if e.new_from_disk {
        return Ok(disk_path(workdir, e)
            .map(|p| read_worktree_file(&p))
            .unwrap_or_default());
    }
    match repo {
        Some(repo) => blob_bytes(repo, e.new_id),
        None => blob_bytes(&Repository::open(git_dir).map_err(git)?, e.new_id),
    }
}

impl<'r> Reader<'r> {
    pub fn new(repo: &'r Repository) -> Self {
        Reader {
            repo,
            workdir: repo.workdir().map(Path::to_path_buf),
            split: false,
        }
    }

    /// This reader is the only one at work: a large file's two sides are read on two
    /// threads.
    pub fn alone(mut self) -> Self {
        self.split = true;
        self
    }

    fn disk_path(&self, e: &Entry) -> Option<PathBuf> {
        disk_path(self.workdir.as_deref(), e)
    }

    /// Both sides' bytes; inflating a large file's two blobs takes as long as diffing them,
    /// so a reader alone reads the new side on a second thread meanwhile.
    fn both(
        &self,
        e: &Entry,
        old_size: u64,
        new_size: u64,
    ) -> Result<(Vec<u8>, Vec<u8>), DiffError> {
        let old = || {
            if e.status == FileStatus::Added {
                Ok(Vec::new())
            } else {
                blob_bytes(self.repo, e.old_id)
            }
        };
        let (git_dir, workdir) = (self.repo.path(), self.workdir.as_deref());
        if !(self.split && old_size >= SPLIT_READ_MIN && new_size >= SPLIT_READ_MIN) {
            return Ok((old()?, new_bytes(Some(self.repo), git_dir, workdir, e)?));
        }
        std::thread::scope(|s| {
            let new = s.spawn(|| new_bytes(None, git_dir, workdir, e));
            let old = old();
            let new = new
                .join()
                .unwrap_or_else(|_| Err(DiffError::Git("reading a file failed".into())));
            Ok((old?, new?))
        })
    }

    /// One file's diff; `None` when nothing shows (a mode-only or line-ending-identical
    /// change).
    pub fn file(&self, e: &Entry, detail: Detail) -> Result<Option<FileDiff>, DiffError> {
        let status = e.status;
        let old_size = if status == FileStatus::Added {
            0
        } else {
            blob_size(self.repo, e.old_id)
        };
        let new_size = if status == FileStatus::Deleted {
            0
        } else if e.new_from_disk {
            self.disk_path(e)
                .and_then(|p| std::fs::symlink_metadata(p).ok())
                .map_or(0, |m| m.len())
        } else {
            blob_size(self.repo, e.new_id)
        };
        let file = |content: FileContent, additions, deletions| FileDiff {
            old_path: e.old_path.clone(),
            new_path: e.new_path.clone(),
            status,
            additions,
            deletions,
            content,
        };
        if old_size > MAX_TEXT_BYTES || new_size > MAX_TEXT_BYTES {
            let content = FileContent::TooLarge { old_size, new_size };
            return Ok(Some(file(content, 0, 0)));
        }
        let (old_bytes, new_bytes) = self.both(e, old_size, new_size)?;
        if text::is_binary(&old_bytes) || text::is_binary(&new_bytes) {
            let content = FileContent::Binary { old_size, new_size };
            return Ok(Some(file(content, 0, 0)));
        }
        let old_text = String::from_utf8_lossy(&old_bytes);
        let new_text = String::from_utf8_lossy(&new_bytes);
        let (hunks, additions, deletions) = match detail {
            Detail::Lines => {
                let t = text::diff_text(&old_text, &new_text, text::CONTEXT);
                (t.hunks, t.additions, t.deletions)
            }
            Detail::Patch => {
                let t = text::diff_lines(&old_text, &new_text, text::CONTEXT);
                (t.hunks, t.additions, t.deletions)
            }
            Detail::Counts => {
                let (a, d) = text::count_changes(&old_text, &new_text);
                (Vec::new(), a, d)
            }
        };
        if additions == 0 && deletions == 0 && status == FileStatus::Modified {
            return Ok(None);
        }
        Ok(Some(file(
            FileContent::Text { hunks },
            additions,
            deletions,
        )))
    }
}

pub(super) fn blob_bytes(repo: &Repository, id: Oid) -> Result<Vec<u8>, DiffError> {
    if id.is_zero() {
        return Ok(Vec::new());
    }
    Ok(repo.find_blob(id).map_err(git)?.content().to_vec())
}

/// The size of a blob without loading it (the object database header only).
pub(super) fn blob_size(repo: &Repository, id: Oid) -> u64 {
    if id.is_zero() {
        return 0;
    }
    repo.odb()
        .and_then(|odb| odb.read_header(id))
        .map(|(size, _)| size as u64)
        .unwrap_or(0)
}

/// A working-tree file's bytes; a symlink diffs as its target path, as git does.
pub(super) fn read_worktree_file(path: &Path) -> Vec<u8> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::read_link(path)
            .map(|t| t.to_string_lossy().into_owned().into_bytes())
            .unwrap_or_default(),
        Ok(_) => std::fs::read(path).unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}
