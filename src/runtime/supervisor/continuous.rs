//! Continuous integration and automatic Saves: when a task finishes (its acceptance checks
//! passed), Overlord integrates it at once (`/integrate`: main plus everything finished,
//! merged on the integration branch and gated there); with `[git] save = "auto"` it Saves
//! by itself when that integration may be published — at most every
//! `auto_save_interval_secs`, and at once when a phase's last task finishes. A conflict
//! becomes a branch todo for the task's role to merge main in and resolve it.

use std::time::Instant;

use super::books::{Supervisor, Work};
use super::core_link::system;
use crate::protocol::model::{on_main, Concern, OperationKind, QaDecision, Role, Task, TaskStatus};
use crate::protocol::{Command, EventKind};

impl Supervisor {
    /// Something happened that may be new finished work.
    pub(super) fn note_work(&mut self, kind: &EventKind) {
        let finished = matches!(
            kind,
            EventKind::TaskStatusChanged {
                status: TaskStatus::Done,
                ..
            } | EventKind::ApprovalDecided { .. }
        );
        if finished {
            self.work_generation += 1;
        }
    }

    /// The finished tasks that are not on main yet and that governance does not hold back.
    fn finished_work(&self) -> Work {
        let on = on_main(&self.state.checkpoints);
        let tasks = self
            .state
            .plan
            .iter()
            .flat_map(|p| p.tasks())
            .filter(|t| t.status == TaskStatus::Done && !t.is_temporary)
            .filter(|t| !on.tasks.contains_key(&t.id) && !on.taken_out.contains_key(&t.id))
            .filter(|t| self.state.held_back(&t.id).is_none())
            .map(|t| t.id.clone())
            .collect();
        Work {
            tasks,
            generation: self.work_generation,
        }
    }

    /// Every phase whose every task is done has one of `work`'s tasks: its end is Saved at once.
    fn ends_a_phase(&self, work: &Work) -> bool {
        self.state.plan.iter().flat_map(|p| &p.phases).any(|ph| {
            ph.promoted_at.is_none()
                && ph.tasks.iter().any(|t| work.tasks.contains(&t.id))
                && ph
                    .tasks
                    .iter()
                    .filter(|t| !t.is_temporary)
                    .all(|t| t.status == TaskStatus::Done)
        })
    }

    /// One tick: integrate (or, in auto mode, Save) new finished work.
    pub(super) async fn integrate_finished(&mut self) {
        if self.state.operation.is_some() || self.state.dispatch_halted {
            return;
        }
        let work = self.finished_work();
        if work.tasks.is_empty() {
            return;
        }
        let auto = self.config.git.save.is_auto();
        let interval = std::time::Duration::from_secs(self.config.git.auto_save_interval_secs);
        // The interval runs from the supervisor's start, then from each automatic Save.
        let due = self.ci.last_save.get_or_insert_with(Instant::now).elapsed() >= interval;
        // The same work integrated and found failing is not Saved: a change is needed first.
        let failed_already = matches!(&self.ci.last, Some((OperationKind::Integrate, w)) if *w == work)
            && self
                .state
                .qa_runs
                .last()
                .is_some_and(|r| r.decision == QaDecision::Fail);
        let kind = if auto && (due || self.ends_a_phase(&work)) && !failed_already {
            OperationKind::Save
        } else {
            OperationKind::Integrate
        };
        if self.ci.last.as_ref() == Some(&(kind, work.clone())) {
            return;
        }
        // An integration that already covered this work is not repeated.
        if kind == OperationKind::Integrate && matches!(&self.ci.last, Some((_, w)) if *w == work) {
            return;
        }
        let command = match kind {
            OperationKind::Save => Command::Save,
            _ => Command::Integrate,
        };
        let reply = self.submit(system(), command).await;
        self.ci.last = Some((kind, work));
        if reply.ok && kind == OperationKind::Save {
            self.ci.last_save = Some(Instant::now());
        }
    }

    /// A conflict left a finished task out of an integration: a branch todo for its role to
    /// merge main in and resolve it (at most `max_debug_attempts`, then the human has the
    /// concern that was raised).
    pub(super) async fn on_conflict(&mut self, concern: &Concern) {
        if concern.category != "merge_conflict" {
            return;
        }
        let Some(parent) = concern.task.as_deref().and_then(|t| self.task(t)) else {
            return;
        };
        if parent.is_temporary || parent.status != TaskStatus::Done {
            return;
        }
        let max = parent
            .max_debug_attempts
            .unwrap_or(self.config.agents.max_debug_attempts)
            .max(1);
        let n = self.ci.rebases.get(&parent.id).copied().unwrap_or(0) + 1;
        if n > max {
            return;
        }
        let Some(sess) = self.state.git.clone() else {
            return;
        };
        self.ci.rebases.insert(parent.id.clone(), n);
        let fix = rebase_task(&parent, n, &sess.integration_branch(), &concern.details);
        let Some(phase) = self.phase_of(&parent.id) else {
            return;
        };
        let id = fix.id.clone();
        self.emit(vec![EventKind::TaskAdded { phase, task: fix }])
            .await;
        self.set_task(
            &parent.id,
            TaskStatus::Blocked,
            Some(format!(
                "conflicts with {}: branch todo {id} opened for the {} to merge it in and resolve",
                sess.integration_branch(),
                parent.role
            )),
        )
        .await;
        self.handoff(
            system(),
            Role::ProjectManager,
            parent.role,
            "branch todo",
            format!(
                "{} conflicts with {} ({}): {id} goes to the {} (attempt {n} of {max})",
                parent.id,
                sess.integration_branch(),
                concern.id,
                parent.role
            ),
            Vec::new(),
            "open",
            Some(&id),
        )
        .await;
    }
}

/// The branch todo for a conflict: in the parent's worktree, merge the integration branch
/// (main plus the work integrated before it) in and resolve.
fn rebase_task(parent: &Task, n: u32, main: &str, details: &Option<String>) -> Task {
    Task {
        id: format!("{}-rebase-{n}", parent.id),
        title: format!("Resolve {}'s conflict with {main}", parent.id),
        description: format!(
            "{} ({}) conflicts with {main}. In this worktree run `git merge {main}`, resolve every conflict keeping both sides' intent, make the tests pass and commit the merge.",
            parent.id, parent.title
        ),
        role: parent.role,
        priority: parent.priority.clone(),
        dependencies: Vec::new(),
        acceptance_criteria: vec![format!("{} merges into {main} without conflicts", parent.id)],
        // The parent's acceptance commands run on the fix too.
        acceptance_checks: parent.acceptance_checks.clone(),
        expected_artifacts: Vec::new(),
        status: TaskStatus::Todo,
        parent_id: Some(parent.id.clone()),
        is_temporary: true,
        max_debug_attempts: parent.max_debug_attempts,
        branch_reason: Some("merge_conflict".to_string()),
        debug_instructions: details.clone(),
        timeout_seconds: parent.timeout_seconds,
        max_retries: None,
        owner: None,
        commentary: Vec::new(),
    }
}
