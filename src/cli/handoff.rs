//! `overlord-tui handoff`: an agent or a script records a hand-off between roles.

use std::path::PathBuf;

use clap::Args;

use super::cmd::run_command;
use super::output::{Failed, Outcome};
use super::session::origin;
use crate::protocol::model::{Impact, Role};
use crate::protocol::{Command, HandoffDraft, Origin};

#[derive(Args, Debug)]
pub struct HandoffArgs {
    /// Default: $OVERLORD_ROLE (the role of the agent running it)
    #[arg(long, value_name = "ROLE")]
    from: Option<Role>,
    #[arg(long, value_name = "ROLE")]
    to: Role,
    #[arg(long, value_name = "TEXT")]
    purpose: String,
    #[arg(long, value_name = "TEXT")]
    summary: String,
    /// An input artifact (repeatable)
    #[arg(long = "input", value_name = "FILE")]
    inputs: Vec<String>,
    /// An output artifact (repeatable)
    #[arg(long = "output", value_name = "FILE")]
    outputs: Vec<String>,
    /// `high` makes it a variation for the human to review
    #[arg(long, value_name = "low|medium|high")]
    impact: Option<Impact>,
    /// e.g. completed, awaiting_approval (default completed)
    #[arg(long, value_name = "STATUS")]
    status: Option<String>,
    #[arg(long, value_name = "TASK")]
    task: Option<String>,
    #[arg(long)]
    json: bool,
}

pub(super) fn handoff(repo: &Option<PathBuf>, h: HandoffArgs) -> Outcome {
    run_command(
        repo,
        Command::RecordHandoff(HandoffDraft {
            from: match h.from {
                Some(r) => r,
                None => match origin() {
                    o @ Origin::Agent { .. } => o.role(),
                    _ => {
                        eprintln!("error: --from <ROLE> is needed (it defaults to $OVERLORD_ROLE only for agents)");
                        return Err(Failed(2));
                    }
                },
            },
            to: h.to,
            purpose: h.purpose,
            summary: h.summary,
            inputs: h.inputs,
            outputs: h.outputs,
            impact: h.impact,
            status: h.status,
            task: h.task,
        }),
        h.json,
    )
}
