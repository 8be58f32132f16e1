//! Raising a concern as the system (from the project manager to the human, or any draft),
//! through `Core::execute` like every command.

use super::engine::Core;
use crate::protocol::command::ConcernDraft;
use crate::protocol::model::{Concern, Role, Severity};
use crate::protocol::{Command, Origin, ReplyData};

/// Raises a concern from the project manager to the human.
pub(crate) fn raise(
    core: &mut Core,
    severity: Severity,
    category: &str,
    summary: String,
    details: String,
    task: Option<String>,
) {
    raise_draft(
        core,
        ConcernDraft {
            from: Some(Role::ProjectManager),
            to: Some(Role::Human),
            severity,
            category: category.to_string(),
            summary,
            details: Some(details),
            task,
        },
    );
}

/// Raises a concern as the system; the concern, or `None` (logged) when it was refused.
pub(crate) fn raise_draft(core: &mut Core, draft: ConcernDraft) -> Option<Concern> {
    let reply = core.execute(Origin::System, Command::RaiseConcern(draft));
    match reply.data {
        ReplyData::Concern(c) => Some(*c),
        _ => {
            tracing::error!(message = %reply.message, "could not raise a concern");
            None
        }
    }
}
