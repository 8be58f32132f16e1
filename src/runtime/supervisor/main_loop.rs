//! The supervisor's life: made over the core's handle, started (agents the previous owner
//! left working are recovered), its loop over the runs' messages, the core's events and the
//! clock, and its stop (every run stopped, where the agents were left recorded).

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc};

use super::books::{Msg, Purpose, StopReason, Supervisor};
use super::raw_output::RawOutput;
use crate::agent::adapter::resolve;
use crate::config::Config;
use crate::core::Handle;
use crate::protocol::model::{Agent, AgentState, TaskStatus};
use crate::runtime::process::Control;
use crate::workspace::Workspace;

/// How often the supervisor looks at timers, dispatch and escalations.
const TICK: Duration = Duration::from_millis(200);

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
        // What the agents last printed, before any run of ours appends to their logs.
        let (logs, agents) = (
            ws.log_dir().join("agents"),
            state.agents.keys().cloned().collect::<Vec<_>>(),
        );
        let raw = tokio::task::spawn_blocking(move || RawOutput::from_logs(&logs, &agents))
            .await
            .unwrap_or_default();
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
            ci: Default::default(),
            work_generation: 0,
            cutoffs: BTreeMap::new(),
            asks: BTreeMap::new(),
            raw,
            warned: errors,
            events,
            reactions: VecDeque::new(),
            sandbox: super::books::SandboxBook::new(),
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

    /// Agents the state shows working, but no process of ours runs (we just started): they
    /// were stopped with the previous owner. What of their processes still runs (the owner was
    /// killed) is stopped first; then their tasks go back to the queue.
    pub(super) async fn recover(&mut self) {
        let stopped = self.stop_leftovers().await;
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
            let detail = if stopped.contains(&a.id) {
                "its CLI outlived the previous overlord-tui and was stopped; its task is queued again"
            } else {
                "stopped with the previous overlord-tui; its task is queued again"
            };
            self.set_agent(
                &a.id,
                AgentState::Idle,
                None,
                Some(detail.into()),
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

    /// Stops every run and waits (up to the grace periods) for their ends; their tasks go back
    /// to the queue.
    pub(super) async fn shut_down(&mut self) {
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

    /// A message from a run, a preparation or a check.
    pub(super) async fn on_msg(&mut self, msg: Msg) {
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
}
