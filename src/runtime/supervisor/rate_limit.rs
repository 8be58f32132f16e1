//! Rate limits and the fallback adapters: a rate-limited run pauses the agent with a
//! countdown and the task is retried; past `rate_limit_retries`, or on a quota or credentials
//! error, the task is handed over to the next `[agents] fallback` adapter in the same
//! worktree; with none left, a rate limit fails the task and an account error blocks it, and
//! either way a concern tells the human (never the ordinary backoff retries on top).

use std::time::{Duration, Instant};

use super::books::Supervisor;
use super::core_link::system;
use crate::core::stamp;
use crate::protocol::model::{AgentState, Role, Severity, Task, TaskStatus};
use crate::protocol::ConcernDraft;

impl Supervisor {
    /// A rate-limited run: the agent waits out the limit (the CLI's `retry after`, else
    /// `rate_limit_pause_secs`) with a countdown and the task runs again, up to
    /// `rate_limit_retries` times; then the task goes to a fallback adapter, or, with none
    /// left, fails with a concern to the human.
    pub(super) async fn on_rate_limit(
        &mut self,
        agent: &str,
        task: &Task,
        message: &str,
        retry_after_ms: Option<u64>,
    ) {
        let cfg = self.config.agents.clone();
        let book = self.tasks.entry(task.id.clone()).or_default();
        book.rate_limits += 1;
        if book.rate_limits <= cfg.rate_limit_retries {
            let wait = retry_after_ms
                .map(Duration::from_millis)
                .unwrap_or(Duration::from_secs(cfg.rate_limit_pause_secs));
            book.retry_at = Some(Instant::now() + wait);
            let until = stamp(time::OffsetDateTime::now_utc() + wait);
            let pause = book.rate_limits;
            self.set_agent(
                agent,
                AgentState::RateLimited,
                Some(&task.id),
                // The countdown is computed from `until` wherever it is shown.
                Some(format!(
                    "rate-limited ({message}); pause {pause} of {}",
                    cfg.rate_limit_retries
                )),
                None,
                Some(until),
            )
            .await;
            self.requeue(task, "rate-limited: waiting to retry").await;
            return;
        }
        if self.hand_over(agent, task, message).await {
            return;
        }
        let pauses = cfg.rate_limit_retries;
        self.mark_failed(
            agent,
            task,
            format!("still rate-limited after {pauses} pauses: {message}"),
            format!(
                "{agent}: still rate-limited after {pauses} pauses, no fallback adapter: {message}"
            ),
        )
        .await;
        self.concern(ConcernDraft {
            from: Some(task.role),
            to: Some(Role::Human),
            severity: Severity::Warning,
            category: "rate_limited".to_string(),
            summary: format!(
                "{} failed: {agent} is still rate-limited after {pauses} pauses and no fallback adapter is left ({message})",
                task.id
            ),
            details: Some(format!(
                "set `[agents] fallback` to another adapter, or raise `rate_limit_retries` / `rate_limit_pause_secs`; `/task {} todo` runs it again",
                task.id
            )),
            task: Some(task.id.clone()),
        })
        .await;
    }

    /// A quota, billing or credentials error: waiting will not clear it, so the task goes to a
    /// fallback adapter, or is blocked and the human told.
    pub(super) async fn on_account_error(&mut self, agent: &str, task: &Task, message: &str) {
        if self.hand_over(agent, task, message).await {
            return;
        }
        self.set_agent(
            agent,
            AgentState::Failed,
            Some(&task.id),
            Some(message.to_string()),
            None,
            None,
        )
        .await;
        self.set_task(
            &task.id,
            TaskStatus::Blocked,
            Some(format!("{agent}: {message}")),
        )
        .await;
        self.concern(ConcernDraft {
            from: Some(task.role),
            to: Some(Role::Human),
            severity: Severity::Critical,
            category: "adapter_unavailable".to_string(),
            summary: format!("{} cannot run {}: {message}", agent, task.id),
            details: Some("waiting will not clear a quota, billing or credentials error: fix the account or set another adapter for the role".into()),
            task: Some(task.id.clone()),
        })
        .await;
    }

    /// Hands the task to the next configured fallback adapter, in the same worktree.
    pub(super) async fn hand_over(&mut self, agent: &str, task: &Task, why: &str) -> bool {
        let current = self
            .runs
            .get(agent)
            .map(|s| s.adapter.clone())
            .or_else(|| self.state.agents.get(agent).map(|a| a.adapter.clone()))
            .unwrap_or_default();
        let book = self.tasks.entry(task.id.clone()).or_default();
        if !book.tried_adapters.contains(&current) {
            book.tried_adapters.push(current.clone());
        }
        let next = self
            .config
            .agents
            .fallback
            .iter()
            .find(|a| !book.tried_adapters.contains(a) && self.adapters.contains_key(*a))
            .cloned();
        let Some(next) = next else { return false };
        book.adapter = Some(next.clone());
        book.rate_limits = 0;
        book.failures = 0;
        book.retry_at = None;
        book.feedback = Some(format!(
            "You take over this task from another agent ({current}), which stopped: {why}. Its work so far is in this worktree."
        ));
        self.set_agent(
            agent,
            AgentState::Idle,
            None,
            Some(format!("handed {} over to {next}: {why}", task.id)),
            None,
            None,
        )
        .await;
        self.handoff(
            system(),
            task.role,
            task.role,
            &format!("hand-over to adapter {next}"),
            format!("{agent} ({current}) stopped on {}: {why}", task.id),
            Vec::new(),
            "completed",
            Some(&task.id),
        )
        .await;
        self.requeue(task, &format!("handed over to {next}")).await;
        true
    }
}
