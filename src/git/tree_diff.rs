//! What differs between two trees, and whether an index holds a tree, walking only where the
//! object ids differ.
//!
//! libgit2's `diff_tree_to_tree` and `diff_tree_to_index` step through every entry of both
//! sides (measured: ≈ 5 ms for two 5,000-file trees that differ in 20 files, most of a Save's
//! tree diffs). Two subtrees with the same id hold the same files, so [`tree_changes`] skips
//! them and reads only the directories that changed; [`index_holds_tree`] compares the
//! index's entries with the tree's in one pass, without libgit2's iterators.

use git2::{IndexEntry, ObjectType, Oid, Repository, Tree, TreeEntry};

type Result<T> = std::result::Result<T, git2::Error>;

const TREE: i32 = 0o040000;

/// One path that differs between two trees: a file, a symbolic link or a submodule (the
/// directories are walked into). `old` and `new` are its id and mode on each side; `None`
/// where it is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeChange {
    pub path: String,
    pub old: Option<(Oid, i32)>,
    pub new: Option<(Oid, i32)>,
}

impl TreeChange {
    /// Missing from the old tree.
    pub fn added(&self) -> bool {
        self.old.is_none()
    }

    /// Missing from the new tree.
    pub fn deleted(&self) -> bool {
        self.new.is_none()
    }
}

/// The paths that differ between `old` and `new`, in path order (git's: a directory sorts as
/// its name with a `/`), as `git diff-tree -r` lists them without rename or type-change
/// detection: a file that became a directory is the file deleted and the directory's files
/// added.
pub fn tree_changes(repo: &Repository, old: &Tree<'_>, new: &Tree<'_>) -> Result<Vec<TreeChange>> {
    let mut out = Vec::new();
    if old.id() != new.id() {
        walk(repo, "", Some(old), Some(new), &mut out)?;
    }
    Ok(out)
}

/// A tree entry's name as git orders it: a directory's with a `/` after it.
fn sort_key(e: &TreeEntry<'_>) -> Vec<u8> {
    let mut k = e.name_bytes().to_vec();
    if e.filemode() == TREE {
        k.push(b'/');
    }
    k
}

fn walk(
    repo: &Repository,
    prefix: &str,
    old: Option<&Tree<'_>>,
    new: Option<&Tree<'_>>,
    out: &mut Vec<TreeChange>,
) -> Result<()> {
    let entries = |t: Option<&Tree<'_>>| -> Vec<(Vec<u8>, Oid, i32, String)> {
        t.map(|t| {
            t.iter()
                .map(|e| {
                    let name = String::from_utf8_lossy(e.name_bytes()).into_owned();
                    (sort_key(&e), e.id(), e.filemode(), name)
                })
                .collect()
        })
        .unwrap_or_default()
    };
    let (a, b) = (entries(old), entries(new));
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let order = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => x.0.cmp(&y.0),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        let (left, right) = match order {
            std::cmp::Ordering::Less => {
                i += 1;
                (a.get(i - 1), None)
            }
            std::cmp::Ordering::Greater => {
                j += 1;
                (None, b.get(j - 1))
            }
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
                (a.get(i - 1), b.get(j - 1))
            }
        };
        if let (Some(l), Some(r)) = (left, right) {
            if l.1 == r.1 && l.2 == r.2 {
                continue;
            }
        }
        let name = &left.or(right).expect("one side").3;
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        // Both sides are directories, or both not (the sort key tells them apart).
        if left.or(right).expect("one side").2 == TREE {
            let side = |e: Option<&(Vec<u8>, Oid, i32, String)>| -> Result<Option<Tree<'_>>> {
                Ok(match e {
                    Some(e) => Some(repo.find_tree(e.1)?),
                    None => None,
                })
            };
            let (l, r) = (side(left)?, side(right)?);
            walk(repo, &path, l.as_ref(), r.as_ref(), out)?;
        } else {
            out.push(TreeChange {
                path,
                old: left.map(|e| (e.1, e.2)),
                new: right.map(|e| (e.1, e.2)),
            });
        }
    }
    Ok(())
}

/// Whether `entries` (an index's, in its order, without conflicts) hold exactly `tree`: the
/// same paths, modes and ids — what `git diff --cached` against it shows as nothing staged.
pub fn index_holds_tree(
    repo: &Repository,
    entries: &[IndexEntry],
    tree: &Tree<'_>,
) -> Result<bool> {
    let mut at = 0;
    let held = holds(repo, entries, &mut at, &mut Vec::new(), tree)?;
    Ok(held && at == entries.len())
}

/// Compares the entries from `*at` on with `tree` (under `prefix`), advancing `at` past
/// those it matched.
fn holds(
    repo: &Repository,
    entries: &[IndexEntry],
    at: &mut usize,
    prefix: &mut Vec<u8>,
    tree: &Tree<'_>,
) -> Result<bool> {
    for e in tree.iter() {
        let len = prefix.len();
        prefix.extend_from_slice(e.name_bytes());
        let held = if e.kind() == Some(ObjectType::Tree) {
            prefix.push(b'/');
            let sub = repo.find_tree(e.id())?;
            holds(repo, entries, at, prefix, &sub)?
        } else {
            match entries.get(*at) {
                Some(ie)
                    if ie.path == *prefix
                        && ie.id == e.id()
                        && i64::from(ie.mode) == i64::from(e.filemode())
                        && ie.flags & 0x3000 == 0 =>
                {
                    *at += 1;
                    true
                }
                _ => false,
            }
        };
        prefix.truncate(len);
        if !held {
            return Ok(false);
        }
    }
    Ok(true)
}
