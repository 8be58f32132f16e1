//! The supervisor and its books: what it remembers of each run (its slot), of each task across
//! runs (failures, rate limits, spending, fixes) and of each agent (session, coalesced
//! activity, turns it owes), and the messages runs and checks send back to its loop.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::Instant;

use tokio::sync::{broadcast, mpsc};

use super::checks::Check;
use super::raw_output::RawOutput;
use super::telemetry::RunTally;
use crate::agent::adapter::AdapterSpec;
use crate::agent::{AgentError, AgentEvent, UsageTracker};
use crate::config::Config;
use crate::core::Handle;
use crate::protocol::model::ClarificationId;
use crate::protocol::{Event, State};
use crate::runtime::process::{Control, RunEnd};
use crate::workspace::Workspace;

/// Why a run was stopped by us.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum StopReason {
    /// `/assign` with new instructions: run the task again with them.
    Redirect(String),
    Shutdown,
}

#[derive(Debug, Clone)]
pub(super) enum Purpose {
    Task(String),
    Clarify(ClarificationId),
    Assign(String),
}

pub(super) struct RunSlot {
    pub(super) id: u64,
    pub(super) purpose: Purpose,
    pub(super) control: mpsc::UnboundedSender<Control>,
    pub(super) worktree: PathBuf,
    pub(super) adapter: String,
    pub(super) finished: Option<(bool, Option<String>, Option<AgentError>)>,
    pub(super) last_text: Option<String>,
    /// The message being streamed as deltas (Claude's partial messages, Gemini): the live
    /// line shown until the whole message replaces it.
    pub(super) partial: String,
    pub(super) stop: Option<StopReason>,
    pub(super) suspended: bool,
    /// When the CLI last printed an event (time suspended does not count).
    pub(super) last_output: Instant,
    /// Shown as stalled (no output for `[agents] stall_secs`).
    pub(super) stalled: bool,
    /// The CLI said on stderr that it retries the model API (`retrying (API 429), attempt
    /// N`): a quiet run is then waiting on the API, not stalled. Cleared by its next output.
    pub(super) retrying: bool,
    /// What the run did so far (tools, files, tokens, cost, model).
    pub(super) tally: RunTally,
    /// An `acp` run's key: the first line of its client's stdin, carried by every answer the
    /// supervisor writes there (an agent that writes that stdin itself does not know it).
    pub(super) answer_key: Option<String>,
}

impl RunSlot {
    pub(super) fn new(
        id: u64,
        purpose: Purpose,
        control: mpsc::UnboundedSender<Control>,
        worktree: PathBuf,
        adapter: &str,
        model: Option<String>,
    ) -> RunSlot {
        RunSlot {
            id,
            purpose,
            control,
            worktree,
            adapter: adapter.to_string(),
            finished: None,
            last_text: None,
            partial: String::new(),
            stop: None,
            suspended: false,
            last_output: Instant::now(),
            stalled: false,
            retrying: false,
            tally: RunTally::new(adapter, model),
            answer_key: None,
        }
    }
}

/// What the supervisor remembers of a task across runs.
#[derive(Default)]
pub(super) struct TaskBook {
    /// Runs that failed (for retries and backoff).
    pub(super) failures: u32,
    /// Runs started (the attempt number of the next run is runs + 1).
    pub(super) runs: u32,
    pub(super) rate_limits: u32,
    pub(super) retry_at: Option<Instant>,
    pub(super) feedback: Option<String>,
    /// Adapter the task is handed to (rate limit, quota), instead of the role's.
    pub(super) adapter: Option<String>,
    pub(super) tried_adapters: Vec<String>,
    pub(super) worktree: Option<PathBuf>,
    /// An agent was picked and the worktree is being prepared.
    pub(super) preparing: bool,
    /// The post-run checks are running.
    pub(super) checking: bool,
    pub(super) tokens: u64,
    pub(super) cost: f64,
    /// Budgets are multiplied by this after the human resumes a budget-paused agent.
    pub(super) allowance: f64,
    /// Fix attempts (branch todos) opened for this task.
    pub(super) fixes: u32,
    /// Starts held back in a row by a live process on the task or its worktree.
    pub(super) held: u32,
    /// What its runs did, added up (for the hand-off when it is done).
    pub(super) telemetry: crate::protocol::model::TaskTelemetry,
}

#[derive(Default)]
pub(super) struct AgentBook {
    pub(super) session: Option<String>,
    pub(super) usage: UsageTracker,
    pub(super) pending_turns: VecDeque<Purpose>,
    /// Coalesced activity not yet written.
    pub(super) events: u64,
    pub(super) tokens: u64,
    pub(super) cost: f64,
    pub(super) last_output: Option<String>,
    pub(super) files: Vec<String>,
    pub(super) new_session: Option<String>,
    /// Paused by a budget (resuming raises the allowance).
    pub(super) budget_paused: bool,
    pub(super) last_worktree: Option<PathBuf>,
    pub(super) runs: u64,
}

pub(super) enum Msg {
    Event {
        agent: String,
        run: u64,
        event: AgentEvent,
    },
    Ended {
        agent: String,
        run: u64,
        end: RunEnd,
    },
    Prepared {
        agent: String,
        task: String,
        result: Result<PathBuf, String>,
    },
    Checked {
        agent: String,
        task: String,
        check: Check,
    },
}

/// An `acp` run's permission request that waits for the human (`permission`), by its concern.
#[derive(Debug, Clone)]
pub(super) struct Ask {
    pub(super) agent: String,
    pub(super) run: u64,
    /// The client's id of the request (`p1`).
    pub(super) request: String,
}

pub struct Supervisor {
    pub(super) handle: Handle,
    pub(super) ws: Workspace,
    pub(super) config: Config,
    pub(super) adapters: BTreeMap<String, AdapterSpec>,
    pub(super) self_exe: PathBuf,
    pub(super) state: State,
    pub(super) runs: BTreeMap<String, RunSlot>,
    pub(super) tasks: BTreeMap<String, TaskBook>,
    pub(super) agents: BTreeMap<String, AgentBook>,
    pub(super) tx: mpsc::Sender<Msg>,
    pub(super) rx: mpsc::Receiver<Msg>,
    pub(super) next_run: u64,
    pub(super) last_flush: Instant,
    pub(super) docs_dirty: bool,
    pub(super) raw: RawOutput,
    pub(super) warned: Vec<String>,
    /// The core's events, followed so that `state` is the core's.
    pub(super) events: broadcast::Receiver<Event>,
    /// Events folded into `state` but not reacted to yet.
    pub(super) reactions: VecDeque<Event>,
    /// The agents' kernel sandbox.
    pub(super) sandbox: SandboxBook,
    /// Continuous integration and automatic Saves.
    pub(super) ci: CiBook,
    /// Bumped whenever a task finishes or an approval is decided (new work to integrate).
    pub(super) work_generation: u64,
    /// Agents whose CLI cannot reach its endpoint (`reach`).
    pub(super) cutoffs: BTreeMap<String, Cutoff>,
    /// `acp` permission requests waiting for the human, by their concern (`permission`).
    pub(super) asks: BTreeMap<crate::protocol::model::ConcernId, Ask>,
}

/// One agent cut off from its endpoint (`reach`): since when, on which adapter, the last line
/// that said so, and whether the human was told.
#[derive(Debug, Clone)]
pub(super) struct Cutoff {
    pub(super) since: Instant,
    pub(super) adapter: String,
    pub(super) line: String,
    pub(super) told: bool,
}

/// What the supervisor keeps of the sandbox.
pub(super) struct SandboxBook {
    /// What the kernel offers, asked once at start.
    pub(super) support: crate::runtime::sandbox::Support,
    /// The refusal to start agents was raised as a concern (once per start).
    pub(super) told: bool,
    /// The denials of each agent's current run.
    pub(super) denials: BTreeMap<String, crate::runtime::sandbox::Denials>,
}

impl SandboxBook {
    pub(super) fn new() -> SandboxBook {
        SandboxBook {
            support: crate::runtime::sandbox::probe(),
            told: false,
            denials: Default::default(),
        }
    }
}

/// What the supervisor remembers of integrations and automatic Saves.
#[derive(Default)]
pub(super) struct CiBook {
    /// What was last asked for: the kind and the work it covered.
    pub(super) last: Option<(crate::protocol::model::OperationKind, Work)>,
    /// When Overlord last Saved by itself (at first: when the supervisor first looked).
    pub(super) last_save: Option<Instant>,
    /// Conflict branch todos opened per task.
    pub(super) rebases: BTreeMap<String, u32>,
}

/// The finished work an integration covers: the tasks, and how many times tasks finished and
/// merge approvals were given (a task finishing again, or the human's approval, is new work
/// for the same set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Work {
    pub(super) tasks: std::collections::BTreeSet<String>,
    pub(super) generation: u64,
}
