//! Checking the repository for `/save`, `/rollback` or `/promote` before anything is decided
//! (a refusal changes nothing), and the events that start an accepted operation.

use git2::{Oid, Repository};

use super::step::protection;
use crate::core::engine::Core;
use crate::git::{self, GitError};
use crate::protocol::model::{
    CheckpointKind, GitSession, Operation, OperationKind, PromotionTarget, RollbackTarget,
    SessionStatus, TaskBranch, TaskStatus,
};
use crate::protocol::{Command, EventKind, RejectCode, Rejection, State};

/// What `prepare` found, handed to `decide` (which stays pure).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub new_session: Option<GitSession>,
    pub session: GitSession,
    pub main_before: String,
    pub tasks: Vec<TaskBranch>,
    /// Finished tasks governance holds back, each with why.
    pub held: Vec<String>,
    pub rollback: Option<RollbackTarget>,
    /// For `/promote`: what it would tag and move.
    pub promotion: Option<PromotionTarget>,
    /// For `/promote`: why the repository refuses it (every reason; empty when it may go on).
    pub refusals: Vec<String>,
    /// For `/save`: the watch its first look set on the user's work tree, which its second
    /// look asks first (`git::watch`).
    pub watch: Option<std::sync::Arc<git::watch::TreeWatch>>,
}

fn reject(code: RejectCode, e: impl std::fmt::Display) -> Rejection {
    Rejection::new(code, format!("{e}; nothing was changed"))
}

fn git_reject(e: GitError) -> Rejection {
    let code = match e {
        GitError::Git(_) => RejectCode::Storage,
        GitError::Protected(_) => RejectCode::Unauthorized,
        GitError::Dirty { .. }
        | GitError::InTheWay { .. }
        | GitError::IndexLocked(_)
        | GitError::InProgress(_)
        | GitError::Moved { .. } => RejectCode::Conflict,
        _ => RejectCode::InvalidInput,
    };
    reject(code, e)
}

/// A new session id: the day and a few hex digits of the clock (branch-name safe, and unlikely
/// to meet branches an earlier `.overlord/` left behind).
fn new_session_id(now: &str) -> String {
    let day: String = now.chars().filter(|c| c.is_ascii_digit()).take(8).collect();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
        .unwrap_or(0);
    format!("{day}-{:04x}", nanos & 0xffff)
}

/// The git session, starting one (not yet recorded) when there is none.
pub(crate) fn session_for(
    state: &State,
    repo: &Repository,
    configured_main: &str,
    now: &str,
) -> Result<(GitSession, bool), GitError> {
    if let Some(s) = &state.git {
        return Ok((s.clone(), false));
    }
    let main = git::detect_main(repo, configured_main)?;
    Ok((
        GitSession {
            id: new_session_id(now),
            main,
            started_at: now.to_string(),
        },
        true,
    ))
}

/// Checks the repository for `/save` or `/rollback` and gathers what the operation needs.
pub(crate) fn prepare(core: &Core, command: &Command, now: &str) -> Result<Prepared, Rejection> {
    let state = &core.state;
    if let Command::Rollback {
        checkpoint,
        branch,
        reason,
    } = command
    {
        // The timeline first: an unknown checkpoint is the clearer error.
        rollback_target(state, None, checkpoint, branch, reason)?;
    }
    let repo = git::open(&core.ws.root).map_err(git_reject)?;
    let (session, is_new) =
        session_for(state, &repo, &core.config.git.main, now).map_err(git_reject)?;
    let main_before = git::branch_tip(&repo, &session.main)
        .map_err(git_reject)?
        .ok_or_else(|| git_reject(GitError::NoBranch(session.main.clone())))?;
    let mut prepared = Prepared {
        new_session: is_new.then(|| session.clone()),
        session: session.clone(),
        main_before: main_before.to_string(),
        tasks: Vec::new(),
        held: Vec::new(),
        rollback: None,
        promotion: None,
        refusals: Vec::new(),
        watch: None,
    };
    match command {
        Command::Save => {
            refuse_outside_move(state, &repo, &session, main_before)?;
            let (_, watch) = git::recheck::first_look(&repo, &session.main).map_err(git_reject)?;
            prepared.watch = watch.map(std::sync::Arc::new);
            (prepared.tasks, prepared.held) =
                finished_branches(state, &repo, &session).map_err(git_reject)?;
        }
        Command::Integrate => {
            refuse_outside_move(state, &repo, &session, main_before)?;
            (prepared.tasks, prepared.held) =
                finished_branches(state, &repo, &session).map_err(git_reject)?;
        }
        Command::Rollback {
            checkpoint,
            branch,
            reason,
        } => {
            let target = rollback_target(state, Some(&repo), checkpoint, branch, reason)?;
            match &target.branch {
                Some(b) => {
                    git::check_branch_name(b).map_err(git_reject)?;
                    let refname = format!("refs/heads/{b}");
                    if protection(core, &session).is_protected(&refname) {
                        return Err(git_reject(GitError::Protected(refname)));
                    }
                    if repo.find_reference(&format!("refs/tags/{b}")).is_ok() {
                        return Err(reject(
                            RejectCode::Conflict,
                            format!("{b} already names a tag; pick another --branch name"),
                        ));
                    }
                    if git::branch_tip(&repo, b).map_err(git_reject)?.is_some() {
                        return Err(reject(
                            RejectCode::Conflict,
                            format!("branch {b} already exists; pick another --branch name"),
                        ));
                    }
                }
                None => {
                    refuse_outside_move(state, &repo, &session, main_before)?;
                    git::check_user_tree(&repo, &session.main).map_err(git_reject)?;
                }
            }
            prepared.rollback = Some(target);
        }
        Command::Promote { phase } => {
            if let Err(r) = refuse_outside_move(state, &repo, &session, main_before) {
                prepared.refusals.push(
                    r.message
                        .trim_end_matches("; nothing was changed")
                        .to_string(),
                );
            }
            let (target, refusals) =
                super::promote_check::check(core, &repo, &session, main_before, phase);
            prepared.promotion = Some(target);
            prepared.refusals.extend(refusals);
        }
        _ => {}
    }
    Ok(prepared)
}

/// Main moved outside Overlord and the human has not decided (`/adopt main`, `/restore
/// main`): nothing may build on it or move it.
fn refuse_outside_move(
    state: &State,
    repo: &Repository,
    session: &GitSession,
    main_now: Oid,
) -> Result<(), Rejection> {
    match state
        .main_head
        .as_deref()
        .and_then(|h| Oid::from_str(h).ok())
    {
        Some(known) if known != main_now => Err(reject(
            RejectCode::Conflict,
            crate::core::verify_git::main_moved(repo, &session.main, known, main_now),
        )),
        _ => Ok(()),
    }
}

/// Finished tasks and their branches, in plan order, and those governance holds back (a
/// pending or rejected high-impact variation; `State::held_back`) with why. A finished task
/// whose branch is gone is an error: its work would be silently lost.
fn finished_branches(
    state: &State,
    repo: &Repository,
    session: &GitSession,
) -> Result<(Vec<TaskBranch>, Vec<String>), GitError> {
    let Some(plan) = &state.plan else {
        return Ok((Vec::new(), Vec::new()));
    };
    let mut out = Vec::new();
    let mut held = Vec::new();
    // A branch todo works on its parent's branch, so it has none of its own.
    for task in plan
        .tasks()
        .filter(|t| t.status == TaskStatus::Done && !t.is_temporary)
    {
        if let Some(why) = state.held_back(&task.id) {
            held.push(format!("{}: {why}", task.id));
            continue;
        }
        let branch = session.task_branch(&task.id);
        match git::branch_tip(repo, &branch)? {
            Some(tip) => out.push(TaskBranch {
                task: task.id.clone(),
                branch,
                tip: tip.to_string(),
                role: task.role,
            }),
            None => {
                return Err(GitError::MissingTaskBranch {
                    task: task.id.clone(),
                    branch,
                })
            }
        }
    }
    Ok((out, held))
}

/// Resolves `/rollback <checkpoint|undo>` against the timeline.
fn rollback_target(
    state: &State,
    repo: Option<&Repository>,
    checkpoint: &str,
    branch: &Option<String>,
    reason: &Option<String>,
) -> Result<RollbackTarget, Rejection> {
    let reason = reason
        .clone()
        .unwrap_or_else(|| "requested by the governor".into());
    if checkpoint == "undo" {
        let Some(last) = state.checkpoints.last() else {
            return Err(reject(
                RejectCode::InvalidInput,
                "there is no checkpoint yet, so no rollback to undo",
            ));
        };
        if last.kind != CheckpointKind::Rollback {
            return Err(reject(
                RejectCode::InvalidInput,
                format!(
                    "the latest timeline entry ({}) is not a rollback, so there is nothing to undo",
                    last.name
                ),
            ));
        }
        let Some(previous) = last.previous.clone() else {
            return Err(reject(
                RejectCode::InvalidInput,
                format!("{} does not record where main was before it", last.name),
            ));
        };
        return Ok(RollbackTarget {
            checkpoint: last.name.clone(),
            commit: previous,
            reason,
            branch: branch.clone(),
            undoes: Some(last.name.clone()),
        });
    }
    let wanted = if checkpoint.starts_with("checkpoint/") {
        checkpoint.to_string()
    } else {
        format!("checkpoint/{checkpoint}")
    };
    // A promotion's checkpoint is named by its version tag (`v0.1.0-phase1`).
    let Some(cp) = state
        .checkpoints
        .iter()
        .find(|c| c.name == wanted || c.name == checkpoint)
    else {
        let names: Vec<&str> = state.checkpoints.iter().map(|c| c.name.as_str()).collect();
        let known = match names.last() {
            Some(_) if names.len() > 5 => format!(
                "the latest checkpoints are {}",
                names[names.len() - 5..].join(", ")
            ),
            Some(_) => format!("the checkpoints are {}", names.join(", ")),
            None => "there are no checkpoints yet: /save makes one".to_string(),
        };
        let mut r = Rejection::new(
            RejectCode::UnknownId,
            format!("unknown checkpoint '{checkpoint}' ({known}); nothing was changed"),
        );
        r.suggestion = crate::protocol::suggest(checkpoint, names.iter().copied());
        return Err(r);
    };
    let commit = Oid::from_str(&cp.commit)
        .ok()
        .filter(|id| repo.is_none_or(|r| r.find_commit(*id).is_ok()))
        .ok_or_else(|| {
            reject(
                RejectCode::UnknownId,
                format!(
                    "the commit of {} ({}) is not in the repository",
                    cp.name,
                    git::short(&cp.commit)
                ),
            )
        })?;
    Ok(RollbackTarget {
        checkpoint: cp.name.clone(),
        commit: commit.to_string(),
        reason,
        branch: branch.clone(),
        undoes: None,
    })
}

/// The events that start an accepted operation (`decide` calls this).
pub(crate) fn start_events(
    state: &State,
    kind: OperationKind,
    prepared: &Prepared,
    requested_by: &str,
    now: &str,
) -> (Vec<EventKind>, Operation) {
    let mut events = Vec::new();
    if let Some(s) = &prepared.new_session {
        events.push(EventKind::GitSessionStarted { session: s.clone() });
    }
    // An integration does not move main: dispatch goes on and the session keeps its status.
    let status = match kind {
        OperationKind::Save => Some(SessionStatus::Saving),
        OperationKind::Rollback => Some(SessionStatus::RollingBack),
        // A promotion moves no branch the agents build on: their work goes on.
        OperationKind::Integrate | OperationKind::Promotion => None,
    };
    events.extend(status.map(|status| EventKind::SessionStatusChanged { status }));
    let operation = Operation {
        id: state.counters.operations + 1,
        kind,
        requested_by: requested_by.to_string(),
        started_at: now.to_string(),
        audit_id: state.last_event_seq + events.len() as u64 + 1,
        main_before: prepared.main_before.clone(),
        tasks: prepared.tasks.clone(),
        held: prepared.held.clone(),
        rollback: prepared.rollback.clone(),
        publish: None,
        promotion: prepared.promotion.clone(),
        steps: Vec::new(),
    };
    events.push(EventKind::OperationStarted {
        operation: operation.clone(),
    });
    (events, operation)
}
