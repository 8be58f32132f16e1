//! The process runner (`overlord::runtime::process::run`) on real processes: the fake agent
//! CLI (`tests/fake_cli/main.rs`, built by cargo as `overlord-fake-agent`) replays the real
//! CLIs' captured output (`tests/fixtures/agent-cli/`) and checks that it was started as the
//! real CLI must be (argv, working directory, stdin). Every run's events are compared with
//! what the adapter's parser gives on the same fixture directly. Then cancelling (Claude's
//! interrupt request, SIGINT → SIGTERM → SIGKILL), process groups and leftovers, timeouts,
//! suspend and resume, floods and bad input; then `probe` and `overlord-tui agents`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use overlord::agent::adapter::{AdapterConfig, AdapterKind, AdapterSpec, Invocation, Turn};
use overlord::agent::parse::AgentParser;
use overlord::agent::{AgentEvent, ErrorKind, Usage, UsageTracker};
use overlord::runtime::adapters::{probe, probe_within};
use overlord::runtime::process::{
    run, Control, RunEnd, RunOptions, MAX_LINE, MAX_STDERR_LINE, STDERR_LINES,
};
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::mpsc;

use crate::common::*;

const FAKE: &str = env!("CARGO_BIN_EXE_overlord-fake-agent");
/// A prompt with characters that need escaping in JSON and in a shell.
const PROMPT: &str = "Fix the \"parser\" bug\nin src/lib.rs — don't break $HOME or `ls`";
/// No run in these tests should get anywhere near this.
const LIMIT: Duration = Duration::from_secs(60);

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/agent-cli")
}

fn fixture(rel: &str) -> PathBuf {
    fixtures().join(rel)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `<fixture>.exitcode` (`exit=1`), when the capture recorded one.
fn exitcode_file(path: &Path) -> Option<i32> {
    let file = PathBuf::from(format!("{}.exitcode", path.display()));
    let text = std::fs::read_to_string(file).ok()?;
    Some(
        text.trim()
            .strip_prefix("exit=")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("not an exit code file: {text:?}")),
    )
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    crate::common::sigint_reaches_children();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// An adapter of `kind` whose program is `binary`.
fn spec(kind: AdapterKind, binary: &str) -> AdapterSpec {
    AdapterSpec::from_config(
        kind.as_str(),
        &AdapterConfig {
            binary: binary.to_string(),
            ..AdapterConfig::default()
        },
    )
    .expect("adapter")
}

/// One run of the fake as an adapter of some kind, in a temporary work directory.
struct Setup {
    spec: AdapterSpec,
    workdir: TempDir,
    resume: Option<String>,
    files: Vec<String>,
    /// The fake's behaviour (`FAKE_AGENT_*`).
    env: Vec<(String, String)>,
    timeout: Option<Duration>,
    grace: Duration,
    usage: UsageTracker,
}

impl Setup {
    fn new(kind: AdapterKind) -> Setup {
        Setup::with_binary(kind, FAKE)
    }

    fn with_binary(kind: AdapterKind, binary: &str) -> Setup {
        Setup {
            spec: spec(kind, binary),
            workdir: tempfile::Builder::new()
                .prefix("ovl-agent-wd")
                .tempdir()
                .unwrap(),
            resume: None,
            files: Vec::new(),
            env: Vec::new(),
            timeout: None,
            // Long: a CLI that obeys SIGINT ends at once whatever the grace, and a loaded
            // machine must not turn a slow SIGINT into a SIGTERM. The escalation tests set
            // their own.
            grace: Duration::from_secs(10),
            usage: UsageTracker::new(),
        }
    }

    fn env(mut self, key: &str, value: impl Into<String>) -> Setup {
        self.env.push((key.to_string(), value.into()));
        self
    }

    fn fixture(self, path: &Path) -> Setup {
        self.env("FAKE_AGENT_FIXTURE", path.display().to_string())
    }

    fn invocation(&self) -> Invocation {
        let turn = Turn {
            prompt: PROMPT,
            resume: self.resume.as_deref(),
            workdir: self.workdir.path(),
            files: &self.files,
        };
        self.spec.invocation(&turn, Path::new(FAKE))
    }

    /// The run's options: the adapter's invocation, and the fake told what to expect of it.
    fn options(&self) -> RunOptions {
        let inv = self.invocation();
        let mut env = vec![
            (
                "FAKE_AGENT_EXPECT_ARGS".to_string(),
                inv.args.join("\u{1f}"),
            ),
            (
                "FAKE_AGENT_EXPECT_CWD".to_string(),
                self.workdir.path().display().to_string(),
            ),
            (
                "FAKE_AGENT_STDIN".to_string(),
                if inv.stdin.is_some() {
                    "claude"
                } else {
                    "null"
                }
                .to_string(),
            ),
            ("FAKE_AGENT_EXPECT_PROMPT".to_string(), PROMPT.to_string()),
        ];
        env.extend(self.env.iter().cloned());
        RunOptions {
            interrupt_by_stdin: self.spec.kind == AdapterKind::Claude,
            interrupt_root_first: false,
            invocation: inv,
            env,
            timeout: self.timeout,
            grace: self.grace,
            log: Some(self.workdir.path().join("run.log")),
        }
    }

    fn parser(&self) -> Box<dyn AgentParser + Send> {
        self.spec.parser(self.usage)
    }

    /// Runs to the end with no control; the events as they came.
    fn run(&self) -> (RunEnd, Vec<AgentEvent>) {
        block_on(async {
            let (_ctl, rx) = mpsc::unbounded_channel();
            run_collect(self.options(), self.parser(), rx).await
        })
    }
}

/// Runs, collecting the events (the channel is bounded: they are read as they come).
async fn run_collect(
    opts: RunOptions,
    parser: Box<dyn AgentParser + Send>,
    control: mpsc::UnboundedReceiver<Control>,
) -> (RunEnd, Vec<AgentEvent>) {
    let (tx, mut rx) = mpsc::channel(16);
    let collect = async {
        let mut events = Vec::new();
        while let Some(e) = rx.recv().await {
            events.push(e);
        }
        events
    };
    let both = async { tokio::join!(run(opts, parser, tx, control), collect) };
    tokio::time::timeout(LIMIT, both)
        .await
        .expect("the run did not end")
}

/// The events the adapter's parser gives on `text` directly, as the runner feeds it (one
/// line at a time, read as UTF-8 with replacement), ended with `exit`.
fn parse_directly(
    mut parser: Box<dyn AgentParser + Send>,
    text: &[u8],
    exit: Option<i32>,
) -> Vec<AgentEvent> {
    let mut events = Vec::new();
    for line in text.split_inclusive(|b| *b == b'\n') {
        events.extend(parser.line(&String::from_utf8_lossy(line)));
    }
    events.extend(parser.finish(exit));
    events
}

/// The run started, ran and exited with `exit`, with no complaint from the fake's checks.
fn assert_clean_end(end: &RunEnd, exit: i32) {
    assert_eq!(
        end.exit,
        Some(exit),
        "the fake ended with {:?} (97: argv, 98: cwd, 99: stdin, 96: interrupt); spawn error {:?}; stderr:\n{}",
        end.exit,
        end.spawn_error,
        end.stderr_tail.join("\n")
    );
    assert!(end.spawn_error.is_none());
    assert!(!end.cancelled && !end.timed_out && !end.leftovers);
    assert_eq!(end.signal_sent, None);
    assert_eq!(end.cut_lines, 0);
}

fn last_finished(events: &[AgentEvent]) -> (bool, Option<overlord::agent::AgentError>) {
    match events.last() {
        Some(AgentEvent::Finished { ok, error, .. }) => (*ok, error.clone()),
        other => panic!("the last event is not Finished: {other:?}"),
    }
}

/// Whether the process is gone (a zombie waiting for a reaper counts as gone: it runs no
/// more). Waits for it: a killed process's reparenting and reaping take a moment.
fn gone(pid: i32) -> bool {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match proc_state(pid) {
            None | Some('Z') | Some('X') => return true,
            Some(_) if Instant::now() >= deadline => return false,
            Some(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Kills a process a failed test left behind (a pid this test started).
struct Reap(Vec<i32>);

impl Drop for Reap {
    fn drop(&mut self) {
        for pid in &self.0 {
            if let Some(p) = rustix::process::Pid::from_raw(*pid) {
                if proc_state(*pid).is_some_and(|s| s != 'Z') {
                    let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
                }
            }
        }
    }
}

/// The CLI each fixture directory holds.
fn kind_of_dir(dir: &str) -> AdapterKind {
    let cli = dir
        .rsplit_once('-')
        .map(|(cli, _version)| cli)
        .unwrap_or(dir);
    match cli {
        "codex" => AdapterKind::Codex,
        "claude-code" => AdapterKind::Claude,
        "gemini-cli" => AdapterKind::Gemini,
        "aider" => AdapterKind::Aider,
        other => panic!("a fixture directory for an unknown CLI: {other}"),
    }
}

/// Exit codes the fixtures' README records in words rather than in an `.exitcode` file.
fn documented_exit(dir: &str, file: &str) -> Option<i32> {
    match (dir, file) {
        // "SIGINT sent to the process group during the turn: no final event (codex exits 1)"
        ("codex-0.169.0", "exec_sigint.jsonl") => Some(1),
        // "`result` with `subtype: "success"` but `is_error: true` … (exit 1)"
        ("claude-code-2.1.329", "print_api_error.jsonl") => Some(1),
        // "SIGINT during the turn: `[Request interrupted by user]`, no `result` (exit 0)"
        ("claude-code-2.1.329", "print_sigint.jsonl") => Some(0),
        _ => None,
    }
}

fn has_claude_result(text: &str) -> bool {
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .any(|v| v["type"] == "result")
}

// ---------------------------------------------------------------------------------------
// Every fixture through the runner

#[test]
fn every_fixture_replayed_through_the_runner_gives_the_parsers_events() {
    let mut replayed = Vec::new();
    let mut left_out = BTreeSet::new();
    let mut dirs: Vec<_> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let dir_name = dir.file_name().unwrap().to_str().unwrap().to_string();
        let kind = kind_of_dir(&dir_name);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for path in files {
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            if name.ends_with(".exitcode") {
                let of = path.with_file_name(name.trim_end_matches(".exitcode"));
                assert!(of.exists(), "{name} belongs to no fixture");
                continue;
            }
            if name.ends_with(".transcript.txt") || name.ends_with(".json") {
                // The transcript of Claude's input mode is a driver's log, not output: see
                // `claude_interrupt_request_ends_the_turn`. `prompt_json.json` is Gemini's
                // `--output-format json`, one document read whole by `gemini_json`: no
                // adapter streams it (the Gemini adapter asks for stream-json).
                left_out.insert(format!("{dir_name}/{name}"));
                continue;
            }
            let text = std::fs::read(&path).unwrap();
            let exit = documented_exit(&dir_name, &name)
                .or_else(|| exitcode_file(&path))
                .unwrap_or(0);
            let mut setup = Setup::new(kind)
                .fixture(&path)
                .env("FAKE_AGENT_EXIT", exit.to_string());
            if kind == AdapterKind::Aider {
                setup.files = vec!["README.md".into(), "src/lib.rs".into()];
            }
            if kind == AdapterKind::Claude && has_claude_result(&String::from_utf8_lossy(&text)) {
                // Claude's input mode waits for the next message after a result: the runner
                // must close stdin for it to exit.
                setup = setup.env("FAKE_AGENT_WAIT_EOF", "1");
            }
            let (end, events) = setup.run();
            assert_clean_end(&end, exit);
            let expected = parse_directly(setup.parser(), &text, Some(exit));
            assert_eq!(
                events, expected,
                "{dir_name}/{name}: the runner's events differ from the parser's"
            );
            assert_eq!(end.events, events.len() as u64);
            assert!(
                matches!(events.last(), Some(AgentEvent::Finished { .. })),
                "{dir_name}/{name}: no Finished"
            );
            let log = read(&setup.workdir.path().join("run.log"));
            assert!(
                log.contains("ended: exit"),
                "{name}: the log has no end: {log}"
            );
            replayed.push(format!("{dir_name}/{name}"));
        }
    }
    // Every CLI and every fixture is accounted for.
    assert_eq!(replayed.len(), 18, "{replayed:#?}");
    assert_eq!(
        left_out,
        BTreeSet::from([
            "claude-code-2.1.329/stream_json_input_interrupt.transcript.txt".to_string(),
            "gemini-cli-0.61.0/prompt_json.json".to_string(),
        ])
    );
}

#[test]
fn the_fakes_checks_catch_a_wrong_start() {
    // The same run as above, with the fake told to expect something else: it refuses, so the
    // comparisons above are not vacuous.
    let path = fixture("codex-0.169.0/exec_tool_call.jsonl");
    let mut s = Setup::new(AdapterKind::Codex).fixture(&path);
    let mut opts = s.options();
    opts.env
        .push(("FAKE_AGENT_EXPECT_ARGS".into(), "exec\u{1f}--json".into()));
    let (end, _) = block_on(async {
        let (_ctl, rx) = mpsc::unbounded_channel();
        run_collect(opts, s.parser(), rx).await
    });
    assert_eq!(end.exit, Some(97), "{:?}", end.stderr_tail);
    assert!(end.stderr_tail.iter().any(|l| l.contains("expected")));

    let mut opts = s.options();
    opts.env.push(("FAKE_AGENT_EXPECT_CWD".into(), "/".into()));
    let (end, _) = block_on(async {
        let (_ctl, rx) = mpsc::unbounded_channel();
        run_collect(opts, s.parser(), rx).await
    });
    assert_eq!(end.exit, Some(98), "{:?}", end.stderr_tail);

    // Codex with a pipe on stdin (as for Claude) is refused.
    let mut opts = s.options();
    opts.invocation.stdin = Some("{}".into());
    let (end, _) = block_on(async {
        let (_ctl, rx) = mpsc::unbounded_channel();
        run_collect(opts, s.parser(), rx).await
    });
    assert_eq!(end.exit, Some(99), "{:?}", end.stderr_tail);

    // Claude given another prompt is refused.
    s = Setup::new(AdapterKind::Claude).fixture(&fixture("claude-code-2.1.329/print_sigint.jsonl"));
    let mut opts = s.options();
    opts.invocation.stdin = Some(overlord::agent::adapter::claude_user_message("other"));
    let (end, _) = block_on(async {
        let (_ctl, rx) = mpsc::unbounded_channel();
        run_collect(opts, s.parser(), rx).await
    });
    assert_eq!(end.exit, Some(99), "{:?}", end.stderr_tail);
}

// ---------------------------------------------------------------------------------------
// Claude's interrupt request

/// Claude's side of an interrupt, derived from the capture of the stream-json input mode
/// (`stream_json_input_interrupt.transcript.txt`): the lines it wrote after our
/// `control_request`. JSON lines the driver's log kept whole are used as they are; a line it
/// cut at ~200 characters is closed after its last whole field; a `result` (logged as a
/// Python dict of its main fields) is rebuilt with the type and subtype of its label. The
/// transcript's request id becomes `{request_id}` (the fake answers with ours). Returns the
/// lines and the exit code the transcript ends with.
fn interrupt_answer() -> (Vec<String>, i32) {
    let text = read(&fixture(
        "claude-code-2.1.329/stream_json_input_interrupt.transcript.txt",
    ));
    let mut request_id: Option<String> = None;
    let mut answer = Vec::new();
    let mut exit = None;
    for line in text.lines() {
        let line = line.trim_start();
        if let Some(rest) = line.strip_prefix("exit ") {
            exit = rest.split_whitespace().next().and_then(|n| n.parse().ok());
            continue;
        }
        let mut parts = line.splitn(4, ' ');
        let (_time, dir, label) = (parts.next(), parts.next(), parts.next());
        let payload = parts.next().unwrap_or("").trim_start();
        if dir == Some("IN") {
            let v: Value = serde_json::from_str(payload).expect("IN lines are whole JSON");
            if v["type"] == "control_request" {
                request_id = v["request_id"].as_str().map(str::to_string);
            }
            continue;
        }
        let Some(id) = &request_id else { continue };
        let label = label.expect("a label");
        let value: Value = if payload.starts_with("{'") {
            let json = payload
                .replace('\'', "\"")
                .replace(": False", ": false")
                .replace(": True", ": true")
                .replace(": None", ": null");
            let mut v: Value = serde_json::from_str(&json).expect("a result dict");
            let (kind, subtype) = label.split_once('/').expect("type/subtype");
            v["type"] = Value::from(kind);
            v["subtype"] = Value::from(subtype);
            v
        } else {
            serde_json::from_str(payload).unwrap_or_else(|_| {
                let whole = &payload[..payload.rfind(", \"").expect("a cut line has fields")];
                serde_json::from_str(&format!("{whole}}}"))
                    .unwrap_or_else(|e| panic!("cannot close the cut line ({e}): {payload}"))
            })
        };
        answer.push(value.to_string().replace(id.as_str(), "{request_id}"));
    }
    assert!(request_id.is_some(), "the transcript has no interrupt");
    (answer, exit.expect("the transcript's exit code"))
}

#[test]
fn claude_interrupt_request_ends_the_turn() {
    let (answer, exit) = interrupt_answer();
    assert_eq!(
        answer.len(),
        3,
        "control_response, user, result: {answer:#?}"
    );
    assert!(answer[0].contains("{request_id}"));
    // The turn up to its tool call (a real capture), then the interrupt.
    let tool_call = read(&fixture(
        "claude-code-2.1.329/print_stream_json_tool_call.jsonl",
    ));
    let before: Vec<&str> = tool_call.lines().take(2).collect();
    assert!(before[1].contains("tool_use"), "{}", before[1]);
    let s = Setup::new(AdapterKind::Claude);
    let before_file = s.workdir.path().join("before.jsonl");
    std::fs::write(&before_file, before.join("\n") + "\n").unwrap();
    let answer_file = s.workdir.path().join("answer.jsonl");
    std::fs::write(&answer_file, answer.join("\n") + "\n").unwrap();
    let s = s
        .fixture(&before_file)
        .env("FAKE_AGENT_ON_INTERRUPT", answer_file.display().to_string())
        .env("FAKE_AGENT_WAIT_EOF", "1")
        .env("FAKE_AGENT_EXIT", exit.to_string());

    let (end, events) = block_on(async {
        let (ctl, rx) = mpsc::unbounded_channel();
        let (tx, mut erx) = mpsc::channel(16);
        let driver = async {
            let mut events = Vec::new();
            while let Some(e) = erx.recv().await {
                if matches!(e, AgentEvent::ToolStarted { .. }) {
                    ctl.send(Control::Cancel).unwrap();
                }
                events.push(e);
            }
            events
        };
        let both = async { tokio::join!(run(s.options(), s.parser(), tx, rx), driver) };
        tokio::time::timeout(LIMIT, both)
            .await
            .expect("the run did not end")
    });
    assert_eq!(
        end.exit,
        Some(exit),
        "stderr: {}",
        end.stderr_tail.join("\n")
    );
    assert!(end.cancelled);
    assert_eq!(end.signal_sent, None, "the request was enough: no signal");
    // The events: the parser's on the same lines, told of the cancel where the runner was.
    let mut p = s.parser();
    let mut expected = Vec::new();
    for l in &before {
        expected.extend(p.line(l));
    }
    p.cancel_requested();
    for l in &answer {
        expected.extend(p.line(&l.replace("{request_id}", "x")));
    }
    expected.extend(p.finish(Some(exit)));
    assert_eq!(events, expected);
    let (ok, error) = last_finished(&events);
    assert!(!ok);
    let error = error.expect("an error");
    assert_eq!(error.kind, ErrorKind::Interrupted);
    assert_eq!(error.code.as_deref(), Some("aborted_streaming"));
}

#[test]
fn a_command_adapter_gets_the_prompt_verbatim() {
    // `{prompt}` and `{session}` are replaced once: a prompt that itself says `{session}` or
    // `{prompt}` arrives as it was written.
    let prompt = "Explain how {session} and {prompt} are used";
    let spec = AdapterSpec::from_config(
        "mine",
        &AdapterConfig {
            kind: "command".into(),
            binary: FAKE.into(),
            args: vec![
                "--task={prompt}".into(),
                "--resume".into(),
                "{session}".into(),
                "{prompt}{session}".into(),
            ],
            ..AdapterConfig::default()
        },
    )
    .unwrap();
    let workdir = tempfile::tempdir().unwrap();
    let turn = Turn {
        prompt,
        resume: Some("S-1"),
        workdir: workdir.path(),
        files: &[],
    };
    let inv = spec.invocation(&turn, Path::new(FAKE));
    assert_eq!(
        inv.args,
        vec![
            format!("--task={prompt}"),
            "--resume".to_string(),
            "S-1".to_string(),
            format!("{prompt}S-1"),
        ]
    );
    assert!(inv
        .env
        .contains(&("OVERLORD_PROMPT".to_string(), prompt.to_string())));
    // And so it reaches the program.
    let expected_args = inv.args.join("\u{1f}");
    let opts = RunOptions {
        invocation: inv,
        env: vec![
            ("FAKE_AGENT_EXPECT_ARGS".into(), expected_args),
            ("FAKE_AGENT_STDIN".into(), "null".into()),
        ],
        timeout: None,
        grace: Duration::from_millis(200),
        log: None,
        interrupt_by_stdin: false,
        interrupt_root_first: false,
    };
    let (end, _) = block_on(async {
        let (_ctl, rx) = mpsc::unbounded_channel();
        run_collect(opts, spec.parser(UsageTracker::new()), rx).await
    });
    assert_eq!(end.exit, Some(0), "{:?}", end.stderr_tail);
}

// ---------------------------------------------------------------------------------------
// Stopping: process groups, signals, leftovers, timeouts

/// A script that starts the fake with `signals` ignored (ignored dispositions survive exec).
fn ignoring(dir: &Path, signals: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join(format!("ignore-{}.sh", signals.replace(' ', "-")));
    std::fs::write(
        &script,
        format!("#!/bin/sh\ntrap '' {signals}\nexec '{FAKE}' \"$@\"\n"),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// Starts a hanging fake with a child, cancels it once both are up; returns how it ended and
/// the two pids.
fn cancel_hanging(binary: Option<&Path>, grace: Duration) -> (RunEnd, Vec<AgentEvent>, i32, i32) {
    let scripts = tempfile::tempdir().unwrap();
    let program = binary.map_or(FAKE.to_string(), |b| b.display().to_string());
    let mut s = Setup::with_binary(AdapterKind::Codex, &program);
    s.grace = grace;
    let s = s
        .fixture(&fixture("codex-0.169.0/exec_sigint.jsonl"))
        .env("FAKE_AGENT_HANG", "1");
    let pidfile = scripts.path().join("pid");
    let childfile = scripts.path().join("child");
    let s = s
        .env("FAKE_AGENT_PIDFILE", pidfile.display().to_string())
        .env("FAKE_AGENT_CHILD_PIDFILE", childfile.display().to_string());
    block_on(async {
        let (ctl, rx) = mpsc::unbounded_channel();
        let run = run_collect(s.options(), s.parser(), rx);
        let cancel = async {
            let pid = wait_pid(&pidfile).await;
            let child = wait_pid(&childfile).await;
            ctl.send(Control::Cancel).unwrap();
            (pid, child)
        };
        let ((end, events), (pid, child)) = tokio::join!(run, cancel);
        (end, events, pid, child)
    })
}

#[test]
fn cancel_stops_the_whole_group_with_sigint() {
    let (end, events, pid, child) = cancel_hanging(None, Duration::from_secs(10));
    let _reap = Reap(vec![pid, child]);
    assert!(end.cancelled);
    assert_eq!(end.signal_sent, Some("SIGINT"));
    assert_eq!(end.exit, None, "killed by SIGINT");
    assert!(gone(pid), "the CLI is still running");
    assert!(gone(child), "its child {child} was left running");
    let (ok, error) = last_finished(&events);
    assert!(!ok);
    assert_eq!(error.unwrap().kind, ErrorKind::Interrupted);
}

#[test]
fn a_cli_ignoring_sigint_is_stopped_with_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    // SIGTERM gets the grace too before SIGKILL would follow.
    let (end, _, pid, child) =
        cancel_hanging(Some(&ignoring(dir.path(), "INT")), Duration::from_secs(2));
    let _reap = Reap(vec![pid, child]);
    assert!(end.cancelled);
    assert_eq!(end.signal_sent, Some("SIGTERM"));
    assert!(gone(pid) && gone(child));
}

#[test]
fn a_cli_ignoring_sigint_and_sigterm_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let (end, events, pid, child) = cancel_hanging(
        Some(&ignoring(dir.path(), "INT TERM")),
        Duration::from_millis(200),
    );
    let _reap = Reap(vec![pid, child]);
    assert!(end.cancelled);
    assert_eq!(end.signal_sent, Some("SIGKILL"));
    assert!(gone(pid) && gone(child));
    assert_eq!(
        last_finished(&events).1.unwrap().kind,
        ErrorKind::Interrupted
    );
    assert!(end.describe().contains("SIGKILL"), "{}", end.describe());
}

#[test]
fn leftovers_of_a_cli_that_exited_are_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let childfile = dir.path().join("child");
    let path = fixture("codex-0.169.0/exec_tool_call.jsonl");
    let s = Setup::new(AdapterKind::Codex)
        .fixture(&path)
        .env("FAKE_AGENT_CHILD_PIDFILE", childfile.display().to_string());
    let (end, events) = s.run();
    let child = read_pid(&childfile);
    let _reap = Reap(vec![child]);
    assert_eq!(end.exit, Some(0), "{:?}", end.stderr_tail);
    assert!(end.leftovers, "the sleep it left was not noticed");
    assert!(!end.cancelled && end.signal_sent.is_none());
    assert!(gone(child), "the leftover {child} is still running");
    // The run itself is what the fixture says.
    let expected = parse_directly(s.parser(), &std::fs::read(&path).unwrap(), Some(0));
    assert_eq!(events, expected);
}

#[test]
fn a_timeout_stops_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let (pidfile, childfile) = (dir.path().join("pid"), dir.path().join("child"));
    let mut s = Setup::new(AdapterKind::Gemini)
        .fixture(&fixture(
            "gemini-cli-0.61.0/prompt_stream_json_tool_call.jsonl",
        ))
        .env("FAKE_AGENT_HANG", "1")
        .env("FAKE_AGENT_PIDFILE", pidfile.display().to_string())
        .env("FAKE_AGENT_CHILD_PIDFILE", childfile.display().to_string());
    s.timeout = Some(Duration::from_millis(1500));
    let (end, events) = s.run();
    let (pid, child) = (read_pid(&pidfile), read_pid(&childfile));
    let _reap = Reap(vec![pid, child]);
    assert!(end.timed_out && !end.cancelled);
    assert_eq!(end.signal_sent, Some("SIGINT"));
    assert!(
        end.describe().starts_with("timed out"),
        "{}",
        end.describe()
    );
    assert!(gone(pid) && gone(child));
    assert!(!group_has_members(pid), "the process group is still there");
    // The whole turn arrived before the hang; the result ended the run already.
    assert!(last_finished(&events).0);
}

/// Whether any process is in the group `pgid`.
fn group_has_members(pgid: i32) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .any(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            let Some(close) = stat.rfind(')') else {
                return false;
            };
            // state ppid pgrp …
            let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
            fields.get(2) == Some(&pgid.to_string().as_str()) && fields[0] != "Z"
        })
}

#[test]
fn suspend_stops_the_process_and_resume_continues_it() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let path = fixture("codex-0.169.0/exec_tool_call.jsonl");
    let mut s = Setup::new(AdapterKind::Codex)
        .fixture(&path)
        .env("FAKE_AGENT_DELAY_MS", "120")
        .env("FAKE_AGENT_PIDFILE", pidfile.display().to_string());
    // Time spent suspended does not count: the run takes longer than this in all.
    s.timeout = Some(Duration::from_secs(4));
    let suspended_for = Duration::from_millis(4500);
    let (end, events, stopped_state, during) = block_on(async {
        let (ctl, rx) = mpsc::unbounded_channel();
        let (tx, mut erx) = mpsc::channel(16);
        let driver = async {
            let mut events = Vec::new();
            let mut stopped_state = None;
            let mut during = None;
            while let Some(e) = erx.recv().await {
                let first = events.is_empty();
                events.push(e);
                if first {
                    let pid = wait_pid(&pidfile).await;
                    ctl.send(Control::Suspend).unwrap();
                    let until = Instant::now() + PATIENCE;
                    while proc_state(pid) != Some('T') && Instant::now() < until {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    stopped_state = proc_state(pid);
                    let stopped_at = Instant::now();
                    // Whatever was already in the pipe arrives: the stopped process's stdout
                    // pipe is empty and the runner (on this thread) has passed on what it
                    // read, nothing new for a few looks in a row. Then nothing more.
                    let mut quiet = 0;
                    while quiet < 3 && stopped_state == Some('T') {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        let before = events.len();
                        while let Ok(e) = erx.try_recv() {
                            events.push(e);
                        }
                        let drained = pipe_unread(pid, 1) == Some(0) && events.len() == before;
                        quiet = if drained { quiet + 1 } else { 0 };
                        assert!(
                            Instant::now() < until,
                            "the stopped agent's stdout never drained: {:?} bytes left",
                            pipe_unread(pid, 1)
                        );
                    }
                    let count = events.len();
                    // The time spent suspended is what is tested (longer than the run's
                    // timeout, which it must not count against): let it pass.
                    tokio::time::sleep_until((stopped_at + suspended_for).into()).await;
                    while let Ok(e) = erx.try_recv() {
                        events.push(e);
                    }
                    during = Some((count, events.len(), proc_state(pid)));
                    ctl.send(Control::Resume).unwrap();
                }
            }
            (events, stopped_state, during)
        };
        let both = async { tokio::join!(run(s.options(), s.parser(), tx, rx), driver) };
        let (end, (events, stopped_state, during)) = tokio::time::timeout(LIMIT, both)
            .await
            .expect("the run did not end");
        (end, events, stopped_state, during)
    });
    assert_eq!(stopped_state, Some('T'), "SIGSTOP did not stop the process");
    let (before, after, state) = during.expect("suspended");
    assert_eq!(
        before, after,
        "events arrived while the process was stopped"
    );
    assert_eq!(state, Some('T'));
    assert_clean_end(&end, 0);
    assert!(end.elapsed > suspended_for);
    let expected = parse_directly(s.parser(), &std::fs::read(&path).unwrap(), Some(0));
    assert_eq!(events, expected, "the run went on to its end after Resume");
}

// ---------------------------------------------------------------------------------------
// Resumed sessions and API errors

fn usage_of(events: &[AgentEvent]) -> Usage {
    let found: Vec<Usage> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::Usage { usage, .. } => Some(*usage),
            _ => None,
        })
        .collect();
    assert_eq!(found.len(), 1, "one Usage event: {events:#?}");
    found[0]
}

/// Codex's cumulative `turn.completed.usage` in a fixture.
fn codex_totals(path: &Path) -> Value {
    read(path)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["type"] == "turn.completed")
        .expect("turn.completed")["usage"]
        .clone()
}

#[test]
fn a_resumed_codex_run_reports_the_delta_of_its_thread() {
    let first_fixture = fixture("codex-0.169.0/exec_tool_call.jsonl");
    let first = Setup::new(AdapterKind::Codex).fixture(&first_fixture);
    let (end, events) = first.run();
    assert_clean_end(&end, 0);
    let thread = match &events[0] {
        AgentEvent::Started {
            session_id: Some(id),
            ..
        } => id.clone(),
        other => panic!("no session id: {other:?}"),
    };
    let tracker = end.usage.expect("codex keeps the thread's totals");

    let resume_fixture = fixture("codex-0.169.0/exec_resume.jsonl");
    let mut second = Setup::new(AdapterKind::Codex).fixture(&resume_fixture);
    second.resume = Some(thread.clone());
    second.usage = tracker;
    assert!(
        second.invocation().args.ends_with(&[
            "resume".to_string(),
            thread.clone(),
            PROMPT.to_string()
        ]),
        "{:?}",
        second.invocation().args
    );
    let (end, events) = second.run();
    assert_clean_end(&end, 0);
    let (before, after) = (codex_totals(&first_fixture), codex_totals(&resume_fixture));
    let delta = |k: &str| after[k].as_u64().unwrap() - before[k].as_u64().unwrap();
    let got = usage_of(&events);
    assert_eq!(
        (got.input, got.cached_input, got.output, got.reasoning),
        (
            delta("input_tokens"),
            delta("cached_input_tokens"),
            delta("output_tokens"),
            delta("reasoning_output_tokens")
        )
    );
    assert_eq!(got.cost_usd, None, "codex gives no price");
    // The tracker now holds the thread's totals.
    let totals = end.usage.unwrap().baseline();
    assert_eq!(totals.input, after["input_tokens"].as_u64().unwrap());
    assert_eq!(totals.output, after["output_tokens"].as_u64().unwrap());
}

#[test]
fn api_errors_end_in_a_failed_finish_with_the_apis_message() {
    // Codex: `error`, then `turn.failed` whose message is the API's JSON error; exit 1.
    let path = fixture("codex-0.169.0/exec_api_error.jsonl");
    let exit = exitcode_file(&path).expect("exit code");
    let (end, events) = Setup::new(AdapterKind::Codex).fixture(&path).run();
    assert_clean_end(&end, exit);
    let failed: Value = read(&path)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["type"] == "turn.failed")
        .unwrap();
    let inner: Value = serde_json::from_str(failed["error"]["message"].as_str().unwrap()).unwrap();
    let api_message = inner["error"]["message"].as_str().unwrap();
    let (ok, error) = last_finished(&events);
    assert!(!ok);
    let error = error.unwrap();
    assert!(error.message.contains(api_message), "{error:?}");
    assert!(matches!(error.kind, ErrorKind::Api { .. }), "{error:?}");

    // Claude: a `result` with `is_error: true` (subtype "success"), exit 1.
    let path = fixture("claude-code-2.1.329/print_api_error.jsonl");
    let exit = documented_exit("claude-code-2.1.329", "print_api_error.jsonl").unwrap();
    let (end, events) = Setup::new(AdapterKind::Claude)
        .fixture(&path)
        .env("FAKE_AGENT_WAIT_EOF", "1")
        .env("FAKE_AGENT_EXIT", exit.to_string())
        .run();
    assert_clean_end(&end, exit);
    let result: Value = read(&path)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["type"] == "result")
        .unwrap();
    assert_eq!(result["subtype"], "success");
    // "API Error: 400 fake bad request": the API's own words follow the status.
    let said = result["result"].as_str().unwrap();
    let api_message = said
        .strip_prefix("API Error: ")
        .and_then(|r| r.split_once(' '))
        .map(|(_status, m)| m)
        .unwrap();
    let (ok, error) = last_finished(&events);
    assert!(!ok);
    let error = error.unwrap();
    assert!(error.message.contains(api_message), "{error:?}");
    assert_eq!(error.kind, ErrorKind::Api { status: Some(400) });
}

// ---------------------------------------------------------------------------------------
// Runs that cannot start, bad output, floods

#[test]
fn a_missing_cli_or_work_directory_is_a_clear_spawn_error() {
    for binary in [
        "overlord-no-such-agent-cli",
        "/nonexistent/overlord-no-such-agent-cli",
    ] {
        let s = Setup::with_binary(AdapterKind::Gemini, binary);
        let (end, events) = s.run();
        let message = end.spawn_error.clone().expect("a spawn error");
        assert!(message.contains("not installed"), "{message}");
        assert!(message.contains(binary), "{message}");
        assert_eq!(end.describe(), message);
        assert!(events.is_empty() && end.exit.is_none());
    }

    let s = Setup::new(AdapterKind::Codex);
    let mut opts = s.options();
    let missing = s.workdir.path().join("gone");
    opts.invocation.cwd = missing.clone();
    let (end, _) = block_on(async {
        let (_ctl, rx) = mpsc::unbounded_channel();
        run_collect(opts, s.parser(), rx).await
    });
    let message = end.spawn_error.expect("a spawn error");
    assert!(message.contains("does not exist"), "{message}");
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );

    // A file where the work directory should be.
    let mut opts = s.options();
    let file = s.workdir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    opts.invocation.cwd = file.clone();
    let (end, _) = block_on(async {
        let (_ctl, rx) = mpsc::unbounded_channel();
        run_collect(opts, s.parser(), rx).await
    });
    let message = end.spawn_error.expect("a spawn error");
    assert!(message.contains("not a directory"), "{message}");

    // A program that is there but cannot be executed.
    let s = Setup::with_binary(AdapterKind::Aider, &file.display().to_string());
    let (end, _) = s.run();
    let message = end.spawn_error.expect("a spawn error");
    assert!(message.contains("cannot be executed"), "{message}");
}

#[test]
fn junk_lines_are_warnings_and_a_huge_line_is_cut() {
    let real = read(&fixture("codex-0.169.0/exec_tool_call.jsonl"));
    let lines: Vec<&str> = real.lines().collect();
    let huge = format!(
        r#"{{"type":"item.completed","item":{{"id":"item_9","type":"agent_message","text":"{}"}}}}"#,
        "x".repeat(3 << 20)
    );
    let mut text: Vec<u8> = Vec::new();
    let mut push = |l: &[u8]| {
        text.extend_from_slice(l);
        text.push(b'\n');
    };
    push(lines[0].as_bytes());
    push(b"this is not JSON");
    push(b"\xff\xfe\x00 bytes that are not UTF-8");
    push(br#"{"no":"type"}"#);
    push(b"[1,2,3]");
    push(br#"{"type":"something.new"}"#);
    push(huge.as_bytes());
    for l in &lines[1..] {
        push(l.as_bytes());
    }
    let s = Setup::new(AdapterKind::Codex);
    let file = s.workdir.path().join("junk.jsonl");
    std::fs::write(&file, &text).unwrap();
    let (end, events) = s.fixture(&file).run_keep(|s, end, events| {
        assert_eq!(end.cut_lines, 1);
        assert_eq!(end.exit, Some(0), "{:?}", end.stderr_tail);
        // The parser's events on the same lines, the huge one cut at MAX_LINE bytes, plus
        // the runner's own warning that it was cut.
        let mut p = s.parser();
        let mut expected = Vec::new();
        for line in text.split_inclusive(|b| *b == b'\n') {
            if line.len() > MAX_LINE {
                expected.extend(p.line(&String::from_utf8_lossy(&line[..MAX_LINE])));
                let cut_warning = events.get(expected.len()).expect("the cut warning").clone();
                match &cut_warning {
                    AgentEvent::Warning { message, raw, .. } => {
                        assert!(message.contains("cut"), "{message}");
                        assert!(raw.is_empty());
                    }
                    other => panic!("not the cut warning: {other:?}"),
                }
                expected.push(cut_warning);
            } else {
                expected.extend(p.line(&String::from_utf8_lossy(line)));
            }
        }
        expected.extend(p.finish(Some(0)));
        assert_eq!(events, &expected[..]);
    });
    let warnings = events
        .iter()
        .filter(|e| matches!(e, AgentEvent::Warning { error: None, .. }))
        .count();
    // Five junk lines, the cut line (not JSON once cut) and the runner's word on it.
    assert_eq!(warnings, 7, "{events:#?}");
    assert!(last_finished(&events).0, "the run still completes");
    assert!(!end.cancelled);
}

impl Setup {
    /// Runs, then hands the setup, the end and the events to `check`.
    fn run_keep(
        self,
        check: impl FnOnce(&Setup, &RunEnd, &[AgentEvent]),
    ) -> (RunEnd, Vec<AgentEvent>) {
        let (end, events) = self.run();
        check(&self, &end, &events);
        (end, events)
    }
}

#[test]
fn a_stderr_flood_is_kept_to_the_ring_buffer() {
    let path = fixture("gemini-cli-0.61.0/prompt_stream_json_tool_call.jsonl");
    let n = 20 * STDERR_LINES;
    let s = Setup::new(AdapterKind::Gemini)
        .fixture(&path)
        .env("FAKE_AGENT_STDERR_LINES", n.to_string());
    let (end, events) = s.run();
    assert_eq!(end.exit, Some(0));
    assert_eq!(end.stderr_tail.len(), STDERR_LINES);
    assert_eq!(
        end.stderr_tail.last().map(String::as_str),
        Some(format!("stderr line {}", n - 1).as_str())
    );
    assert_eq!(
        end.stderr_tail[0],
        format!("stderr line {}", n - STDERR_LINES)
    );
    let expected = parse_directly(s.parser(), &std::fs::read(&path).unwrap(), Some(0));
    assert_eq!(events, expected, "stderr does not reach the parser");
    // The log has them all (it is far from its size limit).
    let log = read(&s.workdir.path().join("run.log"));
    assert_eq!(log.lines().filter(|l| l.starts_with("err ")).count(), n);
}

/// Whether the run's log (its start) has a line of output.
fn logged_output(log: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(log)
        .and_then(|f| f.take(64 * 1024).read_to_end(&mut head))
        .is_ok_and(|_| String::from_utf8_lossy(&head).contains("\nout "))
}

/// A script that prints `line` forever, as fast as it can.
fn flooding(dir: &Path, line: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("flood.sh");
    std::fs::write(&script, format!("#!/bin/sh\nexec yes '{line}'\n")).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[test]
fn a_flood_of_output_does_not_stop_a_cancel_or_a_timeout() {
    let dir = tempfile::tempdir().unwrap();
    // Codex's `turn.started` gives no event: only lines, as fast as they come.
    let script = flooding(dir.path(), r#"{"type":"turn.started"}"#);
    let mut s = Setup::with_binary(AdapterKind::Codex, &script.display().to_string());
    s.timeout = Some(Duration::from_millis(500));
    let started = Instant::now();
    let (end, _) = s.run();
    assert!(end.timed_out, "{}", end.describe());
    assert_eq!(end.signal_sent, Some("SIGINT"));
    assert!(started.elapsed() < Duration::from_secs(20));

    s.timeout = None;
    let mut opts = s.options();
    // A log of its own, to see this run's flood arrive.
    let log = dir.path().join("cancel.log");
    opts.log = Some(log.clone());
    let (end, _) = block_on(async {
        let (ctl, rx) = mpsc::unbounded_channel();
        let cancel = async {
            // The cancel comes in the middle of the flood, once its lines reach the runner.
            wait_until_async("the flood to reach the runner", PATIENCE, || {
                logged_output(&log)
            })
            .await;
            ctl.send(Control::Cancel).unwrap();
        };
        let (out, ()) = tokio::join!(run_collect(opts, s.parser(), rx), cancel);
        out
    });
    assert!(end.cancelled, "{}", end.describe());
}

#[test]
fn a_cli_that_does_not_read_its_stdin_can_still_be_stopped() {
    // Claude's input mode with a prompt larger than a pipe holds, and a CLI that never reads
    // it (stuck starting up): the run must still time out, and still obey a cancel.
    let big = format!("{PROMPT} {}", "context ".repeat(64 * 1024));
    for cancel in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let mut s = Setup::new(AdapterKind::Claude)
            .env("FAKE_AGENT_STDIN", "")
            .env("FAKE_AGENT_HANG", "1")
            .env("FAKE_AGENT_PIDFILE", pidfile.display().to_string());
        if !cancel {
            s.timeout = Some(Duration::from_millis(500));
        }
        let mut opts = s.options();
        opts.invocation.stdin = Some(overlord::agent::adapter::claude_user_message(&big));
        let (end, pid) = block_on(async {
            let (ctl, rx) = mpsc::unbounded_channel();
            let run = run_collect(opts, s.parser(), rx);
            let control = async {
                let pid = wait_pid(&pidfile).await;
                if cancel {
                    // The cancel comes while the prompt is stuck on its way in: once it has
                    // started filling the CLI's stdin (it is far more than a pipe holds).
                    wait_until_async("the prompt to fill the CLI's stdin", PATIENCE, || {
                        pipe_unread(pid, 0).is_some_and(|n| n > 0)
                    })
                    .await;
                    ctl.send(Control::Cancel).unwrap();
                }
                // Keep the controller until the run ends.
                (pid, ctl)
            };
            let ((end, _), (pid, _ctl)) = tokio::join!(run, control);
            (end, pid)
        });
        let _reap = Reap(vec![pid]);
        assert_eq!(end.timed_out, !cancel, "{}", end.describe());
        assert_eq!(end.cancelled, cancel, "{}", end.describe());
        assert!(end.signal_sent.is_some());
        assert!(gone(pid));
    }
}

#[test]
fn a_cli_whose_interpreter_is_missing_says_so() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("codex");
    std::fs::write(&script, "#!/nonexistent/node\nconsole.log('hi')\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (end, events) = Setup::with_binary(AdapterKind::Codex, &script.display().to_string()).run();
    let message = end.spawn_error.expect("a spawn error");
    assert!(!message.contains("not installed"), "{message}");
    assert!(message.contains("interpreter"), "{message}");
    assert!(events.is_empty());
}

#[test]
fn a_huge_stderr_line_is_kept_short() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("noisy.sh");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(
            &script,
            "#!/bin/sh\nhead -c 3000000 /dev/zero | tr '\\0' x >&2\necho >&2\necho last words >&2\n",
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let (end, _) = Setup::with_binary(AdapterKind::Gemini, &script.display().to_string()).run();
    assert_eq!(end.exit, Some(0));
    assert_eq!(end.cut_lines, 1);
    assert_eq!(
        end.stderr_tail.len(),
        2,
        "{:?}",
        end.stderr_tail.iter().map(String::len).collect::<Vec<_>>()
    );
    assert!(
        end.stderr_tail[0].len() <= MAX_STDERR_LINE + 64,
        "{}",
        end.stderr_tail[0].len()
    );
    assert!(end.stderr_tail[0].starts_with("xxxx"));
    assert_eq!(end.stderr_tail[1], "last words");
}

// ---------------------------------------------------------------------------------------
// Probing the CLIs

#[test]
fn probe_finds_runs_and_reports_cleanly() {
    let self_exe = Path::new(env!("CARGO_BIN_EXE_overlord-tui"));
    // Found by path: the fake's version.
    let p = probe(&spec(AdapterKind::Codex, FAKE), self_exe);
    assert!(p.installed, "{p:?}");
    assert_eq!(p.version.as_deref(), Some("fake 1.0"));
    assert_eq!(p.path.as_deref(), Some(Path::new(FAKE)));
    assert!(p.error.is_none());

    // Not there.
    let p = probe(
        &spec(AdapterKind::Gemini, "overlord-no-such-agent-cli"),
        self_exe,
    );
    assert!(!p.installed && p.version.is_none() && p.path.is_none());
    assert!(p.error.unwrap().contains("not installed"));
    let p = probe(&spec(AdapterKind::Gemini, "/nonexistent/gemini"), self_exe);
    assert!(!p.installed);

    // The scripted adapter is this overlord-tui.
    let p = probe(&spec(AdapterKind::Scripted, ""), self_exe);
    assert!(p.installed);
    assert_eq!(p.path.as_deref(), Some(self_exe));
    assert_eq!(p.version.as_deref(), Some(env!("CARGO_PKG_VERSION")));

    // A version command that fails, prints garbage, prints nothing or hangs: a clear error.
    let sh = |script: &str| AdapterSpec {
        version_args: vec!["-c".into(), script.into()],
        ..spec(AdapterKind::Aider, "sh")
    };
    let cases = [
        ("echo oops >&2; exit 3", "exit"),
        ("printf '\\377\\376\\001\\n'", "readable"),
        ("true", "nothing"),
        (": > /dev/null; sleep 30", "did not finish"),
    ];
    for (script, says) in cases {
        let started = Instant::now();
        let p = probe_within(&sh(script), self_exe, Duration::from_millis(700));
        assert!(p.installed, "{script}: {p:?}");
        assert!(p.version.is_none(), "{script}: {p:?}");
        let error = p.error.unwrap_or_default();
        assert!(error.contains(says), "{script}: {error}");
        assert!(started.elapsed() < Duration::from_secs(10), "{script}");
    }
    // The first non-empty line, from stderr when stdout has none.
    let p = probe(&sh("echo; echo '  tool 2.1  '; echo more"), self_exe);
    assert_eq!(p.version.as_deref(), Some("tool 2.1"), "{p:?}");
    let p = probe(&sh("echo 'tool 3.0' >&2"), self_exe);
    assert_eq!(p.version.as_deref(), Some("tool 3.0"), "{p:?}");
}

#[test]
fn agents_lists_the_adapters_and_their_clis() {
    use std::os::unix::fs::symlink;
    let repo = Repo::new();
    let o = repo.run(&["init"]);
    assert!(o.status.success(), "{}", stderr(&o));
    repo.write(
        ".overlord/config.toml",
        r#"
[roles.tester]
adapter = "claude"

[roles.reviewer]
adapter = "nowhere"

[adapters.mine]
kind = "command"

[adapters.codex]
model = "o4-mini"
"#,
    );
    let bin = tempfile::tempdir().unwrap();
    symlink(FAKE, bin.path().join("codex")).unwrap();
    // Prepend: sh, git and the rest stay reachable; gemini must not be found anywhere.
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let gemini_elsewhere = std::env::split_paths(&path).any(|d| d.join("gemini").exists());
    let o = repo.run_env(
        &["agents", "--json"],
        &[
            ("PATH", &path),
            ("FAKE_AGENT_VERSION", "codex-cli 0.169.0-fake"),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["schema_version"], 1);
    let adapters = v["adapters"].as_array().unwrap();
    let by_name = |n: &str| {
        adapters
            .iter()
            .find(|a| a["name"] == n)
            .unwrap_or_else(|| panic!("no {n}: {v:#}"))
    };
    let codex = by_name("codex");
    assert_eq!(codex["kind"], "codex");
    assert_eq!(codex["program"], "codex");
    assert_eq!(codex["installed"], true);
    assert_eq!(codex["version"], "codex-cli 0.169.0-fake");
    assert_eq!(
        codex["path"].as_str().map(PathBuf::from),
        Some(bin.path().join("codex"))
    );
    assert_eq!(codex["model"], "o4-mini");
    assert_eq!(
        codex["roles"],
        serde_json::json!(["pm", "designer", "implementer", "debugger"])
    );
    assert_eq!(by_name("claude")["roles"], serde_json::json!(["tester"]));
    if !gemini_elsewhere {
        let gemini = by_name("gemini");
        assert_eq!(gemini["installed"], false);
        assert_eq!(gemini["version"], Value::Null);
        assert!(gemini["error"].as_str().unwrap().contains("not installed"));
        assert_eq!(gemini["roles"], serde_json::json!([]));
    }
    let scripted = by_name("scripted");
    assert_eq!(scripted["installed"], true);
    assert_eq!(scripted["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        adapters.iter().all(|a| a["name"] != "mine"),
        "a misconfigured adapter is not listed"
    );
    let warnings: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("[adapters.mine]") && w.contains("binary")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("[roles.reviewer]") && w.contains("nowhere")),
        "{warnings:?}"
    );

    // The text form: one line per adapter, the warnings on stderr, exit 0.
    let o = repo.run_env(&["agents"], &[("PATH", &path)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let codex_line = out.lines().find(|l| l.starts_with("codex")).unwrap();
    assert!(codex_line.contains("fake 1.0"), "{out}");
    assert!(
        stderr(&o).contains("warning: [adapters.mine]"),
        "{}",
        stderr(&o)
    );
    if !gemini_elsewhere {
        let gemini_line = out.lines().find(|l| l.starts_with("gemini")).unwrap();
        assert!(gemini_line.contains("not installed"), "{out}");
    }

    // A configuration file that does not parse: the defaults, and the warning in the JSON.
    repo.write(".overlord/config.toml", "[adapters.codex]\nmodle = 1\n");
    let o = repo.run_env(&["agents", "--json"], &[("PATH", &path)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert!(
        v["warnings"][0].as_str().unwrap().contains("config.toml"),
        "{v:#}"
    );
    assert_eq!(
        v["adapters"].as_array().unwrap().len(),
        overlord::agent::adapter::BUILT_IN.len()
    );
}

#[test]
fn agents_outside_a_repository_lists_the_built_in_adapters() {
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut cmd = bin();
    cmd.args(["agents", "--json"]).current_dir(dir.path());
    sandbox(&mut cmd, home.path());
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("error"), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<&str> = v["adapters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, overlord::agent::adapter::BUILT_IN);
    assert!(v["warnings"][0]
        .as_str()
        .unwrap()
        .contains("not in a git repository"));
}
