//! Budgets: spending (tokens, USD) counted against the task's budget (`[agents]
//! task_budget_*`, times its allowance) and the role's (`[roles.<role>] budget_*`); past one,
//! the agent is paused and the human told. Resuming it doubles the task's allowance.

use super::books::Supervisor;
use crate::protocol::model::{Role, Severity};
use crate::protocol::{ConcernDraft, EventKind};

impl Supervisor {
    /// What the role's agents spent: recorded, plus the activity not yet flushed.
    pub(super) fn role_spent(&self, role: Role) -> (u64, f64) {
        let mut tokens = 0;
        let mut cost = 0.0;
        for a in self.state.agents.values().filter(|a| a.role == role) {
            tokens += a.tokens;
            cost += a.cost_micros as f64 / 1e6;
            if let Some(b) = self.agents.get(&a.id) {
                tokens += b.tokens;
                cost += b.cost;
            }
        }
        (tokens, cost)
    }

    /// Whether the role is past its `[roles.<role>]` token or USD budget.
    pub(super) fn role_over_budget(&self, role: Role) -> bool {
        let rc = self.config.roles.get(role);
        let (tokens, cost) = self.role_spent(role);
        (rc.budget_tokens > 0 && tokens >= rc.budget_tokens)
            || (rc.budget_usd > 0.0 && cost >= rc.budget_usd)
    }

    /// Counts spending against the task's and the role's budgets; past one, the agent is
    /// paused and the human told.
    pub(super) async fn charge(&mut self, agent: &str, task: &str, (tokens, cost): (u64, f64)) {
        let cfg = &self.config.agents;
        let book = self.tasks.entry(task.to_string()).or_default();
        book.tokens += tokens;
        book.cost += cost;
        let allowance = book.allowance.max(1.0);
        let mut over = None;
        if cfg.task_budget_tokens > 0
            && book.tokens as f64 > cfg.task_budget_tokens as f64 * allowance
        {
            over = Some(format!(
                "task {task} spent {} tokens (budget {})",
                book.tokens,
                (cfg.task_budget_tokens as f64 * allowance) as u64
            ));
        } else if cfg.task_budget_usd > 0.0 && book.cost > cfg.task_budget_usd * allowance {
            over = Some(format!(
                "task {task} spent ${:.4} (budget ${:.4})",
                book.cost,
                cfg.task_budget_usd * allowance
            ));
        }
        let role = self
            .state
            .agents
            .get(agent)
            .map(|a| a.role)
            .unwrap_or(Role::Implementer);
        if over.is_none() && self.role_over_budget(role) {
            let (t, c) = self.role_spent(role);
            over = Some(format!(
                "the {role} role spent {t} tokens and ${c:.4}, past its budget"
            ));
        }
        let Some(why) = over else { return };
        let already = self.agents.get(agent).is_some_and(|b| b.budget_paused)
            || self.state.agents.get(agent).is_some_and(|a| a.paused);
        if already {
            return;
        }
        self.agents
            .entry(agent.to_string())
            .or_default()
            .budget_paused = true;
        self.emit(vec![EventKind::AgentPaused {
            agent: agent.to_string(),
        }])
        .await;
        self.suspend_run(agent);
        self.concern(ConcernDraft {
            from: Some(role),
            to: Some(Role::Human),
            severity: Severity::Warning,
            category: "budget_exceeded".to_string(),
            summary: format!("{agent} paused: {why}"),
            details: Some(format!("/resume {agent} lets it go on (its task's budget doubles); /assign or /reject to change course")),
            task: Some(task.to_string()),
        })
        .await;
    }
}
