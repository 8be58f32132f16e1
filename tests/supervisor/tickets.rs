//! Tickets run to integration (issue 24 §1): a seed 002 ticket file filed into the
//! ready-for-robot queue, approved by the human in one batch, becomes plan tasks (role by
//! type, most urgent first, acceptance commands carried over) that scripted agents work and
//! Overlord integrates and gates.

use overlord::config::SaveMode;
use overlord::protocol::model::{QaDecision, Role, TaskStatus, TicketStatus};

use super::{base_config, committed, sh_adapter, task_status, Swarm};

const POLICY: &str = "auto_merge_if:\n  all_tests_passed: true\nrequire_human_if:\n  gate_fail: false\ngates:\n  reproducibility_runs: 1\n  not_measured: ignore\n";

/// Seed 002 §5.1 tickets as written (plus a title on the chore): a low chore filed before a
/// high bug with an error log and an acceptance command.
const TICKETS: &str = r#"[
  {"id": "ENG-2", "type": "chore", "priority": "low", "title": "tidy the readme",
   "context": {"repo": "demo", "filepaths": ["README.md"]},
   "acceptance_criteria": ["README still there: `test -f README.md`"]},
  {"id": "ENG-1", "type": "bug", "priority": "high",
   "context": {"repo": "demo", "filepaths": ["src/header.rs"],
               "error_logs": "thread 'main' panicked at src/header.rs:12: index out of bounds"},
   "acceptance_criteria": [{"description": "the fix is written", "command": "test -f ENG-1.txt"}]}
]"#;

#[test]
fn a_ticket_file_filed_and_approved_in_a_batch_runs_to_integration() {
    let repo = committed();
    repo.write(".overlord/QA_POLICY.yaml", POLICY);
    let mut config = base_config("sh");
    config.git.save = SaveMode::Manual;
    config.qa.tests.command = "ls *.txt".into();
    config.qa.tests.format = "exit".into();
    sh_adapter(
        &mut config,
        "sh",
        "echo \"$OVERLORD_TASK was here\" > \"$OVERLORD_TASK.txt\"; echo done",
    );
    let swarm = Swarm::start(repo, config);
    swarm.repo.write("tickets.json", TICKETS);
    let r = swarm.ok("/ticket tickets.json");
    assert!(r.message.contains("filed 2 tickets"), "{}", r.message);
    let s = swarm.state();
    assert!(s
        .tickets
        .values()
        .all(|t| t.status == TicketStatus::ReadyForRobot));
    assert!(s.plan.is_none(), "nothing runs before the human's approval");

    let r = swarm.ok("/approve tickets all");
    assert!(r.message.contains("approved 2 tickets"), "{}", r.message);
    let s = swarm.state();
    let plan = s.plan.as_ref().expect("the tickets' plan");
    let tasks: Vec<_> = plan.phase("tickets").unwrap().tasks.iter().collect();
    // Most urgent first; a bug with an error log goes to the debugger.
    assert_eq!(tasks[0].id, "ENG-1");
    assert_eq!(tasks[0].role, Role::Debugger);
    assert_eq!(tasks[0].acceptance_checks[0].command, "test -f ENG-1.txt");
    assert_eq!(tasks[1].id, "ENG-2");
    assert_eq!(tasks[1].role, Role::Implementer);
    assert_eq!(tasks[1].acceptance_checks[0].command, "test -f README.md");
    assert!(tasks[0].description.contains("index out of bounds"));

    swarm.wait("both tickets integrated and gated", 90, |s| {
        task_status(s, "ENG-1") == Some(TaskStatus::Done)
            && task_status(s, "ENG-2") == Some(TaskStatus::Done)
            && s.operation.is_none()
            && s.qa_runs
                .iter()
                .any(|r| r.decision == QaDecision::AutoMerge)
            && swarm.integrated_files().contains("ENG-1.txt")
            && swarm.integrated_files().contains("ENG-2.txt")
    });
    let s = swarm.state();
    assert!(s
        .tickets
        .values()
        .all(|t| t.status == TicketStatus::Approved));
    // The batch approval is recorded as the human's, in the audit trail.
    let cmds = swarm.audit_commands();
    assert!(cmds.iter().any(|(o, n)| n == "approve" && o.is_human()));
}

/// `/plan <goal>` in the swarm: the supervisor runs the scripted planner (whose first plan is
/// refused and second valid) and imports the plan, which awaits the human's approval.
#[test]
fn plan_in_the_swarm_runs_the_planner_and_the_plan_awaits_approval() {
    let repo = committed();
    repo.write(
        "scripts/plan.toml",
        r#"
[[step]]
attempt = 1
write = { path = "plan.json", content = '{"title": "G", "tasks": [{"id": "a", "title": "A", "agent_role": "implementer", "dependencies": ["b"]}]}' }

[[step]]
attempt = 2
write = { path = "plan.json", content = '{"todo_list_id": "greeter", "title": "Greeter", "tasks": [{"id": "hello", "title": "Say hello", "agent_role": "implementer"}]}' }
"#,
    );
    let mut config = base_config("sh");
    config.roles.planner.adapter = "scripted".into();
    sh_adapter(&mut config, "sh", "echo done");
    let swarm = Swarm::start(repo, config);
    swarm.wait_supervisor_running();
    let r = swarm.ok("/plan a program that greets");
    assert!(r.message.contains("the planner is asked"), "{}", r.message);
    let s = swarm.wait("the planner's plan imported", 60, |s| {
        s.plan.as_ref().is_some_and(|p| p.id == "greeter")
    });
    assert!(
        s.pending_approvals()
            .any(|a| a.kind == overlord::protocol::model::ApprovalKind::Plan
                && a.subject == "greeter")
    );
    assert_eq!(
        task_status(&s, "hello"),
        Some(TaskStatus::Todo),
        "nothing runs before approval"
    );
}
