//! One agent run from start to end: the CLI started with the agent's environment and log,
//! its events folded into the agent's activity (session, last output, files, spending), and
//! its end turned into what follows (an answer, an assignment done, the task's checks, a
//! retry or a failure).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::books::{Msg, Purpose, RunSlot, StopReason, Supervisor};
use super::core_link::agent_origin;
use super::processes::ProcessRecord;
use super::text::first_line;
use crate::agent::adapter::{AdapterKind, AdapterSpec, Invocation, Turn};
use crate::agent::parse::AgentParser;
use crate::agent::{AgentEvent, ErrorKind, UsageTracker};
use crate::protocol::model::{Agent, AgentState, ClarificationId, Role, Severity, Task};
use crate::protocol::{Command, ConcernDraft, EventKind};
use crate::runtime::process::{self, Control, RunEnd, RunOptions};

impl Supervisor {
    /// Starts a turn of the agent's CLI: the adapter's invocation with the agent's
    /// environment, its log, its control channel; the run's events and end come back as
    /// messages.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn start_run(
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
        let task_run = matches!(purpose, Purpose::Task(_));
        let scripted = spec.kind == AdapterKind::Scripted;
        let resume = if scripted {
            // The scripted agent answers clarifications in resume mode; a task run — a
            // retry, a fallback, a regeneration after /reject or /defer — replays the script's
            // steps (those of this attempt, `OVERLORD_ATTEMPT`), as a real CLI would redo
            // the work, so those paths are exercised by the demo and the tests.
            (!task_run).then(|| format!("script-{agent}"))
        } else {
            resume.filter(|_| spec.kind.resumes())
        };
        let files: Vec<String> = Vec::new();
        let turn = Turn {
            prompt,
            resume: resume.as_deref(),
            workdir: &workdir,
            files: &files,
        };
        // A review task's reviewer may write only its review file.
        let review_out = self.review_out(&task);
        let (mut invocation, refused, endpoint_env) =
            self.launch(agent, &spec, &turn, review_out.as_deref());
        // An acp client reads its answer key first, before it starts the agent.
        let answer_key = (spec.kind == AdapterKind::Acp).then(super::permission::answer_key);
        if let Some(key) = &answer_key {
            invocation.stdin = Some(super::permission::key_line(key));
        }
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
        let opts = RunOptions {
            invocation,
            env: {
                let mut env = self.run_env(agent, &task, role, attempt);
                env.extend(endpoint_env);
                if let Some(out) = &review_out {
                    env.push(("OVERLORD_REVIEW_FILE".into(), out.display().to_string()));
                }
                if spec.kind == AdapterKind::Acp {
                    env.push((
                        crate::runtime::acp::client::TIMEOUT_ENV.into(),
                        self.config.agents.permission_timeout_secs.to_string(),
                    ));
                }
                env
            },
            timeout,
            grace: Duration::from_secs(self.config.agents.cancel_grace_secs.max(1)),
            log: Some(log),
            interrupt_by_stdin: spec.kind == AdapterKind::Claude,
            interrupt_root_first: spec.kind == AdapterKind::Acp,
        };
        let (ctl_tx, ctl_rx) = mpsc::unbounded_channel();
        let paused = self.state.agents.get(agent).is_some_and(|a| a.paused);
        let mut slot = RunSlot::new(
            run_id,
            purpose,
            ctl_tx.clone(),
            workdir.clone(),
            adapter,
            spec.model.clone(),
        );
        slot.answer_key = answer_key;
        self.runs.insert(agent.to_string(), slot);
        // A clarification or an assignment turn may share the worktree with another agent's
        // current run (as before); never with a leftover.
        let held = self.held_by(&task, &workdir).filter(|(holder, _)| {
            task_run || holder.as_str() == agent || !self.runs.contains_key(holder)
        });
        if let Some((holder, p)) = held {
            // Never two agents on one task or in one worktree: this run does not start (its
            // end says why; the task is tried again shortly, see `held_back`).
            self.stop_stray(&holder, &p, agent);
            let end = RunEnd {
                not_started: Some(format!(
                    "not started: {holder}'s process (pid {}) still runs on {}",
                    p.pid,
                    if p.task.as_deref() == Some(task.as_str()) {
                        format!("task {task}")
                    } else {
                        format!("worktree {}", workdir.display())
                    }
                )),
                ..RunEnd::default()
            };
            return self.end_unstarted(agent, run_id, end);
        }
        if paused {
            // Paused while it was being prepared: start it suspended.
            let _ = ctl_tx.send(Control::Suspend);
            if let Some(s) = self.runs.get_mut(agent) {
                s.suspended = true;
            }
        }
        if let Some(e) = refused {
            let end = RunEnd {
                spawn_error: Some(e),
                ..RunEnd::default()
            };
            return self.end_unstarted(agent, run_id, end);
        }
        let record = ProcessRecord {
            handle: self.handle.clone(),
            agent: agent.to_string(),
            task: (!task.is_empty()).then(|| task.clone()),
            worktree: workdir.display().to_string(),
        };
        forward(self.tx.clone(), record, run_id, opts, parser, ctl_rx);
    }

    /// The run's invocation in the sandbox and the extra environment of its adapter's
    /// endpoint (`crate::runtime::endpoint`); or why it must not start (the sandbox cannot be
    /// set up as configured, the endpoint's key is not set): the run then ends like a CLI
    /// that could not be started, with the reason.
    fn launch(
        &mut self,
        agent: &str,
        spec: &AdapterSpec,
        turn: &Turn<'_>,
        review_out: Option<&std::path::Path>,
    ) -> (Invocation, Option<String>, Vec<(String, String)>) {
        let sandboxed = self.sandboxed(
            agent,
            spec,
            spec.invocation(turn, &self.self_exe),
            review_out,
        );
        let home = crate::runtime::endpoint::user_home();
        match (
            sandboxed,
            crate::runtime::endpoint::run_env(spec, home.as_deref()),
        ) {
            (Ok(i), Ok(env)) => (i, None, env),
            (Err(e), _) | (_, Err(e)) => (spec.invocation(turn, &self.self_exe), Some(e), vec![]),
        }
    }

    /// A run that does not start (held back, or refused by the sandbox) ends at once, through
    /// the loop like any other end.
    fn end_unstarted(&self, agent: &str, run_id: u64, end: RunEnd) {
        let (tx, agent) = (self.tx.clone(), agent.to_string());
        tokio::spawn(async move {
            let _ = tx
                .send(Msg::Ended {
                    agent,
                    run: run_id,
                    end,
                })
                .await;
        });
    }

    /// The `OVERLORD_*` environment of the agent's CLI.
    fn run_env(&self, agent: &str, task: &str, role: Role, attempt: u32) -> Vec<(String, String)> {
        vec![
            ("OVERLORD_AGENT".to_string(), agent.to_string()),
            ("OVERLORD_TASK".to_string(), task.to_string()),
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
        ]
    }

    /// One event of a run: the raw line kept, the agent's activity and session updated, a stall
    /// cleared, spending charged to the task's and the role's budgets.
    pub(super) async fn on_agent_event(&mut self, agent: &str, run: u64, event: AgentEvent) {
        let Some(slot) = self.runs.get_mut(agent).filter(|s| s.id == run) else {
            return;
        };
        self.raw.push(agent, event.raw());
        slot.last_output = Instant::now();
        let adapter = slot.adapter.clone();
        self.note_reach(agent, &adapter, &event);
        let Some(slot) = self.runs.get_mut(agent).filter(|s| s.id == run) else {
            return;
        };
        let was_stalled = std::mem::replace(&mut slot.stalled, false);
        let prices = self.adapters.get(&slot.adapter).and_then(|s| s.prices);
        let book = self.agents.entry(agent.to_string()).or_default();
        book.events += 1;
        // Files an edit touched, repo-relative, one form for every CLI.
        for f in slot.tally.observe(&event, &slot.worktree, prices) {
            if !book.files.contains(&f) && book.files.len() < Agent::MAX_FILES {
                book.files.push(f);
            }
        }
        let mut spent = (0u64, 0f64);
        // A model API retry the CLI announced: the agent's detail says so (not "stalled").
        let mut retrying = None;
        let was_retrying = std::mem::replace(&mut slot.retrying, false);
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
                // The whole message replaces its deltas: shown once.
                slot.partial.clear();
                book.last_output = Some(first_line(text, 200));
                slot.last_text = Some(text.clone());
            }
            AgentEvent::Text {
                text, delta: true, ..
            } => {
                slot.partial.push_str(text);
                let live = slot.partial.lines().rfind(|l| !l.trim().is_empty());
                if let Some(live) = live {
                    book.last_output = Some(first_line(live, 200));
                }
            }
            AgentEvent::ToolStarted { name, summary, .. } => {
                book.last_output = Some(first_line(&format!("▸ {name}: {summary}"), 200));
            }
            AgentEvent::Warning { message, .. } => {
                book.last_output = Some(first_line(&format!("⚠ {message}"), 200));
                if message.starts_with("retrying (") {
                    retrying = Some(message.clone());
                    slot.retrying = true;
                }
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
        let retried = was_retrying && !slot.retrying;
        if was_stalled || retrying.is_some() || retried {
            let task = self.state.agents.get(agent).and_then(|a| a.task.clone());
            self.set_agent(
                agent,
                AgentState::Running,
                task.as_deref(),
                retrying,
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
        // An ACP agent's permission decision or refused file request: written to the audit at
        // once, each one (not only the last activity line of the flush).
        if let AgentEvent::Warning { message, .. } = &event {
            if crate::agent::acp_map::audited(message) {
                self.flush().await;
                let acp = self
                    .adapters
                    .get(&adapter)
                    .is_some_and(|s| s.kind == AdapterKind::Acp);
                if acp {
                    self.on_permission_note(agent, run, message).await;
                }
            }
        }
        self.sandbox_denial(agent, event.raw()).await;
    }

    /// A run ended: its activity is written, then what it was for decides what follows (an
    /// answer recorded, an assignment done, the task's checks, a retry or a failure).
    pub(super) async fn on_run_end(&mut self, agent: &str, run: u64, end: RunEnd) {
        if self.runs.get(agent).is_none_or(|s| s.id != run) {
            return;
        }
        let Some(slot) = self.runs.remove(agent) else {
            return;
        };
        self.close_asks_of(agent, run).await;
        // Refused writes its stderr reported, then the activity of the run, written before
        // its outcome.
        for line in &end.stderr_tail {
            self.sandbox_denial(agent, line).await;
        }
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
            self.report_leftovers(agent, role, &slot, &end).await;
        }
        self.report_run(agent, &slot, &end).await;
        match slot.purpose.clone() {
            Purpose::Clarify(q) => self.clarification_ended(agent, role, q, &slot, &end).await,
            Purpose::Assign(_) => self.assignment_ended(agent, &slot, &end).await,
            Purpose::Task(task_id) => self.task_run_ended(agent, &task_id, &slot, &end).await,
        }
    }

    /// A run ended: what it did goes to the audit (`agent_run_reported`, folded into the
    /// state's `task_telemetry`) and into its task's book (for the hand-off). A run that never
    /// started did nothing.
    pub(super) async fn report_run(&mut self, agent: &str, slot: &RunSlot, end: &RunEnd) {
        if end.not_started.is_some() || end.spawn_error.is_some() {
            return;
        }
        let run = slot.tally.report();
        let task = match &slot.purpose {
            Purpose::Task(t) => Some(t.clone()),
            _ => None,
        };
        if let Some(t) = &task {
            self.tasks.entry(t.clone()).or_default().telemetry.add(&run);
        }
        self.emit(vec![EventKind::AgentRunReported {
            agent: agent.to_string(),
            task,
            run,
        }])
        .await;
    }

    /// The CLI left processes running after it exited (stopped by the runner): the human is
    /// told.
    async fn report_leftovers(&mut self, agent: &str, role: Role, slot: &RunSlot, end: &RunEnd) {
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

    /// A clarification turn ended: its answer (or why there is none) is recorded.
    async fn clarification_ended(
        &mut self,
        agent: &str,
        role: Role,
        q: ClarificationId,
        slot: &RunSlot,
        end: &RunEnd,
    ) {
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

    /// An assignment turn ended: the agent is done or failed, with what it said.
    async fn assignment_ended(&mut self, agent: &str, slot: &RunSlot, end: &RunEnd) {
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

    /// A task's run ended: stopped for a shutdown (nothing to do), redirected (it runs again
    /// with the new instructions), finished (its checks), or failed.
    async fn task_run_ended(&mut self, agent: &str, task_id: &str, slot: &RunSlot, end: &RunEnd) {
        let Some(task) = self.task(task_id) else {
            self.back_to_idle(agent).await;
            return;
        };
        match (&slot.stop, &slot.finished) {
            (Some(StopReason::Shutdown), _) => {}
            (Some(StopReason::Redirect(text)), _) => self.redirected(agent, &task, text).await,
            (None, Some((true, result, _))) => {
                self.start_checks(agent, &task, slot.worktree.clone(), result.clone());
            }
            _ if end.not_started.is_some() => self.held_back(agent, &task, end).await,
            _ => {
                let (message, kind) = run_failure(slot, end);
                self.on_failure(agent, &task, message, kind, end.spawn_error.is_some())
                    .await;
            }
        }
    }

    /// `/assign` stopped the task's run: it starts again with the new instructions.
    async fn redirected(&mut self, agent: &str, task: &Task, text: &str) {
        let book = self.tasks.entry(task.id.clone()).or_default();
        book.feedback = Some(format!("Redirected by the human governor: {text}"));
        book.retry_at = None;
        self.set_agent(
            agent,
            AgentState::Waiting,
            Some(&task.id),
            Some("redirected; starting again with the new instructions".into()),
            None,
            None,
        )
        .await;
        self.requeue(task, "redirected by /assign").await;
    }

    pub(super) async fn back_to_idle(&mut self, agent: &str) {
        let task = self.state.agents.get(agent).and_then(|a| a.task.clone());
        let state = if task.is_some() {
            AgentState::Waiting
        } else {
            AgentState::Idle
        };
        self.set_agent(agent, state, task.as_deref(), None, None, None)
            .await;
    }
}

/// Runs the CLI on a task of its own and passes its events, then its end, to the
/// supervisor's loop. The CLI's process is recorded in the store as soon as it is spawned, and
/// its end once the run and everything it started have stopped (before the loop hears of the
/// end, so a retry never finds its predecessor still recorded as running).
fn forward(
    tx: mpsc::Sender<Msg>,
    record: ProcessRecord,
    run_id: u64,
    opts: RunOptions,
    parser: Box<dyn AgentParser + Send>,
    ctl_rx: mpsc::UnboundedReceiver<Control>,
) {
    tokio::spawn(async move {
        let agent = record.agent.clone();
        let (etx, mut erx) = mpsc::channel(1024);
        let (stx, mut srx) = tokio::sync::oneshot::channel();
        let run = process::run_reporting(opts, parser, etx, ctl_rx, Some(stx));
        tokio::pin!(run);
        let mut spawned = None;
        let mut spawn_pending = true;
        let end = loop {
            tokio::select! {
                biased;
                sp = &mut srx, if spawn_pending => {
                    spawn_pending = false;
                    if let Ok(sp) = sp {
                        spawned = Some(sp.pid);
                        record.started(sp).await;
                    }
                }
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
        if spawn_pending {
            if let Ok(sp) = srx.try_recv() {
                record.started(sp).await;
                spawned = Some(sp.pid);
            }
        }
        if let Some(pid) = spawned {
            record.ended(pid).await;
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

/// Why a task's run failed, for the task's note and the retry's feedback, and the error's
/// kind when the CLI reported one.
fn run_failure(slot: &RunSlot, end: &RunEnd) -> (String, Option<ErrorKind>) {
    let (message, kind) = match (&end.spawn_error, &slot.finished) {
        (Some(e), _) => (e.clone(), None),
        _ if end.not_started.is_some() => (end.describe(), None),
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
    let tail = crate::agent::stderr::last_meaningful(&end.stderr_tail);
    if let Some(tail) = tail.filter(|_| end.spawn_error.is_none()) {
        message.push_str(&format!(" (stderr: {})", first_line(tail, 160)));
    }
    (message, kind)
}
