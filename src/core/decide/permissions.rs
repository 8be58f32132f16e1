//! The permission table: who may give which command. One table for every front end, checked
//! once per command before any rule runs, documented in `docs/governance.md` and tested for
//! every command × every origin. *Agents act freely inside the guard rails; only the human
//! governs.* A refusal is an ordinary rejected command (`unauthorized`), so it is audited.

use crate::protocol::model::Role;
use crate::protocol::{Command, Origin, State, Target};

/// Who is speaking, as the table tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    /// The console, the CLI run by the user, an authorized Discord member.
    Human,
    /// Overlord itself: the supervisor, the monitor, the factory.
    System,
    /// An agent in the project manager's role.
    ProjectManager,
    /// Any other agent.
    Agent,
}

impl Speaker {
    pub fn of(origin: &Origin) -> Speaker {
        match origin {
            Origin::Console { .. } | Origin::Cli { .. } | Origin::Discord { .. } => Speaker::Human,
            Origin::System => Speaker::System,
            Origin::Agent { role, .. } if *role == Some(Role::ProjectManager) => {
                Speaker::ProjectManager
            }
            Origin::Agent { .. } => Speaker::Agent,
        }
    }

    fn is_agent(self) -> bool {
        matches!(self, Speaker::ProjectManager | Speaker::Agent)
    }
}

/// Whether `origin` may give `command` in `state`; the reason when not. (Discord members
/// without the reviewer role are refused before this, by `[discord]`.)
pub fn check(state: &State, origin: &Origin, command: &Command) -> Result<(), String> {
    let who = Speaker::of(origin);
    if command.needs_human() && who != Speaker::Human {
        return Err(format!(
            "/{} is a governance decision: only a human may take it ({} is not one)",
            command.name(),
            origin.actor()
        ));
    }
    if !who.is_agent() {
        // Humans may do everything; Overlord itself everything but the human's decisions.
        return Ok(());
    }
    let agent = match origin {
        Origin::Agent { agent, .. } => agent.as_str(),
        _ => "",
    };
    let pm = who == Speaker::ProjectManager;
    let actor = origin.actor();
    let refuse = |why: &str| Err(format!("{actor} may not {why} (agents may not)"));
    match command {
        // Asking, reporting and proposing: every agent.
        Command::Status
        | Command::Help { .. }
        | Command::Malformed { .. }
        | Command::RaiseConcern(_)
        | Command::RecordHandoff(_)
        | Command::ProposeVariation(_)
        | Command::RequestApproval { .. }
        | Command::Answer { .. }
        // Filing tickets: they wait in the ready-for-robot queue for the human's approval.
        | Command::FileTickets { .. }
        // A promotion asked by an agent waits for the human (`plan::promote`).
        | Command::Promote { .. } => Ok(()),
        // The kill switch, for integrity problems (seed 000 §15): tripping it, never lifting it.
        Command::Pause { target: Target::All } => Ok(()),
        Command::Pause { .. } if pm => Ok(()),
        Command::Pause { .. } => refuse("pause another agent (the project manager or the human may)"),
        Command::Resume { .. } => {
            refuse("resume what a human or the monitor paused: the human lifts the kill switch")
        }
        // Directing other agents: the project manager's job.
        Command::Clarify { .. } | Command::Assign { .. } if pm => Ok(()),
        Command::Clarify { .. } | Command::Assign { .. } => {
            refuse("direct other agents (the project manager or the human may)")
        }
        // A concern is acknowledged and resolved by the role it is addressed to.
        Command::Ack { concern } | Command::Resolve { concern, .. } => {
            match state.concerns.get(concern) {
                Some(c) if c.to == origin.role() => Ok(()),
                Some(c) => Err(format!(
                    "an agent may only acknowledge or resolve concerns addressed to its role ({concern} is for {})",
                    c.to
                )),
                // Unknown: the rule itself says so.
                None => Ok(()),
            }
        }
        // Proposing the first plan (it waits for the human's approval); never replacing one.
        Command::ImportPlan { .. } if state.plan.is_none() => Ok(()),
        Command::ImportPlan { .. } => refuse(
            "replace the plan that is running: propose a change with /propose (a variation) instead",
        ),
        // Reporting on its own task only.
        Command::SetTaskStatus { task, .. } => {
            let own = state.agents.get(agent).and_then(|a| a.task.as_deref());
            if own == Some(task.as_str()) {
                Ok(())
            } else {
                Err(format!(
                    "an agent may only report on its own task ({agent} is on {}, not {task})",
                    own.unwrap_or("no task")
                ))
            }
        }
        Command::RegisterAgent { .. } => refuse("register agents (Overlord or the human does)"),
        Command::NewPlan { .. } => refuse("ask for a new plan (the human does; propose a change with /propose)"),
        // Overlord integrates finished work itself, as each task finishes.
        Command::Integrate => refuse("start an integration (Overlord integrates finished work itself)"),
        // Only the Discord bridge records message links (`concerns::link_message` says so).
        Command::LinkMessage { .. } => Ok(()),
        // Refused above.
        Command::Approve { .. }
        | Command::ApproveTickets { .. }
        | Command::Defer { .. }
        | Command::Reject { .. }
        | Command::Save
        | Command::Rollback { .. }
        | Command::AdoptMain
        | Command::RestoreMain => refuse("take the human's decisions"),
    }
}
