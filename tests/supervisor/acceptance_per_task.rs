//! Acceptance per task (seed 003), on real repositories with real agent processes: a task's
//! criteria with a `command` run in its worktree after its agent finishes; a failure keeps the
//! task from `done` and opens a branch todo routed by its class — `implementation_bug` to the
//! debugger (with the command, its output and the branch's diff), `spec_mismatch` to the
//! designer, `timeout` and `flaky_test` to the tester — and after `max_debug_attempts` the
//! human gets a critical concern.

use overlord::protocol::model::{Concern, Role, Severity, Task, TaskStatus};
use overlord::protocol::State;

use super::*;

/// A one-phase plan of `tasks` (JSON objects).
fn plan_of(tasks: &[serde_json::Value]) -> String {
    serde_json::json!({
        "todo_list_id": "p", "title": "Acceptance",
        "phases": [{"id": "x", "name": "X", "tasks": tasks}]
    })
    .to_string()
}

fn task_of(s: &State, id: &str) -> Task {
    s.plan
        .as_ref()
        .and_then(|p| p.task(id))
        .cloned()
        .unwrap_or_else(|| panic!("no task {id}"))
}

fn critical_on<'s>(s: &'s State, task: &str) -> Option<&'s Concern> {
    s.concerns.values().find(|c| {
        c.task.as_deref() == Some(task)
            && c.severity == Severity::Critical
            && c.category == "acceptance_failed"
    })
}

#[test]
fn a_failing_criterion_command_goes_to_the_debugger_with_diagnostics_then_to_the_human() {
    let repo = committed();
    let mut config = base_config("sh");
    // Every run (the task's and the fixes') adds a line; none makes the command pass.
    sh_adapter(
        &mut config,
        "sh",
        "echo \"line from $OVERLORD_TASK\" >> work.txt; echo 'wrote the code'",
    );
    let swarm = Swarm::start(repo, config);
    swarm.import(&plan_of(&[serde_json::json!({
        "id": "a", "title": "A", "agent_role": "implementer", "max_debug_attempts": 2,
        "acceptance_criteria": ["reads well",
            {"description": "the build passes", "command": "echo build-said-no; false"}]
    })]));
    swarm.approve_plan();
    let s = swarm.wait("the human told after 2 debug attempts", 90, |s| {
        critical_on(s, "a").is_some()
    });
    let a = task_of(&s, "a");
    assert_eq!(a.status, TaskStatus::Failed, "a never went done: {a:#?}");
    for n in [1, 2] {
        let fix = task_of(&s, &format!("a-fix-{n}"));
        assert_eq!(fix.role, Role::Debugger, "{fix:#?}");
        assert!(fix.is_temporary);
        assert_eq!(fix.parent_id.as_deref(), Some("a"));
        assert_eq!(fix.branch_reason.as_deref(), Some("implementation_bug"));
        assert_eq!(fix.status, TaskStatus::Failed);
        assert_eq!(
            fix.acceptance_checks, a.acceptance_checks,
            "the fix runs a's checks"
        );
        let why = fix.debug_instructions.clone().unwrap_or_default();
        for needle in [
            "Failure class: implementation_bug",
            "Acceptance criterion: the build passes",
            "`echo build-said-no; false`",
            "exit 1",
            "build-said-no\n",
            // The branch's diff against main: the stat and the patch.
            "work.txt",
            "+line from a",
        ] {
            assert!(why.contains(needle), "{needle:?} missing from:\n{why}");
        }
    }
    assert!(
        task_of(&s, "a-fix-2")
            .debug_instructions
            .unwrap_or_default()
            .contains("+line from a-fix-1"),
        "the second attempt sees the first fix's change in the diff"
    );
    assert!(s.plan.as_ref().unwrap().task("a-fix-3").is_none());
    let debugger = s
        .agents
        .values()
        .find(|g| g.role == Role::Debugger)
        .expect("a debugger agent ran the fixes");
    assert_eq!(debugger.adapter, "sh");
    let c = critical_on(&s, "a").unwrap();
    assert_eq!(c.to, Role::Human);
    assert!(
        c.summary.contains("after 2 debug attempts"),
        "{}",
        c.summary
    );
    assert!(c.details.as_deref().unwrap_or("").contains("build-said-no"));
    // The command's whole output is logged like the project's check.
    let log = swarm
        .repo
        .workspace()
        .log_dir()
        .join("agents")
        .join(a.owner.clone().unwrap_or_else(|| "implementer-1".into()))
        .join("a-criterion-1.log");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(text.contains("build-said-no"), "{}: {text}", log.display());
}

#[test]
fn the_debugger_fixes_a_failing_criterion_and_the_task_is_done() {
    let repo = committed();
    let mut config = base_config("sh");
    sh_adapter(
        &mut config,
        "sh",
        "case \"$OVERLORD_TASK\" in *-fix-*) echo 'answer is 42' > answer.txt;; *) echo 'answer is 41' > answer.txt;; esac",
    );
    let swarm = Swarm::start(repo, config);
    swarm.import(&plan_of(&[serde_json::json!({
        "id": "a", "title": "A", "agent_role": "implementer",
        "acceptance_criteria": [{"description": "the answer", "command": "cat answer.txt",
                                 "expect": "answer is 42"}]
    })]));
    swarm.approve_plan();
    let s = swarm.wait("a done through its fix", 60, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
    });
    let fix = task_of(&s, "a-fix-1");
    assert_eq!(fix.role, Role::Debugger);
    assert_eq!(fix.status, TaskStatus::Done);
    let why = fix.debug_instructions.unwrap_or_default();
    assert!(
        why.contains("expected exit 0 and output containing \"answer is 42\"")
            && why.contains("answer is 41"),
        "{why}"
    );
    let sess = s.git.clone().unwrap();
    let answer = git(
        swarm.repo.path(),
        swarm.repo.home.path(),
        &["show", &format!("{}:answer.txt", sess.task_branch("a"))],
    );
    assert_eq!(answer.trim(), "answer is 42", "the fix is on a's branch");
}

#[test]
fn a_flaky_criterion_goes_to_the_tester_who_makes_it_deterministic() {
    let repo = committed();
    let count = repo.home.path().join("count");
    let mut config = base_config("sh");
    sh_adapter(
        &mut config,
        "sh",
        "case \"$OVERLORD_TASK\" in *-fix-*) echo seeded > fixture.txt;; *) echo work > a.txt;; esac",
    );
    let swarm = Swarm::start(repo, config);
    // Fails on odd runs, passes on even ones, until the fixture exists.
    let command = format!(
        "test -f fixture.txt || {{ n=$(cat '{c}' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '{c}'; echo run $n; [ $((n % 2)) -eq 0 ]; }}",
        c = count.display()
    );
    swarm.import(&plan_of(&[serde_json::json!({
        "id": "a", "title": "A", "agent_role": "implementer",
        "acceptance_criteria": [{"description": "the suite", "command": command}]
    })]));
    swarm.approve_plan();
    let s = swarm.wait("a done through the tester's fix", 60, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
    });
    let fix = task_of(&s, "a-fix-1");
    assert_eq!(fix.role, Role::Tester, "{fix:#?}");
    assert_eq!(fix.branch_reason.as_deref(), Some("flaky_test"));
    assert_eq!(fix.status, TaskStatus::Done);
    let why = fix.debug_instructions.unwrap_or_default();
    assert!(
        why.contains("passed when run again") && why.contains("run 1"),
        "{why}"
    );
    assert_eq!(
        std::fs::read_to_string(&count).unwrap().trim(),
        "2",
        "run once, failed, run again once, passed"
    );
}

#[test]
fn bad_criteria_have_a_clear_outcome() {
    let repo = committed();
    let mut config = base_config("sh");
    sh_adapter(&mut config, "sh", "echo 'did the work'");
    let swarm = Swarm::start(repo, config);
    // An empty command: the import is refused, naming the task and the criterion.
    swarm.repo.write(
        "plan.json",
        &plan_of(&[serde_json::json!({
            "id": "e", "title": "E", "agent_role": "implementer",
            "acceptance_criteria": [{"description": "tests", "command": ""}]
        })]),
    );
    let r = swarm.cmd("/import plan.json");
    assert!(!r.ok);
    assert!(
        r.message
            .contains("task 'e': acceptance criterion 1: its command is empty"),
        "{}",
        r.message
    );
    assert!(swarm.state().plan.is_none(), "nothing was imported");

    // A command the worktree does not have, and one that hangs past the task's timeout.
    swarm.import(&plan_of(&[
        serde_json::json!({
            "id": "m", "title": "M", "agent_role": "implementer", "max_debug_attempts": 1,
            "acceptance_criteria": [{"command": "no-such-tool-overlord --check"}]
        }),
        serde_json::json!({
            "id": "h", "title": "H", "agent_role": "implementer", "max_debug_attempts": 1,
            "timeout_seconds": 2,
            "acceptance_criteria": [{"description": "the bench", "command": "echo started; sleep 60"}]
        }),
    ]));
    swarm.approve_plan();
    let s = swarm.wait("both handed to the human", 90, |s| {
        critical_on(s, "m").is_some() && critical_on(s, "h").is_some()
    });
    let m = task_of(&s, "m-fix-1");
    assert_eq!(
        m.role,
        Role::Designer,
        "a missing command: the spec names what is not there"
    );
    assert_eq!(m.branch_reason.as_deref(), Some("spec_mismatch"));
    let why = m.debug_instructions.unwrap_or_default();
    assert!(
        why.contains("exit 127") && why.contains("not found"),
        "{why}"
    );
    let h = task_of(&s, "h-fix-1");
    assert_eq!(h.role, Role::Tester);
    assert_eq!(h.branch_reason.as_deref(), Some("timeout"));
    let why = h.debug_instructions.unwrap_or_default();
    assert!(
        why.contains("timed out after") && why.contains("started"),
        "{why}"
    );
    for t in ["m", "h"] {
        assert_eq!(task_of(&s, t).status, TaskStatus::Failed);
    }
    // The supervisor goes on: a command still gets its answer.
    assert!(swarm.cmd("/status").ok);
}

#[test]
fn the_conditions_of_an_approved_variation_are_checked_when_the_task_finishes() {
    let repo = committed();
    let mut config = base_config("sh");
    sh_adapter(
        &mut config,
        "sh",
        "case \"$OVERLORD_TASK\" in *-fix-*) echo met > condition.txt;; *) echo work > a.txt;; esac",
    );
    let swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    let r = swarm.handle.submit_blocking(
        Origin::Agent {
            agent: "implementer-1".into(),
            role: Some(Role::Implementer),
        },
        parse("/propose --impact high --affects a Store results in a file").unwrap(),
    );
    assert!(r.ok, "{}", r.message);
    swarm.ok("/approve V-1 --conditions \"the condition holds: `test -f condition.txt`\"");
    swarm.approve_plan();
    let s = swarm.wait("a done once the condition holds", 60, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
    });
    let fix = task_of(&s, "a-fix-1");
    assert_eq!(fix.role, Role::Debugger);
    let why = fix.debug_instructions.unwrap_or_default();
    assert!(
        why.contains("Acceptance criterion: the condition holds")
            && why.contains("`test -f condition.txt`"),
        "{why}"
    );
}
