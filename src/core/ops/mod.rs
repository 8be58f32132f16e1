//! Save, rollback and promotion: the long-running operations that move protected refs.
//!
//! `/save` and `/rollback` are decided like every command (and refused with nothing changed
//! when the repository is not fit: detached HEAD, dirty tree on main, locked index, missing
//! task branch, unknown checkpoint…). Once accepted, a [`Job`] carries the operation out,
//! step by step, each step an audit event so front ends show progress:
//!
//! Save: freeze dispatch → flush finished tasks' uncommitted output (committed with
//! trailers) → merge each finished task branch into `session/<s>/integration` on git
//! objects only (trivial conflicts by policy; a conflicting branch is left out with a
//! concern) → gate (the configured test command, run in `.overlord/integration`) → write the
//! tag and note objects → record the refs about to move → move `main`, the tag and the notes
//! ref together → record the checkpoint → optional post-merge verification, which rolls the
//! Save back and raises a critical concern when it fails.
//!
//! One operation runs at a time (`.overlord/operation.lock`). A process killed at any step
//! leaves `main` where it was, or fully published: [`recover`] (run before the next
//! operation and when a console or `serve` starts) finishes or cleans up from the audit trail.
//!
//! One room per step family: `prepare` (checking the repository, the events that start an
//! operation), `job` (running an accepted operation to its end), `save`, `integrate`
//! (flushing and merging task branches), `documents` (the documents commit), `gate`,
//! `publish` (moving main, the tag and the notes ref), `rollback`, `promote` (the promotion
//! QA, the version tag and the release branch) and `promote_check` (what it would tag and
//! move, checked first), `recover`, `outside`
//! (protected refs changed outside Overlord), `candidate` (the promotion-candidate notice), `adopt` (`/adopt main`, `/restore main`), `task_history` (each task's own commits, walked
//! once per Save), `task_worktrees`; `step` and `progress` hold what
//! every step shares.

mod adopt;
mod candidate;
mod documents;
mod gate;
mod integrate;
mod integration;
mod job;
mod outside;
mod prepare;
mod progress;
mod promote;
mod promote_check;
mod publish;
mod recover;
mod rollback;
mod save;
mod step;
mod tags;
mod task_history;
mod task_worktrees;

pub use super::lock::{OperationLock, LOCK_GRACE};
pub use adopt::RefDecision;
pub(crate) use adopt::{carry_out, plan_decision};
pub use candidate::CATEGORY as PROMOTION_CANDIDATE;
pub(crate) use integration::integration_worktree;
pub use job::{run, Job};
pub use prepare::Prepared;
pub(crate) use prepare::{prepare, start_events};
pub use promote_check::{version_tag, DEFAULT_VERSION_TAG};
pub use recover::recover;
pub use step::{Finish, ACTOR};
