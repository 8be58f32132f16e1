//! The headless front end: every console command as a CLI subcommand, with `--json` output
//! (schema in docs/cli.md). Exit codes: 0 ok, 1 the operation failed, 2 usage error.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::Config;
use crate::core::ipc::Client;
use crate::core::{Core, Handle};
use crate::protocol::model::{Impact, Role, Severity};
use crate::protocol::{
    parse, Command, ConcernDraft, HandoffDraft, Origin, Reply, ReplyData, State, StatusReport,
    VariationDraft,
};
use crate::store::{verify, Store};
use crate::workspace::Workspace;

mod demo;

/// Version of the `--json` documents; bumped only on incompatible changes.
pub const JSON_SCHEMA_VERSION: u32 = 1;

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
    },
    /// Import or show the plan
    #[command(subcommand)]
    Plan(PlanCmd),
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
    ScriptAgent {
        /// The script folder, relative to $OVERLORD_REPO (else to the current directory)
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// Answer the prompt as a clarification in this session instead of running the steps
        #[arg(long, value_name = "SESSION")]
        resume: Option<String>,
        /// The prompt (on --resume, the question)
        #[arg(allow_hyphen_values = true)]
        prompt: String,
    },
    /// Check, summarize or export the audit trail
    #[command(subcommand)]
    Audit(AuditCmd),
    /// The metrics computed from the audit trail (QA, concerns, merges, tasks, spend,
    /// utilisation) and the alerts they raise; definitions in docs/metrics.md
    Metrics {
        #[arg(long, conflicts_with = "openmetrics")]
        json: bool,
        /// The OpenMetrics text format (Prometheus, Grafana)
        #[arg(long)]
        openmetrics: bool,
        /// The span of time covered, ending now
        #[arg(long, default_value = "all", value_name = "24h|7d|checkpoint|all")]
        window: crate::metrics::Window,
        /// Also verify the audit trail (a broken chain is a CRITICAL alert)
        #[arg(long)]
        verify: bool,
        /// Compute as of this time (RFC 3339) instead of now, for reports and tests
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
    },
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
    Demo {
        /// Make the project here (a new or empty directory, kept afterwards) instead of in a
        /// temporary directory
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Approve the design spec after a few seconds instead of waiting for you
        #[arg(long)]
        auto: bool,
        /// No console: progress on stderr, then the timeline, the audit summary, the audit
        /// verification and the Discord messages on stdout (implies --auto); exit 0 only when
        /// the whole cycle completed and the audit trail verifies
        #[arg(long)]
        headless: bool,
    },
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
    Discord,
    /// Save: merge every finished task branch into the integration branch, run the gate, and
    /// on pass fast-forward main and tag a checkpoint (progress on stderr)
    Save {
        #[arg(long)]
        json: bool,
    },
    /// Restore a checkpoint as a new commit on main (history is kept), or with --branch on a
    /// new branch and worktree; `undo` reverses the latest rollback
    Rollback {
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
    },
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
    Diff {
        from: Option<String>,
        to: Option<String>,
        /// Only the changed files with their counts
        #[arg(long)]
        stat: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum WorktreeCmd {
    /// Create (or find) a task's worktree on session/<session>/task/<task>, prepared as
    /// [worktrees] in .overlord/config.toml says; prints its path
    Add { task: String },
    /// Remove a task's worktree (the branch stays); refused, with a concern, when it holds
    /// uncommitted work
    Prune { task: String },
}

#[derive(Subcommand, Debug)]
pub enum PlanCmd {
    /// Import a plan from a TodoList JSON file (seed 003 shape)
    Import {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Show the plan: phases and tasks with role, status and dependencies
    Show {
        #[arg(long)]
        json: bool,
    },
}

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

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct QaArgs {
    #[command(subcommand)]
    pub cmd: Option<QaCmd>,
    /// Apply the promotion policy (e2e tests, documents, reproducibility); the decision then
    /// always asks the human
    #[arg(long)]
    pub promotion: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum QaCmd {
    /// Show a stored QA run and re-check it: the record against the audit trail's digest,
    /// each gate's stored output re-read, the verdict re-evaluated
    Show {
        /// The run id (`QA-3` or `3`)
        run: String,
        #[arg(long)]
        json: bool,
    },
    /// Validate a QA policy file without running anything (default: the configured one,
    /// .overlord/QA_POLICY.yaml)
    CheckPolicy {
        file: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Re-check the hash chain, the JSONL mirrors and the materialized state
    Verify {
        /// Also check that the audit trail and the repository agree (checkpoint tags and
        /// notes, and main where the last Save or rollback left it)
        #[arg(long)]
        git: bool,
        #[arg(long)]
        json: bool,
    },
    /// Counts of records, events by kind, concerns, and the chain head
    Summary {
        #[arg(long)]
        json: bool,
    },
    /// Write every record as JSON lines (to stdout, or --output FILE)
    Export {
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// A failure already explained to the user; carries the exit code.
struct Failed(u8);

type Outcome = Result<(), Failed>;

fn fail(message: impl std::fmt::Display) -> Failed {
    eprintln!("error: {message}");
    Failed(1)
}

fn print_json(value: &impl serde::Serialize) -> Outcome {
    let text = serde_json::to_string_pretty(value).map_err(fail)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").map_err(fail)
}

/// Who the CLI speaks for: the agent named by the adapter's environment, else the user.
fn origin() -> Origin {
    if let Ok(agent) = std::env::var("OVERLORD_AGENT") {
        if !agent.trim().is_empty() {
            let role = std::env::var("OVERLORD_ROLE")
                .ok()
                .and_then(|r| r.parse().ok());
            return Origin::Agent { agent, role };
        }
    }
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "human".into());
    Origin::Cli { user }
}

/// Talks to the running owner if there is one, otherwise opens the store itself.
enum Session {
    Remote(Client),
    Local(Box<Core>),
}

impl Session {
    fn open(ws: &Workspace) -> Result<Session, Failed> {
        ws.require_initialized().map_err(fail)?;
        if let Some(client) = Client::connect(&ws.socket_path()) {
            return Ok(Session::Remote(client));
        }
        let config = load_config(ws);
        Core::open(ws, &config)
            .map(|c| Session::Local(Box::new(c)))
            .map_err(fail)
    }

    fn submit(&mut self, command: Command) -> Result<Reply, Failed> {
        match self {
            Session::Remote(c) => c.submit(origin(), command).map_err(fail),
            Session::Local(core) => Ok(core.execute(origin(), command)),
        }
    }

    fn state(&mut self) -> Result<State, Failed> {
        match self {
            Session::Remote(c) => c.snapshot().map_err(fail),
            Session::Local(core) => {
                core.refresh().map_err(fail)?;
                Ok(core.state().clone())
            }
        }
    }
}

fn load_config(ws: &Workspace) -> Config {
    load_config_warning(ws).0
}

/// The configuration, and the warning about a bad file (also printed on stderr).
fn load_config_warning(ws: &Workspace) -> (Config, Option<String>) {
    let (config, warning) = Config::load(&ws.config_path(), ".overlord/config.toml");
    let warning = warning.map(|w| w.to_string());
    if let Some(w) = &warning {
        eprintln!("warning: {w}");
    }
    (config, warning)
}

fn workspace(repo: &Option<PathBuf>) -> Result<Workspace, Failed> {
    let start = match repo {
        Some(p) => p.clone(),
        None => std::env::current_dir().map_err(fail)?,
    };
    if !start.exists() {
        return Err(fail(format!("{} does not exist", start.display())));
    }
    Workspace::discover(&start).map_err(fail)
}

fn render_reply(reply: &Reply, json: bool) -> Outcome {
    if json {
        print_json(reply)?;
    } else if reply.ok {
        match &reply.data {
            ReplyData::Status(report) => print!("{}", report.render_text()),
            _ => {
                let msg = reply.message.trim_end();
                println!("{msg}");
            }
        }
    } else {
        eprintln!("error: {}", reply.message);
    }
    if reply.ok {
        Ok(())
    } else {
        Err(Failed(1))
    }
}

fn run_command(repo: &Option<PathBuf>, command: Command, json: bool) -> Outcome {
    if matches!(command, Command::Save | Command::Rollback { .. }) {
        return run_operation(repo, command, json);
    }
    let ws = workspace(repo)?;
    let mut session = Session::open(&ws)?;
    let reply = session.submit(command)?;
    render_reply(&reply, json)
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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = e.print();
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
    };
    let result = dispatch(cli);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failed(code)) => ExitCode::from(code),
    }
}

fn init_logging(ws: &Workspace) {
    let dir = ws.log_dir();
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("overlord.log"))
    else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("OVERLORD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}

fn dispatch(cli: Cli) -> Outcome {
    let repo = cli.repo;
    // Logging goes to the repository's .overlord/logs when there is one; errors finding the
    // repository are reported by the subcommand itself.
    // The demo logs into the project it makes.
    let demo = matches!(cli.command, Some(Sub::Demo { .. }));
    let start = repo.clone().or_else(|| std::env::current_dir().ok());
    if let Some(ws) = start
        .filter(|_| !demo)
        .and_then(|s| Workspace::discover(&s).ok())
    {
        if ws.dir.exists() {
            init_logging(&ws);
        }
    }
    let Some(command) = cli.command else {
        // No subcommand: the console.
        #[cfg(feature = "tui")]
        return console(&repo);
        #[cfg(not(feature = "tui"))]
        {
            let _ = <Cli as clap::CommandFactory>::command().print_help();
            return Err(Failed(2));
        }
    };
    match command {
        Sub::Init { json } => {
            let ws = workspace(&repo)?;
            let report = ws.init().map_err(fail)?;
            if json {
                return print_json(&report);
            }
            if report.already_initialized && report.created.is_empty() {
                println!("Overlord is already set up in {}", report.root);
            } else {
                println!("Overlord set up in {}", report.root);
                for c in &report.created {
                    println!("  created {c}");
                }
                println!("Next: overlord-tui plan import PLAN.json, then overlord-tui status");
            }
            Ok(())
        }
        Sub::Cmd { line, json } => {
            let command = match parse(&line) {
                Ok(c) => c,
                Err(e) => {
                    if json {
                        let _ = print_json(&serde_json::json!({
                            "schema_version": JSON_SCHEMA_VERSION,
                            "ok": false,
                            "error": { "code": "usage", "message": e.to_string(), "suggestion": e.suggestion },
                        }));
                    }
                    eprintln!("error: {e}");
                    return Err(Failed(2));
                }
            };
            run_command(&repo, command, json)
        }
        Sub::Status { json } => {
            let ws = workspace(&repo)?;
            let mut session = Session::open(&ws)?;
            if json {
                let state = session.state()?;
                print_json(&serde_json::json!({
                    "schema_version": JSON_SCHEMA_VERSION,
                    "report": StatusReport::from_state(&state, &crate::core::now()),
                    "state": state,
                }))
            } else {
                let reply = session.submit(Command::Status)?;
                render_reply(&reply, false)
            }
        }
        Sub::Plan(PlanCmd::Import { file, json }) => {
            let cwd = std::env::current_dir().map_err(fail)?;
            let path = if file.is_absolute() {
                file
            } else {
                cwd.join(file)
            };
            run_command(
                &repo,
                Command::ImportPlan {
                    path: path.display().to_string(),
                },
                json,
            )
        }
        Sub::Plan(PlanCmd::Show { json }) => {
            let ws = workspace(&repo)?;
            let state = Session::open(&ws)?.state()?;
            if json {
                return print_json(&state.plan);
            }
            let Some(plan) = &state.plan else {
                println!("No plan yet: overlord-tui plan import PLAN.json");
                return Ok(());
            };
            println!("{} ({})", plan.title, plan.id);
            let pending: Vec<_> = state.pending_approvals().collect();
            for a in pending.iter().filter(|a| a.subject == plan.id) {
                println!("  awaiting approval: {} — /approve {}", a.summary, a.id);
            }
            for phase in &plan.phases {
                let promoted = if phase.promoted_at.is_some() {
                    " [promoted]"
                } else {
                    ""
                };
                println!("\n{} – {}{promoted}", phase.id, phase.name);
                for t in &phase.tasks {
                    let deps = if t.dependencies.is_empty() {
                        String::new()
                    } else {
                        format!("  after {}", t.dependencies.join(", "))
                    };
                    println!(
                        "  [{:<12}] {:<16} {:<12} {}{deps}",
                        t.status.as_str(),
                        t.id,
                        t.role.as_str(),
                        t.title
                    );
                }
            }
            Ok(())
        }
        Sub::Concern(ConcernCmd::Raise {
            from,
            to,
            severity,
            category,
            task,
            details,
            summary,
            json,
        }) => run_command(
            &repo,
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
        ),
        Sub::Handoff(h) => run_command(
            &repo,
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
        ),
        Sub::Variation(VariationCmd::Propose {
            from,
            impact,
            title,
            rationale,
            affects,
            json,
        }) => run_command(
            &repo,
            Command::ProposeVariation(VariationDraft {
                from,
                impact,
                title,
                rationale,
                affects,
            }),
            json,
        ),
        Sub::ScriptAgent {
            dir,
            resume,
            prompt,
        } => {
            use crate::runtime::script;
            let cwd = std::env::current_dir().map_err(fail)?;
            let overlord =
                std::env::current_exe().unwrap_or_else(|_| PathBuf::from("overlord-tui"));
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
        Sub::Audit(a) => audit(&repo, a),
        Sub::Metrics {
            json,
            openmetrics,
            window,
            verify,
            now,
        } => metrics(&repo, json, openmetrics, window, verify, now),
        Sub::Digest { json, now } => digest(&repo, json, now),
        Sub::Demo {
            dir,
            auto,
            headless,
        } => demo::demo(demo::DemoArgs {
            dir,
            auto: auto || headless,
            headless,
        }),
        Sub::Serve => serve(&repo, false),
        Sub::Run => serve(&repo, true),
        #[cfg(feature = "discord")]
        Sub::Discord => discord(&repo),
        Sub::Save { json } => run_operation(&repo, Command::Save, json),
        Sub::Rollback {
            checkpoint,
            branch,
            reason,
            json,
        } => run_operation(
            &repo,
            Command::Rollback {
                checkpoint,
                branch,
                reason,
            },
            json,
        ),
        Sub::Qa(args) => qa_cmd(&repo, args),
        Sub::Worktree(cmd) => worktree_cmd(&repo, cmd),
        Sub::Diff {
            from,
            to,
            stat,
            json,
        } => diff(&repo, from.as_deref(), to.as_deref(), stat, json),
        Sub::Agents { json } => agents(&repo, json),
    }
}

/// The state as the audit trail has it (replayed, read-only), checked against the repository.
fn verify_git(ws: &Workspace, store: &Store) -> Result<crate::core::verify_git::GitReport, Failed> {
    let mut state = State::default();
    for (seq, body) in store.event_bodies_after(0).map_err(fail)? {
        let event: crate::protocol::Event = serde_json::from_str(&body)
            .map_err(|e| fail(format!("audit record {seq} is not an event: {e}")))?;
        state.apply(&event);
    }
    let repo = crate::git::open(&ws.root).map_err(fail)?;
    crate::core::verify_git::verify_git(&state, &repo).map_err(|e| fail(e.message()))
}

/// A Save or rollback: runs here (or in the running console/serve, whose progress is followed
/// over the socket), printing each step on stderr and the outcome on stdout.
fn run_operation(repo: &Option<PathBuf>, command: Command, json: bool) -> Outcome {
    use crate::protocol::{Event, EventKind};
    let ws = workspace(repo)?;
    let show = move |e: &Event| {
        if let EventKind::OperationStep { step, detail, .. } = &e.kind {
            if !json {
                eprintln!("  {step}: {detail}");
            }
        }
    };
    match Session::open(&ws)? {
        Session::Local(mut core) => {
            let mut rx = core.subscribe();
            let printer = std::thread::spawn(move || {
                while let Ok(e) = rx.blocking_recv() {
                    show(&e);
                }
            });
            let reply = core.execute(origin(), command);
            drop(core);
            let _ = printer.join();
            render_reply(&reply, json)
        }
        Session::Remote(mut client) => {
            // Follow the owner's events from before the command, so no step is missed.
            let mut events = Client::connect(&ws.socket_path())
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
                    crate::core::ipc::IpcResponse::Event { event } => {
                        show(&event);
                        if let EventKind::OperationFinished {
                            id: done,
                            outcome,
                            message,
                            kind,
                        } = &event.kind
                        {
                            if *done == id {
                                let state = client.snapshot().map_err(fail)?;
                                let checkpoint = state
                                    .checkpoints
                                    .last()
                                    .filter(|_| {
                                        *outcome
                                            == crate::protocol::model::OperationOutcome::Checkpointed
                                    })
                                    .cloned();
                                let ok = outcome.is_success();
                                let report = crate::protocol::report::OperationReport {
                                    id,
                                    kind: *kind,
                                    outcome: Some(*outcome),
                                    checkpoint,
                                    steps: Vec::new(),
                                    message: message.clone(),
                                };
                                let final_reply = Reply {
                                    ok,
                                    message: message.clone(),
                                    error: (!ok).then(|| {
                                        crate::protocol::Rejection::new(
                                            crate::protocol::RejectCode::Failed,
                                            message.clone(),
                                        )
                                    }),
                                    data: ReplyData::Operation(Box::new(report)),
                                    ..reply
                                };
                                return render_reply(&final_reply, json);
                            }
                        }
                    }
                    crate::core::ipc::IpcResponse::Lagged { .. } => {}
                    other => {
                        return Err(fail(format!("unexpected answer from the owner: {other:?}")))
                    }
                }
            }
        }
    }
}

fn gate_line(g: &crate::protocol::model::GateResult) -> String {
    let mut line = format!(
        "  {:<16} {:<13} threshold: {:<22} measured: {}",
        g.gate,
        g.outcome.as_str(),
        g.threshold.as_deref().unwrap_or("—"),
        g.measured.as_deref().unwrap_or("—")
    );
    if let Some(r) = &g.reason {
        line.push_str(&format!("\n  {:<16} {r}", ""));
    }
    if !g.required && g.outcome != crate::protocol::model::GateOutcome::Reported {
        line.push_str(" (does not count)");
    }
    line
}

/// Every gate, the quarantined tests and the decision with its reasons.
fn print_verdict(ev: &crate::qa::evaluate::Evaluation) {
    for g in &ev.gates {
        println!("{}", gate_line(g));
    }
    if !ev.flaky.is_empty() {
        println!("flaky (quarantined): {}", ev.flaky.join(", "));
    }
    println!("decision: {}", ev.decision.as_str());
    for reason in &ev.reasons {
        println!("  - {reason}");
    }
}

fn parse_run_id(s: &str) -> Result<crate::protocol::model::QaRunId, Failed> {
    let n = s.trim().trim_start_matches("QA-").trim_start_matches("qa-");
    n.parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .map(crate::protocol::model::QaRunId)
        .ok_or_else(|| {
            fail(format!(
                "'{s}' is not a QA run id (expected QA-<n>, e.g. QA-3)"
            ))
        })
}

fn qa_cmd(repo: &Option<PathBuf>, args: QaArgs) -> Outcome {
    use crate::core::qa;
    use crate::protocol::EventKind;
    match args.cmd {
        Some(QaCmd::CheckPolicy { file, json }) => {
            let (path, shown) = match file {
                Some(f) => (f.clone(), f.display().to_string()),
                None => {
                    let ws = workspace(repo)?;
                    let config = load_config(&ws);
                    let p = ws.root.join(config.qa.policy.trim());
                    let shown = ws.relative(&p);
                    (p, shown)
                }
            };
            let result = match std::fs::read_to_string(&path) {
                Ok(text) => crate::qa::policy::parse(&text, &shown),
                Err(e) => return Err(fail(format!("{shown}: {e}"))),
            };
            match result {
                Ok(policy) => {
                    if json {
                        print_json(&serde_json::json!({
                            "schema_version": JSON_SCHEMA_VERSION, "ok": true, "file": shown, "policy": policy
                        }))?;
                    } else {
                        println!("{shown}: valid");
                    }
                    Ok(())
                }
                Err(errors) => {
                    if json {
                        let list: Vec<_> = errors
                            .iter()
                            .map(|e| serde_json::json!({"file": e.file, "line": e.line, "column": e.column, "message": e.message}))
                            .collect();
                        print_json(&serde_json::json!({
                            "schema_version": JSON_SCHEMA_VERSION, "ok": false, "file": shown, "errors": list
                        }))?;
                    } else {
                        for e in &errors {
                            eprintln!("{e}");
                        }
                        eprintln!("{shown}: {} problem(s)", errors.len());
                    }
                    Err(Failed(2))
                }
            }
        }
        Some(QaCmd::Show { run, json }) => {
            let id = parse_run_id(&run)?;
            let ws = workspace(repo)?;
            ws.require_initialized().map_err(fail)?;
            let config = load_config(&ws);
            let core = Core::open(&ws, &config).map_err(fail)?;
            let shown = qa::show(&core, id).map_err(fail)?;
            let r = &shown.record;
            if json {
                print_json(&serde_json::json!({
                    "schema_version": JSON_SCHEMA_VERSION,
                    "run": r.id.to_string(),
                    "ok": shown.findings.is_empty(),
                    "findings": shown.findings,
                    "record": r,
                }))?;
            } else {
                println!(
                    "{} on {} (tree {}), {} → {}",
                    r.id,
                    crate::git::short(&r.commit),
                    crate::git::short(&r.tree),
                    r.started_at,
                    r.finished_at
                );
                println!(
                    "policy: {}{}",
                    r.policy_file,
                    if r.promotion { " (promotion)" } else { "" }
                );
                println!(
                    "project: {}",
                    if r.project.is_empty() {
                        "none detected".into()
                    } else {
                        r.project.join(", ")
                    }
                );
                for (tool, v) in &r.tools {
                    println!("  {tool}: {v}");
                }
                println!("commands:");
                for a in &r.attempts {
                    let status = match (&a.stopped, a.exit, a.signal) {
                        (Some(s), _, _) => s.clone(),
                        (None, Some(c), _) => format!("exit {c}"),
                        (None, None, Some(sig)) => format!("signal {sig}"),
                        _ => "?".into(),
                    };
                    println!(
                        "  {} #{} [{}] `{}` → {status} in {:.1}s ({})",
                        a.gate,
                        a.attempt,
                        a.format.name(),
                        a.command,
                        a.duration_secs,
                        shown
                            .dir
                            .join(&a.dir)
                            .strip_prefix(&ws.root)
                            .map(|p| p.display().to_string())
                            .unwrap_or_default()
                    );
                }
                println!("gates:");
                print_verdict(&r.evaluation);
                if shown.findings.is_empty() {
                    println!("re-checked: the stored outputs give the recorded results and the same decision; the record matches the audit trail's digest");
                } else {
                    for f in &shown.findings {
                        println!("re-check FAILED: {f}");
                    }
                }
            }
            if shown.findings.is_empty() {
                Ok(())
            } else {
                Err(Failed(1))
            }
        }
        None => {
            let json = args.json;
            let ws = workspace(repo)?;
            ws.require_initialized().map_err(fail)?;
            let config = load_config(&ws);
            let mut core = Core::open(&ws, &config).map_err(fail)?;
            // Ctrl-C stops the running gate (its whole process group) and records the run.
            let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            {
                let cancel = cancel.clone();
                std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    rt.block_on(async {
                        if tokio::signal::ctrl_c().await.is_ok() {
                            eprintln!("cancelling the QA run…");
                            cancel.store(true, std::sync::atomic::Ordering::Relaxed);
                        }
                    });
                });
            }
            let mut rx = core.subscribe();
            let printer = std::thread::spawn(move || {
                while let Ok(e) = rx.blocking_recv() {
                    match &e.kind {
                        EventKind::QaStarted { run, .. } => eprintln!("{run}: running the gates"),
                        EventKind::QaGateStarted {
                            gate,
                            command: Some(c),
                            attempt,
                            ..
                        } => {
                            if *attempt > 1 {
                                eprintln!("  {gate} (run {attempt}): {c}");
                            } else {
                                eprintln!("  {gate}: {c}");
                            }
                        }
                        EventKind::QaGateProgress {
                            gate, done, total, ..
                        } => match total {
                            Some(t) => eprintln!("  {gate}: {done}/{t} tests"),
                            None => eprintln!("  {gate}: {done} tests"),
                        },
                        EventKind::QaGateFinished { result, .. } => {
                            eprintln!("  {} → {}", result.gate, result.outcome.as_str())
                        }
                        _ => {}
                    }
                }
            });
            let result = core.run_qa(qa::QaOptions {
                promotion: args.promotion,
                cancel: Some(cancel),
            });
            drop(core);
            let _ = printer.join();
            let done = match result {
                Ok(d) => d,
                Err(why) => {
                    eprintln!("error: {why}");
                    return Err(Failed(2));
                }
            };
            for w in &done.warnings {
                eprintln!("warning: {w}");
            }
            let r = &done.output.record;
            let report = ws.relative(&done.output.dir.join("QA_REPORT.md"));
            if json {
                print_json(&serde_json::json!({
                    "schema_version": JSON_SCHEMA_VERSION,
                    "run": r.id.to_string(),
                    "target": done.target,
                    "commit": r.commit,
                    "tree": r.tree,
                    "project": r.project,
                    "promotion": r.promotion,
                    "decision": r.evaluation.decision,
                    "reasons": r.evaluation.reasons,
                    "gates": r.evaluation.gates,
                    "metrics": r.evaluation.metrics,
                    "flaky": r.evaluation.flaky,
                    "drift": r.evaluation.drift,
                    "report": report,
                    "warnings": done.warnings,
                }))?;
            } else {
                println!("{} on {}", r.id, done.target);
                print_verdict(&r.evaluation);
                println!("report: {report}");
            }
            if r.evaluation.decision == crate::protocol::model::QaDecision::AutoMerge {
                Ok(())
            } else {
                Err(Failed(1))
            }
        }
    }
}

fn worktree_cmd(repo: &Option<PathBuf>, cmd: WorktreeCmd) -> Outcome {
    let ws = workspace(repo)?;
    ws.require_initialized().map_err(fail)?;
    let config = load_config(&ws);
    let mut core = Core::open(&ws, &config).map_err(fail)?;
    match cmd {
        WorktreeCmd::Add { task } => {
            let wt = core.open_task_worktree(&task).map_err(fail)?;
            println!("{}", wt.path.display());
            eprintln!(
                "{} worktree of {task} on {}",
                if wt.created {
                    "created the"
                } else {
                    "found the"
                },
                wt.branch
            );
            Ok(())
        }
        WorktreeCmd::Prune { task } => {
            core.prune_task_worktree(&task).map_err(fail)?;
            println!("removed the worktree of {task} (its branch stays)");
            Ok(())
        }
    }
}

fn open_store_for_audit(ws: &Workspace) -> Result<Store, Failed> {
    ws.require_initialized().map_err(fail)?;
    Store::open_without_repair(&ws.store_paths()).map_err(fail)
}

fn metrics(
    repo: &Option<PathBuf>,
    json: bool,
    openmetrics: bool,
    window: crate::metrics::Window,
    verify_chain: bool,
    now: Option<String>,
) -> Outcome {
    use crate::metrics;
    let ws = workspace(repo)?;
    let store = open_store_for_audit(&ws)?;
    let config = load_config(&ws);
    // Read directly even when an owner runs: SQLite's WAL lets readers in beside the writer,
    // and the owner's socket serves the folded state, not the events.
    let (events, corrupt_records) =
        crate::core::metrics_serve::read_events(&store).map_err(fail)?;
    let now = now.unwrap_or_else(crate::core::now);
    let Some(figures) = metrics::compute(&events, window, &now) else {
        eprintln!("error: --now {now:?} is not an RFC 3339 time (e.g. 2026-11-21T10:00:00Z)");
        return Err(Failed(2));
    };
    let mut facts = metrics::Facts {
        corrupt_records,
        ..Default::default()
    };
    if verify_chain {
        let report = verify::verify(&store).map_err(fail)?;
        facts.chain_ok = Some(report.ok);
        facts.chain_finding = report.findings.first().map(|f| f.to_string());
    }
    let alerts = metrics::evaluate(&figures, &config.metrics, &facts);
    if json {
        print_json(&serde_json::json!({
            "schema_version": JSON_SCHEMA_VERSION,
            "metrics": figures,
            "alerts": alerts,
        }))
    } else if openmetrics {
        print!("{}", metrics::openmetrics::render(&figures, &alerts));
        Ok(())
    } else {
        print!("{}", metrics::render_text(&figures, &alerts));
        Ok(())
    }
}

fn digest(repo: &Option<PathBuf>, json: bool, now: Option<String>) -> Outcome {
    let ws = workspace(repo)?;
    ws.require_initialized().map_err(fail)?;
    let now = now.unwrap_or_else(crate::core::now);
    if crate::core::parse_stamp(&now).is_none() {
        eprintln!("error: --now {now:?} is not an RFC 3339 time (e.g. 2026-11-21T23:55:00Z)");
        return Err(Failed(2));
    }
    let config = load_config(&ws);
    // Its own core, like `metrics`: the store serializes writers, and an owner folds the
    // events in (and the Discord bridge posts the summary) when it next polls.
    let mut core = Core::open(&ws, &config).map_err(fail)?;
    let w = crate::core::digest::write_daily(&mut core, &now).map_err(fail)?;
    if json {
        return print_json(&serde_json::json!({
            "schema_version": JSON_SCHEMA_VERSION,
            "date": w.digest.date,
            "file": ws.relative(&w.file),
            "records": w.records,
            "commit": w.commit,
            "note": w.note,
            "summary": w.digest.summary,
            "markdown": w.digest.markdown,
        }));
    }
    println!("{}", w.digest.summary);
    println!(
        "wrote {} ({} audit records with it)",
        ws.relative(&w.file),
        w.records
    );
    match (&w.commit, &w.note) {
        (Some(c), _) => println!(
            "committed {} on the integration branch",
            &c[..c.len().min(10)]
        ),
        (None, Some(n)) => println!("not committed: {n}"),
        (None, None) => {}
    }
    Ok(())
}

fn audit(repo: &Option<PathBuf>, cmd: AuditCmd) -> Outcome {
    let ws = workspace(repo)?;
    let store = open_store_for_audit(&ws)?;
    match cmd {
        AuditCmd::Verify { git, json } => {
            let report = verify::verify(&store).map_err(fail)?;
            let git_report = if git {
                Some(verify_git(&ws, &store)?)
            } else {
                None
            };
            let git_ok = git_report.as_ref().is_none_or(|r| r.ok);
            if json && git_report.is_none() {
                print_json(&report)?;
                return if report.ok { Ok(()) } else { Err(Failed(1)) };
            }
            if json {
                print_json(&serde_json::json!({
                    "schema_version": JSON_SCHEMA_VERSION,
                    "ok": report.ok && git_ok,
                    "audit": report,
                    "git": git_report,
                }))?;
                return if report.ok && git_ok {
                    Ok(())
                } else {
                    Err(Failed(1))
                };
            }
            if print_verification(&report, git_report.as_ref()) {
                Ok(())
            } else {
                Err(Failed(1))
            }
        }
        AuditCmd::Summary { json } => {
            let summary = crate::store::summary::summarize(&store).map_err(fail)?;
            if json {
                print_json(&summary)
            } else {
                print!("{}", summary.render_text());
                Ok(())
            }
        }
        AuditCmd::Export { output } => {
            let result = match &output {
                Some(path) => {
                    let file = std::fs::File::create(path)
                        .map_err(|e| fail(format!("{}: {e}", path.display())))?;
                    let mut w = std::io::BufWriter::new(file);
                    crate::store::summary::export(&store, &mut w)
                }
                None => {
                    let stdout = std::io::stdout();
                    let mut w = std::io::BufWriter::new(stdout.lock());
                    crate::store::summary::export(&store, &mut w)
                }
            };
            let n = result.map_err(fail)?;
            if let Some(path) = output {
                eprintln!("exported {n} records to {}", path.display());
            }
            Ok(())
        }
    }
}

/// `audit verify [--git]` in words: agreement on stdout, findings on stderr. Whether both
/// checks passed.
fn print_verification(
    report: &verify::VerifyReport,
    git_report: Option<&crate::core::verify_git::GitReport>,
) -> bool {
    let git_ok = git_report.is_none_or(|r| r.ok);
    if let Some(g) = git_report {
        if g.ok {
            println!(
                "git agrees: {} checkpoint(s) with their tags and notes{}",
                g.checkpoints,
                match (&g.main, &g.main_at) {
                    (Some(m), Some(at)) => format!(
                        "; {m} at {} where Overlord left it",
                        &at[..at.len().min(10)]
                    ),
                    _ => String::new(),
                }
            );
        } else {
            eprintln!("git and the audit trail DISAGREE:");
            for f in &g.findings {
                eprintln!("  {f}");
            }
        }
        for n in &g.notes {
            eprintln!("  note: {n}");
        }
    }
    if report.ok {
        println!(
            "audit trail OK: {} records, {} events, chain head {}; mirrors agree ({}); state matches a replay",
            report.records,
            report.events,
            report.head_hash.as_deref().map(|h| &h[..16]).unwrap_or("(empty)"),
            report.mirrors_checked.join(", ")
        );
    } else {
        eprintln!("audit trail FAILED verification:");
        for f in &report.findings {
            eprintln!("  {f}");
        }
        if let Some(first) = report.findings.first() {
            match first.seq {
                Some(seq) => eprintln!("first bad record: {seq}"),
                None => eprintln!("first problem: {}", first.place),
            }
        }
    }
    report.ok && git_ok
}

fn diff(
    repo: &Option<PathBuf>,
    from: Option<&str>,
    to: Option<&str>,
    stat: bool,
    json: bool,
) -> Outcome {
    use crate::core::diff;
    let ws = workspace(repo)?;
    let git = git2::Repository::open(&ws.root).map_err(|e| fail(e.message()))?;
    let (a, b) = diff::sides(&git, from, to).map_err(fail)?;
    let set = diff::diff(&git, &a, &b).map_err(fail)?;
    if json {
        return print_json(&serde_json::json!({
            "schema_version": JSON_SCHEMA_VERSION,
            "diff": set,
        }));
    }
    let text = if stat {
        diff::unified::stat(&set)
    } else {
        diff::unified::unified(&set)
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).map_err(fail)
}

/// What a front end gets from [`own`]: the core this process owns, the agents' raw output
/// (when the supervisor runs) and the signal that everything is stopping.
struct Owner {
    handle: Handle,
    ws: Workspace,
    // The console reads these; a build without it does not.
    #[cfg_attr(not(feature = "tui"), allow(dead_code))]
    config: Config,
    #[cfg_attr(not(feature = "tui"), allow(dead_code))]
    raw: Option<crate::runtime::supervisor::RawOutput>,
    stop: tokio::sync::watch::Receiver<bool>,
    /// Where `/metrics` is served (`[metrics] listen`), when it is.
    metrics_addr: Option<std::net::SocketAddr>,
}

/// Resolves once `rx` says stop.
async fn stopped(mut rx: tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
}

/// Owns the repository for a front end: the serve lock, the core on its thread, the socket
/// other invocations talk to, SIGINT/SIGTERM, and (with `agents`) the supervisor. `front`
/// runs until it returns or the process is signalled; then everything stops in order.
fn own<F, Fut>(ws: Workspace, agents: bool, front: F) -> Outcome
where
    F: FnOnce(Owner) -> Fut,
    Fut: std::future::Future<Output = Outcome>,
{
    ws.require_initialized().map_err(fail)?;
    let lock_path = ws.serve_lock_path();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| fail(format!("{}: {e}", lock_path.display())))?;
    if lock.try_lock().is_err() {
        return Err(fail(format!(
            "another overlord-tui already owns {} (console, serve or run); its socket is {}",
            ws.root.display(),
            ws.socket_path().display()
        )));
    }
    let config = load_config(&ws);
    let core = Core::open(&ws, &config).map_err(fail)?;
    let poll = std::time::Duration::from_millis(config.core.poll_ms.max(10));
    let (handle, join) = Handle::spawn(core, poll).map_err(fail)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(fail)?;
    let socket = ws.socket_path();
    let result = runtime.block_on(async {
        let listener = crate::core::ipc::bind(&socket)
            .map_err(|e| fail(format!("cannot listen on {}: {e}", socket.display())))?;
        let metrics_listener = match crate::config::non_empty(&config.metrics.listen) {
            None => None,
            Some(listen) => {
                let addr = crate::core::metrics_serve::loopback_addr(&listen).map_err(fail)?;
                Some(
                    tokio::net::TcpListener::bind(addr)
                        .await
                        .map_err(|e| fail(format!("cannot serve metrics on {addr}: {e}")))?,
                )
            }
        };
        let metrics_addr = metrics_listener.as_ref().and_then(|l| l.local_addr().ok());
        let metrics_http = metrics_listener.map(|l| {
            tokio::spawn(crate::core::metrics_serve::serve(
                l,
                ws.clone(),
                config.metrics.clone(),
            ))
        });
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        // The handlers are installed now, before any agent starts: an agent inherits a
        // handled SIGINT as its default action (an ignored one — `overlord-tui run &` from a
        // script — would stay ignored and make every cancel wait for SIGTERM).
        let shutdown = shutdown_signal();
        let signal_tx = stop_tx.clone();
        tokio::spawn(async move {
            shutdown.await;
            let _ = signal_tx.send(true);
        });
        let (supervisor, raw) = if agents {
            let sup = crate::runtime::supervisor::Supervisor::new(
                handle.clone(),
                ws.clone(),
                config.clone(),
            )
            .await
            .map_err(fail)?;
            let raw = sup.raw_output();
            (
                Some(tokio::spawn(sup.run(stopped(stop_rx.clone())))),
                Some(raw),
            )
        } else {
            (None, None)
        };
        let ipc = tokio::spawn(crate::core::ipc::serve(
            listener,
            handle.clone(),
            stopped(stop_rx.clone()),
        ));
        let monitor = tokio::spawn(crate::core::monitor::run(
            handle.clone(),
            ws.clone(),
            config.metrics.clone(),
            stop_rx.clone(),
        ));
        let daily = tokio::spawn(crate::core::digest::run(
            ws.clone(),
            config.clone(),
            stop_rx.clone(),
        ));
        #[cfg(feature = "discord")]
        let bridge = discord_in_process(&config, &handle, stop_rx.clone());
        let outcome = front(Owner {
            handle: handle.clone(),
            ws: ws.clone(),
            config: config.clone(),
            raw,
            stop: stop_rx,
            metrics_addr,
        })
        .await;
        let _ = stop_tx.send(true);
        if let Some(m) = metrics_http {
            m.abort();
        }
        let _ = ipc.await;
        let _ = monitor.await;
        daily.abort();
        #[cfg(feature = "discord")]
        if let Some(b) = bridge {
            // Queued alerts get a moment to go out.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), b.join()).await;
        }
        if let Some(sup) = supervisor {
            let _ = sup.await;
        }
        outcome
    });
    let _ = std::fs::remove_file(&socket);
    handle.stop();
    let _ = join.join();
    drop(lock);
    result
}

/// `overlord-tui` with no subcommand: the console, owning the repository and running the
/// swarm like `run`. In a repository without `.overlord/` it offers `init` first.
#[cfg(feature = "tui")]
fn console(repo: &Option<PathBuf>) -> Outcome {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        let help = <Cli as clap::CommandFactory>::command().render_help();
        eprintln!(
            "overlord-tui with no subcommand opens the console, which needs a terminal; headless, use a subcommand.\n\n{help}"
        );
        return Err(Failed(2));
    }
    let ws = workspace(repo)?;
    if !ws.is_initialized() {
        if !std::io::stdin().is_terminal() {
            return Err(fail(format!(
                "Overlord is not set up in {}: run `overlord-tui init` there first",
                ws.root.display()
            )));
        }
        eprint!(
            "Overlord is not set up in {}. Set it up now (overlord-tui init)? [Y/n] ",
            ws.root.display()
        );
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).map_err(fail)?;
        let answer = answer.trim().to_ascii_lowercase();
        if !(answer.is_empty() || answer == "y" || answer == "yes") {
            eprintln!("nothing was changed");
            return Err(Failed(1));
        }
        let report = ws.init().map_err(fail)?;
        eprintln!("created {}", report.created.join(", "));
        init_logging(&ws);
    }
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "human".into());
    own(ws, true, |owner| async move {
        let raw = owner.raw.clone().unwrap_or_default();
        tokio::select! {
            r = crate::tui::run::run(owner.handle.clone(), &owner.ws.root, &owner.config, raw, user) => {
                r.map(|_| ()).map_err(fail)
            }
            _ = stopped(owner.stop.clone()) => Ok(()),
        }
    })
}

/// The Discord bridge inside the process that owns the repository, when `[discord] enabled`.
/// Missing credentials are a warning in the log: the console still runs.
#[cfg(feature = "discord")]
fn discord_in_process(
    config: &Config,
    handle: &Handle,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Option<crate::discord::Bridge> {
    if !config.discord.enabled {
        return None;
    }
    let started = crate::discord::credentials(&config.discord).and_then(|c| {
        crate::discord::start(
            &config.discord,
            c,
            crate::discord::link::CoreLink::Local(handle.clone()),
            stop,
        )
    });
    match started {
        Ok(b) => {
            tracing::info!(mode = ?b.mode, "discord: the bridge runs in this process");
            Some(b)
        }
        Err(e) => {
            tracing::warn!("discord: the bridge is enabled but did not start: {e}");
            None
        }
    }
}

/// `overlord-tui discord`: the bridge on its own, through the owner's socket.
#[cfg(feature = "discord")]
fn discord(repo: &Option<PathBuf>) -> Outcome {
    let ws = workspace(repo)?;
    ws.require_initialized().map_err(fail)?;
    let config = load_config(&ws);
    let socket = ws.socket_path();
    if crate::core::ipc::Client::connect(&socket).is_none() {
        return Err(fail(format!(
            "no overlord-tui owns {}: start the console or `overlord-tui run` there first (the bridge talks to it through {})",
            ws.root.display(),
            ws.relative(&socket)
        )));
    }
    if config.discord.enabled {
        eprintln!(
            "note: [discord] enabled = true: the owner runs a bridge too, and alerts would be posted twice"
        );
    }
    let credentials = crate::discord::credentials(&config.discord).map_err(fail)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(fail)?;
    runtime.block_on(async {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let link = crate::discord::link::CoreLink::Remote(socket.clone());
        let bridge =
            crate::discord::start(&config.discord, credentials, link, stop_rx).map_err(fail)?;
        eprintln!(
            "overlord-tui discord: the {} bridge for {} (pid {}); Ctrl-C to stop",
            match bridge.mode {
                crate::discord::Mode::Bot => "bot",
                crate::discord::Mode::Webhook => "webhook (alerts only)",
            },
            ws.root.display(),
            std::process::id()
        );
        shutdown_signal().await;
        eprintln!("stopping the Discord bridge…");
        let _ = stop_tx.send(true);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), bridge.join()).await;
        Ok(())
    })
}

/// `serve` and `run`: own the repository until SIGINT/SIGTERM, with progress on stderr.
fn serve(repo: &Option<PathBuf>, agents: bool) -> Outcome {
    let ws = workspace(repo)?;
    own(ws, agents, |owner| async move {
        let printer = agents.then(|| tokio::spawn(print_progress(owner.handle.subscribe())));
        eprintln!(
            "overlord-tui {} {} on {} (pid {}); Ctrl-C to stop",
            if agents {
                "running the swarm in"
            } else {
                "serving"
            },
            owner.ws.root.display(),
            owner.ws.relative(&owner.ws.socket_path()),
            std::process::id()
        );
        if let Some(addr) = owner.metrics_addr {
            eprintln!("metrics (OpenMetrics) on http://{addr}/metrics");
        }
        stopped(owner.stop).await;
        if let Some(p) = printer {
            eprintln!("stopping the agents…");
            p.abort();
        }
        Ok(())
    })
}

/// `overlord-tui run`'s progress lines: what the swarm does, and what waits for the human.
async fn print_progress(mut events: tokio::sync::broadcast::Receiver<crate::protocol::Event>) {
    use crate::protocol::EventKind as K;
    loop {
        let ev = match events.recv().await {
            Ok(e) => e,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(_) => break,
        };
        let at = ev.at.get(11..19).unwrap_or("");
        let line = match &ev.kind {
            K::AgentStateChanged {
                agent,
                state,
                task,
                detail,
                ..
            } => Some(format!(
                "{agent} {}{}{}",
                state.as_str(),
                task.as_ref().map(|t| format!(" {t}")).unwrap_or_default(),
                detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default()
            )),
            K::TaskStatusChanged { task, status, .. } => Some(format!("task {task} → {status}")),
            K::TaskAdded { task, .. } => Some(format!(
                "branch todo {} for the {}: {}",
                task.id, task.role, task.title
            )),
            K::ApprovalRequested { approval } => Some(format!(
                "{} {} {} awaits your decision: overlord-tui cmd '/approve {}' (or /reject {} <reason>)",
                approval.id, approval.kind, approval.subject, approval.id, approval.id
            )),
            K::ConcernRaised { concern } => Some(format!(
                "{} {} {} ({} → {}): {}",
                concern.id, concern.severity, concern.category, concern.from, concern.to, concern.summary
            )),
            K::ConcernEscalated { id, to, reason } => Some(format!("{id} escalated to the {to}: {reason}")),
            K::HandoffRecorded { handoff } => Some(format!(
                "{} {} → {}: {}",
                handoff.id, handoff.from, handoff.to, handoff.purpose
            )),
            K::ClarificationAnswered { id, answer } => Some(format!("{id} answered: {answer}")),
            K::CheckpointCreated { checkpoint } => Some(format!("checkpoint {}", checkpoint.name)),
            _ => None,
        };
        if let Some(l) = line {
            eprintln!("{at} {l}");
        }
    }
}

/// Resolves at SIGINT or SIGTERM. The handlers are installed when it is called, not when it
/// is first polled.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let int = signal(SignalKind::interrupt());
    let term = signal(SignalKind::terminate());
    async move {
        match (int, term) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

/// `agents`: every adapter with its CLI probed (in parallel: each version command may take
/// up to its time limit), the roles that use it, and the configuration's problems.
fn agents(repo: &Option<PathBuf>, json: bool) -> Outcome {
    use crate::agent::adapter::resolve;
    use crate::runtime::adapters::probe;

    let mut warnings = Vec::new();
    // An explicit --repo must be a repository; run anywhere else, the built-in adapters.
    let ws = match repo {
        Some(_) => Some(workspace(repo)?),
        None => std::env::current_dir()
            .ok()
            .and_then(|d| Workspace::discover(&d).ok()),
    };
    let config = match ws {
        Some(ws) => {
            let (config, warning) = load_config_warning(&ws);
            warnings.extend(warning);
            config
        }
        None => {
            let w = "not in a git repository: showing the built-in adapters".to_string();
            eprintln!("warning: {w}");
            warnings.push(w);
            Config::default()
        }
    };
    let (specs, errors) = resolve(&config.adapters);
    for e in &errors {
        eprintln!("warning: {e}");
    }
    warnings.extend(errors);
    let roles: Vec<(Role, String)> = Role::ALL
        .into_iter()
        .filter(|r| *r != Role::Human)
        .map(|r| (r, config.roles.get(r).adapter.trim().to_string()))
        .collect();
    for (role, adapter) in &roles {
        // A misconfigured adapter already has its warning.
        let configured = config.adapters.contains_key(adapter);
        if !specs.iter().any(|s| &s.name == adapter) && !configured {
            let known: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
            let w = format!(
                "[roles.{}] adapter = \"{adapter}\" is not an adapter (adapters: {})",
                role.as_str(),
                known.join(", ")
            );
            eprintln!("warning: {w}");
            warnings.push(w);
        }
    }
    let self_exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("overlord-tui"));
    let probes: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = specs
            .iter()
            .map(|s| scope.spawn(|| probe(s, &self_exe)))
            .collect();
        handles
            .into_iter()
            .zip(&specs)
            .map(|(h, s)| {
                h.join()
                    .unwrap_or_else(|_| crate::runtime::adapters::Probe {
                        name: s.name.clone(),
                        kind: s.kind,
                        program: s.program().to_string(),
                        path: None,
                        installed: false,
                        version: None,
                        error: Some("probing it failed".into()),
                    })
            })
            .collect()
    });
    let rows: Vec<_> = specs
        .iter()
        .zip(probes)
        .map(|(spec, p)| {
            let used_by: Vec<&str> = roles
                .iter()
                .filter(|(_, a)| a == &spec.name)
                .map(|(r, _)| r.as_str())
                .collect();
            (spec, p, used_by)
        })
        .collect();
    if json {
        let adapters: Vec<serde_json::Value> = rows
            .iter()
            .map(|(spec, p, used_by)| {
                serde_json::json!({
                    "name": p.name,
                    "kind": p.kind.as_str(),
                    "program": p.program,
                    "installed": p.installed,
                    "path": p.path.as_ref().map(|x| x.display().to_string()),
                    "version": p.version,
                    "error": p.error,
                    "model": spec.model,
                    "roles": used_by,
                })
            })
            .collect();
        return print_json(&serde_json::json!({
            "schema_version": JSON_SCHEMA_VERSION,
            "adapters": adapters,
            "warnings": warnings,
        }));
    }
    let width = rows.iter().map(|(_, p, _)| p.name.len()).max().unwrap_or(0);
    let mut out = std::io::stdout().lock();
    for (_, p, used_by) in &rows {
        let state = match (&p.path, &p.version, &p.error) {
            (Some(path), Some(v), _) => format!("{v}  ({})", path.display()),
            (Some(path), None, Some(e)) => format!("installed at {}, but {e}", path.display()),
            (_, _, Some(e)) if !p.installed => e.clone(),
            _ => "not installed".to_string(),
        };
        let roles = if used_by.is_empty() {
            String::new()
        } else {
            format!("  roles: {}", used_by.join(", "))
        };
        writeln!(
            out,
            "{:<width$}  {:<8}  {state}{roles}",
            p.name,
            p.kind.as_str()
        )
        .map_err(fail)?;
    }
    Ok(())
}
