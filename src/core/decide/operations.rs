//! The rules for starting a repository operation (`/save`, `/rollback`, `/promote`): one at a time, and
//! only after the caller's repository check; the work itself is the core's (`core::ops`).

use super::outcome::{none, reject, Context, Outcome};
use crate::protocol::model::OperationKind;
use crate::protocol::report::{OperationReport, ReplyData};
use crate::protocol::{Command, Origin, RejectCode, Rejection, State};

/// `/save`, `/rollback …` or the human's `/promote <phase>` (its rules checked by
/// `plan::promote`): the events that start the operation the check prepared.
pub(super) fn start(
    state: &State,
    origin: &Origin,
    command: &Command,
    ctx: &Context,
) -> Result<Outcome, Rejection> {
    let kind = match command {
        Command::Save => OperationKind::Save,
        Command::Integrate => OperationKind::Integrate,
        Command::Promote { .. } => OperationKind::Promotion,
        _ => OperationKind::Rollback,
    };
    if let Some(op) = &state.operation {
        return Err(reject(
            RejectCode::Conflict,
            format!(
                "{} {} is running (started {} by {}); wait for it to finish",
                op.kind, op.id, op.started_at, op.requested_by
            ),
        ));
    }
    let prepared = match &ctx.operation {
        Some(Ok(p)) => p,
        Some(Err(r)) => return Err(r.clone()),
        None => {
            return Err(reject(
                RejectCode::Unavailable,
                format!(
                    "/{} needs the repository check first; nothing was changed",
                    command.name()
                ),
            ))
        }
    };
    let (events, op) =
        crate::core::ops::start_events(state, kind, prepared, &origin.actor(), &ctx.now);
    let message = match (&op.rollback, kind) {
        (_, OperationKind::Promotion) => match &op.promotion {
            Some(p) => format!(
                "promotion {} of {} started: QA with the promotion policy on {} ({}), then tag {}{}",
                op.id,
                p.phase,
                prepared.session.main,
                crate::git::short(&p.commit),
                p.tag,
                if p.release_branch == prepared.session.main {
                    String::new()
                } else {
                    format!(" and move {} there", p.release_branch)
                }
            ),
            None => format!("promotion {} started", op.id),
        },
        (Some(t), _) => match &t.branch {
            Some(b) => format!(
                "rollback {} started: {} onto new branch {b}",
                op.id, t.checkpoint
            ),
            None => format!("rollback {} started: restoring {}", op.id, t.checkpoint),
        },
        _ => format!(
            "{} {} started: {} finished task branch{} to integrate{}",
            if kind == OperationKind::Save {
                "Save"
            } else {
                "integration"
            },
            op.id,
            op.tasks.len(),
            if op.tasks.len() == 1 { "" } else { "es" },
            held_note(&op.held)
        ),
    };
    Ok(Outcome {
        events,
        message: message.clone(),
        data: ReplyData::Operation(Box::new(OperationReport {
            id: op.id,
            kind,
            outcome: None,
            checkpoint: None,
            steps: Vec::new(),
            message,
        })),
    })
}

/// "; held back: …" when governance holds finished tasks back from integration.
fn held_note(held: &[String]) -> String {
    if held.is_empty() {
        String::new()
    } else {
        format!("; held back: {}", held.join("; "))
    }
}

/// `/adopt main`, `/restore main`: the events the repository check worked out
/// (`ops::adopt`); its refusal when there is nothing to decide.
pub(super) fn protected_ref(command: &Command, ctx: &Context) -> Result<Outcome, Rejection> {
    match &ctx.protected_ref {
        Some(Ok(d)) => Ok(none(d.message.clone(), d.events.clone())),
        Some(Err(r)) => Err(r.clone()),
        None => Err(reject(
            RejectCode::Unavailable,
            format!(
                "/{} needs the repository check first; nothing was changed",
                command.name()
            ),
        )),
    }
}
