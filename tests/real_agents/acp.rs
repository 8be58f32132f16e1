//! The real `gemini --acp` (Gemini CLI 0.61.0) driven through Overlord's ACP client on a
//! one-task plan, against the loopback fake Gemini API (`edit` scenario of
//! `fake_models.py`): the model rewrites `README.md` with Gemini's `write_file` (read and
//! written through the client, after a permission request answered by the default rule: an
//! edit inside the worktree is allowed), then runs a shell command writing `hello.txt` (a
//! permission request answered by the adapter's rule `execute = "allow"`), then answers.
//!
//! The adapter is the `gemini-acp` preset, named only by its section: no kind, binary or
//! args beyond the cached CLI's path.

use serde_json::Value;

use super::{approve_and_wait, branch_files, keep_captures, prepared, task_of, PER_REQUEST};
use crate::adapter_endpoints::KillOnDrop;
use crate::common::*;

#[test]
#[ignore = "opt-in: make real-agents"]
fn gemini_acp_edits_through_the_client_with_its_permissions_decided_by_policy() {
    let (program, repo, fake) = prepared("gemini");
    let config = format!(
        r#"[core]
poll_ms = 50

[agents]
backoff_secs = 0
max_attempts = 1
cancel_grace_secs = 2
flush_ms = 100
timeout_secs = 300
acceptance_command = "off"

[roles.implementer]
adapter = "gemini-acp"

[adapters.gemini-acp]
binary = "{program}"
base_url = "http://127.0.0.1:{port}"
api_key_env = "FAKE_MODEL_KEY"
model = "edit"

[adapters.gemini-acp.permissions]
execute = "allow"
"#,
        program = program.display(),
        port = fake.port
    );
    repo.write(".overlord/config.toml", &config);
    repo.write(
        "plan.json",
        r#"{"todo_list_id": "p", "title": "T", "phases": [{"id": "x", "name": "X",
  "tasks": [{"id": "hello", "title": "Rewrite README.md, write hello.txt", "agent_role": "implementer",
             "description": "Rewrite README.md and create hello.txt saying hello."}]}]}"#,
    );
    // `agents` sees the preset: gemini --acp, installed, its version.
    let o = repo.run(&["agents", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let agents: Value = serde_json::from_slice(&o.stdout).unwrap();
    let row = agents["adapters"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["name"] == "gemini-acp").cloned())
        .unwrap_or_else(|| panic!("no gemini-acp: {agents:#}"));
    assert_eq!(row["kind"], "acp", "{row:#}");
    assert_eq!(row["preset"], "gemini-acp", "{row:#}");
    assert_eq!(row["args"], serde_json::json!(["--acp"]), "{row:#}");
    assert_eq!(row["version"], "0.61.0", "{row:#}");

    let log = repo.home.path().join("run.log");
    let mut env = tool_env(&repo.home.path().join("target"));
    env.push(("FAKE_MODEL_KEY".into(), "sk-fake-real-agents".into()));
    let mut child = spawn_run(&repo, &log, &env);
    let guard = KillOnDrop(&mut child);
    let last = approve_and_wait(&repo, "gemini-acp/edit");
    drop(guard);
    keep_captures(&repo, "gemini-acp", "edit");
    let task = task_of(&last);
    let requests = fake.requests();
    let run_log = std::fs::read_to_string(&log).unwrap_or_default();
    let explain = || {
        format!(
            "task {task:#}\ntelemetry {:#}\nrequests {requests:#?}\n--- run log ---\n{}",
            last["state"]["task_telemetry"]["hello"],
            run_log
                .lines()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .join("\n")
        )
    };
    assert_eq!(task["status"], "done", "{}", explain());

    // The branch holds what gemini wrote: README.md through the client's fs/write_text_file,
    // hello.txt by its own shell command. The task's branch; once merged (and removed), the
    // session's integration branch.
    let branches = branch_files(&repo);
    let line = ["/task/hello:", "/integration:"]
        .iter()
        .find_map(|b| branches.lines().find(|l| l.contains(b)))
        .unwrap_or_else(|| panic!("no task branch: {branches}\n{}", explain()));
    assert!(
        line.contains("README.md") && line.contains("hello.txt"),
        "{line}"
    );
    let branch = line.split(':').next().unwrap().trim();
    let readme = git(
        repo.path(),
        repo.home.path(),
        &["show", &format!("{branch}:README.md")],
    );
    assert_eq!(readme, "hello, rewritten by the fake model\n");
    let hello = git(
        repo.path(),
        repo.home.path(),
        &["show", &format!("{branch}:hello.txt")],
    );
    assert_eq!(hello, "hello from the fake model\n");
    // Three model calls: the edit, the command, the answer.
    let calls = requests.iter().filter(|r| r["scenario"] == "edit").count();
    assert_eq!(calls, 3, "{}", explain());

    // `status --json`: the task's tool calls (by their ACP kind) and the files touched.
    let t = &last["state"]["task_telemetry"]["hello"];
    assert_eq!(t["tool_calls"], 2, "{}", explain());
    assert_eq!(t["tools"]["edit"], 1, "{}", explain());
    assert_eq!(t["tools"]["execute"], 1, "{}", explain());
    assert!(
        t["files"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f == "README.md")),
        "{}",
        explain()
    );

    // The audit: both permission decisions, each with what decided it, and the tool calls.
    let o = repo.run(&["audit", "export"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let audit = stdout(&o);
    let lines: Vec<&str> = audit
        .lines()
        .filter(|l| l.contains("agent_activity") || l.contains("agent_run_reported"))
        .collect();
    let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
    assert!(
        has("permission allowed: edit") && has("README.md"),
        "{lines:#?}"
    );
    assert!(
        has("permission allowed: execute") && has("execute=allow"),
        "{lines:#?}"
    );
    let tokens = last["state"]["agents"]
        .as_object()
        .and_then(|a| a.values().next())
        .map(|a| a["tokens"].clone())
        .unwrap_or(Value::Null);
    // Gemini reports them only in the prompt answer's `_meta.quota.token_count`.
    assert_eq!(
        tokens.as_u64(),
        Some(PER_REQUEST * calls as u64),
        "the fake model's tokens, {PER_REQUEST} a call"
    );
    eprintln!(
        "REAL gemini-acp | edit | {} | branch {line} | model calls {calls} | tools {} | files {} | tokens {tokens} (the fake's {PER_REQUEST} a call, read from the prompt answer's _meta.quota) | audit: {}",
        task["status"],
        t["tools"],
        t["files"],
        lines
            .iter()
            .filter_map(|l| json_string_at(l, l.find("permission ")?))
            .collect::<Vec<_>>()
            .join(" / ")
    );
}

/// The rest of the JSON string that `at` is inside of, unescaped (`\"` → `"`).
fn json_string_at(line: &str, at: usize) -> Option<String> {
    let mut out = String::new();
    let mut chars = line[at..].chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' => return Some(out),
            c => out.push(c),
        }
    }
    Some(out)
}
