//! What a decision takes and gives back: the `Context` from outside (the time, a loaded plan,
//! a repository check), the `Outcome` (events, message, reply data), and the rejections every
//! command family builds (`reject`, `unknown` with a did-you-mean).

use crate::protocol::model::Plan;
use crate::protocol::report::ReplyData;
use crate::protocol::{suggest, EventKind, RejectCode, Rejection};

/// What the decision needs from outside: the time, and a plan already read and validated
/// (for `/import`, which the caller loads before taking the write lock).
pub struct Context {
    pub now: String,
    /// Who may command from Discord (`[discord]`).
    pub discord: crate::config::DiscordConfig,
    pub plan: Option<Result<Plan, Rejection>>,
    /// For `/ticket <file>`: the tickets read and checked (before the write lock).
    pub tickets: Option<Result<Vec<crate::core::tickets::TicketDraft>, Rejection>>,
    /// For `/save` and `/rollback`: what the repository check found (the caller runs it,
    /// holding the operation lock, before taking the write lock).
    pub operation: Option<Result<crate::core::ops::Prepared, Rejection>>,
    /// Refused before any rule runs: the speaker is not who the request claimed
    /// (`core::identity`); the command is still recorded, rejected.
    pub refusal: Option<String>,
    /// `[core] kill_switch_concerns`: critical concerns in these categories halt dispatch.
    pub kill_switch_concerns: Vec<String>,
    /// For `/adopt main` and `/restore main`: what the repository check worked out.
    pub protected_ref: Option<Result<crate::core::ops::RefDecision, Rejection>>,
    /// `[git] save = "auto"`: Overlord itself may Save.
    pub auto_save: bool,
}

#[derive(Debug)]
pub struct Outcome {
    pub events: Vec<EventKind>,
    pub message: String,
    pub data: ReplyData,
}

pub(super) fn reject(code: RejectCode, message: impl Into<String>) -> Rejection {
    Rejection::new(code, message)
}

pub(super) fn unknown<'a>(
    what: &str,
    id: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> Rejection {
    let known: Vec<&str> = known.into_iter().collect();
    let message = if known.is_empty() {
        format!("unknown {what} '{id}' (there are none)")
    } else {
        format!("unknown {what} '{id}'")
    };
    reject(RejectCode::UnknownId, message).with_suggestion(suggest(id, known))
}

pub(super) fn none(message: impl Into<String>, events: Vec<EventKind>) -> Outcome {
    Outcome {
        events,
        message: message.into(),
        data: ReplyData::None,
    }
}
