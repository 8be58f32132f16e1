//! What the whole-log fold knows of each task, kept as a row per task beside the trail
//! (table `metrics_tasks`, `store::metric_folds`) instead of inside the stored fold: the
//! running fold ([`super::running`]) then holds only the tasks touched since it was last
//! stored, and its size no longer grows with the number of tasks ever run (issue 23). A
//! window reads the rows of the tasks it counts; the figures over the whole log read them all.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Spend;
use crate::protocol::model::{Role, TaskStatus};

/// One task's figures over a stretch of the log. Stretches merge in log order
/// ([`TaskRow::merge`]): the stored row is the log up to the stored fold's record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskRow {
    /// The highest attempt an agent ran it at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// Its last terminal status (`done` or `failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal: Option<TaskStatus>,
    /// Running time (ms) by the role of the agent that ran it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub role_ms: BTreeMap<Role, i64>,
    /// Tokens and cost attributed to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spend: Option<Spend>,
    /// Its last `task_status_changed` to `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<FailedNote>,
}

/// The note of a task's last failure (`None`: it had none).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedNote {
    pub note: Option<String>,
}

impl TaskRow {
    /// Folds `later` (the same task over the stretch of the log after this row's) onto it:
    /// the highest attempt, the last status and note, the sums of time and spend.
    pub fn merge(&mut self, later: &TaskRow) {
        if let Some(n) = later.attempts {
            self.attempts = Some(self.attempts.map_or(n, |a| a.max(n)));
        }
        if later.terminal.is_some() {
            self.terminal = later.terminal;
        }
        for (role, ms) in &later.role_ms {
            *self.role_ms.entry(*role).or_default() += ms;
        }
        if let Some(s) = later.spend {
            self.spend
                .get_or_insert_with(Spend::default)
                .add(s.tokens, s.cost_micros);
        }
        if later.failed.is_some() {
            self.failed = later.failed.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(attempts: Option<u32>, ms: i64, tokens: u64, note: Option<&str>) -> TaskRow {
        TaskRow {
            attempts,
            terminal: attempts.map(|_| TaskStatus::Done),
            role_ms: [(Role::Implementer, ms)].into_iter().collect(),
            spend: Some(Spend {
                tokens,
                cost_micros: tokens * 2,
            }),
            failed: note.map(|n| FailedNote {
                note: Some(n.to_string()),
            }),
        }
    }

    #[test]
    fn merging_keeps_the_highest_attempt_the_last_status_and_the_sums() {
        let mut a = row(Some(3), 100, 10, Some("first"));
        a.merge(&row(Some(2), 50, 5, None));
        assert_eq!(a.attempts, Some(3));
        assert_eq!(a.role_ms[&Role::Implementer], 150);
        assert_eq!(a.spend.unwrap().tokens, 15);
        assert_eq!(a.spend.unwrap().cost_micros, 30);
        assert_eq!(a.failed.as_ref().unwrap().note.as_deref(), Some("first"));
        a.merge(&TaskRow {
            terminal: Some(TaskStatus::Failed),
            failed: Some(FailedNote { note: None }),
            ..TaskRow::default()
        });
        assert_eq!(a.terminal, Some(TaskStatus::Failed));
        assert_eq!(a.failed, Some(FailedNote { note: None }));
    }

    #[test]
    fn a_row_reads_back_as_written_and_an_empty_row_is_small() {
        let r = row(Some(4), 7, 9, Some("why"));
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<TaskRow>(&text).unwrap(), r);
        assert_eq!(serde_json::to_string(&TaskRow::default()).unwrap(), "{}");
        let none = TaskRow {
            failed: Some(FailedNote { note: None }),
            ..TaskRow::default()
        };
        let text = serde_json::to_string(&none).unwrap();
        assert_eq!(serde_json::from_str::<TaskRow>(&text).unwrap(), none);
    }
}
