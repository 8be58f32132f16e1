//! The clock: every tick the coalesced activity is flushed, unacknowledged concerns are
//! escalated, silent runs are marked stalled, the documents are rewritten when something
//! changed, then (unless dispatch is frozen) owed turns, the initiation and dispatch.

use std::time::{Duration, Instant};

use super::books::Supervisor;
use crate::core::parse_stamp;
use crate::protocol::model::{AgentState, ConcernStatus, Role};
use crate::protocol::EventKind;

impl Supervisor {
    /// One tick of the clock.
    pub(super) async fn on_tick(&mut self) {
        if self.last_flush.elapsed() >= Duration::from_millis(self.config.agents.flush_ms.max(50)) {
            self.flush().await;
        }
        self.escalate().await;
        self.watch_stalls().await;
        self.watch_reach().await;
        if self.docs_dirty {
            self.write_documents();
        }
        self.integrate_finished().await;
        if self.state.dispatch_frozen() {
            return;
        }
        // `[agents] sandbox = "enforce"` without Landlock: no agent starts (the human is told).
        let held = self.sandbox_holds().await;
        if !held {
            self.pending_turns().await;
        }
        self.initiate().await;
        if !held {
            self.dispatch().await;
        }
    }

    /// A run that printed nothing for `[agents] stall_secs` is marked stalled (its detail), and
    /// unmarked when it speaks again.
    pub(super) async fn watch_stalls(&mut self) {
        let limit = Duration::from_secs(self.config.agents.stall_secs.max(1));
        let mut changed = Vec::new();
        for (agent, slot) in self.runs.iter_mut() {
            if slot.suspended {
                // Paused: not stalled, and the pause does not count.
                slot.last_output = Instant::now();
                continue;
            }
            let quiet = slot.last_output.elapsed();
            // Waiting on the model API's retries (its detail says so) is not a stall.
            if !slot.stalled && !slot.retrying && quiet >= limit {
                slot.stalled = true;
                changed.push((
                    agent.clone(),
                    Some(format!("stalled: no output for {}s", quiet.as_secs())),
                ));
            }
        }
        for (agent, detail) in changed {
            let task = self.state.agents.get(&agent).and_then(|a| a.task.clone());
            self.set_agent(
                &agent,
                AgentState::Running,
                task.as_deref(),
                detail,
                None,
                None,
            )
            .await;
        }
    }

    /// Writes the agents' coalesced activity as one transaction.
    pub(super) async fn flush(&mut self) {
        self.last_flush = Instant::now();
        let mut kinds = Vec::new();
        for (id, b) in self.agents.iter_mut() {
            if b.events == 0 && b.new_session.is_none() && b.last_output.is_none() {
                continue;
            }
            if !self.state.agents.contains_key(id) {
                continue;
            }
            kinds.push(EventKind::AgentActivity {
                agent: id.clone(),
                events: b.events,
                tokens: b.tokens,
                cost_micros: (b.cost * 1_000_000.0).round().max(0.0) as u64,
                last_output: b.last_output.take(),
                files: std::mem::take(&mut b.files),
                session_id: b.new_session.take(),
            });
            b.events = 0;
            b.tokens = 0;
            b.cost = 0.0;
        }
        self.emit(kinds).await;
    }

    /// A concern not acknowledged within `escalate_after_secs` goes one role up.
    pub(super) async fn escalate(&mut self) {
        let after = self.config.agents.escalate_after_secs;
        if after == 0 {
            return;
        }
        let now = time::OffsetDateTime::now_utc();
        let mut kinds = Vec::new();
        for c in self.state.open_concerns() {
            if c.status != ConcernStatus::Open || c.to == Role::Human {
                continue;
            }
            let since = c.escalated_at.as_deref().unwrap_or(&c.timestamp);
            let Some(t) = parse_stamp(since) else {
                continue;
            };
            if (now - t).whole_seconds() >= after as i64 {
                kinds.push(EventKind::ConcernEscalated {
                    id: c.id,
                    to: c.to.escalates_to(),
                    reason: format!("not acknowledged by the {} within {after}s", c.to),
                });
            }
        }
        self.emit(kinds).await;
    }
}
