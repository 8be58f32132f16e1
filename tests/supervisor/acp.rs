//! An ACP agent (issue 26) through the real supervisor: an adapter of kind `acp` runs
//! `overlord-tui acp-client` in the sandbox, which drives the test suite's scripted ACP agent
//! (`tests/fake_acp/main.rs`) over real stdio. The task finishes with the file the agent wrote
//! through the client on its branch, nothing written outside its worktree, and the tool calls
//! (kinds, the file touched, the failed ones) kept as the run's telemetry.

use overlord::config::Config;
use overlord::protocol::model::{CostSource, TaskStatus};
use overlord::protocol::EventKind;

use super::{base_config, committed, task_status, Swarm, ONE};
use crate::common::git;

#[test]
fn an_acp_agent_does_a_task_through_the_supervisor_confined_to_its_worktree() {
    let repo = committed();
    let mut config = base_config("acp");
    let text = format!(
        "[adapters.acp]\nkind = \"acp\"\nbinary = \"{}\"\n",
        env!("CARGO_BIN_EXE_overlord-fake-acp-agent")
    );
    let extra: Config = toml::from_str(&text).unwrap();
    config.adapters.extend(extra.adapters);
    let swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    let s = swarm.wait("a done with its telemetry", 60, |s| {
        task_status(s, "a") == Some(TaskStatus::Done) && s.task_telemetry.contains_key("a")
    });
    let t = &s.task_telemetry["a"];
    assert_eq!(t.runs, 1, "{t:?}");
    assert_eq!(t.failed_runs, 0, "{t:?}");
    assert_eq!(t.tool_calls, 3, "{t:?}");
    assert_eq!(t.tools.get("edit"), Some(&2), "{t:?}");
    assert_eq!(t.tools.get("execute"), Some(&1), "{t:?}");
    assert_eq!(t.failed_tool_calls, 2, "{t:?}");
    // The one file the agent wrote: not the one it was refused outside the worktree.
    assert_eq!(t.files, vec!["hello.txt".to_string()], "{t:?}");
    assert_eq!(t.models, vec!["fake-acp".to_string()], "{t:?}");
    // The cost the agent reported (`usage_update`); its tokens it did not say.
    assert_eq!(t.cost_micros, 12_300, "{t:?}");
    assert_eq!(t.cost_source, CostSource::Reported, "{t:?}");

    // The file is on a branch of the task; outside.txt is nowhere beside any worktree.
    let (dir, home) = (swarm.repo.path(), swarm.repo.home.path());
    let branches = git(
        dir,
        home,
        &["for-each-ref", "--format=%(refname)", "refs/heads"],
    );
    let holding: Vec<&str> = branches
        .lines()
        .filter(|b| {
            git(dir, home, &["ls-tree", "-r", "--name-only", b.trim()])
                .lines()
                .any(|f| f == "hello.txt")
        })
        .collect();
    assert!(!holding.is_empty(), "no branch holds hello.txt: {branches}");
    let worktrees = git(dir, home, &["worktree", "list", "--porcelain"]);
    for wt in worktrees
        .lines()
        .filter_map(|l| l.strip_prefix("worktree "))
    {
        let parent = std::path::Path::new(wt).parent().unwrap();
        assert!(!parent.join("outside.txt").exists(), "written beside {wt}");
    }
}

#[test]
fn an_acp_agents_refused_write_and_permission_decision_are_in_the_audit() {
    let repo = committed();
    let mut config = base_config("acp");
    let text = format!(
        "[adapters.acp]\nkind = \"acp\"\nbinary = \"{}\"\n",
        env!("CARGO_BIN_EXE_overlord-fake-acp-agent")
    );
    let extra: Config = toml::from_str(&text).unwrap();
    config.adapters.extend(extra.adapters);
    let mut swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    swarm.wait("a done", 60, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
    });
    swarm.stop();
    let ws = swarm.repo.workspace();
    let store = overlord::store::Store::open(&ws.store_paths()).unwrap();
    let (events, _) = overlord::core::metrics_serve::read_events(&store).unwrap();
    let lines: Vec<String> = events
        .iter()
        .filter_map(|ev| match &ev.kind {
            EventKind::AgentActivity {
                last_output: Some(l),
                ..
            } => Some(l.clone()),
            _ => None,
        })
        .collect();
    for wanted in [
        "refused to write ",
        "permission rejected: execute `rm -rf build/`",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(wanted)),
            "{wanted} not in the audit: {lines:#?}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains("refused to write ") && l.contains("outside.txt")),
        "{lines:#?}"
    );
}

#[test]
fn an_acp_adapters_permission_rules_answer_its_agent_and_a_bad_rule_is_reported() {
    let repo = committed();
    let mut config = base_config("acp");
    let text = format!(
        "[adapters.acp]\nkind = \"acp\"\nbinary = \"{}\"\n[adapters.acp.permissions]\nexecute = \"allow\"\n\"edit docs/**\" = \"deny\"\n",
        env!("CARGO_BIN_EXE_overlord-fake-acp-agent")
    );
    let extra: Config = toml::from_str(&text).unwrap();
    config.adapters.extend(extra.adapters);
    // A rule that is not one is reported by the adapter's name, the adapter left out.
    let bad: Config =
        toml::from_str("[adapters.bad]\nkind = \"acp\"\nbinary = \"x\"\n[adapters.bad.permissions]\nedit = \"maybe\"\n")
            .unwrap();
    let (specs, errors) = overlord::agent::adapter::resolve(&bad.adapters);
    assert!(specs.iter().all(|s| s.name != "bad"));
    assert_eq!(
        errors,
        vec![
            "[adapters.bad.permissions] \"edit\" = \"maybe\": a decision is allow, ask or deny"
                .to_string()
        ]
    );
    let mut swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    swarm.wait("a done", 60, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
    });
    swarm.stop();
    let ws = swarm.repo.workspace();
    let store = overlord::store::Store::open(&ws.store_paths()).unwrap();
    let (events, _) = overlord::core::metrics_serve::read_events(&store).unwrap();
    assert!(
        events
            .iter()
            .any(|ev| matches!(&ev.kind, EventKind::AgentActivity {
            last_output: Some(l), ..
        } if l.contains("permission allowed: execute `rm -rf build/` (rule \"execute=allow\")"))),
        "the rule's decision is not in the audit"
    );
}

#[test]
fn a_timed_out_acp_run_is_cancelled_in_the_protocol_before_any_signal_reaches_the_agent() {
    let repo = committed();
    let mut config = base_config("acp");
    config.agents.timeout_secs = 2;
    config.agents.cancel_grace_secs = 20;
    config.agents.max_attempts = 1;
    let text = format!(
        "[adapters.acp]\nkind = \"acp\"\nbinary = \"{}\"\nenv = {{ FAKE_ACP_SCENARIO = \"cancel\" }}\n",
        env!("CARGO_BIN_EXE_overlord-fake-acp-agent")
    );
    let extra: Config = toml::from_str(&text).unwrap();
    config.adapters.extend(extra.adapters);
    let swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    // The agent waits for session/cancel only (a signal would kill it: it has no handler).
    swarm.wait("a stopped", 60, |s| {
        !matches!(
            task_status(s, "a"),
            Some(TaskStatus::Todo) | Some(TaskStatus::InProgress) | None
        )
    });
    let logs = swarm.repo.path().join(".overlord/logs/agents");
    let mut text = String::new();
    for agent in std::fs::read_dir(&logs).unwrap() {
        for log in std::fs::read_dir(agent.unwrap().path()).unwrap() {
            text.push_str(&std::fs::read_to_string(log.unwrap().path()).unwrap());
        }
    }
    // The client's last event: the agent ended its turn as cancelled, well within the grace
    // (no SIGTERM was needed).
    assert!(
        text.contains("the agent stopped its turn on Overlord's cancel"),
        "{text}"
    );
    assert!(!text.contains("SIGTERM"), "{text}");
}
