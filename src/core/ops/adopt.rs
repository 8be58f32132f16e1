//! `/adopt main` and `/restore main`: the human's decision about main moved outside Overlord
//! (`ops::outside`). [`plan_decision`] reads the repository (the caller holds the operation
//! lock) and works out what the decision records and which refs it moves; the pure rules take
//! its events (`decide::operations::protected_ref`); [`carry_out`] moves the refs just before
//! the events are recorded, so a refusal changes nothing.
//!
//! - adopt: Overlord's record of main moves to where main is now (a `adopt` git action on
//!   main), and the integration branch is rebuilt on it (as Overlord did for a hand-made commit
//!   before it stopped absorbing them);
//! - restore: main goes back where Overlord left it; commits main had that Overlord's main
//!   does not are kept on a new branch `outside/<YYYYMMDD>-<n>` (the day from the core's
//!   clock, `n` the first free number).
//!
//! Both resolve the open concerns about the move. The user's work tree, when it is on main
//! and exactly at the old commit, follows main; anything the user changed is left alone.

use std::path::Path;

use git2::{Oid, Repository};

use super::outside::is_main_concern;
use super::step::git_action;
use crate::core::engine::Core;
use crate::core::verify_git::main_moved;
use crate::git;
use crate::protocol::model::{ConcernStatus, GitSession};
use crate::protocol::{Command, EventKind, RejectCode, Rejection};

/// What `/adopt main` or `/restore main` records and moves.
#[derive(Debug, Clone)]
pub struct RefDecision {
    pub events: Vec<EventKind>,
    pub message: String,
    /// Refs to move, in order: (name, where it must be now — `None`: must not exist, new).
    moves: Vec<(String, Option<Oid>, Oid)>,
    /// The main branch, and the move the user's work tree follows.
    user_tree: Option<(String, Oid, Oid)>,
}

fn refuse(code: RejectCode, message: impl std::fmt::Display) -> Rejection {
    Rejection::new(code, format!("{message}; nothing was changed"))
}

fn storage(e: impl std::fmt::Display) -> Rejection {
    refuse(RejectCode::Storage, e)
}

/// Reads the repository for `/adopt main` or `/restore main`: the refusal when there is
/// nothing to decide, else what the decision records and moves.
pub(crate) fn plan_decision(
    core: &Core,
    command: &Command,
    now: &str,
) -> Result<RefDecision, Rejection> {
    let verb = command.name();
    let state = &core.state;
    let (Some(sess), Some(known)) = (&state.git, &state.main_head) else {
        return Err(refuse(
            RejectCode::InvalidTransition,
            format!("Overlord has not recorded main yet (no Save so far): nothing to {verb}"),
        ));
    };
    if let Some(op) = &state.operation {
        return Err(refuse(
            RejectCode::Conflict,
            format!("{} {} is running; wait for it to finish", op.kind, op.id),
        ));
    }
    let repo = git::open(&core.ws.root).map_err(storage)?;
    let known = Oid::from_str(known).map_err(storage)?;
    let Some(now_at) = git::ref_target(&repo, &sess.main_ref()).map_err(storage)? else {
        return recreate(core, sess, known, command);
    };
    if now_at == known {
        return Err(refuse(
            RejectCode::InvalidTransition,
            format!(
                "{} is where Overlord left it ({}): nothing to {verb}",
                sess.main,
                git::short(&known.to_string())
            ),
        ));
    }
    let moved = main_moved(&repo, &sess.main, known, now_at);
    let mut events = Vec::new();
    let mut moves = Vec::new();
    let message;
    let user_tree;
    if matches!(command, Command::AdoptMain) {
        events.push(git_action(
            "adopt",
            &sess.main_ref(),
            Some(known),
            Some(now_at),
            None,
            "adopt",
            format!("adopted by the human: {moved}"),
        ));
        let integ_ref = format!("refs/heads/{}", sess.integration_branch());
        if let Some(old) = git::ref_target(&repo, &integ_ref).map_err(storage)? {
            if old != now_at {
                events.push(git_action(
                    "rebase_integration",
                    &integ_ref,
                    Some(old),
                    Some(now_at),
                    Some(sess.main.clone()),
                    "adopt",
                    format!("integration branch rebuilt on the adopted {}", sess.main),
                ));
                moves.push((integ_ref, Some(old), now_at));
            }
        }
        user_tree = Some((sess.main.clone(), known, now_at));
        message = format!(
            "{} adopted at {}: Overlord's record moved from {}",
            sess.main,
            git::short(&now_at.to_string()),
            git::short(&known.to_string())
        );
    } else {
        // Commits main has that Overlord's main does not: kept on a new branch.
        let keep = !repo.graph_descendant_of(known, now_at).unwrap_or(false);
        let kept = if keep {
            let branch = outside_branch(&repo, now).map_err(storage)?;
            let refname = format!("refs/heads/{branch}");
            events.push(git_action(
                "branch",
                &refname,
                None,
                Some(now_at),
                Some(sess.main.clone()),
                "restore",
                format!("the commits made on {} outside Overlord, kept", sess.main),
            ));
            moves.push((refname, None, now_at));
            format!("; the outside commits are kept on {branch}")
        } else {
            format!(
                "; it had been rewound, so there was nothing to keep ({} still holds every commit)",
                sess.main
            )
        };
        events.push(git_action(
            "restore",
            &sess.main_ref(),
            Some(now_at),
            Some(known),
            None,
            "restore",
            format!("put back by the human: {moved}"),
        ));
        moves.push((sess.main_ref(), Some(now_at), known));
        user_tree = Some((sess.main.clone(), now_at, known));
        message = format!(
            "{} restored to {} where Overlord left it{kept}",
            sess.main,
            git::short(&known.to_string())
        );
    }
    events.extend(resolve_concerns(core, sess, verb));
    Ok(RefDecision {
        events,
        message,
        moves,
        user_tree,
    })
}

/// Main deleted outside Overlord: `/restore main` recreates it where Overlord left it;
/// there is nothing to adopt.
fn recreate(
    core: &Core,
    sess: &GitSession,
    known: Oid,
    command: &Command,
) -> Result<RefDecision, Rejection> {
    let at = git::short(&known.to_string()).to_string();
    if matches!(command, Command::AdoptMain) {
        return Err(refuse(
            RejectCode::Conflict,
            format!(
                "{} was deleted outside Overlord, so there is nothing to adopt: `/restore main` recreates it at {at}",
                sess.main
            ),
        ));
    }
    let mut events = vec![git_action(
        "restore",
        &sess.main_ref(),
        None,
        Some(known),
        None,
        "restore",
        format!("deleted outside Overlord; recreated by the human at {at}"),
    )];
    events.extend(resolve_concerns(core, sess, command.name()));
    Ok(RefDecision {
        events,
        message: format!("{} recreated at {at} where Overlord left it", sess.main),
        moves: vec![(sess.main_ref(), None, known)],
        user_tree: None,
    })
}

/// The open concerns about main moved outside Overlord, resolved by the decision.
fn resolve_concerns(core: &Core, sess: &GitSession, verb: &str) -> Vec<EventKind> {
    core.state
        .concerns
        .values()
        .filter(|c| c.status != ConcernStatus::Resolved && is_main_concern(&sess.main, &c.summary))
        .map(|c| EventKind::ConcernResolved {
            id: c.id,
            note: Some(format!("decided by /{verb} main")),
        })
        .collect()
}

/// `outside/<YYYYMMDD>-<n>` with the first `n` no branch has.
fn outside_branch(repo: &Repository, now: &str) -> Result<String, git::GitError> {
    let day: String = now.chars().filter(|c| c.is_ascii_digit()).take(8).collect();
    let mut n = 1;
    loop {
        let name = format!("outside/{day}-{n}");
        if git::branch_tip(repo, &name)?.is_none() {
            return Ok(name);
        }
        n += 1;
    }
}

/// Moves the refs of an accepted decision (each only from where the plan found it); on a
/// failure, undoes the moves already made. Then lets the user's work tree follow main.
pub(crate) fn carry_out(root: &Path, d: &RefDecision) -> Result<(), Rejection> {
    let repo = git::open(root).map_err(storage)?;
    let mut done: Vec<&(String, Option<Oid>, Oid)> = Vec::new();
    for m in &d.moves {
        let (refname, expected, new) = m;
        let moved = match expected {
            Some(old) => repo.reference_matching(
                refname,
                *new,
                true,
                *old,
                "overlord: decision about main moved outside Overlord",
            ),
            None => repo.reference(
                refname,
                *new,
                false,
                "overlord: the commits made on main outside Overlord",
            ),
        };
        if let Err(e) = moved {
            for (name, old, new) in done.into_iter().rev() {
                let undone = match old {
                    Some(old) => repo
                        .reference_matching(name, *old, true, *new, "overlord: undo")
                        .map(|_| ()),
                    None => repo.find_reference(name).and_then(|mut r| r.delete()),
                };
                if let Err(u) = undone {
                    tracing::warn!(reference = %name, error = %u, "could not undo a ref move");
                }
            }
            return Err(refuse(
                RejectCode::Conflict,
                format!("{refname} could not be moved ({})", e.message()),
            ));
        }
        done.push(m);
    }
    if let Some((main, old, new)) = &d.user_tree {
        if let Err(e) = git::catch_up_user_tree(&repo, main, *old, *new) {
            tracing::warn!(error = %e, "the work tree could not follow main");
        }
    }
    Ok(())
}
