//! Dispatch: the tasks that may start (dependencies done, not waiting for a retry), an agent
//! of the role on its adapter for each (the previous owner, an idle one, or a new one), up to
//! `[agents] concurrency`; and the turns idle agents owe (clarifications, assignments).

use std::path::PathBuf;
use std::time::Instant;

use super::books::{Purpose, Supervisor};
use super::core_link::system;
use crate::protocol::model::{Agent, AgentState, Role, Severity, Task, TaskStatus};
use crate::protocol::{Command, ConcernDraft};

impl Supervisor {
    pub(super) fn adapter_for(&self, task: &Task) -> String {
        self.tasks
            .get(&task.id)
            .and_then(|b| b.adapter.clone())
            .unwrap_or_else(|| self.config.roles.get(task.role).adapter.clone())
    }

    pub(super) fn busy(&self, agent: &str) -> bool {
        self.runs.contains_key(agent)
            || self
                .agents
                .get(agent)
                .is_some_and(|b| !b.pending_turns.is_empty())
    }

    pub(super) fn task_runs(&self) -> usize {
        self.runs
            .values()
            .filter(|s| matches!(s.purpose, Purpose::Task(_)))
            .count()
            + self
                .tasks
                .values()
                .filter(|b| b.preparing || b.checking)
                .count()
    }

    /// Tasks that may start now, in plan order.
    pub(super) fn ready(&self) -> Vec<Task> {
        let Some(plan) = &self.state.plan else {
            return Vec::new();
        };
        let now = Instant::now();
        let running: Vec<&String> = self
            .runs
            .values()
            .filter_map(|s| match &s.purpose {
                Purpose::Task(t) => Some(t),
                _ => None,
            })
            .collect();
        plan.tasks()
            .filter(|t| t.status == TaskStatus::Todo)
            // A task of a re-imported plan waits for the plan's new approval.
            .filter(|t| self.state.approved_tasks.contains(&t.id))
            .filter(|t| !running.contains(&&t.id))
            .filter(|t| {
                self.tasks.get(&t.id).is_none_or(|b| {
                    !b.preparing && !b.checking && b.retry_at.is_none_or(|r| r <= now)
                })
            })
            .filter(|t| {
                t.dependencies
                    .iter()
                    .all(|d| plan.task(d).is_some_and(|d| d.status == TaskStatus::Done))
            })
            .cloned()
            .collect()
    }

    /// Starts the ready tasks, up to `[agents] concurrency`: a task whose adapter is not
    /// configured raises a concern once; a role past its budget waits.
    pub(super) async fn dispatch(&mut self) {
        if !self.plan_approved() {
            return;
        }
        let limit = self.config.agents.concurrency.max(1);
        for task in self.ready() {
            if self.task_runs() >= limit {
                break;
            }
            let adapter = self.adapter_for(&task);
            if !self.adapters.contains_key(&adapter) {
                let msg = format!(
                    "the {} role's adapter '{adapter}' is not configured (known: {})",
                    task.role,
                    self.adapters.keys().cloned().collect::<Vec<_>>().join(", ")
                );
                if !self.warned.contains(&msg) {
                    self.warned.push(msg.clone());
                    self.concern(ConcernDraft {
                        from: Some(Role::ProjectManager),
                        to: Some(Role::Human),
                        severity: Severity::Warning,
                        category: "adapter_unavailable".to_string(),
                        summary: msg.clone(),
                        details: Some("set [roles.<role>] adapter in .overlord/config.toml".into()),
                        task: Some(task.id.clone()),
                    })
                    .await;
                }
                continue;
            }
            if self.role_over_budget(task.role) {
                continue;
            }
            // A retry goes to the agent that had the task (its session continues).
            let previous = task
                .owner
                .clone()
                .filter(|o| {
                    self.state.agents.get(o).is_some_and(|a| {
                        a.adapter == adapter
                            && !a.paused
                            && a.state != AgentState::Running
                            && a.task.as_deref().is_none_or(|t| t == task.id)
                    })
                })
                .filter(|o| !self.busy(o));
            let agent = match previous {
                Some(a) => a,
                None => match self.pick_agent(task.role, &adapter).await {
                    Some(a) => a,
                    None => continue,
                },
            };
            self.prepare(agent, task).await;
        }
    }

    /// An idle agent of the role on that adapter, or a new one.
    pub(super) async fn pick_agent(&mut self, role: Role, adapter: &str) -> Option<String> {
        let idle = self
            .state
            .agents
            .values()
            .filter(|a| a.role == role && a.adapter == adapter && !a.paused)
            .filter(|a| {
                matches!(
                    a.state,
                    AgentState::Idle | AgentState::Done | AgentState::Failed
                )
            })
            .map(|a| a.id.clone())
            .find(|id| !self.busy(id));
        if let Some(id) = idle {
            return Some(id);
        }
        let mut n = self
            .state
            .agents
            .values()
            .filter(|a| a.role == role)
            .count()
            + 1;
        let id = loop {
            let candidate = if adapter == self.config.roles.get(role).adapter {
                format!("{role}-{n}")
            } else {
                format!("{role}-{adapter}-{n}")
            };
            if !self.state.agents.contains_key(&candidate) {
                break candidate;
            }
            n += 1;
        };
        let reply = self
            .submit(
                system(),
                Command::RegisterAgent {
                    id: id.clone(),
                    role,
                    adapter: Some(adapter.to_string()),
                    task: None,
                },
            )
            .await;
        if !reply.ok {
            return None;
        }
        // The registration's event may not have reached us yet.
        if !self.state.agents.contains_key(&id) {
            let mut a = Agent::new(&id, role, adapter, &crate::core::now());
            a.paused = self.state.dispatch_halted;
            self.state.agents.insert(id.clone(), a);
        }
        Some(id)
    }

    /// Turns the idle agents owe (clarifications, assignments).
    pub(super) async fn pending_turns(&mut self) {
        let ids: Vec<String> = self
            .agents
            .iter()
            .filter(|(id, b)| !b.pending_turns.is_empty() && !self.runs.contains_key(*id))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            let Some(agent) = self.state.agents.get(&id).cloned() else {
                continue;
            };
            if agent.paused {
                continue;
            }
            if !self.adapters.contains_key(&agent.adapter) {
                // Not one of ours (registered by hand with `/agent`, or its adapter was
                // removed from the configuration): it answers for itself (`/answer`).
                if let Some(b) = self.agents.get_mut(&id) {
                    b.pending_turns.clear();
                }
                continue;
            }
            // A task being prepared for this agent goes first.
            if agent.state == AgentState::Running && agent.task.is_some() {
                continue;
            }
            let Some(purpose) = self
                .agents
                .get_mut(&id)
                .and_then(|b| b.pending_turns.pop_front())
            else {
                continue;
            };
            let (prompt, dir) = match &purpose {
                Purpose::Clarify(q) => {
                    let Some(c) = self.state.clarifications.get(q) else {
                        continue;
                    };
                    if c.answer.is_some() {
                        continue;
                    }
                    (c.question.clone(), self.scratch_dir(&id))
                }
                Purpose::Assign(text) => (
                    format!("New instructions from the human governor:\n\n{text}"),
                    self.scratch_dir(&id),
                ),
                Purpose::Task(_) => continue,
            };
            let resume = self.agents.get(&id).and_then(|b| b.session.clone());
            let state = match purpose {
                Purpose::Clarify(_) => "answering a clarification",
                _ => "working on an assignment",
            };
            self.set_agent(
                &id,
                AgentState::Running,
                agent.task.as_deref(),
                Some(state.into()),
                None,
                None,
            )
            .await;
            self.start_run(
                &id,
                &agent.adapter,
                agent.role,
                purpose,
                &prompt,
                resume,
                dir,
                0,
                None,
            )
            .await;
        }
    }

    pub(super) fn scratch_dir(&self, agent: &str) -> PathBuf {
        if let Some(p) = self.agents.get(agent).and_then(|b| b.last_worktree.clone()) {
            if p.is_dir() {
                return p;
            }
        }
        let p = self.ws.dir.join("agents").join(agent);
        let _ = std::fs::create_dir_all(&p);
        p
    }
}
