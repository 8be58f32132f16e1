//! Retries: a failed run is retried with exponential backoff (`backoff_secs` doubling up to
//! `backoff_max_secs`) up to `max_attempts`, then the task fails with the CLI's message and a
//! concern goes up the chain; a CLI that cannot start at all fails the task for the human.
//! Rate limits and account errors are routed to `rate_limit`.

use std::time::{Duration, Instant};

use super::books::Supervisor;
use crate::agent::ErrorKind;
use crate::protocol::model::{AgentState, Role, Severity, Task, TaskStatus};
use crate::protocol::ConcernDraft;

impl Supervisor {
    /// A run of the task failed: a rate limit pauses, a quota or credentials error hands the
    /// task over or blocks it, a CLI that cannot start fails it at once; anything else is
    /// retried with backoff up to `max_attempts`.
    pub(super) async fn on_failure(
        &mut self,
        agent: &str,
        task: &Task,
        message: String,
        kind: Option<ErrorKind>,
        not_startable: bool,
    ) {
        let handled = match kind {
            Some(ErrorKind::RateLimited { retry_after_ms }) => {
                self.on_rate_limit(agent, task, &message, retry_after_ms)
                    .await;
                true
            }
            Some(ErrorKind::Quota | ErrorKind::Auth) => {
                self.on_account_error(agent, task, &message).await;
                true
            }
            _ => false,
        };
        if handled {
            return;
        }
        if not_startable {
            if self.hand_over(agent, task, &message).await {
                return;
            }
            // Not the task's fault: the human has to install or configure the CLI.
            self.fail_task_because(agent, task, message, true).await;
            return;
        }
        self.retry_with_backoff(agent, task, message).await;
    }

    /// Another attempt after an exponential backoff, or, past `max_attempts`, the task fails.
    async fn retry_with_backoff(&mut self, agent: &str, task: &Task, message: String) {
        let cfg = self.config.agents.clone();
        let book = self.tasks.entry(task.id.clone()).or_default();
        book.failures += 1;
        if book.failures < cfg.max_attempts.max(1) {
            let exp = book.failures.saturating_sub(1).min(16);
            let wait = Duration::from_secs(
                cfg.backoff_secs
                    .saturating_mul(1u64 << exp)
                    .min(cfg.backoff_max_secs.max(cfg.backoff_secs)),
            );
            book.retry_at = Some(Instant::now() + wait);
            book.feedback = Some(format!("The previous attempt failed: {message}"));
            let n = book.failures;
            self.set_agent(
                agent,
                AgentState::Waiting,
                Some(&task.id),
                Some(format!(
                    "attempt {n} failed: {message}; retry in {}s",
                    wait.as_secs()
                )),
                None,
                None,
            )
            .await;
            self.requeue(task, &format!("attempt {n} failed: {message}"))
                .await;
        } else {
            self.fail_task(agent, task, message).await;
        }
    }

    /// The task goes back to the queue (it runs again, not counted as a failure).
    pub(super) async fn requeue(&mut self, task: &Task, why: &str) {
        if task.status == TaskStatus::InProgress {
            self.set_task(&task.id, TaskStatus::Todo, Some(why.to_string()))
                .await;
        }
    }

    pub(super) async fn fail_task(&mut self, agent: &str, task: &Task, message: String) {
        self.fail_task_because(agent, task, message, false).await;
    }

    /// The agent and its task failed, each with what it shows (before the concern that says
    /// so).
    pub(super) async fn mark_failed(
        &mut self,
        agent: &str,
        task: &Task,
        agent_detail: String,
        task_detail: String,
    ) {
        self.set_agent(
            agent,
            AgentState::Failed,
            Some(&task.id),
            Some(agent_detail),
            None,
            None,
        )
        .await;
        self.set_task(&task.id, TaskStatus::Failed, Some(task_detail))
            .await;
    }

    /// `environment`: the CLI could not be started at all, which only the human can fix.
    pub(super) async fn fail_task_because(
        &mut self,
        agent: &str,
        task: &Task,
        message: String,
        environment: bool,
    ) {
        self.mark_failed(agent, task, message.clone(), format!("{agent}: {message}"))
            .await;
        let (to, category, details) = if environment {
            (
                Some(Role::Human),
                "adapter_unavailable",
                format!("{agent}'s CLI could not be started; `overlord-tui agents` shows what is installed; set the task back with `/task {} todo` once it is", task.id),
            )
        } else {
            (
                None,
                "task_failed",
                format!("{agent} gave up after its retries; the run logs are in .overlord/logs/agents/{agent}/"),
            )
        };
        self.concern(ConcernDraft {
            from: Some(task.role),
            to,
            severity: Severity::Warning,
            category: category.to_string(),
            summary: format!("{} failed: {message}", task.id),
            details: Some(details),
            task: Some(task.id.clone()),
        })
        .await;
    }
}
