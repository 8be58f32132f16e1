//! The looks at the user's work tree by the index's stat data: the second look, just before an
//! operation publishes (has anything changed since the first look?), and a Save's first look
//! ([`first_look`]), by the same rule against the index git or the previous Save refreshed.
//!
//! The first look refreshed the index's stat cache (libgit2's status with `update_index`, for
//! every file it read), so the index now says, for every tracked file, the size, times, inode
//! and mode it had when it was found clean. A file edited since has a different size,
//! modification or change time (the kernel sets the change time on every write, and no one
//! can set it back), so the second look compares those with `lstat` — no file is read or
//! hashed, no directory listed — and hands every file that does not match, or that was
//! modified in the same clock tick as the index was written ("racily clean", as git and
//! libgit2 call it), to libgit2's status, which decides (reading and hashing those files,
//! filters applied). That is the rule libgit2's status itself follows to trust an entry
//! without hashing, so the answer is the same as a second full scan: anything the user
//! changed, staged or not, during the operation is found and the operation refuses. An index
//! that changed (something staged, a conflict) or a tree the index does not match is handed
//! to the full scan.
//!
//! A Save's second look first asks the watch its first look set ([`TreeWatch`]): when it saw
//! no tracked name touched, no index written and HEAD where it was, only the files main's
//! move is about to overwrite are looked at, by the same rule ([`second_look`]).

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use git2::{IndexEntry, Repository, StatusOptions};

use super::tree_diff::index_holds_tree;
use super::watch::TreeWatch;
use super::{check_user_tree_with, tracked_changes, Result, UserTree};

/// More doubtful files than this and the full scan is cheaper than listing them.
const DOUBTFUL_MAX: usize = 256;

/// [`check_user_tree`](super::check_user_tree) again, just before an operation publishes,
/// after a first check accepted it: the same refusals, but the work tree is looked at only
/// where it could have changed since that check refreshed the index
/// ([`changes_since_refresh`]).
pub fn recheck_user_tree(repo: &Repository, main: &str) -> Result<UserTree> {
    second_look(repo, main, None, &[])
}

/// The second look of an operation whose first look left a [`TreeWatch`]: when the watch
/// saw nothing change, only `changing` (the tracked files main's move is about to overwrite
/// or remove) are looked at, by their stat data; otherwise it is [`recheck_user_tree`].
pub fn second_look(
    repo: &Repository,
    main: &str,
    watch: Option<&TreeWatch>,
    changing: &[&str],
) -> Result<UserTree> {
    check_user_tree_with(repo, main, |repo| match watch {
        Some(w) if w.unchanged(repo) => changes_among(repo, w, changing),
        _ => Ok(changes_since_refresh(repo)?.changes),
    })
}

/// The look that accepts a Save: [`check_user_tree`](super::check_user_tree)'s refusals and
/// the answer of its full scan, by the same rule as the second look — the files the index's
/// stat data vouches for are not read; the others go to libgit2's status, which reads them
/// and refreshes their stat data in the index (a changed index, or more than
/// `DOUBTFUL_MAX` such files, and it is the full scan). An index git or a previous Save
/// refreshed vouches for every untouched file, so the full scan — a status of every
/// tracked file, most of a Save's fixed cost — runs only when it has to.
///
/// With the answer comes a [`TreeWatch`] set before any file was looked at, when one could
/// be set and the tree was found clean: the second look asks it first.
pub fn first_look(repo: &Repository, main: &str) -> Result<(UserTree, Option<TreeWatch>)> {
    let mut watch = None;
    let tree = check_user_tree_with(repo, main, |repo| {
        let (looked, w) = look(repo, true)?;
        watch = w;
        Ok(looked.changes)
    })?;
    Ok((tree, watch.and_then(|w| w.settle(repo))))
}

/// What the second look found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rechecked {
    /// Tracked files with staged or unstaged changes, as [`tracked_changes`] lists them.
    pub changes: Vec<String>,
    /// How many files the stat data could not vouch for (handed to libgit2's status).
    pub doubtful: usize,
    /// Whether the full scan ran (the index changed, or too many doubtful files).
    pub full_scan: bool,
}

/// Tracked files with staged or unstaged changes, looking only at what could have changed
/// since the index's stat cache was last refreshed (see the module comment).
pub fn changes_since_refresh(repo: &Repository) -> Result<Rechecked> {
    Ok(look(repo, false)?.0)
}

/// [`changes_since_refresh`], setting a [`TreeWatch`] (when `watching`) once the index is
/// read and before any file is.
fn look(repo: &Repository, watching: bool) -> Result<(Rechecked, Option<TreeWatch>)> {
    let full = |repo: &Repository, doubtful: usize| -> Result<Rechecked> {
        Ok(Rechecked {
            changes: tracked_changes(repo)?,
            doubtful,
            full_scan: true,
        })
    };
    let Some(workdir) = repo.workdir() else {
        return Ok((full(repo, 0)?, None));
    };
    // The repository's index file (libgit2's `index` in the git directory), read once from
    // disk — `Repository::index` would read it to load it, then a forced re-read again.
    let index_path = repo.path().join("index");
    // The index's time is taken before it is read: an index written in between makes more
    // files doubtful, never fewer.
    let Ok(stamp) = std::fs::metadata(&index_path) else {
        return Ok((full(repo, 0)?, None));
    };
    let stamp = (stamp.mtime(), stamp.mtime_nsec());
    let index = git2::Index::open(&index_path)?;
    // Nothing staged: the index still holds HEAD's tree. Compared entry by entry (object
    // ids and modes; `Index::write_tree` would read the header of every blob to validate it).
    let head_tree = repo.head()?.peel_to_tree()?;
    if index.has_conflicts() {
        return Ok((full(repo, 0)?, None));
    }
    let entries: Vec<IndexEntry> = index.iter().collect();
    drop(index);
    if !index_holds_tree(repo, &entries, &head_tree)? {
        return Ok((full(repo, 0)?, None));
    }
    let watch = if watching {
        TreeWatch::start(repo, &entries, stamp)
    } else {
        None
    };
    let doubtful = doubtful_files(workdir, &entries, stamp);
    let watch = watch.map(|w| w.with_entries(entries));
    let Some(doubtful) = doubtful else {
        return Ok((full(repo, DOUBTFUL_MAX + 1)?, watch));
    };
    if doubtful.is_empty() {
        let clean = Rechecked {
            changes: Vec::new(),
            doubtful: 0,
            full_scan: false,
        };
        return Ok((clean, watch));
    }
    let looked = Rechecked {
        changes: status_of(repo, &doubtful)?,
        doubtful: doubtful.len(),
        full_scan: false,
    };
    Ok((looked, watch))
}

/// libgit2's status of `paths` (tracked files), refreshing their stat data in the index
/// when it can be written: those with staged or unstaged changes.
fn status_of(repo: &Repository, paths: &[String]) -> Result<Vec<String>> {
    let mut opts = StatusOptions::new();
    opts.include_untracked(false)
        .include_ignored(false)
        .disable_pathspec_match(true)
        .update_index(true);
    for p in paths {
        opts.pathspec(p);
    }
    let statuses = match repo.statuses(Some(&mut opts)) {
        Ok(s) => s,
        Err(_) => {
            opts.update_index(false);
            repo.statuses(Some(&mut opts))?
        }
    };
    Ok(statuses
        .iter()
        .filter(|s| !s.status().is_empty())
        .filter_map(|s| s.path().map(str::to_string))
        .collect())
}

/// The second look when the watch saw nothing: the tracked files among `changing` whose
/// stat data, taken now, does not vouch for them (a write inotify does not see) go to
/// status; the answer is those with changes.
fn changes_among(repo: &Repository, watch: &TreeWatch, changing: &[&str]) -> Result<Vec<String>> {
    let Some(workdir) = repo.workdir() else {
        return Ok(Vec::new());
    };
    let (entries, stamp) = watch.entries_of(changing);
    match doubtful_pass(workdir, entries.into_iter(), stamp) {
        Some(doubtful) if doubtful.is_empty() => Ok(Vec::new()),
        Some(doubtful) => status_of(repo, &doubtful),
        None => Ok(changes_since_refresh(repo)?.changes),
    }
}

/// Below this many index entries the `lstat` pass runs on one thread.
const SPLIT_FROM: usize = 1024;

/// The files among `entries` whose stat data does not vouch for them, in index order; `None`
/// past `DOUBTFUL_MAX`. On a large index the `lstat` calls (nearly all of a look's time, in
/// the kernel's path lookup and `getattr`) are split between two threads, each with its own
/// directory handles: the same answer, in about half the time when a second core is free.
fn doubtful_files(
    workdir: &Path,
    entries: &[IndexEntry],
    stamp: (i64, i64),
) -> Option<Vec<String>> {
    if entries.len() < SPLIT_FROM {
        return doubtful_pass(workdir, entries.iter(), stamp);
    }
    let (first, second) = entries.split_at(entries.len() / 2);
    let (a, b) = std::thread::scope(|scope| {
        let other = scope.spawn(|| doubtful_pass(workdir, second.iter(), stamp));
        let mine = doubtful_pass(workdir, first.iter(), stamp);
        // A panic in the other half (there is none to expect) counts as "too many": the full
        // scan decides.
        (mine, other.join().ok().flatten())
    });
    let mut doubtful = a?;
    doubtful.extend(b?);
    (doubtful.len() <= DOUBTFUL_MAX).then_some(doubtful)
}

/// One thread's `lstat` pass over `entries` (in index order, so each directory is opened
/// once): the paths the stat data does not vouch for; `None` past `DOUBTFUL_MAX`.
fn doubtful_pass<'e>(
    workdir: &Path,
    entries: impl Iterator<Item = &'e IndexEntry>,
    stamp: (i64, i64),
) -> Option<Vec<String>> {
    let mut dirs = Dirs::new(workdir);
    let mut doubtful = Vec::new();
    for entry in entries {
        if !vouched(entry, dirs.lstat(&entry.path).as_ref(), stamp) {
            doubtful.push(String::from_utf8_lossy(&entry.path).into_owned());
            if doubtful.len() > DOUBTFUL_MAX {
                return None;
            }
        }
    }
    Some(doubtful)
}

/// The `lstat` of index paths, each taken relative to its directory, opened once for the
/// run of entries in it (the index is sorted by path): the kernel resolves one name per file
/// rather than the whole path from the root, 5,000 times. The same answer as `lstat` of the
/// whole path (a directory replaced by a symbolic link is followed either way).
struct Dirs<'w> {
    workdir: &'w Path,
    dir: Option<Vec<u8>>,
    fd: Option<rustix::fd::OwnedFd>,
}

impl<'w> Dirs<'w> {
    fn new(workdir: &'w Path) -> Dirs<'w> {
        Dirs {
            workdir,
            dir: None,
            fd: None,
        }
    }

    /// The file's stat data; `None` when it cannot be read (missing, not a directory on the
    /// way, no permission): status then decides.
    fn lstat(&mut self, path: &[u8]) -> Option<rustix::fs::Stat> {
        use rustix::fs::{AtFlags, Mode, OFlags};
        let (dir, name) = match path.iter().rposition(|b| *b == b'/') {
            Some(i) => (&path[..i], &path[i + 1..]),
            None => (&path[..0], path),
        };
        if self.dir.as_deref() != Some(dir) {
            let full = self.workdir.join(std::ffi::OsStr::from_bytes(dir));
            self.fd = rustix::fs::open(
                &full,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .ok();
            self.dir = Some(dir.to_vec());
        }
        let fd = self.fd.as_ref()?;
        rustix::fs::statat(
            fd,
            std::ffi::OsStr::from_bytes(name),
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .ok()
    }
}

/// Whether `entry`'s stat data vouches for the file (its `lstat`, `st`) being as the index
/// says: the same kind, executable bit, size, modification and change times (to the
/// nanosecond), inode, owner, and modified before the index was written (`stamp`).
fn vouched(entry: &IndexEntry, st: Option<&rustix::fs::Stat>, stamp: (i64, i64)) -> bool {
    const KIND: u32 = 0o170000;
    let Some(st) = st else {
        return false;
    };
    // The kernel's field types differ between targets: compared as i128.
    let mode = st.st_mode & KIND;
    let kind_matches = match entry.mode & KIND {
        0o100000 => mode == 0o100000 && (entry.mode & 0o111 != 0) == (st.st_mode & 0o100 != 0),
        0o120000 => mode == 0o120000,
        // Submodules and anything else: status decides.
        _ => false,
    };
    let mtime = (i128::from(st.st_mtime), i128::from(st.st_mtime_nsec));
    kind_matches
        && i128::from(entry.mtime.seconds()) == mtime.0
        && i128::from(entry.mtime.nanoseconds()) == mtime.1
        && i128::from(entry.ctime.seconds()) == i128::from(st.st_ctime)
        && i128::from(entry.ctime.nanoseconds()) == i128::from(st.st_ctime_nsec)
        && i128::from(entry.file_size) == i128::from(st.st_size) & 0xffff_ffff
        && i128::from(entry.ino) == i128::from(st.st_ino) & 0xffff_ffff
        && entry.uid == st.st_uid
        && entry.gid == st.st_gid
        && mtime < (i128::from(stamp.0), i128::from(stamp.1))
}
