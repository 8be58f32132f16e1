//! The scripted agent (`overlord-tui script-agent`) run as the scripted adapter runs it: the
//! real binary as a child process in a real repository (or task worktree) with the adapter's
//! environment, its stdout read back with the native parser. And `variation propose`.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use overlord::agent::parse::NativeParser;
use overlord::agent::{AgentError, AgentEvent, ErrorKind, ToolKind};
use overlord::protocol::model::{
    ApprovalKind, ConcernId, ConcernStatus, Impact, Role, Severity, VariationId,
};
use overlord::runtime::script::{check_relative_path, parse_script, Action};
use serde_json::Value;

use crate::common::*;

/// One run of the scripted agent: its events (parsed by the native parser) and how it ended.
struct Run {
    events: Vec<AgentEvent>,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn kinds(&self) -> Vec<&'static str> {
        self.events.iter().map(kind).collect()
    }

    fn finished(&self) -> (bool, Option<String>, Option<AgentError>) {
        match self.events.last() {
            Some(AgentEvent::Finished {
                ok,
                result_text,
                error,
                ..
            }) => (*ok, result_text.clone(), error.clone()),
            other => panic!(
                "the last event is not `finished`: {other:?}\nstdout:\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            ),
        }
    }

    /// The error of a run that failed, with the exit code checked.
    fn error(&self, code: i32) -> AgentError {
        assert_eq!(
            self.code,
            Some(code),
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        let (ok, result, error) = self.finished();
        assert!(!ok, "the run should have failed: {:?}", self.events);
        assert_eq!(result, None);
        error.expect("a failed run says why")
    }

    fn texts(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                AgentEvent::Text { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    fn session(&self) -> Option<String> {
        match self.events.first() {
            Some(AgentEvent::Started { session_id, .. }) => session_id.clone(),
            other => panic!("the first event is not `started`: {other:?}"),
        }
    }
}

fn kind(e: &AgentEvent) -> &'static str {
    match e {
        AgentEvent::Started { .. } => "started",
        AgentEvent::ToolStarted { .. } => "tool_started",
        AgentEvent::ToolFinished { .. } => "tool_finished",
        AgentEvent::Text { .. } => "text",
        AgentEvent::Reasoning { .. } => "reasoning",
        AgentEvent::Usage { .. } => "usage",
        AgentEvent::Warning { .. } => "warning",
        AgentEvent::Finished { .. } => "finished",
    }
}

/// The adapter's environment for an agent.
#[derive(Clone)]
struct Env {
    agent: String,
    task: Option<String>,
    role: Option<String>,
    attempt: Option<String>,
    repo: Option<PathBuf>,
}

impl Env {
    fn new(repo: &Repo, agent: &str, role: &str, task: &str) -> Env {
        Env {
            agent: agent.into(),
            task: Some(task.into()),
            role: Some(role.into()),
            attempt: Some("1".into()),
            repo: Some(repo.path().to_path_buf()),
        }
    }

    fn attempt(mut self, n: u32) -> Env {
        self.attempt = Some(n.to_string());
        self
    }
}

/// Runs `overlord-tui script-agent --dir scripts <args…>` in `cwd` with the agent's
/// environment and parses its stdout as the scripted adapter does.
fn script_agent(repo: &Repo, cwd: &Path, env: &Env, args: &[&str]) -> Run {
    let mut cmd = bin();
    cmd.args(["script-agent", "--dir", "scripts"])
        .args(args)
        .current_dir(cwd);
    sandbox(&mut cmd, repo.home.path());
    for k in [
        "OVERLORD_TASK",
        "OVERLORD_ATTEMPT",
        "OVERLORD_REPO",
        "OVERLORD_SOCKET",
    ] {
        cmd.env_remove(k);
    }
    cmd.env("OVERLORD_AGENT", &env.agent).env(
        "OVERLORD_SOCKET",
        repo.path().join(".overlord/overlord.sock"),
    );
    for (k, v) in [
        ("OVERLORD_TASK", &env.task),
        ("OVERLORD_ROLE", &env.role),
        ("OVERLORD_ATTEMPT", &env.attempt),
    ] {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    if let Some(r) = &env.repo {
        cmd.env("OVERLORD_REPO", r);
    }
    let out = cmd.output().expect("run script-agent");
    parse_run(out)
}

fn parse_run(out: Output) -> Run {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "the scripted agent panicked:\n{stderr}"
    );
    let mut parser = NativeParser::new("scripted", false);
    let mut events = Vec::new();
    for line in stdout.lines() {
        let got = parser.line(line);
        assert_eq!(got.len(), 1, "one event per line: {line}");
        if let AgentEvent::Warning { error: None, .. } = &got[0] {
            panic!("a line that is not a native event: {line}");
        }
        events.extend(got);
    }
    let code = out.status.code();
    let closing = parser.finish(code);
    assert!(
        closing.is_empty(),
        "the run did not end with its own `finished`: {closing:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert_eq!(
        events.iter().filter(|e| e.is_finished()).count(),
        1,
        "exactly one `finished`: {stdout}"
    );
    assert_eq!(events.first().map(kind), Some("started"), "{stdout}");
    Run {
        events,
        code,
        stdout,
        stderr,
    }
}

fn init(repo: &Repo) {
    let o = repo.run(&["init"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// A repository with one commit, Overlord set up and the sample plan imported.
fn project() -> Repo {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    git(repo.path(), repo.home.path(), &["add", "."]);
    git(repo.path(), repo.home.path(), &["commit", "-qm", "one"]);
    init(&repo);
    let plan = repo.home.path().join("plan.json");
    std::fs::write(&plan, PLAN).unwrap();
    let o = repo.run(&["plan", "import", plan.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    repo
}

fn script(repo: &Repo, name: &str, text: &str) {
    repo.write(&format!("scripts/{name}"), text);
}

const FULL: &str = r#"
model = "scripted-test"
result = "Implemented the parser"

[[step]]
say = "Reading the spec"

[[step]]
write = { path = "src/parser.rs", content = "pub fn parse() {}\n" }

[[step]]
append = { path = "NOTES.md", content = "- parser\n" }

[[step]]
append = { path = "NOTES.md", content = "- tests\n" }

[[step]]
run = "echo to-stdout; echo to-stderr >&2; wc -l < NOTES.md; echo \"$OVERLORD_AGENT\""

[[step]]
commit = "feat: add the parser"

[[step]]
commit = "nothing left to commit"

[[step]]
concern = { severity = "warning", category = "spec_ambiguity", summary = "Which errors does parse return?", details = "The spec says nothing", to = "designer" }

[[step]]
handoff = { to = "tester", purpose = "Test the parser", summary = "Parser done", inputs = ["SPEC.md"], outputs = ["src/parser.rs"], impact = "low" }

[[step]]
variation = { impact = "high", title = "Split the parser module", rationale = "It grows", affects = ["src/parser.rs", "src/lib.rs"] }

[[step]]
usage = { input = 1200, output = 300, cached_input = 200, cost_usd = 0.004 }

[[step]]
emit = { count = 3, text = "tick" }
"#;

#[test]
fn a_full_run_in_a_task_worktree_writes_commits_and_reaches_the_store() {
    let repo = project();
    script(&repo, "implementer.toml", FULL);
    let o = repo.run(&["worktree", "add", "t1_data"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let wt = PathBuf::from(stdout(&o).trim());
    assert!(wt.is_dir(), "{}", wt.display());

    let env = Env::new(&repo, "implementer-1", "implementer", "t1_data");
    let run = script_agent(&repo, &wt, &env, &["Implement the data loading"]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.kinds(),
        [
            "started",
            "text",
            "tool_started",
            "tool_finished",
            "tool_started",
            "tool_finished",
            "tool_started",
            "tool_finished",
            "tool_started",
            "tool_finished",
            "tool_started",
            "tool_finished",
            "tool_started",
            "tool_finished",
            "tool_started",
            "tool_finished",
            "tool_started",
            "tool_finished",
            "tool_started",
            "tool_finished",
            "usage",
            "text",
            "text",
            "text",
            "finished",
        ]
    );
    match &run.events[0] {
        AgentEvent::Started {
            session_id, model, ..
        } => {
            assert_eq!(session_id.as_deref(), Some("script-t1_data-1"));
            assert_eq!(model.as_deref(), Some("scripted-test"));
        }
        e => panic!("{e:?}"),
    }
    // Every tool: its id, family and name, then the finish of the same id.
    let expected_tools = [
        ("step-2", ToolKind::Edit, "write", "src/parser.rs"),
        ("step-3", ToolKind::Edit, "append", "NOTES.md"),
        ("step-4", ToolKind::Edit, "append", "NOTES.md"),
        (
            "step-5",
            ToolKind::Shell,
            "sh",
            "echo to-stdout; echo to-stderr >&2; wc -l < NOTES.md; echo \"$OVERLORD_AGENT\"",
        ),
        (
            "step-6",
            ToolKind::Commit,
            "git commit",
            "feat: add the parser",
        ),
        (
            "step-7",
            ToolKind::Commit,
            "git commit",
            "nothing left to commit",
        ),
        (
            "step-8",
            ToolKind::Other,
            "overlord-tui concern raise",
            "Which errors does parse return?",
        ),
        (
            "step-9",
            ToolKind::Other,
            "overlord-tui handoff",
            "to tester: Test the parser",
        ),
        (
            "step-10",
            ToolKind::Other,
            "overlord-tui variation propose",
            "Split the parser module",
        ),
    ];
    let mut outputs = Vec::new();
    for (i, (want_id, want_kind, want_name, want_summary)) in expected_tools.iter().enumerate() {
        let at = 2 + 2 * i;
        match (&run.events[at], &run.events[at + 1]) {
            (
                AgentEvent::ToolStarted {
                    id,
                    kind,
                    name,
                    summary,
                    ..
                },
                AgentEvent::ToolFinished {
                    id: done,
                    ok,
                    output,
                    ..
                },
            ) => {
                assert_eq!(id, want_id);
                assert_eq!(kind, want_kind);
                assert_eq!(name, want_name);
                assert_eq!(summary, want_summary);
                assert_eq!(done, id);
                assert!(ok, "{id} failed: {output}");
                outputs.push(output.clone());
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(outputs[0], "wrote 18 bytes to src/parser.rs");
    assert_eq!(outputs[1], "appended 9 bytes to NOTES.md");
    // stdout and stderr of the command, in order, run in the worktree with the agent's env.
    assert_eq!(outputs[3], "to-stdout\nto-stderr\n2\nimplementer-1");
    assert!(outputs[4].starts_with("committed "), "{}", outputs[4]);
    assert!(
        outputs[4].ends_with(": feat: add the parser"),
        "{}",
        outputs[4]
    );
    assert_eq!(outputs[5], "nothing to commit");
    assert!(outputs[6].starts_with("C-1 raised"), "{}", outputs[6]);
    assert!(outputs[7].starts_with("H-1 recorded"), "{}", outputs[7]);
    assert!(outputs[8].contains("V-1") && outputs[8].contains("awaits the human"));
    match &run.events[20] {
        AgentEvent::Usage { usage, .. } => {
            assert_eq!(
                (
                    usage.input,
                    usage.output,
                    usage.cached_input,
                    usage.reasoning
                ),
                (1200, 300, 200, 0)
            );
            assert_eq!(usage.cost_usd, Some(0.004));
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(
        run.texts(),
        ["Reading the spec", "tick 1/3", "tick 2/3", "tick 3/3"]
    );
    let (ok, result, error) = run.finished();
    assert!(ok);
    assert_eq!(result.as_deref(), Some("Implemented the parser"));
    assert_eq!(error, None);

    // The files are in the worktree, committed on the task branch; main is untouched.
    assert_eq!(
        std::fs::read_to_string(wt.join("src/parser.rs")).unwrap(),
        "pub fn parse() {}\n"
    );
    assert_eq!(
        std::fs::read_to_string(wt.join("NOTES.md")).unwrap(),
        "- parser\n- tests\n"
    );
    assert!(!repo.path().join("src/parser.rs").exists());
    let home = repo.home.path();
    let branch = git(&wt, home, &["rev-parse", "--abbrev-ref", "HEAD"]);
    assert!(
        branch.trim().starts_with("session/") && branch.trim().ends_with("/task/t1_data"),
        "{branch}"
    );
    let log = git(&wt, home, &["log", "--format=%s|%an <%ae>"]);
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        [
            "feat: add the parser|Implementer-Agent <implementer@overlord.local>",
            "one|Tester <t@example.com>",
        ]
    );
    let files = git(&wt, home, &["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(
        files.lines().collect::<Vec<_>>(),
        ["NOTES.md", "src/parser.rs"]
    );
    assert_eq!(git(&wt, home, &["status", "--porcelain"]), "");
    assert_eq!(
        git(repo.path(), home, &["log", "-1", "--format=%s", "HEAD"]).trim(),
        "one"
    );

    // The concern, the hand-off and the variation reached the store as the agent's.
    let core = repo.reopen();
    let state = core.state();
    let c = &state.concerns[&ConcernId(1)];
    assert_eq!(c.raised_by.as_deref(), Some("implementer-1"));
    assert_eq!((c.from, c.to), (Role::Implementer, Role::Designer));
    assert_eq!(c.severity, Severity::Warning);
    assert_eq!(c.category, "spec_ambiguity");
    assert_eq!(c.summary, "Which errors does parse return?");
    assert_eq!(c.details.as_deref(), Some("The spec says nothing"));
    assert_eq!(c.task.as_deref(), Some("t1_data"));
    assert_eq!(c.status, ConcernStatus::Open);
    assert_eq!(state.handoffs.len(), 1);
    let h = &state.handoffs[0];
    assert_eq!(h.agent.as_deref(), Some("implementer-1"));
    assert_eq!((h.from, h.to), (Role::Implementer, Role::Tester));
    assert_eq!(h.purpose, "Test the parser");
    assert_eq!(h.summary, "Parser done");
    assert_eq!(h.inputs, ["SPEC.md"]);
    assert_eq!(h.outputs, ["src/parser.rs"]);
    assert_eq!(h.impact, Some(Impact::Low));
    assert_eq!(h.task.as_deref(), Some("t1_data"));
    let v = &state.variations[&VariationId(1)];
    assert_eq!(v.agent.as_deref(), Some("implementer-1"));
    assert_eq!(v.proposed_by, Role::Implementer);
    assert_eq!(v.impact, Impact::High);
    assert_eq!(v.title, "Split the parser module");
    assert_eq!(v.rationale.as_deref(), Some("It grows"));
    assert_eq!(v.affects, ["src/parser.rs", "src/lib.rs"]);
    let approval = v.approval.expect("a high impact variation asks the human");
    let a = &state.approvals[&approval];
    assert_eq!(a.kind, ApprovalKind::Variation);
    assert_eq!(a.subject, "V-1");
    assert!(a.is_pending());
    assert_eq!(a.requested_by, "agent:implementer-1");
    drop(core);
    let o = repo.run(&["audit", "verify"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_rate_limit_fails_the_first_attempts_then_the_run_succeeds() {
    let repo = Repo::new();
    script(
        &repo,
        "default.toml",
        r#"
[[step]]
say = "trying"

[[step]]
attempt = [2, 3]
say = "not the first try"

[[step]]
fail = { times = 2, kind = "rate_limited", message = "429 Too Many Requests", retry_after_ms = 1500 }

[[step]]
attempt = 3
write = { path = "done.txt", content = "ok" }
"#,
    );
    let base = Env::new(&repo, "implementer-1", "implementer", "t9");
    for attempt in [1, 2] {
        let run = script_agent(&repo, repo.path(), &base.clone().attempt(attempt), &["go"]);
        assert_eq!(
            run.session().as_deref(),
            Some(&*format!("script-t9-{attempt}"))
        );
        let error = run.error(1);
        let want = ErrorKind::RateLimited {
            retry_after_ms: Some(1500),
        };
        assert_eq!(error.kind, want);
        assert_eq!(error.message, "429 Too Many Requests");
        let mut kinds = vec!["started", "text"];
        if attempt == 2 {
            kinds.push("text");
        }
        kinds.extend(["warning", "finished"]);
        assert_eq!(run.kinds(), kinds);
        match &run.events[run.events.len() - 2] {
            AgentEvent::Warning { message, error, .. } => {
                assert_eq!(message, "429 Too Many Requests");
                assert_eq!(*error, Some(want));
            }
            e => panic!("{e:?}"),
        }
        assert!(!repo.path().join("done.txt").exists());
    }
    let run = script_agent(&repo, repo.path(), &base.clone().attempt(3), &["go"]);
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    assert_eq!(run.session().as_deref(), Some("script-t9-3"));
    assert_eq!(run.texts(), ["trying", "not the first try"]);
    assert_eq!(
        run.kinds(),
        [
            "started",
            "text",
            "text",
            "tool_started",
            "tool_finished",
            "finished"
        ]
    );
    let (ok, result, _) = run.finished();
    assert!(ok);
    assert_eq!(result.as_deref(), Some("not the first try"), "the last say");
    assert_eq!(
        std::fs::read_to_string(repo.path().join("done.txt")).unwrap(),
        "ok"
    );
}

#[test]
fn each_failure_kind_gives_its_error() {
    let repo = Repo::new();
    let env = Env::new(&repo, "tester-2", "tester", "t9").attempt(7);
    let cases: [(&str, ErrorKind, &str); 6] = [
        (
            r#"kind = "rate_limited", message = "rate limited, please retry after 2s""#,
            ErrorKind::RateLimited {
                retry_after_ms: Some(2000),
            },
            "rate limited, please retry after 2s",
        ),
        (
            r#"kind = "quota", message = "You exceeded your current quota""#,
            ErrorKind::Quota,
            "You exceeded your current quota",
        ),
        (
            r#"kind = "auth", message = "Invalid API key""#,
            ErrorKind::Auth,
            "Invalid API key",
        ),
        (
            r#"kind = "api", message = "503 Service Unavailable""#,
            ErrorKind::Api { status: Some(503) },
            "503 Service Unavailable",
        ),
        (
            r#"kind = "api", status = 500, message = "boom""#,
            ErrorKind::Api { status: Some(500) },
            "boom",
        ),
        (
            r#"kind = "crash""#,
            ErrorKind::Crashed { exit_code: Some(1) },
            "scripted crash failure",
        ),
    ];
    for (fields, want, message) in cases {
        // No `times`: it fails on every attempt.
        script(
            &repo,
            "default.toml",
            &format!("[[step]]\nfail = {{ {fields} }}\n[[step]]\nsay = \"never\"\n"),
        );
        let run = script_agent(&repo, repo.path(), &env, &["go"]);
        let error = run.error(1);
        assert_eq!(error.kind, want, "{fields}");
        assert_eq!(error.message, message);
        assert_eq!(run.kinds(), ["started", "warning", "finished"], "{fields}");
    }
}

#[test]
fn a_clarification_is_answered_from_the_script_without_running_it() {
    let repo = Repo::new();
    script(
        &repo,
        "default.toml",
        r#"
[[step]]
write = { path = "should-not-exist.txt", content = "x" }

[answers]
"zeta" = "Z answer"
"error handling" = "Errors are returned as Result<_, ParseError>."
"alpha" = "A answer"
default = "I followed the spec as written."
"#,
    );
    let env = Env::new(&repo, "implementer-1", "implementer", "t1");
    for (question, answer) in [
        (
            "What about ERROR Handling in parse()?",
            "Errors are returned as Result<_, ParseError>.",
        ),
        // Both keys are in it: the first in the file wins (not the first alphabetically).
        ("alpha or zeta?", "Z answer"),
        (
            "alpha, and error handling?",
            "Errors are returned as Result<_, ParseError>.",
        ),
        ("Anything else?", "I followed the spec as written."),
    ] {
        let run = script_agent(&repo, repo.path(), &env, &["--resume", "sess-9", question]);
        assert_eq!(run.code, Some(0), "{}", run.stdout);
        assert_eq!(run.session().as_deref(), Some("sess-9"));
        assert_eq!(run.kinds(), ["started", "text", "finished"]);
        assert_eq!(run.texts(), [answer]);
        let (ok, result, _) = run.finished();
        assert!(ok);
        assert_eq!(result.as_deref(), Some(answer));
    }
    assert!(!repo.path().join("should-not-exist.txt").exists());

    // No key matches and there is no default.
    script(
        &repo,
        "default.toml",
        "[answers]\n\"error handling\" = \"Result\"\n",
    );
    let run = script_agent(&repo, repo.path(), &env, &["--resume", "sess-9", "Why?"]);
    let error = run.error(2);
    assert_eq!(error.kind, ErrorKind::Other);
    assert!(
        error
            .message
            .contains("scripts/default.toml has no answer for this question"),
        "{}",
        error.message
    );
    script(&repo, "default.toml", "[[step]]\nsay = \"hi\"\n");
    let run = script_agent(&repo, repo.path(), &env, &["--resume", "sess-9", "Why?"]);
    assert!(run.error(2).message.contains("no answer"));
}

#[test]
fn the_script_is_the_tasks_then_the_roles_then_the_default() {
    let repo = Repo::new();
    script(&repo, "t1_data.toml", "[[step]]\nsay = \"task script\"\n");
    script(
        &repo,
        "implementer.toml",
        "[[step]]\nsay = \"role script\"\n",
    );
    script(
        &repo,
        "default.toml",
        "[[step]]\nsay = \"default script\"\n",
    );
    repo.write("evil.toml", "[[step]]\nsay = \"outside the folder\"\n");
    let sub = repo.path().join("deep/down");
    std::fs::create_dir_all(&sub).unwrap();
    let said = |env: &Env, cwd: &Path| {
        let run = script_agent(&repo, cwd, env, &["go"]);
        assert_eq!(run.code, Some(0), "{}", run.stdout);
        let (_, result, _) = run.finished();
        result.unwrap()
    };
    let env = Env::new(&repo, "implementer-1", "implementer", "t1_data");
    assert_eq!(said(&env, repo.path()), "task script");
    // --dir is relative to OVERLORD_REPO, wherever the agent runs.
    assert_eq!(said(&env, &sub), "task script");
    let env = Env::new(&repo, "implementer-1", "implementer", "t2");
    assert_eq!(said(&env, repo.path()), "role script");
    // A role by another name is looked up by its canonical name.
    let env = Env::new(&repo, "implementer-1", "coder", "t2");
    assert_eq!(said(&env, repo.path()), "role script");
    let env = Env::new(&repo, "tester-1", "tester", "t2");
    assert_eq!(said(&env, repo.path()), "default script");
    // A task id is never a path.
    let env = Env::new(&repo, "tester-1", "tester", "../evil");
    assert_eq!(said(&env, repo.path()), "default script");
    // Without OVERLORD_REPO, --dir is relative to the current directory.
    let mut env = Env::new(&repo, "tester-1", "tester", "t2");
    env.repo = None;
    assert_eq!(said(&env, repo.path()), "default script");
    let run = script_agent(&repo, &sub, &env, &["go"]);
    let error = run.error(2);
    assert!(
        error.message.contains("does not exist") && error.message.contains("scripts"),
        "{}",
        error.message
    );

    std::fs::remove_file(repo.path().join("scripts/default.toml")).unwrap();
    let env = Env::new(&repo, "tester-1", "tester", "t2");
    let run = script_agent(&repo, repo.path(), &env, &["go"]);
    assert_eq!(run.kinds(), ["started", "finished"]);
    let error = run.error(2);
    assert_eq!(error.kind, ErrorKind::Other);
    assert!(
        error.message.starts_with("no script for this agent in ")
            && error
                .message
                .ends_with("looked for t2.toml, tester.toml, default.toml"),
        "{}",
        error.message
    );
}

#[test]
fn bad_scripts_give_a_located_error_before_any_step_runs() {
    let repo = Repo::new();
    let env = Env::new(&repo, "implementer-1", "implementer", "t1");
    // Each script starts with a step that writes a file: a bad script runs none of its steps.
    let first = "[[step]]\nwrite = { path = \"ran.txt\", content = \"x\" }\n\n";
    let cases: &[(&str, &str)] = &[
        (
            "[[step]]\nsya = \"hi\"\n",
            "scripts/default.toml:5:1: unknown field `sya`, expected one of `attempt`",
        ),
        (
            "[[step]]\nsay = \"unterminated\n",
            "scripts/default.toml:5:",
        ),
        (
            "[[step]]\nwrite = { path = \"../outside.txt\", content = \"x\" }\n",
            "scripts/default.toml:5:9: step 2: the path `../outside.txt` uses `..`",
        ),
        (
            "[[step]]\nappend = { path = \"/etc/passwd\", content = \"x\" }\n",
            "step 2: the path `/etc/passwd` is absolute",
        ),
        (
            "[[step]]\nwrite = { path = \".git/config\", content = \"x\" }\n",
            "step 2: the path `.git/config` is inside .git",
        ),
        (
            "[[step]]\nwrite = { path = \"a.txt\" }\n",
            "missing field `content`",
        ),
        (
            "[[step]]\nsay = \"a\"\nrun = \"b\"\n",
            "scripts/default.toml:4:1: step 2: a step does one thing, this one has say and run",
        ),
        (
            "[[step]]\nattempt = [1]\n",
            "step 2: a step needs one of say, write",
        ),
        (
            "[[step]]\nattempt = 0\nsay = \"a\"\n",
            "attempt numbers start at 1",
        ),
        (
            "[[step]]\nattempt = \"2\"\nsay = \"a\"\n",
            "an attempt number from 1 up",
        ),
        (
            "[[step]]\nsay = \"a\"\nmay_fail = true\n",
            "may_fail does not apply to `say`",
        ),
        (
            "[[step]]\nconcern = { severity = \"severe\", category = \"x\", summary = \"y\" }\n",
            "scripts/default.toml:5:24: unknown severity 'severe'",
        ),
        (
            "[[step]]\nhandoff = { to = \"testr\", purpose = \"x\", summary = \"y\" }\n",
            "unknown role 'testr' — did you mean tester?",
        ),
        (
            "[[step]]\nvariation = { impact = \"huge\", title = \"x\" }\n",
            "unknown impact 'huge'",
        ),
        (
            "[[step]]\nfail = { kind = \"rate_limit\" }\n",
            "unknown variant `rate_limit`, expected one of `rate_limited`",
        ),
        (
            "[[step]]\nfail = { kind = \"quota\", retry_after_ms = 5 }\n",
            "retry_after_ms only goes with kind = \"rate_limited\"",
        ),
        (
            "[[step]]\nemit = { count = 3, per_sec = 0 }\n",
            "per_sec must be more than 0",
        ),
        (
            "[[step]]\nusage = { input = 1, cached_input = 2 }\n",
            "cached_input (2) is part of input (1)",
        ),
        ("[[step]]\nrun = \" \"\n", "`run` needs a command"),
        (
            "[answers]\nx = 3\n",
            "invalid type: integer `3`, expected a string",
        ),
    ];
    for (bad, want) in cases {
        script(&repo, "default.toml", &format!("{first}{bad}"));
        let run = script_agent(&repo, repo.path(), &env, &["go"]);
        assert_eq!(
            run.kinds(),
            ["started", "finished"],
            "{bad}: {}",
            run.stdout
        );
        let error = run.error(2);
        assert_eq!(error.kind, ErrorKind::Other);
        assert!(
            error.message.contains(want),
            "{bad}\nwanted: {want}\n   got: {}",
            error.message
        );
        assert!(!repo.path().join("ran.txt").exists(), "{bad}: a step ran");
    }
    // Top-level keys (before the first step).
    for (bad, want) in [
        ("steps = []\n", "scripts/default.toml:1:1: unknown field `steps`, expected one of `result`, `model`, `step`, `answers`"),
        ("result = 3\n", "scripts/default.toml:1:10: invalid type: integer `3`, expected a string"),
    ] {
        script(&repo, "default.toml", &format!("{bad}{first}"));
        let run = script_agent(&repo, repo.path(), &env, &["go"]);
        let error = run.error(2);
        assert!(error.message.contains(want), "{bad}\nwanted: {want}\n   got: {}", error.message);
        assert!(!repo.path().join("ran.txt").exists(), "{bad}: a step ran");
    }
    // A script that is not UTF-8.
    std::fs::write(
        repo.path().join("scripts/default.toml"),
        b"say = \"\xff\"\n",
    )
    .unwrap();
    let run = script_agent(&repo, repo.path(), &env, &["go"]);
    assert!(run
        .error(2)
        .message
        .starts_with("scripts/default.toml: cannot be read"));
}

#[test]
fn a_bad_environment_is_an_error_not_a_guess() {
    let repo = Repo::new();
    script(&repo, "default.toml", "[[step]]\nsay = \"hi\"\n");
    let mut env = Env::new(&repo, "implementer-1", "implementer", "t1");
    env.attempt = Some("0".into());
    let run = script_agent(&repo, repo.path(), &env, &["go"]);
    assert!(run.error(2).message.contains("OVERLORD_ATTEMPT"));
    let mut env = Env::new(&repo, "implementer-1", "wizard", "t1");
    env.attempt = None;
    let run = script_agent(&repo, repo.path(), &env, &["go"]);
    assert!(run
        .error(2)
        .message
        .contains("OVERLORD_ROLE: unknown role 'wizard'"));
    // No attempt given: the first.
    let env = Env {
        attempt: None,
        ..Env::new(&repo, "implementer-1", "implementer", "t1")
    };
    let run = script_agent(&repo, repo.path(), &env, &["go"]);
    assert_eq!(run.code, Some(0));
    assert_eq!(run.session().as_deref(), Some("script-t1-1"));
}

#[test]
fn a_failing_step_fails_the_run_unless_it_may_fail() {
    let repo = project();
    let env = Env::new(&repo, "implementer-1", "implementer", "t1_data");
    script(
        &repo,
        "default.toml",
        r#"
[[step]]
say = "building"

[[step]]
run = "echo compiling; echo 'error[E0308]: mismatched types' >&2; exit 3"

[[step]]
write = { path = "after.txt", content = "x" }
"#,
    );
    let run = script_agent(&repo, repo.path(), &env, &["go"]);
    assert_eq!(
        run.kinds(),
        [
            "started",
            "text",
            "tool_started",
            "tool_finished",
            "warning",
            "finished"
        ]
    );
    match &run.events[3] {
        AgentEvent::ToolFinished { ok, output, .. } => {
            assert!(!ok);
            assert_eq!(
                output,
                "`echo compiling; echo 'error[E0308]: mismatched types' >&2; exit 3` exited with code 3:\ncompiling\nerror[E0308]: mismatched types"
            );
        }
        e => panic!("{e:?}"),
    }
    let error = run.error(1);
    assert_eq!(error.kind, ErrorKind::Other);
    assert!(
        error
            .message
            .starts_with("step 2 (run, line 5): `echo compiling;"),
        "{}",
        error.message
    );
    match &run.events[4] {
        AgentEvent::Warning {
            message, error: e, ..
        } => {
            assert_eq!(message, &error.message);
            assert_eq!(*e, Some(ErrorKind::Other));
        }
        e => panic!("{e:?}"),
    }
    assert!(!repo.path().join("after.txt").exists());

    // The same with may_fail: shown as a failed tool, and the run goes on.
    script(
        &repo,
        "default.toml",
        r#"
[[step]]
run = "exit 3"
may_fail = true

[[step]]
write = { path = "after.txt", content = "x" }
"#,
    );
    let run = script_agent(&repo, repo.path(), &env, &["go"]);
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    assert!(matches!(
        &run.events[2],
        AgentEvent::ToolFinished { ok: false, output, .. } if output == "`exit 3` exited with code 3"
    ));
    assert!(run.finished().0);
    assert!(repo.path().join("after.txt").exists());

    // Overlord refuses the concern (no such task): the CLI's reason fails the step.
    script(
        &repo,
        "default.toml",
        "[[step]]\nconcern = { severity = \"info\", category = \"x\", summary = \"y\", task = \"no_such_task\" }\n",
    );
    let run = script_agent(&repo, repo.path(), &env, &["go"]);
    let error = run.error(1);
    assert!(
        error.message.starts_with(
            "step 1 (concern, line 1): overlord-tui concern raise failed (exit 1): error: "
        ),
        "{}",
        error.message
    );
    assert!(error.message.contains("no_such_task"), "{}", error.message);
    assert!(repo.reopen().state().concerns.is_empty());

    // A path that leads outside the worktree through a symbolic link.
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), repo.path().join("link")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("new.txt"), repo.path().join("dangling"))
        .unwrap();
    for path in ["link/escaped.txt", "link/sub/escaped.txt", "dangling"] {
        script(
            &repo,
            "default.toml",
            &format!("[[step]]\nappend = {{ path = \"{path}\", content = \"x\" }}\n"),
        );
        let run = script_agent(&repo, repo.path(), &env, &["go"]);
        let error = run.error(1);
        assert!(
            error
                .message
                .contains(&format!("{path} leads outside the worktree")),
            "{}",
            error.message
        );
    }
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        0,
        "nothing was created outside"
    );
}

#[test]
fn emit_streams_text_at_the_given_rate() {
    let repo = Repo::new();
    script(
        &repo,
        "default.toml",
        "[[step]]\nemit = { count = 10, per_sec = 50, text = \"line\" }\n[[step]]\nsleep_ms = 100\n",
    );
    let env = Env::new(&repo, "implementer-1", "implementer", "t1");
    let started = Instant::now();
    let run = script_agent(&repo, repo.path(), &env, &["go"]);
    let took = started.elapsed();
    assert_eq!(run.code, Some(0));
    let want: Vec<String> = (1..=10).map(|i| format!("line {i}/10")).collect();
    assert_eq!(run.texts(), want);
    // 9 intervals of 20 ms, then 100 ms of sleep.
    assert!(took >= Duration::from_millis(280), "{took:?}");
    let (ok, result, _) = run.finished();
    assert!(ok);
    assert_eq!(result, None, "no say and no result: no result text");
}

#[test]
fn sigterm_ends_the_agent_at_once() {
    use std::io::BufRead;
    use std::os::unix::process::ExitStatusExt;
    let repo = Repo::new();
    script(
        &repo,
        "default.toml",
        "[[step]]\nsay = \"waiting\"\n[[step]]\nsleep_ms = 30000\n[[step]]\nsay = \"never\"\n",
    );
    let mut cmd = bin();
    cmd.args(["script-agent", "--dir", "scripts", "go"])
        .current_dir(repo.path())
        .stdout(std::process::Stdio::piped());
    sandbox(&mut cmd, repo.home.path());
    cmd.env("OVERLORD_AGENT", "implementer-1")
        .env("OVERLORD_TASK", "t1")
        .env("OVERLORD_REPO", repo.path());
    let mut child = cmd.spawn().unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    // Each line is flushed as it is written: both are here while the agent sleeps.
    let first = lines.next().unwrap().unwrap();
    let second = lines.next().unwrap().unwrap();
    assert!(first.contains("\"started\""), "{first}");
    assert!(second.contains("waiting"), "{second}");
    let sent = Instant::now();
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(child.id() as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(15), "{status:?}");
    assert!(sent.elapsed() < Duration::from_secs(5));
    assert!(lines.next().is_none(), "nothing after the signal");
}

#[test]
fn the_script_format_parses_as_documented() {
    let text = r#"
result = "done"

[[step]]
say = "one"

[[step]]
attempt = 2
run = "true"
may_fail = true

[[step]]
attempt = [1, 3]
commit = "c"

[answers]
"b" = "B"
default = "D"
"a" = "A"
"#;
    let s = parse_script(text, "x.toml").unwrap();
    assert_eq!(s.result.as_deref(), Some("done"));
    assert_eq!(s.steps.len(), 3);
    assert_eq!(
        s.steps.iter().map(|s| s.line).collect::<Vec<_>>(),
        [4, 7, 12]
    );
    assert_eq!(s.steps[0].action, Action::Say("one".into()));
    assert_eq!(s.steps[0].attempts, None);
    assert_eq!(s.steps[1].attempts, Some(vec![2]));
    assert!(s.steps[1].may_fail);
    assert!(s.steps[1].runs_on(2) && !s.steps[1].runs_on(1));
    assert_eq!(s.steps[2].attempts, Some(vec![1, 3]));
    assert!(s.steps[2].runs_on(3) && !s.steps[2].runs_on(2));
    assert_eq!(
        s.answers.entries,
        [("b".to_string(), "B".to_string()), ("a".into(), "A".into())]
    );
    assert_eq!(s.answers.answer("a or b"), Some("B"));
    assert_eq!(s.answers.answer("A?"), Some("A"));
    assert_eq!(s.answers.answer("c"), Some("D"));

    let e = parse_script("[[step]]\nsay = 1\n", "y.toml").unwrap_err();
    assert_eq!((e.file.as_str(), e.line, e.column), ("y.toml", 2, 7));
    assert!(e.to_string().starts_with("y.toml:2:7: "), "{e}");

    for ok in ["a.txt", "src/lib.rs", "./x/y", "dir/.gitignore"] {
        assert!(check_relative_path(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "..",
        "a/../b",
        "/abs",
        ".git",
        ".git/hooks/pre-commit",
        ".",
        "a\0b",
    ] {
        assert!(check_relative_path(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn variation_propose_through_the_cli() {
    let repo = Repo::new();
    init(&repo);
    let o = repo.run(&[
        "variation",
        "propose",
        "--impact",
        "high",
        "--title",
        "Split the parser module",
        "--rationale",
        "It grows",
        "--affects",
        "src/parser.rs",
        "--affects",
        "src/lib.rs",
        "--from",
        "designer",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["data"]["type"], "variation");
    let var = &v["data"]["value"];
    assert_eq!(var["id"], "V-1");
    assert_eq!(var["proposed_by"], "designer");
    assert_eq!(var["agent"], Value::Null);
    assert_eq!(var["impact"], "high");
    assert_eq!(var["rationale"], "It grows");
    assert_eq!(
        var["affects"],
        serde_json::json!(["src/parser.rs", "src/lib.rs"])
    );
    let approval = var["approval"]
        .as_str()
        .expect("high impact asks the human");

    let o = repo.run(&["status", "--json"]);
    let status: Value = serde_json::from_slice(&o.stdout).unwrap();
    let pending = status["report"]["pending_approvals"].as_array().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["id"], approval);
    assert_eq!(pending[0]["kind"], "variation");
    assert_eq!(pending[0]["subject"], "V-1");

    // From an agent, without --from: its role and name; low impact asks nobody.
    let o = repo.run_env(
        &[
            "variation",
            "propose",
            "--impact=low",
            "--title",
            "Rename a helper",
        ],
        &[("OVERLORD_AGENT", "tester-1"), ("OVERLORD_ROLE", "tester")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("variation V-2 logged (low impact"),
        "{}",
        stdout(&o)
    );
    let core = repo.reopen();
    let v2 = &core.state().variations[&VariationId(2)];
    assert_eq!(v2.proposed_by, Role::Tester);
    assert_eq!(v2.agent.as_deref(), Some("tester-1"));
    assert_eq!(v2.approval, None);
    assert_eq!(core.state().pending_approvals().count(), 1);
    drop(core);

    // Usage errors: exit 2, nothing recorded.
    for args in [
        &["variation", "propose", "--impact", "huge", "--title", "x"][..],
        &["variation", "propose", "--impact", "low"][..],
        &["variation", "propose", "--title", "x"][..],
    ] {
        let o = repo.run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(!stderr(&o).is_empty());
    }
    let o = repo.run(&["variation", "propose", "--impact", "huge", "--title", "x"]);
    assert!(
        stderr(&o).contains("unknown impact 'huge'"),
        "{}",
        stderr(&o)
    );
    assert_eq!(repo.reopen().state().variations.len(), 2);
    // The hidden subcommand stays out of the help.
    let o = repo.run(&["--help"]);
    assert!(!stdout(&o).contains("script-agent"));
    assert!(stdout(&o).contains("variation"));
}
