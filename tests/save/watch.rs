//! The watch a Save's first look sets on the user's work tree (`git::watch`, issue 23): it
//! says "unchanged" only when no tracked file or directory was touched, the index was not
//! written and HEAD did not move — and the second look still checks, by their stat data,
//! the files main's move is about to overwrite, which a write inotify does not see (through
//! a hard link from outside the tree) cannot slip past.

use std::path::Path;

use overlord::git::recheck::{first_look, second_look};
use overlord::git::watch::TreeWatch;
use overlord::git::GitError;
use overlord::protocol::model::OperationOutcome;

use super::{outcome, with_gates, Fx};
use crate::common::*;

fn repo_on_main() -> Repo {
    let repo = Repo::new();
    let home = repo.home.path().to_path_buf();
    git(
        repo.path(),
        &home,
        &["symbolic-ref", "HEAD", "refs/heads/main"],
    );
    repo.write("README.md", "hello\n");
    repo.write("src/lib.txt", "one\ntwo\n");
    repo.write("src/deep/x.txt", "x\n");
    repo.write("b.txt", "bee\n");
    repo.write(".gitignore", "*.log\n");
    git(repo.path(), &home, &["add", "."]);
    git(repo.path(), &home, &["commit", "-qm", "initial"]);
    repo
}

/// The first look's watch on a clean tree.
fn watch(repo: &Repo) -> (git2::Repository, TreeWatch) {
    let g = git2::Repository::open(repo.path()).unwrap();
    let (tree, w) = first_look(&g, "main").expect("a clean tree");
    assert!(tree.on_main);
    (g, w.expect("a watch on a plain tree"))
}

/// Each change to a tracked file, a tracked directory, the index or HEAD is seen.
#[test]
fn the_watch_sees_every_change_to_what_is_tracked() {
    type Change = fn(&Path, &Path);
    let changes: [(&str, Change); 11] = [
        ("a write", |r, _| {
            std::fs::write(r.join("b.txt"), "BEE\n").unwrap()
        }),
        ("an append to a nested file", |r, _| {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(r.join("src/deep/x.txt"))
                .unwrap();
            f.write_all(b"more\n").unwrap();
        }),
        ("its times set", |r, _| {
            let f = std::fs::File::options()
                .write(true)
                .open(r.join("README.md"))
                .unwrap();
            f.set_modified(std::time::SystemTime::UNIX_EPOCH).unwrap();
        }),
        ("made executable", |r, _| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(r.join("b.txt"), std::fs::Permissions::from_mode(0o755))
                .unwrap();
        }),
        ("removed", |r, _| {
            std::fs::remove_file(r.join("b.txt")).unwrap()
        }),
        ("renamed away", |r, _| {
            std::fs::rename(r.join("src/lib.txt"), r.join("src/lib.old")).unwrap()
        }),
        ("replaced by a rename over it", |r, _| {
            std::fs::write(r.join("new.tmp"), "hello\n").unwrap();
            std::fs::rename(r.join("new.tmp"), r.join("README.md")).unwrap();
        }),
        ("a tracked directory renamed", |r, _| {
            std::fs::rename(r.join("src/deep"), r.join("src/shallow")).unwrap()
        }),
        ("a file staged", |r, home| {
            std::fs::write(r.join("b.txt"), "staged\n").unwrap();
            git(r, home, &["add", "b.txt"]);
        }),
        ("the index rewritten by git", |r, home| {
            git(r, home, &["update-index", "--really-refresh"]);
            git(r, home, &["update-index", "--chmod=+x", "b.txt"]);
        }),
        ("a commit on main", |r, home| {
            git(
                r,
                home,
                &["commit", "-q", "--allow-empty", "-m", "meanwhile"],
            );
        }),
    ];
    for (what, change) in changes {
        let repo = repo_on_main();
        let (g, w) = watch(&repo);
        assert!(w.unchanged(&g), "{what}: nothing changed yet");
        change(repo.path(), repo.home.path());
        assert!(!w.unchanged(&g), "{what} was not seen");
    }
}

/// What the looks do not care about is let go: untracked and ignored files, new untracked
/// directories, reads, tags and branches — and the first look's own write
/// of the index.
#[test]
fn the_watch_lets_go_of_what_is_not_tracked() {
    let repo = repo_on_main();
    // A file rewritten with the same bytes: the first look reads it, refreshes its stat
    // data and writes the index; the watch is settled after that write.
    std::fs::write(repo.path().join("b.txt"), "bee\n").unwrap();
    let (g, w) = watch(&repo);
    assert!(w.unchanged(&g));
    std::fs::write(repo.path().join("untracked.txt"), "u\n").unwrap();
    std::fs::write(repo.path().join("src/build.log"), "ignored\n").unwrap();
    std::fs::create_dir_all(repo.path().join("src/new/dir")).unwrap();
    std::fs::write(repo.path().join("src/new/dir/f.txt"), "f\n").unwrap();
    std::fs::remove_file(repo.path().join("untracked.txt")).unwrap();
    let _ = std::fs::read(repo.path().join("README.md")).unwrap();
    git(repo.path(), repo.home.path(), &["tag", "meanwhile"]);
    git(repo.path(), repo.home.path(), &["branch", "side"]);
    assert!(w.unchanged(&g), "only untracked names were touched");
    // Then the index, written in place.
    std::fs::write(
        repo.path().join(".git/index"),
        std::fs::read(repo.path().join(".git/index")).unwrap(),
    )
    .unwrap();
    assert!(!w.unchanged(&g), "the index written in place");
}

/// A write through a hard link from outside the work tree reaches no watched directory:
/// the watch says nothing changed, so the second look checks the files main is about to
/// overwrite by their stat data — and refuses.
#[test]
fn a_write_the_watch_cannot_see_is_still_refused_where_it_would_be_overwritten() {
    let repo = repo_on_main();
    let outside = tempfile::tempdir().unwrap();
    let link = outside.path().join("b.txt");
    std::fs::hard_link(repo.path().join("b.txt"), &link).unwrap();
    // The link changed the file's change time: refresh the index's stat data first.
    git(
        repo.path(),
        repo.home.path(),
        &["update-index", "-q", "--refresh"],
    );
    let (g, w) = watch(&repo);
    std::fs::write(&link, "mine\n").unwrap();
    assert!(
        w.unchanged(&g),
        "inotify does not see a write through another directory"
    );
    match second_look(&g, "main", Some(&w), &["README.md", "b.txt"]) {
        Err(GitError::Dirty { files, .. }) => assert_eq!(files, vec!["b.txt".to_string()]),
        other => panic!("the edit through the link was not refused: {other:?}"),
    }
}

/// A Save of task `t1` changing `file`, whose gate (run while the Save is under way) writes
/// `MINE` to `README.md` through a hard link from outside the work tree.
fn save_with_a_write_through_a_link(file: &str) -> (Fx, overlord::protocol::Reply, String) {
    let outside = tempfile::tempdir().unwrap();
    let link = outside.path().join("link");
    let gate = format!("printf 'MINE\\n' > '{}'", link.display());
    let mut fx = Fx::with_config(&["t1"], with_gates(&gate, ""));
    std::fs::hard_link(fx.repo.path().join("README.md"), &link).unwrap();
    fx.git(&["update-index", "-q", "--refresh"]);
    fx.work("t1", file, "from t1\n", "t1");
    fx.done("t1");
    let main = fx.main();
    let r = fx.save();
    (fx, r, main)
}

/// The same, end to end: the task changes the file written through the link; the Save
/// aborts and the user's bytes stay.
#[test]
fn a_save_does_not_overwrite_a_file_written_through_a_hard_link_meanwhile() {
    let (fx, r, main) = save_with_a_write_through_a_link("README.md");
    assert!(!r.ok, "{}", r.message);
    assert_eq!(
        outcome(&r),
        Some(OperationOutcome::Aborted),
        "{}",
        r.message
    );
    assert!(r.message.contains("README.md"), "{}", r.message);
    assert_eq!(fx.main(), main);
    assert_eq!(
        std::fs::read_to_string(fx.repo.path().join("README.md")).unwrap(),
        "MINE\n",
        "the user's edit was kept"
    );
}

/// The Save's second look asks its first look's watch (the wiring): a write inotify cannot
/// see, to a file the Save does not change, is not looked for — the Save goes on, main
/// moves, and the user's bytes stay in the work tree as an uncommitted change, as if written
/// just after. (Without the watch the second look's `lstat` pass would have refused it.)
#[test]
fn a_save_whose_watch_saw_nothing_looks_only_at_the_files_it_overwrites() {
    let (fx, r, main) = save_with_a_write_through_a_link("a.txt");
    assert!(r.ok, "{}", r.message);
    assert_ne!(fx.main(), main);
    assert_eq!(
        std::fs::read_to_string(fx.repo.path().join("README.md")).unwrap(),
        "MINE\n"
    );
    assert_eq!(
        fx.git(&["status", "--porcelain", "--untracked-files=no"])
            .trim(),
        "M README.md"
    );
}

/// No watch where one cannot vouch: a tree with a submodule (its stat data vouches for
/// nothing, so every look hands it to status).
#[test]
fn no_watch_for_a_tree_with_a_submodule() {
    let repo = repo_on_main();
    let home = repo.home.path();
    let sub = repo.path().join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    git(&sub, home, &["init", "-q"]);
    std::fs::write(sub.join("s.txt"), "s\n").unwrap();
    git(&sub, home, &["add", "."]);
    git(&sub, home, &["commit", "-qm", "sub"]);
    git(repo.path(), home, &["add", "sub"]);
    git(repo.path(), home, &["commit", "-qm", "a submodule"]);
    let g = git2::Repository::open(repo.path()).unwrap();
    let (_, w) = first_look(&g, "main").expect("a clean tree");
    assert!(w.is_none(), "a submodule's stat data vouches for nothing");
}
