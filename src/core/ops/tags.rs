//! Checkpoint tags defended: a `checkpoint/*` tag deleted or moved outside Overlord is put back
//! from what the audit trail recorded (the same tag object when git still has it, else a new
//! annotated tag on the recorded commit), with a critical concern saying so. Checked by the
//! owner at every poll, so a deleted tag comes back within moments; a poll costs two `stat`s
//! until git changes the tags (deleting or moving one changes the tag directory or `packed-refs`).

use std::path::Path;

use git2::Oid;

use super::step::{git_action, ACTOR};
use crate::core::concern::raise;
use crate::core::engine::{Core, TagsStamp};
use crate::git;
use crate::protocol::model::{Checkpoint, Severity};

impl Core {
    /// Puts back every checkpoint tag the trail records that the repository has lost or that
    /// points elsewhere. Returns
    /// the names put back. Does nothing while an operation runs (it may be making a tag).
    pub fn restore_checkpoint_tags(&mut self) -> Result<Vec<String>, String> {
        if self.state.checkpoints.is_empty() || self.state.operation.is_some() {
            return Ok(Vec::new());
        }
        let stamp = tags_stamp(&self.ws.git_common_dir);
        if self.tags_seen == Some(stamp) {
            return Ok(Vec::new());
        }
        self.tags_seen = Some(stamp);
        let repo = git::open(&self.ws.root).map_err(|e| e.to_string())?;
        let lost: Vec<Checkpoint> = self
            .state
            .checkpoints
            .iter()
            .filter(|cp| !in_place(&repo, cp))
            .cloned()
            .collect();
        if lost.is_empty() {
            return Ok(Vec::new());
        }
        let mut events = Vec::new();
        let mut restored = Vec::new();
        let mut gone = Vec::new();
        for cp in &lost {
            match restore(&repo, cp) {
                Ok((target, how)) => {
                    events.push(git_action(
                        "restore_tag",
                        &format!("refs/tags/{}", cp.name),
                        None,
                        Some(target),
                        Some(cp.name.clone()),
                        "external",
                        format!("deleted or moved outside Overlord; {how}"),
                    ));
                    restored.push(cp.name.clone());
                }
                Err(e) => gone.push(format!("{}: {e}", cp.name)),
            }
        }
        if !events.is_empty() {
            self.emit(ACTOR, events).map_err(|e| e.to_string())?;
        }
        let mut details = Vec::new();
        if !restored.is_empty() {
            details.push(format!(
                "put back from the audit trail: {}",
                restored.join(", ")
            ));
        }
        if !gone.is_empty() {
            details.push(format!("could not be put back: {}", gone.join("; ")));
        }
        raise(
            self,
            Severity::Critical,
            "protected_ref",
            format!(
                "checkpoint tag(s) deleted or moved outside Overlord: {}",
                lost.iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            details.join("\n"),
            None,
        );
        Ok(restored)
    }
}

/// Whether the checkpoint's tag is there, on the recorded tag object (when one was recorded)
/// and the recorded commit: a tag deleted or moved outside Overlord is not.
fn in_place(repo: &git2::Repository, cp: &Checkpoint) -> bool {
    let Ok(reference) = repo.find_reference(&format!("refs/tags/{}", cp.name)) else {
        return false;
    };
    let object = reference.target().map(|o| o.to_string());
    // A recorded tag object git no longer has was replaced by a new tag on the commit.
    let recorded_gone = cp
        .tag_object
        .as_deref()
        .and_then(|t| Oid::from_str(t).ok())
        .is_none_or(|t| repo.find_tag(t).is_err());
    let same_object = recorded_gone || object == cp.tag_object;
    let commit = reference.peel_to_commit().map(|c| c.id().to_string()).ok();
    same_object && commit.as_deref() == Some(cp.commit.as_str())
}

fn tags_stamp(git_dir: &Path) -> TagsStamp {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    (
        modified(&git_dir.join("refs/tags/checkpoint")),
        modified(&git_dir.join("packed-refs")),
    )
}

/// Makes `refs/tags/<name>` again: the recorded tag object when the object store still holds
/// it (the tag is then exactly what it was), else a new annotated tag on the recorded commit.
fn restore(repo: &git2::Repository, cp: &Checkpoint) -> Result<(Oid, &'static str), git2::Error> {
    let refname = format!("refs/tags/{}", cp.name);
    let recorded = cp
        .tag_object
        .as_deref()
        .and_then(|t| Oid::from_str(t).ok())
        .filter(|t| repo.find_tag(*t).is_ok());
    if let Some(tag) = recorded {
        repo.reference(
            &refname,
            tag,
            true,
            "overlord: put back a checkpoint tag deleted or moved outside Overlord",
        )?;
        return Ok((tag, "the same tag object put back"));
    }
    let commit = repo.find_object(Oid::from_str(&cp.commit)?, None)?;
    let who = git::signature(None).map_err(|e| git2::Error::from_str(&e.to_string()))?;
    let tag = repo.tag(
        &cp.name,
        &commit,
        &who,
        &format!(
            "{}\n\nPut back by Overlord from the audit trail.",
            cp.summary
        ),
        true,
    )?;
    Ok((tag, "a new tag object on the recorded commit"))
}
