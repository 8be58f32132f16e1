//! Preparing a task's run: the agent is spoken for, the worktree is opened off the loop (a
//! new one gets its dependencies' branches merged in; a fix task works in its parent's), then
//! the role's prompt is rendered and the run started.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::books::{Msg, Purpose, Supervisor};
use super::text::first_line;
use crate::config::Config;
use crate::protocol::model::{AgentState, Role, Task, TaskStatus};
use crate::runtime::prompts;
use crate::workspace::Workspace;

impl Supervisor {
    /// Picks the worktree and starts the task's run once it is ready.
    pub(super) async fn prepare(&mut self, agent: String, task: Task) {
        let book = self.tasks.entry(task.id.clone()).or_default();
        book.preparing = true;
        let existing = book.worktree.clone();
        // The agent is spoken for from now on.
        if let Some(a) = self.state.agents.get_mut(&agent) {
            a.state = AgentState::Running;
            a.task = Some(task.id.clone());
        }
        self.set_agent(
            &agent,
            AgentState::Running,
            Some(&task.id),
            Some("preparing the worktree".into()),
            None,
            None,
        )
        .await;
        let (ws, config, tx) = (self.ws.clone(), self.config.clone(), self.tx.clone());
        let parent = task.parent_id.clone().filter(|_| task.is_temporary);
        let parent_wt = parent
            .as_ref()
            .and_then(|p| self.tasks.get(p))
            .and_then(|b| b.worktree.clone());
        let deps = task.dependencies.clone();
        let id = task.id.clone();
        tokio::task::spawn_blocking(move || {
            let result = match (existing, parent, parent_wt) {
                (Some(p), _, _) if p.is_dir() => Ok(p),
                (_, Some(_), Some(p)) if p.is_dir() => Ok(p),
                (_, Some(parent), _) => open_worktree(&ws, &config, &parent, &[]),
                _ => open_worktree(&ws, &config, &id, &deps),
            };
            let _ = tx.blocking_send(Msg::Prepared {
                agent,
                task: id,
                result,
            });
        });
    }

    /// The worktree is ready (or could not be had: a failure): the task's run starts with the
    /// role's prompt, resuming the agent's session from the second attempt on.
    pub(super) async fn on_prepared(
        &mut self,
        agent: String,
        task_id: String,
        result: Result<PathBuf, String>,
    ) {
        let book = self.tasks.entry(task_id.clone()).or_default();
        book.preparing = false;
        let Some(task) = self.task(&task_id) else {
            return;
        };
        let path = match result {
            Ok(p) => p,
            Err(e) => {
                self.on_failure(
                    &agent,
                    &task,
                    format!("its worktree could not be prepared: {e}"),
                    None,
                    false,
                )
                .await;
                return;
            }
        };
        let book = self.tasks.entry(task_id.clone()).or_default();
        book.worktree = Some(path.clone());
        book.runs += 1;
        let attempt = book.runs;
        let feedback = book.feedback.clone();
        let adapter = self.adapter_for(&task);
        let prompt = self.task_prompt(&agent, &task, &path, attempt, feedback);
        if task.status == TaskStatus::Todo {
            self.set_task(
                &task.id,
                TaskStatus::InProgress,
                Some(format!("{agent} started attempt {attempt}")),
            )
            .await;
        }
        self.set_agent(
            &agent,
            AgentState::Running,
            Some(&task.id),
            None,
            Some(attempt),
            None,
        )
        .await;
        let timeout = Duration::from_secs(
            task.timeout_seconds
                .unwrap_or(self.config.agents.timeout_secs)
                .max(1),
        );
        // A rejected artifact, a retry or a redirection continues the agent's session.
        let resume = (attempt > 1)
            .then(|| self.agents.get(&agent).and_then(|b| b.session.clone()))
            .flatten();
        let role = self
            .state
            .agents
            .get(&agent)
            .map(|a| a.role)
            .unwrap_or(task.role);
        self.start_run(
            &agent,
            &adapter,
            role,
            Purpose::Task(task.id.clone()),
            &prompt,
            resume,
            path,
            attempt,
            Some(timeout),
        )
        .await;
    }

    /// The role's prompt for the task: its template (a fix task gets the debugger's), the
    /// artifacts of its dependencies as inputs, why it runs again.
    fn task_prompt(
        &mut self,
        agent: &str,
        task: &Task,
        path: &Path,
        attempt: u32,
        feedback: Option<String>,
    ) -> String {
        let (template, warning) = prompts::template(
            &self.config,
            &self.ws.root,
            if task.is_temporary {
                Role::Debugger
            } else {
                task.role
            },
        );
        if let Some(w) = warning {
            if !self.warned.contains(&w) {
                tracing::warn!("{w}");
                self.warned.push(w);
            }
        }
        let inputs: Vec<String> = task
            .dependencies
            .iter()
            .filter_map(|d| self.task(d))
            .flat_map(|d| d.expected_artifacts)
            .collect();
        prompts::render(
            &template,
            task,
            &prompts::PromptContext {
                agent,
                worktree: path,
                attempt,
                inputs,
                feedback,
            },
        )
    }
}

/// Opens (or finds) the task's worktree; a new one gets its dependencies' branches merged in,
/// so a tester works on the implementers' code.
fn open_worktree(
    ws: &Workspace,
    config: &Config,
    task: &str,
    deps: &[String],
) -> Result<PathBuf, String> {
    let mut core = crate::core::Core::open(ws, config).map_err(|e| e.to_string())?;
    let wt = core.open_task_worktree(task)?;
    if wt.created && !deps.is_empty() {
        let sess = core.git_session()?;
        for d in deps {
            let branch = sess.task_branch(d);
            let repo = crate::git::open(&ws.root).map_err(|e| e.to_string())?;
            if crate::git::branch_tip(&repo, &branch)
                .ok()
                .flatten()
                .is_none()
            {
                continue;
            }
            let out = std::process::Command::new("git")
                .args([
                    "-c",
                    "user.name=Overlord",
                    "-c",
                    "user.email=overlord@overlord.local",
                    "merge",
                    "--no-ff",
                    "--no-edit",
                    "-m",
                    &format!("Merge {d} into {task}"),
                    &branch,
                ])
                .current_dir(&wt.path)
                .stdin(std::process::Stdio::null())
                .output()
                .map_err(|e| format!("cannot run git: {e}"))?;
            if !out.status.success() {
                let _ = std::process::Command::new("git")
                    .args(["merge", "--abort"])
                    .current_dir(&wt.path)
                    .output();
                return Err(format!(
                    "the branch of {d} does not merge into {task}'s: {}",
                    first_line(&String::from_utf8_lossy(&out.stdout), 200)
                ));
            }
        }
    }
    Ok(wt.path)
}
