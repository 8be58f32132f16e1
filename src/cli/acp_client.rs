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
    /// The session of an earlier run to resume with `session/load` (a new session when the
    /// agent cannot load sessions)
    #[arg(long, value_name = "SESSION")]
    resume: Option<String>,
    /// Read the human's answers to permission requests on stdin; its first line,
    /// `{"key": "<key>"}`, is the key every answer must carry (read before the agent starts).
    /// Without it nobody is asked: `ask` is rejected
    #[arg(long)]
    answers_on_stdin: bool,
    /// How long a permission request asked of the human waits for the answer on stdin
    /// before it is rejected [default: $OVERLORD_ACP_PERMISSION_TIMEOUT_SECS, else 600]
    #[arg(long, value_name = "SECS")]
    ask_timeout: Option<u64>,
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
        resume: args.resume,
        answers_on_stdin: args.answers_on_stdin,
        ask_timeout: std::time::Duration::from_secs(
            args.ask_timeout
                .or_else(|| {
                    std::env::var(crate::runtime::acp::client::TIMEOUT_ENV)
                        .ok()
                        .and_then(|v| v.trim().parse().ok())
                })
                .unwrap_or(600)
                .max(1),
        ),
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
