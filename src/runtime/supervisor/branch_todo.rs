//! Branch todos (seed 003): a failing acceptance command opens a temporary fix task routed by
//! the failure's class (`implementation_bug` → debugger, `spec_mismatch` → designer,
//! `timeout` and `flaky_test` → tester) with the diagnostics (the command, its output, the
//! branch's diff), at most `max_debug_attempts` of them, then the human gets it.

use super::books::Supervisor;
use super::checks::{AcceptanceFailure, FailureKind};
use super::core_link::system;
use crate::protocol::model::{AgentState, Role, Severity, Task, TaskStatus};
use crate::protocol::{ConcernDraft, EventKind};

impl Supervisor {
    /// Seed 003's branch todo: a temporary debug task routed by failure class.
    pub(super) async fn acceptance_failed(
        &mut self,
        agent: &str,
        task: &Task,
        failure: AcceptanceFailure,
    ) {
        let (parent, fix_failed) = match (&task.parent_id, task.is_temporary) {
            (Some(p), true) => (self.task(p), true),
            _ => (Some(task.clone()), false),
        };
        let Some(parent) = parent else { return };
        if fix_failed {
            self.set_task(
                &task.id,
                TaskStatus::Failed,
                Some(format!("{agent}: the acceptance check still fails")),
            )
            .await;
        }
        self.set_agent(
            agent,
            AgentState::Done,
            None,
            Some(format!("{} fails its acceptance check", task.id)),
            None,
            None,
        )
        .await;
        let max = parent
            .max_debug_attempts
            .unwrap_or(self.config.agents.max_debug_attempts)
            .max(1);
        let book = self.tasks.entry(parent.id.clone()).or_default();
        if book.fixes >= max {
            self.give_up_debugging(&parent, max, failure.report).await;
            return;
        }
        book.fixes += 1;
        let n = book.fixes;
        let (class, role) = self.failure_class(&parent, failure.kind);
        let mut instructions = format!("Failure class: {class}\n\n{}", failure.report);
        if !failure.diff.trim().is_empty() {
            instructions.push_str(&format!("\n\n{}", failure.diff.trim_end()));
        }
        let fix = fix_task(&parent, n, class, role, max, instructions);
        self.open_branch_todo(&parent, fix, class, n, max).await;
    }

    /// The acceptance check still fails after `max` debug attempts: the task fails and the
    /// human gets it.
    async fn give_up_debugging(&mut self, parent: &Task, max: u32, tail: String) {
        self.set_task(
            &parent.id,
            TaskStatus::Failed,
            Some(format!(
                "the acceptance check still fails after {max} debug attempts"
            )),
        )
        .await;
        self.concern(ConcernDraft {
            from: Some(parent.role),
            to: Some(Role::Human),
            severity: Severity::Critical,
            category: "acceptance_failed".to_string(),
            summary: format!(
                "{} still fails its acceptance check after {max} debug attempts",
                parent.id
            ),
            details: Some(tail),
            task: Some(parent.id.clone()),
        })
        .await;
    }

    /// Seed 003's failure class decides who fixes it: a timeout or a flaky command goes to
    /// the tester; a command the worktree does not have, or a failure of a task with an open
    /// spec or design concern, to the designer; any other failure to the debugger.
    fn failure_class(&self, parent: &Task, kind: FailureKind) -> (&'static str, Role) {
        let spec_concern = self.state.open_concerns().any(|c| {
            c.task.as_deref() == Some(parent.id.as_str())
                && (c.category.contains("spec") || c.category.contains("design"))
        });
        match kind {
            FailureKind::TimedOut => ("timeout", Role::Tester),
            FailureKind::Flaky => ("flaky_test", Role::Tester),
            FailureKind::Missing => ("spec_mismatch", Role::Designer),
            FailureKind::Failed if spec_concern => ("spec_mismatch", Role::Designer),
            FailureKind::Failed => ("implementation_bug", Role::Debugger),
        }
    }

    /// Adds the fix task to the parent's phase, blocks the parent on it and hands it to its
    /// role.
    async fn open_branch_todo(&mut self, parent: &Task, fix: Task, class: &str, n: u32, max: u32) {
        let (id, role) = (fix.id.clone(), fix.role);
        let Some(phase) = self.phase_of(&parent.id) else {
            return;
        };
        self.emit(vec![EventKind::TaskAdded { phase, task: fix }])
            .await;
        self.set_task(
            &parent.id,
            TaskStatus::Blocked,
            Some(format!(
                "acceptance check failed ({class}); branch todo {id} opened for the {role}"
            )),
        )
        .await;
        self.handoff(
            system(),
            parent.role,
            role,
            "branch todo",
            format!("{} fails its acceptance check ({class}): {id} goes to the {role} (attempt {n} of {max})", parent.id),
            Vec::new(),
            "open",
            Some(&id),
        )
        .await;
    }
}

/// The branch todo: a temporary task under the parent, in its worktree, with the failure's
/// diagnostics as its debug instructions and the parent's acceptance commands as its own.
fn fix_task(parent: &Task, n: u32, class: &str, role: Role, max: u32, tail: String) -> Task {
    let id = format!("{}-fix-{n}", parent.id);
    Task {
        id,
        title: format!("Fix the acceptance failure of {} ({class})", parent.id),
        description: format!(
            "The acceptance check of {} ({}) fails. Find the cause and fix it in this worktree.",
            parent.id, parent.title
        ),
        role,
        priority: parent.priority.clone(),
        dependencies: Vec::new(),
        acceptance_criteria: std::iter::once(format!(
            "the acceptance checks of {} pass",
            parent.id
        ))
        .chain(parent.acceptance_criteria.iter().cloned())
        .collect(),
        acceptance_checks: parent.acceptance_checks.clone(),
        expected_artifacts: Vec::new(),
        status: TaskStatus::Todo,
        parent_id: Some(parent.id.clone()),
        is_temporary: true,
        max_debug_attempts: Some(max),
        branch_reason: Some(class.to_string()),
        debug_instructions: Some(tail),
        timeout_seconds: parent.timeout_seconds,
        max_retries: None,
        owner: None,
        commentary: Vec::new(),
    }
}
