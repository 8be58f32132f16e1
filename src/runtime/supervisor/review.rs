//! The human's review of a design spec or a test plan: a finished task that needs one asks
//! for the approval and waits; approving it completes the task and hands it on, rejecting it
//! (or asking for an update) sends it back to its author. A task that needs no review is done
//! and handed to the next role.

use super::books::Supervisor;
use super::core_link::{agent_origin, system};
use super::text::first_line;
use crate::protocol::model::{
    AgentState, ApprovalId, ApprovalKind, Decision, Role, Task, TaskStatus,
};
use crate::protocol::Command;

/// The role a finished task hands its work to.
fn next_role(role: Role) -> Role {
    match role {
        Role::ProjectManager => Role::Designer,
        Role::Designer => Role::Implementer,
        Role::Implementer | Role::Debugger => Role::Tester,
        Role::Tester | Role::Reviewer => Role::ProjectManager,
        Role::Human => Role::ProjectManager,
    }
}

/// The human review a task's result needs, if any: a design spec or a test plan.
fn review_kind(task: &Task) -> Option<ApprovalKind> {
    if task.is_temporary {
        return None;
    }
    let has = |name: &str| {
        task.expected_artifacts.iter().any(|a| {
            a.rsplit('/')
                .next()
                .is_some_and(|f| f.eq_ignore_ascii_case(name))
        })
    };
    if has("DESIGN_SPEC.md") || (task.role == Role::Designer && task.expected_artifacts.is_empty())
    {
        Some(ApprovalKind::DesignSpec)
    } else if has("TEST_PLAN.md") {
        Some(ApprovalKind::TestPlan)
    } else {
        None
    }
}

impl Supervisor {
    /// The human decided on an approval: a design spec or a test plan under review is done
    /// and handed on, or goes back to its author (rejected, or an update requested).
    pub(super) async fn on_review_decided(
        &mut self,
        id: &ApprovalId,
        decision: Decision,
        note: Option<&String>,
    ) {
        let Some(a) = self.state.approvals.get(id).cloned() else {
            return;
        };
        if !matches!(a.kind, ApprovalKind::DesignSpec | ApprovalKind::TestPlan) {
            return;
        }
        let Some(task) = self.task(&a.subject) else {
            return;
        };
        if task.status != TaskStatus::NeedsReview {
            return;
        }
        match decision {
            Decision::Approved | Decision::ApprovedWithConditions => {
                self.set_task(
                    &task.id,
                    TaskStatus::Done,
                    Some(format!("{} {}", a.id, decision.as_str())),
                )
                .await;
                self.handoff(
                    system(),
                    Role::Human,
                    next_role(task.role),
                    &format!("{} approved", a.kind),
                    format!(
                        "the human approved {} of {}{}",
                        a.kind,
                        task.id,
                        note.map(|n| format!(": {n}")).unwrap_or_default()
                    ),
                    task.expected_artifacts.clone(),
                    "approved",
                    Some(&task.id),
                )
                .await;
            }
            Decision::Rejected => {
                let reason = note.cloned().unwrap_or_else(|| "no reason given".into());
                self.send_back(
                    &task,
                    format!(
                        "The human rejected your {} ({}): {reason}\nRevise it accordingly.",
                        a.kind, a.id
                    ),
                    format!("{} rejected: {reason}", a.id),
                    format!("{} rejected", a.kind),
                    format!("sent back to its author: {reason}"),
                    "rejected",
                )
                .await;
            }
            Decision::Deferred => {
                // "Request clarification / update": the owner regenerates the
                // artifact with a delta summary; the same approval is decided again.
                let ask = note
                    .cloned()
                    .unwrap_or_else(|| "clarify it and bring it up to date".into());
                self.send_back(
                    &task,
                    format!(
                        "The human asks for a clarification or an update of your {} ({}): {ask}\nRegenerate it accordingly.",
                        a.kind, a.id
                    ),
                    format!("{}: update requested: {ask}", a.id),
                    format!("{} update requested", a.kind),
                    format!("back to its author for an update: {ask}"),
                    "update_requested",
                )
                .await;
            }
        }
    }

    /// A reviewed artifact goes back to its author: the task is queued again with the
    /// human's words as the next run's feedback, and the hand-off says why.
    pub(super) async fn send_back(
        &mut self,
        task: &Task,
        feedback: String,
        note: String,
        purpose: String,
        summary: String,
        status: &str,
    ) {
        let book = self.tasks.entry(task.id.clone()).or_default();
        book.feedback = Some(feedback);
        book.failures = 0;
        self.set_task(&task.id, TaskStatus::Todo, Some(note)).await;
        self.handoff(
            system(),
            Role::Human,
            task.role,
            &purpose,
            summary,
            task.expected_artifacts.clone(),
            status,
            Some(&task.id),
        )
        .await;
    }

    /// The task's work is accepted: to the human's review, or done.
    pub(super) async fn complete(
        &mut self,
        agent: &str,
        task: &Task,
        commit: Option<String>,
        result: Option<String>,
    ) {
        let role = task.role;
        let mut summary = match &commit {
            Some(c) => format!(
                "{} finished {} ({}): commit {}",
                agent,
                task.id,
                task.title,
                crate::git::short(c)
            ),
            None => format!("{} finished {} ({})", agent, task.id, task.title),
        };
        // The agent's own summary (after a rejection or an update request: its delta).
        if let Some(r) = result
            .as_deref()
            .map(|r| first_line(r, 300))
            .filter(|r| !r.is_empty())
        {
            summary.push_str(&format!(" — {r}"));
        }
        // What its runs did (tools, files, tokens, cost, model), for whoever takes it on.
        if let Some(t) = self.tasks.get(&task.id).filter(|b| b.telemetry.runs > 0) {
            summary.push_str(&format!(" [{}]", t.telemetry.summary()));
            if !t.telemetry.files.is_empty() {
                summary.push_str(&format!(" files: {}", t.telemetry.files.join(", ")));
            }
        }
        match review_kind(task) {
            Some(kind) => {
                // The approval first: nobody sees a task under review without it.
                // A deferred approval (an update was asked for) is decided again as it is.
                let deferred = self
                    .state
                    .pending_approvals()
                    .any(|a| a.kind == kind && a.subject == task.id);
                if !deferred {
                    self.submit(
                        system(),
                        Command::RequestApproval {
                            kind,
                            subject: task.id.clone(),
                            from: Some(role),
                            summary: format!("{kind} of {}: {}", task.id, task.title),
                        },
                    )
                    .await;
                }
                self.set_task(
                    &task.id,
                    TaskStatus::NeedsReview,
                    Some(format!("{agent}: awaiting the human's review")),
                )
                .await;
                self.handoff(
                    agent_origin(agent, role),
                    role,
                    Role::Human,
                    &format!("review {kind}"),
                    summary,
                    task.expected_artifacts.clone(),
                    "awaiting_approval",
                    Some(&task.id),
                )
                .await;
            }
            None if self.code_review_due(task) => {
                self.request_code_review(agent, task, summary).await;
            }
            None => {
                self.set_task(&task.id, TaskStatus::Done, Some(summary.clone()))
                    .await;
                self.handoff(
                    agent_origin(agent, role),
                    role,
                    next_role(role),
                    "task complete",
                    summary,
                    task.expected_artifacts.clone(),
                    "completed",
                    Some(&task.id),
                )
                .await;
            }
        }
        self.set_agent(
            agent,
            AgentState::Done,
            None,
            Some(format!("finished {}", task.id)),
            None,
            None,
        )
        .await;
    }
}
