//! `overlord-tui save` and `overlord-tui rollback`: a Save or rollback run here, or in the
//! running console/serve whose progress is followed over the socket, with each step on
//! stderr and the outcome on stdout.

use std::path::PathBuf;

use clap::Args;

use super::output::{fail, render_reply, Outcome};
use super::session::{execute_here, origin, workspace, Session};
use crate::core::ipc::{Client, IpcResponse};
use crate::core::Core;
use crate::protocol::model::{OperationKind, OperationOutcome};
use crate::protocol::report::OperationReport;
use crate::protocol::{Command, Event, EventKind, RejectCode, Rejection, Reply, ReplyData, State};

// No doc comment here: the subcommand's help is the `Sub::Rollback` variant's.
#[derive(Args, Debug)]
pub struct RollbackArgs {
    /// A checkpoint name (`checkpoint/20261121-001` or `20261121-001`), or `undo`
    checkpoint: String,
    /// Restore on this new branch (worktree in .overlord/restore/) instead of moving main
    #[arg(long, value_name = "NAME")]
    branch: Option<String>,
    /// Why (recorded in the commit's trailers and the audit trail)
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
    #[arg(long)]
    json: bool,
}

pub(super) fn save(repo: &Option<PathBuf>, json: bool) -> Outcome {
    run_operation(repo, Command::Save, json)
}

pub(super) fn rollback(repo: &Option<PathBuf>, args: RollbackArgs) -> Outcome {
    let RollbackArgs {
        checkpoint,
        branch,
        reason,
        json,
    } = args;
    run_operation(
        repo,
        Command::Rollback {
            checkpoint,
            branch,
            reason,
        },
        json,
    )
}

/// A Save or rollback: runs here (or in the running console/serve, whose progress is followed
/// over the socket), printing each step on stderr and the outcome on stdout.
pub(super) fn run_operation(repo: &Option<PathBuf>, command: Command, json: bool) -> Outcome {
    let ws = workspace(repo)?;
    match Session::open(&ws)? {
        Session::Local(core) => run_here(core, command, json),
        Session::Remote(client) => follow_owner(&ws.socket_path(), client, command, json),
    }
}

/// An operation's step on stderr (not with `--json`).
fn show_step(e: &Event, json: bool) {
    if let EventKind::OperationStep { step, detail, .. } = &e.kind {
        if !json {
            eprintln!("  {step}: {detail}");
        }
    }
}

/// No owner runs: the operation in this process, its steps printed as the core emits them.
fn run_here(mut core: Box<Core>, command: Command, json: bool) -> Outcome {
    let mut rx = core.subscribe();
    let printer = std::thread::spawn(move || {
        while let Ok(e) = rx.blocking_recv() {
            show_step(&e, json);
        }
    });
    let reply = execute_here(&mut core, command);
    drop(core);
    let _ = printer.join();
    render_reply(&reply, json)
}

/// The owner runs it: submitted over the socket, followed through the owner's events to its
/// end.
fn follow_owner(
    socket: &std::path::Path,
    mut client: Client,
    command: Command,
    json: bool,
) -> Outcome {
    // Follow the owner's events from before the command, so no step is missed.
    let mut events = Client::connect(socket)
        .ok_or_else(|| fail("the running overlord-tui stopped answering"))?;
    events.subscribe().map_err(fail)?;
    let reply = client.submit(origin(), command).map_err(fail)?;
    let id = match (&reply.data, reply.ok) {
        (ReplyData::Operation(op), true) => op.id,
        _ => return render_reply(&reply, json),
    };
    if !json {
        eprintln!("{}", reply.message);
    }
    loop {
        match events.next_event().map_err(fail)? {
            IpcResponse::Event { event } => {
                show_step(&event, json);
                if let EventKind::OperationFinished {
                    id: done,
                    outcome,
                    message,
                    kind,
                } = &event.kind
                {
                    if *done == id {
                        let state = client.snapshot().map_err(fail)?;
                        let finished = finished_reply(reply, &state, id, *kind, *outcome, message);
                        return render_reply(&finished, json);
                    }
                }
            }
            IpcResponse::Lagged { .. } => {}
            other => return Err(fail(format!("unexpected answer from the owner: {other:?}"))),
        }
    }
}

/// The reply the owner's operation ended with, as if it had run here: its outcome, message
/// and (when it made one) the new checkpoint.
fn finished_reply(
    started: Reply,
    state: &State,
    id: u64,
    kind: OperationKind,
    outcome: OperationOutcome,
    message: &str,
) -> Reply {
    let checkpoint = state
        .checkpoints
        .last()
        .filter(|_| outcome == OperationOutcome::Checkpointed)
        .cloned();
    let ok = outcome.is_success();
    let report = OperationReport {
        id,
        kind,
        outcome: Some(outcome),
        checkpoint,
        steps: Vec::new(),
        message: message.to_string(),
    };
    Reply {
        ok,
        message: message.to_string(),
        error: (!ok).then(|| Rejection::new(RejectCode::Failed, message.to_string())),
        data: ReplyData::Operation(Box::new(report)),
        ..started
    }
}
