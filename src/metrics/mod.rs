//! The numbers a governor reads instead of diffs (issue 9): computed from the audit store's
//! events only, never kept by hand, so they can always be recomputed and checked.
//!
//! Pure: no I/O and no clock (`now` is a parameter). Every figure is an `Option` (or an empty
//! map) when there is nothing to compute it from — an empty store, no QA runs, a window with
//! no data, clock skew — instead of dividing by zero or inventing a number. `docs/metrics.md`
//! defines each one (formula, source events, window).

pub mod alerts;
mod compute;
pub mod digest;
pub mod openmetrics;
pub mod running;
pub mod series;
pub mod tasks;
mod text;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::protocol::model::{QaDecision, Role, Severity, Timestamp};
use crate::protocol::{Event, EventKind};

pub use alerts::{evaluate, transitions, Alert, AlertLevel, Facts, Transitions};
pub use compute::compute;
pub use running::{Mark, Running};
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

/// A float kept bit for bit where the figures' fold is stored (as its bits: `serde_json` may
/// read a decimal back one unit in the last place off).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exact(pub f64);

impl Serialize for Exact {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0.to_bits())
    }
}

impl<'de> Deserialize<'de> for Exact {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Exact, D::Error> {
        u64::deserialize(d).map(|b| Exact(f64::from_bits(b)))
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
    pub(crate) fn add(&mut self, tokens: u64, cost_micros: u64) {
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
    /// Agent runs reported in the window (`agent_run_reported`), by adapter and model.
    #[serde(default)]
    pub runs: Vec<RunFigures>,
}

/// The runs of one adapter with one model: how many (and failed), tool calls (and failed), the
/// token split, the cost and where it came from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunFigures {
    pub adapter: String,
    /// `None`: the CLI named no model and the adapter sets none.
    pub model: Option<String>,
    pub runs: u64,
    pub failed_runs: u64,
    pub tool_calls: u64,
    pub failed_tool_calls: u64,
    pub tokens: crate::protocol::model::TokenSplit,
    /// No run reported token counts: `tokens` are unknown, not 0.
    #[serde(default)]
    pub tokens_unknown: bool,
    pub cost_micros: u64,
    pub cost_source: crate::protocol::model::CostSource,
}

impl RunFigures {
    /// Adds one run to the figures of its adapter and model in `all`.
    pub fn add(all: &mut Vec<RunFigures>, run: &crate::protocol::model::RunTelemetry) {
        let i = match all
            .iter()
            .position(|f| f.adapter == run.adapter && f.model == run.model)
        {
            Some(i) => i,
            None => {
                all.push(RunFigures {
                    adapter: run.adapter.clone(),
                    model: run.model.clone(),
                    ..RunFigures::default()
                });
                all.sort_by(|a, b| (&a.adapter, &a.model).cmp(&(&b.adapter, &b.model)));
                all.iter()
                    .position(|f| f.adapter == run.adapter && f.model == run.model)
                    .unwrap_or(0)
            }
        };
        let f = &mut all[i];
        f.tokens_unknown = run.tokens_unknown && (f.runs == 0 || f.tokens_unknown);
        f.runs += 1;
        f.failed_runs += u64::from(!run.ok);
        f.tool_calls += u64::from(run.tool_calls);
        f.failed_tool_calls += run.failed_tools.len() as u64;
        f.tokens.add(&run.tokens);
        f.cost_micros = f.cost_micros.saturating_add(run.cost_micros);
        f.cost_source = f.cost_source.and(run.cost_source);
    }
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
            | EventKind::AgentRunReported { .. }
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
