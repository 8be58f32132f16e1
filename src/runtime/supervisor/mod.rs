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
//!   runs the acceptance check in the worktree. A failed check opens a branch todo routed
//!   by failure class (implementation bug → implementer, spec mismatch → designer, timeout
//!   → tester), at most `max_debug_attempts`, then the human gets it;
//! - a design spec or a test plan waits for the human's approval (`/approve`, `/reject
//!   <reason>` sends it back to its author with the reason); every transition is a hand-off;
//! - `/pause` suspends an agent's process group (SIGSTOP), `/pause all` every one and stops
//!   dispatch; `/clarify` asks the agent in its own session (resume) and records the answer;
//!   `/assign` redirects: the running turn is stopped and the agent resumes with the new
//!   instructions;
//! - budgets (tokens, USD) per task and per role pause the agent and raise a concern;
//! - an unacknowledged concern goes one role up after `escalate_after_secs`.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc};

use super::process::{self, Control, RunEnd, RunOptions};
use super::prompts;
use crate::agent::adapter::{resolve, AdapterKind, AdapterSpec, Turn};
use crate::agent::{AgentError, AgentEvent, ErrorKind, ToolKind, UsageTracker};
use crate::config::Config;
use crate::core::{parse_stamp, stamp, Handle};
use crate::protocol::documents;
use crate::protocol::model::{
    Agent, AgentState, ApprovalKind, ClarificationId, ConcernStatus, Decision, Impact, Role,
    Severity, Task, TaskStatus,
};
use crate::protocol::{
    Command, ConcernDraft, Event, EventKind, HandoffDraft, Origin, Reply, State,
};
use crate::workspace::Workspace;

/// Who the supervisor's own events are from.
pub const ACTOR: &str = "system:supervisor";
/// Raw output lines kept per agent for the log view.
pub const RAW_LINES: usize = 1000;
/// How often the supervisor looks at timers, dispatch and escalations.
const TICK: Duration = Duration::from_millis(200);

/// The raw output of every agent (a ring buffer each), shared with the console.
#[derive(Clone, Default)]
pub struct RawOutput(Arc<Mutex<BTreeMap<String, VecDeque<String>>>>);

impl RawOutput {
    fn push(&self, agent: &str, line: &str) {
        if line.is_empty() {
            return;
        }
        if let Ok(mut m) = self.0.lock() {
            let ring = m.entry(agent.to_string()).or_default();
            if ring.len() == RAW_LINES {
                ring.pop_front();
            }
            ring.push_back(line.to_string());
        }
    }

    /// The last lines of an agent's raw output, oldest first.
    pub fn lines(&self, agent: &str) -> Vec<String> {
        self.0
            .lock()
            .ok()
            .and_then(|m| m.get(agent).map(|r| r.iter().cloned().collect()))
            .unwrap_or_default()
    }
}

/// Why a run was stopped by us.
#[derive(Debug, Clone, PartialEq)]
enum StopReason {
    /// `/assign` with new instructions: run the task again with them.
    Redirect(String),
    Shutdown,
}

#[derive(Debug, Clone)]
enum Purpose {
    Task(String),
    Clarify(ClarificationId),
    Assign(String),
}

struct RunSlot {
    id: u64,
    purpose: Purpose,
    control: mpsc::UnboundedSender<Control>,
    worktree: PathBuf,
    adapter: String,
    finished: Option<(bool, Option<String>, Option<AgentError>)>,
    last_text: Option<String>,
    stop: Option<StopReason>,
    suspended: bool,
    /// When the CLI last printed an event (time suspended does not count).
    last_output: Instant,
    /// Shown as stalled (no output for `[agents] stall_secs`).
    stalled: bool,
}

/// What the supervisor remembers of a task across runs.
#[derive(Default)]
struct TaskBook {
    /// Runs that failed (for retries and backoff).
    failures: u32,
    /// Runs started (the attempt number of the next run is runs + 1).
    runs: u32,
    rate_limits: u32,
    retry_at: Option<Instant>,
    feedback: Option<String>,
    /// Adapter the task is handed to (rate limit, quota), instead of the role's.
    adapter: Option<String>,
    tried_adapters: Vec<String>,
    worktree: Option<PathBuf>,
    /// An agent was picked and the worktree is being prepared.
    preparing: bool,
    /// The post-run checks are running.
    checking: bool,
    tokens: u64,
    cost: f64,
    /// Budgets are multiplied by this after the human resumes a budget-paused agent.
    allowance: f64,
    /// Fix attempts (branch todos) opened for this task.
    fixes: u32,
}

#[derive(Default)]
struct AgentBook {
    session: Option<String>,
    usage: UsageTracker,
    pending_turns: VecDeque<Purpose>,
    /// Coalesced activity not yet written.
    events: u64,
    tokens: u64,
    cost: f64,
    last_output: Option<String>,
    files: Vec<String>,
    new_session: Option<String>,
    /// Paused by a budget (resuming raises the allowance).
    budget_paused: bool,
    last_worktree: Option<PathBuf>,
    runs: u64,
}

enum Msg {
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

/// The post-run checks of a task's worktree.
#[derive(Debug, Default)]
struct Check {
    committed: Option<String>,
    /// Files the task's branch changed.
    files: Vec<String>,
    missing: Vec<String>,
    /// `Some((passed, tail, timed_out))` when an acceptance check ran.
    acceptance: Option<(bool, String, bool)>,
    error: Option<String>,
    /// The agent's final answer.
    result: Option<String>,
}

pub struct Supervisor {
    handle: Handle,
    ws: Workspace,
    config: Config,
    adapters: BTreeMap<String, AdapterSpec>,
    self_exe: PathBuf,
    state: State,
    runs: BTreeMap<String, RunSlot>,
    tasks: BTreeMap<String, TaskBook>,
    agents: BTreeMap<String, AgentBook>,
    tx: mpsc::Sender<Msg>,
    rx: mpsc::Receiver<Msg>,
    next_run: u64,
    last_flush: Instant,
    docs_dirty: bool,
    raw: RawOutput,
    warned: Vec<String>,
    /// The core's events, followed so that `state` is the core's.
    events: broadcast::Receiver<Event>,
    /// Events folded into `state` but not reacted to yet.
    reactions: VecDeque<Event>,
}

fn system() -> Origin {
    Origin::System
}

fn agent_origin(agent: &str, role: Role) -> Origin {
    Origin::Agent {
        agent: agent.to_string(),
        role: Some(role),
    }
}

fn first_line(s: &str, max: usize) -> String {
    let line = s
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    match line.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

/// The role a finished task hands its work to.
fn next_role(role: Role) -> Role {
    match role {
        Role::ProjectManager => Role::Designer,
        Role::Designer => Role::Implementer,
        Role::Implementer | Role::Debugger => Role::Tester,
        Role::Tester | Role::Reviewer => Role::ProjectManager,
        Role::Human => Role::ProjectManager,
    }
}

/// The human review a task's result needs, if any: a design spec or a test plan.
fn review_kind(task: &Task) -> Option<ApprovalKind> {
    if task.is_temporary {
        return None;
    }
    let has = |name: &str| {
        task.expected_artifacts.iter().any(|a| {
            a.rsplit('/')
                .next()
                .is_some_and(|f| f.eq_ignore_ascii_case(name))
        })
    };
    if has("DESIGN_SPEC.md") || (task.role == Role::Designer && task.expected_artifacts.is_empty())
    {
        Some(ApprovalKind::DesignSpec)
    } else if has("TEST_PLAN.md") {
        Some(ApprovalKind::TestPlan)
    } else {
        None
    }
}

impl Supervisor {
    /// A supervisor over the core behind `handle`. Configuration problems (an adapter that
    /// does not resolve) are logged and left out; the rest runs.
    pub async fn new(handle: Handle, ws: Workspace, config: Config) -> Result<Supervisor, String> {
        let state = handle.snapshot().await.ok_or("the core has stopped")?;
        let (specs, errors) = resolve(&config.adapters);
        for e in &errors {
            tracing::warn!("{e}");
        }
        let self_exe =
            std::env::current_exe().map_err(|e| format!("cannot find overlord-tui itself: {e}"))?;
        let (tx, rx) = mpsc::channel(4096);
        let events = handle.subscribe();
        Ok(Supervisor {
            handle,
            ws,
            config,
            adapters: specs.into_iter().map(|s| (s.name.clone(), s)).collect(),
            self_exe,
            state,
            runs: BTreeMap::new(),
            tasks: BTreeMap::new(),
            agents: BTreeMap::new(),
            tx,
            rx,
            next_run: 0,
            last_flush: Instant::now(),
            docs_dirty: true,
            raw: RawOutput::default(),
            warned: errors,
            events,
            reactions: VecDeque::new(),
        })
    }

    /// The agents' raw output, for a console in the same process.
    pub fn raw_output(&self) -> RawOutput {
        self.raw.clone()
    }

    /// Use this program for the scripted adapter (tests and benchmarks run the supervisor
    /// inside a test binary, which is not overlord-tui).
    pub fn with_self_exe(mut self, exe: PathBuf) -> Supervisor {
        self.self_exe = exe;
        self
    }

    /// Runs until `shutdown` completes, then stops every run (SIGINT → SIGTERM → SIGKILL)
    /// and records where the agents were left.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = ()>) {
        // Anything that happened between the first snapshot and the subscription.
        if let Some(s) = self.handle.snapshot().await {
            self.state = s;
        }
        self.recover().await;
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                msg = self.rx.recv() => {
                    if let Some(msg) = msg {
                        self.on_msg(msg).await;
                    }
                }
                ev = self.events.recv() => match ev {
                    Ok(ev) => self.fold(ev).await,
                    Err(broadcast::error::RecvError::Lagged(_)) => self.resync().await,
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = tick.tick() => self.on_tick().await,
            }
            while let Some(ev) = self.reactions.pop_front() {
                self.react(&ev).await;
            }
        }
        self.shut_down().await;
    }

    /// Folds one of the core's events into `state` and queues the reaction to it.
    async fn fold(&mut self, ev: Event) {
        if ev.seq <= self.state.last_event_seq {
            return;
        }
        if ev.seq > self.state.last_event_seq + 1 {
            // A gap: the snapshot has everything up to now (reactions to the missed events
            // are lost; the tick's scan of the state covers what matters).
            self.resync().await;
            if ev.seq <= self.state.last_event_seq {
                return;
            }
        }
        self.state.apply(&ev);
        self.reactions.push_back(ev);
    }

    async fn resync(&mut self) {
        if let Some(s) = self.handle.snapshot().await {
            self.state = s;
        }
    }

    /// Waits until `state` includes event `seq` (the events of a command just submitted),
    /// so that the next decision sees them.
    async fn sync(&mut self, seq: u64) {
        let until = Instant::now() + Duration::from_secs(5);
        while self.state.last_event_seq < seq {
            match tokio::time::timeout_at(until.into(), self.events.recv()).await {
                Ok(Ok(ev)) => self.fold(ev).await,
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => self.resync().await,
                Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => {
                    self.resync().await;
                    break;
                }
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // Talking to the core

    async fn submit(&mut self, origin: Origin, command: Command) -> Reply {
        let what = command.name();
        let reply = self.handle.submit(origin, command).await;
        if !reply.ok {
            tracing::warn!(command = what, message = %reply.message, "the core refused the supervisor's command");
        }
        if let Some(last) = reply.events.iter().max() {
            self.sync(*last).await;
        }
        reply
    }

    async fn emit(&mut self, kinds: Vec<EventKind>) {
        match self.handle.emit(ACTOR, kinds).await {
            Ok(seqs) => {
                if let Some(last) = seqs.iter().max() {
                    self.sync(*last).await;
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot record the supervisor's events"),
        }
    }

    async fn set_agent(
        &mut self,
        agent: &str,
        state: AgentState,
        task: Option<&str>,
        detail: Option<String>,
        attempt: Option<u32>,
        until: Option<String>,
    ) {
        let session_id = self.agents.get(agent).and_then(|b| b.session.clone());
        self.emit(vec![EventKind::AgentStateChanged {
            agent: agent.to_string(),
            state,
            task: task.map(str::to_string),
            detail,
            attempt,
            session_id,
            until,
        }])
        .await;
    }

    async fn set_task(&mut self, task: &str, status: TaskStatus, note: Option<String>) {
        let current = self
            .state
            .plan
            .as_ref()
            .and_then(|p| p.task(task))
            .map(|t| t.status);
        if current == Some(status) {
            return;
        }
        self.submit(
            system(),
            Command::SetTaskStatus {
                task: task.to_string(),
                status,
                note,
            },
        )
        .await;
    }

    async fn concern(&mut self, draft: ConcernDraft) {
        self.submit(system(), Command::RaiseConcern(draft)).await;
    }

    #[allow(clippy::too_many_arguments)]
    async fn handoff(
        &mut self,
        origin: Origin,
        from: Role,
        to: Role,
        purpose: &str,
        summary: String,
        outputs: Vec<String>,
        status: &str,
        task: Option<&str>,
    ) {
        self.submit(
            origin,
            Command::RecordHandoff(HandoffDraft {
                from,
                to,
                purpose: purpose.to_string(),
                summary,
                inputs: Vec::new(),
                outputs,
                impact: Some(Impact::Low),
                status: Some(status.to_string()),
                task: task.map(str::to_string),
            }),
        )
        .await;
    }

    // -----------------------------------------------------------------------------------
    // Start, stop

    /// Agents the state shows working, but no process of ours runs (we just started): they
    /// were stopped with the previous owner. Their tasks go back to the queue.
    async fn recover(&mut self) {
        let stale: Vec<Agent> = self
            .state
            .agents
            .values()
            .filter(|a| {
                matches!(
                    a.state,
                    AgentState::Running | AgentState::Waiting | AgentState::RateLimited
                )
            })
            .cloned()
            .collect();
        for a in stale {
            self.set_agent(
                &a.id,
                AgentState::Idle,
                None,
                Some("stopped with the previous overlord-tui; its task is queued again".into()),
                None,
                None,
            )
            .await;
            if let Some(t) = &a.task {
                self.set_task(
                    t,
                    TaskStatus::Todo,
                    Some(format!(
                        "{} was stopped with overlord-tui; queued again",
                        a.id
                    )),
                )
                .await;
            }
        }
        for a in self.state.agents.values() {
            let book = self.agents.entry(a.id.clone()).or_default();
            book.session = a.session_id.clone();
        }
    }

    async fn shut_down(&mut self) {
        for slot in self.runs.values_mut() {
            slot.stop = Some(StopReason::Shutdown);
            let _ = slot.control.send(Control::Cancel);
        }
        let grace = Duration::from_secs(self.config.agents.cancel_grace_secs.max(1));
        let deadline = Instant::now() + grace * 3 + Duration::from_secs(2);
        while !self.runs.is_empty() && Instant::now() < deadline {
            match tokio::time::timeout_at(deadline.into(), self.rx.recv()).await {
                Ok(Some(Msg::Ended { agent, run, end })) => {
                    if self.runs.get(&agent).is_some_and(|s| s.id == run) {
                        let slot = self.runs.remove(&agent);
                        let task = slot.and_then(|s| match s.purpose {
                            Purpose::Task(t) => Some(t),
                            _ => None,
                        });
                        self.set_agent(
                            &agent,
                            AgentState::Idle,
                            None,
                            Some(format!("stopped with overlord-tui ({})", end.describe())),
                            None,
                            None,
                        )
                        .await;
                        if let Some(t) = task {
                            self.set_task(
                                &t,
                                TaskStatus::Todo,
                                Some(format!(
                                    "{agent} was stopped with overlord-tui; queued again"
                                )),
                            )
                            .await;
                        }
                    }
                }
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        self.flush().await;
    }

    // -----------------------------------------------------------------------------------
    // The core's events

    async fn react(&mut self, ev: &Event) {
        if let EventKind::TaskStatusChanged {
            task,
            status: TaskStatus::Todo,
            ..
        } = &ev.kind
        {
            if ev.actor != Origin::System.actor() {
                // Someone set the task back by hand (`/task T todo` after fixing what made it
                // fail): it starts afresh.
                if let Some(book) = self.tasks.get_mut(task) {
                    book.failures = 0;
                    book.rate_limits = 0;
                    book.retry_at = None;
                    book.adapter = None;
                    book.tried_adapters.clear();
                }
            }
        }
        match &ev.kind {
            EventKind::HandoffRecorded { .. }
            | EventKind::TaskStatusChanged { .. }
            | EventKind::TaskAdded { .. }
            | EventKind::VariationProposed { .. }
            | EventKind::ConcernRaised { .. }
            | EventKind::ConcernResolved { .. }
            | EventKind::CheckpointCreated { .. }
            | EventKind::PlanImported { .. }
            | EventKind::QaRunRecorded { .. } => self.docs_dirty = true,
            EventKind::ApprovalDecided {
                id, decision, note, ..
            } => {
                self.docs_dirty = true;
                let Some(a) = self.state.approvals.get(id).cloned() else {
                    return;
                };
                if !matches!(a.kind, ApprovalKind::DesignSpec | ApprovalKind::TestPlan) {
                    return;
                }
                let Some(task) = self.task(&a.subject) else {
                    return;
                };
                if task.status != TaskStatus::NeedsReview {
                    return;
                }
                match decision {
                    Decision::Approved | Decision::ApprovedWithConditions => {
                        self.set_task(
                            &task.id,
                            TaskStatus::Done,
                            Some(format!("{} {}", a.id, decision.as_str())),
                        )
                        .await;
                        self.handoff(
                            system(),
                            Role::Human,
                            next_role(task.role),
                            &format!("{} approved", a.kind),
                            format!(
                                "the human approved {} of {}{}",
                                a.kind,
                                task.id,
                                note.as_ref().map(|n| format!(": {n}")).unwrap_or_default()
                            ),
                            task.expected_artifacts.clone(),
                            "approved",
                            Some(&task.id),
                        )
                        .await;
                    }
                    Decision::Rejected => {
                        let reason = note.clone().unwrap_or_else(|| "no reason given".into());
                        self.send_back(
                            &task,
                            format!(
                                "The human rejected your {} ({}): {reason}\nRevise it accordingly.",
                                a.kind, a.id
                            ),
                            format!("{} rejected: {reason}", a.id),
                            format!("{} rejected", a.kind),
                            format!("sent back to its author: {reason}"),
                            "rejected",
                        )
                        .await;
                    }
                    Decision::Deferred => {
                        // "Request clarification / update": the owner regenerates the
                        // artifact with a delta summary; the same approval is decided again.
                        let ask = note
                            .clone()
                            .unwrap_or_else(|| "clarify it and bring it up to date".into());
                        self.send_back(
                            &task,
                            format!(
                                "The human asks for a clarification or an update of your {} ({}): {ask}\nRegenerate it accordingly.",
                                a.kind, a.id
                            ),
                            format!("{}: update requested: {ask}", a.id),
                            format!("{} update requested", a.kind),
                            format!("back to its author for an update: {ask}"),
                            "update_requested",
                        )
                        .await;
                    }
                }
            }
            EventKind::AgentPaused { agent } => {
                if let Some(slot) = self.runs.get_mut(agent) {
                    if !slot.suspended {
                        let _ = slot.control.send(Control::Suspend);
                        slot.suspended = true;
                    }
                }
            }
            EventKind::DispatchHalted { .. } => {
                for slot in self.runs.values_mut() {
                    if !slot.suspended {
                        let _ = slot.control.send(Control::Suspend);
                        slot.suspended = true;
                    }
                }
            }
            EventKind::AgentResumed { agent } => self.resume_agent(agent),
            EventKind::DispatchResumed => {
                let ids: Vec<String> = self.runs.keys().cloned().collect();
                for id in ids {
                    self.resume_agent(&id);
                }
            }
            EventKind::ClarificationRequested { clarification } => {
                self.agents
                    .entry(clarification.agent.clone())
                    .or_default()
                    .pending_turns
                    .push_back(Purpose::Clarify(clarification.id));
            }
            EventKind::WorkAssigned { agent, text } => {
                let running_task = self.runs.get(agent).and_then(|s| match &s.purpose {
                    Purpose::Task(t) => Some(t.clone()),
                    _ => None,
                });
                match running_task {
                    Some(_) => {
                        if let Some(slot) = self.runs.get_mut(agent) {
                            slot.stop = Some(StopReason::Redirect(text.clone()));
                            let _ = slot.control.send(Control::Cancel);
                        }
                    }
                    None => self
                        .agents
                        .entry(agent.clone())
                        .or_default()
                        .pending_turns
                        .push_back(Purpose::Assign(text.clone())),
                }
            }
            _ => {}
        }
    }

    /// A reviewed artifact goes back to its author: the task is queued again with the
    /// human's words as the next run's feedback, and the hand-off says why.
    async fn send_back(
        &mut self,
        task: &Task,
        feedback: String,
        note: String,
        purpose: String,
        summary: String,
        status: &str,
    ) {
        let book = self.tasks.entry(task.id.clone()).or_default();
        book.feedback = Some(feedback);
        book.failures = 0;
        self.set_task(&task.id, TaskStatus::Todo, Some(note)).await;
        self.handoff(
            system(),
            Role::Human,
            task.role,
            &purpose,
            summary,
            task.expected_artifacts.clone(),
            status,
            Some(&task.id),
        )
        .await;
    }

    fn resume_agent(&mut self, agent: &str) {
        let still_paused = self.state.agents.get(agent).is_none_or(|a| a.paused);
        if still_paused {
            return;
        }
        if let Some(book) = self.agents.get_mut(agent) {
            if book.budget_paused {
                book.budget_paused = false;
                // The human let it go on: the budget doubles for its task.
                if let Some(Purpose::Task(t)) = self.runs.get(agent).map(|s| s.purpose.clone()) {
                    let tb = self.tasks.entry(t).or_default();
                    tb.allowance = tb.allowance.max(1.0) * 2.0;
                }
            }
        }
        if let Some(slot) = self.runs.get_mut(agent) {
            if slot.suspended {
                let _ = slot.control.send(Control::Resume);
                slot.suspended = false;
            }
        }
    }

    fn task(&self, id: &str) -> Option<Task> {
        self.state.plan.as_ref().and_then(|p| p.task(id)).cloned()
    }

    fn phase_of(&self, id: &str) -> Option<String> {
        self.state
            .plan
            .as_ref()?
            .phases
            .iter()
            .find(|p| p.tasks.iter().any(|t| t.id == id))
            .map(|p| p.id.clone())
    }

    // -----------------------------------------------------------------------------------
    // The clock: flush, escalations, documents, dispatch

    async fn on_tick(&mut self) {
        if self.last_flush.elapsed() >= Duration::from_millis(self.config.agents.flush_ms.max(50)) {
            self.flush().await;
        }
        self.escalate().await;
        self.watch_stalls().await;
        if self.docs_dirty {
            self.write_documents();
        }
        if self.state.dispatch_frozen() {
            return;
        }
        self.pending_turns().await;
        self.initiate().await;
        self.dispatch().await;
    }

    /// A run that printed nothing for `[agents] stall_secs` is marked stalled (its detail), and
    /// unmarked when it speaks again.
    async fn watch_stalls(&mut self) {
        let limit = Duration::from_secs(self.config.agents.stall_secs.max(1));
        let mut changed = Vec::new();
        for (agent, slot) in self.runs.iter_mut() {
            if slot.suspended {
                // Paused: not stalled, and the pause does not count.
                slot.last_output = Instant::now();
                continue;
            }
            let quiet = slot.last_output.elapsed();
            if !slot.stalled && quiet >= limit {
                slot.stalled = true;
                changed.push((
                    agent.clone(),
                    Some(format!("stalled: no output for {}s", quiet.as_secs())),
                ));
            }
        }
        for (agent, detail) in changed {
            let task = self.state.agents.get(&agent).and_then(|a| a.task.clone());
            self.set_agent(
                &agent,
                AgentState::Running,
                task.as_deref(),
                detail,
                None,
                None,
            )
            .await;
        }
    }

    /// Writes the agents' coalesced activity as one transaction.
    async fn flush(&mut self) {
        self.last_flush = Instant::now();
        let mut kinds = Vec::new();
        for (id, b) in self.agents.iter_mut() {
            if b.events == 0 && b.new_session.is_none() {
                continue;
            }
            if !self.state.agents.contains_key(id) {
                continue;
            }
            kinds.push(EventKind::AgentActivity {
                agent: id.clone(),
                events: b.events,
                tokens: b.tokens,
                cost_micros: (b.cost * 1_000_000.0).round().max(0.0) as u64,
                last_output: b.last_output.take(),
                files: std::mem::take(&mut b.files),
                session_id: b.new_session.take(),
            });
            b.events = 0;
            b.tokens = 0;
            b.cost = 0.0;
        }
        self.emit(kinds).await;
    }

    async fn escalate(&mut self) {
        let after = self.config.agents.escalate_after_secs;
        if after == 0 {
            return;
        }
        let now = time::OffsetDateTime::now_utc();
        let mut kinds = Vec::new();
        for c in self.state.open_concerns() {
            if c.status != ConcernStatus::Open || c.to == Role::Human {
                continue;
            }
            let since = c.escalated_at.as_deref().unwrap_or(&c.timestamp);
            let Some(t) = parse_stamp(since) else {
                continue;
            };
            if (now - t).whole_seconds() >= after as i64 {
                kinds.push(EventKind::ConcernEscalated {
                    id: c.id,
                    to: c.to.escalates_to(),
                    reason: format!("not acknowledged by the {} within {after}s", c.to),
                });
            }
        }
        self.emit(kinds).await;
    }

    fn write_documents(&mut self) {
        self.docs_dirty = false;
        let dir = self.ws.dir.join("docs");
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::warn!(error = %e, "cannot create .overlord/docs");
            return;
        }
        for (name, text) in documents::render_all(&self.state) {
            let path = dir.join(name);
            let tmp = dir.join(format!(".{name}.tmp"));
            if std::fs::write(&tmp, text)
                .and_then(|_| std::fs::rename(&tmp, &path))
                .is_err()
            {
                tracing::warn!(path = %path.display(), "cannot write the document");
            }
        }
    }

    fn plan_approved(&self) -> bool {
        let Some(plan) = &self.state.plan else {
            return false;
        };
        self.state.approvals.values().any(|a| {
            a.kind == ApprovalKind::Plan
                && a.subject == plan.id
                && matches!(
                    a.decision,
                    Some(Decision::Approved | Decision::ApprovedWithConditions)
                )
        })
    }

    /// The PM's initiation: once the plan is approved, the documents and the hand-off to the
    /// designer.
    async fn initiate(&mut self) {
        if !self.plan_approved() {
            return;
        }
        let Some(plan) = self.state.plan.clone() else {
            return;
        };
        let purpose = format!("project initiation: {}", plan.id);
        if self.state.handoffs.iter().any(|h| h.purpose == purpose) {
            return;
        }
        self.write_documents();
        self.handoff(
            system(),
            Role::ProjectManager,
            Role::Designer,
            &purpose,
            format!(
                "plan '{}' approved: {} phases, {} tasks; project overview and detail generated",
                plan.title,
                plan.phases.len(),
                plan.tasks().count()
            ),
            documents::NAMES
                .iter()
                .map(|n| format!("docs/{n}"))
                .collect(),
            "completed",
            None,
        )
        .await;
    }

    fn adapter_for(&self, task: &Task) -> String {
        self.tasks
            .get(&task.id)
            .and_then(|b| b.adapter.clone())
            .unwrap_or_else(|| self.config.roles.get(task.role).adapter.clone())
    }

    fn busy(&self, agent: &str) -> bool {
        self.runs.contains_key(agent)
            || self
                .agents
                .get(agent)
                .is_some_and(|b| !b.pending_turns.is_empty())
    }

    fn task_runs(&self) -> usize {
        self.runs
            .values()
            .filter(|s| matches!(s.purpose, Purpose::Task(_)))
            .count()
            + self
                .tasks
                .values()
                .filter(|b| b.preparing || b.checking)
                .count()
    }

    /// Tasks that may start now, in plan order.
    fn ready(&self) -> Vec<Task> {
        let Some(plan) = &self.state.plan else {
            return Vec::new();
        };
        let now = Instant::now();
        let running: Vec<&String> = self
            .runs
            .values()
            .filter_map(|s| match &s.purpose {
                Purpose::Task(t) => Some(t),
                _ => None,
            })
            .collect();
        plan.tasks()
            .filter(|t| t.status == TaskStatus::Todo)
            .filter(|t| !running.contains(&&t.id))
            .filter(|t| {
                self.tasks.get(&t.id).is_none_or(|b| {
                    !b.preparing && !b.checking && b.retry_at.is_none_or(|r| r <= now)
                })
            })
            .filter(|t| {
                t.dependencies
                    .iter()
                    .all(|d| plan.task(d).is_some_and(|d| d.status == TaskStatus::Done))
            })
            .cloned()
            .collect()
    }

    async fn dispatch(&mut self) {
        if !self.plan_approved() {
            return;
        }
        let limit = self.config.agents.concurrency.max(1);
        for task in self.ready() {
            if self.task_runs() >= limit {
                break;
            }
            let adapter = self.adapter_for(&task);
            if !self.adapters.contains_key(&adapter) {
                let msg = format!(
                    "the {} role's adapter '{adapter}' is not configured (known: {})",
                    task.role,
                    self.adapters.keys().cloned().collect::<Vec<_>>().join(", ")
                );
                if !self.warned.contains(&msg) {
                    self.warned.push(msg.clone());
                    self.concern(ConcernDraft {
                        from: Some(Role::ProjectManager),
                        to: Some(Role::Human),
                        severity: Severity::Warning,
                        category: "adapter_unavailable".to_string(),
                        summary: msg.clone(),
                        details: Some("set [roles.<role>] adapter in .overlord/config.toml".into()),
                        task: Some(task.id.clone()),
                    })
                    .await;
                }
                continue;
            }
            if self.role_over_budget(task.role) {
                continue;
            }
            // A retry goes to the agent that had the task (its session continues).
            let previous = task
                .owner
                .clone()
                .filter(|o| {
                    self.state.agents.get(o).is_some_and(|a| {
                        a.adapter == adapter
                            && !a.paused
                            && a.state != AgentState::Running
                            && a.task.as_deref().is_none_or(|t| t == task.id)
                    })
                })
                .filter(|o| !self.busy(o));
            let agent = match previous {
                Some(a) => a,
                None => match self.pick_agent(task.role, &adapter).await {
                    Some(a) => a,
                    None => continue,
                },
            };
            self.prepare(agent, task).await;
        }
    }

    fn role_spent(&self, role: Role) -> (u64, f64) {
        let mut tokens = 0;
        let mut cost = 0.0;
        for a in self.state.agents.values().filter(|a| a.role == role) {
            tokens += a.tokens;
            cost += a.cost_micros as f64 / 1e6;
            if let Some(b) = self.agents.get(&a.id) {
                tokens += b.tokens;
                cost += b.cost;
            }
        }
        (tokens, cost)
    }

    fn role_over_budget(&self, role: Role) -> bool {
        let rc = self.config.roles.get(role);
        let (tokens, cost) = self.role_spent(role);
        (rc.budget_tokens > 0 && tokens >= rc.budget_tokens)
            || (rc.budget_usd > 0.0 && cost >= rc.budget_usd)
    }

    /// An idle agent of the role on that adapter, or a new one.
    async fn pick_agent(&mut self, role: Role, adapter: &str) -> Option<String> {
        let idle = self
            .state
            .agents
            .values()
            .filter(|a| a.role == role && a.adapter == adapter && !a.paused)
            .filter(|a| {
                matches!(
                    a.state,
                    AgentState::Idle | AgentState::Done | AgentState::Failed
                )
            })
            .map(|a| a.id.clone())
            .find(|id| !self.busy(id));
        if let Some(id) = idle {
            return Some(id);
        }
        let mut n = self
            .state
            .agents
            .values()
            .filter(|a| a.role == role)
            .count()
            + 1;
        let id = loop {
            let candidate = if adapter == self.config.roles.get(role).adapter {
                format!("{role}-{n}")
            } else {
                format!("{role}-{adapter}-{n}")
            };
            if !self.state.agents.contains_key(&candidate) {
                break candidate;
            }
            n += 1;
        };
        let reply = self
            .submit(
                system(),
                Command::RegisterAgent {
                    id: id.clone(),
                    role,
                    adapter: Some(adapter.to_string()),
                    task: None,
                },
            )
            .await;
        if !reply.ok {
            return None;
        }
        // The registration's event may not have reached us yet.
        if !self.state.agents.contains_key(&id) {
            let mut a = Agent::new(&id, role, adapter, &crate::core::now());
            a.paused = self.state.dispatch_halted;
            self.state.agents.insert(id.clone(), a);
        }
        Some(id)
    }

    /// Picks the worktree and starts the task's run once it is ready.
    async fn prepare(&mut self, agent: String, task: Task) {
        let book = self.tasks.entry(task.id.clone()).or_default();
        book.preparing = true;
        let existing = book.worktree.clone();
        // The agent is spoken for from now on.
        if let Some(a) = self.state.agents.get_mut(&agent) {
            a.state = AgentState::Running;
            a.task = Some(task.id.clone());
        }
        self.set_agent(
            &agent,
            AgentState::Running,
            Some(&task.id),
            Some("preparing the worktree".into()),
            None,
            None,
        )
        .await;
        let (ws, config, tx) = (self.ws.clone(), self.config.clone(), self.tx.clone());
        let parent = task.parent_id.clone().filter(|_| task.is_temporary);
        let parent_wt = parent
            .as_ref()
            .and_then(|p| self.tasks.get(p))
            .and_then(|b| b.worktree.clone());
        let deps = task.dependencies.clone();
        let id = task.id.clone();
        tokio::task::spawn_blocking(move || {
            let result = match (existing, parent, parent_wt) {
                (Some(p), _, _) if p.is_dir() => Ok(p),
                (_, Some(_), Some(p)) if p.is_dir() => Ok(p),
                (_, Some(parent), _) => open_worktree(&ws, &config, &parent, &[]),
                _ => open_worktree(&ws, &config, &id, &deps),
            };
            let _ = tx.blocking_send(Msg::Prepared {
                agent,
                task: id,
                result,
            });
        });
    }

    /// Turns the idle agents owe (clarifications, assignments).
    async fn pending_turns(&mut self) {
        let ids: Vec<String> = self
            .agents
            .iter()
            .filter(|(id, b)| !b.pending_turns.is_empty() && !self.runs.contains_key(*id))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            let Some(agent) = self.state.agents.get(&id).cloned() else {
                continue;
            };
            if agent.paused {
                continue;
            }
            if !self.adapters.contains_key(&agent.adapter) {
                // Not one of ours (registered by hand with `/agent`, or its adapter was
                // removed from the configuration): it answers for itself (`/answer`).
                if let Some(b) = self.agents.get_mut(&id) {
                    b.pending_turns.clear();
                }
                continue;
            }
            // A task being prepared for this agent goes first.
            if agent.state == AgentState::Running && agent.task.is_some() {
                continue;
            }
            let Some(purpose) = self
                .agents
                .get_mut(&id)
                .and_then(|b| b.pending_turns.pop_front())
            else {
                continue;
            };
            let (prompt, dir) = match &purpose {
                Purpose::Clarify(q) => {
                    let Some(c) = self.state.clarifications.get(q) else {
                        continue;
                    };
                    if c.answer.is_some() {
                        continue;
                    }
                    (c.question.clone(), self.scratch_dir(&id))
                }
                Purpose::Assign(text) => (
                    format!("New instructions from the human governor:\n\n{text}"),
                    self.scratch_dir(&id),
                ),
                Purpose::Task(_) => continue,
            };
            let resume = self.agents.get(&id).and_then(|b| b.session.clone());
            let state = match purpose {
                Purpose::Clarify(_) => "answering a clarification",
                _ => "working on an assignment",
            };
            self.set_agent(
                &id,
                AgentState::Running,
                agent.task.as_deref(),
                Some(state.into()),
                None,
                None,
            )
            .await;
            self.start_run(
                &id,
                &agent.adapter,
                agent.role,
                purpose,
                &prompt,
                resume,
                dir,
                0,
                None,
            )
            .await;
        }
    }

    fn scratch_dir(&self, agent: &str) -> PathBuf {
        if let Some(p) = self.agents.get(agent).and_then(|b| b.last_worktree.clone()) {
            if p.is_dir() {
                return p;
            }
        }
        let p = self.ws.dir.join("agents").join(agent);
        let _ = std::fs::create_dir_all(&p);
        p
    }

    #[allow(clippy::too_many_arguments)]
    async fn start_run(
        &mut self,
        agent: &str,
        adapter: &str,
        role: Role,
        purpose: Purpose,
        prompt: &str,
        resume: Option<String>,
        workdir: PathBuf,
        attempt: u32,
        timeout: Option<Duration>,
    ) {
        let Some(spec) = self.adapters.get(adapter).cloned() else {
            tracing::warn!(adapter, "unknown adapter");
            return;
        };
        self.next_run += 1;
        let run_id = self.next_run;
        let task = match &purpose {
            Purpose::Task(t) => t.clone(),
            _ => self
                .state
                .agents
                .get(agent)
                .and_then(|a| a.task.clone())
                .unwrap_or_default(),
        };
        let resume = resume.filter(|_| spec.kind.resumes()).or_else(|| {
            // The scripted agent answers clarifications in resume mode.
            (spec.kind == AdapterKind::Scripted && !matches!(purpose, Purpose::Task(_)))
                .then(|| format!("script-{agent}"))
        });
        let files: Vec<String> = Vec::new();
        let turn = Turn {
            prompt,
            resume: resume.as_deref(),
            workdir: &workdir,
            files: &files,
        };
        let invocation = spec.invocation(&turn, &self.self_exe);
        let book = self.agents.entry(agent.to_string()).or_default();
        book.runs += 1;
        book.last_worktree = Some(workdir.clone());
        // A fresh session starts its usage from zero; a resumed one continues its totals.
        let tracker = if resume.is_some() {
            book.usage
        } else {
            UsageTracker::new()
        };
        let parser = spec.parser(tracker);
        let log = self.ws.log_dir().join("agents").join(agent).join(format!(
            "{:03}-{}.log",
            book.runs,
            match &purpose {
                Purpose::Task(t) => t.clone(),
                Purpose::Clarify(q) => q.to_string(),
                Purpose::Assign(_) => "assign".into(),
            }
        ));
        let env = vec![
            ("OVERLORD_AGENT".to_string(), agent.to_string()),
            ("OVERLORD_TASK".to_string(), task.clone()),
            ("OVERLORD_ROLE".to_string(), role.to_string()),
            ("OVERLORD_ATTEMPT".to_string(), attempt.max(1).to_string()),
            (
                "OVERLORD_REPO".to_string(),
                self.ws.root.display().to_string(),
            ),
            (
                "OVERLORD_SOCKET".to_string(),
                self.ws.socket_path().display().to_string(),
            ),
        ];
        let opts = RunOptions {
            invocation,
            env,
            timeout,
            grace: Duration::from_secs(self.config.agents.cancel_grace_secs.max(1)),
            log: Some(log),
            interrupt_by_stdin: spec.kind == AdapterKind::Claude,
        };
        let (ctl_tx, ctl_rx) = mpsc::unbounded_channel();
        let paused = self.state.agents.get(agent).is_some_and(|a| a.paused);
        self.runs.insert(
            agent.to_string(),
            RunSlot {
                id: run_id,
                purpose,
                control: ctl_tx.clone(),
                worktree: workdir,
                adapter: adapter.to_string(),
                finished: None,
                last_text: None,
                stop: None,
                suspended: false,
                last_output: Instant::now(),
                stalled: false,
            },
        );
        if paused {
            // Paused while it was being prepared: start it suspended.
            let _ = ctl_tx.send(Control::Suspend);
            if let Some(s) = self.runs.get_mut(agent) {
                s.suspended = true;
            }
        }
        let tx = self.tx.clone();
        let agent = agent.to_string();
        tokio::spawn(async move {
            let (etx, mut erx) = mpsc::channel(1024);
            let run = process::run(opts, parser, etx, ctl_rx);
            tokio::pin!(run);
            let end = loop {
                tokio::select! {
                    biased;
                    ev = erx.recv() => match ev {
                        Some(event) => {
                            let _ = tx.send(Msg::Event { agent: agent.clone(), run: run_id, event }).await;
                        }
                        None => break (&mut run).await,
                    },
                    end = &mut run => break end,
                }
            };
            while let Some(event) = erx.recv().await {
                let _ = tx
                    .send(Msg::Event {
                        agent: agent.clone(),
                        run: run_id,
                        event,
                    })
                    .await;
            }
            let _ = tx
                .send(Msg::Ended {
                    agent,
                    run: run_id,
                    end,
                })
                .await;
        });
    }

    // -----------------------------------------------------------------------------------
    // Messages from runs and checks

    async fn on_msg(&mut self, msg: Msg) {
        match msg {
            Msg::Event { agent, run, event } => self.on_agent_event(&agent, run, event).await,
            Msg::Ended { agent, run, end } => self.on_run_end(&agent, run, end).await,
            Msg::Prepared {
                agent,
                task,
                result,
            } => self.on_prepared(agent, task, result).await,
            Msg::Checked { agent, task, check } => self.on_checked(&agent, &task, check).await,
        }
    }

    async fn on_prepared(
        &mut self,
        agent: String,
        task_id: String,
        result: Result<PathBuf, String>,
    ) {
        let book = self.tasks.entry(task_id.clone()).or_default();
        book.preparing = false;
        let Some(task) = self.task(&task_id) else {
            return;
        };
        let path = match result {
            Ok(p) => p,
            Err(e) => {
                self.on_failure(
                    &agent,
                    &task,
                    format!("its worktree could not be prepared: {e}"),
                    None,
                    false,
                )
                .await;
                return;
            }
        };
        let book = self.tasks.entry(task_id.clone()).or_default();
        book.worktree = Some(path.clone());
        book.runs += 1;
        let attempt = book.runs;
        let feedback = book.feedback.clone();
        let adapter = self.adapter_for(&task);
        let (template, warning) = prompts::template(
            &self.config,
            &self.ws.root,
            if task.is_temporary {
                Role::Debugger
            } else {
                task.role
            },
        );
        if let Some(w) = warning {
            if !self.warned.contains(&w) {
                tracing::warn!("{w}");
                self.warned.push(w);
            }
        }
        let inputs: Vec<String> = task
            .dependencies
            .iter()
            .filter_map(|d| self.task(d))
            .flat_map(|d| d.expected_artifacts)
            .collect();
        let prompt = prompts::render(
            &template,
            &task,
            &prompts::PromptContext {
                agent: &agent,
                worktree: &path,
                attempt,
                inputs,
                feedback,
            },
        );
        if task.status == TaskStatus::Todo {
            self.set_task(
                &task.id,
                TaskStatus::InProgress,
                Some(format!("{agent} started attempt {attempt}")),
            )
            .await;
        }
        self.set_agent(
            &agent,
            AgentState::Running,
            Some(&task.id),
            None,
            Some(attempt),
            None,
        )
        .await;
        let timeout = Duration::from_secs(
            task.timeout_seconds
                .unwrap_or(self.config.agents.timeout_secs)
                .max(1),
        );
        // A rejected artifact, a retry or a redirection continues the agent's session.
        let resume = (attempt > 1)
            .then(|| self.agents.get(&agent).and_then(|b| b.session.clone()))
            .flatten();
        let role = self
            .state
            .agents
            .get(&agent)
            .map(|a| a.role)
            .unwrap_or(task.role);
        self.start_run(
            &agent,
            &adapter,
            role,
            Purpose::Task(task.id.clone()),
            &prompt,
            resume,
            path,
            attempt,
            Some(timeout),
        )
        .await;
    }

    async fn on_agent_event(&mut self, agent: &str, run: u64, event: AgentEvent) {
        let Some(slot) = self.runs.get_mut(agent).filter(|s| s.id == run) else {
            return;
        };
        self.raw.push(agent, event.raw());
        slot.last_output = Instant::now();
        let was_stalled = std::mem::replace(&mut slot.stalled, false);
        let prices = self.adapters.get(&slot.adapter).and_then(|s| s.prices);
        let book = self.agents.entry(agent.to_string()).or_default();
        book.events += 1;
        let mut spent = (0u64, 0f64);
        match &event {
            AgentEvent::Started {
                session_id: Some(s),
                ..
            } => {
                if book.session.as_ref() != Some(s) {
                    book.usage = UsageTracker::new();
                }
                book.session = Some(s.clone());
                book.new_session = Some(s.clone());
            }
            AgentEvent::Text {
                text, delta: false, ..
            } => {
                book.last_output = Some(first_line(text, 200));
                slot.last_text = Some(text.clone());
            }
            AgentEvent::ToolStarted {
                kind,
                name,
                summary,
                ..
            } => {
                book.last_output = Some(first_line(&format!("▸ {name}: {summary}"), 200));
                if *kind == ToolKind::Edit
                    && !summary.is_empty()
                    && book.files.len() < Agent::MAX_FILES
                {
                    let f = summary.split(',').next().unwrap_or("").trim().to_string();
                    if !f.is_empty() && !book.files.contains(&f) {
                        book.files.push(f);
                    }
                }
            }
            AgentEvent::Warning { message, .. } => {
                book.last_output = Some(first_line(&format!("⚠ {message}"), 200));
            }
            AgentEvent::Usage { usage, .. } => {
                let priced = match prices {
                    Some(p) => usage.priced(&p),
                    None => *usage,
                };
                let tokens = usage.input.saturating_add(usage.output);
                let cost = priced.cost_usd.unwrap_or(0.0);
                book.tokens += tokens;
                book.cost += cost;
                spent = (tokens, cost);
            }
            AgentEvent::Finished {
                ok,
                result_text,
                error,
                ..
            } => {
                slot.finished = Some((*ok, result_text.clone(), error.clone()));
            }
            _ => {}
        }
        let purpose = slot.purpose.clone();
        if was_stalled {
            let task = self.state.agents.get(agent).and_then(|a| a.task.clone());
            self.set_agent(
                agent,
                AgentState::Running,
                task.as_deref(),
                None,
                None,
                None,
            )
            .await;
        }
        if spent.0 > 0 || spent.1 > 0.0 {
            if let Purpose::Task(t) = purpose {
                self.charge(agent, &t, spent).await;
            }
        }
    }

    /// Counts spending against the task's and the role's budgets; past one, the agent is
    /// paused and the human told.
    async fn charge(&mut self, agent: &str, task: &str, (tokens, cost): (u64, f64)) {
        let cfg = &self.config.agents;
        let book = self.tasks.entry(task.to_string()).or_default();
        book.tokens += tokens;
        book.cost += cost;
        let allowance = book.allowance.max(1.0);
        let mut over = None;
        if cfg.task_budget_tokens > 0
            && book.tokens as f64 > cfg.task_budget_tokens as f64 * allowance
        {
            over = Some(format!(
                "task {task} spent {} tokens (budget {})",
                book.tokens,
                (cfg.task_budget_tokens as f64 * allowance) as u64
            ));
        } else if cfg.task_budget_usd > 0.0 && book.cost > cfg.task_budget_usd * allowance {
            over = Some(format!(
                "task {task} spent ${:.4} (budget ${:.4})",
                book.cost,
                cfg.task_budget_usd * allowance
            ));
        }
        let role = self
            .state
            .agents
            .get(agent)
            .map(|a| a.role)
            .unwrap_or(Role::Implementer);
        if over.is_none() && self.role_over_budget(role) {
            let (t, c) = self.role_spent(role);
            over = Some(format!(
                "the {role} role spent {t} tokens and ${c:.4}, past its budget"
            ));
        }
        let Some(why) = over else { return };
        let already = self.agents.get(agent).is_some_and(|b| b.budget_paused)
            || self.state.agents.get(agent).is_some_and(|a| a.paused);
        if already {
            return;
        }
        self.agents
            .entry(agent.to_string())
            .or_default()
            .budget_paused = true;
        self.emit(vec![EventKind::AgentPaused {
            agent: agent.to_string(),
        }])
        .await;
        if let Some(slot) = self.runs.get_mut(agent) {
            if !slot.suspended {
                let _ = slot.control.send(Control::Suspend);
                slot.suspended = true;
            }
        }
        self.concern(ConcernDraft {
            from: Some(role),
            to: Some(Role::Human),
            severity: Severity::Warning,
            category: "budget_exceeded".to_string(),
            summary: format!("{agent} paused: {why}"),
            details: Some(format!("/resume {agent} lets it go on (its task's budget doubles); /assign or /reject to change course")),
            task: Some(task.to_string()),
        })
        .await;
    }

    async fn on_run_end(&mut self, agent: &str, run: u64, end: RunEnd) {
        if self.runs.get(agent).is_none_or(|s| s.id != run) {
            return;
        }
        let Some(slot) = self.runs.remove(agent) else {
            return;
        };
        // Activity of the run, written before its outcome.
        self.flush().await;
        if let Some(u) = end.usage {
            self.agents.entry(agent.to_string()).or_default().usage = u;
        }
        let role = self
            .state
            .agents
            .get(agent)
            .map(|a| a.role)
            .unwrap_or(Role::Implementer);
        if end.leftovers {
            let task = match &slot.purpose {
                Purpose::Task(t) => Some(t.clone()),
                _ => None,
            };
            self.concern(ConcernDraft {
                from: Some(role),
                to: Some(Role::Human),
                severity: Severity::Warning,
                category: "orphan_processes".to_string(),
                summary: format!(
                    "{agent}'s CLI ({}) left processes running after it exited; Overlord stopped them",
                    slot.adapter
                ),
                details: Some(format!(
                    "run {}, {}; its log is in .overlord/logs/agents/{agent}/",
                    slot.id,
                    end.describe()
                )),
                task,
            })
            .await;
        }
        match slot.purpose.clone() {
            Purpose::Clarify(q) => {
                let answer = match &slot.finished {
                    Some((true, text, _)) => text
                        .clone()
                        .or(slot.last_text.clone())
                        .unwrap_or_else(|| "(the agent finished without an answer)".into()),
                    Some((false, _, Some(e))) => {
                        format!("[no answer: the agent's run failed: {}]", e.message)
                    }
                    _ => format!("[no answer: {}]", end.describe()),
                };
                self.submit(
                    agent_origin(agent, role),
                    Command::Answer {
                        clarification: q,
                        text: answer,
                    },
                )
                .await;
                self.back_to_idle(agent).await;
            }
            Purpose::Assign(_) => {
                let detail = match &slot.finished {
                    Some((true, text, _)) => text.as_deref().map(|t| first_line(t, 200)),
                    Some((false, _, Some(e))) => Some(format!("assignment failed: {}", e.message)),
                    _ => Some(end.describe()),
                };
                let state = if matches!(slot.finished, Some((true, ..))) {
                    AgentState::Done
                } else {
                    AgentState::Failed
                };
                self.set_agent(agent, state, None, detail, None, None).await;
            }
            Purpose::Task(task_id) => {
                let Some(task) = self.task(&task_id) else {
                    self.back_to_idle(agent).await;
                    return;
                };
                match (&slot.stop, &slot.finished) {
                    (Some(StopReason::Shutdown), _) => {}
                    (Some(StopReason::Redirect(text)), _) => {
                        let book = self.tasks.entry(task_id.clone()).or_default();
                        book.feedback = Some(format!("Redirected by the human governor: {text}"));
                        book.retry_at = None;
                        self.set_agent(
                            agent,
                            AgentState::Waiting,
                            Some(&task_id),
                            Some("redirected; starting again with the new instructions".into()),
                            None,
                            None,
                        )
                        .await;
                        self.requeue(&task, "redirected by /assign").await;
                    }
                    (None, Some((true, result, _))) => {
                        self.start_checks(agent, &task, slot.worktree.clone(), result.clone());
                    }
                    _ => {
                        let (message, kind) = match (&end.spawn_error, &slot.finished) {
                            (Some(e), _) => (e.clone(), None),
                            _ if end.timed_out => (format!("the run {}", end.describe()), None),
                            (None, Some((false, _, Some(e)))) => (e.message.clone(), Some(e.kind)),
                            _ => (
                                format!("the run ended without a result ({})", end.describe()),
                                None,
                            ),
                        };
                        let mut message = message;
                        if end.leftovers {
                            message.push_str("; it left processes running, which were stopped");
                        }
                        if let Some(tail) =
                            end.stderr_tail.last().filter(|_| end.spawn_error.is_none())
                        {
                            message.push_str(&format!(" (stderr: {})", first_line(tail, 160)));
                        }
                        self.on_failure(agent, &task, message, kind, end.spawn_error.is_some())
                            .await;
                    }
                }
            }
        }
    }

    async fn back_to_idle(&mut self, agent: &str) {
        let task = self.state.agents.get(agent).and_then(|a| a.task.clone());
        let state = if task.is_some() {
            AgentState::Waiting
        } else {
            AgentState::Idle
        };
        self.set_agent(agent, state, task.as_deref(), None, None, None)
            .await;
    }

    /// The task goes back to the queue (it runs again, not counted as a failure).
    async fn requeue(&mut self, task: &Task, why: &str) {
        if task.status == TaskStatus::InProgress {
            self.set_task(&task.id, TaskStatus::Todo, Some(why.to_string()))
                .await;
        }
    }

    async fn on_failure(
        &mut self,
        agent: &str,
        task: &Task,
        message: String,
        kind: Option<ErrorKind>,
        not_startable: bool,
    ) {
        let cfg = self.config.agents.clone();
        match kind {
            Some(ErrorKind::RateLimited { retry_after_ms }) => {
                let book = self.tasks.entry(task.id.clone()).or_default();
                book.rate_limits += 1;
                if book.rate_limits <= cfg.rate_limit_retries {
                    let wait = retry_after_ms
                        .map(Duration::from_millis)
                        .unwrap_or(Duration::from_secs(cfg.rate_limit_pause_secs));
                    book.retry_at = Some(Instant::now() + wait);
                    let until = stamp(time::OffsetDateTime::now_utc() + wait);
                    self.set_agent(
                        agent,
                        AgentState::RateLimited,
                        Some(&task.id),
                        Some(format!(
                            "rate-limited ({message}); resumes in {}s",
                            wait.as_secs()
                        )),
                        None,
                        Some(until),
                    )
                    .await;
                    self.requeue(task, "rate-limited: waiting to retry").await;
                    return;
                }
                if self.hand_over(agent, task, &message).await {
                    return;
                }
            }
            Some(ErrorKind::Quota | ErrorKind::Auth) => {
                if self.hand_over(agent, task, &message).await {
                    return;
                }
                self.set_agent(
                    agent,
                    AgentState::Failed,
                    Some(&task.id),
                    Some(message.clone()),
                    None,
                    None,
                )
                .await;
                self.set_task(
                    &task.id,
                    TaskStatus::Blocked,
                    Some(format!("{agent}: {message}")),
                )
                .await;
                self.concern(ConcernDraft {
                    from: Some(task.role),
                    to: Some(Role::Human),
                    severity: Severity::Critical,
                    category: "adapter_unavailable".to_string(),
                    summary: format!("{} cannot run {}: {message}", agent, task.id),
                    details: Some("waiting will not clear a quota, billing or credentials error: fix the account or set another adapter for the role".into()),
                    task: Some(task.id.clone()),
                })
                .await;
                return;
            }
            _ => {}
        }
        if not_startable {
            if self.hand_over(agent, task, &message).await {
                return;
            }
            // Not the task's fault: the human has to install or configure the CLI.
            self.fail_task_because(agent, task, message, true).await;
            return;
        }
        let book = self.tasks.entry(task.id.clone()).or_default();
        book.failures += 1;
        if book.failures < cfg.max_attempts.max(1) {
            let exp = book.failures.saturating_sub(1).min(16);
            let wait = Duration::from_secs(
                cfg.backoff_secs
                    .saturating_mul(1u64 << exp)
                    .min(cfg.backoff_max_secs.max(cfg.backoff_secs)),
            );
            book.retry_at = Some(Instant::now() + wait);
            book.feedback = Some(format!("The previous attempt failed: {message}"));
            let n = book.failures;
            self.set_agent(
                agent,
                AgentState::Waiting,
                Some(&task.id),
                Some(format!(
                    "attempt {n} failed: {message}; retry in {}s",
                    wait.as_secs()
                )),
                None,
                None,
            )
            .await;
            self.requeue(task, &format!("attempt {n} failed: {message}"))
                .await;
        } else {
            self.fail_task(agent, task, message).await;
        }
    }

    async fn fail_task(&mut self, agent: &str, task: &Task, message: String) {
        self.fail_task_because(agent, task, message, false).await;
    }

    /// `environment`: the CLI could not be started at all, which only the human can fix.
    async fn fail_task_because(
        &mut self,
        agent: &str,
        task: &Task,
        message: String,
        environment: bool,
    ) {
        self.set_agent(
            agent,
            AgentState::Failed,
            Some(&task.id),
            Some(message.clone()),
            None,
            None,
        )
        .await;
        self.set_task(
            &task.id,
            TaskStatus::Failed,
            Some(format!("{agent}: {message}")),
        )
        .await;
        let (to, category, details) = if environment {
            (
                Some(Role::Human),
                "adapter_unavailable",
                format!("{agent}'s CLI could not be started; `overlord-tui agents` shows what is installed; set the task back with `/task {} todo` once it is", task.id),
            )
        } else {
            (
                None,
                "task_failed",
                format!("{agent} gave up after its retries; the run logs are in .overlord/logs/agents/{agent}/"),
            )
        };
        self.concern(ConcernDraft {
            from: Some(task.role),
            to,
            severity: Severity::Warning,
            category: category.to_string(),
            summary: format!("{} failed: {message}", task.id),
            details: Some(details),
            task: Some(task.id.clone()),
        })
        .await;
    }

    /// Hands the task to the next configured fallback adapter, in the same worktree.
    async fn hand_over(&mut self, agent: &str, task: &Task, why: &str) -> bool {
        let current = self
            .runs
            .get(agent)
            .map(|s| s.adapter.clone())
            .or_else(|| self.state.agents.get(agent).map(|a| a.adapter.clone()))
            .unwrap_or_default();
        let book = self.tasks.entry(task.id.clone()).or_default();
        if !book.tried_adapters.contains(&current) {
            book.tried_adapters.push(current.clone());
        }
        let next = self
            .config
            .agents
            .fallback
            .iter()
            .find(|a| !book.tried_adapters.contains(a) && self.adapters.contains_key(*a))
            .cloned();
        let Some(next) = next else { return false };
        book.adapter = Some(next.clone());
        book.rate_limits = 0;
        book.failures = 0;
        book.retry_at = None;
        book.feedback = Some(format!(
            "You take over this task from another agent ({current}), which stopped: {why}. Its work so far is in this worktree."
        ));
        self.set_agent(
            agent,
            AgentState::Idle,
            None,
            Some(format!("handed {} over to {next}: {why}", task.id)),
            None,
            None,
        )
        .await;
        self.handoff(
            system(),
            task.role,
            task.role,
            &format!("hand-over to adapter {next}"),
            format!("{agent} ({current}) stopped on {}: {why}", task.id),
            Vec::new(),
            "completed",
            Some(&task.id),
        )
        .await;
        self.requeue(task, &format!("handed over to {next}")).await;
        true
    }

    /// After a successful run: commit what the agent left, check the artifacts, run the
    /// acceptance check, off the supervisor's loop.
    fn start_checks(
        &mut self,
        agent: &str,
        task: &Task,
        worktree: PathBuf,
        result: Option<String>,
    ) {
        self.tasks.entry(task.id.clone()).or_default().checking = true;
        let acceptance = match self.config.agents.acceptance_command.trim() {
            "off" => None,
            "" => crate::core::qa::tests_command(&self.config.qa, &worktree),
            c => Some(c.to_string()),
        }
        .filter(|_| {
            task.is_temporary
                || matches!(task.role, Role::Implementer | Role::Tester | Role::Debugger)
        });
        let (tx, agent, task) = (self.tx.clone(), agent.to_string(), task.clone());
        let timeout = Duration::from_secs(self.config.qa.timeout_secs.max(1));
        let log = self
            .ws
            .log_dir()
            .join("agents")
            .join(&agent)
            .join(format!("{}-check.log", task.id));
        let base = self.state.git.as_ref().map(|g| g.main.clone());
        tokio::task::spawn_blocking(move || {
            let check = run_checks(
                &worktree, &agent, &task, result, acceptance, timeout, &log, base,
            );
            let _ = tx.blocking_send(Msg::Checked {
                agent,
                task: task.id.clone(),
                check,
            });
        });
    }

    async fn on_checked(&mut self, agent: &str, task_id: &str, check: Check) {
        self.tasks.entry(task_id.to_string()).or_default().checking = false;
        let Some(task) = self.task(task_id) else {
            return;
        };
        if !check.files.is_empty() {
            let b = self.agents.entry(agent.to_string()).or_default();
            for f in check.files.iter().take(Agent::MAX_FILES) {
                if !b.files.contains(f) {
                    b.files.push(f.clone());
                }
            }
        }
        if let Some(e) = check.error {
            self.on_failure(agent, &task, e, None, false).await;
            return;
        }
        if !check.missing.is_empty() {
            self.on_failure(
                agent,
                &task,
                format!(
                    "the expected artifacts are missing: {}",
                    check.missing.join(", ")
                ),
                None,
                false,
            )
            .await;
            return;
        }
        match check.acceptance {
            Some((false, tail, timed_out)) => {
                self.acceptance_failed(agent, &task, tail, timed_out).await
            }
            _ => {
                if task.is_temporary {
                    self.set_task(
                        &task.id,
                        TaskStatus::Done,
                        Some(format!("{agent}: the acceptance check passes")),
                    )
                    .await;
                    self.set_agent(
                        agent,
                        AgentState::Done,
                        None,
                        Some(format!("fixed {}", task.id)),
                        None,
                        None,
                    )
                    .await;
                    if let Some(parent) = task.parent_id.as_deref().and_then(|p| self.task(p)) {
                        self.handoff(
                            system(),
                            task.role,
                            parent.role,
                            "branch todo fixed",
                            format!("{} fixed the failure of {}", task.id, parent.id),
                            Vec::new(),
                            "completed",
                            Some(&task.id),
                        )
                        .await;
                        let owner = parent.owner.clone().unwrap_or_else(|| agent.to_string());
                        self.complete(&owner, &parent, None, None).await;
                    }
                } else {
                    self.complete(agent, &task, check.committed, check.result)
                        .await;
                }
            }
        }
    }

    /// The task's work is accepted: to the human's review, or done.
    async fn complete(
        &mut self,
        agent: &str,
        task: &Task,
        commit: Option<String>,
        result: Option<String>,
    ) {
        let role = task.role;
        let mut summary = match &commit {
            Some(c) => format!(
                "{} finished {} ({}): commit {}",
                agent,
                task.id,
                task.title,
                crate::git::short(c)
            ),
            None => format!("{} finished {} ({})", agent, task.id, task.title),
        };
        // The agent's own summary (after a rejection or an update request: its delta).
        if let Some(r) = result
            .as_deref()
            .map(|r| first_line(r, 300))
            .filter(|r| !r.is_empty())
        {
            summary.push_str(&format!(" — {r}"));
        }
        match review_kind(task) {
            Some(kind) => {
                // The approval first: nobody sees a task under review without it.
                // A deferred approval (an update was asked for) is decided again as it is.
                let deferred = self
                    .state
                    .pending_approvals()
                    .any(|a| a.kind == kind && a.subject == task.id);
                if !deferred {
                    self.submit(
                        system(),
                        Command::RequestApproval {
                            kind,
                            subject: task.id.clone(),
                            from: Some(role),
                            summary: format!("{kind} of {}: {}", task.id, task.title),
                        },
                    )
                    .await;
                }
                self.set_task(
                    &task.id,
                    TaskStatus::NeedsReview,
                    Some(format!("{agent}: awaiting the human's review")),
                )
                .await;
                self.handoff(
                    agent_origin(agent, role),
                    role,
                    Role::Human,
                    &format!("review {kind}"),
                    summary,
                    task.expected_artifacts.clone(),
                    "awaiting_approval",
                    Some(&task.id),
                )
                .await;
            }
            None => {
                self.set_task(&task.id, TaskStatus::Done, Some(summary.clone()))
                    .await;
                self.handoff(
                    agent_origin(agent, role),
                    role,
                    next_role(role),
                    "task complete",
                    summary,
                    task.expected_artifacts.clone(),
                    "completed",
                    Some(&task.id),
                )
                .await;
            }
        }
        self.set_agent(
            agent,
            AgentState::Done,
            None,
            Some(format!("finished {}", task.id)),
            None,
            None,
        )
        .await;
    }

    /// Seed 003's branch todo: a temporary debug task routed by failure class.
    async fn acceptance_failed(&mut self, agent: &str, task: &Task, tail: String, timed_out: bool) {
        let (parent, fix_failed) = match (&task.parent_id, task.is_temporary) {
            (Some(p), true) => (self.task(p), true),
            _ => (Some(task.clone()), false),
        };
        let Some(parent) = parent else { return };
        if fix_failed {
            self.set_task(
                &task.id,
                TaskStatus::Failed,
                Some(format!("{agent}: the acceptance check still fails")),
            )
            .await;
        }
        self.set_agent(
            agent,
            AgentState::Done,
            None,
            Some(format!("{} fails its acceptance check", task.id)),
            None,
            None,
        )
        .await;
        let max = parent
            .max_debug_attempts
            .unwrap_or(self.config.agents.max_debug_attempts)
            .max(1);
        let book = self.tasks.entry(parent.id.clone()).or_default();
        if book.fixes >= max {
            self.set_task(
                &parent.id,
                TaskStatus::Failed,
                Some(format!(
                    "the acceptance check still fails after {max} debug attempts"
                )),
            )
            .await;
            self.concern(ConcernDraft {
                from: Some(parent.role),
                to: Some(Role::Human),
                severity: Severity::Critical,
                category: "acceptance_failed".to_string(),
                summary: format!(
                    "{} still fails its acceptance check after {max} debug attempts",
                    parent.id
                ),
                details: Some(tail),
                task: Some(parent.id.clone()),
            })
            .await;
            return;
        }
        book.fixes += 1;
        let n = book.fixes;
        // The class of the failure decides who fixes it.
        let spec_concern = self.state.open_concerns().any(|c| {
            c.task.as_deref() == Some(parent.id.as_str())
                && (c.category.contains("spec") || c.category.contains("design"))
        });
        let (class, role) = if timed_out {
            ("timeout or flaky test", Role::Tester)
        } else if spec_concern {
            ("spec mismatch", Role::Designer)
        } else {
            ("implementation bug", Role::Implementer)
        };
        let id = format!("{}-fix-{n}", parent.id);
        let fix = Task {
            id: id.clone(),
            title: format!("Fix the acceptance failure of {} ({class})", parent.id),
            description: format!(
                "The acceptance check of {} ({}) fails. Find the cause and fix it in this worktree.",
                parent.id, parent.title
            ),
            role,
            priority: parent.priority.clone(),
            dependencies: Vec::new(),
            acceptance_criteria: vec![format!("the acceptance check of {} passes", parent.id)],
            expected_artifacts: Vec::new(),
            status: TaskStatus::Todo,
            parent_id: Some(parent.id.clone()),
            is_temporary: true,
            max_debug_attempts: Some(max),
            branch_reason: Some(class.to_string()),
            debug_instructions: Some(tail),
            timeout_seconds: parent.timeout_seconds,
            max_retries: None,
            owner: None,
            commentary: Vec::new(),
        };
        let Some(phase) = self.phase_of(&parent.id) else {
            return;
        };
        self.emit(vec![EventKind::TaskAdded { phase, task: fix }])
            .await;
        self.set_task(
            &parent.id,
            TaskStatus::Blocked,
            Some(format!(
                "acceptance check failed ({class}); branch todo {id} opened for the {role}"
            )),
        )
        .await;
        self.handoff(
            system(),
            parent.role,
            role,
            "branch todo",
            format!("{} fails its acceptance check ({class}): {id} goes to the {role} (attempt {n} of {max})", parent.id),
            Vec::new(),
            "open",
            Some(&id),
        )
        .await;
    }
}

/// Opens (or finds) the task's worktree; a new one gets its dependencies' branches merged in,
/// so a tester works on the implementers' code.
fn open_worktree(
    ws: &Workspace,
    config: &Config,
    task: &str,
    deps: &[String],
) -> Result<PathBuf, String> {
    let mut core = crate::core::Core::open(ws, config).map_err(|e| e.to_string())?;
    let wt = core.open_task_worktree(task)?;
    if wt.created && !deps.is_empty() {
        let sess = core.git_session()?;
        for d in deps {
            let branch = sess.task_branch(d);
            let repo = crate::git::open(&ws.root).map_err(|e| e.to_string())?;
            if crate::git::branch_tip(&repo, &branch)
                .ok()
                .flatten()
                .is_none()
            {
                continue;
            }
            let out = std::process::Command::new("git")
                .args([
                    "-c",
                    "user.name=Overlord",
                    "-c",
                    "user.email=overlord@overlord.local",
                    "merge",
                    "--no-ff",
                    "--no-edit",
                    "-m",
                    &format!("Merge {d} into {task}"),
                    &branch,
                ])
                .current_dir(&wt.path)
                .stdin(std::process::Stdio::null())
                .output()
                .map_err(|e| format!("cannot run git: {e}"))?;
            if !out.status.success() {
                let _ = std::process::Command::new("git")
                    .args(["merge", "--abort"])
                    .current_dir(&wt.path)
                    .output();
                return Err(format!(
                    "the branch of {d} does not merge into {task}'s: {}",
                    first_line(&String::from_utf8_lossy(&out.stdout), 200)
                ));
            }
        }
    }
    Ok(wt.path)
}

/// Commits what the agent left uncommitted (with Overlord's trailers); returns the commit.
fn commit_leftovers(
    dir: &Path,
    agent: &str,
    task: &Task,
    result: Option<&str>,
) -> Result<Option<String>, String> {
    let repo = git2::Repository::open(dir).map_err(|e| e.message().to_string())?;
    let mut index = repo.index().map_err(|e| e.message().to_string())?;
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .and_then(|_| index.update_all(["*"], None))
        .and_then(|_| index.write())
        .map_err(|e| e.message().to_string())?;
    let tree = index.write_tree().map_err(|e| e.message().to_string())?;
    let head = repo
        .head()
        .and_then(|h| h.peel_to_commit())
        .map_err(|e| e.message().to_string())?;
    if head.tree_id() == tree {
        return Ok(None);
    }
    let mut message = format!("{}: {}\n", task.id, task.title);
    if let Some(r) = result.map(|r| first_line(r, 300)).filter(|r| !r.is_empty()) {
        message.push_str(&format!("\n{r}\n"));
    }
    message.push_str(&format!(
        "\nOverlord-Task: {}\nOverlord-Agent: {agent}\nOverlord-Role: {}\n",
        task.id,
        task.role.title()
    ));
    let author = crate::git::signature(Some(task.role)).map_err(|e| e.to_string())?;
    let committer = crate::git::signature(None).map_err(|e| e.to_string())?;
    let tree = repo.find_tree(tree).map_err(|e| e.message().to_string())?;
    let oid = repo
        .commit(Some("HEAD"), &author, &committer, &message, &tree, &[&head])
        .map_err(|e| e.message().to_string())?;
    Ok(Some(oid.to_string()))
}

/// Files the worktree's branch changed since it left `base`.
fn changed_files(dir: &Path, base: Option<&str>) -> Vec<String> {
    let Some(base) = base else { return Vec::new() };
    let Ok(repo) = git2::Repository::open(dir) else {
        return Vec::new();
    };
    let head = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let base = repo
        .revparse_single(base)
        .ok()
        .and_then(|o| o.peel_to_commit().ok());
    let (Some(head), Some(base)) = (head, base) else {
        return Vec::new();
    };
    let Ok(mb) = repo.merge_base(head.id(), base.id()) else {
        return Vec::new();
    };
    let (Ok(old), Ok(new)) = (repo.find_commit(mb).and_then(|c| c.tree()), head.tree()) else {
        return Vec::new();
    };
    let Ok(diff) = repo.diff_tree_to_tree(Some(&old), Some(&new), None) else {
        return Vec::new();
    };
    diff.deltas()
        .filter_map(|d| d.new_file().path().map(|p| p.display().to_string()))
        .take(Agent::MAX_FILES)
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn run_checks(
    dir: &Path,
    agent: &str,
    task: &Task,
    result: Option<String>,
    acceptance: Option<String>,
    timeout: Duration,
    log: &Path,
    base: Option<String>,
) -> Check {
    let mut check = Check {
        result: result.clone(),
        ..Check::default()
    };
    match commit_leftovers(dir, agent, task, result.as_deref()) {
        Ok(c) => check.committed = c,
        Err(e) => {
            check.error = Some(format!("cannot commit the agent's work: {e}"));
            return check;
        }
    }
    check.files = changed_files(dir, base.as_deref());
    check.missing = task
        .expected_artifacts
        .iter()
        .filter(|a| !a.trim().is_empty() && !a.contains('*'))
        .filter(|a| !dir.join(a.trim()).exists())
        .cloned()
        .collect();
    if !check.missing.is_empty() {
        return check;
    }
    if let Some(cmd) = acceptance {
        if let Some(d) = log.parent() {
            let _ = std::fs::create_dir_all(d);
        }
        let env = [
            ("OVERLORD_TASK", task.id.as_str()),
            ("OVERLORD_AGENT", agent),
        ];
        match crate::core::shell::run_with(
            &cmd,
            dir,
            crate::core::shell::Options {
                env: &env,
                timeout: Some(timeout),
                log: Some(log),
                one_pipe: true,
                ..Default::default()
            },
        ) {
            Ok(run) => {
                let passed = run.success();
                let tail = format!("`{cmd}` {}:\n{}", run.describe(), tail_text(&run.tail, 40));
                check.acceptance = Some((passed, tail, run.stopped.is_some()));
            }
            Err(e) => check.error = Some(format!("cannot run the acceptance check `{cmd}`: {e}")),
        }
    }
    check
}

fn tail_text(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
