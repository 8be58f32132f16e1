//! The headless front end: every console command as a CLI subcommand, with `--json` output
//! (schema in docs/cli.md). Exit codes: 0 ok, 1 the operation failed, 2 usage error.
//!
//! This file holds the command line itself (`Cli`, `Sub`), the entry point and the dispatch
//! to one file per subcommand family; what they share (output, session, logging, owning the
//! repository) is in the leaf modules beside them.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::workspace::Workspace;

// Everything the CLI prints passes one sanitizer (`protocol::visible`): agents write concern
// summaries, plan titles, commit messages and file names, and none of it may reach the
// terminal as an escape sequence. These shadow the standard printing macros for every module
// declared below, so no call site can forget it (`output::put` writes; a closed pipe, as in
// `status | head`, ends the output quietly instead of panicking).
macro_rules! print {
    ($($arg:tt)*) => { $crate::cli::output::put(false, &format!($($arg)*)) };
}
macro_rules! println {
    () => { $crate::cli::output::put(false, "\n") };
    ($($arg:tt)*) => { $crate::cli::output::put(false, &format!("{}\n", format_args!($($arg)*))) };
}
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::cli::output::put(true, &format!($($arg)*)) };
}
macro_rules! eprintln {
    () => { $crate::cli::output::put(true, "\n") };
    ($($arg:tt)*) => { $crate::cli::output::put(true, &format!("{}\n", format_args!($($arg)*))) };
}

mod acp_client;
mod agents;
mod audit;
mod cmd;
mod concern;
#[cfg(feature = "tui")]
mod console;
mod demo;
mod deps;
mod diff;
mod digest;
#[cfg(feature = "discord")]
mod discord;
mod discover;
mod handoff;
mod history;
mod init;
mod logging;
mod metrics;
mod output;
mod owner;
mod plan;
mod qa;
mod sandbox_exec;
mod save;
mod script_agent;
mod serve;
mod session;
mod status;
mod ticket;
mod variation;
mod worktree;

pub use acp_client::AcpClientArgs;
pub use audit::AuditCmd;
pub use concern::ConcernCmd;
pub use demo::DemoArgs;
pub use deps::DepsCmd;
pub use diff::DiffArgs;
pub use discover::DiscoverArgs;
pub use handoff::HandoffArgs;
pub use metrics::MetricsArgs;
pub use output::JSON_SCHEMA_VERSION;
pub use plan::PlanCmd;
pub use qa::{QaArgs, QaCmd};
pub use sandbox_exec::SandboxExecArgs;
pub use save::RollbackArgs;
pub use script_agent::ScriptAgentArgs;
pub use ticket::TicketCmd;
pub use variation::VariationCmd;
pub use worktree::WorktreeCmd;

use logging::init_logging;
use output::{Failed, Outcome};

#[derive(Parser, Debug)]
#[command(
    name = "overlord-tui",
    version,
    about = "A governed swarm of AI coding agents on one git repository",
    long_about = "A governed swarm of AI coding agents on one git repository.\n\n\
        Every console command is also a subcommand here; `overlord-tui cmd '/help'` lists the \
        command grammar shared by the console, the CLI and Discord.",
    arg_required_else_help = false
)]
pub struct Cli {
    /// The repository to work on (default: the one containing the current directory)
    #[arg(long, global = true, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Sub>,
}

#[derive(Subcommand, Debug)]
pub enum Sub {
    /// Set Overlord up in this git repository (.overlord/: store, config, QA policy)
    Init {
        #[arg(long)]
        json: bool,
    },
    /// Run one console command headlessly, e.g. `overlord-tui cmd '/ack C-1'`
    Cmd {
        /// The command line, in the console's grammar (see `overlord-tui cmd /help`)
        line: String,
        #[arg(long)]
        json: bool,
    },
    /// Show the phase, agents, tasks, open concerns, approvals and last checkpoint
    Status {
        #[arg(long)]
        json: bool,
        /// Also every checkpoint (`--json` shows the newest 50) and every finished concern,
        /// approval, variation, question and QA run (the live state keeps only the newest)
        #[arg(long)]
        all: bool,
    },
    /// Finished concerns, approvals, variations, questions or QA runs, a page at a time
    History(history::HistoryArgs),
    /// Import or show the plan
    #[command(subcommand)]
    Plan(PlanCmd),
    /// Run the discovery analysts (coverage, logs) and file what they find as tickets
    Discover(DiscoverArgs),
    /// File seed 002 tickets into the ready-for-robot queue, or list them
    #[command(subcommand)]
    Ticket(TicketCmd),
    /// Raise a concern (agents and scripts)
    #[command(subcommand)]
    Concern(ConcernCmd),
    /// Record a hand-off between roles (agents and scripts)
    Handoff(HandoffArgs),
    /// Propose a variation: a change of scope, architecture or expected outcome (agents and
    /// scripts); high impact waits for the human's approval
    #[command(subcommand)]
    Variation(VariationCmd),
    /// The scripted agent: replays a TOML script from DIR as native event lines on stdout
    /// (run by the scripted adapter; see docs/adapters.md)
    #[command(hide = true)]
    ScriptAgent(ScriptAgentArgs),
    /// The agents' sandbox: restrict this process with Landlock to write only the given
    /// paths, then run PROGRAM (the supervisor starts every agent CLI this way; see
    /// docs/governance.md, "The sandbox")
    #[command(hide = true)]
    SandboxExec(SandboxExecArgs),
    /// One turn of an agent that speaks the Agent Client Protocol, printed as native event
    /// lines (run by the acp adapter; see docs/adapters.md)
    #[command(hide = true)]
    AcpClient(AcpClientArgs),
    /// Check, summarize or export the audit trail
    #[command(subcommand)]
    Audit(AuditCmd),
    /// The metrics computed from the audit trail (QA, concerns, merges, tasks, spend,
    /// utilisation) and the alerts they raise; definitions in docs/metrics.md
    Metrics(MetricsArgs),
    /// Write the daily digest now: .overlord/reports/DAILY_<date>.md (what was integrated,
    /// checkpoints, QA trend, concerns, spend, alerts over the last 24 hours) with the day's
    /// audit records, committed with the status documents on the integration branch
    /// (`[reports] daily_at` does it every day in the console, `run` or `serve`)
    Digest {
        /// Print the digest as JSON (date, file, commit, summary, markdown)
        #[arg(long)]
        json: bool,
        /// Write it as of this time (RFC 3339) instead of now
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
    },
    /// The demo: a scratch sample project (a small Rust crate) and a scripted swarm through
    /// one whole cycle — plan, design approval, two implementers, a concern, a failing test
    /// and its fix, QA, two Saves and a rollback — in the console, with no model and no
    /// network (see docs/demo.md)
    Demo(DemoArgs),
    /// Own the store and serve other overlord-tui invocations over .overlord/overlord.sock
    Serve,
    /// Run the swarm headlessly: own the store like `serve` and dispatch the approved plan's
    /// tasks to agents (adapters per role in .overlord/config.toml); progress on stderr,
    /// Ctrl-C stops every agent cleanly
    Run,
    /// Run the Discord bridge on its own (slash commands, buttons, alerts), talking to the
    /// console or `run` that owns this repository through its socket; the bot token comes from
    /// $OVERLORD_DISCORD_TOKEN (see docs/discord.md)
    #[cfg(feature = "discord")]
    Discord {
        /// Check the [discord] configuration and the token against Discord's API (server,
        /// roles, channels, the bot's permissions), print what is wrong, and exit
        #[arg(long)]
        check: bool,
    },
    /// Save: merge every finished task branch into the integration branch, run the gate, and
    /// on pass fast-forward main and tag a checkpoint (progress on stderr)
    Save {
        #[arg(long)]
        json: bool,
    },
    /// Restore a checkpoint as a new commit on main (history is kept), or with --branch on a
    /// new branch and worktree; `undo` reverses the latest rollback
    Rollback(RollbackArgs),
    /// Run the QA gates on the integration branch (no session yet: on HEAD) and print every
    /// gate with its threshold, measured value and outcome, and the decision. Exit 0 only
    /// when the decision is auto_merge. `qa show <run>` and `qa check-policy [FILE]` too.
    Qa(QaArgs),
    /// Create or remove task worktrees (.overlord/worktrees/<task>)
    #[command(subcommand)]
    Worktree(WorktreeCmd),
    /// List the agent adapters ([adapters.<name>] and the built-in ones): which CLI each
    /// drives, whether it is installed (and where), its version and the roles that use it
    Agents {
        #[arg(long)]
        json: bool,
    },
    /// Show what changed: HEAD vs the working tree (no arguments), a task branch vs its base
    /// (a task id), something vs the working tree (one revision), or two revisions,
    /// branches, task ids or checkpoints
    Diff(DiffArgs),
    /// Dependencies: `deps check [BASE]` checks that every dependency the working tree adds
    /// since BASE exists in its registry (see docs/factory.md, "Dependencies")
    #[command(subcommand)]
    Deps(DepsCmd),
    /// The janitor: on the branch `[janitor] branch` (default chore/update-deps), update each
    /// outdated dependency one at a time, run the tests, keep the update when they pass and
    /// revert it when they fail; the report is .overlord/janitor/REPORT.md
    Janitor {
        #[arg(long)]
        json: bool,
    },
}
/// `overlord-tui … | head` closes the pipe early: stop quietly, as a Unix tool does, instead
/// of panicking in `println!` (Rust ignores SIGPIPE, so the write fails instead).
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

pub fn main() -> ExitCode {
    quiet_on_broken_pipe();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let json = output::wants_json(&args);
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2);
            // under --json a usage error is also a JSON document.
            let _ = e.print();
            if json && e.use_stderr() {
                let text = e.to_string();
                let first = text.lines().next().unwrap_or("usage error");
                output::json_error("usage", first.trim_start_matches("error: "));
            }
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
    };
    let result = dispatch(cli);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failed(code)) => ExitCode::from(code),
    }
}

/// Logging goes to the repository's .overlord/logs when there is one; errors finding the
/// repository are reported by the subcommand itself.
/// The demo logs into the project it makes.
fn start_logging(repo: &Option<PathBuf>, sub: &Option<Sub>) {
    let demo = matches!(sub, Some(Sub::Demo(_)));
    let start = repo.clone().or_else(|| std::env::current_dir().ok());
    if let Some(ws) = start
        .filter(|_| !demo)
        .and_then(|s| Workspace::discover(&s).ok())
    {
        if ws.dir.exists() {
            init_logging(&ws);
        }
    }
}

/// The top-level help (what the console prints when there is no terminal for it).
#[cfg(feature = "tui")]
fn help() -> clap::builder::StyledStr {
    <Cli as clap::CommandFactory>::command().render_help()
}

fn dispatch(cli: Cli) -> Outcome {
    // The wrapper opens nothing in the repository (no log) before it confines itself.
    if let Some(Sub::SandboxExec(args)) = cli.command {
        return sandbox_exec::sandbox_exec(args);
    }
    // The ACP client writes nothing but its events (no log in the repository).
    if let Some(Sub::AcpClient(args)) = cli.command {
        return acp_client::acp_client(args);
    }
    let repo = cli.repo;
    start_logging(&repo, &cli.command);
    let Some(sub) = cli.command else {
        // No subcommand: the console.
        #[cfg(feature = "tui")]
        return console::console(&repo, help);
        #[cfg(not(feature = "tui"))]
        {
            let _ = <Cli as clap::CommandFactory>::command().print_help();
            return Err(Failed(2));
        }
    };
    match sub {
        Sub::Init { json } => init::init(&repo, json),
        Sub::Cmd { line, json } => cmd::cmd(&repo, &line, json),
        Sub::Status { json, all } => status::status(&repo, json, all),
        Sub::History(args) => history::history(&repo, args),
        Sub::Plan(cmd) => plan::plan(&repo, cmd),
        Sub::Ticket(cmd) => ticket::ticket(&repo, cmd),
        Sub::Discover(args) => discover::discover(&repo, args),
        Sub::Concern(cmd) => concern::concern(&repo, cmd),
        Sub::Handoff(args) => handoff::handoff(&repo, args),
        Sub::Variation(cmd) => variation::variation(&repo, cmd),
        Sub::ScriptAgent(args) => script_agent::script_agent(args),
        Sub::SandboxExec(args) => sandbox_exec::sandbox_exec(args),
        Sub::AcpClient(args) => acp_client::acp_client(args),
        Sub::Audit(cmd) => audit::audit(&repo, cmd),
        Sub::Metrics(args) => metrics::metrics(&repo, args),
        Sub::Digest { json, now } => digest::digest(&repo, json, now),
        Sub::Demo(args) => demo::demo(args),
        Sub::Serve => serve::serve(&repo, false),
        Sub::Run => serve::serve(&repo, true),
        #[cfg(feature = "discord")]
        Sub::Discord { check } => discord::discord(&repo, check),
        Sub::Save { json } => save::save(&repo, json),
        Sub::Rollback(args) => save::rollback(&repo, args),
        Sub::Qa(args) => qa::qa(&repo, args),
        Sub::Worktree(cmd) => worktree::worktree(&repo, cmd),
        Sub::Diff(args) => diff::diff(&repo, args),
        Sub::Agents { json } => agents::agents(&repo, json),
        Sub::Deps(cmd) => deps::deps(&repo, cmd),
        Sub::Janitor { json } => deps::janitor(&repo, json),
    }
}
