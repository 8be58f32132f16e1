//! The user's work tree around a Save (issue 23, "Save that grows linearly"): one full scan
//! accepts the Save, the second look before publishing reads only what could have changed —
//! and still refuses anything the user changed meanwhile, staged or not, whatever its size
//! and times; the index a Save leaves behind carries every file's stat data, so the next
//! scan trusts it; and the merge loop's history walks (each task's own commits, once) give
//! the same merges and messages as the walks down the integration branch, which it falls
//! back to when two tasks share commits.

use std::path::Path;
use std::time::{Duration, SystemTime};

use overlord::git::recheck::changes_since_refresh;
use overlord::protocol::model::OperationOutcome;

use super::{outcome, with_gates, Fx};
use crate::common::*;

/// Every file of the work tree dated an hour back, then the index refreshed by the full
/// scan: as a work tree looks when nobody touched it for a while.
fn settle(repo: &Path) {
    let past = SystemTime::now() - Duration::from_secs(3600);
    for name in ["README.md", "src/lib.txt", "b.txt", "c.txt"] {
        let p = repo.join(name);
        if p.exists() {
            let f = std::fs::File::options().write(true).open(&p).unwrap();
            f.set_modified(past).unwrap();
        }
    }
    let g = git2::Repository::open(repo).unwrap();
    assert_eq!(
        overlord::git::tracked_changes(&g).unwrap(),
        Vec::<String>::new()
    );
}

fn plain_repo() -> Repo {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    repo.write("src/lib.txt", "one\ntwo\n");
    repo.write("b.txt", "bee\n");
    repo.write("c.txt", "sea\n");
    git(repo.path(), repo.home.path(), &["add", "."]);
    git(repo.path(), repo.home.path(), &["commit", "-qm", "initial"]);
    repo
}

#[test]
fn the_second_look_reads_nothing_when_nothing_changed_and_finds_every_change() {
    let repo = plain_repo();
    settle(repo.path());
    let g = git2::Repository::open(repo.path()).unwrap();

    // Nothing changed since the scan: every entry's stat data vouches for its file.
    let r = changes_since_refresh(&g).unwrap();
    assert_eq!(r.changes, Vec::<String>::new());
    assert_eq!((r.doubtful, r.full_scan), (0, false), "{r:?}");

    // Same size, then the old modification time put back: the change time still tells.
    let lib = repo.path().join("src/lib.txt");
    let old = std::fs::metadata(&lib).unwrap().modified().unwrap();
    std::fs::write(&lib, "One\ntwo\n").unwrap();
    let f = std::fs::File::options().write(true).open(&lib).unwrap();
    f.set_modified(old).unwrap();
    drop(f);
    assert_eq!(std::fs::metadata(&lib).unwrap().modified().unwrap(), old);
    // Rewritten with the same bytes: doubtful, but not a change.
    std::fs::write(repo.path().join("b.txt"), "bee\n").unwrap();
    let r = changes_since_refresh(&g).unwrap();
    assert_eq!(r.changes, vec!["src/lib.txt".to_string()], "{r:?}");
    assert_eq!((r.doubtful, r.full_scan), (2, false), "{r:?}");

    // A deleted file.
    std::fs::write(&lib, "one\ntwo\n").unwrap();
    std::fs::remove_file(repo.path().join("c.txt")).unwrap();
    let r = changes_since_refresh(&g).unwrap();
    assert_eq!(r.changes, vec!["c.txt".to_string()], "{r:?}");
    git(repo.path(), repo.home.path(), &["checkout", "--", "c.txt"]);

    // Something staged (the index itself changed): the full scan.
    std::fs::write(repo.path().join("README.md"), "staged\n").unwrap();
    git(repo.path(), repo.home.path(), &["add", "README.md"]);
    let r = changes_since_refresh(&g).unwrap();
    assert_eq!(r.changes, vec!["README.md".to_string()], "{r:?}");
    assert!(r.full_scan, "{r:?}");
}

/// A large index (1,200 files) is looked at in two halves, on two threads: a change in either
/// half is found, and the doubtful files of both halves count together against the limit
/// past which the full scan decides (150 in each half, 300 in all, is past 256).
#[test]
fn the_second_look_in_two_halves_finds_changes_in_either_and_counts_them_together() {
    let repo = Repo::new();
    let past = SystemTime::now() - Duration::from_secs(3600);
    let name = |d: usize, f: usize| format!("d{d:02}/f{f:03}.txt");
    for d in 0..12 {
        std::fs::create_dir_all(repo.path().join(format!("d{d:02}"))).unwrap();
        for f in 0..100 {
            let p = repo.path().join(name(d, f));
            std::fs::write(&p, format!("{d} {f}\n")).unwrap();
            let file = std::fs::File::options().write(true).open(&p).unwrap();
            file.set_modified(past).unwrap();
        }
    }
    git(repo.path(), repo.home.path(), &["add", "."]);
    git(repo.path(), repo.home.path(), &["commit", "-qm", "initial"]);
    let g = git2::Repository::open(repo.path()).unwrap();
    let r = changes_since_refresh(&g).unwrap();
    assert_eq!(
        (r.changes.len(), r.doubtful, r.full_scan),
        (0, 0, false),
        "{r:?}"
    );

    // One change at each end of the index.
    std::fs::write(repo.path().join(name(0, 3)), "changed\n").unwrap();
    std::fs::write(repo.path().join(name(11, 97)), "changed too\n").unwrap();
    let r = changes_since_refresh(&g).unwrap();
    assert_eq!(r.changes, vec![name(0, 3), name(11, 97)], "{r:?}");
    assert_eq!((r.doubtful, r.full_scan), (2, false), "{r:?}");

    // 150 files rewritten with the same bytes in each half: too many doubtful ones together.
    for (d, f) in (0..150)
        .map(|i| (i / 100, i % 100))
        .chain((0..150).map(|i| (10 + i / 100, i % 100)))
    {
        if (d, f) == (0, 3) || (d, f) == (11, 97) {
            continue;
        }
        std::fs::write(repo.path().join(name(d, f)), format!("{d} {f}\n")).unwrap();
    }
    let r = changes_since_refresh(&g).unwrap();
    assert!(r.full_scan, "{r:?}");
    assert_eq!(r.changes, vec![name(0, 3), name(11, 97)], "{r:?}");
}

#[test]
fn a_file_edited_while_the_save_runs_aborts_it_and_main_stays() {
    // The gate, run while the Save is under way, edits a tracked file of the user's work
    // tree (one the Save does not change) keeping its size.
    let gate = "printf 'HELLO\\n' > ../../README.md";
    let mut fx = Fx::with_config(&["t1"], with_gates(gate, ""));
    fx.work("t1", "a.txt", "a\n", "a");
    fx.done("t1");
    settle(fx.repo.path());
    let main = fx.main();
    let r = fx.save();
    assert!(!r.ok, "{}", r.message);
    assert_eq!(
        outcome(&r),
        Some(OperationOutcome::Aborted),
        "{}",
        r.message
    );
    assert!(
        r.message.contains("uncommitted changes (README.md)"),
        "{}",
        r.message
    );
    assert_eq!(fx.main(), main);
    assert!(fx.git(&["tag", "-l"]).trim().is_empty());
    assert_eq!(
        std::fs::read_to_string(fx.repo.path().join("README.md")).unwrap(),
        "HELLO\n",
        "the user's edit was kept"
    );
}

#[test]
fn a_change_staged_while_the_save_runs_aborts_it() {
    let gate = "printf 'staged\\n' > ../../README.md && git -C ../.. add README.md";
    let mut fx = Fx::with_config(&["t1"], with_gates(gate, ""));
    fx.work("t1", "a.txt", "a\n", "a");
    fx.done("t1");
    let main = fx.main();
    let r = fx.save();
    assert!(!r.ok, "{}", r.message);
    assert_eq!(
        outcome(&r),
        Some(OperationOutcome::Aborted),
        "{}",
        r.message
    );
    assert!(r.message.contains("README.md"), "{}", r.message);
    assert_eq!(fx.main(), main);
}

/// The index a Save leaves behind: every entry carries its file's stat data (size, times,
/// inode), it holds main's tree, and the next look trusts all but the files the Save
/// just wrote in the index's own clock tick.
#[test]
fn the_index_a_save_leaves_behind_carries_the_stat_data_of_every_file() {
    let mut fx = Fx::new(&["t1", "t2"]);
    fx.work("t1", "a.txt", "a\n", "a");
    fx.work("t2", "src/lib.txt", "one\nTWO\n", "t2: two");
    fx.done("t1");
    fx.done("t2");
    settle(fx.repo.path());
    let r = fx.save();
    assert!(r.ok, "{}", r.message);
    let g = git2::Repository::open(fx.repo.path()).unwrap();
    let mut index = g.index().unwrap();
    index.read(true).unwrap();
    for e in index.iter() {
        let path = String::from_utf8(e.path.clone()).unwrap();
        let meta = std::fs::symlink_metadata(fx.repo.path().join(&path)).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!(
            (
                i64::from(e.mtime.seconds()),
                i64::from(e.mtime.nanoseconds()),
                u64::from(e.file_size),
                u64::from(e.ino),
            ),
            (
                meta.mtime(),
                meta.mtime_nsec(),
                meta.len(),
                meta.ino() & 0xffff_ffff
            ),
            "{path}: the index's stat data is not the file's"
        );
    }
    let main_tree = g.head().unwrap().peel_to_tree().unwrap().id();
    assert_eq!(index.write_tree().unwrap(), main_tree);
    // The files the Save wrote: everything main's tree changed in.
    let before = fx.core.state().checkpoints[0].previous.clone().unwrap();
    let written = fx
        .git(&["diff", "--name-only", &before, "HEAD"])
        .lines()
        .count();
    assert!(written >= 2, "{written}");
    let r = changes_since_refresh(&g).unwrap();
    assert_eq!(r.changes, Vec::<String>::new());
    assert!(!r.full_scan, "{r:?}");
    assert!(r.doubtful <= written, "{r:?}, {written} files written");
    // `git status` agrees.
    assert!(fx
        .git(&["status", "--porcelain", "--untracked-files=no"])
        .trim()
        .is_empty());
}

#[test]
fn tasks_that_share_commits_merge_as_before_and_each_brings_in_its_own_commits() {
    // t2 starts from t1's work: the two share a commit outside main (the general way).
    let mut fx = Fx::new(&["t1", "t2", "t3"]);
    fx.work("t1", "a.txt", "a\n", "t1: a");
    let t1 = fx.branch("t1");
    git(&fx.wt("t2"), fx.home(), &["merge", "-q", "--ff-only", &t1]);
    fx.work("t2", "b.txt", "b\n", "t2: b");
    fx.work("t3", "c.txt", "c\n", "t3: c");
    fx.work("t3", "d.txt", "d\n", "t3: d");
    for t in ["t1", "t2", "t3"] {
        fx.done(t);
    }
    let r = fx.save();
    assert!(r.ok, "{}", r.message);
    assert_eq!(outcome(&r), Some(OperationOutcome::Checkpointed));
    let merges = fx.git(&["log", "--merges", "--format=%s%n%b--", "main"]);
    for (task, n) in [
        ("t1", "1 commit:"),
        ("t2", "1 commit:"),
        ("t3", "2 commits:"),
    ] {
        let at = merges
            .find(&format!("Merge task {task} "))
            .unwrap_or_else(|| panic!("no merge of {task}: {merges}"));
        let body = &merges[at..];
        let body = &body[..body.find("--").unwrap()];
        assert!(body.contains(&format!("Brings in {n}")), "{task}: {body}");
    }
    assert!(
        merges.contains("t2: b") && merges.contains("t3: d"),
        "{merges}"
    );
    for f in ["a.txt", "b.txt", "c.txt", "d.txt"] {
        assert!(fx.repo.path().join(f).exists(), "{f} did not follow main");
    }

    // A task whose branch holds nothing new (its commit is another task's): skipped.
    let mut fx = Fx::new(&["t1", "t2"]);
    fx.work("t1", "a.txt", "a\n", "t1: a");
    let t1 = fx.branch("t1");
    git(&fx.wt("t2"), fx.home(), &["merge", "-q", "--ff-only", &t1]);
    fx.done("t1");
    fx.done("t2");
    let r = fx.save();
    assert!(r.ok, "{}", r.message);
    let cp = fx.core.state().checkpoints[0].clone();
    assert_eq!(cp.tasks, ["t1"], "{}", r.message);
    assert_eq!(
        fx.git(&["log", "--merges", "--format=%s", "main"])
            .lines()
            .filter(|l| l.starts_with("Merge task"))
            .count(),
        1
    );
}
