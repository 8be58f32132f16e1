//! The planner (seed 003, issue 24 §6): `overlord-tui plan new "<goal>"` runs the planner
//! role's agent — here the scripted agent — with the TodoList schema and the repository's
//! context; a plan that fails validation is sent back with its errors for another run, and
//! the valid one is imported, awaiting the human's approval.

use overlord::protocol::model::ApprovalKind;

use crate::common::*;

/// Attempt 1 writes a plan with an unknown role; attempt 2 a valid one (the prompt of the
/// second run carries the first one's error: the script checks it with `run`).
const SCRIPT: &str = r#"
[[step]]
attempt = 1
write = { path = "plan.json", content = '{"todo_list_id": "p", "title": "Greeter", "tasks": [{"id": "a", "title": "A", "agent_role": "wizard"}]}' }

[[step]]
attempt = 2
write = { path = "plan.json", content = '{"todo_list_id": "greeter", "title": "Greeter", "phases": [{"id": "phase-1", "name": "Hello", "tasks": [{"id": "hello", "title": "Say hello", "agent_role": "implementer", "acceptance_criteria": [{"description": "it greets", "command": "./hello.sh", "expect": "hello"}]}, {"id": "docs", "title": "Document it", "agent_role": "implementer", "dependencies": ["hello"]}]}]}' }
"#;

fn planner_repo(script: &str, attempts: u32) -> Repo {
    let repo = Repo::new();
    repo.write("README.md", "# Greeter\nA program that greets.\n");
    let out = repo.run(&["init"]);
    assert!(out.status.success(), "{out:?}");
    let path = repo.path().join(".overlord/config.toml");
    let config = std::fs::read_to_string(&path)
        .unwrap()
        .replace(
            "[roles.planner]\nadapter = \"codex\"",
            "[roles.planner]\nadapter = \"scripted\"",
        )
        .replace(
            "max_attempts = 3\ntimeout_secs = 900",
            &format!("max_attempts = {attempts}\ntimeout_secs = 60"),
        )
        .replace("sandbox = \"enforce\"", "sandbox = \"best_effort\"");
    std::fs::write(&path, config).unwrap();
    repo.write("scripts/plan.toml", script);
    repo
}

#[test]
fn plan_new_with_the_scripted_planner_gives_a_validated_plan_awaiting_approval() {
    let repo = planner_repo(SCRIPT, 3);
    let out = repo.run(&["plan", "new", "a program that greets", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let reply: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reply["ok"], true, "{reply}");
    let core = repo.reopen();
    let s = core.state();
    let plan = s.plan.as_ref().expect("the plan is imported");
    assert_eq!(plan.id, "greeter");
    assert_eq!(plan.tasks().count(), 2);
    assert_eq!(
        plan.task("hello").unwrap().acceptance_checks[0].command,
        "./hello.sh"
    );
    let pending: Vec<_> = s
        .pending_approvals()
        .filter(|a| a.kind == ApprovalKind::Plan && a.subject == "greeter")
        .collect();
    assert_eq!(pending.len(), 1, "the plan awaits the human's approval");
    // Two runs: the second prompt carried the first plan's error.
    let logs = repo.path().join(".overlord/logs/agents/planner");
    let mut names: Vec<String> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    let second = std::fs::read_to_string(logs.join(&names[1])).unwrap();
    assert!(
        second.contains("unknown role") || second.contains("wizard"),
        "{second}"
    );
}

#[test]
fn a_planner_that_never_writes_a_valid_plan_fails_after_its_attempts_and_imports_nothing() {
    let bad = r#"
[[step]]
write = { path = "plan.json", content = '{"title": "x", "tasks": [{"id": "a", "title": "A", "agent_role": "implementer", "dependencies": ["a"]}]}' }
"#;
    let repo = planner_repo(bad, 2);
    let out = repo.run(&["plan", "new", "anything"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no valid plan in 2 attempts") && err.contains("depends on itself"),
        "{err}"
    );
    assert!(repo.reopen().state().plan.is_none());
    // An empty goal is refused before any run.
    let out = repo.run(&["plan", "new", "  "]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the goal is empty"));
}
