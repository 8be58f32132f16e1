//! Reactions to the core's events: a task set back to todo by hand starts afresh, a pause or
//! a halt suspends runs, a resume continues them (a budget pause doubles the task's
//! allowance), a clarification or an assignment becomes a turn the agent owes, and `/assign`
//! redirects a running task. The human's review decisions go to `review`; every change marks
//! the documents for rewriting.

use super::books::{Purpose, StopReason, Supervisor};
use crate::protocol::model::TaskStatus;
use crate::protocol::{Event, EventKind, Origin};
use crate::runtime::process::Control;

impl Supervisor {
    /// The reaction to one of the core's events (already folded into `state`).
    pub(super) async fn react(&mut self, ev: &Event) {
        self.start_afresh_if_set_back(ev);
        self.note_work(&ev.kind);
        if let EventKind::ConcernRaised { concern } = &ev.kind {
            self.on_conflict(concern).await;
        }
        if let EventKind::ConcernResolved { id, note } = &ev.kind {
            self.on_permission_answered(ev, *id, note.as_deref());
        }
        match &ev.kind {
            EventKind::HandoffRecorded { .. }
            | EventKind::TaskStatusChanged { .. }
            | EventKind::TaskAdded { .. }
            | EventKind::VariationProposed { .. }
            | EventKind::ConcernRaised { .. }
            | EventKind::ConcernResolved { .. }
            | EventKind::CheckpointCreated { .. }
            | EventKind::PlanImported { .. }
            | EventKind::QaRunRecorded { .. } => self.docs_dirty = true,
            EventKind::ApprovalDecided {
                id, decision, note, ..
            } => {
                self.docs_dirty = true;
                self.on_review_decided(id, *decision, note.as_ref()).await;
            }
            EventKind::AgentPaused { agent } => self.suspend_run(agent),
            EventKind::DispatchHalted { .. } => {
                let ids: Vec<String> = self.runs.keys().cloned().collect();
                for id in ids {
                    self.suspend_run(&id);
                }
            }
            EventKind::AgentResumed { agent } => self.resume_agent(agent),
            EventKind::DispatchResumed => {
                let ids: Vec<String> = self.runs.keys().cloned().collect();
                for id in ids {
                    self.resume_agent(&id);
                }
            }
            EventKind::ClarificationRequested { clarification } => {
                self.owe_turn(&clarification.agent, Purpose::Clarify(clarification.id))
            }
            EventKind::WorkAssigned { agent, text } => self.on_work_assigned(agent, text),
            EventKind::PlanRequested { goal } => self.run_planner(goal),
            _ => {}
        }
    }

    /// A task someone set back to todo by hand starts afresh: no failures, no rate limits, the
    /// role's own adapter.
    fn start_afresh_if_set_back(&mut self, ev: &Event) {
        if let EventKind::TaskStatusChanged {
            task,
            status: TaskStatus::Todo,
            ..
        } = &ev.kind
        {
            if ev.actor != Origin::System.actor() {
                // Someone set the task back by hand (`/task T todo` after fixing what made it
                // fail): it starts afresh.
                if let Some(book) = self.tasks.get_mut(task) {
                    book.failures = 0;
                    book.rate_limits = 0;
                    book.retry_at = None;
                    book.adapter = None;
                    book.tried_adapters.clear();
                }
            }
        }
    }

    /// SIGSTOP for the agent's run, if it has one running.
    pub(super) fn suspend_run(&mut self, agent: &str) {
        if let Some(slot) = self.runs.get_mut(agent) {
            if !slot.suspended {
                let _ = slot.control.send(Control::Suspend);
                slot.suspended = true;
            }
        }
    }

    /// A turn the agent owes once it is idle (a clarification, an assignment).
    fn owe_turn(&mut self, agent: &str, purpose: Purpose) {
        self.agents
            .entry(agent.to_string())
            .or_default()
            .pending_turns
            .push_back(purpose);
    }

    /// `/assign`: a running task is stopped and runs again with the new instructions; an
    /// agent without a running task owes a turn for them.
    fn on_work_assigned(&mut self, agent: &str, text: &str) {
        let running_task = self.runs.get(agent).and_then(|s| match &s.purpose {
            Purpose::Task(t) => Some(t.clone()),
            _ => None,
        });
        match running_task {
            Some(_) => {
                if let Some(slot) = self.runs.get_mut(agent) {
                    slot.stop = Some(StopReason::Redirect(text.to_string()));
                    let _ = slot.control.send(Control::Cancel);
                }
            }
            None => self.owe_turn(agent, Purpose::Assign(text.to_string())),
        }
    }

    /// SIGCONT for the agent's run once the agent is no longer paused; a budget pause the human
    /// lifted doubles its task's allowance.
    pub(super) fn resume_agent(&mut self, agent: &str) {
        let still_paused = self.state.agents.get(agent).is_none_or(|a| a.paused);
        if still_paused {
            return;
        }
        if let Some(book) = self.agents.get_mut(agent) {
            if book.budget_paused {
                book.budget_paused = false;
                // The human let it go on: the budget doubles for its task.
                if let Some(Purpose::Task(t)) = self.runs.get(agent).map(|s| s.purpose.clone()) {
                    let tb = self.tasks.entry(t).or_default();
                    tb.allowance = tb.allowance.max(1.0) * 2.0;
                }
            }
        }
        if let Some(slot) = self.runs.get_mut(agent) {
            if slot.suspended {
                let _ = slot.control.send(Control::Resume);
                slot.suspended = false;
            }
        }
    }
}
