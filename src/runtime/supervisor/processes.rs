//! The agents' CLI processes as the store records them (`AgentProcessStarted` right after the
//! spawn, `AgentProcessEnded` once the run and everything it started have stopped): at start,
//! what a crashed owner (kill -9) left running is stopped before anything is dispatched again;
//! and no run starts on a task or in a worktree that a live recorded process still holds.

use std::path::Path;
use std::time::{Duration, Instant};

use super::books::Supervisor;
use super::core_link::ACTOR;
use crate::core::Handle;
use crate::protocol::model::{AgentProcess, AgentState, Role, Severity, Task};
use crate::protocol::{Command, ConcernDraft, EventKind, Origin};
use crate::runtime::process::{RunEnd, Spawned};
use crate::runtime::tree;

/// What a run records of its CLI process: where the events go, and the task and worktree the
/// process works on.
pub(super) struct ProcessRecord {
    pub(super) handle: Handle,
    pub(super) agent: String,
    pub(super) task: Option<String>,
    pub(super) worktree: String,
}

impl ProcessRecord {
    /// The CLI was spawned: recorded at once (the socket's identity check and a restart
    /// after a crash read it).
    pub(super) async fn started(&self, sp: Spawned) {
        let process = AgentProcess {
            pid: sp.pid,
            start_ticks: sp.start_ticks,
            task: self.task.clone(),
            worktree: Some(self.worktree.clone()),
        };
        let ev = EventKind::AgentProcessStarted {
            agent: self.agent.clone(),
            process,
        };
        if let Err(e) = self.handle.emit(ACTOR, vec![ev]).await {
            tracing::error!(agent = %self.agent, error = %e, "cannot record the agent's process");
        }
    }

    /// The run has ended and everything it started is stopped.
    pub(super) async fn ended(&self, pid: u32) {
        let ev = EventKind::AgentProcessEnded {
            agent: self.agent.clone(),
            pid,
        };
        if let Err(e) = self.handle.emit(ACTOR, vec![ev]).await {
            tracing::error!(agent = %self.agent, error = %e, "cannot record the end of the agent's process");
        }
    }
}

/// How long a task held by a live process first waits before dispatch looks again (doubling
/// while it stays held, up to a minute).
const HELD_RETRY: Duration = Duration::from_secs(1);

/// How a leftover of the previous owner ended up.
enum Leftover {
    /// Nothing of it ran any more.
    Gone,
    /// It ran and was stopped.
    Stopped,
    /// It ran and could not be stopped (SIGKILL did not end it in time).
    Stuck,
}

impl Supervisor {
    /// At start, before any dispatch: every agent process the store still records was started
    /// by an owner that did not see it end (it was killed). What of it still runs (the same pid
    /// with the same start time, or members of its group, and their descendants) is stopped,
    /// SIGTERM then SIGKILL after the grace period; then its end is recorded. One that cannot
    /// be stopped stays recorded (dispatch will not start a run on its task or worktree) and
    /// the human is told.
    pub(super) async fn stop_leftovers(&mut self) -> Vec<String> {
        let recorded: Vec<(String, AgentProcess)> = self
            .state
            .agents
            .values()
            .filter_map(|a| a.process.clone().map(|p| (a.id.clone(), p)))
            .collect();
        if recorded.is_empty() {
            return Vec::new();
        }
        let grace = Duration::from_secs(self.config.agents.cancel_grace_secs.max(1));
        // All at once: n leftovers cost one grace period, not n.
        let stops: Vec<_> = recorded
            .iter()
            .map(|(_, p)| {
                let (pid, start) = (p.pid, p.start_ticks);
                tokio::spawn(async move {
                    let Some(mut t) = tree::leftover(pid, start) else {
                        return Leftover::Gone;
                    };
                    if t.stop(grace).await {
                        Leftover::Stopped
                    } else {
                        Leftover::Stuck
                    }
                })
            })
            .collect();
        let mut stopped = Vec::new();
        for ((agent, p), stop) in recorded.into_iter().zip(stops) {
            let outcome = stop.await.unwrap_or(Leftover::Stuck);
            let role = self.state.agents.get(&agent).map(|a| a.role);
            let task = p.task.clone();
            match outcome {
                Leftover::Gone => {
                    self.emit(vec![EventKind::AgentProcessEnded {
                        agent: agent.clone(),
                        pid: p.pid,
                    }])
                    .await;
                }
                Leftover::Stopped => {
                    tracing::warn!(
                        agent,
                        pid = p.pid,
                        "stopped an agent process the previous owner left running"
                    );
                    self.emit(vec![EventKind::AgentProcessEnded {
                        agent: agent.clone(),
                        pid: p.pid,
                    }])
                    .await;
                    self.leftover_concern(&agent, role, &p, task, Severity::Warning, "was still running after the previous overlord-tui ended without stopping it; Overlord stopped it (and everything it had started) before dispatching again").await;
                    stopped.push(agent);
                }
                Leftover::Stuck => {
                    self.leftover_concern(&agent, role, &p, task, Severity::Critical, "was still running after the previous overlord-tui ended without stopping it, and could not be stopped (not even by SIGKILL); no agent starts on its task or in its worktree while it runs").await;
                }
            }
        }
        stopped
    }

    async fn leftover_concern(
        &mut self,
        agent: &str,
        role: Option<Role>,
        p: &AgentProcess,
        task: Option<String>,
        severity: Severity,
        what: &str,
    ) {
        self.concern(ConcernDraft {
            from: role,
            to: Some(Role::Human),
            severity,
            category: "orphan_processes".to_string(),
            summary: format!("{agent}'s CLI (pid {}) {what}", p.pid),
            details: p.worktree.as_ref().map(|w| format!("it worked in {w}")),
            task,
        })
        .await;
    }

    /// A live process the store records on `task` or in `workdir` (another run's, or one a
    /// previous owner left): the agent it belongs to and its pid. A run must not start then.
    pub(super) fn held_by(&self, task: &str, workdir: &Path) -> Option<(String, AgentProcess)> {
        let wt = workdir.display().to_string();
        self.state.agents.values().find_map(|a| {
            let p = a.process.as_ref()?;
            let same_task = !task.is_empty() && p.task.as_deref() == Some(task);
            let same_tree = p.worktree.as_deref() == Some(wt.as_str());
            ((same_task || same_tree) && tree::leftover(p.pid, p.start_ticks).is_some())
                .then(|| (a.id.clone(), p.clone()))
        })
    }

    /// A process that holds a task or worktree and is no current run of ours (`starting` is
    /// the agent whose run it held back, which has no other run): a leftover that escaped the
    /// start's check. It is stopped off the loop and its end recorded.
    pub(super) fn stop_stray(&self, agent: &str, p: &AgentProcess, starting: &str) {
        if agent != starting && self.runs.contains_key(agent) {
            return;
        }
        let grace = Duration::from_secs(self.config.agents.cancel_grace_secs.max(1));
        let record = ProcessRecord {
            handle: self.handle.clone(),
            agent: agent.to_string(),
            task: p.task.clone(),
            worktree: p.worktree.clone().unwrap_or_default(),
        };
        let (pid, start) = (p.pid, p.start_ticks);
        let role = self.state.agents.get(agent).map(|a| a.role);
        tokio::spawn(async move {
            let Some(mut t) = tree::leftover(pid, start) else {
                record.ended(pid).await;
                return;
            };
            let stopped = t.stop(grace).await;
            if stopped {
                record.ended(pid).await;
            }
            let what = if stopped {
                "Overlord stopped it"
            } else {
                "it could not be stopped (not even by SIGKILL); the task waits while it runs"
            };
            let draft = ConcernDraft {
                from: role,
                to: Some(Role::Human),
                severity: if stopped {
                    Severity::Warning
                } else {
                    Severity::Critical
                },
                category: "orphan_processes".to_string(),
                summary: format!(
                    "{}'s CLI (pid {pid}) from an earlier run still held its task or worktree when a new run was due; {what}",
                    record.agent
                ),
                details: Some(format!("it worked in {}", record.worktree)),
                task: record.task.clone(),
            };
            record
                .handle
                .submit(Origin::System, Command::RaiseConcern(draft))
                .await;
        });
    }

    /// A task's run did not start because a live process holds its task or worktree (being
    /// stopped meanwhile): the task waits and is tried again shortly; this is no failed
    /// attempt.
    pub(super) async fn held_back(&mut self, agent: &str, task: &Task, end: &RunEnd) {
        let why = end.describe();
        let book = self.tasks.entry(task.id.clone()).or_default();
        book.runs = book.runs.saturating_sub(1);
        let wait = (HELD_RETRY * (1 << book.held.min(6))).min(Duration::from_secs(60));
        book.held += 1;
        book.retry_at = Some(Instant::now() + wait);
        self.set_agent(
            agent,
            AgentState::Waiting,
            Some(&task.id),
            Some(format!("{why}; trying again shortly")),
            None,
            None,
        )
        .await;
        self.requeue(task, &why).await;
    }
}
