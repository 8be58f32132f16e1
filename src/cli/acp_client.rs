//! `overlord-tui acp-client` (hidden): one turn of an agent that speaks the Agent Client
//! Protocol, printed as native event lines on stdout (run by the `acp` adapter; see
//! docs/adapters.md).

use std::path::PathBuf;

use clap::Args;

use super::output::{Failed, Outcome};

// No doc comment here: the subcommand's help is the `Sub::AcpClient` variant's.
#[derive(Args, Debug)]
pub struct AcpClientArgs {
    /// The task's worktree: the session's cwd, and the only place files are served
    #[arg(long, value_name = "DIR")]
    worktree: PathBuf,
    /// The prompt of the turn
    #[arg(long, allow_hyphen_values = true)]
    prompt: String,
    /// A rule for the agent's permission requests, `<kind> [<glob>]=<allow|ask|deny>`
    /// (repeatable; see docs/adapters.md)
    #[arg(long = "permission", value_name = "RULE")]
    permissions: Vec<String>,
    /// The agent's program and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "AGENT")]
    agent: Vec<String>,
}

pub(super) fn acp_client(args: AcpClientArgs) -> Outcome {
    use crate::runtime::acp::client::{run, AcpTurn};
    let mut rules = Vec::new();
    for arg in &args.permissions {
        match crate::agent::acp_policy::Rule::from_arg(arg) {
            Ok(r) => rules.push(r),
            Err(e) => {
                eprintln!("overlord-tui acp-client: --permission {e}");
                return Err(Failed(2));
            }
        }
    }
    let mut agent = args.agent.into_iter();
    let program = agent.next().unwrap_or_default();
    let turn = AcpTurn {
        worktree: args.worktree,
        prompt: args.prompt,
        program,
        args: agent.collect(),
        rules,
    };
    match run(turn) {
        Ok(true) => Ok(()),
        Ok(false) => Err(Failed(1)),
        Err(e) => {
            eprintln!("overlord-tui acp-client: {e}");
            Err(Failed(2))
        }
    }
}
