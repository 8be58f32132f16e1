//! Promotion (`/promote <phase>`): the QA gates with the promotion policy on main's tip (the
//! same run as `qa --promotion`: `Core::qa_on`, judged by `qa::promotion::verdict`); when it
//! passes, the version tag and the note objects are written, the refs about to move recorded,
//! then the tag, the release branch (created or fast-forwarded, never rewound) and the notes
//! ref moved together, and the promotion recorded (a `promotion` checkpoint, the phase
//! promoted, the human's pending approval decided). A failed run moves nothing. A process
//! killed half-way is finished or cleaned up by `recover` from the refs as they are.

use git2::{Oid, Repository};

use super::progress::Progress;
use super::step::{git_action, oid, session, Finish, OpError, OpResult, ACTOR};
use crate::core::clock::now;
use crate::core::engine::Core;
use crate::core::failpoint;
use crate::core::qa::QaOptions;
use crate::git::{self, GitError};
use crate::protocol::model::{
    ApprovalKind, Checkpoint, CheckpointKind, Decision, GitSession, Operation, OperationOutcome,
    PromotionTarget, PublishPlan, QaRun, QaRunId, SessionStatus,
};
use crate::protocol::EventKind;

pub(super) fn promote(
    core: &mut Core,
    op: &Operation,
    progress: &mut Progress,
) -> OpResult<Finish> {
    let sess = session(core)?;
    let repo = git::open(&core.ws.root)?;
    let t = op
        .promotion
        .clone()
        .ok_or_else(|| OpError::Other("promotion without a target".into()))?;
    let status = core.state.session;
    let commit = oid(&t.commit)?;
    super::outside::refuse_if_moved(core, &repo, &sess, commit)?;
    if git::branch_tip(&repo, &sess.main)? != Some(commit) {
        return Err(OpError::Other(format!(
            "{} moved since the promotion was checked; nothing was tagged or moved (run /promote again)",
            sess.main
        )));
    }
    progress.step(
        core,
        op,
        "gate",
        format!(
            "QA with the promotion policy on {} at {}",
            sess.main,
            git::short(&t.commit)
        ),
    )?;
    progress.flush(core)?;
    let done = core
        .qa_on(
            &repo,
            commit,
            format!("{} (promotion of {})", sess.main, t.phase),
            QaOptions {
                promotion: true,
                cancel: None,
            },
        )
        .map_err(OpError::Other)?;
    failpoint::hit("promotion.gated");
    let run = done.output.run.clone();
    let verdict = crate::qa::promotion::verdict(&done.output.record.evaluation);
    let report = core
        .ws
        .relative(&done.output.dir.join("QA_REPORT.md"))
        .to_string();
    if !verdict.passed {
        progress.step(core, op, "gate", format!("{}: {}", run.id, verdict.line()))?;
        return Ok(Finish {
            outcome: OperationOutcome::GateFailed,
            message: format!(
                "phase {} was not promoted: {} with the promotion policy {}; nothing was tagged or moved. Report: {report}",
                t.phase,
                run.id,
                verdict.line()
            ),
            checkpoint: None,
            status,
        });
    }
    progress.step(core, op, "gate", format!("{}: {}", run.id, verdict.line()))?;
    let cp = publish(core, progress, &repo, &sess, op, &t, &run)?;
    Ok(Finish {
        outcome: OperationOutcome::Checkpointed,
        message: format!(
            "phase {} promoted: {} tags {} ({}); {}. Report: {report}",
            t.phase,
            t.tag,
            git::short(&t.commit),
            run.id,
            release_words(&sess, &t)
        ),
        checkpoint: Some(cp),
        status,
    })
}

fn release_words(sess: &GitSession, t: &PromotionTarget) -> String {
    if t.release_branch == sess.main {
        format!("the release branch is {} itself, already there", sess.main)
    } else {
        match &t.release_before {
            None => format!("release branch {} created there", t.release_branch),
            Some(b) if b == &t.commit => {
                format!("release branch {} was already there", t.release_branch)
            }
            Some(b) => format!(
                "release branch {} fast-forwarded from {}",
                t.release_branch,
                git::short(b)
            ),
        }
    }
}

/// The refs a promotion moves together.
struct Moves {
    tag_ref: String,
    tag_object: Oid,
    /// The release branch when it is not main and is not already there: its ref, where it
    /// is expected (`None`: created) and the promoted commit.
    release: Option<(String, Option<Oid>, Oid)>,
    notes_before: Option<Oid>,
    notes_after: Oid,
}

impl Moves {
    fn of(sess: &GitSession, t: &PromotionTarget, plan: &PublishPlan) -> OpResult<Moves> {
        let commit = oid(&t.commit)?;
        let before = t.release_before.as_deref().map(oid).transpose()?;
        let release = (t.release_branch != sess.main && before != Some(commit))
            .then(|| (format!("refs/heads/{}", t.release_branch), before, commit));
        Ok(Moves {
            tag_ref: format!("refs/tags/{}", t.tag),
            tag_object: oid(&plan.tag_object)?,
            release,
            notes_before: plan.notes_before.as_deref().map(oid).transpose()?,
            notes_after: oid(&plan.notes_commit)?,
        })
    }
}

/// Writes the tag and note objects, records the refs about to move, moves them and records
/// the promotion: its checkpoint.
fn publish(
    core: &mut Core,
    progress: &mut Progress,
    repo: &Repository,
    sess: &GitSession,
    op: &Operation,
    t: &PromotionTarget,
    run: &QaRun,
) -> OpResult<Checkpoint> {
    let commit = oid(&t.commit)?;
    let summary = format!(
        "phase {} promoted ({}: {})",
        t.phase,
        run.id,
        crate::core::qa::summary(run)
    );
    let tag_message = format!(
        "Overlord promotion of phase {} (promotion {})\n\nQA {} with the promotion policy: {}\nRelease branch: {}\n",
        t.phase,
        op.id,
        run.id,
        crate::core::qa::summary(run),
        t.release_branch
    );
    let tagger = git::signature(None)?;
    let tag_object = repo.tag_annotation_create(
        &t.tag,
        &repo.find_object(commit, None)?,
        &tagger,
        &tag_message,
    )?;
    let notes_before = git::ref_target(repo, git::NOTES_REF)?;
    let (head_seq, head_hash) = core.store.head();
    let mut note = format!(
        "Overlord {}\nOperation: promotion {}\nAudit-IDs: {}\nOverlord-Session: {}\nPhase: {}\nQA: {}\n",
        t.tag,
        op.id,
        op.audit_id,
        sess.id,
        t.phase,
        run.id
    );
    if head_seq > 0 {
        let head = crate::store::anchor::Head {
            seq: head_seq,
            hash: head_hash,
        };
        note.push_str(&crate::store::anchor::note_line(&head));
        note.push('\n');
    }
    // The commit's note keeps what it said (its Save checkpoint) under the promotion.
    let commit_note = match git::read_note(repo, commit) {
        Some(old) => format!("{note}\n{}", old.trim_end()),
        None => note.clone(),
    };
    let with_commit = git::notes_commit(
        repo,
        notes_before,
        &[commit],
        &commit_note,
        &format!("overlord: notes for {}", t.tag),
    )?;
    let notes_after = git::notes_commit(
        repo,
        Some(with_commit),
        &[tag_object],
        &note,
        &format!("overlord: notes for {}", t.tag),
    )?;
    let plan = PublishPlan {
        main_before: t.release_before.clone().unwrap_or_default(),
        commit: t.commit.clone(),
        tag: t.tag.clone(),
        tag_object: tag_object.to_string(),
        notes_commit: notes_after.to_string(),
        notes_before: notes_before.map(|o| o.to_string()),
        kind: Some(CheckpointKind::Promotion),
        restores: None,
    };
    progress.push(
        core,
        EventKind::OperationPublishing {
            id: op.id,
            plan: plan.clone(),
        },
    )?;
    progress.flush(core)?;
    failpoint::hit("promotion.publishing");
    let moves = Moves::of(sess, t, &plan)?;
    move_refs(
        repo,
        &moves,
        &format!("overlord: promote {} as {}", t.phase, t.tag),
    )?;
    failpoint::hit("promotion.published");
    let checkpoint = promotion_checkpoint(t, &plan, summary, Some(run.id), op);
    for e in record_promoted(core, sess, t, &moves, &checkpoint, "promotion") {
        progress.push(core, e)?;
    }
    Ok(checkpoint)
}

fn promotion_checkpoint(
    t: &PromotionTarget,
    plan: &PublishPlan,
    summary: String,
    qa_run: Option<QaRunId>,
    op: &Operation,
) -> Checkpoint {
    Checkpoint {
        name: t.tag.clone(),
        kind: CheckpointKind::Promotion,
        commit: t.commit.clone(),
        created_at: now(),
        qa_run,
        summary,
        restores: None,
        tag_object: Some(plan.tag_object.clone()),
        // A promotion moves no main: main was, and stays, at the promoted commit.
        previous: Some(t.commit.clone()),
        tasks: Vec::new(),
        audit_ids: vec![op.audit_id],
        undoes: None,
    }
}

/// Creates the tag, moves the release branch and the notes ref, holding their locks, and
/// only if each is still where the promotion found it.
fn move_refs(repo: &Repository, m: &Moves, message: &str) -> OpResult<()> {
    let mut tx = repo.transaction()?;
    tx.lock_ref(&m.tag_ref)?;
    tx.lock_ref(git::NOTES_REF)?;
    if let Some((r, _, _)) = &m.release {
        tx.lock_ref(r)?;
    }
    if git::ref_target(repo, &m.tag_ref)?.is_some() {
        return Err(GitError::Exists(m.tag_ref.clone()).into());
    }
    let expect = |refname: &str, expected: Option<Oid>| -> OpResult<()> {
        let now = git::ref_target(repo, refname)?;
        if now != expected {
            return Err(GitError::Moved {
                reference: refname.to_string(),
                expected: expected.map(|o| o.to_string()).unwrap_or("nothing".into()),
                found: now.map(|o| o.to_string()).unwrap_or("nothing".into()),
            }
            .into());
        }
        Ok(())
    };
    expect(git::NOTES_REF, m.notes_before)?;
    if let Some((r, before, _)) = &m.release {
        expect(r, *before)?;
    }
    let sig = git::signature(None)?;
    tx.set_target(&m.tag_ref, m.tag_object, Some(&sig), message)?;
    tx.set_target(git::NOTES_REF, m.notes_after, Some(&sig), message)?;
    if let Some((r, _, to)) = &m.release {
        tx.set_target(r, *to, Some(&sig), message)?;
    }
    tx.commit()?;
    Ok(())
}

/// The events that record a promotion: the tag, the release branch and the notes moved, the
/// checkpoint, the phase promoted, and the human's pending approval of it decided.
fn record_promoted(
    core: &Core,
    sess: &GitSession,
    t: &PromotionTarget,
    m: &Moves,
    checkpoint: &Checkpoint,
    trigger: &str,
) -> Vec<EventKind> {
    let mut events = vec![git_action(
        "tag",
        &m.tag_ref,
        None,
        Some(m.tag_object),
        Some(t.commit.clone()),
        trigger,
        checkpoint.summary.clone(),
    )];
    if let Some((r, before, to)) = &m.release {
        events.push(git_action(
            if before.is_some() {
                "fast_forward"
            } else {
                "branch"
            },
            r,
            *before,
            Some(*to),
            Some(sess.main.clone()),
            trigger,
            format!(
                "release branch {} moved to the promoted commit ({})",
                t.release_branch, t.tag
            ),
        ));
    }
    events.push(git_action(
        "note",
        git::NOTES_REF,
        m.notes_before,
        Some(m.notes_after),
        Some(t.tag.clone()),
        trigger,
        "audit ids attached to the promoted commit and its tag".to_string(),
    ));
    events.push(EventKind::CheckpointCreated {
        checkpoint: checkpoint.clone(),
    });
    events.push(EventKind::PhasePromoted {
        phase: t.phase.clone(),
    });
    if let Some(id) = super::candidate::open_notice(&core.state, &t.phase) {
        events.push(EventKind::ConcernResolved {
            id,
            note: Some(format!("promoted as {}", t.tag)),
        });
    }
    if let Some(a) =
        core.state.approvals.values().find(|a| {
            a.kind == ApprovalKind::PhasePromotion && a.subject == t.phase && a.is_pending()
        })
    {
        events.push(EventKind::ApprovalDecided {
            id: a.id,
            decision: Decision::Approved,
            note: Some(format!("promoted as {} by the human's /promote", t.tag)),
            conditions: None,
        });
    }
    events
}

/// A promotion a killed process left: finished when any of its refs moved (the rest moved
/// after it, then recorded), else cleaned up (nothing was promoted).
pub(super) fn recover(core: &mut Core, op: &Operation) -> OpResult<Finish> {
    let sess = session(core)?;
    let repo = git::open(&core.ws.root)?;
    let status = core.state.session;
    let interrupted = format!("promotion {} was interrupted", op.id);
    let (Some(t), Some(plan)) = (op.promotion.clone(), op.publish.clone()) else {
        return Ok(Finish {
            outcome: OperationOutcome::Aborted,
            message: format!(
                "{interrupted} before anything was tagged or moved; nothing was promoted (run /promote again)"
            ),
            checkpoint: None,
            status,
        });
    };
    let m = Moves::of(&sess, &t, &plan)?;
    let tag_now = git::ref_target(&repo, &m.tag_ref)?;
    let notes_now = git::ref_target(&repo, git::NOTES_REF)?;
    let release_now = match &m.release {
        Some((r, _, _)) => git::ref_target(&repo, r)?,
        None => None,
    };
    let tagged = tag_now == Some(m.tag_object);
    let released = m
        .release
        .as_ref()
        .is_some_and(|(_, _, to)| release_now == Some(*to));
    if !tagged && !released {
        // Only objects were written (and maybe the notes ref): take the notes back.
        if notes_now == Some(m.notes_after) {
            match m.notes_before {
                Some(b) => {
                    repo.reference_matching(
                        git::NOTES_REF,
                        b,
                        true,
                        m.notes_after,
                        "overlord: recovery",
                    )?;
                }
                None => repo.find_reference(git::NOTES_REF)?.delete()?,
            }
        }
        return Ok(Finish {
            outcome: OperationOutcome::Aborted,
            message: format!(
                "{interrupted} before {} and the release branch moved; cleaned up, nothing was promoted (run /promote again)",
                t.tag
            ),
            checkpoint: None,
            status,
        });
    }
    let message = "overlord: recovery";
    if tag_now.is_none() {
        repo.reference(&m.tag_ref, m.tag_object, false, message)?;
    }
    if notes_now == m.notes_before {
        repo.reference(git::NOTES_REF, m.notes_after, true, message)?;
    }
    if let Some((r, before, to)) = &m.release {
        if release_now == *before {
            repo.reference(r, *to, true, message)?;
        }
    }
    let qa_run = core
        .state
        .qa_runs
        .iter()
        .rev()
        .find(|r| r.promotion && r.commit.as_deref() == Some(t.commit.as_str()))
        .map(|r| r.id);
    let checkpoint = promotion_checkpoint(
        &t,
        &plan,
        format!(
            "phase {} promoted (recovered after an interrupted promotion)",
            t.phase
        ),
        qa_run,
        op,
    );
    let events = record_promoted(core, &sess, &t, &m, &checkpoint, "recovery");
    core.emit(ACTOR, events)?;
    Ok(Finish {
        outcome: OperationOutcome::Checkpointed,
        message: format!(
            "{interrupted} after its refs began to move; finished: {} recorded",
            t.tag
        ),
        checkpoint: Some(checkpoint),
        status: if status == SessionStatus::AwaitingReview {
            status
        } else {
            SessionStatus::Active
        },
    })
}
