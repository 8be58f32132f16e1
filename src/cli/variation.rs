//! `overlord-tui variation propose`: an agent or a script proposes a change of scope,
//! architecture or expected outcome; high impact waits for the human's approval.

use std::path::PathBuf;

use clap::Subcommand;

use super::cmd::run_command;
use super::output::Outcome;
use crate::protocol::model::{Impact, Role};
use crate::protocol::{Command, VariationDraft};

#[derive(Subcommand, Debug)]
pub enum VariationCmd {
    /// Propose a variation; `high` impact asks the human (a pending approval), `low` and
    /// `medium` are logged
    Propose {
        /// The role proposing it (default: $OVERLORD_ROLE, the role of the agent running it)
        #[arg(long, value_name = "ROLE")]
        from: Option<Role>,
        #[arg(long, value_name = "low|medium|high")]
        impact: Impact,
        #[arg(long, value_name = "TEXT")]
        title: String,
        /// Why the change is needed
        #[arg(long, value_name = "TEXT")]
        rationale: Option<String>,
        /// A file or module it affects (repeatable)
        #[arg(long = "affects", value_name = "FILE")]
        affects: Vec<String>,
        #[arg(long)]
        json: bool,
    },
}

pub(super) fn variation(repo: &Option<PathBuf>, cmd: VariationCmd) -> Outcome {
    let VariationCmd::Propose {
        from,
        impact,
        title,
        rationale,
        affects,
        json,
    } = cmd;
    run_command(
        repo,
        Command::ProposeVariation(VariationDraft {
            from,
            impact,
            title,
            rationale,
            affects,
        }),
        json,
    )
}
