//! `overlord-tui ticket add FILE|-` and `ticket list [--json]`: file seed 002 tickets into
//! the `ready-for-robot` queue (standard input is kept under `.overlord/tickets/inbox/` so
//! the file the audit trail names stays), and show the queue and the approved tickets.

use std::io::Read;
use std::path::PathBuf;

use clap::Subcommand;

use super::cmd::run_command;
use super::output::{fail, print_json, Outcome};
use super::session::{workspace, Session};
use crate::protocol::model::{TaskStatus, Ticket, TicketStatus};
use crate::protocol::{Command, State};

#[derive(Subcommand, Debug)]
pub enum TicketCmd {
    /// File tickets (seed 002 JSON: one ticket, an array, or {"tickets": [...]}) from a file,
    /// or `-` for standard input, into the ready-for-robot queue
    Add {
        file: String,
        #[arg(long)]
        json: bool,
    },
    /// List the tickets: the ready-for-robot queue first, then the approved with their task's
    /// status
    List {
        #[arg(long)]
        json: bool,
    },
}

pub(super) fn ticket(repo: &Option<PathBuf>, cmd: TicketCmd) -> Outcome {
    match cmd {
        TicketCmd::Add { file, json } => add(repo, &file, json),
        TicketCmd::List { json } => list(repo, json),
    }
}

fn add(repo: &Option<PathBuf>, file: &str, json: bool) -> Outcome {
    let path = if file == "-" {
        let ws = workspace(repo)?;
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| fail(format!("cannot read the tickets from standard input: {e}")))?;
        let dir = ws.dir.join("tickets").join("inbox");
        std::fs::create_dir_all(&dir)
            .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
        let stamp = crate::core::now().replace([':', '.'], "");
        let path = dir.join(format!("stdin-{stamp}-{}.json", std::process::id()));
        std::fs::write(&path, text)
            .map_err(|e| fail(format!("cannot write {}: {e}", path.display())))?;
        path
    } else {
        let p = PathBuf::from(file);
        if p.is_absolute() {
            p
        } else {
            std::env::current_dir().map_err(fail)?.join(p)
        }
    };
    run_command(
        repo,
        Command::FileTickets {
            path: path.display().to_string(),
        },
        json,
    )
}

/// The tickets in the order the list shows them: queued first (most urgent first), then
/// the approved.
pub fn ordered(state: &State) -> Vec<&Ticket> {
    let mut all: Vec<&Ticket> = state.tickets.values().collect();
    all.sort_by_key(|t| {
        (
            t.status != TicketStatus::ReadyForRobot,
            t.priority.rank(),
            t.filed_at.clone(),
        )
    });
    all
}

fn task_status(state: &State, id: &str) -> Option<TaskStatus> {
    state.plan.as_ref()?.task(id).map(|t| t.status)
}

fn list(repo: &Option<PathBuf>, json: bool) -> Outcome {
    let ws = workspace(repo)?;
    let state = Session::open(&ws)?.state()?;
    let tickets = ordered(&state);
    if json {
        let rows: Vec<serde_json::Value> = tickets
            .iter()
            .map(|t| {
                let mut v = serde_json::to_value(t).unwrap_or_default();
                v["task_status"] =
                    serde_json::to_value(task_status(&state, &t.id)).unwrap_or_default();
                v
            })
            .collect();
        return print_json(&serde_json::json!({
            "schema_version": super::JSON_SCHEMA_VERSION,
            "tickets": rows,
        }));
    }
    if tickets.is_empty() {
        println!("No tickets: overlord-tui ticket add FILE|-");
        return Ok(());
    }
    let queued = tickets.iter().filter(|t| t.is_queued()).count();
    println!("{queued} ready-for-robot (approve with /approve tickets <ids|all>)");
    for t in tickets {
        let status = match (t.status, task_status(&state, &t.id)) {
            (TicketStatus::Approved, Some(s)) => format!("approved, task {s}"),
            (s, _) => s.as_str().to_string(),
        };
        println!(
            "  {:<14} {:<8} {:<8} {:<22} {}",
            t.id,
            t.kind.as_str(),
            t.priority.as_str(),
            status,
            t.title
        );
        for e in &t.evidence {
            println!("      {e}");
        }
    }
    Ok(())
}
