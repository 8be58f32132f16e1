//! The owner's watch over the metrics (issue 9): every `[metrics] evaluate_every_secs`, and
//! soon after an event that moves a figure (a QA run, a concern, an agent's state, a git
//! action, a checkpoint), it recomputes the figures from the audit trail, evaluates the alert
//! levels and records what changed as events, so the console, Discord and the concern queue
//! all see the same alerts through the one event stream:
//!
//! - `metric_alert` / `metric_alert_cleared` for every alert raised, moved to another level
//!   or gone;
//! - an ALERT or CRITICAL alert also puts a concern in the human's queue (from the project
//!   manager, category `metrics`), resolved by the metrics when the alert clears — except
//!   where what caused it already raised one ([`HAS_ITS_OWN_CONCERN`]);
//! - a CRITICAL alert listed in `[metrics] kill_switch_on` turns the kill switch on.
//!
//! What to emit is decided under the store's write lock from the state as it is then
//! ([`alert_events`], pure), so two owners' evaluations cannot raise an alert twice.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, watch};

use super::Handle;
use crate::config::MetricsConfig;
use crate::metrics::{self, Alert, AlertLevel, Facts};
use crate::protocol::model::{Concern, ConcernId, ConcernStatus, Role, Severity};
use crate::protocol::{Event, EventKind, State};
use crate::store::{verify, Store, StoreError};
use crate::workspace::Workspace;

/// The actor named on the events the monitor emits.
pub const ACTOR: &str = "metrics";

/// How soon after an event that moves a figure the alerts are evaluated (events that come
/// together are evaluated together).
pub const SETTLE: Duration = Duration::from_secs(1);

/// The audit trail's events, read incrementally: each update reads only the records appended
/// since the last one. Holds every event: for tests and tools that want the events
/// themselves; the figures are read through `metrics_reader::MetricsReader`, which does not.
#[derive(Debug, Default)]
pub struct EventCache {
    pub events: Vec<Event>,
    /// Stored records that could not be read as events (data corruption).
    pub unreadable: u64,
    through: u64,
}

impl EventCache {
    /// Events as if read from nothing (for tests and the demo).
    pub fn from_events(events: Vec<Event>) -> EventCache {
        EventCache {
            events,
            ..EventCache::default()
        }
    }

    /// Reads what was appended since the last call; how many events that was.
    pub fn catch_up(&mut self, store: &Store) -> Result<usize, StoreError> {
        let before = self.events.len();
        for (seq, body) in store.event_bodies_after(self.through)? {
            match serde_json::from_str(&body) {
                Ok(e) => self.events.push(e),
                Err(_) => self.unreadable += 1,
            }
            self.through = seq;
        }
        Ok(self.events.len() - before)
    }
}

/// Whether an event moves a figure an alert watches: what `metrics::reads` names, except
/// agents' activity (it only moves the spend, which the periodic evaluation catches; it comes
/// in streams) and the kill switch (the monitor's own doing, among others).
pub fn moves_a_figure(kind: &EventKind) -> bool {
    metrics::reads(kind)
        && !matches!(
            kind,
            EventKind::AgentActivity { .. }
                | EventKind::DispatchHalted { .. }
                | EventKind::DispatchResumed
        )
}

/// Reads the store and evaluates the alerts; owned by the monitor, used on a blocking thread.
/// Its memory is the metrics' running fold (`MetricsReader`), not the events.
pub struct Evaluator {
    store: Store,
    reader: super::metrics_reader::MetricsReader,
    chain: Option<(bool, Option<String>)>,
    chain_checked: Option<Instant>,
}

impl Evaluator {
    pub fn open(ws: &Workspace) -> Result<Evaluator, StoreError> {
        Ok(Evaluator {
            store: Store::open_without_repair(&ws.store_paths())?,
            reader: Default::default(),
            chain: None,
            chain_checked: None,
        })
    }

    /// The alerts the audit trail calls for at `now`. The hash chain is walked every
    /// `verify_chain_every_secs` (its verdict is kept in between).
    pub fn alerts(&mut self, config: &MetricsConfig, now: &str) -> Result<Vec<Alert>, StoreError> {
        self.reader.catch_up(&self.store)?;
        self.evaluate(config, now)
    }

    /// [`Evaluator::alerts`] as of the clock's time once the store is read (so no event read
    /// is stamped after it, and the running fold answers without a replay).
    pub fn alerts_now(&mut self, config: &MetricsConfig) -> Result<Vec<Alert>, StoreError> {
        self.reader.catch_up(&self.store)?;
        self.evaluate(config, &super::now())
    }

    fn evaluate(&mut self, config: &MetricsConfig, now: &str) -> Result<Vec<Alert>, StoreError> {
        let due = config.verify_chain_every_secs > 0
            && self
                .chain_checked
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(config.verify_chain_every_secs));
        if due {
            let report = verify::verify_chain(&self.store)?;
            self.chain = Some((
                report.first_break.is_none(),
                report.first_break.map(|f| f.to_string()),
            ));
            self.chain_checked = Some(Instant::now());
        }
        let Some(figures) = self.reader.metrics(&self.store, config.alert_window, now)? else {
            return Ok(Vec::new());
        };
        let facts = Facts {
            chain_ok: self.chain.as_ref().map(|c| c.0),
            chain_finding: self.chain.as_ref().and_then(|c| c.1.clone()),
            corrupt_records: self.reader.unreadable(),
        };
        Ok(metrics::evaluate(&figures, config, &facts))
    }
}

/// Alerts whose cause already put a concern in the queue, with the particulars: a failed QA
/// run (the tester's concern), a failed agent (the supervisor's), a commit on a protected
/// branch made outside Overlord (the owner's). They raise no second one.
pub const HAS_ITS_OWN_CONCERN: [&str; 3] = ["qa_gate_failed", "agent_halted", "policy_breach"];

fn concern_open(state: &State, id: ConcernId) -> bool {
    state
        .concerns
        .get(&id)
        .is_some_and(|c| c.status != ConcernStatus::Resolved)
}

/// Whether `[metrics] kill_switch_on` lists this alert (its key, or the part before `:`).
pub fn stops_everything(alert: &Alert, config: &MetricsConfig) -> bool {
    let family = alert.key.split(':').next().unwrap_or(&alert.key);
    alert.level == AlertLevel::Critical
        && config
            .kill_switch_on
            .iter()
            .any(|k| k == &alert.key || k == family)
}

/// The events that take the alerts in force (`state.alerts`) to `desired`: cleared alerts
/// (and their concerns resolved), raised ones (with a concern for ALERT and CRITICAL), and
/// the kill switch for a CRITICAL one `kill_switch_on` lists. Pure.
pub fn alert_events(
    state: &State,
    desired: &[Alert],
    config: &MetricsConfig,
    now: &str,
) -> Vec<EventKind> {
    let current: Vec<Alert> = state.alerts.values().cloned().collect();
    let t = metrics::transitions(&current, desired);
    let mut out = Vec::new();
    for a in &t.cleared {
        out.push(EventKind::MetricAlertCleared { key: a.key.clone() });
        if let Some(id) = a.concern.filter(|id| concern_open(state, *id)) {
            out.push(EventKind::ConcernResolved {
                id,
                note: Some(format!(
                    "cleared by the metrics: {} is back within its threshold",
                    a.key
                )),
            });
        }
    }
    let mut next_concern = state.counters.concerns;
    let mut halt = None;
    for a in &t.raised {
        // An alert that moves to another level keeps its open concern.
        let mut concern = state
            .alerts
            .get(&a.key)
            .and_then(|o| o.concern)
            .filter(|id| concern_open(state, *id));
        let family = a.key.split(':').next().unwrap_or(&a.key);
        if concern.is_none()
            && a.level >= AlertLevel::Alert
            && !HAS_ITS_OWN_CONCERN.contains(&family)
        {
            next_concern += 1;
            let id = ConcernId(next_concern);
            let severity = if a.level == AlertLevel::Critical {
                Severity::Critical
            } else {
                Severity::Warning
            };
            out.push(EventKind::ConcernRaised {
                concern: Concern {
                    raised_by: Some(ACTOR.to_string()),
                    details: Some(format!(
                        "{} alert `{}` from the metrics ({} window): {}\nIt clears, and this concern is resolved, when the figure comes back (docs/metrics.md).",
                        a.level,
                        a.key,
                        config.alert_window,
                        a.message
                    )),
                    ..Concern::raised(
                        id,
                        Role::ProjectManager,
                        Role::Human,
                        severity,
                        "metrics".to_string(),
                        format!("{}: {}", a.level, a.message),
                        now.to_string(),
                    )
                },
            });
            concern = Some(id);
        }
        out.push(EventKind::MetricAlert {
            level: a.level,
            key: a.key.clone(),
            message: a.message.clone(),
            concern,
        });
        if halt.is_none() && !state.dispatch_halted && stops_everything(a, config) {
            halt = Some(format!("CRITICAL alert {}: {}", a.key, a.message));
        }
    }
    if let Some(reason) = halt {
        out.push(EventKind::DispatchHalted {
            reason: Some(reason),
        });
    }
    out
}

/// Evaluates once and records the changes; how many events that took.
pub async fn evaluate_once(
    handle: &Handle,
    evaluator: &Arc<Mutex<Evaluator>>,
    config: &MetricsConfig,
) -> Result<usize, String> {
    let (ev, cfg) = (evaluator.clone(), config.clone());
    let desired = tokio::task::spawn_blocking(move || {
        // A panic in an earlier evaluation poisons the lock; the reader is still consistent
        // (it only grows after a successful read), so carry on with it.
        let mut ev = ev.lock().unwrap_or_else(|p| p.into_inner());
        ev.alerts_now(&cfg)
    })
    .await
    .map_err(|e| format!("the metrics evaluation failed: {e}"))?
    .map_err(|e| e.to_string())?;
    let cfg = config.clone();
    handle
        .emit_with(ACTOR, move |state| {
            alert_events(state, &desired, &cfg, &super::now())
        })
        .await
        .map(|seqs| seqs.len())
}

/// Runs until `stop` turns true or the core stops: evaluates at once, then every
/// `evaluate_every_secs`, and [`SETTLE`] after an event that moves a figure.
pub async fn run(
    handle: Handle,
    ws: Workspace,
    config: MetricsConfig,
    mut stop: watch::Receiver<bool>,
) {
    if config.evaluate_every_secs == 0 {
        return;
    }
    let every = Duration::from_secs(config.evaluate_every_secs);
    let evaluator = match Evaluator::open(&ws) {
        Ok(e) => Arc::new(Mutex::new(e)),
        Err(e) => {
            tracing::error!(error = %e, "the metrics monitor cannot read the audit store; no alerts will be evaluated");
            return;
        }
    };
    let mut events = handle.subscribe();
    let mut next = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            r = events.recv() => {
                let soon = tokio::time::Instant::now() + SETTLE;
                match r {
                    Ok(e) if e.actor != ACTOR && moves_a_figure(&e.kind) => next = next.min(soon),
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => next = next.min(soon),
                    Err(broadcast::error::RecvError::Closed) => return,
                }
                continue;
            }
            r = stop.changed() => {
                if r.is_err() || *stop.borrow() {
                    return;
                }
                continue;
            }
        }
        match evaluate_once(&handle, &evaluator, &config).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(events = n, "metric alerts changed"),
            Err(e) => tracing::warn!(error = %e, "the metrics evaluation failed"),
        }
        next = tokio::time::Instant::now() + every;
    }
}
