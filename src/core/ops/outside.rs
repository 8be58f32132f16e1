//! Commits made on the protected main branch outside Overlord: noticed by a running console
//! (`Core::watch_main`) or by the next operation, recorded with a concern, and the
//! integration branch rebuilt on them.

use git2::{Oid, Repository};

use super::step::{git_action, oid, OpResult, ACTOR};
use crate::core::concern::raise;
use crate::core::engine::Core;
use crate::core::lock::OperationLock;
use crate::git;
use crate::protocol::model::{GitSession, Severity};

impl Core {
    /// For a running console: when the protected main branch moved outside Overlord (a commit
    /// made by hand), records it, raises a concern and rebases the integration branch onto
    /// it. Does nothing while an operation runs. Returns whether it found such a change.
    pub fn watch_main(&mut self) -> Result<bool, String> {
        let (Some(sess), Some(known)) = (self.state.git.clone(), self.state.main_head.clone())
        else {
            return Ok(false);
        };
        if self.state.operation.is_some() {
            return Ok(false);
        }
        let repo = git::open(&self.ws.root).map_err(|e| e.to_string())?;
        let Some(now_at) = git::ref_target(&repo, &sess.main_ref()).map_err(|e| e.to_string())?
        else {
            return Ok(false);
        };
        if now_at.to_string() == known {
            return Ok(false);
        }
        // Another process may be running an operation that is about to record this move.
        let Ok(Some(_lock)) = OperationLock::try_acquire(&self.ws) else {
            return Ok(false);
        };
        self.refresh().map_err(|e| e.to_string())?;
        if self.state.main_head.as_deref() != Some(known.as_str()) || self.state.operation.is_some()
        {
            return Ok(false);
        }
        note_outside_commit(self, &repo, &sess, &known, now_at).map_err(|e| e.to_string())?;
        Ok(true)
    }
}

/// Reports main having moved since Overlord last left it (`main_head`) to `now_at`.
pub(super) fn note_if_moved(
    core: &mut Core,
    repo: &Repository,
    sess: &GitSession,
    now_at: Oid,
) -> OpResult<()> {
    match core.state.main_head.clone() {
        Some(known) if known != now_at.to_string() => {
            note_outside_commit(core, repo, sess, &known, now_at)
        }
        _ => Ok(()),
    }
}

/// Records a commit someone made on main outside Overlord: a concern, main's new place, and
/// the integration branch rebased onto it (it holds nothing main does not, after a Save; a
/// held Save's merges are rebuilt from the task branches by the next one).
fn note_outside_commit(
    core: &mut Core,
    repo: &Repository,
    sess: &GitSession,
    known: &str,
    now_at: Oid,
) -> OpResult<()> {
    let known_id = oid(known)?;
    let (lines, total) = if repo.graph_descendant_of(now_at, known_id).unwrap_or(false) {
        git::commits_between(repo, known_id, now_at, 10)?
    } else {
        (
            vec![format!(
                "{} replaced {} (history rewritten)",
                git::short(&now_at.to_string()),
                git::short(known)
            )],
            1,
        )
    };
    let mut actions = vec![git_action(
        "external_commit",
        &sess.main_ref(),
        Some(known_id),
        Some(now_at),
        None,
        "external",
        format!(
            "{total} commit(s) made outside Overlord: {}",
            lines.join("; ")
        ),
    )];
    let integ_ref = format!("refs/heads/{}", sess.integration_branch());
    if let Some(old) = git::ref_target(repo, &integ_ref)? {
        if old != now_at {
            repo.reference_matching(
                &integ_ref,
                now_at,
                true,
                old,
                "overlord: rebase integration onto main",
            )?;
            actions.push(git_action(
                "rebase_integration",
                &integ_ref,
                Some(old),
                Some(now_at),
                Some(sess.main.clone()),
                "external",
                format!("integration branch rebuilt on {}", sess.main),
            ));
        }
    }
    core.emit(ACTOR, actions)?;
    raise(
        core,
        Severity::Warning,
        "protected_branch",
        format!("{} was changed outside Overlord ({total} commit(s))", sess.main),
        format!(
            "Overlord left {} at {}; it is now at {}:\n{}\nThe integration branch is rebuilt on it.",
            sess.main,
            git::short(known),
            git::short(&now_at.to_string()),
            lines.join("\n")
        ),
        None,
    );
    Ok(())
}
