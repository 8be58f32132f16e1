//! The ids a command takes in each position, as the state offers them: the console's
//! completion and Discord's autocomplete both come from here.

use super::State;

/// What a command's argument is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    Agent,
    /// An agent, or `all`.
    AgentOrAll,
    /// An open concern.
    Concern,
    /// A pending approval or an undecided variation.
    Target,
    /// A checkpoint (newest first), or `undo`.
    Checkpoint,
    Phase,
    Task,
}

/// The kind of the first argument of each command that takes an id.
pub fn first_arg(command: &str) -> Option<IdKind> {
    Some(match command {
        "clarify" | "assign" => IdKind::Agent,
        "pause" | "resume" => IdKind::AgentOrAll,
        "ack" | "resolve" => IdKind::Concern,
        "approve" | "defer" | "reject" => IdKind::Target,
        "rollback" => IdKind::Checkpoint,
        "promote" => IdKind::Phase,
        "task" => IdKind::Task,
        _ => return None,
    })
}

/// Every id of `kind` the state has now, in the order a person would look for them.
pub fn ids(kind: IdKind, state: &State) -> Vec<String> {
    match kind {
        IdKind::Agent => state.agents.keys().cloned().collect(),
        IdKind::AgentOrAll => {
            let mut v: Vec<String> = state.agents.keys().cloned().collect();
            v.push("all".into());
            v
        }
        IdKind::Concern => state.open_concerns().map(|c| c.id.to_string()).collect(),
        IdKind::Target => {
            let mut v: Vec<String> = state
                .pending_approvals()
                .map(|a| a.id.to_string())
                .collect();
            v.extend(
                state
                    .variations
                    .values()
                    .filter(|v| v.decision.is_none())
                    .map(|v| v.id.to_string()),
            );
            v
        }
        IdKind::Checkpoint => {
            let mut v: Vec<String> = state
                .checkpoints
                .iter()
                .rev()
                .map(|c| c.name.trim_start_matches("checkpoint/").to_string())
                .collect();
            v.push("undo".into());
            v
        }
        IdKind::Phase => state
            .plan
            .as_ref()
            .map(|p| p.phases.iter().map(|p| p.id.clone()).collect())
            .unwrap_or_default(),
        IdKind::Task => state
            .plan
            .as_ref()
            .map(|p| p.tasks().map(|t| t.id.clone()).collect())
            .unwrap_or_default(),
    }
}
