//! Task worktrees on real temporary repositories: creation on the task branch with set-up,
//! idempotence, bad names, and pruning that never loses uncommitted work.

use std::process::Command as Proc;
use std::time::Duration;

use overlord::core::worktree::{self, Setup, WorktreeError};

use crate::common::*;

fn git_in(dir: &std::path::Path, home: &std::path::Path, args: &[&str]) {
    let mut cmd = Proc::new("git");
    cmd.args(["-c", "user.name=Tester", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir);
    sandbox(&mut cmd, home);
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn committed_repo() -> (Repo, git2::Repository) {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    repo.write(".gitignore", ".env\n");
    repo.write(".env", "TOKEN=local\n");
    git_in(repo.path(), repo.home.path(), &["add", "."]);
    git_in(repo.path(), repo.home.path(), &["commit", "-qm", "one"]);
    repo.workspace().init().unwrap();
    let git = git2::Repository::open(repo.path()).unwrap();
    (repo, git)
}

#[test]
fn creates_a_worktree_on_the_task_branch_with_set_up() {
    let (repo, git) = committed_repo();
    let setup = Setup {
        copy: vec![".env".into(), "missing.txt".into()],
        command: Some("echo \"$OVERLORD_TASK\" > .setup-ran".into()),
        timeout: Some(Duration::from_secs(30)),
    };
    let head_before = git.head().unwrap().shorthand().unwrap().to_string();
    let wt = worktree::create(&git, repo.path(), "s1", "t1", "HEAD", &setup).unwrap();
    assert!(wt.created);
    assert_eq!(wt.branch, "session/s1/task/t1");
    assert_eq!(wt.path, repo.path().join(".overlord/worktrees/t1"));
    assert_eq!(
        std::fs::read_to_string(wt.path.join("README.md")).unwrap(),
        "hello\n"
    );
    assert_eq!(
        std::fs::read_to_string(wt.path.join(".env")).unwrap(),
        "TOKEN=local\n"
    );
    assert_eq!(
        std::fs::read_to_string(wt.path.join(".setup-ran")).unwrap(),
        "t1\n"
    );
    let head = git.head().unwrap().target().unwrap();
    let branch = git
        .find_branch("session/s1/task/t1", git2::BranchType::Local)
        .unwrap();
    assert_eq!(branch.get().target(), Some(head));
    // The user's working tree is untouched and does not see the worktree.
    assert_eq!(git.head().unwrap().shorthand(), Some(head_before.as_str()));
    assert!(worktree::uncommitted(repo.path()).unwrap().is_empty());

    let again = worktree::create(&git, repo.path(), "s1", "t1", "HEAD", &setup).unwrap();
    assert!(!again.created);
    assert_eq!(again.path, wt.path);
}

#[test]
fn bad_names_and_states_are_refused_and_change_nothing() {
    let (repo, git) = committed_repo();
    for bad in [
        "..", "a..b", "a b", "-x", ".hidden", "x.lock", "t\x1b[2J", "a/b", "",
    ] {
        let e =
            worktree::create(&git, repo.path(), "s1", bad, "HEAD", &Setup::default()).unwrap_err();
        assert!(matches!(e, WorktreeError::BadName(_)), "{bad:?}: {e}");
        let e =
            worktree::create(&git, repo.path(), bad, "t1", "HEAD", &Setup::default()).unwrap_err();
        assert!(matches!(e, WorktreeError::BadName(_)), "{bad:?}: {e}");
    }
    let e = worktree::create(
        &git,
        repo.path(),
        "s1",
        "t1",
        "no-such-rev",
        &Setup::default(),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "unknown base revision 'no-such-rev'");
    assert!(
        !repo.path().join(".overlord/worktrees").exists()
            || std::fs::read_dir(repo.path().join(".overlord/worktrees"))
                .unwrap()
                .next()
                .is_none()
    );
    assert!(git
        .find_branch("session/s1/task/t1", git2::BranchType::Local)
        .is_err());

    std::fs::create_dir_all(repo.path().join(".overlord/worktrees/t2")).unwrap();
    std::fs::write(repo.path().join(".overlord/worktrees/t2/notes"), "mine").unwrap();
    let e = worktree::create(&git, repo.path(), "s1", "t2", "HEAD", &Setup::default()).unwrap_err();
    assert!(matches!(e, WorktreeError::PathTaken { .. }), "{e}");
    assert_eq!(
        std::fs::read_to_string(repo.path().join(".overlord/worktrees/t2/notes")).unwrap(),
        "mine"
    );

    let empty = Repo::new();
    let git_empty = git2::Repository::open(empty.path()).unwrap();
    let e = worktree::create(
        &git_empty,
        empty.path(),
        "s1",
        "t1",
        "HEAD",
        &Setup::default(),
    )
    .unwrap_err();
    assert!(matches!(e, WorktreeError::NoCommits), "{e}");
}

#[test]
fn a_failing_or_hanging_set_up_leaves_no_half_prepared_worktree() {
    let (repo, git) = committed_repo();
    let failing = Setup {
        command: Some("echo 'npm ERR! missing package.json' >&2; exit 3".into()),
        ..Setup::default()
    };
    let e = worktree::create(&git, repo.path(), "s1", "t1", "HEAD", &failing).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("failed (exit 3)") && msg.contains("npm ERR! missing package.json"),
        "{msg}"
    );
    assert!(!repo.path().join(".overlord/worktrees/t1").exists());

    let hanging = Setup {
        command: Some("sleep 30".into()),
        timeout: Some(Duration::from_millis(300)),
        ..Setup::default()
    };
    let e = worktree::create(&git, repo.path(), "s1", "t2", "HEAD", &hanging).unwrap_err();
    assert!(e.to_string().contains("timed out"), "{e}");
    assert!(!repo.path().join(".overlord/worktrees/t2").exists());

    let escaping = Setup {
        copy: vec!["../outside".into()],
        ..Setup::default()
    };
    let e = worktree::create(&git, repo.path(), "s1", "t3", "HEAD", &escaping).unwrap_err();
    assert!(
        e.to_string()
            .contains("must be a path inside the repository"),
        "{e}"
    );
    // After all that, a good set-up still works.
    worktree::create(&git, repo.path(), "s1", "t1", "HEAD", &Setup::default()).unwrap();
}

#[test]
fn pruning_never_loses_uncommitted_work() {
    let (repo, git) = committed_repo();
    let wt = worktree::create(&git, repo.path(), "s1", "t1", "HEAD", &Setup::default()).unwrap();
    std::fs::write(wt.path.join("README.md"), "changed\n").unwrap();
    std::fs::write(wt.path.join("new.rs"), "fn main() {}\n").unwrap();
    let e = worktree::prune(&git, repo.path(), "s1", "t1").unwrap_err();
    match &e {
        WorktreeError::Uncommitted { task, files } => {
            assert_eq!(task, "t1");
            assert_eq!(files, &vec!["README.md".to_string(), "new.rs".to_string()]);
        }
        other => panic!("expected uncommitted work, got {other}"),
    }
    assert!(e.to_string().contains("nothing was removed"));
    assert_eq!(
        std::fs::read_to_string(wt.path.join("new.rs")).unwrap(),
        "fn main() {}\n"
    );

    // Once the work is committed on the task branch, pruning removes the worktree only.
    git_in(&wt.path, repo.home.path(), &["add", "."]);
    git_in(&wt.path, repo.home.path(), &["commit", "-qm", "task work"]);
    worktree::prune(&git, repo.path(), "s1", "t1").unwrap();
    assert!(!wt.path.exists());
    let branch = git
        .find_branch("session/s1/task/t1", git2::BranchType::Local)
        .unwrap();
    let tip = branch.get().peel_to_commit().unwrap();
    assert_eq!(tip.message(), Some("task work\n"));
    let e = worktree::prune(&git, repo.path(), "s1", "t1").unwrap_err();
    assert!(matches!(e, WorktreeError::NoWorktree(_)), "{e}");
    // And the task can start again from its branch, with its commits.
    let again = worktree::create(&git, repo.path(), "s1", "t1", "HEAD", &Setup::default()).unwrap();
    assert_eq!(
        std::fs::read_to_string(again.path.join("new.rs")).unwrap(),
        "fn main() {}\n"
    );
}

#[test]
fn a_chatty_set_up_does_not_block_on_its_own_output() {
    let (repo, git) = committed_repo();
    // 1 MiB of stderr is far more than a pipe holds; with no timeout a blocked pipe would hang.
    let chatty = Setup {
        command: Some("head -c 1048576 /dev/zero | tr '\\0' 'x' >&2; echo done >&2".into()),
        ..Setup::default()
    };
    worktree::create(&git, repo.path(), "s1", "t1", "HEAD", &chatty).unwrap();
    let failing = Setup {
        command: Some(
            "head -c 1048576 /dev/zero | tr '\\0' 'y' >&2; echo; echo 'last words' >&2; exit 2"
                .into(),
        ),
        ..Setup::default()
    };
    let e = worktree::create(&git, repo.path(), "s1", "t2", "HEAD", &failing)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("last words") && e.contains("exit 2"),
        "{}",
        &e[..e.len().min(300)]
    );
}

#[test]
fn the_cli_run_inside_a_task_worktree_speaks_to_the_repositorys_overlord() {
    // Agents run `overlord-tui concern raise …` from their worktree: it must reach the
    // store of the main work tree, not complain that Overlord is not set up.
    let (repo, git) = committed_repo();
    let wt = worktree::create(&git, repo.path(), "s1", "t1", "HEAD", &Setup::default()).unwrap();
    let mut cmd = bin();
    cmd.args([
        "concern",
        "raise",
        "--severity",
        "warning",
        "--category",
        "spec",
        "raised from a worktree",
    ])
    .current_dir(&wt.path);
    sandbox(&mut cmd, repo.home.path());
    cmd.env("OVERLORD_AGENT", "implementer-1")
        .env("OVERLORD_ROLE", "implementer");
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = repo.run(&["status", "--json"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("raised from a worktree"), "{text}");
    assert!(text.contains("implementer-1"), "{text}");
}
