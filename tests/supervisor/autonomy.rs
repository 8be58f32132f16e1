//! Autonomy within the guard rails (issue 20): finished work is integrated at once and gated
//! on the integration branch; with `[git] save = "auto"` a phase runs to a tagged checkpoint
//! with no human command after the plan's approval, while `manual` waits for the human's
//! Save; a high-impact variation holds its task back until the human approves it, and a
//! rejected one sends the task back for rework; a rate-limited scripted task goes to its
//! fallback adapter and completes.

use overlord::config::{Config, SaveMode};
use overlord::protocol::model::{on_main, TaskStatus};
use overlord::protocol::{Command, Origin, VariationDraft};

use super::{base_config, committed, sh_adapter, task_status, Swarm};
use crate::common::*;

const POLICY: &str = "auto_merge_if:\n  all_tests_passed: true\nrequire_human_if:\n  gate_fail: false\ngates:\n  reproducibility_runs: 1\n  not_measured: ignore\n";

/// Two independent tasks of one phase; each agent writes `<task>.txt`.
const TWO: &str = r#"{"todo_list_id": "p", "title": "T", "phases": [{"id": "x", "name": "X", "tasks": [
    {"id": "a", "title": "A", "agent_role": "implementer"},
    {"id": "b", "title": "B", "agent_role": "implementer"}]}]}"#;

/// A swarm whose agents write `<task>.txt` (task `gated` waits for the file `gate` in the
/// test's scratch folder first), gated by a test command that checks the files are there.
fn swarm(save: SaveMode, interval: u64, gated: &str) -> Swarm {
    let repo = committed();
    repo.write(".overlord/QA_POLICY.yaml", POLICY);
    let gate = repo.home.path().join("gate");
    let mut config = base_config("sh");
    config.git.save = save;
    config.git.auto_save_interval_secs = interval;
    config.qa.tests.command = "ls *.txt".into();
    config.qa.tests.format = "exit".into();
    sh_adapter(
        &mut config,
        "sh",
        &format!(
            "if [ \"$OVERLORD_TASK\" = {gated} ]; then while [ ! -f {} ]; do sleep 0.05; done; fi; echo \"$OVERLORD_TASK was here\" > \"$OVERLORD_TASK.txt\"; echo done",
            gate.display()
        ),
    );
    Swarm::start(repo, config)
}

fn open_gate(swarm: &Swarm) {
    std::fs::write(swarm.repo.home.path().join("gate"), "").unwrap();
}

fn on_main_now(s: &overlord::protocol::State) -> Vec<String> {
    on_main(&s.checkpoints).tasks.keys().cloned().collect()
}

fn main_files(swarm: &Swarm) -> String {
    git(
        swarm.repo.path(),
        swarm.repo.home.path(),
        &["ls-tree", "--name-only", "main"],
    )
}

#[test]
fn in_auto_mode_a_phase_runs_to_a_tagged_checkpoint_with_no_human_command_after_the_plan() {
    // An hour between automatic Saves: the first task is integrated at once but not Saved;
    // the phase's last one Saves both.
    let swarm = swarm(SaveMode::Auto, 3600, "b");
    swarm.import(TWO);
    swarm.approve_plan();
    let s = swarm.wait("a integrated and gated", 60, |s| {
        task_status(s, "a") == Some(TaskStatus::Done) && !s.qa_runs.is_empty()
    });
    assert!(
        s.checkpoints.is_empty(),
        "no Save before the interval or the phase's end"
    );
    let integ = git(
        swarm.repo.path(),
        swarm.repo.home.path(),
        &["branch", "--list", "session/*/integration"],
    );
    assert!(!integ.trim().is_empty(), "the integration branch holds a");
    open_gate(&swarm);
    let s = swarm.wait("the phase Saved by Overlord", 60, |s| {
        on_main_now(s) == ["a", "b"] && s.operation.is_none()
    });
    let cp = s.checkpoints.last().unwrap();
    assert_eq!(cp.tasks, ["a", "b"], "{cp:?}");
    assert!(cp.qa_run.is_some(), "{cp:?}");
    let tag = git(
        swarm.repo.path(),
        swarm.repo.home.path(),
        &["tag", "--list", "checkpoint/*"],
    );
    assert!(tag.contains(&cp.name), "{tag}");
    let files = main_files(&swarm);
    assert!(
        files.contains("a.txt") && files.contains("b.txt"),
        "{files}"
    );
    // Every command after the plan's approval came from Overlord itself.
    let by_human: Vec<String> = swarm
        .audit_commands()
        .into_iter()
        .filter(|(origin, name)| {
            origin.is_human() && !["import", "approve", "status"].contains(&name.as_str())
        })
        .map(|(_, n)| n)
        .collect();
    assert!(by_human.is_empty(), "the human gave {by_human:?}");
    let by_overlord: Vec<String> = swarm
        .audit_commands()
        .into_iter()
        .filter(|(origin, _)| *origin == Origin::System)
        .map(|(_, n)| n)
        .collect();
    assert!(
        by_overlord.contains(&"integrate".to_string()) && by_overlord.contains(&"save".to_string()),
        "{by_overlord:?}"
    );
}

#[test]
fn in_manual_mode_finished_work_is_integrated_and_gated_but_only_the_human_saves_it() {
    let swarm = swarm(SaveMode::Manual, 0, "none");
    swarm.import(TWO);
    swarm.approve_plan();
    let s = swarm.wait("a and b integrated and gated", 60, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
            && task_status(s, "b") == Some(TaskStatus::Done)
            && s.operation.is_none()
            && s.qa_runs
                .iter()
                .any(|r| r.decision == overlord::protocol::model::QaDecision::AutoMerge)
            && swarm.integrated_files().contains("b.txt")
            && swarm.integrated_files().contains("a.txt")
    });
    assert!(
        s.checkpoints.is_empty(),
        "manual: nothing is Saved without the human"
    );
    assert!(!main_files(&swarm).contains("a.txt"));
    let runs = s.qa_runs.len();
    swarm.ok("/save");
    let s = swarm.wait("the human's Save", 60, |s| {
        on_main_now(s) == ["a", "b"] && s.operation.is_none()
    });
    // The Save published the tree the integration gated, without running the gates again.
    assert_eq!(s.qa_runs.len(), runs, "{:?}", s.qa_runs);
    assert!(main_files(&swarm).contains("b.txt"));
}

#[test]
fn a_pending_high_impact_variation_holds_its_task_until_approved_and_a_rejected_one_sends_it_back()
{
    let swarm = swarm(SaveMode::Auto, 0, "a");
    swarm.import(
        r#"{"todo_list_id": "p", "title": "T", "phases": [{"id": "x", "name": "X", "tasks": [
            {"id": "a", "title": "A", "agent_role": "implementer"},
            {"id": "b", "title": "B", "agent_role": "implementer"}]}]}"#,
    );
    swarm.approve_plan();
    let s = swarm.wait("a running", 60, |s| {
        task_status(s, "a") == Some(TaskStatus::InProgress)
    });
    let agent = s
        .agents
        .values()
        .find(|a| a.task.as_deref() == Some("a"))
        .unwrap()
        .id
        .clone();
    let propose = |title: &str| {
        let r = swarm.handle.submit_blocking(
            Origin::Agent {
                agent: agent.clone(),
                role: Some(overlord::protocol::model::Role::Implementer),
            },
            Command::ProposeVariation(VariationDraft {
                from: None,
                impact: overlord::protocol::model::Impact::High,
                title: title.into(),
                rationale: None,
                affects: Vec::new(),
            }),
        );
        assert!(r.ok, "{}", r.message);
    };
    propose("switch the storage engine");
    open_gate(&swarm);
    let s = swarm.wait("b Saved by Overlord, a finished but held", 60, |s| {
        on_main_now(s) == ["b"]
            && task_status(s, "a") == Some(TaskStatus::Done)
            && s.operation.is_none()
    });
    let held = s.held_tasks();
    assert_eq!(held.len(), 1, "{held:?}");
    assert!(
        held[0].1.contains("V-1") && held[0].1.contains("awaits the human"),
        "{held:?}"
    );
    // The human's Save says why a stays out.
    let r = swarm.ok("/save");
    assert!(
        r.message.contains("held back: a: variation V-1"),
        "{}",
        r.message
    );
    swarm.wait("the Save ended", 60, |s| s.operation.is_none());
    assert_eq!(on_main_now(&swarm.state()), ["b"]);
    // Approved: Overlord integrates and Saves a by itself.
    swarm.ok("/approve V-1");
    swarm.wait("a Saved after the approval", 60, |s| {
        on_main_now(s) == ["a", "b"] && s.operation.is_none()
    });
    assert!(main_files(&swarm).contains("a.txt"));
}

#[test]
fn a_rejected_variation_sends_its_finished_task_back_for_rework_before_it_is_integrated() {
    let swarm = swarm(SaveMode::Auto, 0, "a");
    swarm.import(
        r#"{"todo_list_id": "p", "title": "T", "phases": [{"id": "x", "name": "X", "tasks": [
            {"id": "a", "title": "A", "agent_role": "implementer"}]}]}"#,
    );
    swarm.approve_plan();
    let s = swarm.wait("a running", 60, |s| {
        task_status(s, "a") == Some(TaskStatus::InProgress)
    });
    let agent = s.agents.values().next().unwrap().id.clone();
    let r = swarm.handle.submit_blocking(
        Origin::Agent {
            agent,
            role: Some(overlord::protocol::model::Role::Implementer),
        },
        Command::ProposeVariation(VariationDraft {
            from: None,
            impact: overlord::protocol::model::Impact::High,
            title: "drop the public API".into(),
            rationale: None,
            affects: Vec::new(),
        }),
    );
    assert!(r.ok, "{}", r.message);
    open_gate(&swarm);
    let s = swarm.wait("a finished and held", 60, |s| {
        task_status(s, "a") == Some(TaskStatus::Done) && !s.held_tasks().is_empty()
    });
    assert!(s.checkpoints.is_empty());
    let r = swarm.ok("/reject V-1 keep the public API");
    assert!(
        r.message.contains("task a goes back to todo"),
        "{}",
        r.message
    );
    let s = swarm.state();
    let a = s.plan.as_ref().unwrap().task("a").unwrap();
    assert!(
        a.commentary
            .iter()
            .any(|c| c.contains("rework") && c.contains("keep the public API")),
        "{:?}",
        a.commentary
    );
    assert!(
        on_main_now(&s).is_empty(),
        "the rejected work was not integrated"
    );
    // The rework runs and, with nothing held any more, is integrated.
    swarm.wait("the reworked a Saved", 60, |s| {
        on_main_now(s) == ["a"] && s.operation.is_none()
    });
}

#[test]
fn a_rate_limited_scripted_task_reaches_its_fallback_adapter_and_completes() {
    let repo = committed();
    // The scripted agent's script: rate-limited on every run of the primary adapter.
    repo.write(
        ".overlord/scripts/default.toml",
        "[[step]]\nwrite = { path = \"done.txt\", content = \"fallback did it\" }\n\n[[step]]\nsay = \"done\"\n",
    );
    repo.write(
        ".overlord/scripts/limited/default.toml",
        "[[step]]\nfail = { times = 9, kind = \"rate_limited\", message = \"429 Too Many Requests, retry after 0s\" }\n",
    );
    let mut config = base_config("limited");
    config.agents.rate_limit_retries = 1;
    config.agents.fallback = vec!["spare".into()];
    let extra: Config = toml::from_str(
        "[adapters.limited]\nkind = \"scripted\"\nscript_dir = \".overlord/scripts/limited\"\n\n[adapters.spare]\nkind = \"scripted\"\nscript_dir = \".overlord/scripts\"\n",
    )
    .unwrap();
    config.adapters.extend(extra.adapters);
    let swarm = Swarm::start(repo, config);
    swarm.import(
        r#"{"todo_list_id": "p", "title": "T", "phases": [{"id": "x", "name": "X", "tasks": [
            {"id": "a", "title": "A", "agent_role": "implementer"}]}]}"#,
    );
    swarm.approve_plan();
    let s = swarm.wait("a done by the fallback", 90, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
    });
    let owner = s
        .plan
        .as_ref()
        .unwrap()
        .task("a")
        .unwrap()
        .owner
        .clone()
        .unwrap();
    assert_eq!(s.agents[&owner].adapter, "spare");
    assert!(s
        .handoffs
        .iter()
        .any(|h| h.purpose == "hand-over to adapter spare"));
    let log = git(
        swarm.repo.path(),
        swarm.repo.home.path(),
        &["log", "--all", "--format=%H", "--", "done.txt"],
    );
    assert!(
        !log.trim().is_empty(),
        "the fallback's write step was committed"
    );
}

/// A conflict surfaces when the task finishes, not at the next Save: a concern and a branch
/// todo for the task's role, who merges the integration branch in; then the task is
/// integrated.
#[test]
fn a_conflict_opens_a_branch_todo_for_the_tasks_role_and_the_resolved_task_is_integrated() {
    let repo = committed();
    repo.write(".overlord/QA_POLICY.yaml", POLICY);
    let gate = repo.home.path().join("gate");
    let mut config = base_config("sh");
    config.qa.tests.command = "ls *.txt".into();
    config.qa.tests.format = "exit".into();
    sh_adapter(
        &mut config,
        "sh",
        &format!(
            r#"case "$OVERLORD_TASK" in
  b-rebase-*) git -c user.name=t -c user.email=t@t.invalid merge -s ours --no-edit "$(git for-each-ref --format='%(refname:short)' 'refs/heads/session/*/integration')" || exit 1 ;;
  b) while [ ! -f {} ]; do sleep 0.05; done; echo "b's version" > shared.txt ;;
  *) echo "$OVERLORD_TASK's version" > shared.txt ;;
esac
echo done"#,
            gate.display()
        ),
    );
    let swarm = Swarm::start(repo, config);
    swarm.import(TWO);
    swarm.approve_plan();
    swarm.wait("a integrated", 60, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
            && s.operation.is_none()
            && swarm.integrated_files().contains("shared.txt")
    });
    open_gate(&swarm);
    let s = swarm.wait("b's conflict as a branch todo", 60, |s| {
        s.plan
            .as_ref()
            .is_some_and(|p| p.task("b-rebase-1").is_some())
    });
    let c = s
        .concerns
        .values()
        .find(|c| c.category == "merge_conflict")
        .expect("a merge_conflict concern");
    assert_eq!(c.task.as_deref(), Some("b"));
    let todo = s.plan.as_ref().unwrap().task("b-rebase-1").unwrap();
    assert_eq!(todo.role, overlord::protocol::model::Role::Implementer);
    assert_eq!(todo.branch_reason.as_deref(), Some("merge_conflict"));
    assert!(
        todo.description.contains("integration"),
        "{}",
        todo.description
    );
    // The todo merges the integration branch in; b is done again and integrated.
    let shared = |swarm: &Swarm| {
        git_output(
            swarm.repo.path(),
            swarm.repo.home.path(),
            &["show", &format!("{}:shared.txt", integration_ref(swarm))],
        )
        .stdout
    };
    swarm.wait("b integrated after the fix", 60, |s| {
        task_status(s, "b-rebase-1") == Some(TaskStatus::Done)
            && task_status(s, "b") == Some(TaskStatus::Done)
            && s.operation.is_none()
            && shared(&swarm) == b"b's version\n"
    });
}

fn integration_ref(swarm: &Swarm) -> String {
    git(
        swarm.repo.path(),
        swarm.repo.home.path(),
        &[
            "branch",
            "--list",
            "--format=%(refname)",
            "session/*/integration",
        ],
    )
    .trim()
    .to_string()
}

/// The human's Save never loses to a background integration: given while one runs, it waits
/// for it to end and then starts.
#[test]
fn a_human_save_given_while_an_integration_runs_starts_when_it_ends() {
    let repo = committed();
    repo.write(".overlord/QA_POLICY.yaml", POLICY);
    let release = repo.home.path().join("release-qa");
    let mut config = base_config("sh");
    // The gates hold until the test lets them go.
    config.qa.tests.command = format!(
        "while [ ! -f {} ]; do sleep 0.05; done; ls *.txt",
        release.display()
    );
    config.qa.tests.format = "exit".into();
    sh_adapter(
        &mut config,
        "sh",
        "echo hi > \"$OVERLORD_TASK.txt\"; echo done",
    );
    let swarm = Swarm::start(repo, config);
    swarm.import(
        r#"{"todo_list_id": "p", "title": "T", "phases": [{"id": "x", "name": "X", "tasks": [
            {"id": "a", "title": "A", "agent_role": "implementer"}]}]}"#,
    );
    swarm.approve_plan();
    swarm.wait("the integration running its gates", 60, |s| {
        s.operation.as_ref().is_some_and(|o| {
            o.kind == overlord::protocol::model::OperationKind::Integrate
                && o.steps.iter().any(|l| l.starts_with("gate: QA gates on"))
        })
    });
    let release2 = release.clone();
    let opener = std::thread::spawn(move || {
        // The Save is asked for first; the gates are let go later than the operation
        // lock's grace (so the Save would be refused, were it not held back).
        std::thread::sleep(overlord::core::ops::LOCK_GRACE * 2);
        std::fs::write(release2, "").unwrap();
    });
    let r = swarm.cmd("/save");
    opener.join().unwrap();
    assert!(r.ok, "the Save waited and started: {}", r.message);
    assert!(r.message.starts_with("Save "), "{}", r.message);
    swarm.wait("the Save's checkpoint", 60, |s| {
        on_main_now(s) == ["a"] && s.operation.is_none()
    });
}
