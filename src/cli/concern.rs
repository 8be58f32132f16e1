//! `overlord-tui concern raise`: an agent or a script raises a concern up the chain.

use std::path::PathBuf;

use clap::Subcommand;

use super::cmd::run_command;
use super::output::Outcome;
use crate::protocol::model::{Role, Severity};
use crate::protocol::{Command, ConcernDraft};

#[derive(Subcommand, Debug)]
pub enum ConcernCmd {
    /// Raise a concern up the chain (Implementer → Designer → PM → Human)
    Raise {
        /// The role raising it (default: $OVERLORD_ROLE, the role of the agent running it)
        #[arg(long, value_name = "ROLE")]
        from: Option<Role>,
        /// Where it goes first (default: the next role up the chain)
        #[arg(long, value_name = "ROLE")]
        to: Option<Role>,
        #[arg(long, value_name = "info|warning|critical")]
        severity: Severity,
        /// e.g. design_gap, test_failure, schedule_risk, compliance
        #[arg(long, value_name = "CAT")]
        category: String,
        /// The task it concerns
        #[arg(long, value_name = "TASK")]
        task: Option<String>,
        #[arg(long, value_name = "TEXT")]
        details: Option<String>,
        summary: String,
        #[arg(long)]
        json: bool,
    },
}

pub(super) fn concern(repo: &Option<PathBuf>, cmd: ConcernCmd) -> Outcome {
    let ConcernCmd::Raise {
        from,
        to,
        severity,
        category,
        task,
        details,
        summary,
        json,
    } = cmd;
    run_command(
        repo,
        Command::RaiseConcern(ConcernDraft {
            from,
            to,
            severity,
            category,
            summary,
            details,
            task,
        }),
        json,
    )
}
