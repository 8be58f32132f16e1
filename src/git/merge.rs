//! Three-way merge of trees, done on git objects only: no index, no work tree.
//!
//! Only the subtrees that differ are read: an entry the other side did not change is kept
//! by id, so the cost follows the size of the change, not of the repository (this is what
//! makes it faster than libgit2's index-based `merge_trees` and than forking
//! `git merge-tree`; see `docs/PERFORMANCE.md`).
//!
//! Policy for trivial conflicts: both sides making the same change is taken once; changes
//! that overlap but differ only in white space are merged ignoring white space. Anything
//! else is a conflict, reported with the file, its kind and the conflicting hunks.

use git2::{FileMode, IndexEntry, IndexTime, MergeFileOptions, Oid, Repository, Tree};
use serde::{Deserialize, Serialize};

/// How many lines of each conflicting hunk a report keeps.
const HUNK_LINES: usize = 12;
/// How many hunks per file a report keeps.
const MAX_HUNKS: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trivial {
    pub path: String,
    /// `identical` or `whitespace`.
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub path: String,
    /// `content`, `binary`, `modify/delete`, `add/add`, `file/directory`, `mode`.
    pub kind: String,
    /// The conflicting hunks, in `<<<<<<<` / `=======` / `>>>>>>>` form, trimmed.
    pub hunks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MergeOutcome {
    /// The merged tree, when there was no conflict.
    pub tree: Option<Oid>,
    pub trivial: Vec<Trivial>,
    pub conflicts: Vec<Conflict>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Entry {
    id: Oid,
    mode: i32,
}

impl Entry {
    fn is_tree(self) -> bool {
        self.mode == i32::from(FileMode::Tree)
    }
    fn is_file(self) -> bool {
        self.mode == i32::from(FileMode::Blob) || self.mode == i32::from(FileMode::BlobExecutable)
    }
}

fn entry_of(tree: Option<&Tree<'_>>, name: &[u8]) -> Option<Entry> {
    let e = tree?.get_name_bytes(name)?;
    Some(Entry {
        id: e.id(),
        mode: e.filemode(),
    })
}

struct Merger<'r> {
    repo: &'r Repository,
    ours_label: String,
    theirs_label: String,
    out: MergeOutcome,
}

/// Merges `theirs` into `ours` given their merge base's tree.
pub fn merge_trees(
    repo: &Repository,
    base: Oid,
    ours: Oid,
    theirs: Oid,
    ours_label: &str,
    theirs_label: &str,
) -> Result<MergeOutcome, git2::Error> {
    let mut m = Merger {
        repo,
        ours_label: ours_label.to_string(),
        theirs_label: theirs_label.to_string(),
        out: MergeOutcome::default(),
    };
    let tree = m.merge_dir(Some(base), ours, theirs, "")?;
    let mut out = m.out;
    if out.conflicts.is_empty() {
        out.tree = Some(tree);
    }
    Ok(out)
}

impl Merger<'_> {
    fn merge_dir(
        &mut self,
        base: Option<Oid>,
        ours: Oid,
        theirs: Oid,
        prefix: &str,
    ) -> Result<Oid, git2::Error> {
        if ours == theirs || base == Some(theirs) {
            return Ok(ours);
        }
        if base == Some(ours) {
            return Ok(theirs);
        }
        let repo = self.repo;
        let base_tree = match base {
            Some(b) => Some(repo.find_tree(b)?),
            None => None,
        };
        let ours_tree = repo.find_tree(ours)?;
        let theirs_tree = repo.find_tree(theirs)?;
        // Names the other side changed: added or modified in theirs, or deleted from it.
        let mut changed: Vec<Vec<u8>> = Vec::new();
        for e in theirs_tree.iter() {
            let name = e.name_bytes();
            let t = Entry {
                id: e.id(),
                mode: e.filemode(),
            };
            if entry_of(base_tree.as_ref(), name) != Some(t) {
                changed.push(name.to_vec());
            }
        }
        if let Some(b) = &base_tree {
            for e in b.iter() {
                if theirs_tree.get_name_bytes(e.name_bytes()).is_none() {
                    changed.push(e.name_bytes().to_vec());
                }
            }
        }
        if changed.is_empty() {
            return Ok(ours);
        }
        let mut builder = repo.treebuilder(Some(&ours_tree))?;
        for name in changed {
            let b = entry_of(base_tree.as_ref(), &name);
            let o = entry_of(Some(&ours_tree), &name);
            let t = entry_of(Some(&theirs_tree), &name);
            let path = join(prefix, &name);
            let merged = self.merge_entry(b, o, t, &path)?;
            if merged != o {
                match merged {
                    Some(e) => {
                        builder.insert(&name, e.id, e.mode)?;
                    }
                    None => builder.remove(&name)?,
                }
            }
        }
        builder.write()
    }

    /// The merged entry for one name, or the ours entry unchanged when it conflicts.
    fn merge_entry(
        &mut self,
        b: Option<Entry>,
        o: Option<Entry>,
        t: Option<Entry>,
        path: &str,
    ) -> Result<Option<Entry>, git2::Error> {
        if o == b {
            return Ok(t);
        }
        if o == t {
            if o.is_some_and(|e| e.is_file()) {
                self.out.trivial.push(Trivial {
                    path: path.to_string(),
                    kind: "identical".into(),
                });
            }
            return Ok(o);
        }
        match (b, o, t) {
            (_, Some(oe), Some(te)) if oe.is_tree() && te.is_tree() => {
                let base = b.filter(|e| e.is_tree()).map(|e| e.id);
                let id = self.merge_dir(base, oe.id, te.id, path)?;
                let merged = self.repo.find_tree(id)?;
                if merged.is_empty() {
                    Ok(None)
                } else {
                    Ok(Some(Entry { id, mode: oe.mode }))
                }
            }
            (_, Some(oe), Some(te)) if oe.is_file() && te.is_file() => {
                let base = b.filter(|e| e.is_file());
                self.merge_file(base, oe, te, path)
            }
            (Some(_), None, Some(_)) | (Some(_), Some(_), None) => {
                self.conflict(path, "modify/delete", Vec::new());
                Ok(o)
            }
            (None, Some(oe), Some(te)) if oe.is_tree() != te.is_tree() => {
                self.conflict(path, "file/directory", Vec::new());
                Ok(o)
            }
            _ => {
                self.conflict(path, "add/add", Vec::new());
                Ok(o)
            }
        }
    }

    fn merge_file(
        &mut self,
        b: Option<Entry>,
        o: Entry,
        t: Entry,
        path: &str,
    ) -> Result<Option<Entry>, git2::Error> {
        let mode = if o.mode == t.mode {
            o.mode
        } else if b.is_some_and(|b| b.mode == o.mode) {
            t.mode
        } else if b.is_some_and(|b| b.mode == t.mode) {
            o.mode
        } else {
            self.conflict(path, "mode", Vec::new());
            return Ok(Some(o));
        };
        if o.id == t.id {
            return Ok(Some(Entry { id: o.id, mode }));
        }
        let base = match b {
            Some(b) => b,
            None => Entry {
                id: self.repo.blob(b"")?,
                mode,
            },
        };
        let entry = |e: Entry| index_entry(path, e);
        let mut opts = MergeFileOptions::new();
        opts.our_label(&self.ours_label)
            .their_label(&self.theirs_label)
            .ancestor_label("base");
        let result =
            self.repo
                .merge_file_from_index(&entry(base), &entry(o), &entry(t), Some(&mut opts))?;
        if result.is_automergeable() {
            let id = self.repo.blob(result.content())?;
            return Ok(Some(Entry { id, mode }));
        }
        let hunks = conflict_hunks(result.content());
        let binary = self.is_binary(o.id)? || self.is_binary(t.id)?;
        if binary {
            self.conflict(path, "binary", Vec::new());
            return Ok(Some(o));
        }
        // Trivial by policy: the overlapping changes differ only in white space.
        let mut ws = MergeFileOptions::new();
        ws.ignore_whitespace_change(true)
            .ignore_whitespace_eol(true);
        let relaxed =
            self.repo
                .merge_file_from_index(&entry(base), &entry(o), &entry(t), Some(&mut ws))?;
        if relaxed.is_automergeable() {
            let id = self.repo.blob(relaxed.content())?;
            self.out.trivial.push(Trivial {
                path: path.to_string(),
                kind: "whitespace".into(),
            });
            return Ok(Some(Entry { id, mode }));
        }
        self.conflict(path, "content", hunks);
        Ok(Some(o))
    }

    fn is_binary(&self, id: Oid) -> Result<bool, git2::Error> {
        Ok(self.repo.find_blob(id)?.is_binary())
    }

    fn conflict(&mut self, path: &str, kind: &str, hunks: Vec<String>) {
        self.out.conflicts.push(Conflict {
            path: path.to_string(),
            kind: kind.to_string(),
            hunks,
        });
    }
}

/// `prefix/name` (`name` alone at the top), the name read as UTF-8 (lossily).
pub(super) fn join(prefix: &str, name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    if prefix.is_empty() {
        name.into_owned()
    } else {
        format!("{prefix}/{name}")
    }
}

fn index_entry(path: &str, e: Entry) -> IndexEntry {
    IndexEntry {
        ctime: IndexTime::new(0, 0),
        mtime: IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode: e.mode as u32,
        uid: 0,
        gid: 0,
        file_size: 0,
        id: e.id,
        flags: 0,
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    }
}

/// The `<<<<<<< … >>>>>>>` blocks of a merge result, each cut to a few lines.
pub fn conflict_hunks(content: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(content);
    let mut hunks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    let mut total = 0;
    for line in text.lines() {
        if line.starts_with("<<<<<<<") {
            current = Some(vec![line]);
            total = 1;
            continue;
        }
        if let Some(lines) = current.as_mut() {
            total += 1;
            if lines.len() < HUNK_LINES {
                lines.push(line);
            }
            if line.starts_with(">>>>>>>") {
                let mut lines = current.take().unwrap_or_default();
                if total > lines.len() {
                    lines.push("…");
                    lines.push(line);
                }
                hunks.push(lines.join("\n"));
                if hunks.len() == MAX_HUNKS {
                    break;
                }
            }
        }
    }
    hunks
}
