//! The reviewer loop (seed 002): with `[review] enabled`, a finished task of a reviewed role
//! is not done yet — a Reviewer agent, confined read-only (it may write only its review file,
//! `.overlord/reviews/<task>/review-<n>.json`), critiques its diff against the configured
//! documents. `approve` lets the task through to integration; `request_changes` sends it back
//! to its worker with the findings; after `max_rounds` the human decides. Files the reviewer
//! changed in the worktree (the sandbox off, or a hole in it) are detected and discarded.

use std::path::{Path, PathBuf};

use super::books::Supervisor;
use super::core_link::system;
use crate::protocol::model::{
    AgentState, Review, ReviewFile, Role, Severity, Task, TaskStatus, Verdict,
};
use crate::protocol::{ConcernDraft, EventKind};
use crate::workspace::Workspace;

/// The `branch_reason` of a review task.
pub(super) const CODE_REVIEW: &str = "code_review";

/// Where the reviewer of `task`'s round `round` writes its review.
pub(super) fn review_path(ws: &Workspace, task: &str, round: u32) -> PathBuf {
    ws.dir
        .join("reviews")
        .join(task)
        .join(format!("review-{round}.json"))
}

/// The round a review task's id carries (`<task>-review-<n>`).
fn round_of(id: &str) -> u32 {
    id.rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

/// Whether `task` is a review task.
pub(super) fn is_review(task: &Task) -> bool {
    task.is_temporary && task.branch_reason.as_deref() == Some(CODE_REVIEW)
}

/// What the reviewer changed in the worktree, put back: `None` when it is clean.
pub(super) fn discard_changes(worktree: &Path) -> Option<String> {
    let repo = git2::Repository::open(worktree).ok()?;
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true).recurse_untracked_dirs(true);
    let changed: Vec<String> = repo
        .statuses(Some(&mut opts))
        .ok()?
        .iter()
        .filter_map(|s| s.path().map(str::to_string))
        .collect();
    if changed.is_empty() {
        return None;
    }
    let mut co = git2::build::CheckoutBuilder::new();
    co.force().remove_untracked(true);
    let _ = repo.checkout_head(Some(&mut co));
    Some(changed.join(", "))
}

impl Supervisor {
    /// Whether a finished `task` goes to the reviewer before it is done.
    pub(super) fn code_review_due(&self, task: &Task) -> bool {
        let r = &self.config.review;
        r.enabled && !task.is_temporary && r.roles.contains(&task.role)
    }

    /// The review file of a review task, for its run's sandbox and environment.
    pub(super) fn review_out(&self, task_id: &str) -> Option<PathBuf> {
        let task = self.task(task_id).filter(is_review)?;
        let parent = task.parent_id.as_deref()?;
        Some(review_path(&self.ws, parent, round_of(&task.id)))
    }

    /// A finished task goes to the reviewer: it waits in review while a review task (in its
    /// worktree, read-only) is run by a Reviewer agent.
    pub(super) async fn request_code_review(&mut self, agent: &str, task: &Task, summary: String) {
        let round = self
            .state
            .reviews
            .iter()
            .filter(|r| r.task == task.id)
            .count() as u32
            + 1;
        let Some(phase) = self.phase_of(&task.id) else {
            return;
        };
        let out = review_path(&self.ws, &task.id, round);
        if let Some(d) = out.parent() {
            let _ = std::fs::create_dir_all(d);
        }
        let _ = std::fs::remove_file(&out);
        let main = self
            .state
            .git
            .as_ref()
            .map(|g| g.main.clone())
            .unwrap_or_else(|| "main".into());
        let review = review_task(task, round, &main, &self.config.review.documents, &out);
        let id = review.id.clone();
        self.emit(vec![EventKind::TaskAdded {
            phase,
            task: review,
        }])
        .await;
        self.set_task(
            &task.id,
            TaskStatus::NeedsReview,
            Some(format!(
                "{summary}; awaiting the reviewer ({id}, round {round})"
            )),
        )
        .await;
        self.handoff(
            system(),
            task.role,
            Role::Reviewer,
            "code review",
            format!(
                "{agent} finished {}: {id} reviews its diff (round {round})",
                task.id
            ),
            Vec::new(),
            "open",
            Some(&id),
        )
        .await;
    }

    /// The reviewer's run ended: its review recorded, then the task let through, sent back
    /// to its worker, or (past `max_rounds`) left to the human.
    pub(super) async fn on_code_review_done(
        &mut self,
        agent: &str,
        task: &Task,
        error: Option<String>,
    ) {
        let Some(parent) = task.parent_id.as_deref().and_then(|p| self.task(p)) else {
            return;
        };
        let round = round_of(&task.id);
        let path = review_path(&self.ws, &parent.id, round);
        let read = match error {
            Some(e) => Err(e),
            None => std::fs::read_to_string(&path)
                .map_err(|e| {
                    format!(
                        "the reviewer wrote no review file at .overlord/reviews/{}/review-{round}.json ({e})",
                        parent.id
                    )
                })
                .and_then(|t| ReviewFile::parse(&t)),
        };
        let file = match read {
            Ok(f) => f,
            Err(e) => {
                self.on_failure(agent, task, e, None, false).await;
                return;
            }
        };
        let review = Review {
            task: parent.id.clone(),
            round,
            reviewer: agent.to_string(),
            verdict: file.verdict,
            findings: file.findings,
            summary: file.summary,
            at: crate::core::now(),
        };
        self.emit(vec![EventKind::ReviewRecorded {
            review: review.clone(),
        }])
        .await;
        self.set_task(
            &task.id,
            TaskStatus::Done,
            Some(format!("{agent}: {}", review.verdict)),
        )
        .await;
        self.set_agent(
            agent,
            AgentState::Done,
            None,
            Some(format!("reviewed {} ({})", parent.id, review.verdict)),
            None,
            None,
        )
        .await;
        self.after_review(&parent, &review).await;
    }

    /// What the verdict does to the reviewed task.
    async fn after_review(&mut self, parent: &Task, review: &Review) {
        let round = review.round;
        let findings = review.finding_lines().join("\n");
        let max = self.config.review.max_rounds.max(1);
        match review.verdict {
            Verdict::Approve => {
                self.set_task(
                    &parent.id,
                    TaskStatus::Done,
                    Some(format!("review {round}: approved by {}", review.reviewer)),
                )
                .await;
                self.handoff(
                    system(),
                    Role::Reviewer,
                    Role::ProjectManager,
                    "code review approved",
                    format!(
                        "{} approved by {} (round {round})",
                        parent.id, review.reviewer
                    ),
                    Vec::new(),
                    "completed",
                    Some(&parent.id),
                )
                .await;
            }
            Verdict::RequestChanges if round >= max => {
                self.concern(ConcernDraft {
                    from: Some(Role::Reviewer),
                    to: Some(Role::Human),
                    severity: Severity::Warning,
                    category: "review_rounds_exhausted".to_string(),
                    summary: format!(
                        "{} still has changes requested after {round} review rounds: `/task {} done` accepts it, `/task {} todo` sends it back",
                        parent.id, parent.id, parent.id
                    ),
                    details: Some(findings),
                    task: Some(parent.id.clone()),
                })
                .await;
            }
            Verdict::RequestChanges => {
                let book = self.tasks.entry(parent.id.clone()).or_default();
                book.feedback = Some(format!(
                    "The reviewer ({}) requested changes (round {round} of {max}). Address each finding, then finish:\n{findings}",
                    review.reviewer
                ));
                book.failures = 0;
                self.set_task(
                    &parent.id,
                    TaskStatus::Todo,
                    Some(format!(
                        "review {round}: changes requested by {}: {}",
                        review.reviewer,
                        review.finding_lines().first().cloned().unwrap_or_default()
                    )),
                )
                .await;
                self.handoff(
                    system(),
                    Role::Reviewer,
                    parent.role,
                    "changes requested",
                    format!(
                        "{} goes back to the {} with {} finding(s) (round {round} of {max})",
                        parent.id,
                        parent.role,
                        review.findings.len()
                    ),
                    Vec::new(),
                    "open",
                    Some(&parent.id),
                )
                .await;
            }
        }
    }
}

/// The review task: in the reviewed task's worktree, read-only, with what to review, against
/// what, and where the verdict goes.
fn review_task(task: &Task, round: u32, main: &str, documents: &[String], out: &Path) -> Task {
    let docs = if documents.is_empty() {
        "the project's conventions as the repository shows them".to_string()
    } else {
        documents.join(", ")
    };
    Task {
        id: format!("{}-review-{round}", task.id),
        title: format!("Review {} (round {round})", task.id),
        description: format!(
            "Review the changes of task {} ({}): `git diff {main}...HEAD` in this worktree. Judge them against {docs} and the task's acceptance criteria. You may not change the worktree. Write your verdict as JSON to {} (also in $OVERLORD_REVIEW_FILE): {{\"verdict\": \"approve\" | \"request_changes\", \"findings\": [{{\"file\": \"path\", \"line\": 12, \"severity\": \"blocker|major|minor|nit\", \"text\": \"what is wrong and what to do\"}}], \"summary\": \"one line\"}}.",
            task.id,
            task.title,
            out.display()
        ),
        role: Role::Reviewer,
        priority: task.priority.clone(),
        dependencies: Vec::new(),
        acceptance_criteria: task.acceptance_criteria.clone(),
        acceptance_checks: Vec::new(),
        expected_artifacts: Vec::new(),
        status: TaskStatus::Todo,
        parent_id: Some(task.id.clone()),
        is_temporary: true,
        max_debug_attempts: None,
        branch_reason: Some(CODE_REVIEW.to_string()),
        debug_instructions: None,
        timeout_seconds: task.timeout_seconds,
        max_retries: None,
        owner: None,
        commentary: Vec::new(),
    }
}
