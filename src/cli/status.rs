//! `overlord-tui status`: the phase, agents, tasks, open concerns, approvals and last
//! checkpoint, in words or (`--json`) the report with the whole state. A store that cannot be
//! written (read-only here, or records lost) still shows its status, read without writing,
//! under a warning that comes first.

use std::path::PathBuf;

use super::output::{print_json, render_reply, Failed, Outcome, JSON_SCHEMA_VERSION};
use super::session::{workspace, Session};
use crate::protocol::{Command, RejectCode, StatusReport};
use crate::store::StoreError;

pub(super) fn status(repo: &Option<PathBuf>, json: bool) -> Outcome {
    let ws = workspace(repo)?;
    let mut session = Session::open(&ws)?;
    let blocker = session.write_blocker();
    // Records lost is a failure to report (exit 1); a read-only store is only a note.
    let lost = matches!(blocker, Some(StoreError::Anchor(_)));
    let warning = blocker.as_ref().map(|b| b.to_string());
    if json {
        let state = session.state()?;
        print_json(&serde_json::json!({
            "schema_version": JSON_SCHEMA_VERSION,
            "report": StatusReport::from_state(&state, &crate::core::now()),
            "store_warning": warning,
            "state": state,
        }))?;
        return if lost { Err(Failed(1)) } else { Ok(()) };
    }
    if warning.is_none() {
        let reply = session.submit(Command::Status)?;
        let refused = reply
            .error
            .as_ref()
            .filter(|e| e.code == RejectCode::Storage);
        match refused {
            None => return render_reply(&reply, false),
            // The owner could not write the query's record: show what it holds anyway.
            Some(e) => return read_only_status(&mut session, &e.message, true),
        }
    }
    read_only_status(&mut session, warning.as_deref().unwrap_or_default(), lost)
}

/// The status read from the state without writing, under the reason nothing can be written.
fn read_only_status(session: &mut Session, why: &str, failed: bool) -> Outcome {
    let mark = if failed { "WARNING" } else { "note" };
    println!("{mark}: {why}");
    if failed {
        eprintln!("{mark}: {why}");
    }
    let state = session.state()?;
    print!(
        "{}",
        StatusReport::from_state(&state, &crate::core::now()).render_text()
    );
    if failed {
        Err(Failed(1))
    } else {
        Ok(())
    }
}
