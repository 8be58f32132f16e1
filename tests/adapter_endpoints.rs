//! Adapter endpoints with the real binary (issue 21, item 7): `[adapters.<name>] base_url`
//! and `api_key_env` reach each CLI its own way — codex a model provider of its own through
//! `-c`, claude `ANTHROPIC_BASE_URL` and `ANTHROPIC_API_KEY`, gemini `GOOGLE_GEMINI_BASE_URL`,
//! `GEMINI_API_KEY` and a Gemini home of its own (`GEMINI_CLI_HOME`), not the user's `~/.gemini`, aider
//! `--openai-api-base` and `OPENAI_API_KEY` — seen by fake CLIs that `overlord-tui run`
//! starts, which write down their arguments and environment; the key is never on a command
//! line or in a log. And `init` writes a commented section for each CLI on `PATH`.

use std::path::Path;
use std::time::Duration;

use crate::common::*;

const KEY: &str = "sk-test-7f3a9c";
const URL: &str = "http://127.0.0.1:9/v1";

/// An executable `sh` script at `path`.
fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A fake CLI that writes its arguments (one a line), its environment and Gemini's settings
/// (when it is given a Gemini home) to `<scratch>/<name>.*`, then fails.
fn recorder(scratch: &Path, name: &str) -> std::path::PathBuf {
    let out = scratch.join(name);
    let path = scratch.join(format!("fake-{name}"));
    script(
        &path,
        &format!(
            "o='{o}'\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$o.args.tmp\"\nenv > \"$o.env\"\nif [ -n \"$GEMINI_CLI_HOME\" ]; then cat \"$GEMINI_CLI_HOME/.gemini/settings.json\" > \"$o.settings\"; fi\nmv \"$o.args.tmp\" \"$o.args\"\nexit 3",
            o = out.display()
        ),
    );
    path
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn each_cli_is_pointed_at_its_endpoint_its_own_way() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    git(repo.path(), repo.home.path(), &["add", "."]);
    git(repo.path(), repo.home.path(), &["commit", "-qm", "initial"]);
    git(repo.path(), repo.home.path(), &["branch", "-M", "main"]);
    assert!(repo.run(&["init"]).status.success());
    let scratch = tempfile::tempdir().unwrap();
    // One role per CLI, one task per role.
    let cases = [
        ("implementer", "codex"),
        ("tester", "claude"),
        ("debugger", "gemini"),
        ("designer", "aider"),
    ];
    let mut config = format!(
        "[core]\npoll_ms = 50\n\n[agents]\nbackoff_secs = 0\nmax_attempts = 1\ncancel_grace_secs = 1\nflush_ms = 100\nacceptance_command = \"off\"\nsandbox_extra_write = [{}]\n\n",
        serde_json::to_string(&format!("{}/", scratch.path().display())).unwrap()
    );
    let mut tasks = Vec::new();
    for (role, kind) in cases {
        let fake = recorder(scratch.path(), kind);
        config.push_str(&format!(
            "[roles.{role}]\nadapter = \"my-{kind}\"\n\n[adapters.my-{kind}]\nkind = \"{kind}\"\nbinary = \"{}\"\nbase_url = \"{URL}\"\napi_key_env = \"LOCAL_LLM_KEY\"\n\n",
            fake.display()
        ));
        tasks.push(format!(
            r#"{{"id": "t-{kind}", "title": "{kind}", "agent_role": "{role}"}}"#
        ));
    }
    repo.write(".overlord/config.toml", &config);
    repo.write(
        "plan.json",
        &format!(
            r#"{{"todo_list_id": "p", "title": "T", "phases": [{{"id": "x", "name": "X", "tasks": [{}]}}]}}"#,
            tasks.join(", ")
        ),
    );
    let log = repo.home.path().join("run.log");
    let mut env = tool_env(&repo.home.path().join("target"));
    env.push(("LOCAL_LLM_KEY".into(), KEY.into()));
    let mut child = spawn_run(&repo, &log, &env);
    let guard = KillOnDrop(&mut child);
    wait_until("run listening", PATIENCE, || {
        repo.path().join(".overlord/overlord.sock").exists()
    });
    let o = repo.run(&["plan", "import", "plan.json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = repo.run(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let approval = v["state"]["approvals"]
        .as_object()
        .and_then(|a| a.values().find(|a| a["kind"] == "plan"))
        .and_then(|a| a["id"].as_str())
        .expect("the plan awaits approval")
        .to_string();
    let o = repo.run(&["cmd", &format!("/approve {approval}")]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    for (_, kind) in cases {
        wait_until(&format!("the fake {kind} to run"), PATIENCE, || {
            scratch.path().join(format!("{kind}.args")).exists()
        });
    }
    drop(guard);

    let args = |kind: &str| read(&scratch.path().join(format!("{kind}.args")));
    let env = |kind: &str| read(&scratch.path().join(format!("{kind}.env")));
    let has_env = |kind: &str, var: &str, value: &str| {
        env(kind).lines().any(|l| l == format!("{var}={value}"))
    };
    // codex: a model provider of its own; the key is read by codex from the variable named.
    let codex = args("codex");
    for want in [
        "-c\nmodel_provider=\"overlord_my_codex\"\n",
        "-c\nmodel_providers.overlord_my_codex.name=\"overlord_my_codex\"\n",
        &format!("-c\nmodel_providers.overlord_my_codex.base_url=\"{URL}\"\n"),
        "-c\nmodel_providers.overlord_my_codex.env_key=\"LOCAL_LLM_KEY\"\n",
        "-c\nmodel_providers.overlord_my_codex.wire_api=\"responses\"\n",
    ] {
        assert!(codex.contains(want), "{want} not in\n{codex}");
    }
    assert!(codex.starts_with("exec\n"), "{codex}");
    // Confined by Overlord's Landlock sandbox, codex leaves the sandboxing to it (its own
    // cannot start inside ours); unconfined, its own workspace-write sandbox.
    let mode = if overlord::runtime::sandbox::probe().available() {
        "danger-full-access"
    } else {
        "workspace-write"
    };
    assert!(codex.contains(&format!("\n--sandbox\n{mode}\n")), "{codex}");
    assert!(has_env("codex", "LOCAL_LLM_KEY", KEY), "{}", env("codex"));
    // claude: its variables.
    assert!(has_env("claude", "ANTHROPIC_BASE_URL", URL));
    assert!(has_env("claude", "ANTHROPIC_API_KEY", KEY));
    // gemini: its variables and a settings file selecting API-key auth, not in ~/.gemini.
    assert!(has_env("gemini", "GOOGLE_GEMINI_BASE_URL", URL));
    assert!(has_env("gemini", "GEMINI_API_KEY", KEY));
    let settings = read(&scratch.path().join("gemini.settings"));
    assert!(
        settings.contains("\"selectedType\": \"gemini-api-key\""),
        "{settings}"
    );
    let gemini_home = repo
        .home
        .path()
        .join(".local/state/overlord-tui/gemini/my-gemini");
    assert!(
        has_env(
            "gemini",
            "GEMINI_CLI_HOME",
            &gemini_home.display().to_string()
        ),
        "{}",
        env("gemini")
    );
    assert!(!repo.home.path().join(".gemini/settings.json").exists());
    // aider: its flag and variable.
    assert!(args("aider").contains(&format!("--openai-api-base\n{URL}\n")));
    assert!(has_env("aider", "OPENAI_API_KEY", KEY));
    // The key is on no command line and in no log.
    for (_, kind) in cases {
        assert!(!args(kind).contains(KEY), "{kind}: {}", args(kind));
    }
    let logs = repo.path().join(".overlord/logs");
    for entry in walk(&logs) {
        let text = read(&entry);
        assert!(!text.contains(KEY), "the key is in {}", entry.display());
    }
}

/// Stops `overlord-tui run` (SIGINT, then SIGKILL) when the test ends, passed or not.
pub(crate) struct KillOnDrop<'a>(pub(crate) &'a mut std::process::Child);

impl Drop for KillOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.0.id() as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::INT);
        }
        let until = std::time::Instant::now() + Duration::from_secs(20);
        while std::time::Instant::now() < until {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_key_variable_that_is_not_set_stops_the_run_with_its_name() {
    let spec = overlord::agent::adapter::AdapterSpec::from_config(
        "cl",
        &overlord::config::AdapterConfig {
            kind: "claude".into(),
            api_key_env: "OVERLORD_TEST_SURELY_UNSET_KEY".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let err = overlord::runtime::endpoint::run_env(&spec, Some(dir.path())).unwrap_err();
    assert!(
        err.contains("$OVERLORD_TEST_SURELY_UNSET_KEY is not set"),
        "{err}"
    );
}

#[test]
fn init_writes_a_commented_section_for_each_cli_on_path() {
    let repo = Repo::new();
    let bin = tempfile::tempdir().unwrap();
    for name in ["codex", "gemini"] {
        script(&bin.path().join(name), "echo 1.0");
    }
    // Not executable: not a CLI.
    std::fs::write(bin.path().join("claude"), "").unwrap();
    let path = bin.path().display().to_string();
    let o = repo.run_env(&["init"], &[("PATH", &path)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("found codex"), "{out}");
    assert!(out.contains("found gemini"), "{out}");
    assert!(!out.contains("found claude"), "{out}");
    let config = read(&repo.path().join(".overlord/config.toml"));
    let codex = format!(
        "# [adapters.codex]                  # found: {}/codex",
        bin.path().display()
    );
    assert!(config.contains(&codex), "{config}");
    assert!(config.contains("# [adapters.gemini]"));
    assert!(!config.contains("# [adapters.claude]  "));
    assert!(config.contains("# base_url = \"\"                     # e.g. \"http://127.0.0.1:8080/v1\" (OpenAI Responses API)"));
    assert!(config.contains("# api_key_env = \"\""));
    // The configuration still loads, and nothing is configured by the comments.
    let o = repo.run_env(&["agents", "--json"], &[("PATH", &path)]);
    assert!(o.status.success(), "{}", stderr(&o));

    // Run again: the user's configuration is left alone.
    let before = config.clone();
    let o = repo.run_env(&["init", "--json"], &[("PATH", &path)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["agent_clis"][0]["kind"], "codex");
    assert_eq!(read(&repo.path().join(".overlord/config.toml")), before);

    // Nothing on PATH: no sections, a hint.
    let empty = tempfile::tempdir().unwrap();
    let repo2 = Repo::new();
    let o = repo2.run_env(&["init"], &[("PATH", &empty.path().display().to_string())]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("no agent CLI found"), "{}", stdout(&o));
    let config = read(&repo2.path().join(".overlord/config.toml"));
    assert!(!config.contains("found by `overlord-tui init`"));
}
