//! The commands that only read: `/status` and `/help`. They change nothing (no events).

use super::outcome::Outcome;
use crate::protocol::report::{HelpEntry, ReplyData, StatusReport};
use crate::protocol::{grammar, State};

/// `/status`: the state as the status report sees it at `now`.
pub(super) fn status(state: &State, now: &str) -> Outcome {
    let report = StatusReport::from_state(state, now);
    Outcome {
        events: vec![],
        message: report.headline(),
        data: ReplyData::Status(Box::new(report)),
    }
}

/// `/help [command]`: every governor's command, or the one named.
pub(super) fn help(command: Option<&str>) -> Outcome {
    let entries: Vec<HelpEntry> = match command {
        Some(c) => grammar::help_entries(Some(c)),
        None => grammar::COMMANDS
            .iter()
            .filter(|s| s.human)
            .flat_map(|s| grammar::help_entries(Some(s.name)))
            .collect(),
    };
    Outcome {
        events: vec![],
        message: help_text(&entries, command.is_some()),
        data: ReplyData::Help(entries),
    }
}

fn help_text(entries: &[HelpEntry], one: bool) -> String {
    let mut out = String::new();
    if !one {
        out.push_str("Commands (the same in the console, the CLI and Discord):\n");
    }
    for e in entries {
        out.push_str(&format!("  {:<44} {}\n", e.usage, e.summary));
    }
    out
}
