//! `overlord-tui status`: the phase, agents, tasks, open concerns, approvals and last
//! checkpoint, in words or (`--json`) the report with the live state (the timeline's newest
//! checkpoints; `--all` every one, and the finished items). A store that cannot be written
//! (read-only here, or records lost) still shows its status, read without writing, under a
//! warning that comes first.

use std::path::PathBuf;

use super::output::{print_json, render_reply, Failed, Outcome, JSON_SCHEMA_VERSION};
use super::session::{open_store_for_audit, workspace, Session};
use crate::protocol::{Command, RejectCode, StatusReport};
use crate::store::StoreError;

/// `status --json`: the report and the live state (with `--all`, every checkpoint and the
/// finished items too).
#[derive(serde::Serialize)]
struct StatusJson<'a> {
    schema_version: u32,
    report: StatusReport,
    store_warning: Option<String>,
    state: &'a crate::protocol::State,
    /// How many checkpoints came before those in `state.checkpoints` (the newest 50; 0 with
    /// `--all`, which lists every one).
    older_checkpoints: usize,
    history: Option<serde_json::Value>,
    warnings: Vec<String>,
}

pub(super) fn status(repo: &Option<PathBuf>, json: bool, all: bool) -> Outcome {
    let ws = workspace(repo)?;
    // A standing warning while the sandbox does not confine agents (same kernel, same config
    // as the owner's).
    let (config, _) = crate::config::Config::load(&ws.config_path(), ".overlord/config.toml");
    let warnings: Vec<String> =
        crate::runtime::sandbox::standing_warning(&config, &crate::runtime::sandbox::probe())
            .into_iter()
            .collect();
    if json {
        return status_json(&ws, all, warnings);
    }
    let mut session = Session::open(&ws)?;
    let blocker = session.write_blocker();
    // Records lost is a failure to report (exit 1); a read-only store is only a note.
    let lost = matches!(blocker, Some(StoreError::Anchor(_)));
    let warning = blocker.as_ref().map(|b| b.to_string());
    let outcome = match warning {
        None => {
            let reply = session.submit(Command::Status)?;
            let refused = reply
                .error
                .as_ref()
                .filter(|e| e.code == RejectCode::Storage);
            match refused {
                None => render_reply(&reply, false),
                // The owner could not write the query's record: show what it holds anyway.
                Some(e) => read_only_status(&mut session, &e.message, true),
            }
        }
        Some(why) => read_only_status(&mut session, &why, lost),
    };
    if all {
        history_counts(&open_store_for_audit(&ws)?)?;
    }
    for w in &warnings {
        println!("warning: {w}");
    }
    outcome
}

/// `status --json`: the live state (its newest checkpoints), or with `--all` the whole
/// state and the finished items.
fn status_json(ws: &crate::workspace::Workspace, all: bool, warnings: Vec<String>) -> Outcome {
    let (state, older_checkpoints, blocker) = match all {
        false => Session::live_state(ws)?,
        true => {
            let mut session = Session::open(ws)?;
            let blocker = session.write_blocker();
            (session.state()?, 0, blocker)
        }
    };
    // Records lost is a failure to report (exit 1); a read-only store is only a note.
    let lost = matches!(blocker, Some(StoreError::Anchor(_)));
    let history = match all {
        true => Some(super::history::everything(&open_store_for_audit(ws)?)?),
        false => None,
    };
    // Typed, straight to text: no `serde_json::Value` tree of the whole state on the way.
    print_json(&StatusJson {
        schema_version: JSON_SCHEMA_VERSION,
        report: StatusReport::from_state(&state, &crate::core::now()),
        store_warning: blocker.map(|b| b.to_string()),
        state: &state,
        older_checkpoints,
        history,
        warnings,
    })?;
    if lost {
        Err(Failed(1))
    } else {
        Ok(())
    }
}

/// How many finished items of each kind there are (`--all` in words), and where to read them.
fn history_counts(store: &crate::store::Store) -> Outcome {
    let mut parts = Vec::new();
    for kind in crate::protocol::items::ITEM_KINDS {
        let page =
            crate::core::history::finished(store, kind, 0, 0).map_err(super::output::fail)?;
        let name = kind.replace("qa_run", "QA run");
        parts.push(crate::protocol::report::plural(page.total as usize, &name));
    }
    println!(
        "History (finished): {} — `overlord-tui history <kind>` lists them",
        parts.join(", ")
    );
    Ok(())
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
