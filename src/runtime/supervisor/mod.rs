//! The supervisor: runs the plan's tasks on agents. It lives in the process that owns the
//! core (`overlord-tui run`, the console), talks to the core only through its [`Handle`]
//! (commands with the `system` origin, events it emits for agent states and activity) and
//! follows the core's event stream, so every front end sees what it does.
//!
//! The loop (seed 001's workflow, seed 003's retries and branch todos):
//! - nothing runs before the human approves the plan; then the PM's initiation hand-off and
//!   the project documents;
//! - a task whose dependencies are done gets an agent of its role (the role's adapter), a
//!   worktree on its branch (with its dependencies' branches merged in) and the role's
//!   prompt, up to `[agents] concurrency` at once, unless dispatch is frozen (the kill
//!   switch, a Save or rollback);
//! - a run that fails is retried with exponential backoff up to `max_attempts`, then the
//!   task fails with the CLI's message and a concern goes up the chain; a rate limit pauses
//!   the agent with a countdown and retries, then hands the task to a fallback adapter; a
//!   quota or credentials error is not retried;
//! - a finished run: Overlord commits what the agent left, checks the expected artifacts and
//!   runs the acceptance check and the task's acceptance commands in the worktree. A failed
//!   one opens a branch todo routed by failure class (`implementation_bug` → debugger,
//!   `spec_mismatch` → designer, `timeout` and `flaky_test` → tester), at most
//!   `max_debug_attempts`, then the human gets it;
//! - a design spec or a test plan waits for the human's approval (`/approve`, `/reject
//!   <reason>` sends it back to its author with the reason); every transition is a hand-off;
//! - `/pause` suspends an agent's process group (SIGSTOP), `/pause all` every one and stops
//!   dispatch; `/clarify` asks the agent in its own session (resume) and records the answer;
//!   `/assign` redirects: the running turn is stopped and the agent resumes with the new
//!   instructions;
//! - budgets (tokens, USD) per task and per role pause the agent and raise a concern;
//! - an unacknowledged concern goes one role up after `escalate_after_secs`.
//!
//! The rooms: `books` holds the supervisor and what it remembers of runs, tasks and agents;
//! `main_loop` starts it, runs its loop and stops it; `core_link` talks to the core and
//! follows its events; `reactions` answers the core's events; `clock` does the periodic
//! chores; `initiation` writes the project documents and the PM's initiation; `dispatch`
//! picks tasks and agents; `prepare` readies a task's worktree and prompt; `run` is one agent
//! run from start to end; `processes` records the agents' CLI processes, stops what a crashed
//! owner left running and keeps two runs off one task or worktree; `budget` counts spending; `retry` the retries and backoff;
//! `rate_limit` the rate-limit pauses and the fallback adapters; `acceptance` and `checks`
//! the post-run checks; `branch_todo` the fix tasks; `review` the human's review;
//! `raw_output` the agents' raw lines; `sandboxing` starts every CLI in the kernel sandbox;
//! `text` shortens text; `code_review` runs the reviewer loop; `continuous` integrates finished work at once and, with `[git] save =
//! "auto"`, Saves it.

mod acceptance;
mod books;
mod branch_todo;
mod budget;
mod checks;
mod clock;
mod code_review;
mod continuous;
mod core_link;
mod dispatch;
mod initiation;
mod main_loop;
mod permission;
mod planning;
mod prepare;
mod processes;
mod rate_limit;
mod raw_output;
mod reach;
mod reactions;
mod retry;
mod review;
mod run;
mod sandboxing;
mod telemetry;
mod text;

pub use books::Supervisor;
pub use core_link::ACTOR;
pub use raw_output::{RawOutput, RAW_LINES};
