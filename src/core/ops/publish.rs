//! Publishing a checkpoint (Save and rollback): the tag and note objects written, the refs
//! about to move recorded, then `main`, the tag and the notes ref moved together, and the
//! checkpoint recorded.

use git2::{Oid, Repository};

use super::progress::Progress;
use super::step::{git_action, OpResult};
use crate::core::clock::now;
use crate::core::engine::Core;
use crate::core::failpoint;
use crate::git::{self, GitError, Publish, RefMoves};
use crate::protocol::model::{
    Checkpoint, CheckpointKind, GitSession, Operation, PublishPlan, QaRunId,
};
use crate::protocol::EventKind;

/// What a publish moves main to, and what its checkpoint says.
pub(super) struct Publishing {
    pub(super) expected_main: Oid,
    pub(super) new_main: Oid,
    pub(super) kind: CheckpointKind,
    pub(super) tag_message: String,
    pub(super) summary: String,
    pub(super) qa_run: Option<QaRunId>,
    pub(super) tasks: Vec<String>,
    pub(super) restores: Option<String>,
    pub(super) undoes: Option<String>,
    pub(super) trigger: &'static str,
}

/// The paths main's move from `before` to `new` changes, and the second look at the user's
/// work tree, which refuses anything changed since the first; when the first look's watch saw
/// no change, it looks only at the files main's move will overwrite.
fn second_look(
    core: &mut Core,
    repo: &Repository,
    sess: &GitSession,
    before: Oid,
    new: Oid,
) -> OpResult<(git::UserTree, Vec<(String, bool)>)> {
    let changed = git::changed_paths(
        repo,
        repo.find_commit(before)?.tree_id(),
        repo.find_commit(new)?.tree_id(),
    )?;
    let changing: Vec<&str> = changed.iter().map(|(p, _)| p.as_str()).collect();
    let watch = core.tree_watch.take();
    let user = git::recheck::second_look(repo, &sess.main, watch.as_deref(), &changing)?;
    Ok((user, changed))
}

pub(super) fn publish_checkpoint(
    core: &mut Core,
    progress: &mut Progress,
    repo: &Repository,
    sess: &GitSession,
    op: &Operation,
    p: Publishing,
) -> OpResult<Checkpoint> {
    let main_ref = sess.main_ref();
    // Main moves only from where the operation found it (the refs' compare-and-swap in
    // `git::publish` enforces it), so a commit made meanwhile is never dropped.
    let main_before = p.expected_main;
    let (user, changed) = second_look(core, repo, sess, main_before, p.new_main)?;
    if user.on_main {
        let in_the_way = git::untracked_in_the_way(repo, &changed)?;
        if !in_the_way.is_empty() {
            return Err(GitError::InTheWay {
                what: format!("the new {}", sess.main),
                files: in_the_way,
            }
            .into());
        }
    }
    let now = now();
    let taken: Vec<String> = core
        .state
        .checkpoints
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let name = git::next_checkpoint_name(repo, &now, &taken)?;
    let tagger = git::signature(None)?;
    let target = repo.find_object(p.new_main, None)?;
    let tag_object = repo.tag_annotation_create(&name, &target, &tagger, &p.tag_message)?;
    let notes_before = git::ref_target(repo, git::NOTES_REF)?;
    let op_events: Vec<u64> = audit_ids(core, op);
    // The audit head (a committed record) anchors the chain outside the store: a store that
    // no longer reaches it refuses to write (`store::anchor`).
    let (head_seq, head_hash) = core.store.head();
    let mut note = format!(
        "Overlord {name}\nOperation: {} {}\nAudit-IDs: {}\nOverlord-Session: {}\nTasks: {}\n",
        op.kind,
        op.id,
        op_events
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(" "),
        sess.id,
        if p.tasks.is_empty() {
            "-".to_string()
        } else {
            p.tasks.join(" ")
        }
    );
    if head_seq > 0 {
        let head = crate::store::anchor::Head {
            seq: head_seq,
            hash: head_hash,
        };
        note.push_str(&crate::store::anchor::note_line(&head));
        note.push('\n');
    }
    let notes_after = git::notes_commit(
        repo,
        notes_before,
        &[p.new_main, tag_object],
        &note,
        &format!("overlord: notes for {name}"),
    )?;
    let plan = PublishPlan {
        main_before: main_before.to_string(),
        commit: p.new_main.to_string(),
        tag: name.clone(),
        tag_object: tag_object.to_string(),
        notes_commit: notes_after.to_string(),
        notes_before: notes_before.map(|o| o.to_string()),
        kind: Some(p.kind),
        restores: p.restores.clone(),
    };
    // The refs about to move go into the trail (with any pending progress) before they move.
    progress.push(
        core,
        EventKind::OperationPublishing {
            id: op.id,
            plan: plan.clone(),
        },
    )?;
    progress.flush(core)?;
    failpoint::hit(&format!("{}.publishing", p.trigger));
    let moves = RefMoves {
        main_ref: main_ref.clone(),
        main_before,
        main_after: p.new_main,
        tag_ref: format!("refs/tags/{name}"),
        tag_object,
        notes_before,
        notes_after,
    };
    git::publish(
        repo,
        &Publish::grant(),
        &moves,
        &format!("overlord: {} {}", op.kind, name),
    )?;
    failpoint::hit(&format!("{}.published", p.trigger));
    let mut follow_warning = None;
    if user.on_main {
        if let Err(e) = git::follow_main(repo, &changed, p.new_main) {
            follow_warning = Some(e.to_string());
        }
    }
    let checkpoint = Checkpoint {
        name: name.clone(),
        kind: p.kind,
        commit: p.new_main.to_string(),
        created_at: now,
        qa_run: p.qa_run,
        summary: p.summary,
        restores: p.restores,
        tag_object: Some(tag_object.to_string()),
        previous: Some(main_before.to_string()),
        tasks: p.tasks,
        audit_ids: op_events,
        undoes: p.undoes,
    };
    for e in record_published(sess, &moves, &checkpoint, p.trigger) {
        progress.push(core, e)?;
    }
    if let Some(w) = follow_warning {
        progress.step(
            core,
            op,
            "work tree",
            format!(
                "your work tree could not follow {}: {w}; run `git reset --keep`",
                sess.main
            ),
        )?;
    }
    Ok(checkpoint)
}

/// The audit ids an operation's note lists: its start and every event recorded since.
fn audit_ids(core: &Core, op: &Operation) -> Vec<u64> {
    (op.audit_id..=core.state.last_event_seq.max(op.audit_id)).collect()
}

/// The events that record a publish: the ref moves and the checkpoint.
pub(super) fn record_published(
    sess: &GitSession,
    moves: &RefMoves,
    checkpoint: &Checkpoint,
    trigger: &str,
) -> Vec<EventKind> {
    let action = match checkpoint.kind {
        CheckpointKind::Save => "fast_forward",
        _ => "rollback_commit",
    };
    vec![
        git_action(
            action,
            &moves.main_ref,
            Some(moves.main_before),
            Some(moves.main_after),
            Some(if checkpoint.tasks.is_empty() {
                checkpoint.restores.clone().unwrap_or_default()
            } else {
                sess.integration_branch()
            }),
            trigger,
            format!("{} moved to {}", sess.main, checkpoint.name),
        ),
        git_action(
            "tag",
            &moves.tag_ref,
            None,
            Some(moves.tag_object),
            Some(moves.main_after.to_string()),
            trigger,
            checkpoint.summary.clone(),
        ),
        git_action(
            "note",
            git::NOTES_REF,
            moves.notes_before,
            Some(moves.notes_after),
            Some(checkpoint.name.clone()),
            trigger,
            "audit ids attached to the checkpoint's commit and tag".to_string(),
        ),
        EventKind::CheckpointCreated {
            checkpoint: checkpoint.clone(),
        },
    ]
}
