//! The rules for concerns: raising one (critical ones reach the human at once),
//! acknowledging, resolving, and the Discord bridge's record of the message that shows one.

use super::lookup::{concern, task_exists};
use super::outcome::{none, reject, Outcome};
use crate::protocol::model::{Concern, ConcernId, ConcernStatus, Role};
use crate::protocol::report::ReplyData;
use crate::protocol::{ConcernDraft, EventKind, Origin, RejectCode, Rejection, State};

/// `/raise …`: a new concern up the chain from the sender's role.
pub(super) fn raise(
    state: &State,
    origin: &Origin,
    d: &ConcernDraft,
    now: &str,
    kill_switch: &[String],
) -> Result<Outcome, Rejection> {
    if d.category.trim().is_empty() {
        return Err(reject(
            RejectCode::InvalidInput,
            "a concern needs a category",
        ));
    }
    if let Some(t) = &d.task {
        task_exists(state, t)?;
    }
    let from = d.from.unwrap_or_else(|| origin.role());
    let to = d.to.unwrap_or_else(|| from.escalates_to());
    let id = ConcernId(state.counters.concerns + 1);
    let concern = Concern {
        raised_by: origin.agent(),
        details: d.details.clone(),
        task: d.task.clone(),
        ..Concern::raised(
            id,
            from,
            to,
            d.severity,
            d.category.clone(),
            d.summary.clone(),
            now.to_string(),
        )
    };
    let mut events = vec![EventKind::ConcernRaised {
        concern: concern.clone(),
    }];
    let mut message = format!("{id} raised ({} → {to}, {})", from, d.severity);
    if d.severity == crate::protocol::model::Severity::Critical && to != Role::Human {
        // Critical concerns reach the human at once.
        events.push(EventKind::ConcernEscalated {
            id,
            to: Role::Human,
            reason: "critical concerns reach the human at once".into(),
        });
        message.push_str(", escalated to the human");
    }
    let integrity = d.severity == crate::protocol::model::Severity::Critical
        && kill_switch.iter().any(|c| c == d.category.trim());
    if integrity && !state.dispatch_halted {
        // Seed 000 §15: an integrity problem stops the swarm at once, whoever saw it.
        events.push(EventKind::DispatchHalted {
            reason: Some(format!(
                "critical concern {id} ({}) from {}: {}",
                d.category.trim(),
                origin.actor(),
                d.summary
            )),
        });
        message.push_str("; kill switch on (dispatch halted, agents suspended)");
    }
    Ok(Outcome {
        events,
        message,
        data: ReplyData::Concern(Box::new(concern)),
    })
}

/// `/ack <concern>`: only an open concern can be acknowledged.
pub(super) fn ack(state: &State, cid: ConcernId) -> Result<Outcome, Rejection> {
    let c = concern(state, cid)?;
    match c.status {
        ConcernStatus::Open => Ok(none(
            format!("{cid} acknowledged"),
            vec![EventKind::ConcernAcknowledged { id: cid }],
        )),
        ConcernStatus::Acknowledged => Err(reject(
            RejectCode::InvalidTransition,
            format!(
                "{cid} is already acknowledged (by {})",
                c.acknowledged_by.as_deref().unwrap_or("someone")
            ),
        )),
        ConcernStatus::Assigned => Err(reject(
            RejectCode::InvalidTransition,
            format!(
                "{cid} is already acknowledged and assigned to {}",
                c.assigned_to.as_deref().unwrap_or("someone")
            ),
        )),
        ConcernStatus::Resolved => Err(reject(
            RejectCode::InvalidTransition,
            format!("{cid} is already resolved"),
        )),
    }
}

/// `/resolve <concern> [note]`.
pub(super) fn resolve(
    state: &State,
    origin: &Origin,
    cid: ConcernId,
    note: &Option<String>,
) -> Result<Outcome, Rejection> {
    let c = concern(state, cid)?;
    if c.status == ConcernStatus::Resolved {
        return Err(reject(
            RejectCode::InvalidTransition,
            format!(
                "{cid} is already resolved (by {})",
                c.resolved_by.as_deref().unwrap_or("someone")
            ),
        ));
    }
    // An agent's permission request: a human answers it with one of the three answers (the
    // supervisor closes it with its own note when the request expired or the run ended).
    if c.category == crate::protocol::permission::CATEGORY && !matches!(origin, Origin::System) {
        let answer = note.as_deref().unwrap_or_default();
        if let Err(e) = crate::protocol::permission::Answer::parse(answer) {
            return Err(reject(RejectCode::InvalidInput, format!("{cid}: {e}")));
        }
    }
    Ok(none(
        format!("{cid} resolved"),
        vec![EventKind::ConcernResolved {
            id: cid,
            note: note.clone(),
        }],
    ))
}

/// `/link <concern> <message id>`: the Discord bridge's own record, from the system only.
pub(super) fn link_message(
    state: &State,
    origin: &Origin,
    cid: ConcernId,
    message: &String,
) -> Result<Outcome, Rejection> {
    if !matches!(origin, Origin::System) {
        return Err(reject(
            RejectCode::Unauthorized,
            "/link is the Discord bridge's own record",
        ));
    }
    concern(state, cid)?;
    if message.is_empty() || !message.bytes().all(|b| b.is_ascii_digit()) {
        return Err(reject(
            RejectCode::InvalidInput,
            format!("{message:?} is not a Discord message id"),
        ));
    }
    Ok(none(
        format!("{cid} is shown by Discord message {message}"),
        vec![EventKind::ConcernMessageLinked {
            id: cid,
            message_id: message.clone(),
        }],
    ))
}
