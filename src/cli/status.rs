//! `overlord-tui status`: the phase, agents, tasks, open concerns, approvals and last
//! checkpoint, in words or (`--json`) the report with the whole state.

use std::path::PathBuf;

use super::output::{print_json, render_reply, Outcome, JSON_SCHEMA_VERSION};
use super::session::{workspace, Session};
use crate::protocol::{Command, StatusReport};

pub(super) fn status(repo: &Option<PathBuf>, json: bool) -> Outcome {
    let ws = workspace(repo)?;
    let mut session = Session::open(&ws)?;
    // A standing warning while the sandbox does not confine agents (same kernel, same config
    // as the owner's).
    let (config, _) = crate::config::Config::load(&ws.config_path(), ".overlord/config.toml");
    let warnings: Vec<String> =
        crate::runtime::sandbox::standing_warning(&config, &crate::runtime::sandbox::probe())
            .into_iter()
            .collect();
    if json {
        let state = session.state()?;
        print_json(&serde_json::json!({
            "schema_version": JSON_SCHEMA_VERSION,
            "report": StatusReport::from_state(&state, &crate::core::now()),
            "state": state,
            "warnings": warnings,
        }))
    } else {
        let reply = session.submit(Command::Status)?;
        render_reply(&reply, false)?;
        for w in &warnings {
            println!("warning: {w}");
        }
        Ok(())
    }
}
