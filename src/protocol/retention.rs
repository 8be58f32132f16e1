//! What the live state keeps of finished things: every open concern, pending approval,
//! undecided variation and unanswered question, but only the most recent of the finished ones
//! (resolved concerns, decided approvals and variations, answered questions, recorded QA
//! runs, hand-offs beyond the current plan's), and the runs' telemetry of the current plan's
//! tasks only. Older finished items leave the state as the event that finishes the next one is
//! folded in — a pure rule of the events, so a replay and a snapshot agree — and stay in the
//! audit trail, where the store's item index finds them (`overlord-tui history`,
//! `status --json --all`, the console's resolved filter). A year of work keeps the state, and
//! so every process's start-up, the size of a fresh one.

use super::model::{Approval, ApprovalKind, ConcernStatus};
use super::state::State;
use super::EventKind;

/// How many resolved concerns the state keeps (the most recently resolved).
pub const RESOLVED_CONCERNS: usize = 200;
/// How many decided approvals the state keeps besides the current plan's.
pub const DECIDED_APPROVALS: usize = 200;
/// How many decided variations the state keeps.
pub const DECIDED_VARIATIONS: usize = 200;
/// How many answered questions to agents the state keeps.
pub const ANSWERED_CLARIFICATIONS: usize = 200;
/// How many recorded QA runs the state keeps (the newest).
pub const QA_RUNS: usize = 50;
/// How many hand-offs the state keeps besides those of the current plan (its initiation and
/// its tasks'): the newest.
pub const HANDOFFS: usize = 200;

impl State {
    /// Lets the oldest finished items go once the event that finishes one is folded in.
    pub(super) fn retire_after(&mut self, kind: &EventKind) {
        match kind {
            EventKind::ConcernResolved { .. } => self.retire_concerns(),
            EventKind::ApprovalDecided { .. } => {
                self.retire_approvals();
                self.retire_variations();
            }
            EventKind::ClarificationAnswered { .. } => self.retire_clarifications(),
            // What each task's runs did is kept for the plan's tasks: a new plan lets the
            // others go (the runs stay in the trail, and in the metrics).
            EventKind::PlanImported { plan } => {
                let tasks: std::collections::BTreeSet<&str> =
                    plan.tasks().map(|t| t.id.as_str()).collect();
                self.task_telemetry
                    .retain(|task, _| tasks.contains(task.as_str()));
                self.retire_handoffs();
            }
            EventKind::HandoffRecorded { .. } => self.retire_handoffs(),
            EventKind::QaRunRecorded { .. } => {
                let extra = self.qa_runs.len().saturating_sub(QA_RUNS);
                self.qa_runs.drain(..extra);
            }
            _ => {}
        }
    }

    /// The newest hand-offs, and every one of the current plan: its initiation (which the
    /// supervisor looks for so as not to initiate twice) and its tasks' (the QA gate weighs
    /// their impact).
    fn retire_handoffs(&mut self) {
        if self.handoffs.len() <= HANDOFFS {
            return;
        }
        let plan = self.plan.as_ref();
        let initiation = plan.map(|p| format!("project initiation: {}", p.id));
        let current = |h: &super::model::Handoff| {
            Some(&h.purpose) == initiation.as_ref()
                || h.task
                    .as_deref()
                    .is_some_and(|t| plan.is_some_and(|p| p.task(t).is_some()))
        };
        let newest_from = self.handoffs.len() - HANDOFFS;
        let mut i = 0;
        self.handoffs.retain(|h| {
            i += 1;
            i > newest_from || current(h)
        });
    }

    fn retire_concerns(&mut self) {
        let finished = self
            .concerns
            .values()
            .filter(|c| c.status == ConcernStatus::Resolved);
        let oldest = oldest_beyond(
            finished.map(|c| (c.resolved_at.as_deref().unwrap_or(""), c.id)),
            RESOLVED_CONCERNS,
        );
        for id in oldest {
            self.concerns.remove(&id);
        }
    }

    fn retire_approvals(&mut self) {
        let plan = self.plan.as_ref().map(|p| p.id.as_str());
        let current_plan =
            |a: &&Approval| a.kind == ApprovalKind::Plan && Some(a.subject.as_str()) == plan;
        let finished = self
            .approvals
            .values()
            .filter(|a| !a.is_pending() && !current_plan(a));
        let oldest = oldest_beyond(
            finished.map(|a| (a.decided_at.as_deref().unwrap_or(""), a.id)),
            DECIDED_APPROVALS,
        );
        for id in oldest {
            self.approvals.remove(&id);
        }
    }

    fn retire_variations(&mut self) {
        let finished = self
            .variations
            .values()
            .filter(|v| v.decision.is_some_and(|d| d.is_final()));
        let oldest = oldest_beyond(
            finished.map(|v| (v.decided_at.as_deref().unwrap_or(""), v.id)),
            DECIDED_VARIATIONS,
        );
        for id in oldest {
            self.variations.remove(&id);
        }
    }

    fn retire_clarifications(&mut self) {
        let finished = self.clarifications.values().filter(|c| c.answer.is_some());
        let oldest = oldest_beyond(
            finished.map(|c| (c.answered_at.as_deref().unwrap_or(""), c.id)),
            ANSWERED_CLARIFICATIONS,
        );
        for id in oldest {
            self.clarifications.remove(&id);
        }
    }
}

/// The ids of the oldest finished items beyond the `keep` most recent, ordered by when they
/// finished (then by id).
fn oldest_beyond<'a, Id: Ord + Copy>(
    finished: impl Iterator<Item = (&'a str, Id)>,
    keep: usize,
) -> Vec<Id> {
    let mut all: Vec<(&str, Id)> = finished.collect();
    if all.len() <= keep {
        return Vec::new();
    }
    let extra = all.len() - keep;
    all.select_nth_unstable(extra - 1);
    all.truncate(extra);
    all.into_iter().map(|(_, id)| id).collect()
}

#[cfg(test)]
mod tests {
    use super::oldest_beyond;

    #[test]
    fn the_oldest_beyond_the_kept_go_by_when_they_finished_then_id() {
        let items = [
            ("2026-01-02", 1),
            ("2026-01-01", 2),
            ("2026-01-03", 3),
            ("2026-01-01", 4),
        ];
        let mut gone = oldest_beyond(items.iter().copied(), 2);
        gone.sort();
        assert_eq!(gone, vec![2, 4]);
        assert!(oldest_beyond(items.iter().copied(), 4).is_empty());
        let mut gone = oldest_beyond(items.iter().copied(), 1);
        gone.sort();
        assert_eq!(gone, vec![1, 2, 4]);
    }
}
