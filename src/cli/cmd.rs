//! `overlord-tui cmd '<line>'`: one console command run headlessly, and the way every
//! subcommand that is a core command submits it (a Save or rollback follows its progress).

use std::path::PathBuf;

use super::output::{print_json, render_reply, Failed, Outcome, JSON_SCHEMA_VERSION};
use super::save::run_operation;
use super::session::{locate, workspace, Session};
use crate::protocol::{parse, Command};

/// `cmd`: the line in the console's grammar; a line that does not parse is a usage error.
pub(super) fn cmd(repo: &Option<PathBuf>, line: &str, json: bool) -> Outcome {
    let command = match parse(line) {
        Ok(c) => c,
        Err(e) => {
            if json {
                let _ = print_json(&serde_json::json!({
                    "schema_version": JSON_SCHEMA_VERSION,
                    "ok": false,
                    "error": { "code": "usage", "message": e.to_string(), "suggestion": e.suggestion },
                }));
            }
            eprintln!("error: {e}");
            record_refusal(repo, e.into_command(line));
            return Err(Failed(2));
        }
    };
    run_command(repo, command, json)
}

/// A line that did not parse is still a refused command: the core records it and its refusal
/// in the audit trail (the user was already told why). Nothing to record into before `init`,
/// and nothing more to say if the store cannot be reached.
fn record_refusal(repo: &Option<PathBuf>, command: Command) {
    let Ok(ws) = locate(repo) else {
        return;
    };
    if !ws.is_initialized() {
        return;
    }
    if let Ok(mut session) = Session::open(&ws) {
        let _ = session.submit(command);
    }
}

pub(super) fn run_command(repo: &Option<PathBuf>, command: Command, json: bool) -> Outcome {
    if matches!(
        command,
        Command::Save | Command::Rollback { .. } | Command::Promote { .. }
    ) {
        return run_operation(repo, command, json);
    }
    let ws = workspace(repo)?;
    let mut session = Session::open_for(&ws, &command)?;
    let reply = session.submit(command)?;
    render_reply(&reply, json)
}
