//! The progress of an operation: its step events, written in batches.

use std::time::Duration;

use super::step::{OpResult, ACTOR};
use crate::core::engine::Core;
use crate::protocol::model::Operation;
use crate::protocol::EventKind;

/// How long progress events may wait to be written together: a step that takes longer shows
/// at once, while a burst of fast steps (32 merges in 70 ms) costs one transaction, not 32.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Progress events of an operation, written in batches (see `PROGRESS_EVERY`). Flushed
/// before any ref moves, so every ref move is preceded by its audit trail.
pub(super) struct Progress {
    pub(super) pending: Vec<EventKind>,
    last: std::time::Instant,
}

impl Progress {
    pub(super) fn new() -> Progress {
        Progress {
            pending: Vec::new(),
            last: std::time::Instant::now(),
        }
    }

    pub(super) fn push(&mut self, core: &mut Core, kind: EventKind) -> OpResult<()> {
        self.pending.push(kind);
        if self.last.elapsed() >= PROGRESS_EVERY {
            self.flush(core)?;
        }
        Ok(())
    }

    pub(super) fn step(
        &mut self,
        core: &mut Core,
        op: &Operation,
        step: &str,
        detail: impl Into<String>,
    ) -> OpResult<()> {
        self.push(
            core,
            EventKind::OperationStep {
                id: op.id,
                step: step.to_string(),
                detail: detail.into(),
            },
        )
    }

    pub(super) fn flush(&mut self, core: &mut Core) -> OpResult<()> {
        if !self.pending.is_empty() {
            core.emit(ACTOR, std::mem::take(&mut self.pending))?;
        }
        self.last = std::time::Instant::now();
        Ok(())
    }
}
