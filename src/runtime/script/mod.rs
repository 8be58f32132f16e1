//! The scripted agent (`overlord-tui script-agent`): replays a deterministic TOML script as if
//! it were an AI coding agent, for the demo and the tests. It prints Overlord's native event
//! lines ([`native_line`](crate::agent::parse::native_line)) on stdout, one per line, flushed
//! after each, and talks back to Overlord the way a real agent does: through the
//! `overlord-tui` CLI (`concern raise`, `handoff`, `variation propose`), run as child processes
//! in the agent's worktree with the environment the adapter gave it.
//!
//! The script is found in the script folder (`--dir`, relative to `$OVERLORD_REPO`, else to
//! the current directory): `<task>.toml`, then `<role>.toml`, then `default.toml`. The format
//! is documented in `docs/adapters.md` ("Scripted adapter"); every problem in a script is
//! reported as `file:line:column: message`.
//!
//! A run prints `started`, then the events of each step, then `finished` (ok, with the result
//! text) and exits 0. A step that fails prints a `warning` with the classified error kind and
//! a `finished` with `ok: false` and that error, and exits 1. A script that cannot be found or
//! read, or that is not valid, gives a `finished` error and exit code 2 before any step runs.
//! With `--resume <session>` the prompt is a question: the script's `[answers]` answer it and
//! no step runs.
//!
//! Signals keep their default behaviour (SIGINT and SIGTERM end the process at once): the
//! runner owns cancellation and stops the whole process group.
//!
//! The rooms: `env` is what the adapter told the agent and where its script is; `format` the
//! script's types (steps, answers, errors, exit codes); `parse` reads and checks a script
//! file; `play` runs it.

mod env;
mod format;
mod parse;
mod play;

pub use env::{find_script, AgentEnv};
pub use format::{
    Action, Answers, ConcernStep, EmitStep, FailKind, FailStep, FileStep, HandoffStep, Script,
    ScriptError, Step, UsageStep, VariationStep, EXIT_FAILED, EXIT_OK, EXIT_SCRIPT,
};
pub use parse::{check_relative_path, load_script, parse_script};
pub use play::{run, run_from_env, ScriptRun};
