//! The numbers a governor reads instead of diffs (issue 9): computed from the audit store's
//! events only, never kept by hand, so they can always be recomputed and checked.
//!
//! Pure: no I/O and no clock (`now` is a parameter). Every figure is an `Option` (or an empty
//! map) when there is nothing to compute it from — an empty store, no QA runs, a window with
//! no data, clock skew — instead of dividing by zero or inventing a number. `docs/metrics.md`
//! defines each one (formula, source events, window).

pub mod alerts;
pub mod digest;
pub mod openmetrics;
pub mod series;
mod text;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::protocol::model::{AgentState, QaDecision, Role, Severity, TaskStatus, Timestamp};
use crate::protocol::{Event, EventKind};

pub use alerts::{evaluate, transitions, Alert, AlertLevel, Facts, Transitions};
pub use series::{per_checkpoint, CheckpointPoint};
pub use text::render_text;

/// Version of the serialized [`Metrics`]; bumped only on incompatible changes.
pub const METRICS_SCHEMA_VERSION: u32 = 1;

/// The span of time the figures cover. Each ends at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Window {
    #[serde(rename = "24h")]
    Last24h,
    #[serde(rename = "7d")]
    Last7d,
    /// Since the newest checkpoint created at or before `now` (all time when there is none).
    #[serde(rename = "checkpoint")]
    SinceCheckpoint,
    #[serde(rename = "all")]
    All,
}

impl Window {
    pub const ALL: [Window; 4] = [
        Window::Last24h,
        Window::Last7d,
        Window::SinceCheckpoint,
        Window::All,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Window::Last24h => "24h",
            Window::Last7d => "7d",
            Window::SinceCheckpoint => "checkpoint",
            Window::All => "all",
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Window {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Window::ALL
            .into_iter()
            .find(|w| w.as_str() == s)
            .ok_or_else(|| format!("unknown window '{s}' (expected 24h, 7d, checkpoint or all)"))
    }
}

/// `part` out of `whole` (`whole` > 0, so `rate` is always a number between 0 and 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ratio {
    pub part: u64,
    pub whole: u64,
    pub rate: f64,
}

impl Ratio {
    /// `None` when there is nothing to divide by.
    pub fn of(part: u64, whole: u64) -> Option<Ratio> {
        (whole > 0).then(|| Ratio {
            part,
            whole,
            rate: part as f64 / whole as f64,
        })
    }
}

/// Durations in seconds: mean, and percentiles by the nearest-rank method (the smallest
/// value with at least that share of the values at or below it; no interpolation).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Durations {
    pub count: u64,
    pub sum_secs: f64,
    pub mean_secs: f64,
    pub p50_secs: f64,
    pub p90_secs: f64,
    pub max_secs: f64,
}

impl Durations {
    /// `None` for no values. Values are never negative (callers drop skewed intervals).
    pub fn of(mut secs: Vec<f64>) -> Option<Durations> {
        if secs.is_empty() {
            return None;
        }
        secs.sort_by(f64::total_cmp);
        let n = secs.len();
        let rank = |q: f64| secs[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
        let sum: f64 = secs.iter().sum();
        Some(Durations {
            count: n as u64,
            sum_secs: sum,
            mean_secs: sum / n as f64,
            p50_secs: rank(0.5),
            p90_secs: rank(0.9),
            max_secs: secs[n - 1],
        })
    }
}

/// One QA run recorded in the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaRunFigures {
    pub id: String,
    pub recorded_at: Timestamp,
    pub decision: QaDecision,
    pub coverage: Option<f64>,
    pub reproducibility: Option<f64>,
    pub pass_rate: Option<f64>,
    pub build_passed: Option<bool>,
    pub tests_total: Option<u64>,
    pub flaky: u64,
    pub failed_gates: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct QaFigures {
    /// Oldest first.
    pub runs: Vec<QaRunFigures>,
    /// From the newest run in the window that measured it.
    pub latest_coverage: Option<f64>,
    /// From the run before that one that measured coverage (for regressions).
    pub previous_coverage: Option<f64>,
    pub latest_reproducibility: Option<f64>,
    /// The newest run's decision and failed gates.
    pub latest_decision: Option<QaDecision>,
    pub latest_failed_gates: Vec<String>,
    /// Runs whose build passed, of the runs that measured the build.
    pub build_pass_rate: Option<Ratio>,
    /// Runs whose decision was not `fail`, of all runs.
    pub pass_rate: Option<Ratio>,
    /// Flaky tests, of the tests run (over the runs that counted their tests).
    pub flakiness: Option<Ratio>,
    /// `qa_started` → `qa_run_recorded`, per run.
    pub cycle: Option<Durations>,
}

/// Concern response latency for one severity.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConcernFigures {
    /// Raised in the window.
    pub raised: u64,
    /// Open at `now` (raised, not resolved), whenever raised.
    pub open: u64,
    /// `concern_raised` → first `concern_acknowledged`/`concern_assigned`.
    pub acknowledged: Option<Durations>,
    /// `concern_raised` → `concern_resolved`.
    pub resolved: Option<Durations>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MergeFigures {
    /// Task branches merged into the integration branch (`git_action` `merge`).
    pub merged: u64,
    /// Task branches that conflicted (`operation_step` `conflict`).
    pub conflicted: u64,
    /// Merged, of merged + conflicted.
    pub success_rate: Option<Ratio>,
}

/// Agent running time spent on the tasks of one role.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RoleTime {
    pub tasks: u64,
    pub running_secs: f64,
    pub mean_secs_per_task: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TaskFigures {
    /// Tasks whose last terminal status in the window is `done`.
    pub passed: u64,
    /// … is `failed`.
    pub failed: u64,
    pub pass_rate: Option<Ratio>,
    /// Mean of the highest attempt number per finished task (tasks with a known attempt).
    pub mean_attempts: Option<f64>,
    pub by_role: BTreeMap<Role, RoleTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Spend {
    pub tokens: u64,
    pub cost_micros: u64,
}

impl Spend {
    fn add(&mut self, tokens: u64, cost_micros: u64) {
        self.tokens = self.tokens.saturating_add(tokens);
        self.cost_micros = self.cost_micros.saturating_add(cost_micros);
    }

    pub fn cost_usd(&self) -> f64 {
        self.cost_micros as f64 / 1e6
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SpendFigures {
    pub total: Spend,
    pub by_task: BTreeMap<String, Spend>,
    pub by_role: BTreeMap<Role, Spend>,
    pub by_adapter: BTreeMap<String, Spend>,
    /// Activity of agents with no task at the time.
    pub unattributed: Spend,
    /// Attributed tokens per task (over the tasks in `by_task`).
    pub mean_tokens_per_task: Option<f64>,
    pub mean_cost_micros_per_task: Option<f64>,
}

/// Time-weighted agent states, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct AgentTime {
    pub running_secs: f64,
    /// `waiting` and `rate_limited`.
    pub waiting_secs: f64,
    /// Paused by `/pause`, the kill switch, or in state `paused`.
    pub paused_secs: f64,
    /// `idle`, `done`, `failed`.
    pub idle_secs: f64,
    /// Running, of all the time observed (`None` when none was).
    pub utilisation: Option<f64>,
}

impl AgentTime {
    fn total(&self) -> f64 {
        self.running_secs + self.waiting_secs + self.paused_secs + self.idle_secs
    }

    fn finish(&mut self) {
        let total = self.total();
        self.utilisation = (total > 0.0).then(|| self.running_secs / total);
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Utilisation {
    pub by_agent: BTreeMap<String, AgentTime>,
    pub total: AgentTime,
}

/// Everything, over one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub schema_version: u32,
    pub window: Window,
    pub now: Timestamp,
    /// Where the window starts (`None`: the beginning).
    pub since: Option<Timestamp>,
    /// Events stamped inside the window.
    pub events: u64,
    /// Events (anywhere in the log) stamped before the event preceding them.
    pub clock_skew_events: u64,
    /// Intervals dropped because their end is stamped before their start.
    pub skewed_intervals: u64,
    /// Events whose timestamp cannot be read (left out of every figure).
    pub unreadable_timestamps: u64,
    pub qa: QaFigures,
    pub concerns: BTreeMap<Severity, ConcernFigures>,
    pub merges: MergeFigures,
    pub tasks: TaskFigures,
    pub spend: SpendFigures,
    pub utilisation: Utilisation,
    /// Agents in state `failed` at `now`.
    pub agents_failed: Vec<String>,
    /// Changes of a protected branch made outside Overlord (`git_action` with trigger
    /// `external`) in the window: "reference: detail".
    pub policy_breaches: Vec<String>,
}

/// Whether an event of this kind can change a figure (or a point per checkpoint): what a front
/// end that shows the figures waits for before computing them again.
pub fn reads(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::QaStarted { .. }
            | EventKind::QaRunRecorded { .. }
            | EventKind::ConcernRaised { .. }
            | EventKind::ConcernAcknowledged { .. }
            | EventKind::ConcernAssigned { .. }
            | EventKind::ConcernResolved { .. }
            | EventKind::GitAction { .. }
            | EventKind::OperationStep { .. }
            | EventKind::TaskStatusChanged { .. }
            | EventKind::AgentRegistered { .. }
            | EventKind::AgentStateChanged { .. }
            | EventKind::AgentPaused { .. }
            | EventKind::AgentResumed { .. }
            | EventKind::DispatchHalted { .. }
            | EventKind::DispatchResumed
            | EventKind::AgentActivity { .. }
            | EventKind::CheckpointCreated { .. }
    )
}

/// Milliseconds since the epoch of an audit timestamp.
pub fn parse_ms(at: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The window's start in milliseconds (`None`: the beginning).
fn window_start(events: &[Event], window: Window, now: i64) -> Option<i64> {
    match window {
        Window::Last24h => Some(now - DAY_MS),
        Window::Last7d => Some(now - 7 * DAY_MS),
        Window::All => None,
        Window::SinceCheckpoint => events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::CheckpointCreated { .. }))
            .filter_map(|e| parse_ms(&e.at))
            .filter(|t| *t <= now)
            .max(),
    }
}

fn format_ms(ms: i64) -> Timestamp {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// What an agent is doing, for utilisation and time per task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Activity {
    Running,
    Waiting,
    Paused,
    Idle,
}

struct AgentTrack {
    role: Role,
    adapter: String,
    state: AgentState,
    paused: bool,
    task: Option<String>,
    /// When the current stretch began (ms).
    since: Option<i64>,
}

impl AgentTrack {
    fn activity(&self) -> Activity {
        if self.paused || self.state == AgentState::Paused {
            return Activity::Paused;
        }
        match self.state {
            AgentState::Running => Activity::Running,
            AgentState::Waiting | AgentState::RateLimited => Activity::Waiting,
            _ => Activity::Idle,
        }
    }
}

/// Computes every figure over `window`, from the events in `seq` order, as of `now` (an
/// audit timestamp). Events stamped after `now` are left out. `None` when `now` cannot be
/// read.
pub fn compute(events: &[Event], window: Window, now: &str) -> Option<Metrics> {
    let now_ms = parse_ms(now)?;
    let start = window_start(events, window, now_ms);
    let in_window = |t: i64| t <= now_ms && start.is_none_or(|s| t >= s);

    let mut m = Metrics {
        schema_version: METRICS_SCHEMA_VERSION,
        window,
        now: now.to_string(),
        since: start.map(format_ms),
        events: 0,
        clock_skew_events: 0,
        skewed_intervals: 0,
        unreadable_timestamps: 0,
        qa: QaFigures::default(),
        concerns: BTreeMap::new(),
        merges: MergeFigures::default(),
        tasks: TaskFigures::default(),
        spend: SpendFigures::default(),
        utilisation: Utilisation::default(),
        agents_failed: Vec::new(),
        policy_breaches: Vec::new(),
    };

    // Interval starts, by subject.
    let mut qa_started: BTreeMap<String, i64> = BTreeMap::new();
    let mut concern_raised: BTreeMap<String, (Severity, i64)> = BTreeMap::new();
    let mut concern_acked: BTreeSet<String> = BTreeSet::new();
    let mut concern_open: BTreeMap<String, Severity> = BTreeMap::new();
    let mut ack_secs: BTreeMap<Severity, Vec<f64>> = BTreeMap::new();
    let mut resolve_secs: BTreeMap<Severity, Vec<f64>> = BTreeMap::new();
    let mut cycle_secs: Vec<f64> = Vec::new();
    // Tasks: last terminal status in the window, highest attempt ever seen.
    let mut terminal: BTreeMap<String, TaskStatus> = BTreeMap::new();
    let mut attempts: BTreeMap<String, u32> = BTreeMap::new();
    let mut task_role_secs: BTreeMap<(Role, String), f64> = BTreeMap::new();
    let mut agents: BTreeMap<String, AgentTrack> = BTreeMap::new();
    let mut skew = 0u64;
    // The kill switch: agents registered while it is on start paused (as in the reducer).
    let mut halted = false;

    // Closes an agent's current stretch at `t`, crediting the part inside the window.
    let close = |a: &mut AgentTrack,
                 id: &str,
                 t: i64,
                 util: &mut BTreeMap<String, AgentTime>,
                 task_secs: &mut BTreeMap<(Role, String), f64>| {
        let Some(since) = a.since else {
            return;
        };
        // A stretch whose end is stamped before its start counts for nothing.
        let end = t.min(now_ms);
        let begin = start.map_or(since, |s| since.max(s));
        let secs = if end > begin {
            (end - begin) as f64 / 1000.0
        } else {
            0.0
        };
        a.since = Some(t.max(since));
        if secs == 0.0 {
            return;
        }
        let entry = util.entry(id.to_string()).or_default();
        match a.activity() {
            Activity::Running => {
                entry.running_secs += secs;
                if let Some(task) = &a.task {
                    *task_secs.entry((a.role, task.clone())).or_default() += secs;
                }
            }
            Activity::Waiting => entry.waiting_secs += secs,
            Activity::Paused => entry.paused_secs += secs,
            Activity::Idle => entry.idle_secs += secs,
        }
    };

    let mut util: BTreeMap<String, AgentTime> = BTreeMap::new();
    let mut last_at: Option<i64> = None;
    let mut qa_runs = Vec::new();

    for e in events {
        let Some(t) = parse_ms(&e.at) else {
            m.unreadable_timestamps += 1;
            continue;
        };
        if last_at.is_some_and(|p| t < p) {
            m.clock_skew_events += 1;
        }
        last_at = Some(last_at.map_or(t, |p| p.max(t)));
        if t > now_ms {
            continue;
        }
        let inside = in_window(t);
        if inside {
            m.events += 1;
        }
        // Intervals end inside the window to count; their start may be earlier.
        let mut interval = |from: i64, bucket: &mut Vec<f64>| {
            if t < from {
                skew += 1;
            } else if inside {
                bucket.push((t - from) as f64 / 1000.0);
            }
        };
        match &e.kind {
            EventKind::QaStarted { run, .. } => {
                qa_started.insert(run.to_string(), t);
            }
            EventKind::QaRunRecorded { run } => {
                let id = run.id.to_string();
                let from = qa_started.remove(&id).or_else(|| parse_ms(&run.started_at));
                if let Some(from) = from {
                    interval(from, &mut cycle_secs);
                }
                if inside {
                    // A run recorded again (the same id) replaces its earlier record.
                    qa_runs.retain(|r: &QaRunFigures| r.id != id);
                    qa_runs.push(QaRunFigures {
                        id,
                        recorded_at: e.at.clone(),
                        decision: run.decision,
                        coverage: run.metrics.coverage,
                        reproducibility: run.metrics.reproducibility,
                        pass_rate: run.metrics.pass_rate,
                        build_passed: run.metrics.build_passed,
                        tests_total: run.metrics.tests_total,
                        flaky: run.flaky.len() as u64,
                        failed_gates: run.failed_gates().into_iter().map(String::from).collect(),
                    });
                }
            }
            EventKind::ConcernRaised { concern } => {
                let id = concern.id.to_string();
                concern_raised.insert(id.clone(), (concern.severity, t));
                concern_open.insert(id, concern.severity);
                if inside {
                    m.concerns.entry(concern.severity).or_default().raised += 1;
                }
            }
            EventKind::ConcernAcknowledged { id } | EventKind::ConcernAssigned { id, .. } => {
                let id = id.to_string();
                if let Some((sev, from)) = concern_raised.get(&id).copied() {
                    if concern_acked.insert(id) {
                        interval(from, ack_secs.entry(sev).or_default());
                    }
                }
            }
            EventKind::ConcernResolved { id, .. } => {
                let id = id.to_string();
                concern_open.remove(&id);
                if let Some((sev, from)) = concern_raised.remove(&id) {
                    interval(from, resolve_secs.entry(sev).or_default());
                }
            }
            EventKind::GitAction {
                action,
                reference,
                trigger,
                detail,
                ..
            } => {
                if inside && action == "merge" {
                    m.merges.merged += 1;
                }
                if inside && trigger == "external" {
                    m.policy_breaches.push(format!("{reference}: {detail}"));
                }
            }
            EventKind::OperationStep { step, .. } if inside && step == "conflict" => {
                m.merges.conflicted += 1;
            }
            EventKind::TaskStatusChanged { task, status, .. }
                if inside && matches!(status, TaskStatus::Done | TaskStatus::Failed) =>
            {
                terminal.insert(task.clone(), *status);
            }
            EventKind::AgentRegistered { agent } => {
                // Registered again: the old stretch ends, and the new one never starts before
                // it (a skewed stamp must not count the same time twice).
                let mut from = t;
                if let Some(old) = agents.get_mut(&agent.id) {
                    close(old, &agent.id, t, &mut util, &mut task_role_secs);
                    from = old.since.map_or(t, |s| s.max(t));
                }
                agents.insert(
                    agent.id.clone(),
                    AgentTrack {
                        role: agent.role,
                        adapter: agent.adapter.clone(),
                        state: agent.state,
                        paused: agent.paused || halted,
                        task: agent.task.clone(),
                        since: Some(from),
                    },
                );
            }
            EventKind::AgentStateChanged {
                agent,
                state,
                task,
                attempt,
                ..
            } => {
                if let Some(a) = agents.get_mut(agent) {
                    close(a, agent, t, &mut util, &mut task_role_secs);
                    a.state = *state;
                    a.task = task.clone();
                }
                if let (AgentState::Running, Some(task), Some(n)) = (state, task, attempt) {
                    let best = attempts.entry(task.clone()).or_default();
                    *best = (*best).max(*n);
                }
            }
            EventKind::AgentPaused { agent } | EventKind::AgentResumed { agent } => {
                if let Some(a) = agents.get_mut(agent) {
                    close(a, agent, t, &mut util, &mut task_role_secs);
                    a.paused = matches!(e.kind, EventKind::AgentPaused { .. });
                }
            }
            EventKind::DispatchHalted { .. } | EventKind::DispatchResumed => {
                let paused = matches!(e.kind, EventKind::DispatchHalted { .. });
                halted = paused;
                for (id, a) in agents.iter_mut() {
                    close(a, id, t, &mut util, &mut task_role_secs);
                    a.paused = paused;
                }
            }
            EventKind::AgentActivity {
                agent,
                tokens,
                cost_micros,
                ..
            } if inside => {
                m.spend.total.add(*tokens, *cost_micros);
                if let Some(a) = agents.get(agent) {
                    m.spend
                        .by_role
                        .entry(a.role)
                        .or_default()
                        .add(*tokens, *cost_micros);
                    m.spend
                        .by_adapter
                        .entry(a.adapter.clone())
                        .or_default()
                        .add(*tokens, *cost_micros);
                    match &a.task {
                        Some(task) => m
                            .spend
                            .by_task
                            .entry(task.clone())
                            .or_default()
                            .add(*tokens, *cost_micros),
                        None => m.spend.unattributed.add(*tokens, *cost_micros),
                    }
                } else {
                    m.spend.unattributed.add(*tokens, *cost_micros);
                }
            }
            _ => {}
        }
    }
    m.skewed_intervals = skew;
    for (id, a) in agents.iter_mut() {
        close(a, id, now_ms, &mut util, &mut task_role_secs);
        if a.state == AgentState::Failed {
            m.agents_failed.push(id.clone());
        }
    }

    // QA.
    let qa = &mut m.qa;
    let measured_cov: Vec<f64> = qa_runs.iter().filter_map(|r| r.coverage).collect();
    qa.latest_coverage = measured_cov.last().copied();
    qa.previous_coverage = measured_cov.len().checked_sub(2).map(|i| measured_cov[i]);
    qa.latest_reproducibility = qa_runs.iter().rev().find_map(|r| r.reproducibility);
    if let Some(last) = qa_runs.last() {
        qa.latest_decision = Some(last.decision);
        qa.latest_failed_gates = last.failed_gates.clone();
    }
    let builds: Vec<bool> = qa_runs.iter().filter_map(|r| r.build_passed).collect();
    qa.build_pass_rate = Ratio::of(
        builds.iter().filter(|b| **b).count() as u64,
        builds.len() as u64,
    );
    qa.pass_rate = Ratio::of(
        qa_runs
            .iter()
            .filter(|r| r.decision != QaDecision::Fail)
            .count() as u64,
        qa_runs.len() as u64,
    );
    let (flaky, tests) = qa_runs
        .iter()
        // A run listing more flaky tests than it ran is inconsistent: left out.
        .filter_map(|r| {
            r.tests_total
                .filter(|n| r.flaky <= *n)
                .map(|n| (r.flaky, n))
        })
        .fold((0, 0), |(f, n), (rf, rn)| (f + rf, n + rn));
    qa.flakiness = Ratio::of(flaky, tests);
    qa.cycle = Durations::of(cycle_secs);
    qa.runs = qa_runs;

    // Concerns: every severity is listed, with or without data.
    for sev in [Severity::Info, Severity::Warning, Severity::Critical] {
        let c = m.concerns.entry(sev).or_default();
        c.open = concern_open.values().filter(|s| **s == sev).count() as u64;
        c.acknowledged = Durations::of(ack_secs.remove(&sev).unwrap_or_default());
        c.resolved = Durations::of(resolve_secs.remove(&sev).unwrap_or_default());
    }

    m.merges.success_rate = Ratio::of(m.merges.merged, m.merges.merged + m.merges.conflicted);

    // Tasks.
    m.tasks.passed = terminal
        .values()
        .filter(|s| **s == TaskStatus::Done)
        .count() as u64;
    m.tasks.failed = terminal
        .values()
        .filter(|s| **s == TaskStatus::Failed)
        .count() as u64;
    m.tasks.pass_rate = Ratio::of(m.tasks.passed, m.tasks.passed + m.tasks.failed);
    let known: Vec<u32> = terminal
        .keys()
        .filter_map(|t| attempts.get(t).copied())
        .collect();
    m.tasks.mean_attempts = (!known.is_empty())
        .then(|| known.iter().map(|n| *n as f64).sum::<f64>() / known.len() as f64);
    for ((role, _task), secs) in task_role_secs {
        let r = m.tasks.by_role.entry(role).or_default();
        r.tasks += 1;
        r.running_secs += secs;
    }
    for r in m.tasks.by_role.values_mut() {
        r.mean_secs_per_task = (r.tasks > 0).then(|| r.running_secs / r.tasks as f64);
    }

    // Spend per task.
    let n = m.spend.by_task.len();
    if n > 0 {
        let tokens: u64 = m.spend.by_task.values().map(|s| s.tokens).sum();
        let cost: u64 = m.spend.by_task.values().map(|s| s.cost_micros).sum();
        m.spend.mean_tokens_per_task = Some(tokens as f64 / n as f64);
        m.spend.mean_cost_micros_per_task = Some(cost as f64 / n as f64);
    }

    // Utilisation.
    for t in util.values_mut() {
        t.finish();
        m.utilisation.total.running_secs += t.running_secs;
        m.utilisation.total.waiting_secs += t.waiting_secs;
        m.utilisation.total.paused_secs += t.paused_secs;
        m.utilisation.total.idle_secs += t.idle_secs;
    }
    m.utilisation.total.finish();
    m.utilisation.by_agent = util;
    Some(m)
}
