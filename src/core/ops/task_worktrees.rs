//! Task worktrees: the git session (started and recorded when there is none), and each
//! task's worktree on `session/<s>/task/<task>`, opened and pruned.

use super::prepare::session_for;
use super::step::{git_action, ACTOR};
use crate::core::clock::now;
use crate::core::concern::raise;
use crate::core::engine::Core;
use crate::core::worktree;
use crate::git;
use crate::protocol::model::{GitSession, Severity};
use crate::protocol::EventKind;

impl Core {
    /// The git session, starting (and recording) one when there is none.
    pub fn git_session(&mut self) -> Result<GitSession, String> {
        let repo = git::open(&self.ws.root).map_err(|e| e.to_string())?;
        let main = self.config.git.main.clone();
        let mut found: Result<Option<GitSession>, String> = Ok(None);
        // Decided under the write lock: two processes opening worktrees at once must not
        // start two sessions.
        self.emit_with(ACTOR, |state| {
            match session_for(state, &repo, &main, &now()) {
                Ok((s, new)) => {
                    found = Ok(Some(s.clone()));
                    if new {
                        vec![EventKind::GitSessionStarted { session: s }]
                    } else {
                        Vec::new()
                    }
                }
                Err(e) => {
                    found = Err(e.to_string());
                    Vec::new()
                }
            }
        })
        .map_err(|e| e.to_string())?;
        found?.ok_or_else(|| "no git session".to_string())
    }

    /// Creates (or finds) a task's worktree on `session/<s>/task/<task>`, branching from the
    /// main branch, prepared as `[worktrees]` says.
    pub fn open_task_worktree(&mut self, task: &str) -> Result<worktree::TaskWorktree, String> {
        let known = self
            .state
            .plan
            .as_ref()
            .is_some_and(|p| p.tasks().any(|t| t.id == task));
        if !known {
            return Err(format!(
                "unknown task '{task}' (import a plan first: overlord-tui plan import FILE)"
            ));
        }
        let sess = self.git_session()?;
        let repo = git::open(&self.ws.root).map_err(|e| e.to_string())?;
        let setup = self.config.worktrees.setup();
        let wt = worktree::create(&repo, &self.ws.root, &sess.id, task, &sess.main, &setup)
            .map_err(|e| e.to_string())?;
        if wt.created {
            let tip = git::branch_tip(&repo, &wt.branch).ok().flatten();
            self.emit(
                ACTOR,
                vec![git_action(
                    "worktree",
                    &format!("refs/heads/{}", wt.branch),
                    None,
                    tip,
                    Some(sess.main.clone()),
                    "task",
                    format!("worktree {}", self.ws.relative(&wt.path)),
                )],
            )
            .map_err(|e| e.to_string())?;
        }
        Ok(wt)
    }

    /// Removes a task's worktree (its branch stays). Uncommitted work is never deleted: the
    /// refusal lists the files and becomes a concern.
    pub fn prune_task_worktree(&mut self, task: &str) -> Result<(), String> {
        let sess = self.git_session()?;
        let repo = git::open(&self.ws.root).map_err(|e| e.to_string())?;
        match worktree::prune(&repo, &self.ws.root, &sess.id, task) {
            Ok(()) => {
                self.emit(
                    ACTOR,
                    vec![git_action(
                        "prune_worktree",
                        &format!("refs/heads/{}", sess.task_branch(task)),
                        None,
                        None,
                        None,
                        "task",
                        format!("worktree of {task} removed; the branch stays"),
                    )],
                )
                .map_err(|e| e.to_string())?;
                Ok(())
            }
            Err(e @ worktree::WorktreeError::Uncommitted { .. }) => {
                let known = self
                    .state
                    .plan
                    .as_ref()
                    .is_some_and(|p| p.tasks().any(|t| t.id == task));
                raise(
                    self,
                    Severity::Warning,
                    "uncommitted_work",
                    format!("the worktree of {task} was kept: it has uncommitted work"),
                    e.to_string(),
                    known.then(|| task.to_string()),
                );
                Err(e.to_string())
            }
            Err(e) => Err(e.to_string()),
        }
    }
}
