//! An accepted operation as a `Job`: carried out (inline, or on its own thread) to its end,
//! which is recorded whatever happened — an error while publishing is recovered from as a
//! crash would be.

use super::progress::Progress;
use super::recover::recover_refs;
use super::rollback::rollback;
use super::save::save;
use super::step::{finish_events, Finish};
use crate::core::engine::Core;
use crate::core::lock::OperationLock;
use crate::protocol::model::{OperationKind, OperationOutcome, SessionStatus};
use crate::protocol::report::OperationReport;
use crate::protocol::state::step_line;
use crate::protocol::EventKind;

/// An accepted operation, to be carried out (inline, or on its own thread).
#[derive(Debug)]
pub struct Job {
    pub(crate) id: u64,
    /// What the recovery of an interrupted operation did before this one was accepted.
    pub(crate) recovered: Option<String>,
    pub(crate) _lock: OperationLock,
}

impl Job {
    pub fn id(&self) -> u64 {
        self.id
    }
}

/// Carries an accepted operation out and records how it ended.
pub fn run(core: &mut Core, job: Job) -> OperationReport {
    let id = job.id;
    let Some(op) = core.state.operation.clone().filter(|o| o.id == id) else {
        return OperationReport {
            id,
            kind: OperationKind::Save,
            outcome: Some(OperationOutcome::Aborted),
            checkpoint: None,
            steps: Vec::new(),
            message: format!("operation {id} is not in progress"),
        };
    };
    let mut progress = Progress::new();
    let result = match op.kind {
        OperationKind::Save | OperationKind::Integrate => save(core, &op, &mut progress),
        OperationKind::Rollback => rollback(core, &op, &mut progress),
        OperationKind::Promotion => super::promote::promote(core, &op, &mut progress),
    };
    let finish = match result {
        Ok(f) => f,
        Err(e) => {
            let current = core.state.operation.clone().filter(|o| o.id == id);
            match current.filter(|o| o.publish.is_some()) {
                // The refs were about to move: find out whether they did, and finish the
                // job or take back what moved, as a recovery after a crash would.
                Some(now) => match recover_refs(core, &now) {
                    Ok(mut f) => {
                        f.message = format!("{} hit an error while publishing ({e}); {}", op.kind, f.message);
                        f
                    }
                    Err(e2) => Finish {
                        outcome: OperationOutcome::Aborted,
                        message: format!("{} stopped while publishing: {e}; then {e2}; run `overlord-tui audit verify --git`", op.kind),
                        checkpoint: None,
                        status: SessionStatus::AwaitingReview,
                    },
                },
                None => Finish {
                    outcome: OperationOutcome::Aborted,
                    message: format!("{} stopped: {e}; main was not moved", op.kind),
                    checkpoint: None,
                    status: SessionStatus::Active,
                },
            }
        }
    };
    let mut steps = core
        .state
        .operation
        .as_ref()
        .map(|o| o.steps.clone())
        .unwrap_or_default();
    steps.extend(progress.pending.iter().filter_map(|e| match e {
        EventKind::OperationStep { step, detail, .. } => Some(step_line(step, detail)),
        _ => None,
    }));
    if let Err(e) = finish_events(core, &op, &finish, std::mem::take(&mut progress.pending)) {
        tracing::error!(error = %e, "could not record the end of operation {id}");
    }
    if finish.outcome == OperationOutcome::Checkpointed {
        super::candidate::notice(core);
    }
    drop(job);
    OperationReport {
        id,
        kind: op.kind,
        outcome: Some(finish.outcome),
        checkpoint: finish.checkpoint,
        steps,
        message: finish.message,
    }
}
