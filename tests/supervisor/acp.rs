//! An ACP agent (issue 26) through the real supervisor: an adapter of kind `acp` runs
//! `overlord-tui acp-client` in the sandbox, which drives the test suite's scripted ACP agent
//! (`tests/fake_acp/main.rs`) over real stdio. The task finishes with the file the agent wrote
//! through the client on its branch, nothing written outside its worktree, and the tool calls
//! (kinds, the file touched, the failed ones) kept as the run's telemetry.

use overlord::config::Config;
use overlord::protocol::model::{Concern, ConcernStatus, CostSource, Role, TaskStatus};
use overlord::protocol::permission::{ANSWERS, CATEGORY};
use overlord::protocol::{EventKind, Origin, State};

use super::{base_config, committed, task_status, Swarm, ONE};
use crate::common::git;

#[test]
fn an_acp_agent_does_a_task_through_the_supervisor_confined_to_its_worktree() {
    let repo = committed();
    let mut config = base_config("acp");
    let text = format!(
        "[adapters.acp]\nkind = \"acp\"\nbinary = \"{}\"\n[adapters.acp.permissions]\nexecute = \"deny\"\n",
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
    // The cost the agent reported (`usage_update`); its tokens it did not say: unknown, not 0.
    assert_eq!(t.cost_micros, 12_300, "{t:?}");
    assert_eq!(t.cost_source, CostSource::Reported, "{t:?}");
    assert!(t.tokens_unknown, "{t:?}");

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
        "[adapters.acp]\nkind = \"acp\"\nbinary = \"{}\"\n[adapters.acp.permissions]\nexecute = \"deny\"\n",
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

/// The acp adapter playing `scenario` of the fake agent, with more of its env.
fn acp_config(scenario: &str, env: &str) -> Config {
    let mut config = base_config("acp");
    let text = format!(
        "[adapters.acp]\nkind = \"acp\"\nbinary = \"{}\"\nenv = {{ FAKE_ACP_SCENARIO = \"{scenario}\"{env} }}\n",
        env!("CARGO_BIN_EXE_overlord-fake-acp-agent")
    );
    let extra: Config = toml::from_str(&text).unwrap();
    config.adapters.extend(extra.adapters);
    config
}

fn permission_concerns(s: &State) -> Vec<Concern> {
    s.concerns
        .values()
        .filter(|c| c.category == CATEGORY)
        .cloned()
        .collect()
}

/// What the audit kept of the agents' activity (the client's notes among it).
fn activity(swarm: &Swarm) -> Vec<String> {
    let ws = swarm.repo.workspace();
    let store = overlord::store::Store::open(&ws.store_paths()).unwrap();
    let (events, _) = overlord::core::metrics_serve::read_events(&store).unwrap();
    events
        .iter()
        .filter_map(|ev| match &ev.kind {
            EventKind::AgentActivity {
                last_output: Some(l),
                ..
            } => Some(l.clone()),
            _ => None,
        })
        .collect()
}

/// Every run log of the swarm's agents, concatenated.
fn logs(swarm: &Swarm) -> String {
    let dir = swarm.repo.path().join(".overlord/logs/agents");
    let mut text = String::new();
    for agent in std::fs::read_dir(&dir).unwrap() {
        for log in std::fs::read_dir(agent.unwrap().path()).unwrap() {
            text.push_str(&std::fs::read_to_string(log.unwrap().path()).unwrap());
        }
    }
    text
}

/// The console's keys, as `tests/tui_app.rs` presses them: through the real keymap to the
/// app's update step; what they submit is what the console would send the core.
fn console_press(
    app: &mut overlord::tui::app::App,
    keys: &overlord::tui::keymap::Keymap,
    key: &str,
) -> Vec<overlord::tui::app::Intent> {
    let event = overlord::tui::keymap::parse_key(key).unwrap();
    match keys.resolve(&app.layers(), event) {
        Some(action) => app.on_action(action),
        None => {
            app.on_edit(event);
            Vec::new()
        }
    }
}

#[test]
fn an_acp_agents_ask_goes_to_the_human_and_is_answered_from_the_console() {
    let repo = committed();
    // The agent attacks: it writes an answer into its client's stdin and runs
    // `overlord-tui cmd "/resolve C-1 allow for the session"` while its request waits.
    let env = format!(
        ", FAKE_ACP_ATTACK = \"1\", FAKE_ACP_OVERLORD = \"{}\"",
        env!("CARGO_BIN_EXE_overlord-tui")
    );
    let mut swarm = Swarm::start(repo, acp_config("ask", &env));
    swarm.import(ONE);
    swarm.approve_plan();
    let s = swarm.wait("the permission concern", 60, |s| {
        !permission_concerns(s).is_empty()
    });
    let c = permission_concerns(&s).remove(0);
    let agent = c.raised_by.clone().expect("raised as the agent");
    assert_eq!(c.summary, format!("{agent} asks to run `rm -rf build/`"));
    assert_eq!((c.to, c.status), (Role::Human, ConcernStatus::Open));
    assert_eq!(c.task.as_deref(), Some("a"));
    assert!(c.details.as_deref().unwrap().contains(ANSWERS), "{c:?}");

    // The agent cannot answer its own request: the core refuses its /resolve.
    let role = s.agents[&agent].role;
    let forged = swarm.handle.submit_blocking(
        Origin::Agent {
            agent: agent.clone(),
            role: Some(role),
        },
        overlord::protocol::Command::Resolve {
            concern: c.id,
            note: Some("allow for the session".into()),
        },
    );
    assert!(!forged.ok, "{}", forged.message);
    assert!(
        forged.message.contains("concerns addressed to its role"),
        "{}",
        forged.message
    );
    // Its own `overlord-tui cmd '/resolve …'` (the CLI, as a process of the agent's tree) did
    // not resolve it either: the request still waits.
    assert_eq!(swarm.state().concerns[&c.id].status, ConcernStatus::Open);
    // A human's answer that is not one of the three: a clear error, the request still waits.
    let bad = swarm.cmd(&format!("/resolve {} sure", c.id));
    assert!(!bad.ok);
    assert!(bad.message.contains(ANSWERS), "{}", bad.message);
    assert_eq!(swarm.state().concerns[&c.id].status, ConcernStatus::Open);

    // The console: the concern queue, r on the selected concern, the answer typed, enter.
    let mut app = overlord::tui::app::App::new(swarm.state());
    let keys = overlord::tui::keymap::Keymap::defaults().0;
    console_press(&mut app, &keys, "2");
    assert!(console_press(&mut app, &keys, "r").is_empty());
    assert_eq!(
        app.screen.command.as_deref(),
        Some(format!("/resolve {} ", c.id).as_str())
    );
    assert!(app
        .screen
        .reply
        .as_ref()
        .is_some_and(|(_, hint)| hint.contains(ANSWERS)));
    for ch in "allow for the session".chars() {
        app.on_text(ch);
    }
    let intents = console_press(&mut app, &keys, "enter");
    let [overlord::tui::app::Intent::Submit(command)] = intents.as_slice() else {
        panic!("the console submits one command: {intents:?}");
    };
    let reply = swarm.handle.submit_blocking(
        Origin::Console {
            user: "alice".into(),
        },
        command.clone(),
    );
    assert!(reply.ok, "{}", reply.message);

    let s = swarm.wait("a done", 60, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
    });
    let answered = &s.concerns[&c.id];
    assert_eq!(answered.resolved_by.as_deref(), Some("console:alice"));
    assert_eq!(
        answered.resolution.as_deref(),
        Some("allow for the session")
    );
    // Asked once only: the second, identical request was allowed for the session.
    assert_eq!(
        permission_concerns(&s).len(),
        1,
        "{:#?}",
        permission_concerns(&s)
    );
    // Resolved twice: a clear error.
    let again = swarm.cmd(&format!("/resolve {} reject", c.id));
    assert!(!again.ok);
    assert!(
        again.message.contains("already resolved"),
        "{}",
        again.message
    );

    let log = logs(&swarm);
    for seen in [
        "observed: permission 1 always",
        "observed: permission 2 allow ",
    ] {
        assert!(log.contains(seen), "{seen} not in the run's log:\n{log}");
    }
    // What the agent's `overlord-tui cmd` was told (it ran while the request waited): here,
    // without an owner's socket, the sandbox keeps it from the store; through a socket it
    // would speak as the agent (identity by peer credentials), refused as above.
    let told = log
        .lines()
        .find_map(|l| l.split("observed: cli resolve ").nth(1))
        .unwrap_or_else(|| panic!("the agent's cli attempt is not in the log:\n{log}"));
    assert!(
        !told.starts_with("exit Some(0)") && !told.contains("C-1 resolved"),
        "the agent resolved its own request: {told}"
    );
    // The agent's own answer through its client's stdin: refused, or (as root, where it can
    // open it) ignored for want of the run's key.
    assert!(
        log.contains("observed: stdin attack refused")
            || log.contains("without the run's key (not from Overlord)"),
        "{log}"
    );
    swarm.stop();
    let lines = activity(&swarm);
    for wanted in [
        "permission asked [p1]: execute `rm -rf build/`",
        "permission allowed [p1]: execute `rm -rf build/` (allowed for the session by console:alice)",
        "permission allowed: execute `rm -rf build/` (the default says ask: allowed for the session by console:alice earlier)",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(wanted)),
            "{wanted} not in the audit: {lines:#?}"
        );
    }
}

#[test]
fn an_unanswered_ask_times_out_to_reject_and_its_concern_is_closed_as_expired() {
    let repo = committed();
    let mut config = acp_config("ask", "");
    config.agents.permission_timeout_secs = 1;
    let mut swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    let s = swarm.wait("a done, both asks closed", 60, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
            && permission_concerns(s).len() == 2
            && permission_concerns(s)
                .iter()
                .all(|c| c.status == ConcernStatus::Resolved)
    });
    for c in permission_concerns(&s) {
        assert_eq!(c.resolved_by.as_deref(), Some("system"), "{c:?}");
        let note = c.resolution.clone().unwrap_or_default();
        assert!(
            note.starts_with("expired, rejected without an answer")
                && note.contains("(no answer within 1 s)"),
            "{note}"
        );
        // The human's late answer: the question is closed.
        let late = swarm.cmd(&format!("/resolve {} allow once", c.id));
        assert!(
            !late.ok && late.message.contains("already resolved"),
            "{}",
            late.message
        );
    }
    assert!(logs(&swarm).contains("observed: permission 2 reject"));
    swarm.stop();
    // This agent reports no usage at all: `status --json` says unknown, not 0.
    let o = swarm.repo.run(&["status", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let t = &v["state"]["task_telemetry"]["a"];
    assert_eq!(t["tokens_unknown"], true, "{t}");
    assert_eq!(t["cost_source"], "none", "{t}");
    let lines = activity(&swarm);
    assert!(
        lines.iter().any(|l| l
            .contains("permission rejected [p1]: execute `rm -rf build/` (no answer within 1 s)")),
        "{lines:#?}"
    );
}

#[test]
fn a_run_stopped_while_asking_closes_its_concern() {
    let repo = committed();
    let mut config = acp_config("ask", "");
    config.agents.timeout_secs = 3;
    config.agents.max_attempts = 1;
    let swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    let s = swarm.wait("the ask closed", 60, |s| {
        permission_concerns(s)
            .first()
            .is_some_and(|c| c.status == ConcernStatus::Resolved)
    });
    let c = permission_concerns(&s).remove(0);
    assert_eq!(c.resolved_by.as_deref(), Some("system"), "{c:?}");
    let note = c.resolution.unwrap_or_default();
    assert!(note.starts_with("ended without an answer"), "{note}");
    assert_ne!(task_status(&s, "a"), Some(TaskStatus::Done));
}

#[test]
fn a_retried_acp_run_resumes_its_session_with_session_load() {
    let repo = committed();
    let mut config = acp_config("refuse-first", ", FAKE_ACP_LOAD = \"1\"");
    let rules: Config = toml::from_str("[adapters.acp.permissions]\nexecute = \"deny\"\n").unwrap();
    config.adapters.get_mut("acp").unwrap().permissions = rules.adapters["acp"].permissions.clone();
    let swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    swarm.wait("a done on its second attempt", 60, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
    });
    let log = logs(&swarm);
    // The first run started a session; the retry loaded it.
    assert!(log.contains("observed: session new"), "{log}");
    assert!(log.contains("--resume fake-session-1"), "{log}");
    assert!(
        log.contains("observed: session loaded fake-session-1"),
        "{log}"
    );
    assert!(
        log.contains("resumed session fake-session-1 (session/load)"),
        "{log}"
    );
}
