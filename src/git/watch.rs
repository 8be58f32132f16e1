//! A watch on the user's work tree for the length of a Save, so that its second look need not
//! `lstat` every tracked file again.
//!
//! The Save's first look ([`first_look`](super::recheck::first_look)) sets an inotify watch on
//! every directory that holds tracked files (and on the git directory, for the index) *before*
//! it takes the stat data of the files, and settles it once it has found the tree clean. The
//! second look, just before main moves, then asks the watch: if no tracked file or directory
//! was created, written, truncated, had its attributes changed, was removed or renamed, no
//! watched directory went away, the kernel's queue did not overflow, the index was not
//! written and HEAD still names the same commit, the tree is as the first look found it and no
//! file is looked at. Anything else — a relevant event, an unknown watch, an error — and the
//! second look is the `lstat` pass it always was ([`changes_since_refresh`]), so the watch can
//! only save work, never change an answer on its own.
//!
//! What inotify does not see is a write through a second hard link from outside the watched
//! directories, or through a shared memory map, made while the Save runs. So the files a Save
//! is about to overwrite — the ones main's move changes — are `lstat`-checked against the
//! index anyway, whatever the watch says: nothing the user has can be overwritten unseen.
//! (The first look and the next Save's see any other such change.)
//!
//! [`changes_since_refresh`]: super::recheck::changes_since_refresh

use std::collections::{HashMap, HashSet};
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use git2::{IndexEntry, Oid, Repository};
use rustix::fd::OwnedFd;
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};

/// More directories than this and the watch is not set (the `lstat` pass decides): each is
/// one kernel watch, and the system's limit is shared with every other watcher.
const DIRS_MAX: usize = 16_384;

/// What a watch reports: a name created, written, truncated, changed in its attributes
/// (mode, times, owner), removed or renamed; the directory itself removed or moved. Reads and
/// opens are not asked for.
fn change_mask() -> WatchFlags {
    WatchFlags::MODIFY
        | WatchFlags::ATTRIB
        | WatchFlags::CREATE
        | WatchFlags::DELETE
        | WatchFlags::MOVED_FROM
        | WatchFlags::MOVED_TO
        | WatchFlags::DELETE_SELF
        | WatchFlags::MOVE_SELF
        | WatchFlags::ONLYDIR
}

/// The index file as `stat` saw it: a new file (git and libgit2 rename a lock file over it)
/// or a write in place changes one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IndexStamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl IndexStamp {
    fn of(path: &Path) -> Option<IndexStamp> {
        let m = std::fs::symlink_metadata(path).ok()?;
        Some(IndexStamp {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        })
    }
}

/// The watch (see the module comment). Dropping it closes the inotify descriptor, which
/// removes every watch.
pub struct TreeWatch {
    fd: OwnedFd,
    /// Watch descriptor → the directory it watches, relative to the work tree (empty for the
    /// work tree itself).
    dirs: HashMap<i32, Vec<u8>>,
    /// The git directory's watch (its `index`).
    git_dir: i32,
    index_path: PathBuf,
    /// The index's entries as the first look read them, in its (byte) order, and the index
    /// file's modification time then (see [`with_entries`](Self::with_entries)).
    entries: Vec<IndexEntry>,
    stamp: (i64, i64),
    /// Set by [`settle`](Self::settle): the index and HEAD as the first look left them.
    settled: Option<(IndexStamp, Oid)>,
}

impl std::fmt::Debug for TreeWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeWatch")
            .field("dirs", &self.dirs.len())
            .field("entries", &self.entries.len())
            .field("settled", &self.settled.is_some())
            .finish()
    }
}

impl TreeWatch {
    /// Watches the directories of `entries` (the index's, in its order, read from the index
    /// file modified at `stamp`) and the git directory. `None` when it cannot — no inotify, too many directories, the system's
    /// limit reached, a directory missing or replaced by a symbolic link, a submodule — and
    /// the second look is the `lstat` pass.
    pub(crate) fn start(
        repo: &Repository,
        entries: &[IndexEntry],
        stamp: (i64, i64),
    ) -> Option<TreeWatch> {
        let workdir = repo.workdir()?;
        // Submodules are handed to status by every look (their stat data vouches for nothing).
        if entries.iter().any(|e| e.mode & 0o170000 == 0o160000) {
            return None;
        }
        let fd = inotify::init(CreateFlags::NONBLOCK | CreateFlags::CLOEXEC).ok()?;
        let git_dir = inotify::add_watch(&fd, repo.path(), change_mask()).ok()?;
        let mut wanted: Vec<&[u8]> = vec![b""];
        let mut seen: HashSet<&[u8]> = HashSet::new();
        for e in entries {
            let p = &e.path[..];
            for (i, b) in p.iter().enumerate() {
                if *b == b'/' && seen.insert(&p[..i]) {
                    wanted.push(&p[..i]);
                }
            }
            if wanted.len() > DIRS_MAX {
                return None;
            }
        }
        let mut dirs = HashMap::with_capacity(wanted.len());
        for d in wanted {
            let path = workdir.join(std::ffi::OsStr::from_bytes(d));
            // Not through a symbolic link: a tracked directory replaced by one is not watched.
            let wd =
                inotify::add_watch(&fd, &path, change_mask() | WatchFlags::DONT_FOLLOW).ok()?;
            // Two paths, one directory (a hard-linked directory cannot be, but a bind
            // mount can): the second look could not tell which was meant.
            if dirs.insert(wd, d.to_vec()).is_some() || wd == git_dir {
                return None;
            }
        }
        Some(TreeWatch {
            fd,
            dirs,
            git_dir,
            index_path: repo.path().join("index"),
            entries: Vec::new(),
            stamp,
            settled: None,
        })
    }

    /// The index's entries the watch was set for (those given to [`start`](Self::start)),
    /// handed over once the first look's `lstat` pass is done with them: what tells which
    /// events name tracked files, and what [`entries_of`](Self::entries_of) hands the second
    /// look.
    pub(crate) fn with_entries(mut self, entries: Vec<IndexEntry>) -> Self {
        self.entries = entries;
        self
    }

    /// The entries of `paths` that are tracked, and the index file's modification time when
    /// they were read.
    pub(crate) fn entries_of(&self, paths: &[&str]) -> (Vec<&IndexEntry>, (i64, i64)) {
        let found = paths
            .iter()
            .filter_map(|p| {
                let at = self
                    .entries
                    .binary_search_by(|e| e.path.as_slice().cmp(p.as_bytes()))
                    .ok()?;
                Some(&self.entries[at])
            })
            .collect();
        (found, self.stamp)
    }

    /// Called when the first look has found the tree clean (and written the index, if it
    /// did): the work tree's events so far must be none that matter, and the index and HEAD
    /// as they are now are what the second look compares with. `None` when the watch already
    /// saw a change (the second look is then the `lstat` pass).
    pub(crate) fn settle(mut self, repo: &Repository) -> Option<TreeWatch> {
        // The first look's own write of the index is among the git directory's events: they
        // are let go here, and only those after count.
        if !self.drain(true) {
            return None;
        }
        let index = IndexStamp::of(&self.index_path)?;
        let head = repo.head().ok()?.target()?;
        self.settled = Some((index, head));
        Some(self)
    }

    /// Whether nothing the looks care about changed since [`settle`](Self::settle): no event
    /// on a tracked name or a watched directory, the index file the same, HEAD on the same
    /// commit. `false` also when it cannot tell.
    pub fn unchanged(&self, repo: &Repository) -> bool {
        let Some((index, head)) = self.settled else {
            return false;
        };
        self.drain(false)
            && IndexStamp::of(&self.index_path) == Some(index)
            && repo.head().ok().and_then(|h| h.target()) == Some(head)
    }

    /// Reads every pending event: `false` at the first that matters (or an error), after
    /// which the watch is not trusted. The git directory's events matter only when they name
    /// the index, and not while the first look `settling` (its own write of the index).
    fn drain(&self, settling: bool) -> bool {
        let mut buf = [MaybeUninit::<u8>::uninit(); 8192];
        let mut reader = inotify::Reader::new(&self.fd, &mut buf);
        loop {
            let event = match reader.next() {
                Ok(e) => e,
                Err(rustix::io::Errno::AGAIN) => return true,
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => return false,
            };
            let mask = event.events();
            if mask.intersects(
                ReadFlags::QUEUE_OVERFLOW
                    | ReadFlags::IGNORED
                    | ReadFlags::UNMOUNT
                    | ReadFlags::DELETE_SELF
                    | ReadFlags::MOVE_SELF,
            ) {
                return false;
            }
            let name = event.file_name().map(|n| n.to_bytes());
            if event.wd() == self.git_dir {
                if !settling && name == Some(b"index".as_slice()) {
                    return false;
                }
                continue;
            }
            let Some(dir) = self.dirs.get(&event.wd()) else {
                return false;
            };
            // An event on a watched directory itself (its mode or times): the files in it
            // may read differently now.
            let Some(name) = name else {
                return false;
            };
            if self.tracked(dir, name) {
                return false;
            }
        }
    }

    /// Whether `dir/name` is a tracked file or a directory holding tracked files.
    fn tracked(&self, dir: &[u8], name: &[u8]) -> bool {
        let mut path = Vec::with_capacity(dir.len() + 1 + name.len() + 1);
        if !dir.is_empty() {
            path.extend_from_slice(dir);
            path.push(b'/');
        }
        path.extend_from_slice(name);
        if self
            .entries
            .binary_search_by(|e| e.path.as_slice().cmp(&path))
            .is_ok()
        {
            return true;
        }
        path.push(b'/');
        let at = self
            .entries
            .partition_point(|e| e.path.as_slice() < path.as_slice());
        self.entries
            .get(at)
            .is_some_and(|e| e.path.starts_with(&path))
    }
}
