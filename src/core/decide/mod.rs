//! The lifecycle rules: given the state and a command, either the events that carry it out
//! or a clear rejection. Pure: no clock (the time comes in `Context`), no I/O, nothing
//! changes here — the caller appends the events and folds them in.
//!
//! This file checks who may command (once, for every command) and hands each command to the
//! rules of its family: `queries` (/status, /help), `agents` (/agent, /clarify, /answer,
//! /assign, /pause, /resume), `concerns` (/raise, /ack, /resolve, /link), `approvals`
//! (/approve, /defer, /reject, /request), `variations` (/handoff, /propose), `plan`
//! (/import, /task, /promote), `tickets` (/ticket, /approve tickets) and `operations` (/save, /rollback, /adopt, /restore). `outcome` and `lookup`
//! are what the families share.

mod agents;
mod approvals;
mod concerns;
mod lookup;
mod operations;
mod outcome;
pub mod permissions;
mod plan;
mod queries;
mod tickets;
mod variations;

pub use outcome::{Context, Outcome};

use crate::protocol::{Command, Origin, RejectCode, Rejection, State};

pub fn decide(
    state: &State,
    origin: &Origin,
    command: &Command,
    ctx: &Context,
) -> Result<Outcome, Rejection> {
    authorize(state, origin, command, ctx)?;
    let now = ctx.now.as_str();
    match command {
        Command::Status => Ok(queries::status(state, now)),
        Command::Malformed {
            error, suggestion, ..
        } => Err(Rejection {
            code: RejectCode::Usage,
            message: error.clone(),
            suggestion: suggestion.clone(),
        }),
        Command::Help { command } => Ok(queries::help(command.as_deref())),
        Command::RegisterAgent {
            id,
            role,
            adapter,
            task,
        } => agents::register(state, id, *role, adapter.as_deref(), task.as_ref(), now),
        Command::Clarify { agent, message } => agents::clarify(state, origin, agent, message, now),
        Command::Answer {
            clarification,
            text,
        } => agents::answer(state, *clarification, text),
        Command::Assign {
            agent,
            concern,
            text,
        } => agents::assign(state, agent, *concern, text),
        Command::Pause { target } => agents::pause(state, origin, target),
        Command::Resume { target } => agents::resume(state, target),
        Command::RaiseConcern(d) => {
            concerns::raise(state, origin, d, now, &ctx.kill_switch_concerns)
        }
        Command::Ack { concern } => concerns::ack(state, *concern),
        Command::Resolve { concern, note } => concerns::resolve(state, origin, *concern, note),
        Command::LinkMessage { concern, message } => {
            concerns::link_message(state, origin, *concern, message)
        }
        Command::Approve {
            target,
            conditions,
            note,
        } => approvals::approve(state, origin, target, conditions, note, ctx),
        Command::Defer { target, note } => approvals::defer(state, target, note),
        Command::Reject { target, reason } => approvals::reject_approval(state, target, reason),
        Command::RequestApproval {
            kind,
            subject,
            from,
            summary,
        } => approvals::request(state, origin, *kind, subject, *from, summary, now),
        Command::RecordHandoff(d) => variations::record_handoff(state, origin, d, now),
        Command::ProposeVariation(d) => variations::propose(state, origin, d, now),
        Command::ImportPlan { path } => plan::import(state, origin, path, ctx),
        Command::FileTickets { path } => tickets::file_tickets(state, origin, path, ctx),
        Command::NewPlan { goal } => tickets::plan_requested(goal),
        Command::ApproveTickets { tickets } => tickets::approve(state, tickets, ctx),
        Command::SetTaskStatus { task, status, note } => {
            plan::set_task_status(state, task, *status, note)
        }
        Command::Promote { phase } => plan::promote(state, origin, command, phase, ctx),
        Command::Save | Command::Integrate | Command::Rollback { .. } => {
            operations::start(state, origin, command, ctx)
        }
        Command::AdoptMain | Command::RestoreMain => operations::protected_ref(command, ctx),
    }
}

/// The phase whose pending promotion `/approve <target>` names, if it names one: approving
/// it carries the promotion out (an operation, prepared as `/promote <phase>` is).
pub fn promotion_approved(state: &State, command: &Command) -> Option<String> {
    let Command::Approve { target, .. } = command else {
        return None;
    };
    approvals::approval_target(state, target)
        .ok()
        .filter(|a| {
            a.kind == crate::protocol::model::ApprovalKind::PhasePromotion && a.is_pending()
        })
        .map(|a| a.subject.clone())
}

/// Who may give `command`: Discord users only when `[discord]` lets them, then the permission
/// table (`permissions`).
fn authorize(
    state: &State,
    origin: &Origin,
    command: &Command,
    ctx: &Context,
) -> Result<(), Rejection> {
    if let Some(why) = &ctx.refusal {
        return Err(outcome::reject(RejectCode::Unauthorized, why.clone()));
    }
    if let Origin::Discord { user_id, roles, .. } = origin {
        if !ctx.discord.authorizes(user_id, roles) {
            return Err(outcome::reject(
                RejectCode::Unauthorized,
                format!(
                    "{} may not command Overlord: ask for a reviewer role (`[discord] reviewer_role_ids`) or to be allow-listed (`allowed_user_ids`)",
                    origin.actor()
                ),
            ));
        }
    }
    // `[git] save = "auto"`: Overlord Saves by itself (the QA policy still decides).
    if matches!(command, Command::Save) && matches!(origin, Origin::System) && ctx.auto_save {
        return Ok(());
    }
    permissions::check(state, origin, command)
        .map_err(|why| outcome::reject(RejectCode::Unauthorized, why))
}
