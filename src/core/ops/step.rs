//! What every step of an operation shares: the actor on its events, how an operation ends
//! (`Finish`), what stops a step (`OpError`), and small helpers (`git_action`, the session,
//! object ids, the protection of refs).

use git2::Oid;

use crate::core::engine::{Core, CoreError};
use crate::git::{GitError, Protection};
use crate::protocol::model::{Checkpoint, GitSession, Operation, OperationOutcome, SessionStatus};
use crate::protocol::EventKind;

/// The actor named on the events an operation emits.
pub const ACTOR: &str = "overlord";

pub(crate) fn protection(core: &Core, session: &GitSession) -> Protection {
    Protection {
        main: session.main.clone(),
        branches: core.config.git.protected.clone(),
    }
}

/// How an operation ended.
#[derive(Debug, Clone)]
pub struct Finish {
    pub outcome: OperationOutcome,
    pub message: String,
    pub checkpoint: Option<Checkpoint>,
    pub status: SessionStatus,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum OpError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("{0}")]
    Other(String),
}

impl From<git2::Error> for OpError {
    fn from(e: git2::Error) -> Self {
        OpError::Git(e.into())
    }
}

pub(crate) type OpResult<T> = Result<T, OpError>;

#[allow(clippy::too_many_arguments)]
pub(super) fn git_action(
    action: &str,
    reference: &str,
    old: Option<Oid>,
    new: Option<Oid>,
    source: Option<String>,
    trigger: &str,
    detail: impl Into<String>,
) -> EventKind {
    EventKind::GitAction {
        action: action.to_string(),
        reference: reference.to_string(),
        old: old.map(|o| o.to_string()),
        new: new.map(|o| o.to_string()),
        source,
        trigger: trigger.to_string(),
        detail: detail.into(),
    }
}

pub(super) fn session(core: &Core) -> OpResult<GitSession> {
    core.state
        .git
        .clone()
        .ok_or_else(|| OpError::Other("no git session".into()))
}

pub(super) fn oid(s: &str) -> OpResult<Oid> {
    Oid::from_str(s).map_err(|e| OpError::Other(format!("bad object id {s}: {}", e.message())))
}

pub(super) fn names<'a>(it: impl Iterator<Item = &'a str>) -> String {
    it.collect::<Vec<_>>().join(", ")
}

/// The end of an operation, written with whatever progress was still pending (one
/// transaction).
pub(super) fn finish_events(
    core: &mut Core,
    op: &Operation,
    finish: &Finish,
    mut events: Vec<EventKind>,
) -> Result<(), CoreError> {
    events.extend([
        EventKind::OperationFinished {
            id: op.id,
            kind: op.kind,
            outcome: finish.outcome,
            message: finish.message.clone(),
        },
        EventKind::SessionStatusChanged {
            status: finish.status,
        },
    ]);
    core.emit(ACTOR, events)?;
    Ok(())
}
