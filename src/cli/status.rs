//! `overlord-tui status`: the phase, agents, tasks, open concerns, approvals and last
//! checkpoint, in words or (`--json`) the report with the whole state.

use std::path::PathBuf;

use super::output::{print_json, render_reply, Outcome, JSON_SCHEMA_VERSION};
use super::session::{workspace, Session};
use crate::protocol::{Command, StatusReport};

pub(super) fn status(repo: &Option<PathBuf>, json: bool) -> Outcome {
    let ws = workspace(repo)?;
    let mut session = Session::open(&ws)?;
    if json {
        let state = session.state()?;
        print_json(&serde_json::json!({
            "schema_version": JSON_SCHEMA_VERSION,
            "report": StatusReport::from_state(&state, &crate::core::now()),
            "state": state,
        }))
    } else {
        let reply = session.submit(Command::Status)?;
        render_reply(&reply, false)
    }
}
