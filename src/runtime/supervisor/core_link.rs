//! Talking to the core: the supervisor's commands (with the `system` origin, or an agent's)
//! and events, and the core's event stream followed so that the supervisor's `state` is the
//! core's (each command waits until its events are folded in).

use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use super::books::Supervisor;
use crate::protocol::model::{AgentState, Impact, Role, Task, TaskStatus};
use crate::protocol::{Command, ConcernDraft, Event, EventKind, HandoffDraft, Origin, Reply};

/// Who the supervisor's own events are from.
pub const ACTOR: &str = "system:supervisor";

pub(super) fn system() -> Origin {
    Origin::System
}

pub(super) fn agent_origin(agent: &str, role: Role) -> Origin {
    Origin::Agent {
        agent: agent.to_string(),
        role: Some(role),
    }
}

impl Supervisor {
    /// Folds one of the core's events into `state` and queues the reaction to it.
    pub(super) async fn fold(&mut self, ev: Event) {
        if ev.seq <= self.state.last_event_seq {
            return;
        }
        if ev.seq > self.state.last_event_seq + 1 {
            // A gap: the snapshot has everything up to now (reactions to the missed events
            // are lost; the tick's scan of the state covers what matters).
            self.resync().await;
            if ev.seq <= self.state.last_event_seq {
                return;
            }
        }
        self.state.apply(&ev);
        self.reactions.push_back(ev);
    }

    pub(super) async fn resync(&mut self) {
        if let Some(s) = self.handle.snapshot().await {
            self.state = s;
        }
    }

    /// Waits until `state` includes event `seq` (the events of a command just submitted),
    /// so that the next decision sees them.
    pub(super) async fn sync(&mut self, seq: u64) {
        let until = Instant::now() + Duration::from_secs(5);
        while self.state.last_event_seq < seq {
            match tokio::time::timeout_at(until.into(), self.events.recv()).await {
                Ok(Ok(ev)) => self.fold(ev).await,
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => self.resync().await,
                Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => {
                    self.resync().await;
                    break;
                }
            }
        }
    }

    pub(super) async fn submit(&mut self, origin: Origin, command: Command) -> Reply {
        let what = command.name();
        let reply = self.handle.submit(origin, command).await;
        if !reply.ok {
            tracing::warn!(command = what, message = %reply.message, "the core refused the supervisor's command");
        }
        if let Some(last) = reply.events.iter().max() {
            self.sync(*last).await;
        }
        reply
    }

    pub(super) async fn emit(&mut self, kinds: Vec<EventKind>) {
        match self.handle.emit(ACTOR, kinds).await {
            Ok(seqs) => {
                if let Some(last) = seqs.iter().max() {
                    self.sync(*last).await;
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot record the supervisor's events"),
        }
    }

    pub(super) async fn set_agent(
        &mut self,
        agent: &str,
        state: AgentState,
        task: Option<&str>,
        detail: Option<String>,
        attempt: Option<u32>,
        until: Option<String>,
    ) {
        let session_id = self.agents.get(agent).and_then(|b| b.session.clone());
        self.emit(vec![EventKind::AgentStateChanged {
            agent: agent.to_string(),
            state,
            task: task.map(str::to_string),
            detail,
            attempt,
            session_id,
            until,
        }])
        .await;
    }

    pub(super) async fn set_task(&mut self, task: &str, status: TaskStatus, note: Option<String>) {
        let current = self
            .state
            .plan
            .as_ref()
            .and_then(|p| p.task(task))
            .map(|t| t.status);
        if current == Some(status) {
            return;
        }
        self.submit(
            system(),
            Command::SetTaskStatus {
                task: task.to_string(),
                status,
                note,
            },
        )
        .await;
    }

    pub(super) async fn concern(&mut self, draft: ConcernDraft) {
        self.submit(system(), Command::RaiseConcern(draft)).await;
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn handoff(
        &mut self,
        origin: Origin,
        from: Role,
        to: Role,
        purpose: &str,
        summary: String,
        outputs: Vec<String>,
        status: &str,
        task: Option<&str>,
    ) {
        self.submit(
            origin,
            Command::RecordHandoff(HandoffDraft {
                from,
                to,
                purpose: purpose.to_string(),
                summary,
                inputs: Vec::new(),
                outputs,
                impact: Some(Impact::Low),
                status: Some(status.to_string()),
                task: task.map(str::to_string),
            }),
        )
        .await;
    }

    pub(super) fn task(&self, id: &str) -> Option<Task> {
        self.state.plan.as_ref().and_then(|p| p.task(id)).cloned()
    }

    pub(super) fn phase_of(&self, id: &str) -> Option<String> {
        self.state
            .plan
            .as_ref()?
            .phases
            .iter()
            .find(|p| p.tasks.iter().any(|t| t.id == id))
            .map(|p| p.id.clone())
    }
}
