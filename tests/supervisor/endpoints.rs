//! A CLI that cannot reach its endpoint (issue 21, item 7): a codex adapter whose program
//! replays what the real codex 0.169.0 printed against a closed port
//! (`tests/fixtures/agent-cli/codex-0.169.0/exec_unreachable.jsonl`: `Reconnecting...
//! waiting for network …`, over and over, no answer) makes the human hear, within
//! `[agents] unreachable_secs`, which agent, adapter and endpoint — instead of an hour of a
//! busy-looking agent until the task's timeout. A CLI that reconnects once and then makes
//! progress raises nothing.

use std::path::Path;

use overlord::config::Config;
use overlord::protocol::model::{Role, Severity, TaskStatus};

use super::{base_config, committed, task_status, Swarm, ONE};

const URL: &str = "http://127.0.0.1:9/v1";

/// A `[adapters.cx]` of kind codex whose program is an `sh` script (the codex command line it
/// gets is ignored), pointed at the closed port `URL`.
fn codex_replay(config: &mut Config, dir: &Path, body: &str) {
    let program = dir.join("fake-codex");
    std::fs::write(&program, format!("#!/bin/sh\n{body}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    let extra: Config = toml::from_str(&format!(
        "[adapters.cx]\nkind = \"codex\"\nbinary = \"{}\"\nbase_url = \"{URL}\"\n",
        program.display()
    ))
    .unwrap();
    config.adapters.extend(extra.adapters);
}

fn fixture() -> String {
    format!(
        "{}/tests/fixtures/agent-cli/codex-0.169.0/exec_unreachable.jsonl",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn a_cli_that_cannot_reach_its_endpoint_is_reported_to_the_human() {
    let repo = committed();
    let mut config = base_config("cx");
    config.agents.unreachable_secs = 1;
    config.agents.stall_secs = 3600;
    // The real lines, then codex keeps trying (it never gives up on its own).
    codex_replay(
        &mut config,
        repo.home.path(),
        &format!("cat '{}'\nexec sleep 120", fixture()),
    );
    let swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    let s = swarm.wait("the unreachable endpoint's concern", 30, |s| {
        s.concerns
            .values()
            .any(|c| c.category == "endpoint_unreachable")
    });
    let c = s
        .concerns
        .values()
        .find(|c| c.category == "endpoint_unreachable")
        .unwrap();
    assert_eq!(c.to, Role::Human);
    assert_eq!(c.severity, Severity::Critical);
    assert!(c.summary.contains("implementer-1"), "{}", c.summary);
    assert!(c.summary.contains("adapter cx"), "{}", c.summary);
    assert!(c.summary.contains(URL), "{}", c.summary);
    let details = c.details.clone().unwrap_or_default();
    assert!(
        details.contains("Reconnecting... waiting for network"),
        "{details}"
    );
    assert_eq!(c.task.as_deref(), Some("a"));
    // Once: the concern is not repeated while the CLI keeps reconnecting.
    assert_eq!(
        s.concerns
            .values()
            .filter(|c| c.category == "endpoint_unreachable")
            .count(),
        1
    );
}

#[test]
fn a_cli_that_reconnects_once_then_answers_raises_nothing() {
    let repo = committed();
    let mut config = base_config("cx");
    config.agents.unreachable_secs = 1;
    // One reconnect, then an answer, then quiet work for longer than the window, then the
    // end of the turn: the answer stopped the clock.
    let lines = [
        r#"{"type":"thread.started","thread_id":"t-1"}"#,
        r#"{"type":"turn.started"}"#,
        r#"{"type":"error","message":"Reconnecting... waiting for network (Connection failed: error sending request)"}"#,
        r#"{"type":"item.completed","item":{"id":"item_0","type":"agent_message","text":"Working on it"}}"#,
    ];
    let done = r#"{"type":"turn.completed","usage":{"input_tokens":10,"cached_input_tokens":0,"output_tokens":5}}"#;
    let mut body = String::new();
    for l in lines {
        body.push_str(&format!("echo '{l}'\n"));
    }
    body.push_str(&format!("sleep 3\necho '{done}'"));
    codex_replay(&mut config, repo.home.path(), &body);
    let swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    let s = swarm.wait("a done", 60, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
    });
    assert!(
        !s.concerns
            .values()
            .any(|c| c.category == "endpoint_unreachable"),
        "{:?}",
        s.concerns.values().map(|c| &c.summary).collect::<Vec<_>>()
    );
}

#[test]
fn a_key_variable_that_is_not_set_fails_the_task_at_once_naming_it() {
    let repo = committed();
    let mut config = base_config("cl");
    config.agents.max_attempts = 3;
    let program = repo.home.path().join("fake-claude");
    let ran = repo.home.path().join("ran");
    std::fs::write(&program, format!("#!/bin/sh\ntouch '{}'\n", ran.display())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    let extra: Config = toml::from_str(&format!(
        "[adapters.cl]\nkind = \"claude\"\nbinary = \"{}\"\napi_key_env = \"OVERLORD_TEST_UNSET_LLM_KEY\"\n",
        program.display()
    ))
    .unwrap();
    config.adapters.extend(extra.adapters);
    let swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    let s = swarm.wait("a failed", 30, |s| {
        task_status(s, "a") == Some(TaskStatus::Failed)
    });
    let a = s.plan.as_ref().unwrap().task("a").unwrap();
    let last = a.commentary.last().unwrap();
    assert!(
        last.contains("$OVERLORD_TEST_UNSET_LLM_KEY is not set"),
        "{:?}",
        a.commentary
    );
    // Not retried, and the CLI never started.
    assert_eq!(
        a.commentary
            .iter()
            .filter(|c| c.contains("started attempt"))
            .count(),
        1,
        "{:?}",
        a.commentary
    );
    assert!(!swarm.repo.home.path().join("ran").exists());
}
