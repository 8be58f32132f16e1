//! The `acp` adapter (issue 26) over real stdio: `overlord-tui acp-client` (the official SDK)
//! drives `overlord-fake-acp-agent` (tests/fake_acp/main.rs, JSON-RPC written by hand), which
//! reports in its own messages what the client answered it. Checked: the turn's native event
//! lines (session, tools with kinds and repo-relative files, plan, streamed and whole text,
//! the verdict from `stopReason`), files served inside the worktree only (a missing file is
//! "resource not found", a write outside is refused and reported), permission requests
//! answered by the built-in policy, and SIGTERM becoming `session/cancel`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::common::wait_for;

const FAKE: &str = env!("CARGO_BIN_EXE_overlord-fake-acp-agent");

fn client(worktree: &Path, scenario: &str) -> Command {
    client_with(worktree, scenario, &[])
}

fn client_with(worktree: &Path, scenario: &str, rules: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_overlord-tui"));
    cmd.args(["acp-client", "--worktree"])
        .arg(worktree)
        .args(["--prompt", "write hello"]);
    for r in rules {
        cmd.args(["--permission", r]);
    }
    cmd.args(["--", FAKE])
        .env("FAKE_ACP_SCENARIO", scenario)
        .stdin(Stdio::null());
    cmd
}

fn events(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not an event ({e}): {l}")))
        .collect()
}

fn of_type<'a>(events: &'a [Value], t: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == t).collect()
}

/// The whole text of the turn (its non-delta messages).
fn said(events: &[Value]) -> String {
    of_type(events, "text")
        .iter()
        .filter(|e| e["delta"] == false)
        .map(|e| e["text"].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_turn_becomes_native_events_with_files_served_only_inside_the_worktree() {
    let dir = tempfile::tempdir().unwrap();
    let wt = dir.path().join("wt");
    std::fs::create_dir_all(&wt).unwrap();
    let out = client(&wt, "edit").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}\n{stderr}", out.status);
    let ev = events(&out.stdout);

    // The files: written inside through the client, nothing outside.
    assert_eq!(
        std::fs::read_to_string(wt.join("hello.txt")).unwrap(),
        "hello from acp\n"
    );
    assert!(!dir.path().join("outside.txt").exists());
    // What the agent saw of the client's answers.
    let text = said(&ev);
    for seen in [
        "observed: missing -32002",
        "observed: write ok read-back true",
        "observed: outside refused -32602",
        "observed: permission reject",
    ] {
        assert!(text.contains(seen), "{seen} not in: {text}");
    }

    // The session and the model (the agent's name).
    let started = of_type(&ev, "started");
    assert_eq!(started.len(), 1, "{ev:?}");
    assert_eq!(started[0]["session_id"], "fake-session-1");
    assert_eq!(started[0]["model"], "fake-acp");
    // Tools: kinds, titles, files relative to the worktree, which failed.
    let tools = of_type(&ev, "tool_started");
    let tool = |id: &str| *tools.iter().find(|t| t["id"] == id).unwrap();
    assert_eq!(tools.len(), 3, "{tools:?}");
    assert_eq!(tool("call-1")["kind"], "edit");
    assert_eq!(tool("call-1")["name"], "edit");
    assert_eq!(tool("call-1")["summary"], "hello.txt");
    // A file outside the worktree stays absolute (it is not one of the task's files).
    assert_eq!(
        tool("call-2")["summary"],
        dir.path().join("outside.txt").display().to_string()
    );
    assert_eq!(tool("call-3")["kind"], "shell");
    assert_eq!(tool("call-3")["summary"], "rm -rf build/");
    let finished = of_type(&ev, "tool_finished");
    let done = |id: &str| *finished.iter().find(|t| t["id"] == id).unwrap();
    assert_eq!(done("call-1")["ok"], true);
    assert_eq!(done("call-1")["output"], "created hello.txt");
    assert_eq!(done("call-2")["ok"], false);
    assert_eq!(done("call-3")["ok"], false);
    assert_eq!(done("call-3")["output"], "not run");
    // Every tool_finished comes after its tool_started.
    for f in &finished {
        let at = |e: &Value| ev.iter().position(|x| x == e).unwrap();
        assert!(at(tool(f["id"].as_str().unwrap())) < at(f));
    }
    // The plan, as reasoning.
    assert!(of_type(&ev, "reasoning")
        .iter()
        .any(|r| r["text"] == "plan:\n[~] write hello.txt\n[ ] try outside"));
    // Live text before the whole message.
    assert!(of_type(&ev, "text").iter().any(|t| t["delta"] == true));
    // The refusal and the permission decision are reported.
    let warnings: Vec<String> = of_type(&ev, "warning")
        .iter()
        .map(|w| w["message"].as_str().unwrap().to_string())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("refused to write") && w.contains("outside.txt")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("permission rejected: execute `rm -rf build/`")),
        "{warnings:?}"
    );
    // The missing file is an answer, not a refusal.
    assert!(
        !warnings.iter().any(|w| w.contains("refused to read")),
        "{warnings:?}"
    );
    // The cost the agent reported (cumulative), as deltas that add up to it.
    let cost: f64 = of_type(&ev, "usage")
        .iter()
        .map(|u| u["cost_usd"].as_f64().unwrap())
        .sum();
    assert!((cost - 0.0123).abs() < 1e-9, "{cost}");
    // The end: once, last, ok, with the turn's text.
    let end = of_type(&ev, "finished");
    assert_eq!(end.len(), 1);
    assert_eq!(ev.last(), Some(end[0]));
    assert_eq!(end[0]["ok"], true);
    assert!(end[0]["result_text"]
        .as_str()
        .unwrap()
        .contains("Working on: write hello."));
}

#[test]
fn a_refusal_ends_the_run_failed() {
    let dir = tempfile::tempdir().unwrap();
    let out = client(dir.path(), "refuse").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let ev = events(&out.stdout);
    let end = of_type(&ev, "finished");
    assert_eq!(end.len(), 1, "{ev:?}");
    assert_eq!(end[0]["ok"], false);
    assert_eq!(end[0]["error"]["message"], "the agent refused the task");
}

#[test]
fn sigterm_becomes_session_cancel_and_the_turn_ends_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = client(dir.path(), "cancel")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    // The agent is working (its tool started, it said so): stop the client.
    wait_for("the agent to wait", Duration::from_secs(60), || {
        while let Ok(l) = rx.try_recv() {
            lines.push(l);
        }
        lines.iter().any(|l| l.contains("waiting")).then_some(())
    });
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = child.wait().unwrap();
    while let Ok(l) = rx.recv_timeout(Duration::from_secs(10)) {
        lines.push(l);
    }
    assert_eq!(code.code(), Some(1), "{lines:?}");
    let ev = events(lines.join("\n").as_bytes());
    let end = of_type(&ev, "finished");
    assert_eq!(end.len(), 1, "{ev:?}");
    assert_eq!(end[0]["ok"], false);
    assert_eq!(end[0]["error"]["kind"], "interrupted");
    // The agent ended its tool because of the cancel (it waits for session/cancel only).
    assert!(of_type(&ev, "tool_finished")
        .iter()
        .any(|t| t["id"] == "slow-1" && t["ok"] == false));
}

fn warnings(events: &[Value]) -> Vec<String> {
    of_type(events, "warning")
        .iter()
        .map(|w| w["message"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn permission_requests_follow_the_rules_and_a_bad_rule_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // The default asks for execution; without --answers-on-stdin nobody can answer: rejected.
    let out = client(dir.path(), "edit").output().unwrap();
    let ev = events(&out.stdout);
    assert!(said(&ev).contains("observed: permission reject"));
    assert!(
        warnings(&ev).iter().any(|w| w
            == "permission rejected: execute `rm -rf build/` (the default says ask: nobody can answer)"),
        "{:?}",
        warnings(&ev)
    );
    // A rule allows it (the option of kind allow_once).
    let out = client_with(dir.path(), "edit", &["execute=allow"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let ev = events(&out.stdout);
    assert!(
        said(&ev).contains("observed: permission allow "),
        "{}",
        said(&ev)
    );
    assert!(
        warnings(&ev)
            .iter()
            .any(|w| w == "permission allowed: execute `rm -rf build/` (rule \"execute=allow\")"),
        "{:?}",
        warnings(&ev)
    );
    // `*` denies, a named kind wins over it.
    let out = client_with(dir.path(), "edit", &["*=deny", "fetch=allow"])
        .output()
        .unwrap();
    let ev = events(&out.stdout);
    assert!(said(&ev).contains("observed: permission reject"));
    assert!(warnings(&ev)
        .iter()
        .any(|w| w.ends_with("(rule \"*=deny\")")));
    // A bad rule: a clear error, no agent started.
    let out = client_with(dir.path(), "edit", &["exec=allow"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown tool kind 'exec'"), "{err}");
    assert!(out.stdout.is_empty());
}

/// A client run whose stdin the test writes as the supervisor would, its events read live.
struct Live {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    rx: std::sync::mpsc::Receiver<String>,
    lines: Vec<String>,
}

impl Live {
    fn start(mut cmd: Command) -> Live {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut live = Live {
            stdin: child.stdin.take(),
            child,
            rx,
            lines: Vec::new(),
        };
        live.write(&format!("{{\"key\": \"{KEY}\"}}"));
        live
    }

    /// Waits for a line containing `what`.
    fn wait_line(&mut self, what: &str) {
        wait_for(what, Duration::from_secs(60), || {
            while let Ok(l) = self.rx.try_recv() {
                self.lines.push(l);
            }
            self.lines.iter().any(|l| l.contains(what)).then_some(())
        });
    }

    fn write(&mut self, line: &str) {
        use std::io::Write;
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// The run's end: its exit code and every event.
    fn end(mut self) -> (Option<i32>, Vec<Value>) {
        let code = self.child.wait().unwrap().code();
        while let Ok(l) = self.rx.recv_timeout(Duration::from_secs(10)) {
            self.lines.push(l);
        }
        drop(self.stdin.take());
        (code, events(self.lines.join("\n").as_bytes()))
    }
}

fn asking(worktree: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_overlord-tui"));
    cmd.args(["acp-client", "--worktree"])
        .arg(worktree)
        .args(["--prompt", "clean up", "--answers-on-stdin"])
        .args(extra)
        .args(["--", FAKE])
        .env("FAKE_ACP_SCENARIO", "ask");
    cmd
}

const ASKED: &str = "permission asked [p1]: execute `rm -rf build/`";

/// The run's key, as the supervisor would give it.
const KEY: &str = "00112233445566778899aabbccddeeff";

/// An answer line as the supervisor writes it.
fn answer(request: &str, answer: &str, by: &str) -> String {
    format!(r#"{{"key": "{KEY}", "permission": "{request}", "answer": "{answer}", "by": "{by}"}}"#)
}

#[test]
fn an_ask_waits_for_the_answer_on_stdin_and_allow_for_the_session_is_not_asked_twice() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = asking(dir.path(), &[]);
    // The agent meanwhile tries to answer its own request through the client's stdin.
    cmd.env("FAKE_ACP_ATTACK", "1");
    let mut run = Live::start(cmd);
    run.wait_line(ASKED);
    // Bad answers: said and ignored, the request still waits.
    run.write("this is not an answer");
    run.write(&answer("p9", "allow_once", "console:alice"));
    run.wait_line("no such request is waiting");
    run.write(&answer("p1", "allow_session", "console:alice"));
    // The same answer again: the request is no longer waiting.
    run.write(&answer("p1", "reject", "console:bob"));
    let (code, ev) = run.end();
    assert_eq!(code, Some(0), "{ev:?}");
    let text = said(&ev);
    for seen in [
        "observed: permission 1 always",
        // The second, identical request: answered by the client itself, once at a time.
        "observed: permission 2 allow ",
    ] {
        assert!(text.contains(seen), "{seen} not in: {text}");
    }
    let w = warnings(&ev);
    // The agent's own answer: it cannot open the client's stdin (non-dumpable), or where it can
    // (as root) its line lacks the run's key and is ignored; the answer is the human's.
    if text.contains("observed: stdin attack written") {
        assert!(
            w.iter()
                .any(|x| x.contains("an answer for \"p1\" without the run's key")),
            "{w:#?}"
        );
    } else {
        assert!(text.contains("observed: stdin attack refused"), "{text}");
    }
    assert_eq!(
        w.iter()
            .filter(|w| w.starts_with("permission asked"))
            .count(),
        1,
        "asked once only: {w:#?}"
    );
    for wanted in [
        ASKED,
        "permission allowed [p1]: execute `rm -rf build/` (allowed for the session by console:alice)",
        "permission allowed: execute `rm -rf build/` (the default says ask: allowed for the session by console:alice earlier)",
    ] {
        assert!(w.iter().any(|x| x == wanted), "{wanted} not in {w:#?}");
    }
    assert!(
        w.iter()
            .any(|x| x.starts_with("permission answer ignored: a malformed answer line")),
        "{w:#?}"
    );
    assert!(
        w.iter()
            .filter(|x| x.contains("\"p9\": no such request is waiting"))
            .count()
            == 1,
        "{w:#?}"
    );
}

#[test]
fn a_rejected_ask_and_an_unanswered_one_are_rejected_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = Live::start(asking(dir.path(), &["--ask-timeout", "1"]));
    run.wait_line(ASKED);
    run.write(&answer("p1", "reject", "discord:alice(42)"));
    // The second request is asked too (a reject is for one request) and nobody answers it.
    let (code, ev) = run.end();
    assert_eq!(code, Some(0), "{ev:?}");
    let text = said(&ev);
    assert!(text.contains("observed: permission 1 reject"), "{text}");
    assert!(text.contains("observed: permission 2 reject"), "{text}");
    let w = warnings(&ev);
    for wanted in [
        "permission rejected [p1]: execute `rm -rf build/` (rejected by discord:alice(42))",
        "permission asked [p2]: execute `rm -rf build/`",
        "permission rejected [p2]: execute `rm -rf build/` (no answer within 1 s)",
    ] {
        assert!(w.iter().any(|x| x == wanted), "{wanted} not in {w:#?}");
    }
}

#[test]
fn a_cancel_while_asking_cancels_the_request_and_the_turn() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = Live::start(asking(dir.path(), &[]));
    run.wait_line(ASKED);
    let status = Command::new("kill")
        .args(["-TERM", &run.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (code, ev) = run.end();
    assert_eq!(code, Some(1), "{ev:?}");
    assert!(said(&ev).is_empty() || !said(&ev).contains("permission 2"));
    let w = warnings(&ev);
    assert!(
        w.iter()
            .any(|x| x
                == "permission rejected [p1]: execute `rm -rf build/` (the turn was cancelled)"),
        "{w:#?}"
    );
    let end = of_type(&ev, "finished");
    assert_eq!(end.len(), 1, "{ev:?}");
    assert_eq!(end[0]["error"]["kind"], "interrupted");
}

#[test]
fn a_resumed_run_loads_its_session_where_the_agent_can_else_starts_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let resume = |load: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_overlord-tui"));
        c.args(["acp-client", "--worktree"])
            .arg(dir.path())
            .args([
                "--prompt",
                "again",
                "--resume",
                "fake-session-1",
                "--",
                FAKE,
            ])
            .env("FAKE_ACP_SCENARIO", "refuse")
            .env("FAKE_ACP_LOAD", if load { "1" } else { "0" })
            .stdin(Stdio::null());
        events(&c.output().unwrap().stdout)
    };
    let ev = resume(true);
    let text = of_type(&ev, "text")
        .iter()
        .map(|t| t["text"].as_str().unwrap().to_string())
        .collect::<String>();
    assert!(
        text.contains("observed: session loaded fake-session-1"),
        "{ev:?}"
    );
    // The history the agent replays on session/load is not this run's.
    assert!(!text.contains("replayed history"), "{ev:?}");
    assert_eq!(of_type(&ev, "started")[0]["session_id"], "fake-session-1");
    assert!(warnings(&ev).contains(&"resumed session fake-session-1 (session/load)".to_string()));
    // An agent without loadSession: a new session, and the note says so.
    let ev = resume(false);
    assert!(!warnings(&ev).iter().any(|w| w.contains("session/load)")));
    assert!(
        warnings(&ev).contains(
            &"the agent cannot load sessions (no loadSession): a new session instead of fake-session-1"
                .to_string()
        ),
        "{ev:?}"
    );
}

/// Tokens the turn's answer reports in `_meta` (Gemini CLI's `quota.token_count`) become the
/// run's usage; an answer without them reports none (the run's tokens stay unknown, not 0).
#[test]
fn the_tokens_an_answer_reports_in_its_meta_are_the_runs_usage() {
    let dir = tempfile::tempdir().unwrap();
    let wt = dir.path().join("wt");
    std::fs::create_dir_all(&wt).unwrap();
    let out = client(&wt, "edit")
        .env("FAKE_ACP_TOKENS", "1234,56")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ev = events(&out.stdout);
    // (The scenario's `usage_update`s report a cost and no tokens.)
    let tokens = |ev: &[Value]| -> Vec<(u64, u64)> {
        of_type(ev, "usage")
            .iter()
            .filter(|u| u["input"] != 0 || u["output"] != 0)
            .map(|u| (u["input"].as_u64().unwrap(), u["output"].as_u64().unwrap()))
            .collect()
    };
    assert_eq!(tokens(&ev), vec![(1234, 56)], "{ev:?}");
    // Before the run's end.
    let last_usage = ev.iter().rposition(|e| e["type"] == "usage").unwrap();
    let finished = ev.iter().position(|e| e["type"] == "finished").unwrap();
    assert!(last_usage < finished, "{ev:?}");

    let out = client(&wt, "edit").output().unwrap();
    assert!(tokens(&events(&out.stdout)).is_empty());
}
