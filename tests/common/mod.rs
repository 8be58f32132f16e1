//! Test helpers: real temporary git repositories with the host's git configuration sandboxed,
//! a real store, and the real binary.

#![allow(dead_code)]

#[cfg(feature = "discord")]
pub mod fake_discord;
pub mod fake_registry;
pub mod generate;
pub mod wait;

pub use wait::*;

use std::path::{Path, PathBuf};
use std::process::{Command as Proc, Output};

use overlord::config::Config;
use overlord::core::Core;
use overlord::protocol::{parse, Origin, Reply};
use overlord::workspace::Workspace;
use tempfile::TempDir;

/// A temporary git repository (git2, no host configuration involved).
pub struct Repo {
    pub dir: TempDir,
    pub home: TempDir,
}

impl Repo {
    pub fn new() -> Repo {
        let dir = tempfile::Builder::new()
            .prefix("ovl")
            .tempdir()
            .expect("tempdir");
        git2::Repository::init(dir.path()).expect("git init");
        let home = tempfile::tempdir().expect("home");
        Repo { dir, home }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn workspace(&self) -> Workspace {
        Workspace::discover(self.path()).expect("discover")
    }

    /// `init` through the library and an open core.
    pub fn core(&self) -> Core {
        let ws = self.workspace();
        ws.init().expect("init");
        Core::open(&ws, &Config::default()).expect("open core")
    }

    pub fn reopen(&self) -> Core {
        Core::open(&self.workspace(), &Config::default()).expect("reopen core")
    }

    pub fn db(&self) -> PathBuf {
        self.path().join(".overlord/overlord.db")
    }

    /// Runs the real binary in this repository with a sandboxed environment.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = bin();
        cmd.args(args).current_dir(self.path());
        sandbox(&mut cmd, self.home.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run overlord-tui")
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path().join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, text).expect("write");
        p
    }
}

/// A committed repository with Overlord set up, every role on the `sh` command adapter running
/// `script`, and `plan.json` with one implementer task `a` (not imported).
/// The agents run in the sandbox: besides their worktrees they may write `scratch`, where the
/// test and the script share files.
pub fn repo_with_sh_agent(script: &str, scratch: &Path) -> Repo {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    git(repo.path(), repo.home.path(), &["add", "."]);
    git(repo.path(), repo.home.path(), &["commit", "-qm", "initial"]);
    git(repo.path(), repo.home.path(), &["branch", "-M", "main"]);
    let o = repo.run(&["init"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut config = format!(
        "[core]\npoll_ms = 50\n\n[agents]\nbackoff_secs = 0\ncancel_grace_secs = 1\nflush_ms = 100\nacceptance_command = \"off\"\nsandbox_extra_write = [{}]\n\n",
        serde_json::to_string(&format!("{}/", scratch.display())).unwrap()
    );
    for role in [
        "pm",
        "designer",
        "implementer",
        "tester",
        "debugger",
        "reviewer",
    ] {
        config.push_str(&format!("[roles.{role}]\nadapter = \"sh\"\n"));
    }
    config.push_str(&format!(
        "\n[adapters.sh]\nkind = \"command\"\nbinary = \"sh\"\nargs = [\"-c\", {}]\n",
        serde_json::to_string(script).unwrap()
    ));
    repo.write(".overlord/config.toml", &config);
    repo.write(
        "plan.json",
        r#"{"todo_list_id": "p", "title": "T", "phases": [{"id": "x", "name": "X",
  "tasks": [{"id": "a", "title": "A", "agent_role": "implementer"}]}]}"#,
    );
    repo
}

/// `overlord-tui run` started in `repo` with a sandboxed environment (plus `env`), stdin and
/// stdout closed, stderr written to `log`.
pub fn spawn_run(repo: &Repo, log: &Path, env: &[(String, String)]) -> std::process::Child {
    let mut cmd = bin();
    cmd.arg("run")
        .current_dir(repo.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).expect("the run log"));
    sandbox(&mut cmd, repo.home.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start overlord-tui run")
}

pub fn bin() -> Proc {
    Proc::new(env!("CARGO_BIN_EXE_overlord-tui"))
}

/// Keeps the host's git and user configuration out of the test.
pub fn sandbox(cmd: &mut Proc, home: &Path) {
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("USER", "tester")
        .env_remove("OVERLORD_AGENT")
        .env_remove("OVERLORD_ROLE")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE");
}

pub fn human() -> Origin {
    Origin::Cli {
        user: "tester".into(),
    }
}

pub fn agent(name: &str) -> Origin {
    Origin::Agent {
        agent: name.into(),
        role: None,
    }
}

/// Parses and runs one line as a human.
pub fn run(core: &mut Core, line: &str) -> Reply {
    run_as(core, human(), line)
}

pub fn run_as(core: &mut Core, origin: Origin, line: &str) -> Reply {
    let command = parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    core.execute(origin, command)
}

/// Runs a line that must succeed.
pub fn ok(core: &mut Core, line: &str) -> Reply {
    let r = run(core, line);
    assert!(r.ok, "{line} was rejected: {}", r.message);
    r
}

/// Runs a line that must be rejected without changing anything; returns the message.
pub fn rejected(core: &mut Core, line: &str) -> String {
    rejected_as(core, human(), line)
}

pub fn rejected_as(core: &mut Core, origin: Origin, line: &str) -> String {
    let before = core.state().clone();
    let r = run_as(core, origin, line);
    assert!(!r.ok, "{line} should have been rejected");
    assert!(r.events.is_empty(), "a rejected command produced events");
    assert_eq!(
        &before,
        core.state(),
        "a rejected command changed the state"
    );
    r.message
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub const PLAN: &str = r#"{
  "todo_list_id": "workflow_sample_001",
  "title": "Backtester loop",
  "phases": [
    { "id": "phase-1", "name": "Base loop", "tasks": [
      { "id": "t1_data", "title": "Data loading", "agent_role": "coder", "priority": "high",
        "dependencies": [], "acceptance_criteria": ["DataFrame has OHLCV columns"],
        "expected_artifacts": ["backtesting_adapter.py"] },
      { "id": "t2_indicators", "title": "Indicators", "agent_role": "architect",
        "dependencies": ["t1_data"],
        "acceptance_criteria": [{ "description": "RSI matches fixture", "command": "pytest tests/test_rsi.py" }] }
    ]},
    { "id": "phase-2", "name": "Signals", "tasks": [
      { "id": "t3_entry", "title": "Entry conditions", "agent_role": "implementer",
        "dependencies": ["t2_indicators"] }
    ]}
  ]
}"#;

/// Runs the git CLI in `dir` with the host's configuration sandboxed; returns stdout.
pub fn git(dir: &Path, home: &Path, args: &[&str]) -> String {
    let o = git_output(dir, home, args);
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn git_output(dir: &Path, home: &Path, args: &[&str]) -> Output {
    let mut cmd = Proc::new("git");
    cmd.args(["-c", "user.name=Tester", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir);
    sandbox(&mut cmd, home);
    cmd.output().expect("git")
}

/// The toolchains' locations for a child run with a sandboxed HOME (rustup, cargo, pyenv
/// live under the real HOME), and a cargo target directory of its own.
pub fn tool_env(target: &Path) -> Vec<(String, String)> {
    let mut env = vec![(
        "CARGO_TARGET_DIR".to_string(),
        target.to_string_lossy().to_string(),
    )];
    let home = std::env::var("HOME").ok();
    for (var, default) in [
        ("RUSTUP_HOME", ".rustup"),
        ("CARGO_HOME", ".cargo"),
        ("PYENV_ROOT", ".pyenv"),
    ] {
        let value = std::env::var(var).ok().or_else(|| {
            let p = Path::new(home.as_deref()?).join(default);
            p.exists().then(|| p.to_string_lossy().to_string())
        });
        if let Some(v) = value {
            env.push((var.to_string(), v));
        }
    }
    env
}

/// Makes SIGINT reach the agents the tests start, as it does under `overlord-tui run`.
///
/// A process started in the background by a non-interactive shell (`cmd &`, as CI runners
/// often do) inherits SIGINT *ignored*, and an ignored signal stays ignored across `exec`: its
/// children would shrug off the runner's SIGINT and need SIGTERM. `overlord-tui run` installs a
/// Ctrl-C handler before it starts any agent, and a handled signal is reset to its default
/// action in a child, so its agents always get the default. The test binary does the same
/// here, once.
pub fn sigint_reaches_children() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            // The handler stays installed for the life of the process.
            let s = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
                .expect("SIGINT handler");
            std::mem::forget(s);
        });
    });
}

/// The audit records of `events`, as the core writes them.
pub fn event_records(events: &[overlord::protocol::Event]) -> Vec<overlord::store::NewRecord> {
    events
        .iter()
        .map(|e| overlord::store::NewRecord {
            topic: e.kind.topic(),
            at: e.at.clone(),
            body: serde_json::to_string(e).unwrap(),
        })
        .collect()
}

/// Appends events to the workspace's store as the core would (one transaction).
pub fn append_events(ws: &Workspace, events: &[overlord::protocol::Event]) {
    let mut store = overlord::store::Store::open(&ws.store_paths()).expect("store");
    let records = event_records(events);
    let mut guard = store.begin_write().expect("write");
    let appended = guard.append(&records).expect("append");
    guard.commit(&appended).expect("commit");
}

/// Every command record of the audit trail's mirror (`.overlord/audit/commands.jsonl`), in
/// order: who gave it and what.
pub fn audit_commands(repo: &Path) -> Vec<overlord::protocol::CommandRecord> {
    let text = std::fs::read_to_string(repo.join(".overlord/audit/commands.jsonl"))
        .expect("the command mirror");
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            serde_json::from_value(v["record"].clone()).expect("a command record")
        })
        .collect()
}
