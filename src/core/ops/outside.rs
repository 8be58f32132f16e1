//! Protected refs changed outside Overlord, defended and never absorbed (issue 19 §4):
//!
//! - `main` moved or rewound by hand: recorded (`outside_move`, which leaves Overlord's record
//!   of main where it was), a critical `protected_ref` concern, the kill switch when
//!   `[metrics] kill_switch_on` lists `policy_breach` or `protected_ref`; until the human's
//!   `/adopt main` or `/restore main` (`ops::decide_ref`) every Save and rollback on main is
//!   refused and `audit verify --git` fails;
//! - `refs/notes/overlord` rewritten: put back where Overlord left it, with the same concern
//!   and kill switch.
//!
//! The owner checks at every poll (`Core::watch_main`): three `stat`s (main's ref file, the
//! notes ref file, `packed-refs`) until git changes one of them, then a read of the two refs.
//! Every operation checks again before it starts (`Core::check_protected_refs`).

use std::path::Path;

use git2::{Oid, Repository};

use super::step::{git_action, oid, OpError, OpResult, ACTOR};
use crate::core::concern::raise;
use crate::core::engine::{Core, RefsStamp};
use crate::core::lock::OperationLock;
use crate::core::verify_git::main_moved;
use crate::git;
use crate::protocol::model::{ConcernStatus, GitSession, Severity};
use crate::protocol::state::OUTSIDE_MOVE;
use crate::protocol::EventKind;

/// The concern category of a protected ref changed outside Overlord.
pub const CATEGORY: &str = "protected_ref";

impl Core {
    /// For a running owner: notices `main` moved and `refs/notes/overlord` rewritten outside
    /// Overlord (see the module). Cheap until git changes one of the refs. Does nothing while
    /// an operation runs. Returns whether it found something new.
    pub fn watch_main(&mut self) -> Result<bool, String> {
        let Some(sess) = self.state.git.clone() else {
            return Ok(false);
        };
        if self.state.operation.is_some() {
            return Ok(false);
        }
        let stamp = refs_stamp(&self.ws.git_common_dir, &sess);
        if self.refs_seen == Some(stamp) {
            return Ok(false);
        }
        match self.check_protected_refs(false) {
            Ok(Some(found)) => {
                self.refs_seen = Some(stamp);
                Ok(found)
            }
            // An operation runs (here or in another process): look again at the next poll.
            Ok(None) => Ok(false),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Compares main and the notes ref with where Overlord left them, and defends them (see
    /// the module). `lock_held`: the caller holds the operation lock (an operation about to
    /// start). `None` when it could not look (another operation runs); else whether it found
    /// something new.
    pub(crate) fn check_protected_refs(&mut self, lock_held: bool) -> OpResult<Option<bool>> {
        let _lock = if lock_held {
            None
        } else {
            // Another process may be running an operation that is about to record a move.
            match OperationLock::try_acquire(&self.ws) {
                Ok(Some(l)) => Some(l),
                _ => return Ok(None),
            }
        };
        self.refresh()?;
        let Some(sess) = self.state.git.clone() else {
            return Ok(Some(false));
        };
        if self.state.operation.is_some() {
            return Ok(None);
        }
        let repo = git::open(&self.ws.root)?;
        let mut found = false;
        if let Some(known) = self.state.main_head.clone() {
            let known = oid(&known)?;
            match git::ref_target(&repo, &sess.main_ref())? {
                Some(now_at)
                    if now_at != known
                        && !self.reported(&moved_summary(&sess.main, known, now_at)) =>
                {
                    report_main_moved(self, &repo, &sess, known, now_at)?;
                    found = true;
                }
                None if !self.reported(&deleted_summary(&sess.main, known)) => {
                    report_main_deleted(self, &sess, known)?;
                    found = true;
                }
                _ => {}
            }
        }
        if let Some(expected) = self.state.notes_head.clone() {
            let now_at = git::ref_target(&repo, git::NOTES_REF)?;
            if now_at.map(|o| o.to_string()).as_deref() != Some(expected.as_str()) {
                put_back_notes(self, &repo, oid(&expected)?, now_at)?;
                found = true;
            }
        }
        Ok(Some(found))
    }

    /// Whether an open concern already says `summary` (the human has not decided yet).
    fn reported(&self, summary: &str) -> bool {
        self.state
            .concerns
            .values()
            .any(|c| c.status != ConcernStatus::Resolved && c.summary == summary)
    }
}

/// The concern's summary for main moved outside Overlord (also how a repeat is recognised).
pub(crate) fn moved_summary(main: &str, known: Oid, now_at: Oid) -> String {
    format!(
        "{main} moved outside Overlord from {} to {}",
        git::short(&known.to_string()),
        git::short(&now_at.to_string())
    )
}

/// The concern's summary for main deleted outside Overlord.
pub(crate) fn deleted_summary(main: &str, known: Oid) -> String {
    format!(
        "{main} deleted outside Overlord (Overlord left it at {})",
        git::short(&known.to_string())
    )
}

/// Whether an open concern is about main moved or deleted outside Overlord (resolved by the
/// decision).
pub(crate) fn is_main_concern(main: &str, summary: &str) -> bool {
    summary.starts_with(&format!("{main} moved outside Overlord from "))
        || summary.starts_with(&format!("{main} deleted outside Overlord "))
}

fn refs_stamp(git_dir: &Path, sess: &GitSession) -> RefsStamp {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    [
        modified(&git_dir.join(sess.main_ref())),
        modified(&git_dir.join(git::NOTES_REF)),
        modified(&git_dir.join("packed-refs")),
    ]
}

/// The kill switch's reason when the policy says a protected ref changed outside Overlord
/// stops everything (`[metrics] kill_switch_on` lists `policy_breach` or `protected_ref`).
fn halt(core: &Core, why: &str) -> Option<EventKind> {
    let listed = core
        .config
        .metrics
        .kill_switch_on
        .iter()
        .any(|k| k == "policy_breach" || k == CATEGORY);
    (listed && !core.state.dispatch_halted).then(|| EventKind::DispatchHalted {
        reason: Some(format!("protected ref changed outside Overlord: {why}")),
    })
}

/// Records main moved from `known` to `now_at` without absorbing it, raises the critical
/// concern and trips the kill switch per policy.
fn report_main_moved(
    core: &mut Core,
    repo: &Repository,
    sess: &GitSession,
    known: Oid,
    now_at: Oid,
) -> OpResult<()> {
    let message = main_moved(repo, &sess.main, known, now_at);
    let lines = if repo.graph_descendant_of(now_at, known).unwrap_or(false) {
        git::commits_between(repo, known, now_at, 10)?.0
    } else {
        Vec::new()
    };
    let mut events = vec![git_action(
        OUTSIDE_MOVE,
        &sess.main_ref(),
        Some(known),
        Some(now_at),
        None,
        "external",
        format!("{message}. {}", lines.join("; "))
            .trim_end()
            .to_string(),
    )];
    events.extend(halt(core, &moved_summary(&sess.main, known, now_at)));
    core.emit(ACTOR, events)?;
    let mut details = vec![
        format!("{message}."),
        format!(
            "Overlord's record stays at {}: until you decide, Saves and rollbacks of {} are refused and `overlord-tui audit verify --git` fails.",
            git::short(&known.to_string()),
            sess.main
        ),
    ];
    if !lines.is_empty() {
        details.push(format!("Commits added:\n{}", lines.join("\n")));
    }
    raise(
        core,
        Severity::Critical,
        CATEGORY,
        moved_summary(&sess.main, known, now_at),
        details.join("\n"),
        None,
    );
    Ok(())
}

/// Records main deleted outside Overlord (Overlord's record stays), raises the critical
/// concern and trips the kill switch per policy.
fn report_main_deleted(core: &mut Core, sess: &GitSession, known: Oid) -> OpResult<()> {
    let summary = deleted_summary(&sess.main, known);
    let mut events = vec![git_action(
        OUTSIDE_MOVE,
        &sess.main_ref(),
        Some(known),
        None,
        None,
        "external",
        format!("{summary}; `/restore main` recreates it"),
    )];
    events.extend(halt(core, &summary));
    core.emit(ACTOR, events)?;
    raise(
        core,
        Severity::Critical,
        CATEGORY,
        summary,
        format!(
            "`/restore main` recreates {} at {} where Overlord left it. Until then Saves and rollbacks of it are refused and `overlord-tui audit verify --git` fails.",
            sess.main,
            git::short(&known.to_string())
        ),
        None,
    );
    Ok(())
}

/// Puts `refs/notes/overlord` back at `expected` (where Overlord left it) after it was
/// rewritten or deleted outside Overlord, with the concern and the kill switch.
fn put_back_notes(
    core: &mut Core,
    repo: &Repository,
    expected: Oid,
    now_at: Option<Oid>,
) -> OpResult<()> {
    let found = now_at
        .map(|o| git::short(&o.to_string()).to_string())
        .unwrap_or("nothing (deleted)".into());
    let why = format!(
        "{} rewritten outside Overlord: at {found}, Overlord left it at {}",
        git::NOTES_REF,
        git::short(&expected.to_string())
    );
    let put_back = if repo.find_commit(expected).is_ok() {
        let done = match now_at {
            Some(old) => repo.reference_matching(
                git::NOTES_REF,
                expected,
                true,
                old,
                "overlord: put back the notes ref rewritten outside Overlord",
            ),
            None => repo.reference(
                git::NOTES_REF,
                expected,
                false,
                "overlord: put back the deleted notes ref",
            ),
        };
        done.map(|_| ()).map_err(OpError::from)
    } else {
        Err(OpError::Other(format!(
            "the commit {} is no longer in the repository",
            git::short(&expected.to_string())
        )))
    };
    let mut events = Vec::new();
    let outcome = match &put_back {
        Ok(()) => {
            events.push(git_action(
                "restore_notes",
                git::NOTES_REF,
                now_at,
                Some(expected),
                None,
                "external",
                format!("{why}; put back (the rewritten notes were at {found})"),
            ));
            "Overlord put it back where it left it; the rewritten notes commit is named in the audit trail's git action.".to_string()
        }
        Err(e) => format!(
            "It could not be put back ({e}); `overlord-tui audit verify --git` fails until it is."
        ),
    };
    events.extend(halt(core, &why));
    if !events.is_empty() {
        core.emit(ACTOR, events)?;
    }
    raise(core, Severity::Critical, CATEGORY, why, outcome, None);
    Ok(())
}

/// Before a Save or rollback moves main from `main_before`: refuses when main is not where
/// Overlord left it (the human decides first with `/adopt main` or `/restore main`).
pub(super) fn refuse_if_moved(
    core: &Core,
    repo: &Repository,
    sess: &GitSession,
    main_before: Oid,
) -> OpResult<()> {
    match core.state.main_head.as_deref().map(oid).transpose()? {
        Some(known) if known != main_before => Err(OpError::Other(main_moved(
            repo,
            &sess.main,
            known,
            main_before,
        ))),
        _ => Ok(()),
    }
}
