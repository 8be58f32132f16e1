//! `overlord-tui script-agent` (hidden): the scripted agent, replaying a TOML script as native
//! event lines on stdout (run by the scripted adapter; see docs/adapters.md).

use std::path::PathBuf;

use clap::Args;

use super::output::{fail, Failed, Outcome};

// No doc comment here: the subcommand's help is the `Sub::ScriptAgent` variant's.
#[derive(Args, Debug)]
pub struct ScriptAgentArgs {
    /// The script folder, relative to $OVERLORD_REPO (else to the current directory)
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// Answer the prompt as a clarification in this session instead of running the steps
    #[arg(long, value_name = "SESSION")]
    resume: Option<String>,
    /// The prompt (on --resume, the question)
    #[arg(allow_hyphen_values = true)]
    prompt: String,
}

pub(super) fn script_agent(args: ScriptAgentArgs) -> Outcome {
    use crate::runtime::script;
    let ScriptAgentArgs {
        dir,
        resume,
        prompt,
    } = args;
    let cwd = std::env::current_dir().map_err(fail)?;
    let overlord = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("overlord-tui"));
    let run = script::ScriptRun {
        dir,
        resume,
        prompt,
        cwd,
        overlord,
    };
    let stdout = std::io::stdout();
    let code = script::run_from_env(&run, &mut stdout.lock());
    if code == script::EXIT_OK {
        Ok(())
    } else {
        Err(Failed(code))
    }
}
