//! The planner role (seed 003): runs `[roles.planner]`'s agent on a goal with the TodoList
//! schema and the repository's context, in a scratch folder of its own (in the sandbox it may
//! write nothing else), reads the plan file it must write there, validates it as `/import`
//! does, and feeds the validation errors back for another run, at most `[planner]
//! max_attempts` runs. The caller imports the plan it returns (it then awaits approval).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::agent::adapter::{resolve, Turn};
use crate::agent::AgentEvent;
use crate::config::{Config, SandboxMode};
use crate::protocol::model::Plan;
use crate::runtime::process::{self, RunOptions};
use crate::runtime::sandbox::{self, Grants};
use crate::workspace::Workspace;

/// The file the planner must write in its folder.
pub const PLAN_FILE: &str = "plan.json";

const BUILT_IN: &str = include_str!("../../config/roles/planner.md");

/// The TodoList shape the planner is given.
pub const SCHEMA: &str = r#"```json
{
  "todo_list_id": "short-id",
  "title": "what the plan delivers",
  "phases": [
    {"id": "phase-1", "name": "a releasable step", "tasks": [
      {"id": "t1", "title": "…", "description": "…", "agent_role": "implementer",
       "priority": "high", "dependencies": [],
       "acceptance_criteria": ["text", {"description": "tests pass", "command": "cargo test", "expect": 0}],
       "expected_artifacts": ["src/…"]}
    ]}
  ]
}
```"#;

/// A validated plan and where it was written.
#[derive(Debug)]
pub struct Planned {
    pub plan: Plan,
    pub path: PathBuf,
    pub attempts: u32,
}

/// The repository's context for the prompt: the tracked files (at most 300) and the start of
/// the README.
pub fn repository_context(root: &Path) -> String {
    let files = std::process::Command::new("git")
        .args(["ls-files"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let all: Vec<&str> = files.lines().collect();
    let mut out = format!("Tracked files ({}):\n", all.len());
    for f in all.iter().take(300) {
        out.push_str(&format!("- {f}\n"));
    }
    if all.len() > 300 {
        out.push_str(&format!("- … and {} more\n", all.len() - 300));
    }
    for name in ["README.md", "README"] {
        if let Ok(text) = std::fs::read_to_string(root.join(name)) {
            let head: Vec<&str> = text.lines().take(60).collect();
            out.push_str(&format!("\n{name} (start):\n{}\n", head.join("\n")));
            break;
        }
    }
    out
}

/// The prompt of one run.
fn prompt(config: &Config, root: &Path, goal: &str, context: &str, feedback: &str) -> String {
    let configured = config.roles.planner.prompt.trim();
    let template = if configured.is_empty() {
        BUILT_IN.to_string()
    } else {
        std::fs::read_to_string(root.join(configured)).unwrap_or_else(|_| BUILT_IN.to_string())
    };
    let vars: BTreeMap<&str, String> = [
        ("goal", goal.to_string()),
        ("plan_file", PLAN_FILE.to_string()),
        ("schema", SCHEMA.to_string()),
        ("context", context.to_string()),
        ("feedback", feedback.to_string()),
    ]
    .into_iter()
    .collect();
    crate::runtime::prompts::fill(&template, &vars)
}

/// Runs the planner until it writes a valid plan, or `[planner] max_attempts` runs are spent
/// (the error then gives the last validation errors). `self_exe` is this binary (the
/// scripted adapter and the sandbox wrapper run it).
pub async fn plan_new(
    ws: &Workspace,
    config: &Config,
    goal: &str,
    self_exe: &Path,
) -> Result<Planned, String> {
    if goal.trim().is_empty() {
        return Err("the goal is empty: plan new \"<what to build>\"".into());
    }
    let name = config.roles.planner.adapter.clone();
    let (specs, _) = resolve(&config.adapters);
    let spec = specs.into_iter().find(|s| s.name == name).ok_or_else(|| {
        format!("[roles.planner] adapter = \"{name}\" is not an adapter ([adapters.<name>] or a built-in one)")
    })?;
    let stamp = crate::core::now().replace([':', '.'], "");
    // Under `.overlord/agents/`: the only place in the checkout a sandboxed run may write.
    let dir = ws.dir.join("agents").join("planner").join(&stamp);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let context = repository_context(&ws.root);
    let attempts = config.planner.max_attempts.max(1);
    let mut feedback = String::new();
    let mut last_error = String::new();
    for attempt in 1..=attempts {
        let plan_path = dir.join(PLAN_FILE);
        let _ = std::fs::remove_file(&plan_path);
        let text = prompt(config, &ws.root, goal, &context, &feedback);
        let turn = Turn {
            prompt: &text,
            resume: None,
            workdir: &dir,
            files: &[],
        };
        let inv = confined(
            ws,
            config,
            &spec,
            spec.invocation(&turn, self_exe),
            self_exe,
        )?;
        let opts = RunOptions {
            invocation: inv,
            // No OVERLORD_ROLE: the planner is not one of the task roles; the task is `plan`
            // (the scripted planner reads `scripts/plan.toml`).
            env: [
                ("OVERLORD_AGENT".into(), "planner".into()),
                ("OVERLORD_TASK".into(), "plan".into()),
                ("OVERLORD_ATTEMPT".into(), attempt.to_string()),
                ("OVERLORD_REPO".into(), ws.root.display().to_string()),
            ]
            .into_iter()
            .chain(crate::runtime::endpoint::run_env(
                &spec,
                crate::runtime::endpoint::user_home().as_deref(),
            )?)
            .collect(),
            timeout: Some(Duration::from_secs(config.planner.timeout_secs.max(1))),
            grace: Duration::from_secs(config.agents.cancel_grace_secs.max(1)),
            log: Some(
                ws.log_dir()
                    .join("agents")
                    .join("planner")
                    .join(format!("{stamp}-{attempt}.log")),
            ),
            interrupt_by_stdin: false,
            interrupt_root_first: false,
        };
        let (tx, mut rx) = mpsc::channel::<AgentEvent>(256);
        // The run's own account of a failure (a CLI says why in its final event).
        let drain = tokio::spawn(async move {
            let mut why = String::new();
            while let Some(ev) = rx.recv().await {
                match ev {
                    AgentEvent::Finished { error: Some(e), .. } => why = format!("{e:?}"),
                    AgentEvent::Warning { message, .. } => why = message,
                    _ => {}
                }
            }
            why
        });
        let (_ctl_tx, ctl_rx) = mpsc::unbounded_channel();
        let end = process::run(opts, spec.parser(Default::default()), tx, ctl_rx).await;
        let why = drain.await.unwrap_or_default();
        if let Some(e) = &end.spawn_error {
            return Err(format!("the planner ({name}) could not be started: {e}"));
        }
        let problem = match std::fs::read_to_string(&plan_path) {
            Err(_) => {
                let mut tail = end.stderr_tail.join(" / ");
                if tail.is_empty() {
                    tail = why;
                }
                format!(
                    "no plan was written to {PLAN_FILE} (the run ended: {}{}{tail})",
                    end.describe(),
                    if tail.is_empty() { "" } else { "; " }
                )
            }
            Ok(written) => {
                match crate::core::plan::parse_todo_list(&written, PLAN_FILE, &crate::core::now()) {
                    Ok(plan) => {
                        return Ok(Planned {
                            plan,
                            path: plan_path,
                            attempts: attempt,
                        })
                    }
                    Err(r) => r.message,
                }
            }
        };
        last_error = problem.clone();
        feedback = format!(
            "\n## Your previous plan was refused (attempt {attempt} of {attempts})\n{problem}\nWrite the whole plan again to `{PLAN_FILE}`, fixing this.\n"
        );
    }
    Err(format!(
        "the planner wrote no valid plan in {attempts} attempts; the last problem: {last_error} (its runs are logged under .overlord/logs/agents/planner/)"
    ))
}

/// The run through the sandbox wrapper per `[agents] sandbox`: the planner may write only its
/// folder (and its CLI's state folders).
fn confined(
    ws: &Workspace,
    config: &Config,
    spec: &crate::agent::adapter::AdapterSpec,
    inv: crate::agent::adapter::Invocation,
    self_exe: &Path,
) -> Result<crate::agent::adapter::Invocation, String> {
    let support = sandbox::probe();
    let best_effort = match (config.agents.sandbox, support.available()) {
        (SandboxMode::Off, _) => return Ok(inv),
        (SandboxMode::Enforce, false) => {
            return Err(
                sandbox::standing_warning(config, &support).unwrap_or_else(|| {
                    "the sandbox is not available and [agents] sandbox = \"enforce\"".into()
                }),
            )
        }
        (SandboxMode::BestEffort, _) => true,
        (SandboxMode::Enforce, true) => false,
    };
    let inv = if support.available() {
        spec.nested_in_landlock(inv)
    } else {
        inv
    };
    let protection = crate::git::Protection {
        main: crate::config::non_empty(&config.git.main).unwrap_or_else(|| "main".to_string()),
        branches: config.git.protected.clone(),
    };
    let policy = sandbox::policy_for(&Grants {
        ws,
        workdir: &inv.cwd,
        agent: "planner",
        protection: &protection,
        state: &spec.state_dirs,
        extra: &config.agents.sandbox_extra_write,
        net_ports: &config.agents.sandbox_net_ports,
        best_effort,
        owner_pid: Some(std::process::id()),
        only_write: None,
    })?;
    sandbox::wrap(inv, &policy, self_exe)
}
