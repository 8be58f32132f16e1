//! The changed files of a comparison and one file's diff: the list git2's tree diff gives
//! (paths, blob ids, renames found), then each file read and diffed on its own, so that
//! [`super::stream`] can spread the files over threads.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use git2::{Delta, DiffFindOptions, DiffOptions, Oid, Repository};

use super::blob::{Blob, Bytes, LooseDir, Objects};
use super::sides::{git, DiffError, Side};
use super::{intern, text};
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

/// The old side of a file at least this large has the new one read on a second thread
/// meanwhile (inflating it takes as long as interning the old side's lines), when the reader
/// has the cores to itself.
const SPLIT_READ_MIN: u64 = 256 << 10;

/// A loose old side whose object file is at least this large (compressed: some 256 KiB of
/// text) has the new side read on a second thread from the start.
const SPLIT_LOOSE_MIN: u64 = 64 << 10;

/// Where one file's bytes come from: the repository's objects and, for the working tree side,
/// its top.
pub struct Reader<'r> {
    pub repo: &'r Repository,
    pub workdir: Option<PathBuf>,
    objects: Objects<'r>,
    /// Read the new side of a large file on a second thread (no other thread is diffing).
    split: bool,
}

/// The path of a changed file's new side in the working tree.
fn disk_path(workdir: Option<&Path>, e: &Entry) -> Option<PathBuf> {
    Some(workdir?.join(e.new_path.as_ref()?))
}

/// The new side from the working tree: its size alone when it is over the limit.
fn read_disk(workdir: Option<&Path>, e: &Entry) -> Blob<'static> {
    let Some(path) = disk_path(workdir, e) else {
        return Blob::Bytes(Bytes::default());
    };
    match std::fs::symlink_metadata(&path) {
        Ok(m) if !m.file_type().is_symlink() && m.len() > MAX_TEXT_BYTES => Blob::TooLarge(m.len()),
        _ => Blob::Bytes(Bytes::Owned(read_worktree_file(&path))),
    }
}

/// The new side read on another thread than the reader's: a loose blob inflated here, a
/// packed one through a repository handle of this thread's own (copied out of it). Its
/// bytes, or its size when it is over the limit (what can cross threads).
fn read_new_apart(
    loose: &LooseDir,
    git_dir: &Path,
    workdir: Option<&Path>,
    e: &Entry,
) -> Result<Result<Vec<u8>, u64>, DiffError> {
    let owned = |blob: Blob<'_>| match blob {
        Blob::Bytes(Bytes::Owned(v)) => Ok(v),
        Blob::Bytes(b) => Ok(b.to_vec()),
        Blob::TooLarge(n) => Err(n),
    };
    if e.status == FileStatus::Deleted {
        return Ok(Ok(Vec::new()));
    }
    if e.new_from_disk {
        return Ok(owned(read_disk(workdir, e)));
    }
    if let Some(blob) = loose.read(e.new_id, MAX_TEXT_BYTES)? {
        return Ok(owned(blob));
    }
    let repo = Repository::open(git_dir).map_err(git)?;
    let objects = Objects::new(&repo)?;
    let read = owned(objects.read(e.new_id, MAX_TEXT_BYTES)?);
    Ok(read)
}

/// A side's text: borrowed when it is valid UTF-8 (checked by the standard library's fast
/// path), invalid sequences replaced otherwise.
fn text_of(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

impl<'r> Reader<'r> {
    pub fn new(repo: &'r Repository) -> Result<Self, DiffError> {
        Ok(Reader {
            repo,
            workdir: repo.workdir().map(Path::to_path_buf),
            objects: Objects::new(repo)?,
            split: false,
        })
    }

    /// This reader is the only one at work: a large file's new side is read on a second
    /// thread.
    pub fn alone(mut self) -> Self {
        self.split = true;
        self
    }

    fn read_old(&self, e: &Entry) -> Result<Blob<'_>, DiffError> {
        if e.status == FileStatus::Added {
            return Ok(Blob::Bytes(Bytes::default()));
        }
        self.objects.read(e.old_id, MAX_TEXT_BYTES)
    }

    fn read_new(&self, e: &Entry) -> Result<Blob<'_>, DiffError> {
        if e.status == FileStatus::Deleted {
            return Ok(Blob::Bytes(Bytes::default()));
        }
        if e.new_from_disk {
            return Ok(read_disk(self.workdir.as_deref(), e));
        }
        self.objects.read(e.new_id, MAX_TEXT_BYTES)
    }

    /// The size of the new side without keeping it (the old one was too large).
    fn new_size(&self, e: &Entry) -> u64 {
        if e.status == FileStatus::Deleted {
            0
        } else if e.new_from_disk {
            disk_path(self.workdir.as_deref(), e)
                .and_then(|p| std::fs::symlink_metadata(p).ok())
                .map_or(0, |m| m.len())
        } else {
            self.objects.size(e.new_id)
        }
    }

    /// One file's diff; `None` when nothing shows (a mode-only or line-ending-identical
    /// change). Each side is read once; a side over [`MAX_TEXT_BYTES`] is summarized, not
    /// diffed. A reader alone reads a large file's new side on a second thread: from the start
    /// when the old side is a large loose object, else once the old side is read and found
    /// large; meanwhile the old side's lines are interned.
    pub fn file(&self, e: &Entry, detail: Detail) -> Result<Option<FileDiff>, DiffError> {
        let (loose, git_dir, workdir) = (
            self.objects.loose(),
            self.repo.path(),
            self.workdir.as_deref(),
        );
        let early = self.split
            && e.status != FileStatus::Added
            && loose
                .compressed_len(e.old_id)
                .is_some_and(|n| n >= SPLIT_LOOSE_MIN);
        std::thread::scope(|s| {
            let spawn = || s.spawn(move || read_new_apart(loose, git_dir, workdir, e));
            let mut apart = early.then(spawn);
            let old = match self.read_old(e)? {
                Blob::Bytes(b) => b,
                Blob::TooLarge(old_size) => {
                    let new_size = match apart {
                        Some(reading) => match joined(reading)? {
                            Blob::Bytes(b) => b.len() as u64,
                            Blob::TooLarge(n) => n,
                        },
                        None => self.new_size(e),
                    };
                    let content = FileContent::TooLarge { old_size, new_size };
                    return Ok(Some(e.summary(content)));
                }
            };
            if apart.is_none() && self.split && old.len() as u64 >= SPLIT_READ_MIN {
                apart = Some(spawn());
            }
            let old_text = (!text::is_binary(&old)).then(|| text_of(&old));
            let old_lines = old_text
                .as_deref()
                .filter(|_| apart.is_some())
                .map(intern::Old::new);
            let new = match apart {
                Some(reading) => joined(reading)?,
                None => self.read_new(e)?,
            };
            diff_sides(e, detail, &old, old_text.as_deref(), old_lines, new)
        })
    }
}

/// The new side read on another thread.
fn joined(
    reading: std::thread::ScopedJoinHandle<'_, Result<Result<Vec<u8>, u64>, DiffError>>,
) -> Result<Blob<'static>, DiffError> {
    match reading.join() {
        Ok(read) => Ok(match read? {
            Ok(bytes) => Blob::Bytes(Bytes::Owned(bytes)),
            Err(size) => Blob::TooLarge(size),
        }),
        Err(_) => Err(DiffError::Git("reading a file failed".into())),
    }
}

impl Entry {
    /// This file with `content` that is not diffed line by line (no counts).
    fn summary(&self, content: FileContent) -> FileDiff {
        self.with(content, 0, 0)
    }

    fn with(&self, content: FileContent, additions: u32, deletions: u32) -> FileDiff {
        FileDiff {
            old_path: self.old_path.clone(),
            new_path: self.new_path.clone(),
            status: self.status,
            additions,
            deletions,
            content,
        }
    }
}

/// One file's diff from its two sides: `old_text` is the old side as text (`None`: binary),
/// `old_lines` its lines already interned, when they are.
fn diff_sides<'a>(
    e: &Entry,
    detail: Detail,
    old: &[u8],
    old_text: Option<&'a str>,
    old_lines: Option<intern::Old<'a>>,
    new: Blob<'_>,
) -> Result<Option<FileDiff>, DiffError> {
    let old_size = old.len() as u64;
    let new = match new {
        Blob::Bytes(b) => b,
        Blob::TooLarge(new_size) => {
            return Ok(Some(
                e.summary(FileContent::TooLarge { old_size, new_size }),
            ));
        }
    };
    let (Some(old_text), false) = (old_text, text::is_binary(&new)) else {
        let new_size = new.len() as u64;
        return Ok(Some(e.summary(FileContent::Binary { old_size, new_size })));
    };
    let new_text = text_of(&new);
    let input = match old_lines {
        Some(o) => o.finish(&new_text),
        None => intern::intern(old_text, &new_text),
    };
    let (hunks, additions, deletions) = match detail {
        Detail::Lines => text::diff_interned(&input, text::CONTEXT, true).parts(),
        Detail::Patch => text::diff_interned(&input, text::CONTEXT, false).parts(),
        Detail::Counts => {
            let (a, d) = text::count_interned(&input);
            (Vec::new(), a, d)
        }
    };
    if additions == 0 && deletions == 0 && e.status == FileStatus::Modified {
        return Ok(None);
    }
    Ok(Some(e.with(
        FileContent::Text { hunks },
        additions,
        deletions,
    )))
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
