//! Acceptance of a finished run: the post-run checks started off the loop (see `checks`:
//! the project's acceptance check, then the task's acceptance commands), then their outcome:
//! a failure is retried, a failing acceptance command opens a branch todo, passing ones
//! complete the task (or, for a fix task, its parent).

use std::path::PathBuf;
use std::time::Duration;

use super::books::{Msg, Supervisor};
use super::checks::{run_checks, AcceptancePlan, Check};
use super::core_link::system;
use crate::protocol::model::{Agent, AgentState, Role, Task, TaskStatus};

impl Supervisor {
    /// After a successful run: commit what the agent left, check the artifacts, run the
    /// project's acceptance check and the task's acceptance commands, off the supervisor's
    /// loop.
    pub(super) fn start_checks(
        &mut self,
        agent: &str,
        task: &Task,
        worktree: PathBuf,
        result: Option<String>,
    ) {
        self.tasks.entry(task.id.clone()).or_default().checking = true;
        if super::code_review::is_review(task) {
            // A review commits nothing: what the reviewer changed in the worktree is put back.
            let (tx, agent, id) = (self.tx.clone(), agent.to_string(), task.id.clone());
            tokio::task::spawn_blocking(move || {
                let check = Check {
                    error: super::code_review::discard_changes(&worktree).map(|files| {
                        format!("the reviewer changed the worktree ({files}), which it may not; its changes were discarded")
                    }),
                    result,
                    ..Check::default()
                };
                let _ = tx.blocking_send(Msg::Checked {
                    agent,
                    task: id,
                    check,
                });
            });
            return;
        }
        let acceptance = match self.config.agents.acceptance_command.trim() {
            "off" => None,
            "" => crate::core::qa::tests_command(&self.config.qa, &worktree),
            c => Some(c.to_string()),
        }
        .filter(|_| {
            task.is_temporary
                || matches!(task.role, Role::Implementer | Role::Tester | Role::Debugger)
        });
        let (tx, agent, task) = (self.tx.clone(), agent.to_string(), task.clone());
        let qa_timeout = self.config.qa.timeout_secs.max(1);
        let plan = AcceptancePlan {
            project: acceptance,
            project_timeout: Duration::from_secs(qa_timeout),
            checks: task.acceptance_checks.clone(),
            // A criterion's command gets the task's timeout, else the QA gates'.
            timeout: Duration::from_secs(task.timeout_seconds.unwrap_or(qa_timeout).max(1)),
            log_dir: self.ws.log_dir().join("agents").join(&agent),
        };
        let base = self.state.git.as_ref().map(|g| g.main.clone());
        tokio::task::spawn_blocking(move || {
            let check = run_checks(&worktree, &agent, &task, result, plan, base);
            let _ = tx.blocking_send(Msg::Checked {
                agent,
                task: task.id.clone(),
                check,
            });
        });
    }

    /// The checks are back: a commit or artifact problem fails the run, a failing acceptance
    /// check opens a branch todo, a passing one completes the task (a fix task: its parent).
    pub(super) async fn on_checked(&mut self, agent: &str, task_id: &str, check: Check) {
        self.tasks.entry(task_id.to_string()).or_default().checking = false;
        let Some(task) = self.task(task_id) else {
            return;
        };
        if super::code_review::is_review(&task) {
            self.on_code_review_done(agent, &task, check.error).await;
            return;
        }
        if !check.files.is_empty() {
            let b = self.agents.entry(agent.to_string()).or_default();
            for f in check.files.iter().take(Agent::MAX_FILES) {
                if !b.files.contains(f) {
                    b.files.push(f.clone());
                }
            }
        }
        if let Some(e) = check.error {
            self.on_failure(agent, &task, e, None, false).await;
            return;
        }
        if !check.missing.is_empty() {
            self.on_failure(
                agent,
                &task,
                format!(
                    "the expected artifacts are missing: {}",
                    check.missing.join(", ")
                ),
                None,
                false,
            )
            .await;
            return;
        }
        match check.failure {
            Some(failure) => self.acceptance_failed(agent, &task, failure).await,
            None => {
                if task.is_temporary {
                    self.set_task(
                        &task.id,
                        TaskStatus::Done,
                        Some(format!("{agent}: the acceptance check passes")),
                    )
                    .await;
                    self.set_agent(
                        agent,
                        AgentState::Done,
                        None,
                        Some(format!("fixed {}", task.id)),
                        None,
                        None,
                    )
                    .await;
                    if let Some(parent) = task.parent_id.as_deref().and_then(|p| self.task(p)) {
                        self.handoff(
                            system(),
                            task.role,
                            parent.role,
                            "branch todo fixed",
                            format!("{} fixed the failure of {}", task.id, parent.id),
                            Vec::new(),
                            "completed",
                            Some(&task.id),
                        )
                        .await;
                        let owner = parent.owner.clone().unwrap_or_else(|| agent.to_string());
                        self.complete(&owner, &parent, None, None).await;
                    }
                } else {
                    self.complete(agent, &task, check.committed, check.result)
                        .await;
                }
            }
        }
    }
}
