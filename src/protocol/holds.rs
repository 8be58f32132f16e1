//! Governance holds: which finished tasks may not be integrated yet, and why — a task with a
//! high-impact variation that still waits for the human (pending or deferred) is held back
//! from every integration and Save until the human approves it.

use super::model::{Impact, Variation};
use super::state::State;

impl State {
    /// Why `task` may not be integrated now (`None`: it may).
    pub fn held_back(&self, task: &str) -> Option<String> {
        let waiting: Vec<&Variation> = self
            .variations
            .values()
            .filter(|v| v.impact == Impact::High && v.task.as_deref() == Some(task))
            .filter(|v| {
                v.approval
                    .and_then(|a| self.approvals.get(&a))
                    .is_some_and(|a| a.is_pending())
            })
            .collect();
        if waiting.is_empty() {
            return None;
        }
        let each: Vec<String> = waiting
            .iter()
            .map(|v| match v.approval {
                Some(a) => format!("variation {} ({}) awaits the human as {a}", v.id, v.title),
                None => format!("variation {} ({}) awaits the human", v.id, v.title),
            })
            .collect();
        Some(each.join(", "))
    }

    /// Every finished task governance holds back, with why.
    pub fn held_tasks(&self) -> Vec<(String, String)> {
        self.plan
            .iter()
            .flat_map(|p| p.tasks())
            .filter(|t| t.status == super::model::TaskStatus::Done && !t.is_temporary)
            .filter_map(|t| self.held_back(&t.id).map(|why| (t.id.clone(), why)))
            .collect()
    }
}
