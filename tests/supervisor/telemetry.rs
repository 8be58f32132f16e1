//! What the agent did is kept (issue 21 §3): the captured output of each real CLI (codex,
//! Claude Code, Gemini CLI), with an edit and a failing tool added in the CLI's own format,
//! replayed as the CLI's output through the real supervisor. Every field — tool calls and
//! which failed (with the exit code where the CLI tells it), files touched (repo-relative,
//! one form for the three CLIs' three forms, kept after the task), the token split, the cost
//! and its source, the model — is checked in the state, the audit (`agent_run_reported`,
//! the same after a replay of the audit), `status --json` (state and report), the task's
//! hand-off, and `metrics --json` by adapter and model.

use std::path::Path;

use overlord::agent::parse::{AgentParser, ClaudeParser, CodexParser, GeminiParser};
use overlord::agent::{cost, AgentEvent, PriceTable, Usage};
use overlord::config::Config;
use overlord::protocol::model::{CostSource, TaskStatus, TaskTelemetry};
use overlord::protocol::{EventKind, State};
use serde_json::Value;

use super::{base_config, committed, task_status, Swarm, ONE};
use crate::common::stdout;

const CODEX: &str = include_str!("../fixtures/agent-cli/codex-0.169.0/exec_tool_call.jsonl");
const CLAUDE: &str =
    include_str!("../fixtures/agent-cli/claude-code-2.1.329/print_stream_json_tool_call.jsonl");
const GEMINI: &str =
    include_str!("../fixtures/agent-cli/gemini-cli-0.61.0/prompt_stream_json_tool_call.jsonl");

const PRICES: PriceTable = PriceTable {
    input_per_mtok: 1.25,
    output_per_mtok: 10.0,
    cached_input_per_mtok: 0.125,
};

/// `fixture` with `extra` lines put before its first line of type `before`; `@WT@` stands
/// for the worktree (the CLI's working directory).
fn with_extra(fixture: &str, before: &str, extra: &[String]) -> String {
    let mut out = String::new();
    let mut done = false;
    for line in fixture.lines() {
        let kind = serde_json::from_str::<Value>(line)
            .ok()
            .and_then(|v| v["type"].as_str().map(str::to_string));
        if !done && kind.as_deref() == Some(before) {
            for e in extra {
                out.push_str(e);
                out.push('\n');
            }
            done = true;
        }
        out.push_str(line);
        out.push('\n');
    }
    assert!(done, "no `{before}` line");
    out
}

fn codex_output() -> String {
    let change = |status: &str| {
        format!(
            r#"{{"type":"item.{}","item":{{"id":"item_6","type":"file_change","changes":[{{"path":"@WT@/src/lib.rs","kind":"add"}},{{"path":"@WT@/README.md","kind":"update"}}],"status":"{status}"}}}}"#,
            if status == "completed" {
                "completed"
            } else {
                "started"
            }
        )
    };
    with_extra(
        CODEX,
        "turn.completed",
        &[
            r#"{"type":"item.started","item":{"id":"item_5","type":"command_execution","command":"/bin/bash -lc 'cargo test'","aggregated_output":"","exit_code":null,"status":"in_progress"}}"#.to_string(),
            r#"{"type":"item.completed","item":{"id":"item_5","type":"command_execution","command":"/bin/bash -lc 'cargo test'","aggregated_output":"error: could not compile `demo`\n","exit_code":101,"status":"failed"}}"#.to_string(),
            change("in_progress"),
            change("completed"),
        ],
    )
}

fn claude_output() -> String {
    let session = CLAUDE
        .lines()
        .next()
        .and_then(|l| serde_json::from_str::<Value>(l).ok())
        .and_then(|v| v["session_id"].as_str().map(str::to_string))
        .unwrap();
    let assistant = |id: &str, tool: &str, input: &str| {
        format!(
            r#"{{"type":"assistant","message":{{"id":"msg_{id}","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{{"type":"tool_use","id":"toolu_{id}","name":"{tool}","input":{input}}}],"stop_reason":"tool_use"}},"parent_tool_use_id":null,"session_id":"{session}"}}"#
        )
    };
    let result = |id: &str, content: &str, error: bool| {
        format!(
            r#"{{"type":"user","message":{{"role":"user","content":[{{"tool_use_id":"toolu_{id}","type":"tool_result","content":{},"is_error":{error}}}]}},"parent_tool_use_id":null,"session_id":"{session}"}}"#,
            serde_json::to_string(content).unwrap()
        )
    };
    with_extra(
        CLAUDE,
        "result",
        &[
            assistant(
                "02",
                "Edit",
                r#"{"file_path":"@WT@/src/lib.rs","old_string":"","new_string":"pub fn f() {}\n"}"#,
            ),
            result("02", "The file @WT@/src/lib.rs has been updated.", false),
            assistant(
                "03",
                "Bash",
                r#"{"command":"cargo test","description":"run the tests"}"#,
            ),
            result("03", "Exit code 101\nerror: could not compile `demo`", true),
        ],
    )
}

fn gemini_output() -> String {
    with_extra(
        GEMINI,
        "result",
        &[
            r#"{"type":"tool_use","timestamp":"2026-11-21T00:06:32.300Z","tool_name":"write_file","tool_id":"write_file_2","parameters":{"file_path":"src/lib.rs","content":"pub fn f() {}\n"}}"#.to_string(),
            r#"{"type":"tool_result","timestamp":"2026-11-21T00:06:32.310Z","tool_id":"write_file_2","status":"success","output":""}"#.to_string(),
            r#"{"type":"tool_use","timestamp":"2026-11-21T00:06:32.320Z","tool_name":"read_file","tool_id":"read_file_3","parameters":{"absolute_path":"@WT@/missing.rs"}}"#.to_string(),
            r#"{"type":"tool_result","timestamp":"2026-11-21T00:06:32.330Z","tool_id":"read_file_3","status":"error","output":"","error":{"type":"file_not_found","message":"File not found: missing.rs"}}"#.to_string(),
        ],
    )
}

/// Token and cost sums the CLI's own parser finds in `output` (the worktree path does not
/// change them).
fn parsed_usage(parser: &mut dyn AgentParser, output: &str) -> Usage {
    let mut total = Usage::default();
    for line in output.lines() {
        for e in parser.line(line) {
            if let AgentEvent::Usage { usage, .. } = e {
                total = total.add(&usage);
            }
        }
    }
    total
}

/// An adapter of `kind` whose program prints `output` (with the worktree put in) as the CLI
/// did, after writing the files the edits name.
fn replaying_adapter(config: &mut Config, home: &Path, kind: &str, output: &str, model: &str) {
    let out = home.join(format!("{kind}.jsonl"));
    std::fs::write(&out, output).unwrap();
    let script = home.join(format!("{kind}-cli"));
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nmkdir -p src && echo 'pub fn f() {{}}' > src/lib.rs && echo more >> README.md\nsed \"s#@WT@#$PWD#g\" {}\n",
            out.display()
        ),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).unwrap();
    let prices = if kind == "claude" {
        String::new()
    } else {
        "[adapters.replay.prices]\ninput_per_mtok = 1.25\noutput_per_mtok = 10.0\ncached_input_per_mtok = 0.125\n".to_string()
    };
    let text = format!(
        "[adapters.replay]\nkind = \"{kind}\"\nbinary = \"{}\"\nmodel = \"{model}\"\nstate_dirs = []\n{prices}",
        script.display()
    );
    let extra: Config = toml::from_str(&text).unwrap();
    config.adapters.extend(extra.adapters);
}

struct Expect {
    kind: &'static str,
    output: String,
    usage: Usage,
    model: &'static str,
    tools: &'static [(&'static str, u32)],
    failed: (&'static str, Option<i32>),
    files: &'static [&'static str],
    cost_source: CostSource,
}

fn check_telemetry(t: &TaskTelemetry, e: &Expect) {
    let what = e.kind;
    assert_eq!(t.runs, 1, "{what}: {t:?}");
    let calls: u32 = e.tools.iter().map(|(_, n)| n).sum();
    assert_eq!(t.tool_calls, calls, "{what}: {t:?}");
    for (name, n) in e.tools {
        assert_eq!(t.tools.get(*name), Some(n), "{what}: {name} in {t:?}");
    }
    assert_eq!(t.failed_tool_calls, 1, "{what}: {t:?}");
    assert_eq!(t.failed_tools[0].name, e.failed.0, "{what}: {t:?}");
    assert_eq!(t.failed_tools[0].exit_code, e.failed.1, "{what}: {t:?}");
    assert_eq!(t.files, e.files, "{what}: files");
    assert_eq!(t.tokens.input, e.usage.input, "{what}: input");
    assert_eq!(
        t.tokens.cached_input, e.usage.cached_input,
        "{what}: cached"
    );
    assert_eq!(t.tokens.output, e.usage.output, "{what}: output");
    assert_eq!(t.tokens.reasoning, e.usage.reasoning, "{what}: reasoning");
    assert!(t.tokens.cached_input > 0, "{what}: a real split");
    let cost = e.usage.cost_usd.unwrap_or_else(|| cost(&e.usage, &PRICES));
    assert_eq!(t.cost_micros, (cost * 1e6).round() as u64, "{what}: cost");
    assert!(t.cost_micros > 0, "{what}: a cost");
    assert_eq!(t.cost_source, e.cost_source, "{what}: cost source");
    assert_eq!(t.models, vec![e.model.to_string()], "{what}: model");
    assert_eq!(t.adapters, vec!["replay".to_string()], "{what}: adapter");
}

fn replay(e: Expect) {
    let repo = committed();
    let mut config = base_config("replay");
    replaying_adapter(
        &mut config,
        repo.home.path(),
        e.kind,
        &e.output,
        if e.kind == "codex" { e.model } else { "" },
    );
    let mut swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    let s = swarm.wait("a done with its telemetry", 60, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
            && s.task_telemetry.contains_key("a")
            && s.handoffs.iter().any(|h| h.purpose == "task complete")
    });
    let live = s.task_telemetry["a"].clone();
    check_telemetry(&live, &e);
    // The hand-off of the finished task says what the runs did.
    let handoff = s
        .handoffs
        .iter()
        .find(|h| h.purpose == "task complete" && h.task.as_deref() == Some("a"))
        .expect("the task's hand-off");
    assert!(
        handoff.summary.contains(&live.summary()),
        "{}",
        handoff.summary
    );
    assert!(handoff.summary.contains("files: "), "{}", handoff.summary);
    // Kept after the task ends: the agent is done, the files are still there.
    let s = swarm.wait("the agent done", 30, |s| {
        s.agents.values().all(|a| a.task.is_none())
    });
    assert_eq!(s.task_telemetry["a"], live);
    let agent = s.agents.values().next().unwrap();
    assert_eq!(agent.files_touched, e.files, "{agent:?}");
    swarm.stop();

    // The audit: one agent_run_reported event with the run, and the same after a replay.
    let ws = swarm.repo.workspace();
    let store = overlord::store::Store::open(&ws.store_paths()).unwrap();
    let (events, _) = overlord::core::metrics_serve::read_events(&store).unwrap();
    let runs: Vec<_> = events
        .iter()
        .filter_map(|ev| match &ev.kind {
            EventKind::AgentRunReported { task, run, .. } => Some((task.clone(), run.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(runs.len(), 1, "{}: {runs:?}", e.kind);
    assert_eq!(runs[0].0.as_deref(), Some("a"));
    assert_eq!(runs[0].1.files, e.files);
    assert!(runs[0].1.ok);
    // The console's activity log (filtered by the agent it shows the agent's runs) says it all.
    let ev = events
        .iter()
        .find(|ev| matches!(ev.kind, EventKind::AgentRunReported { .. }))
        .unwrap();
    let line = overlord::tui::panes::activity::describe(ev);
    for part in [
        format!("ran a (replay, {}, ok)", e.model),
        format!(
            "{} tool calls, 1 failed ({}",
            runs[0].1.tool_calls, e.failed.0
        ),
        format!("files {}", e.files.join(", ")),
        format!(
            "{} in ({} cached) / {} out ({} reasoning)",
            e.usage.input, e.usage.cached_input, e.usage.output, e.usage.reasoning
        ),
        e.cost_source.as_str().to_string(),
    ] {
        assert!(line.contains(&part), "{part} not in: {line}");
    }
    drop(store);
    let replayed: State = swarm.repo.reopen().state().clone();
    assert_eq!(replayed.task_telemetry, s.task_telemetry, "{}", e.kind);

    // status --json: the state and the report; the text names the files.
    let status: Value = serde_json::from_str(&stdout(&swarm.repo.run(&["status", "--json"])))
        .expect("status --json");
    for at in ["state", "report"] {
        let t: TaskTelemetry =
            serde_json::from_value(status[at]["task_telemetry"]["a"].clone()).unwrap();
        assert_eq!(t, live, "status --json {at}");
    }
    let text = stdout(&swarm.repo.run(&["status"]));
    assert!(text.contains(&live.summary()), "{text}");
    assert!(
        text.contains(&format!("files: {}", e.files.join(", "))),
        "{text}"
    );

    // metrics --json: the run by adapter and model.
    let metrics: Value = serde_json::from_str(&stdout(
        &swarm.repo.run(&["metrics", "--json", "--window", "24h"]),
    ))
    .expect("metrics --json");
    let by = metrics["metrics"]["runs"].as_array().expect("runs").clone();
    assert_eq!(by.len(), 1, "{by:?}");
    assert_eq!(by[0]["adapter"], "replay");
    assert_eq!(by[0]["model"], e.model);
    assert_eq!(by[0]["runs"], 1);
    assert_eq!(by[0]["failed_tool_calls"], 1);
    assert_eq!(by[0]["tokens"]["cached_input"], e.usage.cached_input);
    assert_eq!(by[0]["cost_micros"], live.cost_micros);
    let text = stdout(&swarm.repo.run(&["metrics", "--window", "24h"]));
    assert!(text.contains(&format!("runs replay {}", e.model)), "{text}");
}

#[test]
fn a_codex_run_is_kept_with_its_tools_files_tokens_cost_and_model() {
    let output = codex_output();
    let usage = parsed_usage(&mut CodexParser::new(), &output);
    assert_eq!(
        (usage.input, usage.cached_input),
        (2400, 400),
        "the fixture's"
    );
    replay(Expect {
        kind: "codex",
        output,
        usage,
        // Codex names no model: the adapter's configured one.
        model: "gpt-fake",
        tools: &[("command_execution", 2), ("file_change", 1)],
        failed: ("command_execution", Some(101)),
        // `add /abs/src/lib.rs, update /abs/README.md`
        files: &["src/lib.rs", "README.md"],
        cost_source: CostSource::Priced,
    });
}

#[test]
fn a_claude_run_is_kept_with_its_tools_files_tokens_cost_and_model() {
    let output = claude_output();
    let usage = parsed_usage(&mut ClaudeParser::new(), &output);
    assert!(usage.cost_usd.is_some(), "Claude reports its cost");
    replay(Expect {
        kind: "claude",
        output,
        usage,
        model: "claude-sonnet-4-5",
        tools: &[("Bash", 2), ("Edit", 1)],
        failed: ("Bash", Some(101)),
        // An absolute path.
        files: &["src/lib.rs"],
        cost_source: CostSource::Reported,
    });
}

#[test]
fn a_gemini_run_is_kept_with_its_tools_files_tokens_cost_and_model() {
    let output = gemini_output();
    let usage = parsed_usage(&mut GeminiParser::new(), &output);
    assert_eq!(
        (usage.input, usage.cached_input, usage.output),
        (2000, 200, 40),
        "the fixture's stats"
    );
    replay(Expect {
        kind: "gemini",
        output,
        usage,
        // The model its `init` names.
        model: "gemini-2.5-flash",
        tools: &[
            ("run_shell_command", 1),
            ("write_file", 1),
            ("read_file", 1),
        ],
        // Gemini tells no exit code.
        failed: ("read_file", None),
        // A relative path.
        files: &["src/lib.rs"],
        cost_source: CostSource::Priced,
    });
}
