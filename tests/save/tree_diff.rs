//! `git::tree_diff` against libgit2's own diffs, on random pairs of trees (files, executables,
//! symbolic links, nested directories, a file on one side where the other has a directory):
//! the same changed paths with the same ids and modes, and an index holds a tree exactly
//! when libgit2 finds nothing staged against it.

use std::collections::BTreeMap;

use git2::{Oid, Repository};
use overlord::git::tree_diff::{index_holds_tree, tree_changes};
use proptest::prelude::*;

/// The paths a tree may hold; `f` and `f/g`, `d/e` and `d/e/x` cannot both be in one tree.
const PATHS: [&str; 12] = [
    "a.txt", "a-b", "a/x", "a/y/z", "a0", "b/x", "b/y", "d/e", "d/e/x", "f", "f/g", "top",
];

fn modes() -> impl Strategy<Value = i32> {
    prop_oneof![Just(0o100644), Just(0o100755), Just(0o120000)]
}

/// A tree: for each path, absent or (content 0–2, mode).
fn tree_strategy() -> impl Strategy<Value = Vec<Option<(u8, i32)>>> {
    proptest::collection::vec(proptest::option::of((0u8..3, modes())), PATHS.len())
}

/// Writes the tree: a path whose directory is already a file (or whose name is already a
/// directory) is left out.
fn write_tree(repo: &Repository, spec: &[Option<(u8, i32)>]) -> Oid {
    let mut files: Vec<&str> = Vec::new();
    let mut b = git2::build::TreeUpdateBuilder::new();
    for (path, entry) in PATHS.iter().zip(spec) {
        let Some((content, mode)) = entry else {
            continue;
        };
        let clashes = files
            .iter()
            .any(|f| path.starts_with(&format!("{f}/")) || f.starts_with(&format!("{path}/")));
        if clashes {
            continue;
        }
        files.push(path);
        let blob = repo.blob(format!("{content}\n").as_bytes()).unwrap();
        let mode = match mode {
            0o100755 => git2::FileMode::BlobExecutable,
            0o120000 => git2::FileMode::Link,
            _ => git2::FileMode::Blob,
        };
        b.upsert(path, blob, mode);
    }
    let empty = repo.treebuilder(None).unwrap().write().unwrap();
    b.create_updated(repo, &repo.find_tree(empty).unwrap())
        .unwrap()
}

type Changes = BTreeMap<String, (Option<(Oid, i32)>, Option<(Oid, i32)>)>;

/// libgit2's diff, a type change (split by it into a deletion and an addition) put back
/// together.
fn libgit2_changes(repo: &Repository, a: Oid, b: Oid) -> Changes {
    let (ta, tb) = (repo.find_tree(a).unwrap(), repo.find_tree(b).unwrap());
    let diff = repo.diff_tree_to_tree(Some(&ta), Some(&tb), None).unwrap();
    let mut out = Changes::new();
    for d in diff.deltas() {
        let side =
            |f: git2::DiffFile<'_>| (!f.id().is_zero()).then(|| (f.id(), i32::from(f.mode())));
        let path = d
            .new_file()
            .path()
            .or(d.old_file().path())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let slot = out.entry(path).or_insert((None, None));
        if let Some(o) = side(d.old_file()) {
            slot.0 = Some(o);
        }
        if let Some(n) = side(d.new_file()) {
            slot.1 = Some(n);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn tree_changes_are_libgit2s(a in tree_strategy(), b in tree_strategy()) {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let (ta, tb) = (write_tree(&repo, &a), write_tree(&repo, &b));
        let ours: Changes = tree_changes(&repo, &repo.find_tree(ta).unwrap(), &repo.find_tree(tb).unwrap())
            .unwrap()
            .into_iter()
            .map(|c| (c.path, (c.old, c.new)))
            .collect();
        prop_assert_eq!(ours, libgit2_changes(&repo, ta, tb));
    }

    #[test]
    fn an_index_holds_a_tree_when_libgit2_finds_nothing_staged(
        a in tree_strategy(),
        b in tree_strategy(),
        extra in proptest::option::of(0usize..PATHS.len()),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let (ta, tb) = (write_tree(&repo, &a), write_tree(&repo, &b));
        let mut index = git2::Index::new().unwrap();
        index.read_tree(&repo.find_tree(tb).unwrap()).unwrap();
        // Sometimes one more file staged (a path the tree may or may not have).
        if let Some(i) = extra {
            let path = PATHS[i];
            let clashes = index.iter().any(|e| {
                let p = String::from_utf8_lossy(&e.path).into_owned();
                p.starts_with(&format!("{path}/")) || path.starts_with(&format!("{p}/"))
            });
            if !clashes {
                let blob = repo.blob(b"staged\n").unwrap();
                let mut e = index.iter().next().unwrap_or_else(|| blank_entry(blob));
                e.path = path.as_bytes().to_vec();
                e.id = blob;
                e.mode = 0o100644;
                e.flags = 0;
                index.add(&e).unwrap();
            }
        }
        let tree_a = repo.find_tree(ta).unwrap();
        let staged = repo.diff_tree_to_index(Some(&tree_a), Some(&index), None).unwrap().deltas().len();
        let entries: Vec<git2::IndexEntry> = index.iter().collect();
        prop_assert_eq!(index_holds_tree(&repo, &entries, &tree_a).unwrap(), staged == 0);
    }
}

fn blank_entry(id: Oid) -> git2::IndexEntry {
    git2::IndexEntry {
        ctime: git2::IndexTime::new(0, 0),
        mtime: git2::IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode: 0o100644,
        uid: 0,
        gid: 0,
        file_size: 0,
        id,
        flags: 0,
        flags_extended: 0,
        path: Vec::new(),
    }
}

/// The Save's own use: the paths between two commits of a real repository, added ones
/// marked, unchanged directories not read.
#[test]
fn changed_paths_lists_what_two_commits_differ_in() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init_bare(dir.path()).unwrap();
    let a = write_tree(
        &repo,
        &[
            Some((0, 0o100644)),
            None,
            Some((0, 0o100644)),
            None,
            None,
            Some((1, 0o100644)),
            None,
            None,
            None,
            Some((0, 0o100644)),
            None,
            None,
        ],
    );
    let b = write_tree(
        &repo,
        &[
            Some((1, 0o100644)),
            None,
            Some((0, 0o100644)),
            Some((0, 0o100644)),
            None,
            Some((1, 0o100644)),
            None,
            None,
            None,
            None,
            Some((2, 0o100644)),
            None,
        ],
    );
    let sig = git2::Signature::now("t", "t@example.com").unwrap();
    let ca = repo
        .commit(None, &sig, &sig, "a", &repo.find_tree(a).unwrap(), &[])
        .unwrap();
    let cb = repo
        .commit(None, &sig, &sig, "b", &repo.find_tree(b).unwrap(), &[])
        .unwrap();
    let ta = repo.find_commit(ca).unwrap().tree_id();
    let tb = repo.find_commit(cb).unwrap().tree_id();
    assert_eq!(
        overlord::git::changed_paths(&repo, ta, tb).unwrap(),
        vec![
            ("a.txt".to_string(), false),
            ("a/y/z".to_string(), true),
            ("f".to_string(), false),
            ("f/g".to_string(), true),
        ]
    );
}
