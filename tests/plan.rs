//! Plan import: the TodoList shape of seed 003, and every validation error naming the task.

use overlord::core::plan::parse_todo_list;
use overlord::protocol::model::{Role, TaskStatus};

use crate::common::*;

fn err(text: &str) -> String {
    parse_todo_list(text, "plan.json", "2026-01-01T00:00:00.000Z")
        .expect_err("should be invalid")
        .to_string()
}

#[test]
fn imports_the_seed_shape_with_aliases() {
    let plan = parse_todo_list(PLAN, "plan.json", "now").unwrap();
    assert_eq!(plan.id, "workflow_sample_001");
    assert_eq!(plan.phases.len(), 2);
    let t1 = plan.task("t1_data").unwrap();
    assert_eq!(
        t1.role,
        Role::Implementer,
        "seed 003's coder is the implementer"
    );
    assert_eq!(t1.priority, "high");
    assert_eq!(t1.status, TaskStatus::Todo);
    let t2 = plan.task("t2_indicators").unwrap();
    assert_eq!(
        t2.role,
        Role::Designer,
        "seed 003's architect is the designer"
    );
    assert_eq!(
        t2.acceptance_criteria,
        vec!["RSI matches fixture: `pytest tests/test_rsi.py`"]
    );
}

#[test]
fn flat_task_lists_and_branch_todos() {
    let plan = parse_todo_list(
        r#"{"tasks": [
            {"id": "t2", "title": "Indicators", "agent_role": "coder"},
            {"id": "t2_branch_01", "parent_id": "t2", "title": "Debug RSI mismatch",
             "agent_role": "debugger", "branch_reason": "test_failure",
             "debug_instructions": "Expected 28.5, got 32.1.", "is_temporary": true,
             "max_debug_attempts": 3, "dependencies": ["t2"]}
        ]}"#,
        "p.json",
        "now",
    )
    .unwrap();
    assert_eq!(plan.phases.len(), 1);
    let b = plan.task("t2_branch_01").unwrap();
    assert!(b.is_temporary);
    assert_eq!(b.max_debug_attempts, Some(3));
    assert_eq!(b.parent_id.as_deref(), Some("t2"));
}

#[test]
fn validation_errors_name_the_task() {
    let e = err(
        r#"{"tasks":[{"id":"a","title":"A","agent_role":"coder"},{"id":"a","title":"B","agent_role":"coder"}]}"#,
    );
    assert!(e.contains("duplicate task id 'a' (tasks 1 and 2)"), "{e}");
    let e = err(
        r#"{"tasks":[{"id":"t1","title":"A","agent_role":"coder","dependencies":["t9"]},{"id":"t2","title":"B","agent_role":"coder"}]}"#,
    );
    assert!(e.contains("task 't1' depends on unknown task 't9'"), "{e}");
    let e = err(
        r#"{"tasks":[{"id":"build","title":"A","agent_role":"coder","dependencies":["biuld"]}]}"#,
    );
    assert!(e.contains("did you mean 'build'?"), "{e}");
    let e = err(r#"{"tasks":[
        {"id":"a","title":"A","agent_role":"coder","dependencies":["c"]},
        {"id":"b","title":"B","agent_role":"coder","dependencies":["a"]},
        {"id":"c","title":"C","agent_role":"coder","dependencies":["b"]}]}"#);
    assert!(e.contains("dependency cycle: a → c → b → a"), "{e}");
    let e = err(r#"{"tasks":[{"id":"a","title":"A","agent_role":"coder","dependencies":["a"]}]}"#);
    assert!(e.contains("task 'a' depends on itself"), "{e}");
    let e = err(r#"{"tasks":[{"id":"a","title":"A","agent_role":"wizard"}]}"#);
    assert!(e.contains("task 'a': unknown role 'wizard'"), "{e}");
    let e = err(r#"{"tasks":[{"id":"a","title":"A","agent_role":"coder","dependancies":[]}]}"#);
    assert!(
        e.contains("unknown field `dependancies`") && e.contains("line 1"),
        "{e}"
    );
    let e = err("{\"tasks\": [\n  {\"id\": \"a\", \"title\": }\n]}");
    assert!(e.contains("line 2"), "{e}");
    let e = err(r#"{"tasks":[]}"#);
    assert!(e.contains("no tasks"), "{e}");
    let e = err(
        r#"{"phases":[{"id":"p","tasks":[{"id":"a","title":"A","agent_role":"coder"}]},{"id":"p","tasks":[]}]}"#,
    );
    assert!(e.contains("duplicate phase id 'p'"), "{e}");
    let e = err(r#"{"tasks":[{"id":"a b","title":"A","agent_role":"coder"}]}"#);
    assert!(e.contains("invalid id 'a b'"), "{e}");
    let e = err(r#"{"tasks":[{"id":"a","title":"A","agent_role":"coder","parent_id":"zz"}]}"#);
    assert!(e.contains("unknown parent 'zz'"), "{e}");
    let e = err("not json");
    assert!(e.starts_with("plan plan.json:"), "{e}");
}

/// An outsized plan is refused before it slows every later command: by its file size (not
/// even read) and by its number of tasks, with the setting to change named.
#[test]
fn plans_over_the_size_caps_are_refused_and_change_nothing() {
    let repo = Repo::new();
    repo.core();
    repo.write("plan.json", PLAN);
    let mut config = overlord::config::Config::default();
    config.core.max_plan_tasks = 2;
    let mut core = overlord::core::Core::open(&repo.workspace(), &config).unwrap();
    let msg = rejected(&mut core, "/import plan.json");
    assert!(
        msg.contains("has 3 tasks, over the 2 allowed ([core] max_plan_tasks)"),
        "{msg}"
    );
    config.core.max_plan_tasks = 3;
    config.core.max_plan_bytes = PLAN.len() as u64 - 1;
    let mut core = overlord::core::Core::open(&repo.workspace(), &config).unwrap();
    let msg = rejected(&mut core, "/import plan.json");
    assert!(msg.contains("([core] max_plan_bytes)"), "{msg}");
    assert!(core.state().plan.is_none());
    config.core.max_plan_bytes = PLAN.len() as u64;
    let mut core = overlord::core::Core::open(&repo.workspace(), &config).unwrap();
    ok(&mut core, "/import plan.json");
    // The default admits a plan of two thousand tasks, and not one more.
    let defaults = overlord::config::Config::default();
    assert_eq!(defaults.core.max_plan_tasks, 2000);
    assert_eq!(defaults.core.max_plan_bytes, 1 << 20);
}

#[test]
fn a_bad_plan_changes_nothing_and_a_good_reimport_keeps_progress() {
    let repo = Repo::new();
    let mut core = repo.core();
    repo.write(
        "bad.json",
        r#"{"tasks":[{"id":"a","title":"A","agent_role":"coder","dependencies":["b"]}]}"#,
    );
    let msg = rejected(&mut core, "/import bad.json");
    assert!(msg.contains("depends on unknown task 'b'"), "{msg}");
    let msg = rejected(&mut core, "/import missing.json");
    assert!(msg.contains("cannot read plan"), "{msg}");
    assert!(core.state().plan.is_none());

    repo.write("plan.json", PLAN);
    ok(&mut core, "/import plan.json");
    ok(&mut core, "/task t1_data done");
    ok(&mut core, "/import plan.json");
    let plan = core.state().plan.as_ref().unwrap();
    assert_eq!(plan.task("t1_data").unwrap().status, TaskStatus::Done);
    assert_eq!(
        core.state().pending_approvals().count(),
        1,
        "re-importing does not ask twice"
    );
}

#[test]
fn the_sample_plan_in_assets_is_valid() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/sample-plan.json"
    ))
    .unwrap();
    let plan = parse_todo_list(&text, "assets/sample-plan.json", "now").unwrap();
    assert_eq!(plan.phases.len(), 2);
    assert_eq!(plan.tasks().count(), 5);
}

#[test]
fn the_embedded_default_configuration_parses() {
    let parsed: overlord::config::Config =
        toml::from_str(overlord::config::DEFAULT_CONFIG).unwrap();
    assert_eq!(parsed, overlord::config::Config::default());
    // Every key is written out, so the file documents all of them.
    let table: toml::Table = toml::from_str(overlord::config::DEFAULT_CONFIG).unwrap();
    fn keys_of(prefix: &str, t: &toml::Table, out: &mut Vec<String>) {
        for (k, v) in t {
            let name = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v.as_table() {
                Some(sub) => keys_of(&name, sub, out),
                None => out.push(name),
            }
        }
    }
    let mut keys = Vec::new();
    keys_of("", &table, &mut keys);
    for key in [
        "core.snapshot_every",
        "core.poll_ms",
        "core.max_plan_bytes",
        "core.max_plan_tasks",
        "core.kill_switch_concerns",
        "git.main",
        "git.protected",
        "git.save",
        "git.auto_save_interval_secs",
        "git.release_branch",
        "git.version_tag",
        "review.enabled",
        "review.roles",
        "review.documents",
        "review.max_rounds",
        "qa.policy",
        "qa.verify_command",
        "qa.timeout_secs",
        "qa.build.command",
        "qa.build.format",
        "qa.build.report",
        "qa.tests.command",
        "qa.tests.format",
        "qa.tests.report",
        "qa.lint.command",
        "qa.lint.format",
        "qa.lint.report",
        "qa.coverage.command",
        "qa.coverage.format",
        "qa.coverage.report",
        "qa.e2e.command",
        "qa.e2e.format",
        "qa.e2e.report",
        "worktrees.copy",
        "worktrees.setup_command",
        "worktrees.setup_timeout_secs",
        "console.theme",
        "console.bell",
        "console.desktop_notifications",
        "agents.concurrency",
        "agents.max_attempts",
        "agents.backoff_secs",
        "agents.backoff_max_secs",
        "agents.timeout_secs",
        "agents.cancel_grace_secs",
        "agents.permission_timeout_secs",
        "agents.escalate_after_secs",
        "agents.max_debug_attempts",
        "agents.fallback",
        "agents.rate_limit_pause_secs",
        "agents.rate_limit_retries",
        "agents.flush_ms",
        "agents.stall_secs",
        "agents.task_budget_tokens",
        "agents.task_budget_usd",
        "agents.acceptance_command",
        "agents.sandbox",
        "agents.sandbox_extra_write",
        "agents.sandbox_net_ports",
        "roles.pm.adapter",
        "roles.pm.prompt",
        "roles.pm.budget_tokens",
        "roles.pm.budget_usd",
        "roles.designer.adapter",
        "roles.designer.prompt",
        "roles.designer.budget_tokens",
        "roles.designer.budget_usd",
        "roles.implementer.adapter",
        "roles.implementer.prompt",
        "roles.implementer.budget_tokens",
        "roles.implementer.budget_usd",
        "roles.tester.adapter",
        "roles.tester.prompt",
        "roles.tester.budget_tokens",
        "roles.tester.budget_usd",
        "roles.debugger.adapter",
        "roles.debugger.prompt",
        "roles.debugger.budget_tokens",
        "roles.debugger.budget_usd",
        "roles.reviewer.adapter",
        "roles.reviewer.prompt",
        "roles.reviewer.budget_tokens",
        "roles.reviewer.budget_usd",
        "metrics.coverage_min",
        "metrics.coverage_warn_margin",
        "metrics.regression_points",
        "metrics.reproducibility_min",
        "metrics.reproducibility_warn_margin",
        "metrics.build_pass_rate_min",
        "metrics.task_pass_rate_min",
        "metrics.merge_success_min",
        "metrics.flakiness_max",
        "metrics.ack_latency_max_secs",
        "metrics.budget_usd",
        "metrics.budget_warn_fraction",
        "metrics.listen",
        "metrics.evaluate_every_secs",
        "metrics.alert_window",
        "metrics.verify_chain_every_secs",
        "metrics.kill_switch_on",
    ] {
        assert!(keys.contains(&key.to_string()), "{key} missing");
    }
    assert_eq!(keys.len(), 125, "{keys:?}");
    assert!(overlord::config::DEFAULT_QA_POLICY.contains("auto_merge_if"));
}

#[test]
fn config_locations_are_exact_and_never_split_a_character() {
    use overlord::config::line_col;
    assert_eq!(line_col("ab\ncd", 4), (2, 2));
    assert_eq!(
        line_col("é\nx", 1),
        (1, 1),
        "inside 'é' backs off to its start"
    );
    assert_eq!(line_col("short", 99), (1, 6));
}
