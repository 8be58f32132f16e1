//! The opt-in suite against the real pinned agent CLIs (`make real-agents`; not in CI): codex
//! 0.169.0, Claude Code 2.1.329 and Gemini CLI 0.61.0, installed from the npm registry into a
//! cache folder (`$OVERLORD_REAL_AGENTS_DIR`), each pointed through `[adapters.<name>]
//! base_url` and `api_key_env` at a loopback fake of its model API
//! (`tests/real_agents/fake_models.py`: OpenAI Responses, Anthropic Messages, Gemini
//! `streamGenerateContent`, all streamed with SSE). One task of one implementer through the
//! real `overlord-tui run`, per CLI and scenario (the model's name picks the scenario):
//!
//! - `tool`: the model runs a shell command that writes `hello.txt`, then answers → the task
//!   is done, its branch adds `hello.txt`, the tokens are the fake's (2 requests);
//! - `ratelimit`: a 429 with `retry-after: 1` first, then as `tool` → done all the same;
//! - `quota`: the API's quota/billing error → the task stops with a critical concern to the
//!   human, classified as quota (waiting will not clear it);
//! - `long`: a long answer streamed in small deltas → done, the whole answer kept;
//! - `unreachable`: `base_url` on a port nothing listens on → within `[agents]
//!   unreachable_secs` a critical `endpoint_unreachable` concern names the adapter and the
//!   endpoint.
//!
//! Every test is `#[ignore]`d: `make real-agents` runs them with `--ignored`. The CLIs' output
//! is kept under `$OVERLORD_REAL_AGENTS_DIR/captures/` for new fixtures.

use std::path::{Path, PathBuf};
use std::process::{Child, Command as Proc, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::adapter_endpoints::KillOnDrop;
use crate::common::*;

mod acp;

/// Tokens the fake reports per response (`USAGE` in fake_models.py): input incl. cached,
/// output.
const PER_REQUEST: u64 = 1200 + 80;

/// The cache folder with the installed CLIs (`node_modules/.bin/<cli>`).
fn cache() -> PathBuf {
    let dir = std::env::var("OVERLORD_REAL_AGENTS_DIR").unwrap_or_else(|_| {
        panic!("set OVERLORD_REAL_AGENTS_DIR to the folder `make real-agents` installs the CLIs in")
    });
    PathBuf::from(dir)
}

/// The fake model server, stopped when dropped.
struct Fake {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Fake {
    fn start(dir: &Path) -> Fake {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/real_agents/fake_models.py");
        let (port_file, log) = (dir.join("fake.port"), dir.join("fake-requests.jsonl"));
        let child = Proc::new("python3")
            .arg(&script)
            .arg(&port_file)
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("fake.err")).unwrap())
            .spawn()
            .expect("python3 runs the fake model server");
        wait_until("the fake model server's port", PATIENCE, || {
            port_file.exists()
        });
        let port = std::fs::read_to_string(&port_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        Fake { child, port, log }
    }

    fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What Overlord concluded about the one task.
#[derive(Debug)]
struct Outcome {
    status: String,
    tokens: u64,
    cost_micros: u64,
    concerns: Vec<Value>,
    commentary: String,
    branch_files: String,
    requests: Vec<Value>,
    log: String,
}

/// The cached CLI `cli` (installed by `make real-agents`), a repository with one commit on
/// `main` and Overlord initialized, and the fake model API.
fn prepared(cli: &str) -> (PathBuf, Repo, Fake) {
    let program = cache().join("node_modules/.bin").join(cli);
    assert!(
        program.exists(),
        "{} is not installed: run make real-agents",
        program.display()
    );
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    git(repo.path(), repo.home.path(), &["add", "."]);
    git(repo.path(), repo.home.path(), &["commit", "-qm", "initial"]);
    git(repo.path(), repo.home.path(), &["branch", "-M", "main"]);
    assert!(repo.run(&["init"]).status.success());
    let fake = Fake::start(repo.home.path());
    (program, repo, fake)
}

/// Runs one task on `cli` (codex, claude, gemini) against the fake, with the model named
/// `scenario`, until the task is done, failed or blocked.
fn run_scenario(cli: &str, scenario: &str) -> Outcome {
    let (program, repo, fake) = prepared(cli);
    // `unreachable`: a port nothing listens on (bound, then let go).
    let port = if scenario == "unreachable" {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    } else {
        fake.port
    };
    let base = match cli {
        "codex" => format!("http://127.0.0.1:{port}/v1"),
        _ => format!("http://127.0.0.1:{port}"),
    };
    let config = format!(
        r#"[core]
poll_ms = 50

[agents]
backoff_secs = 0
max_attempts = 2
rate_limit_pause_secs = 2
rate_limit_retries = 1
cancel_grace_secs = 2
flush_ms = 100
timeout_secs = 300
acceptance_command = "off"
unreachable_secs = 5

[roles.implementer]
adapter = "real"

[adapters.real]
kind = "{cli}"
binary = "{program}"
base_url = "{base}"
api_key_env = "FAKE_MODEL_KEY"
model = "{scenario}"

[adapters.real.prices]
input_per_mtok = 1.0
output_per_mtok = 2.0
cached_input_per_mtok = 0.5
"#,
        program = program.display()
    );
    repo.write(".overlord/config.toml", &config);
    repo.write(
        "plan.json",
        r#"{"todo_list_id": "p", "title": "T", "phases": [{"id": "x", "name": "X",
  "tasks": [{"id": "hello", "title": "Write hello.txt", "agent_role": "implementer",
             "description": "Create hello.txt saying hello."}]}]}"#,
    );
    let log = repo.home.path().join("run.log");
    let mut env = tool_env(&repo.home.path().join("target"));
    env.push(("FAKE_MODEL_KEY".into(), "sk-fake-real-agents".into()));
    // Claude Code: no calls home.
    env.push((
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC".into(),
        "1".into(),
    ));
    env.push(("DISABLE_AUTOUPDATER".into(), "1".into()));
    let mut child = spawn_run(&repo, &log, &env);
    let guard = KillOnDrop(&mut child);
    let last = approve_and_wait(&repo, &format!("{cli}/{scenario}"));
    drop(guard);
    let agent = last["state"]["agents"]
        .as_object()
        .and_then(|a| a.values().next().cloned())
        .unwrap_or(Value::Null);
    let task = task_of(&last);
    keep_captures(&repo, cli, scenario);
    Outcome {
        status: task["status"].as_str().unwrap_or("").to_string(),
        tokens: agent["tokens"].as_u64().unwrap_or(0),
        cost_micros: agent["cost_micros"].as_u64().unwrap_or(0),
        concerns: last["state"]["concerns"]
            .as_object()
            .map(|c| c.values().cloned().collect())
            .unwrap_or_default(),
        commentary: task["commentary"].to_string(),
        branch_files: branch_files(&repo),
        requests: fake.requests(),
        log: std::fs::read_to_string(&log).unwrap_or_default(),
    }
}

/// With `overlord-tui run` started: imports and approves `plan.json`, then waits until its
/// task `hello` is done, failed or blocked (or the human has a concern about it); the status
/// at the end.
fn approve_and_wait(repo: &Repo, label: &str) -> Value {
    wait_until("run listening", PATIENCE, || {
        repo.path().join(".overlord/overlord.sock").exists()
    });
    let o = repo.run(&["plan", "import", "plan.json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let approval = status(repo)["state"]["approvals"]
        .as_object()
        .and_then(|a| a.values().find(|a| a["kind"] == "plan"))
        .and_then(|a| a["id"].as_str())
        .expect("the plan awaits approval")
        .to_string();
    assert!(repo
        .run(&["cmd", &format!("/approve {approval}")])
        .status
        .success());
    let mut last = Value::Null;
    wait_until(
        &format!("{label}: the task to end"),
        Duration::from_secs(600),
        || {
            last = status(repo);
            let st = task_of(&last)["status"].as_str().unwrap_or("").to_string();
            let concerns = last["state"]["concerns"].as_object();
            let concern = concerns.is_some_and(|c| c.values().any(|c| c["to"] == "human"));
            let cut_off = concerns
                .is_some_and(|c| c.values().any(|c| c["category"] == "endpoint_unreachable"));
            matches!(st.as_str(), "done" | "failed" | "blocked")
                || (concern && st != "in_progress")
                || cut_off
        },
    );
    // The agent's activity is flushed before the task's end; read it once more.
    status(repo)
}

fn status(repo: &Repo) -> Value {
    let o = repo.run(&["status", "--json"]);
    serde_json::from_slice(&o.stdout).unwrap_or(Value::Null)
}

fn task_of(s: &Value) -> Value {
    s["state"]["plan"]["phases"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["tasks"].as_array().cloned().unwrap_or_default())
        .find(|t| t["id"] == "hello")
        .unwrap_or(Value::Null)
}

/// The files the task's branch changed against main.
fn branch_files(repo: &Repo) -> String {
    let (dir, home) = (repo.path(), repo.home.path());
    let branches = git(dir, home, &["for-each-ref", "--format=%(refname:short)"]);
    branches
        .lines()
        .filter(|b| b.trim() != "main")
        .map(|b| {
            let range = format!("main...{}", b.trim());
            let files = git(dir, home, &["diff", "--name-only", &range]);
            let files: Vec<&str> = files.split_whitespace().collect();
            format!("{}: {}\n", b.trim(), files.join(" "))
        })
        .collect()
}

/// The CLI's own output (the `out` lines of the run logs) copied to the cache's captures.
fn keep_captures(repo: &Repo, cli: &str, scenario: &str) {
    let out = cache().join("captures");
    let _ = std::fs::create_dir_all(&out);
    let logs = repo.path().join(".overlord/logs/agents");
    for agent in std::fs::read_dir(&logs).into_iter().flatten().flatten() {
        for run in std::fs::read_dir(agent.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let text = std::fs::read_to_string(run.path()).unwrap_or_default();
            let name = format!(
                "{cli}-{scenario}-{}",
                run.file_name().to_string_lossy().replace(".log", ".txt")
            );
            let _ = std::fs::write(out.join(name), text);
        }
    }
}

fn human_concern<'a>(o: &'a Outcome, category: &str) -> Option<&'a Value> {
    o.concerns
        .iter()
        .find(|c| c["to"] == "human" && c["category"] == category)
}

fn explain(o: &Outcome) -> String {
    format!(
        "status {} tokens {} cost {}µ$\ncommentary {}\nconcerns {:#}\nrequests {:#?}\n--- run log ---\n{}",
        o.status,
        o.tokens,
        o.cost_micros,
        o.commentary,
        Value::Array(o.concerns.clone()),
        o.requests,
        o.log.lines().rev().take(40).collect::<Vec<_>>().join("\n")
    )
}

/// One line of the results table (`make real-agents` shows it).
fn summary(cli: &str, scenario: &str, o: &Outcome) {
    let concern = o
        .concerns
        .iter()
        .find(|c| c["to"] == "human")
        .map(|c| {
            format!(
                "{} {}: {}",
                c["severity"].as_str().unwrap_or(""),
                c["category"].as_str().unwrap_or(""),
                c["summary"]
                    .as_str()
                    .unwrap_or("")
                    .chars()
                    .take(90)
                    .collect::<String>()
            )
        })
        .unwrap_or_else(|| "none".into());
    let calls = o
        .requests
        .iter()
        .filter(|r| r["scenario"].is_string())
        .count();
    eprintln!(
        "REAL {cli} | {scenario} | {} | tokens {} | ${:.6} | model calls {calls} | branch {} | concern {concern}",
        o.status,
        o.tokens,
        o.cost_micros as f64 / 1e6,
        if o.branch_files.contains("hello.txt") { "adds hello.txt" } else { "no change" },
    );
}

/// The scenario's model calls the fake answered (side requests left out).
fn calls(o: &Outcome, scenario: &str) -> usize {
    o.requests
        .iter()
        .filter(|r| r["scenario"] == scenario)
        .count()
}

fn expect_done_with_hello(cli: &str, scenario: &str, requests: u64) {
    let o = run_scenario(cli, scenario);
    summary(cli, scenario, &o);
    assert_eq!(o.status, "done", "{}", explain(&o));
    assert!(
        o.branch_files
            .lines()
            .any(|l| l.contains("hello") && l.contains("hello.txt")),
        "{}\nbranches:\n{}",
        explain(&o),
        o.branch_files
    );
    assert_eq!(o.tokens, requests * PER_REQUEST, "{}", explain(&o));
    assert!(o.cost_micros > 0, "{}", explain(&o));
    // The 429 was answered and retried: one call more than the tokens count.
    let extra = usize::from(scenario == "ratelimit");
    assert_eq!(
        calls(&o, scenario),
        requests as usize + extra,
        "{}",
        explain(&o)
    );
}

fn expect_quota(cli: &str) {
    let o = run_scenario(cli, "quota");
    summary(cli, "quota", &o);
    assert!(
        matches!(o.status.as_str(), "failed" | "blocked"),
        "{}",
        explain(&o)
    );
    // Waiting will not clear a quota: the task stops and the human is told at once.
    let c = human_concern(&o, "adapter_unavailable")
        .unwrap_or_else(|| panic!("no quota concern to the human\n{}", explain(&o)));
    assert_eq!(c["severity"], "critical", "{}", explain(&o));
    assert!(!o.branch_files.contains("hello.txt"), "{}", explain(&o));
    assert_eq!(o.tokens, 0, "{}", explain(&o));
}

fn expect_long(cli: &str) {
    let o = run_scenario(cli, "long");
    summary(cli, "long", &o);
    assert_eq!(o.status, "done", "{}", explain(&o));
    assert_eq!(o.tokens, PER_REQUEST, "{}", explain(&o));
    // The answer, streamed in 12-character pieces, arrives whole.
    assert!(
        o.commentary.contains("word0 word1 word2"),
        "{}",
        explain(&o)
    );
}

fn expect_unreachable(cli: &str) {
    let o = run_scenario(cli, "unreachable");
    summary(cli, "unreachable", &o);
    // Told within [agents] unreachable_secs (5 here), long before the task's timeout.
    let c = human_concern(&o, "endpoint_unreachable")
        .unwrap_or_else(|| panic!("no endpoint_unreachable concern\n{}", explain(&o)));
    assert_eq!(c["severity"], "critical", "{}", explain(&o));
    let summary = c["summary"].as_str().unwrap_or("");
    assert!(summary.contains("adapter real"), "{summary}");
    assert!(summary.contains("http://127.0.0.1:"), "{summary}");
    assert!(o.requests.is_empty(), "{}", explain(&o));
}

#[test]
#[ignore = "opt-in: make real-agents"]
fn codex_tool_call() {
    expect_done_with_hello("codex", "tool", 2);
}

#[test]
#[ignore = "opt-in: make real-agents"]
fn codex_rate_limit_then_success() {
    expect_done_with_hello("codex", "ratelimit", 2);
}

#[test]
#[ignore = "opt-in: make real-agents"]
fn codex_quota() {
    expect_quota("codex");
}

#[test]
#[ignore = "opt-in: make real-agents"]
fn codex_long_answer() {
    expect_long("codex");
}

#[test]
#[ignore = "opt-in: make real-agents"]
fn claude_tool_call() {
    expect_done_with_hello("claude", "tool", 2);
}

#[test]
#[ignore = "opt-in: make real-agents"]
fn claude_rate_limit_then_success() {
    expect_done_with_hello("claude", "ratelimit", 2);
}

#[test]
#[ignore = "opt-in: make real-agents"]
fn claude_quota() {
    expect_quota("claude");
}

#[test]
#[ignore = "opt-in: make real-agents"]
fn claude_long_answer() {
    expect_long("claude");
}

#[test]
#[ignore = "opt-in: make real-agents"]
fn gemini_tool_call() {
    expect_done_with_hello("gemini", "tool", 2);
}

#[test]
#[ignore = "opt-in: make real-agents"]
fn gemini_rate_limit_then_success() {
    expect_done_with_hello("gemini", "ratelimit", 2);
}

#[test]
#[ignore = "opt-in: make real-agents"]
fn gemini_quota() {
    expect_quota("gemini");
}

#[test]
#[ignore = "opt-in: make real-agents"]
fn gemini_long_answer() {
    expect_long("gemini");
}

#[test]
#[ignore = "opt-in: make real-agents"]
fn codex_unreachable_endpoint() {
    expect_unreachable("codex");
}

#[test]
#[ignore = "opt-in: make real-agents"]
fn claude_unreachable_endpoint() {
    expect_unreachable("claude");
}

#[test]
#[ignore = "opt-in: make real-agents"]
fn gemini_unreachable_endpoint() {
    expect_unreachable("gemini");
}
