//! Save, rollback and `audit verify --git` on real temporary repositories: clean, trivial and
//! real conflicts, gates, post-merge regression, rollback and its undo, protected refs, the
//! bad inputs, and a process killed at every step.

use std::path::{Path, PathBuf};

use overlord::config::Config;
use overlord::core::Core;
use overlord::git::{self, GitError, Protection};
use overlord::protocol::model::{
    CheckpointKind, ConcernStatus, OperationOutcome, QaDecision, SessionStatus, Severity,
};
use overlord::protocol::{Command, RejectCode, ReplyData};
use serde_json::Value;

use crate::common::*;

mod protected_refs;
mod tree_diff;
mod watch;
mod work_tree;

const BASE: &str = "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n";

/// A repository with an initial commit on `main`, Overlord set up, a plan with the given
/// tasks (all implementers, no dependencies) and a worktree per task.
struct Fx {
    repo: Repo,
    core: Core,
    config: Config,
}

impl Fx {
    fn new(tasks: &[&str]) -> Fx {
        Fx::with_config(tasks, Config::default())
    }

    fn with_config(tasks: &[&str], config: Config) -> Fx {
        let repo = Repo::new();
        let home = repo.home.path().to_path_buf();
        git(
            repo.path(),
            &home,
            &["symbolic-ref", "HEAD", "refs/heads/main"],
        );
        repo.write("README.md", "hello\n");
        repo.write("src/lib.txt", BASE);
        git(repo.path(), &home, &["add", "."]);
        git(repo.path(), &home, &["commit", "-qm", "initial"]);
        let ws = repo.workspace();
        ws.init().expect("init");
        write_config(&repo, &config);
        let mut core = Core::open(&ws, &config).expect("core");
        let plan = home.join("plan.json");
        std::fs::write(&plan, plan_json(tasks)).unwrap();
        ok(&mut core, &format!("/import {}", plan.display()));
        for t in tasks {
            core.open_task_worktree(t).expect("worktree");
        }
        Fx { repo, core, config }
    }

    fn home(&self) -> &Path {
        self.repo.home.path()
    }

    fn git(&self, args: &[&str]) -> String {
        git(self.repo.path(), self.home(), args)
    }

    fn wt(&self, task: &str) -> PathBuf {
        self.repo.path().join(".overlord/worktrees").join(task)
    }

    /// Writes a file in a task's worktree and commits it there.
    fn work(&self, task: &str, file: &str, text: &str, message: &str) {
        let wt = self.wt(task);
        let p = wt.join(file);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        git(&wt, self.home(), &["add", "-A"]);
        git(&wt, self.home(), &["commit", "-qm", message]);
    }

    fn done(&mut self, task: &str) {
        ok(&mut self.core, &format!("/task {task} done"));
    }

    fn rev(&self, what: &str) -> String {
        self.git(&["rev-parse", what]).trim().to_string()
    }

    /// Whether `commit` is reachable from main (history kept).
    fn reaches(&self, commit: &str) -> bool {
        git_output(
            self.repo.path(),
            self.home(),
            &["merge-base", "--is-ancestor", commit, "main"],
        )
        .status
        .success()
    }

    fn main(&self) -> String {
        self.rev("refs/heads/main")
    }

    fn branch(&self, task: &str) -> String {
        let s = self.core.state().git.clone().expect("session");
        s.task_branch(task)
    }

    fn save(&mut self) -> overlord::protocol::Reply {
        self.core.execute(human(), Command::Save)
    }

    fn reopen(&mut self) {
        self.core = Core::open(&self.repo.workspace(), &self.config).expect("reopen");
    }

    fn cli(&self, args: &[&str]) -> std::process::Output {
        self.repo.run(args)
    }
}

/// The fixture's gate: the configured test command's exit status (`format = "exit"`), run
/// once; a failed gate is a `fail` (no human review), and gates with nothing to measure in
/// this plain repository are ignored.
const POLICY: &str = "auto_merge_if:\n  all_tests_passed: true\nrequire_human_if:\n  gate_fail: false\ngates:\n  reproducibility_runs: 1\n  not_measured: ignore\n";

fn write_config(repo: &Repo, config: &Config) {
    let text = format!(
        "[qa]\nverify_command = {:?}\n\n[qa.tests]\ncommand = {:?}\nformat = \"exit\"\n",
        config.qa.verify_command, config.qa.tests.command
    );
    std::fs::write(repo.path().join(".overlord/config.toml"), text).unwrap();
    std::fs::write(repo.path().join(".overlord/QA_POLICY.yaml"), POLICY).unwrap();
}

fn plan_json(tasks: &[&str]) -> String {
    let tasks: Vec<String> = tasks
        .iter()
        .map(|t| {
            format!(r#"{{ "id": "{t}", "title": "Task {t}", "agent_role": "implementer", "dependencies": [] }}"#)
        })
        .collect();
    format!(
        r#"{{ "todo_list_id": "save-test", "title": "Save test", "phases": [ {{ "id": "p1", "name": "One", "tasks": [ {} ] }} ] }}"#,
        tasks.join(", ")
    )
}

fn with_gates(test: &str, verify: &str) -> Config {
    let mut c = Config::default();
    c.qa.tests.command = test.into();
    c.qa.tests.format = "exit".into();
    c.qa.verify_command = verify.into();
    c
}

fn outcome(r: &overlord::protocol::Reply) -> Option<OperationOutcome> {
    match &r.data {
        ReplyData::Operation(op) => op.outcome,
        _ => None,
    }
}

#[test]
fn save_integrates_finished_branches_into_a_tagged_checkpoint() {
    let mut fx = Fx::new(&["t1", "t2", "t3"]);
    fx.work("t1", "a.txt", "alpha\n", "feat(t1): add a");
    fx.work("t2", "b.txt", "beta\n", "feat(t2): add b");
    // Output an agent left uncommitted is flushed into a commit with trailers.
    std::fs::write(fx.wt("t2").join("c.txt"), "left over\n").unwrap();
    fx.work("t3", "unfinished.txt", "wip\n", "wip");
    fx.done("t1");
    fx.done("t2");
    let before = fx.main();
    let t3_tip = fx.rev(&fx.branch("t3"));

    let r = fx.save();
    assert!(r.ok, "{}", r.message);
    assert_eq!(outcome(&r), Some(OperationOutcome::Checkpointed));
    let state = fx.core.state().clone();
    let cp = state.checkpoints.last().expect("checkpoint").clone();
    assert_eq!(cp.kind, CheckpointKind::Save);
    assert_eq!(cp.tasks, vec!["t1".to_string(), "t2".to_string()]);
    assert_eq!(cp.previous.as_deref(), Some(before.as_str()));
    assert_eq!(cp.commit, fx.main());
    assert!(r.message.contains(&cp.name), "{}", r.message);
    assert!(cp.name.starts_with("checkpoint/") && cp.name.ends_with("-001"));
    assert_eq!(state.session, SessionStatus::Active);
    assert!(state.operation.is_none());
    assert_eq!(state.main_head.as_deref(), Some(cp.commit.as_str()));

    // `git log main` shows the merges with their trailers and the commits they bring in.
    let session = state.git.clone().unwrap();
    let log = fx.git(&["log", "main", "--format=%B%n----"]);
    for needle in [
        "Merge task t1",
        "Merge task t2",
        "feat(t1): add a",
        "Signed-off-by: Implementer-Agent <implementer@overlord.local>",
        "Audit-ID: ",
        &format!("Overlord-Session: {}", session.id),
        &format!("Overlord-Version: {}", env!("CARGO_PKG_VERSION")),
        "output left uncommitted when Save 1 began",
    ] {
        assert!(log.contains(needle), "{needle} not in\n{log}");
    }
    // git reads the trailers as trailers.
    let trailers = fx.git(&[
        "log",
        "-1",
        "main",
        "--format=%(trailers:key=Overlord-Session,valueonly)",
    ]);
    assert_eq!(trailers.trim(), session.id);
    assert_eq!(fx.git(&["tag", "-l", "checkpoint/*"]).trim(), cp.name);
    let tag_message = fx.git(&["tag", "-l", "--format=%(contents)", &cp.name]);
    assert!(tag_message.contains("QA QA-1"), "{tag_message}");
    let note = fx.git(&["notes", "--ref=overlord", "show", &cp.name]);
    assert!(
        note.contains(&cp.name) && note.contains("Audit-IDs:"),
        "{note}"
    );
    for id in &cp.audit_ids {
        assert!(note.contains(&id.to_string()));
    }
    let commit_note = fx.git(&["notes", "--ref=overlord", "show", "main"]);
    assert_eq!(commit_note, note);

    // The unfinished task stays out, untouched; the user's work tree followed main.
    assert!(!fx.repo.path().join("unfinished.txt").exists());
    assert_eq!(fx.rev(&fx.branch("t3")), t3_tip);
    assert_eq!(
        std::fs::read_to_string(fx.repo.path().join("a.txt")).unwrap(),
        "alpha\n"
    );
    assert!(fx.repo.path().join("c.txt").exists());
    assert_eq!(fx.git(&["status", "--porcelain"]).trim(), "");
    // The merged tasks' worktrees are pruned (their branches stay); t3's is kept.
    assert!(!fx.wt("t1").exists() && !fx.wt("t2").exists() && fx.wt("t3").exists());
    assert!(!fx.rev(&fx.branch("t1")).is_empty());

    // Every step is an event; git actions are mirrored to audit/git_actions.jsonl.
    let mirror =
        std::fs::read_to_string(fx.repo.path().join(".overlord/audit/git_actions.jsonl")).unwrap();
    for action in [
        "\"merge\"",
        "\"fast_forward\"",
        "\"tag\"",
        "\"note\"",
        "\"commit\"",
        "checkpoint_created",
    ] {
        assert!(mirror.contains(action), "{action} not mirrored");
    }
    let o = fx.cli(&["audit", "verify", "--git"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("git agrees"));

    // A second Save with nothing new finished is a no-op.
    let r = fx.save();
    assert!(r.ok);
    assert_eq!(outcome(&r), Some(OperationOutcome::NothingToSave));
    assert_eq!(fx.core.state().checkpoints.len(), 1);
}

#[test]
fn trivial_conflicts_are_resolved_by_policy() {
    let mut fx = Fx::new(&["t1", "t2"]);
    // The same change on both sides, and changes that differ only in white space.
    let t1 = BASE.replace("three\n", "three = 3\n");
    let t2 = BASE.replace("three\n", "three  =  3\n");
    fx.work("t1", "src/lib.txt", &t1, "t1: three");
    fx.work("t1", "same.txt", "identical\n", "t1: same");
    fx.work("t2", "src/lib.txt", &t2, "t2: three");
    fx.work("t2", "same.txt", "identical\n", "t2: same");
    fx.done("t1");
    fx.done("t2");
    let r = fx.save();
    assert!(r.ok, "{}", r.message);
    assert_eq!(fx.core.state().checkpoints[0].tasks, ["t1", "t2"]);
    // The merge, then the project documents on top.
    let msg = fx.git(&["log", "-1", "main^", "--format=%B"]);
    assert!(msg.contains("Resolved by policy"), "{msg}");
    assert!(msg.contains("src/lib.txt (whitespace)"), "{msg}");
    assert!(msg.contains("same.txt (identical)"), "{msg}");
    // (Only the notice that the phase may now be promoted.)
    assert!(fx
        .core
        .state()
        .open_concerns()
        .all(|c| c.category == overlord::core::ops::PROMOTION_CANDIDATE));
}

#[test]
fn a_real_conflict_is_left_out_with_a_concern_and_the_others_integrate() {
    let mut fx = Fx::new(&["t1", "t2", "t3"]);
    fx.work(
        "t1",
        "src/lib.txt",
        &BASE.replace("five\n", "five by t1\n"),
        "t1: five",
    );
    fx.work(
        "t2",
        "src/lib.txt",
        &BASE.replace("five\n", "FIVE by t2\n"),
        "t2: five",
    );
    fx.work("t3", "t3.txt", "three\n", "t3: file");
    for t in ["t1", "t2", "t3"] {
        fx.done(t);
    }
    let t2_tip = fx.rev(&fx.branch("t2"));
    let r = fx.save();
    assert!(r.ok, "{}", r.message);
    assert!(
        r.message.contains("left out with conflicts: t2"),
        "{}",
        r.message
    );
    let cp = fx.core.state().checkpoints[0].clone();
    assert_eq!(cp.tasks, ["t1", "t3"]);
    let lib = fx.git(&["show", "main:src/lib.txt"]);
    assert!(lib.contains("five by t1") && !lib.contains("FIVE by t2"));
    assert!(fx.git(&["show", "main:t3.txt"]).contains("three"));
    // t2's branch is untouched and not in main.
    assert_eq!(fx.rev(&fx.branch("t2")), t2_tip);
    assert!(!fx.reaches(&t2_tip));
    let concern = fx
        .core
        .state()
        .open_concerns()
        .find(|c| c.category == "merge_conflict")
        .expect("conflict concern")
        .clone();
    assert_eq!(concern.task.as_deref(), Some("t2"));
    assert!(
        concern.summary.contains("src/lib.txt"),
        "{}",
        concern.summary
    );
    let details = concern.details.unwrap();
    assert!(details.contains("src/lib.txt (content)"), "{details}");
    assert!(
        details.contains("<<<<<<<") && details.contains("FIVE by t2"),
        "{details}"
    );
    assert!(details.contains("Integrated before it: t1"), "{details}");

    // Every finished branch conflicting: nothing moves.
    let mut fx = Fx::new(&["t1"]);
    fx.work("t1", "README.md", "conflict to be\n", "t1: readme");
    fx.done("t1");
    // Someone changes main's README by hand (the change is reported, and conflicts).
    std::fs::write(fx.repo.path().join("README.md"), "hand edit\n").unwrap();
    fx.git(&["commit", "-qam", "hand edit"]);
    let before = fx.main();
    let r = fx.save();
    assert!(!r.ok);
    assert_eq!(outcome(&r), Some(OperationOutcome::Conflicted));
    assert_eq!(fx.main(), before);
    assert!(fx.git(&["tag", "-l"]).trim().is_empty());
}

#[test]
fn a_failing_gate_keeps_main_and_awaits_review() {
    let mut fx = Fx::with_config(&["t1"], with_gates("test -f must-exist.txt", ""));
    fx.work("t1", "a.txt", "alpha\n", "t1: a");
    fx.done("t1");
    let before = fx.main();
    let r = fx.save();
    assert!(!r.ok);
    assert_eq!(outcome(&r), Some(OperationOutcome::GateFailed));
    assert_eq!(r.error.as_ref().map(|e| e.code), Some(RejectCode::Failed));
    assert_eq!(fx.main(), before);
    assert!(fx.git(&["tag", "-l"]).trim().is_empty());
    let state = fx.core.state().clone();
    assert_eq!(state.session, SessionStatus::AwaitingReview);
    assert!(state.checkpoints.is_empty());
    let run = state.qa_runs.last().unwrap();
    assert_eq!(run.decision, QaDecision::Fail);
    assert!(fx
        .repo
        .path()
        .join(format!(".overlord/qa/{}/tests-1/output.log", run.id))
        .exists());
    assert!(fx
        .repo
        .path()
        .join(format!(".overlord/qa/{}/QA_REPORT.md", run.id))
        .exists());
    assert!(state.open_concerns().any(|c| c.category == "qa_gate"));

    // The gate runs on the integrated tree: a gate that needs t1's file passes.
    let mut fx = Fx::with_config(
        &["t1"],
        with_gates("test -f a.txt && grep -q alpha a.txt", ""),
    );
    fx.work("t1", "a.txt", "alpha\n", "t1: a");
    fx.done("t1");
    let r = fx.save();
    assert!(r.ok, "{}", r.message);
    let cp = fx.core.state().checkpoints[0].clone();
    assert!(cp.summary.contains("tests: pass"), "{}", cp.summary);
}

#[test]
fn a_post_merge_regression_rolls_back_automatically_with_a_critical_concern() {
    let mut fx = Fx::with_config(&["t1"], with_gates("true", "! test -f a.txt"));
    fx.work("t1", "a.txt", "alpha\n", "t1: a");
    fx.done("t1");
    let before = fx.main();
    let before_tree = fx.rev("main^{tree}");
    let r = fx.save();
    assert!(!r.ok);
    assert!(
        r.message.contains("rolled back automatically"),
        "{}",
        r.message
    );
    let state = fx.core.state().clone();
    assert_eq!(state.checkpoints.len(), 2);
    let (save, back) = (&state.checkpoints[0], &state.checkpoints[1]);
    assert_eq!(save.kind, CheckpointKind::Save);
    assert_eq!(back.kind, CheckpointKind::Rollback);
    assert_eq!(fx.rev("main^{tree}"), before_tree);
    assert_eq!(
        fx.rev("main^"),
        save.commit,
        "the rollback is a new commit on top"
    );
    for c in [&before, &save.commit] {
        assert!(fx.reaches(c));
    }
    let critical = state
        .open_concerns()
        .find(|c| c.severity == Severity::Critical)
        .expect("critical concern");
    assert_eq!(critical.category, "regression");
    assert_eq!(state.session, SessionStatus::AwaitingReview);
    assert!(!fx.repo.path().join("a.txt").exists());
    let o = fx.cli(&["audit", "verify", "--git"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn rollback_and_its_undo_keep_history_and_flag_task_branches() {
    let mut fx = Fx::new(&["t1", "t2"]);
    fx.work("t1", "a.txt", "alpha\n", "t1: a");
    fx.done("t1");
    assert!(fx.save().ok);
    let cp1 = fx.core.state().checkpoints[0].clone();
    fx.work("t2", "b.txt", "beta\n", "t2: b");
    fx.done("t2");
    assert!(fx.save().ok);
    let cp2 = fx.core.state().checkpoints[1].clone();
    let cp1_tree = fx.rev(&format!("{}^{{tree}}", cp1.commit));
    let cp2_tree = fx.rev(&format!("{}^{{tree}}", cp2.commit));

    // Short names work too.
    let short = cp1.name.trim_start_matches("checkpoint/").to_string();
    let r = ok(
        &mut fx.core,
        &format!("/rollback {short} the b change was wrong"),
    );
    assert_eq!(outcome(&r), Some(OperationOutcome::Checkpointed));
    let back = fx.core.state().checkpoints.last().unwrap().clone();
    assert_eq!(back.kind, CheckpointKind::Rollback);
    assert_eq!(back.restores.as_deref(), Some(cp1.name.as_str()));
    assert_eq!(fx.rev("main^{tree}"), cp1_tree);
    assert_eq!(fx.rev("main^"), cp2.commit);
    let msg = fx.git(&["log", "-1", "main", "--format=%B"]);
    assert!(
        msg.contains(&format!("Overlord-Rollback-To: {}", cp1.name)),
        "{msg}"
    );
    assert!(
        msg.contains("Overlord-Rollback-Reason: the b change was wrong"),
        "{msg}"
    );
    assert!(
        msg.contains("Signed-off-by: PM-Agent <pm@overlord.local>"),
        "{msg}"
    );
    assert!(
        !fx.repo.path().join("b.txt").exists(),
        "the work tree followed main"
    );
    // t2's branch builds on what the rollback took out; t1's does not.
    let flagged = &fx.core.state().flagged_tasks;
    assert!(
        flagged.contains_key("t2") && !flagged.contains_key("t1"),
        "{flagged:?}"
    );
    // t2's commits are still in main's history but no longer in its tree: a Save does not
    // claim it is "already on main", and the console's confirmation names it apart.
    let r = fx.save();
    assert_eq!(outcome(&r), Some(OperationOutcome::NothingToSave));
    assert!(!r.message.contains("already on main"), "{}", r.message);
    assert!(
        r.message.contains(&format!("t2 ({})", back.name))
            && r.message.contains("the other finished tasks are on main"),
        "{}",
        r.message
    );
    let mut app = overlord::tui::app::App::new(fx.core.state().clone());
    app.on_action(overlord::tui::keymap::Action::Save);
    let confirm = app.screen.confirm.clone().expect("a confirmation");
    assert_eq!(
        confirm.lines[0],
        format!(
            "t2: taken out of main by {}; integrated again only with new work on its branch",
            back.name
        )
    );
    assert!(
        !confirm.lines.iter().any(|l| l.contains("t1")),
        "{confirm:?}"
    );

    let r = ok(&mut fx.core, "/rollback undo");
    let undo = fx.core.state().checkpoints.last().unwrap().clone();
    assert_eq!(undo.undoes.as_deref(), Some(back.name.as_str()));
    assert!(r.message.contains("undoes"), "{}", r.message);
    assert_eq!(fx.rev("main^{tree}"), cp2_tree);
    assert!(fx.repo.path().join("b.txt").exists());
    // History is never rewritten: every earlier commit is still reachable from main.
    for c in [&cp1.commit, &cp2.commit, &back.commit] {
        assert!(fx.reaches(c));
    }
    assert_eq!(fx.git(&["tag", "-l", "checkpoint/*"]).lines().count(), 4);

    // A rollback onto a new branch and worktree leaves main alone.
    let main = fx.main();
    let r = ok(
        &mut fx.core,
        &format!("/rollback {} --branch restore/first", cp1.name),
    );
    assert_eq!(outcome(&r), Some(OperationOutcome::BranchCreated));
    assert_eq!(fx.main(), main);
    assert_eq!(fx.rev("refs/heads/restore/first"), cp1.commit);
    let restored = fx.repo.path().join(".overlord/restore/restore-first");
    assert!(restored.join("a.txt").exists() && !restored.join("b.txt").exists());

    // Nothing to undo when the latest entry is not a rollback; main already there.
    let o = fx.cli(&["audit", "verify", "--git"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = ok(&mut fx.core, &format!("/rollback {}", cp2.name));
    assert_eq!(outcome(&r), Some(OperationOutcome::NothingToSave));
}

#[test]
fn protected_refs_move_only_with_the_publish_authority() {
    let mut fx = Fx::new(&["t1"]);
    let repo = git2::Repository::open(fx.repo.path()).unwrap();
    let head = repo.head().unwrap().target().unwrap();
    let protection = Protection {
        main: "main".into(),
        branches: vec!["release/*".into(), "develop".into()],
    };
    for r in [
        "refs/heads/main",
        "refs/heads/develop",
        "refs/heads/release/1.0",
        "refs/tags/checkpoint/20260101-001",
        "refs/notes/overlord",
    ] {
        let e = git::update_ref(&repo, &protection, None, r, head, None, "test").unwrap_err();
        assert!(matches!(e, GitError::Protected(_)), "{r}: {e}");
        assert!(e.to_string().contains("only Save, promotion and rollback"));
    }
    assert!(repo.find_reference("refs/heads/develop").is_err());
    // Other refs move, and only from where the caller expects them.
    let create = || {
        git::update_ref(
            &repo,
            &protection,
            None,
            "refs/heads/feature",
            head,
            None,
            "t",
        )
    };
    create().unwrap();
    let e = create().unwrap_err();
    assert!(matches!(e, GitError::Moved { .. }), "{e}");

    // The rollback command refuses to create or move a protected branch.
    fx.work("t1", "a.txt", "a\n", "a");
    fx.done("t1");
    assert!(fx.save().ok);
    let cp = fx.core.state().checkpoints[0].name.clone();
    let msg = rejected(&mut fx.core, &format!("/rollback {cp} --branch main"));
    assert!(msg.contains("protected"), "{msg}");
}

#[test]
fn bad_inputs_are_clear_errors_and_change_nothing() {
    let mut fx = Fx::new(&["t1", "t2"]);
    fx.work("t1", "a.txt", "a\n", "a");
    fx.done("t1");
    let main = fx.main();
    let check_unchanged = |fx: &Fx| {
        assert_eq!(fx.main(), main);
        assert!(fx.git(&["tag", "-l"]).trim().is_empty());
        assert!(fx.core.state().operation.is_none());
        assert_eq!(fx.core.state().session, SessionStatus::Active);
    };

    // A dirty work tree on main.
    std::fs::write(fx.repo.path().join("README.md"), "edited\n").unwrap();
    let msg = rejected(&mut fx.core, "/save");
    assert!(msg.contains("uncommitted changes (README.md)"), "{msg}");
    check_unchanged(&fx);
    fx.git(&["checkout", "--", "README.md"]);

    // A locked index.
    let lock = fx.repo.path().join(".git/index.lock");
    std::fs::write(&lock, "").unwrap();
    let msg = rejected(&mut fx.core, "/save");
    assert!(msg.contains("index is locked"), "{msg}");
    std::fs::remove_file(&lock).unwrap();

    // A detached HEAD.
    fx.git(&["checkout", "-q", "--detach"]);
    let msg = rejected(&mut fx.core, "/save");
    assert!(msg.contains("HEAD is detached"), "{msg}");
    fx.git(&["checkout", "-q", "main"]);

    // A finished task whose branch was deleted.
    let branch = fx.branch("t2");
    fx.done("t2");
    fx.git(&[
        "worktree",
        "remove",
        "--force",
        fx.wt("t2").to_str().unwrap(),
    ]);
    fx.git(&["branch", "-qD", &branch]);
    let msg = rejected(&mut fx.core, "/save");
    assert!(
        msg.contains(&format!(
            "task t2 is finished but its branch {branch} is missing"
        )),
        "{msg}"
    );
    check_unchanged(&fx);
    ok(&mut fx.core, "/task t2 todo");

    // Unknown checkpoints, bad branch names.
    let msg = rejected(&mut fx.core, "/rollback checkpoint/20200101-001");
    assert!(
        msg.contains("unknown checkpoint") && msg.contains("no checkpoints yet"),
        "{msg}"
    );
    assert!(fx.save().ok);
    let cp = fx.core.state().checkpoints[0].name.clone();
    let msg = rejected(&mut fx.core, "/rollback checkpoint/20200101-009");
    assert!(msg.contains(&cp), "the known checkpoints are listed: {msg}");
    let msg = rejected(&mut fx.core, &format!("/rollback {cp} --branch a..b"));
    assert!(msg.contains("not a valid branch name"), "{msg}");
    // Names git reads ambiguously are refused too, and so is a tag's name.
    for name in [
        "refs/heads/x",
        "HEAD",
        "ORIG_HEAD",
        "tags/v1",
        "heads/y",
        "remotes/origin/main",
        "0123456789abcdef0123456789abcdef01234567",
        cp.as_str(),
    ] {
        let msg = rejected(&mut fx.core, &format!("/rollback {cp} --branch {name}"));
        assert!(
            msg.contains("not a valid branch name") || msg.contains("already names a tag"),
            "{name}: {msg}"
        );
    }
    let before = fx.core.state().clone();
    let r = fx.core.execute(
        human(),
        Command::Rollback {
            checkpoint: cp.clone(),
            branch: Some("bad\u{7}name".into()),
            reason: None,
        },
    );
    assert!(
        !r.ok && r.message.contains("not a valid branch name"),
        "{}",
        r.message
    );
    assert_eq!(&before, fx.core.state());
    assert!(overlord::protocol::parse(&format!("/rollback {cp} --branch \"x\\u{{1}}y\"")).is_err());

    // Not a repository, a bare repository (through the CLI).
    let plain = tempfile::tempdir().unwrap();
    let mut cmd = bin();
    cmd.args(["save"]).current_dir(plain.path());
    sandbox(&mut cmd, fx.home());
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("not inside a git repository"),
        "{}",
        stderr(&o)
    );
    let bare = tempfile::tempdir().unwrap();
    git(bare.path(), fx.home(), &["init", "-q", "--bare"]);
    let o = fx.cli(&["--repo", bare.path().to_str().unwrap(), "save"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("bare repository"), "{}", stderr(&o));
}

#[test]
fn audit_verify_git_catches_a_hand_made_commit_and_a_deleted_tag() {
    let mut fx = Fx::new(&["t1"]);
    fx.work("t1", "a.txt", "a\n", "a");
    fx.done("t1");
    assert!(fx.save().ok);
    let cp = fx.core.state().checkpoints[0].name.clone();
    std::fs::write(fx.repo.path().join("hand.txt"), "by hand\n").unwrap();
    fx.git(&["add", "hand.txt"]);
    fx.git(&["commit", "-qm", "a commit made by hand"]);
    fx.git(&["tag", "-d", &cp]);
    let o = fx.cli(&["audit", "verify", "--git"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("hand_made_commit") && err.contains("a commit made by hand"),
        "{err}"
    );
    assert!(err.contains(&format!("deleted_tag {cp}")), "{err}");
    let o = fx.cli(&["audit", "verify", "--git", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["audit"]["ok"], true);
    let kinds: Vec<&str> = v["git"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["deleted_tag", "hand_made_commit", "main_moved"]);

    // A tag Overlord did not make is reported too.
    fx.git(&["tag", "checkpoint/19990101-001"]);
    let o = fx.cli(&["audit", "verify", "--git"]);
    assert!(stderr(&o).contains("unrecorded_tag checkpoint/19990101-001"));
}

/// A checkpoint tag deleted by hand comes back: a running owner puts back the very tag
/// object the trail recorded, raises a critical concern, and `verify --git` is clean again.
/// When git has lost the tag object too, a new annotated tag goes on the recorded commit.
#[test]
fn a_running_owner_puts_back_a_deleted_checkpoint_tag() {
    let mut fx = Fx::new(&["t1"]);
    fx.work("t1", "a.txt", "a\n", "a");
    fx.done("t1");
    assert!(fx.save().ok);
    let cp = fx.core.state().checkpoints[0].clone();
    let core = Core::open(&fx.repo.workspace(), &fx.config).unwrap();
    let (handle, join) =
        overlord::core::Handle::spawn(core, std::time::Duration::from_millis(20)).unwrap();
    fx.git(&["tag", "-d", &cp.name]);
    let state = wait_for("the tag put back and a concern", PATIENCE, || {
        let s = handle.snapshot_blocking().unwrap();
        let raised = s.open_concerns().any(|c| c.category == "protected_ref");
        raised.then_some(s)
    });
    handle.stop();
    join.join().unwrap();
    let c = state
        .open_concerns()
        .find(|c| c.category == "protected_ref")
        .unwrap();
    assert_eq!(c.severity, overlord::protocol::model::Severity::Critical);
    assert!(c.summary.contains(&cp.name), "{}", c.summary);
    let tag_ref = format!("refs/tags/{}", cp.name);
    assert_eq!(
        fx.rev(&tag_ref),
        cp.tag_object.clone().unwrap(),
        "the same tag object"
    );
    assert!(fx.cli(&["audit", "verify", "--git"]).status.success());

    // The tag object gone as well (an unreachable object pruned): a new tag on the commit.
    let mut core = Core::open(&fx.repo.workspace(), &fx.config).unwrap();
    fx.git(&["tag", "-d", &cp.name]);
    fx.git(&["gc", "-q", "--prune=now"]);
    assert_eq!(
        core.restore_checkpoint_tags().unwrap(),
        vec![cp.name.clone()]
    );
    assert_eq!(fx.rev(&format!("{tag_ref}^{{commit}}")), cp.commit);
    assert_ne!(
        fx.rev(&tag_ref),
        cp.tag_object.clone().unwrap(),
        "a new tag object"
    );
    assert!(
        core.restore_checkpoint_tags().unwrap().is_empty(),
        "nothing more to do"
    );
}

#[test]
fn worktrees_with_uncommitted_work_are_never_pruned() {
    let mut fx = Fx::new(&["t1"]);
    std::fs::write(fx.wt("t1").join("draft.txt"), "unsaved\n").unwrap();
    let e = fx.core.prune_task_worktree("t1").unwrap_err();
    assert!(e.contains("draft.txt"), "{e}");
    assert!(fx.wt("t1").join("draft.txt").exists());
    let c = fx.core.state().open_concerns().next().unwrap().clone();
    assert_eq!(c.category, "uncommitted_work");
    assert_eq!(c.task.as_deref(), Some("t1"));
    std::fs::remove_file(fx.wt("t1").join("draft.txt")).unwrap();
    fx.core.prune_task_worktree("t1").unwrap();
    assert!(!fx.wt("t1").exists());
    assert!(!fx.branch("t1").is_empty());
}

/// Kills `overlord-tui save` (or rollback) at `point`, then checks main did not move (or
/// moved completely), and that the next run finishes or cleans up.
fn crash_at(point: &str) {
    let mut fx = Fx::new(&["t1", "t2"]);
    fx.work("t1", "a.txt", "a\n", "a");
    fx.work("t2", "b.txt", "b\n", "b");
    std::fs::write(fx.wt("t2").join("left.txt"), "uncommitted\n").unwrap();
    fx.done("t1");
    let rollback = point.starts_with("rollback.");
    let args: Vec<String> = if rollback {
        // Two checkpoints, then roll back to the first.
        let r = fx.save();
        assert!(r.ok, "{point}: first save: {}", r.message);
        fx.done("t2");
        let r = fx.save();
        assert!(r.ok, "{point}: second save: {}", r.message);
        let cp = fx.core.state().checkpoints[0].name.clone();
        vec![
            "rollback".into(),
            cp,
            "--reason".into(),
            "crash test".into(),
        ]
    } else {
        fx.done("t2");
        vec!["save".into()]
    };
    let before = fx.main();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let tags_before = fx.git(&["tag", "-l"]).lines().count();

    let o = fx.repo.run_env(&args, &[("OVERLORD_FAILPOINT", point)]);
    assert_eq!(o.status.code(), Some(86), "{point}: {}", stderr(&o));
    let published = point.ends_with(".published");
    if published {
        assert_ne!(fx.main(), before, "{point}: refs moved together");
    } else {
        assert_eq!(fx.main(), before, "{point}: main must not move");
        assert_eq!(
            fx.git(&["tag", "-l"]).lines().count(),
            tags_before,
            "{point}"
        );
    }

    // The next run recovers first, then does its own work.
    let o = fx.repo.run(&args);
    assert!(o.status.success(), "{point}: {}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("interrupted"), "{point}: {out}");
    fx.reopen();
    let state = fx.core.state().clone();
    assert!(state.operation.is_none(), "{point}");
    assert_eq!(state.session, SessionStatus::Active, "{point}");
    let expected = if rollback { 3 } else { 1 };
    assert_eq!(
        state.checkpoints.len(),
        expected,
        "{point}: {:?}",
        state.checkpoints
    );
    assert_eq!(
        fx.git(&["tag", "-l", "checkpoint/*"]).lines().count(),
        expected,
        "{point}"
    );
    if !rollback {
        assert!(
            fx.repo.path().join("left.txt").exists(),
            "{point}: flushed output kept"
        );
        assert_eq!(state.checkpoints[0].tasks, ["t1", "t2"], "{point}");
    }
    let o = fx.cli(&["audit", "verify", "--git"]);
    assert!(o.status.success(), "{point}: {}{}", stdout(&o), stderr(&o));
}

#[test]
fn a_save_killed_at_any_step_leaves_main_alone_and_is_finished_or_cleaned_up() {
    for point in [
        "save.frozen",
        "save.flushed",
        "save.merged",
        "save.integrated",
        "save.gated",
        "save.publishing",
        "save.published",
    ] {
        crash_at(point);
    }
}

#[test]
fn a_rollback_killed_at_any_step_is_finished_or_cleaned_up() {
    for point in [
        "rollback.frozen",
        "rollback.publishing",
        "rollback.published",
    ] {
        crash_at(point);
    }
}

#[test]
fn start_up_recovers_an_interrupted_save() {
    let mut fx = Fx::new(&["t1"]);
    fx.work("t1", "a.txt", "a\n", "a");
    fx.done("t1");
    let o = fx
        .repo
        .run_env(&["save"], &[("OVERLORD_FAILPOINT", "save.published")]);
    assert_eq!(o.status.code(), Some(86));
    fx.reopen();
    assert!(fx.core.state().operation.is_some());
    let done = fx.core.recover_operation().unwrap().expect("recovered");
    assert!(done.contains("finished"), "{done}");
    let state = fx.core.state();
    assert!(state.operation.is_none());
    assert_eq!(state.checkpoints.len(), 1);
    assert_eq!(state.main_head.as_deref(), Some(fx.main().as_str()));
    // The same through the CLI, as a second Save sees nothing left to do.
    let o = fx.cli(&["save"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("nothing to save"), "{}", stdout(&o));
    let _ = ConcernStatus::Open;
}

#[test]
fn save_through_a_running_owner_reports_progress_and_the_outcome() {
    let mut fx = Fx::new(&["t1"]);
    fx.work("t1", "a.txt", "a\n", "a");
    fx.done("t1");
    let mut serve = bin();
    serve.arg("serve").current_dir(fx.repo.path());
    sandbox(&mut serve, fx.home());
    let mut child = serve.stderr(std::process::Stdio::null()).spawn().unwrap();
    let sock = fx.repo.path().join(".overlord/overlord.sock");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while overlord::core::ipc::Client::connect(&sock).is_none() {
        assert!(std::time::Instant::now() < deadline, "serve did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let o = fx.cli(&["save", "--json"]);
    let _ = child.kill();
    let _ = child.wait();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["data"]["value"]["outcome"], "checkpointed");
    let name = v["data"]["value"]["checkpoint"]["name"].as_str().unwrap();
    assert_eq!(fx.git(&["tag", "-l", "checkpoint/*"]).trim(), name);
}

#[test]
fn a_commit_on_main_while_the_save_runs_is_never_dropped() {
    // The gate itself sneaks a commit onto main in the user's repository.
    let gate =
        "git -c user.name=S -c user.email=s@example.com -C ../.. commit -q --allow-empty -m sneaky";
    let mut fx = Fx::with_config(&["t1"], with_gates(gate, ""));
    fx.work("t1", "a.txt", "a\n", "a");
    fx.done("t1");
    let r = fx.save();
    assert!(!r.ok, "{}", r.message);
    assert_eq!(outcome(&r), Some(OperationOutcome::Aborted));
    assert!(r.message.contains("moved"), "{}", r.message);
    assert_eq!(
        fx.git(&["log", "-1", "--format=%s", "main"]).trim(),
        "sneaky"
    );
    assert!(fx.git(&["tag", "-l"]).trim().is_empty());
    assert!(fx
        .git(&["notes", "--ref=overlord", "list"])
        .trim()
        .is_empty());
    assert!(fx.core.state().operation.is_none());
    // The next Save builds on it (and reports the outside commit once main is known).
    fx.config.qa.tests.command = String::new();
    write_config(&fx.repo, &fx.config);
    fx.reopen();
    let r = fx.save();
    assert!(r.ok, "{}", r.message);
    assert!(fx.reaches(&fx.rev("main~1")));
    assert_eq!(
        fx.git(&["log", "--format=%s", "main"])
            .lines()
            .filter(|l| *l == "sneaky")
            .count(),
        1
    );
}

#[test]
fn the_operation_lock_is_taken_once_a_brief_holder_lets_go() {
    use overlord::core::ops::OperationLock;
    use std::time::Duration;
    let fx = Fx::new(&["t1"]);
    let ws = fx.repo.workspace();
    // A holder that lets go quickly (as a child between fork and exec does): taken.
    let held = OperationLock::try_acquire(&ws).unwrap().expect("free");
    let (waiting, waited) = std::sync::mpsc::channel::<()>();
    let release = std::thread::spawn(move || {
        waited.recv().unwrap();
        // Brief, but so that it lets go while the acquire below is already waiting (the path
        // under test), not before.
        std::thread::sleep(Duration::from_millis(150));
        drop(held);
    });
    assert!(OperationLock::try_acquire(&ws).unwrap().is_none(), "held");
    waiting.send(()).unwrap();
    let lock = OperationLock::acquire(&ws, Duration::from_secs(5)).unwrap();
    assert!(lock.is_some(), "taken after the brief holder let go");
    release.join().unwrap();
    // A holder that stays: refused once the grace is over.
    let started = std::time::Instant::now();
    assert!(OperationLock::acquire(&ws, Duration::from_millis(200))
        .unwrap()
        .is_none());
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[test]
fn a_branch_that_merged_its_dependencies_integrates_after_them_without_a_false_conflict() {
    // The tester's branch merges both implementers' branches, then fixes the second one's
    // work. Save merges the implementers, then the tester: their histories cross (two merge
    // bases), and against either base alone the fix would look like a change on both sides.
    let mut fx = Fx::new(&["a", "b", "c"]);
    fx.work("a", "a.txt", "by a\n", "a: its file");
    fx.work(
        "b",
        "src/lib.txt",
        &BASE.replace("five\n", "five by b\n"),
        "b: five",
    );
    let c = fx.wt("c");
    for t in ["a", "b"] {
        let branch = fx.branch(t);
        git(&c, fx.home(), &["merge", "-q", "--no-edit", &branch]);
    }
    fx.work(
        "c",
        "src/lib.txt",
        &BASE.replace("five\n", "five fixed by c\n"),
        "c: fix five",
    );
    for t in ["a", "b", "c"] {
        fx.done(t);
    }
    let r = fx.save();
    assert!(r.ok, "{}", r.message);
    assert_eq!(outcome(&r), Some(OperationOutcome::Checkpointed));
    let cp = fx.core.state().checkpoints[0].clone();
    assert_eq!(cp.tasks, ["a", "b", "c"], "{}", r.message);
    assert!(
        !fx.core
            .state()
            .open_concerns()
            .any(|c| c.category == "merge_conflict"),
        "{}",
        r.message
    );
    let lib = fx.git(&["show", "main:src/lib.txt"]);
    assert!(
        lib.contains("five fixed by c\n") && !lib.contains("five by b"),
        "{lib}"
    );
    assert!(fx.git(&["show", "main:a.txt"]).contains("by a"));
}

#[test]
fn the_daily_digest_is_committed_on_the_integration_branch_and_reaches_main_with_the_next_save() {
    let mut fx = Fx::with_config(&["t1", "t2"], with_gates("true", ""));
    fx.work("t1", "a.txt", "alpha\n", "feat(t1): add a");
    fx.done("t1");
    let r = fx.save();
    assert_eq!(
        outcome(&r),
        Some(OperationOutcome::Checkpointed),
        "{}",
        r.message
    );
    let cp = fx.core.state().checkpoints[0].name.clone();
    let session = fx.core.state().git.clone().unwrap();
    let integ = format!("refs/heads/{}", session.integration_branch());

    let o = fx.cli(&["digest", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let date = v["date"].as_str().unwrap().to_string();
    let commit = v["commit"].as_str().expect("committed").to_string();
    assert_eq!(v["file"], format!(".overlord/reports/DAILY_{date}.md"));
    let summary = v["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(&format!(
            "Daily digest {date}: 1 branch merged, 1 checkpoint (1 saved, 0 rolled back), QA 1 run (1 passed)"
        )),
        "{summary}"
    );
    // On the integration branch, on top of main, with the reports and the documents.
    assert_eq!(fx.rev(&integ), commit);
    assert_eq!(fx.rev(&format!("{commit}^")), fx.main());
    let files = fx.git(&["ls-tree", "-r", "--name-only", &commit]);
    for f in [
        format!("reports/DAILY_{date}.md"),
        format!("reports/audit/AUDIT_{date}.jsonl"),
        "docs/PROJECT_OVERVIEW.md".to_string(),
        "a.txt".to_string(),
    ] {
        assert!(files.lines().any(|l| l == f), "{f} not in\n{files}");
    }
    let report = fx.git(&["show", &format!("{commit}:reports/DAILY_{date}.md")]);
    let on_disk = std::fs::read_to_string(
        fx.repo
            .path()
            .join(format!(".overlord/reports/DAILY_{date}.md")),
    )
    .unwrap();
    assert_eq!(report, on_disk);
    assert!(report.contains(&format!("| {cp} | save |")), "{report}");
    assert!(
        report.contains("## QA trend") && report.contains("| QA-1 |"),
        "{report}"
    );
    let message = fx.git(&["log", "-1", "--format=%B", &commit]);
    assert!(
        message.starts_with(&format!("reports: daily digest {date}")),
        "{message}"
    );
    assert!(message.contains(&format!("Overlord-Session: {}", session.id)));
    // The day's audit records, in `audit export`'s format, from the first record.
    let audit = fx.git(&[
        "show",
        &format!("{commit}:reports/audit/AUDIT_{date}.jsonl"),
    ]);
    let lines: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len() as u64, v["records"].as_u64().unwrap());
    assert_eq!(lines[0]["seq"], 1);
    // Recorded: the commit and the digest, and git still agrees with the audit trail.
    let export = stdout(&fx.cli(&["audit", "export"]));
    assert!(export.contains("\"daily_report_written\""), "{export}");
    assert!(export.contains("\"trigger\":\"report\""), "{export}");
    let o = fx.cli(&["audit", "verify", "--git"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));

    // The next Save rebuilds the integration branch from main and carries the reports in.
    fx.core.refresh().unwrap();
    fx.work("t2", "b.txt", "beta\n", "feat(t2): add b");
    fx.done("t2");
    let r = fx.save();
    assert_eq!(
        outcome(&r),
        Some(OperationOutcome::Checkpointed),
        "{}",
        r.message
    );
    let on_main = fx.git(&["ls-tree", "-r", "--name-only", "main"]);
    assert!(
        on_main
            .lines()
            .any(|l| l == format!("reports/DAILY_{date}.md")),
        "{on_main}"
    );
    assert_eq!(
        fx.git(&["show", &format!("main:reports/DAILY_{date}.md")]),
        on_disk
    );

    // A second digest the same day rewrites the day's files with everything so far.
    let o = fx.cli(&["digest", "--json"]);
    let v2: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v2["records"].as_u64() > v["records"].as_u64(), "{v2}");
    assert!(v2["summary"]
        .as_str()
        .unwrap()
        .contains("2 checkpoints (2 saved, 0 rolled back)"));
}

#[test]
fn a_digest_without_a_git_session_stays_on_disk_and_bad_times_are_refused() {
    let repo = Repo::new();
    repo.workspace().init().expect("init");
    let o = repo.run(&["digest"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("not committed: no git session yet"), "{out}");
    let date = out
        .split("Daily digest ")
        .nth(1)
        .and_then(|s| s.get(..10))
        .unwrap()
        .to_string();
    let text = std::fs::read_to_string(
        repo.path()
            .join(format!(".overlord/reports/DAILY_{date}.md")),
    )
    .unwrap();
    assert!(text.contains("No QA run: no data."), "{text}");
    assert!(text.contains("No checkpoint."), "{text}");
    let o = repo.run(&["digest", "--now", "yesterday"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not an RFC 3339 time"),
        "{}",
        stderr(&o)
    );
}

/// A checkpoint's note carries the audit head (`Audit-Head: <seq> <hash>`, after the older
/// lines): with the store emptied and `.overlord/audit-head` deleted too, the note still
/// refuses every write.
#[test]
fn a_checkpoint_note_anchors_the_audit_trail() {
    let mut fx = Fx::new(&["t1"]);
    fx.work("t1", "a.txt", "alpha\n", "feat(t1): add a");
    fx.done("t1");
    let r = fx.save();
    assert!(r.ok, "{}", r.message);
    let cp = fx.core.state().checkpoints.last().unwrap().clone();
    let note = fx.git(&["notes", "--ref=overlord", "show", &cp.name]);
    assert!(
        note.starts_with(&format!("Overlord {}\n", cp.name)),
        "{note}"
    );
    let line = note
        .lines()
        .find(|l| l.starts_with("Audit-Head: "))
        .unwrap_or_else(|| panic!("no audit head in\n{note}"));
    let mut parts = line.split(' ').skip(1);
    let seq: i64 = parts.next().unwrap().parse().unwrap();
    let hash = parts.next().unwrap().to_string();
    let Fx { repo, core, .. } = fx;
    drop(core);
    let db = rusqlite::Connection::open(repo.db()).unwrap();
    let stored: Vec<u8> = db
        .query_row("SELECT hash FROM records WHERE seq = ?1", [seq], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(hex::encode(stored), hash);
    drop(db);

    std::fs::OpenOptions::new()
        .write(true)
        .open(repo.db())
        .unwrap()
        .set_len(0)
        .unwrap();
    std::fs::remove_file(repo.path().join(".overlord/audit-head")).unwrap();
    let o = repo.run(&[
        "cmd",
        "/raise --severity warning --category gap after the loss",
    ]);
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(
        stderr(&o).contains(&format!(
            "the audit trail has lost records 1..{seq} — run `overlord-tui audit verify`"
        )),
        "{}",
        stderr(&o)
    );
    let o = repo.run(&["audit", "verify"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!("the checkpoint note of {}", cp.name)),
        "{}",
        stderr(&o)
    );
}

/// The part of a Markdown document from the heading `title` to the next heading of its level.
fn section<'a>(text: &'a str, title: &str) -> &'a str {
    let start = text
        .find(title)
        .unwrap_or_else(|| panic!("no {title:?} in\n{text}"));
    let rest = &text[start + title.len()..];
    let end = rest.find("\n## ").map_or(rest.len(), |e| e + 1);
    &rest[..end]
}

#[test]
fn a_checkpoints_documents_name_its_own_qa_run_and_rolled_back_work_is_not_delivered() {
    let mut fx = Fx::with_config(&["t1", "t2", "t3"], with_gates("true", ""));
    fx.work("t1", "a.txt", "alpha\n", "t1: a");
    fx.done("t1");
    let r = fx.save();
    assert!(r.ok, "{}", r.message);
    let cp1 = fx.core.state().checkpoints[0].clone();
    let qa1 = fx.core.state().qa_runs.last().unwrap().clone();
    assert_eq!(cp1.qa_run, Some(qa1.id));
    // The documents of the checkpoint describe its own QA run (they were committed after the
    // gate), and its reports are in the checkpoint's tree under docs/.
    let overview = fx.git(&["show", &format!("{}:docs/PROJECT_OVERVIEW.md", cp1.name)]);
    assert!(!overview.contains("no QA run yet"), "{overview}");
    assert!(
        overview.contains(&format!("- this checkpoint's QA run: {} (", qa1.id)),
        "{overview}"
    );
    assert!(
        overview.contains("- this checkpoint integrates: t1"),
        "{overview}"
    );
    assert!(
        overview.contains("[QA_REPORT.md](QA_REPORT.md)"),
        "{overview}"
    );
    let report = fx.git(&["show", &format!("{}:docs/QA_REPORT.md", cp1.name)]);
    assert_eq!(
        report,
        std::fs::read_to_string(
            fx.repo
                .path()
                .join(format!(".overlord/qa/{}/QA_REPORT.md", qa1.id))
        )
        .unwrap()
    );
    for f in ["TEST_RESULTS.md", "TEST_RESULTS_DETAIL.md"] {
        let text = fx.git(&["show", &format!("{}:docs/{f}", cp1.name)]);
        assert!(text.contains(&qa1.id.to_string()), "{f}: {text}");
    }
    // Only docs/ differs from the tree the gate checked: the documents commit sits on it.
    assert_eq!(fx.rev(&format!("{}^^{{tree}}", cp1.name)), qa1.tree);
    let msg = fx.git(&["log", "-1", "--format=%s", &cp1.name]);
    assert!(
        msg.starts_with("docs: ") && msg.contains(&qa1.id.to_string()),
        "{msg}"
    );
    // The integration branch holds what main now holds.
    let integ = fx.core.state().git.clone().unwrap().integration_branch();
    assert_eq!(fx.rev(&integ), fx.main());

    fx.work("t2", "b.txt", "beta\n", "t2: b");
    fx.done("t2");
    assert!(fx.save().ok);
    let cp2 = fx.core.state().checkpoints[1].clone();
    let overview = fx.git(&["show", &format!("{}:docs/PROJECT_OVERVIEW.md", cp2.name)]);
    let delivered = section(&overview, "## Deliverables completed");
    assert!(
        delivered.contains("- t1: Task t1") && delivered.contains("- t2: Task t2"),
        "{overview}"
    );

    // After the rollback, t2 is not delivered: not in the working copy's documents (what the
    // supervisor writes to .overlord/docs), nor in main's tree (the documents restored with
    // cp1), nor in the documents of the next checkpoint.
    ok(&mut fx.core, &format!("/rollback {} b was wrong", cp1.name));
    let back = fx.core.state().checkpoints.last().unwrap().clone();
    let now = overlord::protocol::documents::overview(fx.core.state());
    let delivered = section(&now, "## Deliverables completed");
    assert!(delivered.contains("- t1: Task t1"), "{now}");
    assert!(!delivered.contains("- t2: Task t2\n"), "{now}");
    assert!(
        delivered.contains(&format!(
            "- t2: Task t2 — taken out of main by {}",
            back.name
        )),
        "{now}"
    );
    assert!(
        now.contains("**tasks done:** 1/3 · **taken out by a rollback:** 1"),
        "{now}"
    );
    let worked = std::fs::read_to_string(fx.repo.path().join("docs/PROJECT_OVERVIEW.md")).unwrap();
    assert!(
        !section(&worked, "## Deliverables completed").contains("t2"),
        "{worked}"
    );

    fx.work("t3", "c.txt", "gamma\n", "t3: c");
    fx.done("t3");
    assert!(fx.save().ok);
    let cp3 = fx.core.state().checkpoints.last().unwrap().clone();
    let qa3 = fx.core.state().qa_runs.last().unwrap().clone();
    let overview = fx.git(&["show", "main:docs/PROJECT_OVERVIEW.md"]);
    let delivered = section(&overview, "## Deliverables completed");
    assert!(
        delivered.contains("- t1: Task t1") && delivered.contains("- t3: Task t3"),
        "{overview}"
    );
    assert!(
        delivered.contains(&format!(
            "- t2: Task t2 — taken out of main by {}",
            back.name
        )),
        "{overview}"
    );
    assert!(
        overview.contains(&format!("this checkpoint's QA run: {}", qa3.id)),
        "{overview}"
    );
    assert_eq!(cp3.qa_run, Some(qa3.id));
    // Every task is done, none delivered is promoted: the phase is not "complete".
    assert!(overview.contains("**Current phase:** One ·"), "{overview}");
    assert!(
        overview.contains("| One | 2/3 | in progress |"),
        "{overview}"
    );
    assert!(!overview.contains("all phases complete"), "{overview}");
    let detail = fx.git(&["show", "main:docs/PROJECT_DETAIL.md"]);
    assert!(
        detail.contains(&format!(
            "| t2 | Task t2 | implementer | — | done, taken out by {} | — |",
            back.name
        )) && detail.contains("| t3 | Task t3 | implementer | — | done | — |"),
        "{detail}"
    );
    let o = fx.cli(&["audit", "verify", "--git"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn the_detail_lists_open_concerns_variations_and_recent_human_interactions() {
    use overlord::protocol::command::{ConcernDraft, VariationDraft};
    use overlord::protocol::documents::{detail, overview};
    use overlord::protocol::model::{
        ApprovalKind, Clarification, ClarificationId, Impact, Role, TaskStatus,
    };
    use overlord::protocol::Origin;
    let mut fx = Fx::new(&["t1"]);
    let r = fx.core.execute(
        human(),
        Command::RaiseConcern(ConcernDraft {
            from: Some(Role::Tester),
            to: None,
            severity: Severity::Warning,
            category: "flaky_test".into(),
            summary: "test_io is flaky".into(),
            details: None,
            task: None,
        }),
    );
    assert!(r.ok, "{}", r.message);
    for (impact, title) in [
        (Impact::High, "switch the store"),
        (Impact::Low, "rename a flag"),
    ] {
        let r = fx.core.execute(
            human(),
            Command::ProposeVariation(VariationDraft {
                from: Some(Role::Designer),
                impact,
                title: title.into(),
                rationale: None,
                affects: vec!["t1".into()],
            }),
        );
        assert!(r.ok, "{}", r.message);
    }
    let r = fx.core.execute(
        Origin::System,
        Command::RequestApproval {
            kind: ApprovalKind::DesignSpec,
            subject: "t1".into(),
            from: Some(Role::Designer),
            summary: "the design of t1".into(),
        },
    );
    let ReplyData::Approval(a) = &r.data else {
        panic!("{}", r.message)
    };
    let id = a.id;
    ok(&mut fx.core, &format!("/approve {id} keep the API small"));
    let mut state = fx.core.state().clone();
    state.clarifications.insert(
        ClarificationId(1),
        Clarification {
            id: ClarificationId(1),
            agent: "impl-1".into(),
            question: "Which date format?".into(),
            asked_by: "alice".into(),
            asked_at: "2026-12-01T10:00:00.000Z".into(),
            answer: Some("RFC 3339".into()),
            answered_at: Some("2026-12-01T10:05:00.000Z".into()),
        },
    );
    let d = detail(&state);
    let concerns = section(&d, "## Concerns");
    assert!(concerns.contains("1 open, 0 resolved."), "{d}");
    assert!(
        concerns.contains("| warning | flaky_test | tester →")
            && concerns.contains("test_io is flaky"),
        "{d}"
    );
    let variations = section(&d, "## Variations");
    assert!(
        variations.contains("| switch the store | high | pending |"),
        "{d}"
    );
    assert!(variations.contains("| rename a flag | low |"), "{d}");
    let human = section(&d, "## Recent Human Interactions");
    assert!(
        human.contains("Q-1 alice asked impl-1: Which date format?\n  - answered 2026-12-01T10:05:00.000Z: RFC 3339"),
        "{d}"
    );
    assert!(
        human.contains(&format!("{id} review of design_spec `t1`")),
        "{d}"
    );
    assert!(human.contains("  - note: keep the API small"), "{d}");
    // Latest last: the clarification (December 1st) before the approval (now).
    assert!(
        human.find("Q-1").unwrap() < human.find(&id.to_string()).unwrap(),
        "{d}"
    );

    // "Complete" only once promoted: every task done is "awaiting promotion" first.
    let plan = state.plan.as_mut().unwrap();
    plan.phases[0].tasks[0].status = TaskStatus::Done;
    let o = overview(&state);
    assert!(
        o.contains("**Current phase:** One (every task done, awaiting promotion)"),
        "{o}"
    );
    assert!(
        o.contains("| One | 1/1 | tasks done, awaiting promotion |"),
        "{o}"
    );
    assert!(!o.contains("all phases complete"), "{o}");
    state.plan.as_mut().unwrap().phases[0].promoted_at = Some("2026-12-02T09:00:00.000Z".into());
    let o = overview(&state);
    assert!(
        o.contains("**Current phase:** all phases complete (promoted)"),
        "{o}"
    );
    assert!(
        o.contains("| One | 1/1 | complete, promoted 2026-12-02 |"),
        "{o}"
    );
}

/// The work-tree scan a Save makes refreshes the index's stat cache (as `git status` does):
/// a tracked file rewritten with the same content after the index was written is hashed once,
/// not at every later scan.
#[test]
fn the_work_tree_scan_refreshes_the_index_it_found_stale() {
    let repo = Repo::new();
    repo.write("a.txt", "same\n");
    git(repo.path(), repo.home.path(), &["add", "a.txt"]);
    git(repo.path(), repo.home.path(), &["commit", "-qm", "a"]);
    let g = git2::Repository::open(repo.path()).unwrap();
    let stamp = |g: &git2::Repository| {
        let mut index = g.index().unwrap();
        index.read(true).unwrap();
        let e = index.get_path(std::path::Path::new("a.txt"), 0).unwrap();
        (e.mtime.seconds(), e.mtime.nanoseconds())
    };
    // Rewritten, same bytes, a later time: the index's entry is out of date.
    let file = std::fs::File::options()
        .write(true)
        .open(repo.path().join("a.txt"))
        .unwrap();
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    file.set_modified(later).unwrap();
    drop(file);
    let before = stamp(&g);
    assert_eq!(
        overlord::git::tracked_changes(&g).unwrap(),
        Vec::<String>::new()
    );
    let after = stamp(&g);
    assert_ne!(before, after, "the index's entry was not refreshed");
    let on_disk = std::fs::metadata(repo.path().join("a.txt"))
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    assert_eq!(after.0 as u64, on_disk.as_secs());
    // With the index locked by someone else, the scan still answers.
    std::fs::write(repo.path().join(".git/index.lock"), "").unwrap();
    repo.write("a.txt", "changed\n");
    assert_eq!(
        overlord::git::tracked_changes(&g).unwrap(),
        vec!["a.txt".to_string()]
    );
}
