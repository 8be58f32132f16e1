//! The agent CLIs' parsers on output captured from the real CLIs (see
//! `tests/fixtures/agent-cli/README.md` for the versions and commands): every fixture file
//! is read line by line and the sequence of normalized events is checked, with the usage
//! figures taken from the fixtures' own JSON. Then the usage deltas, the pricing, the error
//! classification, and garbage, truncated and huge input (which must never panic).

use overlord::agent::parse::{
    gemini_json, AgentParser, AiderParser, ClaudeParser, CodexParser, GeminiParser,
};
use overlord::agent::{
    classify, cost, AgentError, AgentEvent, ErrorKind, PriceTable, ToolKind, Usage, UsageTracker,
};
use proptest::prelude::*;
use serde_json::Value;

const CODEX_TOOL_CALL: &str = include_str!("fixtures/agent-cli/codex-0.169.0/exec_tool_call.jsonl");
const CODEX_RESUME: &str = include_str!("fixtures/agent-cli/codex-0.169.0/exec_resume.jsonl");
const CODEX_API_ERROR: &str = include_str!("fixtures/agent-cli/codex-0.169.0/exec_api_error.jsonl");
const CODEX_API_ERROR_EXIT: &str =
    include_str!("fixtures/agent-cli/codex-0.169.0/exec_api_error.jsonl.exitcode");
const CODEX_SIGINT: &str = include_str!("fixtures/agent-cli/codex-0.169.0/exec_sigint.jsonl");

const CLAUDE_TOOL_CALL: &str =
    include_str!("fixtures/agent-cli/claude-code-2.1.329/print_stream_json_tool_call.jsonl");
const CLAUDE_RESUME_PARTIAL: &str =
    include_str!("fixtures/agent-cli/claude-code-2.1.329/print_resume_partial_messages.jsonl");
const CLAUDE_API_ERROR: &str =
    include_str!("fixtures/agent-cli/claude-code-2.1.329/print_api_error.jsonl");
const CLAUDE_SIGINT: &str =
    include_str!("fixtures/agent-cli/claude-code-2.1.329/print_sigint.jsonl");
const CLAUDE_INPUT_INTERRUPT: &str = include_str!(
    "fixtures/agent-cli/claude-code-2.1.329/stream_json_input_interrupt.transcript.txt"
);

const GEMINI_STREAM: &str =
    include_str!("fixtures/agent-cli/gemini-cli-0.61.0/prompt_stream_json_tool_call.jsonl");
const GEMINI_JSON: &str = include_str!("fixtures/agent-cli/gemini-cli-0.61.0/prompt_json.json");

const AIDER_DIFF_EDIT: &str = include_str!("fixtures/agent-cli/aider-0.86.2/message_diff_edit.txt");

const FINAL_ANSWER: &str = "Done: ran echo. FINAL ANSWER";

// ---------------------------------------------------------------------------------------
// Helpers

/// Feeds every line, then ends the stream with `exit`.
fn run(parser: &mut impl AgentParser, text: &str, exit: Option<i32>) -> Vec<AgentEvent> {
    let mut events = Vec::new();
    for line in text.split_inclusive('\n') {
        events.extend(parser.line(line));
    }
    events.extend(parser.finish(exit));
    events
}

/// One line per event with what matters, for exact sequence comparisons.
fn brief(e: &AgentEvent) -> String {
    fn opt(s: &Option<String>) -> &str {
        s.as_deref().unwrap_or("-")
    }
    match e {
        AgentEvent::Started {
            session_id, model, ..
        } => format!("started {} {}", opt(session_id), opt(model)),
        AgentEvent::ToolStarted {
            id,
            kind,
            name,
            summary,
            ..
        } => format!("tool_started {id} {kind:?} {name}: {summary}"),
        AgentEvent::ToolFinished { id, ok, output, .. } => {
            format!("tool_finished {id} ok={ok}: {output}")
        }
        AgentEvent::Text { text, delta, .. } => {
            format!("text {}: {text}", if *delta { "delta" } else { "final" })
        }
        AgentEvent::Reasoning { text, .. } => format!("reasoning: {text}"),
        AgentEvent::Usage { usage, .. } => format!(
            "usage in={} cached={} out={} reasoning={} cost={}",
            usage.input,
            usage.cached_input,
            usage.output,
            usage.reasoning,
            usage.cost_usd.map_or("-".to_string(), |c| c.to_string())
        ),
        AgentEvent::Warning { message, error, .. } => format!(
            "warning {}: {message}",
            error.map_or("-".to_string(), |k| format!("{k:?}"))
        ),
        AgentEvent::Finished {
            ok,
            result_text,
            error: None,
            ..
        } => format!("finished ok={ok}: {}", opt(result_text)),
        AgentEvent::Finished {
            ok, error: Some(e), ..
        } => format!(
            "finished ok={ok} {:?} {}: {}",
            e.kind,
            opt(&e.code),
            e.message
        ),
    }
}

/// Compares the events with the expected briefs; an expected entry ending with `…` only has
/// to start the brief.
fn assert_events(events: &[AgentEvent], expected: &[&str]) {
    let got: Vec<String> = events.iter().map(brief).collect();
    let matches = got.len() == expected.len()
        && got
            .iter()
            .zip(expected)
            .all(|(g, e)| match e.strip_suffix('…') {
                Some(prefix) => g.starts_with(prefix),
                None => g == e,
            });
    assert!(matches, "events:\n{got:#?}\nexpected:\n{expected:#?}");
}

/// Every event's raw line is one of the input's lines, or empty (made up by the parser).
fn assert_raw_lines(events: &[AgentEvent], text: &str) {
    let lines: Vec<&str> = text.lines().collect();
    for e in events {
        assert!(
            e.raw().is_empty() || lines.contains(&e.raw()),
            "raw of {} is not a line of the input: {:?}",
            brief(e),
            e.raw()
        );
    }
}

/// The JSON of the fixture's line whose `type` is `kind` (the last one).
fn json_of(text: &str, kind: &str) -> Value {
    text.lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} line"))
}

fn usages(events: &[AgentEvent]) -> Vec<Usage> {
    events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::Usage { usage, .. } => Some(*usage),
            _ => None,
        })
        .collect()
}

fn finished_error(events: &[AgentEvent]) -> AgentError {
    match events.last() {
        Some(AgentEvent::Finished {
            ok: false,
            error: Some(e),
            ..
        }) => e.clone(),
        other => panic!("the last event is not a failed Finished: {other:?}"),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

/// `exit=1` → 1.
fn exit_code_file(text: &str) -> i32 {
    text.trim()
        .strip_prefix("exit=")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not an exit code file: {text:?}"))
}

// ---------------------------------------------------------------------------------------
// Codex

#[test]
fn codex_tool_call() {
    let mut p = CodexParser::new();
    let events = run(&mut p, CODEX_TOOL_CALL, Some(0));
    assert_events(
        &events,
        &[
            "started 01a1fb68-685a-71c3-ae41-fc354cadeff3 -",
            "warning Other: Model metadata for `gpt-fake` not found. Defaulting to fallback metadata; this can degrade performance and cause issues.",
            "tool_started item_1 Shell command_execution: echo hello-from-fake",
            "tool_finished item_1 ok=true: hello-from-fake\n",
            &format!("text final: {FINAL_ANSWER}"),
            "usage in=2400 cached=400 out=68 reasoning=10 cost=-",
            &format!("finished ok=true: {FINAL_ANSWER}"),
        ],
    );
    assert_raw_lines(&events, CODEX_TOOL_CALL);
    assert_eq!(p.thread_id(), Some("01a1fb68-685a-71c3-ae41-fc354cadeff3"));

    // The usage is the fixture's own `turn.completed.usage`.
    let usage = &json_of(CODEX_TOOL_CALL, "turn.completed")["usage"];
    let got = usages(&events)[0];
    assert_eq!(got.input, usage["input_tokens"].as_u64().unwrap());
    assert_eq!(
        got.cached_input,
        usage["cached_input_tokens"].as_u64().unwrap()
    );
    assert_eq!(got.output, usage["output_tokens"].as_u64().unwrap());
    assert_eq!(
        got.reasoning,
        usage["reasoning_output_tokens"].as_u64().unwrap()
    );
}

#[test]
fn codex_resume_reports_the_delta_of_the_cumulative_thread_usage() {
    // The first run of the thread, then `codex exec resume <THREAD_ID>` on the same thread.
    let mut first = CodexParser::new();
    run(&mut first, CODEX_TOOL_CALL, Some(0));
    let mut resumed = CodexParser::with_usage_tracker(*first.usage_tracker());
    let events = run(&mut resumed, CODEX_RESUME, Some(0));
    assert_eq!(first.thread_id(), resumed.thread_id(), "the same thread");
    assert_events(
        &events,
        &[
            "started 01a1fb68-685a-71c3-ae41-fc354cadeff3 -",
            "warning Other: Model metadata…",
            &format!("text final: {FINAL_ANSWER}"),
            "usage in=1200 cached=200 out=34 reasoning=5 cost=-",
            &format!("finished ok=true: {FINAL_ANSWER}"),
        ],
    );
    let before = &json_of(CODEX_TOOL_CALL, "turn.completed")["usage"];
    let after = &json_of(CODEX_RESUME, "turn.completed")["usage"];
    let delta = |k: &str| after[k].as_u64().unwrap() - before[k].as_u64().unwrap();
    let got = usages(&events)[0];
    assert_eq!(
        (got.input, got.cached_input, got.output, got.reasoning),
        (
            delta("input_tokens"),
            delta("cached_input_tokens"),
            delta("output_tokens"),
            delta("reasoning_output_tokens")
        )
    );
    // The tracker now holds the thread's totals.
    assert_eq!(resumed.usage_tracker().baseline().input, 3600);

    // Without the thread's tracker the whole cumulative figure counts (nothing known before).
    let events = run(&mut CodexParser::new(), CODEX_RESUME, Some(0));
    assert_eq!(
        brief(&events[events.len() - 2]),
        "usage in=3600 cached=600 out=102 reasoning=15 cost=-"
    );
}

#[test]
fn codex_api_error_ends_in_the_api_message() {
    let exit = exit_code_file(CODEX_API_ERROR_EXIT);
    assert_eq!(exit, 1);
    let events = run(&mut CodexParser::new(), CODEX_API_ERROR, Some(exit));
    assert_events(
        &events,
        &[
            "started 01a1fb72-9d66-7941-873d-c0f1bf60579f -",
            "warning Other: Model metadata…",
            "warning Api { status: None }: fake bad request",
            "finished ok=false Api { status: None } invalid_request_error: fake bad request",
        ],
    );
    assert_raw_lines(&events, CODEX_API_ERROR);
}

#[test]
fn codex_sigint_without_a_final_event() {
    // We sent SIGINT: codex exits 1 without a final event.
    let mut p = CodexParser::new();
    for line in CODEX_SIGINT.lines() {
        p.line(line);
    }
    p.cancel_requested();
    let end = p.finish(Some(1));
    assert_events(
        &end,
        &["finished ok=false Interrupted -: codex was interrupted by our cancel request and ended without a final event (exit code 1)"],
    );
    assert!(p.finish(Some(1)).is_empty(), "finish is given once");

    // Nobody sent a signal: the same stream is a crash.
    let events = run(&mut CodexParser::new(), CODEX_SIGINT, Some(1));
    assert_events(
        &events,
        &[
            "started 01a1fb6c-21c2-7043-a2c4-77f0da953b32 -",
            "warning Other: Model metadata…",
            "finished ok=false Crashed { exit_code: Some(1) } -: codex ended without a final event (no turn.completed or turn.failed; exit code 1): it crashed or was killed",
        ],
    );
    // Killed by a signal we did not send.
    let events = run(&mut CodexParser::new(), CODEX_SIGINT, None);
    assert_eq!(
        finished_error(&events).kind,
        ErrorKind::Crashed { exit_code: None }
    );
}

#[test]
fn codex_transient_rate_limit_is_not_terminal() {
    let text = [
        r#"{"type":"thread.started","thread_id":"t1"}"#,
        r#"{"type":"turn.started"}"#,
        r#"{"type":"error","message":"Reconnecting... 1/5 (stream disconnected before completion: exceeded retry limit, last status: 429 Too Many Requests, Please try again in 1.5s)"}"#,
        r#"{"type":"item.completed","item":{"id":"item_1","type":"file_change","changes":[{"path":"src/a.rs","kind":"update"},{"path":"b.txt","kind":"add"}],"status":"completed"}}"#,
        r#"{"type":"item.completed","item":{"id":"item_2","type":"reasoning","text":"thinking"}}"#,
        r#"{"type":"item.started","item":{"id":"item_3","type":"command_execution","command":"/bin/bash -lc 'false'","aggregated_output":"","exit_code":null,"status":"in_progress"}}"#,
        r#"{"type":"item.completed","item":{"id":"item_3","type":"command_execution","command":"/bin/bash -lc 'false'","aggregated_output":"","exit_code":1,"status":"failed"}}"#,
        r#"{"type":"item.completed","item":{"id":"item_4","type":"agent_message","text":"ok"}}"#,
        r#"{"type":"turn.completed","usage":{"input_tokens":10,"cached_input_tokens":0,"output_tokens":2,"reasoning_output_tokens":0}}"#,
    ]
    .join("\n");
    let events = run(&mut CodexParser::new(), &text, Some(0));
    assert_events(
        &events,
        &[
            "started t1 -",
            "warning RateLimited { retry_after_ms: Some(1500) }: Reconnecting... 1/5 …",
            "tool_started item_1 Edit file_change: update src/a.rs, add b.txt",
            "tool_finished item_1 ok=true: update src/a.rs, add b.txt",
            "reasoning: thinking",
            "tool_started item_3 Shell command_execution: false",
            "tool_finished item_3 ok=false: ",
            "text final: ok",
            "usage in=10 cached=0 out=2 reasoning=0 cost=-",
            "finished ok=true: ok",
        ],
    );
}

// ---------------------------------------------------------------------------------------
// Claude Code

#[test]
fn claude_tool_call() {
    let mut p = ClaudeParser::new();
    let events = run(&mut p, CLAUDE_TOOL_CALL, Some(0));
    assert_events(
        &events,
        &[
            "started ee7f9342-8670-44f1-9a04-035c65e53707 claude-sonnet-4-5",
            "tool_started toolu_01 Shell Bash: echo hello-from-fake",
            "tool_finished toolu_01 ok=true: hello-from-fake",
            &format!("text final: {FINAL_ANSWER}"),
            "usage in=2000 cached=200 out=42 reasoning=0 cost=0.00609",
            &format!("finished ok=true: {FINAL_ANSWER}"),
        ],
    );
    assert_raw_lines(&events, CLAUDE_TOOL_CALL);
    assert_eq!(p.session_id(), Some("ee7f9342-8670-44f1-9a04-035c65e53707"));

    // The figures are the result's own: usage with the cache reads added back, and its cost.
    let result = json_of(CLAUDE_TOOL_CALL, "result");
    let got = usages(&events)[0];
    let u = &result["usage"];
    assert_eq!(
        got.input,
        u["input_tokens"].as_u64().unwrap()
            + u["cache_read_input_tokens"].as_u64().unwrap()
            + u["cache_creation_input_tokens"].as_u64().unwrap()
    );
    assert_eq!(
        got.cached_input,
        u["cache_read_input_tokens"].as_u64().unwrap()
    );
    assert_eq!(got.output, u["output_tokens"].as_u64().unwrap());
    assert_eq!(got.cost_usd, result["total_cost_usd"].as_f64());
}

#[test]
fn claude_resume_with_partial_messages() {
    let mut p = ClaudeParser::new();
    let events = run(&mut p, CLAUDE_RESUME_PARTIAL, Some(0));
    assert_events(
        &events,
        &[
            "started 82c3bd38-ab1c-4553-8e0d-d5fb0976de0e claude-sonnet-4-5",
            "tool_started toolu_1795219464943727751 Shell Bash: echo hello-from-fake",
            "tool_finished toolu_1795219464943727751 ok=true: hello-from-fake",
            &format!("text delta: {FINAL_ANSWER}"),
            &format!("text final: {FINAL_ANSWER}"),
            // This run's own figures (`model_usage_since_last_result`), not the session's
            // cumulative `total_cost_usd` of 0.01218.
            "usage in=2000 cached=200 out=42 reasoning=0 cost=0.00609",
            &format!("finished ok=true: {FINAL_ANSWER}"),
        ],
    );
    assert_raw_lines(&events, CLAUDE_RESUME_PARTIAL);
    let result = json_of(CLAUDE_RESUME_PARTIAL, "result");
    let since = &result["model_usage_since_last_result"]["claude-sonnet-4-5"];
    assert_eq!(usages(&events)[0].cost_usd, since["costUSD"].as_f64());
    // The tracker holds the session's cumulative totals.
    let total = &result["modelUsage"]["claude-sonnet-4-5"];
    let baseline = p.usage_tracker().baseline();
    assert_eq!(
        baseline.input,
        total["inputTokens"].as_u64().unwrap() + total["cacheReadInputTokens"].as_u64().unwrap()
    );
    assert_eq!(baseline.output, total["outputTokens"].as_u64().unwrap());
    assert_eq!(baseline.cost_usd, result["total_cost_usd"].as_f64());
}

#[test]
fn claude_resume_without_per_run_usage_uses_the_cumulative_delta() {
    // The same resumed run, had Claude not sent `model_usage_since_last_result`: the delta of
    // the cumulative `modelUsage`/`total_cost_usd` from the session's earlier run (whose
    // totals were one run's worth: 1800 + 200 input, 42 output, $0.00609).
    let stripped: String = CLAUDE_RESUME_PARTIAL
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if let Some(o) = v.as_object_mut() {
                o.remove("model_usage_since_last_result");
            }
            v.to_string() + "\n"
        })
        .collect();
    let earlier = Usage {
        input: 2000,
        cached_input: 200,
        output: 42,
        reasoning: 0,
        cost_usd: Some(0.00609),
    };
    let mut p = ClaudeParser::with_usage_tracker(UsageTracker::from_baseline(earlier));
    let events = run(&mut p, &stripped, Some(0));
    let got = usages(&events)[0];
    assert_eq!((got.input, got.cached_input, got.output), (2000, 200, 42));
    assert!(close(got.cost_usd.unwrap(), 0.01218 - 0.00609), "{got:?}");
}

#[test]
fn claude_api_error_is_an_error_despite_subtype_success() {
    let events = run(&mut ClaudeParser::new(), CLAUDE_API_ERROR, Some(1));
    assert_events(
        &events,
        &[
            "started b43855ff-8527-4667-ba66-35ff0814153e claude-sonnet-4-5",
            "warning Api { status: Some(400) }: API Error: 400 fake bad request",
            "usage in=0 cached=0 out=0 reasoning=0 cost=0",
            "finished ok=false Api { status: Some(400) } invalid_request_error: API Error: 400 fake bad request",
        ],
    );
    assert_raw_lines(&events, CLAUDE_API_ERROR);
    let result = json_of(CLAUDE_API_ERROR, "result");
    assert_eq!(result["subtype"], "success");
    assert_eq!(
        finished_error(&events).message,
        result["result"].as_str().unwrap()
    );
}

#[test]
fn claude_sigint_is_interrupted() {
    // SIGINT: `[Request interrupted by user]`, no result, exit 0. The parser knows from the
    // CLI's own words, even without our cancel request.
    let events = run(&mut ClaudeParser::new(), CLAUDE_SIGINT, Some(0));
    assert_events(
        &events,
        &[
            "started b6cce34b-5424-45e7-a1ca-11d90fb34a7f claude-sonnet-4-5",
            "finished ok=false Interrupted -: claude was interrupted ([Request interrupted by user]) and ended without a final event (exit code 0)",
        ],
    );
    assert_raw_lines(&events, CLAUDE_SIGINT);
}

/// The lines Claude wrote in the driver's transcript of the stream-json input mode, as
/// stdout lines: JSON payloads as they are (the transcript cut the long ones, which makes
/// them unreadable), `result` lines rebuilt from the Python dict the driver printed (with the
/// type and subtype from the label). The `IN` control request is our interrupt. Returns the
/// exit code of the last line.
fn transcript(text: &str) -> (Vec<(bool, String)>, Option<i32>) {
    let mut lines = Vec::new();
    let mut exit = None;
    for line in text.lines() {
        let line = line.trim_start();
        if let Some(rest) = line.strip_prefix("exit ") {
            exit = rest.split_whitespace().next().and_then(|n| n.parse().ok());
            continue;
        }
        let mut parts = line.splitn(4, ' ');
        let (_time, dir, label, payload) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap_or(""),
        );
        if dir == "IN" {
            let interrupt = payload.contains(r#""subtype": "interrupt""#);
            lines.push((interrupt, String::new()));
            continue;
        }
        let payload = if payload.starts_with("{'") {
            let json = payload
                .replace('\'', "\"")
                .replace(": False", ": false")
                .replace(": True", ": true")
                .replace(": None", ": null");
            let mut v: Value = serde_json::from_str(&json).unwrap();
            let (kind, subtype) = label.split_once('/').unwrap();
            v["type"] = Value::from(kind);
            v["subtype"] = Value::from(subtype);
            v.to_string()
        } else {
            payload.to_string()
        };
        lines.push((false, payload));
    }
    (lines, exit)
}

#[test]
fn claude_stream_json_input_interrupt() {
    let (lines, exit) = transcript(CLAUDE_INPUT_INTERRUPT);
    assert_eq!(exit, Some(1));
    let mut p = ClaudeParser::new();
    let mut events = Vec::new();
    for (interrupt, line) in &lines {
        if *interrupt {
            p.cancel_requested();
        }
        events.extend(p.line(line));
    }
    events.extend(p.finish(exit));
    let cut = "warning -: claude printed a line that is not JSON…";
    assert_events(
        &events,
        &[
            cut, // system/init, cut by the transcript
            cut, // assistant (tool_use)
            cut, // user (tool_result)
            cut, // assistant (text)
            // The first turn: cumulative cost 0.00609 from nothing.
            "usage in=0 cached=0 out=0 reasoning=0 cost=0.00609",
            &format!("finished ok=true: {FINAL_ANSWER}"),
            cut, // system/init of the second turn
            // control_response: nothing
            cut, // user `[Request interrupted by user]`
            // The interrupted turn: the cumulative cost did not move.
            "usage in=0 cached=0 out=0 reasoning=0 cost=0",
            "finished ok=false Interrupted aborted_streaming: claude was interrupted: the turn was aborted (terminal_reason aborted_streaming)",
        ],
    );
}

#[test]
fn claude_api_retry_and_quota() {
    let text = [
        r#"{"type":"system","subtype":"init","session_id":"s1","model":"m"}"#,
        r#"{"type":"system","subtype":"api_retry","attempt":1,"max_retries":10,"retry_delay_ms":2500,"error_status":429,"error":"rate_limit","session_id":"s1"}"#,
        r#"{"type":"assistant","message":{"id":"m1","content":[{"type":"thinking","thinking":"hmm"},{"type":"text","text":"a"},{"type":"tool_use","id":"t1","name":"Edit","input":{"file_path":"src/lib.rs","old_string":"a","new_string":"b"}}]},"session_id":"s1"}"#,
        // The same message again on another line: nothing twice.
        r#"{"type":"assistant","message":{"id":"m1","content":[{"type":"text","text":"a"},{"type":"tool_use","id":"t1","name":"Edit","input":{}}]},"session_id":"s1"}"#,
        r#"{"type":"user","message":{"role":"user","content":[{"tool_use_id":"t1","type":"tool_result","content":[{"type":"text","text":"no such file"}],"is_error":true}]}}"#,
        r#"{"type":"result","subtype":"success","is_error":true,"error":"billing_error","result":"Credit balance is too low","session_id":"s1","total_cost_usd":0.5}"#,
    ]
    .join("\n");
    let events = run(&mut ClaudeParser::new(), &text, Some(1));
    assert_events(
        &events,
        &[
            "started s1 m",
            "warning RateLimited { retry_after_ms: Some(2500) }: API retry 1/10: rate_limit (HTTP 429), next try in 2500 ms",
            "reasoning: hmm",
            "text final: a",
            "tool_started t1 Edit Edit: src/lib.rs",
            "tool_finished t1 ok=false: no such file",
            "usage in=0 cached=0 out=0 reasoning=0 cost=0.5",
            "finished ok=false Quota billing_error: Credit balance is too low",
        ],
    );
}

// ---------------------------------------------------------------------------------------
// Gemini CLI

#[test]
fn gemini_stream_json_tool_call() {
    let mut p = GeminiParser::new();
    let events = run(&mut p, GEMINI_STREAM, Some(0));
    let tool = "run_shell_command__run_shell_command_1795219592141_0";
    assert_events(
        &events,
        &[
            "started 098a7070-9847-47ed-868b-0c2c5cf4d970 gemini-2.5-flash",
            &format!("tool_started {tool} Shell run_shell_command: echo hello-from-fake"),
            &format!("tool_finished {tool} ok=true: hello-from-fake"),
            &format!("text delta: {FINAL_ANSWER}"),
            // The whole message, put together when the result shows it is over.
            &format!("text final: {FINAL_ANSWER}"),
            "usage in=2000 cached=200 out=40 reasoning=0 cost=-",
            &format!("finished ok=true: {FINAL_ANSWER}"),
        ],
    );
    assert_raw_lines(&events, GEMINI_STREAM);
    assert_eq!(p.session_id(), Some("098a7070-9847-47ed-868b-0c2c5cf4d970"));
    let stats = &json_of(GEMINI_STREAM, "result")["stats"];
    let got = usages(&events)[0];
    assert_eq!(got.input, stats["input_tokens"].as_u64().unwrap());
    assert_eq!(got.cached_input, stats["cached"].as_u64().unwrap());
    assert_eq!(got.output, stats["output_tokens"].as_u64().unwrap());
}

#[test]
fn gemini_json_document() {
    let events = gemini_json(GEMINI_JSON);
    assert_events(
        &events,
        &[
            "started 1a4b1005-7712-444e-b988-9cba6cb927d2 gemini-fake",
            &format!("text final: {FINAL_ANSWER}"),
            "usage in=2010 cached=300 out=45 reasoning=0 cost=-",
            &format!("finished ok=true: {FINAL_ANSWER}"),
        ],
    );
    let doc: Value = serde_json::from_str(GEMINI_JSON).unwrap();
    let tokens = &doc["stats"]["models"]["gemini-fake"]["tokens"];
    let got = usages(&events)[0];
    assert_eq!(got.input, tokens["prompt"].as_u64().unwrap());
    assert_eq!(got.cached_input, tokens["cached"].as_u64().unwrap());
    assert_eq!(got.output, tokens["candidates"].as_u64().unwrap());

    // Line by line, the stream-json parser cannot read the pretty-printed document: every
    // line is a warning, and the stream ends without a result.
    let events = run(&mut GeminiParser::new(), GEMINI_JSON, Some(0));
    let (last, rest) = events.split_last().unwrap();
    assert!(rest
        .iter()
        .all(|e| matches!(e, AgentEvent::Warning { error: None, .. })));
    assert_eq!(rest.len(), GEMINI_JSON.lines().count());
    assert_eq!(
        brief(last),
        "finished ok=false Crashed { exit_code: Some(0) } -: gemini ended without a final event (no result; exit code 0): it crashed or was killed"
    );

    // An error document: the code is the exit code (41: auth).
    let events = gemini_json(
        r#"{"session_id":"s","error":{"type":"Error","message":"Please set an Auth method","code":41}}"#,
    );
    assert_eq!(
        brief(events.last().unwrap()),
        "finished ok=false Auth Error: Please set an Auth method"
    );
    assert_eq!(gemini_json("not json").len(), 2);
}

#[test]
fn gemini_exit_codes_without_a_result() {
    let start = r#"{"type":"init","session_id":"s","model":"m"}"#;
    let case = |exit| {
        let mut p = GeminiParser::new();
        p.line(start);
        finished_error(&p.finish(Some(exit))).kind
    };
    assert_eq!(
        case(173),
        ErrorKind::RateLimited {
            retry_after_ms: None
        }
    );
    assert_eq!(case(41), ErrorKind::Auth);
    assert_eq!(case(55), ErrorKind::Other);
    assert_eq!(case(1), ErrorKind::Crashed { exit_code: Some(1) });

    // A result with status error and an error object.
    let text = [
        start,
        r#"{"type":"message","role":"assistant","content":"par","delta":true}"#,
        r#"{"type":"message","role":"assistant","content":"tial","delta":true}"#,
        r#"{"type":"error","severity":"error","message":"[API Error: got status: 429 Too Many Requests. Please retry in 37.901293495s.]"}"#,
        r#"{"type":"result","status":"error","error":{"type":"FatalTurnLimitedError","message":"Reached max session turns"},"stats":{"input_tokens":5,"output_tokens":1,"cached":0}}"#,
    ]
    .join("\n");
    let events = run(&mut GeminiParser::new(), &text, Some(53));
    assert_events(
        &events,
        &[
            "started s m",
            "text delta: par",
            "text delta: tial",
            "text final: partial",
            "warning RateLimited { retry_after_ms: Some(37901) }: [API Error: got status: 429 Too Many Requests. Please retry in 37.901293495s.]",
            "usage in=5 cached=0 out=1 reasoning=0 cost=-",
            "finished ok=false Other FatalTurnLimitedError: Reached max session turns",
        ],
    );
}

// ---------------------------------------------------------------------------------------
// aider

#[test]
fn aider_diff_edit() {
    let events = run(&mut AiderParser::new(), AIDER_DIFF_EDIT, Some(0));
    let answer = "I will update the file.\n\nREADME.md\n```\n<<<<<<< SEARCH\nhi\n=======\nhello from aider\n>>>>>>> REPLACE\n```";
    let mut expected = vec![
        "warning -: HTTPSConnectionPool(host='raw.githubusercontent.com', port=443): Max retries exceeded…".to_string(),
        "warning -: HTTPSConnectionPool(host='raw.githubusercontent.com', port=443): Max retries exceeded…".to_string(),
        "started - openai/gpt-4o".to_string(),
    ];
    for line in answer.lines() {
        expected.push(format!("text delta: {line}\n"));
    }
    expected.push("text delta: \n".to_string()); // the blank line before `Tokens:`
    expected.extend([
        format!("text final: {answer}"),
        "usage in=2000 cached=0 out=26 reasoning=0 cost=0.0052".to_string(),
        "tool_started edit-1 Edit edit: README.md".to_string(),
        "tool_finished edit-1 ok=true: Applied edit to README.md".to_string(),
        format!("finished ok=true: {answer}"),
    ]);
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    assert_events(&events, &expected);
    assert_raw_lines(&events, AIDER_DIFF_EDIT);
}

#[test]
fn aider_cache_tokens_commits_errors_and_cancel() {
    let text = "Aider v0.86.2\nMain model: anthropic/claude-sonnet-4-5 with diff edit format\n\
        litellm.RateLimitError: AnthropicException - rate limited\n\
        Retrying in 0.2 seconds...\n\
        Sure.\n\
        Tokens: 12k sent, 1.2k cache write, 3.4k cache hit, 26 received.\n\
        Cost: $0.01 message, $0.02 session.\n\
        Applied edit to src/a.rs\n\
        Commit 1a2b3c4 feat: a change\n";
    let events = run(&mut AiderParser::new(), text, Some(0));
    assert_events(
        &events,
        &[
            "started - anthropic/claude-sonnet-4-5",
            "warning RateLimited { retry_after_ms: None }: litellm.RateLimitError: AnthropicException - rate limited",
            "warning RateLimited { retry_after_ms: Some(200) }: Retrying in 0.2 seconds...",
            "text delta: Sure.\n",
            "text final: Sure.",
            "usage in=12000 cached=3400 out=26 reasoning=0 cost=0.01",
            "tool_started edit-1 Edit edit: src/a.rs",
            "tool_finished edit-1 ok=true: Applied edit to src/a.rs",
            "tool_started commit-1a2b3c4 Commit commit: 1a2b3c4 feat: a change",
            "tool_finished commit-1a2b3c4 ok=true: Commit 1a2b3c4 feat: a change",
            "finished ok=true: Sure.",
        ],
    );

    // SIGTERM from us while it waits for the model.
    let mut p = AiderParser::new();
    for line in AIDER_DIFF_EDIT.lines().take(12) {
        p.line(line);
    }
    p.cancel_requested();
    assert_eq!(
        finished_error(&p.finish(Some(143))).kind,
        ErrorKind::Interrupted
    );
    // No output at all.
    assert_eq!(
        finished_error(&AiderParser::new().finish(Some(1))).kind,
        ErrorKind::Crashed { exit_code: Some(1) }
    );
}

// ---------------------------------------------------------------------------------------
// Usage deltas and pricing

fn tokens(input: u64, cached: u64, output: u64, reasoning: u64, cost: Option<f64>) -> Usage {
    Usage {
        input,
        cached_input: cached,
        output,
        reasoning,
        cost_usd: cost,
    }
}

#[test]
fn usage_tracker_turns_totals_into_deltas() {
    let mut t = UsageTracker::new();
    assert_eq!(
        t.observe(&tokens(100, 10, 5, 1, Some(0.5))),
        tokens(100, 10, 5, 1, Some(0.5))
    );
    assert_eq!(
        t.observe(&tokens(150, 10, 9, 1, Some(0.75))),
        tokens(50, 0, 4, 0, Some(0.25))
    );
    assert_eq!(
        t.observe(&tokens(150, 10, 9, 1, Some(0.75))),
        tokens(0, 0, 0, 0, Some(0.0))
    );
    // A counter that goes down starts a new baseline: it counted again from zero.
    assert_eq!(
        t.observe(&tokens(30, 10, 12, 1, Some(0.1))),
        tokens(30, 0, 3, 0, Some(0.1))
    );
    assert_eq!(t.baseline(), tokens(30, 10, 12, 1, Some(0.1)));
    assert_eq!(
        t.observe(&tokens(40, 10, 12, 1, Some(0.3))),
        tokens(10, 0, 0, 0, Some(0.3 - 0.1))
    );
    // No cost given: no cost delta, and the last known cost stays the baseline.
    assert_eq!(
        t.observe(&tokens(40, 10, 12, 1, None)),
        tokens(0, 0, 0, 0, None)
    );
    assert_eq!(t.baseline().cost_usd, Some(0.3));
    // A tracker continues across processes (it is stored with the session).
    let json = serde_json::to_string(&t).unwrap();
    let back: UsageTracker = serde_json::from_str(&json).unwrap();
    assert_eq!(back, t);
}

#[test]
fn pricing_when_the_cli_gives_no_cost() {
    let prices = PriceTable {
        input_per_mtok: 1.25,
        output_per_mtok: 10.0,
        cached_input_per_mtok: 0.125,
    };
    // Codex's turn: 2400 input of which 400 cached, 68 output (reasoning is inside output).
    let codex = tokens(2400, 400, 68, 10, None);
    let expected = (2000.0 * 1.25 + 400.0 * 0.125 + 68.0 * 10.0) / 1e6;
    assert!(close(cost(&codex, &prices), expected));
    assert!(close(codex.cost_or(&prices), expected));
    assert!(close(codex.priced(&prices).cost_usd.unwrap(), expected));
    // The CLI's own cost wins.
    let claude = tokens(2000, 200, 42, 0, Some(0.00609));
    assert_eq!(claude.cost_or(&prices), 0.00609);
    assert_eq!(claude.priced(&prices).cost_usd, Some(0.00609));
    // More cached than input (a CLI's inconsistency) costs no negative uncached tokens.
    assert!(cost(&tokens(10, 50, 0, 0, None), &prices) >= 0.0);
    assert_eq!(cost(&Usage::default(), &prices), 0.0);
    // The table is configuration.
    let table: PriceTable = serde_json::from_str(
        r#"{"input_per_mtok": 3.0, "output_per_mtok": 15.0, "cached_input_per_mtok": 0.3}"#,
    )
    .unwrap();
    assert!(close(
        cost(&tokens(1_000_000, 0, 1_000_000, 0, None), &table),
        18.0
    ));
}

// ---------------------------------------------------------------------------------------
// Error classification

#[test]
fn classification_of_the_clis_error_messages() {
    // The fixtures' API errors.
    let codex = json_of(CODEX_API_ERROR, "turn.failed");
    let codex_message = codex["error"]["message"].as_str().unwrap();
    assert_eq!(
        classify(codex_message, None, None),
        ErrorKind::Api { status: None }
    );
    assert_eq!(
        classify("API Error: 400 fake bad request", None, None),
        ErrorKind::Api { status: Some(400) }
    );
    // Rate limits, with the wait when given.
    assert_eq!(
        classify(
            "Reconnecting... 2/5 (unexpected status 429 Too Many Requests: slow down)",
            None,
            None
        ),
        ErrorKind::RateLimited {
            retry_after_ms: None
        }
    );
    assert_eq!(
        classify(
            "Rate limit reached for gpt-5. Please try again in 20s.",
            None,
            None
        ),
        ErrorKind::RateLimited {
            retry_after_ms: Some(20_000)
        }
    );
    assert_eq!(
        classify("rate limited", Some(429), None),
        ErrorKind::RateLimited {
            retry_after_ms: None
        }
    );
    assert_eq!(
        classify("Retry-After: 30", None, Some("rate_limit_error")),
        ErrorKind::RateLimited {
            retry_after_ms: Some(30_000)
        }
    );
    assert_eq!(
        classify(
            "Quota exceeded for quota metric 'Generate Content API requests per minute'. Please retry in 37.9s.",
            Some(429),
            Some("RESOURCE_EXHAUSTED")
        ),
        ErrorKind::RateLimited { retry_after_ms: Some(37_900) }
    );
    // Quota and billing: waiting will not help.
    assert_eq!(
        classify(
            "You exceeded your current quota, please check your plan and billing details.",
            Some(429),
            Some("insufficient_quota")
        ),
        ErrorKind::Quota
    );
    assert_eq!(
        classify("Credit balance is too low", None, Some("billing_error")),
        ErrorKind::Quota
    );
    assert_eq!(
        classify("Quota exceeded for requests per day", Some(429), None),
        ErrorKind::Quota
    );
    // Auth.
    assert_eq!(
        classify("Invalid API key · Please run /login", None, None),
        ErrorKind::Auth
    );
    assert_eq!(classify("nope", Some(401), None), ErrorKind::Auth);
    assert_eq!(
        classify("x", None, Some("authentication_error")),
        ErrorKind::Auth
    );
    // Others.
    assert_eq!(
        classify("Overloaded", Some(529), Some("overloaded_error")),
        ErrorKind::Api { status: Some(529) }
    );
    assert_eq!(
        classify("[Request interrupted by user]", None, None),
        ErrorKind::Interrupted
    );
    assert_eq!(
        classify("Model metadata not found", None, None),
        ErrorKind::Other
    );
    assert_eq!(classify("", None, None), ErrorKind::Other);
    // A number is not a status without its context.
    assert_eq!(classify("wrote 429 lines", None, None), ErrorKind::Other);
}

// ---------------------------------------------------------------------------------------
// Serialization

#[test]
fn events_serialize_and_round_trip() {
    let mut all = Vec::new();
    all.extend(run(&mut CodexParser::new(), CODEX_TOOL_CALL, Some(0)));
    all.extend(run(&mut CodexParser::new(), CODEX_API_ERROR, Some(1)));
    all.extend(run(
        &mut ClaudeParser::new(),
        CLAUDE_RESUME_PARTIAL,
        Some(0),
    ));
    all.extend(run(&mut ClaudeParser::new(), CLAUDE_SIGINT, Some(0)));
    all.extend(run(&mut GeminiParser::new(), GEMINI_STREAM, Some(0)));
    all.extend(run(&mut AiderParser::new(), AIDER_DIFF_EDIT, Some(0)));
    for e in &all {
        let json = serde_json::to_string(e).unwrap();
        let back: AgentEvent = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, e, "{json}");
    }
    let usage = all
        .iter()
        .find(|e| matches!(e, AgentEvent::Usage { .. }))
        .unwrap();
    let v = serde_json::to_value(usage).unwrap();
    assert_eq!(v["type"], "usage");
    assert_eq!(v["input"], 2400);
    assert_eq!(v["cost_usd"], Value::Null);
    assert!(v["raw"].as_str().unwrap().contains("turn.completed"));
    let failed = all
        .iter()
        .find(|e| matches!(e, AgentEvent::Finished { ok: false, .. }))
        .unwrap();
    let v = serde_json::to_value(failed).unwrap();
    assert_eq!(v["type"], "finished");
    assert_eq!(v["error"]["kind"], "api");
    assert_eq!(v["error"]["message"], "fake bad request");
    let tool = all
        .iter()
        .find(|e| {
            matches!(
                e,
                AgentEvent::ToolStarted {
                    kind: ToolKind::Shell,
                    ..
                }
            )
        })
        .unwrap();
    assert_eq!(serde_json::to_value(tool).unwrap()["kind"], "shell");
}

// ---------------------------------------------------------------------------------------
// Garbage, truncation, huge lines

fn parsers() -> Vec<(&'static str, Box<dyn AgentParser>)> {
    vec![
        ("codex", Box::new(CodexParser::new())),
        ("claude", Box::new(ClaudeParser::new())),
        ("gemini", Box::new(GeminiParser::new())),
        ("aider", Box::new(AiderParser::new())),
    ]
}

/// The stream's invariants: a run that started ends, tools finish only after they started,
/// `finish` is given once.
fn check_invariants(name: &str, parser: &mut dyn AgentParser, events: &[AgentEvent]) {
    let last_started = events
        .iter()
        .rposition(|e| matches!(e, AgentEvent::Started { .. }));
    let last_finished = events.iter().rposition(AgentEvent::is_finished);
    assert!(
        last_finished.is_some(),
        "{name}: no Finished in {events:#?}"
    );
    assert!(
        last_started < last_finished,
        "{name}: a run started and never finished: {events:#?}"
    );
    let mut started = std::collections::HashSet::new();
    for e in events {
        match e {
            AgentEvent::ToolStarted { id, .. } => {
                started.insert(id.clone());
            }
            AgentEvent::ToolFinished { id, .. } => {
                assert!(
                    started.contains(id),
                    "{name}: {id} finished before it started"
                )
            }
            _ => {}
        }
    }
    assert!(parser.finish(Some(0)).is_empty(), "{name}: finish twice");
}

fn feed_lines(
    parser: &mut dyn AgentParser,
    lines: &[String],
    exit: Option<i32>,
) -> Vec<AgentEvent> {
    let mut events = Vec::new();
    for l in lines {
        events.extend(parser.line(l));
    }
    events.extend(parser.finish(exit));
    events
}

const ALL_FIXTURES: [&str; 10] = [
    CODEX_TOOL_CALL,
    CODEX_RESUME,
    CODEX_API_ERROR,
    CODEX_SIGINT,
    CLAUDE_TOOL_CALL,
    CLAUDE_RESUME_PARTIAL,
    CLAUDE_API_ERROR,
    CLAUDE_SIGINT,
    GEMINI_STREAM,
    AIDER_DIFF_EDIT,
];

/// A fixture line cut at a char boundary at or below `at`.
fn truncated(line: &str, at: usize) -> String {
    let mut at = at % (line.len() + 1);
    while !line.is_char_boundary(at) {
        at -= 1;
    }
    line[..at].to_string()
}

fn fixture_lines() -> Vec<&'static str> {
    ALL_FIXTURES.iter().flat_map(|f| f.lines()).collect()
}

fn line_strategy() -> impl Strategy<Value = String> {
    let n = fixture_lines().len();
    prop_oneof![
        any::<String>(),
        "\\{\"type\":\"[a-z._/]{0,20}\"(,\"[a-z_]{1,12}\":(null|1|\"x\"|\\[\\]|\\{\\}))*\\}",
        (0..n).prop_map(|i| fixture_lines()[i].to_string()),
        (0..n, any::<usize>()).prop_map(|(i, at)| truncated(fixture_lines()[i], at)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn no_parser_panics_on_garbage_or_truncated_lines(
        lines in prop::collection::vec(line_strategy(), 0..40),
        exit in prop::option::of(-1i32..256),
        cancel in any::<bool>(),
    ) {
        for (name, mut parser) in parsers() {
            if cancel {
                parser.cancel_requested();
            }
            let events = feed_lines(parser.as_mut(), &lines, exit);
            check_invariants(name, parser.as_mut(), &events);
        }
        let _ = gemini_json(&lines.join("\n"));
    }

    #[test]
    fn usage_deltas_are_never_negative_and_add_up(
        steps in prop::collection::vec((0u64..1_000_000, 0u64..1_000_000, 0u64..1000), 1..20),
    ) {
        let mut tracker = UsageTracker::new();
        let mut total = Usage { cost_usd: Some(0.0), ..Usage::default() };
        let mut monotone = true;
        let mut last = Usage::default();
        for (input, output, cents) in &steps {
            let now = tokens(*input, 0, *output, 0, Some(*cents as f64 / 100.0));
            monotone &= now.input >= last.input && now.output >= last.output
                && now.cost_usd >= last.cost_usd;
            let delta = tracker.observe(&now);
            prop_assert!(delta.input <= now.input && delta.output <= now.output);
            prop_assert!(delta.cost_usd.unwrap() >= 0.0);
            total = total.add(&delta);
            last = now;
        }
        prop_assert_eq!(tracker.baseline().input, last.input);
        if monotone {
            prop_assert_eq!(total.input, last.input);
            prop_assert_eq!(total.output, last.output);
            prop_assert!((total.cost_usd.unwrap() - last.cost_usd.unwrap()).abs() < 1e-6);
        }
    }
}

#[test]
fn huge_and_deeply_nested_lines() {
    let huge_text = "x".repeat(8 << 20);
    let huge_message = format!(
        r#"{{"type":"item.completed","item":{{"id":"i","type":"agent_message","text":"{huge_text}"}}}}"#
    );
    let huge_claude = format!(
        r#"{{"type":"assistant","message":{{"id":"m","content":[{{"type":"text","text":"{huge_text}"}}]}}}}"#
    );
    let deep = "[".repeat(200_000);
    let invalid_utf8_ish = "\u{FFFD}\u{0}\u{1b}[31m{\"type\":";
    for (name, mut parser) in parsers() {
        let mut events = Vec::new();
        for line in [
            huge_text.as_str(),
            huge_message.as_str(),
            huge_claude.as_str(),
            deep.as_str(),
            invalid_utf8_ish,
            "{}",
            "[]",
            "null",
            "{\"type\":42}",
            "{\"type\":\"no.such.event\"}",
        ] {
            events.extend(parser.line(line));
        }
        events.extend(parser.finish(Some(0)));
        check_invariants(name, parser.as_mut(), &events);
        // Warnings quote a short excerpt, and keep the whole line in raw.
        for e in &events {
            if let AgentEvent::Warning { message, .. } = e {
                assert!(
                    message.len() < 1000,
                    "{name}: a long warning: {}",
                    message.len()
                );
            }
        }
    }
    // The huge message itself is read whole.
    let events = CodexParser::new().line(&huge_message);
    assert!(matches!(&events[0], AgentEvent::Text { text, .. } if text.len() == 8 << 20));
    let events = ClaudeParser::new().line(&deep);
    assert!(matches!(
        &events[0],
        AgentEvent::Warning { error: None, .. }
    ));
}
