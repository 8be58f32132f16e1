//! `/promote <phase>` as a real operation on real temporary repositories: refused with every
//! reason (a critical concern, tasks not Saved, a bad release branch, a tag that exists),
//! the promotion QA on main's tip agreeing with `qa --promotion`, the version tag and the
//! release branch moved on success, the "promotion candidate" notice, and a promotion killed
//! while publishing.

use std::path::Path;

use overlord::config::Config;
use overlord::core::Core;
use overlord::protocol::model::{CheckpointKind, OperationOutcome};
use overlord::protocol::{Command, ReplyData};
use serde_json::Value;

use crate::common::*;

/// Tests pass with one run; the promotion policy requires `RELEASE_NOTES.md` (found in
/// `docs/` too) and no end-to-end run.
const POLICY: &str = "auto_merge_if:\n  all_tests_passed: true\nrequire_human_if:\n  gate_fail: true\ngates:\n  reproducibility_runs: 1\n  not_measured: ignore\npromotion_policy:\n  e2e_tests_required: false\n  docs_required: [RELEASE_NOTES.md]\n";

struct Px {
    repo: Repo,
    core: Core,
}

impl Px {
    /// Phase p1 has t1 and t2, phase p2 has t3; `[git]` as given.
    fn new(git_section: &str) -> Px {
        Px::with_policy(git_section, Some(POLICY))
    }

    /// `policy`: the QA policy written over the one `init` writes (`None`: the defaults).
    fn with_policy(git_section: &str, policy: Option<&str>) -> Px {
        let repo = Repo::new();
        let home = repo.home.path().to_path_buf();
        git(
            repo.path(),
            &home,
            &["symbolic-ref", "HEAD", "refs/heads/main"],
        );
        repo.write("README.md", "hello\n");
        git(repo.path(), &home, &["add", "."]);
        git(repo.path(), &home, &["commit", "-qm", "initial"]);
        let ws = repo.workspace();
        ws.init().expect("init");
        let config_path = repo.write(
            ".overlord/config.toml",
            &format!("[git]\n{git_section}\n\n[qa.tests]\ncommand = \"true\"\nformat = \"exit\"\n"),
        );
        if let Some(policy) = policy {
            repo.write(".overlord/QA_POLICY.yaml", policy);
        }
        let (config, warning) = Config::load(&config_path, "config.toml");
        assert!(warning.is_none(), "{warning:?}");
        let mut core = Core::open(&ws, &config).expect("core");
        let plan = home.join("plan.json");
        std::fs::write(&plan, PLAN).unwrap();
        ok(&mut core, &format!("/import {}", plan.display()));
        for t in ["t1", "t2", "t3"] {
            core.open_task_worktree(t).expect("worktree");
        }
        Px { repo, core }
    }

    fn home(&self) -> &Path {
        self.repo.home.path()
    }

    fn git(&self, args: &[&str]) -> String {
        git(self.repo.path(), self.home(), args)
    }

    fn rev(&self, what: &str) -> Option<String> {
        let o = git_output(
            self.repo.path(),
            self.home(),
            &["rev-parse", "-q", "--verify", what],
        );
        o.status
            .success()
            .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
    }

    /// A task's work committed in its worktree, and the task done.
    fn finish(&mut self, task: &str, file: &str) {
        let wt = self.repo.path().join(".overlord/worktrees").join(task);
        let p = wt.join(file);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, format!("{task}\n")).unwrap();
        git(&wt, self.home(), &["add", "-A"]);
        git(
            &wt,
            self.home(),
            &["commit", "-qm", &format!("feat({task})")],
        );
        ok(&mut self.core, &format!("/task {task} done"));
    }

    fn save(&mut self) {
        let r = self.core.execute(human(), Command::Save);
        assert!(r.ok, "save: {}", r.message);
        assert_eq!(
            outcome(&r),
            Some(OperationOutcome::Checkpointed),
            "{}",
            r.message
        );
    }

    fn promote(&mut self, phase: &str) -> overlord::protocol::Reply {
        run(&mut self.core, &format!("/promote {phase}"))
    }

    fn promoted(&self, phase: &str) -> bool {
        let plan = self.core.state().plan.clone().unwrap();
        plan.phase(phase).unwrap().promoted_at.is_some()
    }

    fn candidates(&self) -> Vec<String> {
        self.core
            .state()
            .concerns
            .values()
            .filter(|c| c.category == overlord::core::ops::PROMOTION_CANDIDATE)
            .map(|c| c.summary.clone())
            .collect()
    }
}

const PLAN: &str = r#"{ "todo_list_id": "promo", "title": "Promotion test", "phases": [
  { "id": "p1", "name": "One", "tasks": [
    { "id": "t1", "title": "Task t1", "agent_role": "implementer", "dependencies": [] },
    { "id": "t2", "title": "Task t2", "agent_role": "implementer", "dependencies": [] } ] },
  { "id": "p2", "name": "Two", "tasks": [
    { "id": "t3", "title": "Task t3", "agent_role": "implementer", "dependencies": [] } ] } ] }"#;

fn outcome(r: &overlord::protocol::Reply) -> Option<OperationOutcome> {
    match &r.data {
        ReplyData::Operation(op) => op.outcome,
        _ => None,
    }
}

#[test]
fn promote_is_refused_with_a_critical_concern_then_tags_and_moves_the_release_branch() {
    let mut px = Px::new("release_branch = \"release\"");
    let initial = px.rev("main").unwrap();
    // The release branch is behind main: a promotion fast-forwards it.
    px.git(&["branch", "release", "main"]);
    px.finish("t1", "docs/RELEASE_NOTES.md");
    px.finish("t2", "b.txt");
    px.save();
    let main = px.rev("main").unwrap();
    assert_ne!(main, initial);
    // Every task of p1 is integrated and the Save's QA on main is green: one notice.
    assert_eq!(px.candidates(), ["phase p1 is ready for promotion"]);

    let c = ok(
        &mut px.core,
        "/raise --severity critical --category design_gap the release loses data",
    );
    let ReplyData::Concern(concern) = &c.data else {
        panic!("{:?}", c.data)
    };
    let id = concern.id;
    let msg = rejected(&mut px.core, "/promote p1");
    assert!(
        msg.contains(&format!(
            "critical concern {id} is open (the release loses data)"
        )),
        "{msg}"
    );
    assert_eq!(px.rev("release").unwrap(), initial, "nothing moved");
    assert!(px.rev("refs/tags/v0.1.0-p1").is_none());

    ok(&mut px.core, &format!("/resolve {id} fixed"));
    let mut events = px.core.subscribe();
    let r = px.promote("p1");
    assert!(r.ok, "{}", r.message);
    assert_eq!(outcome(&r), Some(OperationOutcome::Checkpointed));
    assert!(
        r.message.contains("phase p1 promoted: v0.1.0-p1")
            && r.message.contains("release branch release fast-forwarded"),
        "{}",
        r.message
    );
    // The version tag (annotated) on main's tip, the release branch there, main unmoved.
    assert_eq!(px.rev("v0.1.0-p1^{commit}").unwrap(), main);
    assert_eq!(px.git(&["cat-file", "-t", "v0.1.0-p1"]).trim(), "tag");
    assert_eq!(px.rev("release").unwrap(), main);
    assert_eq!(px.rev("main").unwrap(), main);
    let state = px.core.state().clone();
    assert!(px.promoted("p1"));
    assert!(!px.promoted("p2"));
    // Its promotion resolves the candidate notice.
    assert!(!state
        .open_concerns()
        .any(|c| c.category == overlord::core::ops::PROMOTION_CANDIDATE));
    let cp = state.checkpoints.last().unwrap();
    assert_eq!(cp.kind, CheckpointKind::Promotion);
    assert_eq!(cp.name, "v0.1.0-p1");
    assert_eq!(cp.commit, main);
    let run = state
        .qa_runs
        .iter()
        .find(|q| Some(q.id) == cp.qa_run)
        .unwrap();
    assert!(run.promotion && run.commit.as_deref() == Some(main.as_str()));
    // The refs the promotion moved are in the audit trail (and `audit verify --git` agrees
    // with the repository, notes included).
    let o = px.repo.run(&["audit", "verify", "--git"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let log =
        std::fs::read_to_string(px.repo.path().join(".overlord/audit/git_actions.jsonl")).unwrap();
    assert!(
        log.contains("refs/tags/v0.1.0-p1")
            && log.contains("refs/heads/release")
            && log.contains("\"trigger\":\"promotion\""),
        "{log}"
    );
    assert!(rejected(&mut px.core, "/promote p1").contains("already promoted"));
    // Discord is told: the promotion's checkpoint and the phase promoted, as update lines.
    let mut lines = Vec::new();
    while let Ok(e) = events.try_recv() {
        for a in overlord::discord::alerts::route(&e, px.core.state()) {
            if let overlord::discord::alerts::Alert::Line(_, l) = a {
                lines.push(l);
            }
        }
    }
    assert!(
        lines.iter().any(|l| l.contains("v0.1.0-p1 promoted"))
            && lines.iter().any(|l| l == "🚀 phase p1 promoted"),
        "{lines:?}"
    );

    // The next phase: the counter gives the next version; the notice for p1 is not repeated.
    px.finish("t3", "c.txt");
    px.save();
    let mut notices = px.candidates();
    notices.sort();
    assert_eq!(
        notices,
        [
            "phase p1 is ready for promotion",
            "phase p2 is ready for promotion"
        ]
    );
    let r = px.promote("p2");
    assert!(r.ok, "{}", r.message);
    assert_eq!(
        px.rev("v0.2.0-p2^{commit}").unwrap(),
        px.rev("main").unwrap()
    );
    assert_eq!(px.rev("release").unwrap(), px.rev("main").unwrap());
    // A release is a point of the timeline a rollback can restore, by its tag.
    let r = run_as(
        &mut px.core,
        human(),
        "/rollback v0.1.0-p1 back to the first release",
    );
    assert!(r.ok, "{}", r.message);
    let cp = px.core.state().checkpoints.last().unwrap().clone();
    assert_eq!(cp.kind, CheckpointKind::Rollback);
    assert_eq!(cp.restores.as_deref(), Some("v0.1.0-p1"));
    assert_eq!(
        px.git(&["rev-parse", "main^{tree}"]),
        px.git(&["rev-parse", "v0.1.0-p1^{tree}"])
    );
    // The release branch stays where the last promotion put it.
    assert_eq!(
        px.rev("release").unwrap(),
        px.rev("v0.2.0-p2^{commit}").unwrap()
    );
}

#[test]
fn qa_promotion_and_promote_agree_on_a_failing_and_a_passing_tree() {
    let mut px = Px::new("");
    px.finish("t1", "a.txt");
    px.finish("t2", "b.txt");
    px.save();
    let main = px.rev("main").unwrap();
    let notes = px.rev("refs/notes/overlord");

    // The required document is missing: both say no, for the same reason.
    let o = px.repo.run(&["qa", "--promotion", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["commit"], main.as_str());
    assert_eq!(v["promotion_verdict"]["passed"], false, "{v:#}");
    assert!(v["promotion_verdict"]["failed"]
        .to_string()
        .contains("RELEASE_NOTES.md"));
    let r = px.promote("p1");
    assert!(!r.ok);
    assert_eq!(
        outcome(&r),
        Some(OperationOutcome::GateFailed),
        "{}",
        r.message
    );
    assert!(
        r.message.contains("not promoted") && r.message.contains("missing RELEASE_NOTES.md"),
        "{}",
        r.message
    );
    assert!(px.rev("refs/tags/v0.1.0-p1").is_none(), "nothing tagged");
    assert_eq!(px.rev("refs/notes/overlord"), notes, "notes untouched");
    assert!(!px.promoted("p1"));
    let runs: Vec<_> = px
        .core
        .state()
        .qa_runs
        .iter()
        .filter(|r| r.promotion)
        .cloned()
        .collect();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].commit, runs[1].commit);
    assert_eq!(runs[0].tree, runs[1].tree);
    assert_eq!(runs[0].decision, runs[1].decision);
    assert_eq!(runs[0].failed_gates(), ["docs"]);
    assert_eq!(runs[1].failed_gates(), ["docs"]);

    // The document reaches main through a Save: both say yes.
    px.finish("t3", "docs/RELEASE_NOTES.md");
    px.save();
    let o = px.repo.run(&["qa", "--promotion"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("decision: require_human")
            && out.contains(
                "promotion: passes (the human's /promote answers what it asks: phase promotion)"
            ),
        "{out}"
    );
    let r = px.promote("p1");
    assert!(r.ok, "{}", r.message);
    // The release branch defaults to main, which is already there.
    assert!(
        r.message.contains("release branch is main itself"),
        "{}",
        r.message
    );
    assert_eq!(
        px.rev("v0.1.0-p1^{commit}").unwrap(),
        px.rev("main").unwrap()
    );
    let runs: Vec<_> = px
        .core
        .state()
        .qa_runs
        .iter()
        .filter(|r| r.promotion)
        .cloned()
        .collect();
    assert_eq!(runs.len(), 4);
    assert_eq!(runs[2].tree, runs[3].tree);
    assert!(runs[2].failed_gates().is_empty() && runs[3].failed_gates().is_empty());
}

#[test]
fn bad_promotions_are_refused_naming_every_reason_and_move_nothing() {
    let mut px = Px::new("release_branch = \"bad..name\"\nversion_tag = \"rel-{phase}\"");
    assert!(rejected(&mut px.core, "/promote p9").contains("unknown phase 'p9'"));
    px.finish("t1", "docs/RELEASE_NOTES.md");
    px.save();
    // t2 is done but not Saved: not integrated.
    px.finish("t2", "b.txt");
    px.git(&["tag", "rel-p1", "main"]);
    let main = px.rev("main").unwrap();
    let notes = px.rev("refs/notes/overlord");
    let msg = rejected(&mut px.core, "/promote p1");
    for reason in [
        "not integrated on main: t2 (done but not Saved yet",
        "the tag rel-p1 already exists",
        "the release branch is not a usable branch name",
        "nothing was changed",
    ] {
        assert!(msg.contains(reason), "{reason}: {msg}");
    }
    assert!(!msg.contains("t1"), "t1 is on main: {msg}");
    assert_eq!(px.rev("main").unwrap(), main);
    assert_eq!(px.rev("refs/notes/overlord"), notes);
    assert!(!px.promoted("p1"));
    // The CLI says the same and exits non-zero.
    let o = px.repo.run(&["cmd", "/promote p1"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("the tag rel-p1 already exists")
            || stdout(&o).contains("the tag rel-p1 already exists")
    );
}

#[test]
fn a_release_branch_with_commits_main_lacks_is_never_rewound() {
    let mut px = Px::new("release_branch = \"release\"");
    px.git(&["branch", "release", "main"]);
    px.git(&["checkout", "-q", "release"]);
    px.repo.write("hotfix.txt", "fix\n");
    px.git(&["add", "hotfix.txt"]);
    px.git(&["commit", "-qm", "hotfix on release"]);
    px.git(&["checkout", "-q", "main"]);
    let release = px.rev("release").unwrap();
    px.finish("t1", "docs/RELEASE_NOTES.md");
    px.finish("t2", "b.txt");
    px.save();
    let msg = rejected(&mut px.core, "/promote p1");
    assert!(
        msg.contains("the release branch release") && msg.contains("would rewind it"),
        "{msg}"
    );
    assert_eq!(px.rev("release").unwrap(), release);
    assert!(px.rev("refs/tags/v0.1.0-p1").is_none());
}

#[test]
fn an_agents_promotion_waits_for_the_human_whose_approval_carries_it_out() {
    let mut px = Px::new("");
    px.finish("t1", "docs/RELEASE_NOTES.md");
    px.finish("t2", "b.txt");
    px.save();
    let r = run_as(&mut px.core, agent("pm"), "/promote p1");
    assert!(
        r.ok && r.message.contains("awaits the human"),
        "{}",
        r.message
    );
    assert!(!px.promoted("p1"));
    let r = run(&mut px.core, "/approve p1");
    assert!(r.ok, "{}", r.message);
    assert_eq!(outcome(&r), Some(OperationOutcome::Checkpointed));
    assert!(px.promoted("p1"));
    assert!(px.rev("refs/tags/v0.1.0-p1").is_some());
    let a = px
        .core
        .state()
        .approvals
        .values()
        .find(|a| a.subject == "p1")
        .cloned()
        .unwrap();
    assert_eq!(
        a.decision,
        Some(overlord::protocol::model::Decision::Approved)
    );
}

#[test]
fn a_promotion_killed_while_publishing_is_finished_or_cleaned_up() {
    for point in ["promotion.publishing", "promotion.published"] {
        let mut px = Px::new("release_branch = \"release\"");
        px.finish("t1", "docs/RELEASE_NOTES.md");
        px.finish("t2", "b.txt");
        px.save();
        let main = px.rev("main").unwrap();
        let o = px
            .repo
            .run_env(&["cmd", "/promote p1"], &[("OVERLORD_FAILPOINT", point)]);
        assert_eq!(o.status.code(), Some(86), "{point}: {}", stderr(&o));
        let published = point.ends_with(".published");
        assert_eq!(
            px.rev("refs/tags/v0.1.0-p1").is_some(),
            published,
            "{point}"
        );
        assert_eq!(px.rev("release").is_some(), published, "{point}");
        // The next command that needs the operation lock recovers first.
        let o = px.repo.run(&["cmd", "/promote p1"]);
        let out = format!("{}{}", stdout(&o), stderr(&o));
        assert!(out.contains("interrupted"), "{point}: {out}");
        px.core = Core::open(&px.repo.workspace(), &load(&px.repo)).unwrap();
        let state = px.core.state().clone();
        assert!(state.operation.is_none(), "{point}");
        assert!(px.promoted("p1"), "{point}: {out}");
        assert_eq!(px.rev("v0.1.0-p1^{commit}").unwrap(), main, "{point}");
        assert_eq!(px.rev("release").unwrap(), main, "{point}");
        assert_eq!(
            state
                .checkpoints
                .iter()
                .filter(|c| c.kind == CheckpointKind::Promotion)
                .count(),
            1,
            "{point}"
        );
        let o = px.repo.run(&["audit", "verify", "--git"]);
        assert!(o.status.success(), "{point}: {}{}", stdout(&o), stderr(&o));
    }
}

fn load(repo: &Repo) -> Config {
    Config::load(&repo.path().join(".overlord/config.toml"), "config.toml").0
}

#[test]
fn the_version_tag_template_and_its_default() {
    use overlord::core::ops::{version_tag, DEFAULT_VERSION_TAG};
    assert_eq!(version_tag("", 1, "phase0"), "v0.1.0-phase0");
    assert_eq!(
        version_tag(DEFAULT_VERSION_TAG, 2, "phase1-qa"),
        "v0.2.0-phase1-qa"
    );
    assert_eq!(version_tag("v1.{n}.0-{phase}", 3, "p"), "v1.3.0-p");
}

#[test]
fn work_a_rollback_took_out_of_main_is_not_integrated() {
    let mut px = Px::new("");
    px.finish("t1", "docs/RELEASE_NOTES.md");
    px.save();
    let first = px.core.state().checkpoints[0].name.clone();
    px.finish("t2", "b.txt");
    px.save();
    let r = run(
        &mut px.core,
        &format!("/rollback {first} t2 broke the build"),
    );
    assert!(r.ok, "{}", r.message);
    let rollback = px.core.state().checkpoints.last().unwrap().name.clone();
    let msg = rejected(&mut px.core, "/promote p1");
    assert!(
        msg.contains(&format!(
            "not integrated on main: t2 (taken out of main by {rollback})"
        )),
        "{msg}"
    );
    assert!(px.rev("refs/tags/v0.1.0-p1").is_none());
}

#[test]
fn the_default_promotion_policy_passes_on_a_project_overlord_manages() {
    // The default policy: the documents it requires are Overlord's own (docs/PROJECT_OVERVIEW.md
    // committed by each Save; the run's QA_REPORT.md and TEST_RESULTS.md), and what this plain
    // project cannot measure (coverage, lint, e2e) is handed to the human.
    let mut px = Px::with_policy("", None);
    px.finish("t1", "a.txt");
    px.finish("t2", "b.txt");
    let r = px.core.execute(human(), Command::Save);
    assert_eq!(
        outcome(&r),
        Some(OperationOutcome::AwaitingApproval),
        "{}",
        r.message
    );
    let approval = px
        .core
        .state()
        .pending_approvals()
        .find(|a| a.kind == overlord::protocol::model::ApprovalKind::Merge)
        .unwrap()
        .id
        .to_string();
    ok(&mut px.core, &format!("/approve {approval}"));
    px.save();
    assert!(px
        .git(&["ls-tree", "-r", "--name-only", "main"])
        .contains("docs/PROJECT_OVERVIEW.md"));
    let r = px.promote("p1");
    assert!(r.ok, "{}", r.message);
    let run = px.core.state().qa_runs.last().unwrap().clone();
    assert!(run.promotion);
    assert_eq!(
        run.gates.iter().find(|g| g.gate == "docs").unwrap().outcome,
        overlord::protocol::model::GateOutcome::Pass
    );
    assert!(px.rev("refs/tags/v0.1.0-p1").is_some());
}

/// `serve` owns the store; killed when dropped.
struct Owner(std::process::Child);

impl Drop for Owner {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn with_an_owner_running_the_cli_follows_the_promotion_to_its_end() {
    let mut px = Px::new("release_branch = \"release\"");
    px.finish("t1", "docs/RELEASE_NOTES.md");
    px.finish("t2", "b.txt");
    px.save();
    let main = px.rev("main").unwrap();
    let mut cmd = bin();
    cmd.arg("serve")
        .current_dir(px.repo.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    sandbox(&mut cmd, px.repo.home.path());
    let _owner = Owner(cmd.spawn().unwrap());
    let sock = px.repo.path().join(".overlord/overlord.sock");
    let start = std::time::Instant::now();
    while !sock.exists() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "serve did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let o = px.repo.run(&["cmd", "/promote p1"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    // The steps as the owner runs them, then how it ended.
    assert!(
        stderr(&o).contains("gate: QA with the promotion policy on main"),
        "{}",
        stderr(&o)
    );
    assert!(
        stdout(&o).contains("phase p1 promoted: v0.1.0-p1"),
        "{}",
        stdout(&o)
    );
    assert_eq!(px.rev("v0.1.0-p1^{commit}").unwrap(), main);
    assert_eq!(px.rev("release").unwrap(), main);
}
